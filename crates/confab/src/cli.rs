//! Command-line arguments and logging setup.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Confab: the asynchronous layer of the Marketing Cloud SOAP API, self-hosted.
#[derive(Debug, Parser)]
#[command(name = "confab", version, about)]
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
    Serve(ServeArgs),
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

    /// A host that callbacks may reach over plain HTTP (repeatable; comma
    /// separated in the environment). All other callbacks must be HTTPS.
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
        EnvFilter::new("warn,confab=info,confab_api=info,confab_engine=info,confab_store=info")
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
