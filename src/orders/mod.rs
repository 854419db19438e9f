//! Orders: work orders and procurement orders.

pub mod filter;
pub mod graphql;
pub mod list;
pub mod model;
pub mod numbering;
pub mod record;
pub mod snapshot;
