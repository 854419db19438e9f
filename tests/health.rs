//! `/healthz` answers while the process runs; `/readyz` only while the
//! database and the event bus answer too.

mod common;

use common::{Backend, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use serde_json::Value;

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
