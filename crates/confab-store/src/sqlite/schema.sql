-- Confab's SQLite schema, version 1. Times are milliseconds since the Unix
-- epoch (UTC). Every table that holds tenant data carries account_id and is
-- only ever read with it.

CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS api_clients (
    client_id TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    created_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS api_users (
    username TEXT PRIMARY KEY COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    created_at INTEGER NOT NULL
);

-- The queue. id gives arrival order; a request is runnable when state is
-- 'Ready' and run_after has passed.
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    request_id TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL,
    conversation_id TEXT,
    sequence_code INTEGER,
    calls_in_conversation INTEGER,
    operation TEXT NOT NULL,
    priority INTEGER NOT NULL,
    run_after INTEGER NOT NULL,
    expires_at INTEGER,
    state TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    finished_at INTEGER
);

-- Runnable work by lane and account, for the round robin of fairness.rs.
-- (It replaced requests_due, which ordered by lane and arrival only.)
DROP INDEX IF EXISTS requests_due;
CREATE INDEX IF NOT EXISTS requests_lane
    ON requests (priority, account_id, run_after) WHERE state = 'Ready';
CREATE INDEX IF NOT EXISTS requests_conversation
    ON requests (account_id, conversation_id, sequence_code)
    WHERE conversation_id IS NOT NULL;

-- Finished requests by age, for retention.rs.
CREATE INDEX IF NOT EXISTS requests_finished
    ON requests (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS conversations (
    account_id INTEGER NOT NULL,
    conversation_id TEXT NOT NULL,
    calls_in_conversation INTEGER NOT NULL,
    state TEXT NOT NULL,
    received_count INTEGER NOT NULL DEFAULT 0,
    next_sequence INTEGER NOT NULL DEFAULT 1,
    error_code INTEGER,
    first_part_at INTEGER NOT NULL,
    last_part_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, conversation_id)
);

-- Conversations still collecting parts, by their last part, for timeout.rs.
CREATE INDEX IF NOT EXISTS conversations_open
    ON conversations (last_part_at) WHERE state = 'Open';

CREATE TABLE IF NOT EXISTS result_messages (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    conversation_id TEXT,
    record TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS result_messages_request
    ON result_messages (account_id, request_id);
CREATE INDEX IF NOT EXISTS result_messages_conversation
    ON result_messages (account_id, conversation_id COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS result_messages_created
    ON result_messages (created_at);

CREATE TABLE IF NOT EXISTS result_items (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    conversation_id TEXT,
    record TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS result_items_request
    ON result_items (account_id, request_id);
CREATE INDEX IF NOT EXISTS result_items_conversation
    ON result_items (account_id, conversation_id COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS result_items_created
    ON result_items (created_at);

CREATE TABLE IF NOT EXISTS data_extensions (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    customer_key TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE,
    object_id TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, customer_key)
);

CREATE TABLE IF NOT EXISTS data_extension_rows (
    id INTEGER PRIMARY KEY,
    data_extension_id INTEGER NOT NULL REFERENCES data_extensions (id) ON DELETE CASCADE,
    row_key TEXT,
    data TEXT NOT NULL,
    UNIQUE (data_extension_id, row_key)
);

CREATE TABLE IF NOT EXISTS subscribers (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    subscriber_key TEXT NOT NULL COLLATE NOCASE,
    record TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    UNIQUE (account_id, subscriber_key)
);

CREATE TABLE IF NOT EXISTS retrieve_cursors (
    request_id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL,
    query TEXT NOT NULL,
    after_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS retrieve_cursors_created
    ON retrieve_cursors (created_at);

-- The outbox: callbacks owed, written in the transaction that settled what
-- they report. A deliverer leases due rows (next_attempt_at moves to the end
-- of the lease and attempts counts up), then records the outcome; a row whose
-- deliverer died comes due again when its lease runs out.
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    delivery_id TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    conversation_id TEXT,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    notice TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until INTEGER,
    last_error TEXT,
    retry_from INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);

CREATE INDEX IF NOT EXISTS deliveries_due
    ON deliveries (next_attempt_at, id) WHERE state = 'Pending';
-- Delivered callbacks and dead letters by age, for retention.rs.
CREATE INDEX IF NOT EXISTS deliveries_finished
    ON deliveries (finished_at) WHERE finished_at IS NOT NULL;

-- Each account's secret for signing its callbacks (Standard Webhooks).
CREATE TABLE IF NOT EXISTS webhook_secrets (
    account_id INTEGER PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
