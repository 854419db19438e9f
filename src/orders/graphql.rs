//! GraphQL types of orders: `Order` and what hangs off it, `ViewerCan`, the
//! connection types, and the order queries (`order`, `orders`, `queue`).
//!
//! Every field asks the policy: partner tokens read only their fields, costs
//! and history are guarded, INTERNAL notes are left out (in SQL) for callers
//! who may not read them. A guarded field the caller may not read is `null`
//! with a FORBIDDEN error at its path; the rest of the response stands.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputType, Lookahead, Object, Result, SimpleObject, Value};
use chrono::{DateTime, Utc};
use entity::{
    approval_steps, assets, attachments, audit_events, cost_lines, notes, part_usages, procedure_steps, time_entries,
};
use sea_orm::{ColumnTrait, Condition};

use super::filter::{OrderFilter, Plan};
use super::list::{self, OrderSort, PageRequest};
use super::model::{OrderKind, OrderStatus, Priority};
use super::record::{self, OrderRecord, StepRecord, Tags};
use super::snapshot::Snapshot;
use crate::auth::Principal;
use crate::error::AppError;
use crate::graphql::answered::{self, Brief, Plain, Shape, brief};
use crate::graphql::loaders::{
    self, AccountById, ActualCostOf, AssetById, AttachmentsOf, Children, CostLinesOf, Db, Found, HistoryOf, LoadError,
    Loaders, Named, NotesOf, PartsOf, SendsOf, SiteById, StepsOf, TimeEntriesOf, UserById, VendorById, to_app,
};
use crate::graphql::scalars::{Cursor, Money};
use crate::graphql::{ContextExt, nullable};
use crate::ids::ById;
use crate::org::graphql::{Account, Site, User};
use crate::policy::{self, Action, CostAccess, filter::visible_orders};
use crate::sending::graphql::VendorSend;
use crate::time::from_micros;
use crate::vendors::graphql::Vendor;

/// An order the caller may see (the policy decided before it was built).
#[derive(Clone)]
pub struct Order(pub Arc<OrderRecord>);

impl Order {
    fn guard<'c>(&self, ctx: &'c Context<'_>, field: &str) -> Result<&'c Principal> {
        let principal = ctx.principal()?;
        policy::order::read_order_field(principal, field).require()?;
        Ok(principal)
    }

    fn key(&self) -> String {
        self.0.model.id.clone()
    }

    /// The notes the caller reads: INTERNAL ones only where the policy says.
    fn notes_key(&self, principal: &Principal) -> NotesOf {
        NotesOf { order_id: self.key(), internal: policy::order::read_internal_notes(principal, &self.0.facts()) }
    }

    /// The cost lines the caller reads, or FORBIDDEN.
    fn cost_lines_key(&self, principal: &Principal) -> Result<CostLinesOf, AppError> {
        let added_by = match policy::order::cost_access(principal, &self.0.facts()) {
            CostAccess::All => None,
            CostAccess::Own => principal.user_id().map(str::to_owned),
            CostAccess::None => return Err(AppError::forbidden(policy::order::COSTS_DENIED)),
        };
        Ok(CostLinesOf { order_id: self.key(), added_by })
    }

    /// `priority`'s value (`None`: a rank no priority has).
    fn priority_of(&self) -> Option<Priority> {
        Priority::from_rank(self.0.model.priority)
    }

    /// `version`'s value.
    fn version_of(&self) -> i32 {
        i32::try_from(self.0.model.version).unwrap_or(i32::MAX)
    }

    /// `viewerCan` as `shape` asks for it: only the actions asked are
    /// decided.
    fn decided(&self, principal: &Principal, shape: &Shape<'_>) -> Option<Value> {
        let facts = self.0.facts();
        answered::object::<ViewerCan>(shape, |field| {
            let action = Action::of_field(field.name())?;
            Some(Value::Boolean(policy::decide(principal, action, &facts).allowed))
        })
    }

    /// The order as `shape` asks for it, built at once from its record
    /// and what its page primed (`None`: resolve it field by field). Only
    /// fields that need nothing else are built: the dashboard's scalars,
    /// `viewerCan`, and sites, people and vendors asked their [`Plain`]
    /// fields. A field the caller may not read, or anything out of the
    /// ordinary (a user not primed), is left to the resolvers, which say
    /// FORBIDDEN or fetch it; each value here is the one its resolver in
    /// the `#[Object]` below gives, under the same guard.
    fn built(&self, shape: &Shape<'_>, principal: &Principal, primed: &Primed) -> Option<Value> {
        let (record, m) = (&self.0, &self.0.model);
        let readable = |field: &str| policy::order::read_order_field(principal, field).allowed.then_some(());
        fn plain<T: Plain>(field: &answered::Slot<'_>, object: Option<&T>, principal: &Principal) -> Option<Value> {
            answered::plain(field.shape(), object?, principal)
        }
        let string = |s: &Option<String>| s.clone().map_or(Value::Null, Value::String);
        answered::object::<Self>(shape, |field| {
            let name = field.name();
            let value = match name {
                "id" => Value::String(m.id.clone()),
                "number" => Value::String(m.number.clone()),
                "kind" => record.kind.to_value(),
                "title" => Value::String(m.title.clone()),
                "description" => string(&m.description),
                "priority" => self.priority_of()?.to_value(),
                "status" => record.status.to_value(),
                "dueAt" => m.due_at.map_or(Value::Null, |at| from_micros(at).to_value()),
                _ => {
                    readable(name)?;
                    match name {
                        "archived" => Value::Boolean(m.archived),
                        "version" => Value::from(self.version_of()),
                        "tags" => Value::List(record.tags().ok()?.iter().cloned().map(Value::String).collect()),
                        "createdAt" => from_micros(m.created_at).to_value(),
                        "updatedAt" => from_micros(m.updated_at).to_value(),
                        "site" => match &m.site_id {
                            Some(id) => plain(field, primed.sites.get(id), principal)?,
                            None => Value::Null,
                        },
                        "creator" => plain(field, primed.users.get(&m.creator_id), principal)?,
                        "owner" => plain(field, primed.users.get(&m.owner_id), principal)?,
                        "assignees" => Value::List(
                            record
                                .assignee_ids
                                .iter()
                                .map(|id| plain(field, primed.users.get(id), principal))
                                .collect::<Option<_>>()?,
                        ),
                        "vendor" => match &m.vendor_id {
                            Some(id) => plain(field, primed.vendors.get(id), principal)?,
                            None => Value::Null,
                        },
                        "viewerCan" => self.decided(principal, field.shape())?,
                        _ => return None,
                    }
                }
            };
            Some(value)
        })
    }
}

async fn user(ctx: &Context<'_>, id: Option<&str>) -> Result<Option<Brief<User>>> {
    let Some(id) = id else { return Ok(None) };
    let user = ctx.loaders()?.load_one(UserById(id.to_owned())).await.map_err(to_app)?;
    Ok(user.map(|user| brief(ctx, User::from(user))))
}

#[Object]
impl Order {
    pub async fn id(&self) -> ID {
        ID(self.key())
    }
    async fn number(&self) -> &str {
        &self.0.model.number
    }
    async fn kind(&self) -> OrderKind {
        self.0.kind
    }
    async fn title(&self) -> &str {
        &self.0.model.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.model.description.as_deref()
    }
    async fn priority(&self) -> Result<Priority> {
        Ok(self.priority_of().ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("order {} has priority {}", self.0.model.id, self.0.model.priority))
        })?)
    }
    async fn status(&self) -> OrderStatus {
        self.0.status
    }
    async fn archived(&self, ctx: &Context<'_>) -> Result<bool> {
        self.guard(ctx, "archived")?;
        Ok(self.0.model.archived)
    }
    /// Increases with every change; mutations take it back to detect
    /// concurrent edits (CONFLICT).
    async fn version(&self, ctx: &Context<'_>) -> Result<i32> {
        self.guard(ctx, "version")?;
        Ok(self.version_of())
    }
    async fn site(&self, ctx: &Context<'_>) -> Option<Brief<Site>> {
        nullable(ctx, async {
            self.guard(ctx, "site")?;
            let Some(id) = &self.0.model.site_id else { return Ok(None) };
            let site = ctx.loaders()?.load_one(SiteById(id.clone())).await.map_err(to_app)?;
            Ok(site.map(|site| brief(ctx, Site(site))))
        })
        .await
    }
    async fn asset(&self, ctx: &Context<'_>) -> Option<Asset> {
        nullable(ctx, async {
            self.guard(ctx, "asset")?;
            let Some(id) = &self.0.model.asset_id else { return Ok(None) };
            Ok(ctx.loaders()?.load_one(AssetById(id.clone())).await.map_err(to_app)?.map(Asset))
        })
        .await
    }
    async fn tags(&self, ctx: &Context<'_>) -> Result<&[String]> {
        self.guard(ctx, "tags")?;
        Ok(self.0.tags()?)
    }
    /// The account whose scope the order is in; null: organization-wide.
    async fn scope(&self, ctx: &Context<'_>) -> Option<Account> {
        nullable(ctx, async {
            self.guard(ctx, "scope")?;
            Account::of_scope(ctx, self.0.model.scope_account_id.as_ref()).await
        })
        .await
    }
    async fn creator(&self, ctx: &Context<'_>) -> Option<Brief<User>> {
        nullable(ctx, async {
            self.guard(ctx, "creator")?;
            user(ctx, Some(&self.0.model.creator_id)).await
        })
        .await
    }
    async fn owner(&self, ctx: &Context<'_>) -> Option<Brief<User>> {
        nullable(ctx, async {
            self.guard(ctx, "owner")?;
            user(ctx, Some(&self.0.model.owner_id)).await
        })
        .await
    }
    async fn assignees(&self, ctx: &Context<'_>) -> Result<Vec<Brief<User>>> {
        self.guard(ctx, "assignees")?;
        User::by_ids(ctx, &self.0.assignee_ids).await
    }
    async fn vendor(&self, ctx: &Context<'_>) -> Option<Brief<Vendor>> {
        nullable(ctx, async {
            self.guard(ctx, "vendor")?;
            let Some(id) = &self.0.model.vendor_id else { return Ok(None) };
            let vendor = ctx.loaders()?.load_one(VendorById(id.clone())).await.map_err(to_app)?;
            Ok(vendor.map(|vendor| brief(ctx, Vendor(vendor))))
        })
        .await
    }
    /// Readable by whoever sees the order, except partner tokens.
    async fn estimated_cost(&self, ctx: &Context<'_>) -> Option<Money> {
        nullable(ctx, async {
            let principal = self.guard(ctx, "estimatedCost")?;
            policy::order::read_estimated_cost(principal).require()?;
            Ok(self.0.model.estimated_cost_cents.map(Money))
        })
        .await
    }
    /// Cost lines plus labour: ADMIN and PLANNER in scope, designated
    /// approvers.
    async fn actual_cost(&self, ctx: &Context<'_>) -> Option<Money> {
        nullable(ctx, async {
            let principal = self.guard(ctx, "actualCost")?;
            if policy::order::cost_access(principal, &self.0.facts()) != CostAccess::All {
                return Err(AppError::forbidden(policy::order::COSTS_DENIED).into());
            }
            let total = ctx.loaders()?.load_one(ActualCostOf(self.key())).await.map_err(to_app)?;
            Ok(Some(Money(total.unwrap_or(0))))
        })
        .await
    }
    async fn due_at(&self) -> Option<DateTime<Utc>> {
        self.0.model.due_at.map(from_micros)
    }
    async fn created_at(&self, ctx: &Context<'_>) -> Result<DateTime<Utc>> {
        self.guard(ctx, "createdAt")?;
        Ok(from_micros(self.0.model.created_at))
    }
    async fn updated_at(&self, ctx: &Context<'_>) -> Result<DateTime<Utc>> {
        self.guard(ctx, "updatedAt")?;
        Ok(from_micros(self.0.model.updated_at))
    }
    /// INTERNAL notes are left out for callers who may not read them.
    async fn notes(&self, ctx: &Context<'_>) -> Result<Vec<Note>> {
        let principal = self.guard(ctx, "notes")?;
        let notes = ctx.loaders()?.load_one(self.notes_key(principal)).await.map_err(to_app)?;
        Ok(notes.unwrap_or_default().into_iter().map(Note).collect())
    }
    async fn attachments(&self, ctx: &Context<'_>) -> Result<Vec<Attachment>> {
        self.guard(ctx, "attachments")?;
        let rows = ctx.loaders()?.load_one(AttachmentsOf(self.key())).await.map_err(to_app)?;
        Ok(rows.unwrap_or_default().into_iter().map(Attachment).collect())
    }
    async fn time_entries(&self, ctx: &Context<'_>) -> Result<Vec<TimeEntry>> {
        let principal = self.guard(ctx, "timeEntries")?;
        let access = policy::order::cost_access(principal, &self.0.facts());
        let me = principal.user_id().map(str::to_owned);
        let rows = ctx.loaders()?.load_one(TimeEntriesOf(self.key())).await.map_err(to_app)?;
        Ok(rows.unwrap_or_default().into_iter().map(|m| TimeEntry { m, access, me: me.clone() }).collect())
    }
    /// ADMIN and PLANNER in scope and designated approvers read every line;
    /// an assignee reads the lines they added.
    async fn cost_lines(&self, ctx: &Context<'_>) -> Option<Vec<CostLine>> {
        nullable(ctx, async {
            let principal = self.guard(ctx, "costLines")?;
            let rows = ctx.loaders()?.load_one(self.cost_lines_key(principal)?).await.map_err(to_app)?;
            Ok(Some(rows.unwrap_or_default().into_iter().map(CostLine).collect()))
        })
        .await
    }
    async fn parts(&self, ctx: &Context<'_>) -> Result<Vec<PartUsage>> {
        self.guard(ctx, "parts")?;
        let rows = ctx.loaders()?.load_one(PartsOf(self.key())).await.map_err(to_app)?;
        Ok(rows.unwrap_or_default().into_iter().map(PartUsage).collect())
    }
    async fn procedure(&self, ctx: &Context<'_>) -> Result<Vec<ProcedureStep>> {
        self.guard(ctx, "procedure")?;
        let rows = ctx.loaders()?.load_one(StepsOf(self.key())).await.map_err(to_app)?;
        Ok(rows.unwrap_or_default().into_iter().map(ProcedureStep).collect())
    }
    async fn approval_steps(&self, ctx: &Context<'_>) -> Result<Vec<ApprovalStep>> {
        self.guard(ctx, "approvalSteps")?;
        Ok(self.0.steps.iter().map(ApprovalStep::stored).collect())
    }
    /// ADMIN, and PLANNER in scope.
    async fn history(&self, ctx: &Context<'_>) -> Option<Vec<AuditEvent>> {
        nullable(ctx, async {
            let principal = self.guard(ctx, "history")?;
            policy::order::read_history(principal, &self.0.facts()).require()?;
            let rows = ctx.loaders()?.load_one(HistoryOf(self.key())).await.map_err(to_app)?;
            Ok(Some(rows.unwrap_or_default().into_iter().map(AuditEvent).collect()))
        })
        .await
    }
    /// The order's sends to its vendor, oldest first (the last is the
    /// current one): ADMIN, and PLANNER in scope.
    async fn sends(&self, ctx: &Context<'_>) -> Option<Vec<VendorSend>> {
        nullable(ctx, async {
            let principal = self.guard(ctx, "sends")?;
            policy::order::read_sends(principal, &self.0.facts()).require()?;
            let rows = ctx.loaders()?.load_one(SendsOf(self.key())).await.map_err(to_app)?;
            Ok(Some(rows.unwrap_or_default().into_iter().map(VendorSend).collect()))
        })
        .await
    }
    /// What the caller may do to this order now.
    async fn viewer_can(&self, ctx: &Context<'_>) -> Result<Brief<ViewerCan>> {
        let principal = self.guard(ctx, "viewerCan")?;
        let value = self
            .decided(principal, &Shape::of(ctx.field()))
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("a field asked of ViewerCan is not an action")))?;
        Ok(Brief::built(value))
    }
}

// The schema's declaration of the type: `Order.viewerCan` answers it
// through `graphql::answered`, deciding only the actions asked
// (`Order::decided`), so no value of it is built. Each field is an
// `Action` (`Action::of_field`).
/// For each action, whether the caller may perform it now.
#[derive(SimpleObject)]
pub struct ViewerCan {
    view: bool,
    edit_details: bool,
    approve: bool,
    reject: bool,
    resubmit: bool,
    assign: bool,
    start: bool,
    submit_for_review: bool,
    close_review: bool,
    request_rework: bool,
    send: bool,
    resend: bool,
    mark_fulfilled: bool,
    cancel: bool,
    archive: bool,
    unarchive: bool,
    override_vendor: bool,
    add_note: bool,
    add_internal_note: bool,
    log_work: bool,
    request_deletion: bool,
    delete: bool,
}

/// An asset, shared with the request's loaders.
pub struct Asset(pub Arc<assets::Model>);

impl From<assets::Model> for Asset {
    fn from(model: assets::Model) -> Self {
        Self(Arc::new(model))
    }
}

#[Object]
impl Asset {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn site(&self, ctx: &Context<'_>) -> Result<Site> {
        let site = ctx.loaders()?.load_one(SiteById(self.0.site_id.clone())).await.map_err(to_app)?;
        Ok(site.map(Site).ok_or_else(|| AppError::internal(anyhow::anyhow!("site of asset {} missing", self.0.id)))?)
    }
    async fn tags(&self) -> Result<Vec<String>> {
        Ok(crate::graphql::stored_list("assets.tags", &self.0.id, &self.0.tags)?)
    }
    /// Set while a SERVICE order matched by an `autoMaintenance` rule is
    /// under way on the asset.
    async fn in_maintenance(&self) -> bool {
        self.0.in_maintenance
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum NoteVisibility {
    Public,
    Internal,
}

pub struct Note(pub(crate) notes::Model);

#[Object]
impl Note {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn author(&self, ctx: &Context<'_>) -> Result<Brief<User>> {
        required_user(ctx, &self.0.author_id).await
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn visibility(&self) -> NoteVisibility {
        if self.0.visibility == "INTERNAL" { NoteVisibility::Internal } else { NoteVisibility::Public }
    }
    async fn created_at(&self) -> DateTime<Utc> {
        from_micros(self.0.created_at)
    }
}

async fn required_user(ctx: &Context<'_>, id: &str) -> Result<Brief<User>> {
    user(ctx, Some(id)).await?.ok_or_else(|| AppError::internal(anyhow::anyhow!("user {id} is missing")).into())
}

pub struct Attachment(pub(crate) attachments::Model);

#[Object]
impl Attachment {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn filename(&self) -> &str {
        &self.0.filename
    }
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    async fn size_bytes(&self) -> i32 {
        i32::try_from(self.0.size_bytes).unwrap_or(i32::MAX)
    }
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    async fn uploaded_by(&self, ctx: &Context<'_>) -> Result<Brief<User>> {
        required_user(ctx, &self.0.uploaded_by).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        from_micros(self.0.created_at)
    }
}

pub struct TimeEntry {
    pub(crate) m: time_entries::Model,
    pub(crate) access: CostAccess,
    pub(crate) me: Option<String>,
}

#[Object]
impl TimeEntry {
    pub async fn id(&self) -> ID {
        ID(self.m.id.clone())
    }
    async fn user(&self, ctx: &Context<'_>) -> Result<Brief<User>> {
        required_user(ctx, &self.m.user_id).await
    }
    async fn hours(&self) -> f64 {
        self.m.hours
    }
    async fn note(&self) -> Option<&str> {
        self.m.note.as_deref()
    }
    /// Guarded like `Order.costLines`: an assignee reads their own entries'.
    async fn cost(&self, ctx: &Context<'_>) -> Option<Money> {
        nullable(ctx, async {
            let readable = match self.access {
                CostAccess::All => true,
                CostAccess::Own => self.me.as_deref() == Some(self.m.user_id.as_str()),
                CostAccess::None => false,
            };
            if !readable {
                return Err(AppError::forbidden(policy::order::COSTS_DENIED).into());
            }
            Ok(self.m.cost_cents.map(Money))
        })
        .await
    }
    async fn logged_at(&self) -> DateTime<Utc> {
        from_micros(self.m.logged_at)
    }
}

pub struct CostLine(pub(crate) cost_lines::Model);

#[Object]
impl CostLine {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn category(&self) -> &str {
        &self.0.category
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn amount(&self) -> Money {
        Money(self.0.amount_cents)
    }
    async fn added_by(&self, ctx: &Context<'_>) -> Result<Brief<User>> {
        required_user(ctx, &self.0.added_by).await
    }
}

pub struct PartUsage(pub(crate) part_usages::Model);

#[Object]
impl PartUsage {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn part_number(&self) -> &str {
        &self.0.part_number
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn quantity(&self) -> f64 {
        self.0.quantity
    }
}

pub struct ProcedureStep(pub(crate) procedure_steps::Model);

#[Object]
impl ProcedureStep {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn position(&self) -> i32 {
        self.0.position
    }
    async fn text(&self) -> &str {
        &self.0.text
    }
    async fn done(&self) -> bool {
        self.0.done
    }
    async fn done_by(&self, ctx: &Context<'_>) -> Option<Brief<User>> {
        nullable(ctx, async { user(ctx, self.0.done_by.as_deref()).await }).await
    }
    async fn done_at(&self) -> Option<DateTime<Utc>> {
        self.0.done_at.map(from_micros)
    }
}

/// A recorded approval step, or (in a preview) one an order would get.
pub struct ApprovalStep {
    model: approval_steps::Model,
    approvers: Vec<String>,
}

impl ApprovalStep {
    /// A step as its order's record holds it.
    pub fn stored(step: &StepRecord) -> Self {
        Self { model: step.model.clone(), approvers: step.approvers.clone() }
    }

    /// A step not recorded anywhere: `position`, `source`, `approvers`.
    pub fn planned(position: i32, source: String, approvers: Vec<String>) -> Self {
        let model = approval_steps::Model {
            id: String::new(),
            order_id: String::new(),
            position,
            source,
            decision: None,
            decided_by: None,
            decided_at: None,
            reason: None,
        };
        Self { model, approvers }
    }
}

#[Object]
impl ApprovalStep {
    async fn position(&self) -> i32 {
        self.model.position
    }
    /// "intake", "rule:<name>" or "vendor:<name>".
    async fn source(&self) -> &str {
        &self.model.source
    }
    /// Guarded like `Vendor.approvers`: ADMIN and PLANNER.
    async fn approvers(&self, ctx: &Context<'_>) -> Option<Vec<Brief<User>>> {
        nullable(ctx, async {
            policy::read_procurement_config(ctx.principal()?).require()?;
            Ok(Some(User::by_ids(ctx, &self.approvers).await?))
        })
        .await
    }
    /// Null while pending, else APPROVED or REJECTED.
    async fn decision(&self) -> Option<&str> {
        self.model.decision.as_deref()
    }
    async fn decided_by(&self, ctx: &Context<'_>) -> Option<Brief<User>> {
        nullable(ctx, async { user(ctx, self.model.decided_by.as_deref()).await }).await
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.model.decided_at.map(from_micros)
    }
    async fn reason(&self) -> Option<&str> {
        self.model.reason.as_deref()
    }
}

pub struct AuditEvent(pub audit_events::Model);

#[Object]
impl AuditEvent {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn at(&self) -> DateTime<Utc> {
        from_micros(self.0.at)
    }
    async fn actor(&self, ctx: &Context<'_>) -> Option<Brief<User>> {
        nullable(ctx, async { user(ctx, self.0.actor_id.as_deref()).await }).await
    }
    /// The token's name, when a token acted.
    async fn via_token(&self) -> Option<&str> {
        self.0.token_name.as_deref()
    }
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn order_id(&self) -> Option<ID> {
        self.0.order_id.clone().map(ID)
    }
    /// JSON: `{ field: [before, after] }`.
    async fn changes(&self) -> &str {
        &self.0.changes
    }
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
}

#[derive(SimpleObject)]
pub struct PageInfo {
    has_next_page: bool,
    has_previous_page: bool,
    start_cursor: Option<Cursor>,
    end_cursor: Option<Cursor>,
}

#[derive(SimpleObject)]
pub struct OrderEdge {
    cursor: Cursor,
    node: Order,
}

impl OrderEdge {
    /// The edge as `shape` asks for it, when its order can be built
    /// ([`Order::built`]).
    fn built(&self, shape: &Shape<'_>, principal: &Principal, primed: &Primed) -> Option<Value> {
        answered::object::<Self>(shape, |field| match field.name() {
            "cursor" => Some(self.cursor.to_value()),
            "node" => self.node.built(field.shape(), principal, primed),
            _ => None,
        })
    }
}

/// A page of orders. `totalCount` runs its count only when asked for.
pub struct OrderConnection {
    edges: Vec<OrderEdge>,
    page_info: PageInfo,
    condition: Condition,
    primed: Primed,
}

#[Object]
impl OrderConnection {
    // Built at once when every order can be (`Order::built`: a dashboard's
    // page), else resolved field by field.
    async fn edges(&self, ctx: &Context<'_>) -> Result<Brief<&[OrderEdge]>> {
        let principal = ctx.principal()?;
        let shape = Shape::of(ctx.field());
        let built: Option<Vec<Value>> =
            self.edges.iter().map(|edge| edge.built(&shape, principal, &self.primed)).collect();
        Ok(match built {
            Some(edges) => Brief::built(Value::List(edges)),
            None => Brief::Whole(&self.edges),
        })
    }
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32> {
        let count = list::count(ctx.reads()?, self.condition.clone()).await?;
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }
}

/// Runs one page of the orders the caller may see that match `condition`
/// (of `statuses`, when it keeps only those).
pub async fn connection(
    ctx: &Context<'_>,
    condition: Condition,
    statuses: Option<&BTreeSet<&'static str>>,
    plan: Plan,
    sort: OrderSort,
    request: &PageRequest,
) -> Result<OrderConnection> {
    let db = ctx.reads()?;
    let principal = ctx.principal()?;
    let page = list::page(db, principal, condition.clone(), statuses, plan, sort, request).await?;
    let condition = visible_orders(principal).add(condition);
    let (cursors, models): (Vec<String>, Vec<_>) = page.rows.into_iter().unzip();
    let node = ctx.look_ahead().field("edges").field("node");
    // An order's tags are read only for a page that asks for them.
    let tags = if node.field("tags").exists() { Tags::Read } else { Tags::Unread };
    let records = record::load_for(db, principal, models, tags).await?;
    let edges: Vec<OrderEdge> = cursors
        .into_iter()
        .zip(records)
        .map(|(cursor, record)| OrderEdge { cursor: Cursor(cursor), node: Order(Arc::new(record)) })
        .collect();
    let nodes: Vec<&Order> = edges.iter().map(|e| &e.node).collect();
    let primed = prime(ctx, node, &nodes).await?;
    Ok(OrderConnection {
        page_info: PageInfo {
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
            start_cursor: edges.first().map(|e| e.cursor.clone()),
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        },
        edges,
        condition,
        primed,
    })
}

/// The sites, users and vendors that [`prime`] loaded, by id: what
/// [`Order::built`] reads (a page's orders look them up a few hundred
/// times).
#[derive(Default)]
struct Primed {
    users: ById<String, User>,
    sites: ById<String, Site>,
    vendors: ById<String, Vendor>,
}

/// Loads what the selection `node` asks of the orders, one batch per
/// relation, into the request's loader cache, where the nested resolvers
/// find it: a page costs the same statements whatever its size. (Left to
/// the loaders' batching window alone, a large page straggles over several
/// batches, and a user asked at two depths, say an order's owner and a
/// note's author, can be fetched twice, by two batches in flight at once.)
async fn prime(ctx: &Context<'_>, node: Lookahead<'_>, orders: &[&Order]) -> Result<Primed> {
    let wants = |field: &str| node.field(field).exists();
    let one_order = orders.len() == 1;
    let orders = || orders.iter().copied();
    let models = || orders().map(|o| &o.0.model);
    let (principal, loaders) = (ctx.principal()?, ctx.loaders()?);

    let mut users: Vec<UserById> = Vec::new();
    if wants("creator") {
        users.extend(models().map(|m| UserById(m.creator_id.clone())));
    }
    if wants("owner") {
        users.extend(models().map(|m| UserById(m.owner_id.clone())));
    }
    if wants("assignees") {
        users.extend(orders().flat_map(|o| o.0.assignee_ids.iter().cloned().map(UserById)));
    }
    let sites = keys(wants("site"), models().filter_map(|m| m.site_id.clone().map(SiteById)));
    let assets = keys(wants("asset"), models().filter_map(|m| m.asset_id.clone().map(AssetById)));
    let vendors = keys(wants("vendor"), models().filter_map(|m| m.vendor_id.clone().map(VendorById)));
    let scopes = keys(wants("scope"), models().filter_map(|m| m.scope_account_id.clone().map(AccountById)));
    let ids = |field: &str| if wants(field) { orders().map(Order::key).collect() } else { Vec::new() };
    let mut notes = keys(wants("notes"), orders().map(|o| o.notes_key(principal)));
    let mut cost_lines = keys(wants("costLines"), orders().filter_map(|o| o.cost_lines_key(principal).ok()));
    let (mut attachments, mut time_entries, mut actual_cost, mut parts, mut history) =
        (ids("attachments"), ids("timeEntries"), ids("actualCost"), ids("parts"), ids("history"));
    // One order's children of these kinds: read with what the orders name,
    // in one statement (`loaders::prime`), left out of the batches below.
    let children = if one_order {
        Children {
            notes: notes.pop(),
            cost_lines: cost_lines.pop(),
            time_entries: time_entries.pop().map(TimeEntriesOf),
            actual_cost: actual_cost.pop().map(ActualCostOf),
            history: history.pop().map(HistoryOf),
            attachments: attachments.pop().map(AttachmentsOf),
            parts: parts.pop().map(PartsOf),
        }
    } else {
        Children::default()
    };
    let named = Named { users, sites, assets, vendors, accounts: scopes };
    let (Found { users, sites, vendors }, ..) = futures::try_join!(
        async { loaders::prime(loaders, named, children).await.map_err(to_app) },
        batch(loaders, notes),
        batch(loaders, cost_lines),
        batch(loaders, attachments.into_iter().map(AttachmentsOf).collect()),
        batch(loaders, time_entries.into_iter().map(TimeEntriesOf).collect()),
        batch(loaders, actual_cost.into_iter().map(ActualCostOf).collect()),
        batch(loaders, parts.into_iter().map(PartsOf).collect()),
        batch(loaders, ids("procedure").into_iter().map(StepsOf).collect()),
        batch(loaders, history.into_iter().map(HistoryOf).collect()),
        batch(loaders, ids("sends").into_iter().map(SendsOf).collect()),
    )?;
    Ok(Primed {
        users: users.into_iter().map(|(UserById(id), user)| (id, User::from(user))).collect(),
        sites: sites.into_iter().map(|(SiteById(id), site)| (id, Site(site))).collect(),
        vendors: vendors.into_iter().map(|(VendorById(id), vendor)| (id, Vendor(vendor))).collect(),
    })
}

fn keys<K>(wanted: bool, keys: impl Iterator<Item = K>) -> Vec<K> {
    if wanted { keys.collect() } else { Vec::new() }
}

/// Loads `keys` as one batch (nothing when there are none), and leaves
/// what it found in the loaders' cache, where the resolvers of anything
/// not built whole look for it.
///
/// Straight from the loader, not through the `DataLoader`'s batching:
/// every key is in hand already, and the batching spawned a task per
/// relation that waited out the batching delay (a millisecond) and handed
/// its rows back across a channel, often from the other worker thread.
/// Keys in the cache already (a second page in the same request) are not
/// read again, as `load_many` would not; but two pages primed at the same
/// moment no longer share one statement per relation, as `load_many`'s
/// window let them: each reads its own.
async fn batch<K>(loaders: &Loaders, keys: Vec<K>) -> Result<HashMap<K, <Db as Loader<K>>::Value>, AppError>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    Db: Loader<K, Error = LoadError>,
{
    let (mut found, missing) = loaders::cached_and_missing(loaders, keys);
    if missing.is_empty() {
        return Ok(found);
    }
    let loaded = loaders.loader().load(&missing).await.map_err(to_app)?;
    loaders.feed_many(loaded.iter().map(|(key, value)| (key.clone(), value.clone()))).await;
    if found.is_empty() {
        return Ok(loaded);
    }
    found.extend(loaded);
    Ok(found)
}

/// The order `id` if the caller may see it. Anything else, whether it does
/// not exist, was deleted or is outside the caller's organization or scope,
/// is the same NOT_FOUND, after the same single query.
pub async fn visible_order(ctx: &Context<'_>, id: &str) -> Result<Order, AppError> {
    let record = record::load_visible(ctx.reads()?, ctx.principal()?, id).await?;
    Ok(Order(Arc::new(record.ok_or(AppError::NotFound)?)))
}

/// The contract's saved views (DOMAIN.md section 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum Queue {
    Approvals,
    Review,
    DeletionRequests,
    FailedSends,
    MyWork,
    MyRequests,
}

impl Queue {
    pub const ALL: [Self; 6] =
        [Self::Approvals, Self::Review, Self::DeletionRequests, Self::FailedSends, Self::MyWork, Self::MyRequests];

    /// Where it is in [`Self::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The orders `principal` sees in this queue (optionally at one site),
    /// as one SQL condition: the policy's visibility and the queue's
    /// contents. FORBIDDEN for API tokens: queues are for people.
    pub fn orders(self, principal: &Principal, site_id: Option<&str>) -> Result<Condition, AppError> {
        Ok(visible_orders(principal).add(self.contents(principal, site_id)?))
    }

    /// [`Self::orders`] without the visibility.
    fn contents(self, principal: &Principal, site_id: Option<&str>) -> Result<Condition, AppError> {
        let Some(me) = principal.user_id() else {
            return Err(AppError::forbidden("queues are for people; an API token has none"));
        };
        let contents = match self {
            Self::MyWork => policy::queues::my_work(me),
            Self::MyRequests => policy::queues::my_requests(me),
            Self::Review => policy::queues::review(principal),
            Self::DeletionRequests => policy::queues::deletion_requests(principal),
            Self::Approvals => policy::queues::approvals(principal),
            Self::FailedSends => policy::queues::failed_sends(principal),
        };
        let mut condition = Condition::all().add(contents);
        if let Some(site) = site_id {
            condition = condition.add(entity::orders::Column::SiteId.eq(site));
        }
        Ok(condition)
    }

    /// [`Self::orders`] for one order, from its facts (a snapshot) alone:
    /// whether `principal` sees it in this queue (at `site_id`).
    pub fn holds(self, principal: &Principal, site_id: Option<&str>, order: &Snapshot) -> bool {
        let Some(me) = principal.user_id() else { return false };
        let facts = order.facts();
        let contents = match self {
            Self::MyWork => policy::queues::holds::my_work(me, &facts),
            Self::MyRequests => policy::queues::holds::my_requests(me, &facts),
            Self::Review => policy::queues::holds::review(principal, &facts),
            Self::DeletionRequests => {
                policy::queues::holds::deletion_requests(principal, &facts, order.deletion_pending)
            }
            Self::Approvals => policy::queues::holds::approvals(principal, &facts),
            Self::FailedSends => policy::queues::holds::failed_sends(principal, &facts),
        };
        contents
            && site_id.is_none_or(|site| facts.site_id == Some(site))
            && policy::decide(principal, Action::View, &facts).allowed
    }

    fn sort(self) -> OrderSort {
        match self {
            Self::MyWork => OrderSort::PriorityDesc,
            Self::MyRequests => OrderSort::CreatedDesc,
            Self::Approvals => OrderSort::CreatedAsc,
            Self::Review | Self::DeletionRequests | Self::FailedSends => OrderSort::UpdatedDesc,
        }
    }

    /// Planned for its values at every request: most queues bind the
    /// caller's id (MY_REQUESTS, the orders they created or own: over
    /// 20,000 for the synthetic data's root ADMIN, a few hundred for
    /// others), and the rest bind values of their own beside statuses.
    fn plan(self) -> Plan {
        Plan::ForEachRequest
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Approvals => "APPROVALS",
            Self::Review => "REVIEW",
            Self::DeletionRequests => "DELETION_REQUESTS",
            Self::FailedSends => "FAILED_SENDS",
            Self::MyWork => "MY_WORK",
            Self::MyRequests => "MY_REQUESTS",
        }
    }
}

#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// One order; NOT_FOUND when it does not exist or is not visible.
    async fn order(&self, ctx: &Context<'_>, id: ID) -> Option<Order> {
        nullable(ctx, async {
            let order = visible_order(ctx, &id).await?;
            prime(ctx, ctx.look_ahead(), &[&order]).await?;
            Ok(Some(order))
        })
        .await
    }

    /// The orders the caller may see, filtered, sorted and paginated.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::limits::page_cost(first.or(last), child_complexity)")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        filter: Option<OrderFilter>,
        sort: Option<OrderSort>,
        first: Option<i32>,
        after: Option<Cursor>,
        last: Option<i32>,
        before: Option<Cursor>,
    ) -> Result<OrderConnection> {
        // Unauthenticated before any complaint about the filter.
        let principal = ctx.principal()?;
        let filter = filter.unwrap_or_default();
        for (filter_field, order_field) in filter.tests() {
            let decision = policy::order::filter_on(principal, order_field);
            if !decision.allowed {
                return Err(AppError::forbidden(format!("filter.{filter_field}: {}", decision.reason)).into());
            }
        }
        let condition = filter.condition()?;
        let request = PageRequest { first, after: after.map(|c| c.0), last, before: before.map(|c| c.0) };
        let statuses = filter.statuses();
        connection(ctx, condition, statuses.as_ref(), filter.plan(), sort.unwrap_or_default(), &request).await
    }

    /// A saved view (DOMAIN.md section 8), within what the caller may see.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, child_complexity)")]
    async fn queue(
        &self,
        ctx: &Context<'_>,
        queue: Queue,
        site_id: Option<ID>,
        first: Option<i32>,
        after: Option<Cursor>,
    ) -> Result<OrderConnection> {
        let principal = ctx.principal()?;
        let condition = queue.contents(principal, site_id.as_ref().map(|s| s.as_str()))?;
        let request = PageRequest { first, after: after.map(|c| c.0), last: None, before: None };
        connection(ctx, condition, None, queue.plan(), queue.sort(), &request).await
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::OutputType;
    use async_graphql::registry::{MetaType, Registry};

    use super::ViewerCan;
    use crate::policy::Action;

    /// `viewerCan` decides a field by its action's name: each field the
    /// schema declares is one action, and each action has its field.
    #[test]
    fn each_viewer_can_field_is_an_action() {
        let mut registry = Registry::default();
        ViewerCan::create_type_info(&mut registry);
        let Some(MetaType::Object { fields, .. }) = registry.types.get("ViewerCan") else {
            panic!("ViewerCan is not an object");
        };
        let actions: Vec<Action> =
            fields.keys().map(|field| Action::of_field(field).unwrap_or_else(|| panic!("no action {field}"))).collect();
        assert_eq!(actions, Action::ALL);
    }
}
