//! Live subscriptions over `/graphql/ws` (DOMAIN.md section 8): events in
//! order with cursors, replay after a cursor without gaps or duplicates,
//! filtering by the policy (no event about an order the subscriber could
//! not query), queue entry and exit as the subscriber sees it, assignment
//! notifications, and two gateway instances on one database. The leak test
//! (every role and scope against an oracle) is `subscription_leaks.rs`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::world::Bind;
use common::ws::WsClient;
use common::{Backend, TestApp, TestDatabase, spawn_app, spawn_app_on, spawn_app_with};
use serde_json::{Value, json};
use workgate::org::model::Role;

backend_tests!(
    order_changed_replays_then_streams_live,
    subscribers_hear_only_of_what_they_may_query,
    queues_and_assignments_as_the_subscriber_sees_them,
    a_mutation_on_one_instance_reaches_subscribers_on_another,
    losing_redis_delays_events_but_loses_none,
    a_cursor_older_than_the_log_asks_for_a_refetch,
    events_are_judged_by_the_order_as_the_change_left_it,
    an_unreadable_snapshot_holds_up_nothing,
    a_resumed_queue_converges,
);

struct Floor {
    admin: String,
    north: String,
    south: String,
    tech: String,
    other_tech: String,
}

/// An organization with two sites and a technician bound to each.
async fn floor(app: &TestApp) -> Floor {
    let boot = app.bootstrap("Floor").await;
    let (org, root) = (boot.organization_id, boot.account_id);
    let north = app.site(&org, &root, "North").await;
    let south = app.site(&org, &root, "South").await;
    let tech = app.user(&org, &root, "Tina North").await;
    app.grant(&org, &tech, Role::Technician, &Bind::Site(north.clone())).await;
    let other_tech = app.user(&org, &root, "Sam South").await;
    app.grant(&org, &other_tech, Role::Technician, &Bind::Site(south.clone())).await;
    Floor { admin: boot.admin_user_id, north, south, tech, other_tech }
}

async fn run(app: &TestApp, user: &str, query: &str, vars: Value) -> Value {
    app.graphql(Some(&app.token_for(user)), query, vars).await.assert_ok().clone()
}

async fn create(app: &TestApp, user: &str, site: &str, title: &str, assignees: &[&str]) -> String {
    let input = json!({ "kind": "WORK", "title": title, "siteId": site, "assigneeIds": assignees });
    let data =
        run(app, user, "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id } }", json!({ "i": input }))
            .await;
    data["createOrder"]["id"].as_str().expect("id").to_owned()
}

async fn version(app: &TestApp, user: &str, id: &str) -> i64 {
    run(app, user, "query($id: ID!) { order(id: $id) { version } }", json!({ "id": id })).await["order"]["version"]
        .as_i64()
        .expect("version")
}

async fn retitle(app: &TestApp, user: &str, id: &str, title: &str) {
    let v = version(app, user, id).await;
    let edit =
        "mutation($id: ID!, $v: Int!, $t: String!) { editOrder(id: $id, version: $v, input: { title: $t }) { id } }";
    run(app, user, edit, json!({ "id": id, "v": v, "t": title })).await;
}

async fn assign(app: &TestApp, user: &str, id: &str, assignees: &[&str]) {
    let v = version(app, user, id).await;
    let assign = "mutation($id: ID!, $v: Int!, $a: [ID!]!) { assign(id: $id, version: $v, assigneeIds: $a) { id } }";
    run(app, user, assign, json!({ "id": id, "v": v, "a": assignees })).await;
}

const ORDER_CHANGED: &str = "subscription($id: ID!, $after: Cursor) { orderChanged(id: $id, after: $after) {
    cursor kind orderId actor { id } order { id title } } }";

async fn order_changed_replays_then_streams_live(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = floor(&app).await;
    let id = create(&app, &f.admin, &f.north, "Leaking valve", &[]).await;
    let token = app.token_for(&f.admin);

    // From the start of the log: the creation, then what happens next.
    let mut ws = WsClient::connect(&app.address, &token).await;
    ws.subscribe("1", ORDER_CHANGED, json!({ "id": id, "after": "0" })).await;
    let created = ws.event("1", "orderChanged").await;
    assert_eq!((&created["kind"], &created["actor"]["id"]), (&json!("CREATED"), &json!(f.admin)));
    assert_eq!(created["order"]["title"], json!("Leaking valve"));
    retitle(&app, &f.admin, &id, "Leaking valve, hall 2").await;
    let updated = ws.event("1", "orderChanged").await;
    assert_eq!((&updated["kind"], &updated["order"]["title"]), (&json!("UPDATED"), &json!("Leaking valve, hall 2")));
    assign(&app, &f.admin, &id, &[&f.tech]).await;
    let assigned = ws.event("1", "orderChanged").await;
    assert_eq!(assigned["kind"], json!("ASSIGNED"));
    let cursors: Vec<i64> = [&created, &updated, &assigned]
        .iter()
        .map(|e| e["cursor"].as_str().expect("cursor").parse().expect("numeric cursor"))
        .collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "cursors grow: {cursors:?}");
    ws.close().await;

    // Missed while away: resumed from the last cursor, then live, each once.
    retitle(&app, &f.admin, &id, "Valve replaced?").await;
    retitle(&app, &f.admin, &id, "Valve replaced").await;
    let mut ws = WsClient::connect(&app.address, &token).await;
    ws.subscribe("2", ORDER_CHANGED, json!({ "id": id, "after": assigned["cursor"] })).await;
    let first = ws.event("2", "orderChanged").await;
    let second = ws.event("2", "orderChanged").await;
    assert_eq!(
        (&first["kind"], &second["kind"], &second["order"]["title"]),
        (&json!("UPDATED"), &json!("UPDATED"), &json!("Valve replaced"))
    );
    retitle(&app, &f.admin, &id, "Valve replaced, tested").await;
    let live = ws.event("2", "orderChanged").await;
    assert_eq!(live["order"]["title"], json!("Valve replaced, tested"));
    assert!(ws.message_within(Duration::from_millis(300)).await.is_none(), "no duplicates");

    // A cursor that is not one is refused clearly.
    ws.subscribe("3", ORDER_CHANGED, json!({ "id": id, "after": "yesterday" })).await;
    let refused = ws.message().await;
    assert_eq!(refused["id"], json!("3"));
    let errors = if refused["type"] == "error" { &refused["payload"] } else { &refused["payload"]["errors"] };
    assert_eq!(errors[0]["extensions"]["code"], json!("BAD_USER_INPUT"), "{refused}");
}

async fn subscribers_hear_only_of_what_they_may_query(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = floor(&app).await;
    let south = create(&app, &f.admin, &f.south, "South pump", &[]).await;
    let north = create(&app, &f.admin, &f.north, "North pump", &[]).await;

    // An order out of the technician's sight cannot be subscribed to.
    let mut ws = WsClient::connect(&app.address, &app.token_for(&f.tech)).await;
    ws.subscribe("1", ORDER_CHANGED, json!({ "id": south, "after": "0" })).await;
    assert_eq!(ws.refusal_code().await, json!("NOT_FOUND"));

    // The MY_REQUESTS-like firehose: every change the technician may see,
    // and nothing else, in order. The South changes come first and must
    // not arrive; the North one must.
    let queue = "subscription { queueChanged(queue: MY_WORK, after: \"0\") { kind orderId order { title } } }";
    ws.subscribe("2", queue, json!({})).await;
    retitle(&app, &f.admin, &south, "South pump, urgent").await;
    assign(&app, &f.admin, &south, &[&f.other_tech]).await;
    assign(&app, &f.admin, &north, &[&f.tech]).await;
    let first = ws.event("2", "queueChanged").await;
    assert_eq!(first["orderId"], json!(north), "nothing about the South order: {first}");
    assert_eq!(first["order"]["title"], json!("North pump"));
}

async fn queues_and_assignments_as_the_subscriber_sees_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = floor(&app).await;
    let id = create(&app, &f.admin, &f.north, "Broken door", &[]).await;
    let marker = create(&app, &f.admin, &f.north, "Marker", &[&f.tech]).await;
    let mut ws = WsClient::connect(&app.address, &app.token_for(&f.tech)).await;
    ws.subscribe("q", "subscription { queueChanged(queue: MY_WORK) { cursor kind queue orderId } }", json!({})).await;
    // A live subscription starts when the server has set it up: change the
    // marker (in the queue) until the queue reports it.
    let deadline = tokio::time::Instant::now() + common::ws::DEADLINE;
    let mut n = 0;
    let cursor = loop {
        assert!(tokio::time::Instant::now() < deadline, "the subscription never started");
        n += 1;
        retitle(&app, &f.admin, &marker, &format!("Marker {n}")).await;
        if let Some(message) = ws.message_within(Duration::from_millis(500)).await {
            let event = &message["payload"]["data"]["queueChanged"];
            // The marker's creation or one of its edits.
            assert_eq!(event["orderId"], json!(marker), "{message}");
            break event["cursor"].clone();
        }
    };
    // Drain the marker's other edits, if any arrived late.
    while ws.message_within(Duration::from_millis(300)).await.is_some() {}
    // From that cursor on, assignments too (a replay, so nothing is missed).
    ws.subscribe(
        "a",
        "subscription($c: Cursor) { assignmentChanged(after: $c) { kind orderId } }",
        json!({ "c": cursor }),
    )
    .await;

    assign(&app, &f.admin, &id, &[&f.tech]).await;
    let seen = assignment_and_queue(&mut ws).await;
    assert_eq!(seen[0].1, json!({ "kind": "ASSIGNED", "orderId": id }));
    assert_eq!(seen[1].1["kind"], json!("ENTERED_QUEUE"));
    assert_eq!((&seen[1].1["queue"], &seen[1].1["orderId"]), (&json!("MY_WORK"), &json!(id)));

    // Taken off it: it leaves the queue, and the technician is told.
    assign(&app, &f.admin, &id, &[&f.other_tech]).await;
    let seen = assignment_and_queue(&mut ws).await;
    assert_eq!(seen[0].1, json!({ "kind": "UNASSIGNED", "orderId": id }));
    assert_eq!((&seen[1].1["kind"], &seen[1].1["orderId"]), (&json!("LEFT_QUEUE"), &json!(id)));
}

/// The next event of the assignment stream ("a") and of the queue ("q"),
/// in that order, whichever came first.
async fn assignment_and_queue(ws: &mut WsClient) -> Vec<(String, Value)> {
    let mut seen = Vec::new();
    for _ in 0..2 {
        let message = ws.message().await;
        let field = if message["id"] == "q" { "queueChanged" } else { "assignmentChanged" };
        seen.push((message["id"].as_str().expect("id").to_owned(), message["payload"]["data"][field].clone()));
    }
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    seen
}

async fn a_mutation_on_one_instance_reaches_subscribers_on_another(backend: Backend) {
    let first = spawn_app(backend).await;
    let second = spawn_app_on(Arc::clone(&first.database), |_| {}).await;
    let f = floor(&first).await;
    let id = create(&first, &f.admin, &f.north, "Shared", &[]).await;
    let mut ws = WsClient::connect(&second.address, &second.token_for(&f.admin)).await;
    ws.subscribe("1", ORDER_CHANGED, json!({ "id": id, "after": "0" })).await;
    assert_eq!(ws.event("1", "orderChanged").await["kind"], json!("CREATED"));
    retitle(&first, &f.admin, &id, "Shared, changed on the first").await;
    let changed = ws.event("1", "orderChanged").await;
    assert_eq!(changed["order"]["title"], json!("Shared, changed on the first"));
    retitle(&second, &f.admin, &id, "Shared, changed on the second").await;
    let changed = ws.event("1", "orderChanged").await;
    assert_eq!(changed["order"]["title"], json!("Shared, changed on the second"));
}

/// A Redis server of this test's own on 127.0.0.1, to kill and restart.
struct OwnRedis {
    port: u16,
    child: std::process::Child,
}

impl OwnRedis {
    fn start(port: u16) -> Self {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server starts (the machine's Redis package)");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "redis-server did not listen on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { port, child }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: no goodbye to the subscribers.
    fn kill(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn losing_redis_delays_events_but_loses_none(backend: Backend) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let redis = OwnRedis::start(port);
    let database = Arc::new(TestDatabase::create(backend).await);
    let url = redis.url();
    let writer = spawn_app_on(Arc::clone(&database), |raw| raw.redis_url = Some(url.clone())).await;
    let reader = spawn_app_on(Arc::clone(&database), |raw| raw.redis_url = Some(url.clone())).await;
    let f = floor(&writer).await;
    let id = create(&writer, &f.admin, &f.north, "Edit 0", &[]).await;
    let mut ws = WsClient::connect(&reader.address, &reader.token_for(&f.admin)).await;
    ws.subscribe("1", ORDER_CHANGED, json!({ "id": id, "after": "0" })).await;
    assert_eq!(ws.event("1", "orderChanged").await["kind"], json!("CREATED"));

    // Edits before, while and after Redis is gone.
    let mut expected = Vec::new();
    let mut edit = |n: usize| {
        expected.push(format!("Edit {n}"));
        format!("Edit {n}")
    };
    for n in 1..=5 {
        retitle(&writer, &f.admin, &id, &edit(n)).await;
    }
    let port = redis.kill();
    for n in 6..=10 {
        retitle(&writer, &f.admin, &id, &edit(n)).await;
    }
    let redis = OwnRedis::start(port);
    for n in 11..=15 {
        retitle(&writer, &f.admin, &id, &edit(n)).await;
    }
    let mut titles = Vec::new();
    let mut cursors = Vec::new();
    while titles.len() < expected.len() {
        let event = ws.event("1", "orderChanged").await;
        cursors.push(event["cursor"].as_str().expect("cursor").parse::<i64>().expect("numeric"));
        titles.push(event["order"]["title"].as_str().expect("title").to_owned());
    }
    // Each edit once, in order (the title is the order now, so the last
    // events may show a later title; the cursors prove order and count).
    assert!(cursors.windows(2).all(|w| w[1] == w[0] + 1), "gap-free and in order: {cursors:?}");
    assert_eq!(titles.last(), expected.last());
    assert!(ws.message_within(Duration::from_millis(500)).await.is_none(), "no duplicates");
    drop(redis);
}

async fn a_cursor_older_than_the_log_asks_for_a_refetch(backend: Backend) {
    let app = spawn_app_with(backend, |raw| raw.event_retention = Some("1s".into())).await;
    let f = floor(&app).await;
    let id = create(&app, &f.admin, &f.north, "Old news", &[]).await;
    retitle(&app, &f.admin, &id, "Older news").await;
    let mut ws = WsClient::connect(&app.address, &app.token_for(&f.admin)).await;
    ws.subscribe("live", ORDER_CHANGED, json!({ "id": id, "after": "0" })).await;
    let created = ws.event("live", "orderChanged").await;
    let updated = ws.event("live", "orderChanged").await;
    // Once the log has dropped the creation, resuming from before it is
    // refused with a reason; resuming from the newest kept event is not.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut attempt = 0;
    let refused = loop {
        assert!(tokio::time::Instant::now() < deadline, "the log never dropped the old events");
        attempt += 1;
        let sub = format!("old{attempt}");
        ws.subscribe(&sub, ORDER_CHANGED, json!({ "id": id, "after": "0" })).await;
        let mut message = ws.message().await;
        while message["id"] != json!(sub) {
            message = ws.message().await;
        }
        let errors =
            if message["type"] == "error" { message["payload"].clone() } else { message["payload"]["errors"].clone() };
        if errors.is_array() {
            break errors;
        }
        // Accepted (the events are still there): end it, look again soon.
        ws.send(json!({ "id": sub, "type": "complete" })).await;
        while ws.message_within(Duration::from_millis(200)).await.is_some() {}
    };
    assert_eq!(refused[0]["extensions"]["code"], json!("BAD_USER_INPUT"), "{refused}");
    assert_eq!(refused[0]["extensions"]["field"], json!("after"), "{refused}");
    assert!(refused[0]["message"].as_str().is_some_and(|m| m.contains("refetch")), "{refused}");
    ws.subscribe("recent", ORDER_CHANGED, json!({ "id": id, "after": created["cursor"] })).await;
    let resumed = ws.event("recent", "orderChanged").await;
    assert_eq!(resumed["cursor"], updated["cursor"]);
}

/// Changes made while nobody listens, replayed afterwards: each event is
/// judged by the order as its change left it, not as it is by the time it
/// is delivered (the technician is no longer assigned when the replay runs,
/// yet hears that the order entered MY_WORK and changed status there).
async fn events_are_judged_by_the_order_as_the_change_left_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = floor(&app).await;
    let before = create(&app, &f.admin, &f.north, "Before", &[]).await;
    let mut ws = WsClient::connect(&app.address, &app.token_for(&f.admin)).await;
    ws.subscribe("c", ORDER_CHANGED, json!({ "id": before, "after": "0" })).await;
    let cursor = ws.event("c", "orderChanged").await["cursor"].clone();
    ws.close().await;

    let id = create(&app, &f.admin, &f.north, "Broken door", &[]).await;
    assign(&app, &f.admin, &id, &[&f.tech]).await;
    let start = "mutation($id: ID!, $v: Int!) { start(id: $id, version: $v) { status } }";
    let v = version(&app, &f.tech, &id).await;
    run(&app, &f.tech, start, json!({ "id": id, "v": v })).await;
    retitle(&app, &f.admin, &id, "Broken door, hall 2").await;
    assign(&app, &f.admin, &id, &[&f.other_tech]).await;

    let mut ws = WsClient::connect(&app.address, &app.token_for(&f.tech)).await;
    let queue = "subscription($c: Cursor) { queueChanged(queue: MY_WORK, after: $c) { kind orderId } }";
    ws.subscribe("q", queue, json!({ "c": cursor })).await;
    let kinds = |events: Vec<Value>| -> Vec<Value> {
        events
            .iter()
            .map(|e| {
                assert_eq!(e["orderId"], json!(id));
                e["kind"].clone()
            })
            .collect()
    };
    let mut replayed = Vec::new();
    for _ in 0..4 {
        replayed.push(ws.event("q", "queueChanged").await);
    }
    assert_eq!(
        kinds(replayed),
        [json!("ENTERED_QUEUE"), json!("STATUS_CHANGED"), json!("UPDATED"), json!("LEFT_QUEUE")]
    );
    ws.subscribe(
        "a",
        "subscription($c: Cursor) { assignmentChanged(after: $c) { kind orderId } }",
        json!({ "c": cursor }),
    )
    .await;
    let mut replayed = Vec::new();
    for _ in 0..3 {
        replayed.push(ws.event("a", "assignmentChanged").await);
    }
    assert_eq!(kinds(replayed), [json!("ASSIGNED"), json!("STATUS_CHANGED"), json!("UNASSIGNED")]);

    // Nothing else was delivered in between: the next events of both
    // streams are the ones this assignment makes.
    assign(&app, &f.admin, &id, &[&f.tech]).await;
    let seen = assignment_and_queue(&mut ws).await;
    assert_eq!(seen[0].1, json!({ "kind": "ASSIGNED", "orderId": id }));
    assert_eq!(seen[1].1, json!({ "kind": "ENTERED_QUEUE", "orderId": id }));
}

/// An event whose snapshot cannot be read (a damaged row) is judged by the
/// order as it is now instead, and the events after it still flow.
async fn an_unreadable_snapshot_holds_up_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = floor(&app).await;
    let id = create(&app, &f.admin, &f.north, "Damaged", &[]).await;
    app.execute_sql(&format!(
        "UPDATE order_events SET payload = '{{\"after\": {{\"status\": 42}}}}' WHERE order_id = '{id}'"
    ))
    .await;
    let mut ws = WsClient::connect(&app.address, &app.token_for(&f.admin)).await;
    ws.subscribe("1", ORDER_CHANGED, json!({ "id": id, "after": "0" })).await;
    let created = ws.event("1", "orderChanged").await;
    assert_eq!((&created["kind"], &created["order"]["title"]), (&json!("CREATED"), &json!("Damaged")));
    retitle(&app, &f.admin, &id, "Repaired").await;
    let updated = ws.event("1", "orderChanged").await;
    assert_eq!((&updated["kind"], &updated["order"]["title"]), (&json!("UPDATED"), &json!("Repaired")));
}

/// A resumed `queueChanged` converges on the queue as it is, whatever the
/// client held at its cursor: an order that entered the queue while it was
/// away is ENTERED_QUEUE (not the kind of a change inside the queue, as if
/// the client had it), and one the subscriber was taken off while away is
/// LEFT_QUEUE, although they no longer see it.
async fn a_resumed_queue_converges(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = floor(&app).await;
    // South orders: the North technician sees them as their assignee only.
    let kept = create(&app, &f.admin, &f.south, "Kept", &[&f.tech]).await;
    // The admin follows `kept` to know when its events are in the log (the
    // relay publishes them in order): a resumed subscription replays what
    // the log holds.
    let mut admin = WsClient::connect(&app.address, &app.token_for(&f.admin)).await;
    admin.subscribe("k", ORDER_CHANGED, json!({ "id": kept, "after": "0" })).await;
    let cursor = admin.event("k", "orderChanged").await["cursor"].clone();

    // The technician's client holds `kept` at that cursor, then goes away.
    // Meanwhile: a new order for them, and `kept` taken off them.
    let new = create(&app, &f.admin, &f.south, "New", &[&f.tech]).await;
    assign(&app, &f.admin, &kept, &[&f.other_tech]).await;
    admin.event("k", "orderChanged").await;

    let queue = "subscription($c: Cursor) { queueChanged(queue: MY_WORK, after: $c) { kind orderId } }";
    let mut ws = WsClient::connect(&app.address, &app.token_for(&f.tech)).await;
    ws.subscribe("q", queue, json!({ "c": cursor })).await;
    let mut replayed = Vec::new();
    for _ in 0..2 {
        let event = ws.event("q", "queueChanged").await;
        replayed.push((event["kind"].clone(), event["orderId"].clone()));
    }
    assert_eq!(replayed, [(json!("ENTERED_QUEUE"), json!(new)), (json!("LEFT_QUEUE"), json!(kept))]);
    // Then live, and nothing else came in between: a change inside the
    // queue is its own kind.
    retitle(&app, &f.admin, &new, "New, urgent").await;
    let live = ws.event("q", "queueChanged").await;
    assert_eq!((&live["kind"], &live["orderId"]), (&json!("UPDATED"), &json!(new)));
}
