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

use common::world::{Bind, OrderSpec};
use common::{Backend, TestApp, spawn_app, spawn_app_with};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use workgate::config::{Config, RawConfig};
use workgate::orders::model::OrderKind;
use workgate::org::model::Role;

backend_tests!(
    keys_rotate_by_kid,
    partner_tokens_reach_only_their_vendors_orders,
    partner_tokens_read_only_the_partner_field_set,
    tokens_look_up_only_orders_and_vendors,
    partner_tokens_are_bound_to_a_vendor_the_admin_sees,
    partner_tokens_only_read,
    partner_reads_skip_what_partners_never_read
);

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

    // One k1 token throughout: accepted once, it is kept as verified
    // (`auth::jwt`), and must still stop working when k1 is withdrawn.
    let k1 = token(&user, Some("k1"), "rsa_private.pem");
    assert_eq!(status(&app, &k1).await, StatusCode::OK);
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
    assert_eq!(status(&app, &k1).await, StatusCode::OK);

    // k1 is withdrawn: its tokens stop working (within the second the
    // server takes to look at the file again), the one accepted just
    // before and a new one alike.
    std::fs::write(&jwks, key_set(&[("k2", "rsa2_public.jwk.json")])).expect("written");
    common::eventually("k1 refused", Duration::from_secs(10), async || {
        (status(&app, &k1).await == StatusCode::UNAUTHORIZED).then_some(())
    })
    .await;
    assert_eq!(status(&app, &token(&user, Some("k1"), "rsa_private.pem")).await, StatusCode::UNAUTHORIZED);
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

/// An API token for `vendor` (a partner's) or for no vendor, created by
/// `admin` (a JWT) with `capabilities`.
async fn api_token(app: &TestApp, admin: &str, capabilities: Value, vendor: Option<&str>) -> String {
    let create = "mutation($c: [String!]!, $v: ID) { createApiToken(name: \"t\", capabilities: $c, partnerVendorId: $v) { secret } }";
    let created = app.graphql(Some(admin), create, json!({ "c": capabilities, "v": vendor })).await;
    created.assert_ok()["createApiToken"]["secret"].as_str().expect("secret").to_owned()
}

/// The paths of a response's errors, each with its code.
fn refused(response: &common::GqlResponse) -> Vec<(Value, Value)> {
    let errors = response.body["errors"].as_array().cloned().unwrap_or_default();
    errors.iter().map(|e| (e["path"].clone(), e["extensions"]["code"].clone())).collect()
}

/// Section 6: a partner token reads `Order.{id, number, title, description,
/// kind, status, priority, site.name, dueAt, vendor}` and nothing else: not
/// the site's id, account or tags, not the vendor's scope or settings,
/// whether the order comes alone or in a page; nor can it filter on what it
/// does not read.
async fn partner_tokens_read_only_the_partner_field_set(backend: Backend) {
    let app = spawn_app(backend).await;
    let boot = app.bootstrap("Partners").await;
    let org = boot.organization_id.clone();
    let site = app.site(&org, &boot.account_id, "North").await;
    let ours = app.vendor(&org, None, "CoolCo").await;
    let mut spec = OrderSpec::new(&org, &boot.admin_user_id);
    spec.site = Some(site.clone());
    spec.kind = OrderKind::Part;
    spec.vendor = Some(ours.clone());
    spec.tags = vec!["hvac".into()];
    let routed = app.order(&spec).await;
    let admin = app.token_for(&boot.admin_user_id);
    let partner = api_token(&app, &admin, json!(["orders:read"]), Some(&ours)).await;

    let allowed = "query($id: ID!) { order(id: $id) { id site { name } vendor { id name } } }";
    let response = app.graphql(Some(&partner), allowed, json!({ "id": routed })).await;
    assert_eq!(
        response.assert_ok()["order"],
        json!({ "id": routed, "site": { "name": "North" }, "vendor": { "id": ours, "name": "CoolCo" } })
    );
    let order = |fields: &str| format!("query($id: ID!) {{ order(id: $id) {{ id {fields} }} }}");
    let page = |fields: &str| format!("{{ orders {{ edges {{ node {{ id {fields} }} }} }} }}");
    for (fields, path) in [
        ("site { id name }", json!(["site", "id"])),
        ("site { name account { name } }", json!(["site", "account"])),
        ("site { name tags }", json!(["site", "tags"])),
        ("vendor { name scope { name } }", json!(["vendor", "scope"])),
        ("vendor { name enabled }", json!(["vendor", "enabled"])),
        ("vendor { name requiresApproval manualSend }", json!(["vendor", "requiresApproval"])),
    ] {
        let response = app.graphql(Some(&partner), &order(fields), json!({ "id": routed })).await;
        let mut at = json!(["order"]);
        at.as_array_mut().expect("path").extend(path.as_array().expect("path").iter().cloned());
        assert!(refused(&response).contains(&(at, json!("FORBIDDEN"))), "{fields}: {}", response.body);
        assert_eq!(response.data()["order"]["id"], json!(routed), "{fields}: the rest is answered");
        let response = app.graphql(Some(&partner), &page(fields), json!({})).await;
        let mut at = json!(["orders", "edges", 0, "node"]);
        at.as_array_mut().expect("path").extend(path.as_array().expect("path").iter().cloned());
        assert!(refused(&response).contains(&(at, json!("FORBIDDEN"))), "page {fields}: {}", response.body);
    }
    // A person reads the same fields.
    let all = "site { id name account { name } tags } vendor { id scope { name } enabled requiresApproval manualSend }";
    app.graphql(Some(&admin), &order(all), json!({ "id": routed })).await.assert_ok();
    app.graphql(Some(&admin), &page(all), json!({})).await.assert_ok();

    // Filters on what the partner does not read are refused, naming the field.
    let me = &boot.admin_user_id;
    for (filter, field) in [
        ("tags: [\"hvac\"]".to_owned(), "filter.tags"),
        (format!("ownerId: \"{me}\""), "filter.ownerId"),
        (format!("assigneeId: \"{me}\""), "filter.assigneeId"),
        ("createdAfter: \"2020-01-01T00:00:00Z\"".to_owned(), "filter.createdAfter"),
    ] {
        let query = format!("{{ orders(filter: {{ {filter} }}) {{ totalCount }} }}");
        let response = app.graphql(Some(&partner), &query, json!({})).await;
        assert_eq!(response.code(), Some("FORBIDDEN"), "{filter}: {}", response.body);
        let message = response.body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{filter}: {message}");
        // A person filters on it.
        app.graphql(Some(&admin), &query, json!({})).await.assert_ok();
    }
    let allowed = "query($v: ID) { orders(filter: { status: [OPEN], kind: [PART], vendorId: $v, search: \"\", archived: true }) { totalCount } }";
    app.graphql(Some(&partner), allowed, json!({ "v": ours })).await.assert_ok();
}

/// Section 2: tokens query orders and vendors. They list no sites or
/// assets, and `node` finds them nothing else (NOT_FOUND, as for an id that
/// does not exist).
async fn tokens_look_up_only_orders_and_vendors(backend: Backend) {
    let app = spawn_app(backend).await;
    let boot = app.bootstrap("Lookups").await;
    let org = boot.organization_id.clone();
    let site = app.site(&org, &boot.account_id, "North").await;
    let asset = app.asset(&org, &site, "Boiler", &["hvac"]).await;
    let group = app.site_group(&org, "All", std::slice::from_ref(&site)).await;
    let vendor = app.vendor(&org, None, "CoolCo").await;
    let mut spec = OrderSpec::new(&org, &boot.admin_user_id);
    spec.site = Some(site.clone());
    spec.kind = OrderKind::Part;
    spec.vendor = Some(vendor.clone());
    let order = app.order(&spec).await;
    let admin = app.token_for(&boot.admin_user_id);
    let reader = api_token(&app, &admin, json!(["orders:read", "vendors:read"]), None).await;
    let partner = api_token(&app, &admin, json!(["orders:read"]), Some(&vendor)).await;

    let lists = "{ sites { id } assets { id } }";
    let response = app.graphql(Some(&admin), lists, json!({})).await;
    assert_eq!(response.assert_ok()["sites"], json!([{ "id": site }]), "a person lists them");
    let node = "query($id: ID!) { node(id: $id) { id } }";
    for token in [&reader, &partner] {
        let response = app.graphql(Some(token), lists, json!({})).await;
        assert_eq!(response.assert_ok(), &json!({ "sites": [], "assets": [] }));
        for id in [&site, &asset, &group, &boot.account_id, &boot.admin_user_id] {
            let response = app.graphql(Some(token), node, json!({ "id": id })).await;
            assert_eq!(response.code(), Some("NOT_FOUND"), "{id}: {}", response.body);
            let response = app.graphql(Some(&admin), node, json!({ "id": id })).await;
            assert_eq!(response.assert_ok()["node"]["id"], json!(id), "a person finds {id}");
        }
        for id in [&order, &vendor] {
            let response = app.graphql(Some(token), node, json!({ "id": id })).await;
            assert_eq!(response.assert_ok()["node"]["id"], json!(id));
        }
    }
}

/// A child account's ADMIN binds a partner token only to a vendor they see:
/// the token would read that vendor's orders.
async fn partner_tokens_are_bound_to_a_vendor_the_admin_sees(backend: Backend) {
    let app = spawn_app(backend).await;
    let boot = app.bootstrap("Children").await;
    let org = boot.organization_id.clone();
    let east = app.account(&org, &boot.account_id, "East").await;
    let west = app.account(&org, &boot.account_id, "West").await;
    let eve = app.user(&org, &east, "Eve").await;
    app.grant(&org, &eve, Role::Admin, &Bind::Account).await;
    let eve = app.token_for(&eve);
    let theirs = app.vendor(&org, Some(&west), "WestCo").await;
    let ours = app.vendor(&org, Some(&east), "EastCo").await;
    let create = "mutation($v: ID) { createApiToken(name: \"t\", capabilities: [\"orders:read\"], partnerVendorId: $v) { token { id } } }";
    let response = app.graphql(Some(&eve), create, json!({ "v": theirs })).await;
    assert_eq!(response.code(), Some("BAD_USER_INPUT"), "{}", response.body);
    assert_eq!(response.body["errors"][0]["extensions"]["field"], json!("partnerVendorId"));
    let response = app.graphql(Some(&eve), "{ apiTokens { id } }", json!({})).await;
    assert_eq!(response.assert_ok()["apiTokens"], json!([]), "nothing was written");
    app.graphql(Some(&eve), create, json!({ "v": ours })).await.assert_ok();
}

/// Section 2: a partner token "reads only the orders routed to V". It is
/// given no other capability, and one that holds `orders:write` all the
/// same (issued before this was refused) neither previews routing nor
/// creates orders.
async fn partner_tokens_only_read(backend: Backend) {
    let app = spawn_app(backend).await;
    let boot = app.bootstrap("Readers").await;
    let org = boot.organization_id.clone();
    let site = app.site(&org, &boot.account_id, "North").await;
    let ours = app.vendor(&org, None, "CoolCo").await;
    let admin = app.token_for(&boot.admin_user_id);
    let create = "mutation($c: [String!]!, $v: ID) { createApiToken(name: \"t\", capabilities: $c, partnerVendorId: $v) { secret } }";
    let response = app.graphql(Some(&admin), create, json!({ "c": ["orders:read", "orders:write"], "v": ours })).await;
    assert_eq!(response.code(), Some("BAD_USER_INPUT"), "{}", response.body);
    assert_eq!(response.body["errors"][0]["extensions"]["field"], json!("capabilities[1]"));
    let response = app.graphql(Some(&admin), "{ apiTokens { id } }", json!({})).await;
    assert_eq!(response.assert_ok()["apiTokens"], json!([]), "nothing was written");
    // The same capabilities without a vendor: an ordinary writing token.
    let writer = api_token(&app, &admin, json!(["orders:read", "orders:write"]), None).await;

    let issued = workgate::org::service::issue_api_token(
        &app.db,
        workgate::audit::AuditActor::System,
        workgate::org::service::NewApiToken {
            organization_id: &org,
            account_id: &boot.account_id,
            name: workgate::org::input::Name::parse("name", "old partner").expect("name"),
            capabilities: vec!["orders:read".into(), "orders:write".into()],
            partner_vendor_id: Some(ours.clone()),
            expires_at: None,
            created_by: None,
        },
    )
    .await
    .expect("token issued");
    let input = json!({ "kind": "PART", "title": "Valve", "siteId": site, "onBehalfOf": boot.admin_user_id });
    let preview = "query($i: CreateOrderInput!) { previewVendorResolution(input: $i) { requiresApproval } }";
    let order = "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id } }";
    for query in [preview, order] {
        let response = app.graphql(Some(&issued.secret), query, json!({ "i": input })).await;
        assert_eq!(response.code(), Some("FORBIDDEN"), "{query}: {}", response.body);
        app.graphql(Some(&writer), query, json!({ "i": input })).await.assert_ok();
    }
    let response = app.graphql(Some(&admin), "{ orders { totalCount } }", json!({})).await;
    assert_eq!(response.assert_ok()["orders"]["totalCount"], json!(1), "only the writer's order");
}

/// A partner token's reads load only the orders' rows, with their sites
/// and vendors: its decisions and fields need nothing else (ARCHITECTURE.md,
/// `orders::record::load_for`). An account-wide token's reads still load
/// the tags, assignees and approval steps they answer from.
async fn partner_reads_skip_what_partners_never_read(backend: Backend) {
    let app = spawn_app(backend).await;
    let boot = app.bootstrap("Partners").await;
    let org = boot.organization_id.clone();
    let site = app.site(&org, &boot.account_id, "North").await;
    let vendor = app.vendor(&org, None, "CoolCo").await;
    let tech = app.user(&org, &boot.account_id, "Tom Tech").await;
    let mut spec = OrderSpec::new(&org, &boot.admin_user_id);
    spec.site = Some(site);
    spec.kind = OrderKind::Part;
    spec.vendor = Some(vendor.clone());
    spec.tags = vec!["hvac".into()];
    spec.assignees = vec![tech.clone()];
    spec.designated = vec![tech.clone()];
    let routed = app.order(&spec).await;
    let admin = app.token_for(&boot.admin_user_id);
    let partner = api_token(&app, &admin, json!(["orders:read"]), Some(&vendor)).await;
    let account = api_token(&app, &admin, json!(["orders:read"]), None).await;

    let fields = "id number title status site { name } vendor { id name }";
    let detail = format!("query($id: ID!) {{ order(id: $id) {{ {fields} }} }}");
    let page = format!("{{ orders(first: 10) {{ edges {{ node {{ {fields} }} }} }} }}");
    let expected = json!({ "id": routed, "site": { "name": "North" }, "vendor": { "id": vendor, "name": "CoolCo" } });
    // Each token's first use records it; the statements are counted after.
    let mut costs = Vec::new();
    for token in [&partner, &account] {
        app.graphql(Some(token), &detail, json!({ "id": routed })).await.assert_ok();
        let before = app.statements.get();
        let order = app.graphql(Some(token), &detail, json!({ "id": routed })).await.assert_ok()["order"].clone();
        let between = app.statements.get();
        let listed = app.graphql(Some(token), &page, json!({})).await.assert_ok()["orders"]["edges"].clone();
        let after = app.statements.get();
        for answered in [&order, &listed[0]["node"]] {
            for key in ["id", "site", "vendor"] {
                assert_eq!(answered[key], expected[key], "{key}: {answered}");
            }
        }
        assert_eq!(listed.as_array().map(Vec::len), Some(1));
        costs.push((between - before, after - between));
    }
    let (partner_costs, account_costs) = (costs[0], costs[1]);
    assert_eq!(
        (partner_costs.0 + 1, partner_costs.1 + 1),
        account_costs,
        "the partner's detail and page skip the related facts' statement: {costs:?}"
    );

    // What the account-wide token reads from those facts is there...
    let related = "query($id: ID!) { order(id: $id) { tags assignees { id } } }";
    let answered = app.graphql(Some(&account), related, json!({ "id": routed })).await;
    assert_eq!(answered.assert_ok()["order"], json!({ "tags": ["hvac"], "assignees": [{ "id": tech }] }));
    // ...and the partner is refused it, not answered an empty list.
    let response = app.graphql(Some(&partner), related, json!({ "id": routed })).await;
    let refusals = refused(&response);
    for field in ["tags", "assignees"] {
        assert!(refusals.contains(&(json!(["order", field]), json!("FORBIDDEN"))), "{field}: {}", response.body);
    }
}
