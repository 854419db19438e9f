//! The demo organization that `serve --demo` seeds once: a root and two child
//! accounts, sites, a site group, assets, one user per role (plus a worker
//! without a login) and orders in several statuses.

use entity::{order_assignees, order_tags, orders, users};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, Set};
use serde_json::json;

use super::input::{Email, Name, Tag};
use super::model::{Role, ScopeKind};
use super::service;
use crate::audit::{self, AuditActor, AuditEntry};
use crate::error::{AppError, AppResult};
use crate::ids::IdKind;
use crate::orders::model::{OrderKind, OrderStatus, Priority};
use crate::orders::numbering;
use crate::time::now_micros;

pub const ORGANIZATION: &str = "Demo Facilities";

/// A demo person who can log in, labelled by the role they demonstrate.
#[derive(Debug, Clone)]
pub struct DemoUser {
    pub label: &'static str,
    pub name: &'static str,
    pub id: String,
}

/// (label, name, e-mail) of the people who log in; the first is the admin
/// that bootstrap creates.
const PEOPLE: [(&str, &str, &str); 6] = [
    ("ADMIN", "Ada Admin", "ada@demo.example"),
    ("PLANNER", "Pat Planner", "pat@demo.example"),
    ("APPROVER", "Avery Approver", "avery@demo.example"),
    ("TECHNICIAN", "Tess Technician", "tess@demo.example"),
    ("REQUESTER", "Rene Requester", "rene@demo.example"),
    ("VIEWER", "Vic Viewer", "vic@demo.example"),
];

/// Seeds the demo organization unless it exists; returns its people.
pub async fn ensure(db: &DatabaseConnection) -> AppResult<Vec<DemoUser>> {
    let (admin_label, admin_name, admin_email) = PEOPLE[0];
    let boot = service::bootstrap(db, ORGANIZATION, admin_name, admin_email).await?;
    if boot.created {
        let txn = crate::db::write_txn(db).await?;
        seed(&txn, &boot.organization_id, &boot.account_id, &boot.admin_user_id).await?;
        txn.commit().await?;
    }
    let mut people = vec![DemoUser { label: admin_label, name: admin_name, id: boot.admin_user_id }];
    for (label, name, email) in &PEOPLE[1..] {
        let user = users::Entity::find()
            .filter(users::Column::OrganizationId.eq(&boot.organization_id))
            .filter(users::Column::Email.eq(*email))
            .one(db)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("demo user {email} is missing")))?;
        people.push(DemoUser { label, name, id: user.id });
    }
    Ok(people)
}

async fn seed(txn: &DatabaseTransaction, org: &str, root: &str, admin: &str) -> AppResult<()> {
    let sys = || AuditActor::System;
    let name = |n: &str| Name::parse("name", n);
    let tags = |t: &[&str]| t.iter().map(|t| Tag::parse("tags", t)).collect::<AppResult<Vec<_>>>();

    let north = service::create_account(txn, sys(), org, Some(root), name("North Region")?).await?;
    let south = service::create_account(txn, sys(), org, Some(root), name("South Region")?).await?;
    let hq = service::create_site(txn, sys(), org, root, name("Headquarters")?, &tags(&["hq"])?).await?;
    let plant =
        service::create_site(txn, sys(), org, &north.id, name("North Plant")?, &tags(&["north", "plant"])?).await?;
    let warehouse =
        service::create_site(txn, sys(), org, &north.id, name("North Warehouse")?, &tags(&["north"])?).await?;
    let campus = service::create_site(txn, sys(), org, &south.id, name("South Campus")?, &tags(&["south"])?).await?;
    let north_sites =
        service::create_site_group(txn, sys(), org, name("North Sites")?, &[plant.id.clone(), warehouse.id.clone()])
            .await?;
    let boiler = service::create_asset(txn, sys(), org, &plant.id, name("Boiler 1")?, &tags(&["hvac"])?).await?;
    service::create_asset(txn, sys(), org, &warehouse.id, name("Forklift 7")?, &tags(&["fleet"])?).await?;
    service::create_asset(txn, sys(), org, &hq.id, name("Server Room AC")?, &tags(&["hvac", "it"])?).await?;
    service::create_asset(txn, sys(), org, &campus.id, name("Gym Lighting")?, &tags(&["electrical"])?).await?;

    let person = |i: usize| (Name::parse("name", PEOPLE[i].1), Email::parse("email", PEOPLE[i].2));
    let make = |i: usize, account: String| {
        let (n, e) = person(i);
        async move { service::create_user(txn, AuditActor::System, org, &account, n?, e?, true).await }
    };
    let planner = make(1, root.to_owned()).await?;
    let approver = make(2, north.id.clone()).await?;
    let technician = make(3, north.id.clone()).await?;
    let requester = make(4, north.id.clone()).await?;
    let viewer = make(5, south.id.clone()).await?;
    let worker = service::create_user(
        txn,
        sys(),
        org,
        &north.id,
        name("Walt Worker")?,
        Email::parse("email", "walt@demo.example")?,
        false,
    )
    .await?;

    let grants = [
        (&planner.id, Role::Planner, ScopeKind::Account, ""),
        (&approver.id, Role::Approver, ScopeKind::SiteGroup, north_sites.id.as_str()),
        (&technician.id, Role::Technician, ScopeKind::Site, plant.id.as_str()),
        (&requester.id, Role::Requester, ScopeKind::Site, plant.id.as_str()),
        (&viewer.id, Role::Viewer, ScopeKind::Site, campus.id.as_str()),
    ];
    for (user, role, kind, target) in grants {
        service::grant_role(txn, sys(), org, user, role, kind, target).await?;
    }

    let north_scope = Some(north.id.as_str());
    let orders = [
        DemoOrder {
            title: "Boiler pressure drops overnight",
            status: OrderStatus::PendingApproval,
            priority: Priority::High,
            site: &plant.id,
            asset: Some(&boiler.id),
            scope: north_scope,
            creator: &requester.id,
            assignees: &[],
            tags: &["hvac"],
        },
        DemoOrder {
            title: "Replace dock door seal",
            status: OrderStatus::Open,
            priority: Priority::Medium,
            site: &warehouse.id,
            asset: None,
            scope: north_scope,
            creator: &requester.id,
            assignees: &[],
            tags: &[],
        },
        DemoOrder {
            title: "Quarterly boiler inspection",
            status: OrderStatus::InProgress,
            priority: Priority::Medium,
            site: &plant.id,
            asset: Some(&boiler.id),
            scope: None,
            creator: &planner.id,
            assignees: &[&technician.id, &worker.id],
            tags: &["hvac", "inspection"],
        },
        DemoOrder {
            title: "Fix flickering corridor lights",
            status: OrderStatus::PendingReview,
            priority: Priority::Low,
            site: &plant.id,
            asset: None,
            scope: north_scope,
            creator: &requester.id,
            assignees: &[&technician.id],
            tags: &["electrical"],
        },
        DemoOrder {
            title: "Server room AC filter change",
            status: OrderStatus::Closed,
            priority: Priority::Urgent,
            site: &hq.id,
            asset: None,
            scope: None,
            creator: admin,
            assignees: &[&technician.id],
            tags: &["hvac", "it"],
        },
    ];
    for order in &orders {
        insert_order(txn, org, order).await?;
    }
    Ok(())
}

struct DemoOrder<'a> {
    title: &'a str,
    status: OrderStatus,
    priority: Priority,
    site: &'a str,
    asset: Option<&'a str>,
    scope: Option<&'a str>,
    creator: &'a str,
    assignees: &'a [&'a str],
    tags: &'a [&'a str],
}

async fn insert_order(txn: &DatabaseTransaction, org: &str, o: &DemoOrder<'_>) -> AppResult<()> {
    let now = now_micros();
    let id = IdKind::Order.new_id();
    let number = numbering::next_number(txn, org, OrderKind::Work).await?;
    orders::ActiveModel {
        id: Set(id.clone()),
        organization_id: Set(org.to_owned()),
        number: Set(number.clone()),
        kind: Set(OrderKind::Work.as_str().to_owned()),
        title: Set(o.title.to_owned()),
        description: Set(None),
        priority: Set(o.priority.rank()),
        status: Set(o.status.as_str().to_owned()),
        archived: Set(false),
        version: Set(1),
        site_id: Set(Some(o.site.to_owned())),
        asset_id: Set(o.asset.map(str::to_owned)),
        scope_account_id: Set(o.scope.map(str::to_owned)),
        creator_id: Set(o.creator.to_owned()),
        owner_id: Set(o.creator.to_owned()),
        via_token_id: Set(None),
        vendor_id: Set(None),
        estimated_cost_cents: Set(None),
        resolution: Set((o.status == OrderStatus::PendingReview || o.status == OrderStatus::Closed)
            .then(|| "Done; see notes.".to_owned())),
        due_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        closed_at: Set((o.status == OrderStatus::Closed).then_some(now)),
        deleted_at: Set(None),
        send_state: Set(None),
    }
    .insert(txn)
    .await?;
    for user in o.assignees {
        order_assignees::ActiveModel {
            order_id: Set(id.clone()),
            user_id: Set((*user).to_owned()),
            assigned_at: Set(now),
        }
        .insert(txn)
        .await?;
    }
    for tag in o.tags {
        order_tags::ActiveModel { order_id: Set(id.clone()), tag: Set((*tag).to_owned()) }.insert(txn).await?;
    }
    audit::record(
        txn,
        AuditActor::System,
        AuditEntry {
            organization_id: org,
            action: "order.seed",
            entity_type: "order",
            entity_id: &id,
            order_id: Some(&id),
            changes: json!({ "number": [null, number], "status": [null, o.status.as_str()] }),
            reason: Some("demo data"),
        },
    )
    .await
}
