//! An order with the facts the policy needs about it, loaded in batches: a
//! page of orders costs a fixed number of statements however long it is.

use std::collections::HashMap;

use entity::{
    approval_step_approvers, approval_steps, cost_lines, order_assignees, order_tags, orders, part_usages, time_entries,
};
use sea_orm::sea_query::{Expr, Query, SelectStatement, UnionType};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::model::{OrderKind, OrderStatus, SendState};
use crate::error::{AppError, AppResult};
use crate::policy::{OrderFacts, PendingStep};

/// The `source` of the intake approval step.
pub const INTAKE_SOURCE: &str = "intake";

/// Who decides the pending approval step, owned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Pending {
    Intake,
    Designated(Vec<String>),
}

impl Pending {
    /// The policy's view of it.
    pub fn step(&self) -> PendingStep<'_> {
        match self {
            Self::Intake => PendingStep::Intake,
            Self::Designated(ids) => PendingStep::Designated(ids),
        }
    }
}

#[derive(Debug, Clone)]
pub struct OrderRecord {
    pub model: orders::Model,
    pub kind: OrderKind,
    pub status: OrderStatus,
    pub tags: Vec<String>,
    pub assignee_ids: Vec<String>,
    pub work_logger_ids: Vec<String>,
    pub designated_approver_ids: Vec<String>,
    pub pending: Option<Pending>,
}

impl OrderRecord {
    pub fn facts(&self) -> OrderFacts<'_> {
        let m = &self.model;
        OrderFacts {
            organization_id: &m.organization_id,
            scope_account_id: m.scope_account_id.as_deref(),
            site_id: m.site_id.as_deref(),
            asset_id: m.asset_id.as_deref(),
            kind: self.kind,
            status: self.status,
            archived: m.archived,
            deleted: m.deleted_at.is_some(),
            creator_id: &m.creator_id,
            owner_id: &m.owner_id,
            vendor_id: m.vendor_id.as_deref(),
            assignee_ids: &self.assignee_ids,
            work_logger_ids: &self.work_logger_ids,
            designated_approver_ids: &self.designated_approver_ids,
            pending_step: self.pending.as_ref().map(Pending::step),
            sending: m.send_state.as_deref().and_then(SendState::parse),
        }
    }
}

/// Loads the facts of `models`, in their order, with five statements.
pub async fn load<C: ConnectionTrait>(conn: &C, models: Vec<orders::Model>) -> AppResult<Vec<OrderRecord>> {
    if models.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = models.iter().map(|m| m.id.clone()).collect();

    let mut tags = group(
        order_tags::Entity::find()
            .filter(order_tags::Column::OrderId.is_in(ids.clone()))
            .order_by_asc(order_tags::Column::Tag)
            .all(conn)
            .await?
            .into_iter()
            .map(|t| (t.order_id, t.tag)),
    );
    let mut assignees = group(
        order_assignees::Entity::find()
            .filter(order_assignees::Column::OrderId.is_in(ids.clone()))
            .order_by_asc(order_assignees::Column::AssignedAt)
            .all(conn)
            .await?
            .into_iter()
            .map(|a| (a.order_id, a.user_id)),
    );
    let mut loggers = work_loggers(conn, &ids).await?;
    let approvers = approval_step_approvers::Entity::find()
        .filter(approval_step_approvers::Column::OrderId.is_in(ids.clone()))
        .all(conn)
        .await?;
    let pending = pending_steps(conn, &ids, &approvers).await?;
    let mut designated = group(approvers.into_iter().map(|a| (a.order_id, a.user_id)));

    models
        .into_iter()
        .map(|model| {
            let kind = OrderKind::parse(&model.kind);
            let status = OrderStatus::parse(&model.status);
            let (Some(kind), Some(status)) = (kind, status) else {
                return Err(AppError::internal(anyhow::anyhow!(
                    "order {} has kind {:?} and status {:?}",
                    model.id,
                    model.kind,
                    model.status
                )));
            };
            let mut designated = designated.remove(&model.id).unwrap_or_default();
            designated.sort();
            designated.dedup();
            Ok(OrderRecord {
                kind,
                status,
                tags: tags.remove(&model.id).unwrap_or_default(),
                assignee_ids: assignees.remove(&model.id).unwrap_or_default(),
                work_logger_ids: loggers.remove(&model.id).unwrap_or_default(),
                designated_approver_ids: designated,
                pending: pending.get(&model.id).cloned(),
                model,
            })
        })
        .collect()
}

fn group(pairs: impl Iterator<Item = (String, String)>) -> HashMap<String, Vec<String>> {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (key, value) in pairs {
        map.entry(key).or_default().push(value);
    }
    map
}

/// Everyone who logged time, costs or parts on each order, in one
/// statement (`UNION` also drops the repeats).
async fn work_loggers<C: ConnectionTrait>(conn: &C, ids: &[String]) -> AppResult<HashMap<String, Vec<String>>> {
    fn who<T: EntityTrait>(
        table: T,
        order: impl ColumnTrait,
        user: impl ColumnTrait,
        ids: &[String],
    ) -> SelectStatement {
        Query::select()
            .column(order)
            .expr_as(Expr::col(user), "user_id")
            .from(table)
            .and_where(order.is_in(ids.to_vec()))
            .take()
    }
    let mut query = who(time_entries::Entity, time_entries::Column::OrderId, time_entries::Column::UserId, ids);
    query
        .union(
            UnionType::Distinct,
            who(cost_lines::Entity, cost_lines::Column::OrderId, cost_lines::Column::AddedBy, ids),
        )
        .union(
            UnionType::Distinct,
            who(part_usages::Entity, part_usages::Column::OrderId, part_usages::Column::AddedBy, ids),
        );
    let rows = conn.query_all(&query).await?;
    let pairs = rows
        .iter()
        .map(|row| Ok((row.try_get::<String>("", "order_id")?, row.try_get::<String>("", "user_id")?)))
        .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;
    let mut map = group(pairs.into_iter());
    for users in map.values_mut() {
        users.sort();
    }
    Ok(map)
}

/// The first undecided approval step of each order, with its approvers.
/// `approvers` are every designated approver of the orders' steps.
async fn pending_steps<C: ConnectionTrait>(
    conn: &C,
    ids: &[String],
    approvers: &[approval_step_approvers::Model],
) -> AppResult<HashMap<String, Pending>> {
    let steps = approval_steps::Entity::find()
        .filter(approval_steps::Column::OrderId.is_in(ids.to_vec()))
        .filter(approval_steps::Column::Decision.is_null())
        .order_by_asc(approval_steps::Column::OrderId)
        .order_by_asc(approval_steps::Column::Position)
        .all(conn)
        .await?;
    let mut first: HashMap<String, approval_steps::Model> = HashMap::new();
    for step in steps {
        first.entry(step.order_id.clone()).or_insert(step);
    }
    let mut approvers = group(approvers.iter().map(|a| (a.step_id.clone(), a.user_id.clone())));
    Ok(first
        .into_iter()
        .map(|(order_id, step)| {
            let pending = if step.source == INTAKE_SOURCE {
                Pending::Intake
            } else {
                Pending::Designated(approvers.remove(&step.id).unwrap_or_default())
            };
            (order_id, pending)
        })
        .collect())
}
