//! How operations use the database's connections (`workgate::db::Reads`).
//! A query holds one pooled connection from its first statement until it
//! ends; mutations and subscriptions use the pool.
//!
//! The server here has a request pool of one connection (the relay, the
//! hub and the send worker have pools of their own), so a query holds the
//! only one. A query that
//! reached for a second connection while holding it, a mutation that held
//! one while its next change waited for another, or a query that kept its
//! connection past its end (into the next operation of a batch) would wait
//! for the pool's timeout and answer INTERNAL; each of those is asked for
//! below, and every answer must be complete and free of errors. So is an
//! API token's first use in a query of a document seen before: its
//! credential is read on the query's held connection, and its last use is
//! written there too (through the pool, it would wait for the one held).

mod common;

use std::time::Duration;

use common::{Backend, spawn_app_with};
use futures::future::join_all;
use serde_json::{Value, json};

backend_tests!(every_kind_of_operation_answers_on_a_pool_of_one);

const METRICS_TOKEN: &str = "metrics-token-for-the-tests-0123456789";

const DETAIL: &str = "query Detail($id: ID!, $user: ID!, $input: CreateOrderInput!) {
  order(id: $id) {
    id title site { name } creator { name } owner { name } assignees { name }
    notes { body author { name } } history { action actor { name } }
    viewerCan { view addNote cancel }
  }
  node(id: $id) { id }
  me { name account { name } }
  orders(first: 10) { totalCount edges { node { id site { name } } } }
  explainAccess(userId: $user, action: ADD_NOTE, orderId: $id) { allowed reason }
  previewVendorResolution(input: $input) { vendor { name } }
  deletionRequests { id }
}";

async fn every_kind_of_operation_answers_on_a_pool_of_one(backend: Backend) {
    let app = spawn_app_with(backend, |raw| {
        raw.database_pool = Some("1".into());
        raw.metrics_token = Some(METRICS_TOKEN.into());
    })
    .await;
    let boot = app.bootstrap("Acme").await;
    let admin = app.token_for(&boot.admin_user_id);
    let site = app.create_site(&admin, &boot.account_id, "Plant").await;
    let input = json!({ "kind": "PART", "title": "Valves", "siteId": site });

    // A mutation with two changes, each answered with nested fields read
    // through the loaders.
    let two_changes = "mutation($i: CreateOrderInput!) {
      first: createOrder(input: $i) { id title site { name } creator { name } viewerCan { addNote } }
      second: createOrder(input: $i) { id title site { name } owner { name } }
    }";
    let created = app.graphql(Some(&admin), two_changes, json!({ "i": input })).await;
    let created = created.assert_ok();
    let order = created["first"]["id"].as_str().expect("first order").to_owned();
    assert!(created["second"]["id"].is_string(), "{created}");
    assert_eq!(created["first"]["site"]["name"], "Plant");

    let note =
        "mutation($o: ID!) { addNote(orderId: $o, body: \"Checked\", visibility: PUBLIC) { id author { name } } }";
    app.graphql(Some(&admin), note, json!({ "o": order })).await.assert_ok();

    // A query touching every kind of read: loaders, a single order, a
    // list, the signed-in person, a policy explanation (which loads a
    // person as a principal), a routing preview.
    let variables = json!({ "id": order, "user": boot.admin_user_id, "input": input });
    let detail = app.graphql(Some(&admin), DETAIL, variables.clone()).await;
    let detail = detail.assert_ok();
    assert_eq!(detail["order"]["notes"][0]["body"], "Checked");
    assert_eq!(detail["orders"]["totalCount"], 2);
    assert_eq!(detail["explainAccess"]["allowed"], true);

    // A batch: a query, a change, a query. The first query's connection is
    // given back before the change takes one, and the last query reads
    // what the change wrote (each operation has loaders of its own; a
    // batch's operations once shared one cache, and it answered one note).
    let batch = json!([
        { "query": DETAIL, "variables": variables },
        { "query": note, "variables": { "o": order } },
        { "query": "query($id: ID!) { order(id: $id) { notes { body } } }", "variables": { "id": order } },
    ]);
    let answered = app.client.post(app.url("/graphql")).bearer_auth(&admin).json(&batch).send().await.expect("sent");
    assert_eq!(answered.status().as_u16(), 200);
    let answers: Vec<Value> = answered.json().await.expect("json");
    assert_eq!(answers.len(), 3);
    for answer in &answers {
        assert!(answer.get("errors").is_none(), "{answer}");
    }
    assert_eq!(answers[2]["data"]["order"]["notes"].as_array().map(Vec::len), Some(2), "{}", answers[2]);

    // More queries at once than the pool has connections: they take turns.
    let queries = (0..8).map(|_| app.graphql(Some(&admin), DETAIL, variables.clone()));
    for answer in join_all(queries).await {
        answer.assert_ok();
    }

    // Fresh API tokens (never used: their first use is written) on a
    // document seen before, one after another and all at once.
    let page = "query Page { orders(first: 10) { edges { node { id title } } } }";
    app.graphql(Some(&admin), page, json!({})).await.assert_ok();
    let create = "mutation { createApiToken(name: \"erp\", capabilities: [\"orders:read\"]) { secret token { id } } }";
    let mut tokens = Vec::new();
    for _ in 0..5 {
        let created = app.graphql(Some(&admin), create, json!({})).await;
        let created = created.assert_ok()["createApiToken"].clone();
        tokens.push((created["secret"].as_str().expect("secret").to_owned(), created["token"]["id"].clone()));
    }
    let read = app.graphql(Some(&tokens[0].0), page, json!({})).await;
    assert_eq!(read.assert_ok()["orders"]["edges"].as_array().map(Vec::len), Some(2));
    let reads = tokens[1..].iter().map(|(secret, _)| app.graphql(Some(secret), page, json!({})));
    for answer in join_all(reads).await {
        assert_eq!(answer.assert_ok()["orders"]["edges"].as_array().map(Vec::len), Some(2));
    }
    let used = "{ apiTokens { id lastUsedAt } }";
    let listed = app.graphql(Some(&admin), used, json!({})).await;
    let listed = listed.assert_ok()["apiTokens"].as_array().expect("tokens").clone();
    for (_, id) in &tokens {
        let token = listed.iter().find(|t| t["id"] == *id).expect("listed");
        assert!(token["lastUsedAt"].is_string(), "last use recorded: {token}");
    }

    // The connection is back in the pool once the queries have ended.
    common::eventually("the connection to be given back", Duration::from_secs(10), || async {
        (app.metric(METRICS_TOKEN, "workgate_db_pool_in_use").await == 0.0).then_some(())
    })
    .await;
}
