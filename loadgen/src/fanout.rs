//! Fan-out: `subscribers` WebSocket connections of one principal, each
//! watching `orderChanged` of one of up to 100 of its orders (so an event
//! reaches subscribers / 100 of them, while every subscription on the
//! instance is woken and filtered), while the root ADMIN adds PUBLIC notes
//! to those orders at a fixed rate. Latency is from the event's `at` (taken
//! in the change's transaction) to its arrival here.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::drive::{Latency, histogram};
use crate::http::{self, Connection};
use crate::server::Server;

/// Orders watched; each event reaches subscribers / WATCHED subscribers.
const WATCHED: usize = 100;

#[derive(Debug, Serialize)]
pub struct Fanout {
    pub subscribers: usize,
    /// Resident memory added per idle subscriber, in bytes.
    pub bytes_per_idle_subscriber: f64,
    pub events: usize,
    pub event_rate: f64,
    pub deliveries: usize,
    pub expected_deliveries: usize,
    pub latency_ms: Latency,
    /// The server's CPU use over the events, in cores.
    pub server_cpu: f64,
}

/// Event-to-delivery latencies, in microseconds.
type Seen = Arc<Mutex<Vec<i64>>>;

pub async fn run(
    server: &Server,
    token: &str,
    admin: &str,
    orders: &[String],
    subscribers: usize,
    event_rate: f64,
    seconds: f64,
) -> anyhow::Result<Fanout> {
    let watched: Vec<String> = orders.iter().take(WATCHED).cloned().collect();
    let seen: Seen = Arc::default();
    // Changes made before the run's first write (a previous run's last
    // writes, still arriving) are not the run's events.
    let since = Arc::new(AtomicI64::new(i64::MAX));
    let subscribed_before = server.metric("workgate_hub_subscribers").await?;
    let connected_before = server.metric("workgate_ws_connections").await?;
    let rss_before = server.rss();
    let mut sockets = Vec::with_capacity(subscribers);
    for i in 0..subscribers {
        let (host, token, order, seen, since) =
            (server.host.clone(), token.to_owned(), watched[i % watched.len()].clone(), seen.clone(), since.clone());
        sockets.push(tokio::spawn(subscriber(host, token, order, seen, since)));
        if i % 250 == 249 {
            wait_for(server, "workgate_hub_subscribers", |n| n >= subscribed_before + (i + 1) as f64).await?;
        }
    }
    wait_for(server, "workgate_hub_subscribers", |n| n >= subscribed_before + subscribers as f64).await?;
    let bytes_per_idle_subscriber = server.rss().saturating_sub(rss_before) as f64 / subscribers.max(1) as f64;

    // Events at a fixed rate, open loop, each on a connection of its own
    // so that a slow answer does not delay the next.
    let events = (event_rate * seconds).round() as usize;
    let mut writers = Vec::new();
    for _ in 0..8 {
        writers.push(Connection::open(&server.host).await?);
    }
    let writers: Vec<_> = writers.into_iter().map(|c| Arc::new(tokio::sync::Mutex::new(c))).collect();
    let cpu_before = server.cpu();
    let started = Instant::now();
    since.store(workgate::time::now_micros(), Ordering::SeqCst);
    let mut writes = Vec::with_capacity(events);
    for e in 0..events {
        tokio::time::sleep_until(started + Duration::from_secs_f64(e as f64 / event_rate)).await;
        let (writer, admin, order) =
            (writers[e % writers.len()].clone(), admin.to_owned(), watched[e % watched.len()].clone());
        writes.push(tokio::spawn(async move {
            let note = "mutation($id: ID!) { addNote(orderId: $id, body: \"Fan-out\", visibility: PUBLIC) { id } }";
            let response = writer.lock().await.graphql(&admin, http::body(note, &json!({ "id": order }))).await?;
            match http::errors(&response) {
                Some(errors) => bail!("a note was refused: {errors}"),
                None => Ok(()),
            }
        }));
    }
    for write in writes {
        write.await??;
    }
    let per_event = |e: usize| (0..subscribers).filter(|i| i % watched.len() == e % watched.len()).count();
    let expected_deliveries: usize = (0..events).map(per_event).sum();
    let deadline = Instant::now() + Duration::from_secs(60);
    while delivered(&seen) < expected_deliveries && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let server_cpu = (server.cpu() - cpu_before) / started.elapsed().as_secs_f64();
    for socket in sockets {
        socket.abort();
    }
    // The next run is measured once the server has let these go: closing
    // 10,000 connections takes it a while, and a run measured meanwhile
    // was a third slower.
    for (metric, before) in
        [("workgate_ws_connections", connected_before), ("workgate_hub_subscribers", subscribed_before)]
    {
        if let Err(e) = wait_for(server, metric, |n| n <= before).await {
            eprintln!("warning: the runs after this fan-out may be disturbed: {e:#}");
        }
    }
    let mut latencies = histogram();
    let arrived = std::mem::take(&mut *seen.lock().unwrap_or_else(PoisonError::into_inner));
    for micros in &arrived {
        latencies.saturating_record(u64::try_from(*micros).unwrap_or(0).max(1));
    }
    Ok(Fanout {
        subscribers,
        bytes_per_idle_subscriber,
        events,
        event_rate,
        deliveries: arrived.len(),
        expected_deliveries,
        latency_ms: Latency::of(&latencies),
        server_cpu,
    })
}

fn delivered(seen: &Seen) -> usize {
    seen.lock().unwrap_or_else(PoisonError::into_inner).len()
}

/// Waits, up to two minutes, until the server's `metric` passes `test`.
async fn wait_for(server: &Server, metric: &str, test: impl Fn(f64) -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let value = server.metric(metric).await?;
        if test(value) {
            break;
        }
        if Instant::now() > deadline {
            bail!("{metric} stayed at {value}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// One subscriber: connects, subscribes, records each event's latency.
/// Only changes at or after `since` count.
async fn subscriber(
    host: String,
    token: String,
    order: String,
    seen: Seen,
    since: Arc<AtomicI64>,
) -> anyhow::Result<()> {
    let mut request = format!("ws://{host}/graphql/ws").into_client_request()?;
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.context("upgrade")?;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    socket.send(Message::text(init.to_string())).await?;
    let query = "subscription($id: ID!) { orderChanged(id: $id) { cursor at kind } }";
    let subscribe =
        json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": { "id": order } } });
    socket.send(Message::text(subscribe.to_string())).await?;
    while let Some(frame) = socket.next().await {
        let Message::Text(text) = frame? else { continue };
        let arrived = workgate::time::now_micros();
        let message: Value = serde_json::from_str(&text)?;
        match message["type"].as_str() {
            Some("next") => {
                let at = message["payload"]["data"]["orderChanged"]["at"].as_str().context("at")?;
                let at = chrono::DateTime::parse_from_rfc3339(at)?.timestamp_micros();
                if at >= since.load(Ordering::SeqCst) {
                    seen.lock().unwrap_or_else(PoisonError::into_inner).push(arrived - at);
                }
            }
            Some("ping") => socket.send(Message::text(json!({ "type": "pong" }).to_string())).await?,
            Some("connection_ack") => {}
            _ => bail!("unexpected message: {text}"),
        }
    }
    Ok(())
}
