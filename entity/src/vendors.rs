//! `vendors`: A vendor orders may be routed to. `contact_emails` and `conditions` are JSON arrays; `deleted_at` marks a retired vendor that old orders still name.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "vendors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    pub scope_account_id: Option<String>,
    pub name: String,
    pub contact_emails: String,
    pub enabled: bool,
    pub requires_approval: bool,
    pub manual_send: bool,
    pub conditions: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
