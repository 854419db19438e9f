//! `VendorSend`: one send of an order to its vendor, as `Order.sends` shows
//! it to ADMIN and PLANNER (the policy decided before these are built).

use async_graphql::{Enum, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::vendor_sends;

use super::queue::state;
use crate::graphql::stored_list;
use crate::time::from_micros;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum SendProgress {
    /// Waiting for its first attempt, or for a retry.
    Queued,
    /// An attempt is under way.
    Sending,
    Sent,
    /// The order is SEND_FAILED; an admin may resend.
    Failed,
    /// Withdrawn before an attempt: the order was cancelled or deleted.
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum SendTrigger {
    /// The order was approved (or needed no approval), and its vendor does
    /// not require a manual send.
    Automatic,
    /// An admin's `send`.
    Send,
    /// An admin's `resend`.
    Resend,
}

pub struct VendorSend(pub vendor_sends::Model);

#[Object]
impl VendorSend {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn state(&self) -> SendProgress {
        match self.0.state.as_str() {
            state::QUEUED => SendProgress::Queued,
            state::SENDING => SendProgress::Sending,
            state::SENT => SendProgress::Sent,
            state::CANCELLED => SendProgress::Cancelled,
            _ => SendProgress::Failed,
        }
    }
    async fn trigger(&self) -> SendTrigger {
        match self.0.trigger.as_str() {
            "SEND" => SendTrigger::Send,
            "RESEND" => SendTrigger::Resend,
            _ => SendTrigger::Automatic,
        }
    }
    /// Who asked for it; null for an automatic send.
    async fn requested_by_id(&self) -> Option<ID> {
        self.0.requested_by.clone().map(ID)
    }
    /// Attempts begun so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The contact emails of the latest attempt.
    async fn recipients(&self) -> Result<Vec<String>> {
        Ok(stored_list("vendor_sends.recipients", &self.0.id, &self.0.recipients)?)
    }
    /// Why the latest attempt did not deliver, as the mail server or the
    /// gateway put it.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// The Message-ID the vendor receives (the same on every attempt).
    async fn message_id(&self) -> &str {
        &self.0.message_id
    }
    async fn queued_at(&self) -> DateTime<Utc> {
        from_micros(self.0.created_at)
    }
    /// When the next attempt is due, while it waits for one.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.state == state::QUEUED).then(|| from_micros(self.0.next_attempt_at))
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at.map(from_micros)
    }
}
