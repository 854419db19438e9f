//! The visibility filter's arms for a person's relations look orders up by
//! person, and for a single order by person and order: "is this order
//! assigned to me", "am I a designated approver of it". Migration 1 indexed
//! `order_assignees` and `approval_step_approvers` on `user_id` alone, so
//! PostgreSQL answered the second by reading every step the person was
//! ever designated on and filtering by order (a bitmap scan of 308 rows,
//! 0.11 ms of a TECHNICIAN's 0.18 ms single-order lookup; BENCHMARKS.md).
//! `(user_id, order_id)` answers both from the index alone. The new
//! indexes have names of their own, so that they exist before the old ones
//! go.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000009_person_order_indexes"
    }
}

/// Table, the index now, migration 1's index.
const TABLES: [(&str, &str, &str); 2] = [
    ("order_assignees", "order_assignees_user_order", "order_assignees_user"),
    ("approval_step_approvers", "approval_step_approvers_user_order", "approval_step_approvers_user"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, now, before) in TABLES {
            manager.create_index(Index::create().name(now).table(table).col("user_id").col("order_id").take()).await?;
            manager.drop_index(Index::drop().name(before).table(table).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, now, before) in TABLES {
            manager.create_index(Index::create().name(before).table(table).col("user_id").take()).await?;
            manager.drop_index(Index::drop().name(now).table(table).to_owned()).await?;
        }
        Ok(())
    }
}
