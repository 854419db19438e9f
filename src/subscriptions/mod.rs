//! Live subscriptions (DOMAIN.md section 8): `queueChanged`,
//! `assignmentChanged` and `orderChanged`, fed by the instance's
//! [`crate::events::hub`].
//!
//! Every event is filtered per subscriber by the policy module against the
//! order as the change left it: the snapshot the change wrote into the
//! event ([`crate::orders::snapshot`]), judged by
//! [`crate::policy::order::hears_of`] and the queues' pure forms
//! ([`crate::policy::queues::holds`], proven equal to the `queue` query's
//! SQL). It is shaped by the same field guards as queries (the `order` field
//! is an ordinary `Order`, as it is now, for those who may see it now).
//! Answers are worked out once per event per distinct principal, not per
//! socket.
//!
//! `after: cursor` replays from the event log everything after it that the
//! subscriber may see, in order, then continues live without duplicates
//! (events carry a gap-free `seq`; the live receiver is opened before the
//! replay starts, and anything at or below the last `seq` given is skipped).

pub mod graphql;
pub mod view;

pub use graphql::OrderSubscription;
