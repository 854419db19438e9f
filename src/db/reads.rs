//! The connection an operation's reads go through ([`Reads`]).
//!
//! sqlx pings every connection as it goes back to its pool (always; it
//! cannot be turned off), so each statement run on the pool is two round
//! trips: the statement, then the ping (on SQLite, two trips to the
//! connection's worker thread). A query instead takes one connection at its
//! first statement and keeps it until the operation ends
//! ([`Reads::release`]): a person's detail, four statements, costs five
//! round trips, not eight. No transaction is opened: each statement commits
//! on its own, exactly as from the pool, and an idle connection holds
//! nothing back from vacuum.
//!
//! Only queries hold a connection. A mutation's changes take connections of
//! their own (write transactions); an operation holding one connection
//! while it waits for another could, once every pooled connection were held
//! that way, wait until the pool's timeout. Subscriptions live for hours,
//! so they read from the pool. A single query of a document seen before
//! takes its connection before it runs, to authenticate its caller
//! (`Engine::reads_ahead`); an API token's last use is written through it
//! then (one statement, no transaction), for the same reason.

use std::sync::Arc;

use async_trait::async_trait;
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{self, Database, Executor, IntoArguments, Pool, Postgres, Sqlite};
use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr,
    Statement,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use super::StatementCounter;

/// Where one operation's reads go: the pool, or one held connection.
/// Cheap to clone; the clones share the connection.
#[derive(Clone)]
pub struct Reads(Arc<Source>);

enum Source {
    Pool(DatabaseConnection),
    Postgres(Held<Postgres>),
    Sqlite(Held<Sqlite>),
}

struct Held<DB: Database> {
    pool: Pool<DB>,
    /// Taken at the first statement, given back by `release` (or on drop).
    conn: Mutex<Option<PoolConnection<DB>>>,
    statements: StatementCounter,
}

impl Reads {
    /// An operation's reads: one held connection when `hold`, the pool
    /// otherwise.
    pub fn new(db: &DatabaseConnection, statements: &StatementCounter, hold: bool) -> Self {
        let source = match db.get_database_backend() {
            DbBackend::Postgres if hold => {
                Source::Postgres(Held::new(db.get_postgres_connection_pool().clone(), statements))
            }
            DbBackend::Sqlite if hold => Source::Sqlite(Held::new(db.get_sqlite_connection_pool().clone(), statements)),
            _ => Source::Pool(db.clone()),
        };
        Self(Arc::new(source))
    }

    /// Gives a held connection back to the pool; a later statement takes
    /// one again.
    pub async fn release(&self) {
        match &*self.0 {
            Source::Pool(_) => {}
            Source::Postgres(held) => held.release().await,
            Source::Sqlite(held) => held.release().await,
        }
    }
}

impl<DB> Held<DB>
where
    DB: Database,
    SqlxValues: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    QueryResult: From<DB::Row>,
    ExecResult: From<DB::QueryResult>,
{
    fn new(pool: Pool<DB>, statements: &StatementCounter) -> Self {
        Self { pool, conn: Mutex::new(None), statements: statements.clone() }
    }

    async fn release(&self) {
        self.conn.lock().await.take();
    }

    async fn connection(&self) -> Result<MappedMutexGuard<'_, PoolConnection<DB>>, DbErr> {
        let mut slot = self.conn.lock().await;
        if slot.is_none() {
            // Boxed: the pool's acquire (which may connect) is a future of
            // kilobytes, and inline it would make every statement's future
            // as large, copied whole as `async_trait` boxes each.
            *slot = Some(Box::pin(self.pool.acquire()).await.map_err(acquire_error)?);
        }
        Ok(MutexGuard::map(slot, |conn| conn.as_mut().expect("filled above")))
    }

    /// `statement` to run, its text and values taken, not copied (a page's
    /// statements bind hundreds of ids).
    fn query(&self, statement: Statement) -> sqlx::query::Query<'static, DB, SqlxValues> {
        self.statements.ran(&statement);
        let values = statement.values.unwrap_or(sea_orm::sea_query::Values(Vec::new()));
        sqlx::query_with(sqlx::AssertSqlSafe(statement.sql), SqlxValues(values))
    }

    async fn execute(&self, statement: Statement) -> Result<ExecResult, DbErr> {
        let mut conn = self.connection().await?;
        let done = self.query(statement).execute(&mut **conn).await.map_err(exec_error)?;
        Ok(done.into())
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let mut conn = self.connection().await?;
        let done = (&mut **conn).execute(sqlx::AssertSqlSafe(sql.to_owned())).await.map_err(exec_error)?;
        Ok(done.into())
    }

    async fn query_one(&self, statement: Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut conn = self.connection().await?;
        let row = self.query(statement).fetch_optional(&mut **conn).await.map_err(query_error)?;
        Ok(row.map(QueryResult::from))
    }

    async fn query_all(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let mut conn = self.connection().await?;
        let rows = self.query(statement).fetch_all(&mut **conn).await.map_err(query_error)?;
        Ok(rows.into_iter().map(QueryResult::from).collect())
    }
}

/// As sea-orm reports a pool's errors, so that they read the same either way.
fn acquire_error(error: sqlx::Error) -> DbErr {
    match error {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        other => DbErr::Conn(RuntimeErr::SqlxError(Arc::new(other))),
    }
}

fn query_error(error: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(error)))
}

fn exec_error(error: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(Arc::new(error)))
}

#[async_trait]
impl ConnectionTrait for Reads {
    fn get_database_backend(&self) -> DbBackend {
        match &*self.0 {
            Source::Pool(db) => db.get_database_backend(),
            Source::Postgres(_) => DbBackend::Postgres,
            Source::Sqlite(_) => DbBackend::Sqlite,
        }
    }

    async fn execute_raw(&self, statement: Statement) -> Result<ExecResult, DbErr> {
        match &*self.0 {
            Source::Pool(db) => db.execute_raw(statement).await,
            Source::Postgres(held) => held.execute(statement).await,
            Source::Sqlite(held) => held.execute(statement).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match &*self.0 {
            Source::Pool(db) => db.execute_unprepared(sql).await,
            Source::Postgres(held) => held.execute_unprepared(sql).await,
            Source::Sqlite(held) => held.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, statement: Statement) -> Result<Option<QueryResult>, DbErr> {
        match &*self.0 {
            Source::Pool(db) => db.query_one_raw(statement).await,
            Source::Postgres(held) => held.query_one(statement).await,
            Source::Sqlite(held) => held.query_one(statement).await,
        }
    }

    async fn query_all_raw(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match &*self.0 {
            Source::Pool(db) => db.query_all_raw(statement).await,
            Source::Postgres(held) => held.query_all(statement).await,
            Source::Sqlite(held) => held.query_all(statement).await,
        }
    }
}
