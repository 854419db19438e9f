//! The SQL visibility filter agrees with the policy, by property test: over
//! generated organizations (accounts, sites, a site group, people with random
//! role bindings, orders in random states and relations, account settings),
//! every principal's `orders` through GraphQL is exactly the set of orders
//! that `decide(View)` allows, computed by brute force from the generated
//! description; `totalCount` agrees; and nothing of another organization
//! ever appears (every case adds a new organization to the same database,
//! so earlier cases are the "other organizations"). Lists are walked in
//! pages of three, so the paged form of the filter is proven across pages.
//!
//! `order(id)` finds exactly the same orders (the single-order form of the
//! filter, `visible_order`). The same worlds prove the queues' two forms
//! equal: every user's `queue(queue: Q)`, with and without `siteId`, lists
//! exactly the orders that `Queue::holds` (the pure form subscriptions
//! judge events by) says are in it.

mod common;

use std::collections::BTreeSet;

use common::world::{Bind, OrderSpec};
use common::{Backend, TestApp, postgres_available, spawn_app};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use workgate::audit::AuditActor;
use workgate::auth::{AccountSwitches, Actor, BindingScope, Principal, RoleBinding, TokenActor, UserActor};
use workgate::orders::graphql::Queue;
use workgate::orders::model::{OrderKind, OrderStatus, SendState};
use workgate::orders::record::Pending;
use workgate::orders::snapshot::Snapshot;
use workgate::org::input::Name;
use workgate::org::model::Role;
use workgate::org::service::{self, NewApiToken, SettingsChange};
use workgate::policy::{Action, decide};

const SITES: usize = 4;
const USERS: usize = 5;
/// Accounts: 0 is the root, 1 and 2 its children.
const ACCOUNTS: usize = 3;

#[derive(Debug, Clone)]
enum BindGen {
    Account,
    Site(usize),
    Group,
}

#[derive(Debug, Clone)]
struct UserGen {
    account: usize,
    bindings: Vec<(Role, BindGen)>,
}

#[derive(Debug, Clone)]
struct OrderGen {
    site: Option<usize>,
    /// The child account whose scope tag the order carries, if any.
    scope: Option<usize>,
    creator: usize,
    owner: usize,
    assignees: Vec<usize>,
    designated: Vec<usize>,
    /// An intake approval step before the designated one.
    intake: bool,
    /// Users who logged time on it.
    loggers: Vec<usize>,
    asset: bool,
    vendor: bool,
    status: OrderStatus,
    archived: bool,
    deleted: bool,
    sending: Option<SendState>,
    deletion_requested: bool,
}

#[derive(Debug, Clone)]
struct WorldGen {
    site_accounts: Vec<usize>,
    group_sites: Vec<usize>,
    asset_setting: Vec<bool>,
    users: Vec<UserGen>,
    orders: Vec<OrderGen>,
}

fn users() -> impl Strategy<Value = Vec<usize>> {
    proptest::sample::subsequence((0..USERS).collect::<Vec<_>>(), 0..3)
}

fn binding() -> impl Strategy<Value = (Role, BindGen)> {
    let scope = prop_oneof![Just(BindGen::Account), (0..SITES).prop_map(BindGen::Site), Just(BindGen::Group)];
    (proptest::sample::select(Role::ALL.to_vec()), scope)
}

fn user() -> impl Strategy<Value = UserGen> {
    (0..ACCOUNTS, proptest::collection::vec(binding(), 0..3))
        .prop_map(|(account, bindings)| UserGen { account, bindings })
}

fn order() -> impl Strategy<Value = OrderGen> {
    let sending = proptest::option::weighted(0.2, prop_oneof![Just(SendState::Queued), Just(SendState::Sending)]);
    (
        (proptest::option::of(0..SITES), proptest::option::of(1..ACCOUNTS), 0..USERS, 0..USERS),
        (users(), users(), any::<bool>(), users(), any::<bool>(), any::<bool>()),
        (proptest::sample::select(OrderStatus::ALL.to_vec()), any::<bool>(), proptest::bool::weighted(0.1)),
        (sending, proptest::bool::weighted(0.3)),
    )
        .prop_map(
            |(
                (site, scope, creator, owner),
                (assignees, designated, intake, loggers, asset, vendor),
                (status, archived, deleted),
                (sending, deletion_requested),
            )| OrderGen {
                site,
                scope,
                creator,
                owner,
                assignees,
                designated,
                intake,
                loggers,
                asset,
                vendor,
                status,
                archived,
                deleted,
                sending,
                deletion_requested,
            },
        )
}

fn world() -> impl Strategy<Value = WorldGen> {
    (
        proptest::collection::vec(0..ACCOUNTS, SITES),
        proptest::sample::subsequence((0..SITES).collect::<Vec<_>>(), 0..=SITES),
        proptest::collection::vec(any::<bool>(), ACCOUNTS),
        proptest::collection::vec(user(), USERS),
        proptest::collection::vec(order(), 4..14),
    )
        .prop_map(|(site_accounts, group_sites, asset_setting, users, orders)| WorldGen {
            site_accounts,
            group_sites,
            asset_setting,
            users,
            orders,
        })
}

/// The ids the generated world got in the database.
struct Built {
    org: String,
    accounts: Vec<String>,
    sites: Vec<String>,
    group: String,
    users: Vec<String>,
    vendor: String,
    /// (id, facts as generated), tombstones included.
    orders: Vec<(String, OrderGen)>,
}

async fn build(app: &TestApp, w: &WorldGen, case: usize) -> Built {
    let boot = app.bootstrap(&format!("Org {case}")).await;
    let org = boot.organization_id;
    let mut accounts = vec![boot.account_id.clone()];
    for name in ["Child A", "Child B"] {
        accounts.push(app.account(&org, &boot.account_id, name).await);
    }
    for (account, on) in accounts.iter().zip(&w.asset_setting) {
        let change = SettingsChange {
            requester_sees_asset_orders: Some(*on),
            non_admin_vendor_override: None,
            planner_may_delete: None,
        };
        service::update_account_settings(&app.db, AuditActor::System, &org, account, change).await.expect("settings");
    }
    let mut sites = Vec::new();
    for (i, account) in w.site_accounts.iter().enumerate() {
        sites.push(app.site(&org, &accounts[*account], &format!("Site {i}")).await);
    }
    let members: Vec<String> = w.group_sites.iter().map(|i| sites[*i].clone()).collect();
    let group = app.site_group(&org, "Group", &members).await;
    let mut users = Vec::new();
    for (i, u) in w.users.iter().enumerate() {
        let id = app.user(&org, &accounts[u.account], &format!("User {i}")).await;
        for (role, bind) in &u.bindings {
            let bind = match bind {
                BindGen::Account => Bind::Account,
                BindGen::Site(s) => Bind::Site(sites[*s].clone()),
                BindGen::Group => Bind::Group(group.clone()),
            };
            app.grant(&org, &id, *role, &bind).await;
        }
        users.push(id);
    }
    let vendor = app.vendor(&org, None, "Vendor").await;
    let asset_site = sites[0].clone();
    let asset = app.asset(&org, &asset_site, "Asset", &[]).await;
    let mut orders = Vec::new();
    for o in &w.orders {
        let mut spec = OrderSpec::new(&org, &users[o.creator]);
        spec.owner = Some(users[o.owner].clone());
        spec.kind = if o.vendor { OrderKind::Part } else { OrderKind::Work };
        spec.status = o.status;
        spec.site = o.site.map(|s| sites[s].clone());
        spec.scope = o.scope.map(|a| accounts[a].clone());
        spec.asset = o.asset.then(|| asset.clone());
        spec.vendor = o.vendor.then(|| vendor.clone());
        spec.assignees = o.assignees.iter().map(|u| users[*u].clone()).collect();
        spec.designated = o.designated.iter().map(|u| users[*u].clone()).collect();
        spec.intake = o.intake;
        spec.work_loggers = o.loggers.iter().map(|u| users[*u].clone()).collect();
        spec.archived = o.archived;
        spec.deleted = o.deleted;
        spec.sending = o.sending;
        spec.deletion_requested = o.deletion_requested;
        orders.push((app.order(&spec).await, o.clone()));
    }
    Built { org, accounts, sites, group, users, vendor, orders }
}

/// The principal a user's credentials become, from the generated world.
fn user_principal(w: &WorldGen, b: &Built, user: usize) -> Principal {
    let u = &w.users[user];
    let bindings = u
        .bindings
        .iter()
        .map(|(role, bind)| RoleBinding {
            role: *role,
            scope: match bind {
                BindGen::Account => BindingScope::Account,
                BindGen::Site(s) => BindingScope::Site(b.sites[*s].clone()),
                BindGen::Group => BindingScope::SiteGroup {
                    id: b.group.clone(),
                    site_ids: w.group_sites.iter().map(|s| b.sites[*s].clone()).collect(),
                },
            },
        })
        .collect();
    Principal {
        organization_id: b.org.clone(),
        account_id: b.accounts[u.account].clone(),
        root_account: u.account == 0,
        settings: AccountSwitches { requester_sees_asset_orders: w.asset_setting[u.account], ..Default::default() },
        actor: Actor::User(UserActor { user_id: b.users[user].clone(), bindings }),
    }
}

fn token_principal(b: &Built, account: usize, partner: bool) -> Principal {
    Principal {
        organization_id: b.org.clone(),
        account_id: b.accounts[account].clone(),
        root_account: account == 0,
        settings: AccountSwitches::default(),
        actor: Actor::Token(TokenActor {
            token_id: "tok".into(),
            name: "token".into(),
            capabilities: vec!["orders:read".into()],
            partner_vendor_id: partner.then(|| b.vendor.clone()),
        }),
    }
}

/// A generated order's facts, as the policy sees them.
fn snapshot(b: &Built, o: &OrderGen) -> Snapshot {
    let ids = |list: &[usize]| -> Vec<String> { list.iter().map(|u| b.users[*u].clone()).collect() };
    let designated = ids(&o.designated);
    let pending = if o.intake {
        Some(Pending::Intake)
    } else {
        (!designated.is_empty()).then(|| Pending::Designated(designated.clone()))
    };
    Snapshot {
        organization_id: b.org.clone(),
        scope_account_id: o.scope.map(|a| b.accounts[a].clone()),
        site_id: o.site.map(|s| b.sites[s].clone()),
        asset_id: o.asset.then(|| "asset".to_owned()),
        kind: if o.vendor { OrderKind::Part } else { OrderKind::Work },
        status: o.status,
        archived: o.archived,
        deleted: o.deleted,
        creator_id: b.users[o.creator].clone(),
        owner_id: b.users[o.owner].clone(),
        vendor_id: o.vendor.then(|| b.vendor.clone()),
        assignee_ids: ids(&o.assignees),
        work_logger_ids: ids(&o.loggers),
        designated_approver_ids: designated,
        pending,
        sending: o.sending,
        deletion_pending: o.deletion_requested,
    }
}

/// Brute force: every generated order that `decide(View)` allows.
fn oracle(b: &Built, principal: &Principal) -> BTreeSet<String> {
    b.orders
        .iter()
        .filter(|(_, o)| decide(principal, Action::View, &snapshot(b, o).facts()).allowed)
        .map(|(id, _)| id.clone())
        .collect()
}

/// Brute force: every generated order that `Queue::holds` puts in `queue`.
fn queue_oracle(b: &Built, principal: &Principal, queue: Queue, site: Option<&str>) -> BTreeSet<String> {
    b.orders.iter().filter(|(_, o)| queue.holds(principal, site, &snapshot(b, o))).map(|(id, _)| id.clone()).collect()
}

/// Every order of a list, walked in pages of three: several pages in each
/// generated world, so the policy's per-page form for site-bound people
/// (each arm cut to a page's first rows, `visible_orders_for_page`) is
/// proven page by page, not only in one page that holds everything.
/// `field` is the list's root field; `variables` are the query's own.
async fn walk(app: &TestApp, credential: &str, query: &str, field: &str, variables: Value) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = Value::Null;
    loop {
        let mut variables = variables.clone();
        variables["after"] = after;
        let response = app.graphql(Some(credential), query, variables).await;
        let data = response.assert_ok();
        let list = &data[field];
        let edges = list["edges"].as_array().expect("edges");
        ids.extend(edges.iter().map(|e| e["node"]["id"].as_str().expect("id").to_owned()));
        if list["pageInfo"]["hasNextPage"] != json!(true) {
            return ids;
        }
        after = list["pageInfo"]["endCursor"].clone();
    }
}

/// The ids of a walked list, none listed twice.
fn distinct(ids: Vec<String>) -> BTreeSet<String> {
    let count = ids.len();
    let set: BTreeSet<String> = ids.into_iter().collect();
    assert_eq!(set.len(), count, "an order was listed on two pages");
    set
}

/// What the API lists in a queue for a credential.
async fn queued(app: &TestApp, credential: &str, queue: Queue, site: Option<&str>) -> BTreeSet<String> {
    let query = "query($q: Queue!, $s: ID, $after: Cursor) { queue(queue: $q, siteId: $s, first: 3, after: $after) {
        edges { node { id } } pageInfo { hasNextPage endCursor } } }";
    distinct(walk(app, credential, query, "queue", json!({ "q": queue.as_str(), "s": site })).await)
}

/// What the API lists for a credential: archived and current orders, with
/// `totalCount` checked against each list.
async fn listed(app: &TestApp, credential: &str) -> BTreeSet<String> {
    let query = "query($a: Boolean, $after: Cursor) { orders(first: 3, after: $after, filter: { archived: $a }) {
        totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }";
    let count = "query($a: Boolean) { orders(first: 0, filter: { archived: $a }) { totalCount } }";
    let mut all = BTreeSet::new();
    for archived in [false, true] {
        let ids = distinct(walk(app, credential, query, "orders", json!({ "a": archived })).await);
        let response = app.graphql(Some(credential), count, json!({ "a": archived })).await;
        let total = &response.assert_ok()["orders"]["totalCount"];
        assert_eq!(*total, json!(ids.len()), "totalCount disagrees with the list");
        all.extend(ids);
    }
    all
}

/// The orders among `b`'s that `order(id)` finds for a credential (one
/// request, an alias per order): the single-order form of the filter
/// (`visible_order`). Any other answer than the order or NOT_FOUND fails.
async fn found(app: &TestApp, credential: &str, b: &Built) -> BTreeSet<String> {
    let fields: String =
        b.orders.iter().enumerate().map(|(i, (id, _))| format!("o{i}: order(id: \"{id}\") {{ id }} ")).collect();
    let response = app.graphql(Some(credential), &format!("{{ {fields}}}"), json!({})).await;
    for error in response.body["errors"].as_array().into_iter().flatten() {
        assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{}", response.body);
    }
    let data = response.data().as_object().expect("data");
    data.values().filter_map(|order| order["id"].as_str().map(str::to_owned)).collect()
}

async fn check(app: &TestApp, w: &WorldGen, case: usize) -> Result<(), TestCaseError> {
    let b = build(app, w, case).await;
    for user in 0..USERS {
        let principal = user_principal(w, &b, user);
        let credential = app.token_for(&b.users[user]);
        let expected = oracle(&b, &principal);
        let actual = listed(app, &credential).await;
        prop_assert_eq!(&actual, &expected, "user {} ({:?})", user, w.users[user]);
        let actual = found(app, &credential, &b).await;
        prop_assert_eq!(&actual, &expected, "order(id) for user {} ({:?})", user, w.users[user]);
        for queue in Queue::ALL {
            for site in [None, Some(b.sites[0].as_str())] {
                let expected = queue_oracle(&b, &principal, queue, site);
                let actual = queued(app, &credential, queue, site).await;
                prop_assert_eq!(&actual, &expected, "user {} ({:?}), {:?} at {:?}", user, w.users[user], queue, site);
            }
        }
    }
    for (account, partner) in [(0, false), (1, false), (2, false), (0, true)] {
        let issued = service::issue_api_token(
            &app.db,
            AuditActor::System,
            NewApiToken {
                organization_id: &b.org,
                account_id: &b.accounts[account],
                name: Name::parse("name", "token").expect("name"),
                capabilities: vec!["orders:read".into()],
                partner_vendor_id: partner.then(|| b.vendor.clone()),
                expires_at: None,
                created_by: None,
            },
        )
        .await
        .expect("token issued");
        let expected = oracle(&b, &token_principal(&b, account, partner));
        let actual = listed(app, &issued.secret).await;
        prop_assert_eq!(&actual, &expected, "token of account {} (partner: {})", account, partner);
        let actual = found(app, &issued.secret, &b).await;
        prop_assert_eq!(&actual, &expected, "order(id) for the token of account {} (partner: {})", account, partner);
    }
    Ok(())
}

fn run(backend: Backend, cases: u32) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let app = rt.block_on(spawn_app(backend));
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let case = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(&world(), |w| {
        let case = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        rt.block_on(check(&app, &w, case))
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn the_sql_filter_lists_exactly_what_decide_allows_sqlite() {
    run(Backend::Sqlite, 40);
}

#[test]
fn the_sql_filter_lists_exactly_what_decide_allows_postgres() {
    if postgres_available() {
        run(Backend::Postgres, 40);
    }
}
