//! The policy on the hot path: `policy::decide` for representative
//! principals and actions, and the visibility filter every order list adds
//! to its query (built, and built + rendered to PostgreSQL SQL).
//!
//! `cargo bench --bench policy -- --warm-up-time 1 --measurement-time 3`
//! (results and how to read them: BENCHMARKS.md).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use entity::orders;
use sea_orm::{DbBackend, EntityTrait, QueryFilter, QueryTrait};
use workgate::auth::{AccountSwitches, Actor, BindingScope, Principal, RoleBinding, TokenActor, UserActor};
use workgate::ids::IdKind;
use workgate::orders::model::{OrderKind, OrderStatus};
use workgate::org::model::Role;
use workgate::policy::filter::visible_orders;
use workgate::policy::{Action, OrderFacts, PendingStep, decide};

/// Ids in the production format (`usr_` + 32 hex digits, time-ordered, so
/// ids of one kind share a long prefix, as they do in a real database).
struct World {
    organization: String,
    root_account: String,
    child_account: String,
    /// `sites[7]` is the order's site; a SITE_GROUP binding covers 0..20.
    sites: Vec<String>,
    vendor: String,
    technician: String,
    planner: String,
    child_admin: String,
    multi: String,
    creator: String,
    owner: String,
    assignees: Vec<String>,
    loggers: Vec<String>,
    approvers: Vec<String>,
}

impl World {
    fn new() -> Self {
        let user = || IdKind::User.new_id();
        let technician = user();
        let planner = user();
        let child_admin = user();
        let multi = user();
        let creator = user();
        let owner = user();
        let assignees = vec![user(), user()];
        let loggers = vec![assignees[0].clone(), user()];
        // The multi-binding user is the last designated approver, so the
        // designated-approver check scans the whole list.
        let approvers = vec![user(), planner.clone(), multi.clone()];
        Self {
            organization: IdKind::Organization.new_id(),
            root_account: IdKind::Account.new_id(),
            child_account: IdKind::Account.new_id(),
            sites: (0..40).map(|_| IdKind::Site.new_id()).collect(),
            vendor: IdKind::Vendor.new_id(),
            technician,
            planner,
            child_admin,
            multi,
            creator,
            owner,
            assignees,
            loggers,
            approvers,
        }
    }

    fn order_site(&self) -> &str {
        &self.sites[17]
    }

    fn user(&self, id: &str, account: &str, bindings: Vec<RoleBinding>) -> Principal {
        Principal {
            organization_id: self.organization.clone(),
            account_id: account.to_owned(),
            root_account: account == self.root_account,
            settings: AccountSwitches::default(),
            actor: Actor::User(UserActor { user_id: id.to_owned(), bindings }),
        }
    }

    fn token(&self, capabilities: &[&str], partner_vendor_id: Option<&str>) -> Principal {
        Principal {
            organization_id: self.organization.clone(),
            account_id: self.root_account.clone(),
            root_account: true,
            settings: AccountSwitches::default(),
            actor: Actor::Token(TokenActor {
                token_id: IdKind::ApiToken.new_id(),
                name: "erp".into(),
                capabilities: capabilities.iter().map(|c| (*c).to_owned()).collect(),
                partner_vendor_id: partner_vendor_id.map(str::to_owned),
            }),
        }
    }

    /// The representative principals, by name.
    fn principals(&self) -> Vec<(&'static str, Principal)> {
        let account = |role| RoleBinding { role, scope: BindingScope::Account };
        let site = |role, site: &str| RoleBinding { role, scope: BindingScope::Site(site.to_owned()) };
        let group = RoleBinding {
            role: Role::Approver,
            scope: BindingScope::SiteGroup { id: IdKind::SiteGroup.new_id(), site_ids: self.sites[..20].to_vec() },
        };
        vec![
            (
                "site_technician",
                self.user(&self.technician, &self.child_account, vec![site(Role::Technician, self.order_site())]),
            ),
            ("account_planner", self.user(&self.planner, &self.root_account, vec![account(Role::Planner)])),
            ("child_admin", self.user(&self.child_admin, &self.child_account, vec![account(Role::Admin)])),
            (
                "multi_binding_site_group20",
                self.user(
                    &self.multi,
                    &self.child_account,
                    vec![
                        account(Role::Requester),
                        site(Role::Technician, &self.sites[30]),
                        site(Role::Viewer, &self.sites[31]),
                        group,
                    ],
                ),
            ),
            ("api_token", self.token(&["orders:read", "vendors:read"], None)),
            ("partner_token", self.token(&["orders:read"], Some(&self.vendor))),
        ]
    }

    /// A vendor order at the order site in the child account's scope, routed
    /// to the partner's vendor, in `status`.
    fn facts<'a>(&'a self, status: OrderStatus, pending_step: Option<PendingStep<'a>>) -> OrderFacts<'a> {
        OrderFacts {
            organization_id: &self.organization,
            scope_account_id: Some(&self.child_account),
            site_id: Some(self.order_site()),
            asset_id: None,
            kind: OrderKind::Service,
            status,
            archived: false,
            deleted: false,
            creator_id: &self.creator,
            owner_id: &self.owner,
            vendor_id: Some(&self.vendor),
            assignee_ids: &self.assignees,
            work_logger_ids: &self.loggers,
            designated_approver_ids: &self.approvers,
            pending_step,
            sending: None,
        }
    }
}

fn decisions(c: &mut Criterion) {
    let world = World::new();
    let principals = world.principals();
    let open = world.facts(OrderStatus::Open, None);
    let review = world.facts(OrderStatus::PendingReview, None);
    let approval = world.facts(OrderStatus::PendingApproval, Some(PendingStep::Designated(&world.approvers)));

    let cases: [(&str, Action, &OrderFacts<'_>); 3] = [
        ("view", Action::View, &open),
        ("close_review", Action::CloseReview, &review),
        ("approve_designated", Action::Approve, &approval),
    ];
    for (name, action, facts) in cases {
        let mut group = c.benchmark_group(format!("decide/{name}"));
        group.throughput(Throughput::Elements(1));
        for (who, principal) in &principals {
            group.bench_with_input(BenchmarkId::from_parameter(who), principal, |b, p| {
                b.iter(|| decide(black_box(p), black_box(action), black_box(facts)))
            });
        }
        group.finish();
    }

    // Every action of the contract on one order (what `Order.can` /
    // `explainAccess` may ask for): time per call covers 22 decisions.
    let mut group = c.benchmark_group("decide/all_actions");
    group.throughput(Throughput::Elements(Action::ALL.len() as u64));
    for (who, principal) in &principals {
        group.bench_with_input(BenchmarkId::from_parameter(who), principal, |b, p| {
            b.iter(|| {
                let mut allowed = 0u32;
                for action in Action::ALL {
                    allowed += u32::from(decide(black_box(p), action, black_box(&review)).allowed);
                }
                allowed
            })
        });
    }
    group.finish();
}

fn visibility_filter(c: &mut Criterion) {
    let world = World::new();
    let principals = world.principals();

    let mut group = c.benchmark_group("filter/visible_orders");
    for (who, principal) in &principals {
        group.bench_with_input(BenchmarkId::from_parameter(who), principal, |b, p| {
            b.iter(|| visible_orders(black_box(p)))
        });
    }
    group.finish();

    // What a list request pays before the database sees anything: the
    // condition and the SELECT around it, as the statement sea-orm sends
    // (SQL with $n placeholders and the values beside it) ...
    let mut group = c.benchmark_group("filter/statement_postgres");
    for (who, principal) in &principals {
        group.bench_with_input(BenchmarkId::from_parameter(who), principal, |b, p| {
            b.iter(|| orders::Entity::find().filter(visible_orders(black_box(p))).build(DbBackend::Postgres))
        });
    }
    group.finish();

    // ... and rendered to one SQL string with the values inlined (what a log
    // line or an EXPLAIN would need).
    let mut group = c.benchmark_group("filter/render_postgres");
    for (who, principal) in &principals {
        group.bench_with_input(BenchmarkId::from_parameter(who), principal, |b, p| {
            b.iter(|| {
                orders::Entity::find().filter(visible_orders(black_box(p))).build(DbBackend::Postgres).to_string()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decisions, visibility_filter);
criterion_main!(benches);
