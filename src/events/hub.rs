//! The hub: one per gateway instance. It takes sequenced events from the bus
//! (one subscription per instance) and hands each, in `seq` order and
//! exactly once, to the instance's subscriptions, with the snapshot its
//! change wrote and the order as it is now (read once per event, not once
//! per subscriber).
//!
//! The bus is at most once. The hub reads from the database what it did not
//! hear: on a gap in `seq`, on a resync (Redis reconnected), when it lagged
//! behind the bus, and after a second without a message.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use entity::{order_events, orders};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;
use tokio::sync::{broadcast, watch};

use super::wire::Published;
use super::{BusEvent, EventBus};
use crate::auth::Principal;
use crate::error::AppResult;
use crate::metrics::{GaugeGuard, Metrics};
use crate::orders::record::{self, OrderRecord};
use crate::orders::snapshot::Snapshot;
use crate::subscriptions::view::Answers;

/// Live events kept for the subscriptions of an organization's queues
/// (every event of the organization), and for those of one order or one
/// person's assignments; a subscription further behind reads the log.
const ORGANIZATION_BUFFER: usize = 1024;
const NARROW_BUFFER: usize = 32;
/// Events between two sweeps of routes nobody listens to any more.
const SWEEP_EVERY: i64 = 1024;
/// Silence after which the hub reads the database anyway.
const QUIET: Duration = Duration::from_secs(1);
const CATCH_UP_BATCH: u64 = 500;

/// One event as subscriptions receive it.
pub struct Live {
    pub event: Published,
    /// The event's payload, read once for every subscriber.
    pub payload: Value,
    /// The order's facts right after the change, by which subscriptions
    /// judge the event; None when the order no longer exists at all.
    pub after: Option<Snapshot>,
    /// The order now (what `OrderEvent.order` shows); None when it no
    /// longer exists at all.
    pub order: Option<Arc<OrderRecord>>,
    /// What each distinct principal may know of the event, so that the
    /// policy is asked once per event per principal, however many
    /// subscriptions it holds.
    answers: Mutex<HashMap<Principal, Answers>>,
}

impl Live {
    /// The assignees before and after the change, when it changed them
    /// (`changes.assignees`).
    pub fn assignees(&self) -> (Vec<&str>, Vec<&str>) {
        let pair = &self.payload["changes"]["assignees"];
        (names(&pair[0]), names(&pair[1]))
    }

    /// The routes this event goes to.
    fn routes(&self) -> Vec<Route> {
        let (before, now) = self.assignees();
        let mut people: Vec<&str> = before.into_iter().chain(now).collect();
        if let Some(after) = &self.after {
            people.extend(after.assignee_ids.iter().map(String::as_str));
        }
        people.sort_unstable();
        people.dedup();
        let mut routes =
            vec![Route::Organization(self.event.organization_id.clone()), Route::Order(self.event.order_id.clone())];
        routes.extend(people.into_iter().map(|p| Route::Assignee(p.to_owned())));
        routes
    }

    /// `principal`'s answers, worked out by `decide` on first use.
    pub fn answers(&self, principal: &Principal, decide: impl FnOnce() -> Answers) -> Answers {
        let Ok(mut answers) = self.answers.lock() else { return decide() };
        if let Some(known) = answers.get(principal) {
            return *known;
        }
        let known = decide();
        answers.insert(principal.clone(), known);
        known
    }
}

/// Which live events a subscription receives: an event goes only to the
/// routes it concerns, so that an event wakes the subscriptions that may
/// want it, not every subscription of the instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Route {
    /// Every event of an organization (its queues).
    Organization(String),
    /// The events of one order.
    Order(String),
    /// The events of orders a person is, was just, or is no longer assigned
    /// to.
    Assignee(String),
}

/// The strings of a JSON list.
fn names(list: &Value) -> Vec<&str> {
    list.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// Where subscriptions get live events, and the connections they replay
/// and ask with (apart from the requests' pool).
#[derive(Clone)]
pub struct Hub {
    routes: Arc<Mutex<Routes>>,
    pub db: DatabaseConnection,
    metrics: Metrics,
}

/// One subscription's hold on a route of the hub: the events published
/// after `published`, the `seq` of the last event published before it was
/// taken (together: nothing falls between). Counted in
/// `workgate_hub_subscribers` while held.
pub struct Tap {
    pub events: broadcast::Receiver<Arc<Live>>,
    pub published: i64,
    _attached: GaugeGuard,
}

#[derive(Default)]
struct Routes {
    senders: HashMap<Route, broadcast::Sender<Arc<Live>>>,
    /// The `seq` of the last event published.
    published: i64,
}

impl Hub {
    pub fn new(db: DatabaseConnection, metrics: Metrics) -> Self {
        Self { routes: Arc::default(), db, metrics }
    }

    /// A tap on `route` from now on.
    pub fn subscribe(&self, route: Route) -> Tap {
        let mut routes = self.routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let capacity = if matches!(route, Route::Organization(_)) { ORGANIZATION_BUFFER } else { NARROW_BUFFER };
        let events = routes.senders.entry(route).or_insert_with(|| broadcast::channel(capacity).0).subscribe();
        Tap { events, published: routes.published, _attached: self.metrics.hub_subscriber() }
    }

    /// Hands `live` to the subscriptions of every route it concerns.
    fn publish(&self, live: Live) {
        let live = Arc::new(live);
        let mut routes = self.routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for route in live.routes() {
            if let Some(sender) = routes.senders.get(&route) {
                // No receiver left: forgotten at the next sweep.
                let _ = sender.send(live.clone());
            }
        }
        routes.published = live.event.seq;
        if live.event.seq % SWEEP_EVERY == 0 {
            routes.senders.retain(|_, sender| sender.receiver_count() > 0);
        }
    }
}

/// An event of the log as subscriptions receive it: with the snapshot its
/// change wrote (events written before snapshots existed take the order as
/// it is now) and the order now.
pub async fn live(db: &DatabaseConnection, event: Published) -> AppResult<Live> {
    let payload: Value = serde_json::from_str(&event.payload).unwrap_or(Value::Null);
    // Only the database failing makes this fail (and the hub try again): a
    // snapshot that cannot be read is replaced by the order as it is now,
    // so that one bad row cannot hold up every subscription.
    let written = payload.get("after").filter(|a| !a.is_null()).and_then(|after| {
        serde_json::from_value::<Snapshot>(after.clone())
            .inspect_err(|e| tracing::error!(seq = event.seq, error = %e, "hub: unreadable order snapshot"))
            .ok()
    });
    let after = match written {
        Some(after) => Some(after),
        None => Snapshot::take(db, &event.order_id).await?,
    };
    let model = orders::Entity::find_by_id(event.order_id.as_str()).one(db).await?;
    let order = match model {
        Some(model) => record::load(db, vec![model]).await?.pop().map(Arc::new),
        None => None,
    };
    Ok(Live { event, payload, after, order, answers: Mutex::new(HashMap::new()) })
}

/// Events after `after` (of one organization, if given), in order, at most
/// `limit`.
pub async fn events_after(
    db: &DatabaseConnection,
    organization_id: Option<&str>,
    after: i64,
    limit: u64,
) -> AppResult<Vec<Published>> {
    let mut query = order_events::Entity::find().filter(order_events::Column::Seq.gt(after));
    if let Some(organization_id) = organization_id {
        query = query.filter(order_events::Column::OrganizationId.eq(organization_id));
    }
    Ok(query
        .order_by_asc(order_events::Column::Seq)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(Published::from)
        .collect())
}

/// The oldest `seq` the log still holds (None when it holds none).
pub async fn first_seq(db: &DatabaseConnection) -> AppResult<Option<i64>> {
    Ok(order_events::Entity::find()
        .filter(order_events::Column::Seq.is_not_null())
        .order_by_asc(order_events::Column::Seq)
        .one(db)
        .await?
        .and_then(|e| e.seq))
}

/// The last sequenced event's `seq` (0 for none).
pub async fn last_seq(db: &DatabaseConnection) -> AppResult<i64> {
    Ok(order_events::Entity::find()
        .filter(order_events::Column::Seq.is_not_null())
        .order_by_desc(order_events::Column::Seq)
        .one(db)
        .await?
        .and_then(|e| e.seq)
        .unwrap_or(0))
}

/// The hub's task: delivers every event after the last one at start.
pub async fn run(hub: Hub, bus: Arc<dyn EventBus>, mut stop: watch::Receiver<bool>) {
    let db = hub.db.clone();
    let mut incoming = bus.subscribe();
    let mut last = loop {
        match last_seq(&db).await {
            Ok(last) => break last,
            Err(e) => {
                tracing::error!(error = ?e, "hub: cannot read the event log; retrying");
                tokio::select! {
                    () = tokio::time::sleep(QUIET) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    };
    loop {
        let behind = tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(QUIET) => true,
            message = incoming.recv() => match message {
                Ok(BusEvent::Message(text)) => match Published::parse(&text) {
                    Some(event) if event.seq <= last => false,
                    Some(event) if event.seq == last + 1 => {
                        match deliver(&hub, &db, event).await {
                            Ok(seq) => {
                                last = seq;
                                false
                            }
                            Err(_) => true,
                        }
                    }
                    // A gap, or something unreadable: the log says.
                    _ => true,
                },
                Ok(BusEvent::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => true,
                Err(broadcast::error::RecvError::Closed) => {
                    tracing::error!("hub: the bus closed");
                    return;
                }
            },
        };
        if behind && let Err(e) = catch_up(&hub, &db, &mut last).await {
            tracing::error!(error = ?e, "hub: catching up failed; trying again");
        }
    }
}

async fn deliver(hub: &Hub, db: &DatabaseConnection, event: Published) -> AppResult<i64> {
    let seq = event.seq;
    let live =
        live(db, event).await.inspect_err(|e| tracing::error!(error = ?e, "hub: cannot load an event's order"))?;
    hub.publish(live);
    hub.metrics.event_delivered();
    Ok(seq)
}

/// Delivers every event after `last` from the log, moving `last` along as it
/// goes (so a failure part way keeps what was delivered).
async fn catch_up(hub: &Hub, db: &DatabaseConnection, last: &mut i64) -> AppResult<()> {
    loop {
        let events = events_after(db, None, *last, CATCH_UP_BATCH).await?;
        let full = events.len() as u64 == CATCH_UP_BATCH;
        for event in events {
            *last = deliver(hub, db, event).await?;
        }
        if !full {
            return Ok(());
        }
    }
}
