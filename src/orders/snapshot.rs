//! What the policy knows of an order at one moment, owned and serialisable.
//!
//! Every order event carries the snapshot taken right after its change
//! (`payload.after`), written in the change's transaction. Subscriptions
//! judge each event by it (DOMAIN.md section 8: "against the order's state
//! after the change"), not by the order as it is when the event is
//! delivered or replayed, which may be several changes later.

use entity::{deletion_requests, orders};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use super::model::{OrderKind, OrderStatus, SendState};
use super::record::{self, OrderRecord, Pending};
use crate::error::AppResult;
use crate::policy::OrderFacts;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub organization_id: String,
    pub scope_account_id: Option<String>,
    pub site_id: Option<String>,
    pub asset_id: Option<String>,
    pub kind: OrderKind,
    pub status: OrderStatus,
    pub archived: bool,
    pub deleted: bool,
    pub creator_id: String,
    pub owner_id: String,
    pub vendor_id: Option<String>,
    pub assignee_ids: Vec<String>,
    pub work_logger_ids: Vec<String>,
    pub designated_approver_ids: Vec<String>,
    pub pending: Option<Pending>,
    pub sending: Option<SendState>,
    /// A deletion request waits for a decision (DELETION_REQUESTS).
    pub deletion_pending: bool,
}

impl Snapshot {
    /// The order `id` as it is now in `conn`'s view (inside a transaction:
    /// with its uncommitted changes); None when no such row exists.
    pub async fn take<C: ConnectionTrait>(conn: &C, id: &str) -> AppResult<Option<Self>> {
        let Some(model) = orders::Entity::find_by_id(id).one(conn).await? else {
            return Ok(None);
        };
        let Some(order) = record::load(conn, vec![model]).await?.pop() else {
            return Ok(None);
        };
        Ok(Some(Self::of(&order, Self::deletion_pending(conn, id).await?)))
    }

    /// Whether a deletion request of order `id` waits for a decision.
    pub async fn deletion_pending<C: ConnectionTrait>(conn: &C, id: &str) -> AppResult<bool> {
        let pending = deletion_requests::Entity::find()
            .filter(deletion_requests::Column::OrderId.eq(id))
            .filter(deletion_requests::Column::Status.eq("PENDING"))
            .count(conn)
            .await?;
        Ok(pending > 0)
    }

    pub fn of(order: &OrderRecord, deletion_pending: bool) -> Self {
        let facts = order.facts();
        Self {
            organization_id: facts.organization_id.to_owned(),
            scope_account_id: facts.scope_account_id.map(str::to_owned),
            site_id: facts.site_id.map(str::to_owned),
            asset_id: facts.asset_id.map(str::to_owned),
            kind: facts.kind,
            status: facts.status,
            archived: facts.archived,
            deleted: facts.deleted,
            creator_id: facts.creator_id.to_owned(),
            owner_id: facts.owner_id.to_owned(),
            vendor_id: facts.vendor_id.map(str::to_owned),
            assignee_ids: order.assignee_ids.clone(),
            work_logger_ids: order.work_logger_ids.clone(),
            designated_approver_ids: order.designated_approver_ids.clone(),
            pending: order.pending.clone(),
            sending: facts.sending,
            deletion_pending,
        }
    }

    pub fn facts(&self) -> OrderFacts<'_> {
        OrderFacts {
            organization_id: &self.organization_id,
            scope_account_id: self.scope_account_id.as_deref(),
            site_id: self.site_id.as_deref(),
            asset_id: self.asset_id.as_deref(),
            kind: self.kind,
            status: self.status,
            archived: self.archived,
            deleted: self.deleted,
            creator_id: &self.creator_id,
            owner_id: &self.owner_id,
            vendor_id: self.vendor_id.as_deref(),
            assignee_ids: &self.assignee_ids,
            work_logger_ids: &self.work_logger_ids,
            designated_approver_ids: &self.designated_approver_ids,
            pending_step: self.pending.as_ref().map(Pending::step),
            sending: self.sending,
        }
    }
}
