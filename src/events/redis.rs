//! The multi-instance event bus: Redis pub/sub on one channel.
//!
//! Each process holds one Redis subscription, in one listener task, and fans
//! messages out to local receivers through a broadcast channel; it never opens
//! a Redis connection per subscriber. The listener reconnects with backoff
//! and announces every (re)subscription with [`BusEvent::Resync`], because
//! Redis pub/sub is at-most-once. Start-up does not wait for Redis: until it is
//! reachable, `check` fails and `/readyz` says so.

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use futures::StreamExt;
use redis::aio::MultiplexedConnection;
use redis::io::tcp::TcpSettings;
use redis::{AsyncCommands, IntoConnectionInfo};
use tokio::sync::{Mutex, broadcast};
use tokio::task::JoinHandle;

use super::{BusEvent, EventBus, LOCAL_BUFFER};

const MAX_BACKOFF: Duration = Duration::from_secs(5);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

pub struct RedisBus {
    client: redis::Client,
    channel: String,
    publisher: Mutex<Option<MultiplexedConnection>>,
    sender: broadcast::Sender<BusEvent>,
    listener: JoinHandle<()>,
}

impl RedisBus {
    /// Validates the URL and starts the listener task; does not wait for
    /// Redis to answer.
    pub fn start(url: &str, channel: &str) -> anyhow::Result<Self> {
        // Commands and replies are small writes: without TCP_NODELAY, one
        // written while the last is unacknowledged waits for the peer's
        // delayed ACK (up to 40 ms on Linux).
        let info = url
            .into_connection_info()
            .context("WORKGATE_REDIS_URL is not a valid Redis URL")?
            .set_tcp_settings(TcpSettings::default().set_nodelay(true));
        let client = redis::Client::open(info).context("WORKGATE_REDIS_URL is not a valid Redis URL")?;
        let sender = broadcast::channel(LOCAL_BUFFER).0;
        let listener = tokio::spawn(listen(client.clone(), channel.to_owned(), sender.clone()));
        Ok(Self { client, channel: channel.to_owned(), publisher: Mutex::new(None), sender, listener })
    }

    /// The shared publishing connection, connecting on first use and after a
    /// failure. The lock serialises reconnects.
    async fn connection(&self) -> anyhow::Result<MultiplexedConnection> {
        let mut slot = self.publisher.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        let conn = tokio::time::timeout(COMMAND_TIMEOUT, self.client.get_multiplexed_async_connection())
            .await
            .context("connecting to Redis timed out")??;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    async fn forget_connection(&self) {
        *self.publisher.lock().await = None;
    }

    async fn with_connection<T, F, Fut>(&self, op: F) -> anyhow::Result<T>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let conn = self.connection().await?;
        match tokio::time::timeout(COMMAND_TIMEOUT, op(conn)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                self.forget_connection().await;
                Err(e.into())
            }
            Err(_) => {
                self.forget_connection().await;
                anyhow::bail!("Redis did not answer within {COMMAND_TIMEOUT:?}")
            }
        }
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

#[async_trait]
impl EventBus for RedisBus {
    async fn publish(&self, payload: &str) -> anyhow::Result<()> {
        let channel = self.channel.clone();
        let payload = payload.to_owned();
        self.with_connection(|mut conn| async move { conn.publish::<_, _, i64>(channel, payload).await })
            .await
            .map(|_receivers| ())
    }

    fn subscribe(&self) -> broadcast::Receiver<BusEvent> {
        self.sender.subscribe()
    }

    async fn check(&self) -> anyhow::Result<()> {
        self.with_connection(|mut conn| async move { redis::cmd("PING").query_async::<String>(&mut conn).await })
            .await
            .map(|_pong| ())
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}

/// The listener task: subscribe, forward, and on any failure back off and
/// subscribe again.
async fn listen(client: redis::Client, channel: String, sender: broadcast::Sender<BusEvent>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match subscribe(&client, &channel).await {
            Ok(mut pubsub) => {
                backoff = Duration::from_millis(100);
                tracing::info!(channel, "subscribed to Redis event channel");
                let _ = sender.send(BusEvent::Resync);
                let mut messages = pubsub.on_message();
                while let Some(msg) = messages.next().await {
                    match msg.get_payload::<String>() {
                        Ok(payload) => {
                            let _ = sender.send(BusEvent::Message(payload.into()));
                        }
                        Err(e) => tracing::warn!(error = %e, "ignoring a non-text Redis message"),
                    }
                }
                tracing::warn!(channel, "Redis subscription ended; reconnecting");
            }
            Err(e) => tracing::warn!(error = format!("{e:#}"), ?backoff, "Redis subscription failed; retrying"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn subscribe(client: &redis::Client, channel: &str) -> anyhow::Result<redis::aio::PubSub> {
    let mut pubsub = tokio::time::timeout(COMMAND_TIMEOUT, client.get_async_pubsub())
        .await
        .context("connecting to Redis timed out")??;
    pubsub.subscribe(channel).await?;
    Ok(pubsub)
}
