//! `workgate seed --synthetic`: an organization of realistic shape for
//! benchmarks and load tests, the same every time for the same arguments.
//!
//! Accounts (the root and a region per ten sites), sites with tags, site
//! groups of five, assets, people with a role mix (admins, planners,
//! approvers, technicians, requesters, viewers at account, site-group and
//! site scope), vendors with approvers, routing rules, and orders across
//! every status: assignees from their site's technicians, notes (some
//! INTERNAL), hours and costs once work started, approval steps while
//! pending, archived and closed ones. Which record has what is decided by a
//! random generator seeded with `--seed`: names, roles, statuses and every
//! relation repeat exactly; ids are fresh. The organization is named
//! `Synthetic <seed>`; seeding it again is refused (seed a fresh database).
//!
//! The organization, its structure and its people are written through the
//! same services as the API (audited); orders and their children, the bulk,
//! are inserted in batches inside one transaction, and the organization's
//! order numbers continue after them.

use entity::{
    approval_step_approvers, approval_steps, cost_lines, notes, order_assignees, order_tags, orders, organizations,
    rule_approvers, rule_assignments, rules, time_entries, vendor_approvers, vendors,
};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, Set,
};
use serde::Serialize;

use crate::audit::AuditActor;
use crate::error::{AppError, AppResult};
use crate::ids::IdKind;
use crate::orders::model::{OrderKind, OrderStatus, Priority};
use crate::org::input::{Email, Name, Tag};
use crate::org::model::{Role, ScopeKind};
use crate::org::service;
use crate::time::now_micros;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub orders: usize,
    pub sites: usize,
    pub users: usize,
    pub seed: u64,
}

/// What was generated: the ids a benchmark needs to act as each kind of
/// principal.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Seeded {
    pub organization_id: String,
    pub orders: usize,
    pub sites: usize,
    pub users: usize,
    /// An ADMIN of the root account.
    pub admin: String,
    /// A TECHNICIAN bound to one site.
    pub site_technician: String,
    /// A PLANNER of the root account (the whole organization).
    pub account_planner: String,
    /// An ADMIN of a child account.
    pub child_admin: String,
    /// A vendor with orders routed to it (for a partner token).
    pub partner_vendor: String,
}

const TAGS: [&str; 8] = ["hvac", "plumbing", "electrical", "fleet", "it", "roof", "north", "south"];
const WORDS: [&str; 12] = [
    "Leaking", "Broken", "Noisy", "Replace", "Inspect", "Repair", "Clean", "Order", "Faulty", "Check", "Install",
    "Upgrade",
];
const THINGS: [&str; 12] =
    ["valve", "chiller", "door", "pump", "light", "filter", "belt", "panel", "laptop", "van", "boiler", "gutter"];
/// Rows per INSERT: well inside PostgreSQL's and SQLite's parameter limits.
const BATCH: usize = 500;

/// Seeds the organization `Synthetic <seed>` unless it exists.
pub async fn synthetic(db: &DatabaseConnection, shape: Shape) -> AppResult<Seeded> {
    let name = format!("Synthetic {}", shape.seed);
    let email = format!("admin.{}@synthetic.example", shape.seed);
    let boot = service::bootstrap(db, &name, "Synthetic Admin", &email).await?;
    if !boot.created {
        return Err(AppError::bad_input(
            "seed",
            format!("the organization {name:?} exists already; seed a fresh database, or another --seed"),
        ));
    }
    let (org, root) = (boot.organization_id.clone(), boot.account_id.clone());
    let mut rng = StdRng::seed_from_u64(shape.seed);
    let system = AuditActor::System;
    let sites_n = shape.sites.max(1);

    // Accounts: the root and one region per ten sites.
    let mut accounts = vec![root.clone()];
    let regions = (sites_n / 10).max(1);
    {
        for r in 0..regions {
            let region =
                service::create_account(db, system, &org, Some(&root), name_of(&format!("Region {r}"))).await?;
            accounts.push(region.id);
        }
    }
    // Sites, round-robin over the accounts; groups of five.
    let mut sites = Vec::new();
    {
        for s in 0..sites_n {
            let account = &accounts[s % accounts.len()];
            let tags = [Tag::parse("tags", TAGS[s % TAGS.len()])?];
            let site = service::create_site(db, system, &org, account, name_of(&format!("Site {s}")), &tags).await?;
            sites.push((site.id, account.clone()));
        }
    }
    let mut groups = Vec::new();
    for (g, chunk) in sites.chunks(5).enumerate() {
        let ids: Vec<String> = chunk.iter().map(|(id, _)| id.clone()).collect();
        groups.push(service::create_site_group(db, system, &org, name_of(&format!("Group {g}")), &ids).await?.id);
    }
    let mut assets: Vec<Vec<String>> = vec![Vec::new(); sites.len()];
    for (s, (site, _)) in sites.iter().enumerate() {
        for a in 0..3 {
            let tags = [Tag::parse("tags", TAGS[(s + a) % TAGS.len()])?];
            let asset =
                service::create_asset(db, system, &org, site, name_of(&format!("Asset {s}.{a}")), &tags).await?;
            assets[s].push(asset.id);
        }
    }

    // People: the role mix of a facility team.
    let mut technicians: Vec<Vec<String>> = vec![Vec::new(); sites.len()];
    let mut creators: Vec<Vec<(String, String)>> = vec![Vec::new(); sites.len()];
    let mut people = Seeded {
        organization_id: org.clone(),
        orders: shape.orders,
        sites: sites_n,
        users: shape.users,
        admin: boot.admin_user_id.clone(),
        site_technician: String::new(),
        account_planner: String::new(),
        child_admin: String::new(),
        partner_vendor: String::new(),
    };
    {
        for u in 0..shape.users {
            let site = u % sites.len();
            let (site_id, site_account) = &sites[site];
            let (role, kind, target, account) = match u % 50 {
                0 => (Role::Admin, ScopeKind::Account, "", accounts[u / 50 % accounts.len()].clone()),
                1 | 2 => (
                    Role::Planner,
                    ScopeKind::Account,
                    "",
                    if u % 100 < 50 { root.clone() } else { site_account.clone() },
                ),
                3 | 4 => (Role::Approver, ScopeKind::SiteGroup, groups[site / 5].as_str(), site_account.clone()),
                5..=29 => (Role::Technician, ScopeKind::Site, site_id.as_str(), site_account.clone()),
                30..=42 => (Role::Requester, ScopeKind::Account, "", site_account.clone()),
                _ => (Role::Viewer, ScopeKind::Site, site_id.as_str(), site_account.clone()),
            };
            let name = format!("{} {u}", role.as_str().to_lowercase());
            let email = Email::parse("email", &format!("user{u}.{}@synthetic.example", shape.seed))?;
            let user = service::create_user(db, system, &org, &account, name_of(&name), email, true).await?;
            service::grant_role(db, system, &org, &user.id, role, kind, target).await?;
            match role {
                Role::Technician => {
                    technicians[site].push(user.id.clone());
                    creators[site].push((user.id.clone(), account.clone()));
                }
                Role::Requester | Role::Planner => creators[site].push((user.id.clone(), account.clone())),
                _ => {}
            }
            let first = |slot: &mut String| {
                if slot.is_empty() {
                    slot.clone_from(&user.id);
                }
            };
            match (role, account == root) {
                (Role::Technician, _) => first(&mut people.site_technician),
                (Role::Planner, true) => first(&mut people.account_planner),
                (Role::Admin, false) => first(&mut people.child_admin),
                _ => {}
            }
        }
    }
    let approvers: Vec<String> = technicians.iter().flatten().step_by(7).take(10).cloned().collect();

    // Vendors and rules.
    let now = now_micros();
    let txn = crate::db::write_txn(db).await?;
    let mut vendor_ids = Vec::new();
    {
        for v in 0..10 {
            let id = IdKind::Vendor.new_id();
            vendors::ActiveModel {
                id: Set(id.clone()),
                organization_id: Set(org.clone()),
                scope_account_id: Set(None),
                name: Set(format!("Vendor {v}")),
                contact_emails: Set(format!("[\"orders@vendor{v}.example\"]")),
                enabled: Set(true),
                requires_approval: Set(v % 3 == 0),
                manual_send: Set(true),
                conditions: Set("{}".to_owned()),
                created_at: Set(now),
                updated_at: Set(now),
                deleted_at: Set(None),
            }
            .insert(&txn)
            .await?;
            if v % 3 == 0 && !approvers.is_empty() {
                let approver = approvers[v % approvers.len()].clone();
                vendor_approvers::ActiveModel { vendor_id: Set(id.clone()), user_id: Set(approver) }
                    .insert(&txn)
                    .await?;
            }
            vendor_ids.push(id);
        }
        for r in 0..5 {
            let id = IdKind::Rule.new_id();
            rules::ActiveModel {
                id: Set(id.clone()),
                organization_id: Set(org.clone()),
                scope_account_id: Set(None),
                vendor_id: Set(None),
                name: Set(format!("Rule {r}")),
                kinds: Set("[\"PART\",\"SERVICE\",\"CAPITAL\"]".to_owned()),
                required_tags: Set(format!("[\"{}\"]", TAGS[r])),
                optional_tags: Set("[]".to_owned()),
                min_estimated_cost_cents: Set((r == 0).then_some(500_000)),
                requires_approval: Set(r == 0),
                approval_position: Set(1),
                auto_maintenance: Set(false),
                auto_generated: Set(false),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await?;
            if r == 0 && !approvers.is_empty() {
                rule_approvers::ActiveModel { rule_id: Set(id.clone()), user_id: Set(approvers[0].clone()) }
                    .insert(&txn)
                    .await?;
            }
            for kind in ["PART", "SERVICE"] {
                rule_assignments::ActiveModel {
                    rule_id: Set(id.clone()),
                    vendor_id: Set(vendor_ids[r * 2].clone()),
                    kind: Set(kind.to_owned()),
                    priority: Set(0),
                }
                .insert(&txn)
                .await?;
            }
        }
        people.partner_vendor = vendor_ids[1].clone();
    }

    // Orders, with their children.
    let mut rows = Rows::default();
    let (mut work_seq, mut purchase_seq) = (0i64, 0i64);
    {
        for n in 0..shape.orders {
            let site = rng.random_range(0..sites.len());
            let (site_id, _) = &sites[site];
            let kind = match rng.random_range(0..10) {
                0 => OrderKind::Part,
                1 => OrderKind::Service,
                _ => OrderKind::Work,
            };
            let status = pick_status(&mut rng, kind);
            let admin = (boot.admin_user_id.clone(), root.clone());
            // Orders take the scope of their creator's account (DOMAIN.md 1).
            let (creator, creator_account) = creators[site].choose(&mut rng).unwrap_or(&admin).clone();
            let number = if kind == OrderKind::Work {
                work_seq += 1;
                format!("{}-{work_seq}", kind.number_prefix())
            } else {
                purchase_seq += 1;
                format!("{}-{purchase_seq}", kind.number_prefix())
            };
            let created = now - (shape.orders - n) as i64 * 60_000_000;
            let id = IdKind::Order.new_id();
            let started = matches!(
                status,
                OrderStatus::InProgress | OrderStatus::PendingReview | OrderStatus::ActionNeeded | OrderStatus::Closed
            );
            let vendor = (kind != OrderKind::Work).then(|| vendor_ids[rng.random_range(0..vendor_ids.len())].clone());
            let title =
                format!("{} {}", WORDS.choose(&mut rng).unwrap_or(&"Fix"), THINGS.choose(&mut rng).unwrap_or(&"it"));
            rows.orders.push(orders::ActiveModel {
                id: Set(id.clone()),
                organization_id: Set(org.clone()),
                number: Set(number),
                kind: Set(kind.as_str().to_owned()),
                title: Set(title.clone()),
                description: Set(Some(format!("{title} at site {site}"))),
                priority: Set([Priority::Low, Priority::Medium, Priority::High, Priority::Urgent]
                    [rng.random_range(0..4)]
                .rank()),
                status: Set(status.as_str().to_owned()),
                archived: Set(status == OrderStatus::Closed && rng.random_bool(0.3)),
                version: Set(1),
                site_id: Set(Some(site_id.clone())),
                asset_id: Set(rng.random_bool(0.5).then(|| assets[site][rng.random_range(0..3)].clone())),
                scope_account_id: Set((creator_account != root).then_some(creator_account)),
                creator_id: Set(creator.clone()),
                owner_id: Set(creator.clone()),
                via_token_id: Set(None),
                vendor_id: Set(vendor.clone()),
                estimated_cost_cents: Set(vendor.as_ref().map(|_| rng.random_range(1_000..1_000_000))),
                resolution: Set(
                    matches!(status, OrderStatus::PendingReview | OrderStatus::Closed).then(|| "Done".to_owned())
                ),
                due_at: Set(rng.random_bool(0.5).then(|| created + 7 * 86_400_000_000)),
                created_at: Set(created),
                updated_at: Set(created),
                closed_at: Set((status == OrderStatus::Closed).then_some(created)),
                deleted_at: Set(None),
                send_state: Set(None),
            });
            let tag_count = rng.random_range(0..3);
            for tag in TAGS.choose_multiple(&mut rng, tag_count) {
                rows.tags.push(order_tags::ActiveModel { order_id: Set(id.clone()), tag: Set((*tag).to_owned()) });
            }
            let mut assignees = Vec::new();
            if status != OrderStatus::PendingApproval && kind == OrderKind::Work && !technicians[site].is_empty() {
                let count = rng.random_range(1..3);
                for tech in technicians[site].choose_multiple(&mut rng, count) {
                    assignees.push(tech.clone());
                    rows.assignees.push(order_assignees::ActiveModel {
                        order_id: Set(id.clone()),
                        user_id: Set(tech.clone()),
                        assigned_at: Set(created),
                    });
                }
            }
            for k in 0..rng.random_range(0..4) {
                let internal = rng.random_bool(0.3);
                rows.notes.push(notes::ActiveModel {
                    id: Set(IdKind::Note.new_id()),
                    order_id: Set(id.clone()),
                    author_id: Set(assignees.first().unwrap_or(&creator).clone()),
                    body: Set(format!("Note {k} on {title}")),
                    visibility: Set(if internal { "INTERNAL" } else { "PUBLIC" }.to_owned()),
                    created_at: Set(created + k),
                });
            }
            if started && let Some(worker) = assignees.first() {
                rows.time.push(time_entries::ActiveModel {
                    id: Set(IdKind::TimeEntry.new_id()),
                    order_id: Set(id.clone()),
                    user_id: Set(worker.clone()),
                    hours: Set(f64::from(rng.random_range(1..16u8)) / 2.0),
                    note: Set(None),
                    cost_cents: Set(Some(rng.random_range(2_000..40_000))),
                    logged_at: Set(created),
                });
                rows.costs.push(cost_lines::ActiveModel {
                    id: Set(IdKind::CostLine.new_id()),
                    order_id: Set(id.clone()),
                    category: Set(["LABOR", "PARTS", "OTHER"][rng.random_range(0..3)].to_owned()),
                    description: Set("Parts and labour".to_owned()),
                    amount_cents: Set(rng.random_range(500..50_000)),
                    added_by: Set(worker.clone()),
                    created_at: Set(created),
                });
            }
            if status == OrderStatus::PendingApproval {
                let step = IdKind::ApprovalStep.new_id();
                let spend = kind != OrderKind::Work && !approvers.is_empty();
                rows.steps.push(approval_steps::ActiveModel {
                    id: Set(step.clone()),
                    order_id: Set(id.clone()),
                    position: Set(0),
                    source: Set(if spend {
                        "rule".to_owned()
                    } else {
                        crate::orders::record::INTAKE_SOURCE.to_owned()
                    }),
                    decision: Set(None),
                    decided_by: Set(None),
                    decided_at: Set(None),
                    reason: Set(None),
                });
                if spend {
                    rows.step_approvers.push(approval_step_approvers::ActiveModel {
                        step_id: Set(step),
                        user_id: Set(approvers[n % approvers.len()].clone()),
                        order_id: Set(id.clone()),
                    });
                }
            }
            if rows.orders.len() >= BATCH {
                rows.flush(&txn).await?;
            }
        }
        rows.flush(&txn).await?;
        organizations::Entity::update_many()
            .col_expr(organizations::Column::WorkOrderSeq, Expr::value(work_seq))
            .col_expr(organizations::Column::PurchaseOrderSeq, Expr::value(purchase_seq))
            .filter(organizations::Column::Id.eq(org.as_str()))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    // Planner statistics for what was just written, as a database in use
    // has them (autovacuum would get there, minutes later). On PostgreSQL
    // also vacuumed, as such a database is: the rows' hint bits set and the
    // visibility map built. Otherwise the first reads of each page write
    // it, and autovacuum's pass over the new rows lands in the middle of
    // whatever is measured next (issue 8's load runs).
    let settle = match db.get_database_backend() {
        DbBackend::Postgres => "VACUUM (ANALYZE)",
        _ => "ANALYZE",
    };
    db.execute_unprepared(settle).await?;
    Ok(people)
}

/// Every status, in proportions of a working organization: most orders done
/// or under way, some waiting, a few failed or rejected.
fn pick_status(rng: &mut StdRng, kind: OrderKind) -> OrderStatus {
    use OrderStatus as S;
    let roll = rng.random_range(0..100);
    if kind == OrderKind::Work {
        match roll {
            0..=9 => S::PendingApproval,
            10..=12 => S::Rejected,
            13..=29 => S::Open,
            30..=44 => S::InProgress,
            45..=54 => S::PendingReview,
            55..=59 => S::ActionNeeded,
            60..=94 => S::Closed,
            _ => S::Cancelled,
        }
    } else {
        match roll {
            0..=14 => S::PendingApproval,
            15..=19 => S::Rejected,
            20..=34 => S::Open,
            35..=59 => S::Sent,
            60..=64 => S::SendFailed,
            65..=94 => S::Closed,
            _ => S::Cancelled,
        }
    }
}

fn name_of(text: &str) -> Name {
    // The generator's own names are valid names.
    Name::parse("name", text).unwrap_or_else(|_| unreachable!("synthetic name {text}"))
}

/// Rows waiting to be inserted, in batches.
#[derive(Default)]
struct Rows {
    orders: Vec<orders::ActiveModel>,
    tags: Vec<order_tags::ActiveModel>,
    assignees: Vec<order_assignees::ActiveModel>,
    notes: Vec<notes::ActiveModel>,
    time: Vec<time_entries::ActiveModel>,
    costs: Vec<cost_lines::ActiveModel>,
    steps: Vec<approval_steps::ActiveModel>,
    step_approvers: Vec<approval_step_approvers::ActiveModel>,
}

impl Rows {
    /// Inserts what waits (orders first: the rest refer to them).
    async fn flush<C: ConnectionTrait>(&mut self, conn: &C) -> AppResult<()> {
        insert(conn, std::mem::take(&mut self.orders)).await?;
        insert(conn, std::mem::take(&mut self.tags)).await?;
        insert(conn, std::mem::take(&mut self.assignees)).await?;
        insert(conn, std::mem::take(&mut self.notes)).await?;
        insert(conn, std::mem::take(&mut self.time)).await?;
        insert(conn, std::mem::take(&mut self.costs)).await?;
        insert(conn, std::mem::take(&mut self.steps)).await?;
        insert(conn, std::mem::take(&mut self.step_approvers)).await?;
        Ok(())
    }
}

async fn insert<C, A>(conn: &C, rows: Vec<A>) -> AppResult<()>
where
    C: ConnectionTrait,
    A: ActiveModelTrait + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(BATCH).collect();
        <A::Entity as EntityTrait>::insert_many(chunk).exec(conn).await?;
    }
    Ok(())
}
