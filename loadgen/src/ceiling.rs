//! The database's own ceiling for a dashboard request's work: the SQL one
//! request runs, captured from a gateway in this process (its request pool
//! records the statements, parameters and all), then issued directly
//! against the database by the same number of connections, each running
//! the statements one after another as the gateway would, with no HTTP,
//! GraphQL, policy or JSON in between. The gateway's throughput divided by
//! this is its efficiency.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde::Serialize;
use tokio::time::Instant;

use crate::drive::{Latency, histogram};
use crate::http;
use crate::server::JWT_SECRET;

#[derive(Debug, Serialize)]
pub struct Ceiling {
    /// Statements one dashboard request runs.
    pub statements: usize,
    /// Dashboard requests' worth of SQL per second.
    pub throughput: f64,
    pub latency_ms: Latency,
}

/// The statements one request of `body` runs as the bearer of `token`.
pub async fn capture(
    database_url: &str,
    token: &str,
    query: &str,
    variables: &serde_json::Value,
) -> anyhow::Result<Vec<Statement>> {
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
    // Once unrecorded, so that nothing cached on first use is missing from
    // later requests' SQL; then recorded.
    http::call(&host, token, query, variables).await?;
    state.statements.record();
    let answered = http::call(&host, token, query, variables).await;
    let statements = state.statements.take();
    let _ = stop.send(());
    serving.await??;
    answered?;
    if statements.is_empty() {
        bail!("the request ran no statements");
    }
    Ok(statements)
}

/// Runs `statements` in turn on each of `connections` connections, as fast
/// as they go, for `warmup` then `measure`.
pub async fn replay(
    database_url: &str,
    statements: Vec<Statement>,
    connections: usize,
    pool: u32,
    warmup: Duration,
    measure: Duration,
) -> anyhow::Result<Ceiling> {
    let db = workgate::db::connect_url(database_url, pool).await.context("the ceiling's pool")?;
    let statements = Arc::new(statements);
    let start = Instant::now();
    let (measured_from, end) = (start + warmup, start + warmup + measure);
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (db, statements) = (db.clone(), statements.clone());
            tokio::spawn(async move { worker(&db, &statements, measured_from, end).await })
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
    Ok(Ceiling {
        statements: statements.len(),
        throughput: requests as f64 / measure.as_secs_f64(),
        latency_ms: Latency::of(&latencies),
    })
}

async fn worker(
    db: &DatabaseConnection,
    statements: &[Statement],
    measured_from: Instant,
    end: Instant,
) -> anyhow::Result<(hdrhistogram::Histogram<u64>, u64)> {
    let mut latencies = histogram();
    let mut requests = 0;
    loop {
        let began = Instant::now();
        if began >= end {
            break;
        }
        for statement in statements {
            db.query_all_raw(statement.clone()).await?;
        }
        let done = Instant::now();
        if began >= measured_from && done <= end {
            requests += 1;
            latencies.saturating_record(u64::try_from((done - began).as_micros()).unwrap_or(u64::MAX).max(1));
        }
    }
    Ok((latencies, requests))
}
