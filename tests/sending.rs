//! Sending vendor orders (DOMAIN.md section 7, "Sending"; seed 003), against
//! a real SMTP server started here (aiosmtpd on 127.0.0.1, a free port):
//! automatic sends, the admin's send and resend, retries of a refusing or
//! absent server, FAILED_SENDS, and at-most-once: an attempt whose outcome
//! is unknown, or whose process was killed mid-send, is failed and never
//! repeated by itself.

mod common;

use std::time::Duration;

use common::process::{self, Serve};
use common::smtp::{Mode, SmtpServer};
use common::world::Bind;
use common::{Backend, SECRET, TestApp, TestDatabase, eventually, spawn_app_on, spawn_app_with};
use entity::vendor_sends;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use workgate::config::RawConfig;
use workgate::org::model::Role;

backend_tests!(
    orders_that_need_no_approval_are_sent_at_once,
    the_high_value_chain_ends_with_the_admin_send,
    a_refusing_server_fails_the_send_and_an_admin_resends,
    a_server_nobody_listens_on_is_retried_then_failed,
    an_unanswered_send_is_failed_not_repeated,
    cancel_withdraws_a_queued_send,
    an_override_sends_to_the_new_vendor,
    a_crash_mid_send_never_sends_twice,
);

/// Long enough for any send of these tests, short enough to fail fast.
const DEADLINE: Duration = Duration::from_secs(30);

const CREATE: &str = "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id number status version } }";
const ORDER: &str = "query($id: ID!) { order(id: $id) { status version
    viewerCan { send resend cancel overrideVendor }
    sends { state trigger attempts recipients lastError messageId requestedById } } }";

struct Shop {
    org: String,
    admin: String,
    site: String,
    vendor: String,
    requester: String,
    planner: String,
    manager: String,
    cfo: String,
}

/// An organization whose PART orders go to "Office Supplies Inc"; orders
/// from $5,000 need the department manager, then finance (seed 003).
async fn shop(app: &TestApp) -> Shop {
    let boot = app.bootstrap("Shop").await;
    let (org, root) = (boot.organization_id, boot.account_id);
    let site = app.site(&org, &root, "HQ").await;
    let requester = app.user(&org, &root, "Rene Requester").await;
    app.grant(&org, &requester, Role::Requester, &Bind::Account).await;
    let planner = app.user(&org, &root, "Pat Planner").await;
    app.grant(&org, &planner, Role::Planner, &Bind::Account).await;
    let manager = app.user(&org, &root, "Dana Department").await;
    let cfo = app.user(&org, &root, "Cora CFO").await;
    let vendor = app.vendor(&org, None, "Office Supplies Inc").await;
    app.approval_rule(&org, "routing", None, 0, &[], Some(&vendor)).await;
    app.approval_rule(&org, "department", Some(500_000), 1, std::slice::from_ref(&manager), None).await;
    app.approval_rule(&org, "finance", Some(500_000), 2, std::slice::from_ref(&cfo), None).await;
    Shop { org, admin: boot.admin_user_id, site, vendor, requester, planner, manager, cfo }
}

/// The app, sending to `smtp` with quick retries.
async fn app_sending_to(backend: Backend, smtp: &str, attempts: u32) -> TestApp {
    let smtp = smtp.to_owned();
    spawn_app_with(backend, move |raw| sending_to(raw, smtp, attempts)).await
}

fn sending_to(raw: &mut RawConfig, smtp: String, attempts: u32) {
    raw.smtp_url = Some(smtp);
    raw.send_attempts = Some(attempts.to_string());
    raw.send_retry_delay = Some("50ms".into());
    // Long enough that a slow machine never times out a live attempt by
    // accident; the tests that wait on it wait this long.
    raw.send_timeout = Some("10s".into());
}

async fn run(app: &TestApp, user: &str, query: &str, vars: Value) -> common::GqlResponse {
    app.graphql(Some(&app.token_for(user)), query, vars).await
}

async fn create(app: &TestApp, user: &str, title: &str, cost: &str, site: &str) -> Value {
    let input = json!({ "kind": "PART", "title": title, "siteId": site, "estimatedCost": cost });
    run(app, user, CREATE, json!({ "i": input })).await.assert_ok()["createOrder"].clone()
}

/// The order as `user` sees it, sends included.
async fn order(app: &TestApp, user: &str, id: &str) -> Value {
    run(app, user, ORDER, json!({ "id": id })).await.assert_ok()["order"].clone()
}

/// Waits until the order is in `status`; returns it (as the admin sees it).
async fn until_status(app: &TestApp, admin: &str, id: &str, status: &str) -> Value {
    eventually(&format!("order {id} to be {status}"), DEADLINE, || async {
        let order = order(app, admin, id).await;
        (order["status"] == json!(status)).then_some(order)
    })
    .await
}

async fn queue(app: &TestApp, user: &str, queue: &str) -> Vec<String> {
    let data =
        run(app, user, "query($q: Queue!) { queue(queue: $q) { edges { node { id } } } }", json!({ "q": queue })).await;
    data.assert_ok()["queue"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
        .collect()
}

fn header<'a>(message: &'a str, name: &str) -> &'a str {
    message
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(": ")))
        .unwrap_or_else(|| panic!("no {name} header in {message}"))
}

async fn orders_that_need_no_approval_are_sent_at_once(backend: Backend) {
    let smtp = SmtpServer::start(Mode::Accept);
    let app = app_sending_to(backend, &smtp.url(), 3).await;
    let s = shop(&app).await;
    let created = create(&app, &s.requester, "Printer paper", "40.00", &s.site).await;
    let id = created["id"].as_str().expect("id");
    assert_eq!(created["status"], json!("OPEN"), "the send is queued with the creation; the worker sends it");

    let sent = until_status(&app, &s.admin, id, "SENT").await;
    let send = &sent["sends"][0];
    assert_eq!(sent["sends"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        (&send["state"], &send["trigger"], &send["attempts"], &send["recipients"]),
        (&json!("SENT"), &json!("AUTOMATIC"), &json!(1), &json!(["orders@vendor.example"]))
    );
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "one message");
    let message = &messages[0];
    assert_eq!(header(message, "To"), "\"Office Supplies Inc\" <orders@vendor.example>");
    assert!(header(message, "Subject").contains(created["number"].as_str().expect("number")), "{message}");
    assert_eq!(header(message, "Message-ID"), send["messageId"].as_str().expect("message id"));
    assert!(message.contains("Printer paper") && message.contains("40.00"), "{message}");

    // The send is the system's doing, in the history.
    let history = run(
        &app,
        &s.admin,
        "query($id: ID!) { order(id: $id) { history { action actor { id } } } }",
        json!({ "id": id }),
    )
    .await;
    let history = history.assert_ok()["order"]["history"].clone();
    assert!(
        history.as_array().expect("history").contains(&json!({ "action": "order.sent", "actor": null })),
        "{history}"
    );
    // Who sees the sends: ADMIN and PLANNER; not the requester.
    assert_eq!(order(&app, &s.planner, id).await["sends"][0]["state"], json!("SENT"));
    let response = run(&app, &s.requester, ORDER, json!({ "id": id })).await;
    assert_eq!((response.data()["order"]["sends"].clone(), response.code()), (Value::Null, Some("FORBIDDEN")));
    // A sent order is fulfilled, and sending it again is not a thing.
    let version = sent["version"].as_i64().expect("version");
    let again = run(
        &app,
        &s.admin,
        "mutation($id: ID!, $v: Int!) { send(id: $id, version: $v) { status } }",
        json!({ "id": id, "v": version }),
    )
    .await;
    assert_eq!(again.code(), Some("INVALID_TRANSITION"));
    let fulfil = "mutation($id: ID!, $v: Int!) { markFulfilled(id: $id, version: $v) { status } }";
    let data = run(&app, &s.planner, fulfil, json!({ "id": id, "v": version })).await;
    assert_eq!(data.assert_ok()["markFulfilled"]["status"], json!("CLOSED"));
}

async fn the_high_value_chain_ends_with_the_admin_send(backend: Backend) {
    let smtp = SmtpServer::start(Mode::Accept);
    let app = app_sending_to(backend, &smtp.url(), 3).await;
    let s = shop(&app).await;
    // Seed 003: this vendor's orders are sent by an admin.
    app.execute_sql(&format!("UPDATE vendors SET manual_send = TRUE WHERE id = '{}'", s.vendor)).await;
    let created = create(&app, &s.requester, "Standing desks", "6000.00", &s.site).await;
    let id = created["id"].as_str().expect("id");
    assert_eq!(created["status"], json!("PENDING_APPROVAL"));
    let approve = "mutation($id: ID!, $v: Int!) { approve(id: $id, version: $v) { status version } }";
    let data = run(&app, &s.manager, approve, json!({ "id": id, "v": 1 })).await;
    let version = data.assert_ok()["approve"]["version"].clone();
    let data = run(&app, &s.cfo, approve, json!({ "id": id, "v": version })).await;
    let approved = data.assert_ok()["approve"].clone();
    assert_eq!(approved["status"], json!("OPEN"));

    // Nothing was queued: the send waits for an admin.
    let open = order(&app, &s.admin, id).await;
    assert_eq!(open["sends"], json!([]));
    assert_eq!(open["viewerCan"]["send"], json!(true));
    assert_eq!(order(&app, &s.planner, id).await["viewerCan"]["send"], json!(false));
    let send =
        "mutation($id: ID!, $v: Int!) { send(id: $id, version: $v) { status sends { state trigger requestedById } } }";
    let v = approved["version"].as_i64().expect("version");
    assert_eq!(run(&app, &s.cfo, send, json!({ "id": id, "v": v })).await.code(), Some("FORBIDDEN"));
    assert_eq!(run(&app, &s.planner, send, json!({ "id": id, "v": v })).await.code(), Some("FORBIDDEN"));
    assert_eq!(run(&app, &s.admin, send, json!({ "id": id, "v": v - 1 })).await.code(), Some("CONFLICT"));
    assert_eq!(smtp.attempts(), 0, "refused sends send nothing");
    let data = run(&app, &s.admin, send, json!({ "id": id, "v": v })).await;
    let queued = data.assert_ok()["send"].clone();
    assert_eq!(queued["sends"][0]["trigger"], json!("SEND"));
    assert_eq!(queued["sends"][0]["requestedById"], json!(s.admin));

    let sent = until_status(&app, &s.admin, id, "SENT").await;
    assert_eq!(sent["sends"][0]["state"], json!("SENT"));
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(smtp.attempts(), 1);
}

async fn a_refusing_server_fails_the_send_and_an_admin_resends(backend: Backend) {
    let smtp = SmtpServer::start(Mode::RefuseTransient);
    let app = app_sending_to(backend, &smtp.url(), 3).await;
    let s = shop(&app).await;
    let created = create(&app, &s.requester, "Toner", "80.00", &s.site).await;
    let id = created["id"].as_str().expect("id").to_owned();

    // 451: nothing delivered, so it is tried again, three times in all.
    let failed = until_status(&app, &s.admin, &id, "SEND_FAILED").await;
    let send = &failed["sends"][0];
    assert_eq!((&send["state"], &send["attempts"]), (&json!("FAILED"), &json!(3)));
    assert!(send["lastError"].as_str().is_some_and(|e| e.contains("451")), "{send}");
    assert_eq!((smtp.attempts(), smtp.messages().len()), (3, 0));
    assert_eq!(queue(&app, &s.admin, "FAILED_SENDS").await, std::slice::from_ref(&id));
    assert!(queue(&app, &s.planner, "FAILED_SENDS").await.is_empty(), "FAILED_SENDS is ADMIN's");
    assert_eq!(failed["viewerCan"]["resend"], json!(true));

    let resend = "mutation($id: ID!, $v: Int!) { resend(id: $id, version: $v) { status } }";
    let v = failed["version"].clone();
    assert_eq!(run(&app, &s.planner, resend, json!({ "id": id, "v": v })).await.code(), Some("FORBIDDEN"));
    smtp.set_mode(Mode::Accept);
    run(&app, &s.admin, resend, json!({ "id": id, "v": v })).await.assert_ok();
    let sent = until_status(&app, &s.admin, &id, "SENT").await;
    let states: Vec<(&Value, &Value)> =
        sent["sends"].as_array().expect("sends").iter().map(|s| (&s["state"], &s["trigger"])).collect();
    assert_eq!(states, [(&json!("FAILED"), &json!("AUTOMATIC")), (&json!("SENT"), &json!("RESEND"))]);
    assert_eq!(smtp.messages().len(), 1);
    assert!(queue(&app, &s.admin, "FAILED_SENDS").await.is_empty());

    // 550 is final: no second attempt.
    smtp.set_mode(Mode::RefusePermanent);
    let before = smtp.attempts();
    let created = create(&app, &s.requester, "Staples", "5.00", &s.site).await;
    let failed = until_status(&app, &s.admin, created["id"].as_str().expect("id"), "SEND_FAILED").await;
    assert_eq!(failed["sends"][0]["attempts"], json!(1));
    assert!(failed["sends"][0]["lastError"].as_str().is_some_and(|e| e.contains("550")), "{failed}");
    assert_eq!(smtp.attempts(), before + 1);
}

async fn a_server_nobody_listens_on_is_retried_then_failed(backend: Backend) {
    // A port that was free a moment ago: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let app = app_sending_to(backend, &format!("smtp://127.0.0.1:{port}"), 2).await;
    let s = shop(&app).await;
    let created = create(&app, &s.requester, "Pens", "3.00", &s.site).await;
    let failed = until_status(&app, &s.admin, created["id"].as_str().expect("id"), "SEND_FAILED").await;
    let send = &failed["sends"][0];
    // Could not connect: nothing was sent, so the second attempt was made.
    assert_eq!(send["attempts"], json!(2), "{send}");
    assert!(send["lastError"].as_str().is_some_and(|e| e.starts_with("Connection error")), "{send}");
}

async fn an_unanswered_send_is_failed_not_repeated(backend: Backend) {
    let smtp = SmtpServer::start(Mode::HangAfterData);
    let app = app_sending_to(backend, &smtp.url(), 3).await;
    let s = shop(&app).await;
    let created = create(&app, &s.requester, "Chairs", "90.00", &s.site).await;
    let id = created["id"].as_str().expect("id");

    // The server has the message but never confirms it: the attempt is
    // under way, and the order cannot be cancelled from under it.
    eventually("the message to reach the server", DEADLINE, || async { (smtp.messages().len() == 1).then_some(()) })
        .await;
    // The attempt was recorded before the server was contacted.
    let sending = order(&app, &s.admin, id).await;
    assert_eq!(sending["sends"][0]["state"], json!("SENDING"));
    assert_eq!(sending["viewerCan"]["cancel"], json!(false));
    let cancel = "mutation($id: ID!, $v: Int!) { cancel(id: $id, version: $v) { status } }";
    let refused = run(&app, &s.requester, cancel, json!({ "id": id, "v": sending["version"] })).await;
    assert_eq!(refused.code(), Some("INVALID_TRANSITION"));
    let delete = "mutation($id: ID!) { deleteOrder(id: $id, reason: \"duplicate\") }";
    assert_eq!(run(&app, &s.admin, delete, json!({ "id": id })).await.code(), Some("INVALID_TRANSITION"));

    // The deadline passes: delivered or not is unknown, so no retry.
    let failed = until_status(&app, &s.admin, id, "SEND_FAILED").await;
    let send = &failed["sends"][0];
    assert_eq!((&send["state"], &send["attempts"]), (&json!("FAILED"), &json!(1)));
    assert!(send["lastError"].as_str().is_some_and(|e| e.contains("may have received")), "{send}");
    assert_eq!((smtp.attempts(), smtp.messages().len()), (1, 1), "never sent twice");
}

async fn cancel_withdraws_a_queued_send(backend: Backend) {
    let smtp = SmtpServer::start(Mode::RefuseTransient);
    let app = spawn_app_with(backend, |raw| {
        sending_to(raw, smtp.url(), 5);
        raw.send_retry_delay = Some("1h".into());
    })
    .await;
    let s = shop(&app).await;
    let created = create(&app, &s.requester, "Lamps", "30.00", &s.site).await;
    let id = created["id"].as_str().expect("id");
    // Refused once; the retry waits an hour, queued.
    eventually("the send to wait for its retry", DEADLINE, || async {
        let send = order(&app, &s.admin, id).await["sends"][0].clone();
        (send["state"] == json!("QUEUED") && send["attempts"] == json!(1)).then_some(())
    })
    .await;
    let queued = order(&app, &s.admin, id).await;
    assert_eq!(queued["status"], json!("OPEN"));
    assert_eq!(queued["viewerCan"], json!({ "send": false, "resend": false, "cancel": true, "overrideVendor": false }));
    let send = "mutation($id: ID!, $v: Int!) { send(id: $id, version: $v) { status } }";
    let again = run(&app, &s.admin, send, json!({ "id": id, "v": queued["version"] })).await;
    assert_eq!(again.code(), Some("INVALID_TRANSITION"), "one send at a time");

    let cancel = "mutation($id: ID!, $v: Int!) { cancel(id: $id, version: $v) { status } }";
    let data = run(&app, &s.requester, cancel, json!({ "id": id, "v": queued["version"] })).await;
    assert_eq!(data.assert_ok()["cancel"]["status"], json!("CANCELLED"));
    let cancelled = order(&app, &s.admin, id).await;
    assert_eq!(cancelled["sends"][0]["state"], json!("CANCELLED"));

    // Deleting an order withdraws its queued send too.
    let created = create(&app, &s.requester, "Desks", "30.00", &s.site).await;
    let id = created["id"].as_str().expect("id").to_owned();
    eventually("the second send to wait for its retry", DEADLINE, || async {
        let send = order(&app, &s.admin, &id).await["sends"][0].clone();
        (send["state"] == json!("QUEUED") && send["attempts"] == json!(1)).then_some(())
    })
    .await;
    let delete = "mutation($id: ID!) { deleteOrder(id: $id, reason: \"duplicate\") }";
    run(&app, &s.admin, delete, json!({ "id": id })).await.assert_ok();
    let sends = vendor_sends::Entity::find()
        .filter(vendor_sends::Column::OrderId.eq(id.as_str()))
        .all(&app.db)
        .await
        .expect("sends");
    assert_eq!(sends.iter().map(|s| s.state.as_str()).collect::<Vec<_>>(), ["CANCELLED"]);
    assert_eq!(smtp.messages().len(), 0);
}

async fn an_override_sends_to_the_new_vendor(backend: Backend) {
    let smtp = SmtpServer::start(Mode::Accept);
    let app = app_sending_to(backend, &smtp.url(), 3).await;
    let s = shop(&app).await;
    // A specialist whose orders the CFO approves, with its own address.
    let specialist = app.vendor(&s.org, None, "Specialist Ltd").await;
    app.execute_sql(&format!(
        "UPDATE vendors SET requires_approval = TRUE, contact_emails = '[\"desk@specialist.example\"]' WHERE id = '{specialist}'"
    ))
    .await;
    app.execute_sql(&format!("INSERT INTO vendor_approvers (vendor_id, user_id) VALUES ('{specialist}', '{}')", s.cfo))
        .await;
    let input = json!({ "kind": "PART", "title": "Lab bench", "siteId": s.site, "vendorId": specialist });
    let data = run(&app, &s.admin, CREATE, json!({ "i": input })).await;
    let created = data.assert_ok()["createOrder"].clone();
    assert_eq!(created["status"], json!("PENDING_APPROVAL"), "the specialist's step waits");
    let id = created["id"].as_str().expect("id");

    // Back to the routine vendor: nothing to approve, sent to it at once.
    let override_vendor =
        "mutation($id: ID!, $v: ID!) { overrideVendor(id: $id, version: 1, vendorId: $v) { status } }";
    let data = run(&app, &s.admin, override_vendor, json!({ "id": id, "v": s.vendor })).await;
    assert_eq!(data.assert_ok()["overrideVendor"]["status"], json!("OPEN"));
    let sent = until_status(&app, &s.admin, id, "SENT").await;
    assert_eq!(sent["sends"][0]["recipients"], json!(["orders@vendor.example"]));
    assert_eq!(sent["sends"][0]["requestedById"], Value::Null, "automatic");
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(header(&messages[0], "To"), "\"Office Supplies Inc\" <orders@vendor.example>");
}

/// The process dies while the mail server holds the message and has not
/// confirmed it. The attempt was recorded first, so the next instance knows
/// the send may have happened: it fails it (once its lease runs out)
/// instead of sending again, and only the admin's resend sends once more.
async fn a_crash_mid_send_never_sends_twice(backend: Backend) {
    let database = std::sync::Arc::new(TestDatabase::create(backend).await);
    let smtp = SmtpServer::start(Mode::HangAfterData);
    let mut env = vec![
        ("WORKGATE_DATABASE_URL", database.url.clone()),
        ("WORKGATE_JWT_SECRET", SECRET.to_owned()),
        ("WORKGATE_SMTP_URL", smtp.url()),
        ("WORKGATE_SEND_TIMEOUT", "10s".to_owned()),
        ("WORKGATE_REDIS_CHANNEL", format!("workgate-test:{}", uuid::Uuid::now_v7().simple())),
    ];
    if let Some(redis) = database.redis_url() {
        env.push(("WORKGATE_REDIS_URL", redis));
    }
    let gateway = Serve::start(process::workgate(&env).arg("serve"));
    let boot: Value = serde_json::from_str(&process::run(process::workgate(&env).args([
        "bootstrap",
        "--org",
        "Crash Co",
        "--admin-name",
        "Ada Admin",
        "--admin-email",
        "ada@crash.example",
    ])))
    .expect("bootstrap prints JSON");
    let admin = boot["adminUserId"].as_str().expect("admin").to_owned();
    let token = process::run(process::workgate(&env).args(["token", "--user", &admin])).trim().to_owned();
    let client = reqwest::Client::new();
    let gql = |query: &'static str, variables: Value| {
        let request = client
            .post(format!("{}/graphql", gateway.base))
            .bearer_auth(&token)
            .json(&json!({ "query": query, "variables": variables }));
        async move {
            let body: Value = request.send().await.expect("gateway answers").json().await.expect("JSON");
            assert!(body.get("errors").is_none(), "{body}");
            body["data"].clone()
        }
    };
    let site = gql(
        "mutation($a: ID!) { createSite(name: \"Plant\", accountId: $a) { id } }",
        json!({ "a": boot["accountId"] }),
    )
    .await["createSite"]["id"]
        .clone();
    let vendor = gql(
        "mutation { createVendor(input: { name: \"Parts Co\", contactEmails: [\"sales@parts.example\"] }) { id } }",
        json!({}),
    )
    .await["createVendor"]["id"]
        .clone();
    let input = json!({ "kind": "PART", "title": "Bearings", "siteId": site, "vendorId": vendor });
    let created = gql(
        "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id status } }",
        json!({ "i": input }),
    )
    .await["createOrder"]
        .clone();
    let id = created["id"].as_str().expect("id").to_owned();

    // The server holds the message; the process dies before it hears back.
    eventually("the message to reach the server", DEADLINE, || async { (smtp.messages().len() == 1).then_some(()) })
        .await;
    gateway.kill();
    smtp.set_mode(Mode::Accept);

    // Another instance takes over the same database.
    let app = spawn_app_on(database.clone(), |raw| sending_to(raw, smtp.url(), 3)).await;
    let failed = until_status(&app, &admin, &id, "SEND_FAILED").await;
    let send = &failed["sends"][0];
    assert_eq!((&send["state"], &send["attempts"]), (&json!("FAILED"), &json!(1)), "{send}");
    assert_eq!(send["lastError"], json!(workgate::sending::worker::INTERRUPTED));
    assert_eq!((smtp.attempts(), smtp.messages().len()), (1, 1), "not sent again by itself");
    assert_eq!(queue(&app, &admin, "FAILED_SENDS").await, std::slice::from_ref(&id));

    // The admin checked with the vendor and resends: one more message.
    let resend = "mutation($id: ID!, $v: Int!) { resend(id: $id, version: $v) { status } }";
    run(&app, &admin, resend, json!({ "id": id, "v": failed["version"] })).await.assert_ok();
    until_status(&app, &admin, &id, "SENT").await;
    assert_eq!(smtp.messages().len(), 2);
}
