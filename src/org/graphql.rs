//! GraphQL types of the organization: `User`, `Account`, `Site`,
//! `SiteGroup`, `RoleBinding`, and the `me` query.

use async_graphql::{Context, ID, Object, Result};
use entity::{accounts, role_bindings, site_groups, sites, users};

use super::model::{Role, ScopeKind};
use super::read;
use crate::error::AppError;
use crate::graphql::ContextExt;
use crate::policy;

#[derive(Default)]
pub struct OrgQuery;

#[Object]
impl OrgQuery {
    /// The signed-in person. API tokens are not people: they get FORBIDDEN.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let principal = ctx.principal()?;
        let Some(user_id) = principal.user_id() else {
            return Err(AppError::forbidden("an API token is not a user; `me` is for people").into());
        };
        let state = ctx.state()?;
        let user = read::user(&state.db, &principal.organization_id, user_id)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("authenticated user {user_id} is missing")))?;
        Ok(User::from(user))
    }
}

pub struct User {
    id: String,
    name: String,
    account_id: String,
    active: bool,
    can_login: bool,
    email: String,
}

impl From<users::Model> for User {
    fn from(m: users::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            account_id: m.account_id,
            active: m.active,
            can_login: m.can_login,
            email: m.email,
        }
    }
}

impl User {
    fn guard_private(&self, ctx: &Context<'_>) -> Result<()> {
        let decision = policy::read_user_private(ctx.principal()?, &self.id, &self.account_id);
        if decision.allowed { Ok(()) } else { Err(AppError::forbidden(decision.reason).into()) }
    }
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }
    async fn name(&self) -> &str {
        &self.name
    }
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let principal = ctx.principal()?;
        let account =
            read::account(&ctx.state()?.db, &principal.organization_id, &self.account_id).await?.ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("account {} of user {} is missing", self.account_id, self.id))
            })?;
        Ok(Account(account))
    }
    async fn active(&self) -> bool {
        self.active
    }
    async fn can_login(&self) -> bool {
        self.can_login
    }
    /// Readable by the user themself and ADMIN.
    async fn email(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        self.guard_private(ctx)?;
        Ok(Some(&self.email))
    }
    /// Readable by the user themself and ADMIN.
    async fn role_bindings(&self, ctx: &Context<'_>) -> Result<Option<Vec<RoleBinding>>> {
        self.guard_private(ctx)?;
        let rows = read::role_bindings(&ctx.state()?.db, &self.id).await?;
        Ok(Some(rows.into_iter().map(RoleBinding).collect()))
    }
}

pub struct Account(accounts::Model);

#[Object]
impl Account {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let Some(parent_id) = &self.0.parent_id else {
            return Ok(None);
        };
        let principal = ctx.principal()?;
        let parent = read::account(&ctx.state()?.db, &principal.organization_id, parent_id).await?;
        Ok(parent.filter(|a| policy::account_visible(principal, &a.id, a.parent_id.is_none()).allowed).map(Account))
    }
    /// Child accounts the caller may see.
    async fn children(&self, ctx: &Context<'_>) -> Result<Vec<Account>> {
        let principal = ctx.principal()?;
        let children = read::child_accounts(&ctx.state()?.db, &principal.organization_id, &self.0.id).await?;
        Ok(children
            .into_iter()
            .filter(|a| policy::account_visible(principal, &a.id, false).allowed)
            .map(Account)
            .collect())
    }
}

pub struct Site(sites::Model);

#[Object]
impl Site {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let principal = ctx.principal()?;
        let account = read::account(&ctx.state()?.db, &principal.organization_id, &self.0.account_id)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("account of site {} is missing", self.0.id)))?;
        Ok(Account(account))
    }
    async fn tags(&self) -> Result<Vec<String>> {
        Ok(serde_json::from_str(&self.0.tags)
            .map_err(|e| AppError::internal(anyhow::anyhow!("sites.tags of {}: {e}", self.0.id)))?)
    }
}

pub struct SiteGroup(site_groups::Model);

#[Object]
impl SiteGroup {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn sites(&self, ctx: &Context<'_>) -> Result<Vec<Site>> {
        Ok(read::sites_of_group(&ctx.state()?.db, &self.0.id).await?.into_iter().map(Site).collect())
    }
}

pub struct RoleBinding(role_bindings::Model);

#[Object]
impl RoleBinding {
    async fn role(&self) -> Result<Role> {
        Ok(Role::parse(&self.0.role)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("unknown role {:?}", self.0.role)))?)
    }
    async fn scope_kind(&self) -> Result<ScopeKind> {
        Ok(ScopeKind::parse(&self.0.scope_kind)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("unknown scope kind {:?}", self.0.scope_kind)))?)
    }
    async fn site(&self, ctx: &Context<'_>) -> Result<Option<Site>> {
        if self.0.scope_kind != ScopeKind::Site.as_str() {
            return Ok(None);
        }
        let principal = ctx.principal()?;
        Ok(read::site(&ctx.state()?.db, &principal.organization_id, &self.0.scope_target).await?.map(Site))
    }
    async fn site_group(&self, ctx: &Context<'_>) -> Result<Option<SiteGroup>> {
        if self.0.scope_kind != ScopeKind::SiteGroup.as_str() {
            return Ok(None);
        }
        let principal = ctx.principal()?;
        Ok(read::site_group(&ctx.state()?.db, &principal.organization_id, &self.0.scope_target).await?.map(SiteGroup))
    }
}
