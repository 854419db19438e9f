//! Vendors and rules over GraphQL: the `vendors` and `rules` queries and
//! their management mutations. Each mutation loads what it refers to within
//! the caller's organization and scope (anything else is "no such ..." on
//! that field), asks `policy::procurement`, validates, and writes the change
//! with its audit event in one transaction.

use async_graphql::{Context, ID, MaybeUndefined, Object, Result};
use entity::{rule_assignments, rules, users, vendors};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::graphql::Vendor;
use super::input::{RuleInput, VENDOR_KINDS, VendorInput};
use super::rules::Rule;
use super::service;
use crate::audit::AuditActor;
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::graphql::ContextExt;
use crate::orders::model::OrderKind;
use crate::policy::vendor_filter::visible_vendors;
use crate::policy::{self, procurement, scope::scope_visible};

fn no_such(field: &str, what: &str) -> AppError {
    AppError::bad_input(field, format!("no such {what}"))
}

const AUTO_RULE_READ_ONLY: &str =
    "this rule is generated from its vendor's conditions and is read-only; change the vendor's conditions instead";

async fn vendor_in_scope(
    db: &DatabaseConnection,
    principal: &Principal,
    field: &str,
    id: &str,
) -> AppResult<vendors::Model> {
    vendors::Entity::find()
        .filter(visible_vendors(principal))
        .filter(vendors::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| no_such(field, "vendor"))
}

/// A rule of the caller's organization in its visible scope (whether the
/// caller may change it is the policy's question, asked next).
async fn rule_in_scope(
    db: &DatabaseConnection,
    principal: &Principal,
    field: &str,
    id: &str,
) -> AppResult<rules::Model> {
    rules::Entity::find_by_id(id)
        .filter(rules::Column::OrganizationId.eq(principal.organization_id.as_str()))
        .one(db)
        .await?
        .filter(|r| scope_visible(principal, r.scope_account_id.as_deref()))
        .ok_or_else(|| no_such(field, "rule"))
}

/// The scope an input names: `None` for organization-wide; a child account
/// of the organization that the caller sees (the root account is no scope).
async fn scope_account(db: &DatabaseConnection, principal: &Principal, id: Option<&ID>) -> AppResult<Option<String>> {
    const FIELD: &str = "input.scopeAccountId";
    let Some(id) = id else { return Ok(None) };
    let account = crate::org::read::account(db, &principal.organization_id, id)
        .await?
        .filter(|a| policy::account_visible(principal, &a.id, a.parent_id.is_none()).allowed)
        .ok_or_else(|| no_such(FIELD, "account"))?;
    if account.parent_id.is_none() {
        return Err(AppError::bad_input(
            FIELD,
            "the root account is not a scope; leave scopeAccountId out (or null) for an organization-wide object",
        ));
    }
    Ok(Some(account.id))
}

/// The scope after an update: omitted keeps `current`, `null` clears it.
async fn new_scope(
    db: &DatabaseConnection,
    principal: &Principal,
    input: &MaybeUndefined<ID>,
    current: Option<&str>,
) -> AppResult<Option<String>> {
    match input {
        MaybeUndefined::Undefined => Ok(current.map(str::to_owned)),
        MaybeUndefined::Null => Ok(None),
        MaybeUndefined::Value(id) => scope_account(db, principal, Some(id)).await,
    }
}

/// Designated approvers must be active users of the organization.
async fn check_approvers(db: &DatabaseConnection, principal: &Principal, ids: &[String]) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let found: Vec<String> = users::Entity::find()
        .filter(users::Column::OrganizationId.eq(principal.organization_id.as_str()))
        .filter(users::Column::Active.eq(true))
        .filter(users::Column::Id.is_in(ids.iter().map(String::as_str)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    match ids.iter().position(|id| !found.contains(id)) {
        Some(i) => {
            Err(AppError::bad_input(format!("input.approverIds[{i}]"), "no such active user in the organization"))
        }
        None => Ok(()),
    }
}

/// A rule that may be changed: not auto-generated, and the caller manages
/// its scope.
fn editable(principal: &Principal, rule: &rules::Model, field: &str) -> AppResult<()> {
    procurement::manage(principal, rule.scope_account_id.as_deref()).require()?;
    if rule.auto_generated {
        return Err(AppError::bad_input(field, AUTO_RULE_READ_ONLY));
    }
    Ok(())
}

#[derive(Default)]
pub struct VendorQuery;

#[Object]
impl VendorQuery {
    /// The vendors the caller sees (DOMAIN.md section 1), by name; disabled
    /// ones only when asked. Tokens need `vendors:read`.
    async fn vendors(&self, ctx: &Context<'_>, include_disabled: Option<bool>) -> Result<Vec<Vendor>> {
        let (principal, db) = (ctx.principal()?, ctx.reads()?);
        let mut query = vendors::Entity::find().filter(visible_vendors(principal));
        if !include_disabled.unwrap_or(false) {
            query = query.filter(vendors::Column::Enabled.eq(true));
        }
        let rows = query
            .order_by_asc(vendors::Column::Name)
            .order_by_asc(vendors::Column::Id)
            .all(db)
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(Vendor::from).collect())
    }

    /// The rules the caller sees, by approval position and name. ADMIN and
    /// PLANNER; anyone else is FORBIDDEN.
    async fn rules(&self, ctx: &Context<'_>) -> Result<Vec<Rule>> {
        let (principal, db) = (ctx.principal()?, ctx.reads()?);
        procurement::read_rules(principal).require()?;
        let rows = rules::Entity::find()
            .filter(procurement::visible_rules(principal))
            .order_by_asc(rules::Column::ApprovalPosition)
            .order_by_asc(rules::Column::Name)
            .order_by_asc(rules::Column::Id)
            .all(db)
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(Rule).collect())
    }
}

#[derive(Default)]
pub struct VendorMutation;

#[Object]
impl VendorMutation {
    /// ADMIN over `scopeAccountId`; ADMIN of the root account for an
    /// organization-wide vendor. Its conditions become an auto-generated
    /// rule.
    async fn create_vendor(&self, ctx: &Context<'_>, input: VendorInput) -> Result<Vendor> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let scope = scope_account(db, principal, input.scope_account_id.value()).await?;
        procurement::manage(principal, scope.as_deref()).require()?;
        let spec = input.parse()?;
        check_approvers(db, principal, &spec.approver_ids).await?;
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        vendor_name_free(&txn, &principal.organization_id, &spec.name, None).await?;
        let vendor =
            service::create_vendor(&txn, AuditActor::Principal(principal), &principal.organization_id, scope, spec)
                .await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(Vendor::from(vendor))
    }

    /// Replaces the vendor's configuration (see `VendorInput`). The caller
    /// manages both the vendor's current scope and the new one.
    async fn update_vendor(&self, ctx: &Context<'_>, id: ID, input: VendorInput) -> Result<Vendor> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let current = vendor_in_scope(db, principal, "id", &id).await?;
        procurement::manage(principal, current.scope_account_id.as_deref()).require()?;
        let scope = new_scope(db, principal, &input.scope_account_id, current.scope_account_id.as_deref()).await?;
        procurement::manage(principal, scope.as_deref()).require()?;
        let spec = input.parse()?;
        check_approvers(db, principal, &spec.approver_ids).await?;
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        vendor_name_free(&txn, &principal.organization_id, &spec.name, Some(&current.id)).await?;
        let vendor = service::update_vendor(&txn, AuditActor::Principal(principal), current, scope, spec).await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(Vendor::from(vendor))
    }

    /// A disabled vendor is kept but never selected automatically.
    async fn set_vendor_enabled(&self, ctx: &Context<'_>, id: ID, enabled: bool) -> Result<Vendor> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let current = vendor_in_scope(db, principal, "id", &id).await?;
        procurement::manage(principal, current.scope_account_id.as_deref()).require()?;
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        let vendor = service::set_vendor_enabled(&txn, AuditActor::Principal(principal), current, enabled).await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(Vendor::from(vendor))
    }

    /// Only while no order references the vendor (INVALID_TRANSITION
    /// otherwise: disable it instead).
    async fn delete_vendor(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let current = vendor_in_scope(db, principal, "id", &id).await?;
        procurement::manage(principal, current.scope_account_id.as_deref()).require()?;
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        service::delete_vendor(&txn, AuditActor::Principal(principal), current).await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(true)
    }

    /// ADMIN over `scopeAccountId`; ADMIN of the root account for an
    /// organization-wide rule.
    async fn create_rule(&self, ctx: &Context<'_>, input: RuleInput) -> Result<Rule> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let scope = scope_account(db, principal, input.scope_account_id.value()).await?;
        procurement::manage(principal, scope.as_deref()).require()?;
        let spec = input.parse()?;
        check_approvers(db, principal, &spec.approver_ids).await?;
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        rule_name_free(&txn, &principal.organization_id, &spec.name, None).await?;
        let rule =
            service::create_rule(&txn, AuditActor::Principal(principal), &principal.organization_id, scope, spec)
                .await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(Rule(rule))
    }

    /// Replaces the rule's configuration; assignments for kinds it no
    /// longer covers go. Auto-generated rules are read-only.
    async fn update_rule(&self, ctx: &Context<'_>, id: ID, input: RuleInput) -> Result<Rule> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let current = rule_in_scope(db, principal, "id", &id).await?;
        editable(principal, &current, "id")?;
        let scope = new_scope(db, principal, &input.scope_account_id, current.scope_account_id.as_deref()).await?;
        procurement::manage(principal, scope.as_deref()).require()?;
        let spec = input.parse()?;
        check_approvers(db, principal, &spec.approver_ids).await?;
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        rule_name_free(&txn, &principal.organization_id, &spec.name, Some(&current.id)).await?;
        let rule = service::update_rule(&txn, AuditActor::Principal(principal), current, scope, spec).await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(Rule(rule))
    }

    /// Deletes the rule with its assignments and approvers. Auto-generated
    /// rules are read-only.
    async fn delete_rule(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let current = rule_in_scope(db, principal, "id", &id).await?;
        editable(principal, &current, "id")?;
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        service::delete_rule(&txn, AuditActor::Principal(principal), current).await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(true)
    }

    /// Routes `kind` orders matching the rule to the vendor at `priority`
    /// (adds the assignment or changes its priority). The vendor must be
    /// visible and in a scope compatible with the rule's; the kind a vendor
    /// kind the rule covers.
    async fn assign_rule(
        &self,
        ctx: &Context<'_>,
        rule_id: ID,
        vendor_id: ID,
        kind: OrderKind,
        priority: i32,
    ) -> Result<Rule> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let rule = rule_in_scope(db, principal, "ruleId", &rule_id).await?;
        editable(principal, &rule, "ruleId")?;
        let vendor = vendor_in_scope(db, principal, "vendorId", &vendor_id).await?;
        let fits =
            procurement::assignment_compatible(rule.scope_account_id.as_deref(), vendor.scope_account_id.as_deref());
        if !fits.allowed {
            return Err(AppError::bad_input("vendorId", fits.reason).into());
        }
        if !VENDOR_KINDS.contains(&kind) {
            return Err(AppError::bad_input("kind", "work orders are not routed to vendors").into());
        }
        let covered = serde_json::from_str::<Vec<String>>(&rule.kinds).unwrap_or_default();
        if !covered.iter().any(|k| k == kind.as_str()) {
            return Err(AppError::bad_input("kind", "the rule does not apply to this order kind").into());
        }
        if priority < 0 {
            return Err(AppError::bad_input("priority", "must be zero or more").into());
        }
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        // Two vendors of one rule at one priority for one kind would leave
        // resolution to their ids: refused.
        let taken = rule_assignments::Entity::find()
            .filter(rule_assignments::Column::RuleId.eq(rule.id.as_str()))
            .filter(rule_assignments::Column::Kind.eq(kind.as_str()))
            .filter(rule_assignments::Column::Priority.eq(priority))
            .filter(rule_assignments::Column::VendorId.ne(vendor.id.as_str()))
            .one(&txn)
            .await
            .map_err(AppError::from)?;
        if taken.is_some() {
            return Err(AppError::bad_input(
                "priority",
                "another vendor of this rule already has this priority for this kind",
            )
            .into());
        }
        service::assign_rule(&txn, AuditActor::Principal(principal), &rule, &vendor.id, kind, priority).await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(Rule(rule))
    }

    /// Removes the (rule, vendor, kind) assignment, if there is one.
    async fn unassign_rule(&self, ctx: &Context<'_>, rule_id: ID, vendor_id: ID, kind: OrderKind) -> Result<Rule> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let rule = rule_in_scope(db, principal, "ruleId", &rule_id).await?;
        editable(principal, &rule, "ruleId")?;
        let vendor = vendor_in_scope(db, principal, "vendorId", &vendor_id).await?;
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        service::unassign_rule(&txn, AuditActor::Principal(principal), &rule, &vendor.id, kind).await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(Rule(rule))
    }
}

/// BAD_USER_INPUT on `input.name` when another vendor of the organization
/// (not deleted) has this name, whatever its case.
async fn vendor_name_free<C: ConnectionTrait>(
    conn: &C,
    organization_id: &str,
    name: &str,
    except: Option<&str>,
) -> AppResult<()> {
    let mut query = vendors::Entity::find()
        .filter(vendors::Column::OrganizationId.eq(organization_id))
        .filter(vendors::Column::DeletedAt.is_null())
        .filter(ExprTrait::eq(Expr::expr(Func::lower(Expr::col(vendors::Column::Name))), name.to_lowercase()));
    if let Some(id) = except {
        query = query.filter(vendors::Column::Id.ne(id));
    }
    match query.one(conn).await? {
        Some(_) => Err(AppError::bad_input("input.name", "a vendor of this name exists")),
        None => Ok(()),
    }
}

/// BAD_USER_INPUT on `input.name` when another rule of the organization has
/// this name, whatever its case.
async fn rule_name_free<C: ConnectionTrait>(
    conn: &C,
    organization_id: &str,
    name: &str,
    except: Option<&str>,
) -> AppResult<()> {
    let mut query = rules::Entity::find()
        .filter(rules::Column::OrganizationId.eq(organization_id))
        .filter(ExprTrait::eq(Expr::expr(Func::lower(Expr::col(rules::Column::Name))), name.to_lowercase()));
    if let Some(id) = except {
        query = query.filter(rules::Column::Id.ne(id));
    }
    match query.one(conn).await? {
        Some(_) => Err(AppError::bad_input("input.name", "a rule of this name exists")),
        None => Ok(()),
    }
}
