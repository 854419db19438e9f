//! Deletion (DOMAIN.md section 5): requests that PLANNER and ADMIN in scope
//! decide, and `deleteOrder`, which writes a tombstone. A deleted order
//! leaves every query; its audit history stays.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::{deletion_requests, orders};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;

use super::EventKind;
use super::input::{self, MAX_TEXT_CHARS};
use super::service::{self, Change};
use crate::audit::AuditActor;
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::graphql::loaders::UserById;
use crate::graphql::{ContextExt, nullable};
use crate::ids::IdKind;
use crate::orders::graphql::Order;
use crate::orders::model::SendState;
use crate::orders::record::{self, OrderRecord};
use crate::org::graphql::User;
use crate::policy::{self, Action, queues::visible_deletion_requests};
use crate::sending;
use crate::time::{from_micros, now_micros};

const PENDING: &str = "PENDING";

pub struct DeletionRequest {
    request: deletion_requests::Model,
    /// The order as the approval that deleted it left it, for that
    /// mutation's own answer. Otherwise the order is read as the caller
    /// sees it now.
    deleted_order: Option<Arc<OrderRecord>>,
}

impl From<deletion_requests::Model> for DeletionRequest {
    fn from(request: deletion_requests::Model) -> Self {
        Self { request, deleted_order: None }
    }
}

#[Object]
impl DeletionRequest {
    pub async fn id(&self) -> ID {
        ID(self.request.id.clone())
    }
    /// The order, while the caller sees it (requests are listed only then).
    async fn order(&self, ctx: &Context<'_>) -> Result<Order> {
        if let Some(order) = &self.deleted_order {
            return Ok(Order(order.clone()));
        }
        let order = record::load_visible(ctx.reads()?, ctx.principal()?, &self.request.order_id).await?;
        Ok(Order(Arc::new(order.ok_or(AppError::NotFound)?)))
    }
    async fn requested_by(&self, ctx: &Context<'_>) -> Result<User> {
        user(ctx, &self.request.requested_by).await?.ok_or_else(|| AppError::NotFound.into())
    }
    async fn reason(&self) -> &str {
        &self.request.reason
    }
    /// PENDING, APPROVED, DENIED or WITHDRAWN.
    async fn status(&self) -> &str {
        &self.request.status
    }
    async fn decided_by(&self, ctx: &Context<'_>) -> Option<User> {
        nullable(ctx, async {
            match &self.request.decided_by {
                Some(id) => user(ctx, id).await,
                None => Ok(None),
            }
        })
        .await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        from_micros(self.request.created_at)
    }
}

async fn user(ctx: &Context<'_>, id: &str) -> Result<Option<User>> {
    let loaded = ctx.loaders()?.load_one(UserById(id.to_owned())).await.map_err(crate::graphql::loaders::to_app)?;
    Ok(loaded.map(User::from))
}

/// A pending request the caller may see, with its order's facts.
async fn pending_request<C: ConnectionTrait>(
    conn: &C,
    principal: &Principal,
    id: &str,
) -> AppResult<(deletion_requests::Model, OrderRecord)> {
    let request = deletion_requests::Entity::find_by_id(id)
        .filter(visible_deletion_requests(principal))
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)?;
    if request.status != PENDING {
        return Err(AppError::InvalidTransition(format!("the request is already {}", request.status)));
    }
    let order = service::load_in(conn, principal, &request.order_id).await?;
    Ok((request, order))
}

/// Marks a pending request decided, if it still is (else CONFLICT).
async fn decide<C: ConnectionTrait>(
    conn: &C,
    principal: &Principal,
    request: &deletion_requests::Model,
    status: &str,
    reason: Option<String>,
) -> AppResult<()> {
    let updated = deletion_requests::Entity::update_many()
        .col_expr(deletion_requests::Column::Status, Expr::value(status))
        .col_expr(deletion_requests::Column::DecidedBy, Expr::value(principal.user_id().map(str::to_owned)))
        .col_expr(deletion_requests::Column::DecidedAt, Expr::value(Some(now_micros())))
        .col_expr(deletion_requests::Column::DecisionReason, Expr::value(reason))
        .filter(deletion_requests::Column::Id.eq(request.id.as_str()))
        .filter(deletion_requests::Column::Status.eq(PENDING))
        .exec(conn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(AppError::Conflict);
    }
    Ok(())
}

/// Tombstones the order and approves every pending request for it.
async fn tombstone<C: ConnectionTrait>(
    conn: &C,
    principal: &Principal,
    order: &OrderRecord,
    change: Change,
) -> AppResult<()> {
    let mut change = change.set(orders::Column::DeletedAt, now_micros(), "deleted", [json!(false), json!(true)]);
    // As a cancel: not while an attempt to send is under way (the claim
    // checks it again); a queued send is withdrawn.
    let queued = match order.facts().sending {
        Some(SendState::Sending) => {
            return Err(AppError::InvalidTransition(
                "the order is being sent to the vendor right now; try again once the send is over".into(),
            ));
        }
        Some(SendState::Queued) => {
            change = change.withdraw_send(SendState::Queued);
            true
        }
        None => false,
    };
    service::claim(conn, order, &change).await?;
    if queued {
        sending::queue::withdraw(conn, &order.model.id).await?;
    }
    service::release_asset(conn, order).await?;
    deletion_requests::Entity::update_many()
        .col_expr(deletion_requests::Column::Status, Expr::value("APPROVED"))
        .col_expr(deletion_requests::Column::DecidedBy, Expr::value(principal.user_id().map(str::to_owned)))
        .col_expr(deletion_requests::Column::DecidedAt, Expr::value(Some(now_micros())))
        .filter(deletion_requests::Column::OrderId.eq(order.model.id.as_str()))
        .filter(deletion_requests::Column::Status.eq(PENDING))
        .exec(conn)
        .await?;
    service::record(conn, AuditActor::Principal(principal), &order.model, change).await?;
    Ok(())
}

async fn reread<C: ConnectionTrait>(conn: &C, id: &str) -> AppResult<DeletionRequest> {
    Ok(deletion_requests::Entity::find_by_id(id).one(conn).await?.ok_or(AppError::NotFound)?.into())
}

#[derive(Default)]
pub struct DeletionQuery;

#[Object]
impl DeletionQuery {
    /// Deletion requests on orders the caller decides (PLANNER, ADMIN in
    /// scope), and the caller's own; newest first, optionally by status.
    async fn deletion_requests(&self, ctx: &Context<'_>, status: Option<String>) -> Result<Vec<DeletionRequest>> {
        let principal = ctx.principal()?;
        let mut query = deletion_requests::Entity::find().filter(visible_deletion_requests(principal));
        if let Some(status) = status {
            let status = status.trim().to_uppercase();
            if !["PENDING", "APPROVED", "DENIED", "WITHDRAWN"].contains(&status.as_str()) {
                return Err(AppError::bad_input("status", "one of PENDING, APPROVED, DENIED, WITHDRAWN").into());
            }
            query = query.filter(deletion_requests::Column::Status.eq(status));
        }
        let rows = query
            .order_by_desc(deletion_requests::Column::CreatedAt)
            .order_by_desc(deletion_requests::Column::Id)
            .all(ctx.reads()?)
            .await?;
        Ok(rows.into_iter().map(DeletionRequest::from).collect())
    }
}

#[derive(Default)]
pub struct DeletionMutation;

#[Object]
impl DeletionMutation {
    /// Asks PLANNER and ADMIN to delete an order: anyone who sees it, except
    /// read-only VIEWERs and tokens. One pending request per person and order.
    async fn request_deletion(&self, ctx: &Context<'_>, order_id: ID, reason: String) -> Result<DeletionRequest> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let reason = input::required("reason", &reason, MAX_TEXT_CHARS)?;
        let order = service::load(db, principal, &order_id).await?;
        service::check(principal, Action::RequestDeletion, &order, None)?;
        let me = principal.user_id().unwrap_or_default().to_owned();
        let txn = crate::db::write_txn(db).await?;
        service::touch(&txn, &order, Action::RequestDeletion).await?;
        let open = deletion_requests::Entity::find()
            .filter(deletion_requests::Column::OrderId.eq(order.model.id.as_str()))
            .filter(deletion_requests::Column::RequestedBy.eq(me.as_str()))
            .filter(deletion_requests::Column::Status.eq(PENDING))
            .one(&txn)
            .await?;
        if open.is_some() {
            return Err(AppError::bad_input("orderId", "you already asked to delete this order").into());
        }
        let request = deletion_requests::ActiveModel {
            id: Set(IdKind::DeletionRequest.new_id()),
            organization_id: Set(order.model.organization_id.clone()),
            order_id: Set(order.model.id.clone()),
            requested_by: Set(me),
            reason: Set(reason.clone()),
            status: Set(PENDING.to_owned()),
            decided_by: Set(None),
            decided_at: Set(None),
            decision_reason: Set(None),
            created_at: Set(now_micros()),
        }
        .insert(&txn)
        .await?;
        let change = Change::new(Action::RequestDeletion, EventKind::DeletionRequested)
            .note("deletionRequest", json!(request.id))
            .because(Some(reason));
        service::record(&txn, AuditActor::Principal(principal), &order.model, change).await?;
        txn.commit().await?;
        Ok(request.into())
    }

    /// The requester takes their pending request back.
    async fn withdraw_deletion_request(&self, ctx: &Context<'_>, id: ID) -> Result<DeletionRequest> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let txn = crate::db::write_txn(db).await?;
        let (request, order) = pending_request(&txn, principal, &id).await?;
        policy::order::withdraw_deletion_request(principal, &request.requested_by).require()?;
        decide(&txn, principal, &request, "WITHDRAWN", None).await?;
        let change = Change::new(Action::RequestDeletion, EventKind::Updated)
            .note("deletionRequest", json!({ "id": request.id, "status": [PENDING, "WITHDRAWN"] }));
        service::record(&txn, AuditActor::Principal(principal), &order.model, change).await?;
        txn.commit().await?;
        Ok(reread(db, &id).await?)
    }

    /// Approves a request: the order is deleted (a tombstone). PLANNER and
    /// ADMIN in scope; the requester never decides their own request.
    async fn approve_deletion(&self, ctx: &Context<'_>, id: ID) -> Result<DeletionRequest> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let (request, order) = pending_request(db, principal, &id).await?;
        policy::order::decide_deletion_request(principal, &order.facts(), &request.requested_by).require()?;
        let txn = crate::db::write_txn(db).await?;
        let change = Change::new(Action::Delete, EventKind::Deleted)
            .note("deletionRequest", json!(request.id))
            .because(Some(request.reason.clone()));
        // The order is claimed first, as by every change (so two decisions
        // on one order never wait on each other's rows), then its pending
        // requests approved. This one must be among them: a withdrawal or a
        // denial committed since it was read wins (CONFLICT, and the
        // tombstone is rolled back with the rest).
        tombstone(&txn, principal, &order, change).await?;
        if reread(&txn, &id).await?.request.status != "APPROVED" {
            return Err(AppError::Conflict.into());
        }
        txn.commit().await?;
        let deleted_order = Some(Arc::new(service::reload(db, &request.order_id).await?));
        Ok(DeletionRequest { deleted_order, ..reread(db, &id).await? })
    }

    /// Denies a request; the order stays.
    async fn deny_deletion(&self, ctx: &Context<'_>, id: ID, reason: Option<String>) -> Result<DeletionRequest> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let reason = input::optional("reason", reason.as_deref(), MAX_TEXT_CHARS)?;
        let txn = crate::db::write_txn(db).await?;
        let (request, order) = pending_request(&txn, principal, &id).await?;
        policy::order::decide_deletion_request(principal, &order.facts(), &request.requested_by).require()?;
        decide(&txn, principal, &request, "DENIED", reason.clone()).await?;
        let change = Change::new(Action::RequestDeletion, EventKind::Updated)
            .note("deletionRequest", json!({ "id": request.id, "status": [PENDING, "DENIED"] }))
            .because(reason);
        service::record(&txn, AuditActor::Principal(principal), &order.model, change).await?;
        txn.commit().await?;
        Ok(reread(db, &id).await?)
    }

    /// Deletes an order: ADMIN in scope (PLANNER where the account allows
    /// it). A tombstone: the order leaves every query; its history stays.
    async fn delete_order(&self, ctx: &Context<'_>, id: ID, reason: String) -> Result<bool> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let reason = input::required("reason", &reason, MAX_TEXT_CHARS)?;
        let order = service::load(db, principal, &id).await?;
        service::check(principal, Action::Delete, &order, None)?;
        let txn = crate::db::write_txn(db).await?;
        tombstone(&txn, principal, &order, Change::new(Action::Delete, EventKind::Deleted).because(Some(reason)))
            .await?;
        txn.commit().await?;
        Ok(true)
    }
}
