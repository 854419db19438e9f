//! Schema migrations. Every migration is written with sea-query's portable
//! builders so the same history runs on SQLite and PostgreSQL; the few
//! backend-specific statements (triggers) branch on the backend explicitly.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_initial;
mod m20261122_000002_audit_append_only;
mod m20261123_000003_vendor_sends;
mod m20261123_000004_event_relay;
mod m20261123_000005_order_sort_indexes;
mod m20261124_000006_order_site_sort_indexes;
mod m20261205_000007_order_vendor_sort_indexes;
mod m20261205_000008_order_created_index;
mod m20261206_000009_person_order_indexes;
mod m20261207_000010_identifiers_bytewise;
mod m20261207_000011_link_sort_keys;
mod m20261208_000012_order_person_sort_indexes;
mod order_indexes;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_initial::Migration),
            Box::new(m20261122_000002_audit_append_only::Migration),
            Box::new(m20261123_000003_vendor_sends::Migration),
            Box::new(m20261123_000004_event_relay::Migration),
            Box::new(m20261123_000005_order_sort_indexes::Migration),
            Box::new(m20261124_000006_order_site_sort_indexes::Migration),
            Box::new(m20261205_000007_order_vendor_sort_indexes::Migration),
            Box::new(m20261205_000008_order_created_index::Migration),
            Box::new(m20261206_000009_person_order_indexes::Migration),
            Box::new(m20261207_000010_identifiers_bytewise::Migration),
            Box::new(m20261207_000011_link_sort_keys::Migration),
            Box::new(m20261208_000012_order_person_sort_indexes::Migration),
        ]
    }
}
