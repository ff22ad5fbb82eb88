//! `confab serve`: open the store, start the worker, serve HTTP until told
//! to stop.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use confab_api::{ApiSettings, AppState, ServerLimits};
use confab_core::intake::IntakePolicy;
use confab_deliver::{DeliverySettings, RetryPolicy, SmtpSettings, SmtpTls};
use confab_engine::{Clock, Engine, EngineSettings, HousekeepingSettings, SystemClock, TestClock};
use confab_store::Store;
use tracing::{info, warn};

use crate::cli::{ServeArgs, SmtpArgs, SmtpTlsMode};
use crate::{Database, open_store};

/// Runs the server. The store is opened before the async runtime starts:
/// its setup calls block, which async code must not do.
pub(crate) fn run(database: &Database<'_>, args: ServeArgs) -> anyhow::Result<()> {
    // Bind first: a port that is taken should fail the start before anything
    // is created or printed.
    let listener = std::net::TcpListener::bind(args.listen)
        .with_context(|| format!("listen on {}", args.listen))?;
    listener
        .set_nonblocking(true)
        .context("make the listening socket non-blocking")?;
    let database = &database.with_room_for_workers(worker_count(database, &args));
    let store = open_store(database)?;
    announce_first_client(store.as_ref())?;
    let signing_key = store.signing_key().context("read the token signing key")?;
    let runtime = tokio::runtime::Runtime::new().context("start the async runtime")?;
    runtime.block_on(serve(database, args, listener, store, signing_key))
}

/// How many workers a node on PostgreSQL runs unless told otherwise: each
/// holds a connection of the node's twelve while it runs a batch.
const POSTGRES_WORKERS: u16 = 4;

/// How many workers run queued requests: `--workers`, else one on SQLite
/// (its single writer runs every batch anyway) and [`POSTGRES_WORKERS`].
fn worker_count(database: &Database<'_>, args: &ServeArgs) -> usize {
    let default = match database {
        Database::Embedded(_) => 1,
        Database::Postgres(..) => POSTGRES_WORKERS,
    };
    usize::from(args.workers.unwrap_or(default))
}

/// Serves HTTP until a shutdown signal.
async fn serve(
    database: &Database<'_>,
    args: ServeArgs,
    listener: std::net::TcpListener,
    store: Arc<dyn Store>,
    signing_key: Vec<u8>,
) -> anyhow::Result<()> {
    let settings = EngineSettings {
        intake: IntakePolicy {
            plain_http_hosts: args.plain_http_hosts.clone(),
        },
        poll_interval: Duration::from_millis(args.poll_interval_ms.max(1)),
        housekeeping: housekeeping_settings(&args),
        workers: worker_count(database, &args),
        ..EngineSettings::default()
    };
    let test_clock = args.test_clock.then(|| Arc::new(TestClock::default()));
    let clock: Arc<dyn Clock> = match &test_clock {
        Some(test_clock) => {
            warn!(
                "THE TEST CLOCK IS ON: anyone who can reach POST /_confab/clock can move this \
                 server's time ahead, expiring tokens and purging results. Never use \
                 --test-clock in production."
            );
            test_clock.clone()
        }
        None => Arc::new(SystemClock),
    };
    let delivery = DeliverySettings {
        clock: clock.clone(),
        ..delivery_settings(&args)?
    };
    let engine = Engine::new(store.clone(), settings, clock);
    // Without a worker the node still accepts and queues calls: the API's
    // own behaviour during maintenance, and a way to measure intake alone.
    // Housekeeping pauses with it: nothing times out or is purged while no
    // work runs.
    if args.no_worker {
        warn!("the worker is off (--no-worker): calls are accepted and queued, none runs");
    }
    let worker = (!args.no_worker).then(|| engine.start_worker());
    let housekeeping = (!args.no_worker).then(|| engine.start_housekeeping());
    // Deliveries run even without a worker: what is in the outbox is owed.
    let deliverer = confab_deliver::start(store, delivery).context("start the deliverer")?;

    let api = ApiSettings {
        public_url: args.public_url.clone(),
        test_clock,
    };
    let app = confab_api::router(AppState::new(engine, signing_key, api));
    let listener = tokio::net::TcpListener::from_std(listener)
        .context("hand the listening socket to the async runtime")?;
    let address = listener
        .local_addr()
        .context("read the listening address")?;
    info!(%address, %database, "confab is listening");

    let limits = ServerLimits {
        max_connections: args.max_connections,
    };
    confab_api::serve(listener, app, limits, shutdown_signal()).await;
    info!("stopping the worker and housekeeping");
    if let Some(worker) = worker {
        worker.stop().await;
    }
    if let Some(housekeeping) = housekeeping {
        housekeeping.stop().await;
    }
    info!("stopping the deliverer");
    deliverer.stop().await;
    info!("confab stopped");
    Ok(())
}

/// Housekeeping as the command line sets it.
fn housekeeping_settings(args: &ServeArgs) -> HousekeepingSettings {
    const DAY_SECS: u64 = 24 * 3600;
    HousekeepingSettings {
        interval: Duration::from_secs(args.housekeeping_interval_secs.max(1)),
        conversation_timeout: Duration::from_secs(args.conversation_timeout_secs),
        retention: Duration::from_secs(args.retention_days.saturating_mul(DAY_SECS)),
        ..HousekeepingSettings::default()
    }
}

/// The deliverer's settings from the command line.
fn delivery_settings(args: &ServeArgs) -> anyhow::Result<DeliverySettings> {
    let callbacks = &args.callbacks;
    let retry = RetryPolicy {
        initial_backoff: Duration::from_millis(callbacks.callback_backoff_ms.max(1)),
        max_backoff: Duration::from_millis(callbacks.callback_max_backoff_ms.max(1)),
        window: Duration::from_secs(callbacks.callback_retry_window_secs),
        single_attempt: callbacks.callback_single_attempt,
    };
    let timeout = Duration::from_millis(callbacks.callback_timeout_ms.max(1));
    Ok(DeliverySettings {
        retry,
        timeout,
        poll_interval: Duration::from_millis(callbacks.callback_poll_interval_ms.max(1)),
        policy: IntakePolicy {
            plain_http_hosts: args.plain_http_hosts.clone(),
        },
        smtp: smtp_settings(&args.smtp, timeout)?,
        ..DeliverySettings::default()
    })
}

/// What begins a certificate in a PEM file.
const CERTIFICATE_PEM_LABEL: &[u8] = b"-----BEGIN CERTIFICATE-----";

/// The SMTP relay settings, if a relay is configured.
fn smtp_settings(smtp: &SmtpArgs, timeout: Duration) -> anyhow::Result<Option<SmtpSettings>> {
    let Some(relay) = &smtp.smtp_relay else {
        return Ok(None);
    };
    let (host, port) = relay
        .rsplit_once(':')
        .with_context(|| format!("--smtp-relay {relay}: expected host:port"))?;
    let port = port
        .parse::<u16>()
        .with_context(|| format!("--smtp-relay {relay}: the port is not a number"))?;
    let credentials = match (&smtp.smtp_username, &smtp.smtp_password) {
        (Some(user), Some(password)) => Some((user.clone(), password.clone())),
        (None, None) => None,
        _ => anyhow::bail!("CONFAB_SMTP_USERNAME and CONFAB_SMTP_PASSWORD go together"),
    };
    let tls = match smtp.smtp_tls {
        SmtpTlsMode::None => SmtpTls::None,
        SmtpTlsMode::Starttls => SmtpTls::StartTls,
        SmtpTlsMode::Tls => SmtpTls::Tls,
    };
    if smtp.smtp_ca_file.is_some() && matches!(smtp.smtp_tls, SmtpTlsMode::None) {
        warn!("--smtp-ca-file is ignored: --smtp-tls none sends e-mail without TLS");
    }
    let extra_roots_pem = match &smtp.smtp_ca_file {
        Some(path) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("--smtp-ca-file {}: read it", path.display()))?;
            let has_certificate = pem
                .windows(CERTIFICATE_PEM_LABEL.len())
                .any(|window| window == CERTIFICATE_PEM_LABEL);
            anyhow::ensure!(
                has_certificate,
                "--smtp-ca-file {}: no PEM certificate in it",
                path.display()
            );
            Some(pem)
        }
        None => None,
    };
    Ok(Some(SmtpSettings {
        host: host.trim_matches(['[', ']']).to_owned(),
        port,
        from: smtp.smtp_from.clone(),
        tls,
        extra_roots_pem,
        credentials,
        timeout,
    }))
}

/// On the first start, creates the first account and API client and prints
/// the client's credentials: the only time the secret is shown.
fn announce_first_client(store: &dyn Store) -> anyhow::Result<()> {
    let Some(client) = store.bootstrap().context("create the first account")? else {
        return Ok(());
    };
    let message = format!(
        "First start: created account {account} and an API client.\n  \
         client_id:     {id}\n  client_secret: {secret}\n\
         The secret is not shown again; `confab clients create` makes more.",
        account = client.account_id,
        id = client.client_id,
        secret = client.client_secret,
    );
    #[allow(
        clippy::print_stdout,
        reason = "the credentials are the command's output"
    )]
    {
        println!("{message}");
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
