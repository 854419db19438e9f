//! Reading orders through GraphQL: row visibility by organization, scope,
//! role and relation; pagination, filters and sorts; field guards; the
//! fixed statement count of a page; role changes taking effect at once.

mod common;

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use common::world::{Bind, OrderSpec};
use common::{Backend, TestApp, spawn_app};
use serde_json::{Value, json};
use workgate::orders::model::{OrderKind, OrderStatus, Priority};
use workgate::org::model::Role;

backend_tests!(
    lists_show_what_scope_role_and_relation_allow,
    invisible_orders_are_not_found_like_missing_ones,
    pages_filters_and_sorts,
    a_site_bound_persons_pages_keep_the_lists_order,
    a_persons_pages_follow_changes_to_their_orders,
    a_page_costs_the_same_statements_whatever_its_size,
    a_pages_plan_is_kept_unless_it_filters_on_a_person_or_the_like,
    a_pages_tags_are_read_only_when_asked,
    guarded_fields_are_null_with_forbidden_and_the_rest_intact,
    viewer_can_and_explain_access_follow_the_policy,
    brief_objects_answer_as_whole_ones_do,
    pages_answer_each_order_as_the_order_query_does,
    revoked_roles_and_deactivated_users_stop_on_the_next_request,
    partner_tokens_read_their_vendors_orders_and_few_fields,
    my_work_and_my_requests,
    rows_decode_as_sea_orm_does,
    an_orders_children_come_in_one_statement_as_a_page_reads_them,
    an_orders_facts_name_each_logger_once,
);

/// One organization with two child accounts and people in several roles.
struct World {
    org: String,
    root: String,
    north: String,
    south: String,
    admin: String,
    /// North's sites.
    n1: String,
    n2: String,
    /// South's site.
    s1: String,
    group: String,
    creator: String,
}

async fn world(app: &TestApp) -> World {
    let boot = app.bootstrap("Acme").await;
    let (org, root) = (boot.organization_id, boot.account_id);
    let north = app.account(&org, &root, "North").await;
    let south = app.account(&org, &root, "South").await;
    let n1 = app.site(&org, &north, "North 1").await;
    let n2 = app.site(&org, &north, "North 2").await;
    let s1 = app.site(&org, &south, "South 1").await;
    let group = app.site_group(&org, "North group", std::slice::from_ref(&n2)).await;
    let creator = app.user(&org, &north, "Rita Requester").await;
    app.grant(&org, &creator, Role::Requester, &Bind::Site(n1.clone())).await;
    World { org, root, north, south, admin: boot.admin_user_id, n1, n2, s1, group, creator }
}

impl World {
    fn spec(&self, site: &str, scope: &str) -> OrderSpec {
        let mut spec = OrderSpec::new(&self.org, &self.creator);
        spec.site = Some(site.to_owned());
        spec.scope = Some(scope.to_owned());
        spec
    }
}

const IDS: &str = "query($f: OrderFilter) { orders(first: 100, filter: $f) { totalCount edges { node { id } } } }";

async fn visible(app: &TestApp, token: &str) -> BTreeSet<String> {
    let response = app.graphql(Some(token), IDS, json!({})).await;
    let data = response.assert_ok();
    let ids: BTreeSet<String> = data["orders"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(data["orders"]["totalCount"], json!(ids.len()), "totalCount disagrees with the list");
    ids
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).clone()).collect()
}

async fn lists_show_what_scope_role_and_relation_allow(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let at_n1 = app.order(&w.spec(&w.n1, &w.north)).await;
    let at_n2 = app.order(&w.spec(&w.n2, &w.north)).await;
    let org_wide = app
        .order(&{
            let mut s = w.spec(&w.n2, &w.north);
            s.scope = None;
            s
        })
        .await;
    let south_admin = app.user(&w.org, &w.south, "Sol Admin").await;
    let at_s1 = app
        .order(&{
            let mut s = w.spec(&w.s1, &w.south);
            s.creator = south_admin.clone();
            s
        })
        .await;
    let deleted = app
        .order(&{
            let mut s = w.spec(&w.n1, &w.north);
            s.deleted = true;
            s
        })
        .await;
    let other = app.bootstrap("Other").await;
    let foreign = app.order(&OrderSpec::new(&other.organization_id, &other.admin_user_id)).await;

    // A technician bound at one site sees that site's orders, and the order assigned elsewhere.
    let tech = app.user(&w.org, &w.north, "Tom Tech").await;
    app.grant(&w.org, &tech, Role::Technician, &Bind::Site(w.n1.clone())).await;
    let assigned = app
        .order(&{
            let mut s = w.spec(&w.s1, &w.south);
            s.assignees = vec![tech.clone()];
            s
        })
        .await;
    assert_eq!(visible(&app, &app.token_for(&tech)).await, set(&[&at_n1, &assigned]));

    // A site-group binding covers the group's sites.
    let approver = app.user(&w.org, &w.north, "Ann Approver").await;
    app.grant(&w.org, &approver, Role::Approver, &Bind::Group(w.group.clone())).await;
    assert_eq!(visible(&app, &app.token_for(&approver)).await, set(&[&at_n2, &org_wide]));

    // An account-wide planner of a child account: its scope and organization-wide orders, not South's.
    let planner = app.user(&w.org, &w.north, "Pat Planner").await;
    app.grant(&w.org, &planner, Role::Planner, &Bind::Account).await;
    assert_eq!(visible(&app, &app.token_for(&planner)).await, set(&[&at_n1, &at_n2, &org_wide]));

    // The root admin sees every scope, never another organization or a tombstone.
    let all = visible(&app, &app.token_for(&w.admin)).await;
    assert_eq!(all, set(&[&at_n1, &at_n2, &org_wide, &at_s1, &assigned]));
    assert!(!all.contains(&foreign) && !all.contains(&deleted));

    // The requester sees what they created; a user with no role and no relation sees nothing.
    assert_eq!(visible(&app, &app.token_for(&w.creator)).await, set(&[&at_n1, &at_n2, &org_wide, &assigned]));
    let nobody = app.user(&w.org, &w.root, "No Body").await;
    assert!(visible(&app, &app.token_for(&nobody)).await.is_empty());
    // A designated approver with no role sees the order waiting on them.
    let cfo = app.user(&w.org, &w.root, "Cora CFO").await;
    let awaiting = app
        .order(&{
            let mut s = w.spec(&w.s1, &w.south);
            s.kind = OrderKind::Capital;
            s.status = OrderStatus::PendingApproval;
            s.designated = vec![cfo.clone()];
            s
        })
        .await;
    assert_eq!(visible(&app, &app.token_for(&cfo)).await, set(&[&awaiting]));
}

async fn invisible_orders_are_not_found_like_missing_ones(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let south_order = app.order(&w.spec(&w.s1, &w.south)).await;
    let other = app.bootstrap("Other").await;
    let foreign = app.order(&OrderSpec::new(&other.organization_id, &other.admin_user_id)).await;
    let planner = app.user(&w.org, &w.north, "Pat Planner").await;
    app.grant(&w.org, &planner, Role::Planner, &Bind::Account).await;
    let token = app.token_for(&planner);

    let query = "query($id: ID!) { order(id: $id) { id title } }";
    let missing = app.graphql(Some(&token), query, json!({ "id": "ord_00000000000000000000000000" })).await;
    assert_eq!(missing.code(), Some("NOT_FOUND"));
    for id in [&south_order, &foreign] {
        let response = app.graphql(Some(&token), query, json!({ "id": id })).await;
        assert_eq!(response.code(), Some("NOT_FOUND"), "{}", response.body);
        assert_eq!(response.body["errors"][0]["message"], missing.body["errors"][0]["message"]);
        assert_eq!(response.body["data"], json!({ "order": null }), "{}", response.body);
        // node() answers the same way and leaks nothing.
        let node = app.graphql(Some(&token), "query($id: ID!) { node(id: $id) { id } }", json!({ "id": id })).await;
        assert_eq!(node.body["data"]["node"], Value::Null, "{}", node.body);
        assert!(!node.body.to_string().contains("Other"));
    }
    // Filtering by another organization's site finds nothing, not an error naming it.
    let data = app.graphql(Some(&token), IDS, json!({ "f": { "siteId": w.s1 } })).await;
    assert_eq!(data.assert_ok()["orders"]["totalCount"], json!(0));
}

async fn pages_filters_and_sorts(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let base = 1_700_000_000_000_000_i64;
    let hour = 3_600_000_000_i64;
    let mut ids = Vec::new();
    for i in 0..7_i64 {
        let mut spec = w.spec(&w.n1, &w.north);
        spec.title = format!("Pump {i}");
        spec.created_at = Some(base + i * hour);
        spec.priority = [Priority::Low, Priority::Urgent, Priority::Medium, Priority::High][i as usize % 4];
        spec.status = if i % 2 == 0 { OrderStatus::Open } else { OrderStatus::InProgress };
        spec.tags = if i % 3 == 0 { vec!["hvac".into(), "north".into()] } else { vec!["hvac".into()] };
        spec.due_at = Some(base + (7 - i) * hour);
        ids.push(app.order(&spec).await);
    }
    let token = app.token_for(&w.admin);
    let page = "query($first: Int, $after: Cursor, $last: Int, $before: Cursor, $sort: OrderSort, $f: OrderFilter) {
        orders(first: $first, after: $after, last: $last, before: $before, sort: $sort, filter: $f) {
            totalCount
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
            edges { cursor node { id priority } }
        } }";
    let run = |vars: Value| {
        let (app, token) = (&app, &token);
        async move { app.graphql(Some(token), page, vars).await.assert_ok()["orders"].clone() }
    };
    let ids_of = |conn: &Value| -> Vec<String> {
        conn["edges"].as_array().expect("edges").iter().map(|e| e["node"]["id"].as_str().expect("id").into()).collect()
    };

    // Newest first by default, walked forward in pages of 3.
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    let first = run(json!({ "first": 3 })).await;
    assert_eq!(ids_of(&first), newest_first[..3]);
    assert_eq!(first["totalCount"], json!(7));
    assert_eq!(first["pageInfo"]["hasNextPage"], json!(true));
    let second = run(json!({ "first": 3, "after": first["pageInfo"]["endCursor"] })).await;
    assert_eq!(ids_of(&second), newest_first[3..6]);
    assert_eq!(second["pageInfo"]["hasPreviousPage"], json!(true));
    let third = run(json!({ "first": 3, "after": second["pageInfo"]["endCursor"] })).await;
    assert_eq!(ids_of(&third), newest_first[6..]);
    assert_eq!(third["pageInfo"]["hasNextPage"], json!(false));
    // And backwards from the end of the second page.
    let back = run(json!({ "last": 2, "before": second["pageInfo"]["startCursor"] })).await;
    assert_eq!(ids_of(&back), newest_first[1..3]);
    // A cursor of the JSON form given out before 2026-12-07 (as it was
    // written, to the byte), held by a client across the upgrade, still
    // pages from where it was.
    let held = format!(r#"{{"s":"CREATED_DESC","k":{},"i":"{}"}}"#, base + 4 * hour, ids[4]);
    let held = URL_SAFE_NO_PAD.encode(held);
    let today = first["pageInfo"]["endCursor"].as_str().expect("a cursor");
    assert_eq!(URL_SAFE_NO_PAD.decode(today).expect("base64")[0], b'c', "today's cursors are of another form");
    assert_eq!(ids_of(&run(json!({ "first": 3, "after": held })).await), newest_first[3..6]);

    let ascending = run(json!({ "first": 10, "sort": "CREATED_ASC" })).await;
    assert_eq!(ids_of(&ascending), ids);
    let due = run(json!({ "first": 10, "sort": "DUE_ASC" })).await;
    assert_eq!(ids_of(&due), newest_first);
    let by_priority = run(json!({ "first": 10, "sort": "PRIORITY_DESC" })).await;
    let priorities: Vec<&str> = by_priority["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["priority"].as_str().expect("p"))
        .collect();
    assert_eq!(priorities, ["URGENT", "URGENT", "HIGH", "MEDIUM", "MEDIUM", "LOW", "LOW"]);
    // Paging by priority keeps ties in a stable order.
    let p1 = run(json!({ "first": 4, "sort": "PRIORITY_DESC" })).await;
    let p2 = run(json!({ "first": 4, "sort": "PRIORITY_DESC", "after": p1["pageInfo"]["endCursor"] })).await;
    assert_eq!([ids_of(&p1), ids_of(&p2)].concat(), ids_of(&by_priority));

    let filtered = |f: Value| run(json!({ "first": 10, "f": f }));
    assert_eq!(filtered(json!({ "status": ["OPEN"] })).await["totalCount"], json!(4));
    assert_eq!(filtered(json!({ "tags": ["hvac", "north"] })).await["totalCount"], json!(3));
    assert_eq!(ids_of(&filtered(json!({ "search": "pump 5" })).await), [ids[5].clone()]);
    let after =
        filtered(json!({ "createdAfter": "2023-11-14T23:00:00Z", "createdBefore": "2023-11-15T01:00:00Z" })).await;
    assert_eq!(after["totalCount"], json!(2), "{after}");
    assert_eq!(filtered(json!({ "siteId": w.n2 })).await["totalCount"], json!(0));
    assert_eq!(filtered(json!({ "ownerId": w.creator, "kind": ["WORK"] })).await["totalCount"], json!(7));

    // The most recently updated first.
    app.execute_sql(&format!("UPDATE orders SET updated_at = {} WHERE id = '{}'", base + 100 * hour, ids[2])).await;
    let updated = ids_of(&run(json!({ "first": 2, "sort": "UPDATED_DESC" })).await);
    assert_eq!(updated, [ids[2].clone(), ids[6].clone()]);

    // Asset, assignee, vendor and archived filters.
    let asset = app.asset(&w.org, &w.n1, "Pump housing", &[]).await;
    let vendor = app.vendor(&w.org, None, "PumpCo").await;
    let tech = app.user(&w.org, &w.north, "Tom Tech").await;
    let mut spec = w.spec(&w.n1, &w.north);
    spec.asset = Some(asset.clone());
    spec.vendor = Some(vendor.clone());
    spec.kind = OrderKind::Part;
    spec.assignees = vec![tech.clone()];
    let special = app.order(&spec).await;
    spec.archived = true;
    spec.status = OrderStatus::Closed;
    let archived = app.order(&spec).await;
    assert_eq!(ids_of(&filtered(json!({ "assetId": asset })).await), std::slice::from_ref(&special));
    assert_eq!(
        ids_of(&filtered(json!({ "vendorId": vendor, "kind": ["PART"] })).await),
        std::slice::from_ref(&special)
    );
    assert_eq!(ids_of(&filtered(json!({ "assigneeId": tech })).await), std::slice::from_ref(&special));
    assert_eq!(ids_of(&filtered(json!({ "archived": true })).await), [archived]);
    assert_eq!(filtered(json!({})).await["totalCount"], json!(8), "archived orders are left out by default");

    // Bad paging input is the caller's error, naming the argument.
    for (vars, field) in [
        (json!({ "first": 101 }), "first"),
        (json!({ "first": -1 }), "first"),
        (json!({ "first": 2, "after": "not-a-cursor" }), "after"),
    ] {
        let response = app.graphql(Some(&token), page, vars.clone()).await;
        assert_eq!(response.code(), Some("BAD_USER_INPUT"), "{vars}: {}", response.body);
        assert_eq!(response.body["errors"][0]["extensions"]["field"], json!(field), "{}", response.body);
    }
}

/// A person whose roles reach some sites only sees a union of arms (their
/// sites' orders, and those they are assigned to, approve, created or
/// own), each arm cut to the page's first rows
/// (`policy::filter::visible_orders_for_page`). Walked forwards and
/// backwards in pages of two, in every sort, it lists what they see in
/// the order the whole organization's list has it.
async fn a_site_bound_persons_pages_keep_the_lists_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let tech = technician_at_n1(&app, &w, "Tina Tech").await;
    let base = 1_700_000_000_000_000_i64;
    let hour = 3_600_000_000_i64;
    let mut seen = BTreeSet::new();
    for i in 0..12_i64 {
        // Her site's; another account's, assigned to her or hers to
        // approve; and a site of hers to none.
        let (site, scope) = match i % 3 {
            0 => (&w.n1, &w.north),
            1 => (&w.s1, &w.south),
            _ => (&w.n2, &w.north),
        };
        let mut spec = w.spec(site, scope);
        spec.created_at = Some(base + i * hour);
        spec.priority = [Priority::Low, Priority::Urgent, Priority::High, Priority::Medium][i as usize / 3];
        spec.due_at = (i % 4 != 0).then(|| base + (12 - i) * hour);
        match i {
            1 | 4 | 10 => spec.assignees = vec![tech.clone()],
            7 => spec.designated = vec![tech.clone()],
            _ => {}
        }
        let id = app.order(&spec).await;
        app.execute_sql(&format!("UPDATE orders SET updated_at = {} WHERE id = '{id}'", base + (i * 5 % 12) * hour))
            .await;
        if i % 3 != 2 {
            seen.insert(id);
        }
    }
    let (admin, mine) = (app.token_for(&w.admin), app.token_for(&tech));
    let query = "query($first: Int, $after: Cursor, $last: Int, $before: Cursor, $sort: OrderSort) {
        orders(first: $first, after: $after, last: $last, before: $before, sort: $sort) {
            edges { node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
    let run = |token: &str, variables: Value| {
        let (app, token) = (&app, token.to_owned());
        async move {
            let list = app.graphql(Some(&token), query, variables).await.assert_ok()["orders"].clone();
            let ids: Vec<String> = list["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
                .collect();
            (ids, list["pageInfo"].clone())
        }
    };
    for sort in ["CREATED_DESC", "CREATED_ASC", "UPDATED_DESC", "PRIORITY_DESC", "DUE_ASC"] {
        let (whole, _) = run(&admin, json!({ "first": 100, "sort": sort })).await;
        let expected: Vec<String> = whole.into_iter().filter(|id| seen.contains(id)).collect();
        assert_eq!(expected.len(), 8, "{sort}: the admin lists every order");
        let (mut forwards, mut after) = (Vec::new(), Value::Null);
        loop {
            let (ids, page) = run(&mine, json!({ "first": 2, "after": after, "sort": sort })).await;
            forwards.extend(ids);
            if page["hasNextPage"] != json!(true) {
                break;
            }
            after = page["endCursor"].clone();
        }
        assert_eq!(forwards, expected, "{sort}, forwards");
        let (mut backwards, mut before) = (Vec::new(), Value::Null);
        loop {
            let (ids, page) = run(&mine, json!({ "last": 2, "before": before, "sort": sort })).await;
            backwards.splice(0..0, ids);
            if page["hasPreviousPage"] != json!(true) {
                break;
            }
            before = page["startCursor"].clone();
        }
        assert_eq!(backwards, expected, "{sort}, backwards");
    }
}

/// A site-bound person's assignments and designations are walked by the
/// link tables' copies of their orders' sort keys (migration 11): the copies
/// follow the orders as they change through the API, a link made after the
/// order takes the order's keys, and an order she is to approve at two
/// steps is one order of her list. Her pages, in every sort, list what
/// the root ADMIN's list does, in its order.
async fn a_persons_pages_follow_changes_to_their_orders(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let tech = technician_at_n1(&app, &w, "Tina Tech").await;
    let base = 1_700_000_000_000_000_i64;
    let hour = 3_600_000_000_i64;
    let (mut hers, mut others) = (Vec::new(), Vec::new());
    for i in 0..10_i64 {
        // Orders of another account at a site she has no role at: hers
        // only by a link, in creation order opposite to the order of the
        // changes below.
        let mut spec = w.spec(&w.s1, &w.south);
        spec.created_at = Some(base + i * hour);
        spec.due_at = Some(base + (20 + i) * hour);
        match i % 3 {
            0 => spec.assignees = vec![tech.clone()],
            1 => spec.designated = vec![tech.clone()],
            _ => {}
        }
        let id = app.order(&spec).await;
        if i % 3 == 2 { others.push(id) } else { hers.push(id) }
    }
    app.designate_again(&hers[1], &tech).await;
    let admin = app.token_for(&w.admin);
    // Her orders change through the API, newest first, so that the last
    // created is the least recently updated, the most urgent and due first.
    let priorities = ["LOW", "MEDIUM", "HIGH", "URGENT"];
    for (n, id) in hers.iter().enumerate().rev() {
        let edit = "mutation($id: ID!, $v: Int!, $p: Priority, $due: DateTime) {
            editOrder(id: $id, version: $v, input: { priority: $p, dueAt: $due }) { id } }";
        let due = chrono::DateTime::from_timestamp_micros(base - (n as i64) * hour).expect("a time");
        let variables = json!({ "id": id, "v": version(&app, &admin, id).await, "p": priorities[n % 4], "due": due });
        app.graphql(Some(&admin), edit, variables).await.assert_ok();
    }
    // And she is assigned one more through the API: the new link takes the
    // order's keys.
    let assign =
        "mutation($id: ID!, $v: Int!, $who: [ID!]!) { assign(id: $id, version: $v, assigneeIds: $who) { id } }";
    let variables = json!({ "id": others[0], "v": version(&app, &admin, &others[0]).await, "who": [tech] });
    app.graphql(Some(&admin), assign, variables).await.assert_ok();
    hers.push(others[0].clone());
    let mine = app.token_for(&tech);
    // She starts two of her assignments: their status, too, is copied to
    // the links, where a page filtered on statuses tests it.
    let start = "mutation($id: ID!, $v: Int!) { start(id: $id, version: $v) { status } }";
    for id in [&hers[0], &hers[2]] {
        let variables = json!({ "id": id, "v": version(&app, &mine, id).await });
        let started = app.graphql(Some(&mine), start, variables).await;
        assert_eq!(started.assert_ok()["start"]["status"], "IN_PROGRESS");
    }
    for sort in ["CREATED_DESC", "CREATED_ASC", "UPDATED_DESC", "PRIORITY_DESC", "DUE_ASC"] {
        let expected = listed_in_order(&app, &admin, sort, &json!({}), &hers).await;
        assert_eq!(expected.len(), 8, "{sort}: the admin lists every order of hers");
        assert_eq!(walk_pages(&app, &mine, sort, &json!({}), 2).await, expected, "{sort}");
        for (status, count) in [("IN_PROGRESS", 2), ("OPEN", 6)] {
            let filter = json!({ "status": [status] });
            let expected = listed_in_order(&app, &admin, sort, &filter, &hers).await;
            assert_eq!(expected.len(), count, "{sort}: the admin lists {count} of hers {status}");
            assert_eq!(walk_pages(&app, &mine, sort, &filter, 2).await, expected, "{sort}, {status}");
        }
    }

    // Someone whose list is three designations, paged one by one: two at
    // two steps each, one at their site (so in two arms of their
    // visibility). A page reads the row after it, which is another order
    // whichever comes first.
    let dee = technician_at_n1(&app, &w, "Dee Signee").await;
    let mut spec = w.spec(&w.s1, &w.south);
    spec.designated = vec![dee.clone()];
    let mut theirs = vec![app.order(&spec).await, app.order(&spec).await];
    app.designate_again(&theirs[0], &dee).await;
    app.designate_again(&theirs[1], &dee).await;
    let mut spec = w.spec(&w.n1, &w.north);
    spec.designated = vec![dee.clone()];
    theirs.push(app.order(&spec).await);
    let token = app.token_for(&dee);
    for sort in ["CREATED_DESC", "CREATED_ASC"] {
        let expected = listed_in_order(&app, &admin, sort, &json!({}), &theirs).await;
        assert_eq!(walk_pages(&app, &token, sort, &json!({}), 1).await, expected, "{sort}, one by one");
    }
}

/// A TECHNICIAN of the north account bound to the site `n1` alone.
async fn technician_at_n1(app: &TestApp, w: &World, name: &str) -> String {
    let tech = app.user(&w.org, &w.north, name).await;
    app.grant(&w.org, &tech, Role::Technician, &Bind::Site(w.n1.clone())).await;
    tech
}

/// The version of order `id`, as `token` reads it.
async fn version(app: &TestApp, token: &str, id: &str) -> i64 {
    let data = app.graphql(Some(token), "query($id: ID!) { order(id: $id) { version } }", json!({ "id": id })).await;
    data.assert_ok()["order"]["version"].as_i64().expect("a version")
}

/// Of `ids`, those `token`'s list by `filter` holds, in its order by `sort`.
async fn listed_in_order(app: &TestApp, token: &str, sort: &str, filter: &Value, ids: &[String]) -> Vec<Value> {
    let query = "query($sort: OrderSort, $filter: OrderFilter) {
        orders(first: 100, sort: $sort, filter: $filter) { edges { node { id } } } }";
    let whole = app.graphql(Some(token), query, json!({ "sort": sort, "filter": filter })).await;
    whole.assert_ok()["orders"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].clone())
        .filter(|id| id.as_str().is_some_and(|id| ids.iter().any(|i| i == id)))
        .collect()
}

/// Every order of `token`'s list by `filter` and `sort`, read in pages of
/// `size`.
async fn walk_pages(app: &TestApp, token: &str, sort: &str, filter: &Value, size: i64) -> Vec<Value> {
    let query = "query($first: Int, $after: Cursor, $sort: OrderSort, $filter: OrderFilter) {
        orders(first: $first, after: $after, sort: $sort, filter: $filter) {
            edges { node { id } } pageInfo { hasNextPage endCursor } } }";
    let (mut walked, mut after) = (Vec::new(), Value::Null);
    loop {
        let variables = json!({ "first": size, "after": after, "sort": sort, "filter": filter });
        let data = app.graphql(Some(token), query, variables).await;
        let list = data.assert_ok()["orders"].clone();
        walked.extend(list["edges"].as_array().expect("edges").iter().map(|e| e["node"]["id"].clone()));
        if list["pageInfo"]["hasNextPage"] != json!(true) {
            return walked;
        }
        after = list["pageInfo"]["endCursor"].clone();
    }
}

async fn a_page_costs_the_same_statements_whatever_its_size(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let asset = app.asset(&w.org, &w.n1, "Chiller", &["hvac"]).await;
    let vendor = app.vendor(&w.org, None, "CoolCo").await;
    let techs = [app.user(&w.org, &w.north, "T One").await, app.user(&w.org, &w.north, "T Two").await];
    for i in 0..50 {
        let mut spec = w.spec(&w.n1, &w.north);
        spec.asset = Some(asset.clone());
        spec.vendor = Some(vendor.clone());
        spec.kind = OrderKind::Part;
        spec.assignees = vec![techs[i % 2].clone()];
        spec.work_loggers = vec![techs[i % 2].clone()];
        spec.tags = vec!["hvac".into()];
        app.order(&spec).await;
    }
    let token = app.token_for(&w.admin);
    let query = "query($n: Int) { orders(first: $n) { totalCount edges { node {
        id number site { name } asset { name } vendor { name } creator { name } owner { name }
        assignees { name } scope { name } tags timeEntries { hours } actualCost
        viewerCan { view editDetails approve closeReview logWork delete }
    } } } }";
    let mut costs = Vec::new();
    for n in [5, 50] {
        // Warm the token's user lookups so both runs start alike.
        app.graphql(Some(&token), "{ me { id } }", json!({})).await.assert_ok();
        let before = app.statements.get();
        let response = app.graphql(Some(&token), query, json!({ "n": n })).await;
        let after = app.statements.get();
        let data = response.assert_ok();
        assert_eq!(data["orders"]["edges"].as_array().map(Vec::len), Some(n));
        assert_eq!(data["orders"]["edges"][0]["node"]["vendor"]["name"], json!("CoolCo"));
        costs.push(after - before);
    }
    assert_eq!(costs[0], costs[1], "statements for a page of 5 vs 50: {costs:?}");
    assert!(costs[1] < 30, "a page costs {} statements", costs[1]);

    // The people, sites, assets, vendors and accounts a page names are
    // read together: one kind costs what five do.
    let mut costs = Vec::new();
    for named in ["creator { name }", "creator { name } site { name } asset { name } vendor { name } scope { name }"] {
        let query = format!("{{ orders(first: 50) {{ edges {{ node {{ id {named} }} }} }} }}");
        app.graphql(Some(&token), "{ me { id } }", json!({})).await.assert_ok();
        let before = app.statements.get();
        app.graphql(Some(&token), &query, json!({})).await.assert_ok();
        costs.push(app.statements.get() - before);
    }
    assert_eq!(costs[0], costs[1], "a page's statements naming one kind and five: {costs:?}");
}

/// A page filtered on statuses and kinds alone binds only what differs
/// between callers (here, a root ADMIN's organization): its size (rounded
/// up to one of four), `archived` and the filter's statuses and kinds (as
/// a set) are in its text, so PostgreSQL can keep one plan for it; a site
/// is bound and the plan kept too. Filtered on an owner, or a queue
/// (which binds the caller's id), its size is bound, so PostgreSQL plans
/// it for each owner's own number of orders (BENCHMARKS.md, "A page's plan
/// kept"). The answers are the filters', as `pages_filters_and_sorts` and
/// `my_work_and_my_requests` show.
async fn a_pages_plan_is_kept_unless_it_filters_on_a_person_or_the_like(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    for status in [OrderStatus::Open, OrderStatus::InProgress, OrderStatus::Closed, OrderStatus::Open] {
        let mut spec = w.spec(&w.n1, &w.north);
        spec.status = status;
        app.order(&spec).await;
    }
    let token = app.token_for(&w.admin);
    let page_statement = |variables: Value, document: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            app.graphql(Some(token), "{ me { id } }", json!({})).await.assert_ok();
            app.statements.record();
            let response = app.graphql(Some(token), document, variables).await;
            let recorded = app.statements.take();
            let data = response.assert_ok().clone();
            let page = recorded
                .into_iter()
                .find(|s| s.sql.starts_with(r#"SELECT "orders"."id""#) && s.sql.contains("ORDER BY"))
                .expect("a page statement");
            let bound: Vec<sea_orm::Value> = page.values.as_ref().map(|v| v.0.clone()).unwrap_or_default();
            (data, page.sql, bound)
        }
    };
    let orders = "query($f: OrderFilter) { orders(first: 2, filter: $f, sort: PRIORITY_DESC) {
        edges { node { status } } pageInfo { hasNextPage } } }";
    let org = sea_orm::Value::from(w.org.as_str());

    let statuses = json!({ "f": { "status": ["OPEN", "IN_PROGRESS"], "kind": ["WORK"], "archived": false } });
    let (data, sql, bound) = page_statement(statuses, orders).await;
    assert_eq!(data["orders"]["edges"].as_array().map(Vec::len), Some(2), "{data}");
    assert_eq!(data["orders"]["pageInfo"]["hasNextPage"], json!(true), "three of the four match");
    assert_eq!(bound, std::slice::from_ref(&org), "{sql}");
    assert!(sql.ends_with(" LIMIT 11"), "a page of two and the row after it, in the least of four sizes: {sql}");
    for written in ["'OPEN'", "'IN_PROGRESS'", "'WORK'", "FALSE"] {
        assert!(sql.contains(written), "{written} in {sql}");
    }
    // The same set in another order, twice over, is the same statement.
    let again = json!({ "f": { "status": ["IN_PROGRESS", "OPEN", "OPEN"], "kind": ["WORK"] } });
    assert_eq!(page_statement(again, orders).await.1, sql);
    // A site binds its id and keeps the plan.
    let site = json!({ "f": { "status": ["OPEN"], "siteId": w.n1 } });
    let (data, sql, bound) = page_statement(site, orders).await;
    assert_eq!(data["orders"]["edges"].as_array().map(Vec::len), Some(2), "{data}");
    assert_eq!(bound, [org.clone(), sea_orm::Value::from(w.n1.as_str())], "{sql}");
    assert!(sql.ends_with(" LIMIT 11"), "{sql}");

    let owner = json!({ "f": { "status": ["OPEN"], "ownerId": w.creator } });
    let (data, sql, bound) = page_statement(owner, orders).await;
    assert_eq!(data["orders"]["edges"].as_array().map(Vec::len), Some(2), "{data}");
    assert_eq!(bound, [org.clone(), sea_orm::Value::from(w.creator.as_str()), sea_orm::Value::from(3u64)], "{sql}");
    assert!(sql.contains("'OPEN'"), "{sql}");

    let queue = "{ queue(queue: MY_REQUESTS, first: 2) { edges { node { status } } } }";
    let (_, sql, bound) = page_statement(json!({}), queue).await;
    assert_eq!(bound.last(), Some(&sea_orm::Value::from(3u64)), "{sql}");
}

/// A page's facts statement reads the orders' tags only when the page
/// selects `tags`, however it does: by name, under an alias, in a named or
/// an inline fragment. Each asks gets every order's tags.
async fn a_pages_tags_are_read_only_when_asked(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let mut spec = w.spec(&w.n1, &w.north);
    spec.tags = vec!["hvac".into(), "pump".into()];
    let tagged = app.order(&spec).await;
    spec.tags = Vec::new();
    let bare = app.order(&spec).await;
    let token = app.token_for(&w.admin);
    let page = |document: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            app.graphql(Some(token), "{ me { id } }", json!({})).await.assert_ok();
            app.statements.record();
            let response = app.graphql(Some(token), document, json!({})).await;
            let recorded = app.statements.take();
            let reads_tags = recorded.iter().any(|s| s.sql.contains("order_tags"));
            (response.assert_ok()["orders"]["edges"].clone(), reads_tags)
        }
    };
    let (edges, reads_tags) = page("{ orders(first: 10) { edges { node { id title } } } }").await;
    assert_eq!(edges.as_array().map(Vec::len), Some(2), "{edges}");
    assert!(!reads_tags, "a page without tags does not read them");
    for document in [
        "{ orders(first: 10) { edges { node { id tags } } } }",
        "{ orders(first: 10) { edges { node { id labels: tags } } } }",
        "{ orders(first: 10) { edges { node { ...Tagged } } } } fragment Tagged on Order { id tags }",
        "{ orders(first: 10) { edges { node { id ... on Order { tags } } } } }",
    ] {
        let (edges, reads_tags) = page(document).await;
        assert!(reads_tags, "{document}");
        let tags_of = |id: &str| {
            let edge = edges.as_array().expect("edges").iter().find(|e| e["node"]["id"] == json!(id)).expect("listed");
            edge["node"].get("tags").or_else(|| edge["node"].get("labels")).cloned().expect("tags")
        };
        assert_eq!(tags_of(&tagged), json!(["hvac", "pump"]), "{document}");
        assert_eq!(tags_of(&bare), json!([]), "{document}");
    }
}

async fn guarded_fields_are_null_with_forbidden_and_the_rest_intact(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let tech = app.user(&w.org, &w.north, "Tom Tech").await;
    app.grant(&w.org, &tech, Role::Technician, &Bind::Site(w.n1.clone())).await;
    // Created by the requester for a planner who owns it (an owner would
    // read INTERNAL notes, DOMAIN.md section 6).
    let owner = app.user(&w.org, &w.north, "Pat Planner").await;
    let mut spec = w.spec(&w.n1, &w.north);
    spec.owner = Some(owner);
    spec.status = OrderStatus::InProgress;
    spec.assignees = vec![tech.clone()];
    spec.estimated_cost_cents = Some(125_000);
    let order = app.order(&spec).await;
    app.note(&order, &w.creator, "When will it be fixed?", false).await;
    app.note(&order, &tech, "Compressor is end of life", true).await;

    let query = "query($id: ID!) { order(id: $id) {
        title estimatedCost costLines { amount } history { action } notes { body visibility }
        creator { email } owner { name email } } }";
    // The requester who created it: estimate yes; costs, history and internal notes no.
    let response = app.graphql(Some(&app.token_for(&w.creator)), query, json!({ "id": order })).await;
    let body = &response.body;
    assert_eq!(body["data"]["order"]["title"], json!("Order"));
    assert_eq!(body["data"]["order"]["estimatedCost"], json!("1250.00"));
    assert_eq!(body["data"]["order"]["costLines"], Value::Null);
    assert_eq!(body["data"]["order"]["history"], Value::Null);
    assert_eq!(body["data"]["order"]["notes"], json!([{ "body": "When will it be fixed?", "visibility": "PUBLIC" }]));
    assert!(body["data"]["order"]["creator"]["email"].is_string(), "people read their own e-mail: {body}");
    assert_eq!(body["data"]["order"]["owner"], json!({ "name": "Pat Planner", "email": null }));
    let mut forbidden: Vec<String> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter(|e| e["extensions"]["code"] == "FORBIDDEN")
        .map(|e| e["path"].as_array().expect("path").iter().map(|p| p.to_string()).collect::<Vec<_>>().join("."))
        .collect();
    forbidden.sort();
    assert_eq!(
        forbidden,
        ["\"order\".\"costLines\"", "\"order\".\"history\"", "\"order\".\"owner\".\"email\""],
        "{body}"
    );

    // The assignee reads the internal note and their own cost lines, not the history.
    let response = app.graphql(Some(&app.token_for(&tech)), query, json!({ "id": order })).await;
    assert_eq!(response.body["data"]["order"]["notes"].as_array().map(Vec::len), Some(2));
    assert_eq!(response.body["data"]["order"]["costLines"], json!([]));
    assert_eq!(response.code(), Some("FORBIDDEN"));
    // The admin reads everything, including other users' e-mail.
    let data = app.graphql(Some(&app.token_for(&w.admin)), query, json!({ "id": order })).await;
    let data = data.assert_ok();
    assert!(data["order"]["owner"]["email"].is_string());
    assert!(data["order"]["history"].is_array());
}

async fn viewer_can_and_explain_access_follow_the_policy(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let tech = app.user(&w.org, &w.north, "Tom Tech").await;
    app.grant(&w.org, &tech, Role::Technician, &Bind::Site(w.n1.clone())).await;
    let planner = app.user(&w.org, &w.north, "Pat Planner").await;
    app.grant(&w.org, &planner, Role::Planner, &Bind::Account).await;
    let mut spec = w.spec(&w.n1, &w.north);
    spec.status = OrderStatus::PendingReview;
    spec.assignees = vec![tech.clone()];
    let order = app.order(&spec).await;

    let query = "query($id: ID!) { order(id: $id) { viewerCan { view closeReview requestRework start addInternalNote delete } } }";
    let can = |token: String| {
        let app = &app;
        let order = &order;
        async move {
            app.graphql(Some(&token), query, json!({ "id": order })).await.assert_ok()["order"]["viewerCan"].clone()
        }
    };
    // Separation of duties: the assignee does not review their own work; the planner does.
    assert_eq!(
        can(app.token_for(&tech)).await,
        json!({ "view": true, "closeReview": false, "requestRework": false, "start": false, "addInternalNote": true, "delete": false })
    );
    assert_eq!(
        can(app.token_for(&planner)).await,
        json!({ "view": true, "closeReview": true, "requestRework": true, "start": false, "addInternalNote": true, "delete": false })
    );
    assert_eq!(can(app.token_for(&w.admin)).await["delete"], json!(true));

    // The selection is answered as written: aliases, fragments, `__typename`,
    // a field asked twice, and `@skip`/`@include`.
    let shaped = "query($id: ID!, $no: Boolean!) { order(id: $id) { viewerCan {
        __typename review: closeReview closeReview ... on ViewerCan { start view }
        ...Deleting view mayRework: requestRework @include(if: $no) addNote @skip(if: $no) } } }
        fragment Deleting on ViewerCan { delete }";
    let data = app.graphql(Some(&app.token_for(&planner)), shaped, json!({ "id": order, "no": false })).await;
    let answer = data.assert_ok()["order"]["viewerCan"].clone();
    assert_eq!(
        answer,
        json!({ "__typename": "ViewerCan", "review": true, "closeReview": true, "start": false, "view": true,
                "delete": false, "addNote": true })
    );
    // In the selection's order, as the response's text has it.
    let text = response_text(&app, &app.token_for(&planner), shaped, json!({ "id": order, "no": false })).await;
    let at = |key: &str| text.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("{key} in {text}"));
    let keys = ["__typename", "review", "closeReview", "start", "view", "delete", "addNote"];
    assert!(keys.windows(2).all(|pair| at(pair[0]) < at(pair[1])), "{text}");

    let explain = "query($u: ID!, $a: Action!, $o: ID!) { explainAccess(userId: $u, action: $a, orderId: $o) { allowed reason } }";
    let admin_token = app.token_for(&w.admin);
    let data = app.graphql(Some(&admin_token), explain, json!({ "u": tech, "a": "CLOSE_REVIEW", "o": order })).await;
    let answer = data.assert_ok()["explainAccess"].clone();
    assert_eq!(answer["allowed"], json!(false));
    assert!(answer["reason"].as_str().expect("reason").contains("separation of duties"), "{answer}");
    let data = app.graphql(Some(&admin_token), explain, json!({ "u": planner, "a": "CLOSE_REVIEW", "o": order })).await;
    assert_eq!(data.assert_ok()["explainAccess"], json!({ "allowed": true, "reason": "PLANNER in scope" }));
    // Only admins ask.
    let refused =
        app.graphql(Some(&app.token_for(&planner)), explain, json!({ "u": tech, "a": "VIEW", "o": order })).await;
    assert_eq!(refused.code(), Some("FORBIDDEN"));
}

/// A site, user or vendor asked only its plain fields is answered whole by
/// its parent (`graphql::answered::brief`); asked anything else, it is
/// resolved field by field. Both give the same values, in the selection's
/// shape, and a guarded field still answers FORBIDDEN.
async fn brief_objects_answer_as_whole_ones_do(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let tech = app.user(&w.org, &w.north, "Tom Tech").await;
    app.grant(&w.org, &tech, Role::Technician, &Bind::Site(w.n1.clone())).await;
    let vendor = app.vendor(&w.org, None, "Fixit").await;
    let mut spec = w.spec(&w.n1, &w.north);
    spec.assignees = vec![tech.clone()];
    spec.vendor = Some(vendor.clone());
    let order = app.order(&spec).await;

    let query = "query($id: ID!) { order(id: $id) {
        briefSite: site { __typename id name ... on Site { name } }
        wholeSite: site { id name tags }
        briefOwner: owner { ... on Node { id } name active canLogin }
        wholeOwner: owner { id name active canLogin email }
        assignees { ...Person }
        wholeAssignees: assignees { ...Person account { id } }
        briefVendor: vendor { id label: name enabled requiresApproval manualSend }
        wholeVendor: vendor { id label: name enabled requiresApproval manualSend contactEmails }
    } } fragment Person on User { id name }";
    let data = app.graphql(Some(&app.token_for(&w.admin)), query, json!({ "id": order })).await;
    let got = data.assert_ok()["order"].clone();
    assert_eq!(got["briefSite"], json!({ "__typename": "Site", "id": w.n1, "name": "North 1" }));
    assert_eq!(got["wholeSite"]["name"], json!("North 1"));
    assert_eq!(got["briefOwner"]["id"], json!(w.creator));
    assert_eq!(got["briefOwner"]["name"], json!("Rita Requester"));
    for field in ["id", "name", "active", "canLogin"] {
        assert_eq!(got["briefOwner"][field], got["wholeOwner"][field], "{field}");
    }
    assert_eq!(got["assignees"], json!([{ "id": tech, "name": "Tom Tech" }]));
    assert_eq!(got["wholeAssignees"][0]["name"], json!("Tom Tech"));
    assert_eq!(got["briefVendor"]["id"], json!(vendor));
    assert_eq!(got["briefVendor"]["label"], json!("Fixit"));
    for field in ["id", "label", "enabled", "requiresApproval", "manualSend"] {
        assert_eq!(got["briefVendor"][field], got["wholeVendor"][field], "{field}");
    }

    // The technician reads a user's plain fields, and gets FORBIDDEN for a
    // guarded one asked beside them.
    let query = "query($id: ID!) { order(id: $id) { owner { id name email } assignees { id name } } }";
    let data = app.graphql(Some(&app.token_for(&tech)), query, json!({ "id": order })).await;
    assert_eq!(data.code(), Some("FORBIDDEN"));
    assert_eq!(data.data()["order"]["owner"], json!({ "id": w.creator, "name": "Rita Requester", "email": null }));
    assert_eq!(data.data()["order"]["assignees"], json!([{ "id": tech, "name": "Tom Tech" }]));
}

/// A partner token of `vendor` reading orders, created by `admin`.
async fn partner_token(app: &TestApp, admin: &str, vendor: &str) -> String {
    let create = "mutation($v: ID!) { createApiToken(name: \"partner\", capabilities: [\"orders:read\"], partnerVendorId: $v) { secret } }";
    let data = app.graphql(Some(admin), create, json!({ "v": vendor })).await;
    data.assert_ok()["createApiToken"]["secret"].as_str().expect("secret").to_owned()
}

/// The text of the response to `query`.
async fn response_text(app: &TestApp, token: &str, query: &str, variables: Value) -> String {
    reqwest::Client::new()
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("request sent")
        .text()
        .await
        .expect("a body")
}

/// A page of orders asking what a dashboard asks is built at once
/// (`Order::built`); the `order` query resolves its order field by field.
/// Each order of a page is the same, to the text, as the `order` query
/// gives it, for every principal, with aliases, fragments, `__typename`,
/// keys asked twice and `@skip`/`@include`; and a field the caller may not
/// read still answers FORBIDDEN at its path within a page.
async fn pages_answer_each_order_as_the_order_query_does(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let tech = app.user(&w.org, &w.north, "Tom Tech").await;
    app.grant(&w.org, &tech, Role::Technician, &Bind::Site(w.n1.clone())).await;
    let cfo = app.user(&w.org, &w.root, "Carla CFO").await;
    let vendor = app.vendor(&w.org, None, "Fixit").await;
    let mut spec = w.spec(&w.n1, &w.north);
    spec.assignees = vec![tech.clone(), w.creator.clone()];
    spec.vendor = Some(vendor.clone());
    spec.tags = vec!["hvac".into(), "roof".into()];
    spec.due_at = Some(1_800_000_000_000_000);
    spec.designated = vec![cfo];
    spec.status = OrderStatus::PendingApproval;
    spec.created_at = Some(1_700_000_000_000_000);
    let edited = app.order(&spec).await;
    let mut spec = w.spec(&w.n1, &w.north);
    spec.intake = true;
    spec.status = OrderStatus::PendingApproval;
    spec.priority = Priority::Urgent;
    app.order(&spec).await;
    let mut spec = w.spec(&w.n2, &w.south);
    spec.site = None;
    spec.assignees = vec![w.creator.clone()];
    app.order(&spec).await;

    let shown = "fragment Shown on Order {
        __typename id number kind title description priority status dueAt archived version tags createdAt updatedAt
        ... on Node { nodeId: id }
        site { __typename id } site { name id }
        owner { id name active canLogin } creator { ... on Node { id } name }
        assignees { id name } assignees { canLogin }
        vendor { id name enabled requiresApproval manualSend }
        viewerCan { view editDetails approve assign start cancel addNote } can: viewerCan { delete view }
        hidden: title @skip(if: true) shown: number @include(if: true)
    }";
    let partner_shown = "fragment Shown on Order { id number title description kind status priority dueAt site { name } vendor { id name } }";
    let admin = app.token_for(&w.admin);
    let partner = partner_token(&app, &admin, &vendor).await;
    // Updated since created, at version 2.
    let edit = "mutation($id: ID!) { editOrder(id: $id, version: 1, input: { title: \"Edited\" }) { version } }";
    let data = app.graphql(Some(&admin), edit, json!({ "id": edited })).await;
    assert_eq!(data.assert_ok()["editOrder"]["version"], json!(2));

    for (token, fragment, orders) in
        [(admin, shown, 3), (app.token_for(&tech), shown, 2), (partner.clone(), partner_shown, 1)]
    {
        let page = format!(
            "{{ orders(first: 10) {{ edges {{ __typename cursor node {{ ...Shown }} }} pageInfo {{ endCursor }} }} }} {fragment}"
        );
        let text = response_text(&app, &token, &page, json!({})).await;
        let body: Value = serde_json::from_str(&text).expect("JSON");
        assert!(body.get("errors").is_none(), "{text}");
        let edges = body["data"]["orders"]["edges"].as_array().expect("edges");
        assert_eq!(edges.len(), orders, "{text}");
        assert_eq!(edges.last().expect("an edge")["cursor"], body["data"]["orders"]["pageInfo"]["endCursor"]);
        for edge in edges {
            assert_eq!(edge["__typename"], json!("OrderEdge"));
            let detail = format!("query($id: ID!) {{ order(id: $id) {{ ...Shown }} }} {fragment}");
            let one = response_text(&app, &token, &detail, json!({ "id": edge["node"]["id"] })).await;
            let order = one
                .strip_prefix("{\"data\":{\"order\":")
                .and_then(|rest| rest.strip_suffix("}}"))
                .unwrap_or_else(|| panic!("one order: {one}"));
            assert!(text.contains(order), "{order}\nis not in the page\n{text}");
        }
    }

    // A partner asking an owner: FORBIDDEN at each order's path, the rest
    // as the `order` query gives it.
    let page = "{ orders(first: 10) { edges { node { id title owner { id } vendor { name } } } } }";
    let data = app.graphql(Some(&partner), page, json!({})).await;
    assert_eq!(data.code(), Some("FORBIDDEN"));
    assert_eq!(data.body["errors"][0]["path"], json!(["orders", "edges", 0, "node", "owner"]));
    let node = &data.data()["orders"]["edges"][0]["node"];
    let detail = "query($id: ID!) { order(id: $id) { id title owner { id } vendor { name } } }";
    let one = app.graphql(Some(&partner), detail, json!({ "id": node["id"] })).await;
    assert_eq!(one.code(), Some("FORBIDDEN"));
    assert_eq!(&one.data()["order"], node);
    assert_eq!(node["owner"], Value::Null);
}

async fn revoked_roles_and_deactivated_users_stop_on_the_next_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let order = app.order(&w.spec(&w.n2, &w.north)).await;
    let planner = app.user(&w.org, &w.north, "Pat Planner").await;
    app.grant(&w.org, &planner, Role::Planner, &Bind::Account).await;
    let token = app.token_for(&planner);
    let admin = app.token_for(&w.admin);
    assert_eq!(visible(&app, &token).await, set(&[&order]));

    app.graphql(
        Some(&admin),
        "mutation($i: RoleBindingInput!) { revokeRole(input: $i) { id } }",
        json!({ "i": { "userId": planner, "role": "PLANNER", "scopeKind": "ACCOUNT" } }),
    )
    .await
    .assert_ok();
    assert!(visible(&app, &token).await.is_empty(), "the revoked role still works");
    let response = app.graphql(Some(&token), "query($id: ID!) { order(id: $id) { id } }", json!({ "id": order })).await;
    assert_eq!(response.code(), Some("NOT_FOUND"));

    app.graphql(
        Some(&admin),
        "mutation($u: ID!) { setUserActive(id: $u, active: false) { active } }",
        json!({ "u": planner }),
    )
    .await
    .assert_ok();
    let response = app.graphql(Some(&token), IDS, json!({})).await;
    assert_eq!(response.code(), Some("UNAUTHENTICATED"));
}

async fn partner_tokens_read_their_vendors_orders_and_few_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let ours = app.vendor(&w.org, None, "CoolCo").await;
    let theirs = app.vendor(&w.org, None, "HeatCo").await;
    let mut spec = w.spec(&w.n1, &w.north);
    spec.kind = OrderKind::Part;
    spec.vendor = Some(ours.clone());
    spec.estimated_cost_cents = Some(5000);
    let routed = app.order(&spec).await;
    spec.vendor = Some(theirs);
    app.order(&spec).await;

    let admin = app.token_for(&w.admin);
    let secret = partner_token(&app, &admin, &ours).await;
    assert_eq!(visible(&app, &secret).await, set(&[&routed]));

    let query = "query($id: ID!) { order(id: $id) { number title status site { name } vendor { name } estimatedCost creator { name } } }";
    let response = app.graphql(Some(&secret), query, json!({ "id": routed })).await;
    let order = &response.body["data"]["order"];
    assert_eq!(order["title"], json!("Order"));
    assert_eq!(order["site"]["name"], json!("North 1"));
    assert_eq!(order["vendor"]["name"], json!("CoolCo"));
    assert_eq!((order["estimatedCost"].clone(), order["creator"].clone()), (Value::Null, Value::Null));
    let codes: BTreeSet<&str> = response.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["extensions"]["code"].as_str())
        .collect();
    assert_eq!(codes, BTreeSet::from(["FORBIDDEN"]));
    // Tokens are not people.
    assert_eq!(app.graphql(Some(&secret), "{ me { id } }", json!({})).await.code(), Some("FORBIDDEN"));
}

async fn my_work_and_my_requests(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let tech = app.user(&w.org, &w.north, "Tom Tech").await;
    app.grant(&w.org, &tech, Role::Technician, &Bind::Account).await;
    let mut spec = w.spec(&w.n1, &w.north);
    spec.assignees = vec![tech.clone()];
    spec.priority = Priority::Low;
    let low = app.order(&spec).await;
    spec.priority = Priority::Urgent;
    let urgent = app.order(&spec).await;
    spec.status = OrderStatus::Closed;
    app.order(&spec).await; // done: not work to do
    spec.status = OrderStatus::Open;
    spec.assignees = vec![];
    let unassigned = app.order(&spec).await;

    let queue = "query($q: Queue!) { queue(queue: $q, first: 20) { totalCount edges { node { id } } } }";
    let ids = |v: &Value| -> Vec<String> {
        v["queue"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["id"].as_str().expect("id").into())
            .collect()
    };
    let data = app.graphql(Some(&app.token_for(&tech)), queue, json!({ "q": "MY_WORK" })).await;
    assert_eq!(ids(data.assert_ok()), [urgent.clone(), low.clone()]);
    let data = app.graphql(Some(&app.token_for(&w.creator)), queue, json!({ "q": "MY_REQUESTS" })).await;
    let mine = ids(data.assert_ok());
    assert_eq!(mine.len(), 4, "{mine:?}");
    assert_eq!(mine[0], unassigned, "newest first");
    // FAILED_SENDS is ADMIN's (tests/sending.rs fills it).
    let data = app.graphql(Some(&app.token_for(&tech)), queue, json!({ "q": "FAILED_SENDS" })).await;
    assert_eq!(data.assert_ok()["queue"]["totalCount"], json!(0));
}

/// `OrderRow` (the orders' rows as every read decodes them, nullable
/// columns through sqlx) gives the model sea-orm's derived decoding gives,
/// for a row with every nullable column null and one with each set.
/// The rows decoded by position (`db::rows`) equal sea-orm's derived
/// decoding, with every nullable column null in one row and set in
/// another.
async fn rows_decode_as_sea_orm_does(backend: Backend) {
    use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder, Statement};
    use workgate::db::rows::{
        AccountRow, AssetRow, AttachmentRow, AuditEventRow, CostLineRow, NoteRow, OrderRow, PartUsageRow,
        ProcedureStepRow, SiteRow, TimeEntryRow, UserRow, VendorRow, VendorSendRow,
    };

    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let bare = app.order(&OrderSpec::new(&w.org, &w.creator)).await;
    let mut spec = w.spec(&w.n1, &w.north);
    spec.asset = Some(app.asset(&w.org, &w.n1, "Chiller", &["hvac"]).await);
    let vendor = app.vendor(&w.org, None, "CoolCo").await;
    spec.vendor = Some(vendor.clone());
    spec.scope = Some(w.north.clone());
    spec.estimated_cost_cents = Some(12_345);
    spec.due_at = Some(1_700_000_000_000_000);
    spec.intake = true;
    spec.designated = vec![w.admin.clone()];
    let full = app.order(&spec).await;
    let create = "mutation { createApiToken(name: \"erp\", capabilities: [\"orders:read\"]) { token { id } } }";
    let created = app.graphql(Some(&app.token_for(&w.admin)), create, json!({})).await;
    let token = created.assert_ok()["createApiToken"]["token"]["id"].as_str().expect("token id").to_owned();
    app.db
        .execute_raw(Statement::from_sql_and_values(
            app.db.get_database_backend(),
            match backend {
                Backend::Postgres => "UPDATE orders SET description = 'Leaking', resolution = 'Fixed', via_token_id = $1, closed_at = 11, deleted_at = 22, send_state = 'QUEUED' WHERE id = $2",
                Backend::Sqlite => "UPDATE orders SET description = 'Leaking', resolution = 'Fixed', via_token_id = ?, closed_at = 11, deleted_at = 22, send_state = 'QUEUED' WHERE id = ?",
            },
            [token.into(), full.clone().into()],
        ))
        .await
        .expect("set the other columns");
    let nulls = format!(
        "UPDATE orders SET description = NULL, site_id = NULL, asset_id = NULL, scope_account_id = NULL, \
         via_token_id = NULL, vendor_id = NULL, estimated_cost_cents = NULL, resolution = NULL, due_at = NULL, \
         closed_at = NULL, deleted_at = NULL, send_state = NULL WHERE id = '{bare}'"
    );
    app.db.execute_unprepared(&nulls).await.expect("null the bare order's columns");

    let by_id = entity::orders::Column::Id;
    let derived = entity::orders::Entity::find().order_by_asc(by_id).all(&app.db).await.expect("derived");
    let ours: Vec<_> = entity::orders::Entity::find()
        .order_by_asc(by_id)
        .into_model::<OrderRow>()
        .all(&app.db)
        .await
        .expect("ours")
        .into_iter()
        .map(|OrderRow(model)| model)
        .collect();
    assert_eq!(ours, derived);
    let of = |id: &str| derived.iter().find(|m| m.id == id).expect("order").clone();
    let (bare, full) = (of(&bare), of(&full));
    let set = |m: &entity::orders::Model| {
        [
            m.description.is_some(),
            m.site_id.is_some(),
            m.asset_id.is_some(),
            m.scope_account_id.is_some(),
            m.via_token_id.is_some(),
            m.vendor_id.is_some(),
            m.estimated_cost_cents.is_some(),
            m.resolution.is_some(),
            m.due_at.is_some(),
            m.closed_at.is_some(),
            m.deleted_at.is_some(),
            m.send_state.is_some(),
        ]
    };
    assert_eq!(set(&bare), [false; 12], "every nullable column null: {bare:?}");
    assert_eq!(set(&full), [true; 12], "every nullable column set: {full:?}");

    // The other rows: a decided step and an undecided one, a person with
    // a rate and without, a root and a child account, a scoped and deleted
    // vendor and one of neither.
    app.vendor(&w.org, Some(&w.north), "Scoped").await;
    for update in [
        "UPDATE approval_steps SET decision = 'APPROVED', decided_by = owner.id, decided_at = 33, reason = 'fine' \
         FROM (SELECT id FROM users LIMIT 1) AS owner WHERE approval_steps.position = 0",
        "UPDATE users SET hourly_rate_cents = 4200 WHERE name = 'Rita Requester'",
        "UPDATE vendors SET deleted_at = 44 WHERE name = 'Scoped'",
    ] {
        let update = match backend {
            Backend::Postgres => update.to_owned(),
            // SQLite has no UPDATE ... FROM before 3.33; a subquery does.
            Backend::Sqlite => update.replace(
                "decided_by = owner.id, decided_at = 33, reason = 'fine' \
         FROM (SELECT id FROM users LIMIT 1) AS owner WHERE approval_steps.position = 0",
                "decided_by = (SELECT id FROM users LIMIT 1), decided_at = 33, reason = 'fine' WHERE position = 0",
            ),
        };
        app.db.execute_unprepared(&update).await.expect("set the nullable columns");
    }
    // Every row of each table, ours against sea-orm's.
    macro_rules! same {
        ($row:ident, $entity:ident) => {{
            use entity::$entity as e;
            let derived = e::Entity::find().order_by_asc(e::Column::Id).all(&app.db).await.expect("derived");
            let ours: Vec<_> = e::Entity::find()
                .order_by_asc(e::Column::Id)
                .into_model::<$row>()
                .all(&app.db)
                .await
                .expect(stringify!($row))
                .into_iter()
                .map(|$row(model)| model)
                .collect();
            assert_eq!(ours, derived, stringify!($row));
            assert!(!derived.is_empty(), "{} has rows", stringify!($row));
            derived
        }};
    }
    let both = |set: BTreeSet<bool>, what: &str| assert_eq!(set, BTreeSet::from([false, true]), "{what}: set and not");
    // Another organization's person, account, site, asset and vendor: rows
    // by id are read within the caller's.
    let other = app.bootstrap("Other").await;
    let other_site = app.site(&other.organization_id, &other.account_id, "Elsewhere").await;
    app.asset(&other.organization_id, &other_site, "Boiler", &[]).await;
    app.vendor(&other.organization_id, None, "OtherCo").await;
    // The approval steps as an order's facts read them (one statement with
    // its tags and people, `orders::record::load`), against sea-orm's.
    let steps = {
        use entity::approval_steps as e;
        let derived = e::Entity::find().order_by_asc(e::Column::Id).all(&app.db).await.expect("derived");
        let orders = entity::orders::Entity::find().all(&app.db).await.expect("orders");
        let records = workgate::orders::record::load(&app.db, orders).await.expect("facts");
        let steps: Vec<_> = records.into_iter().flat_map(|record| record.steps).collect();
        let mut ours: Vec<e::Model> = steps.iter().map(|step| step.model.clone()).collect();
        ours.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(ours, derived, "steps");
        // And each step's approvers, the designated one among them.
        let mut approvers: Vec<(String, String)> = steps
            .iter()
            .flat_map(|step| step.approvers.iter().map(|user| (step.model.id.clone(), user.clone())))
            .collect();
        approvers.sort();
        let mut stored: Vec<(String, String)> = entity::approval_step_approvers::Entity::find()
            .all(&app.db)
            .await
            .expect("approvers")
            .into_iter()
            .map(|row| (row.step_id, row.user_id))
            .collect();
        stored.sort();
        assert_eq!(approvers, stored, "approvers");
        assert!(stored.iter().any(|(_, user)| *user == w.admin), "the designated approver: {stored:?}");
        derived
    };
    both(
        steps
            .iter()
            .map(|m| m.decision.is_some() && m.decided_by.is_some() && m.decided_at.is_some() && m.reason.is_some())
            .collect(),
        "steps",
    );
    let users = same!(UserRow, users);
    both(users.iter().map(|m| m.hourly_rate_cents.is_some()).collect(), "users");
    let accounts = same!(AccountRow, accounts);
    both(accounts.iter().map(|m| m.parent_id.is_some()).collect(), "accounts");
    let vendors = same!(VendorRow, vendors);
    both(vendors.iter().map(|m| m.scope_account_id.is_some() && m.deleted_at.is_some()).collect(), "vendors");
    let sites = same!(SiteRow, sites);
    let assets = same!(AssetRow, assets);

    // The same rows read together as wide rows (`db::wide`), as a page's
    // or an order's people, sites, assets, vendors and accounts are.
    {
        use std::sync::Arc;
        use workgate::graphql::loaders::{
            self, AccountById, AssetById, Children, Named, SiteById, UserById, VendorById,
        };

        /// The models, sorted by id.
        fn sorted<T: Clone>(models: impl IntoIterator<Item = Arc<T>>, id: impl Fn(&T) -> &str) -> Vec<T> {
            let mut models: Vec<T> = models.into_iter().map(|m| (*m).clone()).collect();
            models.sort_by(|a, b| id(a).cmp(id(b)));
            models
        }
        let reads = workgate::db::Reads::new(&app.db, &app.statements, true);
        let loaders = loaders::for_request(reads.clone(), w.org.clone());
        let named = Named {
            users: users.iter().map(|m| UserById(m.id.clone())).collect(),
            sites: sites.iter().map(|m| SiteById(m.id.clone())).collect(),
            assets: assets.iter().map(|m| AssetById(m.id.clone())).collect(),
            vendors: vendors.iter().map(|m| VendorById(m.id.clone())).collect(),
            accounts: accounts.iter().map(|m| AccountById(m.id.clone())).collect(),
        };
        let found = loaders::prime(&loaders, named, Children::default()).await.expect("read together");
        // Within the caller's organization, as the loaders read: each
        // table has rows of the other one, asked and not read.
        macro_rules! of_org {
            ($models:expr) => {{
                let all = &$models;
                let ours: Vec<_> = all.iter().filter(|m| m.organization_id == w.org).cloned().collect();
                assert!(!ours.is_empty() && ours.len() < all.len(), "rows of both organizations");
                ours
            }};
        }
        assert_eq!(sorted(found.users.into_values(), |m| &m.id), of_org!(users));
        assert_eq!(sorted(found.sites.into_values(), |m| &m.id), of_org!(sites));
        assert_eq!(sorted(found.vendors.into_values(), |m| &m.id), of_org!(vendors));
        assert_eq!(sorted(loaders.get_cached_values::<AssetById>().into_values(), |m| &m.id), of_org!(assets));
        assert_eq!(sorted(loaders.get_cached_values::<AccountById>().into_values(), |m| &m.id), of_org!(accounts));
        reads.release().await;
    }

    // An order's children, each table with a row whose nullable columns
    // are null and one with them set (and a note and a cost line, which
    // have none).
    let (org, order, user) = (&w.org, &full.id, &w.admin);
    for insert in [
        format!(
            "INSERT INTO notes (id, order_id, author_id, body, visibility, created_at) \
             VALUES ('note_1', '{order}', '{user}', 'Checked', 'PUBLIC', 1)"
        ),
        format!(
            "INSERT INTO time_entries (id, order_id, user_id, hours, note, cost_cents, logged_at) \
             VALUES ('time_1', '{order}', '{user}', 1.5, NULL, NULL, 2), \
             ('time_2', '{order}', '{user}', 0.25, 'Travel', 1050, 3)"
        ),
        format!(
            "INSERT INTO cost_lines (id, order_id, category, description, amount_cents, added_by, created_at) \
             VALUES ('cost_1', '{order}', 'PARTS', 'Valve', 4200, '{user}', 4)"
        ),
        format!(
            "INSERT INTO audit_events (id, organization_id, at, actor_id, token_id, token_name, action, \
             entity_type, entity_id, order_id, changes, reason) \
             VALUES ('aud_0001', '{org}', 5, NULL, NULL, NULL, 'TEST', 'order', '{order}', NULL, '{{}}', NULL), \
             ('aud_0002', '{org}', 6, '{user}', 'tok_1', 'erp', 'TEST', 'order', '{order}', '{order}', '{{}}', 'why')"
        ),
        "INSERT INTO attachment_blobs (sha256, size_bytes, content) VALUES ('ab', 1, '\\x00')".to_owned(),
        format!(
            "INSERT INTO attachments (id, order_id, filename, content_type, size_bytes, sha256, uploaded_by, \
             created_at) VALUES ('att_1', '{order}', 'a.pdf', 'application/pdf', 10, 'ab', '{user}', 7)"
        ),
        format!(
            "INSERT INTO part_usages (id, order_id, part_number, description, quantity, added_by, created_at) \
             VALUES ('part_1', '{order}', 'P-1', NULL, 2.0, '{user}', 8), \
             ('part_2', '{order}', 'P-2', 'Gasket', 0.5, '{user}', 9)"
        ),
        format!(
            "INSERT INTO procedure_steps (id, order_id, position, text, done, done_by, done_at) \
             VALUES ('step_1', '{order}', 0, 'Isolate', FALSE, NULL, NULL), \
             ('step_2', '{order}', 1, 'Replace', TRUE, '{user}', 10)"
        ),
        format!(
            "INSERT INTO vendor_sends (id, organization_id, order_id, vendor_id, trigger, requested_by, state, \
             attempts, next_attempt_at, lease_until, recipients, last_error, message_id, created_at, finished_at) \
             VALUES ('send_1', '{org}', '{order}', '{vendor}', 'AUTO', NULL, 'SENT', 1, 11, NULL, '[]', NULL, \
             'm1', 12, NULL), \
             ('send_2', '{org}', '{order}', '{vendor}', 'MANUAL', '{user}', 'FAILED', 3, 13, 14, '[]', 'refused', \
             'm2', 15, 16)"
        ),
    ] {
        app.db.execute_unprepared(&insert).await.expect("insert an order's children");
    }
    same!(NoteRow, notes);
    same!(CostLineRow, cost_lines);
    let time = same!(TimeEntryRow, time_entries);
    both(time.iter().map(|m| m.note.is_some() && m.cost_cents.is_some()).collect(), "time entries");
    let events = same!(AuditEventRow, audit_events);
    let set = |m: &entity::audit_events::Model| {
        m.actor_id.is_some()
            && m.token_id.is_some()
            && m.token_name.is_some()
            && m.order_id.is_some()
            && m.reason.is_some()
    };
    both(events.iter().filter(|m| m.action == "TEST").map(set).collect(), "audit events");
    same!(AttachmentRow, attachments);
    let parts = same!(PartUsageRow, part_usages);
    both(parts.iter().map(|m| m.description.is_some()).collect(), "parts");
    let steps = same!(ProcedureStepRow, procedure_steps);
    both(steps.iter().map(|m| m.done_by.is_some() && m.done_at.is_some()).collect(), "procedure steps");
    let sends = same!(VendorSendRow, vendor_sends);
    both(
        sends
            .iter()
            .filter(|m| ["send_1", "send_2"].contains(&m.id.as_str()))
            .map(|m| {
                m.requested_by.is_some() && m.lease_until.is_some() && m.last_error.is_some() && m.finished_at.is_some()
            })
            .collect(),
        "vendor sends",
    );

    // A NULL is read into an Option, and refused for anything else.
    let row = app
        .db
        .query_one_raw(Statement::from_string(app.db.get_database_backend(), "SELECT CAST(NULL AS TEXT) AS missing"))
        .await
        .expect("selected")
        .expect("a row");
    assert_eq!(workgate::db::rows::at::<Option<String>>(&row, 0).expect("an Option"), None);
    assert!(workgate::db::rows::at::<String>(&row, 0).is_err(), "NULL is no String");
}

/// An order asked alone reads its children of every kind (notes, time,
/// cost lines, actual cost, history, attachments, parts) in one statement
/// with the people and places it names (`graphql::loaders::prime`): its
/// statements do not grow with the kinds asked. What it answers is, to
/// the text, what a page of orders answers for the same order, where each
/// kind is its own loader's statement; for the ADMIN, who reads
/// everything, and for an assigned TECHNICIAN, whose notes leave out
/// INTERNAL ones and who reads only their own cost lines, with rows whose
/// nullable columns are null and set. Its approval steps (read with the
/// order's facts, `orders::record`) answer every column, decided and not.
async fn an_orders_children_come_in_one_statement_as_a_page_reads_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let tech = app.user(&w.org, &w.north, "Tom Tech").await;
    app.grant(&w.org, &tech, Role::Technician, &Bind::Site(w.n1.clone())).await;
    let mut spec = w.spec(&w.n1, &w.north);
    spec.asset = Some(app.asset(&w.org, &w.n1, "Boiler", &[]).await);
    spec.vendor = Some(app.vendor(&w.org, None, "HeatCo").await);
    spec.assignees = vec![tech.clone()];
    spec.status = OrderStatus::InProgress;
    // Its requester only created it: INTERNAL notes are the owner's and the staff's.
    spec.owner = Some(w.admin.clone());
    // Two approval steps, the first decided below.
    spec.intake = true;
    spec.designated = vec![w.admin.clone()];
    let order = app.order(&spec).await;
    let other = app.order(&spec).await;
    let (org, admin) = (&w.org, &w.admin);
    for insert in [
        format!(
            "INSERT INTO notes (id, order_id, author_id, body, visibility, created_at) VALUES \
             ('note_1', '{order}', '{admin}', 'Checked', 'PUBLIC', 1), \
             ('note_2', '{order}', '{admin}', 'Quote is high', 'INTERNAL', 2), \
             ('note_3', '{order}', '{tech}', 'On site', 'PUBLIC', 2), \
             ('note_4', '{other}', '{tech}', 'Elsewhere', 'PUBLIC', 1)"
        ),
        format!(
            "INSERT INTO time_entries (id, order_id, user_id, hours, note, cost_cents, logged_at) VALUES \
             ('time_1', '{order}', '{tech}', 1.5, NULL, NULL, 2), \
             ('time_2', '{order}', '{admin}', 0.25, 'Travel', 1050, 3), \
             ('time_3', '{other}', '{tech}', 4.0, NULL, 9999, 3)"
        ),
        format!(
            "INSERT INTO cost_lines (id, order_id, category, description, amount_cents, added_by, created_at) VALUES \
             ('cost_1', '{order}', 'PARTS', 'Valve', 4200, '{admin}', 4), \
             ('cost_2', '{order}', 'LABOR', 'Call-out', 3000, '{tech}', 4), \
             ('cost_3', '{other}', 'PARTS', 'Pump', 70000, '{tech}', 4)"
        ),
        format!(
            "INSERT INTO audit_events (id, organization_id, at, actor_id, token_id, token_name, action, \
             entity_type, entity_id, order_id, changes, reason) VALUES \
             ('aud_0001', '{org}', 5, NULL, NULL, NULL, 'TEST', 'order', '{order}', '{order}', '{{}}', NULL), \
             ('aud_0002', '{org}', 6, '{admin}', 'tok_1', 'erp', 'TEST', 'order', '{order}', '{order}', \
             '{{\"title\":[\"a\",\"b\"]}}', 'why')"
        ),
        "INSERT INTO attachment_blobs (sha256, size_bytes, content) VALUES ('ab', 1, '\\x00')".to_owned(),
        format!(
            "INSERT INTO attachments (id, order_id, filename, content_type, size_bytes, sha256, uploaded_by, \
             created_at) VALUES ('att_1', '{order}', 'a.pdf', 'application/pdf', 10, 'ab', '{tech}', 7)"
        ),
        format!(
            "INSERT INTO part_usages (id, order_id, part_number, description, quantity, added_by, created_at) VALUES \
             ('part_1', '{order}', 'P-1', NULL, 2.0, '{tech}', 8), \
             ('part_2', '{order}', 'P-2', 'Gasket', 0.5, '{tech}', 9), \
             ('part_3', '{other}', 'P-3', NULL, 1.0, '{tech}', 9)"
        ),
    ] {
        app.execute_sql(&insert).await;
    }

    // The ADMIN's with what the order names, read with its children.
    let everything = "fragment Children on Order { id
        site { id name } asset { id name } vendor { id name } scope { id name }
        creator { id name } owner { id name } assignees { id name email }
        notes { id author { id } body visibility createdAt }
        timeEntries { id user { id } hours note cost loggedAt }
        costLines { id category description amount addedBy { id } }
        actualCost
        history { id at actor { id } viaToken action orderId changes reason }
        attachments { id filename contentType sizeBytes sha256 uploadedBy { id } createdAt }
        parts { id partNumber description quantity } }";
    // A technician reads INTERNAL notes and, assigned, their own cost
    // lines; the requester who created the order (not its owner), PUBLIC
    // notes and no costs.
    let technicians = "fragment Children on Order { id
        notes { id author { id } body visibility createdAt }
        timeEntries { id user { id } hours note loggedAt }
        costLines { id category description amount addedBy { id } }
        attachments { id filename contentType sizeBytes sha256 uploadedBy { id } createdAt }
        parts { id partNumber description quantity } }";
    let requesters = "fragment Children on Order { id
        notes { id author { id } body visibility createdAt }
        timeEntries { id user { id } hours note loggedAt }
        attachments { id filename contentType sizeBytes sha256 uploadedBy { id } createdAt }
        parts { id partNumber description quantity } }";
    let (admin, tech, requester) = (app.token_for(admin), app.token_for(&tech), app.token_for(&w.creator));
    for (token, fragment, notes, cost_lines) in [
        (&admin, everything, &["note_1", "note_2", "note_3"][..], &["cost_1", "cost_2"][..]),
        (&tech, technicians, &["note_1", "note_2", "note_3"], &["cost_2"]),
        (&requester, requesters, &["note_1", "note_3"], &[]),
    ] {
        let detail = format!("query($id: ID!) {{ order(id: $id) {{ ...Children }} }} {fragment}");
        let one = response_text(&app, token, &detail, json!({ "id": order })).await;
        let body: Value = serde_json::from_str(&one).expect("JSON");
        assert!(body.get("errors").is_none(), "{one}");
        let page = format!("{{ orders(first: 10) {{ edges {{ node {{ ...Children }} }} }} }} {fragment}");
        let text = response_text(&app, token, &page, json!({})).await;
        let edges: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(edges["data"]["orders"]["edges"].as_array().map(Vec::len), Some(2), "{text}");
        let node = one
            .strip_prefix("{\"data\":{\"order\":")
            .and_then(|rest| rest.strip_suffix("}}"))
            .unwrap_or_else(|| panic!("one order: {one}"));
        assert!(text.contains(node), "{node}\nis not in the page\n{text}");

        let order = &body["data"]["order"];
        let ids = |list: &str| -> Vec<String> {
            let rows = order[list].as_array().map(Vec::as_slice).unwrap_or_default();
            rows.iter().map(|row| row["id"].as_str().expect("id").to_owned()).collect()
        };
        assert_eq!(ids("timeEntries"), ["time_1", "time_2"]);
        assert_eq!(ids("attachments"), ["att_1"]);
        assert_eq!(ids("parts"), ["part_1", "part_2"]);
        assert_eq!(ids("notes"), notes, "{one}");
        assert_eq!(ids("costLines"), cost_lines, "{one}");
        if token == &admin {
            assert_eq!(order["actualCost"], json!("82.50"), "10.50 of time and 72.00 of cost lines: {one}");
            assert_eq!(ids("history"), ["aud_0001", "aud_0002"], "{one}");
        }
    }

    // One kind alone, the totals (no text column of their own).
    let cost =
        app.graphql(Some(&admin), "query($id: ID!) { order(id: $id) { actualCost } }", json!({ "id": order })).await;
    assert_eq!(cost.assert_ok()["order"]["actualCost"], json!("82.50"));

    // The order's approval steps, every column, decided and not.
    app.execute_sql(&format!(
        "UPDATE approval_steps SET decision = 'APPROVED', decided_by = '{}', decided_at = 33, reason = 'fine' \
         WHERE order_id = '{order}' AND position = 0",
        w.admin
    ))
    .await;
    let steps = "query($id: ID!) { order(id: $id) {
        approvalSteps { position source approvers { id } decision decidedBy { id } decidedAt reason } } }";
    let answered = app.graphql(Some(&admin), steps, json!({ "id": order })).await;
    assert_eq!(
        answered.assert_ok()["order"]["approvalSteps"],
        json!([
            { "position": 0, "source": "intake", "approvers": [], "decision": "APPROVED",
              "decidedBy": { "id": w.admin }, "decidedAt": "1970-01-01T00:00:00.000033+00:00", "reason": "fine" },
            { "position": 1, "source": "rule", "approvers": [{ "id": w.admin }], "decision": null,
              "decidedBy": null, "decidedAt": null, "reason": null },
        ])
    );

    // The statements of an order alone: the same for one kind of child
    // as for all seven, and for all seven with the site, asset, vendor,
    // account and people it names (read with them,
    // `graphql::loaders::prime`).
    let mut costs = Vec::new();
    for children in [
        "notes { id }",
        "notes { id } timeEntries { id } costLines { id } actualCost history { id } \
                      attachments { id } parts { id }",
        "notes { id } timeEntries { id } costLines { id } actualCost history { id } \
                      attachments { id } parts { id } \
                      site { name } asset { name } vendor { name } scope { name } creator { name } \
                      owner { name } assignees { name }",
    ] {
        let query = format!("query($id: ID!) {{ order(id: $id) {{ id {children} }} }}");
        app.graphql(Some(&admin), "{ me { id } }", json!({})).await.assert_ok();
        let before = app.statements.get();
        app.graphql(Some(&admin), &query, json!({ "id": order })).await.assert_ok();
        costs.push(app.statements.get() - before);
    }
    assert!(costs.iter().all(|cost| *cost == costs[0]), "one kind of child, seven, seven and names: {costs:?}");
}

/// An order's facts, as the policy reads them: its tags by name, its
/// assignees as assigned, and everyone who logged work on it once each,
/// however many entries they logged, in the order of their ids; another
/// order's facts, with the same people, apart.
async fn an_orders_facts_name_each_logger_once(backend: Backend) {
    use sea_orm::EntityTrait;

    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let (ann, bob) = (app.user(&w.org, &w.north, "Ann").await, app.user(&w.org, &w.north, "Bob").await);
    let mut spec = w.spec(&w.n1, &w.north);
    spec.tags = vec!["pump".into(), "hvac".into()];
    spec.assignees = vec![bob.clone(), ann.clone()];
    spec.work_loggers = vec![bob.clone(), ann.clone(), bob.clone(), bob.clone()];
    let busy = app.order(&spec).await;
    spec.tags = vec!["hvac".into()];
    spec.assignees = vec![ann.clone()];
    spec.work_loggers = vec![ann.clone(), ann.clone()];
    let other = app.order(&spec).await;
    let quiet = app.order(&w.spec(&w.n1, &w.north)).await;

    let models = entity::orders::Entity::find().all(&app.db).await.expect("orders");
    let records = workgate::orders::record::load(&app.db, models).await.expect("facts");
    let of = |id: &str| records.iter().find(|r| r.model.id == id).expect("a record");
    let mut both = vec![ann.clone(), bob.clone()];
    both.sort();
    let mut assigned = vec![bob.clone(), ann.clone()];
    assigned.sort();
    assert_eq!(of(&busy).tags().expect("read"), ["hvac", "pump"]);
    assert_eq!(of(&busy).assignee_ids, assigned, "assigned at the same moment: by id");
    assert_eq!(of(&busy).work_logger_ids, both);
    assert_eq!(of(&other).tags().expect("read"), ["hvac"]);
    assert_eq!(of(&other).assignee_ids, std::slice::from_ref(&ann));
    assert_eq!(of(&other).work_logger_ids, std::slice::from_ref(&ann));
    assert!(of(&quiet).work_logger_ids.is_empty() && of(&quiet).tags().expect("read").is_empty());
}
