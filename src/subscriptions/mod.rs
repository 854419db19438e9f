//! Live subscriptions (DOMAIN.md section 8): `queueChanged`,
//! `assignmentChanged` and `orderChanged`, fed by the instance's
//! [`crate::events::hub`].
//!
//! Every event is filtered per subscriber by the policy module against the
//! order as it is now ([`policy::order::hears_of`]; queue membership with
//! the same SQL as the `queue` query), and shaped by the same field guards
//! as queries (the `order` field is an ordinary `Order`). Answers are cached
//! on the event per distinct principal, not per socket.
//!
//! `after: cursor` replays from the event log everything after it that the
//! subscriber may see, in order, then continues live without duplicates
//! (events carry a gap-free `seq`; the live receiver is opened before the
//! replay starts, and anything at or below the last `seq` given is skipped).

pub mod graphql;
mod view;

pub use graphql::OrderSubscription;
