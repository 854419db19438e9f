//! The event bus that carries committed order events to every gateway
//! instance. One trait, two implementations chosen by configuration: an
//! in-process broadcast (one instance, nothing installed) and Redis pub/sub
//! (one listener task per process, fanned out locally).
//!
//! The bus is a fast path, not the record: events are written to the database
//! with the change that caused them, and a [`BusEvent::Resync`] tells
//! consumers that messages may have been lost (a Redis reconnect), so they
//! read what they missed from the database.

pub mod hub;
pub mod in_process;
pub mod redis;
pub mod relay;
pub mod wire;

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::broadcast;

/// Buffered messages per local receiver before it lags.
pub const LOCAL_BUFFER: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusEvent {
    /// One serialized event, exactly as published.
    Message(Arc<str>),
    /// Messages may have been missed; catch up from the database.
    Resync,
}

#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Publishes a serialized event to every instance (this one included).
    async fn publish(&self, payload: &str) -> anyhow::Result<()>;
    /// A local receiver of everything published from now on.
    fn subscribe(&self) -> broadcast::Receiver<BusEvent>;
    /// Fails when the bus cannot currently deliver (readiness).
    async fn check(&self) -> anyhow::Result<()>;
    /// A short name for logs and `/readyz`.
    fn kind(&self) -> &'static str;
}

/// Builds the bus the configuration asks for.
pub fn from_config(redis_url: Option<&str>, channel: &str) -> anyhow::Result<Arc<dyn EventBus>> {
    Ok(match redis_url {
        Some(url) => Arc::new(redis::RedisBus::start(url, channel)?),
        None => Arc::new(in_process::InProcessBus::new()),
    })
}
