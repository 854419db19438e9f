//! `orderStats` (DOMAIN.md section 9): backlog by status, site and assignee,
//! mean time from open to close, rework rate, approval lead time and failed
//! sends, over the orders the caller sees.
//!
//! Every figure is one SQL aggregate over the policy's visibility condition
//! (never rows fetched and counted in Rust). Both backends: instants are
//! BIGINT microseconds, and PostgreSQL averages BIGINT as NUMERIC, so means
//! are cast to DOUBLE PRECISION (REAL affinity on SQLite) in the statement.

use entity::{approval_steps, audit_events, order_assignees, orders};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QuerySelect};
use tracing::instrument;

use super::Period;
use crate::auth::Principal;
use crate::error::AppResult;
use crate::orders::model::OrderStatus;
use crate::policy::{admin, filter::visible_orders};

/// Audit actions of a review's outcome, as the order workflow writes them
/// (`order.` + `Action::snake_name`).
pub const REQUEST_REWORK: &str = "order.request_rework";
pub const CLOSE_REVIEW: &str = "order.close_review";
/// The decision of an approved step.
const APPROVED: &str = "APPROVED";

const MICROS_PER_HOUR: f64 = 3_600_000_000.0;

/// What `orderStats` narrows to.
#[derive(Debug, Clone, Default)]
pub struct StatsRequest {
    pub site_id: Option<String>,
    pub period: Period,
}

/// The figures, as computed.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderStats {
    /// `(status, count)`, largest first.
    pub by_status: Vec<(String, i64)>,
    /// `(site id, count)`, largest first; orders without a site are left out.
    pub by_site: Vec<(String, i64)>,
    /// `(user id, count)`, largest first; an order counts for each assignee.
    pub by_assignee: Vec<(String, i64)>,
    pub mean_hours_open_to_close: Option<f64>,
    pub rework_rate: Option<f64>,
    pub mean_hours_to_approval: Option<f64>,
    pub failed_sends: i64,
}

/// The statistics of the orders `principal` sees, created within the
/// period (and at the site, when given). FORBIDDEN unless the policy lets
/// the caller read metrics.
#[instrument(skip_all)]
pub async fn order_stats<C: ConnectionTrait>(
    conn: &C,
    principal: &Principal,
    request: &StatsRequest,
) -> AppResult<OrderStats> {
    admin::read_stats(principal).require()?;
    let mut orders_in = visible_orders(principal).add(request.period.condition());
    if let Some(site) = &request.site_id {
        orders_in = orders_in.add(orders::Column::SiteId.eq(site.as_str()));
    }
    let (by_status, by_site, by_assignee, open_to_close, reviews, to_approval) = futures::try_join!(
        by_status(conn, orders_in.clone()),
        by_site(conn, orders_in.clone()),
        by_assignee(conn, orders_in.clone()),
        mean_open_to_close(conn, orders_in.clone()),
        reviews(conn, &principal.organization_id, orders_in.clone()),
        mean_to_approval(conn, orders_in),
    )?;
    let failed_sends =
        by_status.iter().find(|(status, _)| status == OrderStatus::SendFailed.as_str()).map_or(0, |(_, n)| *n);
    Ok(OrderStats {
        by_status,
        by_site,
        by_assignee,
        mean_hours_open_to_close: open_to_close.map(|micros| micros / MICROS_PER_HOUR),
        rework_rate: reviews.rate(),
        mean_hours_to_approval: to_approval.map(|micros| micros / MICROS_PER_HOUR),
        failed_sends,
    })
}

/// `COUNT(*)`, as BIGINT on both backends.
fn count() -> Expr {
    Expr::cust("COUNT(*)")
}

/// `AVG(expr)` as a double (PostgreSQL averages BIGINT as NUMERIC).
fn mean(expr: Expr) -> Expr {
    Func::cast_as(Func::avg(expr), "DOUBLE PRECISION").into()
}

/// Largest count first, then by key, so that equal figures list stably.
fn ranked(mut rows: Vec<(String, i64)>) -> Vec<(String, i64)> {
    rows.sort_by(|(ka, a), (kb, b)| b.cmp(a).then_with(|| ka.cmp(kb)));
    rows
}

async fn by_status<C: ConnectionTrait>(conn: &C, orders_in: Condition) -> AppResult<Vec<(String, i64)>> {
    let rows = orders::Entity::find()
        .select_only()
        .column(orders::Column::Status)
        .column_as(count(), "n")
        .filter(orders_in)
        .group_by(orders::Column::Status)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(ranked(rows))
}

async fn by_site<C: ConnectionTrait>(conn: &C, orders_in: Condition) -> AppResult<Vec<(String, i64)>> {
    let rows = orders::Entity::find()
        .select_only()
        .column(orders::Column::SiteId)
        .column_as(count(), "n")
        .filter(orders_in)
        .filter(orders::Column::SiteId.is_not_null())
        .group_by(orders::Column::SiteId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(ranked(rows))
}

async fn by_assignee<C: ConnectionTrait>(conn: &C, orders_in: Condition) -> AppResult<Vec<(String, i64)>> {
    let rows = order_assignees::Entity::find()
        .select_only()
        .column(order_assignees::Column::UserId)
        .column_as(count(), "n")
        .filter(order_assignees::Column::OrderId.in_subquery(order_ids(orders_in)))
        .group_by(order_assignees::Column::UserId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(ranked(rows))
}

/// `SELECT orders.id FROM orders WHERE condition`, for `IN (...)`.
fn order_ids(orders_in: Condition) -> sea_orm::sea_query::SelectStatement {
    Query::select().column((orders::Entity, orders::Column::Id)).from(orders::Entity).cond_where(orders_in).take()
}

/// Mean of `closed_at - created_at` over closed orders, in microseconds.
async fn mean_open_to_close<C: ConnectionTrait>(conn: &C, orders_in: Condition) -> AppResult<Option<f64>> {
    let open_for = Expr::col((orders::Entity, orders::Column::ClosedAt))
        .sub(Expr::col((orders::Entity, orders::Column::CreatedAt)));
    let mean: Option<Option<f64>> = orders::Entity::find()
        .select_only()
        .column_as(mean(open_for), "mean")
        .filter(orders_in)
        .filter(orders::Column::ClosedAt.is_not_null())
        .into_tuple()
        .one(conn)
        .await?;
    Ok(mean.flatten())
}

/// Mean of `decided_at - order.created_at` over approved steps, in
/// microseconds.
async fn mean_to_approval<C: ConnectionTrait>(conn: &C, orders_in: Condition) -> AppResult<Option<f64>> {
    let lead_time = Expr::col((approval_steps::Entity, approval_steps::Column::DecidedAt))
        .sub(Expr::col((orders::Entity, orders::Column::CreatedAt)));
    let of_order = approval_steps::Entity::belongs_to(orders::Entity)
        .from(approval_steps::Column::OrderId)
        .to(orders::Column::Id)
        .into();
    let mean: Option<Option<f64>> = approval_steps::Entity::find()
        .select_only()
        .column_as(mean(lead_time), "mean")
        .join(JoinType::InnerJoin, of_order)
        .filter(approval_steps::Column::Decision.eq(APPROVED))
        .filter(approval_steps::Column::DecidedAt.is_not_null())
        .filter(orders_in)
        .into_tuple()
        .one(conn)
        .await?;
    Ok(mean.flatten())
}

/// Review outcomes recorded in the audit log.
#[derive(Debug, Default)]
struct Reviews {
    sent_back: i64,
    closed: i64,
}

impl Reviews {
    /// The share of reviews sent back; none without reviews.
    fn rate(&self) -> Option<f64> {
        let total = self.sent_back + self.closed;
        (total > 0).then(|| self.sent_back as f64 / total as f64)
    }
}

async fn reviews<C: ConnectionTrait>(conn: &C, organization_id: &str, orders_in: Condition) -> AppResult<Reviews> {
    let rows: Vec<(String, i64)> = audit_events::Entity::find()
        .select_only()
        .column(audit_events::Column::Action)
        .column_as(count(), "n")
        .filter(audit_events::Column::OrganizationId.eq(organization_id))
        .filter(audit_events::Column::Action.is_in([REQUEST_REWORK, CLOSE_REVIEW]))
        .filter(audit_events::Column::OrderId.in_subquery(order_ids(orders_in)))
        .group_by(audit_events::Column::Action)
        .into_tuple()
        .all(conn)
        .await?;
    let mut reviews = Reviews::default();
    for (action, n) in rows {
        match action.as_str() {
            REQUEST_REWORK => reviews.sent_back = n,
            _ => reviews.closed = n,
        }
    }
    Ok(reviews)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rework_rate_is_the_share_sent_back() {
        assert_eq!(Reviews::default().rate(), None);
        assert_eq!(Reviews { sent_back: 1, closed: 3 }.rate(), Some(0.25));
        assert_eq!(Reviews { sent_back: 0, closed: 2 }.rate(), Some(0.0));
    }

    #[test]
    fn review_actions_are_the_workflows_audit_names() {
        use crate::policy::Action;
        assert_eq!(REQUEST_REWORK, format!("order.{}", Action::RequestRework.snake_name()));
        assert_eq!(CLOSE_REVIEW, format!("order.{}", Action::CloseReview.snake_name()));
    }

    #[test]
    fn counts_rank_largest_first_then_by_key() {
        let rows = vec![("b".into(), 1), ("c".into(), 5), ("a".into(), 1)];
        assert_eq!(ranked(rows), vec![("c".into(), 5), ("a".into(), 1), ("b".into(), 1)]);
    }
}
