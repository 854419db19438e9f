//! `orders`: A work or purchase order. `version` increases on every change (optimistic concurrency); `priority` is the rank 0 (LOW) to 3 (URGENT).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    pub number: String,
    pub kind: String,
    pub title: String,
    pub description: Option<String>,
    pub priority: i32,
    pub status: String,
    pub archived: bool,
    pub version: i64,
    pub site_id: Option<String>,
    pub asset_id: Option<String>,
    pub scope_account_id: Option<String>,
    pub creator_id: String,
    pub owner_id: String,
    pub via_token_id: Option<String>,
    pub vendor_id: Option<String>,
    pub estimated_cost_cents: Option<i64>,
    pub resolution: Option<String>,
    pub due_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub deleted_at: Option<i64>,
    /// A send to the vendor that is QUEUED or SENDING; null otherwise.
    pub send_state: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
