//! Each role's introspection shows only the fields that role can ever use
//! (DOMAIN.md section 6; SECURITY.md, "Schema exposure"): a partner token
//! sees a small schema, a token no people's or money fields, a technician
//! no administration; an admin sees it all. Queries are unchanged: a field
//! left out of introspection still answers `FORBIDDEN`.

mod common;

use std::collections::BTreeSet;

use common::world::{Bind, OrderSpec};
use common::{Backend, TestApp, spawn_app};
use serde_json::{Value, json};
use workgate::org::model::Role;

backend_tests!(introspection_shows_what_the_role_can_ever_use);

const SCHEMA: &str = "{ __schema { types { name fields { name } } } }";

/// Every `Type.field` the bearer's introspection shows.
async fn shown(app: &TestApp, bearer: &str) -> BTreeSet<String> {
    let data = app.graphql(Some(bearer), SCHEMA, json!({})).await.assert_ok().clone();
    let mut shown = BTreeSet::new();
    for ty in data["__schema"]["types"].as_array().expect("types") {
        let name = ty["name"].as_str().expect("name");
        shown.insert(name.to_owned());
        for field in ty["fields"].as_array().into_iter().flatten() {
            shown.insert(format!("{name}.{}", field["name"].as_str().expect("field")));
        }
    }
    shown
}

fn has(shown: &BTreeSet<String>, items: &[&str]) -> Vec<String> {
    items.iter().filter(|i| !shown.contains(**i)).map(|i| format!("missing {i}")).collect()
}

fn lacks(shown: &BTreeSet<String>, items: &[&str]) -> Vec<String> {
    items.iter().filter(|i| shown.contains(**i)).map(|i| format!("shown {i}")).collect()
}

async fn token(app: &TestApp, admin: &str, capabilities: &[&str], partner: Option<&str>) -> String {
    let create = "mutation($c: [String!]!, $v: ID) { createApiToken(name: \"t\", capabilities: $c, partnerVendorId: $v) { secret } }";
    let data = app.graphql(Some(admin), create, json!({ "c": capabilities, "v": partner })).await;
    data.assert_ok()["createApiToken"]["secret"].as_str().expect("secret").to_owned()
}

async fn introspection_shows_what_the_role_can_ever_use(backend: Backend) {
    let app = spawn_app(backend).await;
    let boot = app.bootstrap("Shapes").await;
    let org = boot.organization_id.clone();
    let admin = app.token_for(&boot.admin_user_id);
    let site = app.site(&org, &boot.account_id, "North").await;
    let tech = app.user(&org, &boot.account_id, "Tina").await;
    app.grant(&org, &tech, Role::Technician, &Bind::Site(site.clone())).await;
    let tech = app.token_for(&tech);
    let vendor = app.vendor(&org, None, "CoolCo").await;
    let partner = token(&app, &admin, &["orders:read"], Some(&vendor)).await;
    let reader = token(&app, &admin, &["orders:read"], None).await;
    let writer = token(&app, &admin, &["orders:read", "orders:write"], None).await;

    let everything = shown(&app, &admin).await;
    let mut problems = has(
        &everything,
        &[
            "Mutation.createUser",
            "Mutation.deleteOrder",
            "Query.auditLog",
            "Order.history",
            "Order.costLines",
            "AuditEvent",
        ],
    );

    // A partner token: its vendor's orders, ten fields of them.
    let small = shown(&app, &partner).await;
    problems.extend(has(
        &small,
        &["Query.order", "Query.orders", "Order.title", "Order.status", "Site.name", "Vendor.name"],
    ));
    problems.extend(lacks(
        &small,
        &[
            "Query.me",
            "Query.users",
            "Mutation.createOrder",
            "Mutation.addNote",
            "Order.estimatedCost",
            "Order.creator",
            "Order.notes",
            "Order.viewerCan",
            "User",
            "AuditEvent",
            "CostLine",
            "Note",
            "Account",
        ],
    ));
    let partner_order: BTreeSet<&str> = small.iter().filter_map(|f| f.strip_prefix("Order.")).collect();
    assert_eq!(partner_order, workgate::policy::order::PARTNER_ORDER_FIELDS.into_iter().collect(), "partner's Order");
    let own = |shown: &BTreeSet<String>| shown.iter().filter(|s| !s.starts_with("__")).count();
    assert!(own(&small) * 4 < own(&everything), "a small schema: {} of {}: {small:?}", own(&small), own(&everything));

    // Other tokens: orders and vendors, no people's or money fields;
    // createOrder only with orders:write.
    let read_only = shown(&app, &reader).await;
    problems.extend(has(&read_only, &["Query.orders", "Query.vendors", "Order.estimatedCost", "Order.notes"]));
    problems.extend(lacks(
        &read_only,
        &["Mutation.createOrder", "Mutation.assign", "Query.me", "Order.costLines", "Order.history", "User.email"],
    ));
    problems.extend(has(&shown(&app, &writer).await, &["Mutation.createOrder"]));

    // A technician: the work, not the administration.
    let work = shown(&app, &tech).await;
    problems.extend(has(
        &work,
        &[
            "Mutation.createOrder",
            "Mutation.start",
            "Mutation.addNote",
            "Query.orderStats",
            "Order.costLines",
            "User.email",
        ],
    ));
    problems.extend(lacks(
        &work,
        &[
            "Mutation.createUser",
            "Mutation.grantRole",
            "Mutation.deleteOrder",
            "Mutation.archive",
            "Mutation.createVendor",
            "Query.auditLog",
            "Query.explainAccess",
            "Query.rules",
            "Order.history",
            "Vendor.contactEmails",
        ],
    ));
    assert!(problems.is_empty(), "{problems:#?}");

    // `__type` of a type the partner never reaches is null; of one it
    // reaches, trimmed.
    let data = app
        .graphql(
            Some(&partner),
            "{ u: __type(name: \"User\") { name } o: __type(name: \"Order\") { fields { name } } }",
            json!({}),
        )
        .await
        .assert_ok()
        .clone();
    assert_eq!(data["u"], Value::Null);
    assert_eq!(data["o"]["fields"].as_array().map(Vec::len), Some(workgate::policy::order::PARTNER_ORDER_FIELDS.len()));

    // Queries are unchanged: a field left out still answers FORBIDDEN.
    let mut spec = OrderSpec::new(&org, &boot.admin_user_id);
    spec.site = Some(site);
    let order = app.order(&spec).await;
    let response = app
        .graphql(Some(&tech), "query($id: ID!) { order(id: $id) { id history { action } } }", json!({ "id": order }))
        .await;
    assert_eq!(response.code(), Some("FORBIDDEN"), "{}", response.body);
    assert_eq!(response.body["data"]["order"]["id"], json!(order));
}
