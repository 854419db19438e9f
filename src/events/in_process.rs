//! The embedded event bus: a tokio broadcast channel inside one process.

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::{BusEvent, EventBus, LOCAL_BUFFER};

pub struct InProcessBus {
    sender: broadcast::Sender<BusEvent>,
}

impl InProcessBus {
    pub fn new() -> Self {
        Self { sender: broadcast::channel(LOCAL_BUFFER).0 }
    }
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, payload: &str) -> anyhow::Result<()> {
        // No receiver is not an error: nobody is listening right now.
        let _ = self.sender.send(BusEvent::Message(payload.into()));
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<BusEvent> {
        self.sender.subscribe()
    }

    async fn check(&self) -> anyhow::Result<()> {
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "in-process"
    }
}
