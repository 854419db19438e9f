//! Vendor orders through the API: routing to the resolved vendor, the spend
//! approval chain of section 7 step by step, and the APPROVALS queue that
//! shows each approver the orders awaiting their decision now. Seed 003's
//! high-value chain: requester -> department manager -> finance.

mod common;

use common::world::Bind;
use common::{Backend, TestApp, spawn_app};
use serde_json::{Value, json};
use workgate::org::model::Role;

backend_tests!(
    high_value_orders_walk_the_approval_chain,
    low_value_orders_open_at_once_and_rejection_rejects,
    service_orders_put_their_asset_in_maintenance,
    admins_override_the_vendor_before_it_is_sent,
    previews_show_the_vendor_the_steps_and_why_others_lost,
    raising_the_cost_past_a_threshold_needs_its_approval,
);

struct Procurement {
    org: String,
    root: String,
    admin: String,
    site: String,
    vendor: String,
    requester: String,
    manager: String,
    cfo: String,
}

async fn procurement(app: &TestApp) -> Procurement {
    let boot = app.bootstrap("Procure").await;
    let (org, root) = (boot.organization_id, boot.account_id);
    let site = app.site(&org, &root, "HQ").await;
    let requester = app.user(&org, &root, "Rene Requester").await;
    app.grant(&org, &requester, Role::Requester, &Bind::Account).await;
    let manager = app.user(&org, &root, "Dana Department").await;
    app.grant(&org, &manager, Role::Requester, &Bind::Account).await;
    let cfo = app.user(&org, &root, "Cora CFO").await;
    let vendor = app.vendor(&org, None, "Office Supplies Inc").await;
    // Routing: PART orders go to the vendor; orders from $5,000 need the
    // department manager (position 1), then finance (position 2).
    app.approval_rule(&org, "routing", None, 0, &[], Some(&vendor)).await;
    app.approval_rule(&org, "department", Some(500_000), 1, std::slice::from_ref(&manager), None).await;
    app.approval_rule(&org, "finance", Some(500_000), 2, std::slice::from_ref(&cfo), None).await;
    Procurement { root: root.clone(), org, admin: boot.admin_user_id, site, vendor, requester, manager, cfo }
}

const CREATE: &str = "mutation($i: CreateOrderInput!) { createOrder(input: $i) {
    id status version vendor { id } approvalSteps { source decision } } }";

async fn approvals_of(app: &TestApp, user: &str) -> Vec<String> {
    let data = app
        .graphql(Some(&app.token_for(user)), "{ queue(queue: APPROVALS) { edges { node { id } } } }", json!({}))
        .await;
    data.assert_ok()["queue"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn run(app: &TestApp, user: &str, query: &str, vars: Value) -> common::GqlResponse {
    app.graphql(Some(&app.token_for(user)), query, vars).await
}

async fn high_value_orders_walk_the_approval_chain(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = procurement(&app).await;
    let input = json!({ "kind": "PART", "title": "Standing desks", "siteId": p.site, "estimatedCost": "6000.00" });
    let data = run(&app, &p.requester, CREATE, json!({ "i": input })).await;
    let order = data.assert_ok()["createOrder"].clone();
    assert_eq!(order["status"], json!("PENDING_APPROVAL"));
    assert_eq!(order["vendor"]["id"], json!(p.vendor), "routed to the rule's vendor");
    assert_eq!(
        order["approvalSteps"],
        json!([{ "source": "rule:department", "decision": null }, { "source": "rule:finance", "decision": null }])
    );
    let id = order["id"].as_str().expect("id").to_owned();

    // Step 1 is the department manager's; finance waits its turn.
    assert_eq!(approvals_of(&app, &p.manager).await, std::slice::from_ref(&id));
    assert!(approvals_of(&app, &p.cfo).await.is_empty());
    assert!(approvals_of(&app, &p.requester).await.is_empty());
    let approve =
        "mutation($id: ID!, $v: Int!) { approve(id: $id, version: $v) { status version approvalSteps { decision } } }";
    let early = run(&app, &p.cfo, approve, json!({ "id": id, "v": 1 })).await;
    assert_eq!(early.code(), Some("FORBIDDEN"), "finance decides after the department: {}", early.body);
    let requester = run(&app, &p.requester, approve, json!({ "id": id, "v": 1 })).await;
    assert_eq!(requester.code(), Some("FORBIDDEN"));

    let data = run(&app, &p.manager, approve, json!({ "id": id, "v": 1 })).await;
    assert_eq!(
        data.assert_ok()["approve"],
        json!({ "status": "PENDING_APPROVAL", "version": 2, "approvalSteps": [{ "decision": "APPROVED" }, { "decision": null }] })
    );
    assert!(approvals_of(&app, &p.manager).await.is_empty());
    assert_eq!(approvals_of(&app, &p.cfo).await, std::slice::from_ref(&id));
    // Each step reads back whole, with its approvers (which an ADMIN reads).
    let steps = "query($id: ID!) { order(id: $id) { approvalSteps {
        position source approvers { id } decision decidedBy { id } } } }";
    let data = run(&app, &p.admin, steps, json!({ "id": id })).await;
    assert_eq!(
        data.assert_ok()["order"]["approvalSteps"],
        json!([
            { "position": 1, "source": "rule:department", "approvers": [{ "id": p.manager }],
              "decision": "APPROVED", "decidedBy": { "id": p.manager } },
            { "position": 2, "source": "rule:finance", "approvers": [{ "id": p.cfo }],
              "decision": null, "decidedBy": null },
        ])
    );
    let data = run(&app, &p.cfo, approve, json!({ "id": id, "v": 2 })).await;
    assert_eq!(data.assert_ok()["approve"]["status"], json!("OPEN"));

    // A manager's own high-value order: they are never its approver.
    let data = run(&app, &p.manager, CREATE, json!({ "i": input })).await;
    let own = data.assert_ok()["createOrder"]["id"].as_str().expect("id").to_owned();
    assert!(!approvals_of(&app, &p.manager).await.contains(&own));
    let refused = run(&app, &p.manager, approve, json!({ "id": own, "v": 1 })).await;
    assert_eq!(refused.code(), Some("FORBIDDEN"));
    assert!(refused.body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("separation of duties")));
}

async fn low_value_orders_open_at_once_and_rejection_rejects(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = procurement(&app).await;
    let small = json!({ "kind": "PART", "title": "Pens", "siteId": p.site, "estimatedCost": "12.00" });
    let data = run(&app, &p.requester, CREATE, json!({ "i": small })).await;
    let order = data.assert_ok()["createOrder"].clone();
    assert_eq!(order["status"], json!("OPEN"));
    assert_eq!(order["vendor"]["id"], json!(p.vendor));
    assert_eq!(order["approvalSteps"], json!([]));

    let big = json!({ "kind": "PART", "title": "Server rack", "siteId": p.site, "estimatedCost": "9000.00" });
    let data = run(&app, &p.requester, CREATE, json!({ "i": big })).await;
    let id = data.assert_ok()["createOrder"]["id"].as_str().expect("id").to_owned();
    let reject = "mutation($id: ID!) { reject(id: $id, version: 1, reason: \"Over budget\") { status approvalSteps { decision } } }";
    let data = run(&app, &p.manager, reject, json!({ "id": id })).await;
    assert_eq!(
        data.assert_ok()["reject"],
        json!({ "status": "REJECTED", "approvalSteps": [{ "decision": "REJECTED" }, { "decision": null }] })
    );
    assert!(approvals_of(&app, &p.cfo).await.is_empty(), "one rejection rejects the order");
}

async fn service_orders_put_their_asset_in_maintenance(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = procurement(&app).await;
    let asset = app.asset(&p.org, &p.site, "Boiler", &["hvac"]).await;
    let rule = app.approval_rule(&p.org, "boiler service", None, 0, &[], None).await;
    app.execute_sql(&format!("UPDATE rules SET auto_maintenance = TRUE WHERE id = '{rule}'")).await;
    let input = json!({ "kind": "SERVICE", "title": "Boiler service", "assetId": asset, "estimatedCost": "100.00" });
    let data = run(
        &app,
        &p.requester,
        "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id asset { inMaintenance } } }",
        json!({ "i": input }),
    )
    .await;
    let order = data.assert_ok()["createOrder"].clone();
    assert_eq!(order["asset"]["inMaintenance"], json!(true));
    // Cancelled: the asset is back in service.
    let cancel = "mutation($id: ID!) { cancel(id: $id, version: 1) { status asset { inMaintenance } } }";
    let data = run(&app, &p.requester, cancel, json!({ "id": order["id"] })).await;
    assert_eq!(data.assert_ok()["cancel"], json!({ "status": "CANCELLED", "asset": { "inMaintenance": false } }));
}

async fn admins_override_the_vendor_before_it_is_sent(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = procurement(&app).await;
    // The routine vendor waits for an admin's send, so the order stays OPEN
    // (unsent) while it is moved between vendors.
    app.execute_sql(&format!("UPDATE vendors SET manual_send = TRUE WHERE id = '{}'", p.vendor)).await;
    // A specialist vendor whose orders the CFO approves; and a disabled one.
    let specialist = app.vendor(&p.org, None, "Specialist Ltd").await;
    app.execute_sql(&format!("UPDATE vendors SET requires_approval = TRUE WHERE id = '{specialist}'")).await;
    app.execute_sql(&format!("INSERT INTO vendor_approvers (vendor_id, user_id) VALUES ('{specialist}', '{}')", p.cfo))
        .await;
    let disabled = app.vendor(&p.org, None, "Gone Inc").await;
    app.execute_sql(&format!("UPDATE vendors SET enabled = FALSE WHERE id = '{disabled}'")).await;

    let small = json!({ "kind": "PART", "title": "Gasket", "siteId": p.site, "estimatedCost": "40.00" });
    let data = run(&app, &p.requester, CREATE, json!({ "i": small })).await;
    let id = data.assert_ok()["createOrder"]["id"].as_str().expect("id").to_owned();
    let override_vendor = "mutation($id: ID!, $v: ID!) { overrideVendor(id: $id, version: 1, vendorId: $v) {
        status vendor { id } approvalSteps { source } } }";
    assert_eq!(
        run(&app, &p.requester, override_vendor, json!({ "id": id, "v": specialist })).await.code(),
        Some("FORBIDDEN")
    );
    let refused = run(&app, &p.admin, override_vendor, json!({ "id": id, "v": disabled })).await;
    assert_eq!(refused.body["errors"][0]["extensions"]["field"], json!("vendorId"));
    let data = run(&app, &p.admin, override_vendor, json!({ "id": id, "v": specialist })).await;
    assert_eq!(
        data.assert_ok()["overrideVendor"],
        json!({ "status": "PENDING_APPROVAL", "vendor": { "id": specialist }, "approvalSteps": [{ "source": "vendor:Specialist Ltd" }] })
    );
    assert_eq!(approvals_of(&app, &p.cfo).await, std::slice::from_ref(&id));
    // Back to the routine vendor: nothing to wait on, the order is open again.
    let back = "mutation($id: ID!, $v: ID!) { overrideVendor(id: $id, version: 2, vendorId: $v) { status approvalSteps { source } } }";
    let data = run(&app, &p.admin, back, json!({ "id": id, "v": p.vendor })).await;
    assert_eq!(data.assert_ok()["overrideVendor"], json!({ "status": "OPEN", "approvalSteps": [] }));
    // Rejected by the specialist's approver, then moved back to the
    // routine vendor: the specialist's step goes with it, and resubmitting
    // does not ask the specialist's approver again.
    let data = run(&app, &p.requester, CREATE, json!({ "i": small })).await;
    let id = data.assert_ok()["createOrder"]["id"].as_str().expect("id").to_owned();
    run(&app, &p.admin, override_vendor, json!({ "id": id, "v": specialist })).await.assert_ok();
    let reject = "mutation($id: ID!) { reject(id: $id, version: 2, reason: \"Too dear\") { status } }";
    let data = run(&app, &p.cfo, reject, json!({ "id": id })).await;
    assert_eq!(data.assert_ok()["reject"]["status"], json!("REJECTED"));
    let back = "mutation($id: ID!, $v: ID!) { overrideVendor(id: $id, version: 3, vendorId: $v) { status approvalSteps { source } } }";
    let data = run(&app, &p.admin, back, json!({ "id": id, "v": p.vendor })).await;
    assert_eq!(data.assert_ok()["overrideVendor"], json!({ "status": "REJECTED", "approvalSteps": [] }));
    let resubmit =
        "mutation($id: ID!) { resubmit(id: $id, version: 4) { status vendor { id } approvalSteps { source } } }";
    let data = run(&app, &p.requester, resubmit, json!({ "id": id })).await;
    assert_eq!(
        data.assert_ok()["resubmit"],
        json!({ "status": "OPEN", "vendor": { "id": p.vendor }, "approvalSteps": [] }),
        "nothing left to approve"
    );
    assert!(approvals_of(&app, &p.cfo).await.is_empty());
    // Work orders have no vendor.
    let work = run(
        &app,
        &p.admin,
        "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id } }",
        json!({ "i": { "kind": "WORK", "title": "Fix", "siteId": p.site } }),
    )
    .await;
    let work_id = work.assert_ok()["createOrder"]["id"].clone();
    assert_eq!(
        run(&app, &p.admin, override_vendor, json!({ "id": work_id, "v": p.vendor })).await.code(),
        Some("INVALID_TRANSITION")
    );
}

async fn previews_show_the_vendor_the_steps_and_why_others_lost(backend: Backend) {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let app = spawn_app(backend).await;
    let p = procurement(&app).await;
    let spare = app.vendor(&p.org, None, "Spare Parts Co").await;
    app.execute_sql(&format!("UPDATE vendors SET enabled = FALSE WHERE id = '{spare}'")).await;
    let fallback = app.approval_rule(&p.org, "fallback", None, 0, &[], None).await;
    app.execute_sql(&format!(
        "INSERT INTO rule_assignments (rule_id, vendor_id, kind, priority) VALUES ('{fallback}', '{spare}', 'PART', 1)"
    ))
    .await;
    let before = entity::orders::Entity::find().count(&app.db).await.expect("count");
    let preview = "query($i: CreateOrderInput!) { previewVendorResolution(input: $i) {
        vendor { id } requiresApproval approvalSteps { source position }
        candidates { vendor { id } rule { name } priority skippedBecause } } }";
    let input = json!({ "kind": "PART", "title": "Desks", "siteId": p.site, "estimatedCost": "6000.00" });
    let data = run(&app, &p.admin, preview, json!({ "i": input })).await;
    let answer = data.assert_ok()["previewVendorResolution"].clone();
    assert_eq!(answer["vendor"]["id"], json!(p.vendor));
    assert_eq!(answer["requiresApproval"], json!(true));
    assert_eq!(
        answer["approvalSteps"],
        json!([{ "source": "rule:department", "position": 1 }, { "source": "rule:finance", "position": 2 }])
    );
    assert_eq!(
        answer["candidates"],
        json!([
            { "vendor": { "id": p.vendor }, "rule": { "name": "routing" }, "priority": 0, "skippedBecause": null },
            { "vendor": { "id": spare }, "rule": { "name": "fallback" }, "priority": 1, "skippedBecause": "the vendor is disabled" }
        ])
    );
    assert_eq!(entity::orders::Entity::find().count(&app.db).await.expect("count"), before, "a preview writes nothing");
    // A planner of a child account is not shown another child's vendor,
    // though resolution weighed (and skipped) it.
    let root = p.root.clone();
    let north = app.account(&p.org, &root, "North").await;
    let south = app.account(&p.org, &root, "South").await;
    let southern = app.vendor(&p.org, Some(&south), "Southern Supply").await;
    app.execute_sql(&format!(
        "INSERT INTO rule_assignments (rule_id, vendor_id, kind, priority) VALUES ('{fallback}', '{southern}', 'PART', 2)"
    ))
    .await;
    let planner = app.user(&p.org, &north, "Nina North").await;
    app.grant(&p.org, &planner, Role::Planner, &Bind::Account).await;
    let data = run(&app, &planner, preview, json!({ "i": input })).await;
    let shown = data.assert_ok()["previewVendorResolution"]["candidates"].to_string();
    assert!(!shown.contains(&southern), "{shown}");
    let data = run(&app, &p.admin, preview, json!({ "i": input })).await;
    assert!(data.assert_ok()["previewVendorResolution"]["candidates"].to_string().contains(&southern));
    // Rule configuration is not for requesters; work orders have no vendor.
    assert_eq!(run(&app, &p.requester, preview, json!({ "i": input })).await.code(), Some("FORBIDDEN"));
    let work = json!({ "kind": "WORK", "title": "Fix", "siteId": p.site });
    assert_eq!(run(&app, &p.admin, preview, json!({ "i": work })).await.code(), Some("BAD_USER_INPUT"));
}

/// Section 7's chain applies to what the order is, not only to what it was
/// at creation: raising the cost past a rule's threshold (or tags that match
/// a rule) brings in the rule's steps, and raising the cost asks the cost
/// rules' approvers again. An approved order not yet sent goes back to
/// PENDING_APPROVAL; a sent one, or one with a send queued, cannot take the
/// edit, and nothing is written.
async fn raising_the_cost_past_a_threshold_needs_its_approval(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = procurement(&app).await;
    app.execute_sql(&format!("UPDATE vendors SET manual_send = TRUE WHERE id = '{}'", p.vendor)).await;
    let small = json!({ "kind": "PART", "title": "Chairs", "siteId": p.site, "estimatedCost": "40.00" });
    let data = run(&app, &p.requester, CREATE, json!({ "i": small })).await;
    let id = data.assert_ok()["createOrder"]["id"].as_str().expect("id").to_owned();
    let edit =
        "mutation($id: ID!, $v: Int!, $c: Money!) { editOrder(id: $id, version: $v, input: { estimatedCost: $c }) {
        status version approvalSteps { source decision } } }";
    let data = run(&app, &p.requester, edit, json!({ "id": id, "v": 1, "c": "6000.00" })).await;
    let undecided =
        json!([{ "source": "rule:department", "decision": null }, { "source": "rule:finance", "decision": null }]);
    assert_eq!(
        data.assert_ok()["editOrder"],
        json!({ "status": "PENDING_APPROVAL", "version": 2, "approvalSteps": undecided })
    );
    assert_eq!(approvals_of(&app, &p.manager).await, std::slice::from_ref(&id));
    // Raised again: the steps are there already.
    let data = run(&app, &p.requester, edit, json!({ "id": id, "v": 2, "c": "7000.00" })).await;
    assert_eq!(data.assert_ok()["editOrder"]["approvalSteps"], undecided);
    let approve = "mutation($id: ID!, $v: Int!) { approve(id: $id, version: $v) { status } }";
    run(&app, &p.manager, approve, json!({ "id": id, "v": 3 })).await.assert_ok();
    let data = run(&app, &p.cfo, approve, json!({ "id": id, "v": 4 })).await;
    assert_eq!(data.assert_ok()["approve"]["status"], json!("OPEN"));
    let history = "query($id: ID!) { order(id: $id) { history { action changes } } }";
    let data = run(&app, &p.admin, history, json!({ "id": id })).await;
    let edits: Vec<&Value> = data.assert_ok()["order"]["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|e| {
            let changes: Value = serde_json::from_str(e["changes"].as_str().unwrap_or("{}")).expect("JSON changes");
            changes.get("approvalSteps")
                == Some(&json!({ "added": ["rule:department", "rule:finance"], "askedAgain": [] }))
        })
        .collect();
    assert_eq!(edits.len(), 1, "the edit that brought the steps in says so: {edits:?}");
    // Approved at $7,000 and raised to $9,000: the cost rules' approvals
    // were of a smaller amount, and are asked again; lowered, nothing is.
    let data = run(&app, &p.requester, edit, json!({ "id": id, "v": 5, "c": "9000.00" })).await;
    assert_eq!(
        data.assert_ok()["editOrder"],
        json!({ "status": "PENDING_APPROVAL", "version": 6, "approvalSteps": undecided })
    );
    assert_eq!(approvals_of(&app, &p.manager).await, std::slice::from_ref(&id));
    run(&app, &p.manager, approve, json!({ "id": id, "v": 6 })).await.assert_ok();
    run(&app, &p.cfo, approve, json!({ "id": id, "v": 7 })).await.assert_ok();
    let data = run(&app, &p.requester, edit, json!({ "id": id, "v": 8, "c": "8000.00" })).await;
    let approved = json!([{ "source": "rule:department", "decision": "APPROVED" }, { "source": "rule:finance", "decision": "APPROVED" }]);
    assert_eq!(data.assert_ok()["editOrder"], json!({ "status": "OPEN", "version": 9, "approvalSteps": approved }));

    // Sent, or with a send queued: refused, nothing written.
    for (status, send_state) in [("SENT", "NULL"), ("OPEN", "'QUEUED'")] {
        let data = run(&app, &p.requester, CREATE, json!({ "i": small })).await;
        let other = data.assert_ok()["createOrder"]["id"].as_str().expect("id").to_owned();
        app.execute_sql(&format!(
            "UPDATE orders SET status = '{status}', send_state = {send_state} WHERE id = '{other}'"
        ))
        .await;
        let refused = run(&app, &p.admin, edit, json!({ "id": other, "v": 1, "c": "6000.00" })).await;
        assert_eq!(refused.code(), Some("INVALID_TRANSITION"), "{status}: {}", refused.body);
        let read = "query($id: ID!) { order(id: $id) { version estimatedCost approvalSteps { source } } }";
        let data = run(&app, &p.admin, read, json!({ "id": other })).await;
        assert_eq!(
            data.assert_ok()["order"],
            json!({ "version": 1, "estimatedCost": "40.00", "approvalSteps": [] }),
            "{status}: nothing written"
        );
        // A change no rule cares about is still made.
        let title = "mutation($id: ID!) { editOrder(id: $id, version: 1, input: { title: \"Stools\" }) { version } }";
        run(&app, &p.admin, title, json!({ "id": other })).await.assert_ok();
    }
}
