//! Database connection and migrations, for SQLite and PostgreSQL alike.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use prometheus_client::metrics::counter::Counter;
use sea_orm::sea_query::{ArrayType, Expr, ExprTrait, IntoColumnRef, PgFunc, Value};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, SqliteTransactionMode,
    Statement, TransactionOptions, TransactionTrait,
};

use crate::config::Config;

mod reads;
pub mod rows;
pub mod texts;
pub mod wide;

pub use reads::Reads;

/// Opens the pool. SQLite gets write-ahead logging, enforced foreign keys and
/// a busy timeout, so readers never block the writer.
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    connect_url(&config.database_url, config.database_pool).await
}

/// Counts the SQL statements a connection pool runs: an operational figure
/// (`workgate_db_statements_total`), and how tests prove that a page of
/// orders costs a fixed number of queries. It can also keep the statements
/// themselves for a while ([`StatementCounter::record`]): the load
/// generator replays a dashboard request's SQL directly against the
/// database to find its ceiling.
#[derive(Debug, Clone, Default)]
pub struct StatementCounter(Arc<Counted>);

#[derive(Debug, Default)]
struct Counted {
    count: Counter,
    recording: AtomicBool,
    recorded: Mutex<Vec<Statement>>,
}

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.0.count.get()
    }

    /// The counter, for the metrics registry.
    pub fn counter(&self) -> Counter {
        self.0.count.clone()
    }

    /// Keeps every statement from now until [`StatementCounter::take`].
    pub fn record(&self) {
        self.recorded().clear();
        self.0.recording.store(true, Ordering::SeqCst);
    }

    /// Stops keeping statements and hands over those kept.
    pub fn take(&self) -> Vec<Statement> {
        self.0.recording.store(false, Ordering::SeqCst);
        std::mem::take(&mut *self.recorded())
    }

    fn ran(&self, statement: &Statement) {
        self.0.count.inc();
        if self.0.recording.load(Ordering::Relaxed) {
            self.recorded().push(statement.clone());
        }
    }

    fn recorded(&self) -> std::sync::MutexGuard<'_, Vec<Statement>> {
        self.0.recorded.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// [`connect`], counting every statement the pool runs.
pub async fn connect_counted(config: &Config) -> anyhow::Result<(DatabaseConnection, StatementCounter)> {
    let mut db = connect(config).await?;
    let counter = StatementCounter::default();
    let count = counter.clone();
    db.set_metric_callback(move |info| count.ran(info.statement));
    Ok((db, counter))
}

/// A pooled connection idle this long is pinged before it is handed out.
/// One used more recently is not: sqlx pings every connection as it goes
/// back to the pool anyway, and a ping on every checkout as well made each
/// statement three round trips instead of two. A busy pool's connections
/// are never idle this long; a connection the server dropped while it was
/// in use fails the one statement that finds it, and the pool replaces it.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

pub async fn connect_url(url: &str, pool: u32) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(pool)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    Database::connect(options).await.context("could not connect to the database (WORKGATE_DATABASE_URL)")
}

/// `column` is one of `values`. On PostgreSQL one array parameter,
/// `column = ANY($1)`: the statement's text is the same for any number of
/// values, so each connection's prepared statement is reused and PostgreSQL
/// settles on one plan for it, and a batch of fifty ids is one parameter to
/// encode rather than fifty. SQLite has no arrays: an `IN` list there
/// ([`in_list`]). One value (an order's detail) is `column = $1` on both,
/// which PostgreSQL executes a little faster than a one-element array.
pub fn one_of(backend: DbBackend, column: impl IntoColumnRef, values: Vec<String>) -> Expr {
    let (form, values) = one_of_values(backend, values);
    one_of_bound(column, form, values)
}

/// How [`one_of`] selects its values; the statement's text differs between
/// forms and only between them, so it is a [`texts::Texts`] form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OneOf {
    /// `column = $1`.
    One,
    /// PostgreSQL's `column = ANY($1)`, one array parameter.
    Array,
    /// SQLite's `column IN ($1, …)` with this many places.
    List(usize),
}

/// [`one_of`]'s form for `values` on `backend`, and the values it binds.
pub fn one_of_values(backend: DbBackend, mut values: Vec<String>) -> (OneOf, Vec<Value>) {
    match backend {
        _ if values.len() == 1 => (OneOf::One, vec![Value::from(values.swap_remove(0))]),
        DbBackend::Postgres => {
            let array = Value::Array(ArrayType::String, Some(Box::new(values.into_iter().map(Value::from).collect())));
            (OneOf::Array, vec![array])
        }
        _ => {
            let list = in_list(values);
            (OneOf::List(list.len()), list.into_iter().map(Value::from).collect())
        }
    }
}

/// `column` is one of the values that [`one_of_values`] gave, in `form`.
pub fn one_of_bound(column: impl IntoColumnRef, form: OneOf, mut values: Vec<Value>) -> Expr {
    let mut only = || {
        debug_assert_eq!(values.len(), 1, "{form:?} binds one value");
        values.swap_remove(0)
    };
    match form {
        OneOf::One => Expr::col(column).eq(only()),
        OneOf::Array => Expr::col(column).eq(PgFunc::any(Expr::val(only()))),
        OneOf::List(places) => {
            debug_assert_eq!(values.len(), places, "{form:?} binds {places} values");
            Expr::col(column).is_in(values)
        }
    }
}

/// `values` for an `IN` list, padded to the next power of two by repeating
/// the last one (`IN` ignores repeats). A statement's text then takes one of
/// a few forms for any number of values, so each connection's prepared
/// statement is reused, rather than a new one parsed and planned for every
/// length a page happens to produce.
fn in_list<T: Clone>(mut values: Vec<T>) -> Vec<T> {
    if let Some(last) = values.last().cloned() {
        values.resize(values.len().next_power_of_two(), last);
    }
    values
}

/// Begins a transaction that writes. On SQLite it takes the write lock at
/// `BEGIN` (IMMEDIATE, waiting on the busy timeout): a deferred transaction
/// that reads before it writes fails at once with SQLITE_BUSY when another
/// connection commits in between, and the event relay and the send worker
/// write all the time. PostgreSQL gets a plain `BEGIN`.
pub async fn write_txn(conn: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    conn.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("database migration failed")
}

/// A pool's connections now: open, of them idle, and its limit.
pub fn pool_state(db: &DatabaseConnection) -> (u32, usize, u32) {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle(), pool.options().get_max_connections())
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle(), pool.options().get_max_connections())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::in_list;

    #[test]
    fn in_lists_take_a_few_lengths_and_keep_their_values() {
        assert_eq!(in_list(Vec::<&str>::new()), Vec::<&str>::new());
        assert_eq!(in_list(vec!["a"]), ["a"]);
        assert_eq!(in_list(vec!["a", "b", "c"]), ["a", "b", "c", "c"]);
        let lengths: std::collections::BTreeSet<usize> = (1..=100).map(|n| in_list(vec![0; n]).len()).collect();
        assert_eq!(lengths.into_iter().collect::<Vec<_>>(), [1, 2, 4, 8, 16, 32, 64, 128]);
    }
}
