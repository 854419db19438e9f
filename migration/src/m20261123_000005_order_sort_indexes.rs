//! An index per order list sort (`OrderSort`), each ending in `id` as the
//! sort's tie-break does: a dashboard's first page walks the index of its
//! sort and stops after one page of visible orders, instead of sorting
//! every order of the organization. `DUE_ASC` sorts by
//! `COALESCE(due_at, i64::MAX)` (no due date last), so its index is on that
//! expression, written exactly as `orders::list` writes it. Plain SQL, the
//! same on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

use crate::order_indexes::{self, OrderIndex};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000005_order_sort_indexes"
    }
}

const INDEXES: [OrderIndex; 3] = [
    ("orders_updated", "organization_id, updated_at, id"),
    ("orders_priority", "organization_id, priority, id"),
    ("orders_due", "organization_id, COALESCE(due_at, 9223372036854775807), id"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        order_indexes::create(manager, &INDEXES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        order_indexes::drop(manager, &INDEXES).await
    }
}
