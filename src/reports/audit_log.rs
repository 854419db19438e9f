//! `auditLog` (DOMAIN.md section 5): the append-only log, newest first.
//!
//! Who reads what is the policy's: ADMIN the events
//! `policy::admin::visible_audit_events` allows (filtered in SQL); one
//! order's history whoever `policy::order::read_history` allows on that
//! order (ADMIN and PLANNER in scope), given `orderId`.
//!
//! Pagination is keyset by `(at, id)`, descending. The list has no edges to
//! carry cursors, so the cursor is the opaque `id` of the last event of the
//! previous page; its position is looked up within the same condition (an
//! event the caller cannot read is not a cursor).

use entity::audit_events;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tracing::instrument;

use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::orders::record;
use crate::policy::{self, admin};

/// Page size when the client gives none, and the most it may ask for.
pub const DEFAULT_PAGE: u64 = 50;
pub const MAX_PAGE: u64 = 100;

/// The arguments of `auditLog`.
#[derive(Debug, Clone, Default)]
pub struct AuditLogRequest {
    pub order_id: Option<String>,
    pub actor_id: Option<String>,
    pub first: Option<i32>,
    /// The id of the last event already seen.
    pub after: Option<String>,
}

/// One page of the events the caller may read, newest first.
#[instrument(skip_all, fields(order.id = request.order_id.as_deref()))]
pub async fn audit_log<C: ConnectionTrait>(
    conn: &C,
    principal: &Principal,
    request: &AuditLogRequest,
) -> AppResult<Vec<audit_events::Model>> {
    let limit = match request.first {
        None => DEFAULT_PAGE,
        Some(n) if (0..=MAX_PAGE as i32).contains(&n) => n as u64,
        Some(_) => return Err(AppError::bad_input("first", format!("must be between 0 and {MAX_PAGE}"))),
    };
    let mut condition = match &request.order_id {
        Some(order_id) => one_order(conn, principal, order_id).await?,
        None => {
            admin::read_audit_log(principal).require()?;
            admin::visible_audit_events(principal)
        }
    };
    if let Some(actor) = &request.actor_id {
        condition = condition.add(audit_events::Column::ActorId.eq(actor.as_str()));
    }
    if let Some(after) = &request.after {
        let (at, id): (i64, String) = audit_events::Entity::find()
            .select_only()
            .column(audit_events::Column::At)
            .column(audit_events::Column::Id)
            .filter(condition.clone())
            .filter(audit_events::Column::Id.eq(after.as_str()))
            .into_tuple()
            .one(conn)
            .await?
            .ok_or_else(|| AppError::bad_input("after", "not a cursor of this list"))?;
        condition = condition.add(
            Condition::any()
                .add(audit_events::Column::At.lt(at))
                .add(Condition::all().add(audit_events::Column::At.eq(at)).add(audit_events::Column::Id.lt(id))),
        );
    }
    Ok(audit_events::Entity::find()
        .filter(condition)
        .order_by_desc(audit_events::Column::At)
        .order_by_desc(audit_events::Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// The events of one order the caller may read: its whole history when the
/// policy lets them read it, else what ADMIN reads of it, else FORBIDDEN.
/// An order the caller cannot see is refused like one out of scope, so the
/// answer tells nothing about its existence.
async fn one_order<C: ConnectionTrait>(conn: &C, principal: &Principal, order_id: &str) -> AppResult<Condition> {
    let history = match record::load_visible(conn, principal, order_id).await? {
        Some(record) => policy::order::read_history(principal, &record.facts()),
        None => policy::Decision::deny("order history is read by ADMIN and PLANNER in scope"),
    };
    let of_order = audit_events::Column::OrderId.eq(order_id);
    if history.allowed {
        return Ok(Condition::all()
            .add(audit_events::Column::OrganizationId.eq(principal.organization_id.as_str()))
            .add(of_order));
    }
    if admin::read_audit_log(principal).allowed {
        return Ok(admin::visible_audit_events(principal).add(of_order));
    }
    Err(AppError::forbidden(history.reason))
}
