//! `order_events`: The order event log (transactional outbox). Written in the same transaction as the change; `seq` is the subscription cursor, assigned in commit order when the event is published.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: String,
    pub order_id: String,
    pub kind: String,
    pub queue: Option<String>,
    pub actor_id: Option<String>,
    pub at: i64,
    pub payload: String,
    pub seq: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
