//! `audit_events`: An append-only audit record. `changes` is a JSON object of `field: [old, new]`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    pub at: i64,
    pub actor_id: Option<String>,
    pub token_id: Option<String>,
    pub token_name: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub order_id: Option<String>,
    pub changes: String,
    pub reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
