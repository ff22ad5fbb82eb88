//! A callback receiver for the tests: a small axum server on loopback that
//! records every request it gets and answers with the statuses the test
//! chose.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use tokio::task::JoinHandle;

use crate::support::{WAIT, wait_until};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// The path it was posted to.
    pub path: String,
    /// Its headers.
    pub headers: HeaderMap,
    /// The raw body.
    pub body: String,
    /// The body read as form fields, in order.
    pub fields: Vec<(String, String)>,
}

impl Received {
    /// The value of a form field; panics when it is missing.
    pub fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
            .unwrap_or_else(|| panic!("no field {name} in {:?}", self.fields))
    }

    /// The value of a header; panics when it is missing.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no header {name}"))
            .to_str()
            .unwrap()
    }
}

/// What the receiver shares with its handler.
#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    /// Statuses to answer with, in order; after them, `default_status`.
    next_statuses: Mutex<VecDeque<u16>>,
    default_status: Mutex<u16>,
}

/// A running receiver; it stops when dropped.
pub struct Receiver {
    port: u16,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Receiver {
    /// Starts a receiver on a free loopback port.
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// Starts a receiver on `port` (0: any free one).
    pub async fn start_on(port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        *shared.default_status.lock().unwrap() = 200;
        let app = Router::new().fallback(record).with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { port, shared, task }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    /// Answers the next requests with these statuses, then as before.
    pub fn answer_next(&self, statuses: &[u16]) {
        self.shared
            .next_statuses
            .lock()
            .unwrap()
            .extend(statuses.iter().copied());
    }

    /// Answers every request after the queued ones with `status`.
    pub fn answer_always(&self, status: u16) {
        *self.shared.default_status.lock().unwrap() = status;
    }

    /// Everything posted to `path` so far.
    pub fn received(&self, path: &str) -> Vec<Received> {
        let wanted = format!("/{path}");
        self.shared
            .received
            .lock()
            .unwrap()
            .iter()
            .filter(|received| received.path == wanted)
            .cloned()
            .collect()
    }

    /// Waits until at least `count` requests were posted to `path`.
    pub async fn wait_for(&self, path: &str, count: usize) -> Vec<Received> {
        let what = format!("{count} callbacks to /{path}");
        wait_until(WAIT, &what, async || {
            let received = self.received(path);
            (received.len() >= count).then_some(received)
        })
        .await
    }

    /// Waits a little and checks that `path` got exactly `count` requests:
    /// for asserting that nothing more arrives.
    pub async fn settled(&self, path: &str, count: usize) -> Vec<Received> {
        let received = self.wait_for(path, count).await;
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let after = self.received(path);
        assert_eq!(
            after.len(),
            count,
            "expected {count} callbacks to /{path}, got {}: {after:#?}",
            after.len()
        );
        assert_eq!(received.len(), count);
        after
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Records a request and answers with the next status.
async fn record(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let body = String::from_utf8_lossy(&body).into_owned();
    let fields = form_urlencoded::parse(body.as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    shared.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body,
        fields,
    });
    let next = shared.next_statuses.lock().unwrap().pop_front();
    let status = next.unwrap_or(*shared.default_status.lock().unwrap());
    StatusCode::from_u16(status).unwrap()
}
