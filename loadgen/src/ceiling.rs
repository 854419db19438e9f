//! The database's own ceiling for a request's work (a dashboard page, an
//! order's detail): the SQL the requests run, captured from a gateway in
//! this process (its request pool records the statements, parameters and
//! all; one request per dashboard view, or per order, that the load cycles
//! through), then issued directly against the database by the same number
//! of connections, each running one request's statements after another as
//! the gateway would (through the gateway's own [`workgate::db::Reads`]:
//! one connection held for the request), the requests in turn, with no
//! HTTP, GraphQL, policy or JSON in between. The gateway's throughput
//! divided by this is its efficiency.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde::Serialize;
use tokio::time::Instant;
use workgate::db::{Reads, StatementCounter};

use crate::drive::{Latency, histogram};
use crate::http;
use crate::server::JWT_SECRET;

#[derive(Debug, Serialize)]
pub struct Ceiling {
    /// Statements one request runs (the requests' average).
    pub statements: f64,
    /// Requests' worth of SQL per second.
    pub throughput: f64,
    pub latency_ms: Latency,
}

/// The statements each request of `query` with one of `variables` runs as
/// the bearer of `token`.
pub async fn capture(
    database_url: &str,
    token: &str,
    query: &str,
    variables: &[serde_json::Value],
) -> anyhow::Result<Vec<Vec<Statement>>> {
    let raw = workgate::config::RawConfig {
        database_url: Some(database_url.to_owned()),
        listen: Some("127.0.0.1:0".into()),
        jwt_secret: Some(JWT_SECRET.into()),
        ..Default::default()
    };
    let config = workgate::config::Config::from_raw(&raw)?;
    let app = workgate::startup::Application::build(config).await?;
    let (state, host) = (app.state().clone(), app.address().to_string());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let recorded = async {
        let mut requests = Vec::with_capacity(variables.len());
        for variables in variables {
            // Once unrecorded, so that nothing cached on first use is
            // missing from later requests' SQL; then recorded.
            http::call(&host, token, query, variables).await?;
            state.statements.record();
            let answered = http::call(&host, token, query, variables).await;
            let statements = state.statements.take();
            answered?;
            if statements.is_empty() {
                bail!("a request ran no statements");
            }
            requests.push(statements);
        }
        Ok(requests)
    }
    .await;
    let _ = stop.send(());
    serving.await??;
    recorded
}

/// Runs the recorded `requests` (each a list of statements) on each of
/// `connections` connections, one after another as fast as they go, for
/// `warmup` then `measure`.
pub async fn replay(
    database_url: &str,
    requests: Vec<Vec<Statement>>,
    connections: usize,
    pool: u32,
    warmup: Duration,
    measure: Duration,
) -> anyhow::Result<Ceiling> {
    let db = workgate::db::connect_url(database_url, pool).await.context("the ceiling's pool")?;
    let statements = requests.iter().map(Vec::len).sum::<usize>() as f64 / requests.len().max(1) as f64;
    let requests = Arc::new(requests);
    let start = Instant::now();
    let (measured_from, end) = (start + warmup, start + warmup + measure);
    let workers: Vec<_> = (0..connections)
        .map(|worker_n| {
            let (db, requests) = (db.clone(), requests.clone());
            tokio::spawn(async move { worker(&db, &requests, worker_n, measured_from, end).await })
        })
        .collect();
    let mut latencies = histogram();
    let mut requests = 0;
    for worker in workers {
        let (tally, count) = worker.await??;
        latencies.add(&tally)?;
        requests += count;
    }
    db.close().await?;
    Ok(Ceiling { statements, throughput: requests as f64 / measure.as_secs_f64(), latency_ms: Latency::of(&latencies) })
}

/// Connection `n` of the replay: the requests in turn, starting at its
/// own.
async fn worker(
    db: &DatabaseConnection,
    views: &[Vec<Statement>],
    n: usize,
    measured_from: Instant,
    end: Instant,
) -> anyhow::Result<(hdrhistogram::Histogram<u64>, u64)> {
    let mut latencies = histogram();
    let mut requests = 0;
    for view in (n..).map(|i| i % views.len()) {
        let began = Instant::now();
        if began >= end {
            break;
        }
        let reads = Reads::new(db, &StatementCounter::default(), true);
        for statement in &views[view] {
            reads.query_all_raw(statement.clone()).await?;
        }
        reads.release().await;
        let done = Instant::now();
        if began >= measured_from && done <= end {
            requests += 1;
            latencies.saturating_record(u64::try_from((done - began).as_micros()).unwrap_or(u64::MAX).max(1));
        }
    }
    Ok((latencies, requests))
}
