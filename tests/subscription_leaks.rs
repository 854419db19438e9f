//! The leak test of DOMAIN.md section 8: every role at every scope (a site,
//! a site group, an account; in the root account and in child accounts),
//! people who see orders only through a relation (creator, assignee,
//! designated approver), API tokens of two accounts and a partner token
//! watch while random transitions run through the API. Each subscribes to
//! `orderChanged` for every order, `assignmentChanged` and five queues.
//!
//! The oracle below is written from DOMAIN.md sections 1-8, not from the
//! code: after each change it says which events each subscription receives,
//! of which kind, and whether the event's `actor` and `order` are readable;
//! every subscription must receive exactly that, in order. A subscription
//! the oracle says is refused (an order the principal cannot see, a token's
//! assignments) must be refused with the contract's code.
//!
//! Where DOMAIN.md leaves a case open, the test reads it as
//! `tests/policy_matrix.rs` does (roles count where the order's scope is
//! visible to the principal's account; relations ignore child-account
//! scope), and as docs/subscriptions.md states for events:
//!
//! - an event is heard by whoever may view the order as the change left it;
//!   a deletion is heard by whoever saw the order;
//! - an INTERNAL note is heard only by those who may read it;
//! - a queue's subscriber hears ENTERED_QUEUE / LEFT_QUEUE when an order
//!   comes into / goes out of the queue as they see it (a deleted order
//!   leaves), and the event's own kind while it stays in;
//! - `assignmentChanged`: ASSIGNED when the caller is added, UNASSIGNED when
//!   taken off, STATUS_CHANGED while assigned.
//!
//! Lockstep: every expected event of a change is read before the next
//! change, so an event a subscription should not have had shows up at the
//! latest among the next change's events of that socket; after the last
//! change each socket must stay quiet.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use common::world::{Bind, OrderSpec};
use common::ws::WsClient;
use common::{Backend, TestApp, spawn_app_with};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use workgate::orders::model::{OrderKind, OrderStatus};
use workgate::org::model::Role;

backend_tests!(every_subscription_of_every_principal_gets_what_the_oracle_allows);

const METRICS_TOKEN: &str = "metrics-token-for-leak-tests-0123456789";
const STEPS: usize = 70;

// ---------------------------------------------------------------------------
// The world: accounts, sites, principals
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Acc {
    Root,
    A,
    B,
}

/// N and S belong to the root account, K to child account A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Site {
    N,
    S,
    K,
}

/// The one site group: N and K.
const GROUP: [Site; 2] = [Site::N, Site::K];

#[derive(Debug, Clone, Copy)]
enum At {
    Account,
    Site(Site),
    Group,
}

#[derive(Debug, Clone)]
enum Who {
    /// A person: their account and role bindings.
    User { id: String, account: Acc, roles: Vec<(Role, At)> },
    /// An API token with `orders:read`; a partner token is bound to the
    /// vendor `V`.
    Token { account: Acc, partner: bool },
}

#[derive(Debug)]
struct Principal {
    label: String,
    who: Who,
    bearer: String,
}

impl Principal {
    fn user_id(&self) -> Option<&str> {
        match &self.who {
            Who::User { id, .. } => Some(id),
            Who::Token { .. } => None,
        }
    }
}

/// Which approval step an order waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Intake,
    Designated,
}

/// The oracle's copy of one order.
#[derive(Debug, Clone)]
struct Order {
    id: String,
    kind: OrderKind,
    site: Site,
    /// The creator's child account; None is organization-wide.
    scope: Option<Acc>,
    /// Creator and owner.
    creator: String,
    /// Routed to the partner token's vendor.
    partners: bool,
    designated: Vec<String>,
    pending: Option<Pending>,
    status: OrderStatus,
    archived: bool,
    deleted: bool,
    /// Who asked to delete it, while the request waits.
    deletion_requested_by: Option<String>,
    assignees: BTreeSet<String>,
}

// ---------------------------------------------------------------------------
// The oracle (DOMAIN.md)
// ---------------------------------------------------------------------------

/// §1's visibility table: root sees anything; a child account its own
/// scope and organization-wide objects.
fn scope_visible(account: Acc, scope: Option<Acc>) -> bool {
    account == Acc::Root || scope.is_none() || scope == Some(account)
}

/// §3: "in scope means the role binding covers the order's site".
fn covers(at: At, site: Site) -> bool {
    match at {
        At::Account => true,
        At::Site(bound) => bound == site,
        At::Group => GROUP.contains(&site),
    }
}

/// The roles a person holds over the order.
fn roles_over(account: Acc, roles: &[(Role, At)], o: &Order) -> BTreeSet<Role> {
    if !scope_visible(account, o.scope) {
        return BTreeSet::new();
    }
    roles.iter().filter(|(_, at)| covers(*at, o.site)).map(|(role, _)| *role).collect()
}

/// §3: "the creator, the owner, the assignees and the designated approvers
/// of an order always see it".
fn related(me: &str, o: &Order) -> bool {
    o.creator == me || o.assignees.contains(me) || o.designated.iter().any(|d| d == me)
}

/// May view the order (ignoring deletion: a deletion is heard by whoever
/// saw the order). §3: ADMIN..TECHNICIAN view orders in scope, VIEWER reads
/// within scope, REQUESTER only their own; §2: a token queries within its
/// account's scope, a partner token only the orders routed to its vendor.
fn views(p: &Principal, o: &Order) -> bool {
    match &p.who {
        Who::Token { account, partner } => scope_visible(*account, o.scope) && (!partner || o.partners),
        Who::User { id, account, roles } => {
            let held = roles_over(*account, roles, o);
            related(id, o)
                || [Role::Admin, Role::Planner, Role::Approver, Role::Technician, Role::Viewer]
                    .iter()
                    .any(|r| held.contains(r))
        }
    }
}

/// §6: INTERNAL notes are "not REQUESTER (unless owner), not partner
/// tokens": a person reads them through a role other than REQUESTER, or as
/// owner, assignee or designated approver.
fn reads_internal(p: &Principal, o: &Order) -> bool {
    match &p.who {
        Who::Token { partner, .. } => !partner,
        Who::User { id, account, roles } => {
            let held = roles_over(*account, roles, o);
            o.creator == *id
                || o.assignees.contains(id)
                || o.designated.contains(id)
                || held.iter().any(|r| *r != Role::Requester)
        }
    }
}

/// §6: who changed an order is read as `Order.history` is: ADMIN; PLANNER
/// in scope.
fn reads_actor(p: &Principal, o: &Order) -> bool {
    match &p.who {
        Who::Token { .. } => false,
        Who::User { account, roles, .. } => {
            let held = roles_over(*account, roles, o);
            held.contains(&Role::Admin) || held.contains(&Role::Planner)
        }
    }
}

const QUEUES: [&str; 5] = ["APPROVALS", "REVIEW", "DELETION_REQUESTS", "MY_WORK", "MY_REQUESTS"];

/// §8's queues, as person `p` sees them. Decided: archived orders are in
/// no queue (they are done with).
fn in_queue(p: &Principal, queue: &str, o: &Order) -> bool {
    let Who::User { id: me, account, roles } = &p.who else { return false };
    if o.deleted || o.archived || !views(p, o) {
        return false;
    }
    let held = roles_over(*account, roles, o);
    let manager = held.contains(&Role::Admin) || held.contains(&Role::Planner);
    match queue {
        // "PENDING_APPROVAL orders the caller may approve now": intake by
        // APPROVER, PLANNER, ADMIN in scope; a spend step by its designated
        // approvers; never the creator.
        "APPROVALS" => {
            o.status == OrderStatus::PendingApproval
                && o.creator != *me
                && match o.pending {
                    Some(Pending::Intake) => manager || held.contains(&Role::Approver),
                    Some(Pending::Designated) => o.designated.contains(me),
                    None => false,
                }
        }
        // "PENDING_REVIEW orders the caller may close": PLANNER, ADMIN in
        // scope or the owner, never an assignee.
        "REVIEW" => {
            o.status == OrderStatus::PendingReview && (manager || o.creator == *me) && !o.assignees.contains(me)
        }
        // "pending deletion requests": PLANNER, ADMIN in scope.
        "DELETION_REQUESTS" => o.deletion_requested_by.is_some() && manager,
        // "open orders assigned to the caller".
        "MY_WORK" => {
            matches!(o.status, OrderStatus::Open | OrderStatus::InProgress | OrderStatus::ActionNeeded)
                && o.assignees.contains(me)
        }
        // "orders the caller created or owns".
        "MY_REQUESTS" => o.creator == *me,
        other => unreachable!("queue {other}"),
    }
}

/// An event as a subscription receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Heard {
    kind: String,
    order: String,
    /// The actor's id, or None when refused (FORBIDDEN at `actor`).
    actor: Option<String>,
    /// Whether `order` came with the event (not null).
    shown: bool,
}

/// One change, as the oracle sees it.
struct Change<'a> {
    before: &'a Order,
    after: &'a Order,
    kind: &'static str,
    internal_note: bool,
    actor: &'a str,
}

/// What subscription `sub` of `p` receives of `change`, if anything.
fn expect(p: &Principal, sub: &Sub, change: &Change<'_>) -> Option<Heard> {
    let (b, a) = (change.before, change.after);
    let hears = views(p, a);
    if change.internal_note && !reads_internal(p, a) {
        return None;
    }
    let heard = |kind: &str| Heard {
        kind: kind.to_owned(),
        order: a.id.clone(),
        actor: reads_actor(p, a).then(|| change.actor.to_owned()),
        shown: !a.deleted && hears,
    };
    match sub {
        Sub::Order(id) => (*id == a.id && hears).then(|| heard(change.kind)),
        Sub::Assignments => {
            let me = p.user_id().expect("a person");
            let (was, is) = (b.assignees.contains(me), a.assignees.contains(me));
            if !was && is {
                Some(heard("ASSIGNED"))
            } else if was && !is {
                Some(heard("UNASSIGNED"))
            } else if is && change.kind == "STATUS_CHANGED" {
                Some(heard("STATUS_CHANGED"))
            } else {
                None
            }
        }
        Sub::Queue(queue, site) => {
            let holds = |o: &Order| in_queue(p, queue, o) && site.is_none_or(|s| s == o.site);
            match (holds(b), holds(a)) {
                (false, true) => Some(heard("ENTERED_QUEUE")),
                (true, false) => Some(heard("LEFT_QUEUE")),
                (true, true) => Some(heard(change.kind)),
                (false, false) => None,
            }
        }
    }
}

/// A subscription of one socket.
#[derive(Debug, Clone)]
enum Sub {
    Order(String),
    Assignments,
    /// A queue, at one site or at all.
    Queue(&'static str, Option<Site>),
}

const FIELDS: &str = "kind orderId queue actor { id } order { id }";

impl Sub {
    fn name(&self) -> String {
        match self {
            Self::Order(id) => format!("order:{id}"),
            Self::Assignments => "assignments".to_owned(),
            Self::Queue(q, None) => format!("queue:{q}"),
            Self::Queue(q, Some(site)) => format!("queue:{q}:{site:?}"),
        }
    }

    fn query(&self, sites: &BTreeMap<Site, String>) -> (String, Value) {
        match self {
            Self::Order(id) => {
                (format!("subscription($id: ID!) {{ orderChanged(id: $id) {{ {FIELDS} }} }}"), json!({ "id": id }))
            }
            Self::Assignments => (format!("subscription {{ assignmentChanged {{ {FIELDS} }} }}"), json!({})),
            Self::Queue(q, site) => (
                format!("subscription($site: ID) {{ queueChanged(queue: {q}, siteId: $site) {{ {FIELDS} }} }}"),
                json!({ "site": site.map(|s| &sites[&s]) }),
            ),
        }
    }

    /// The contract's code when the oracle refuses it: an order the
    /// principal cannot see is NOT_FOUND (the contract's errors), and a
    /// token has no assignments or queues (FORBIDDEN; decided: §8's queues
    /// are a caller's work, requests and decisions).
    fn refusal(&self, p: &Principal, orders: &[Order]) -> Option<&'static str> {
        match self {
            Self::Order(id) => {
                let o = orders.iter().find(|o| o.id == *id).expect("order");
                (!views(p, o)).then_some("NOT_FOUND")
            }
            Self::Assignments | Self::Queue(..) => p.user_id().is_none().then_some("FORBIDDEN"),
        }
    }
}

// ---------------------------------------------------------------------------
// The transitions, through the API
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Retitle,
    Assign,
    PublicNote,
    InternalNote,
    Start,
    Submit,
    CloseReview,
    RequestRework,
    Approve,
    Reject,
    Cancel,
    Archive,
    Unarchive,
    RequestDeletion,
    ApproveDeletion,
    DenyDeletion,
    Delete,
}

/// The steps DOMAIN.md §4-5 allow on `o` (to the actors the driver uses).
fn allowed(o: &Order) -> Vec<Step> {
    use OrderStatus as S;
    let mut steps = Vec::new();
    let st = o.status;
    let live = !matches!(st, S::Closed | S::Cancelled);
    if !o.archived {
        steps.extend([Step::PublicNote, Step::InternalNote]);
        if live {
            steps.extend([Step::Retitle, Step::Cancel]);
        }
        if matches!(st, S::Open | S::InProgress | S::ActionNeeded) {
            steps.push(Step::Assign);
        }
        if o.kind == OrderKind::Work && matches!(st, S::Open | S::ActionNeeded) && !o.assignees.is_empty() {
            steps.push(Step::Start);
        }
        if st == S::InProgress && !o.assignees.is_empty() {
            steps.push(Step::Submit);
        }
        if st == S::PendingReview {
            steps.extend([Step::CloseReview, Step::RequestRework]);
        }
        if st == S::PendingApproval {
            steps.extend([Step::Approve, Step::Reject]);
        }
        if matches!(st, S::Closed | S::Cancelled | S::Rejected) && o.deletion_requested_by.is_none() {
            steps.push(Step::Archive);
        }
        match o.deletion_requested_by {
            None => steps.push(Step::RequestDeletion),
            Some(_) => steps.extend([Step::ApproveDeletion, Step::DenyDeletion]),
        }
    } else {
        steps.push(Step::Unarchive);
    }
    steps.push(Step::Delete);
    steps
}

struct Driver<'a> {
    app: &'a TestApp,
    /// ADMIN on the root account: most changes.
    admin: String,
    /// PLANNER on the root account: deletion requests (nobody decides
    /// their own).
    planner: String,
    /// Designated approver of the spend step.
    approver: String,
    /// The people assignments pick from.
    pool: Vec<String>,
}

impl Driver<'_> {
    async fn run(&self, user: &str, query: &str, vars: Value) -> Value {
        self.app.graphql(Some(&self.app.token_for(user)), query, vars).await.assert_ok().clone()
    }

    async fn version(&self, id: &str) -> i64 {
        let data = self.run(&self.admin, "query($id: ID!) { order(id: $id) { version } }", json!({ "id": id })).await;
        data["order"]["version"].as_i64().expect("version")
    }

    /// Runs `step` on `o` through the API and updates `o`; returns the
    /// event kind it records, whether it is an INTERNAL note, and the actor.
    async fn apply(&self, step: Step, o: &mut Order, rng: &mut StdRng) -> (&'static str, bool, String) {
        use OrderStatus as S;
        let id = o.id.clone();
        let v = self.version(&id).await;
        let vars = json!({ "id": id, "v": v });
        let admin = self.admin.clone();
        let transition = |mutation: &str, to: S, o: &mut Order| {
            o.status = to;
            format!("mutation($id: ID!, $v: Int!) {{ {mutation} {{ id }} }}")
        };
        match step {
            Step::Retitle => {
                let edit = "mutation($id: ID!, $v: Int!) { editOrder(id: $id, version: $v, input: { title: \"Renamed\" }) { id } }";
                self.run(&admin, edit, vars).await;
                ("UPDATED", false, admin)
            }
            Step::Assign => {
                let chosen: BTreeSet<String> = self.pool.iter().filter(|_| rng.random_bool(0.4)).cloned().collect();
                let assign =
                    "mutation($id: ID!, $v: Int!, $a: [ID!]!) { assign(id: $id, version: $v, assigneeIds: $a) { id } }";
                self.run(&admin, assign, json!({ "id": id, "v": v, "a": chosen })).await;
                o.assignees = chosen;
                ("ASSIGNED", false, admin)
            }
            Step::PublicNote | Step::InternalNote => {
                let internal = step == Step::InternalNote;
                let visibility = if internal { "INTERNAL" } else { "PUBLIC" };
                let note = "mutation($id: ID!, $vis: NoteVisibility) { addNote(orderId: $id, body: \"A note\", visibility: $vis) { id } }";
                self.run(&admin, note, json!({ "id": id, "vis": visibility })).await;
                ("NOTE_ADDED", internal, admin)
            }
            Step::Start => {
                let worker = o.assignees.first().expect("an assignee").clone();
                self.run(&worker, &transition("start(id: $id, version: $v)", S::InProgress, o), vars).await;
                ("STATUS_CHANGED", false, worker)
            }
            Step::Submit => {
                let worker = o.assignees.first().expect("an assignee").clone();
                let submit =
                    transition("submitForReview(id: $id, version: $v, resolution: \"Done\")", S::PendingReview, o);
                self.run(&worker, &submit, vars).await;
                ("STATUS_CHANGED", false, worker)
            }
            Step::CloseReview => {
                self.run(&admin, &transition("closeReview(id: $id, version: $v)", S::Closed, o), vars).await;
                ("STATUS_CHANGED", false, admin)
            }
            Step::RequestRework => {
                let rework = transition("requestRework(id: $id, version: $v, reason: \"Again\")", S::ActionNeeded, o);
                self.run(&admin, &rework, vars).await;
                ("STATUS_CHANGED", false, admin)
            }
            Step::Approve | Step::Reject => {
                let decider = match o.pending.expect("a pending step") {
                    Pending::Intake => admin,
                    Pending::Designated => self.approver.clone(),
                };
                let query = if step == Step::Approve {
                    transition("approve(id: $id, version: $v)", S::Open, o)
                } else {
                    transition("reject(id: $id, version: $v, reason: \"No\")", S::Rejected, o)
                };
                self.run(&decider, &query, vars).await;
                o.pending = None;
                ("STATUS_CHANGED", false, decider)
            }
            Step::Cancel => {
                self.run(&admin, &transition("cancel(id: $id, version: $v)", S::Cancelled, o), vars).await;
                ("STATUS_CHANGED", false, admin)
            }
            Step::Archive | Step::Unarchive => {
                let (field, kind) =
                    if step == Step::Archive { ("archive", "ARCHIVED") } else { ("unarchive", "UNARCHIVED") };
                self.run(&admin, &format!("mutation($id: ID!) {{ {field}(id: $id) {{ id }} }}"), json!({ "id": id }))
                    .await;
                o.archived = step == Step::Archive;
                (kind, false, admin)
            }
            Step::RequestDeletion => {
                let ask = "mutation($id: ID!) { requestDeletion(orderId: $id, reason: \"Duplicate\") { id } }";
                let data = self.run(&self.planner, ask, json!({ "id": id })).await;
                o.deletion_requested_by = Some(data["requestDeletion"]["id"].as_str().expect("request id").to_owned());
                ("DELETION_REQUESTED", false, self.planner.clone())
            }
            Step::ApproveDeletion | Step::DenyDeletion => {
                let request = o.deletion_requested_by.take().expect("a request");
                let (field, kind) = if step == Step::ApproveDeletion {
                    ("approveDeletion", "DELETED")
                } else {
                    ("denyDeletion", "UPDATED")
                };
                let decide = format!("mutation($r: ID!) {{ {field}(id: $r) {{ id }} }}");
                self.run(&admin, &decide, json!({ "r": request })).await;
                o.deleted = step == Step::ApproveDeletion;
                (kind, false, admin)
            }
            Step::Delete => {
                let delete = "mutation($id: ID!) { deleteOrder(id: $id, reason: \"Gone\") }";
                self.run(&admin, delete, json!({ "id": id })).await;
                o.deleted = true;
                o.deletion_requested_by = None;
                ("DELETED", false, admin)
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------

/// One socket per principal, with its accepted subscriptions by name.
struct Watcher {
    principal: Principal,
    ws: WsClient,
    subs: Vec<Sub>,
}

/// Reads one event message of `ws` as (subscription name, what was heard).
async fn next_heard(ws: &mut WsClient, label: &str) -> (String, Heard) {
    let message = ws.message().await;
    assert_eq!(message["type"], json!("next"), "{label}: {message}");
    let name = message["id"].as_str().expect("id").to_owned();
    let payload = &message["payload"];
    let event = payload["data"].as_object().and_then(|d| d.values().next()).expect("one field").clone();
    let refused: Vec<&Value> = payload["errors"].as_array().map(|e| e.iter().collect()).unwrap_or_default();
    let actor = match event["actor"].get("id").and_then(Value::as_str) {
        Some(id) => Some(id.to_owned()),
        None => {
            let forbidden = refused.iter().any(|e| {
                e["extensions"]["code"] == "FORBIDDEN"
                    && e["path"].as_array().and_then(|p| p.last()) == Some(&json!("actor"))
            });
            assert!(forbidden, "{label}: an unreadable actor is FORBIDDEN at actor: {message}");
            None
        }
    };
    if let Some(queue) = name.strip_prefix("queue:") {
        assert_eq!(event["queue"], json!(queue.split(':').next()), "{label}: {message}");
    }
    let order = event["orderId"].as_str().expect("orderId").to_owned();
    if !event["order"].is_null() {
        assert_eq!(event["order"]["id"], json!(order), "{label}: {message}");
    }
    let heard = Heard {
        kind: event["kind"].as_str().expect("kind").to_owned(),
        order,
        actor,
        shown: !event["order"].is_null(),
    };
    (name, heard)
}

async fn api_token(app: &TestApp, admin: &str, partner: Option<&str>) -> String {
    let create = "mutation($v: ID) { createApiToken(name: \"reader\", capabilities: [\"orders:read\"], partnerVendorId: $v) { secret } }";
    let data = app.graphql(Some(&app.token_for(admin)), create, json!({ "v": partner })).await;
    data.assert_ok()["createApiToken"]["secret"].as_str().expect("secret").to_owned()
}

async fn every_subscription_of_every_principal_gets_what_the_oracle_allows(backend: Backend) {
    let app = spawn_app_with(backend, |raw| raw.metrics_token = Some(METRICS_TOKEN.into())).await;
    let boot = app.bootstrap("Leaks").await;
    let (org, root, admin) = (boot.organization_id.clone(), boot.account_id.clone(), boot.admin_user_id.clone());
    let acc_a = app.account(&org, &root, "Region A").await;
    let acc_b = app.account(&org, &root, "Region B").await;
    let account_id = |acc: Acc| match acc {
        Acc::Root => root.clone(),
        Acc::A => acc_a.clone(),
        Acc::B => acc_b.clone(),
    };
    let mut sites = BTreeMap::new();
    for (site, acc) in [(Site::N, Acc::Root), (Site::S, Acc::Root), (Site::K, Acc::A)] {
        sites.insert(site, app.site(&org, &account_id(acc), &format!("{site:?}")).await);
    }
    let group: Vec<String> = GROUP.iter().map(|s| sites[s].clone()).collect();
    let group_id = app.site_group(&org, "N and K", &group).await;
    let bind = |at: At| match at {
        At::Account => Bind::Account,
        At::Site(site) => Bind::Site(sites[&site].clone()),
        At::Group => Bind::Group(group_id.clone()),
    };

    // Principals: every role at every scope in the root account, some in
    // child accounts, people with relations only, and tokens.
    let mut principals = Vec::new();
    let mut person = async |label: String, account: Acc, roles: Vec<(Role, At)>| {
        let id = app.user(&org, &account_id(account), &label).await;
        for (role, at) in &roles {
            app.grant(&org, &id, *role, &bind(*at)).await;
        }
        let bearer = app.token_for(&id);
        principals.push(Principal { label, who: Who::User { id: id.clone(), account, roles }, bearer });
        id
    };
    let roles = [Role::Admin, Role::Planner, Role::Approver, Role::Technician, Role::Requester, Role::Viewer];
    let mut planner = String::new();
    let mut site_technician = String::new();
    for role in roles {
        for at in [At::Site(Site::N), At::Group, At::Account] {
            let id = person(format!("{role:?} at {at:?}"), Acc::Root, vec![(role, at)]).await;
            match (role, at) {
                (Role::Planner, At::Account) => planner = id,
                (Role::Technician, At::Site(_)) => site_technician = id,
                _ => {}
            }
        }
    }
    let admin_a = person("A: Admin at Account".into(), Acc::A, vec![(Role::Admin, At::Account)]).await;
    person("A: Technician at N".into(), Acc::A, vec![(Role::Technician, At::Site(Site::N))]).await;
    person("A: Viewer at Group".into(), Acc::A, vec![(Role::Viewer, At::Group)]).await;
    person("B: Planner at Account".into(), Acc::B, vec![(Role::Planner, At::Account)]).await;
    let requester_a = person("A: Requester at Account".into(), Acc::A, vec![(Role::Requester, At::Account)]).await;
    let requester_b = person("B: Requester at K".into(), Acc::B, vec![(Role::Requester, At::Site(Site::K))]).await;
    let approver = person("Designated approver, no role".into(), Acc::Root, vec![]).await;
    let worker_s = person("Technician at S".into(), Acc::Root, vec![(Role::Technician, At::Site(Site::S))]).await;
    let worker_b = person("B: worker, no role".into(), Acc::B, vec![]).await;

    let vendor = app.vendor(&org, None, "Partner").await;
    let other_vendor = app.vendor(&org, None, "Other").await;
    // Approving a vendor order must not start a send (events of its own).
    app.execute_sql("UPDATE vendors SET manual_send = TRUE").await;
    for (account, partner, by) in [(Acc::Root, false, &admin), (Acc::A, false, &admin_a), (Acc::Root, true, &admin)] {
        let bearer = api_token(&app, by, partner.then_some(vendor.as_str())).await;
        let label = format!("{}token of {account:?}", if partner { "partner " } else { "" });
        principals.push(Principal { label, who: Who::Token { account, partner }, bearer });
    }

    // Orders of every shape the transitions need.
    let mut orders: Vec<Order> = Vec::new();
    let shapes = [
        // (site, creator, creator's account, kind, status, pending, vendor, assignees)
        (
            Site::N,
            &admin,
            None,
            OrderKind::Work,
            OrderStatus::Open,
            None,
            None,
            vec![requester_a.clone(), worker_b.clone()],
        ),
        (Site::S, &admin, None, OrderKind::Work, OrderStatus::InProgress, None, None, vec![worker_s.clone()]),
        (
            Site::K,
            &requester_a,
            Some(Acc::A),
            OrderKind::Work,
            OrderStatus::PendingApproval,
            Some(Pending::Intake),
            None,
            vec![],
        ),
        (Site::N, &requester_b, Some(Acc::B), OrderKind::Work, OrderStatus::Open, None, None, vec![worker_b.clone()]),
        (
            Site::K,
            &requester_b,
            Some(Acc::B),
            OrderKind::Work,
            OrderStatus::PendingApproval,
            Some(Pending::Intake),
            None,
            vec![],
        ),
        (
            Site::S,
            &admin,
            None,
            OrderKind::Part,
            OrderStatus::PendingApproval,
            Some(Pending::Designated),
            Some(&vendor),
            vec![],
        ),
        (Site::N, &admin, None, OrderKind::Part, OrderStatus::Open, None, Some(&vendor), vec![]),
        (Site::K, &admin, None, OrderKind::Work, OrderStatus::PendingReview, None, None, vec![site_technician.clone()]),
        (Site::N, &admin, None, OrderKind::Part, OrderStatus::Open, None, Some(&other_vendor), vec![]),
        (
            Site::K,
            &requester_a,
            Some(Acc::A),
            OrderKind::Work,
            OrderStatus::Open,
            None,
            None,
            vec![worker_b.clone(), site_technician.clone()],
        ),
    ];
    for (n, (site, creator, scope, kind, status, pending, vendor_id, assignees)) in shapes.into_iter().enumerate() {
        let mut spec = OrderSpec::new(&org, creator);
        spec.title = format!("Order {n}");
        spec.site = Some(sites[&site].clone());
        spec.scope = scope.map(account_id);
        spec.kind = kind;
        spec.status = status;
        spec.vendor = vendor_id.cloned();
        spec.assignees = assignees.clone();
        spec.intake = pending == Some(Pending::Intake);
        if pending == Some(Pending::Designated) {
            spec.designated = vec![approver.clone()];
        }
        spec.estimated_cost_cents = (kind != OrderKind::Work).then_some(10_000);
        let id = app.order(&spec).await;
        orders.push(Order {
            id,
            kind,
            site,
            scope,
            creator: creator.clone(),
            partners: vendor_id == Some(&vendor),
            designated: spec.designated.clone(),
            pending,
            status,
            archived: false,
            deleted: false,
            deletion_requested_by: None,
            assignees: assignees.into_iter().collect(),
        });
    }

    // Every principal subscribes to everything; the oracle's refusals come
    // back at once, the rest are running once the hub counts them.
    let mut watchers = Vec::new();
    let mut running = 0;
    for principal in principals {
        let mut ws = WsClient::connect(&app.address, &principal.bearer).await;
        let mut subs: Vec<Sub> = orders.iter().map(|o| Sub::Order(o.id.clone())).collect();
        subs.push(Sub::Assignments);
        subs.extend(QUEUES.map(|q| Sub::Queue(q, None)));
        subs.extend([Sub::Queue("MY_WORK", Some(Site::N)), Sub::Queue("APPROVALS", Some(Site::K))]);
        let mut refusals = HashMap::new();
        for sub in &subs {
            let (query, vars) = sub.query(&sites);
            ws.subscribe(&sub.name(), &query, vars).await;
            if let Some(code) = sub.refusal(&principal, &orders) {
                refusals.insert(sub.name(), code);
            }
        }
        // A refusal is an `error`, or a `next` with the error and then a
        // `complete`.
        let (mut refused, mut to_complete) = (0, 0);
        while refused < refusals.len() || to_complete > 0 {
            let message = ws.message().await;
            let name = message["id"].as_str().expect("id").to_owned();
            let code = match message["type"].as_str() {
                Some("error") => &message["payload"][0]["extensions"]["code"],
                Some("next") => {
                    to_complete += 1;
                    &message["payload"]["errors"][0]["extensions"]["code"]
                }
                Some("complete") if to_complete > 0 => {
                    to_complete -= 1;
                    continue;
                }
                _ => panic!("{}: {message}", principal.label),
            };
            assert_eq!(refusals.get(&name).map(|c| json!(c)).as_ref(), Some(code), "{}: {message}", principal.label);
            refused += 1;
        }
        subs.retain(|sub| !refusals.contains_key(&sub.name()));
        running += subs.len();
        watchers.push(Watcher { principal, ws, subs });
    }
    common::eventually("every subscription attached to the hub", common::ws::DEADLINE, async || {
        (app.metric(METRICS_TOKEN, "workgate_hub_subscribers").await == running as f64).then_some(())
    })
    .await;

    // Random transitions; after each, every socket receives exactly what
    // the oracle expects.
    let mut pool = vec![worker_s.clone(), worker_b.clone(), site_technician.clone(), requester_a.clone()];
    pool.sort();
    let driver = Driver { app: &app, admin: admin.clone(), planner, approver, pool };
    let mut rng = StdRng::seed_from_u64(0x1ea5);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for step_no in 0..STEPS {
        let live: Vec<usize> = (0..orders.len()).filter(|i| !orders[*i].deleted).collect();
        let Some(&i) = live.choose(&mut rng) else { break };
        let steps = allowed(&orders[i]);
        // Deleting ends an order's story: rarely.
        let step = loop {
            let step = *steps.choose(&mut rng).expect("a step");
            if !matches!(step, Step::Delete | Step::ApproveDeletion) || rng.random_bool(0.25) {
                break step;
            }
        };
        let before = orders[i].clone();
        let (kind, internal_note, actor) = driver.apply(step, &mut orders[i], &mut rng).await;
        let change = Change { before: &before, after: &orders[i], kind, internal_note, actor: &actor };
        for w in &mut watchers {
            let mut want: HashMap<String, Vec<Heard>> = HashMap::new();
            for sub in &w.subs {
                if let Some(heard) = expect(&w.principal, sub, &change) {
                    *kinds.entry(heard.kind.clone()).or_default() += 1;
                    want.entry(sub.name()).or_default().push(heard);
                }
            }
            let mut got: HashMap<String, Vec<Heard>> = HashMap::new();
            let expected: usize = want.values().map(Vec::len).sum();
            for _ in 0..expected {
                let (name, heard) = next_heard(&mut w.ws, &w.principal.label).await;
                got.entry(name).or_default().push(heard);
            }
            assert_eq!(got, want, "step {step_no} ({step:?} on order {i}): {}", w.principal.label);
        }
    }

    // Every kind of event was expected somewhere (the walk reached them).
    for kind in [
        "ENTERED_QUEUE",
        "LEFT_QUEUE",
        "ASSIGNED",
        "UNASSIGNED",
        "STATUS_CHANGED",
        "UPDATED",
        "NOTE_ADDED",
        "DELETION_REQUESTED",
        "DELETED",
    ] {
        assert!(kinds.get(kind).is_some_and(|n| *n > 0), "no {kind} event was expected: {kinds:?}");
    }
    for w in &mut watchers {
        let extra = w.ws.message_within(Duration::from_millis(300)).await;
        assert!(extra.is_none(), "{}: nothing more, got {extra:?}", w.principal.label);
    }
}
