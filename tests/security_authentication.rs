//! Authentication at the edge: valid JWTs and API tokens become principals;
//! every bad credential is refused with 401 and UNAUTHENTICATED.

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Backend, SECRET, TestApp, spawn_app, spawn_app_with};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use workgate::audit::AuditActor;
use workgate::org::input::Name;
use workgate::org::service;

backend_tests!(
    a_valid_jwt_signs_the_user_in,
    a_token_accepted_before_is_refused_once_it_expires,
    bad_jwts_are_refused,
    inactive_and_unknown_users_are_refused,
    api_tokens_authenticate_until_revoked_or_expired,
    rs256_and_eddsa_keys_verify_their_own_algorithm_only,
);

const ME: &str = "{ me { id name email account { name } } }";

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn sign(claims: &Value, algorithm: Algorithm, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, key).expect("encode")
}

fn hs256(claims: &Value) -> String {
    sign(claims, Algorithm::HS256, &EncodingKey::from_secret(SECRET.as_bytes()))
}

fn claims(sub: &str) -> Value {
    json!({ "sub": sub, "iss": "workgate", "aud": "workgate", "exp": now() + 600, "iat": now() })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().expect("object").remove(key);
    claims
}

async fn assert_refused(app: &TestApp, token: &str, case: &str) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": ME }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
    assert!(response.headers().get(WWW_AUTHENTICATE).is_some(), "{case}: WWW-Authenticate");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{case}: {body}");
    assert!(body.get("data").is_none(), "{case}: no execution");
}

async fn a_valid_jwt_signs_the_user_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let boot = app.bootstrap("Acme").await;
    let response = app.graphql(Some(&app.token_for(&boot.admin_user_id)), ME, json!({})).await;
    let me = &response.assert_ok()["me"];
    assert_eq!(me["id"], boot.admin_user_id);
    assert_eq!(me["name"], "First Admin");
    assert_eq!(me["email"], "admin@acme.example");
    assert_eq!(me["account"]["name"], "Acme");

    // Roles and organization come from the database, not from the token.
    let token = hs256(&with(with(claims(&boot.admin_user_id), "org", json!("org_other")), "roles", json!(["ADMIN"])));
    let response = app.graphql(Some(&token), "{ me { account { id } } }", json!({})).await;
    assert_eq!(response.assert_ok()["me"]["account"]["id"], boot.account_id);

    // A decimal `nbf` (a numeric date may have a fraction), in the past.
    let token = hs256(&with(claims(&boot.admin_user_id), "nbf", json!(now() as f64 - 10.5)));
    let response = app.graphql(Some(&token), "{ me { id } }", json!({})).await;
    assert_eq!(response.assert_ok()["me"]["id"], boot.admin_user_id);

    // No credentials at all is anonymous, not an error of the request.
    let response = app.graphql(None, ME, json!({})).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.code(), Some("UNAUTHENTICATED"));
}

/// A token is verified once and kept (`auth::jwt`), but its `exp` is
/// checked at every use: accepted within the leeway (30 s) after it, then
/// refused once past, as a token never seen before would be (a wait of
/// about ten seconds).
async fn a_token_accepted_before_is_refused_once_it_expires(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.bootstrap("Acme").await.admin_user_id;
    // Expired 20 s ago: accepted for about ten more seconds.
    let token = hs256(&with(claims(&user), "exp", json!(now() - 20)));
    let response = app.graphql(Some(&token), ME, json!({})).await;
    assert_eq!(response.assert_ok()["me"]["id"], user);
    common::eventually("the expired token refused", Duration::from_secs(30), async || {
        let response = app.graphql(Some(&token), ME, json!({})).await;
        (response.status == StatusCode::UNAUTHORIZED).then_some(())
    })
    .await;
    assert_refused(&app, &token, "expired after it was accepted").await;
    // A fresh token of the same user still works.
    let fresh = app.token_for(&user);
    assert_eq!(app.graphql(Some(&fresh), ME, json!({})).await.assert_ok()["me"]["id"], user);
}

async fn bad_jwts_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.bootstrap("Acme").await.admin_user_id;
    let rsa = EncodingKey::from_rsa_pem(include_bytes!("fixtures/rsa_private.pem")).expect("rsa key");

    let good = hs256(&claims(&user));
    let mut tampered = good.clone();
    let last = tampered.pop().expect("non-empty");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims(&user).to_string())
    );

    let cases: Vec<(&str, String)> = vec![
        ("expired", hs256(&with(claims(&user), "exp", json!(now() - 120)))),
        ("not yet valid", hs256(&with(claims(&user), "nbf", json!(now() + 600)))),
        ("wrong issuer", hs256(&with(claims(&user), "iss", json!("someone-else")))),
        ("wrong audience", hs256(&with(claims(&user), "aud", json!("another-api")))),
        ("no exp", hs256(&without(claims(&user), "exp"))),
        ("no iss", hs256(&without(claims(&user), "iss"))),
        ("no aud", hs256(&without(claims(&user), "aud"))),
        ("string-typed exp", hs256(&with(claims(&user), "exp", json!((now() + 600).to_string())))),
        ("string-typed expired exp", hs256(&with(claims(&user), "exp", json!("1")))),
        (
            "wrong secret",
            sign(
                &claims(&user),
                Algorithm::HS256,
                &EncodingKey::from_secret(b"another-secret-another-secret-0123456789"),
            ),
        ),
        ("wrong algorithm HS384", sign(&claims(&user), Algorithm::HS384, &EncodingKey::from_secret(SECRET.as_bytes()))),
        ("wrong algorithm RS256", sign(&claims(&user), Algorithm::RS256, &rsa)),
        ("alg none", unsigned),
        ("tampered signature", tampered),
        ("garbage", "not-a-token".into()),
    ];
    for (case, token) in &cases {
        assert_refused(&app, token, case).await;
    }
    // Not a bearer scheme at all.
    let response = app
        .client
        .post(app.url("/graphql"))
        .basic_auth("user", Some("pw"))
        .json(&json!({ "query": ME }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // And the good one still works.
    app.graphql(Some(&good), ME, json!({})).await.assert_ok();
}

async fn inactive_and_unknown_users_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let boot = app.bootstrap("Acme").await;
    let worker =
        app.create_user(&boot.organization_id, &boot.account_id, "Paper Worker", "worker@acme.example", false).await;
    assert_refused(&app, &app.token_for(&worker), "user without a login").await;
    assert_refused(&app, &app.token_for("usr_0193a4f2c3d47c1b9e0f0a1b2c3d4e5f"), "unknown user").await;

    let user = app.create_user(&boot.organization_id, &boot.account_id, "Leaver", "leaver@acme.example", true).await;
    let token = app.token_for(&user);
    app.graphql(Some(&token), ME, json!({})).await.assert_ok();
    let model = entity::users::Entity::find_by_id(user.as_str()).one(&app.db).await.expect("query").expect("user");
    service::set_user_active(&app.db, AuditActor::System, model, false).await.expect("deactivated");
    // The still-valid token stops working on the very next request.
    assert_refused(&app, &token, "deactivated user").await;
}

async fn api_tokens_authenticate_until_revoked_or_expired(backend: Backend) {
    let app = spawn_app(backend).await;
    let boot = app.bootstrap("Acme").await;
    let issue = |name: &'static str, expires_at: Option<i64>| {
        let (db, org, account) = (app.db.clone(), boot.organization_id.clone(), boot.account_id.clone());
        async move {
            service::issue_api_token(
                &db,
                AuditActor::System,
                service::NewApiToken {
                    organization_id: &org,
                    account_id: &account,
                    name: Name::parse("name", name).expect("name"),
                    capabilities: vec!["orders:read".into()],
                    partner_vendor_id: None,
                    expires_at,
                    created_by: None,
                },
            )
            .await
            .expect("issued")
        }
    };

    let live = issue("erp", None).await;
    assert!(live.secret.starts_with("wg_"));
    assert_eq!(live.token.last_used_at, None);
    // A token is authenticated (it is not UNAUTHENTICATED), but it is not a person.
    let response = app.graphql(Some(&live.secret), "{ me { id } }", json!({})).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.code(), Some("FORBIDDEN"));
    let stored =
        entity::api_tokens::Entity::find_by_id(live.token.id.as_str()).one(&app.db).await.expect("query").expect("row");
    assert!(stored.last_used_at.is_some(), "last use is recorded");
    assert_ne!(stored.secret_hash, live.secret, "only a hash is stored");
    assert!(!format!("{stored:?}").contains(&live.secret[3..]), "no column holds the secret");

    // Unknown, mistyped and malformed secrets.
    let mut typo = live.secret.clone();
    typo.replace_range(10..11, if &typo[10..11] == "a" { "b" } else { "a" });
    assert_refused(&app, &typo, "checksum mismatch").await;
    let other = workgate::auth::api_token::generate().secret;
    assert_refused(&app, &other, "unknown token").await;
    assert_refused(&app, "wg_short", "malformed token").await;

    let expired = issue("old", Some(workgate::time::now_micros() - 1_000_000)).await;
    assert_refused(&app, &expired.secret, "expired API token").await;

    service::revoke_api_token(&app.db, AuditActor::System, live.token).await.expect("revoked");
    assert_refused(&app, &live.secret, "revoked API token").await;
}

async fn rs256_and_eddsa_keys_verify_their_own_algorithm_only(backend: Backend) {
    let rsa_public = include_str!("fixtures/rsa_public.pem");
    let rsa_private = EncodingKey::from_rsa_pem(include_bytes!("fixtures/rsa_private.pem")).expect("rsa key");
    let app = spawn_app_with(backend, |raw| {
        raw.jwt_secret = None;
        raw.jwt_public_key = Some(rsa_public.into());
        raw.jwt_alg = Some("RS256".into());
    })
    .await;
    let user = app.bootstrap("Acme").await.admin_user_id;
    app.graphql(Some(&sign(&claims(&user), Algorithm::RS256, &rsa_private)), ME, json!({})).await.assert_ok();
    // HS/RS confusion: the public key used as an HMAC secret.
    let confused = sign(&claims(&user), Algorithm::HS256, &EncodingKey::from_secret(rsa_public.as_bytes()));
    assert_refused(&app, &confused, "HS256 signed with the RSA public key").await;
    assert_refused(&app, &hs256(&claims(&user)), "HS256 token on an RS256 server").await;

    let ed_public = include_str!("fixtures/ed25519_public.pem");
    let ed_private = EncodingKey::from_ed_pem(include_bytes!("fixtures/ed25519_private.pem")).expect("ed key");
    let app = spawn_app_with(backend, |raw| {
        raw.jwt_secret = None;
        raw.jwt_public_key = Some(ed_public.into());
        raw.jwt_alg = Some("EdDSA".into());
    })
    .await;
    let user = app.bootstrap("Acme").await.admin_user_id;
    app.graphql(Some(&sign(&claims(&user), Algorithm::EdDSA, &ed_private)), ME, json!({})).await.assert_ok();
    assert_refused(&app, &sign(&claims(&user), Algorithm::RS256, &rsa_private), "RS256 token on an EdDSA server").await;
    assert_refused(
        &app,
        &sign(&with(claims(&user), "exp", json!(now() - 120)), Algorithm::EdDSA, &ed_private),
        "expired EdDSA",
    )
    .await;
}
