//! `rules`: A routing rule. `kinds`, `required_tags` and `optional_tags` are JSON arrays; `vendor_id` is set on a vendor's auto-generated rule.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    pub scope_account_id: Option<String>,
    pub vendor_id: Option<String>,
    pub name: String,
    pub kinds: String,
    pub required_tags: String,
    pub optional_tags: String,
    pub min_estimated_cost_cents: Option<i64>,
    pub requires_approval: bool,
    pub approval_position: i32,
    pub auto_maintenance: bool,
    pub auto_generated: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
