//! Database connection and migrations, for SQLite and PostgreSQL alike.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

use crate::config::Config;

/// Opens the pool. SQLite gets write-ahead logging, enforced foreign keys and
/// a busy timeout, so readers never block the writer.
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    connect_url(&config.database_url, config.database_pool).await
}

/// Counts the SQL statements a connection pool runs: an operational figure,
/// and how tests prove that a page of orders costs a fixed number of queries.
#[derive(Debug, Clone, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// [`connect`], counting every statement the pool runs.
pub async fn connect_counted(config: &Config) -> anyhow::Result<(DatabaseConnection, StatementCounter)> {
    let mut db = connect(config).await?;
    let counter = StatementCounter::default();
    let count = counter.0.clone();
    db.set_metric_callback(move |_| {
        count.fetch_add(1, Ordering::Relaxed);
    });
    Ok((db, counter))
}

pub async fn connect_url(url: &str, pool: u32) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(pool)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    Database::connect(options).await.context("could not connect to the database (WORKGATE_DATABASE_URL)")
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
