//! The background worker that delivers queued sends; see the module
//! documentation of [`crate::sending`] for the rules it keeps.
//!
//! Every gateway instance runs one. They share the work through the
//! database: a send is claimed with a conditional UPDATE (QUEUED ->
//! SENDING), which exactly one instance wins, on SQLite and PostgreSQL
//! alike.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use entity::{orders, organizations, sites, vendor_sends, vendors};
use futures::StreamExt;
use lettre::Message;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use tokio::sync::{Notify, watch};

use super::mailer::{Failure, Mailer};
use super::message::{self, Parts};
use super::queue::state;
use crate::audit::AuditActor;
use crate::config::SendingConfig;
use crate::error::AppResult;
use crate::graphql::stored_list;
use crate::orders::model::{OrderStatus, SendState};
use crate::orders::record::OrderRecord;
use crate::policy::Action;
use crate::time::now_micros;
use crate::workflow::EventKind;
use crate::workflow::service::{self, Change};

/// How often the worker looks for due retries, sends queued by another
/// instance and expired leases when nothing woke it.
const POLL: Duration = Duration::from_millis(500);
/// Sends claimed per pass, and attempted at once.
const BATCH: u64 = 16;
const CONCURRENCY: usize = 4;
/// How long after an attempt's deadline its lease runs out: by then the
/// attempt is over, whether its process still runs or died.
const LEASE_GRACE: Duration = Duration::from_secs(5);
/// The reason given when a lease ran out.
pub const INTERRUPTED: &str = "the gateway stopped while sending; the vendor may have received the order, \
     so check with them before you resend";

pub struct Worker {
    db: DatabaseConnection,
    mailer: Mailer,
    config: SendingConfig,
    wake: Arc<Notify>,
}

/// A send this instance claimed: the attempt is recorded, the message made.
struct Claimed {
    job: vendor_sends::Model,
    message: Result<Message, String>,
}

/// How a claimed send ends.
enum End {
    Sent,
    Failed(String),
}

impl Worker {
    pub fn new(db: DatabaseConnection, mailer: Mailer, config: SendingConfig, wake: Arc<Notify>) -> Self {
        Self { db, mailer, config, wake }
    }

    /// Where messages go, for the start-up lines.
    pub fn destination(&self) -> String {
        self.mailer.describe()
    }

    /// Works until `stop` turns true. No send is claimed after that; the
    /// attempts under way finish first (each within its deadline).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(to = %self.mailer.describe(), "sending orders to vendors");
        loop {
            if *stop.borrow() {
                break;
            }
            let again = match self.pass(&stop).await {
                Ok(again) => again,
                Err(e) => {
                    tracing::error!(error = ?e, "sending: a pass failed; trying again");
                    false
                }
            };
            if again {
                continue;
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Fails the sends whose lease ran out, then attempts a batch of due
    /// ones. Whether another batch may be waiting.
    async fn pass(&self, stop: &watch::Receiver<bool>) -> AppResult<bool> {
        self.reap().await?;
        let due = vendor_sends::Entity::find()
            .filter(vendor_sends::Column::State.eq(state::QUEUED))
            .filter(vendor_sends::Column::NextAttemptAt.lte(now_micros()))
            .order_by_asc(vendor_sends::Column::NextAttemptAt)
            .limit(BATCH)
            .all(&self.db)
            .await?;
        let full = due.len() as u64 == BATCH;
        let claimed = AtomicUsize::new(0);
        futures::stream::iter(due)
            .for_each_concurrent(CONCURRENCY, |job| async {
                if !*stop.borrow() && self.attempt(job).await {
                    claimed.fetch_add(1, Ordering::Relaxed);
                }
            })
            .await;
        Ok(full && claimed.into_inner() > 0)
    }

    /// Sends whose attempt outlived its lease: the process that made it died
    /// (or lost the database). Their outcome is unknown: SEND_FAILED.
    async fn reap(&self) -> AppResult<()> {
        let expired = vendor_sends::Entity::find()
            .filter(vendor_sends::Column::State.eq(state::SENDING))
            .filter(vendor_sends::Column::LeaseUntil.lt(now_micros()))
            .limit(BATCH)
            .all(&self.db)
            .await?;
        for job in expired {
            tracing::warn!(send = %job.id, order = %job.order_id, "sending: an attempt's lease ran out");
            if let Err(e) = self.settle(&job, End::Failed(INTERRUPTED.to_owned()), true).await {
                tracing::error!(error = ?e, send = %job.id, "sending: could not fail an expired send");
            }
        }
        Ok(())
    }

    /// Claims and attempts `job`; whether it was claimed here.
    async fn attempt(&self, job: vendor_sends::Model) -> bool {
        let claimed = match self.claim(job).await {
            Ok(Some(claimed)) => claimed,
            Ok(None) => return false,
            Err(e) => {
                tracing::error!(error = ?e, "sending: could not claim a send");
                return false;
            }
        };
        // The attempt ends well inside its lease, as this clock sees it,
        // however long the claim waited for its locks.
        let lease_until = claimed.job.lease_until.unwrap_or_default();
        let left =
            Duration::from_micros(u64::try_from(lease_until - now_micros()).unwrap_or(0)).saturating_sub(LEASE_GRACE);
        let deadline = Ord::min(self.config.timeout, left);
        let outcome = match &claimed.message {
            Ok(_) if deadline.is_zero() => Err(Failure::NotDelivered {
                permanent: false,
                reason: "the claim took the whole attempt deadline; nothing was sent".to_owned(),
            }),
            Ok(message) => tokio::time::timeout(deadline, self.mailer.deliver(message)).await.unwrap_or_else(|_| {
                Err(Failure::Unknown {
                    reason: format!(
                        "no answer within {deadline:?} (WORKGATE_SEND_TIMEOUT); the vendor may have received the order"
                    ),
                })
            }),
            Err(reason) => Err(Failure::NotDelivered { permanent: true, reason: reason.clone() }),
        };
        let job = &claimed.job;
        let recorded = match outcome {
            Ok(()) => self.settle(job, End::Sent, false).await,
            Err(failure) if failure.retryable() && job.attempts < attempts_allowed(&self.config) => {
                self.retry_later(job, failure.reason()).await
            }
            Err(failure) => self.settle(job, End::Failed(failure.reason().to_owned()), false).await,
        };
        if let Err(e) = recorded {
            // The send stays SENDING; its lease runs out and it fails as
            // interrupted: never sent twice.
            tracing::error!(error = ?e, send = %job.id, "sending: could not record an attempt's outcome");
        }
        true
    }

    /// Claims `job` and records the attempt, before anything is sent: the
    /// order's `send_state` becomes SENDING (so a cancel, a delete or a
    /// second send that saw it QUEUED conflicts) and the send SENDING with
    /// one more attempt and a lease. The order row is taken first, as every
    /// change of an order does, so the two never deadlock. None when another
    /// instance was first, or the order no longer takes the send (it was
    /// cancelled or deleted: then the send is withdrawn).
    async fn claim(&self, job: vendor_sends::Model) -> AppResult<Option<Claimed>> {
        let txn = crate::db::write_txn(&self.db).await?;
        let order_claimed = orders::Entity::update_many()
            .col_expr(orders::Column::SendState, Expr::value(SendState::Sending.as_str()))
            .filter(orders::Column::Id.eq(job.order_id.as_str()))
            .filter(orders::Column::SendState.eq(SendState::Queued.as_str()))
            .filter(orders::Column::DeletedAt.is_null())
            .filter(orders::Column::Status.is_in([OrderStatus::Open, OrderStatus::SendFailed].map(OrderStatus::as_str)))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if !order_claimed {
            // Another instance holds it (then the send is SENDING already
            // and this changes nothing), or the order moved on.
            withdraw_queued(&txn, &job.id).await?;
            txn.commit().await?;
            return Ok(None);
        }
        // The lease counts from now: the locks are held.
        let lease = now_micros() + micros(self.config.timeout + LEASE_GRACE);
        let won = vendor_sends::Entity::update_many()
            .col_expr(vendor_sends::Column::State, Expr::value(state::SENDING))
            .col_expr(vendor_sends::Column::Attempts, Expr::col(vendor_sends::Column::Attempts).add(1))
            .col_expr(vendor_sends::Column::LeaseUntil, Expr::value(lease))
            .filter(vendor_sends::Column::Id.eq(job.id.as_str()))
            .filter(vendor_sends::Column::State.eq(state::QUEUED))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if !won {
            return Ok(None);
        }
        let order = service::reload(&txn, &job.order_id).await?;
        let vendor = vendors::Entity::find_by_id(job.vendor_id.as_str()).one(&txn).await?;
        let organization = organizations::Entity::find_by_id(job.organization_id.as_str()).one(&txn).await?;
        let site = match order.model.site_id.as_deref() {
            Some(id) => sites::Entity::find_by_id(id).one(&txn).await?,
            None => None,
        };
        let vendor_name = vendor.as_ref().map(|v| v.name.clone()).unwrap_or_default();
        // A vendor row that does not hold a list is a permanent failure of
        // this send (recorded), not a send stuck in the queue.
        let recipients = vendor
            .as_ref()
            .map(|v| stored_list("vendors.contact_emails", &v.id, &v.contact_emails))
            .transpose()
            .map(Option::unwrap_or_default);
        let message = match &recipients {
            Ok(recipients) => message::compose(&Parts {
                order: &order,
                organization: organization.as_ref().map_or("", |o| o.name.as_str()),
                site: site.as_ref().map(|s| s.name.as_str()),
                vendor_name: &vendor_name,
                recipients,
                from: &self.config.from,
                message_id: &job.message_id,
            }),
            Err(_) => Err(format!("the contact emails of the vendor {vendor_name} cannot be read")),
        };
        let recipients = recipients.unwrap_or_default();
        vendor_sends::Entity::update_many()
            .col_expr(vendor_sends::Column::Recipients, Expr::value(json!(recipients).to_string()))
            .filter(vendor_sends::Column::Id.eq(job.id.as_str()))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        let job = vendor_sends::Model {
            state: state::SENDING.to_owned(),
            attempts: job.attempts + 1,
            lease_until: Some(lease),
            recipients: json!(recipients).to_string(),
            ..job
        };
        Ok(Some(Claimed { job, message }))
    }

    /// Puts a send that delivered nothing back in the queue, after a delay
    /// that doubles with each attempt.
    async fn retry_later(&self, job: &vendor_sends::Model, reason: &str) -> AppResult<()> {
        let next = now_micros() + micros(backoff(&self.config, job.attempts));
        let txn = crate::db::write_txn(&self.db).await?;
        // The order row first, as in every change of an order.
        set_order_send_state(&txn, &job.order_id, Some(SendState::Queued)).await?;
        let requeued = vendor_sends::Entity::update_many()
            .col_expr(vendor_sends::Column::State, Expr::value(state::QUEUED))
            .col_expr(vendor_sends::Column::NextAttemptAt, Expr::value(next))
            .col_expr(vendor_sends::Column::LeaseUntil, Expr::value(Option::<i64>::None))
            .col_expr(vendor_sends::Column::LastError, Expr::value(reason))
            .filter(vendor_sends::Column::Id.eq(job.id.as_str()))
            .filter(vendor_sends::Column::State.eq(state::SENDING))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if requeued {
            txn.commit().await?;
            tracing::info!(send = %job.id, attempts = job.attempts, reason, "sending: will try again");
        } else {
            tracing::warn!(send = %job.id, "sending: the send was already settled; not requeued");
        }
        Ok(())
    }

    /// Ends a send: SENT, or SEND_FAILED with its reason; the order moves
    /// with it, audited as the system's doing. `expired` settles only a
    /// send whose lease ran out (the reaper's guard against a late finish).
    async fn settle(&self, job: &vendor_sends::Model, end: End, expired: bool) -> AppResult<()> {
        let txn = crate::db::write_txn(&self.db).await?;
        let (row_state, error, status) = match &end {
            End::Sent => (state::SENT, None, OrderStatus::Sent),
            End::Failed(reason) => (state::FAILED, Some(reason.as_str()), OrderStatus::SendFailed),
        };
        let order = service::reload(&txn, &job.order_id).await?;
        // The order row first, as in every change of an order.
        let moved = orders::Entity::update_many()
            .col_expr(orders::Column::Status, Expr::value(status.as_str()))
            .col_expr(orders::Column::SendState, Expr::value(Option::<String>::None))
            .col_expr(orders::Column::Version, Expr::col(orders::Column::Version).add(1))
            .col_expr(orders::Column::UpdatedAt, Expr::value(now_micros()))
            .filter(orders::Column::Id.eq(job.order_id.as_str()))
            .filter(orders::Column::SendState.eq(SendState::Sending.as_str()))
            .filter(orders::Column::DeletedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if !finish_row(&txn, &job.id, row_state, error, expired).await? {
            // Already settled (by the reaper, if this attempt outlived its
            // lease): change nothing.
            tracing::warn!(send = %job.id, "sending: the send was already settled; outcome not recorded");
            return Ok(());
        }
        if moved {
            record_outcome(&txn, &order, job, status, error).await?;
        }
        txn.commit().await?;
        tracing::info!(send = %job.id, order = %job.order_id, status = status.as_str(), "sending: done");
        Ok(())
    }
}

/// The audit event (`order.sent` / `order.send_failed`, by the system) and
/// order event of a send's outcome.
async fn record_outcome(
    txn: &DatabaseTransaction,
    order: &OrderRecord,
    job: &vendor_sends::Model,
    status: OrderStatus,
    error: Option<&str>,
) -> AppResult<()> {
    let recipients = stored_list("vendor_sends.recipients", &job.id, &job.recipients).unwrap_or_default();
    let event = if order.status == status { EventKind::Updated } else { EventKind::StatusChanged };
    let change = Change::new(Action::Send, event)
        .to_status(order.status, status)
        .note("delivery", json!([SendState::Sending.as_str(), null]))
        .note("recipients", json!(recipients))
        .note("attempts", json!(job.attempts))
        .because(error.map(str::to_owned));
    let action = if status == OrderStatus::Sent { "order.sent" } else { "order.send_failed" };
    service::record_as(txn, AuditActor::System, &order.model, change, action).await?;
    Ok(())
}

/// Closes a send's row (if it is still SENDING; with `expired`, only once
/// its lease ran out). Whether it was.
async fn finish_row(
    txn: &DatabaseTransaction,
    id: &str,
    row_state: &str,
    error: Option<&str>,
    expired: bool,
) -> AppResult<bool> {
    let now = now_micros();
    let mut update = vendor_sends::Entity::update_many()
        .col_expr(vendor_sends::Column::State, Expr::value(row_state))
        .col_expr(vendor_sends::Column::FinishedAt, Expr::value(now))
        .col_expr(vendor_sends::Column::LeaseUntil, Expr::value(Option::<i64>::None))
        .filter(vendor_sends::Column::Id.eq(id))
        .filter(vendor_sends::Column::State.eq(state::SENDING));
    if let Some(error) = error {
        update = update.col_expr(vendor_sends::Column::LastError, Expr::value(error));
    }
    if expired {
        update = update.filter(vendor_sends::Column::LeaseUntil.lt(now));
    }
    Ok(update.exec(txn).await?.rows_affected == 1)
}

/// The order's side of a send (its version stays: the changes a client
/// could race with check `send_state` in their claim, see
/// `workflow::service::claim`).
async fn set_order_send_state(txn: &DatabaseTransaction, order_id: &str, send: Option<SendState>) -> AppResult<()> {
    orders::Entity::update_many()
        .col_expr(orders::Column::SendState, Expr::value(send.map(SendState::as_str)))
        .filter(orders::Column::Id.eq(order_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Withdraws a send still QUEUED whose order no longer takes it.
async fn withdraw_queued(txn: &DatabaseTransaction, id: &str) -> AppResult<()> {
    vendor_sends::Entity::update_many()
        .col_expr(vendor_sends::Column::State, Expr::value(state::CANCELLED))
        .col_expr(vendor_sends::Column::FinishedAt, Expr::value(now_micros()))
        .filter(vendor_sends::Column::Id.eq(id))
        .filter(vendor_sends::Column::State.eq(state::QUEUED))
        .exec(txn)
        .await?;
    Ok(())
}

fn attempts_allowed(config: &SendingConfig) -> i32 {
    i32::try_from(config.attempts).unwrap_or(i32::MAX)
}

/// The wait after `attempts` attempts: the retry delay, doubled for each
/// attempt after the first, at most an hour.
fn backoff(config: &SendingConfig, attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0);
    let doublings = Ord::min(doublings, 16);
    Ord::min(config.retry_delay.saturating_mul(1 << doublings), Duration::from_secs(3600))
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MailTransport;

    #[test]
    fn the_delay_doubles_and_stops_at_an_hour() {
        let config = SendingConfig {
            transport: MailTransport::Folder("mail".into()),
            from: "workgate <workgate@localhost>".into(),
            timeout: Duration::from_secs(60),
            attempts: 5,
            retry_delay: Duration::from_secs(30),
        };
        let waits: Vec<u64> = (1..=4).map(|n| backoff(&config, n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240]);
        assert_eq!(backoff(&config, 30), Duration::from_secs(3600));
    }
}
