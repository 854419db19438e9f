//! An index per order list sort within a site, for people whose roles reach
//! some sites only: their page takes the first rows of each site's orders
//! in the sort (`policy::filter::visible_orders_for_page`), which these
//! indexes give without reading the site's other orders. Written as
//! migration 5's, with `site_id` first.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000006_order_site_sort_indexes"
    }
}

const INDEXES: [(&str, &str); 4] = [
    ("orders_site_created", "site_id, created_at, id"),
    ("orders_site_updated", "site_id, updated_at, id"),
    ("orders_site_priority", "site_id, priority, id"),
    ("orders_site_due", "site_id, COALESCE(due_at, 9223372036854775807), id"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, columns) in INDEXES {
            db.execute_unprepared(&format!("CREATE INDEX {name} ON orders ({columns})")).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
        }
        Ok(())
    }
}
