//! The subscription root and `OrderEvent`.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result, Subscription};
use chrono::{DateTime, Utc};
use futures::Stream;
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast;

use super::view::{OrderEventKind, Seen, Selector, Subscriber};
use crate::error::{AppError, AppResult};
use crate::events::hub::{self, Live};
use crate::events::wire::Published;
use crate::graphql::loaders::{self, Loaders, UserById, to_app};
use crate::graphql::scalars::Cursor;
use crate::graphql::{ContextExt, nullable};
use crate::orders::graphql::{Order, Queue, visible_order};
use crate::org::graphql::User;
use crate::time::from_micros;

/// Events replayed per read of the log.
const REPLAY_BATCH: u64 = 200;

/// One change to an order, as the subscriber sees it.
pub struct OrderEvent(Seen);

#[Object]
impl OrderEvent {
    /// Where this event is in the stream: pass it as `after` to resume.
    async fn cursor(&self) -> Cursor {
        Cursor(self.0.seq.to_string())
    }
    async fn kind(&self) -> OrderEventKind {
        self.0.kind
    }
    /// The queue the event is about (`queueChanged` only).
    async fn queue(&self) -> Option<Queue> {
        self.0.queue
    }
    async fn at(&self) -> DateTime<Utc> {
        from_micros(self.0.at)
    }
    /// Who made the change; null for the system (sending). Read as
    /// `Order.history` is: ADMIN, and PLANNER in scope.
    async fn actor(&self, ctx: &Context<'_>) -> Option<User> {
        nullable(ctx, async {
            if !self.0.actor_readable {
                return Err(AppError::forbidden("who changed an order is read by ADMIN and PLANNER in scope").into());
            }
            let Some(id) = &self.0.actor_id else { return Ok(None) };
            let loaded = ctx.loaders()?.load_one(UserById(id.clone())).await.map_err(to_app)?;
            Ok(loaded.map(User::from))
        })
        .await
    }
    /// The order as it is now; null when it was deleted or is no longer
    /// visible to the subscriber.
    async fn order(&self) -> Option<Order> {
        self.0.order.clone().map(Order)
    }
    async fn order_id(&self) -> ID {
        ID(self.0.order_id.clone())
    }
}

#[derive(Default)]
pub struct OrderSubscription;

#[Subscription]
impl OrderSubscription {
    /// An event each time an order enters, leaves or changes inside the
    /// queue, as the subscriber sees it.
    async fn queue_changed(
        &self,
        ctx: &Context<'_>,
        queue: Queue,
        site_id: Option<ID>,
        after: Option<Cursor>,
    ) -> Result<impl Stream<Item = Result<OrderEvent>> + use<>> {
        let principal = ctx.principal()?.clone();
        let hub = ctx.state()?.hub.clone();
        let site_id = site_id.map(|s| s.to_string());
        let after = Box::pin(cursor(&hub, after)).await?;
        let members = Box::pin(Subscriber::queue_members(&hub.db, &principal, queue, site_id.as_deref())).await?;
        let selector = Selector::Queue { queue, site_id, members, announced: HashSet::new() };
        let subscriber = Subscriber { principal, selector };
        Ok(stream(hub, ctx.loaders()?.clone(), subscriber, after))
    }

    /// The caller was assigned or unassigned, or an order assigned to them
    /// changed status.
    async fn assignment_changed(
        &self,
        ctx: &Context<'_>,
        after: Option<Cursor>,
    ) -> Result<impl Stream<Item = Result<OrderEvent>> + use<>> {
        let principal = ctx.principal()?.clone();
        let Some(me) = principal.user_id().map(str::to_owned) else {
            return Err(AppError::forbidden("assignments are people's; an API token has none").into());
        };
        let hub = ctx.state()?.hub.clone();
        let after = Box::pin(cursor(&hub, after)).await?;
        Ok(stream(hub, ctx.loaders()?.clone(), Subscriber { principal, selector: Selector::Assignments(me) }, after))
    }

    /// Every change to one order the caller may see (NOT_FOUND otherwise).
    async fn order_changed(
        &self,
        ctx: &Context<'_>,
        id: ID,
        after: Option<Cursor>,
    ) -> Result<impl Stream<Item = Result<OrderEvent>> + use<>> {
        Box::pin(visible_order(ctx, &id)).await?;
        let principal = ctx.principal()?.clone();
        let hub = ctx.state()?.hub.clone();
        let after = Box::pin(cursor(&hub, after)).await?;
        let selector = Selector::Order(id.to_string());
        Ok(stream(hub, ctx.loaders()?.clone(), Subscriber { principal, selector }, after))
    }
}

// The resolvers box what they await: async-graphql keeps a resolver's
// future beside the stream it returns for as long as the subscription
// lives, so an unboxed query future would cost every idle subscriber its
// size.

/// The `seq` an `after` cursor names; BAD_USER_INPUT for one that is not a
/// cursor, or that is older than the log keeps (the client must refetch).
async fn cursor(hub: &hub::Hub, after: Option<Cursor>) -> AppResult<Option<i64>> {
    let Some(after) = after else { return Ok(None) };
    let seq = after
        .0
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| AppError::bad_input("after", "not a cursor of this stream"))?;
    if seq > hub::last_seq(&hub.db).await? {
        return Err(AppError::bad_input(
            "after",
            "this cursor is ahead of the event log: refetch, then subscribe without after",
        ));
    }
    if hub::first_seq(&hub.db).await?.is_some_and(|first| seq < first - 1) {
        return Err(AppError::bad_input(
            "after",
            "this cursor is older than the events kept (WORKGATE_EVENT_RETENTION): refetch, then subscribe without after",
        ));
    }
    Ok(Some(seq))
}

/// Where a subscription's stream is.
struct Position {
    live: hub::Tap,
    db: DatabaseConnection,
    /// The connection's loaders, emptied before each event.
    loaders: Loaders,
    subscriber: Subscriber,
    /// While replaying: the last `seq` read from the log, and what was read.
    replay: Option<i64>,
    pending: VecDeque<Published>,
    /// The last `seq` handed to the subscriber's filter.
    last: i64,
    done: bool,
}

/// The subscriber's events: the log after `after` (if given), then live.
fn stream(
    hub: hub::Hub,
    loaders: Loaders,
    subscriber: Subscriber,
    after: Option<i64>,
) -> impl Stream<Item = Result<OrderEvent>> {
    // Live first, so nothing between the replay and the live events is lost.
    // Without `after`, the stream starts after the last event published.
    let live = hub.subscribe(subscriber.route());
    let published = live.published;
    let state = Position {
        live,
        db: hub.db,
        loaders,
        subscriber,
        replay: after,
        pending: VecDeque::new(),
        last: after.unwrap_or(published),
        done: false,
    };
    futures::stream::unfold(state, |mut s| async move {
        let item = s.next().await?;
        Some((item, s))
    })
}

impl Position {
    async fn next(&mut self) -> Option<Result<OrderEvent>> {
        loop {
            if self.done {
                return None;
            }
            let replaying = self.replay.is_some();
            let live = match self.replay {
                // Boxed: the log's queries are large futures, and an idle
                // subscription (waiting below) should not carry their size.
                Some(from) => match Box::pin(self.replayed(from)).await {
                    Ok(Some(live)) => live,
                    Ok(None) => continue,
                    Err(e) => return Some(Err(self.fail(e))),
                },
                None => match self.live.events.recv().await {
                    Ok(live) => live,
                    // Too slow for the live events (or a long replay):
                    // read the log from where this subscriber is instead.
                    // Memory stays bounded either way.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        self.replay = Some(self.last);
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            };
            if live.event.seq <= self.last {
                continue;
            }
            self.last = live.event.seq;
            if let Some(seen) = self.subscriber.view(&live, replaying) {
                loaders::forget(&self.loaders);
                return Some(Ok(OrderEvent(seen)));
            }
        }
    }

    /// The next replayed event (None when this read found only events at
    /// or below the last one); ends the replay when the log has no more.
    async fn replayed(&mut self, from: i64) -> AppResult<Option<Arc<Live>>> {
        if self.pending.is_empty() {
            let organization = self.subscriber.principal.organization_id.clone();
            let events = hub::events_after(&self.db, Some(&organization), from, REPLAY_BATCH).await?;
            match events.last() {
                Some(last) => self.replay = Some(last.seq),
                None => {
                    self.replay = None;
                    return Ok(None);
                }
            }
            self.pending.extend(events);
        }
        match self.pending.pop_front() {
            Some(event) => Ok(Some(Arc::new(hub::live(&self.db, event).await?))),
            None => Ok(None),
        }
    }

    fn fail(&mut self, error: AppError) -> async_graphql::Error {
        self.done = true;
        error.into()
    }
}
