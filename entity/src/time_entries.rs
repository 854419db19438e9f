//! `time_entries`: Hours a user logged on an order; `cost_cents` is hours times the user's rate when known.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "time_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub order_id: String,
    pub user_id: String,
    pub hours: f64,
    pub note: Option<String>,
    pub cost_cents: Option<i64>,
    pub logged_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
