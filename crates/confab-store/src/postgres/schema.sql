-- Confab's PostgreSQL schema, version 1: the same tables as the SQLite
-- schema, with PostgreSQL's types. Times are milliseconds since the Unix
-- epoch (UTC). Every table that holds tenant data carries account_id and is
-- only ever read with it. Names that SQLite compares with COLLATE NOCASE
-- are compared here through lower() and indexed the same way.
--
-- Applied at start under an advisory lock, so several nodes starting at
-- once apply it one after another, and only when this text changed since
-- it was last applied (its SHA-256 is kept in meta): applying it takes
-- locks that running nodes would wait for. Every statement is idempotent.

CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE IF NOT EXISTS accounts (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS api_clients (
    client_id TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    created_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS api_users (
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS api_users_name ON api_users (lower(username));

-- The queue. id gives arrival order; a request is runnable when state is
-- 'Ready' and run_after has passed. Finished rows stay for the retention
-- window (they answer 211 and ScheduledRequest deletes) and are purged
-- after it; claims never read them, since the queue's indexes are partial
-- on the states still to run, and floors keep the dead entries a long
-- transaction leaves out of the claims' way (floors.rs).
CREATE TABLE IF NOT EXISTS requests (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id TEXT NOT NULL UNIQUE,
    account_id BIGINT NOT NULL,
    conversation_id TEXT,
    sequence_code INTEGER,
    calls_in_conversation INTEGER,
    operation TEXT NOT NULL,
    priority INTEGER NOT NULL,
    run_after BIGINT NOT NULL,
    expires_at BIGINT,
    state TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    finished_at BIGINT
);

-- Runnable work by lane and account, for the round robin of fairness.rs.
-- It ends in id so that an account's first due request (ORDER BY
-- run_after, id) is the front of its range whatever the planner believes
-- of the table: without id, a planner that thought the table small sorted
-- every ready row of the account for each claim. (requests_lane lacked it.)
DROP INDEX IF EXISTS requests_lane;
CREATE INDEX IF NOT EXISTS requests_ready
    ON requests (priority, account_id, run_after, id) WHERE state = 'Ready';
CREATE INDEX IF NOT EXISTS requests_conversation
    ON requests (account_id, conversation_id, sequence_code)
    WHERE conversation_id IS NOT NULL;
-- Finished requests by age, for retention.rs.
CREATE INDEX IF NOT EXISTS requests_finished
    ON requests (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS conversations (
    account_id BIGINT NOT NULL,
    conversation_id TEXT NOT NULL,
    calls_in_conversation INTEGER NOT NULL,
    state TEXT NOT NULL,
    received_count INTEGER NOT NULL DEFAULT 0,
    next_sequence INTEGER NOT NULL DEFAULT 1,
    error_code INTEGER,
    first_part_at BIGINT NOT NULL,
    last_part_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, conversation_id)
);

-- Conversations still collecting parts, by their last part, for timeout.rs.
CREATE INDEX IF NOT EXISTS conversations_open
    ON conversations (last_part_at) WHERE state = 'Open';

CREATE TABLE IF NOT EXISTS result_messages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    conversation_id TEXT,
    record TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS result_messages_request
    ON result_messages (account_id, request_id);
CREATE INDEX IF NOT EXISTS result_messages_conversation
    ON result_messages (account_id, lower(conversation_id));
CREATE INDEX IF NOT EXISTS result_messages_created
    ON result_messages (created_at);

CREATE TABLE IF NOT EXISTS result_items (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    conversation_id TEXT,
    record TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS result_items_request
    ON result_items (account_id, request_id);
CREATE INDEX IF NOT EXISTS result_items_conversation
    ON result_items (account_id, lower(conversation_id));
CREATE INDEX IF NOT EXISTS result_items_created
    ON result_items (created_at);

CREATE TABLE IF NOT EXISTS data_extensions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL,
    customer_key TEXT NOT NULL,
    name TEXT NOT NULL,
    object_id TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS data_extensions_key
    ON data_extensions (account_id, lower(customer_key));
CREATE INDEX IF NOT EXISTS data_extensions_name
    ON data_extensions (account_id, lower(name));

CREATE TABLE IF NOT EXISTS data_extension_rows (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    data_extension_id BIGINT NOT NULL REFERENCES data_extensions (id) ON DELETE CASCADE,
    row_key TEXT,
    data TEXT NOT NULL,
    UNIQUE (data_extension_id, row_key)
);

CREATE TABLE IF NOT EXISTS subscribers (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL,
    subscriber_key TEXT NOT NULL,
    record TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS subscribers_key
    ON subscribers (account_id, lower(subscriber_key));

CREATE TABLE IF NOT EXISTS retrieve_cursors (
    request_id TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    query TEXT NOT NULL,
    after_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS retrieve_cursors_created
    ON retrieve_cursors (created_at);

-- The queue tables change state on every call. Vacuum them after a small
-- share of their rows changed (not PostgreSQL's default fifth), and leave
-- room in each page so that a state change can often stay in its page:
-- their dead rows stay few, so the claim queries stay fast.
ALTER TABLE requests SET (autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_threshold = 500, fillfactor = 80);
ALTER TABLE conversations SET (autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_threshold = 500, fillfactor = 80);

-- The outbox: callbacks owed, written in the transaction that settled what
-- they report. A deliverer leases due rows (next_attempt_at moves to the end
-- of the lease and attempts counts up), then records the outcome; a row whose
-- deliverer died comes due again when its lease runs out.
CREATE TABLE IF NOT EXISTS deliveries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id TEXT NOT NULL UNIQUE,
    account_id BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    conversation_id TEXT,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    notice TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    last_error TEXT,
    retry_from BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);

CREATE INDEX IF NOT EXISTS deliveries_due
    ON deliveries (next_attempt_at, id) WHERE state = 'Pending';
-- Delivered callbacks and dead letters by age, for retention.rs.
CREATE INDEX IF NOT EXISTS deliveries_finished
    ON deliveries (finished_at) WHERE finished_at IS NOT NULL;

-- Each account's secret for signing its callbacks (Standard Webhooks).
CREATE TABLE IF NOT EXISTS webhook_secrets (
    account_id BIGINT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
