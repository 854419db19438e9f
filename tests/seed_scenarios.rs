//! The seeds' own examples (../shared/seeds/), played through the API: who
//! sees which order and what each may do to it, as `viewerCan` reports.
//! Seed 003's approval scenarios (executive, department and CFO approvals)
//! need vendors and rules and live with that feature's tests.

mod common;

use std::collections::BTreeSet;

use common::world::{Bind, OrderSpec};
use common::{Backend, TestApp, spawn_app};
use serde_json::{Value, json};
use workgate::orders::model::OrderStatus;
use workgate::org::model::Role;

backend_tests!(
    seed_001_michelle_bob_and_tom,
    seed_002_originators_approvers_and_read_only_staff,
    seed_003_scope_tags,
    seed_003_small_and_large_organizations,
    seed_004_five_profiles,
);

struct Org {
    id: String,
    root: String,
    admin: String,
}

async fn org(app: &TestApp) -> Org {
    let boot = app.bootstrap("Seeds").await;
    Org { id: boot.organization_id, root: boot.account_id, admin: boot.admin_user_id }
}

async fn visible(app: &TestApp, user: &str) -> BTreeSet<String> {
    let query = "{ orders(first: 100) { totalCount edges { node { id } } } }";
    let response = app.graphql(Some(&app.token_for(user)), query, json!({})).await;
    let data = response.assert_ok();
    let ids: BTreeSet<String> = data["orders"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(data["orders"]["totalCount"], json!(ids.len()));
    ids
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).clone()).collect()
}

/// `viewerCan` of `order` for `user`, or None when the order is NOT_FOUND.
async fn can(app: &TestApp, user: &str, order: &str) -> Option<Value> {
    let query = "query($id: ID!) { order(id: $id) { viewerCan {
        view editDetails approve reject assign start submitForReview closeReview requestRework
        cancel archive addNote addInternalNote logWork requestDeletion delete } } }";
    let response = app.graphql(Some(&app.token_for(user)), query, json!({ "id": order })).await;
    if response.code() == Some("NOT_FOUND") {
        return None;
    }
    Some(response.assert_ok()["order"]["viewerCan"].clone())
}

/// The actions `viewerCan` allows, by contract name.
async fn allowed(app: &TestApp, user: &str, order: &str) -> BTreeSet<String> {
    let can = can(app, user, order).await.expect("the order is visible");
    can.as_object().expect("object").iter().filter(|(_, v)| **v == json!(true)).map(|(k, _)| k.clone()).collect()
}

fn actions(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// Seed 001: Michelle, the only layer editor, creates two orders; one is
/// assigned to Bob, the other to Tom and Bob. Bob works on both, Tom only
/// on the second, and only Michelle approves (closes the review).
async fn seed_001_michelle_bob_and_tom(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    let site = app.site(&o.id, &o.root, "Yard").await;
    let michelle = app.user(&o.id, &o.root, "Michelle").await;
    app.grant(&o.id, &michelle, Role::Planner, &Bind::Account).await;
    let bob = app.user(&o.id, &o.root, "Bob").await;
    let tom = app.user(&o.id, &o.root, "Tom").await;

    let mut spec = OrderSpec::new(&o.id, &michelle);
    spec.site = Some(site);
    spec.status = OrderStatus::InProgress;
    spec.assignees = vec![bob.clone()];
    let first = app.order(&spec).await;
    spec.assignees = vec![tom.clone(), bob.clone()];
    let second = app.order(&spec).await;

    assert_eq!(visible(&app, &bob).await, set(&[&first, &second]));
    assert_eq!(visible(&app, &tom).await, set(&[&second]));
    assert!(can(&app, &tom, &first).await.is_none(), "Tom sees the first order");

    // Bob and Tom add notes and update the completion status of theirs.
    let worker =
        actions(&["view", "assign", "submitForReview", "addNote", "addInternalNote", "logWork", "requestDeletion"]);
    assert_eq!(allowed(&app, &bob, &first).await, worker);
    assert_eq!(allowed(&app, &bob, &second).await, worker);
    assert_eq!(allowed(&app, &tom, &second).await, worker);

    // Once submitted, only Michelle approves.
    let mut spec = OrderSpec::new(&o.id, &michelle);
    spec.status = OrderStatus::PendingReview;
    spec.assignees = vec![tom.clone(), bob.clone()];
    let submitted = app.order(&spec).await;
    for user in [&bob, &tom] {
        let can = can(&app, user, &submitted).await.expect("visible");
        assert_eq!((can["closeReview"].clone(), can["requestRework"].clone()), (json!(false), json!(false)));
    }
    let can = can(&app, &michelle, &submitted).await.expect("visible");
    assert_eq!((can["closeReview"].clone(), can["requestRework"].clone()), (json!(true), json!(true)));
}

/// Seed 002: originators see only their own orders; a site's approver sees
/// and approves everything at the site; multi-site approvers work over a
/// group of sites, all-sites approvers over every site; read-only staff
/// view; workers without a login are assigned but never sign in.
async fn seed_002_originators_approvers_and_read_only_staff(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    let (east, west, north) = (
        app.site(&o.id, &o.root, "East Elementary").await,
        app.site(&o.id, &o.root, "West Middle").await,
        app.site(&o.id, &o.root, "North High").await,
    );
    let cluster = app.site_group(&o.id, "East cluster", &[east.clone(), west.clone()]).await;

    let originator = app.user(&o.id, &o.root, "Olive Originator").await;
    app.grant(&o.id, &originator, Role::Requester, &Bind::Site(east.clone())).await;
    let colleague = app.user(&o.id, &o.root, "Carl Colleague").await;
    app.grant(&o.id, &colleague, Role::Requester, &Bind::Site(east.clone())).await;
    let site_approver = app.user(&o.id, &o.root, "Sam Site").await;
    app.grant(&o.id, &site_approver, Role::Approver, &Bind::Site(east.clone())).await;
    let multi = app.user(&o.id, &o.root, "Mia Multi").await;
    app.grant(&o.id, &multi, Role::Approver, &Bind::Group(cluster)).await;
    let all_sites = app.user(&o.id, &o.root, "Al All").await;
    app.grant(&o.id, &all_sites, Role::Approver, &Bind::Account).await;
    let read_only = app.user(&o.id, &o.root, "Rhea Read").await;
    app.grant(&o.id, &read_only, Role::Viewer, &Bind::Site(east.clone())).await;

    let request = |creator: &str, site: &str| {
        let mut spec = OrderSpec::new(&o.id, creator);
        spec.site = Some(site.to_owned());
        spec.status = OrderStatus::PendingApproval;
        spec.intake = true;
        spec
    };
    let olive_east = app.order(&request(&originator, &east)).await;
    let carl_east = app.order(&request(&colleague, &east)).await;
    let at_west = app.order(&request(&o.admin, &west)).await;
    let at_north = app.order(&request(&o.admin, &north)).await;

    assert_eq!(visible(&app, &originator).await, set(&[&olive_east]));
    assert_eq!(visible(&app, &site_approver).await, set(&[&olive_east, &carl_east]));
    assert_eq!(visible(&app, &multi).await, set(&[&olive_east, &carl_east, &at_west]));
    assert_eq!(visible(&app, &all_sites).await, set(&[&olive_east, &carl_east, &at_west, &at_north]));
    assert_eq!(visible(&app, &read_only).await, set(&[&olive_east, &carl_east]));

    // The site approver approves the originator's request; the originator cannot.
    let approver_can = can(&app, &site_approver, &olive_east).await.expect("visible");
    assert_eq!((approver_can["approve"].clone(), approver_can["reject"].clone()), (json!(true), json!(true)));
    let originator_can = can(&app, &originator, &olive_east).await.expect("visible");
    assert_eq!(originator_can["approve"], json!(false));
    assert_eq!(originator_can["editDetails"], json!(true), "the originator edits until approval");
    assert_eq!(can(&app, &multi, &at_west).await.expect("visible")["approve"], json!(true));
    assert_eq!(can(&app, &all_sites, &at_north).await.expect("visible")["approve"], json!(true));
    // Read-only staff view, nothing more.
    assert_eq!(allowed(&app, &read_only, &carl_east).await, actions(&["view"]));

    // A worker without a login can be assigned, and sees the order if signed
    // in some day, but their credentials never work.
    let worker = app.create_user(&o.id, &o.root, "Walt Worker", "walt@seeds.example", false).await;
    let response = app.graphql(Some(&app.token_for(&worker)), "{ me { id } }", json!({})).await;
    assert_eq!(response.code(), Some("UNAUTHENTICATED"));
}

/// Seed 003's visibility table: root principals see every scope; a child
/// account sees its own scope and organization-wide objects, not another
/// child's.
async fn seed_003_scope_tags(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    let a = app.account(&o.id, &o.root, "Region A").await;
    let b = app.account(&o.id, &o.root, "Region B").await;
    let site = app.site(&o.id, &o.root, "Shared depot").await;
    let mut orders = Vec::new();
    for scope in [None, Some(&a), Some(&b)] {
        let mut spec = OrderSpec::new(&o.id, &o.admin);
        spec.site = Some(site.clone());
        spec.scope = scope.cloned();
        orders.push(app.order(&spec).await);
    }
    let (org_wide, in_a, in_b) = (&orders[0], &orders[1], &orders[2]);
    let planner = |account: String| {
        let app = &app;
        let org = o.id.clone();
        async move {
            let user = app.user(&org, &account, "Planner").await;
            app.grant(&org, &user, Role::Planner, &Bind::Account).await;
            user
        }
    };
    let root_planner = planner(o.root.clone()).await;
    let a_planner = planner(a.clone()).await;
    let b_planner = planner(b.clone()).await;
    assert_eq!(visible(&app, &root_planner).await, set(&[org_wide, in_a, in_b]));
    assert_eq!(visible(&app, &a_planner).await, set(&[org_wide, in_a]));
    assert_eq!(visible(&app, &b_planner).await, set(&[org_wide, in_b]));
    assert!(can(&app, &a_planner, in_b).await.is_none(), "child A reads B's order");
}

/// Seed 003's permission scenarios, as far as who sees and decides what:
/// a small organization (staff see their own orders, managers all, the
/// executive the high-value orders awaiting them) and a large one with
/// locations (site managers are ADMINs of their child account and see only
/// its orders; the central procurement team sees every location).
async fn seed_003_small_and_large_organizations(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    let site = app.site(&o.id, &o.root, "Office").await;
    // Small: staff as REQUESTER, a manager as ADMIN, an executive approver.
    let staff = app.user(&o.id, &o.root, "Sue Staff").await;
    app.grant(&o.id, &staff, Role::Requester, &Bind::Account).await;
    let colleague = app.user(&o.id, &o.root, "Cal Colleague").await;
    app.grant(&o.id, &colleague, Role::Requester, &Bind::Account).await;
    let executive = app.user(&o.id, &o.root, "Eve Executive").await;
    let mut spec = OrderSpec::new(&o.id, &staff);
    spec.site = Some(site.clone());
    spec.kind = workgate::orders::model::OrderKind::Part;
    let low_value = app.order(&spec).await;
    spec.status = OrderStatus::PendingApproval;
    spec.estimated_cost_cents = Some(750_000);
    spec.designated = vec![executive.clone()];
    let high_value = app.order(&spec).await;
    spec.creator = colleague.clone();
    spec.designated = vec![];
    spec.status = OrderStatus::Open;
    let colleagues = app.order(&spec).await;
    assert_eq!(visible(&app, &staff).await, set(&[&low_value, &high_value]));
    assert_eq!(visible(&app, &executive).await, set(&[&high_value]));
    assert_eq!(visible(&app, &o.admin).await, set(&[&low_value, &high_value, &colleagues]));
    assert_eq!(can(&app, &executive, &high_value).await.expect("visible")["approve"], json!(true));
    assert_eq!(can(&app, &staff, &high_value).await.expect("visible")["approve"], json!(false));

    // Large: locations as child accounts with their site managers.
    let north = app.account(&o.id, &o.root, "North location").await;
    let south = app.account(&o.id, &o.root, "South location").await;
    let north_site = app.site(&o.id, &north, "North store").await;
    let south_site = app.site(&o.id, &south, "South store").await;
    let manager = |account: String| {
        let (app, org) = (&app, o.id.clone());
        async move {
            let user = app.user(&org, &account, "Site manager").await;
            app.grant(&org, &user, Role::Admin, &Bind::Account).await;
            user
        }
    };
    let north_manager = manager(north.clone()).await;
    let south_manager = manager(south.clone()).await;
    let order_at = |site: &str, scope: &str| {
        let mut spec = OrderSpec::new(&o.id, &o.admin);
        spec.site = Some(site.to_owned());
        spec.scope = Some(scope.to_owned());
        spec
    };
    let at_north = app.order(&order_at(&north_site, &north)).await;
    let at_south = app.order(&order_at(&south_site, &south)).await;
    let north_sees = visible(&app, &north_manager).await;
    assert!(north_sees.contains(&at_north) && !north_sees.contains(&at_south), "{north_sees:?}");
    let south_sees = visible(&app, &south_manager).await;
    assert!(south_sees.contains(&at_south) && !south_sees.contains(&at_north), "{south_sees:?}");
    let central = visible(&app, &o.admin).await;
    assert!(central.contains(&at_north) && central.contains(&at_south));
    // A site manager administers their location, not the other.
    let create_user =
        "mutation($a: ID!) { createUser(name: \"New hire\", email: \"new@seeds.example\", accountId: $a) { id } }";
    let token = app.token_for(&north_manager);
    assert!(app.graphql(Some(&token), create_user, json!({ "a": north })).await.body.get("errors").is_none());
    assert!(app.graphql(Some(&token), create_user, json!({ "a": south })).await.code().is_some());
}

/// Seed 004's five profiles over one site's orders.
async fn seed_004_five_profiles(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    let site = app.site(&o.id, &o.root, "Plant").await;
    let person = |name: &'static str, role: Role| {
        let (app, org, root) = (&app, o.id.clone(), o.root.clone());
        async move {
            let user = app.user(&org, &root, name).await;
            app.grant(&org, &user, role, &Bind::Account).await;
            user
        }
    };
    let planner = person("Planner", Role::Planner).await;
    let technician = person("Technician", Role::Technician).await;
    let requester = person("Requester", Role::Requester).await;
    let viewer = person("Viewer", Role::Viewer).await;

    let mut spec = OrderSpec::new(&o.id, &requester);
    spec.owner = Some(planner.clone());
    spec.site = Some(site.clone());
    spec.status = OrderStatus::InProgress;
    spec.assignees = vec![technician.clone()];
    let requested = app.order(&spec).await;
    let mut spec = OrderSpec::new(&o.id, &planner);
    spec.site = Some(site);
    let other = app.order(&spec).await;

    // Administrator: everything, including delete and history.
    let admin = allowed(&app, &o.admin, &requested).await;
    assert!(admin.is_superset(&actions(&["editDetails", "assign", "cancel", "logWork", "delete"])), "{admin:?}");
    // Planner: work orders fully, but not users or company settings.
    let planner_can = allowed(&app, &planner, &requested).await;
    assert!(planner_can.contains("editDetails") && planner_can.contains("assign") && !planner_can.contains("delete"));
    let response = app
        .graphql(
            Some(&app.token_for(&planner)),
            "mutation($a: ID!) { createUser(name: \"X\", email: \"x@seeds.example\", accountId: $a) { id } }",
            json!({ "a": o.root }),
        )
        .await;
    assert_eq!(response.code(), Some("FORBIDDEN"));
    // Technician: views work orders, works on the ones assigned to them.
    assert_eq!(
        allowed(&app, &technician, &requested).await,
        actions(&["view", "assign", "submitForReview", "addNote", "addInternalNote", "logWork", "requestDeletion"])
    );
    assert_eq!(
        allowed(&app, &technician, &other).await,
        actions(&["view", "addNote", "addInternalNote", "requestDeletion"])
    );
    // Requester: tracks their request and chats on it, edits nothing.
    assert_eq!(allowed(&app, &requester, &requested).await, actions(&["view", "addNote", "requestDeletion"]));
    assert!(can(&app, &requester, &other).await.is_none(), "the requester sees others' orders");
    // Viewer: reads, never interacts.
    assert_eq!(allowed(&app, &viewer, &requested).await, actions(&["view"]));
    assert_eq!(allowed(&app, &viewer, &other).await, actions(&["view"]));
}
