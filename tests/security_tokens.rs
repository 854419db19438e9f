//! Key rotation (SECURITY.md, "Authentication"): with a JWKS file as
//! `WORKGATE_JWT_PUBLIC_KEY`, tokens name their key by `kid`; a token
//! without one, with an unknown one, or signed by another key than the one
//! it names is refused; a key added to the file works at once and a key
//! taken out stops working, without a restart. A key set that does not fit
//! the pinned algorithm is refused at start-up. A partner token reaches
//! only its vendor's orders, by every way in. (Forged, expired, confused
//! and `alg: none` tokens, API token revocation and expiry are attacked in
//! `tests/security_authentication.rs`.)

mod common;

use std::path::Path;
use std::time::Duration;

use common::world::OrderSpec;
use common::{Backend, TestApp, spawn_app, spawn_app_with};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use workgate::config::{Config, RawConfig};
use workgate::orders::model::OrderKind;

backend_tests!(keys_rotate_by_kid, partner_tokens_reach_only_their_vendors_orders);

fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).expect("fixture")
}

/// A JWKS document of the fixtures' public keys under the given kids.
fn key_set(keys: &[(&str, &str)]) -> String {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(kid, jwk)| {
            let mut key: Value = serde_json::from_str(&fixture(jwk)).expect("jwk");
            key["kid"] = json!(kid);
            key
        })
        .collect();
    json!({ "keys": keys }).to_string()
}

fn token(user: &str, kid: Option<&str>, private_pem: &str) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({ "sub": user, "iss": "workgate", "aud": "workgate", "exp": now + 600, "iat": now });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    let key = EncodingKey::from_rsa_pem(fixture(private_pem).as_bytes()).expect("private key");
    jsonwebtoken::encode(&header, &claims, &key).expect("signed")
}

async fn status(app: &TestApp, token: &str) -> StatusCode {
    app.graphql(Some(token), "{ me { id } }", json!({})).await.status
}

async fn keys_rotate_by_kid(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, key_set(&[("k1", "rsa_public.jwk.json")])).expect("written");
    let path = jwks.display().to_string();
    let app = spawn_app_with(backend, |raw| {
        raw.jwt_secret = None;
        raw.jwt_public_key = Some(path.clone());
        raw.jwt_alg = Some("RS256".into());
    })
    .await;
    let boot = app.bootstrap("Keys").await;
    let user = boot.admin_user_id;

    assert_eq!(status(&app, &token(&user, Some("k1"), "rsa_private.pem")).await, StatusCode::OK);
    for (case, forged) in [
        ("no kid", token(&user, None, "rsa_private.pem")),
        ("unknown kid", token(&user, Some("k2"), "rsa2_private.pem")),
        ("k1 named, another key signed", token(&user, Some("k1"), "rsa2_private.pem")),
    ] {
        assert_eq!(status(&app, &forged).await, StatusCode::UNAUTHORIZED, "{case}");
    }

    // The issuer adds k2: it works at once.
    std::fs::write(&jwks, key_set(&[("k1", "rsa_public.jwk.json"), ("k2", "rsa2_public.jwk.json")])).expect("written");
    assert_eq!(status(&app, &token(&user, Some("k2"), "rsa2_private.pem")).await, StatusCode::OK);
    assert_eq!(status(&app, &token(&user, Some("k1"), "rsa_private.pem")).await, StatusCode::OK);

    // k1 is withdrawn: its tokens stop working (within the second the
    // server takes to look at the file again).
    std::fs::write(&jwks, key_set(&[("k2", "rsa2_public.jwk.json")])).expect("written");
    let old = token(&user, Some("k1"), "rsa_private.pem");
    common::eventually("k1 refused", Duration::from_secs(10), async || {
        (status(&app, &old).await == StatusCode::UNAUTHORIZED).then_some(())
    })
    .await;
    assert_eq!(status(&app, &token(&user, Some("k2"), "rsa2_private.pem")).await, StatusCode::OK);

    // A key set that cannot serve the pinned algorithm stops start-up.
    for (case, text) in [
        (
            "no kid",
            json!({ "keys": [serde_json::from_str::<Value>(&fixture("rsa_public.jwk.json")).expect("jwk")] })
                .to_string(),
        ),
        ("empty", json!({ "keys": [] }).to_string()),
        ("twice the same kid", key_set(&[("k", "rsa_public.jwk.json"), ("k", "rsa2_public.jwk.json")])),
        ("not JSON", "{ nope".to_owned()),
    ] {
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, text).expect("written");
        let raw = RawConfig {
            database_url: Some("sqlite::memory:".into()),
            jwt_public_key: Some(bad.display().to_string()),
            jwt_alg: Some("RS256".into()),
            ..RawConfig::default()
        };
        let refused = Config::from_raw(&raw).expect_err(case);
        assert!(refused.to_string().contains("WORKGATE_JWT_PUBLIC_KEY"), "{case}: {refused}");
    }
    let eddsa = RawConfig {
        database_url: Some("sqlite::memory:".into()),
        jwt_public_key: Some(path),
        jwt_alg: Some("EdDSA".into()),
        ..RawConfig::default()
    };
    assert!(Config::from_raw(&eddsa).is_err(), "RSA keys do not verify EdDSA");
}

async fn partner_tokens_reach_only_their_vendors_orders(backend: Backend) {
    let app = spawn_app(backend).await;
    let boot = app.bootstrap("Partners").await;
    let org = boot.organization_id.clone();
    let site = app.site(&org, &boot.account_id, "North").await;
    let ours = app.vendor(&org, None, "CoolCo").await;
    let theirs = app.vendor(&org, None, "HeatCo").await;
    let mut spec = OrderSpec::new(&org, &boot.admin_user_id);
    spec.site = Some(site);
    spec.kind = OrderKind::Part;
    spec.vendor = Some(ours.clone());
    let routed = app.order(&spec).await;
    spec.vendor = Some(theirs.clone());
    let other = app.order(&spec).await;
    spec.kind = OrderKind::Work;
    spec.vendor = None;
    let unrouted = app.order(&spec).await;
    let admin = app.token_for(&boot.admin_user_id);
    let create = "mutation($v: ID!) { createApiToken(name: \"coolco\", capabilities: [\"orders:read\"], partnerVendorId: $v) { secret } }";
    let created = app.graphql(Some(&admin), create, json!({ "v": ours })).await;
    let partner = created.assert_ok()["createApiToken"]["secret"].as_str().expect("secret").to_owned();

    let list = app.graphql(Some(&partner), "{ orders { edges { node { id } } } }", json!({})).await;
    assert_eq!(list.assert_ok()["orders"]["edges"], json!([{ "node": { "id": routed } }]));
    for id in [&other, &unrouted] {
        for query in ["query($id: ID!) { order(id: $id) { id } }", "query($id: ID!) { node(id: $id) { id } }"] {
            let response = app.graphql(Some(&partner), query, json!({ "id": id })).await;
            assert_eq!(response.code(), Some("NOT_FOUND"), "{query}: {}", response.body);
        }
        let filtered = "query($v: ID!) { orders(filter: { vendorId: $v }) { totalCount } }";
        let response = app.graphql(Some(&partner), filtered, json!({ "v": theirs })).await;
        assert_eq!(response.assert_ok()["orders"]["totalCount"], json!(0));
        let mut ws = common::ws::WsClient::connect(&app.address, &partner).await;
        ws.subscribe("o", "subscription($id: ID!) { orderChanged(id: $id) { kind } }", json!({ "id": id })).await;
        assert_eq!(ws.refusal_code().await, json!("NOT_FOUND"));
    }
    // Nor can it change anything, even its own vendor's orders.
    let note = "mutation($id: ID!) { addNote(orderId: $id, body: \"hi\") { id } }";
    let response = app.graphql(Some(&partner), note, json!({ "id": routed })).await;
    assert!(matches!(response.code(), Some("FORBIDDEN" | "NOT_FOUND")), "{}", response.body);
}
