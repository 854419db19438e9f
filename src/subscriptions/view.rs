//! What one subscriber sees of one event, if anything.

use std::collections::HashSet;
use std::sync::Arc;

use entity::orders;
use sea_orm::{DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use serde_json::Value;

use crate::auth::Principal;
use crate::error::AppResult;
use crate::events::hub::{Live, Route};
use crate::orders::graphql::Queue;
use crate::orders::record::OrderRecord;
use crate::policy::{self, Action};
use crate::workflow::EventKind;

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
    /// The kind of a stored event (one this version does not know reads
    /// as UPDATED).
    fn stored(name: &str) -> Self {
        EventKind::parse(name).map_or(Self::Updated, Self::from)
    }
}

impl From<EventKind> for OrderEventKind {
    fn from(kind: EventKind) -> Self {
        match kind {
            EventKind::Created => Self::Created,
            EventKind::Updated => Self::Updated,
            EventKind::StatusChanged => Self::StatusChanged,
            EventKind::Assigned => Self::Assigned,
            EventKind::NoteAdded => Self::NoteAdded,
            EventKind::ApprovalRecorded => Self::ApprovalRecorded,
            EventKind::DeletionRequested => Self::DeletionRequested,
            EventKind::Deleted => Self::Deleted,
            EventKind::Archived => Self::Archived,
            EventKind::Unarchived => Self::Unarchived,
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
        /// Resuming: the orders this replay has said are in the queue. The
        /// server does not know what the client held at its cursor, so a
        /// replayed order in the queue is ENTERED_QUEUE the first time
        /// (idempotent), not judged against the queue as it is now.
        announced: HashSet<String>,
    },
}

pub struct Subscriber {
    pub principal: Principal,
    pub selector: Selector,
}

/// What one principal may know of one event, decided once per event per
/// distinct principal (see [`Live::answers`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Answers {
    /// Hears of the change: may view the order as the change left it.
    hears: bool,
    /// May view the order now (`OrderEvent.order`).
    sees: bool,
    /// May read who acted (as `Order.history`).
    actor_readable: bool,
    /// May read INTERNAL notes (hears of their being added).
    internal_notes: bool,
    /// The queues the order is in, as the principal sees them, right after
    /// the change (at any site), by [`Queue::index`].
    queues: [bool; Queue::ALL.len()],
}

impl Answers {
    fn of(principal: &Principal, live: &Live) -> Self {
        let Some(after) = &live.after else { return Self::default() };
        let facts = after.facts();
        Self {
            hears: policy::order::hears_of(principal, &facts).allowed,
            sees: live.order.as_ref().is_some_and(|o| policy::decide(principal, Action::View, &o.facts()).allowed),
            actor_readable: policy::order::read_history(principal, &facts).allowed,
            internal_notes: policy::order::read_internal_notes(principal, &facts),
            queues: Queue::ALL.map(|queue| queue.holds(principal, None, after)),
        }
    }
}

impl Subscriber {
    /// The live events this subscription needs.
    pub fn route(&self) -> Route {
        match &self.selector {
            Selector::Order(id) => Route::Order(id.clone()),
            Selector::Assignments(me) => Route::Assignee(me.clone()),
            Selector::Queue { .. } => Route::Organization(self.principal.organization_id.clone()),
        }
    }

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

    /// What this subscriber sees of `live`, if anything, judged by the
    /// order as the event's change left it. `replaying` says the event comes
    /// from the log (a resumed subscription).
    pub fn view(&mut self, live: &Live, replaying: bool) -> Option<Seen> {
        let event = &live.event;
        if event.organization_id != self.principal.organization_id {
            return None;
        }
        let kind = OrderEventKind::stored(&event.kind);
        // Most events are about orders this subscription does not follow:
        // turned away before the policy is asked.
        let (before, now) = match &self.selector {
            Selector::Assignments(_) => live.assignees(),
            _ => (Vec::new(), Vec::new()),
        };
        let about_me = match &self.selector {
            Selector::Order(id) => *id == event.order_id,
            Selector::Assignments(me) => {
                before.contains(&me.as_str())
                    || now.contains(&me.as_str())
                    || (kind == OrderEventKind::StatusChanged
                        && live.after.as_ref().is_some_and(|o| o.assignee_ids.contains(me)))
            }
            Selector::Queue { .. } => true,
        };
        if !about_me {
            return None;
        }
        let answers = live.answers(&self.principal, || Answers::of(&self.principal, live));
        // An INTERNAL note is news only to those who may read it.
        if kind == OrderEventKind::NoteAdded && internal_note(&live.payload) && !answers.internal_notes {
            return None;
        }
        let seen = |kind, queue| Seen {
            seq: event.seq,
            kind,
            queue,
            at: event.at,
            actor_id: event.actor_id.clone(),
            actor_readable: answers.actor_readable,
            order_id: event.order_id.clone(),
            order: live.order.clone().filter(|_| answers.sees),
        };
        let after = live.after.as_ref();
        match &mut self.selector {
            Selector::Order(id) => (*id == event.order_id && answers.hears).then(|| seen(kind, None)),
            Selector::Assignments(me) => {
                let me = me.as_str();
                let assigned = after.is_some_and(|o| o.assignee_ids.iter().any(|a| a == me));
                if now.contains(&me) && !before.contains(&me) && answers.hears {
                    Some(seen(OrderEventKind::Assigned, None))
                } else if before.contains(&me)
                    && !now.contains(&me)
                    && policy::order::hears_of_unassignment(&self.principal, me).allowed
                {
                    Some(seen(OrderEventKind::Unassigned, None))
                } else if kind == OrderEventKind::StatusChanged && assigned && answers.hears {
                    Some(seen(kind, None))
                } else {
                    None
                }
            }
            Selector::Queue { queue, site_id, members, announced } => {
                let at_site = site_id.is_none() || after.is_some_and(|o| o.site_id == *site_id);
                let now = answers.queues[queue.index()] && at_site;
                let id = &event.order_id;
                let before = if replaying { announced.contains(id) } else { members.contains(id) };
                let queue = Some(*queue);
                match (before, now) {
                    (false, true) => {
                        members.insert(id.clone());
                        if replaying {
                            announced.insert(id.clone());
                        }
                        Some(seen(OrderEventKind::EnteredQueue, queue))
                    }
                    (true, false) => {
                        members.remove(id);
                        announced.remove(id);
                        Some(seen(OrderEventKind::LeftQueue, queue))
                    }
                    (true, true) => Some(seen(kind, queue)),
                    // Resuming, the subscriber may have had it in the queue
                    // when it went away: say it is not (idempotent), if it
                    // hears of the order, or was taken off it by this change
                    // (as `assignmentChanged` tells them). Not for a
                    // creation: the order did not exist before it.
                    (false, false)
                        if replaying
                            && kind != OrderEventKind::Created
                            && (answers.hears || taken_off(&self.principal, live)) =>
                    {
                        members.remove(id);
                        Some(seen(OrderEventKind::LeftQueue, queue))
                    }
                    (false, false) => None,
                }
            }
        }
    }
}

/// Whether `live` took `principal` off the order's assignees, and the
/// policy lets them hear of it.
fn taken_off(principal: &Principal, live: &Live) -> bool {
    let Some(me) = principal.user_id() else { return false };
    let (before, now) = live.assignees();
    before.contains(&me) && !now.contains(&me) && policy::order::hears_of_unassignment(principal, me).allowed
}

/// Whether a NOTE_ADDED event is about an INTERNAL note.
fn internal_note(payload: &Value) -> bool {
    payload["changes"]["visibility"] == "INTERNAL"
}
