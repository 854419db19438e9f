//! Reports: `orderStats` figures over what the caller sees, `auditLog` by
//! role and scope with keyset pages, and the streamed CSV export of orders.

mod common;

use common::world::{Bind, OrderSpec};
use common::{Backend, TestApp, spawn_app};
use entity::{approval_steps, audit_events, orders};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use workgate::audit::{AuditActor, AuditEntry};
use workgate::auth::{Actor, Principal, UserActor};
use workgate::ids::IdKind;
use workgate::orders::model::OrderStatus;
use workgate::org::model::Role;

backend_tests!(
    stats_count_what_the_caller_sees,
    stats_narrow_by_period_and_site,
    stats_are_for_admin_planner_and_technician,
    audit_log_by_role_and_scope,
    audit_log_pages_newest_first,
    export_rows_quoting_and_range,
    export_refuses_and_validates,
    export_streams_in_batches,
);

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;
/// 2025-01-01T00:00:00Z.
const T0: i64 = 1_735_689_600_000_000;

fn rfc3339(micros: i64) -> String {
    workgate::time::from_micros(micros).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// An organization with two child accounts, one site each, and people.
struct World {
    org: String,
    root_admin: String,
    north: String,
    south: String,
    n1: String,
    s1: String,
    north_planner: String,
    north_admin: String,
    tech: String,
    requester: String,
    viewer: String,
}

async fn world(app: &TestApp) -> World {
    let boot = app.bootstrap("Acme").await;
    let (org, root) = (boot.organization_id, boot.account_id);
    let north = app.account(&org, &root, "North").await;
    let south = app.account(&org, &root, "South").await;
    let n1 = app.site(&org, &north, "North 1").await;
    let s1 = app.site(&org, &south, "South 1").await;
    let north_planner = app.user(&org, &north, "Nina Planner").await;
    app.grant(&org, &north_planner, Role::Planner, &Bind::Account).await;
    let north_admin = app.user(&org, &north, "Ned Admin").await;
    app.grant(&org, &north_admin, Role::Admin, &Bind::Account).await;
    let tech = app.user(&org, &north, "Tom Tech").await;
    app.grant(&org, &tech, Role::Technician, &Bind::Site(n1.clone())).await;
    let requester = app.user(&org, &north, "Rita Requester").await;
    app.grant(&org, &requester, Role::Requester, &Bind::Site(n1.clone())).await;
    let viewer = app.user(&org, &north, "Vic Viewer").await;
    app.grant(&org, &viewer, Role::Viewer, &Bind::Account).await;
    World {
        org,
        root_admin: boot.admin_user_id,
        north,
        south,
        n1,
        s1,
        north_planner,
        north_admin,
        tech,
        requester,
        viewer,
    }
}

impl World {
    fn spec(&self, site: &str, scope: Option<&str>, status: OrderStatus, created: i64) -> OrderSpec {
        let mut spec = OrderSpec::new(&self.org, &self.requester);
        spec.site = Some(site.to_owned());
        spec.scope = scope.map(str::to_owned);
        spec.status = status;
        spec.created_at = Some(created);
        spec
    }
}

async fn close(app: &TestApp, order: &str, at: i64) {
    app.execute_sql(&format!("UPDATE orders SET closed_at = {at} WHERE id = '{order}'")).await;
}

async fn approved(app: &TestApp, order: &str, at: Option<i64>, decision: Option<&str>) {
    approval_steps::ActiveModel {
        id: Set(IdKind::ApprovalStep.new_id()),
        order_id: Set(order.to_owned()),
        position: Set(0),
        source: Set("rule".to_owned()),
        decision: Set(decision.map(str::to_owned)),
        decided_by: Set(None),
        decided_at: Set(at),
        reason: Set(None),
    }
    .insert(&app.db)
    .await
    .expect("approval step inserted");
}

fn person(org: &str, account: &str, user: &str) -> Principal {
    Principal {
        organization_id: org.to_owned(),
        account_id: account.to_owned(),
        root_account: false,
        settings: Default::default(),
        actor: Actor::User(UserActor { user_id: user.to_owned(), bindings: Vec::new() }),
    }
}

/// Records an audit event about an order, as `actor`.
async fn audit(app: &TestApp, org: &str, actor: AuditActor<'_>, action: &str, order: &str) {
    workgate::audit::record(
        &app.db,
        actor,
        AuditEntry {
            organization_id: org,
            action,
            entity_type: "order",
            entity_id: order,
            order_id: Some(order),
            changes: json!({}),
            reason: None,
        },
    )
    .await
    .expect("audit event recorded");
}

/// The dataset of the stats tests; returns the assignees `(t1, t2, t3)`.
struct Dataset {
    t1: String,
    t2: String,
    t3: String,
}

/// a: north, OPEN, assignees t1+t2, rework requested (day 0)
/// b: north, CLOSED after 10 h, approved after 4 h, assignee t1, review closed (day 1)
/// c: north, SEND_FAILED (day 2)
/// d: south, CLOSED after 30 h, approved after 8 h, assignee t3, rework requested (day 3)
/// e: organization-wide at n1, IN_PROGRESS (day 4)
/// plus a deleted north order and another organization's order, both with
/// reviews, closes and approvals that must not count.
async fn dataset(app: &TestApp, w: &World) -> Dataset {
    let t1 = app.user(&w.org, &w.north, "Tess One").await;
    let t2 = app.user(&w.org, &w.north, "Theo Two").await;
    let t3 = app.user(&w.org, &w.south, "Tara Three").await;
    let sys = || AuditActor::System;

    let mut a = w.spec(&w.n1, Some(&w.north), OrderStatus::Open, T0);
    a.assignees = vec![t1.clone(), t2.clone()];
    a.intake = true; // an undecided step: no lead time yet
    let a = app.order(&a).await;
    audit(app, &w.org, sys(), "order.request_rework", &a).await;
    audit(app, &w.org, sys(), "order.edit", &a).await;

    let mut b = w.spec(&w.n1, Some(&w.north), OrderStatus::Closed, T0 + DAY);
    b.assignees = vec![t1.clone()];
    let b = app.order(&b).await;
    close(app, &b, T0 + DAY + 10 * HOUR).await;
    approved(app, &b, Some(T0 + DAY + 4 * HOUR), Some("APPROVED")).await;
    approved(app, &b, Some(T0 + DAY + 50 * HOUR), Some("REJECTED")).await;
    audit(app, &w.org, sys(), "order.close_review", &b).await;

    app.order(&w.spec(&w.n1, Some(&w.north), OrderStatus::SendFailed, T0 + 2 * DAY)).await;

    let mut d = w.spec(&w.s1, Some(&w.south), OrderStatus::Closed, T0 + 3 * DAY);
    d.assignees = vec![t3.clone()];
    let d = app.order(&d).await;
    close(app, &d, T0 + 3 * DAY + 30 * HOUR).await;
    approved(app, &d, Some(T0 + 3 * DAY + 8 * HOUR), Some("APPROVED")).await;
    audit(app, &w.org, sys(), "order.request_rework", &d).await;

    app.order(&w.spec(&w.n1, None, OrderStatus::InProgress, T0 + 4 * DAY)).await;

    let mut deleted = w.spec(&w.n1, Some(&w.north), OrderStatus::Closed, T0);
    deleted.deleted = true;
    deleted.assignees = vec![t2.clone()];
    let deleted = app.order(&deleted).await;
    close(app, &deleted, T0 + 1000 * HOUR).await;
    approved(app, &deleted, Some(T0 + 1000 * HOUR), Some("APPROVED")).await;
    audit(app, &w.org, sys(), "order.close_review", &deleted).await;

    let other = app.bootstrap("Other").await;
    let mut foreign = OrderSpec::new(&other.organization_id, &other.admin_user_id);
    foreign.status = OrderStatus::SendFailed;
    foreign.created_at = Some(T0);
    foreign.assignees = vec![t1.clone()];
    let foreign = app.order(&foreign).await;
    close(app, &foreign, T0 + 1000 * HOUR).await;
    audit(app, &other.organization_id, sys(), "order.request_rework", &foreign).await;

    Dataset { t1, t2, t3 }
}

const STATS: &str = "query($site: ID, $from: DateTime, $to: DateTime) {
  orderStats(siteId: $site, from: $from, to: $to) {
    byStatus { key count } bySite { key count } byAssignee { key count }
    meanHoursOpenToClose reworkRate meanHoursToApproval failedSends
  }
}";

async fn stats(app: &TestApp, user: &str, variables: Value) -> Value {
    let response = app.graphql(Some(&app.token_for(user)), STATS, variables).await;
    response.assert_ok()["orderStats"].clone()
}

fn counts(pairs: &[(&str, i64)]) -> Value {
    Value::Array(pairs.iter().map(|(k, n)| json!({ "key": k, "count": n })).collect())
}

fn assert_close(value: &Value, expected: f64) {
    let got = value.as_f64().unwrap_or_else(|| panic!("expected {expected}, got {value}"));
    assert!((got - expected).abs() < 1e-9, "expected {expected}, got {got}");
}

async fn stats_count_what_the_caller_sees(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let d = dataset(&app, &w).await;

    // The root admin sees the whole organization, and nothing deleted or foreign.
    let all = stats(&app, &w.root_admin, json!({})).await;
    assert_eq!(all["byStatus"], counts(&[("CLOSED", 2), ("IN_PROGRESS", 1), ("OPEN", 1), ("SEND_FAILED", 1)]));
    assert_eq!(all["bySite"], counts(&[(&w.n1, 4), (&w.s1, 1)]));
    let mut assignees = vec![(d.t1.as_str(), 2), (d.t2.as_str(), 1), (d.t3.as_str(), 1)];
    assignees[1..].sort();
    assert_eq!(all["byAssignee"], counts(&assignees));
    assert_close(&all["meanHoursOpenToClose"], 20.0);
    assert_close(&all["reworkRate"], 2.0 / 3.0);
    assert_close(&all["meanHoursToApproval"], 6.0);
    assert_eq!(all["failedSends"], json!(1));

    // A child account's planner: north and organization-wide orders only.
    let north = stats(&app, &w.north_planner, json!({})).await;
    assert_eq!(north["byStatus"], counts(&[("CLOSED", 1), ("IN_PROGRESS", 1), ("OPEN", 1), ("SEND_FAILED", 1)]));
    assert_eq!(north["bySite"], counts(&[(&w.n1, 4)]));
    assert_eq!(north["byAssignee"], counts(&[(&d.t1, 2), (&d.t2, 1)]));
    assert_close(&north["meanHoursOpenToClose"], 10.0);
    assert_close(&north["reworkRate"], 0.5);
    assert_close(&north["meanHoursToApproval"], 4.0);
    assert_eq!(north["failedSends"], json!(1));

    // A technician bound at n1 gets n1's figures (the same orders here).
    assert_eq!(stats(&app, &w.tech, json!({})).await, north);
}

async fn stats_narrow_by_period_and_site(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    dataset(&app, &w).await;

    // [day 1, day 3): b and c.
    let window = stats(&app, &w.root_admin, json!({ "from": rfc3339(T0 + DAY), "to": rfc3339(T0 + 3 * DAY) })).await;
    assert_eq!(window["byStatus"], counts(&[("CLOSED", 1), ("SEND_FAILED", 1)]));
    assert_close(&window["meanHoursOpenToClose"], 10.0);
    assert_close(&window["reworkRate"], 0.0);
    assert_close(&window["meanHoursToApproval"], 4.0);
    assert_eq!(window["failedSends"], json!(1));

    let south = stats(&app, &w.root_admin, json!({ "site": w.s1 })).await;
    assert_eq!(south["byStatus"], counts(&[("CLOSED", 1)]));
    assert_close(&south["meanHoursOpenToClose"], 30.0);
    assert_close(&south["reworkRate"], 1.0);
    assert_close(&south["meanHoursToApproval"], 8.0);
    assert_eq!(south["failedSends"], json!(0));

    // The north planner asking for the south site gets nothing of it.
    let hidden = stats(&app, &w.north_planner, json!({ "site": w.s1 })).await;
    let empty = json!({
        "byStatus": [], "bySite": [], "byAssignee": [],
        "meanHoursOpenToClose": null, "reworkRate": null, "meanHoursToApproval": null, "failedSends": 0,
    });
    assert_eq!(hidden, empty);
    assert_eq!(stats(&app, &w.root_admin, json!({ "from": rfc3339(T0 + 10 * DAY) })).await, empty);

    let reversed = app
        .graphql(Some(&app.token_for(&w.root_admin)), STATS, json!({ "from": rfc3339(T0 + DAY), "to": rfc3339(T0) }))
        .await;
    assert_eq!(reversed.code(), Some("BAD_USER_INPUT"), "{}", reversed.body);
    assert_eq!(reversed.body["errors"][0]["extensions"]["field"], json!("to"));
}

async fn stats_are_for_admin_planner_and_technician(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    for user in [&w.requester, &w.viewer] {
        let response = app.graphql(Some(&app.token_for(user)), STATS, json!({})).await;
        assert_eq!(response.code(), Some("FORBIDDEN"), "{}", response.body);
        assert_eq!(response.body["data"], Value::Null);
    }
    let token = api_token(&app, &w.root_admin).await;
    let response = app.graphql(Some(&token), STATS, json!({})).await;
    assert_eq!(response.code(), Some("FORBIDDEN"), "{}", response.body);
    let anonymous = app.graphql(None, STATS, json!({})).await;
    assert_eq!(anonymous.code(), Some("UNAUTHENTICATED"), "{}", anonymous.body);
}

async fn api_token(app: &TestApp, admin: &str) -> String {
    let response = app
        .graphql(
            Some(&app.token_for(admin)),
            "mutation { createApiToken(name: \"erp\", capabilities: [\"orders:read\"]) { secret } }",
            json!({}),
        )
        .await;
    response.assert_ok()["createApiToken"]["secret"].as_str().expect("secret").to_owned()
}

const LOG: &str = "query($order: ID, $actor: ID, $first: Int, $after: Cursor) {
  auditLog(orderId: $order, actorId: $actor, first: $first, after: $after) { id at action orderId actor { id } }
}";

async fn log(app: &TestApp, token: &str, variables: Value) -> Result<Vec<Value>, (String, Value)> {
    let response = app.graphql(Some(token), LOG, variables).await;
    match response.code() {
        None => Ok(response.assert_ok()["auditLog"].as_array().expect("list").clone()),
        Some(code) => Err((code.to_owned(), response.body["errors"][0]["extensions"].clone())),
    }
}

fn forbidden(result: Result<Vec<Value>, (String, Value)>) {
    match result {
        Err((code, _)) => assert_eq!(code, "FORBIDDEN"),
        Ok(events) => panic!("expected FORBIDDEN, got {} events", events.len()),
    }
}

fn ids(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["id"].as_str().expect("id").to_owned()).collect()
}

fn orders_of(events: &[Value]) -> std::collections::BTreeSet<String> {
    events.iter().filter_map(|e| e["orderId"].as_str().map(str::to_owned)).collect()
}

async fn audit_log_by_role_and_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let north_order = app.order(&w.spec(&w.n1, Some(&w.north), OrderStatus::Open, T0)).await;
    let south_order = app.order(&w.spec(&w.s1, Some(&w.south), OrderStatus::Open, T0)).await;
    let planner = person(&w.org, &w.north, &w.north_planner);
    audit(&app, &w.org, AuditActor::Principal(&planner), "order.edit", &north_order).await;
    audit(&app, &w.org, AuditActor::Principal(&planner), "order.assign", &north_order).await;
    audit(&app, &w.org, AuditActor::System, "order.edit", &south_order).await;
    let south_user = app.user(&w.org, &w.south, "Sol South").await;
    let other = app.bootstrap("Other").await;
    let foreign = app.order(&OrderSpec::new(&other.organization_id, &other.admin_user_id)).await;
    audit(&app, &other.organization_id, AuditActor::System, "order.edit", &foreign).await;

    // The root admin reads every event of the organization, none of another.
    let root = app.token_for(&w.root_admin);
    let everything = log(&app, &root, json!({ "first": 100 })).await.expect("root admin reads the log");
    assert_eq!(orders_of(&everything), [north_order.clone(), south_order.clone()].into_iter().collect());
    let actions: Vec<&str> = everything.iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"organization.bootstrap"), "{actions:?}");
    assert!(actions.contains(&"account.create"), "{actions:?}");
    let one = log(&app, &root, json!({ "order": south_order })).await.expect("one order");
    assert_eq!((one.len(), orders_of(&one)), (1, [south_order.clone()].into_iter().collect()));
    let by_planner = log(&app, &root, json!({ "actor": w.north_planner })).await.expect("by actor");
    assert_eq!(by_planner.len(), 2);
    assert!(by_planner.iter().all(|e| e["actor"]["id"] == json!(w.north_planner)));

    // A planner reads the history of an order in scope, given its id; not
    // another account's order, not one that does not exist, not the log.
    let planner_token = app.token_for(&w.north_planner);
    let history = log(&app, &planner_token, json!({ "order": north_order })).await.expect("in scope");
    assert_eq!(history.len(), 2);
    assert_eq!(orders_of(&history), [north_order.clone()].into_iter().collect());
    forbidden(log(&app, &planner_token, json!({ "order": south_order })).await);
    forbidden(log(&app, &planner_token, json!({ "order": IdKind::Order.new_id() })).await);
    forbidden(log(&app, &planner_token, json!({})).await);

    // A requester, a viewer, a technician and API tokens read no log, not
    // even of an order they see.
    for user in [&w.requester, &w.viewer, &w.tech] {
        let token = app.token_for(user);
        forbidden(log(&app, &token, json!({})).await);
        forbidden(log(&app, &token, json!({ "order": north_order })).await);
    }
    forbidden(log(&app, &api_token(&app, &w.root_admin).await, json!({})).await);

    // A child account's admin: its orders and records, never the sibling's.
    let north_admin = app.token_for(&w.north_admin);
    let north_log = log(&app, &north_admin, json!({ "first": 100 })).await.expect("child admin reads its log");
    assert_eq!(orders_of(&north_log), [north_order.clone()].into_iter().collect());
    let raw: Vec<audit_events::Model> = audit_events::Entity::find().all(&app.db).await.expect("events");
    let entity_of = |id: &str| raw.iter().find(|e| e.id == id).map(|e| (e.entity_type.clone(), e.entity_id.clone()));
    let entities: Vec<(String, String)> = ids(&north_log).iter().filter_map(|id| entity_of(id)).collect();
    assert!(entities.contains(&("user".to_owned(), w.north_planner.clone())), "{entities:?}");
    assert!(entities.contains(&("account".to_owned(), w.north.clone())), "{entities:?}");
    assert!(entities.contains(&("site".to_owned(), w.n1.clone())), "{entities:?}");
    for (kind, id) in &entities {
        assert!(![&south_user, &w.south, &w.s1, &south_order].contains(&id), "{kind} {id} leaked");
        assert_ne!(kind, "organization");
    }
    // Asked for an order outside their log, an admin gets an empty list.
    assert_eq!(log(&app, &north_admin, json!({ "order": south_order })).await, Ok(Vec::new()));
}

async fn audit_log_pages_newest_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let order = app.order(&w.spec(&w.n1, Some(&w.north), OrderStatus::Open, T0)).await;
    for _ in 0..4 {
        audit(&app, &w.org, AuditActor::System, "order.edit", &order).await;
    }
    // Three events at the very same instant: the id breaks the tie.
    let same = T0 + 5 * DAY;
    for _ in 0..3 {
        audit_events::ActiveModel {
            id: Set(IdKind::AuditEvent.new_id()),
            organization_id: Set(w.org.clone()),
            at: Set(same),
            actor_id: Set(None),
            token_id: Set(None),
            token_name: Set(None),
            action: Set("order.tie".to_owned()),
            entity_type: Set("order".to_owned()),
            entity_id: Set(order.clone()),
            order_id: Set(Some(order.clone())),
            changes: Set("{}".to_owned()),
            reason: Set(None),
        }
        .insert(&app.db)
        .await
        .expect("event inserted");
    }

    let token = app.token_for(&w.north_planner);
    let all = log(&app, &token, json!({ "order": order })).await.expect("history");
    assert_eq!(all.len(), 7);
    let keys: Vec<(chrono::DateTime<chrono::FixedOffset>, String)> = all
        .iter()
        .map(|e| {
            let at = chrono::DateTime::parse_from_rfc3339(e["at"].as_str().expect("at")).expect("RFC 3339");
            (at, e["id"].as_str().expect("id").to_owned())
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(keys, sorted, "newest first, ties by id");

    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = log(&app, &token, json!({ "order": order, "first": 2, "after": after })).await.expect("page");
        assert!(page.len() <= 2);
        if page.is_empty() {
            break;
        }
        after = page.last().map(|e| e["id"].as_str().expect("id").to_owned());
        paged.extend(page);
    }
    assert_eq!(ids(&paged), ids(&all));

    // The default page is 50 and at most 100 may be asked for.
    let other = app.order(&w.spec(&w.n1, Some(&w.north), OrderStatus::Open, T0)).await;
    for _ in 0..50 {
        audit(&app, &w.org, AuditActor::System, "order.edit", &other).await;
    }
    let root = app.token_for(&w.root_admin);
    assert_eq!(log(&app, &root, json!({})).await.expect("default page").len(), 50);
    let in_org = audit_events::Entity::find()
        .filter(audit_events::Column::OrganizationId.eq(w.org.as_str()))
        .count(&app.db)
        .await
        .expect("count");
    assert!(in_org > 50 && in_org < 100, "{in_org}");
    assert_eq!(log(&app, &root, json!({ "first": 100 })).await.expect("long page").len() as u64, in_org);
    for first in [101, -1] {
        match log(&app, &root, json!({ "first": first })).await {
            Err((code, ext)) => assert_eq!((code.as_str(), &ext["field"]), ("BAD_USER_INPUT", &json!("first"))),
            Ok(_) => panic!("first: {first} was accepted"),
        }
    }
    // A cursor must be an event of this list.
    let south_order = app.order(&w.spec(&w.s1, Some(&w.south), OrderStatus::Open, T0)).await;
    audit(&app, &w.org, AuditActor::System, "order.edit", &south_order).await;
    let south_event = log(&app, &root, json!({ "order": south_order })).await.expect("south");
    for bad in [json!("nonsense"), south_event[0]["id"].clone()] {
        match log(&app, &token, json!({ "order": order, "after": bad })).await {
            Err((code, ext)) => assert_eq!((code.as_str(), &ext["field"]), ("BAD_USER_INPUT", &json!("after"))),
            Ok(_) => panic!("cursor {bad} was accepted"),
        }
    }
}

/// RFC 4180 parsing, for checking what the export wrote.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => assert_eq!(chars.next(), Some('\n'), "records end with CRLF"),
            (false, '\n') => panic!("bare LF outside quotes"),
            (false, c) => field.push(c),
        }
        if !quoted && c == '\r' {
            row.push(std::mem::take(&mut field));
            rows.push(std::mem::take(&mut row));
        }
    }
    assert!(field.is_empty() && row.is_empty(), "the last record ends with CRLF");
    rows
}

async fn export(app: &TestApp, token: Option<&str>, query: &str) -> reqwest::Response {
    let mut request = app.client.get(app.url(&format!("/export/orders.csv{query}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request sent")
}

async fn csv_rows(app: &TestApp, token: &str, query: &str) -> Vec<Vec<String>> {
    let response = export(app, Some(token), query).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut rows = parse_csv(&response.text().await.expect("body"));
    let header = rows.remove(0);
    assert_eq!(header, workgate::reports::export::COLUMNS);
    rows
}

async fn export_rows_quoting_and_range(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let asset = app.asset(&w.org, &w.n1, "Boiler", &[]).await;
    let vendor = app.vendor(&w.org, None, "CoolCo, Inc.").await;
    let tricky = "Pump, \"big\"\nleak";
    let mut first = w.spec(&w.n1, Some(&w.north), OrderStatus::Closed, T0);
    first.title = tricky.to_owned();
    first.asset = Some(asset);
    first.vendor = Some(vendor);
    first.owner = Some(w.north_planner.clone());
    first.estimated_cost_cents = Some(123_450);
    let first = app.order(&first).await;
    close(&app, &first, T0 + 10 * HOUR).await;
    let mut formula = w.spec(&w.s1, Some(&w.south), OrderStatus::Open, T0 + DAY);
    formula.title = "=SUM(A1)".to_owned();
    let second = app.order(&formula).await;
    let third = app.order(&w.spec(&w.n1, None, OrderStatus::Open, T0 + 2 * DAY)).await;
    let mut deleted = w.spec(&w.n1, Some(&w.north), OrderStatus::Open, T0 + DAY);
    deleted.deleted = true;
    app.order(&deleted).await;

    let admin = app.token_for(&w.root_admin);
    let response = export(&app, Some(&admin), "").await;
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| response.headers()[name].to_str().expect("header").to_owned();
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    assert!(header("content-disposition").starts_with("attachment; filename="), "{}", header("content-disposition"));
    let body = response.text().await.expect("body");
    assert!(body.contains("\"Pump, \"\"big\"\"\nleak\""), "{body}");
    let mut rows = parse_csv(&body);
    rows.remove(0);
    let ids: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(ids, [&first, &second, &third]);

    let number: String = orders::Entity::find_by_id(&first).one(&app.db).await.expect("read").expect("order").number;
    assert_eq!(
        rows[0],
        [
            number.as_str(),
            first.as_str(),
            "WORK",
            "CLOSED",
            "MEDIUM",
            tricky,
            "North 1",
            "Boiler",
            "Rita Requester",
            "Nina Planner",
            "CoolCo, Inc.",
            "1234.50",
            "2025-01-01T00:00:00Z",
            "2025-01-01T00:00:00Z",
            "2025-01-01T10:00:00Z",
        ]
    );
    assert_eq!(rows[1][5], "'=SUM(A1)", "formulas are defused");
    assert_eq!(
        (rows[1][6].as_str(), rows[1][7].as_str(), rows[1][11].as_str(), rows[1][14].as_str()),
        ("South 1", "", "", "")
    );

    // [day 1, day 2) is the second order only; `to` alone and `from` alone work too.
    let window = csv_rows(&app, &admin, &format!("?from={}&to={}", enc(T0 + DAY), enc(T0 + 2 * DAY))).await;
    assert_eq!(window.iter().map(|r| &r[1]).collect::<Vec<_>>(), [&second]);
    assert_eq!(csv_rows(&app, &admin, &format!("?to={}", enc(T0 + DAY))).await.len(), 1);
    assert_eq!(csv_rows(&app, &admin, &format!("?from={}", enc(T0 + DAY))).await.len(), 2);
    assert_eq!(csv_rows(&app, &admin, &format!("?from={}", enc(T0 + 9 * DAY))).await.len(), 0);

    // A child account's admin exports what they see: never the sibling's.
    let north = csv_rows(&app, &app.token_for(&w.north_admin), "").await;
    assert_eq!(north.iter().map(|r| &r[1]).collect::<Vec<_>>(), [&first, &third]);
}

/// An instant as a query-string value (`+` must be escaped; `Z` needs not).
fn enc(micros: i64) -> String {
    rfc3339(micros).replace(':', "%3A")
}

async fn export_refuses_and_validates(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;

    let anonymous = export(&app, None, "").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    assert_eq!(export(&app, Some("not-a-jwt"), "").await.status(), StatusCode::UNAUTHORIZED);

    for user in [&w.north_planner, &w.tech, &w.requester, &w.viewer] {
        let response = export(&app, Some(&app.token_for(user)), "").await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{user}");
    }
    assert_eq!(export(&app, Some(&api_token(&app, &w.root_admin).await), "").await.status(), StatusCode::FORBIDDEN);

    let admin = app.token_for(&w.root_admin);
    for (query, named) in [
        ("?from=yesterday", "from"),
        ("?to=2025-02-30T00:00:00Z", "to"),
        ("?from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z", "to"),
    ] {
        let response = export(&app, Some(&admin), query).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body = response.text().await.expect("body");
        assert!(body.starts_with(&format!("{named}:")), "{query}: {body}");
    }
}

async fn export_streams_in_batches(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    // More than two batches, most of them created at one instant, so that
    // the keyset must break ties by id.
    let total = 2 * workgate::reports::export::BATCH as usize + 201;
    let models: Vec<orders::ActiveModel> = (0..total)
        .map(|i| {
            let created = if i % 4 == 0 { T0 + i as i64 } else { T0 };
            orders::ActiveModel {
                id: Set(IdKind::Order.new_id()),
                organization_id: Set(w.org.clone()),
                number: Set(format!("WO-{}", i + 1)),
                kind: Set("WORK".to_owned()),
                title: Set(format!("Order {i}")),
                description: Set(None),
                priority: Set(1),
                status: Set("OPEN".to_owned()),
                archived: Set(i % 7 == 0),
                version: Set(1),
                site_id: Set(Some(w.n1.clone())),
                asset_id: Set(None),
                scope_account_id: Set(Some(w.north.clone())),
                creator_id: Set(w.requester.clone()),
                owner_id: Set(w.requester.clone()),
                via_token_id: Set(None),
                vendor_id: Set(None),
                estimated_cost_cents: Set(None),
                resolution: Set(None),
                due_at: Set(None),
                created_at: Set(created),
                updated_at: Set(created),
                closed_at: Set(None),
                deleted_at: Set(None),
                send_state: Set(None),
            }
        })
        .collect();
    for chunk in models.chunks(200) {
        orders::Entity::insert_many(chunk.to_vec()).exec(&app.db).await.expect("orders inserted");
    }

    let rows = csv_rows(&app, &app.token_for(&w.root_admin), "").await;
    assert_eq!(rows.len(), total, "every order once, archived ones too");
    let mut keys: Vec<(chrono::DateTime<chrono::FixedOffset>, String)> = rows
        .iter()
        .map(|r| (chrono::DateTime::parse_from_rfc3339(&r[12]).expect("created_at"), r[1].clone()))
        .collect();
    let as_listed = keys.clone();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), total, "no order twice");
    assert_eq!(as_listed, keys, "oldest first, ties by id");
}
