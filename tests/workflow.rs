//! The order workflow through the API: every row of the transition table
//! allowed and refused, the seed stories end to end, races with exactly one
//! winner, bad input that writes nothing, deletion.

mod common;

use std::collections::BTreeSet;

use common::world::{Bind, OrderSpec};
use common::{Backend, TestApp, spawn_app};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use workgate::orders::model::{OrderKind, OrderStatus};
use workgate::org::model::Role;

backend_tests!(
    every_row_of_the_transition_table,
    seed_002_story_from_request_to_closed,
    seed_000_review_loop_and_deletion_queue,
    stale_versions_and_lost_races_are_conflicts,
    concurrent_creates_get_consecutive_numbers,
    bad_input_is_refused_and_writes_nothing,
    tokens_create_on_behalf_of_a_user,
    work_on_an_order_is_recorded_and_guarded,
    seed_001_owner_and_assignees,
    seed_004_requester_tracks_and_chats,
    attachments_at_creation_and_the_configured_limit,
    deletion_requests_show_only_orders_in_sight,
    deletion_decisions_have_one_winner,
    assign_takes_each_person_once,
);

/// An organization with one site and one person per part.
struct Shop {
    org: String,
    root: String,
    site: String,
    admin: String,
    planner: String,
    approver: String,
    tech: String,
    requester: String,
}

async fn shop(app: &TestApp) -> Shop {
    let boot = app.bootstrap("Shop").await;
    let (org, root) = (boot.organization_id, boot.account_id);
    let site = app.site(&org, &root, "Plant").await;
    let person = |name: &'static str, role: Role| {
        let (app, org, root, site) = (app, org.clone(), root.clone(), site.clone());
        async move {
            let user = app.user(&org, &root, name).await;
            app.grant(&org, &user, role, &Bind::Site(site)).await;
            user
        }
    };
    Shop {
        planner: person("Pat Planner", Role::Planner).await,
        approver: person("Avery Approver", Role::Approver).await,
        tech: person("Tess Tech", Role::Technician).await,
        requester: person("Rene Requester", Role::Requester).await,
        admin: boot.admin_user_id,
        org,
        root,
        site,
    }
}

const ORDER: &str = "id number status version archived assignees { id }";

async fn mutate(app: &TestApp, user: &str, query: &str, variables: Value) -> common::GqlResponse {
    app.graphql(Some(&app.token_for(user)), query, variables).await
}

async fn audit_count(app: &TestApp, order: &str, action: &str) -> u64 {
    entity::audit_events::Entity::find()
        .filter(entity::audit_events::Column::OrderId.eq(order))
        .filter(entity::audit_events::Column::Action.eq(action))
        .count(&app.db)
        .await
        .expect("count")
}

/// For each transition: its mutation, who performs it, what the order
/// needs, and the statuses the table admits with the status it leads to.
struct Row {
    name: &'static str,
    mutation: &'static str,
    kind: OrderKind,
    from: &'static [(OrderStatus, OrderStatus)],
}

async fn every_row_of_the_transition_table(backend: Backend) {
    use OrderStatus::*;
    let app = spawn_app(backend).await;
    let s = shop(&app).await;
    let rows = [
        Row {
            name: "approve",
            mutation: "mutation($id: ID!, $v: Int!) { approve(id: $id, version: $v) { status } }",
            kind: OrderKind::Work,
            from: &[(PendingApproval, Open)],
        },
        Row {
            name: "reject",
            mutation: "mutation($id: ID!, $v: Int!) { reject(id: $id, version: $v, reason: \"no budget\") { status } }",
            kind: OrderKind::Work,
            from: &[(PendingApproval, Rejected)],
        },
        Row {
            name: "resubmit",
            mutation: "mutation($id: ID!, $v: Int!) { resubmit(id: $id, version: $v) { status } }",
            kind: OrderKind::Work,
            from: &[(Rejected, PendingApproval)],
        },
        Row {
            name: "assign",
            mutation: "mutation($id: ID!, $v: Int!, $a: [ID!]!) { assign(id: $id, version: $v, assigneeIds: $a) { status } }",
            kind: OrderKind::Work,
            from: &[(Open, Open), (InProgress, InProgress), (ActionNeeded, ActionNeeded)],
        },
        Row {
            name: "start",
            mutation: "mutation($id: ID!, $v: Int!) { start(id: $id, version: $v) { status } }",
            kind: OrderKind::Work,
            from: &[(Open, InProgress), (ActionNeeded, InProgress)],
        },
        Row {
            name: "submitForReview",
            mutation: "mutation($id: ID!, $v: Int!) { submitForReview(id: $id, version: $v, resolution: \"fixed\") { status } }",
            kind: OrderKind::Work,
            from: &[(InProgress, PendingReview)],
        },
        Row {
            name: "closeReview",
            mutation: "mutation($id: ID!, $v: Int!) { closeReview(id: $id, version: $v) { status } }",
            kind: OrderKind::Work,
            from: &[(PendingReview, Closed)],
        },
        Row {
            name: "requestRework",
            mutation: "mutation($id: ID!, $v: Int!) { requestRework(id: $id, version: $v, reason: \"leaks\") { status } }",
            kind: OrderKind::Work,
            from: &[(PendingReview, ActionNeeded)],
        },
        Row {
            name: "markFulfilled",
            mutation: "mutation($id: ID!, $v: Int!) { markFulfilled(id: $id, version: $v) { status } }",
            kind: OrderKind::Part,
            from: &[(Sent, Closed)],
        },
        Row {
            name: "cancel",
            mutation: "mutation($id: ID!, $v: Int!) { cancel(id: $id, version: $v) { status } }",
            kind: OrderKind::Work,
            from: &[
                (PendingApproval, Cancelled),
                (Rejected, Cancelled),
                (Open, Cancelled),
                (InProgress, Cancelled),
                (PendingReview, Cancelled),
                (ActionNeeded, Cancelled),
            ],
        },
        Row {
            name: "editOrder",
            mutation: "mutation($id: ID!, $v: Int!) { editOrder(id: $id, version: $v, input: { title: \"Renamed\" }) { status } }",
            kind: OrderKind::Work,
            from: &[
                (PendingApproval, PendingApproval),
                (Rejected, Rejected),
                (Open, Open),
                (InProgress, InProgress),
                (PendingReview, PendingReview),
                (ActionNeeded, ActionNeeded),
            ],
        },
        Row {
            name: "archive",
            mutation: "mutation($id: ID!) { archive(id: $id) { status archived } }",
            kind: OrderKind::Work,
            from: &[(Closed, Closed), (Cancelled, Cancelled), (Rejected, Rejected)],
        },
    ];
    for row in &rows {
        for &status in OrderStatus::ALL {
            let kind_statuses = [Sent, SendFailed];
            if row.kind == OrderKind::Work && kind_statuses.contains(&status) {
                continue; // vendor-only statuses: a work order never reaches them
            }
            // Who performs it: the approver decides intake, the creator
            // resubmits, the assignee works, the planner reviews, the admin
            // cancels and archives.
            let mut spec = OrderSpec::new(&s.org, &s.requester);
            spec.site = Some(s.site.clone());
            spec.kind = row.kind;
            spec.status = status;
            // A rejected order was rejected at a step, which resubmitting
            // starts over.
            spec.intake = matches!(status, PendingApproval | Rejected);
            spec.assignees = vec![s.tech.clone()];
            let actor = match row.name {
                "approve" | "reject" => &s.approver,
                "resubmit" => &s.requester,
                "start" | "submitForReview" | "assign" => &s.tech,
                "closeReview" | "requestRework" | "markFulfilled" | "editOrder" => &s.planner,
                _ => &s.admin,
            };
            let id = app.order(&spec).await;
            let response = mutate(&app, actor, row.mutation, json!({ "id": id, "v": 1, "a": [s.tech.clone()] })).await;
            match row.from.iter().find(|(from, _)| *from == status) {
                Some((_, to)) => {
                    let data = response.assert_ok();
                    assert_eq!(data[row.name]["status"], json!(to.as_str()), "{} from {status:?}", row.name);
                    assert_eq!(audit_count(&app, &id, &format!("order.{}", snake(row.name))).await, 1);
                }
                None => {
                    assert_eq!(
                        response.code(),
                        Some("INVALID_TRANSITION"),
                        "{} from {status:?}: {}",
                        row.name,
                        response.body
                    );
                    assert_eq!(audit_count(&app, &id, &format!("order.{}", snake(row.name))).await, 0);
                }
            }
        }
    }
    // Who may: the same transitions refused to the wrong people.
    let mut spec = OrderSpec::new(&s.org, &s.requester);
    spec.site = Some(s.site.clone());
    spec.status = PendingApproval;
    spec.intake = true;
    let pending = app.order(&spec).await;
    let approve = "mutation($id: ID!) { approve(id: $id, version: 1) { status } }";
    assert_eq!(mutate(&app, &s.requester, approve, json!({ "id": pending })).await.code(), Some("FORBIDDEN"));
    assert_eq!(mutate(&app, &s.tech, approve, json!({ "id": pending })).await.code(), Some("FORBIDDEN"));
    spec.status = PendingReview;
    spec.intake = false;
    spec.assignees = vec![s.tech.clone()];
    let review = app.order(&spec).await;
    let close = "mutation($id: ID!) { closeReview(id: $id, version: 1) { status } }";
    let refused = mutate(&app, &s.tech, close, json!({ "id": review })).await;
    assert_eq!(refused.code(), Some("FORBIDDEN"));
    assert!(refused.body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("separation of duties")));
}

/// The audit action of a mutation: `order.` + its snake name (editOrder is
/// the EDIT_DETAILS action).
fn snake(name: &str) -> String {
    if name == "editOrder" {
        return "edit_details".to_owned();
    }
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Seed 002: an originator's request, approved at the site, assigned by the
/// processor, worked by the technician, reviewed and closed.
async fn seed_002_story_from_request_to_closed(backend: Backend) {
    let app = spawn_app(backend).await;
    let s = shop(&app).await;
    let create = format!(
        "mutation($i: CreateOrderInput!) {{ createOrder(input: $i) {{ {ORDER} creator {{ id }} owner {{ id }} procedure {{ id }} }} }}"
    );
    let data = mutate(
        &app,
        &s.requester,
        &create,
        json!({ "i": { "kind": "WORK", "title": "Leaking tap in room 4", "siteId": s.site, "tags": ["Plumbing"], "procedure": ["Shut valve", "Replace washer"] } }),
    )
    .await;
    let order = data.assert_ok()["createOrder"].clone();
    assert_eq!(order["status"], json!("PENDING_APPROVAL"), "requests wait for the site's approver");
    assert!(order["number"].as_str().is_some_and(|n| n.starts_with("WO-")));
    assert_eq!(order["creator"]["id"], json!(s.requester));
    let id = order["id"].as_str().expect("id").to_owned();
    let steps: Vec<String> =
        order["procedure"].as_array().expect("steps").iter().map(|s| s["id"].as_str().expect("id").into()).collect();

    let run = |user: &str, query: &str, vars: Value| {
        let (app, user, query) = (&app, user.to_owned(), query.to_owned());
        async move {
            let response = mutate(app, &user, &query, vars).await;
            let data = response.assert_ok();
            data.as_object().expect("object").values().next().expect("field").clone()
        }
    };
    let approved =
        run(&s.approver, "mutation($id: ID!) { approve(id: $id, version: 1) { status version } }", json!({ "id": id }))
            .await;
    assert_eq!(approved, json!({ "status": "OPEN", "version": 2 }));
    // Only active people of the organization are assigned; workers without
    // a login are (seed 002's paper work orders).
    let assign = "mutation($id: ID!, $a: [ID!]!) { assign(id: $id, version: 2, assigneeIds: $a) { assignees { id } } }";
    let root =
        entity::users::Entity::find_by_id(s.tech.as_str()).one(&app.db).await.expect("query").expect("tech").account_id;
    let paper_worker = app.create_user(&s.org, &root, "Walt Worker", "walt@shop.example", false).await;
    let gone = app.user(&s.org, &root, "Gone Person").await;
    app.execute_sql(&format!("UPDATE users SET active = false WHERE id = '{gone}'")).await;
    let refused = mutate(&app, &s.planner, assign, json!({ "id": id, "a": [s.tech, gone] })).await;
    assert_eq!(refused.body["errors"][0]["extensions"]["field"], json!("assigneeIds[1]"), "{}", refused.body);
    let assigned = run(&s.planner, assign, json!({ "id": id, "a": [s.tech, paper_worker] })).await;
    assert_eq!(assigned["assignees"].as_array().map(Vec::len), Some(2));
    let started =
        run(&s.tech, "mutation($id: ID!) { start(id: $id, version: 3) { status } }", json!({ "id": id })).await;
    assert_eq!(started["status"], json!("IN_PROGRESS"));
    run(&s.tech, "mutation($id: ID!) { logTime(orderId: $id, hours: 1.5) { hours } }", json!({ "id": id })).await;
    for step in &steps {
        run(
            &s.tech,
            "mutation($id: ID!, $s: ID!) { completeStep(orderId: $id, stepId: $s) { done } }",
            json!({ "id": id, "s": step }),
        )
        .await;
    }
    let submitted = run(
        &s.tech,
        "mutation($id: ID!) { submitForReview(id: $id, version: 4, resolution: \"Washer replaced\") { status } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(submitted["status"], json!("PENDING_REVIEW"));
    // The review queue shows it to the planner, not to the technician who did it.
    let queue = "{ queue(queue: REVIEW) { edges { node { id } } } }";
    let listed = |user: String| {
        let app = &app;
        async move { app.graphql(Some(&app.token_for(&user)), queue, json!({})).await.assert_ok()["queue"]["edges"].clone() }
    };
    assert_eq!(listed(s.planner.clone()).await, json!([{ "node": { "id": id } }]));
    assert_eq!(listed(s.tech.clone()).await, json!([]));
    let closed =
        run(&s.planner, "mutation($id: ID!) { closeReview(id: $id, version: 5) { status } }", json!({ "id": id }))
            .await;
    assert_eq!(closed["status"], json!("CLOSED"));

    // The history tells the story, in order.
    let data = mutate(
        &app,
        &s.admin,
        "query($id: ID!) { order(id: $id) { history { action } procedure { done } } }",
        json!({ "id": id }),
    )
    .await;
    let data = data.assert_ok();
    let actions: Vec<&str> = data["order"]["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        [
            "order.create",
            "order.approve",
            "order.assign",
            "order.start",
            "order.log_work",
            "order.log_work",
            "order.log_work",
            "order.submit_for_review",
            "order.close_review"
        ]
    );
    assert_eq!(data["order"]["procedure"], json!([{ "done": true }, { "done": true }]));
}

/// Seed 000: a review sent back for rework and done again; deletion asked
/// for, decided in the queue, and the history kept.
async fn seed_000_review_loop_and_deletion_queue(backend: Backend) {
    let app = spawn_app(backend).await;
    let s = shop(&app).await;
    let mut spec = OrderSpec::new(&s.org, &s.planner);
    spec.site = Some(s.site.clone());
    spec.status = OrderStatus::PendingReview;
    spec.assignees = vec![s.tech.clone()];
    let id = app.order(&spec).await;
    let data = mutate(
        &app,
        &s.planner,
        "mutation($id: ID!) { requestRework(id: $id, version: 1, reason: \"Still leaking\") { status } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(data.assert_ok()["requestRework"]["status"], json!("ACTION_NEEDED"));
    let work = "mutation($id: ID!) { start(id: $id, version: 2) { status } }";
    assert_eq!(
        mutate(&app, &s.tech, work, json!({ "id": id })).await.assert_ok()["start"]["status"],
        json!("IN_PROGRESS")
    );

    // The requester of a deletion, the queue, the decision.
    let ask = "mutation($id: ID!) { requestDeletion(orderId: $id, reason: \"Duplicate of WO-7\") { id status } }";
    let request = mutate(&app, &s.tech, ask, json!({ "id": id })).await.assert_ok()["requestDeletion"].clone();
    assert_eq!(request["status"], json!("PENDING"));
    let again = mutate(&app, &s.tech, ask, json!({ "id": id })).await;
    assert_eq!(again.code(), Some("BAD_USER_INPUT"));
    let queue = "{ queue(queue: DELETION_REQUESTS) { edges { node { id } } } deletionRequests(status: \"PENDING\") { id reason requestedBy { id } } }";
    let data = mutate(&app, &s.planner, queue, json!({})).await;
    let data = data.assert_ok();
    assert_eq!(data["queue"]["edges"], json!([{ "node": { "id": id } }]));
    assert_eq!(data["deletionRequests"][0]["requestedBy"]["id"], json!(s.tech));
    // The requester does not decide their own request; the planner does.
    let approve = "mutation($r: ID!) { approveDeletion(id: $r) { status decidedBy { id } } }";
    let refused = mutate(&app, &s.tech, approve, json!({ "r": request["id"] })).await;
    assert!(matches!(refused.code(), Some("FORBIDDEN" | "NOT_FOUND")), "{}", refused.body);
    let decided = mutate(&app, &s.planner, approve, json!({ "r": request["id"] })).await;
    assert_eq!(
        decided.assert_ok()["approveDeletion"],
        json!({ "status": "APPROVED", "decidedBy": { "id": s.planner } })
    );
    // Gone from every query; its history stays for the admin.
    let read = mutate(&app, &s.admin, "query($id: ID!) { order(id: $id) { id } }", json!({ "id": id })).await;
    assert_eq!(read.code(), Some("NOT_FOUND"));
    assert!(audit_count(&app, &id, "order.delete").await == 1);
    assert!(audit_count(&app, &id, "order.request_rework").await == 1);

    // Withdraw and deny.
    spec.status = OrderStatus::Open;
    let other = app.order(&spec).await;
    let r1 = mutate(&app, &s.requester, ask, json!({ "id": other })).await;
    assert_eq!(r1.code(), Some("NOT_FOUND"), "the requester does not see this order");
    let r = mutate(&app, &s.tech, ask, json!({ "id": other })).await.assert_ok()["requestDeletion"]["id"].clone();
    let withdrawn =
        mutate(&app, &s.tech, "mutation($r: ID!) { withdrawDeletionRequest(id: $r) { status } }", json!({ "r": r }))
            .await;
    assert_eq!(withdrawn.assert_ok()["withdrawDeletionRequest"]["status"], json!("WITHDRAWN"));
    let r = mutate(&app, &s.tech, ask, json!({ "id": other })).await.assert_ok()["requestDeletion"]["id"].clone();
    let denied = mutate(
        &app,
        &s.admin,
        "mutation($r: ID!) { denyDeletion(id: $r, reason: \"keep it\") { status } }",
        json!({ "r": r }),
    )
    .await;
    assert_eq!(denied.assert_ok()["denyDeletion"]["status"], json!("DENIED"));
    // Deleting directly: ADMIN only.
    let delete = "mutation($id: ID!) { deleteOrder(id: $id, reason: \"test data\") }";
    assert_eq!(mutate(&app, &s.planner, delete, json!({ "id": other })).await.code(), Some("FORBIDDEN"));
    assert_eq!(mutate(&app, &s.admin, delete, json!({ "id": other })).await.assert_ok()["deleteOrder"], json!(true));
}

async fn stale_versions_and_lost_races_are_conflicts(backend: Backend) {
    let app = spawn_app(backend).await;
    let s = shop(&app).await;
    let races: [(&str, OrderStatus, &str); 3] = [
        ("approve", OrderStatus::PendingApproval, "mutation($id: ID!) { approve(id: $id, version: 1) { status } }"),
        ("start", OrderStatus::Open, "mutation($id: ID!) { start(id: $id, version: 1) { status } }"),
        ("cancel", OrderStatus::Open, "mutation($id: ID!) { cancel(id: $id, version: 1) { status } }"),
    ];
    for (name, status, mutation) in races {
        let mut spec = OrderSpec::new(&s.org, &s.requester);
        spec.site = Some(s.site.clone());
        spec.status = status;
        spec.intake = status == OrderStatus::PendingApproval;
        spec.assignees = vec![s.tech.clone()];
        let id = app.order(&spec).await;
        let actor = match name {
            "approve" => s.approver.clone(),
            "start" => s.tech.clone(),
            _ => s.admin.clone(),
        };
        let token = app.token_for(&actor);
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (client, url, token, id) = (app.client.clone(), app.url("/graphql"), token.clone(), id.clone());
                tokio::spawn(async move {
                    let body: Value = client
                        .post(url)
                        .bearer_auth(token)
                        .json(&json!({ "query": mutation, "variables": { "id": id } }))
                        .send()
                        .await
                        .expect("sent")
                        .json()
                        .await
                        .expect("json");
                    body["errors"][0]["extensions"]["code"].as_str().unwrap_or("OK").to_owned()
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("task"));
        }
        let wins = outcomes.iter().filter(|o| *o == "OK").count();
        let conflicts = outcomes.iter().filter(|o| *o == "CONFLICT").count();
        assert_eq!((wins, conflicts), (1, 19), "{name}: {outcomes:?}");
        assert_eq!(audit_count(&app, &id, &format!("order.{name}")).await, 1, "{name}");
    }
}

async fn concurrent_creates_get_consecutive_numbers(backend: Backend) {
    let app = spawn_app(backend).await;
    let s = shop(&app).await;
    let token = app.token_for(&s.planner);
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (client, url, token, site) = (app.client.clone(), app.url("/graphql"), token.clone(), s.site.clone());
            tokio::spawn(async move {
                let body: Value = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({
                        "query": "mutation($i: CreateOrderInput!) { createOrder(input: $i) { number } }",
                        "variables": { "i": { "kind": "WORK", "title": format!("Task {i}"), "siteId": site } }
                    }))
                    .send()
                    .await
                    .expect("sent")
                    .json()
                    .await
                    .expect("json");
                body["data"]["createOrder"]["number"].as_str().map(str::to_owned).ok_or_else(|| body.to_string())
            })
        })
        .collect();
    let mut numbers = BTreeSet::new();
    for task in tasks {
        let number = task.await.expect("task").expect("created");
        numbers.insert(number.trim_start_matches("WO-").parse::<u32>().expect("numeric"));
    }
    assert_eq!(numbers.len(), 50);
    let (first, last) = (*numbers.first().expect("first"), *numbers.last().expect("last"));
    assert_eq!(last - first, 49, "numbers have gaps: {numbers:?}");
}

async fn bad_input_is_refused_and_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let s = shop(&app).await;
    let other = app.bootstrap("Other").await;
    let foreign_site = app.site(&other.organization_id, &other.account_id, "Theirs").await;
    let mut spec = OrderSpec::new(&s.org, &s.planner);
    spec.site = Some(s.site.clone());
    spec.status = OrderStatus::InProgress;
    spec.assignees = vec![s.tech.clone()];
    let id = app.order(&spec).await;
    let orders_before = entity::orders::Entity::find().count(&app.db).await.expect("count");
    let audit_before = entity::audit_events::Entity::find().count(&app.db).await.expect("count");

    let create = "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id } }";
    let big = base64_of(&vec![b'a'; 10 * 1024 * 1024 + 1]);
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (create, json!({ "i": { "kind": "WORK", "title": "  " } }), "BAD_USER_INPUT", "input.title"),
        (
            create,
            json!({ "i": { "kind": "WORK", "title": "x", "siteId": "sit_00000000000000000000000000000000" } }),
            "BAD_USER_INPUT",
            "input.siteId",
        ),
        (
            create,
            json!({ "i": { "kind": "WORK", "title": "x", "siteId": foreign_site } }),
            "BAD_USER_INPUT",
            "input.siteId",
        ),
        (
            create,
            json!({ "i": { "kind": "WORK", "title": "x", "estimatedCost": "12.345" } }),
            "BAD_USER_INPUT",
            "input",
        ),
        (
            create,
            json!({ "i": { "kind": "WORK", "title": "x", "tags": ["no spaces"] } }),
            "BAD_USER_INPUT",
            "input.tags",
        ),
        (
            "mutation($id: ID!) { logTime(orderId: $id, hours: -2) { id } }",
            json!({ "id": id }),
            "BAD_USER_INPUT",
            "hours",
        ),
        (
            "mutation($id: ID!) { addCost(orderId: $id, category: \"parts\", description: \"valve\", amount: \"-5.00\") { id } }",
            json!({ "id": id }),
            "BAD_USER_INPUT",
            "amount",
        ),
        (
            "mutation($id: ID!, $c: String!) { addAttachment(orderId: $id, filename: \"a.txt\", contentType: \"text/plain\", contentBase64: $c) { id } }",
            json!({ "id": id, "c": big }),
            "BAD_USER_INPUT",
            "contentBase64",
        ),
        (
            "mutation($id: ID!) { addAttachment(orderId: $id, filename: \"x.pdf\", contentType: \"application/pdf\", contentBase64: \"aGVsbG8=\") { id } }",
            json!({ "id": id }),
            "BAD_USER_INPUT",
            "contentBase64",
        ),
        (
            "mutation($id: ID!) { addNote(orderId: $id, body: \"\") { id } }",
            json!({ "id": id }),
            "BAD_USER_INPUT",
            "body",
        ),
        (
            "mutation { start(id: \"ord_00000000000000000000000000000000\", version: 1) { id } }",
            json!({}),
            "NOT_FOUND",
            "",
        ),
    ];
    for (query, vars, code, field) in cases {
        let response = mutate(&app, &s.planner, query, vars).await;
        assert_eq!(response.code(), Some(code), "{query}: {}", response.body);
        if !field.is_empty() {
            let named = response.body["errors"][0]["extensions"]["field"].as_str().unwrap_or_default();
            assert!(named.starts_with(field), "{query}: field {named:?}, expected {field}: {}", response.body);
        }
    }
    assert_eq!(entity::orders::Entity::find().count(&app.db).await.expect("count"), orders_before);
    assert_eq!(entity::audit_events::Entity::find().count(&app.db).await.expect("count"), audit_before);
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn tokens_create_on_behalf_of_a_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let s = shop(&app).await;
    let admin = app.token_for(&s.admin);
    let secret = |caps: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let data = app
                .graphql(
                    Some(&admin),
                    &format!("mutation {{ createApiToken(name: \"erp\", capabilities: [{caps}]) {{ secret token {{ id }} }} }}"),
                    json!({}),
                )
                .await;
            let created = data.assert_ok()["createApiToken"].clone();
            (
                created["secret"].as_str().expect("secret").to_owned(),
                created["token"]["id"].as_str().expect("id").to_owned(),
            )
        }
    };
    let (writer, writer_id) = secret("\"orders:read\", \"orders:write\"").await;
    let (reader, _) = secret("\"orders:read\"").await;
    let create = "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id status creator { id } } }";
    let input = json!({ "kind": "WORK", "title": "From the ERP", "siteId": s.site });

    let missing = app.graphql(Some(&writer), create, json!({ "i": input })).await;
    assert_eq!(missing.body["errors"][0]["extensions"]["field"], json!("input.onBehalfOf"));
    let mut on_behalf = input.clone();
    on_behalf["onBehalfOf"] = json!(s.requester);
    assert_eq!(app.graphql(Some(&reader), create, json!({ "i": on_behalf })).await.code(), Some("FORBIDDEN"));
    let data = app.graphql(Some(&writer), create, json!({ "i": on_behalf })).await;
    let order = data.assert_ok()["createOrder"].clone();
    assert_eq!(order["creator"]["id"], json!(s.requester), "attributed to the user");
    assert_eq!(order["status"], json!("PENDING_APPROVAL"), "the requester's standing decides intake");
    let event = entity::audit_events::Entity::find()
        .filter(entity::audit_events::Column::Action.eq("order.create"))
        .one(&app.db)
        .await
        .expect("query")
        .expect("audited");
    assert_eq!(
        (event.actor_id.as_deref(), event.token_id.as_deref()),
        (Some(s.requester.as_str()), Some(writer_id.as_str()))
    );
    // Tokens never approve.
    let approve = app
        .graphql(
            Some(&writer),
            "mutation($id: ID!) { approve(id: $id, version: 1) { id } }",
            json!({ "id": order["id"] }),
        )
        .await;
    assert_eq!(approve.code(), Some("FORBIDDEN"));
}

async fn work_on_an_order_is_recorded_and_guarded(backend: Backend) {
    let app = spawn_app(backend).await;
    let s = shop(&app).await;
    let mut spec = OrderSpec::new(&s.org, &s.requester);
    spec.owner = Some(s.planner.clone());
    spec.site = Some(s.site.clone());
    spec.status = OrderStatus::InProgress;
    spec.assignees = vec![s.tech.clone()];
    let id = app.order(&spec).await;
    let png = base64_of(b"\x89PNG\r\n\x1a\nrest-of-image");
    let ok = [
        "mutation($id: ID!) { addNote(orderId: $id, body: \"On site\", visibility: INTERNAL) { visibility } }",
        "mutation($id: ID!) { addCost(orderId: $id, category: \"parts\", description: \"Valve\", amount: \"42.50\") { amount } }",
        "mutation($id: ID!) { usePart(orderId: $id, partNumber: \"V-100\", quantity: 2) { quantity } }",
    ];
    for query in ok {
        mutate(&app, &s.tech, query, json!({ "id": id })).await.assert_ok();
    }
    // Time is costed at the worker's rate (60.00 an hour).
    app.execute_sql(&format!("UPDATE users SET hourly_rate_cents = 6000 WHERE id = '{}'", s.tech)).await;
    let log = "mutation($id: ID!) { logTime(orderId: $id, hours: 1.5) { id } }";
    mutate(&app, &s.tech, log, json!({ "id": id })).await.assert_ok();
    let attach = "mutation($id: ID!, $c: String!) { addAttachment(orderId: $id, filename: \"leak.png\", contentType: \"image/png\", contentBase64: $c) { sha256 sizeBytes } }";
    let data = mutate(&app, &s.tech, attach, json!({ "id": id, "c": png })).await;
    assert_eq!(data.assert_ok()["addAttachment"]["sizeBytes"], json!(21));
    // The requester chats in public, not in internal notes; does not log work.
    let public = "mutation($id: ID!) { addNote(orderId: $id, body: \"Thanks!\") { visibility } }";
    assert_eq!(
        mutate(&app, &s.requester, public, json!({ "id": id })).await.assert_ok()["addNote"]["visibility"],
        json!("PUBLIC")
    );
    let internal = "mutation($id: ID!) { addNote(orderId: $id, body: \"psst\", visibility: INTERNAL) { id } }";
    assert_eq!(mutate(&app, &s.requester, internal, json!({ "id": id })).await.code(), Some("FORBIDDEN"));
    let log = "mutation($id: ID!) { logTime(orderId: $id, hours: 1) { id } }";
    assert_eq!(mutate(&app, &s.requester, log, json!({ "id": id })).await.code(), Some("FORBIDDEN"));
    // The planner sees the costs the technician logged: cost lines and time.
    let data = mutate(
        &app,
        &s.planner,
        "query($id: ID!) { order(id: $id) { actualCost parts { quantity } attachments { filename } } }",
        json!({ "id": id }),
    )
    .await;
    let data = data.assert_ok();
    assert_eq!(data["order"]["actualCost"], json!("132.50"));
    assert_eq!(data["order"]["attachments"], json!([{ "filename": "leak.png" }]));
    // Closed orders take no more work.
    app.execute_sql(&format!("UPDATE orders SET status = 'CLOSED' WHERE id = '{id}'")).await;
    assert_eq!(mutate(&app, &s.tech, log, json!({ "id": id })).await.code(), Some("INVALID_TRANSITION"));
}

/// Seed 001: Michelle creates two orders, one for Bob, one for Tom and Bob.
/// Bob and Tom hold no role: being assignees lets them add notes and move
/// their orders on; only Michelle approves the result.
async fn seed_001_owner_and_assignees(backend: Backend) {
    let app = spawn_app(backend).await;
    let s = shop(&app).await;
    let michelle = s.planner.clone();
    let boot_root = entity::accounts::Entity::find()
        .filter(entity::accounts::Column::OrganizationId.eq(s.org.as_str()))
        .one(&app.db)
        .await
        .expect("query")
        .expect("root")
        .id;
    let bob = app.user(&s.org, &boot_root, "Bob").await;
    let tom = app.user(&s.org, &boot_root, "Tom").await;
    let create = "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id status owner { id } } }";
    let mut ids = Vec::new();
    for (title, assignees) in [("Mow the lawn", vec![bob.clone()]), ("Paint the fence", vec![tom.clone(), bob.clone()])]
    {
        let data = mutate(
            &app,
            &michelle,
            create,
            json!({ "i": { "kind": "WORK", "title": title, "siteId": s.site, "assigneeIds": assignees } }),
        )
        .await;
        let order = data.assert_ok()["createOrder"].clone();
        assert_eq!((order["status"].clone(), order["owner"]["id"].clone()), (json!("OPEN"), json!(michelle)));
        ids.push(order["id"].as_str().expect("id").to_owned());
    }
    let note = "mutation($id: ID!) { addNote(orderId: $id, body: \"On it\") { id } }";
    let start = "mutation($id: ID!) { start(id: $id, version: 1) { status } }";
    // Bob works on both; Tom on the second only (the first does not exist for him).
    for id in &ids {
        mutate(&app, &bob, note, json!({ "id": id })).await.assert_ok();
    }
    assert_eq!(mutate(&app, &tom, note, json!({ "id": ids[0] })).await.code(), Some("NOT_FOUND"));
    mutate(&app, &tom, note, json!({ "id": ids[1] })).await.assert_ok();
    assert_eq!(
        mutate(&app, &tom, start, json!({ "id": ids[1] })).await.assert_ok()["start"]["status"],
        json!("IN_PROGRESS")
    );
    let submit = "mutation($id: ID!) { submitForReview(id: $id, version: 2, resolution: \"Done\") { status } }";
    mutate(&app, &bob, submit, json!({ "id": ids[1] })).await.assert_ok();
    // Only Michelle approves the work.
    let close = "mutation($id: ID!) { closeReview(id: $id, version: 3) { status } }";
    assert_eq!(mutate(&app, &bob, close, json!({ "id": ids[1] })).await.code(), Some("FORBIDDEN"));
    assert_eq!(mutate(&app, &tom, close, json!({ "id": ids[1] })).await.code(), Some("FORBIDDEN"));
    assert_eq!(
        mutate(&app, &michelle, close, json!({ "id": ids[1] })).await.assert_ok()["closeReview"]["status"],
        json!("CLOSED")
    );
}

/// Seed 004: a requester reports an issue, tracks it and chats on it, but
/// edits nothing once it is approved; staff's internal notes stay hidden.
async fn seed_004_requester_tracks_and_chats(backend: Backend) {
    let app = spawn_app(backend).await;
    let s = shop(&app).await;
    let create = "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id status version } }";
    let data = mutate(
        &app,
        &s.requester,
        create,
        // Owned by the planner who sees it through (seed 004: requesters
        // track work orders, they do not own them).
        json!({ "i": { "kind": "WORK", "title": "Door sticks", "siteId": s.site, "ownerId": s.planner } }),
    )
    .await;
    let order = data.assert_ok()["createOrder"].clone();
    let id = order["id"].as_str().expect("id").to_owned();
    // The creator edits while the request waits for approval ...
    let edit = "mutation($id: ID!, $v: Int!) { editOrder(id: $id, version: $v, input: { title: \"Front door sticks\", priority: HIGH }) { title priority version } }";
    let edited = mutate(&app, &s.requester, edit, json!({ "id": id, "v": 1 })).await;
    assert_eq!(
        edited.assert_ok()["editOrder"],
        json!({ "title": "Front door sticks", "priority": "HIGH", "version": 2 })
    );
    mutate(&app, &s.approver, "mutation($id: ID!) { approve(id: $id, version: 2) { status } }", json!({ "id": id }))
        .await
        .assert_ok();
    // ... and not after.
    assert_eq!(mutate(&app, &s.requester, edit, json!({ "id": id, "v": 3 })).await.code(), Some("FORBIDDEN"));
    // Chat: the requester and the planner talk in public; staff note internally.
    mutate(
        &app,
        &s.requester,
        "mutation($id: ID!) { addNote(orderId: $id, body: \"Any news?\") { id } }",
        json!({ "id": id }),
    )
    .await
    .assert_ok();
    mutate(
        &app,
        &s.planner,
        "mutation($id: ID!) { addNote(orderId: $id, body: \"Tomorrow\") { id } }",
        json!({ "id": id }),
    )
    .await
    .assert_ok();
    mutate(
        &app,
        &s.planner,
        "mutation($id: ID!) { addNote(orderId: $id, body: \"Needs a new hinge\", visibility: INTERNAL) { id } }",
        json!({ "id": id }),
    )
    .await
    .assert_ok();
    let track = "query($id: ID!) { order(id: $id) { status notes { body } } queue(queue: MY_REQUESTS) { edges { node { id } } } }";
    let data = mutate(&app, &s.requester, track, json!({ "id": id })).await;
    let data = data.assert_ok();
    assert_eq!(data["order"]["status"], json!("OPEN"));
    assert_eq!(data["order"]["notes"], json!([{ "body": "Any news?" }, { "body": "Tomorrow" }]));
    assert_eq!(data["queue"]["edges"], json!([{ "node": { "id": id } }]));
    // A stale version is a conflict, not an overwrite.
    let stale = mutate(&app, &s.planner, edit, json!({ "id": id, "v": 2 })).await;
    assert_eq!(stale.code(), Some("CONFLICT"));
}

async fn attachments_at_creation_and_the_configured_limit(backend: Backend) {
    let app = common::spawn_app_with(backend, |raw| raw.max_attachment_bytes = Some("64".into())).await;
    let s = shop(&app).await;
    let mut spec = OrderSpec::new(&s.org, &s.requester);
    spec.site = Some(s.site.clone());
    spec.status = OrderStatus::PendingApproval;
    spec.intake = true;
    let id = app.order(&spec).await;
    let attach = "mutation($id: ID!, $c: String!) { addAttachment(orderId: $id, filename: \"photo.png\", contentType: \"image/png\", contentBase64: $c) { sizeBytes uploadedBy { id } } }";
    let photo = base64_of(b"\x89PNG\r\n\x1a\nsmall");
    // The requester adds a photo of the problem to their request ...
    let data = mutate(&app, &s.requester, attach, json!({ "id": id, "c": photo })).await;
    assert_eq!(data.assert_ok()["addAttachment"]["uploadedBy"]["id"], json!(s.requester));
    // ... within the configured limit (64 bytes here).
    let big = base64_of(&[b"\x89PNG\r\n\x1a\n".as_slice(), &[0u8; 64]].concat());
    let refused = mutate(&app, &s.requester, attach, json!({ "id": id, "c": big })).await;
    assert_eq!(refused.body["errors"][0]["extensions"]["field"], json!("contentBase64"), "{}", refused.body);
    // Someone with no hand in the order does not; nobody adds to a closed one.
    let viewer = s.approver.clone();
    assert_eq!(mutate(&app, &viewer, attach, json!({ "id": id, "c": photo })).await.code(), Some("FORBIDDEN"));
    app.execute_sql(&format!("UPDATE orders SET status = 'CLOSED' WHERE id = '{id}'")).await;
    assert_eq!(
        mutate(&app, &s.requester, attach, json!({ "id": id, "c": photo })).await.code(),
        Some("INVALID_TRANSITION")
    );
}

/// A deleted order leaves every query (section 5), the deletion requests
/// that name it included; so does an order its requester no longer sees.
/// The approval's own answer still shows the order it deleted.
async fn deletion_requests_show_only_orders_in_sight(backend: Backend) {
    let app = spawn_app(backend).await;
    let s = shop(&app).await;
    // Wes has no role: he sees the order as its assignee only.
    let wes = app.user(&s.org, &s.root, "Wes Worker").await;
    let mut spec = OrderSpec::new(&s.org, &s.planner);
    spec.site = Some(s.site.clone());
    spec.status = OrderStatus::Open;
    spec.assignees = vec![wes.clone()];
    let id = app.order(&spec).await;
    let ask = "mutation($id: ID!) { requestDeletion(orderId: $id, reason: \"Duplicate\") { id } }";
    let request = mutate(&app, &wes, ask, json!({ "id": id })).await.assert_ok()["requestDeletion"]["id"].clone();
    let mine = "{ deletionRequests { id order { id title } } }";
    let node = "query($r: ID!) { node(id: $r) { id } }";
    let listed = json!([{ "id": request, "order": { "id": id, "title": spec.title } }]);
    assert_eq!(mutate(&app, &wes, mine, json!({})).await.assert_ok()["deletionRequests"], listed);

    // Taken off the order, Wes no longer sees it, nor it through his request.
    let assign = "mutation($id: ID!, $a: [ID!]!) { assign(id: $id, version: 1, assigneeIds: $a) { id } }";
    mutate(&app, &s.planner, assign, json!({ "id": id, "a": [s.tech] })).await.assert_ok();
    assert_eq!(mutate(&app, &wes, mine, json!({})).await.assert_ok()["deletionRequests"], json!([]));
    assert_eq!(mutate(&app, &wes, node, json!({ "r": request })).await.code(), Some("NOT_FOUND"));
    // The planner decides it; the approval answers with the order it deleted.
    assert_eq!(mutate(&app, &s.planner, mine, json!({})).await.assert_ok()["deletionRequests"], listed);
    let approve = "mutation($r: ID!) { approveDeletion(id: $r) { status order { id } } }";
    let decided = mutate(&app, &s.planner, approve, json!({ "r": request })).await;
    assert_eq!(decided.assert_ok()["approveDeletion"], json!({ "status": "APPROVED", "order": { "id": id } }));
    // Then the request is gone from every list, the admin's included.
    for user in [&s.planner, &s.admin, &wes] {
        let all = mutate(&app, user, "{ deletionRequests(status: \"APPROVED\") { id } }", json!({})).await;
        assert_eq!(all.assert_ok()["deletionRequests"], json!([]));
        assert_eq!(mutate(&app, user, node, json!({ "r": request })).await.code(), Some("NOT_FOUND"));
    }

    // The same for a pending request on an order an admin deletes outright.
    let other = app.order(&spec).await;
    let request = mutate(&app, &s.tech, ask, json!({ "id": other })).await.assert_ok()["requestDeletion"]["id"].clone();
    let delete = "mutation($id: ID!) { deleteOrder(id: $id, reason: \"test data\") }";
    mutate(&app, &s.admin, delete, json!({ "id": other })).await.assert_ok();
    assert_eq!(mutate(&app, &s.tech, mine, json!({})).await.assert_ok()["deletionRequests"], json!([]));
    assert_eq!(mutate(&app, &s.tech, node, json!({ "r": request })).await.code(), Some("NOT_FOUND"));
}

/// An approval racing a withdrawal (or a denial) of the same request: one
/// of them wins, the other is refused, and the order is deleted exactly
/// when the approval won.
async fn deletion_decisions_have_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    let s = shop(&app).await;
    let mut spec = OrderSpec::new(&s.org, &s.planner);
    spec.site = Some(s.site.clone());
    spec.status = OrderStatus::Open;
    let ask = "mutation($id: ID!) { requestDeletion(orderId: $id, reason: \"Duplicate\") { id } }";
    let approve = "mutation($r: ID!) { approveDeletion(id: $r) { status } }";
    let withdraw = "mutation($r: ID!) { withdrawDeletionRequest(id: $r) { status } }";
    let deny = "mutation($r: ID!) { denyDeletion(id: $r) { status } }";
    for round in 0..12 {
        let id = app.order(&spec).await;
        let request =
            mutate(&app, &s.tech, ask, json!({ "id": id })).await.assert_ok()["requestDeletion"]["id"].clone();
        let (other, by) = if round % 2 == 0 { (withdraw, &s.tech) } else { (deny, &s.admin) };
        let (approved, other) = tokio::join!(
            mutate(&app, &s.planner, approve, json!({ "r": request })),
            mutate(&app, by, other, json!({ "r": request })),
        );
        let approved_ok = approved.body.get("errors").is_none();
        let other_ok = other.body.get("errors").is_none();
        assert!(approved_ok != other_ok, "round {round}: exactly one wins: {} / {}", approved.body, other.body);
        let loser = if approved_ok { &other } else { &approved };
        // CONFLICT in the race; INVALID_TRANSITION or NOT_FOUND (the
        // order and its requests gone) after it.
        let refused = matches!(loser.code(), Some("CONFLICT" | "INVALID_TRANSITION" | "NOT_FOUND"));
        assert!(refused, "round {round}: {}", loser.body);
        let read = mutate(&app, &s.admin, "query($id: ID!) { order(id: $id) { id } }", json!({ "id": id })).await;
        assert_eq!(read.code() == Some("NOT_FOUND"), approved_ok, "round {round}: deleted only by the approval");
        let row = entity::deletion_requests::Entity::find_by_id(request.as_str().expect("id"))
            .one(&app.db)
            .await
            .expect("read")
            .expect("request");
        let expected = if approved_ok {
            "APPROVED"
        } else if round % 2 == 0 {
            "WITHDRAWN"
        } else {
            "DENIED"
        };
        assert_eq!(row.status, expected, "round {round}");
    }
    // Two requests on one order, approved at once by two people: one
    // approval deletes the order and approves both; the other is refused,
    // never INTERNAL (a deadlock between their row locks would be).
    for round in 0..8 {
        let id = app.order(&spec).await;
        let first = mutate(&app, &s.tech, ask, json!({ "id": id })).await.assert_ok()["requestDeletion"]["id"].clone();
        let second =
            mutate(&app, &s.approver, ask, json!({ "id": id })).await.assert_ok()["requestDeletion"]["id"].clone();
        let (a, b) = tokio::join!(
            mutate(&app, &s.planner, approve, json!({ "r": first })),
            mutate(&app, &s.admin, approve, json!({ "r": second })),
        );
        let oks = [&a, &b].iter().filter(|r| r.body.get("errors").is_none()).count();
        assert_eq!(oks, 1, "round {round}: exactly one wins: {} / {}", a.body, b.body);
        let loser = if a.body.get("errors").is_none() { &b } else { &a };
        let refused = matches!(loser.code(), Some("CONFLICT" | "INVALID_TRANSITION" | "NOT_FOUND"));
        assert!(refused, "round {round}: {}", loser.body);
        for request in [&first, &second] {
            let row = entity::deletion_requests::Entity::find_by_id(request.as_str().expect("id"))
                .one(&app.db)
                .await
                .expect("read")
                .expect("request");
            assert_eq!(row.status, "APPROVED", "round {round}");
        }
    }
}

/// `assign` with an id given twice assigns that person once; a bad id is
/// reported at its own index.
async fn assign_takes_each_person_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let s = shop(&app).await;
    let mut spec = OrderSpec::new(&s.org, &s.planner);
    spec.site = Some(s.site.clone());
    spec.status = OrderStatus::Open;
    let id = app.order(&spec).await;
    let assign = "mutation($id: ID!, $v: Int!, $a: [ID!]!) { assign(id: $id, version: $v, assigneeIds: $a) { version assignees { id } } }";
    let twice = json!([s.tech, s.approver, s.tech]);
    let data = mutate(&app, &s.planner, assign, json!({ "id": id, "v": 1, "a": twice })).await;
    let data = data.assert_ok()["assign"].clone();
    assert_eq!(data["version"], json!(2));
    let assigned: BTreeSet<&str> =
        data["assignees"].as_array().expect("assignees").iter().map(|a| a["id"].as_str().expect("id")).collect();
    assert_eq!(assigned, BTreeSet::from([s.tech.as_str(), s.approver.as_str()]));
    assert_eq!(data["assignees"].as_array().map(Vec::len), Some(2), "each once");
    let nobody = workgate::ids::IdKind::User.new_id();
    let bad = json!([s.tech, s.tech, nobody]);
    let refused = mutate(&app, &s.planner, assign, json!({ "id": id, "v": 2, "a": bad })).await;
    assert_eq!(refused.code(), Some("BAD_USER_INPUT"), "{}", refused.body);
    assert_eq!(refused.body["errors"][0]["extensions"]["field"], json!("assigneeIds[2]"));
    let read = mutate(&app, &s.planner, "query($id: ID!) { order(id: $id) { version } }", json!({ "id": id })).await;
    assert_eq!(read.assert_ok()["order"]["version"], json!(2), "nothing written");
}
