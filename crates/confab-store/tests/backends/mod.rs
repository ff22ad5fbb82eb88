//! The backends the store's tests run on, and the one place that names
//! them. PostgreSQL is found at `CONFAB_TEST_DATABASE_URL` (by default the
//! local server's `test` database); each test gets a schema of its own,
//! dropped afterwards.

use std::sync::Arc;

use confab_store::Store;
use confab_store::postgres::{PostgresSettings, PostgresStore};
use confab_store::sqlite::SqliteStore;

/// The backends every test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where one test's data lives; dropping it removes the data.
pub enum Database {
    Sqlite(tempfile::TempDir),
    Postgres { server: String, schema: String },
}

/// The PostgreSQL server the tests use.
fn postgres_server() -> String {
    std::env::var("CONFAB_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

impl Database {
    /// A fresh, empty database.
    pub fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::Sqlite(tempfile::tempdir().unwrap()),
            Backend::Postgres => {
                let server = postgres_server();
                let schema = format!("confab_test_{}", uuid::Uuid::new_v4().simple());
                let mut client = ::postgres::Client::connect(&server, ::postgres::NoTls).unwrap();
                client
                    .batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .unwrap();
                Self::Postgres { server, schema }
            }
        }
    }

    /// A store on this database; several may be opened one after another.
    pub fn open(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(dir) => Arc::new(SqliteStore::open(dir.path()).unwrap()),
            Self::Postgres { .. } => {
                let url = self.postgres_url();
                Arc::new(PostgresStore::open(&url, PostgresSettings::default()).unwrap())
            }
        }
    }
}

impl Database {
    /// The URL of this PostgreSQL schema. Its connections are named after
    /// the schema, so that a test can tell when they have all closed.
    pub fn postgres_url(&self) -> String {
        let Self::Postgres { server, schema } = self else {
            panic!("not a PostgreSQL database");
        };
        let separator = if server.contains('?') { '&' } else { '?' };
        format!("{server}{separator}options=-csearch_path%3D{schema}&application_name={schema}")
    }

    /// How many entries scans of `index` read in this PostgreSQL schema, once
    /// every store opened on it has been dropped: a connection reports what
    /// it read to PostgreSQL's statistics when it closes at the latest.
    #[allow(dead_code)]
    pub fn index_entries_read(&self, index: &str) -> i64 {
        let Self::Postgres { server, schema } = self else {
            panic!("not a PostgreSQL database");
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let mut client = ::postgres::Client::connect(server, ::postgres::NoTls).unwrap();
            let open: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                    &[schema],
                )
                .unwrap()
                .get(0);
            if open == 0 {
                let row = client
                    .query_one(
                        "SELECT idx_tup_read FROM pg_stat_user_indexes \
                         WHERE schemaname = $1 AND indexrelname = $2",
                        &[schema, &index],
                    )
                    .unwrap();
                return row.get(0);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the stores' connections did not close"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Self::Postgres { server, schema } = self
            && let Ok(mut client) = ::postgres::Client::connect(server, ::postgres::NoTls)
        {
            let _ = client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
        }
    }
}

/// Runs each named test once per backend, as `sqlite::name` and
/// `postgres::name`.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name($crate::backends::Backend::Sqlite);
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                super::$name($crate::backends::Backend::Postgres);
            })*
        }
    };
}
