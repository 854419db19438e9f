//! `site_group_members`: Membership of a site in a site group.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "site_group_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub site_group_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub site_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
