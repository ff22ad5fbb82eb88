//! The nodes under test and the database under them: servers that can be
//! killed and started again while senders keep using whichever of them is
//! alive, and the local PostgreSQL cluster, which can be restarted and is
//! always left running.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::support::{Backend, Client, Server, postgres_server_url};

/// How long PostgreSQL may take to accept connections after a restart.
const POSTGRES_START_TIMEOUT: Duration = Duration::from_secs(60);

/// Where Debian's PostgreSQL packages keep one directory per major version.
const POSTGRES_CONFIG_ROOT: &str = "/etc/postgresql";

/// Every node's flags: the callback receiver is on loopback over plain
/// HTTP, and failed attempts (a node or the database going away mid-post)
/// are retried soon, so that the run ends with everything delivered.
const NODE_FLAGS: &[&str] = &[
    "--allow-http-callback-host",
    "127.0.0.1",
    "--callback-backoff-ms",
    "200",
    "--callback-max-backoff-ms",
    "1000",
    "--callback-timeout-ms",
    "2000",
];

/// The servers of one test, all on one database.
pub struct Cluster {
    servers: Vec<Server>,
    /// One client per node, for the node as it was started first; a
    /// restarted node gets a copy rebased on its new port.
    clients: Vec<Client>,
    live: LiveNodes,
}

impl Cluster {
    /// Starts `nodes` servers on one fresh database of the kind `backend`
    /// names (more than one needs PostgreSQL).
    pub async fn start(backend: Backend, nodes: usize) -> Self {
        let first = Server::start_on(backend, NODE_FLAGS);
        let mut servers = vec![first];
        for _ in 1..nodes {
            let peer = servers[0].start_peer();
            servers.push(peer);
        }
        let mut clients = Vec::new();
        for server in &servers {
            clients.push(server.client().await);
        }
        let live = LiveNodes(Arc::new(RwLock::new(
            clients.iter().cloned().map(Some).collect(),
        )));
        Self {
            servers,
            clients,
            live,
        }
    }

    /// How many nodes the cluster has, alive or not.
    pub fn len(&self) -> usize {
        self.servers.len()
    }

    /// The first node, for SQL on the shared database.
    pub fn first(&self) -> &Server {
        &self.servers[0]
    }

    /// Node `node`, alive or not.
    pub fn server(&self, node: usize) -> &Server {
        &self.servers[node]
    }

    /// A client of a live node, for Retrieves once the load is over.
    pub fn any_client(&self) -> Client {
        let (_, client) = self.live.client_from(0).expect("a node is running");
        client
    }

    /// The handle senders use to find live nodes.
    pub fn live(&self) -> LiveNodes {
        self.live.clone()
    }

    /// Kills node `node` with SIGKILL; calls in flight to it fail, and
    /// senders stop choosing it.
    pub fn kill(&mut self, node: usize) {
        self.servers[node].kill();
        self.live.set(node, None);
    }

    /// Starts node `node` again on its data directory (killing it first if
    /// it runs); senders use it again as soon as it listens.
    pub fn restart(&mut self, node: usize) {
        self.live.set(node, None);
        self.servers[node].restart();
        let client = self.clients[node].rebased(&self.servers[node]);
        self.live.set(node, Some(client));
    }
}

/// The clients of the nodes that are up, shared with every sender.
#[derive(Clone)]
pub struct LiveNodes(Arc<RwLock<Vec<Option<Client>>>>);

impl LiveNodes {
    /// The first live node at `node` or after it (in ring order), and a
    /// client of it; `None` while every node is down.
    pub fn client_from(&self, node: usize) -> Option<(usize, Client)> {
        let clients = self.0.read().unwrap();
        let count = clients.len();
        (0..count)
            .map(|step| (node + step) % count)
            .find_map(|at| clients[at].clone().map(|client| (at, client)))
    }

    fn set(&self, node: usize, client: Option<Client>) {
        self.0.write().unwrap()[node] = client;
    }
}

/// How [`LocalPostgres::restart`] stops the cluster.
#[derive(Debug, Clone, Copy)]
pub enum Shutdown {
    /// Transactions rolled back, connections closed, a checkpoint.
    Fast,
    /// Every process killed, as in a crash; recovery at start.
    Immediate,
}

/// The PostgreSQL cluster on this machine that the tests' database lives
/// in. Restarting it disturbs every other user of it, which is why the
/// tests that do run alone, after every other test.
///
/// Dropping the value starts the cluster if it is down, so that a test
/// that fails midway never leaves the machine without its database.
pub struct LocalPostgres {
    version: String,
    name: String,
}

impl LocalPostgres {
    /// The cluster named by `CONFAB_TEST_PG_CLUSTER` (`VERSION/NAME`), or
    /// else the `main` cluster of the newest installed major version.
    pub fn find() -> Self {
        if let Ok(named) = std::env::var("CONFAB_TEST_PG_CLUSTER") {
            let (version, name) = named
                .split_once('/')
                .expect("CONFAB_TEST_PG_CLUSTER reads VERSION/NAME, as 15/main");
            return Self {
                version: version.to_owned(),
                name: name.to_owned(),
            };
        }
        let root = Path::new(POSTGRES_CONFIG_ROOT);
        let newest = std::fs::read_dir(root)
            .unwrap_or_else(|error| {
                panic!("no PostgreSQL clusters to restart under {root:?}: {error}")
            })
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|version| root.join(version.to_string()).join("main").is_dir())
            .max()
            .unwrap_or_else(|| panic!("no main PostgreSQL cluster under {root:?}"));
        Self {
            version: newest.to_string(),
            name: "main".to_owned(),
        }
    }

    /// Restarts the cluster and waits until it takes connections again;
    /// returns how long the database was away. Blocks: call it off the
    /// async runtime.
    ///
    /// With a fast shutdown, open transactions are rolled back and every
    /// connection is closed; with an immediate one every server process
    /// quits at once, as in a crash, and the cluster recovers from its
    /// write-ahead log when it starts.
    pub fn restart(&self, shutdown: Shutdown) -> Duration {
        let started = Instant::now();
        let mode = match shutdown {
            Shutdown::Fast => "fast",
            Shutdown::Immediate => "immediate",
        };
        self.pg_ctlcluster(&["--mode", mode], "restart");
        if let Err(message) = self.wait_until_accepting() {
            panic!("{message}");
        }
        started.elapsed()
    }

    /// Starts the cluster unless it runs, and waits until it takes
    /// connections.
    fn start_if_down(&self) -> Result<(), String> {
        // `status` exits with 3 when the cluster is down.
        if !self.run(&[], "status").success() {
            let status = self.run(&[], "start");
            if !status.success() {
                return Err(format!("pg_ctlcluster start failed: {status}"));
            }
        }
        self.wait_until_accepting()
    }

    fn wait_until_accepting(&self) -> Result<(), String> {
        let url = postgres_server_url();
        let deadline = Instant::now() + POSTGRES_START_TIMEOUT;
        while postgres::Client::connect(&url, postgres::NoTls).is_err() {
            if Instant::now() > deadline {
                return Err(format!(
                    "PostgreSQL {}/{} takes no connections {POSTGRES_START_TIMEOUT:?} after \
                     starting",
                    self.version, self.name
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    fn pg_ctlcluster(&self, options: &[&str], action: &str) {
        let status = self.run(options, action);
        assert!(
            status.success(),
            "pg_ctlcluster {} {} {action} failed: {status}",
            self.version,
            self.name
        );
    }

    fn run(&self, options: &[&str], action: &str) -> std::process::ExitStatus {
        // Without the flag pg_ctlcluster hands the work to systemd, which
        // the test machines do not run.
        Command::new("pg_ctlcluster")
            .arg("--skip-systemctl-redirect")
            .args(options)
            .args([&self.version, &self.name, action])
            .stdout(Stdio::null())
            .status()
            .expect("run pg_ctlcluster (the PostgreSQL common tools)")
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        // Off the async runtime, whose threads the blocking PostgreSQL
        // client may not use; and no panic, which would abort a test that
        // is already failing.
        let started = std::thread::scope(|scope| scope.spawn(|| self.start_if_down()).join());
        match started {
            Ok(Ok(())) => {}
            Ok(Err(message)) => eprintln!("could not leave PostgreSQL running: {message}"),
            Err(_) => eprintln!("could not leave PostgreSQL running: the check panicked"),
        }
    }
}
