//! An index per order list sort within a site, for people whose roles reach
//! some sites only: their page takes the first rows of each site's orders
//! in the sort (`policy::filter::visible_orders_for_page`), which these
//! indexes give without reading the site's other orders. Written as
//! migration 5's, with `site_id` first.

use sea_orm_migration::prelude::*;

use crate::order_indexes::{self, OrderIndex};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000006_order_site_sort_indexes"
    }
}

const INDEXES: [OrderIndex; 4] = [
    ("orders_site_created", "site_id, created_at, id"),
    ("orders_site_updated", "site_id, updated_at, id"),
    ("orders_site_priority", "site_id, priority, id"),
    ("orders_site_due", "site_id, COALESCE(due_at, 9223372036854775807), id"),
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
