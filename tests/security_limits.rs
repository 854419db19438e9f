//! Attacks on what one request may ask of the server (SECURITY.md, "Query
//! limits"): depth, complexity and repeated-field bombs, alias bombs,
//! directive piles, circular fragments, deep nesting, oversized batches and
//! bodies, slow requests; and the schema's exposure in production
//! (introspection for admins only, no field suggestions). Each is refused
//! with `QUERY_TOO_COMPLEX` (or as stated) and nothing runs; the limits
//! leave ordinary dashboard queries alone.

mod common;

use std::time::Duration;

use common::world::{Bind, OrderSpec};
use common::{Backend, TestApp, eventually, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use workgate::graphql::limits::{MAX_ALIASES, MAX_BATCH, MAX_DEPTH, MAX_DIRECTIVES};
use workgate::org::model::Role;

backend_tests!(
    bombs_are_refused_as_too_complex,
    a_document_that_passed_is_checked_again_with_new_variables,
    ordinary_queries_pass_the_limits,
    batches_and_bodies_are_capped,
    a_request_that_runs_too_long_is_stopped,
    production_hides_the_schema_from_all_but_admins,
);

/// The first error's code and message of a refused request.
fn refusal(response: &common::GqlResponse) -> (&str, &str) {
    let error = &response.body["errors"][0];
    (error["extensions"]["code"].as_str().unwrap_or("none"), error["message"].as_str().unwrap_or_default())
}

async fn admin(app: &TestApp) -> (String, workgate::org::service::BootstrapOutcome) {
    let boot = app.bootstrap("Limits").await;
    (app.token_for(&boot.admin_user_id), boot)
}

/// `{ f { f { ... } } }` with `depth` levels of `field`, `leaf` innermost.
fn nested(field: &str, depth: usize, leaf: &str) -> String {
    format!("{}{leaf}{}", format!("{field} {{ ").repeat(depth), " }".repeat(depth))
}

async fn bombs_are_refused_as_too_complex(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, boot) = admin(&app).await;
    let bombs = [
        // Depth: more levels than MAX_DEPTH.
        ("depth", format!("{{ __schema {{ types {{ {} }} }} }}", nested("ofType", MAX_DEPTH, "name"))),
        // Complexity: a full page times many repeated fields.
        ("repeated fields", format!("{{ orders(first: 100) {{ edges {{ node {{ {} }} }} }} }}", "id ".repeat(120))),
        // Complexity without a page size: the default page is assumed.
        ("default page", format!("{{ orders {{ edges {{ node {{ {} }} }} }} }}", "title ".repeat(250))),
        // Aliases: one more than allowed.
        ("aliases", format!("{{ {} }}", (0..=MAX_ALIASES).map(|n| format!("a{n}: __typename ")).collect::<String>())),
        // Directives piled on one field.
        ("directives", format!("{{ __typename {} }}", "@skip(if: false) ".repeat(MAX_DIRECTIVES + 1))),
        // Fragments that spread each other.
        ("fragment cycle", "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }".to_owned()),
        // Nesting deeper than the parser's checks follow.
        ("nesting", format!("{{ {} }}", nested("me", 40, "id"))),
    ];
    for (attack, query) in bombs {
        let response = app.graphql(Some(&token), &query, json!({})).await;
        assert_eq!(refusal(&response).0, "QUERY_TOO_COMPLEX", "{attack}: {}", response.body);
        assert!(response.body.get("data").is_none_or(Value::is_null), "{attack}: nothing ran: {}", response.body);
    }
    // Over the WebSocket the same limits hold.
    let mut ws = common::ws::WsClient::connect(&app.address, &token).await;
    let bomb: String = (0..=MAX_ALIASES).map(|n| format!("a{n}: __typename ")).collect();
    ws.subscribe("bomb", &format!("{{ {bomb} }}"), json!({})).await;
    assert_eq!(ws.refusal_code().await, json!("QUERY_TOO_COMPLEX"));
    // A very deep document is refused too, and the server stays up.
    let abyss = format!("{{ {} }}", nested("me", 20_000, "id"));
    let response = app.graphql(Some(&token), &abyss, json!({})).await;
    assert!(matches!(refusal(&response).0, "QUERY_TOO_COMPLEX" | "BAD_USER_INPUT"), "{}", response.body);
    app.graphql(Some(&token), "{ me { id } }", json!({})).await.assert_ok();
    // Pages larger than 100 are refused, naming the argument.
    let response = app.graphql(Some(&token), "{ orders(first: 101) { totalCount } }", json!({})).await;
    assert_eq!(response.code(), Some("BAD_USER_INPUT"), "{}", response.body);
    assert_eq!(response.body["errors"][0]["extensions"]["field"], json!("first"));
    // Mutations count too: nothing is written by a refused batch of them.
    let aliased: String =
        (0..=MAX_ALIASES).map(|n| format!("a{n}: createSite(name: \"S{n}\", accountId: $a) {{ id }} ")).collect();
    let mutation = format!("mutation($a: ID!) {{ {aliased} }}");
    let response = app.graphql(Some(&token), &mutation, json!({ "a": boot.account_id })).await;
    assert_eq!(refusal(&response).0, "QUERY_TOO_COMPLEX", "{}", response.body);
    let sites = app.graphql(Some(&token), "{ sites { id } }", json!({})).await;
    assert_eq!(sites.assert_ok()["sites"], json!([]), "a refused request writes nothing");
}

/// A request whose document, operation and variables passed validation
/// before skips the document rules (graphql/documents.rs); any other value
/// of a variable is still checked, and complexity still counted, over HTTP
/// and over the WebSocket, and a refused mutation still writes nothing.
async fn a_document_that_passed_is_checked_again_with_new_variables(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, boot) = admin(&app).await;
    let site = app.site(&boot.organization_id, &boot.account_id, "North").await;
    let mut spec = OrderSpec::new(&boot.organization_id, &boot.admin_user_id);
    spec.site = Some(site);
    let order = app.order(&spec).await;
    let refused = |response: &common::GqlResponse, code: &str, what: &str| {
        assert_eq!(refusal(response).0, code, "{what}: {}", response.body);
        assert!(response.body.get("data").is_none_or(Value::is_null), "{what}: nothing ran: {}", response.body);
    };

    let detail = "query Detail($id: ID!) { order(id: $id) { id title } }";
    let data = app.graphql(Some(&token), detail, json!({ "id": order })).await.assert_ok().clone();
    assert_eq!(data["order"]["id"], json!(order));
    let response = app.graphql(Some(&token), detail, json!({ "id": "ord_unknown" })).await;
    assert_eq!(response.code(), Some("NOT_FOUND"), "another id, as any string, passes: {}", response.body);
    assert_eq!(response.body["data"], json!({ "order": null }), "it ran");
    for id in [json!({ "id": order }), json!(1.5), json!(true), json!([order])] {
        let response = app.graphql(Some(&token), detail, json!({ "id": id })).await;
        refused(&response, "BAD_USER_INPUT", &format!("id {id}"));
    }

    // The page size counts in the complexity, whatever passed before.
    let page = format!(
        "query Page($first: Int!) {{ orders(first: $first) {{ edges {{ node {{ {} }} }} }} }}",
        "id ".repeat(120)
    );
    for _ in 0..2 {
        app.graphql(Some(&token), &page, json!({ "first": 1 })).await.assert_ok();
    }
    refused(&app.graphql(Some(&token), &page, json!({ "first": 100 })).await, "QUERY_TOO_COMPLEX", "a full page");
    refused(&app.graphql(Some(&token), &page, json!({ "first": "1" })).await, "BAD_USER_INPUT", "a string");

    // A mutation: two sites created, the third refused, nothing written.
    let create =
        "mutation Create($account: ID!, $name: String!) { createSite(name: $name, accountId: $account) { id } }";
    for name in ["South", "East"] {
        app.graphql(Some(&token), create, json!({ "account": boot.account_id, "name": name })).await.assert_ok();
    }
    let response = app.graphql(Some(&token), create, json!({ "account": boot.account_id, "name": 5 })).await;
    refused(&response, "BAD_USER_INPUT", "a number for a name");
    let sites = app.graphql(Some(&token), "{ sites { name } }", json!({})).await;
    assert_eq!(sites.assert_ok()["sites"].as_array().map(Vec::len), Some(3), "North, South, East: {}", sites.body);

    // Over the WebSocket, which runs through the same engine: refused as
    // a request (an `error` message), not run.
    let mut ws = common::ws::WsClient::connect(&app.address, &token).await;
    for (id, variables, code) in
        [("bad", json!({ "id": { "id": order } }), "BAD_USER_INPUT"), ("float", json!({ "id": 1.5 }), "BAD_USER_INPUT")]
    {
        ws.subscribe(id, detail, variables).await;
        let refused = ws.message().await;
        assert_eq!((&refused["type"], &refused["payload"][0]["extensions"]["code"]), (&json!("error"), &json!(code)));
    }
    ws.subscribe("big", &page, json!({ "first": 100 })).await;
    let refused = ws.message().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX");
}

async fn ordinary_queries_pass_the_limits(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, boot) = admin(&app).await;
    let site = app.site(&boot.organization_id, &boot.account_id, "North").await;
    let tech = app.user(&boot.organization_id, &boot.account_id, "Tina").await;
    app.grant(&boot.organization_id, &tech, Role::Technician, &Bind::Site(site.clone())).await;
    let mut spec = OrderSpec::new(&boot.organization_id, &boot.admin_user_id);
    spec.site = Some(site);
    spec.assignees = vec![tech];
    app.order(&spec).await;
    // A full dashboard page with everything a dashboard shows.
    let dashboard = "{ orders(first: 100, sort: UPDATED_DESC) { totalCount edges { cursor node {
        id number title kind status priority archived dueAt createdAt updatedAt tags estimatedCost
        site { id name } owner { id name } creator { id name } assignees { id name } vendor { id name }
        viewerCan { approve reject resubmit assign start submitForReview closeReview requestRework send
                    resend markFulfilled cancel archive unarchive editDetails overrideVendor addNote
                    addInternalNote logWork requestDeletion delete }
    } } pageInfo { hasNextPage endCursor } } }";
    let data = app.graphql(Some(&token), dashboard, json!({})).await.assert_ok().clone();
    assert_eq!(data["orders"]["totalCount"], json!(1));
    // Exactly MAX_ALIASES aliases, and a batch of MAX_BATCH, are fine.
    let aliases: String = (0..MAX_ALIASES).map(|n| format!("a{n}: __typename ")).collect();
    app.graphql(Some(&token), &format!("{{ {aliases} }}"), json!({})).await.assert_ok();
    let batch: Vec<Value> = (0..MAX_BATCH).map(|_| json!({ "query": "{ me { id } }" })).collect();
    let response = app.client.post(app.url("/graphql")).bearer_auth(&token).json(&batch).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let answers: Vec<Value> = response.json().await.expect("json");
    assert_eq!(answers.len(), MAX_BATCH);
    assert!(answers.iter().all(|a| a["data"]["me"]["id"].is_string()), "{answers:?}");
}

async fn batches_and_bodies_are_capped(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, boot) = admin(&app).await;
    let create = "mutation($n: String!, $a: ID!) { createSite(name: $n, accountId: $a) { id } }";
    let batch: Vec<Value> = (0..=MAX_BATCH)
        .map(|n| json!({ "query": create, "variables": { "n": format!("S{n}"), "a": boot.account_id } }))
        .collect();
    let response = app.client.post(app.url("/graphql")).bearer_auth(&token).json(&batch).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], json!("QUERY_TOO_COMPLEX"), "{body}");
    let sites = app.graphql(Some(&token), "{ sites { id } }", json!({})).await;
    assert_eq!(sites.assert_ok()["sites"], json!([]), "no operation of the batch ran");

    let limit = workgate::http::graphql::max_body_bytes(app.config.max_attachment_bytes);
    let padding = " ".repeat(limit + 1);
    let huge = format!("{{\"query\": \"{{ me {{ id }} }}\"{padding}}}");
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], json!("QUERY_TOO_COMPLEX"), "{body}");
}

async fn a_request_that_runs_too_long_is_stopped(backend: Backend) {
    let app = spawn_app_with(backend, |raw| raw.request_timeout = Some("100ms".into())).await;
    let (token, boot) = admin(&app).await;
    let site = app.site(&boot.organization_id, &boot.account_id, "North").await;
    let mut spec = OrderSpec::new(&boot.organization_id, &boot.admin_user_id);
    spec.site = Some(site);
    let order = app.order(&spec).await;
    let state = "query($id: ID!) { order(id: $id) { version notes { id } history { action } } }";
    let before = app.graphql(Some(&token), state, json!({ "id": order })).await.assert_ok().clone();
    // Another writer holds the order's row (on SQLite, the database's
    // write lock, taken at BEGIN) until the request has been answered, so
    // the note's transaction cannot finish however fast the machine is.
    let blocker = workgate::db::write_txn(&app.db).await.expect("begin");
    blocker
        .execute_unprepared(&format!("UPDATE orders SET title = title WHERE id = '{order}'"))
        .await
        .expect("the order's row held");
    let note = "mutation($id: ID!) { addNote(orderId: $id, body: \"Parts on order\") { id } }";
    // A deadline of the test's own, well inside the HTTP client's and
    // SQLite's busy timeout, so a timeout that did not fire fails here.
    let response =
        tokio::time::timeout(Duration::from_secs(5), app.graphql(Some(&token), note, json!({ "id": order })))
            .await
            .expect("the request was stopped, not left waiting on the held row");
    blocker.rollback().await.expect("released");
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE, "{}", response.body);
    let (code, message) = refusal(&response);
    assert_eq!(code, "QUERY_TOO_COMPLEX", "{}", response.body);
    assert!(message.contains("ran longer than 100ms"), "{message}");
    // Once every connection is back in the pool, whatever the stopped
    // request left running has ended; it wrote nothing.
    eventually("the stopped request's connection back in the pool", Duration::from_secs(5), || async {
        let (open, idle, _) = workgate::db::pool_state(&app.db);
        (open as usize == idle).then_some(())
    })
    .await;
    let after = app.graphql(Some(&token), state, json!({ "id": order })).await.assert_ok().clone();
    assert_eq!(after, before, "the stopped note left the order as it was");
}

const INTROSPECT: &str = "{ __schema { queryType { name } } }";

async fn production_hides_the_schema_from_all_but_admins(backend: Backend) {
    let app = spawn_app_with(backend, |raw| raw.environment = Some("production".into())).await;
    let (token, boot) = admin(&app).await;
    let planner = app.user(&boot.organization_id, &boot.account_id, "Pat").await;
    app.grant(&boot.organization_id, &planner, Role::Planner, &Bind::Account).await;
    let planner = app.token_for(&planner);

    // Admins introspect; others and strangers do not, over HTTP and WebSocket.
    let data = app.graphql(Some(&token), INTROSPECT, json!({})).await;
    assert_eq!(data.assert_ok()["__schema"]["queryType"]["name"], json!("Query"));
    for (who, bearer) in [("planner", Some(planner.as_str())), ("anonymous", None)] {
        for (probe, field) in [(INTROSPECT, "__schema"), ("{ __type(name: \"Order\") { fields { name } } }", "__type")]
        {
            let response = app.graphql(bearer, probe, json!({})).await;
            assert_eq!(response.body["data"][field], Value::Null, "{who}: {probe}: {}", response.body);
        }
    }
    let mut ws = common::ws::WsClient::connect(&app.address, &planner).await;
    ws.subscribe("s", INTROSPECT, json!({})).await;
    let answer = ws.message().await;
    assert_eq!(answer["payload"]["data"]["__schema"], Value::Null, "{answer}");

    // No "Did you mean ...?" for a near-miss field name.
    let response = app.graphql(Some(&planner), "{ ordrs { totalCount } }", json!({})).await;
    let message = refusal(&response).1.to_owned();
    assert!(!message.contains("Did you mean"), "{message}");
    // Outside production the same probe helps a developer.
    let dev = spawn_app(backend).await;
    let (dev_token, _) = admin(&dev).await;
    let response = dev.graphql(Some(&dev_token), "{ ordrs { totalCount } }", json!({})).await;
    assert!(refusal(&response).1.contains("Did you mean"), "{}", response.body);
}
