//! `approval_step_approvers`: A user designated to decide one approval step.
//!
//! The table also holds copies of the order's sort keys and status
//! (`order_created_at`, `order_updated_at`, `order_priority`, `order_due`,
//! `order_status`), which the database's triggers keep (migration 11) and
//! only a page's statement reads (`orders::list`); they are not fields
//! here, so no writer sets them.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "approval_step_approvers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub step_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    pub order_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
