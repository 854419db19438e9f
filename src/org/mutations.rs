//! Organization administration over GraphQL. Each mutation loads what it
//! refers to within the caller's organization and scope (anything else is
//! "no such ..." on that field), asks the policy, validates, and writes the
//! change with its audit record in one transaction.

use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use entity::{accounts, api_tokens, site_groups, sites, users, vendors};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::graphql::{Account, ApiToken, CreatedApiToken, Site, SiteGroup, User};
use super::input::{Email, Name, Tag};
use super::model::{Role, ScopeKind};
use super::service::{self, NewApiToken, SettingsChange};
use crate::audit::AuditActor;
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::graphql::ContextExt;
use crate::orders::graphql::Asset;
use crate::policy::{self, admin};

fn no_such(field: &str, what: &str) -> AppError {
    AppError::bad_input(field, format!("no such {what}"))
}

/// An account of the caller's organization that the caller's scope sees.
async fn account_in_scope(
    db: &DatabaseConnection,
    principal: &Principal,
    field: &str,
    id: &str,
) -> AppResult<accounts::Model> {
    let account =
        super::read::account(db, &principal.organization_id, id).await?.ok_or_else(|| no_such(field, "account"))?;
    if !policy::account_visible(principal, &account.id, account.parent_id.is_none()).allowed {
        return Err(no_such(field, "account"));
    }
    Ok(account)
}

async fn site_in_scope(
    db: &DatabaseConnection,
    principal: &Principal,
    field: &str,
    id: &str,
) -> AppResult<sites::Model> {
    sites::Entity::find()
        .filter(admin::visible_sites(principal))
        .filter(sites::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| no_such(field, "site"))
}

async fn user_in_scope(
    db: &DatabaseConnection,
    principal: &Principal,
    field: &str,
    id: &str,
) -> AppResult<users::Model> {
    super::read::visible_user(db, principal, field, id, false).await
}

/// The contract's `AccountSettingsInput`: only the given switches change.
#[derive(InputObject)]
pub struct AccountSettingsInput {
    requester_sees_asset_orders: Option<bool>,
    non_admin_vendor_override: Option<bool>,
    planner_may_delete: Option<bool>,
}

/// The contract's `RoleBindingInput`: `siteId` for SITE, `siteGroupId` for
/// SITE_GROUP, neither for ACCOUNT.
#[derive(InputObject)]
pub struct RoleBindingInput {
    user_id: ID,
    role: Role,
    scope_kind: ScopeKind,
    site_id: Option<ID>,
    site_group_id: Option<ID>,
}

/// A binding checked against the caller's organization and scope.
struct CheckedBinding {
    user: users::Model,
    role: Role,
    kind: ScopeKind,
    target: String,
}

async fn check_binding(
    db: &DatabaseConnection,
    principal: &Principal,
    input: RoleBindingInput,
) -> AppResult<CheckedBinding> {
    let user = user_in_scope(db, principal, "input.userId", &input.user_id).await?;
    admin::administer(principal, &user.account_id).require()?;
    let target = match (input.scope_kind, input.site_id, input.site_group_id) {
        (ScopeKind::Account, None, None) => String::new(),
        (ScopeKind::Site, Some(site), None) => site_in_scope(db, principal, "input.siteId", &site).await?.id,
        (ScopeKind::SiteGroup, None, Some(group)) => {
            super::read::site_group(db, &principal.organization_id, &group)
                .await?
                .ok_or_else(|| no_such("input.siteGroupId", "site group"))?
                .id
        }
        (ScopeKind::Account, ..) => {
            return Err(AppError::bad_input(
                "input.scopeKind",
                "an ACCOUNT binding takes neither siteId nor siteGroupId",
            ));
        }
        (ScopeKind::Site, ..) => return Err(AppError::bad_input("input.siteId", "a SITE binding takes siteId only")),
        (ScopeKind::SiteGroup, ..) => {
            return Err(AppError::bad_input("input.siteGroupId", "a SITE_GROUP binding takes siteGroupId only"));
        }
    };
    Ok(CheckedBinding { user, role: input.role, kind: input.scope_kind, target })
}

#[derive(Default)]
pub struct OrgMutation;

#[Object]
impl OrgMutation {
    /// A child account under `parentId`. ADMIN of the root account.
    async fn create_account(&self, ctx: &Context<'_>, name: String, parent_id: ID) -> Result<Account> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let parent = account_in_scope(db, principal, "parentId", &parent_id).await?;
        admin::create_account(principal).require()?;
        let name = Name::parse("name", &name)?;
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        let account = service::create_account(
            &txn,
            AuditActor::Principal(principal),
            &principal.organization_id,
            Some(&parent.id),
            name,
        )
        .await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(Account::from(account))
    }

    /// Changes the given switches of an account. ADMIN over the account.
    async fn update_account_settings(
        &self,
        ctx: &Context<'_>,
        account_id: ID,
        input: AccountSettingsInput,
    ) -> Result<Account> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let account = account_in_scope(db, principal, "accountId", &account_id).await?;
        admin::administer(principal, &account.id).require()?;
        let change = SettingsChange {
            requester_sees_asset_orders: input.requester_sees_asset_orders,
            non_admin_vendor_override: input.non_admin_vendor_override,
            planner_may_delete: input.planner_may_delete,
        };
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        service::update_account_settings(
            &txn,
            AuditActor::Principal(principal),
            &principal.organization_id,
            &account.id,
            change,
        )
        .await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(Account::from(account))
    }

    /// ADMIN or PLANNER over the account.
    async fn create_site(
        &self,
        ctx: &Context<'_>,
        name: String,
        account_id: ID,
        tags: Option<Vec<String>>,
    ) -> Result<Site> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let account = account_in_scope(db, principal, "accountId", &account_id).await?;
        admin::manage_locations(principal, &account.id).require()?;
        let name = Name::parse("name", &name)?;
        let tags = Tag::parse_all("tags", &tags.unwrap_or_default())?;
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        let site = service::create_site(
            &txn,
            AuditActor::Principal(principal),
            &principal.organization_id,
            &account.id,
            name,
            &tags,
        )
        .await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(Site::from(site))
    }

    /// ADMIN or PLANNER over every member site's account.
    async fn create_site_group(&self, ctx: &Context<'_>, name: String, site_ids: Vec<ID>) -> Result<SiteGroup> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let mut ids: Vec<String> = Vec::with_capacity(site_ids.len());
        for (i, id) in site_ids.iter().enumerate() {
            let site = site_in_scope(db, principal, &format!("siteIds[{i}]"), id).await?;
            admin::manage_locations(principal, &site.account_id).require()?;
            if !ids.contains(&site.id) {
                ids.push(site.id);
            }
        }
        if ids.is_empty() {
            admin::manage_locations(principal, &principal.account_id).require()?;
        }
        let name = Name::parse("name", &name)?;
        let taken = site_groups::Entity::find()
            .filter(site_groups::Column::OrganizationId.eq(principal.organization_id.as_str()))
            .filter(site_groups::Column::Name.eq(name.clone().into_inner()))
            .one(db)
            .await
            .map_err(AppError::from)?
            .is_some();
        if taken {
            return Err(AppError::bad_input("name", "a site group of this name exists").into());
        }
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        let group =
            service::create_site_group(&txn, AuditActor::Principal(principal), &principal.organization_id, name, &ids)
                .await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(SiteGroup(group))
    }

    /// ADMIN or PLANNER over the site.
    async fn create_asset(
        &self,
        ctx: &Context<'_>,
        name: String,
        site_id: ID,
        tags: Option<Vec<String>>,
    ) -> Result<Asset> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let site = site_in_scope(db, principal, "siteId", &site_id).await?;
        admin::manage_assets(principal, &site.id, &site.account_id).require()?;
        let name = Name::parse("name", &name)?;
        let tags = Tag::parse_all("tags", &tags.unwrap_or_default())?;
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        let asset = service::create_asset(
            &txn,
            AuditActor::Principal(principal),
            &principal.organization_id,
            &site.id,
            name,
            &tags,
        )
        .await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(Asset::from(asset))
    }

    /// ADMIN over the account. `canLogin: false` makes a worker who can be
    /// assigned but never signs in.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        name: String,
        email: String,
        account_id: ID,
        can_login: Option<bool>,
    ) -> Result<User> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let account = account_in_scope(db, principal, "accountId", &account_id).await?;
        admin::administer(principal, &account.id).require()?;
        let name = Name::parse("name", &name)?;
        let email = Email::parse("email", &email)?;
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        let user = service::create_user(
            &txn,
            AuditActor::Principal(principal),
            &principal.organization_id,
            &account.id,
            name,
            email,
            can_login.unwrap_or(true),
        )
        .await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(User::from(user))
    }

    /// ADMIN over the user's account. A deactivated user's credentials stop
    /// working on their next request.
    async fn set_user_active(&self, ctx: &Context<'_>, id: ID, active: bool) -> Result<User> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let user = user_in_scope(db, principal, "id", &id).await?;
        admin::administer(principal, &user.account_id).require()?;
        if principal.user_id() == Some(user.id.as_str()) && !active {
            return Err(AppError::bad_input("id", "you cannot deactivate yourself").into());
        }
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        let user = service::set_user_active(&txn, AuditActor::Principal(principal), user, active).await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(User::from(user))
    }

    /// ADMIN over the user's account; the site or group must be in scope.
    async fn grant_role(&self, ctx: &Context<'_>, input: RoleBindingInput) -> Result<User> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let b = check_binding(db, principal, input).await?;
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        service::grant_role(
            &txn,
            AuditActor::Principal(principal),
            &principal.organization_id,
            &b.user.id,
            b.role,
            b.kind,
            &b.target,
        )
        .await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(User::from(b.user))
    }

    /// ADMIN over the user's account. Takes effect on the user's next request.
    async fn revoke_role(&self, ctx: &Context<'_>, input: RoleBindingInput) -> Result<User> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let b = check_binding(db, principal, input).await?;
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        service::revoke_role(
            &txn,
            AuditActor::Principal(principal),
            &principal.organization_id,
            &b.user.id,
            b.role,
            b.kind,
            &b.target,
        )
        .await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(User::from(b.user))
    }

    /// An API token of the caller's account; the secret is in this result
    /// and nowhere else, ever. ADMIN.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        name: String,
        capabilities: Vec<String>,
        partner_vendor_id: Option<ID>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<CreatedApiToken> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        admin::administer(principal, &principal.account_id).require()?;
        let name = Name::parse("name", &name)?;
        let mut checked: Vec<String> = Vec::new();
        for (i, capability) in capabilities.iter().enumerate() {
            let capability = capability.trim();
            if !policy::order::CAPABILITIES.contains(&capability) {
                return Err(AppError::bad_input(
                    format!("capabilities[{i}]"),
                    format!("unknown capability; one of {}", policy::order::CAPABILITIES.join(", ")),
                )
                .into());
            }
            if !checked.iter().any(|c| c == capability) {
                checked.push(capability.to_owned());
            }
        }
        if checked.is_empty() {
            return Err(AppError::bad_input("capabilities", "give at least one capability").into());
        }
        if partner_vendor_id.is_some()
            && let Some(i) = capabilities.iter().position(|c| !policy::order::PARTNER_CAPABILITIES.contains(&c.trim()))
        {
            let message = format!("{}: {} only", policy::order::PARTNER_READS_ONLY, policy::order::ORDERS_READ);
            return Err(AppError::bad_input(format!("capabilities[{i}]"), message).into());
        }
        let partner_vendor_id = match partner_vendor_id {
            None => None,
            Some(id) => Some(
                // Only a vendor the admin sees: the token reads that
                // vendor's orders.
                vendors::Entity::find_by_id(id.as_str())
                    .filter(policy::vendor_filter::visible_vendors(principal))
                    .one(db)
                    .await
                    .map_err(AppError::from)?
                    .ok_or_else(|| no_such("partnerVendorId", "vendor"))?
                    .id,
            ),
        };
        let expires_at = match expires_at {
            Some(at) if at <= Utc::now() => {
                return Err(AppError::bad_input("expiresAt", "must be in the future").into());
            }
            other => other.map(crate::time::to_micros),
        };
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        let issued = service::issue_api_token(
            &txn,
            AuditActor::Principal(principal),
            NewApiToken {
                organization_id: &principal.organization_id,
                account_id: &principal.account_id,
                name,
                capabilities: checked,
                partner_vendor_id,
                expires_at,
                created_by: principal.user_id().map(str::to_owned),
            },
        )
        .await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(CreatedApiToken { token: ApiToken(issued.token), secret: issued.secret })
    }

    /// ADMIN over the token's account. Takes effect on the token's next use.
    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> Result<ApiToken> {
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let token = api_tokens::Entity::find()
            .filter(admin::visible_api_tokens(principal))
            .filter(api_tokens::Column::Id.eq(id.as_str()))
            .one(db)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| no_such("id", "API token"))?;
        admin::administer(principal, &token.account_id).require()?;
        let txn = crate::db::write_txn(db).await.map_err(AppError::from)?;
        let token = service::revoke_api_token(&txn, AuditActor::Principal(principal), token).await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(ApiToken(token))
    }
}
