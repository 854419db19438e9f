//! The relay finds the order events it has not published yet (`seq IS
//! NULL`) through a partial index, so its frequent look stays cheap however
//! long the log grows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000004_event_relay"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The same statement on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared("CREATE INDEX order_events_unpublished ON order_events (id) WHERE seq IS NULL")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX order_events_unpublished").await?;
        Ok(())
    }
}
