//! `vendor_sends`: One send of a vendor order to the vendor's contact emails, as an approval, a creation or an
//! admin asked for it. `trigger` is AUTOMATIC, SEND or RESEND; `state` is QUEUED, SENDING, SENT, FAILED or
//! CANCELLED; `recipients` is a JSON array; times are microseconds.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "vendor_sends")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    pub order_id: String,
    pub vendor_id: String,
    pub trigger: String,
    pub requested_by: Option<String>,
    pub state: String,
    /// Attempts begun (each recorded before it is made).
    pub attempts: i32,
    pub next_attempt_at: i64,
    /// While SENDING: when the attempt is known to be over, finished or not.
    pub lease_until: Option<i64>,
    pub recipients: String,
    pub last_error: Option<String>,
    /// The Message-ID every attempt of this send carries.
    pub message_id: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
