//! Drives requests at the server, closed-loop (each connection sends its
//! next request when the last one is answered) or open-loop (requests are
//! due at a fixed rate whatever the answers; a request's latency counts
//! from when it was due, so time spent queued behind slow answers is not
//! hidden), and measures each request's latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::time::Instant;

use crate::http::Connection;

/// How requests arrive.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum Arrivals {
    /// Each connection sends as soon as its last answer arrived.
    Closed,
    /// Requests are due at this many per second, spread over the
    /// connections.
    Open { rate: f64 },
}

/// One request: the bearer token and the body.
pub type Request = (Arc<str>, Bytes);

/// Makes request `n` of connection `worker`.
pub type Workload = Arc<dyn Fn(usize, u64) -> Request + Send + Sync>;

/// What one run measured.
#[derive(Debug, Serialize)]
pub struct Measured {
    /// Requests answered within the measured window.
    pub requests: u64,
    /// Open loop: requests due in the measured window that were never sent,
    /// because every connection was still waiting for earlier answers.
    pub missed: u64,
    /// Of them, answers with GraphQL errors or a failed exchange.
    pub errors: u64,
    /// The first error seen, to say what went wrong.
    pub first_error: Option<String>,
    /// Requests answered over the whole run, warm-up included (the server's
    /// statement count is divided by this).
    pub all_requests: u64,
    pub seconds: f64,
    pub throughput: f64,
    pub latency_ms: Latency,
}

#[derive(Debug, Serialize)]
pub struct Latency {
    pub median: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    /// From a histogram of microseconds.
    pub fn of(histogram: &Histogram<u64>) -> Self {
        let ms = |micros: u64| micros as f64 / 1000.0;
        Self {
            median: ms(histogram.value_at_quantile(0.5)),
            p95: ms(histogram.value_at_quantile(0.95)),
            p99: ms(histogram.value_at_quantile(0.99)),
            max: ms(histogram.max()),
        }
    }
}

/// A histogram of latencies in microseconds, up to a minute.
pub fn histogram() -> Histogram<u64> {
    // Three significant figures; the bounds are constants that are valid.
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|_| unreachable!("valid histogram bounds"))
}

/// One connection's share.
struct Tally {
    latencies: Histogram<u64>,
    requests: u64,
    errors: u64,
    first_error: Option<String>,
    all_requests: u64,
}

/// Runs `workload` on `connections` connections to `host` for `warmup`
/// then `measure`; only the second is measured.
pub async fn run(
    host: &str,
    connections: usize,
    arrivals: Arrivals,
    warmup: Duration,
    measure: Duration,
    workload: Workload,
) -> anyhow::Result<Measured> {
    let mut sockets = Vec::with_capacity(connections);
    for _ in 0..connections {
        sockets.push(Connection::open(host).await?);
    }
    let start = Instant::now();
    let (measured_from, end) = (start + warmup, start + warmup + measure);
    let issued = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(worker, socket)| {
            let (workload, issued) = (workload.clone(), issued.clone());
            tokio::spawn(connection(worker, socket, arrivals, start, measured_from, end, workload, issued))
        })
        .collect();
    let mut latencies = histogram();
    let (mut requests, mut errors, mut all_requests, mut first_error) = (0, 0, 0, None);
    for worker in workers {
        let tally = worker.await?;
        latencies.add(&tally.latencies)?;
        requests += tally.requests;
        errors += tally.errors;
        all_requests += tally.all_requests;
        first_error = first_error.or(tally.first_error);
    }
    let seconds = measure.as_secs_f64();
    let missed = match arrivals {
        Arrivals::Closed => 0,
        Arrivals::Open { rate } => {
            let due = (rate * seconds).round() as u64;
            let due_in_warmup = (rate * warmup.as_secs_f64()).round() as u64;
            (due + due_in_warmup).saturating_sub(all_requests).min(due)
        }
    };
    Ok(Measured {
        requests,
        missed,
        errors,
        first_error,
        all_requests,
        seconds,
        throughput: requests as f64 / seconds,
        latency_ms: Latency::of(&latencies),
    })
}

#[allow(clippy::too_many_arguments)]
async fn connection(
    worker: usize,
    mut socket: Connection,
    arrivals: Arrivals,
    start: Instant,
    measured_from: Instant,
    end: Instant,
    workload: Workload,
    issued: Arc<AtomicU64>,
) -> Tally {
    let mut tally = Tally { latencies: histogram(), requests: 0, errors: 0, first_error: None, all_requests: 0 };
    let mut n = 0;
    loop {
        // When this request is due: now (closed loop), or its place in the
        // fixed schedule (open loop).
        let due = match arrivals {
            Arrivals::Closed => Instant::now(),
            Arrivals::Open { rate } => {
                let k = issued.fetch_add(1, Ordering::Relaxed);
                start + Duration::from_secs_f64(k as f64 / rate)
            }
        };
        // Past the end nothing more is sent, also not the requests an
        // overloaded open-loop run is behind on (they are counted as
        // missed).
        if due >= end || Instant::now() >= end {
            break;
        }
        tokio::time::sleep_until(due).await;
        let (token, body) = workload(worker, n);
        n += 1;
        let outcome = socket.graphql_errors(&token, body).await;
        let done = Instant::now();
        tally.all_requests += 1;
        if outcome.is_err() {
            // The connection may be gone; open another, as a client would.
            match Connection::open(socket.host()).await {
                Ok(fresh) => socket = fresh,
                Err(_) => break,
            }
        }
        // Measured: answered within the window (an overloaded open-loop
        // run's answers arrive late, and their latency says by how much).
        if done < measured_from || done > end {
            continue;
        }
        tally.requests += 1;
        let failure = match &outcome {
            Ok(errors) => errors.clone(),
            Err(e) => Some(format!("{e:#}")),
        };
        if let Some(failure) = failure {
            tally.errors += 1;
            tally.first_error.get_or_insert(failure);
        }
        let micros = u64::try_from((done - due).as_micros()).unwrap_or(u64::MAX);
        tally.latencies.saturating_record(micros.max(1));
    }
    tally
}
