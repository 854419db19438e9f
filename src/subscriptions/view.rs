//! What one subscriber sees of one event, if anything.

use std::collections::HashSet;
use std::sync::Arc;

use entity::orders;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use serde_json::Value;

use crate::auth::{Actor, Principal};
use crate::error::AppResult;
use crate::events::hub::Live;
use crate::orders::graphql::Queue;
use crate::orders::record::OrderRecord;
use crate::policy;

/// The contract's `OrderEventKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum OrderEventKind {
    Created,
    Updated,
    StatusChanged,
    Assigned,
    Unassigned,
    NoteAdded,
    ApprovalRecorded,
    DeletionRequested,
    Deleted,
    Archived,
    Unarchived,
    /// The order entered the subscribed queue, as the subscriber sees it.
    EnteredQueue,
    /// The order left the subscribed queue, as the subscriber sees it.
    LeftQueue,
}

impl OrderEventKind {
    fn stored(name: &str) -> Self {
        match name {
            "CREATED" => Self::Created,
            "STATUS_CHANGED" => Self::StatusChanged,
            "ASSIGNED" => Self::Assigned,
            "NOTE_ADDED" => Self::NoteAdded,
            "APPROVAL_RECORDED" => Self::ApprovalRecorded,
            "DELETION_REQUESTED" => Self::DeletionRequested,
            "DELETED" => Self::Deleted,
            "ARCHIVED" => Self::Archived,
            "UNARCHIVED" => Self::Unarchived,
            _ => Self::Updated,
        }
    }
}

/// An event as one subscriber receives it.
pub struct Seen {
    pub seq: i64,
    pub kind: OrderEventKind,
    pub queue: Option<Queue>,
    pub at: i64,
    pub actor_id: Option<String>,
    /// Whether the subscriber may read who acted (as `Order.history`).
    pub actor_readable: bool,
    pub order_id: String,
    /// The order, when the subscriber may see it now.
    pub order: Option<Arc<OrderRecord>>,
}

/// What a subscription listens for.
pub enum Selector {
    Order(String),
    /// The caller's assignments (their user id).
    Assignments(String),
    Queue {
        queue: Queue,
        site_id: Option<String>,
        /// The orders in the queue as this subscriber last saw it.
        members: HashSet<String>,
    },
}

pub struct Subscriber {
    pub principal: Principal,
    pub selector: Selector,
}

/// Who the principal is, for answers cached on an event.
fn principal_key(principal: &Principal) -> String {
    match &principal.actor {
        Actor::User(u) => format!("u:{}", u.user_id),
        Actor::Token(t) => format!("t:{}", t.token_id),
    }
}

impl Subscriber {
    /// The orders in `queue` (at `site_id`) that `principal` sees now.
    pub async fn queue_members(
        db: &DatabaseConnection,
        principal: &Principal,
        queue: Queue,
        site_id: Option<&str>,
    ) -> AppResult<HashSet<String>> {
        let ids: Vec<String> = orders::Entity::find()
            .select_only()
            .column(orders::Column::Id)
            .filter(queue.orders(principal, site_id)?)
            .into_tuple()
            .all(db)
            .await?;
        Ok(ids.into_iter().collect())
    }

    /// What this subscriber sees of `live`, if anything. `replaying` says
    /// the event comes from the log (a resumed subscription).
    pub async fn view(&mut self, db: &DatabaseConnection, live: &Live, replaying: bool) -> AppResult<Option<Seen>> {
        let event = &live.event;
        if event.organization_id != self.principal.organization_id {
            return Ok(None);
        }
        let key = principal_key(&self.principal);
        let hears = match live.answer(&format!("hears:{key}")) {
            Some(answer) => answer,
            None => {
                let answer =
                    live.order.as_ref().is_some_and(|o| policy::order::hears_of(&self.principal, &o.facts()).allowed);
                live.remember(format!("hears:{key}"), answer);
                answer
            }
        };
        // The order itself only to whoever may view it now (not deleted).
        let sees = match live.answer(&format!("sees:{key}")) {
            Some(answer) => answer,
            None => {
                let answer = live
                    .order
                    .as_ref()
                    .is_some_and(|o| policy::decide(&self.principal, policy::Action::View, &o.facts()).allowed);
                live.remember(format!("sees:{key}"), answer);
                answer
            }
        };
        let visible = live.order.clone().filter(|_| sees);
        let facts = live.order.as_ref().map(|o| o.facts());
        let actor_readable = facts.as_ref().is_some_and(|f| policy::order::read_history(&self.principal, f).allowed);
        let seen = |kind, queue, order| Seen {
            seq: event.seq,
            kind,
            queue,
            at: event.at,
            actor_id: event.actor_id.clone(),
            actor_readable,
            order_id: event.order_id.clone(),
            order,
        };
        let kind = OrderEventKind::stored(&event.kind);
        // An INTERNAL note is news only to those who may read it.
        if kind == OrderEventKind::NoteAdded
            && internal_note(&event.payload)
            && !facts.as_ref().is_some_and(|f| policy::order::read_internal_notes(&self.principal, f))
        {
            return Ok(None);
        }
        Ok(match &mut self.selector {
            Selector::Order(id) => (*id == event.order_id && hears).then(|| seen(kind, None, visible)),
            Selector::Assignments(me) => {
                let (before, after) = assignees(&event.payload);
                let assigned_now = live.order.as_ref().is_some_and(|o| o.assignee_ids.iter().any(|a| a == me));
                if after.contains(me) && !before.contains(me) && hears {
                    Some(seen(OrderEventKind::Assigned, None, visible))
                } else if before.contains(me)
                    && !after.contains(me)
                    && policy::order::hears_of_unassignment(&self.principal, me).allowed
                {
                    Some(seen(OrderEventKind::Unassigned, None, visible))
                } else if kind == OrderEventKind::StatusChanged && assigned_now && hears {
                    Some(seen(kind, None, visible))
                } else {
                    None
                }
            }
            Selector::Queue { queue, site_id, members } => {
                let question = format!("queue:{key}:{}:{}", queue.as_str(), site_id.as_deref().unwrap_or(""));
                let now = match live.answer(&question) {
                    Some(answer) => answer,
                    None => {
                        let answer = orders::Entity::find()
                            .select_only()
                            .column(orders::Column::Id)
                            .filter(queue.orders(&self.principal, site_id.as_deref())?)
                            .filter(orders::Column::Id.eq(event.order_id.as_str()))
                            .into_tuple::<String>()
                            .one(db)
                            .await?
                            .is_some();
                        live.remember(question, answer);
                        answer
                    }
                };
                let before = members.contains(&event.order_id);
                let queue = Some(*queue);
                match (before, now) {
                    (false, true) => {
                        members.insert(event.order_id.clone());
                        Some(seen(OrderEventKind::EnteredQueue, queue, visible))
                    }
                    (true, false) => {
                        members.remove(&event.order_id);
                        Some(seen(OrderEventKind::LeftQueue, queue, visible))
                    }
                    (true, true) => Some(seen(kind, queue, visible)),
                    // Resuming, the subscriber may have had it in the queue
                    // when it went away: say it is not (idempotent).
                    (false, false) if replaying && hears => Some(seen(OrderEventKind::LeftQueue, queue, visible)),
                    (false, false) => None,
                }
            }
        })
    }
}

/// Whether a NOTE_ADDED event is about an INTERNAL note.
fn internal_note(payload: &str) -> bool {
    let parsed: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
    parsed["changes"]["visibility"] == "INTERNAL"
}

/// The assignees before and after, from an event's `changes.assignees`.
fn assignees(payload: &str) -> (Vec<String>, Vec<String>) {
    let parsed: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
    let list = |v: &Value| -> Vec<String> {
        v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()).unwrap_or_default()
    };
    let pair = &parsed["changes"]["assignees"];
    (list(&pair[0]), list(&pair[1]))
}
