//! `workgate seed --synthetic` (issue 8's dataset): an organization of
//! realistic shape that the API serves like any other, the same content for
//! the same seed, with order numbers that continue after it.

mod common;

use common::{Backend, TestApp, spawn_app};
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};
use workgate::seed::{Seeded, Shape, synthetic};

backend_tests!(a_synthetic_organization_is_served_and_repeatable);

const SHAPE: Shape = Shape { orders: 400, sites: 30, users: 150, seed: 7 };

/// The orders `user` sees with `filter`, archived ones included.
async fn total(app: &TestApp, user: &str, filter: Value) -> i64 {
    let query = "query($f: OrderFilter, $a: OrderFilter) { live: orders(filter: $f) { totalCount } archived: orders(filter: $a) { totalCount } }";
    let mut archived = if filter.is_null() { json!({}) } else { filter.clone() };
    archived["archived"] = json!(true);
    let data = app.graphql(Some(&app.token_for(user)), query, json!({ "f": filter, "a": archived })).await;
    let data = data.assert_ok();
    data["live"]["totalCount"].as_i64().expect("count") + data["archived"]["totalCount"].as_i64().expect("count")
}

/// What the seed decided of each order, in number order.
async fn content(app: &TestApp) -> Vec<(String, String, String, String, i32, bool)> {
    entity::orders::Entity::find()
        .order_by_asc(entity::orders::Column::CreatedAt)
        .all(&app.db)
        .await
        .expect("orders")
        .into_iter()
        .map(|o| (o.number, o.kind, o.title, o.status, o.priority, o.archived))
        .collect()
}

async fn a_synthetic_organization_is_served_and_repeatable(backend: Backend) {
    let app = spawn_app(backend).await;
    let seeded: Seeded = synthetic(&app.db, SHAPE).await.expect("seeded");
    for (who, id) in [
        ("admin", &seeded.admin),
        ("site technician", &seeded.site_technician),
        ("account planner", &seeded.account_planner),
        ("child admin", &seeded.child_admin),
        ("partner vendor", &seeded.partner_vendor),
    ] {
        assert!(!id.is_empty(), "{who}");
    }

    // The API serves it: the root admin and planner see every order, a
    // technician their site's, a child account's admin their region's.
    let all = total(&app, &seeded.admin, json!(null)).await;
    assert_eq!(all, 400);
    assert_eq!(total(&app, &seeded.account_planner, json!(null)).await, 400);
    let site = total(&app, &seeded.site_technician, json!(null)).await;
    let region = total(&app, &seeded.child_admin, json!(null)).await;
    assert!(0 < site && site < region && region < all, "site {site}, region {region}, all {all}");
    // Every status, with notes, hours, costs and assignees where they go.
    for status in [
        "PENDING_APPROVAL",
        "REJECTED",
        "OPEN",
        "SENT",
        "SEND_FAILED",
        "IN_PROGRESS",
        "PENDING_REVIEW",
        "ACTION_NEEDED",
        "CLOSED",
        "CANCELLED",
    ] {
        assert!(total(&app, &seeded.admin, json!({ "status": [status] })).await > 0, "no {status} order");
    }
    let page = "{ orders(first: 100, filter: { status: [IN_PROGRESS] }) { edges { node {
        assignees { id } notes { id } timeEntries { hours } costLines { amount } } } } }";
    let data = app.graphql(Some(&app.token_for(&seeded.admin)), page, json!({})).await.assert_ok().clone();
    let nodes: Vec<&Value> = data["orders"]["edges"].as_array().expect("edges").iter().map(|e| &e["node"]).collect();
    for part in ["assignees", "notes", "timeEntries", "costLines"] {
        assert!(nodes.iter().any(|n| n[part].as_array().is_some_and(|a| !a.is_empty())), "no {part}");
    }
    assert!(total(&app, &seeded.admin, json!({ "vendorId": seeded.partner_vendor })).await > 0);

    // Numbers continue after the seed.
    let works = content(&app).await.iter().filter(|o| o.1 == "WORK").count();
    let create = "mutation($s: ID!) { createOrder(input: { kind: WORK, title: \"After\", siteId: $s }) { number } }";
    let site_id = entity::sites::Entity::find().one(&app.db).await.expect("site").expect("a site").id;
    let created = app.graphql(Some(&app.token_for(&seeded.admin)), create, json!({ "s": site_id })).await;
    assert_eq!(created.assert_ok()["createOrder"]["number"], json!(format!("WO-{}", works + 1)));

    // Seeding the same organization again is refused; another database
    // seeded alike holds the same orders.
    assert!(synthetic(&app.db, SHAPE).await.is_err(), "seeding twice is refused");
    let twin = spawn_app(backend).await;
    synthetic(&twin.db, SHAPE).await.expect("seeded");
    let mut ours = content(&app).await;
    ours.pop(); // "After"
    assert_eq!(ours, content(&twin).await, "the same seed, the same orders");
}
