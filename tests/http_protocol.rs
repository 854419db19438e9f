//! GraphQL over HTTP as its spec says: media types, status codes, content
//! types, GET rules, and an `extensions.code` on every error.

mod common;

use common::{Backend, TestApp, spawn_app};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use serde_json::{Value, json};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

backend_tests!(
    answers_in_the_media_type_accept_asks_for,
    refuses_bodies_that_are_not_json,
    malformed_and_invalid_requests,
    get_runs_queries_but_never_mutations,
    get_serves_graphiql_to_browsers,
    batches_run_each_operation,
    large_responses_arrive_whole_with_their_length,
    texts_of_every_kind_arrive_as_written,
);

async fn signed_in(app: &TestApp) -> String {
    let boot = app.bootstrap("Acme").await;
    app.token_for(&boot.admin_user_id)
}

async fn post_raw(
    app: &TestApp,
    accept: Option<&str>,
    content_type: Option<&str>,
    body: &str,
) -> (StatusCode, Option<String>, Value) {
    let mut request = app.client.post(app.url("/graphql")).body(body.to_owned());
    if let Some(accept) = accept {
        request = request.header(ACCEPT, accept);
    }
    if let Some(content_type) = content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    let response = request.send().await.expect("sent");
    let status = response.status();
    let media = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let text = response.text().await.expect("body");
    (status, media, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn media_essence(media: &Option<String>) -> &str {
    media.as_deref().and_then(|m| m.split(';').next()).unwrap_or_default()
}

async fn answers_in_the_media_type_accept_asks_for(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = json!({ "query": "{ __typename }" }).to_string();
    let json_ct = Some("application/json");

    for (accept, expected) in [
        (None, "application/json"),
        (Some("application/json"), "application/json"),
        (Some("*/*"), "application/json"),
        (Some(GRAPHQL_RESPONSE), GRAPHQL_RESPONSE),
        (Some("application/graphql-response+json, application/json;q=0.9"), GRAPHQL_RESPONSE),
        (Some("application/json, application/graphql-response+json;q=0.5"), "application/json"),
    ] {
        let (status, media, value) = post_raw(&app, accept, json_ct, &body).await;
        assert_eq!(status, StatusCode::OK, "Accept {accept:?}");
        assert_eq!(media_essence(&media), expected, "Accept {accept:?}");
        assert_eq!(value["data"]["__typename"], "Query");
    }

    let (status, _, value) = post_raw(&app, Some("text/html"), json_ct, &body).await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(value["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

async fn refuses_bodies_that_are_not_json(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = signed_in(&app).await;
    let body = json!({ "query": "{ me { id } }" }).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/json; charset=latin1"),
    ] {
        let mut request = app.client.post(app.url("/graphql")).bearer_auth(&token).body(body.clone());
        if let Some(ct) = content_type {
            request = request.header(CONTENT_TYPE, ct);
        }
        let response = request.send().await.expect("sent");
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type {content_type:?}");
        let value: Value = response.json().await.expect("json");
        assert_eq!(value["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert!(value.get("data").is_none());
    }
    // The same request as JSON runs.
    let (status, _, value) = post_raw(
        &app,
        None,
        Some("application/json; charset=utf-8"),
        &json!({ "query": "{ __typename }" }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(value["data"]["__typename"], "Query");
}

async fn malformed_and_invalid_requests(backend: Backend) {
    let app = spawn_app(backend).await;
    let json_ct = Some("application/json");

    // Not JSON, or JSON that is not a GraphQL request: 400 under both media types.
    for body in ["{not json", r#"{"variables": {}}"#, r#"{"query": 42}"#] {
        for accept in [Some("application/json"), Some(GRAPHQL_RESPONSE)] {
            let (status, _, value) = post_raw(&app, accept, json_ct, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body} / {accept:?}");
            assert_eq!(value["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        }
    }

    // A well-formed request whose document does not parse or validate: 200
    // under application/json, 400 under graphql-response+json, no `data`.
    for query in ["{ me { id ", "{ noSuchField }", "query ($n: Int) { __typename }"] {
        let body = json!({ "query": query, "variables": { "n": "not an int" } }).to_string();
        let (status, _, value) = post_raw(&app, Some("application/json"), json_ct, &body).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert!(value.get("data").is_none(), "request errors carry no data: {value}");
        assert_eq!(value["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{value}");

        let (status, media, value) = post_raw(&app, Some(GRAPHQL_RESPONSE), json_ct, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(media_essence(&media), GRAPHQL_RESPONSE);
        assert_eq!(value["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }

    // A field error still executes: 200 with `data` under both media types.
    let body = json!({ "query": "{ me { id } }" }).to_string();
    for accept in ["application/json", GRAPHQL_RESPONSE] {
        let (status, _, value) = post_raw(&app, Some(accept), json_ct, &body).await;
        assert_eq!(status, StatusCode::OK);
        assert!(value.get("data").is_some(), "{value}");
        assert_eq!(value["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        assert_eq!(value["errors"][0]["path"], json!(["me"]));
    }
}

async fn get_runs_queries_but_never_mutations(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = signed_in(&app).await;

    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[
            ("query", "query Who($x: Boolean!) { me @include(if: $x) { name } }"),
            ("variables", r#"{"x": true}"#),
        ])
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let value: Value = response.json().await.expect("json");
    assert_eq!(value["data"]["me"]["name"], "First Admin");

    for (query, operation) in [
        ("mutation { createSite(name: \"x\", accountId: \"y\") { id } }", None),
        ("query A { __typename } mutation B { x }", Some("B")),
    ] {
        let mut params = vec![("query", query)];
        if let Some(op) = operation {
            params.push(("operationName", op));
        }
        let response =
            app.client.get(app.url("/graphql")).query(&params).bearer_auth(&token).send().await.expect("sent");
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{query}");
        assert_eq!(response.headers().get(ALLOW).and_then(|v| v.to_str().ok()), Some("POST"));
        let value: Value = response.json().await.expect("json");
        assert_eq!(value["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }

    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ __typename }"), ("variables", "[1]")])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

async fn get_serves_graphiql_to_browsers(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .client
        .get(app.url("/graphql"))
        .header(ACCEPT, "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    assert!(html.contains("graphiql"), "GraphiQL page expected");

    // Not for programs, and not in production.
    let response = app.client.get(app.url("/graphql")).header(ACCEPT, "application/json").send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let prod = common::spawn_app_with(backend, |raw| raw.environment = Some("production".into())).await;
    let response = prod.client.get(prod.url("/graphql")).header(ACCEPT, "text/html").send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

async fn batches_run_each_operation(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = signed_in(&app).await;
    let body = json!([{ "query": "{ me { name } }" }, { "query": "{ nope }" }]);
    let response = app.client.post(app.url("/graphql")).bearer_auth(&token).json(&body).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let value: Value = response.json().await.expect("json");
    assert_eq!(value[0]["data"]["me"]["name"], "First Admin");
    assert_eq!(value[1]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

/// A response larger than the buffer a body is first written into (64
/// KiB) arrives whole, as JSON, with its exact `content-length` and not
/// chunked transfer coding.
async fn large_responses_arrive_whole_with_their_length(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = signed_in(&app).await;
    let query = "{ __schema { types { name description fields { name description args { name description }
        type { name kind ofType { name kind ofType { name kind } } } } } } }";
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (length, coding) = (header("content-length"), header("transfer-encoding"));
    let text = response.text().await.expect("body");
    assert!(text.len() > 64 * 1024, "a response larger than the first buffer: {} bytes", text.len());
    assert_eq!(length, Some(text.len().to_string()));
    assert_eq!(coding, None);
    let value: Value = serde_json::from_str(&text).expect("JSON");
    assert!(value.get("errors").is_none(), "{text}");
    let types = value["data"]["__schema"]["types"].as_array().expect("types");
    assert!(types.iter().any(|t| t["name"] == "Order"), "{text}");
}

/// What a response writes of a text is the text: quotes, backslashes, line
/// breaks, tabs, the other control characters, the last one of ASCII,
/// accented letters, characters beyond the basic plane and the line
/// separators JavaScript once rejected, alone and in runs longer than a
/// vector register, in a single answer and a page alike. The body is valid
/// JSON with every control character escaped, as RFC 8259 requires.
async fn texts_of_every_kind_arrive_as_written(backend: Backend) {
    let app = spawn_app(backend).await;
    let boot = app.bootstrap("Acme").await;
    let admin = app.token_for(&boot.admin_user_id);
    let site = app.create_site(&admin, &boot.account_id, "Plant").await;
    let awkward: String = [
        "\"quoted\" \\ back\\slash",
        "line\nbreak\r\n\ttab",
        "\u{1}\u{8}\u{c}\u{1f}\u{7f}",
        "é ü ß 漢字",
        "🔧🧰",
        "\u{2028}\u{2029}",
        "</script>",
        &"x\"".repeat(40),
    ]
    .concat();
    let create = "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id description } }";
    let input = json!({ "kind": "WORK", "title": "Valves", "description": awkward, "siteId": site });
    let created = app.graphql(Some(&admin), create, json!({ "i": input })).await;
    let order = created.assert_ok()["createOrder"]["id"].as_str().expect("an order").to_owned();
    assert_eq!(created.data()["createOrder"]["description"], awkward.as_str());
    let note = "mutation($o: ID!, $b: String!) { addNote(orderId: $o, body: $b, visibility: PUBLIC) { id } }";
    app.graphql(Some(&admin), note, json!({ "o": order, "b": awkward })).await.assert_ok();

    for (query, variables) in [
        ("query($o: ID!) { order(id: $o) { description notes { body } } }", json!({ "o": order })),
        ("{ orders(first: 5) { edges { node { description notes { body } } } } }", json!({})),
    ] {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let response = app
            .client
            .post(app.url("/graphql"))
            .bearer_auth(&admin)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .expect("sent");
        let text = response.text().await.expect("a body");
        assert!(!text.chars().any(|c| c < ' '), "an unescaped control character in {text:?}");
        let value: Value = serde_json::from_str(&text).expect("a JSON body");
        let order = if value["data"]["order"].is_null() {
            &value["data"]["orders"]["edges"][0]["node"]
        } else {
            &value["data"]["order"]
        };
        assert_eq!(order["description"], awkward.as_str(), "{text}");
        assert_eq!(order["notes"][0]["body"], awkward.as_str(), "{text}");
    }
}
