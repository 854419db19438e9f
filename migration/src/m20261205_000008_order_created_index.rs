//! `CREATED_DESC`'s index ends in `id`, as migration 5's indexes of the
//! other sorts do. Migration 1's `orders_created` is `(organization_id,
//! created_at)`; with only that, SQLite sorts a `CREATED_DESC` page
//! filtered by status in a temporary B-tree, reading every order of those
//! statuses through `orders_status` (100 ms for an organization of 100,000
//! orders), instead of walking the index and stopping after one page (1 ms;
//! BENCHMARKS.md). PostgreSQL walked it with an incremental sort on `id`;
//! now it walks it in order. The new index has a name of its own, so that
//! it exists before the old one goes.

use sea_orm_migration::prelude::*;

use crate::order_indexes::{self, OrderIndex};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000008_order_created_index"
    }
}

const WITH_ID: [OrderIndex; 1] = [("orders_created_id", "organization_id, created_at, id")];
const MIGRATION_1S: [OrderIndex; 1] = [("orders_created", "organization_id, created_at")];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        order_indexes::replace(manager, &WITH_ID, &MIGRATION_1S).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        order_indexes::replace(manager, &MIGRATION_1S, &WITH_ID).await
    }
}
