//! What operators read on `/metrics` (issue 8): request latency by
//! operation name, errors by code, events relayed and relay lag, statements
//! run for requests, and the request pool.

mod common;

use std::time::Duration;

use common::{Backend, TestApp, spawn_app_with};
use serde_json::json;

backend_tests!(
    requests_errors_events_and_the_pool_are_measured,
    operation_names_cannot_grow_the_registry,
    validations_are_reused_only_for_what_passed,
    the_default_pool_follows_a_local_databases_cores,
);

const METRICS_TOKEN: &str = "metrics-token-for-the-tests-0123456789";

async fn app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |raw| {
        raw.metrics_token = Some(METRICS_TOKEN.into());
        raw.database_pool = Some("3".into());
    })
    .await
}

async fn requests_errors_events_and_the_pool_are_measured(backend: Backend) {
    let app = app(backend).await;
    let boot = app.bootstrap("Acme").await;
    let admin = app.token_for(&boot.admin_user_id);
    let metric = |name: &'static str| app.metric(METRICS_TOKEN, name);

    // Latency by operation name: the named one, the document's only one,
    // the one a multi-operation document was asked for, and anonymous ones.
    let statements_before = metric("workgate_db_statements_total").await;
    for _ in 0..2 {
        app.graphql(Some(&admin), "query Dashboard { orders(first: 5) { totalCount } }", json!({})).await.assert_ok();
    }
    app.graphql(Some(&admin), "{ me { id } }", json!({})).await.assert_ok();
    let two = json!({ "query": "query A { me { id } } query B { me { name } }", "operationName": "B" });
    let answered = app.client.post(app.url("/graphql")).bearer_auth(&admin).json(&two).send().await.expect("answered");
    assert_eq!(answered.status().as_u16(), 200);
    let count = |op: &str| format!("workgate_graphql_request_duration_seconds_count{{operation=\"{op}\"}}");
    assert_eq!(app.metric(METRICS_TOKEN, &count("Dashboard")).await, 2.0);
    assert_eq!(app.metric(METRICS_TOKEN, &count("anonymous")).await, 1.0);
    assert_eq!(app.metric(METRICS_TOKEN, &count("B")).await, 1.0);
    assert_eq!(app.metric(METRICS_TOKEN, &count("A")).await, 0.0);
    assert!(metric("workgate_db_statements_total").await > statements_before, "requests run statements");

    // Errors by code: one in an executed response, one refused before
    // execution (bad credentials), one by the document's validation.
    let too_many = app.graphql(Some(&admin), "{ orders(first: 101) { totalCount } }", json!({})).await;
    assert_eq!(too_many.code(), Some("BAD_USER_INPUT"));
    let refused = app.graphql(Some("not-a-token"), "{ me { id } }", json!({})).await;
    assert_eq!(refused.code(), Some("UNAUTHENTICATED"));
    let invalid = app.graphql(Some(&admin), "{ nothingHere }", json!({})).await;
    assert_eq!(invalid.code(), Some("BAD_USER_INPUT"));
    assert_eq!(metric("workgate_graphql_errors_total{code=\"BAD_USER_INPUT\"}").await, 2.0);
    assert_eq!(metric("workgate_graphql_errors_total{code=\"UNAUTHENTICATED\"}").await, 1.0);

    // An order's creation is an event the relay publishes, with its lag.
    let site = app.create_site(&admin, &boot.account_id, "Plant").await;
    let create = "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id } }";
    let input = json!({ "i": { "kind": "WORK", "title": "Leak", "siteId": site } });
    app.graphql(Some(&admin), create, input).await.assert_ok();
    common::eventually("the event to be relayed", Duration::from_secs(10), || async {
        (metric("workgate_events_relayed_total").await >= 1.0
            && metric("workgate_relay_lag_seconds_count").await >= 1.0)
            .then_some(())
    })
    .await;

    // The request pool: its limit, and connections in use or idle.
    assert_eq!(metric("workgate_db_pool_max").await, 3.0);
    let open = metric("workgate_db_pool_in_use").await + metric("workgate_db_pool_idle").await;
    assert!((1.0..=3.0).contains(&open), "{open} connections open");
}

/// Without `WORKGATE_DATABASE_POOL`, the pool is the configuration's
/// default for the database's URL (twice the cores, 4 to 10, for a
/// PostgreSQL server on this host; 10 otherwise: `config`'s unit tests
/// tell the two apart), and `/metrics` reports it.
async fn the_default_pool_follows_a_local_databases_cores(backend: Backend) {
    let app = spawn_app_with(backend, |raw| {
        raw.metrics_token = Some(METRICS_TOKEN.into());
        raw.database_pool = None;
    })
    .await;
    let expected = workgate::config::default_pool(&app.config.database_url);
    assert_eq!(app.config.database_pool, expected);
    assert_eq!(app.metric(METRICS_TOKEN, "workgate_db_pool_max").await, f64::from(expected));
}

/// Operation names are the clients' to choose; past 200 of them, the rest
/// share one series.
async fn operation_names_cannot_grow_the_registry(backend: Backend) {
    let app = app(backend).await;
    let boot = app.bootstrap("Acme").await;
    let admin = app.token_for(&boot.admin_user_id);
    for n in 0..205 {
        app.graphql(Some(&admin), &format!("query Name{n} {{ me {{ id }} }}"), json!({})).await.assert_ok();
    }
    let text = app.metrics_text(METRICS_TOKEN).await;
    let series = text.lines().filter(|l| l.starts_with("workgate_graphql_request_duration_seconds_count")).count();
    assert_eq!(series, 201, "200 names and `other`");
    let other = "workgate_graphql_request_duration_seconds_count{operation=\"other\"}";
    assert_eq!(app.metric(METRICS_TOKEN, other).await, 5.0);
}

/// A request the same as one that passed validation runs without it
/// (graphql/documents.rs): another order's detail does, a first request, a
/// refused one and one with another page size do not.
async fn validations_are_reused_only_for_what_passed(backend: Backend) {
    let app = app(backend).await;
    let boot = app.bootstrap("Acme").await;
    let admin = app.token_for(&boot.admin_user_id);
    let reused = || app.metric(METRICS_TOKEN, "workgate_graphql_validations_reused_total");
    let detail = "query Detail($id: ID!) { node(id: $id) { id } }";
    let page = "query Page($first: Int!) { orders(first: $first) { totalCount } }";
    let asked = |query: &'static str, variables: serde_json::Value| {
        let admin = admin.clone();
        let app = &app;
        async move { app.graphql(Some(&admin), query, variables).await }
    };

    asked(detail, json!({ "id": boot.admin_user_id })).await.assert_ok();
    assert_eq!(reused().await, 0.0, "a first request is validated");
    asked(detail, json!({ "id": boot.account_id })).await.assert_ok();
    assert_eq!(reused().await, 1.0, "another id: any string");
    let refused = asked(detail, json!({ "id": 1.5 })).await;
    assert_eq!(refused.code(), Some("BAD_USER_INPUT"), "{}", refused.body);
    assert_eq!(reused().await, 1.0, "a number is validated, and refused");
    asked(detail, json!({ "id": boot.organization_id })).await;
    assert_eq!(reused().await, 2.0);

    asked(page, json!({ "first": 5 })).await.assert_ok();
    asked(page, json!({ "first": 6 })).await.assert_ok();
    assert_eq!(reused().await, 2.0, "another page size is validated");
    asked(page, json!({ "first": 5 })).await.assert_ok();
    assert_eq!(reused().await, 3.0);
}
