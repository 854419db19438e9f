//! Orders: work orders and procurement orders.

pub mod model;
pub mod numbering;
