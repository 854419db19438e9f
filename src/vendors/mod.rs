//! Vendors orders are routed to, routing rules and their assignments
//! (DOMAIN.md section 7): the `Vendor` and `Rule` types, the `vendors` and
//! `rules` queries and their management mutations. Who may manage them is
//! `policy::procurement`'s; routing itself is `routing/`.

pub mod graphql;
pub mod input;
pub mod mutations;
pub mod rules;
pub mod service;
