//! Other organizations' ids in every argument that takes an id
//! (SECURITY.md, "Tenancy"), and fuzzed arguments for every field.
//!
//! The fields are read from the schema by introspection, so a field added
//! later is attacked too: every query and mutation with an argument that
//! takes an id (directly, in a list, or inside an input object) is called
//! by another organization's ADMIN with each id of the victim organization.
//! No answer may carry anything of the victim (its ids or names), none may
//! be an internal error, and the victim's audit log (which records every
//! change) gains nothing.
//!
//! The fuzz test calls every query and mutation with random arguments
//! (strings of any shape, extreme numbers, random ids, tags and filters) as
//! an ADMIN: answers are JSON with a contract code, never INTERNAL or a
//! 5xx. `WORKGATE_FUZZ_CASES` sets how many (`.ci/run` runs a bounded
//! number).

mod common;

use std::collections::BTreeMap;

use common::world::{Bind, OrderSpec};
use common::{Backend, TestApp, spawn_app};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use workgate::org::model::Role;

backend_tests!(other_organizations_ids_reach_nothing, fuzzed_arguments_never_break_the_server);

const INTROSPECTION: &str = "{ __schema {
    queryType { name } mutationType { name }
    types { name kind enumValues { name }
        fields { name args { name defaultValue type { ...T } } type { ...T } }
        inputFields { name defaultValue type { ...T } } } } }
    fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }";

/// The schema as introspection describes it.
struct Schema {
    types: BTreeMap<String, Value>,
    roots: Vec<String>,
}

impl Schema {
    async fn read(app: &TestApp, token: &str) -> Self {
        let data = app.graphql(Some(token), INTROSPECTION, json!({})).await.assert_ok().clone();
        let schema = &data["__schema"];
        let types = schema["types"]
            .as_array()
            .expect("types")
            .iter()
            .map(|t| (t["name"].as_str().expect("name").to_owned(), t.clone()))
            .collect();
        let roots = [&schema["queryType"]["name"], &schema["mutationType"]["name"]]
            .iter()
            .map(|n| n.as_str().expect("root").to_owned())
            .collect();
        Self { types, roots }
    }

    /// (root, field) for every query and mutation field.
    fn fields(&self) -> Vec<(String, Value)> {
        self.roots
            .iter()
            .flat_map(|root| {
                self.types[root]["fields"].as_array().expect("fields").iter().map(move |f| (root.clone(), f.clone()))
            })
            .collect()
    }

    /// Whether a value of `ty` can hold an id.
    fn takes_id(&self, ty: &Value, depth: usize) -> bool {
        match ty["kind"].as_str() {
            Some("NON_NULL" | "LIST") => self.takes_id(&ty["ofType"], depth),
            Some("SCALAR") => ty["name"] == "ID",
            Some("INPUT_OBJECT") if depth < 3 => self.types[ty["name"].as_str().expect("name")]["inputFields"]
                .as_array()
                .is_some_and(|fields| fields.iter().any(|f| self.takes_id(&f["type"], depth + 1))),
            _ => false,
        }
    }

    /// A literal of `ty`, `fill` giving the scalars; which optional fields
    /// are given, `pick` says.
    fn literal(&self, ty: &Value, fill: &mut dyn FnMut(&str) -> String, pick: &mut Pick, depth: usize) -> String {
        match ty["kind"].as_str() {
            Some("NON_NULL") => self.literal(&ty["ofType"], fill, pick, depth),
            Some("LIST") => format!("[{}]", self.literal(&ty["ofType"], fill, pick, depth)),
            Some("ENUM") => {
                let values = self.types[ty["name"].as_str().expect("name")]["enumValues"].as_array().expect("values");
                let n = fill("enum").parse::<i64>().unwrap_or(0).unsigned_abs() as usize % values.len();
                values[n]["name"].as_str().expect("value").to_owned()
            }
            Some("INPUT_OBJECT") => {
                let input = &self.types[ty["name"].as_str().expect("name")];
                let mut fields = Vec::new();
                for f in input["inputFields"].as_array().expect("input fields") {
                    if depth < 3 && pick.gives(f, self.takes_id(&f["type"], depth + 1)) {
                        let value = self.literal(&f["type"], fill, pick, depth + 1);
                        fields.push(format!("{}: {value}", f["name"].as_str().expect("name")));
                    }
                }
                format!("{{ {} }}", fields.join(", "))
            }
            _ => fill(ty["name"].as_str().unwrap_or("String")),
        }
    }

    /// `root field(args) { __typename }` with arguments from `fill`.
    fn call(&self, root: &str, field: &Value, fill: &mut dyn FnMut(&str) -> String, pick: &mut Pick) -> String {
        let mut args = Vec::new();
        for a in field["args"].as_array().expect("args") {
            if pick.gives(a, self.takes_id(&a["type"], 0)) {
                let value = self.literal(&a["type"], fill, pick, 0);
                args.push(format!("{}: {value}", a["name"].as_str().expect("name")));
            }
        }
        let args = if args.is_empty() { String::new() } else { format!("({})", args.join(", ")) };
        let selection = match self.named(&field["type"])["kind"].as_str() {
            Some("OBJECT" | "INTERFACE" | "UNION") => " { __typename }",
            _ => "",
        };
        let keyword = if root == self.roots[0] { "query" } else { "mutation" };
        format!("{keyword} {{ {}{args}{selection} }}", field["name"].as_str().expect("name"))
    }

    fn named(&self, ty: &Value) -> &Value {
        match ty["kind"].as_str() {
            Some("NON_NULL" | "LIST") => self.named(&ty["ofType"]),
            _ => &self.types[ty["name"].as_str().expect("name")],
        }
    }
}

fn required(arg: &Value) -> bool {
    arg["type"]["kind"] == "NON_NULL" && arg["defaultValue"].is_null()
}

/// Which optional arguments and input fields a call gives (required ones
/// always).
enum Pick {
    /// Every one (fuzzing).
    All,
    /// Only the `n`-th optional one that takes an id, counting as the call
    /// is built; `seen` says how many there were.
    IdAt { n: usize, seen: usize },
}

impl Pick {
    fn gives(&mut self, arg: &Value, takes_id: bool) -> bool {
        if required(arg) {
            return true;
        }
        match self {
            Self::All => true,
            Self::IdAt { n, seen } if takes_id => {
                *seen += 1;
                *seen == *n + 1
            }
            Self::IdAt { .. } => false,
        }
    }
}

/// A GraphQL string literal.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a JSON string is a GraphQL string")
}

/// An ordinary value of a scalar; `id` for ids.
fn plain(scalar: &str, id: &str) -> String {
    match scalar {
        "ID" => quoted(id),
        "Int" => "1".into(),
        "Float" => "1.5".into(),
        "Boolean" => "false".into(),
        "DateTime" => quoted("2031-01-01T00:00:00Z"),
        "Money" => quoted("12.50"),
        "Cursor" => quoted("0"),
        "enum" => "0".into(),
        _ => quoted("probe"),
    }
}

/// Ids and names of a victim organization with one of everything.
async fn victim(app: &TestApp) -> (String, Vec<String>, Vec<String>) {
    let boot = app.bootstrap("Victim Corp").await;
    let org = boot.organization_id.clone();
    let admin = app.token_for(&boot.admin_user_id);
    let child = app.account(&org, &boot.account_id, "Victim Child").await;
    let site = app.site(&org, &boot.account_id, "Victim Site").await;
    let group = app.site_group(&org, "Victim Group", std::slice::from_ref(&site)).await;
    let asset = app.asset(&org, &site, "Victim Asset", &["victimtag"]).await;
    let user = app.user(&org, &boot.account_id, "Victim Worker").await;
    app.grant(&org, &user, Role::Technician, &Bind::Site(site.clone())).await;
    let vendor = app.vendor(&org, None, "Victim Vendor").await;
    let rule = app.approval_rule(&org, "Victim Rule", None, 1, std::slice::from_ref(&user), Some(&vendor)).await;
    let mut spec = OrderSpec::new(&org, &boot.admin_user_id);
    spec.title = "Victim Order".into();
    spec.site = Some(site.clone());
    spec.asset = Some(asset.clone());
    spec.assignees = vec![user.clone()];
    let order = app.order(&spec).await;
    let note = app.note(&order, &boot.admin_user_id, "Victim note", true).await;
    let created = app
        .graphql(
            Some(&admin),
            "mutation { createApiToken(name: \"Victim Token\", capabilities: [\"orders:read\"]) { token { id } } }",
            json!({}),
        )
        .await;
    let token = created.assert_ok()["createApiToken"]["token"]["id"].as_str().expect("token id").to_owned();
    let ask = "mutation($o: ID!) { requestDeletion(orderId: $o, reason: \"Victim reason\") { id } }";
    let request = app.graphql(Some(&admin), ask, json!({ "o": order })).await;
    let request = request.assert_ok()["requestDeletion"]["id"].as_str().expect("request id").to_owned();
    let ids = vec![
        boot.account_id,
        boot.admin_user_id,
        child,
        site,
        group,
        asset,
        user,
        vendor,
        rule,
        order,
        note,
        token,
        request,
    ];
    let names = ["Victim", "victimtag"].map(String::from).to_vec();
    (org, ids, names)
}

async fn victim_changes(app: &TestApp, org: &str) -> u64 {
    entity::audit_events::Entity::find()
        .filter(entity::audit_events::Column::OrganizationId.eq(org))
        .count(&app.db)
        .await
        .expect("count")
}

async fn other_organizations_ids_reach_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (victim_org, ids, names) = victim(&app).await;
    let changes = victim_changes(&app, &victim_org).await;
    let attacker = app.bootstrap("Attacker").await;
    let token = app.token_for(&attacker.admin_user_id);
    let schema = Schema::read(&app, &token).await;

    let mut attacked = 0;
    for (root, field) in schema.fields() {
        if !field["args"].as_array().expect("args").iter().any(|a| schema.takes_id(&a["type"], 0)) {
            continue;
        }
        // Each optional id argument on its own (required ones always), so
        // that no check of one hides another.
        let mut n = 0;
        loop {
            let mut seen = 0;
            for id in &ids {
                let mut pick = Pick::IdAt { n, seen: 0 };
                let query = schema.call(&root, &field, &mut |scalar| plain(scalar, id), &mut pick);
                let Pick::IdAt { seen: counted, .. } = pick else { unreachable!() };
                seen = counted;
                let response = app.graphql(Some(&token), &query, json!({})).await;
                let text = response.body.to_string();
                assert_ne!(response.code(), Some("INTERNAL"), "{query}: {text}");
                for secret in ids.iter().chain(&names) {
                    assert!(!text.contains(secret.as_str()), "{query} leaks {secret}: {text}");
                }
                attacked += 1;
            }
            n += 1;
            if n >= seen {
                break;
            }
        }
    }
    assert!(attacked > 60 * ids.len(), "calls per id: {}", attacked / ids.len());
    assert_eq!(victim_changes(&app, &victim_org).await, changes, "nothing of the victim changed");

    // Subscriptions too.
    let mut ws = common::ws::WsClient::connect(&app.address, &token).await;
    let order = &ids[9];
    ws.subscribe("o", "subscription($id: ID!) { orderChanged(id: $id) { kind } }", json!({ "id": order })).await;
    assert_eq!(ws.refusal_code().await, json!("NOT_FOUND"));
}

/// Random scalars: strings of every shape, extreme numbers, random ids.
fn scalar() -> impl Strategy<Value = (String, String)> {
    let text = prop_oneof![
        Just(String::new()),
        "\\PC{0,40}",
        Just("'; DROP TABLE orders; --".to_owned()),
        Just("%_\\\\".to_owned()),
        Just("x".repeat(20_000)),
        Just("ord_".to_owned()),
        "[a-z]{3}_[0-9a-f]{32}",
    ];
    let number = prop_oneof![
        Just(i64::from(i32::MIN)),
        Just(-1i64),
        Just(0i64),
        Just(i64::from(i32::MAX)),
        any::<i32>().prop_map(i64::from)
    ];
    (text, number).prop_map(|(t, n)| (t, n.to_string()))
}

async fn fuzzed_arguments_never_break_the_server(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ids, _) = victim(&app).await;
    let boot = app.bootstrap("Fuzzer").await;
    let token = app.token_for(&boot.admin_user_id);
    let site = app.site(&boot.organization_id, &boot.account_id, "Own Site").await;
    let mut spec = OrderSpec::new(&boot.organization_id, &boot.admin_user_id);
    spec.site = Some(site.clone());
    let order = app.order(&spec).await;
    let own = [boot.account_id.clone(), boot.admin_user_id.clone(), site, order];
    let schema = Schema::read(&app, &token).await;
    let fields = schema.fields();

    let cases = std::env::var("WORKGATE_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(48);
    let mut runner = TestRunner::new(ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() });
    let strategy =
        (0..fields.len(), proptest::collection::vec((scalar(), 0..own.len() + ids.len(), any::<bool>()), 16));
    let handle = tokio::runtime::Handle::current();
    let result = tokio::task::block_in_place(|| {
        runner.run(&strategy, |(f, values)| {
            let (root, field) = &fields[f];
            let mut values = values.into_iter().cycle();
            let mut fill = |scalar: &str| {
                let ((text, number), pick, plain_value) = values.next().expect("cycled");
                let id = own.iter().chain(&ids).nth(pick).expect("id");
                match scalar {
                    "ID" if plain_value => quoted(id),
                    "ID" | "String" | "DateTime" | "Money" | "Cursor" => quoted(&text),
                    "Int" | "Float" | "enum" => number,
                    "Boolean" => plain_value.to_string(),
                    _ => quoted(&text),
                }
            };
            let query = schema.call(root, field, &mut fill, &mut Pick::All);
            let (status, body) = handle.block_on(async {
                let response = app
                    .client
                    .post(app.url("/graphql"))
                    .bearer_auth(&token)
                    .json(&json!({ "query": query }))
                    .send()
                    .await;
                let response = response.expect("the server answers");
                let status = response.status();
                (status, response.json::<Value>().await.expect("a JSON answer"))
            });
            prop_assert!(status.as_u16() < 500, "{query}: {status} {body}");
            let errors = body["errors"].as_array().cloned().unwrap_or_default();
            for error in &errors {
                let code = error["extensions"]["code"].as_str().unwrap_or("none");
                prop_assert!(code != "INTERNAL" && code != "none", "{query}: {body}");
            }
            Ok(())
        })
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
