//! The organization: accounts, sites, site groups, assets, users, role
//! bindings and API tokens.

pub mod demo;
pub mod graphql;
pub mod input;
pub mod model;
pub mod mutations;
pub mod read;
pub mod service;
