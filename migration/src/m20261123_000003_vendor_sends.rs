//! Sending vendor orders (DOMAIN.md section 7, "Sending"): one `vendor_sends`
//! row per send an approval or an admin asked for, and `orders.send_state`,
//! the order's side of a send that is queued or under way.
//!
//! A send is recorded before it is attempted (state SENDING with a lease),
//! so a process that dies mid-send leaves a row that says so: it is never
//! retried by itself, only failed once the lease runs out.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_integer_null, integer, text, text_null};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000003_vendor_sends"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("orders").add_column(text_null("send_state")).take()).await?;
        manager
            .create_table(
                Table::create()
                    .table("vendor_sends")
                    .col(text("id").primary_key())
                    .col(text("organization_id"))
                    .col(text("order_id"))
                    .col(text("vendor_id"))
                    .col(text("trigger"))
                    .col(text_null("requested_by"))
                    .col(text("state"))
                    .col(integer("attempts"))
                    .col(big_integer("next_attempt_at"))
                    .col(big_integer_null("lease_until"))
                    .col(text("recipients"))
                    .col(text_null("last_error"))
                    .col(text("message_id"))
                    .col(big_integer("created_at"))
                    .col(big_integer_null("finished_at"))
                    .foreign_key(ForeignKey::create().from("vendor_sends", "organization_id").to("organizations", "id"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("vendor_sends", "order_id")
                            .to("orders", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(ForeignKey::create().from("vendor_sends", "vendor_id").to("vendors", "id"))
                    .foreign_key(ForeignKey::create().from("vendor_sends", "requested_by").to("users", "id"))
                    .take(),
            )
            .await?;
        for (name, columns) in [
            ("vendor_sends_due", &["state", "next_attempt_at"][..]),
            ("vendor_sends_order", &["order_id", "created_at"][..]),
        ] {
            let mut index = Index::create().name(name).table("vendor_sends").take();
            for column in columns {
                index.col(*column);
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("vendor_sends").take()).await?;
        manager.alter_table(Table::alter().table("orders").drop_column("send_state").take()).await
    }
}
