//! workgate: a GraphQL gateway for maintenance and procurement work orders.
//!
//! ARCHITECTURE.md maps the modules; `startup::Application` is the one boot
//! path.

pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod contract_check;
pub mod db;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod ids;
pub mod metrics;
pub mod orders;
pub mod org;
pub mod policy;
pub mod rate_limit;
pub mod reports;
pub mod routing;
pub mod seed;
pub mod sending;
pub mod startup;
pub mod state;
pub mod subscriptions;
pub mod telemetry;
pub mod time;
pub mod vendors;
pub mod workflow;
