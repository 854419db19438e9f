//! An index per order list sort by creator and by owner. A site-bound
//! person's page is a union of arms (`orders::list::FirstRows`): their
//! sites, their links (walked by migration 11's copies), and the orders
//! they created and own. Migration 1 indexed `creator_id` and `owner_id`
//! alone, so each of the last two arms read every order of the person
//! (115 for the synthetic TECHNICIAN) and sorted them, where PostgreSQL's
//! merge of the arms took two from each (232 of the statement's 534
//! buffers; 312 in all with these; BENCHMARKS.md). Walked in the sort,
//! each arm stops where the page does. A list filtered by `ownerId` walks
//! them too. The single-column indexes are their prefixes, so they go;
//! the `MY_REQUESTS` queue (creator or owner) finds a person's orders
//! through them as it did through those.

use sea_orm_migration::prelude::*;

use crate::order_indexes::{self, OrderIndex};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000012_order_person_sort_indexes"
    }
}

const INDEXES: [OrderIndex; 8] = [
    ("orders_creator_created", "creator_id, created_at, id"),
    ("orders_creator_updated", "creator_id, updated_at, id"),
    ("orders_creator_priority", "creator_id, priority, id"),
    ("orders_creator_due", "creator_id, COALESCE(due_at, 9223372036854775807), id"),
    ("orders_owner_created", "owner_id, created_at, id"),
    ("orders_owner_updated", "owner_id, updated_at, id"),
    ("orders_owner_priority", "owner_id, priority, id"),
    ("orders_owner_due", "owner_id, COALESCE(due_at, 9223372036854775807), id"),
];

/// Migration 1's, now the leading column of wider indexes.
const SUPERSEDED: [OrderIndex; 2] = [("orders_creator", "creator_id"), ("orders_owner", "owner_id")];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        order_indexes::replace(manager, &INDEXES, &SUPERSEDED).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        order_indexes::replace(manager, &SUPERSEDED, &INDEXES).await
    }

    /// On SQLite too (sea-orm's default there is none): ten statements,
    /// five seconds on 100,000 orders, and a run stopped between them
    /// would leave indexes that the next run's `CREATE INDEX` fails on.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
