//! How a change to an order is applied. Every mutation follows the same
//! steps:
//!
//! 1. [`load`] the order as the caller sees it (NOT_FOUND otherwise);
//! 2. [`check`] the version the client saw (CONFLICT), the state machine
//!    (INVALID_TRANSITION) and the policy (FORBIDDEN), in that order, so
//!    that racing clients holding the same version all learn of the race;
//! 3. in one transaction, [`claim`] the order with a conditional UPDATE (only
//!    if its version is still the one checked: a lost race is CONFLICT and
//!    changes nothing), write the change's own rows, then [`record`] its
//!    audit event and order event; commit.
//!
//! The claim is the first write of the transaction, so SQLite takes its
//! write lock there (waiting on the busy timeout) and PostgreSQL its row
//! lock: a transaction never decides on state another one is changing.

use entity::{approval_step_approvers, approval_steps, assets, order_events, orders};
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{
    AccessMode, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    IsolationLevel, QueryFilter, Set, TransactionTrait,
};
use serde_json::{Map, Value, json};

use super::EventKind;
use super::machine::{self, Target};
use crate::audit::{self, AuditActor, AuditEntry};
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::ids::IdKind;
use crate::orders::model::{OrderKind, OrderStatus, SendState};
use crate::orders::record::{self, OrderRecord};
use crate::orders::snapshot::Snapshot;
use crate::policy::{self, Action};
use crate::sending::Trigger;
use crate::time::now_micros;

/// The order `id` as `principal` sees it, with its facts, read from one
/// snapshot (the order row and its approval steps, assignees ... agree even
/// while another transaction commits).
pub async fn load(db: &DatabaseConnection, principal: &Principal, id: &str) -> AppResult<OrderRecord> {
    // SQLite reads from one snapshot in any transaction and has neither
    // setting (sea-orm would log a warning for each).
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let (isolation, access) =
        if postgres { (Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly)) } else { (None, None) };
    let txn = db.begin_with_config(isolation, access).await?;
    let order = load_in(&txn, principal, id).await;
    txn.commit().await?;
    order
}

/// [`load`] within a transaction the caller holds.
pub async fn load_in<C: ConnectionTrait>(conn: &C, principal: &Principal, id: &str) -> AppResult<OrderRecord> {
    record::load_visible(conn, principal, id).await?.ok_or(AppError::NotFound)
}

/// Checks a transition: the version the client saw (when it sent one), the
/// state machine, then the policy. Returns where the transition leads.
pub fn check(principal: &Principal, action: Action, order: &OrderRecord, version: Option<i32>) -> AppResult<Target> {
    if version.is_some_and(|v| i64::from(v) != order.model.version) {
        return Err(AppError::Conflict);
    }
    let target = machine::admits(action, order.facts().state())
        .map_err(|reason| AppError::InvalidTransition(reason.to_owned()))?;
    policy::decide(principal, action, &order.facts()).require()?;
    Ok(target)
}

/// One change to an order: its new status and columns, and what the audit
/// log and the order event say about it.
pub struct Change {
    pub action: Action,
    pub event: EventKind,
    pub status: Option<OrderStatus>,
    pub columns: Vec<(orders::Column, SimpleExpr)>,
    /// Changed fields, each `[before, after]`.
    pub changes: Map<String, Value>,
    pub reason: Option<String>,
    /// A send to the vendor this change queues.
    pub send: Option<Trigger>,
    /// Only while no send to the vendor is queued or under way, whatever
    /// the action allows (an edit that sends the order back for approval).
    pub unsent: bool,
}

impl Change {
    pub fn new(action: Action, event: EventKind) -> Self {
        Self {
            action,
            event,
            status: None,
            columns: Vec::new(),
            changes: Map::new(),
            reason: None,
            send: None,
            unsent: false,
        }
    }

    /// Makes the change only while no send to the vendor is queued or
    /// under way (else CONFLICT at the claim).
    pub fn only_unsent(mut self) -> Self {
        self.unsent = true;
        self
    }

    /// Moves the order to `status`.
    pub fn to_status(mut self, from: OrderStatus, status: OrderStatus) -> Self {
        self.status = Some(status);
        self.changes.insert("status".into(), json!([from.as_str(), status.as_str()]));
        self
    }

    /// Sets a column, recording `[before, after]` under `field`.
    pub fn set(mut self, column: orders::Column, value: impl Into<SimpleExpr>, field: &str, diff: [Value; 2]) -> Self {
        self.columns.push((column, value.into()));
        self.changes.insert(field.into(), Value::Array(diff.into()));
        self
    }

    /// Records a change of the order's children (assignees, tags, ...).
    pub fn note(mut self, field: &str, value: Value) -> Self {
        self.changes.insert(field.into(), value);
        self
    }

    /// Queues a send of the order to its vendor: its `send_state`, the
    /// audit line, and the send itself (written by whoever applies the
    /// change, with [`crate::sending::queue::insert`]).
    pub fn queue_send(mut self, trigger: Trigger) -> Self {
        let queued = SendState::Queued.as_str();
        self.send = Some(trigger);
        self.set(orders::Column::SendState, queued, "delivery", [Value::Null, json!(queued)])
    }

    /// Withdraws the order's queued send (a cancel): its `send_state`.
    pub fn withdraw_send(self, from: SendState) -> Self {
        self.set(
            orders::Column::SendState,
            Expr::value(Option::<String>::None),
            "delivery",
            [json!(from.as_str()), Value::Null],
        )
    }

    pub fn because(mut self, reason: Option<String>) -> Self {
        self.reason = reason;
        self
    }
}

/// Claims the order for this change: bumps its version and applies the
/// change's status and columns, if the version is still the one loaded
/// (and, for the changes a send refuses, the send has not moved on).
pub async fn claim<C: ConnectionTrait>(conn: &C, order: &OrderRecord, change: &Change) -> AppResult<()> {
    let now = now_micros();
    let mut update = orders::Entity::update_many()
        .col_expr(orders::Column::Version, Expr::col(orders::Column::Version).add(1))
        .col_expr(orders::Column::UpdatedAt, Expr::val(now));
    if let Some(status) = change.status {
        update = update.col_expr(orders::Column::Status, Expr::val(status.as_str()));
        if matches!(status, OrderStatus::Closed | OrderStatus::Cancelled) {
            update = update.col_expr(orders::Column::ClosedAt, Expr::val(now));
        }
    }
    for (column, value) in &change.columns {
        update = update.col_expr(*column, value.clone());
    }
    // The send worker moves `send_state` without a new version (so editors
    // are not disturbed); the changes it matters to check it here.
    update = match machine::row(change.action).sending {
        machine::WhileSending::Allowed => update,
        machine::WhileSending::Refused => update.filter(orders::Column::SendState.is_null()),
        machine::WhileSending::RefusedInFlight => update.filter(
            Condition::any()
                .add(orders::Column::SendState.is_null())
                .add(orders::Column::SendState.ne(SendState::Sending.as_str())),
        ),
    };
    if change.unsent {
        update = update.filter(orders::Column::SendState.is_null());
    }
    let result = update
        .filter(orders::Column::Id.eq(order.model.id.as_str()))
        .filter(orders::Column::Version.eq(order.model.version))
        .filter(orders::Column::DeletedAt.is_null())
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Err(AppError::Conflict);
    }
    Ok(())
}

/// Adds an undecided approval step with its designated approvers.
pub async fn add_approval_step<C: ConnectionTrait>(
    conn: &C,
    order_id: &str,
    position: i32,
    source: &str,
    approvers: &[String],
) -> AppResult<()> {
    let step_id = IdKind::ApprovalStep.new_id();
    approval_steps::ActiveModel {
        id: Set(step_id.clone()),
        order_id: Set(order_id.to_owned()),
        position: Set(position),
        source: Set(source.to_owned()),
        decision: Set(None),
        decided_by: Set(None),
        decided_at: Set(None),
        reason: Set(None),
    }
    .insert(conn)
    .await?;
    for user_id in approvers {
        approval_step_approvers::ActiveModel {
            step_id: Set(step_id.clone()),
            user_id: Set(user_id.clone()),
            order_id: Set(order_id.to_owned()),
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}

/// Marks an asset in or out of maintenance.
pub async fn set_in_maintenance<C: ConnectionTrait>(conn: &C, asset_id: &str, on: bool) -> AppResult<()> {
    assets::Entity::update_many()
        .col_expr(assets::Column::InMaintenance, Expr::value(on))
        .filter(assets::Column::Id.eq(asset_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// When a SERVICE order with an asset is done (closed, cancelled, deleted),
/// its asset leaves maintenance unless another such order is still under way.
pub async fn release_asset<C: ConnectionTrait>(conn: &C, order: &OrderRecord) -> AppResult<()> {
    let Some(asset_id) = order.model.asset_id.as_deref() else { return Ok(()) };
    if order.kind != OrderKind::Service {
        return Ok(());
    }
    let done = [OrderStatus::Closed, OrderStatus::Cancelled, OrderStatus::Rejected].map(OrderStatus::as_str);
    let others = orders::Entity::find()
        .filter(orders::Column::AssetId.eq(asset_id))
        .filter(orders::Column::Id.ne(order.model.id.as_str()))
        .filter(orders::Column::Kind.eq(OrderKind::Service.as_str()))
        .filter(orders::Column::DeletedAt.is_null())
        .filter(orders::Column::Status.is_not_in(done))
        .one(conn)
        .await?;
    if others.is_none() {
        set_in_maintenance(conn, asset_id, false).await?;
    }
    Ok(())
}

/// Re-checks, as the first write of a transaction that adds to an order
/// (a note, time, a deletion request), that the order still exists and is in
/// a state admitting `action`: a conditional UPDATE of its `updated_at`.
/// A concurrent transition that moved it on makes this CONFLICT.
pub async fn touch<C: ConnectionTrait>(conn: &C, order: &OrderRecord, action: Action) -> AppResult<()> {
    let row = machine::row(action);
    touch_in(conn, order, row.from, row.archived == machine::Archived::Refused).await
}

/// [`touch`] for an explicit set of statuses.
pub async fn touch_in<C: ConnectionTrait>(
    conn: &C,
    order: &OrderRecord,
    statuses: &[OrderStatus],
    current_only: bool,
) -> AppResult<()> {
    let mut update = orders::Entity::update_many()
        .col_expr(orders::Column::UpdatedAt, Expr::val(now_micros()))
        .filter(orders::Column::Id.eq(order.model.id.as_str()))
        .filter(orders::Column::DeletedAt.is_null())
        .filter(orders::Column::Status.is_in(statuses.iter().map(|s| s.as_str())));
    if current_only {
        update = update.filter(orders::Column::Archived.eq(false));
    }
    if update.exec(conn).await?.rows_affected == 0 {
        return Err(AppError::Conflict);
    }
    Ok(())
}

/// Writes the change's audit event (`order.<action>`) and order event; the
/// order as the change left it (read in the transaction, with its
/// uncommitted changes), which is also what the event's snapshot records.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    actor: AuditActor<'_>,
    order: &orders::Model,
    change: Change,
) -> AppResult<OrderRecord> {
    let action = format!("order.{}", change.action.snake_name());
    record_as(conn, actor, order, change, &action).await
}

/// [`record`] under another audit action name (`order.create`).
pub async fn record_as<C: ConnectionTrait>(
    conn: &C,
    actor: AuditActor<'_>,
    order: &orders::Model,
    change: Change,
    action: &str,
) -> AppResult<OrderRecord> {
    audit::record(
        conn,
        actor,
        AuditEntry {
            organization_id: &order.organization_id,
            action,
            entity_type: "order",
            entity_id: &order.id,
            order_id: Some(&order.id),
            changes: Value::Object(change.changes.clone()),
            reason: change.reason.as_deref(),
        },
    )
    .await?;
    // The order as this change leaves it, by which subscriptions judge
    // the event (crate::orders::snapshot).
    let after = reload(conn, &order.id).await?;
    let payload = json!({
        "action": change.action.snake_name(),
        "status": change.status.map(OrderStatus::as_str),
        "changes": change.changes,
        "after": Snapshot::of(&after, Snapshot::deletion_pending(conn, &order.id).await?),
    });
    emit(conn, actor, order, change.event, payload).await?;
    if conn.get_database_backend() == DbBackend::Postgres {
        // Delivered when the transaction commits: the relay wakes at once.
        let notify = format!("SELECT pg_notify('{}', '')", crate::events::relay::CHANNEL);
        conn.execute_unprepared(&notify).await?;
    }
    Ok(after)
}

/// Appends an order event (the outbox the subscriptions relay reads).
async fn emit<C: ConnectionTrait>(
    conn: &C,
    actor: AuditActor<'_>,
    order: &orders::Model,
    kind: EventKind,
    payload: Value,
) -> AppResult<()> {
    order_events::ActiveModel {
        organization_id: Set(order.organization_id.clone()),
        order_id: Set(order.id.clone()),
        kind: Set(kind.as_str().to_owned()),
        queue: Set(None),
        actor_id: Set(actor.user_id().map(str::to_owned)),
        at: Set(now_micros()),
        payload: Set(payload.to_string()),
        seq: Set(None),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Re-reads an order after a change (outside the caller's visibility: the
/// caller may have changed it out of their own sight, and the result is
/// still theirs to see).
pub async fn reload<C: ConnectionTrait>(conn: &C, id: &str) -> AppResult<OrderRecord> {
    let model = orders::Entity::find_by_id(id).one(conn).await?.ok_or(AppError::NotFound)?;
    record::load(conn, vec![model]).await?.pop().ok_or(AppError::NotFound)
}
