//! Queuing and withdrawing sends, inside the transaction of the change that
//! asks for them.

use entity::{vendor_sends, vendors};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::error::{AppError, AppResult};
use crate::ids::IdKind;
use crate::orders::model::OrderKind;
use crate::orders::record::OrderRecord;
use crate::time::now_micros;

/// Who asked for a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The order was approved (or needed no approval) and its vendor does
    /// not require a manual send.
    Automatic,
    /// An admin sent an OPEN order.
    Send,
    /// An admin resent a SEND_FAILED order.
    Resend,
}

impl Trigger {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Automatic => "AUTOMATIC",
            Self::Send => "SEND",
            Self::Resend => "RESEND",
        }
    }
}

/// The states of a `vendor_sends` row.
pub mod state {
    pub const QUEUED: &str = "QUEUED";
    pub const SENDING: &str = "SENDING";
    pub const SENT: &str = "SENT";
    pub const FAILED: &str = "FAILED";
    pub const CANCELLED: &str = "CANCELLED";
}

/// Whether an order of `kind` going to `vendor` is sent as soon as it is
/// OPEN, without an admin: vendor kinds whose vendor does not require a
/// manual send.
pub fn automatic(kind: OrderKind, vendor: &vendors::Model) -> bool {
    kind != OrderKind::Work && !vendor.manual_send
}

/// The vendor an OPEN order would be sent to, if it is sent automatically.
pub async fn automatic_vendor<C: ConnectionTrait>(
    conn: &C,
    kind: OrderKind,
    vendor_id: Option<&str>,
) -> AppResult<Option<vendors::Model>> {
    let Some(vendor_id) = vendor_id else { return Ok(None) };
    let vendor = vendors::Entity::find_by_id(vendor_id).one(conn).await?;
    Ok(vendor.filter(|v| automatic(kind, v)))
}

/// Writes a queued send of `order` to its vendor. The caller has claimed the
/// order (or just created it) in the same transaction and set its
/// `send_state` to QUEUED
/// ([`crate::workflow::service::Change::queue_send`]).
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    order: &OrderRecord,
    trigger: Trigger,
    requested_by: Option<&str>,
) -> AppResult<()> {
    let vendor_id = order
        .model
        .vendor_id
        .clone()
        .ok_or_else(|| AppError::InvalidTransition("the order has no vendor to send to".into()))?;
    let id = IdKind::VendorSend.new_id();
    let now = now_micros();
    vendor_sends::ActiveModel {
        message_id: Set(format!("<{id}@workgate>")),
        id: Set(id),
        organization_id: Set(order.model.organization_id.clone()),
        order_id: Set(order.model.id.clone()),
        vendor_id: Set(vendor_id),
        trigger: Set(trigger.as_str().to_owned()),
        requested_by: Set(requested_by.map(str::to_owned)),
        state: Set(state::QUEUED.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        recipients: Set("[]".to_owned()),
        last_error: Set(None),
        created_at: Set(now),
        finished_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Withdraws the order's queued send (the order is being cancelled). A send
/// under way is never withdrawn: the state machine refuses the cancel.
pub async fn withdraw<C: ConnectionTrait>(conn: &C, order_id: &str) -> AppResult<()> {
    vendor_sends::Entity::update_many()
        .col_expr(vendor_sends::Column::State, Expr::value(state::CANCELLED))
        .col_expr(vendor_sends::Column::FinishedAt, Expr::value(now_micros()))
        .filter(vendor_sends::Column::OrderId.eq(order_id))
        .filter(vendor_sends::Column::State.eq(state::QUEUED))
        .exec(conn)
        .await?;
    Ok(())
}
