//! Internal errors reach the client as "internal error" plus a request id:
//! no SQL, no table or constraint names, no type names.

mod common;

use common::{Backend, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

backend_tests!(broken_database_states_are_masked);

const LEAKS: [&str; 8] = ["SELECT", "select", "sqlite", "postgres", "accounts", "relation", "table", "DbErr"];

fn assert_masked(body: &Value, request_id: &str) {
    let error = &body["errors"][0];
    assert_eq!(error["message"], "internal error", "{body}");
    assert_eq!(error["extensions"]["code"], "INTERNAL");
    assert_eq!(error["extensions"]["requestId"], request_id, "the id the client can quote");
    let text = body.to_string();
    for leak in LEAKS {
        assert!(!text.contains(leak), "response leaks {leak:?}: {text}");
    }
}

async fn post(app: &common::TestApp, token: &str, request_id: &str, query: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .header("x-request-id", request_id)
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("sent");
    (response.status(), response.json().await.expect("json"))
}

async fn broken_database_states_are_masked(backend: Backend) {
    let app = spawn_app(backend).await;
    let boot = app.bootstrap("Acme").await;
    let token = app.token_for(&boot.admin_user_id);
    let site = workgate::org::service::create_site(
        &app.db,
        workgate::audit::AuditActor::System,
        &boot.organization_id,
        &boot.account_id,
        workgate::org::input::Name::parse("name", "Plant").expect("name"),
        &[],
    )
    .await
    .expect("site");
    workgate::org::service::grant_role(
        &app.db,
        workgate::audit::AuditActor::System,
        &boot.organization_id,
        &boot.admin_user_id,
        workgate::org::model::Role::Technician,
        workgate::org::model::ScopeKind::Site,
        &site.id,
    )
    .await
    .expect("granted");
    let query = "{ me { name roleBindings { role site { name } } } }";
    let (status, body) = post(&app, &token, "req-ok", query).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("errors").is_none(), "{body}");

    // A resolver meets a broken table: that field errors, masked, and the
    // rest of the response is intact.
    app.execute_sql("ALTER TABLE sites RENAME TO sites_gone").await;
    let (status, body) = post(&app, &token, "req-test-1", query).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["me"]["name"], "First Admin");
    assert_masked(&body, "req-test-1");
    app.execute_sql("ALTER TABLE sites_gone RENAME TO sites").await;

    // Authentication meets one: the request fails before execution, 500.
    app.execute_sql("ALTER TABLE accounts RENAME TO accounts_gone").await;
    let (status, body) = post(&app, &token, "req-test-2", "{ me { name } }").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.get("data").is_none());
    assert_masked(&body, "req-test-2");
}
