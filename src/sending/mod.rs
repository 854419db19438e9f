//! Sending vendor orders to their vendors (DOMAIN.md section 7, "Sending").
//!
//! A send is a row of `vendor_sends`, queued in the same transaction as the
//! change that asks for it: the last approval, a creation that needs none
//! (both only when the vendor does not require a manual send), or an admin's
//! `send` / `resend`. The order's `send_state` says QUEUED meanwhile.
//!
//! The [`worker`] delivers queued sends over SMTP (or into the mail folder)
//! and is the only writer of their outcome:
//!
//! 1. it claims a send (QUEUED -> SENDING, one more attempt, a lease) and
//!    commits that *before* it talks to the mail server;
//! 2. success: the order is SENT; a refusal or a server that could not be
//!    reached (nothing was delivered) is retried with a doubling delay, up
//!    to `WORKGATE_SEND_ATTEMPTS`; after the last, or a permanent refusal, the
//!    order is SEND_FAILED and sits in the FAILED_SENDS queue;
//! 3. an attempt whose outcome is unknown (the connection broke after the
//!    message may have been accepted, the deadline passed, or the process
//!    died and the lease ran out) is never retried by itself: the order is
//!    SEND_FAILED with a reason that says so, and an admin decides to resend.
//!
//! So a message goes out at most once per send that was asked for.

pub mod graphql;
pub mod mailer;
pub mod message;
pub mod queue;
pub mod worker;

pub use queue::Trigger;
