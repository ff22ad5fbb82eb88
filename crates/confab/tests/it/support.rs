//! What every test needs: the real `confab` binary started on a temporary
//! database, a SOAP client that speaks to it over loopback HTTP,
//! builders for the request bodies, readers for the responses, and polling
//! helpers for the work that runs in the background.
//!
//! ```text
//! Server::start ─ confab clients create ──> credentials
//!               └ confab serve --listen 127.0.0.1:0 ─ stderr ─> address
//! Server::client ─ POST /v2/token ──> Client ─ soap(action, body) ─> Soap
//! ```
//!
//! Nothing here sleeps longer than one poll: whatever runs in the
//! background is waited for with [`wait_until`].
//!
//! The database is SQLite in a temporary directory unless
//! `CONFAB_IT_DATABASE=postgres` (or the test asks for a [`Backend`]): then
//! each server gets a schema of its own in the PostgreSQL at
//! `CONFAB_TEST_DATABASE_URL` (by default the local server's `test`
//! database), dropped when the server and every peer started beside it
//! with [`Server::start_peer`] are gone.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use tempfile::TempDir;

/// The partnerAPI namespace, the default namespace of every body element.
pub const PARTNER_NS: &str = "http://exacttarget.com/wsdl/partnerAPI";

/// The SOAP 1.1 envelope namespace.
pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// The XML Schema instance namespace (`xsi:type`).
pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// How long the server may take to say it is listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How long one HTTP call may take before the test gives up on it.
const HTTP_TIMEOUT: Duration = Duration::from_secs(60);

/// How many of the server's last log lines a failing test prints.
const LOG_LINES_KEPT: usize = 200;

/// How often [`wait_until`] looks again.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// The default time a test waits for background work.
pub const WAIT: Duration = Duration::from_secs(20);

/// An API client's credentials, as `confab clients create` prints them.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: String,
    /// The account (MID) the client acts in.
    pub account_id: i64,
}

/// The database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in the server's temporary data directory.
    Sqlite,
    /// A fresh schema in the PostgreSQL at `CONFAB_TEST_DATABASE_URL`.
    Postgres,
}

impl Backend {
    /// The backend `CONFAB_IT_DATABASE` names: PostgreSQL for `postgres`,
    /// SQLite otherwise.
    pub fn from_env() -> Self {
        if std::env::var("CONFAB_IT_DATABASE").as_deref() == Ok("postgres") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }
}

/// The PostgreSQL server the tests use, as a URL.
pub fn postgres_server_url() -> String {
    std::env::var("CONFAB_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Where a test server keeps its data.
enum TestDatabase {
    /// The embedded default, in the server's data directory.
    Sqlite,
    /// A schema of its own in a PostgreSQL database.
    Postgres { server: String, schema: String },
}

impl TestDatabase {
    /// A fresh database of the kind `backend` names.
    fn new(backend: Backend) -> Self {
        if backend == Backend::Sqlite {
            return Self::Sqlite;
        }
        let server = postgres_server_url();
        let schema = format!("confab_it_{}", uuid::Uuid::new_v4().simple());
        let create = format!("CREATE SCHEMA {schema}");
        off_runtime(|| {
            let mut client = postgres::Client::connect(&server, postgres::NoTls).unwrap();
            client.batch_execute(&create).unwrap();
        });
        Self::Postgres { server, schema }
    }

    /// The `--database-url` the server is given, if any.
    fn url(&self) -> Option<String> {
        let Self::Postgres { server, schema } = self else {
            return None;
        };
        let separator = if server.contains('?') { '&' } else { '?' };
        Some(format!(
            "{server}{separator}options=-csearch_path%3D{schema}"
        ))
    }

    /// Adds the database flags to a `confab` command.
    fn configure(&self, data_dir: &Path, command: &mut Command) {
        command.arg("--data-dir").arg(data_dir);
        if let Some(url) = self.url() {
            command.arg("--database-url").arg(url);
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Self::Postgres { server, schema } = self {
            let drop = format!("DROP SCHEMA {schema} CASCADE");
            off_runtime(|| {
                // A killed server's connections may still be finishing a
                // statement; the drop can then lose a deadlock with one of
                // them, and is tried again.
                for _ in 0..3 {
                    let dropped = postgres::Client::connect(server, postgres::NoTls)
                        .and_then(|mut client| client.batch_execute(&drop));
                    if dropped.is_ok() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            });
        }
    }
}

/// A running `confab serve` on its own temporary database, or on the
/// database of the server it is a peer of. The process is killed (SIGKILL)
/// when the value is dropped.
pub struct Server {
    data_dir: TempDir,
    /// Shared by a server and its peers; the schema goes with the last.
    database: Arc<TestDatabase>,
    extra_args: Vec<String>,
    extra_env: Vec<(String, String)>,
    child: Option<Child>,
    address: String,
    log: Arc<Mutex<ServerLog>>,
    /// The first account's client, created before the first start.
    pub credentials: ClientCredentials,
}

impl Server {
    /// Starts a server on a fresh data directory.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server on a fresh data directory with extra `serve`
    /// arguments.
    pub fn start_with(extra_args: &[&str]) -> Self {
        Self::start_on(Backend::from_env(), extra_args)
    }

    /// Starts a server on a fresh data directory with extra `serve`
    /// arguments and environment variables.
    pub fn start_with_env(extra_args: &[&str], extra_env: &[(&str, &str)]) -> Self {
        Self::start_on_with_env(Backend::from_env(), extra_args, extra_env)
    }

    /// Starts a server on a fresh database of the kind `backend` names,
    /// whatever `CONFAB_IT_DATABASE` says, with extra `serve` arguments.
    pub fn start_on(backend: Backend, extra_args: &[&str]) -> Self {
        Self::start_on_with_env(backend, extra_args, &[])
    }

    /// [`Server::start_on`] with environment variables for the server.
    fn start_on_with_env(
        backend: Backend,
        extra_args: &[&str],
        extra_env: &[(&str, &str)],
    ) -> Self {
        let data_dir = new_data_dir();
        let database = TestDatabase::new(backend);
        let credentials =
            parse_client(&run_cli(&database, data_dir.path(), &["clients", "create"]));
        let mut server = Self {
            data_dir,
            database: Arc::new(database),
            extra_args: extra_args.iter().map(|arg| (*arg).to_owned()).collect(),
            extra_env: extra_env
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
            child: None,
            address: String::new(),
            log: Arc::default(),
            credentials,
        };
        server.spawn();
        server
    }

    /// Starts another node on this server's PostgreSQL schema, with the
    /// same `serve` arguments and a data directory and port of its own: the
    /// nodes share every account, client, queue and result. Its `Client`s
    /// are made with [`Server::client`] like any server's.
    ///
    /// # Panics
    ///
    /// On SQLite, whose file one process owns.
    // Only the multi-node tests (tests/nodes) start peers.
    #[allow(dead_code)]
    pub fn start_peer(&self) -> Self {
        let extra_args: Vec<&str> = self.extra_args.iter().map(String::as_str).collect();
        self.start_peer_with(&extra_args)
    }

    /// [`Server::start_peer`] with other `serve` arguments than this
    /// server's.
    #[allow(dead_code)]
    pub fn start_peer_with(&self, extra_args: &[&str]) -> Self {
        assert!(
            matches!(*self.database, TestDatabase::Postgres { .. }),
            "only servers on PostgreSQL can have peers"
        );
        let mut peer = Self {
            data_dir: new_data_dir(),
            database: self.database.clone(),
            extra_args: extra_args.iter().map(|arg| (*arg).to_owned()).collect(),
            extra_env: self.extra_env.clone(),
            child: None,
            address: String::new(),
            log: Arc::default(),
            credentials: self.credentials.clone(),
        };
        peer.spawn();
        peer
    }

    /// Starts a server on a fresh data directory whose clock the test moves
    /// with [`Server::advance_clock`] (`--test-clock`), plus extra `serve`
    /// arguments.
    pub fn start_with_test_clock(extra_args: &[&str]) -> Self {
        let mut args = vec!["--test-clock"];
        args.extend_from_slice(extra_args);
        Self::start_with(&args)
    }

    /// Starts `confab serve` and waits until it names its address.
    fn spawn(&mut self) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_confab"));
        self.database.configure(self.data_dir.path(), &mut command);
        command
            .args(["--log-format", "json", "serve"])
            .args(["--listen", "127.0.0.1:0", "--poll-interval-ms", "20"])
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        isolate_environment(&mut command);
        command.envs(self.extra_env.iter().map(|(name, value)| (name, value)));
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        self.child = Some(child);

        let (address_tx, address_rx) = mpsc::channel();
        let log = self.log.clone();
        std::thread::spawn(move || drain_log(stderr, &log, &address_tx));
        match address_rx.recv_timeout(START_TIMEOUT) {
            Ok(address) => self.address = address,
            Err(_) => panic!(
                "confab did not say it is listening within {START_TIMEOUT:?}; its log:\n{}",
                self.log_tail()
            ),
        }
    }

    /// Kills the server with SIGKILL, as a crash would, and waits for it to
    /// be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server's process (SIGSTOP) without killing it, as a hung
    /// node or one cut off from the network looks to its database, or
    /// lets it go on (SIGCONT).
    // Only the multi-node tests (tests/nodes) pause nodes.
    #[allow(dead_code)]
    pub fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("the server runs");
        let sent = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill {signal} failed");
    }

    /// Kills the server and starts it again on the same data directory. The
    /// new process listens on a new port; clients must be rebased.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Runs one statement on the server's database, from the test, for
    /// tampering; returns how many rows it changed. Parameters are written
    /// `$1`, `$2`…, which both SQLite and PostgreSQL read. The server keeps
    /// running.
    pub fn sql_execute(&self, sql: &str, params: &[&str]) -> u64 {
        match &*self.database {
            TestDatabase::Sqlite => {
                let changed = self
                    .sqlite()
                    .execute(sql, rusqlite::params_from_iter(params))
                    .unwrap();
                changed as u64
            }
            TestDatabase::Postgres { .. } => off_runtime(|| {
                let params = postgres_params(params);
                self.postgres().execute(sql, &params).unwrap()
            }),
        }
    }

    /// The first column of every row a query returns, as integers.
    pub fn sql_integers(&self, sql: &str, params: &[&str]) -> Vec<i64> {
        match &*self.database {
            TestDatabase::Sqlite => {
                let database = self.sqlite();
                let mut statement = database.prepare(sql).unwrap();
                statement
                    .query_map(rusqlite::params_from_iter(params), |found| found.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap()
            }
            TestDatabase::Postgres { .. } => off_runtime(|| {
                let params = postgres_params(params);
                let rows = self.postgres().query(sql, &params).unwrap();
                rows.iter().map(|row| row.get(0)).collect()
            }),
        }
    }

    /// Every row a query returns, each column as text; the query must
    /// select text (cast where needed, `CAST(x AS TEXT)` reads on both
    /// databases), and NULL reads as an empty string.
    // Only the multi-node tests (tests/nodes) read whole rows.
    #[allow(dead_code)]
    pub fn sql_texts(&self, sql: &str, params: &[&str]) -> Vec<Vec<String>> {
        match &*self.database {
            TestDatabase::Sqlite => {
                let database = self.sqlite();
                let mut statement = database.prepare(sql).unwrap();
                let columns = statement.column_count();
                statement
                    .query_map(rusqlite::params_from_iter(params), |found| {
                        (0..columns)
                            .map(|column| {
                                let text: Option<String> = found.get(column)?;
                                Ok(text.unwrap_or_default())
                            })
                            .collect()
                    })
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap()
            }
            TestDatabase::Postgres { .. } => off_runtime(|| {
                let params = postgres_params(params);
                let rows = self.postgres().query(sql, &params).unwrap();
                rows.iter()
                    .map(|row| {
                        (0..row.len())
                            .map(|column| {
                                let text: Option<String> = row.get(column);
                                text.unwrap_or_default()
                            })
                            .collect()
                    })
                    .collect()
            }),
        }
    }

    /// The first column of the one row a query returns, as bytes.
    pub fn sql_bytes(&self, sql: &str) -> Vec<u8> {
        match &*self.database {
            TestDatabase::Sqlite => self
                .sqlite()
                .query_row(sql, [], |found| found.get(0))
                .unwrap(),
            TestDatabase::Postgres { .. } => {
                off_runtime(|| self.postgres().query_one(sql, &[]).unwrap().get(0))
            }
        }
    }

    /// A connection to the server's SQLite file; WAL mode lets both sides
    /// in.
    fn sqlite(&self) -> rusqlite::Connection {
        let path = self.data_dir.path().join("confab.sqlite3");
        let connection = rusqlite::Connection::open(path).unwrap();
        connection.busy_timeout(Duration::from_secs(10)).unwrap();
        connection
    }

    /// A connection to the server's PostgreSQL schema.
    fn postgres(&self) -> postgres::Client {
        let url = self.database.url().unwrap();
        postgres::Client::connect(&url, postgres::NoTls).unwrap()
    }

    /// The URL of the server's PostgreSQL schema, for a test that holds a
    /// connection of its own there; `None` on SQLite.
    // Only the multi-node tests (tests/nodes) hold connections.
    #[allow(dead_code)]
    pub fn postgres_url(&self) -> Option<String> {
        self.database.url()
    }

    /// Runs `confab --data-dir DIR ARGS…` and returns its JSON output.
    pub fn cli(&self, args: &[&str]) -> Value {
        run_cli(&self.database, self.data_dir.path(), args)
    }

    /// Creates an account and returns its MID.
    pub fn create_account(&self, name: &str) -> i64 {
        let created = self.cli(&["accounts", "create", "--name", name]);
        created["account_id"].as_i64().unwrap()
    }

    /// Creates an API client in `account`.
    pub fn create_client(&self, account: i64) -> ClientCredentials {
        let account = account.to_string();
        parse_client(&self.cli(&["clients", "create", "--account", &account]))
    }

    /// Creates an API user for WS-Security logins in `account`.
    pub fn create_user(&self, account: i64, username: &str, password: &str) {
        let account = account.to_string();
        self.cli(&[
            "users",
            "create",
            "--account",
            &account,
            "--username",
            username,
            "--password",
            password,
        ]);
    }

    /// A client of the first account, with a fresh access token.
    pub async fn client(&self) -> Client {
        self.client_for(&self.credentials.clone()).await
    }

    /// A client with a fresh access token for `credentials`.
    pub async fn client_for(&self, credentials: &ClientCredentials) -> Client {
        let http = http_client();
        let token = request_token(&http, &self.base_url(), credentials).await;
        Client {
            http,
            base_url: self.base_url(),
            auth: Auth::Fueloauth(token),
        }
    }

    /// Moves the server's test clock `seconds` ahead and returns its new
    /// now. The server answers once it has run one housekeeping pass at the
    /// new time (time-outs, purges) and woken its worker. Access tokens
    /// expire by this clock: after a jump of more than 18 minutes, get a new
    /// client.
    pub async fn advance_clock(&self, seconds: i64) -> DateTime<Utc> {
        let response = http_client()
            .post(format!("{}/_confab/clock", self.base_url()))
            .json(&serde_json::json!({ "advance_seconds": seconds }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "the test clock is off");
        let answer: Value = response.json().await.unwrap();
        answer["now"].as_str().unwrap().parse().unwrap()
    }

    /// The server's now, by its test clock.
    pub async fn now(&self) -> DateTime<Utc> {
        self.advance_clock(0).await
    }

    /// The last lines the server logged.
    pub fn log_tail(&self) -> String {
        let log = self
            .log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        log.tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// How many times the server logged each warning and error since it
    /// was first started, by level and message (`WARN: …`).
    // Only the multi-node tests (tests/nodes) report them.
    #[allow(dead_code)]
    pub fn log_problems(&self) -> BTreeMap<String, usize> {
        let log = self
            .log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        log.problems.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- last lines of the confab log ---\n{}", self.log_tail());
        }
        self.kill();
    }
}

/// A fresh temporary data directory.
fn new_data_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("confab-it-")
        .tempdir()
        .unwrap()
}

/// Keeps the developer's `CONFAB_*` settings and log filter out of the
/// server, so that every test sees the defaults it was written against.
fn isolate_environment(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CONFAB_") {
            command.env_remove(name);
        }
    }
    command
        .env(
            "RUST_LOG",
            "warn,confab=info,confab_api=info,confab_engine=info,confab_store=info,\
             confab_deliver=info",
        )
        .env("RUST_BACKTRACE", "0");
}

/// What a test keeps of a server's log, across its restarts.
#[derive(Debug, Default)]
struct ServerLog {
    /// The last lines.
    tail: VecDeque<String>,
    /// How many times each warning and error was logged, by level and
    /// message (`WARN: …`).
    problems: BTreeMap<String, usize>,
}

/// Reads the server's stderr to the end: sends the listening address once
/// it is logged, counts warnings and errors, and keeps the last lines for a
/// failing test to show. The pipe is drained until the process dies, so it
/// never fills.
fn drain_log(
    stderr: std::process::ChildStderr,
    log: &Mutex<ServerLog>,
    address_tx: &mpsc::Sender<String>,
) {
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        let event = serde_json::from_str::<Value>(&line).unwrap_or_default();
        if event["fields"]["message"] == "confab is listening"
            && let Some(address) = event["fields"]["address"].as_str()
        {
            let _ = address_tx.send(address.to_owned());
        }
        let mut log = log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(level @ ("WARN" | "ERROR")) = event["level"].as_str() {
            let message = event["fields"]["message"].as_str().unwrap_or_default();
            *log.problems
                .entry(format!("{level}: {message}"))
                .or_default() += 1;
        }
        if log.tail.len() == LOG_LINES_KEPT {
            log.tail.pop_front();
        }
        log.tail.push_back(line);
    }
}

/// Runs a management command and parses the JSON it prints.
fn run_cli(database: &TestDatabase, data_dir: &Path, args: &[&str]) -> Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_confab"));
    database.configure(data_dir, &mut command);
    command.args(args);
    isolate_environment(&mut command);
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "confab {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Runs `work` on a thread of its own: the `postgres` client blocks on a
/// runtime of its own, which a thread already driving the test's async
/// runtime may not do.
fn off_runtime<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| scope.spawn(work).join().unwrap())
}

/// Query parameters for the `postgres` client.
fn postgres_params<'p>(params: &'p [&'p str]) -> Vec<&'p (dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|param| param as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

/// Reads the JSON of `clients create`.
fn parse_client(value: &Value) -> ClientCredentials {
    ClientCredentials {
        client_id: value["client_id"].as_str().unwrap().to_owned(),
        client_secret: value["client_secret"].as_str().unwrap().to_owned(),
        account_id: value["account_id"].as_i64().unwrap(),
    }
}

/// An HTTP client for loopback calls.
pub fn http_client() -> reqwest::Client {
    // reqwest comes with rustls but no crypto provider (confab-deliver
    // picks ring); a second install is refused, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .build()
        .unwrap()
}

/// `POST /v2/token` with client credentials; returns the access token.
async fn request_token(
    http: &reqwest::Client,
    base_url: &str,
    credentials: &ClientCredentials,
) -> String {
    let body = serde_json::json!({
        "grant_type": "client_credentials",
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
    });
    let response = http
        .post(format!("{base_url}/v2/token"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "token request refused");
    let answer: Value = response.json().await.unwrap();
    answer["access_token"].as_str().unwrap().to_owned()
}

/// How a [`Client`] puts its credentials in the SOAP header.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `<fueloauth xmlns="http://exacttarget.com">TOKEN</fueloauth>`.
    Fueloauth(String),
    /// `<oAuth xmlns="http://exacttarget.com"><oAuthToken>…` plus the `*`/`*`
    /// UsernameToken the legacy SDKs send with it.
    OAuthToken(String),
    /// WS-Security `UsernameToken` with a plain-text password.
    WsSecurity {
        /// `Username`.
        username: String,
        /// `Password`.
        password: String,
    },
}

impl Auth {
    /// The SOAP header entries for these credentials.
    fn header(&self) -> String {
        match self {
            Self::Fueloauth(token) => {
                format!(r#"<fueloauth xmlns="http://exacttarget.com">{token}</fueloauth>"#)
            }
            Self::OAuthToken(token) => format!(
                concat!(
                    r#"<oAuth xmlns="http://exacttarget.com">"#,
                    "<oAuthToken>{token}</oAuthToken></oAuth>{wsse}",
                ),
                token = token,
                wsse = username_token("*", "*")
            ),
            Self::WsSecurity { username, password } => username_token(username, password),
        }
    }
}

/// A WS-Security header with a plain-text `UsernameToken`.
fn username_token(username: &str, password: &str) -> String {
    format!(
        concat!(
            r#"<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/"#,
            r#"oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken>"#,
            "<wsse:Username>{username}</wsse:Username>",
            r#"<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/"#,
            r#"oasis-200401-wss-username-token-profile-1.0#PasswordText">"#,
            "{password}</wsse:Password></wsse:UsernameToken></wsse:Security>",
        ),
        username = username,
        password = password,
    )
}

/// A SOAP 1.1 envelope as FuelSDK-Node writes it: default namespace, no
/// prefixes, the credentials in the header.
pub fn envelope(header: &str, body: &str) -> String {
    format!(
        concat!(
            r#"<Envelope xmlns="{soap11}" xmlns:xsi="{xsi}">"#,
            "<Header>{header}</Header><Body>{body}</Body></Envelope>",
        ),
        soap11 = SOAP11_NS,
        xsi = XSI_NS,
        header = header,
        body = body,
    )
}

/// A client of one account on one server.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    /// The credentials it sends.
    pub auth: Auth,
}

impl Client {
    /// The same credentials against another server (a restarted one).
    pub fn rebased(&self, server: &Server) -> Self {
        Self {
            base_url: server.base_url(),
            ..self.clone()
        }
    }

    /// The same server with other credentials.
    pub fn with_auth(&self, auth: Auth) -> Self {
        Self {
            auth,
            ..self.clone()
        }
    }

    /// The access token, for clients that authenticate with one.
    pub fn token(&self) -> &str {
        match &self.auth {
            Auth::Fueloauth(token) | Auth::OAuthToken(token) => token,
            Auth::WsSecurity { .. } => panic!("this client logs in with a UsernameToken"),
        }
    }

    /// The underlying HTTP client.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `POST /Service.asmx` with `SOAPAction: action` and `body` inside a
    /// SOAP 1.1 envelope carrying this client's credentials.
    pub async fn soap(&self, action: &str, body: &str) -> Soap {
        self.try_soap(action, body).await.unwrap()
    }

    /// [`Client::soap`] that reports transport failures instead of
    /// panicking (the server may be killed under it).
    pub async fn try_soap(&self, action: &str, body: &str) -> Result<Soap, reqwest::Error> {
        let text = envelope(&self.auth.header(), body);
        self.post_xml("/Service.asmx", &[("SOAPAction", action)], text)
            .await
    }

    /// Posts any text to `path` with `Content-Type: text/xml` (unless the
    /// headers name another) and reads the answer.
    pub async fn post_xml(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> Result<Soap, reqwest::Error> {
        let mut request = self.http.post(format!("{}{path}", self.base_url));
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        {
            request = request.header("Content-Type", "text/xml; charset=utf-8");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.body(body).send().await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.text().await?;
        Ok(Soap {
            status,
            content_type,
            text,
        })
    }

    /// A GET on the server, returning status and body.
    pub async fn get(&self, path: &str, bearer: Option<&str>) -> (u16, String) {
        let mut request = self.http.get(format!("{}{path}", self.base_url));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// A JSON POST on the server, returning status and parsed body.
    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base_url))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A Retrieve that must succeed (`OK` or `MoreDataAvailable`).
    pub async fn retrieve(&self, body: &str) -> Soap {
        let response = self.soap("Retrieve", body).await;
        let status = response.overall_status();
        assert!(
            status == "OK" || status == "MoreDataAvailable",
            "retrieve failed: {}",
            response.text
        );
        response
    }

    /// Every object a Retrieve finds, following `MoreDataAvailable` pages.
    pub async fn retrieve_all(
        &self,
        object_type: &str,
        properties: &[&str],
        filter: Option<(&str, &str)>,
    ) -> Vec<Item> {
        let mut response = self
            .retrieve(&retrieve(object_type, properties, filter))
            .await;
        let mut items = response.results();
        while response.overall_status() == "MoreDataAvailable" {
            let request_id = response.request_id();
            response = self
                .retrieve(&retrieve_continue(object_type, &request_id))
                .await;
            items.extend(response.results());
        }
        items
    }

    /// The `ResultItem`s whose `property` equals `value`.
    pub async fn result_items(&self, property: &str, value: &str) -> Vec<Item> {
        self.retrieve_all("ResultItem", &[], Some((property, value)))
            .await
    }

    /// The `ResultMessage`s whose `property` equals `value`.
    pub async fn result_messages(&self, property: &str, value: &str) -> Vec<Item> {
        self.retrieve_all("ResultMessage", &[], Some((property, value)))
            .await
    }

    /// Waits until `count` `ResultMessage`s match and returns them.
    pub async fn wait_for_result_messages(
        &self,
        property: &str,
        value: &str,
        count: usize,
    ) -> Vec<Item> {
        let what = format!("{count} ResultMessage(s) with {property} = {value}");
        wait_until(WAIT, &what, async || {
            let messages = self.result_messages(property, value).await;
            (messages.len() >= count).then_some(messages)
        })
        .await
    }

    /// Waits until `count` `ResultItem`s match and returns them.
    pub async fn wait_for_result_items(
        &self,
        property: &str,
        value: &str,
        count: usize,
    ) -> Vec<Item> {
        let what = format!("{count} ResultItem(s) with {property} = {value}");
        wait_until(WAIT, &what, async || {
            let items = self.result_items(property, value).await;
            (items.len() >= count).then_some(items)
        })
        .await
    }

    /// Every row of a data extension, as field name to value.
    pub async fn rows(&self, key: &str, fields: &[&str]) -> Vec<BTreeMap<String, String>> {
        let object_type = format!("DataExtensionObject[{key}]");
        self.retrieve_all(&object_type, fields, None)
            .await
            .into_iter()
            .map(|item| item.properties)
            .collect()
    }

    /// Creates a data extension synchronously and checks it was created.
    pub async fn create_data_extension(&self, key: &str, fields: &[Field]) {
        let response = self
            .soap(
                "Create",
                &request("Create", "", &data_extension(key, fields)),
            )
            .await;
        assert_eq!(
            response.status_codes(),
            ["OK"],
            "data extension {key} not created: {}",
            response.text
        );
    }

    /// Sends a Create/Update/Delete that must be queued, and returns its
    /// `RequestID`.
    pub async fn send_queued(&self, operation: &str, options: &Options, objects: &str) -> String {
        let response = self
            .soap(operation, &request(operation, &options.xml(), objects))
            .await;
        assert_eq!(
            response.overall_status(),
            "OK",
            "not queued: {}",
            response.text
        );
        assert!(
            response.status_messages().iter().all(|m| m == "Queued"),
            "not queued: {}",
            response.text
        );
        response.request_id()
    }
}

/// Polls `probe` until it returns `Some`, every 20 ms, for at most
/// `timeout`; panics with `what` when time runs out.
pub async fn wait_until<T>(
    timeout: Duration,
    what: &str,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// An HTTP answer from the SOAP endpoint.
#[derive(Debug, Clone)]
pub struct Soap {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: String,
    /// The body.
    pub text: String,
}

/// One `Results` element: its `xsi:type`, its text children and, for data
/// extension rows, its `Properties/Property` pairs.
#[derive(Debug, Clone, Default)]
pub struct Item {
    /// The `xsi:type`, without a prefix.
    pub xsi_type: Option<String>,
    /// Every child that holds only text, by local name.
    pub fields: BTreeMap<String, String>,
    /// `Properties/Property` as `Name` to `Value`.
    pub properties: BTreeMap<String, String>,
}

impl Item {
    /// A text child, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// A text child that must be present.
    pub fn field(&self, name: &str) -> &str {
        self.get(name)
            .unwrap_or_else(|| panic!("result has no {name}: {self:?}"))
    }

    /// A numeric child, if present.
    pub fn number(&self, name: &str) -> Option<i64> {
        self.get(name).map(|text| text.parse().unwrap())
    }
}

impl Soap {
    /// The parsed document; panics with the text when it is not XML.
    pub fn document(&self) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(&self.text)
            .unwrap_or_else(|error| panic!("response is not XML ({error}): {}", self.text))
    }

    /// The local name of the first element in the SOAP Body.
    pub fn body_element_name(&self) -> String {
        let document = self.document();
        body_element(&document).tag_name().name().to_owned()
    }

    /// The text of the response element's direct child `name`.
    fn response_child(&self, name: &str) -> Option<String> {
        let document = self.document();
        let response = body_element(&document);
        response
            .children()
            .find(|node| node.is_element() && node.tag_name().name() == name)
            .map(|node| node.text().unwrap_or_default().to_owned())
    }

    /// The response's own `RequestID`.
    pub fn request_id(&self) -> String {
        self.response_child("RequestID")
            .unwrap_or_else(|| panic!("response has no RequestID: {}", self.text))
    }

    /// `OverallStatus`.
    pub fn overall_status(&self) -> String {
        self.response_child("OverallStatus")
            .unwrap_or_else(|| panic!("response has no OverallStatus: {}", self.text))
    }

    /// Every `Results` element of the response, in order.
    pub fn results(&self) -> Vec<Item> {
        let document = self.document();
        body_element(&document)
            .children()
            .filter(|node| node.is_element() && node.tag_name().name() == "Results")
            .map(read_item)
            .collect()
    }

    /// `ErrorCode` of every result (`None` where a result has none).
    pub fn error_codes(&self) -> Vec<Option<i64>> {
        self.results()
            .iter()
            .map(|item| item.number("ErrorCode"))
            .collect()
    }

    /// `StatusCode` of every result.
    pub fn status_codes(&self) -> Vec<String> {
        self.results()
            .iter()
            .map(|item| item.field("StatusCode").to_owned())
            .collect()
    }

    /// `StatusMessage` of every result.
    pub fn status_messages(&self) -> Vec<String> {
        self.results()
            .iter()
            .map(|item| item.get("StatusMessage").unwrap_or_default().to_owned())
            .collect()
    }

    /// The one error code every result of a refused call carries; checks
    /// that the call was refused as a whole.
    pub fn refusal_code(&self) -> i64 {
        let results = self.results();
        assert!(!results.is_empty(), "no results: {}", self.text);
        assert_eq!(self.overall_status(), "Error", "not refused: {}", self.text);
        let codes: Vec<Option<i64>> = self.error_codes();
        let first = codes[0].unwrap_or_else(|| panic!("no ErrorCode: {}", self.text));
        assert!(
            codes.iter().all(|code| *code == Some(first)),
            "results disagree on the code: {codes:?}"
        );
        assert!(self.status_codes().iter().all(|code| code == "Error"));
        first
    }

    /// `faultcode` and `faultstring` (SOAP 1.1) or `Code/Value` and
    /// `Reason/Text` (SOAP 1.2), if the answer is a fault.
    pub fn fault(&self) -> Option<(String, String)> {
        let document = self.document();
        let fault = body_element(&document);
        if fault.tag_name().name() != "Fault" {
            return None;
        }
        let text_of = |path: &[&str]| {
            let mut node = fault;
            for name in path {
                node = node
                    .children()
                    .find(|child| child.is_element() && child.tag_name().name() == *name)?;
            }
            Some(node.text().unwrap_or_default().trim().to_owned())
        };
        let code = text_of(&["faultcode"]).or_else(|| text_of(&["Code", "Value"]))?;
        let reason = text_of(&["faultstring"]).or_else(|| text_of(&["Reason", "Text"]))?;
        Some((code, reason))
    }

    /// The fault, which must be there.
    pub fn expect_fault(&self) -> (String, String) {
        assert_eq!(
            self.status, 500,
            "a fault comes with HTTP 500: {}",
            self.text
        );
        self.fault()
            .unwrap_or_else(|| panic!("expected a fault: {}", self.text))
    }
}

/// The first element inside the SOAP Body.
fn body_element<'a, 'input>(
    document: &'a roxmltree::Document<'input>,
) -> roxmltree::Node<'a, 'input> {
    let body = document
        .root_element()
        .children()
        .find(|node| node.is_element() && node.tag_name().name() == "Body")
        .expect("the envelope has a Body");
    body.children()
        .find(roxmltree::Node::is_element)
        .expect("the Body holds an element")
}

/// Reads one `Results` element.
fn read_item(node: roxmltree::Node<'_, '_>) -> Item {
    let mut item = Item {
        xsi_type: node
            .attribute((XSI_NS, "type"))
            .map(|value| value.rsplit(':').next().unwrap_or(value).to_owned()),
        ..Item::default()
    };
    for child in node.children().filter(roxmltree::Node::is_element) {
        let name = child.tag_name().name();
        if name == "Properties" {
            for property in child.children().filter(roxmltree::Node::is_element) {
                let text_of = |wanted: &str| {
                    property
                        .children()
                        .find(|node| node.is_element() && node.tag_name().name() == wanted)
                        .and_then(|node| node.text())
                        .unwrap_or_default()
                        .to_owned()
                };
                item.properties.insert(text_of("Name"), text_of("Value"));
            }
        } else if !child.children().any(|node| node.is_element()) {
            let text = child.text().unwrap_or_default().to_owned();
            item.fields.insert(name.to_owned(), text);
        }
    }
    item
}

/// The asynchronous options of a call, written as `Options` children.
#[derive(Debug, Clone, Default)]
pub struct Options {
    children: Vec<String>,
}

/// Options that make a call asynchronous.
pub fn asynchronous() -> Options {
    Options::default().with("RequestType", "Asynchronous")
}

/// The options of part `sequence_code` of `calls` of conversation `id`.
pub fn part(id: &str, sequence_code: i32, calls: i32) -> Options {
    asynchronous()
        .with("ConversationID", id)
        .with("SequenceCode", &sequence_code.to_string())
        .with("CallsInConversation", &calls.to_string())
}

impl Options {
    /// No options at all: a synchronous call.
    pub fn none() -> Self {
        Self::default()
    }

    /// Adds `<name>value</name>`.
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.children.push(format!("<{name}>{value}</{name}>"));
        self
    }

    /// Adds raw XML.
    pub fn raw(mut self, xml: &str) -> Self {
        self.children.push(xml.to_owned());
        self
    }

    /// Adds `ScheduledTime`.
    pub fn scheduled(self, at: DateTime<Utc>) -> Self {
        self.with("ScheduledTime", &instant(at))
    }

    /// Adds `RequestExpirationTime`.
    pub fn expires(self, at: DateTime<Utc>) -> Self {
        self.with("RequestExpirationTime", &instant(at))
    }

    /// The `Options` children.
    pub fn xml(&self) -> String {
        self.children.concat()
    }
}

/// An instant as `xsd:dateTime` in UTC.
pub fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `<{operation}Request>` with `options` and `objects`.
pub fn request(operation: &str, options: &str, objects: &str) -> String {
    format!(
        concat!(
            r#"<{operation}Request xmlns="{partner}">"#,
            "<Options>{options}</Options>{objects}</{operation}Request>",
        ),
        operation = operation,
        partner = PARTNER_NS,
        options = options,
        objects = objects,
    )
}

/// One column of a data extension to create.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    name: &'static str,
    is_primary_key: bool,
}

impl Field {
    /// A text primary key column.
    pub fn key(name: &'static str) -> Self {
        Self {
            name,
            is_primary_key: true,
        }
    }

    /// A text column.
    pub fn text(name: &'static str) -> Self {
        Self {
            name,
            is_primary_key: false,
        }
    }
}

/// A `DataExtension` object with text columns.
pub fn data_extension(key: &str, fields: &[Field]) -> String {
    let fields: String = fields
        .iter()
        .map(|field| {
            format!(
                "<Field><Name>{}</Name><FieldType>Text</FieldType><MaxLength>100</MaxLength>\
                 <IsPrimaryKey>{}</IsPrimaryKey></Field>",
                field.name, field.is_primary_key
            )
        })
        .collect();
    format!(
        concat!(
            r#"<Objects xsi:type="DataExtension"><CustomerKey>{key}</CustomerKey>"#,
            "<Name>{key}</Name><Fields>{fields}</Fields></Objects>",
        ),
        key = key,
        fields = fields,
    )
}

/// `Name`/`Value` pairs inside a wrapper (`Properties/Property`,
/// `Keys/Key`).
fn pairs(list: &str, item: &str, values: &[(&str, &str)]) -> String {
    if values.is_empty() {
        return String::new();
    }
    let inner: String = values
        .iter()
        .map(|(name, value)| format!("<{item}><Name>{name}</Name><Value>{value}</Value></{item}>"))
        .collect();
    format!("<{list}>{inner}</{list}>")
}

/// A `DataExtensionObject` of data extension `key` with these values.
pub fn row(key: &str, values: &[(&str, &str)]) -> String {
    keyed_row(key, &[], values)
}

/// A `DataExtensionObject` that names its row by primary key values in
/// `Keys`, with these other values in `Properties`.
pub fn keyed_row(key: &str, keys: &[(&str, &str)], values: &[(&str, &str)]) -> String {
    format!(
        r#"<Objects xsi:type="DataExtensionObject"><CustomerKey>{key}</CustomerKey>{}{}</Objects>"#,
        pairs("Properties", "Property", values),
        pairs("Keys", "Key", keys),
    )
}

/// A `RetrieveRequestMsg` for `object_type` with `properties` and an
/// optional `property equals value` filter.
pub fn retrieve(object_type: &str, properties: &[&str], filter: Option<(&str, &str)>) -> String {
    let properties: String = properties
        .iter()
        .map(|name| format!("<Properties>{name}</Properties>"))
        .collect();
    let filter = filter.map_or_else(String::new, |(property, value)| {
        format!(
            concat!(
                r#"<Filter xsi:type="SimpleFilterPart"><Property>{property}</Property>"#,
                "<SimpleOperator>equals</SimpleOperator><Value>{value}</Value></Filter>",
            ),
            property = property,
            value = value,
        )
    });
    format!(
        concat!(
            r#"<RetrieveRequestMsg xmlns="{partner}"><RetrieveRequest>"#,
            "<ObjectType>{object_type}</ObjectType>{properties}{filter}",
            "</RetrieveRequest></RetrieveRequestMsg>",
        ),
        partner = PARTNER_NS,
        object_type = object_type,
        properties = properties,
        filter = filter,
    )
}

/// A `RetrieveRequestMsg` asking for the page after `request_id`.
pub fn retrieve_continue(object_type: &str, request_id: &str) -> String {
    format!(
        concat!(
            r#"<RetrieveRequestMsg xmlns="{partner}"><RetrieveRequest>"#,
            "<ObjectType>{object_type}</ObjectType>",
            "<ContinueRequest>{request_id}</ContinueRequest>",
            "</RetrieveRequest></RetrieveRequestMsg>",
        ),
        partner = PARTNER_NS,
        object_type = object_type,
        request_id = request_id,
    )
}

/// A fresh identifier, for conversation ids and row values that must not
/// collide with anything else in the test.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}
