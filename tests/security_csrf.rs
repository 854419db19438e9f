//! Cross-site request forgery and origins (SECURITY.md, "CSRF"): a page of
//! another origin can neither open a WebSocket nor call the API, CORS
//! grants only the allowed origins, and the browser's forms cannot reach
//! a mutation (text/plain and form POSTs, GET mutations).

mod common;

use common::{Backend, TestApp, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use reqwest::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CONTENT_TYPE, ORIGIN};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

backend_tests!(
    websockets_open_only_from_allowed_origins,
    pages_of_other_origins_cannot_call_the_api,
    forms_and_get_cannot_run_mutations,
);

const PARTNER_PAGE: &str = "https://dashboard.partner.example";
const EVIL_PAGE: &str = "https://evil.example";

/// The HTTP status of a WebSocket upgrade sent with `origin` (101 when it
/// opened).
async fn upgrade_status(app: &TestApp, origin: Option<&str>) -> u16 {
    let url = app.url("/graphql/ws").replacen("http", "ws", 1);
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().expect("header"));
    if let Some(origin) = origin {
        request.headers_mut().insert("Origin", origin.parse().expect("header"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("upgrade failed: {e}"),
    }
}

async fn websockets_open_only_from_allowed_origins(backend: Backend) {
    let app =
        spawn_app_with(backend, |raw| raw.allowed_origins = Some(format!("{PARTNER_PAGE}, http://localhost:3000")))
            .await;
    let own = app.address.clone();
    assert_eq!(upgrade_status(&app, Some(EVIL_PAGE)).await, 403, "another site's page");
    assert_eq!(upgrade_status(&app, Some("null")).await, 403, "a sandboxed page");
    assert_eq!(upgrade_status(&app, Some("https://dashboard.partner.example.evil.example")).await, 403);
    assert_eq!(upgrade_status(&app, Some(PARTNER_PAGE)).await, 101, "an allowed origin");
    assert_eq!(upgrade_status(&app, Some(&own)).await, 101, "the server's own pages");
    assert_eq!(upgrade_status(&app, None).await, 101, "programs and apps send no Origin");

    // Without a list, only the server's own origin.
    let strict = spawn_app(backend).await;
    assert_eq!(upgrade_status(&strict, Some(PARTNER_PAGE)).await, 403);
    assert_eq!(upgrade_status(&strict, Some(&strict.address)).await, 101);
}

async fn pages_of_other_origins_cannot_call_the_api(backend: Backend) {
    let app = spawn_app_with(backend, |raw| raw.allowed_origins = Some(PARTNER_PAGE.into())).await;
    let boot = app.bootstrap("Csrf").await;
    let token = app.token_for(&boot.admin_user_id);
    let create = json!({ "query": "mutation($a: ID!) { createSite(name: \"Forged\", accountId: $a) { id } }", "variables": { "a": boot.account_id } });

    // A forged call from another site's page is refused and writes nothing.
    let response =
        app.client.post(app.url("/graphql")).bearer_auth(&token).header(ORIGIN, EVIL_PAGE).json(&create).send().await;
    let response = response.expect("sent");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], json!("FORBIDDEN"), "{body}");
    let sites = app.graphql(Some(&token), "{ sites { name } }", json!({})).await;
    assert_eq!(sites.assert_ok()["sites"], json!([]));

    // CORS: the preflight grants the allowed origin, not another.
    for (origin, granted) in [(PARTNER_PAGE, true), (EVIL_PAGE, false)] {
        let preflight = app
            .client
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header(ORIGIN, origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "authorization, content-type")
            .send()
            .await
            .expect("sent");
        let allow = preflight.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).map(|v| v.to_str().expect("ascii").to_owned());
        assert_eq!(allow, granted.then(|| origin.to_owned()), "{origin}");
    }
    // The allowed page's own call goes through, with its CORS header.
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .header(ORIGIN, PARTNER_PAGE)
        .json(&json!({ "query": "{ me { name } }" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).expect("granted"), PARTNER_PAGE);
}

async fn forms_and_get_cannot_run_mutations(backend: Backend) {
    let app = spawn_app(backend).await;
    let boot = app.bootstrap("Forms").await;
    let token = app.token_for(&boot.admin_user_id);
    let mutation = format!("mutation {{ createSite(name: \"Forged\", accountId: \"{}\") {{ id }} }}", boot.account_id);
    let body = json!({ "query": mutation }).to_string();
    // What an HTML form or a no-CORS fetch can send without a preflight.
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .bearer_auth(&token)
            .header(CONTENT_TYPE, content_type)
            .body(body.clone())
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type}");
    }
    let response = app
        .client
        .get(app.url("/graphql"))
        .bearer_auth(&token)
        .query(&[("query", mutation.as_str())])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let sites = app.graphql(Some(&token), "{ sites { name } }", json!({})).await;
    assert_eq!(sites.assert_ok()["sites"], json!([]), "nothing was written");
}
