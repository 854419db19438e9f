//! `createOrder`: who creates, for whom, where; the order's number, scope,
//! intake approval and first rows, in one transaction.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{
    accounts, assets, order_assignees, order_tags, orders, procedure_steps, role_bindings, rules, sites, users, vendors,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

use super::EventKind;
use super::input::{self, MAX_LABEL_CHARS, MAX_TEXT_CHARS, MAX_TITLE_CHARS};
use super::service::{self, Change};
use crate::audit::AuditActor;
use crate::auth::{Actor, Principal};
use crate::error::{AppError, AppResult};
use crate::graphql::ContextExt;
use crate::graphql::scalars::Money;
use crate::ids::IdKind;
use crate::orders::graphql::{ApprovalStep, Order};
use crate::orders::model::{OrderKind, OrderStatus, Priority, SendState};
use crate::orders::numbering;
use crate::orders::record::{INTAKE_SOURCE, OrderRecord, STEP_APPROVED};
use crate::org::input::Tag;
use crate::org::model::Role;
use crate::org::read::visible_user;
use crate::policy::order::NewOrderAt;
use crate::policy::{self, Action, admin, vendor_filter::visible_vendors};
use crate::routing;
use crate::routing::load::string_list;
use crate::routing::resolve::{OrderShape, RULE_STEP, Resolution, StepPlan, resolve};
use crate::sending::{self, Trigger};
use crate::time::{now_micros, to_micros};
use crate::vendors::graphql::Vendor;
use crate::vendors::rules::Rule;

/// At most this many procedure steps per order.
const MAX_STEPS: usize = 100;

/// The contract's `CreateOrderInput`.
#[derive(InputObject)]
pub struct CreateOrderInput {
    kind: OrderKind,
    title: String,
    description: Option<String>,
    priority: Option<Priority>,
    site_id: Option<ID>,
    asset_id: Option<ID>,
    tags: Option<Vec<String>>,
    estimated_cost: Option<Money>,
    due_at: Option<DateTime<Utc>>,
    /// On behalf of someone else: they own the order.
    owner_id: Option<ID>,
    /// Required for API tokens: the user the order is created for.
    on_behalf_of: Option<ID>,
    assignee_ids: Option<Vec<ID>>,
    /// A vendor instead of the resolved one; needs OVERRIDE_VENDOR.
    vendor_id: Option<ID>,
    procedure: Option<Vec<String>>,
}

/// The asset `id`, visible to the caller and (when `site_id` is given) at
/// that site.
pub async fn asset_at(
    db: &impl ConnectionTrait,
    principal: &Principal,
    field: &str,
    id: &str,
    site_id: Option<&str>,
) -> AppResult<assets::Model> {
    let asset = assets::Entity::find()
        .filter(admin::visible_assets(principal))
        .filter(assets::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::bad_input(field, "no such asset"))?;
    if site_id.is_some_and(|site| site != asset.site_id) {
        return Err(AppError::bad_input(field, "the asset is at another site"));
    }
    Ok(asset)
}

/// What an edit leaves of a vendor order, for the spend approval rules it
/// matches (section 7).
pub struct EditedShape<'a> {
    pub tags: &'a [String],
    pub asset_id: Option<&'a str>,
    pub estimated_cost_cents: Option<i64>,
}

/// What an edit does to an order's spend approval steps (section 7).
#[derive(Default)]
pub struct StepChanges {
    /// Steps of rules the edited order matches and has no step for: an
    /// edit must not slip past an approval the order would have needed
    /// had it been created so. Appended, undecided.
    pub added: Vec<StepPlan>,
    /// Approved steps of rules with a cost threshold that the order still
    /// matches, when the edit raises its cost: their approval was of a
    /// smaller amount. Asked again (their ids, with their sources).
    pub asked_again: Vec<(String, String)>,
}

impl StepChanges {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.asked_again.is_empty()
    }

    /// The sources of the steps added or asked again.
    pub fn sources(&self) -> Vec<&str> {
        let added = self.added.iter().map(|s| s.source.as_str());
        added.chain(self.asked_again.iter().map(|(_, source)| source.as_str())).collect()
    }
}

/// The changes to `order`'s approval steps that an edit to `edited`
/// makes. Other steps stay as they are, decided or not, even a rule's
/// that a lowered cost no longer reaches; the vendor (and so its step)
/// does not change.
pub async fn edited_steps<C: ConnectionTrait>(
    db: &C,
    order: &OrderRecord,
    edited: EditedShape<'_>,
) -> AppResult<StepChanges> {
    if order.kind == OrderKind::Work {
        return Ok(StepChanges::default());
    }
    let m = &order.model;
    let mut tags: BTreeSet<String> = edited.tags.iter().cloned().collect();
    if let Some(asset_id) = edited.asset_id {
        let asset = assets::Entity::find_by_id(asset_id).one(db).await?;
        tags.extend(asset.iter().flat_map(|a| string_list(&a.tags)));
    }
    if let Some(site_id) = &m.site_id {
        let site = sites::Entity::find_by_id(site_id.as_str()).one(db).await?;
        tags.extend(site.iter().flat_map(|s| string_list(&s.tags)));
    }
    let routing = routing::load::load(db, &m.organization_id).await?;
    let shape = OrderShape {
        kind: order.kind,
        tags: &tags,
        scope: m.scope_account_id.as_deref(),
        estimated_cost_cents: edited.estimated_cost_cents,
    };
    let resolution = resolve(&shape, &routing.rules, &routing.assignments, &routing.vendors, m.vendor_id.as_deref());
    let raised = edited.estimated_cost_cents.unwrap_or(0) > m.estimated_cost_cents.unwrap_or(0);
    let of_cost = |source: &str| {
        routing.rules.iter().any(|r| r.min_estimated_cost_cents.is_some() && source == format!("{RULE_STEP}{}", r.name))
    };
    let mut changes = StepChanges::default();
    for step in resolution.steps.into_iter().filter(|step| step.source.starts_with(RULE_STEP)) {
        match order.steps.iter().find(|s| s.model.source == step.source) {
            None => changes.added.push(step),
            Some(had) if raised && had.model.decision.as_deref() == Some(STEP_APPROVED) && of_cost(&step.source) => {
                changes.asked_again.push((had.model.id.clone(), step.source));
            }
            Some(_) => {}
        }
    }
    Ok(changes)
}

/// The root account's id of an organization.
async fn root_account<C: ConnectionTrait>(conn: &C, organization_id: &str) -> AppResult<String> {
    accounts::Entity::find()
        .filter(accounts::Column::OrganizationId.eq(organization_id))
        .filter(accounts::Column::ParentId.is_null())
        .one(conn)
        .await?
        .map(|a| a.id)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("organization {organization_id} has no root account")))
}

/// Whether any active user holds APPROVER covering the site.
async fn site_has_approvers<C: ConnectionTrait>(conn: &C, site: &sites::Model, root: &str) -> AppResult<bool> {
    let covering = policy::filter::bindings_covering_site(Role::Approver, site, root);
    Ok(role_bindings::Entity::find().filter(covering).one(conn).await?.is_some())
}

/// Everything `createOrder` decides before writing: who creates it for
/// whom, where, the checks, and (for vendor orders) the routing. Shared with
/// `previewVendorResolution`, which shows it without writing.
struct Plan {
    creator: Principal,
    creator_id: String,
    title: String,
    description: Option<String>,
    tags: Vec<Tag>,
    estimated: Option<i64>,
    steps: Vec<String>,
    asset: Option<assets::Model>,
    site: Option<sites::Model>,
    owner: users::Model,
    scope: Option<String>,
    assignees: Vec<String>,
    intake: bool,
    /// Vendor orders only.
    resolution: Option<Resolution>,
}

async fn plan(ctx: &Context<'_>, input: &CreateOrderInput) -> AppResult<Plan> {
    let (principal, db) = (ctx.principal()?, ctx.reads()?);

    // Who creates: the caller, or the user a token acts for.
    let creator = match (&principal.actor, &input.on_behalf_of) {
        (Actor::Token(_), None) => {
            return Err(AppError::bad_input("input.onBehalfOf", "API tokens create orders on behalf of a user"));
        }
        (Actor::Token(_), Some(user_id)) => {
            // Tokens list no people; the policy checks the user's scope.
            let user = users::Entity::find_by_id(user_id.as_str())
                .filter(users::Column::OrganizationId.eq(principal.organization_id.as_str()))
                .filter(users::Column::Active.eq(true))
                .one(db)
                .await?
                .ok_or_else(|| AppError::bad_input("input.onBehalfOf", "no such active user"))?;
            let account = accounts::Entity::find_by_id(&user.account_id).one(db).await?.ok_or(AppError::NotFound)?;
            policy::order::create_on_behalf(principal, &account.id, account.parent_id.is_none()).require()?;
            crate::auth::user_principal(db, &user.id)
                .await
                .map_err(|_| AppError::bad_input("input.onBehalfOf", "the user cannot sign in"))?
        }
        (Actor::User(_), Some(_)) => {
            return Err(AppError::bad_input(
                "input.onBehalfOf",
                "only API tokens act on behalf of a user; use ownerId",
            ));
        }
        (Actor::User(_), None) => principal.clone(),
    };
    let creator_id = creator.user_id().unwrap_or_default().to_owned();

    let title = input::required("input.title", &input.title, MAX_TITLE_CHARS)?;
    let description = input::optional("input.description", input.description.as_deref(), MAX_TEXT_CHARS)?;
    let tags = Tag::parse_all("input.tags", input.tags.as_deref().unwrap_or_default())?;
    let estimated = input.estimated_cost.map(|m| input::not_negative("input.estimatedCost", m.0)).transpose()?;
    let steps = input.procedure.clone().unwrap_or_default();
    if steps.len() > MAX_STEPS {
        return Err(AppError::bad_input("input.procedure", format!("at most {MAX_STEPS} steps")));
    }
    let steps = steps
        .iter()
        .enumerate()
        .map(|(i, s)| input::required(&format!("input.procedure[{i}]"), s, MAX_LABEL_CHARS))
        .collect::<AppResult<Vec<_>>>()?;

    // Where: the site (or the asset's), as the creator sees it.
    let asset = match &input.asset_id {
        Some(id) => {
            Some(asset_at(db, &creator, "input.assetId", id, input.site_id.as_ref().map(|s| s.as_str())).await?)
        }
        None => None,
    };
    let site_id = input.site_id.as_ref().map(|s| s.as_str()).or(asset.as_ref().map(|a| a.site_id.as_str()));
    let site = match site_id {
        Some(id) => Some(
            sites::Entity::find()
                .filter(admin::visible_sites(&creator))
                .filter(sites::Column::Id.eq(id))
                .one(db)
                .await?
                .ok_or_else(|| AppError::bad_input("input.siteId", "no such site"))?,
        ),
        None => None,
    };
    let root = root_account(db, &creator.organization_id).await?;
    let site_scope = site.as_ref().map(|s| s.account_id.as_str()).filter(|a| *a != root);
    let at = NewOrderAt { site_id: site.as_ref().map(|s| s.id.as_str()), site_scope };
    policy::order::create(&creator, at).require()?;

    // For whom: the owner (default the creator); the order takes the
    // owner's account as its scope.
    let owner = match &input.owner_id {
        Some(id) => visible_user(db, &creator, "input.ownerId", id, true).await?,
        None => users::Entity::find_by_id(&creator_id).one(db).await?.ok_or(AppError::NotFound)?,
    };
    let scope = (owner.account_id != root).then(|| owner.account_id.clone());

    let assignees = match &input.assignee_ids {
        Some(ids) if !ids.is_empty() => {
            policy::order::assign_at_creation(&creator, at).require()?;
            let mut found = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                let user = visible_user(db, &creator, &format!("input.assigneeIds[{i}]"), id, true).await?;
                if !found.contains(&user.id) {
                    found.push(user.id);
                }
            }
            found
        }
        _ => Vec::new(),
    };
    let vendor = match &input.vendor_id {
        Some(id) => {
            if input.kind == OrderKind::Work {
                return Err(AppError::bad_input("input.vendorId", "work orders have no vendor"));
            }
            policy::order::choose_vendor_at_creation(&creator, at).require()?;
            let vendor = vendors::Entity::find()
                .filter(visible_vendors(&creator))
                .filter(vendors::Column::Id.eq(id.as_str()))
                .one(db)
                .await?
                .ok_or_else(|| AppError::bad_input("input.vendorId", "no such vendor"))?;
            Some(vendor.id)
        }
        None => None,
    };

    let intake = match &site {
        Some(site) => policy::order::needs_intake(&creator, at, site_has_approvers(db, site, &root).await?),
        None => false,
    };
    // Vendor orders: the resolved (or chosen) vendor and the spend
    // approval steps of section 7.
    let resolution = if input.kind == OrderKind::Work {
        None
    } else {
        let mut all_tags: BTreeSet<String> = tags.iter().map(|t| t.as_str().to_owned()).collect();
        all_tags.extend(asset.iter().flat_map(|a| string_list(&a.tags)));
        all_tags.extend(site.iter().flat_map(|s| string_list(&s.tags)));
        let routing = routing::load::load(db, &creator.organization_id).await?;
        let shape =
            OrderShape { kind: input.kind, tags: &all_tags, scope: scope.as_deref(), estimated_cost_cents: estimated };
        Some(resolve(&shape, &routing.rules, &routing.assignments, &routing.vendors, vendor.as_deref()))
    };

    Ok(Plan {
        creator,
        creator_id,
        title,
        description,
        tags,
        estimated,
        steps,
        asset,
        site,
        owner,
        scope,
        assignees,
        intake,
        resolution,
    })
}

#[derive(Default)]
pub struct CreateMutation;

#[Object]
impl CreateMutation {
    /// Creates an order: PENDING_APPROVAL when an intake approval is needed
    /// (its creator holds none of APPROVER, PLANNER, ADMIN at a site that has
    /// approvers), else OPEN. API tokens create on behalf of a user
    /// (`onBehalfOf`), who is then its creator.
    async fn create_order(&self, ctx: &Context<'_>, input: CreateOrderInput) -> Result<Order> {
        let principal = ctx.principal()?;
        let db = &ctx.state()?.db;
        let Plan {
            creator,
            creator_id,
            title,
            description,
            tags,
            estimated,
            steps,
            asset,
            site,
            owner,
            scope,
            assignees,
            intake,
            resolution,
        } = plan(ctx, &input).await?;
        let (vendor, spend_steps, maintenance) = match resolution {
            Some(r) => (r.vendor_id, r.steps, r.auto_maintenance && asset.is_some()),
            None => (None, Vec::new(), false),
        };
        let status = if intake || !spend_steps.is_empty() { OrderStatus::PendingApproval } else { OrderStatus::Open };
        // Nothing to approve: a vendor that takes automatic sends gets the
        // order at once.
        let send = status == OrderStatus::Open
            && sending::queue::automatic_vendor(db, input.kind, vendor.as_deref()).await?.is_some();

        let txn = crate::db::write_txn(db).await?;
        let now = now_micros();
        let id = IdKind::Order.new_id();
        let number = numbering::next_number(&txn, &creator.organization_id, input.kind).await?;
        let model = orders::ActiveModel {
            id: Set(id.clone()),
            organization_id: Set(creator.organization_id.clone()),
            number: Set(number.clone()),
            kind: Set(input.kind.as_str().to_owned()),
            title: Set(title),
            description: Set(description),
            priority: Set(input.priority.unwrap_or(Priority::Medium).rank()),
            status: Set(status.as_str().to_owned()),
            archived: Set(false),
            version: Set(1),
            site_id: Set(site.as_ref().map(|s| s.id.clone())),
            asset_id: Set(asset.as_ref().map(|a| a.id.clone())),
            scope_account_id: Set(scope),
            creator_id: Set(creator_id.clone()),
            owner_id: Set(owner.id.clone()),
            via_token_id: Set(match &principal.actor {
                Actor::Token(t) => Some(t.token_id.clone()),
                Actor::User(_) => None,
            }),
            vendor_id: Set(vendor.clone()),
            estimated_cost_cents: Set(estimated),
            resolution: Set(None),
            due_at: Set(input.due_at.map(to_micros)),
            created_at: Set(now),
            updated_at: Set(now),
            closed_at: Set(None),
            deleted_at: Set(None),
            send_state: Set(send.then(|| SendState::Queued.as_str().to_owned())),
        }
        .insert(&txn)
        .await?;
        for user_id in &assignees {
            order_assignees::ActiveModel {
                order_id: Set(id.clone()),
                user_id: Set(user_id.clone()),
                assigned_at: Set(now),
            }
            .insert(&txn)
            .await?;
        }
        for tag in &tags {
            order_tags::ActiveModel { order_id: Set(id.clone()), tag: Set(tag.as_str().to_owned()) }
                .insert(&txn)
                .await?;
        }
        for (position, text) in steps.into_iter().enumerate() {
            procedure_steps::ActiveModel {
                id: Set(IdKind::ProcedureStep.new_id()),
                order_id: Set(id.clone()),
                position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
                text: Set(text),
                done: Set(false),
                done_by: Set(None),
                done_at: Set(None),
            }
            .insert(&txn)
            .await?;
        }
        if intake {
            service::add_approval_step(&txn, &id, 0, INTAKE_SOURCE, &[]).await?;
        }
        for (position, step) in (1..).zip(&spend_steps) {
            service::add_approval_step(&txn, &id, position, &step.source, &step.approvers).await?;
        }
        if maintenance && let Some(asset) = &asset {
            service::set_in_maintenance(&txn, &asset.id, true).await?;
        }
        if send {
            let record = service::reload(&txn, &model.id).await?;
            sending::queue::insert(&txn, &record, Trigger::Automatic, None).await?;
        }
        let actor = match &principal.actor {
            Actor::Token(_) => AuditActor::OnBehalf { principal, user_id: &creator_id },
            Actor::User(_) => AuditActor::Principal(principal),
        };
        let change = Change::new(Action::View, EventKind::Created)
            .note("number", json!([null, number]))
            .note("status", json!([null, status.as_str()]))
            .note("assignees", json!([null, assignees]))
            .note("vendorId", json!([null, vendor]))
            .note("assetInMaintenance", json!(maintenance))
            .note("delivery", json!([null, send.then_some(SendState::Queued.as_str())]));
        let record = service::record_as(&txn, actor, &model, change, "order.create").await?;
        txn.commit().await?;
        if send {
            ctx.state()?.send_wake.notify_one();
        }
        Ok(Order(Arc::new(record)))
    }
}

/// A candidate of a preview: a rule's assignment to a vendor, ranked.
#[derive(SimpleObject)]
pub struct VendorCandidate {
    vendor: Vendor,
    rule: Rule,
    optional_tags_matched: i32,
    priority: i32,
    /// Null for the chosen candidate.
    skipped_because: Option<String>,
}

/// What `createOrder` would do with a vendor order.
#[derive(SimpleObject)]
pub struct VendorResolution {
    vendor: Option<Vendor>,
    candidates: Vec<VendorCandidate>,
    requires_approval: bool,
    approval_steps: Vec<ApprovalStep>,
}

#[derive(Default)]
pub struct PreviewQuery;

#[Object]
impl PreviewQuery {
    /// The vendor and approval steps `createOrder` would give this input,
    /// every candidate with why it lost; nothing is written. ADMIN and
    /// PLANNER, and API tokens with orders:write. Candidates whose vendor or
    /// rule the caller may not read are left out.
    async fn preview_vendor_resolution(&self, ctx: &Context<'_>, input: CreateOrderInput) -> Result<VendorResolution> {
        let (principal, db) = (ctx.principal()?, ctx.reads()?);
        policy::procurement::preview_resolution(principal).require()?;
        if input.kind == OrderKind::Work {
            return Err(AppError::bad_input("input.kind", "work orders are not routed to vendors").into());
        }
        let plan = plan(ctx, &input).await?;
        let resolution = plan.resolution.unwrap_or_default();
        let mut vendor_ids: Vec<&str> = resolution.candidates.iter().map(|c| c.vendor_id.as_str()).collect();
        vendor_ids.extend(resolution.vendor_id.as_deref());
        // Resolution saw the whole organization; the caller is shown only the
        // vendors and rules their scope and role let them read.
        let vendor_rows = vendors::Entity::find()
            .filter(visible_vendors(principal))
            .filter(vendors::Column::Id.is_in(vendor_ids))
            .all(db)
            .await?;
        let rule_ids: Vec<&str> = resolution.candidates.iter().map(|c| c.rule_id.as_str()).collect();
        let rule_rows = rules::Entity::find()
            .filter(policy::procurement::visible_rules(principal))
            .filter(rules::Column::Id.is_in(rule_ids))
            .all(db)
            .await?;
        let vendor = |id: &str| vendor_rows.iter().find(|v| v.id == id).cloned().map(Vendor::from);
        let candidates = resolution
            .candidates
            .iter()
            .filter_map(|c| {
                Some(VendorCandidate {
                    vendor: vendor(&c.vendor_id)?,
                    rule: Rule(rule_rows.iter().find(|r| r.id == c.rule_id)?.clone()),
                    optional_tags_matched: i32::try_from(c.optional_tags_matched).unwrap_or(i32::MAX),
                    priority: c.priority,
                    skipped_because: c.skipped.as_ref().map(|s| s.describe()),
                })
            })
            .collect();
        let mut steps = Vec::new();
        if plan.intake {
            steps.push(ApprovalStep::planned(0, INTAKE_SOURCE.to_owned(), Vec::new()));
        }
        for (position, step) in (1..).zip(resolution.steps) {
            steps.push(ApprovalStep::planned(position, step.source, step.approvers));
        }
        Ok(VendorResolution {
            vendor: resolution.vendor_id.as_deref().and_then(vendor),
            candidates,
            requires_approval: !steps.is_empty(),
            approval_steps: steps,
        })
    }
}
