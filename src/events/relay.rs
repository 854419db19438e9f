//! The relay: gives each committed order event its place in the one
//! client-visible order (`seq`, gap-free) and publishes it on the bus.
//!
//! Database ids are not commit order: a transaction holding a lower id may
//! commit after one holding a higher id. So `seq` is not derived from ids;
//! it is assigned here, at relay time, to events already committed, under a
//! lock: an event committed later simply gets a later `seq`. On PostgreSQL
//! the lock is a transaction-scoped advisory lock, so with several gateway
//! instances one relays at a time and a relay that dies releases it with
//! its connection; SQLite has one writer anyway.
//!
//! Publishing happens after the commit. If it fails (Redis down) nothing is
//! lost: every instance's hub reads what it missed from the database.

use std::sync::Arc;
use std::time::Duration;

use entity::order_events;
use sea_orm::sea_query::{Expr, Func};
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};
use tokio::sync::watch;

use super::EventBus;
use super::wire::Published;
use crate::error::AppResult;
use crate::metrics::Metrics;
use crate::time::now_micros;

/// How often the relay looks for new events when nothing tells it of them
/// (SQLite, or a PostgreSQL listener lost).
const POLL: Duration = Duration::from_millis(20);
/// How often it looks while a PostgreSQL listener hears every commit (a
/// change notifies [`CHANNEL`] in its transaction): only in case a
/// notification went missing, as one can while the listener reconnects.
const POLL_WHILE_LISTENING: Duration = Duration::from_secs(1);
/// The PostgreSQL notification channel a change notifies in its
/// transaction; the notification is delivered when it commits, to the
/// relays of every instance.
pub const CHANNEL: &str = "workgate_order_events";
/// How often the log is pruned (more often when the retention is shorter).
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Events sequenced per transaction.
const BATCH: u64 = 500;
/// The advisory lock key of the relay ("wgrelay" in ASCII).
const LOCK_KEY: i64 = 0x0077_6772_656c_6179;

pub struct Relay {
    db: DatabaseConnection,
    bus: Arc<dyn EventBus>,
    /// Events older than this are dropped from the log (the newest is kept,
    /// so `seq` never starts over).
    retention: Duration,
    metrics: Metrics,
}

impl Relay {
    pub fn new(db: DatabaseConnection, bus: Arc<dyn EventBus>, retention: Duration, metrics: Metrics) -> Self {
        Self { db, bus, retention, metrics }
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut committed = self.listen().await;
        let prune_every = Ord::min(self.retention, PRUNE_EVERY);
        let mut pruned = tokio::time::Instant::now();
        loop {
            if *stop.borrow() {
                break;
            }
            if pruned.elapsed() >= prune_every {
                pruned = tokio::time::Instant::now();
                if let Err(e) = self.prune().await {
                    tracing::error!(error = ?e, "relay: pruning the event log failed");
                }
            }
            let more = match self.pass().await {
                Ok(published) => published as u64 == BATCH,
                Err(e) => {
                    tracing::error!(error = ?e, "relay: a pass failed; trying again");
                    false
                }
            };
            if more {
                continue;
            }
            let poll = if committed.is_some() { POLL_WHILE_LISTENING } else { POLL };
            tokio::select! {
                () = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
                heard = async { committed.as_mut()?.recv().await.ok() }, if committed.is_some() => {
                    if heard.is_none() {
                        tracing::warn!("relay: lost the commit notifications; polling every {POLL:?}");
                        committed = None;
                    }
                }
            }
        }
    }

    /// On PostgreSQL, a listener for committed changes, so that events go
    /// out at once rather than at the next poll.
    async fn listen(&self) -> Option<PgListener> {
        if self.db.get_database_backend() != DbBackend::Postgres {
            return None;
        }
        let listening = async {
            let mut listener = PgListener::connect_with(self.db.get_postgres_connection_pool()).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        };
        listening.await.inspect_err(|e| tracing::warn!(error = %e, "relay: cannot listen for commits; polling")).ok()
    }

    /// Drops the published events older than the retention, as a prefix of
    /// the log (never a hole: `at` is each instance's clock, `seq` commit
    /// order), and never the newest (so `seq` never starts over).
    async fn prune(&self) -> AppResult<()> {
        let newest = super::hub::last_seq(&self.db).await?;
        if newest == 0 {
            return Ok(());
        }
        let horizon = now_micros() - i64::try_from(self.retention.as_micros()).unwrap_or(i64::MAX);
        let first_kept = order_events::Entity::find()
            .filter(order_events::Column::Seq.is_not_null())
            .filter(order_events::Column::At.gte(horizon))
            .order_by_asc(order_events::Column::Seq)
            .one(&self.db)
            .await?
            .and_then(|e| e.seq)
            .map_or(newest, |seq| seq.min(newest));
        order_events::Entity::delete_many().filter(order_events::Column::Seq.lt(first_kept)).exec(&self.db).await?;
        Ok(())
    }

    /// Sequences and publishes a batch of new events; how many.
    pub async fn pass(&self) -> AppResult<usize> {
        // Look before locking: most passes find nothing to do.
        let waiting = order_events::Entity::find().filter(order_events::Column::Seq.is_null()).one(&self.db).await?;
        if waiting.is_none() {
            return Ok(0);
        }
        let txn = crate::db::write_txn(&self.db).await?;
        if txn.get_database_backend() == DbBackend::Postgres {
            let locked = txn
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_try_advisory_xact_lock($1) AS locked",
                    [LOCK_KEY.into()],
                ))
                .await?
                .map(|row| row.try_get::<bool>("", "locked"))
                .transpose()?
                .unwrap_or(false);
            if !locked {
                // Another instance is relaying.
                return Ok(0);
            }
        }
        let fresh = order_events::Entity::find()
            .filter(order_events::Column::Seq.is_null())
            .order_by_asc(order_events::Column::Id)
            .limit(BATCH)
            .all(&txn)
            .await?;
        if fresh.is_empty() {
            return Ok(0);
        }
        let last: Option<i64> = order_events::Entity::find()
            .select_only()
            .expr(Func::max(Expr::col(order_events::Column::Seq)))
            .into_tuple()
            .one(&txn)
            .await?
            .flatten();
        let mut published = Vec::with_capacity(fresh.len());
        for (seq, event) in (last.unwrap_or(0) + 1..).zip(fresh) {
            order_events::Entity::update_many()
                .col_expr(order_events::Column::Seq, Expr::value(seq))
                .filter(order_events::Column::Id.eq(event.id))
                .exec(&txn)
                .await?;
            published.push(order_events::Model { seq: Some(seq), ..event });
        }
        txn.commit().await?;
        let now = now_micros();
        for event in &published {
            self.metrics.event_relayed(Duration::from_micros(u64::try_from(now - event.at).unwrap_or(0)));
        }
        for event in &published {
            if let Err(e) = self.bus.publish(&Published::from(event).to_json()).await {
                // The hubs read it from the database instead.
                tracing::warn!(error = %e, "relay: could not publish; instances will catch up");
                break;
            }
        }
        Ok(published.len())
    }
}
