//! Command-line arguments and logging setup.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Confab: the asynchronous layer of the Marketing Cloud SOAP API, self-hosted.
#[derive(Debug, Parser)]
#[command(name = "confab", version, about, args_override_self = true)]
pub(crate) struct Cli {
    /// Where the embedded database lives.
    #[arg(
        long,
        global = true,
        env = "CONFAB_DATA_DIR",
        default_value = "./confab-data"
    )]
    pub(crate) data_dir: PathBuf,

    /// A PostgreSQL database to use instead of the embedded one, as a
    /// `postgres://user@host:port/dbname` URL; several nodes may share it.
    /// The data directory is then not used.
    #[arg(long, global = true, env = "CONFAB_DATABASE_URL")]
    pub(crate) database_url: Option<String>,

    /// PostgreSQL only: how long, in seconds, a node that stopped answering
    /// (hung, paused, cut off from the database) keeps the work it had
    /// claimed. PostgreSQL ends a session that waited this long inside a
    /// transaction, and the other nodes take its work over.
    #[arg(
        long,
        global = true,
        env = "CONFAB_STALLED_NODE_SECS",
        default_value_t = 60
    )]
    pub(crate) stalled_node_secs: u64,

    /// Log format: human-readable text or one JSON object per line.
    #[arg(long, global = true, env = "CONFAB_LOG_FORMAT", default_value = "text")]
    pub(crate) log_format: LogFormat,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormat {
    /// For people at a terminal.
    Text,
    /// For log collectors.
    Json,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the server.
    Serve(Box<ServeArgs>),
    /// Manage API clients (client_id and client_secret for /v2/token).
    Clients {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Manage API users (WS-Security UsernameToken logins).
    Users {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage accounts (MIDs).
    Accounts {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Look at and replay callback deliveries.
    Deliveries {
        #[command(subcommand)]
        command: DeliveryCommand,
    },
}

/// Settings of `confab serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on.
    #[arg(long, env = "CONFAB_LISTEN", default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,

    /// The base URL clients reach this server at, used in token responses
    /// and the WSDL. Defaults to http://<Host header of each request>.
    #[arg(long, env = "CONFAB_PUBLIC_URL")]
    pub(crate) public_url: Option<String>,

    /// A host that callbacks may reach over plain HTTP and on a private or
    /// loopback address (repeatable; comma separated in the environment).
    /// All other callbacks must be HTTPS to a public address.
    #[arg(
        long = "allow-http-callback-host",
        env = "CONFAB_ALLOW_HTTP_CALLBACK_HOSTS",
        value_delimiter = ','
    )]
    pub(crate) plain_http_hosts: Vec<String>,

    /// How often, in milliseconds, the worker looks for due work when
    /// nothing wakes it.
    #[arg(long, env = "CONFAB_POLL_INTERVAL_MS", default_value_t = 250)]
    pub(crate) poll_interval_ms: u64,

    /// The most HTTP connections served at once; further ones wait.
    #[arg(long, env = "CONFAB_MAX_CONNECTIONS", default_value_t = 4096)]
    pub(crate) max_connections: usize,

    /// How many workers run queued requests at once: by default one on
    /// SQLite (its single writer runs every batch anyway) and four on
    /// PostgreSQL (a batch mostly waits for the database).
    #[arg(long, env = "CONFAB_WORKERS", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) workers: Option<u16>,

    /// Accept and queue calls but run none of them (maintenance, or a node
    /// that only takes calls in).
    #[arg(long, env = "CONFAB_NO_WORKER")]
    pub(crate) no_worker: bool,

    /// How long, in seconds, a conversation may go without receiving a part
    /// before it times out (203). Measured from the last part received.
    #[arg(long, env = "CONFAB_CONVERSATION_TIMEOUT_SECS", default_value_t = 300)]
    pub(crate) conversation_timeout_secs: u64,

    /// How many days results (ResultMessage, ResultItem) and the stored
    /// calls of finished requests are kept before they are purged.
    #[arg(long, env = "CONFAB_RETENTION_DAYS", default_value_t = 30)]
    pub(crate) retention_days: u64,

    /// How often, in seconds, housekeeping (conversation time-outs,
    /// retention) runs.
    #[arg(long, env = "CONFAB_HOUSEKEEPING_INTERVAL_SECS", default_value_t = 5)]
    pub(crate) housekeeping_interval_secs: u64,

    /// FOR TESTS ONLY, never in production: run on a clock that
    /// `POST /_confab/clock` moves ahead, so that tests can make scheduled
    /// work fall due, conversations time out, results age and tokens expire
    /// without waiting.
    #[arg(long, env = "CONFAB_TEST_CLOCK")]
    pub(crate) test_clock: bool,

    #[command(flatten)]
    pub(crate) callbacks: CallbackArgs,

    #[command(flatten)]
    pub(crate) smtp: SmtpArgs,
}

/// How callbacks are delivered and retried.
#[derive(Debug, Args)]
pub(crate) struct CallbackArgs {
    /// The API's own behaviour: one attempt per callback, never a retry. A
    /// failed callback is kept as a dead letter.
    #[arg(long, env = "CONFAB_CALLBACK_SINGLE_ATTEMPT")]
    pub(crate) callback_single_attempt: bool,

    /// The bound on the first retry's delay, in milliseconds; it doubles
    /// with each attempt, and the delay is drawn below it (full jitter).
    #[arg(long, env = "CONFAB_CALLBACK_BACKOFF_MS", default_value_t = 5_000)]
    pub(crate) callback_backoff_ms: u64,

    /// The most the retry delay's bound grows to, in milliseconds.
    #[arg(
        long,
        env = "CONFAB_CALLBACK_MAX_BACKOFF_MS",
        default_value_t = 3_600_000
    )]
    pub(crate) callback_max_backoff_ms: u64,

    /// How long a failing callback is retried, in seconds, before it is
    /// kept as a dead letter.
    #[arg(
        long,
        env = "CONFAB_CALLBACK_RETRY_WINDOW_SECS",
        default_value_t = 86_400
    )]
    pub(crate) callback_retry_window_secs: u64,

    /// How long one callback attempt may take, in milliseconds.
    #[arg(long, env = "CONFAB_CALLBACK_TIMEOUT_MS", default_value_t = 10_000)]
    pub(crate) callback_timeout_ms: u64,

    /// How often, in milliseconds, the deliverer looks for due callbacks
    /// when nothing wakes it.
    #[arg(
        long,
        env = "CONFAB_CALLBACK_POLL_INTERVAL_MS",
        default_value_t = 1_000
    )]
    pub(crate) callback_poll_interval_ms: u64,
}

/// The SMTP relay for e-mail callbacks.
#[derive(Debug, Args)]
pub(crate) struct SmtpArgs {
    /// The relay, as host:port. Without it, e-mail callbacks are accepted
    /// and kept as dead letters.
    #[arg(long, env = "CONFAB_SMTP_RELAY")]
    pub(crate) smtp_relay: Option<String>,

    /// The sender address of e-mail callbacks.
    #[arg(long, env = "CONFAB_SMTP_FROM", default_value = "confab@localhost")]
    pub(crate) smtp_from: String,

    /// How the connection to the relay is secured.
    #[arg(long, env = "CONFAB_SMTP_TLS", default_value = "starttls")]
    pub(crate) smtp_tls: SmtpTlsMode,

    /// A PEM file of certificate authorities to trust for the relay, as
    /// well as the usual ones (a relay whose certificate a private
    /// authority issued).
    #[arg(long, env = "CONFAB_SMTP_CA_FILE")]
    pub(crate) smtp_ca_file: Option<std::path::PathBuf>,

    /// The relay user name (from the environment only).
    #[arg(long, env = "CONFAB_SMTP_USERNAME", hide = true)]
    pub(crate) smtp_username: Option<String>,

    /// The relay password (from the environment only).
    #[arg(
        long,
        env = "CONFAB_SMTP_PASSWORD",
        hide = true,
        hide_env_values = true
    )]
    pub(crate) smtp_password: Option<String>,
}

/// `--smtp-tls`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SmtpTlsMode {
    /// Plain SMTP.
    None,
    /// STARTTLS, required.
    Starttls,
    /// TLS from the start (SMTPS).
    Tls,
}

/// `confab deliveries …`.
#[derive(Debug, Subcommand)]
pub(crate) enum DeliveryCommand {
    /// List callback deliveries as JSON, newest first.
    List {
        /// Only dead letters.
        #[arg(long)]
        dead: bool,
        /// Only this account's.
        #[arg(long)]
        account: Option<i64>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Put a delivery back in the queue, due now, with a fresh retry window.
    Replay {
        /// The delivery id (its webhook-id).
        id: String,
    },
}

/// `confab clients …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// Create an API client and print it as JSON (the secret is shown only
    /// here).
    Create {
        /// The account (MID) the client acts in; the first account if
        /// omitted.
        #[arg(long)]
        account: Option<i64>,
    },
}

/// `confab users …`.
#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create an API user for WS-Security logins.
    Create {
        /// The account (MID) the user acts in.
        #[arg(long)]
        account: i64,
        /// The login name.
        #[arg(long)]
        username: String,
        /// The password.
        #[arg(long)]
        password: String,
    },
}

/// `confab accounts …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AccountCommand {
    /// Create an account and print its MID as JSON.
    Create {
        /// A name for people.
        #[arg(long)]
        name: String,
    },
    /// Print the secret the account's callbacks are signed with, as JSON
    /// (made on first use).
    WebhookSecret {
        /// The account (MID).
        #[arg(long)]
        account: i64,
        /// Replace the secret with a new one first.
        #[arg(long)]
        rotate: bool,
    },
}

/// Sets up logging: `RUST_LOG` if set, else info for Confab and warnings
/// for everything else. Logs go to stderr so that commands can print JSON on
/// stdout.
///
/// Lines are handed to a background thread that writes them, so a request
/// never waits for the terminal or a log pipe; when that thread falls behind,
/// callers wait rather than lines being dropped. The returned guard flushes
/// what is left when it is dropped, so keep it until the program ends.
pub(crate) fn init_tracing(format: LogFormat) -> WorkerGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(
            "warn,confab=info,confab_api=info,confab_engine=info,confab_store=info,\
             confab_deliver=info",
        )
    });
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stderr());
    // Colours only for a terminal; a file or a pipe gets plain text.
    let colours = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(colours);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    guard
}
