//! Set-up helpers that build an organization's records directly in the
//! app's database: accounts, sites, groups, assets, users, role bindings and
//! orders in any state. Orders are inserted as rows (their workflow
//! mutations are tested on their own), so any status can be arranged.

use entity::{
    approval_step_approvers, approval_steps, deletion_requests, notes, order_assignees, order_tags, orders,
    rule_approvers, rule_assignments, rules, time_entries, vendors,
};
use sea_orm::{ActiveModelTrait, Set};
use workgate::audit::AuditActor;
use workgate::ids::IdKind;
use workgate::orders::model::{OrderKind, OrderStatus, Priority, SendState};
use workgate::org::input::{Name, Tag};
use workgate::org::model::{Role, ScopeKind};
use workgate::org::service;

use super::TestApp;

/// Where a role binding applies.
#[derive(Debug, Clone)]
pub enum Bind {
    Account,
    Site(String),
    Group(String),
}

/// An order to insert; start from [`OrderSpec::new`] and set what matters.
#[derive(Debug, Clone)]
pub struct OrderSpec {
    pub organization_id: String,
    pub creator: String,
    pub owner: Option<String>,
    pub kind: OrderKind,
    pub status: OrderStatus,
    pub priority: Priority,
    pub title: String,
    pub site: Option<String>,
    pub asset: Option<String>,
    pub scope: Option<String>,
    pub vendor: Option<String>,
    pub assignees: Vec<String>,
    pub work_loggers: Vec<String>,
    /// A pending intake approval step (APPROVER, PLANNER, ADMIN decide).
    pub intake: bool,
    /// Designated approvers of one pending spend step.
    pub designated: Vec<String>,
    pub tags: Vec<String>,
    pub archived: bool,
    pub deleted: bool,
    /// A send to the vendor queued or under way (`orders.send_state`).
    pub sending: Option<SendState>,
    /// A PENDING deletion request by the creator.
    pub deletion_requested: bool,
    pub estimated_cost_cents: Option<i64>,
    pub due_at: Option<i64>,
    /// Microseconds since the epoch; defaults to now.
    pub created_at: Option<i64>,
}

impl OrderSpec {
    pub fn new(organization_id: &str, creator: &str) -> Self {
        Self {
            organization_id: organization_id.to_owned(),
            creator: creator.to_owned(),
            owner: None,
            kind: OrderKind::Work,
            status: OrderStatus::Open,
            priority: Priority::Medium,
            title: "Order".to_owned(),
            site: None,
            asset: None,
            scope: None,
            vendor: None,
            assignees: Vec::new(),
            work_loggers: Vec::new(),
            intake: false,
            designated: Vec::new(),
            tags: Vec::new(),
            archived: false,
            deleted: false,
            sending: None,
            deletion_requested: false,
            estimated_cost_cents: None,
            due_at: None,
            created_at: None,
        }
    }
}

fn name(value: &str) -> Name {
    Name::parse("name", value).expect("valid name")
}

fn now() -> i64 {
    workgate::time::now_micros()
}

impl TestApp {
    pub async fn account(&self, org: &str, parent: &str, account_name: &str) -> String {
        service::create_account(&self.db, AuditActor::System, org, Some(parent), name(account_name))
            .await
            .expect("account created")
            .id
    }

    pub async fn site(&self, org: &str, account: &str, site_name: &str) -> String {
        service::create_site(&self.db, AuditActor::System, org, account, name(site_name), &[])
            .await
            .expect("site created")
            .id
    }

    pub async fn site_group(&self, org: &str, group_name: &str, sites: &[String]) -> String {
        service::create_site_group(&self.db, AuditActor::System, org, name(group_name), sites)
            .await
            .expect("site group created")
            .id
    }

    pub async fn asset(&self, org: &str, site: &str, asset_name: &str, tags: &[&str]) -> String {
        let tags: Vec<Tag> = tags.iter().map(|t| Tag::parse("tags", t).expect("valid tag")).collect();
        service::create_asset(&self.db, AuditActor::System, org, site, name(asset_name), &tags)
            .await
            .expect("asset created")
            .id
    }

    /// A user with a unique e-mail address, able to log in.
    pub async fn user(&self, org: &str, account: &str, user_name: &str) -> String {
        let email = format!("{}.{}@example.com", user_name.to_lowercase().replace(' ', "."), IdKind::User.new_id());
        self.create_user(org, account, user_name, &email, true).await
    }

    pub async fn grant(&self, org: &str, user: &str, role: Role, bind: &Bind) {
        let (kind, target) = match bind {
            Bind::Account => (ScopeKind::Account, ""),
            Bind::Site(site) => (ScopeKind::Site, site.as_str()),
            Bind::Group(group) => (ScopeKind::SiteGroup, group.as_str()),
        };
        service::grant_role(&self.db, AuditActor::System, org, user, role, kind, target).await.expect("role granted");
    }

    pub async fn vendor(&self, org: &str, scope: Option<&str>, vendor_name: &str) -> String {
        let id = IdKind::Vendor.new_id();
        vendors::ActiveModel {
            id: Set(id.clone()),
            organization_id: Set(org.to_owned()),
            scope_account_id: Set(scope.map(str::to_owned)),
            name: Set(vendor_name.to_owned()),
            contact_emails: Set("[\"orders@vendor.example\"]".to_owned()),
            enabled: Set(true),
            requires_approval: Set(false),
            manual_send: Set(false),
            conditions: Set("{}".to_owned()),
            created_at: Set(now()),
            updated_at: Set(now()),
            deleted_at: Set(None),
        }
        .insert(&self.db)
        .await
        .expect("vendor created");
        id
    }

    /// A rule for vendor kinds that requires approval by `approvers` from
    /// `min_cost_cents` on, at `position` in the chain, assigned to
    /// `vendor` (when given) for PART orders.
    pub async fn approval_rule(
        &self,
        org: &str,
        name: &str,
        min_cost_cents: Option<i64>,
        position: i32,
        approvers: &[String],
        vendor: Option<&str>,
    ) -> String {
        let id = IdKind::Rule.new_id();
        rules::ActiveModel {
            id: Set(id.clone()),
            organization_id: Set(org.to_owned()),
            scope_account_id: Set(None),
            vendor_id: Set(None),
            name: Set(name.to_owned()),
            kinds: Set("[\"PART\",\"SERVICE\",\"CAPITAL\"]".to_owned()),
            required_tags: Set("[]".to_owned()),
            optional_tags: Set("[]".to_owned()),
            min_estimated_cost_cents: Set(min_cost_cents),
            requires_approval: Set(!approvers.is_empty()),
            approval_position: Set(position),
            auto_maintenance: Set(false),
            auto_generated: Set(false),
            created_at: Set(now()),
            updated_at: Set(now()),
        }
        .insert(&self.db)
        .await
        .expect("rule inserted");
        for user in approvers {
            rule_approvers::ActiveModel { rule_id: Set(id.clone()), user_id: Set(user.clone()) }
                .insert(&self.db)
                .await
                .expect("rule approver inserted");
        }
        if let Some(vendor) = vendor {
            rule_assignments::ActiveModel {
                rule_id: Set(id.clone()),
                vendor_id: Set(vendor.to_owned()),
                kind: Set("PART".to_owned()),
                priority: Set(0),
            }
            .insert(&self.db)
            .await
            .expect("assignment inserted");
        }
        id
    }

    /// Inserts an order as `spec` describes; returns its id.
    pub async fn order(&self, spec: &OrderSpec) -> String {
        let id = IdKind::Order.new_id();
        let created = spec.created_at.unwrap_or_else(now);
        let prefix = spec.kind.number_prefix();
        orders::ActiveModel {
            id: Set(id.clone()),
            organization_id: Set(spec.organization_id.clone()),
            number: Set(format!("{prefix}-{}", id.rsplit('_').next().unwrap_or(&id))),
            kind: Set(spec.kind.as_str().to_owned()),
            title: Set(spec.title.clone()),
            description: Set(Some(format!("About {}", spec.title))),
            priority: Set(spec.priority.rank()),
            status: Set(spec.status.as_str().to_owned()),
            archived: Set(spec.archived),
            version: Set(1),
            site_id: Set(spec.site.clone()),
            asset_id: Set(spec.asset.clone()),
            scope_account_id: Set(spec.scope.clone()),
            creator_id: Set(spec.creator.clone()),
            owner_id: Set(spec.owner.clone().unwrap_or_else(|| spec.creator.clone())),
            via_token_id: Set(None),
            vendor_id: Set(spec.vendor.clone()),
            estimated_cost_cents: Set(spec.estimated_cost_cents),
            resolution: Set(None),
            due_at: Set(spec.due_at),
            created_at: Set(created),
            updated_at: Set(created),
            closed_at: Set(None),
            deleted_at: Set(spec.deleted.then_some(created)),
            send_state: Set(spec.sending.map(|s| s.as_str().to_owned())),
        }
        .insert(&self.db)
        .await
        .expect("order inserted");
        if spec.deletion_requested {
            deletion_requests::ActiveModel {
                id: Set(IdKind::DeletionRequest.new_id()),
                organization_id: Set(spec.organization_id.clone()),
                order_id: Set(id.clone()),
                requested_by: Set(spec.creator.clone()),
                reason: Set("Duplicate".to_owned()),
                status: Set("PENDING".to_owned()),
                decided_by: Set(None),
                decided_at: Set(None),
                decision_reason: Set(None),
                created_at: Set(created),
            }
            .insert(&self.db)
            .await
            .expect("deletion request inserted");
        }
        for user in &spec.assignees {
            order_assignees::ActiveModel {
                order_id: Set(id.clone()),
                user_id: Set(user.clone()),
                assigned_at: Set(created),
            }
            .insert(&self.db)
            .await
            .expect("assignee inserted");
        }
        for user in &spec.work_loggers {
            time_entries::ActiveModel {
                id: Set(IdKind::TimeEntry.new_id()),
                order_id: Set(id.clone()),
                user_id: Set(user.clone()),
                hours: Set(1.5),
                note: Set(None),
                cost_cents: Set(Some(9000)),
                logged_at: Set(created),
            }
            .insert(&self.db)
            .await
            .expect("time entry inserted");
        }
        if spec.intake {
            self.approval_step(&id, 0, workgate::orders::record::INTAKE_SOURCE).await;
        }
        if !spec.designated.is_empty() {
            let step = self.approval_step(&id, 1, "rule").await;
            for user in &spec.designated {
                approval_step_approvers::ActiveModel {
                    step_id: Set(step.clone()),
                    user_id: Set(user.clone()),
                    order_id: Set(id.clone()),
                }
                .insert(&self.db)
                .await
                .expect("approver inserted");
            }
        }
        for tag in &spec.tags {
            order_tags::ActiveModel { order_id: Set(id.clone()), tag: Set(tag.clone()) }
                .insert(&self.db)
                .await
                .expect("tag inserted");
        }
        id
    }

    /// Designates `user` at one more (undecided, later) step of `order`:
    /// an order whose steps name the same approver twice.
    pub async fn designate_again(&self, order: &str, user: &str) {
        let step = self.approval_step(order, 2, "rule").await;
        approval_step_approvers::ActiveModel {
            step_id: Set(step),
            user_id: Set(user.to_owned()),
            order_id: Set(order.to_owned()),
        }
        .insert(&self.db)
        .await
        .expect("approver inserted");
    }

    /// An undecided approval step of `order`.
    async fn approval_step(&self, order: &str, position: i32, source: &str) -> String {
        let step = IdKind::ApprovalStep.new_id();
        approval_steps::ActiveModel {
            id: Set(step.clone()),
            order_id: Set(order.to_owned()),
            position: Set(position),
            source: Set(source.to_owned()),
            decision: Set(None),
            decided_by: Set(None),
            decided_at: Set(None),
            reason: Set(None),
        }
        .insert(&self.db)
        .await
        .expect("approval step inserted");
        step
    }

    pub async fn note(&self, order: &str, author: &str, body: &str, internal: bool) -> String {
        let id = IdKind::Note.new_id();
        notes::ActiveModel {
            id: Set(id.clone()),
            order_id: Set(order.to_owned()),
            author_id: Set(author.to_owned()),
            body: Set(body.to_owned()),
            visibility: Set(if internal { "INTERNAL" } else { "PUBLIC" }.to_owned()),
            created_at: Set(now()),
        }
        .insert(&self.db)
        .await
        .expect("note inserted");
        id
    }
}
