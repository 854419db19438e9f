//! The workflow's mutations (DOMAIN.md sections 4 and 5). Each is one
//! transaction through [`super::service`]: load, check, claim, write,
//! record, commit; then the order as it now is.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::{approval_step_approvers, approval_steps, order_assignees, order_tags, orders, users, vendors};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::EventKind;
use super::create::{EditedShape, StepChanges, edited_steps};
use super::input::{self, MAX_TEXT_CHARS, MAX_TITLE_CHARS};
use super::machine::Target;
use super::service::{self, Change};
use crate::audit::AuditActor;
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::graphql::ContextExt;
use crate::graphql::scalars::Money;
use crate::orders::graphql::Order;
use crate::orders::model::{OrderStatus, Priority};
use crate::orders::record::{OrderRecord, STEP_APPROVED};
use crate::org::input::Tag;
use crate::policy::admin;
use crate::policy::scope::sees_scope;
use crate::policy::{Action, vendor_filter::visible_vendors};
use crate::routing::load::load as load_routing;
use crate::routing::resolve::StepPlan;
use crate::sending::{self, Trigger};
use crate::time::{now_micros, to_micros};

/// Writes a transition makes besides the order row itself.
enum Also {
    Nothing,
    /// Decide the pending approval step.
    DecideStep {
        decision: &'static str,
        reason: Option<String>,
    },
    /// Start the approvals over (resubmission).
    ResetSteps,
    ReplaceAssignees(Vec<String>),
    /// An edit: the new tags, if given, and what it does to the approval
    /// steps (steps appended, undecided; approved ones asked again).
    Edit {
        tags: Option<Vec<String>>,
        steps: StepChanges,
    },
    /// Drop the old vendor's steps, decided or not (its decisions are in
    /// the history; a resubmission must not ask its approvers again); add
    /// the new vendor's, if it has one.
    ReplaceVendorStep(Option<StepPlan>),
}

/// The caller and the database, as every mutation needs them.
struct Cx<'a> {
    principal: &'a Principal,
    db: &'a DatabaseConnection,
    /// Wakes the send worker once a queued send is committed.
    send_wake: &'a Notify,
}

impl<'a> Cx<'a> {
    fn of(ctx: &'a Context<'_>) -> AppResult<Self> {
        let state = ctx.state()?;
        Ok(Self { principal: ctx.principal()?, db: &state.db, send_wake: &state.send_wake })
    }

    async fn load(&self, id: &str) -> AppResult<OrderRecord> {
        service::load(self.db, self.principal, id).await
    }

    /// Applies `change` (and `also`) to `order` in one transaction.
    async fn apply(&self, order: &OrderRecord, mut change: Change, also: Also) -> AppResult<Order> {
        let cancelled_send = match (change.status, order.facts().sending) {
            (Some(OrderStatus::Cancelled), Some(queued)) => {
                change = change.withdraw_send(queued);
                true
            }
            _ => false,
        };
        let send = change.send;
        let txn = crate::db::write_txn(self.db).await?;
        service::claim(&txn, order, &change).await?;
        if matches!(change.status, Some(OrderStatus::Closed | OrderStatus::Cancelled | OrderStatus::Rejected)) {
            service::release_asset(&txn, order).await?;
        }
        if cancelled_send {
            sending::queue::withdraw(&txn, &order.model.id).await?;
        }
        if let Some(trigger) = send {
            // As the change left it: an override sends to the new vendor.
            let changed = service::reload(&txn, &order.model.id).await?;
            let requested_by = (trigger != Trigger::Automatic).then(|| self.principal.user_id()).flatten();
            sending::queue::insert(&txn, &changed, trigger, requested_by).await?;
        }
        let now = now_micros();
        match also {
            Also::Nothing => {}
            Also::DecideStep { decision, reason } => {
                let step = approval_steps::Entity::find()
                    .filter(approval_steps::Column::OrderId.eq(order.model.id.as_str()))
                    .filter(approval_steps::Column::Decision.is_null())
                    .order_by_asc(approval_steps::Column::Position)
                    .one(&txn)
                    .await?
                    .ok_or_else(|| AppError::InvalidTransition("no approval step is pending".into()))?;
                let mut step: approval_steps::ActiveModel = step.into();
                step.decision = Set(Some(decision.to_owned()));
                step.decided_by = Set(self.principal.user_id().map(str::to_owned));
                step.decided_at = Set(Some(now));
                step.reason = Set(reason);
                step.update(&txn).await?;
            }
            Also::ResetSteps => {
                approval_steps::Entity::update_many()
                    .col_expr(approval_steps::Column::Decision, Expr::value(Option::<String>::None))
                    .col_expr(approval_steps::Column::DecidedBy, Expr::value(Option::<String>::None))
                    .col_expr(approval_steps::Column::DecidedAt, Expr::value(Option::<i64>::None))
                    .col_expr(approval_steps::Column::Reason, Expr::value(Option::<String>::None))
                    .filter(approval_steps::Column::OrderId.eq(order.model.id.as_str()))
                    .exec(&txn)
                    .await?;
            }
            Also::ReplaceAssignees(ids) => {
                order_assignees::Entity::delete_many()
                    .filter(order_assignees::Column::OrderId.eq(order.model.id.as_str()))
                    .exec(&txn)
                    .await?;
                for user_id in ids {
                    order_assignees::ActiveModel {
                        order_id: Set(order.model.id.clone()),
                        user_id: Set(user_id),
                        assigned_at: Set(now),
                    }
                    .insert(&txn)
                    .await?;
                }
            }
            Also::ReplaceVendorStep(step) => {
                let steps = approval_steps::Entity::find()
                    .filter(approval_steps::Column::OrderId.eq(order.model.id.as_str()))
                    .all(&txn)
                    .await?;
                let stale: Vec<String> =
                    steps.iter().filter(|s| s.source.starts_with(VENDOR_STEP)).map(|s| s.id.clone()).collect();
                approval_step_approvers::Entity::delete_many()
                    .filter(approval_step_approvers::Column::StepId.is_in(stale.clone()))
                    .exec(&txn)
                    .await?;
                approval_steps::Entity::delete_many()
                    .filter(approval_steps::Column::Id.is_in(stale))
                    .exec(&txn)
                    .await?;
                if let Some(step) = step {
                    let position = steps.iter().map(|s| s.position).max().unwrap_or(0) + 1;
                    service::add_approval_step(&txn, &order.model.id, position, &step.source, &step.approvers).await?;
                }
            }
            Also::Edit { tags, steps } => {
                if let Some(tags) = tags {
                    order_tags::Entity::delete_many()
                        .filter(order_tags::Column::OrderId.eq(order.model.id.as_str()))
                        .exec(&txn)
                        .await?;
                    for tag in tags {
                        order_tags::ActiveModel { order_id: Set(order.model.id.clone()), tag: Set(tag) }
                            .insert(&txn)
                            .await?;
                    }
                }
                let again: Vec<String> = steps.asked_again.into_iter().map(|(id, _)| id).collect();
                if !again.is_empty() {
                    approval_steps::Entity::update_many()
                        .col_expr(approval_steps::Column::Decision, Expr::value(Option::<String>::None))
                        .col_expr(approval_steps::Column::DecidedBy, Expr::value(Option::<String>::None))
                        .col_expr(approval_steps::Column::DecidedAt, Expr::value(Option::<i64>::None))
                        .col_expr(approval_steps::Column::Reason, Expr::value(Option::<String>::None))
                        .filter(approval_steps::Column::Id.is_in(again))
                        .exec(&txn)
                        .await?;
                }
                let last = order.steps.iter().map(|s| s.model.position).max().unwrap_or(0);
                for (position, step) in (last + 1..).zip(steps.added) {
                    service::add_approval_step(&txn, &order.model.id, position, &step.source, &step.approvers).await?;
                }
            }
        }
        let changed = service::record(&txn, AuditActor::Principal(self.principal), &order.model, change).await?;
        txn.commit().await?;
        if send.is_some() {
            self.send_wake.notify_one();
        }
        Ok(Order(Arc::new(changed)))
    }

    /// An admin's `send` or `resend`: queues a send of the order to its
    /// vendor; the order is SENT (or SEND_FAILED) once the worker is done.
    async fn queue_send(&self, id: &str, version: i32, action: Action, trigger: Trigger) -> AppResult<Order> {
        let order = self.load(id).await?;
        service::check(self.principal, action, &order, Some(version))?;
        self.apply(&order, Change::new(action, EventKind::Updated).queue_send(trigger), Also::Nothing).await
    }

    /// Queues the automatic send of an order that becomes OPEN, if its
    /// vendor takes one.
    async fn send_when_open(&self, order: &OrderRecord, vendor_id: Option<&str>, change: Change) -> AppResult<Change> {
        Ok(match sending::queue::automatic_vendor(self.db, order.kind, vendor_id).await? {
            Some(_) => change.queue_send(Trigger::Automatic),
            None => change,
        })
    }

    /// A status transition with nothing else to write.
    async fn step(&self, id: &str, version: Option<i32>, action: Action, reason: Option<String>) -> AppResult<Order> {
        let order = self.load(id).await?;
        let target = service::check(self.principal, action, &order, version)?;
        let change = match target {
            Target::To(status) => Change::new(action, EventKind::StatusChanged).to_status(order.status, status),
            Target::Same | Target::NextApprovalStep | Target::Sent => Change::new(action, EventKind::Updated),
        };
        self.apply(&order, change.because(reason), Also::Nothing).await
    }
}

/// An edited order that needs new approval steps: one waiting for
/// approval or rejected keeps its status (a resubmission asks them too);
/// one approved but not yet sent goes back to PENDING_APPROVAL (not while
/// a send is queued or under way); one sent cannot take the edit.
fn back_to_approval(order: &OrderRecord, change: Change, sources: &[&str]) -> AppResult<Change> {
    match (order.status, order.facts().sending) {
        (OrderStatus::PendingApproval | OrderStatus::Rejected, _) => Ok(change),
        (OrderStatus::Open | OrderStatus::SendFailed, Some(_)) => Err(AppError::InvalidTransition(
            "a send to the vendor is queued or under way; try again once it is over".into(),
        )),
        (OrderStatus::Open | OrderStatus::SendFailed, None) => {
            Ok(change.to_status(order.status, OrderStatus::PendingApproval).only_unsent())
        }
        (status, _) => Err(AppError::InvalidTransition(format!(
            "the change needs approval ({}), which a {} order cannot wait for; cancel it and order again",
            sources.join(", "),
            status.as_str()
        ))),
    }
}

/// The `source` prefix of a vendor's approval step.
const VENDOR_STEP: &str = "vendor:";

fn reason(field: &str, value: Option<&str>) -> AppResult<Option<String>> {
    input::optional(field, value, MAX_TEXT_CHARS)
}

fn required_reason(field: &str, value: &str) -> AppResult<String> {
    input::required(field, value, MAX_TEXT_CHARS)
}

/// Active users the caller's scope sees, by id, in the given order;
/// BAD_USER_INPUT naming the first that is not one.
async fn active_users(
    db: &DatabaseConnection,
    principal: &Principal,
    field: &str,
    ids: &[ID],
) -> AppResult<Vec<String>> {
    let given: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    let found: Vec<String> = users::Entity::find()
        .filter(admin::visible_users(principal))
        .filter(users::Column::Id.is_in(given.clone()))
        .filter(users::Column::Active.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    if let Some((i, _)) = given.iter().enumerate().find(|(_, id)| !found.contains(id)) {
        return Err(AppError::bad_input(format!("{field}[{i}]"), "no such active user in the organization"));
    }
    // Each once, in the order first given (an id given twice is one person).
    let mut wanted: Vec<String> = Vec::with_capacity(given.len());
    for id in given {
        if !wanted.contains(&id) {
            wanted.push(id);
        }
    }
    Ok(wanted)
}

fn json_ids(ids: &[String]) -> Value {
    Value::from(ids.to_vec())
}

/// The contract's `EditOrderInput`: only the given fields change.
#[derive(async_graphql::InputObject)]
pub struct EditOrderInput {
    title: Option<String>,
    description: Option<String>,
    priority: Option<Priority>,
    due_at: Option<DateTime<Utc>>,
    asset_id: Option<ID>,
    tags: Option<Vec<String>>,
    estimated_cost: Option<Money>,
}

#[derive(Default)]
pub struct WorkflowMutation;

#[Object]
impl WorkflowMutation {
    /// Changes an order's details. PLANNER, ADMIN, the owner; the creator
    /// until the order is approved.
    async fn edit_order(&self, ctx: &Context<'_>, id: ID, version: i32, input: EditOrderInput) -> Result<Order> {
        let cx = Cx::of(ctx)?;
        let order = cx.load(&id).await?;
        service::check(cx.principal, Action::EditDetails, &order, Some(version))?;
        let m = &order.model;
        let mut change = Change::new(Action::EditDetails, EventKind::Updated);
        if let Some(title) = &input.title {
            let title = input::required("input.title", title, MAX_TITLE_CHARS)?;
            change = change.set(orders::Column::Title, title.clone(), "title", [json!(m.title), json!(title)]);
        }
        if let Some(description) = &input.description {
            let text = input::optional("input.description", Some(description), MAX_TEXT_CHARS)?;
            change = change.set(
                orders::Column::Description,
                Expr::value(text.clone()),
                "description",
                [json!(m.description), json!(text)],
            );
        }
        if let Some(priority) = input.priority {
            let before = Priority::from_rank(m.priority).map(Priority::as_str);
            change = change.set(
                orders::Column::Priority,
                priority.rank(),
                "priority",
                [json!(before), json!(priority.as_str())],
            );
        }
        if let Some(due) = input.due_at {
            change =
                change.set(orders::Column::DueAt, to_micros(due), "dueAt", [json!(m.due_at), json!(to_micros(due))]);
        }
        if let Some(cost) = input.estimated_cost {
            let cents = input::not_negative("input.estimatedCost", cost.0)?;
            change = change.set(
                orders::Column::EstimatedCostCents,
                cents,
                "estimatedCost",
                [json!(m.estimated_cost_cents), json!(cents)],
            );
        }
        if let Some(asset_id) = &input.asset_id {
            let asset =
                super::create::asset_at(cx.db, cx.principal, "input.assetId", asset_id, m.site_id.as_deref()).await?;
            change =
                change.set(orders::Column::AssetId, asset.id.clone(), "assetId", [json!(m.asset_id), json!(asset.id)]);
        }
        let tags = match &input.tags {
            Some(tags) => {
                let tags: Vec<String> =
                    Tag::parse_all("input.tags", tags)?.iter().map(|t| t.as_str().to_owned()).collect();
                change = change.note("tags", json!([order.tags()?, tags]));
                Some(tags)
            }
            None => None,
        };
        if change.changes.is_empty() {
            return Err(AppError::bad_input("input", "give at least one field to change").into());
        }
        // What the approval rules see changed: steps it now needs, and
        // approvals of a smaller cost.
        let steps = if input.estimated_cost.is_some() || input.tags.is_some() || input.asset_id.is_some() {
            let edited = EditedShape {
                tags: match tags.as_deref() {
                    Some(edited) => edited,
                    None => order.tags()?,
                },
                asset_id: input.asset_id.as_ref().map(|id| id.as_str()).or(m.asset_id.as_deref()),
                estimated_cost_cents: input.estimated_cost.map(|c| c.0).or(m.estimated_cost_cents),
            };
            edited_steps(cx.db, &order, edited).await?
        } else {
            StepChanges::default()
        };
        if !steps.is_empty() {
            let added: Vec<&str> = steps.added.iter().map(|s| s.source.as_str()).collect();
            let again: Vec<&str> = steps.asked_again.iter().map(|(_, source)| source.as_str()).collect();
            change = change.note("approvalSteps", json!({ "added": added, "askedAgain": again }));
            change = back_to_approval(&order, change, &steps.sources())?;
        }
        Ok(cx.apply(&order, change, Also::Edit { tags, steps }).await?)
    }

    /// Approves the pending approval step: the next step, or OPEN after the
    /// last. Intake: APPROVER, PLANNER, ADMIN in scope; spend steps: their
    /// designated approvers. Never the creator.
    async fn approve(&self, ctx: &Context<'_>, id: ID, version: i32, reason: Option<String>) -> Result<Order> {
        let cx = Cx::of(ctx)?;
        let order = cx.load(&id).await?;
        service::check(cx.principal, Action::Approve, &order, Some(version))?;
        let undecided = approval_steps::Entity::find()
            .filter(approval_steps::Column::OrderId.eq(order.model.id.as_str()))
            .filter(approval_steps::Column::Decision.is_null())
            .all(cx.db)
            .await?
            .len();
        let reason = self::reason("reason", reason.as_deref())?;
        let change = if undecided <= 1 {
            let change =
                Change::new(Action::Approve, EventKind::StatusChanged).to_status(order.status, OrderStatus::Open);
            cx.send_when_open(&order, order.model.vendor_id.as_deref(), change).await?
        } else {
            Change::new(Action::Approve, EventKind::ApprovalRecorded).note("approvalStep", json!(STEP_APPROVED))
        };
        Ok(cx
            .apply(&order, change.because(reason.clone()), Also::DecideStep { decision: STEP_APPROVED, reason })
            .await?)
    }

    /// Rejects the pending approval step; the order is REJECTED.
    async fn reject(&self, ctx: &Context<'_>, id: ID, version: i32, reason: String) -> Result<Order> {
        let cx = Cx::of(ctx)?;
        let reason = required_reason("reason", &reason)?;
        let order = cx.load(&id).await?;
        service::check(cx.principal, Action::Reject, &order, Some(version))?;
        let change = Change::new(Action::Reject, EventKind::StatusChanged)
            .to_status(order.status, OrderStatus::Rejected)
            .because(Some(reason.clone()));
        Ok(cx.apply(&order, change, Also::DecideStep { decision: "REJECTED", reason: Some(reason) }).await?)
    }

    /// Sends a rejected order back for approval; every step starts over. An
    /// order left with no step (the rejecting vendor's step went with an
    /// override to a vendor that needs none) opens instead.
    async fn resubmit(&self, ctx: &Context<'_>, id: ID, version: i32) -> Result<Order> {
        let cx = Cx::of(ctx)?;
        let order = cx.load(&id).await?;
        service::check(cx.principal, Action::Resubmit, &order, Some(version))?;
        let change = Change::new(Action::Resubmit, EventKind::StatusChanged);
        let change = if order.steps.is_empty() {
            let change = change.to_status(order.status, OrderStatus::Open);
            cx.send_when_open(&order, order.model.vendor_id.as_deref(), change).await?
        } else {
            change.to_status(order.status, OrderStatus::PendingApproval)
        };
        Ok(cx.apply(&order, change, Also::ResetSteps).await?)
    }

    /// Sets the assignees: active users of the organization (workers without
    /// a login included). PLANNER, ADMIN, the owner; an assignee may reassign.
    async fn assign(&self, ctx: &Context<'_>, id: ID, version: i32, assignee_ids: Vec<ID>) -> Result<Order> {
        let cx = Cx::of(ctx)?;
        let order = cx.load(&id).await?;
        service::check(cx.principal, Action::Assign, &order, Some(version))?;
        let assignees = active_users(cx.db, cx.principal, "assigneeIds", &assignee_ids).await?;
        let change = Change::new(Action::Assign, EventKind::Assigned)
            .note("assignees", json!([json_ids(&order.assignee_ids), json_ids(&assignees)]));
        Ok(cx.apply(&order, change, Also::ReplaceAssignees(assignees)).await?)
    }

    /// An assignee starts the work.
    async fn start(&self, ctx: &Context<'_>, id: ID, version: i32) -> Result<Order> {
        Ok(Cx::of(ctx)?.step(&id, Some(version), Action::Start, None).await?)
    }

    /// An assignee submits the resolution for review.
    async fn submit_for_review(&self, ctx: &Context<'_>, id: ID, version: i32, resolution: String) -> Result<Order> {
        let cx = Cx::of(ctx)?;
        let resolution = input::required("resolution", &resolution, MAX_TEXT_CHARS)?;
        let order = cx.load(&id).await?;
        service::check(cx.principal, Action::SubmitForReview, &order, Some(version))?;
        let change = Change::new(Action::SubmitForReview, EventKind::StatusChanged)
            .to_status(order.status, OrderStatus::PendingReview)
            .set(
                orders::Column::Resolution,
                resolution.clone(),
                "resolution",
                [json!(order.model.resolution), json!(resolution)],
            );
        Ok(cx.apply(&order, change, Also::Nothing).await?)
    }

    /// Passes the review: CLOSED. Never an assignee or anyone who logged work.
    async fn close_review(&self, ctx: &Context<'_>, id: ID, version: i32, comment: Option<String>) -> Result<Order> {
        let cx = Cx::of(ctx)?;
        let comment = reason("comment", comment.as_deref())?;
        Ok(cx.step(&id, Some(version), Action::CloseReview, comment).await?)
    }

    /// Sends the work back: ACTION_NEEDED, with the reason.
    async fn request_rework(&self, ctx: &Context<'_>, id: ID, version: i32, reason: String) -> Result<Order> {
        let cx = Cx::of(ctx)?;
        let reason = required_reason("reason", &reason)?;
        Ok(cx.step(&id, Some(version), Action::RequestRework, Some(reason)).await?)
    }

    /// Sends an OPEN vendor order to its vendor's contact emails: ADMIN
    /// (for vendors that require a manual send, or to send again what was
    /// not sent automatically). The send is queued and the order returned
    /// with `sends` showing it; the order becomes SENT, or SEND_FAILED after
    /// the last attempt, when the mail server has answered.
    async fn send(&self, ctx: &Context<'_>, id: ID, version: i32) -> Result<Order> {
        Ok(Cx::of(ctx)?.queue_send(&id, version, Action::Send, Trigger::Send).await?)
    }

    /// Sends a SEND_FAILED vendor order again: ADMIN. As `send`.
    async fn resend(&self, ctx: &Context<'_>, id: ID, version: i32) -> Result<Order> {
        Ok(Cx::of(ctx)?.queue_send(&id, version, Action::Resend, Trigger::Resend).await?)
    }

    /// Confirms a sent vendor order was fulfilled: CLOSED.
    async fn mark_fulfilled(&self, ctx: &Context<'_>, id: ID, version: i32) -> Result<Order> {
        Ok(Cx::of(ctx)?.step(&id, Some(version), Action::MarkFulfilled, None).await?)
    }

    /// Withdraws the order: the creator or owner before work starts or it is
    /// sent; ADMIN in scope any time before it is closed.
    async fn cancel(&self, ctx: &Context<'_>, id: ID, version: i32, reason: Option<String>) -> Result<Order> {
        let cx = Cx::of(ctx)?;
        let reason = self::reason("reason", reason.as_deref())?;
        Ok(cx.step(&id, Some(version), Action::Cancel, reason).await?)
    }

    /// Sends a vendor order to another vendor before it is sent: ADMIN;
    /// PLANNER in scope and the owner where the account allows it. The new
    /// vendor's approval step replaces the old one's, decided or not; an
    /// order that now waits on an approval goes back to PENDING_APPROVAL.
    async fn override_vendor(&self, ctx: &Context<'_>, id: ID, version: i32, vendor_id: ID) -> Result<Order> {
        let cx = Cx::of(ctx)?;
        let order = cx.load(&id).await?;
        service::check(cx.principal, Action::OverrideVendor, &order, Some(version))?;
        let vendor = vendors::Entity::find()
            .filter(visible_vendors(cx.principal))
            .filter(vendors::Column::Id.eq(vendor_id.as_str()))
            .one(cx.db)
            .await?
            .ok_or_else(|| AppError::bad_input("vendorId", "no such vendor"))?;
        if !sees_scope(order.model.scope_account_id.as_deref(), vendor.scope_account_id.as_deref()) {
            return Err(AppError::bad_input("vendorId", "the vendor is outside the order's scope").into());
        }
        if !vendor.enabled {
            return Err(AppError::bad_input("vendorId", "the vendor is disabled").into());
        }
        let routing = load_routing(cx.db, &order.model.organization_id).await?;
        let step = routing
            .vendors
            .iter()
            .find(|v| v.id == vendor.id && v.requires_approval)
            .map(|v| StepPlan { source: format!("{VENDOR_STEP}{}", v.name), approvers: v.approvers.clone() });
        let undecided = approval_steps::Entity::find()
            .filter(approval_steps::Column::OrderId.eq(order.model.id.as_str()))
            .filter(approval_steps::Column::Decision.is_null())
            .all(cx.db)
            .await?;
        let waiting = undecided.iter().any(|s| !s.source.starts_with(VENDOR_STEP)) || step.is_some();
        let mut change = Change::new(Action::OverrideVendor, EventKind::Updated).set(
            orders::Column::VendorId,
            vendor.id.clone(),
            "vendorId",
            [json!(order.model.vendor_id), json!(vendor.id)],
        );
        match order.status {
            OrderStatus::Open | OrderStatus::SendFailed if waiting => {
                change = change.to_status(order.status, OrderStatus::PendingApproval);
            }
            OrderStatus::PendingApproval if !waiting => {
                change = change.to_status(order.status, OrderStatus::Open);
                change = cx.send_when_open(&order, Some(&vendor.id), change).await?;
            }
            _ => {}
        }
        Ok(cx.apply(&order, change, Also::ReplaceVendorStep(step)).await?)
    }

    /// Archives a closed, cancelled or rejected order (PLANNER, ADMIN).
    async fn archive(&self, ctx: &Context<'_>, id: ID) -> Result<Order> {
        let cx = Cx::of(ctx)?;
        let order = cx.load(&id).await?;
        service::check(cx.principal, Action::Archive, &order, None)?;
        let change = Change::new(Action::Archive, EventKind::Archived).set(
            orders::Column::Archived,
            true,
            "archived",
            [json!(false), json!(true)],
        );
        Ok(cx.apply(&order, change, Also::Nothing).await?)
    }

    /// Brings an archived order back (PLANNER, ADMIN).
    async fn unarchive(&self, ctx: &Context<'_>, id: ID) -> Result<Order> {
        let cx = Cx::of(ctx)?;
        let order = cx.load(&id).await?;
        service::check(cx.principal, Action::Unarchive, &order, None)?;
        let change = Change::new(Action::Unarchive, EventKind::Unarchived).set(
            orders::Column::Archived,
            false,
            "archived",
            [json!(true), json!(false)],
        );
        Ok(cx.apply(&order, change, Also::Nothing).await?)
    }
}
