//! `/healthz` answers while the process runs; `/readyz` only while the
//! database and the event bus answer too.

mod common;

use std::time::Duration;

use common::{Backend, spawn_app, spawn_app_with};
use futures::future::join_all;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

backend_tests!(ready_when_database_and_bus_answer, not_ready_without_redis);

async fn ready_when_database_and_bus_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.client.get(app.url("/healthz")).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::OK);

    let response = app.client.get(app.url("/readyz")).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["eventBus"], "ok");
    let expected_bus = if app.config.redis_url.is_some() { "redis" } else { "in-process" };
    assert_eq!(body["eventBusKind"], expected_bus);
    // Every response carries a request id for support and logs.
    assert!(response_has_request_id(&app).await);
}

async fn response_has_request_id(app: &common::TestApp) -> bool {
    let response = app.client.get(app.url("/healthz")).send().await.expect("sent");
    response.headers().get("x-request-id").is_some_and(|v| !v.is_empty())
}

async fn not_ready_without_redis(backend: Backend) {
    // A Redis that is not there: the server still starts (Redis may come
    // back), but it is not ready.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let app = spawn_app_with(backend, |raw| raw.redis_url = Some(format!("redis://127.0.0.1:{port}"))).await;
    let response = app.client.get(app.url("/readyz")).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["eventBus"], "unreachable");
    let response = app.client.get(app.url("/healthz")).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
}

/// PostgreSQL drops every connection of the gateway's (a restart, a
/// failover, an administrator): the pool replaces them. Until it has, a
/// request that meets a dropped connection gets INTERNAL, with nothing of
/// the database's own words; no request hangs, and requests answer again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_when_postgres_drops_its_connections() {
    if !common::postgres_available() {
        return;
    }
    let app = spawn_app(Backend::Postgres).await;
    let boot = app.bootstrap("Acme").await;
    let token = app.token_for(&boot.admin_user_id);
    let burst = || {
        join_all((0..8).map(|_| app.graphql(Some(&token), "{ me { id } orders(first: 5) { totalCount } }", json!({}))))
    };
    // At once, so that the pool holds several connections.
    for response in burst().await {
        response.assert_ok();
    }

    let admin = workgate::db::connect_url(&app.database.url, 1).await.expect("connect");
    let dropped = admin
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        ))
        .await
        .expect("terminate")
        .len();
    assert!(dropped >= 2, "the gateway held connections to drop ({dropped})");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let responses = burst().await;
        let mut answered = 0;
        for response in &responses {
            if response.body.get("errors").is_none() {
                response.assert_ok();
                answered += 1;
                continue;
            }
            assert_eq!(response.code(), Some("INTERNAL"), "{}", response.body);
            let text = response.body.to_string().to_lowercase();
            for word in ["terminat", "sql", "postgres", "connection", "administrator"] {
                assert!(!text.contains(word), "{word:?} leaked: {text}");
            }
        }
        if answered == responses.len() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "requests still fail after the connections were dropped");
    }
}
