//! The report queries: `orderStats` and `auditLog`. Thin: decode the
//! arguments, call the service, map the result.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::Period;
use super::audit_log::{self, AuditLogRequest};
use super::stats::{self, StatsRequest};
use crate::graphql::ContextExt;
use crate::graphql::scalars::Cursor;
use crate::orders::graphql::AuditEvent;

/// A count under a key (a status, a site id, a user id).
#[derive(SimpleObject)]
pub struct CountByKey {
    key: String,
    count: i32,
}

/// Backlog and lead times over the orders the caller sees.
#[derive(SimpleObject)]
pub struct OrderStats {
    /// Orders per status, largest first.
    by_status: Vec<CountByKey>,
    /// Orders per site id, largest first (orders without a site are left out).
    by_site: Vec<CountByKey>,
    /// Orders per assignee's user id, largest first; an order counts for
    /// each of its assignees.
    by_assignee: Vec<CountByKey>,
    /// Mean hours from creation to close, over closed orders.
    mean_hours_open_to_close: Option<f64>,
    /// Share of reviews sent back (rework requested) among all reviews.
    rework_rate: Option<f64>,
    /// Mean hours from an order's creation to each approval of it.
    mean_hours_to_approval: Option<f64>,
    /// Orders whose send failed.
    failed_sends: i32,
}

fn counts(rows: Vec<(String, i64)>) -> Vec<CountByKey> {
    rows.into_iter().map(|(key, n)| CountByKey { key, count: clamp(n) }).collect()
}

fn clamp(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl From<stats::OrderStats> for OrderStats {
    fn from(s: stats::OrderStats) -> Self {
        Self {
            by_status: counts(s.by_status),
            by_site: counts(s.by_site),
            by_assignee: counts(s.by_assignee),
            mean_hours_open_to_close: s.mean_hours_open_to_close,
            rework_rate: s.rework_rate,
            mean_hours_to_approval: s.mean_hours_to_approval,
            failed_sends: clamp(s.failed_sends),
        }
    }
}

#[derive(Default)]
pub struct ReportQuery;

#[Object]
impl ReportQuery {
    /// Statistics of the orders the caller sees, created within `[from, to)`
    /// when given, at one site when `siteId` is given. ADMIN, PLANNER and
    /// TECHNICIAN.
    async fn order_stats(
        &self,
        ctx: &Context<'_>,
        site_id: Option<ID>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<OrderStats> {
        let principal = ctx.principal()?;
        let request = StatsRequest { site_id: site_id.map(|id| id.0), period: Period::new(from, to)? };
        Ok(stats::order_stats(ctx.reads()?, principal, &request).await?.into())
    }

    /// The audit log, newest first. ADMIN reads the log of what they
    /// administer; ADMIN and PLANNER in scope read one order's history with
    /// `orderId`. `after` is the `id` of the last event of the previous
    /// page; `first` defaults to 50, at most 100.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        order_id: Option<ID>,
        actor_id: Option<ID>,
        first: Option<i32>,
        after: Option<Cursor>,
    ) -> Result<Vec<AuditEvent>> {
        let principal = ctx.principal()?;
        let request = AuditLogRequest {
            order_id: order_id.map(|id| id.0),
            actor_id: actor_id.map(|id| id.0),
            first,
            after: after.map(|c| c.0),
        };
        let rows = audit_log::audit_log(ctx.reads()?, principal, &request).await?;
        Ok(rows.into_iter().map(AuditEvent).collect())
    }
}
