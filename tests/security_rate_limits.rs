//! Rate limits (SECURITY.md): operations per person or API token, and per
//! client address without credentials; a batch counts its operations, a
//! WebSocket `subscribe` one. Over the limit: 429 `RATE_LIMITED` with
//! `Retry-After`, and nothing of the request runs. The limits here allow
//! a handful of operations an hour, so the test never waits for a refill.

mod common;

use common::ws::WsClient;
use common::{Backend, TestApp, spawn_app_with};
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

backend_tests!(operations_are_limited_per_principal_and_per_address);

/// POSTs `body` (one request or a batch) as the bearer of `token`.
async fn post(app: &TestApp, token: Option<&str>, body: &Value) -> (StatusCode, Option<u64>, Value) {
    let mut request = app.client.post(app.url("/graphql")).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("sent");
    let retry_after = response.headers().get(RETRY_AFTER).map(|v| v.to_str().expect("ascii").parse().expect("secs"));
    (response.status(), retry_after, response.json().await.expect("json"))
}

fn me() -> Value {
    json!({ "query": "{ me { id } }" })
}

fn assert_limited((status, retry_after, body): &(StatusCode, Option<u64>, Value), who: &str) {
    assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS, "{who}: {body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], json!("RATE_LIMITED"), "{who}: {body}");
    // A few an hour: the next one fits within the hour.
    assert!(retry_after.is_some_and(|secs| (1..=3600).contains(&secs)), "{who}: Retry-After {retry_after:?}");
}

async fn operations_are_limited_per_principal_and_per_address(backend: Backend) {
    let app = spawn_app_with(backend, |raw| {
        raw.rate_limit = Some("5/h".into());
        raw.rate_limit_anonymous = Some("3/h".into());
    })
    .await;
    let boot = app.bootstrap("Limited").await;
    let admin = app.token_for(&boot.admin_user_id);
    let other = app.user(&boot.organization_id, &boot.account_id, "Other").await;
    let other = app.token_for(&other);

    // Five operations: two requests and a batch of three.
    for _ in 0..2 {
        assert_eq!(post(&app, Some(&admin), &me()).await.0, StatusCode::OK);
    }
    let (status, _, body) = post(&app, Some(&admin), &json!([me(), me(), me()])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The sixth is refused, and runs nothing.
    let create = json!({ "query": "mutation($a: ID!) { createSite(name: \"Late\", accountId: $a) { id } }", "variables": { "a": boot.account_id } });
    assert_limited(&post(&app, Some(&admin), &create).await, "admin");

    // Another person has an allowance of their own; a batch larger than
    // what is left is refused whole.
    assert_eq!(post(&app, Some(&other), &me()).await.0, StatusCode::OK);
    let batch: Vec<Value> = (0..5).map(|_| me()).collect();
    assert_limited(&post(&app, Some(&other), &json!(batch)).await, "other, batch of five");
    assert_eq!(post(&app, Some(&other), &json!([me(), me(), me(), me()])).await.0, StatusCode::OK, "four fit");

    // A WebSocket `subscribe` counts one, against the same allowance.
    let third = app.user(&boot.organization_id, &boot.account_id, "Third").await;
    let third = app.token_for(&third);
    let mut ws = WsClient::connect(&app.address, &third).await;
    for n in 0..6 {
        ws.subscribe(&format!("s{n}"), "{ me { id } }", json!({})).await;
    }
    let mut refused = Vec::new();
    let mut answered = 0;
    while answered + refused.len() < 6 {
        let message = ws.message().await;
        match message["type"].as_str() {
            Some("next") => answered += 1,
            Some("error") => refused.push(message),
            _ => {}
        }
    }
    assert_eq!(answered, 5);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["payload"][0]["extensions"]["code"], json!("RATE_LIMITED"), "{refused:?}");

    // Without credentials, per address: three, then refused.
    for _ in 0..3 {
        assert_ne!(post(&app, None, &me()).await.0, StatusCode::TOO_MANY_REQUESTS);
    }
    assert_limited(&post(&app, None, &me()).await, "anonymous");
    // Guessing credentials counts against the address too.
    assert_limited(&post(&app, Some("wg_guessed"), &me()).await, "bad credentials");
    // The refused mutation wrote nothing.
    let sites = entity::sites::Entity::find().count(&app.db).await.expect("count");
    assert_eq!(sites, 0, "a refused request runs nothing");
}
