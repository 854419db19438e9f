//! Vendors orders are routed to. The type is here for `Order.vendor`; vendor
//! management, rules and routing arrive with their feature.

pub mod graphql;
