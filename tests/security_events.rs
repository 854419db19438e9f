//! Security events (SECURITY.md, "Refused mutations"): every mutation the
//! policy refuses an authenticated principal is logged under the target
//! `workgate::security` with the principal, the action, the code and the
//! reason; nothing is written to the audit table of changes; allowed
//! mutations and refused queries log no such event.

mod common;

use std::io::Write;
use std::sync::{Mutex, Once, PoisonError};

use common::world::{Bind, OrderSpec};
use common::{Backend, spawn_app};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use workgate::org::model::Role;

backend_tests!(refused_mutations_are_logged_as_security_events);

/// Every security event the process logged, as JSON lines.
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing_subscriber::fmt().json().with_env_filter("workgate::security=warn").with_writer(|| Capture).init();
    });
}

/// The security events of `organization` logged so far: their fields.
fn events(organization: &str) -> Vec<Value> {
    let log = LOG.lock().unwrap_or_else(PoisonError::into_inner);
    String::from_utf8_lossy(&log)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == "workgate::security" && line["fields"]["organization"] == organization)
        .map(|line| line["fields"].clone())
        .collect()
}

async fn refused_mutations_are_logged_as_security_events(backend: Backend) {
    capture();
    let app = spawn_app(backend).await;
    let boot = app.bootstrap("Events").await;
    let org = boot.organization_id.clone();
    let north = app.site(&org, &boot.account_id, "North").await;
    let south = app.site(&org, &boot.account_id, "South").await;
    let tech = app.user(&org, &boot.account_id, "Tina").await;
    app.grant(&org, &tech, Role::Technician, &Bind::Site(north.clone())).await;
    let mut spec = OrderSpec::new(&org, &boot.admin_user_id);
    spec.site = Some(north);
    let visible = app.order(&spec).await;
    spec.site = Some(south);
    let elsewhere = app.order(&spec).await;
    let audit_before = entity::audit_events::Entity::find().count(&app.db).await.expect("count");

    let as_tech = app.token_for(&tech);
    let delete = "mutation($id: ID!) { deleteOrder(id: $id, reason: \"mine now\") }";
    let refused = app.graphql(Some(&as_tech), delete, json!({ "id": visible })).await;
    assert_eq!(refused.code(), Some("FORBIDDEN"), "{}", refused.body);
    let probe = "mutation($id: ID!) { editOrder(id: $id, version: 1, input: { title: \"x\" }) { id } }";
    let refused = app.graphql(Some(&as_tech), probe, json!({ "id": elsewhere })).await;
    assert_eq!(refused.code(), Some("NOT_FOUND"), "{}", refused.body);
    let admin = app.token_for(&boot.admin_user_id);
    let created = app
        .graphql(
            Some(&admin),
            "mutation { createApiToken(name: \"erp\", capabilities: [\"orders:read\"]) { secret } }",
            json!({}),
        )
        .await;
    let secret = created.assert_ok()["createApiToken"]["secret"].as_str().expect("secret").to_owned();
    let site = "mutation($a: ID!) { createSite(name: \"Forged\", accountId: $a) { id } }";
    let refused = app.graphql(Some(&secret), site, json!({ "a": boot.account_id })).await;
    assert_eq!(refused.code(), Some("FORBIDDEN"), "{}", refused.body);
    // Not security events: a refused query, an allowed mutation.
    let query = app.graphql(Some(&as_tech), "{ order(id: \"ord_nope\") { id } }", json!({})).await;
    assert_eq!(query.code(), Some("NOT_FOUND"));
    app.graphql(Some(&admin), site, json!({ "a": boot.account_id })).await.assert_ok();

    let logged = events(&org);
    let summary: Vec<(&str, &str, &str, &str)> = logged
        .iter()
        .map(|e| {
            let field = |name: &str| e[name].as_str().unwrap_or_default();
            (field("principal_kind"), field("principal"), field("action"), field("code"))
        })
        .collect();
    let token_id = logged.iter().find(|e| e["principal_kind"] == "api_token").map(|e| e["principal"].clone());
    assert!(token_id.as_ref().and_then(Value::as_str).is_some_and(|id| id.starts_with("tok_")), "{logged:?}");
    assert_eq!(
        summary,
        vec![
            ("user", tech.as_str(), "deleteOrder", "FORBIDDEN"),
            ("user", tech.as_str(), "editOrder", "NOT_FOUND"),
            ("api_token", token_id.as_ref().and_then(Value::as_str).unwrap_or_default(), "createSite", "FORBIDDEN"),
        ],
        "{logged:?}"
    );
    assert!(logged.iter().all(|e| e["reason"].as_str().is_some_and(|r| !r.is_empty())), "{logged:?}");
    let audit_after = entity::audit_events::Entity::find().count(&app.db).await.expect("count");
    assert_eq!(audit_after, audit_before + 2, "the audit table has the token and the site created, no refusals");
}
