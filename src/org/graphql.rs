//! GraphQL types of the organization: `User`, `Account`, `Site`,
//! `SiteGroup`, `RoleBinding`, and the `me` query.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result, SimpleObject, Value};
use chrono::{DateTime, Utc};
use entity::{account_settings, accounts, api_tokens, assets, role_bindings, site_groups, sites, users};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::model::{Role, ScopeKind};
use super::read;
use crate::auth::Principal;
use crate::error::AppError;
use crate::graphql::answered::{Brief, Plain, brief};
use crate::graphql::loaders::{AccountById, UserById, VendorById, to_app};
use crate::graphql::{ContextExt, nullable};
use crate::orders::graphql::Asset;
use crate::orders::record;
use crate::policy::{self, Action, admin};
use crate::time::from_micros;
use crate::vendors::graphql::Vendor;

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
        let user = read::user(ctx.reads()?, &principal.organization_id, user_id)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("authenticated user {user_id} is missing")))?;
        Ok(User::from(user))
    }

    /// The people of the accounts the caller sees.
    async fn users(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        let principal = ctx.principal()?;
        let rows = users::Entity::find()
            .filter(admin::visible_users(principal))
            .order_by_asc(users::Column::Name)
            .order_by_asc(users::Column::Id)
            .all(ctx.reads()?)
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    /// The sites of the accounts the caller sees.
    async fn sites(&self, ctx: &Context<'_>) -> Result<Vec<Site>> {
        let principal = ctx.principal()?;
        let rows = sites::Entity::find()
            .filter(admin::visible_sites(principal))
            .order_by_asc(sites::Column::Name)
            .order_by_asc(sites::Column::Id)
            .all(ctx.reads()?)
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(Site::from).collect())
    }

    /// The assets at the sites the caller sees, or at one of them.
    async fn assets(&self, ctx: &Context<'_>, site_id: Option<ID>) -> Result<Vec<Asset>> {
        let principal = ctx.principal()?;
        let mut query = assets::Entity::find().filter(admin::visible_assets(principal));
        if let Some(site) = site_id {
            query = query.filter(assets::Column::SiteId.eq(site.as_str()));
        }
        let rows = query
            .order_by_asc(assets::Column::Name)
            .order_by_asc(assets::Column::Id)
            .all(ctx.reads()?)
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(Asset::from).collect())
    }

    /// API tokens of the accounts the caller administers (ADMIN).
    async fn api_tokens(&self, ctx: &Context<'_>) -> Result<Vec<ApiToken>> {
        let principal = ctx.principal()?;
        let rows = api_tokens::Entity::find()
            .filter(admin::visible_api_tokens(principal))
            .order_by_desc(api_tokens::Column::CreatedAt)
            .order_by_desc(api_tokens::Column::Id)
            .all(ctx.reads()?)
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(ApiToken).collect())
    }

    /// Whether `userId` may perform `action` on the order now, and the rule
    /// that decided. ADMIN over that user's account; the order must be
    /// visible to the caller.
    async fn explain_access(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        action: Action,
        order_id: ID,
    ) -> Result<AccessExplanation> {
        let principal = ctx.principal()?;
        let user = users::Entity::find()
            .filter(admin::visible_users(principal))
            .filter(users::Column::Id.eq(user_id.as_str()))
            .one(ctx.reads()?)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| AppError::bad_input("userId", "no such user"))?;
        admin::explain(principal, &user.account_id).require()?;
        // Judged for another person: with every fact, whatever the caller
        // needs for their own reads.
        let order = record::load_visible_whole(ctx.reads()?, principal, &order_id).await?.ok_or(AppError::NotFound)?;
        if !user.active || !user.can_login {
            return Ok(AccessExplanation {
                allowed: false,
                reason: "the user is deactivated or cannot sign in".to_owned(),
            });
        }
        let subject = crate::auth::user_principal(ctx.reads()?, &user.id).await?;
        let decision = policy::decide(&subject, action, &order.facts());
        Ok(AccessExplanation { allowed: decision.allowed, reason: decision.reason.to_owned() })
    }
}

/// `explainAccess`'s answer: the decision and the rule that made it.
#[derive(SimpleObject)]
pub struct AccessExplanation {
    allowed: bool,
    reason: String,
}

pub struct ApiToken(pub(crate) api_tokens::Model);

#[Object]
impl ApiToken {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn capabilities(&self) -> Result<Vec<String>> {
        Ok(crate::graphql::stored_list("api_tokens.capabilities", &self.0.id, &self.0.capabilities)?)
    }
    async fn partner_vendor(&self, ctx: &Context<'_>) -> Option<Vendor> {
        nullable(ctx, async {
            let Some(id) = &self.0.partner_vendor_id else { return Ok(None) };
            Ok(ctx.loaders()?.load_one(VendorById(id.clone())).await.map_err(to_app)?.map(Vendor))
        })
        .await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        from_micros(self.0.created_at)
    }
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at.map(from_micros)
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at.map(from_micros)
    }
    async fn revoked(&self) -> bool {
        self.0.revoked_at.is_some()
    }
}

/// `createApiToken`'s result: the only place the secret ever appears.
#[derive(SimpleObject)]
pub struct CreatedApiToken {
    pub token: ApiToken,
    pub secret: String,
}

/// An account's switches (DOMAIN.md "where the account allows it").
#[derive(SimpleObject)]
pub struct AccountSettings {
    requester_sees_asset_orders: bool,
    non_admin_vendor_override: bool,
    planner_may_delete: bool,
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

/// A user the request's loaders hold: the fields copied.
impl From<Arc<users::Model>> for User {
    fn from(m: Arc<users::Model>) -> Self {
        Self {
            id: m.id.clone(),
            name: m.name.clone(),
            account_id: m.account_id.clone(),
            active: m.active,
            can_login: m.can_login,
            email: m.email.clone(),
        }
    }
}

impl User {
    /// The users `ids` names, in that order, through the request's loaders
    /// (an id of no user in the organization is left out).
    pub async fn by_ids(ctx: &Context<'_>, ids: &[String]) -> Result<Vec<Brief<Self>>> {
        let loaded = ctx.loaders()?.load_many(ids.iter().cloned().map(UserById)).await.map_err(to_app)?;
        Ok(ids
            .iter()
            .filter_map(|id| loaded.get(&UserById(id.clone())).cloned())
            .map(|user| brief(ctx, Self::from(user)))
            .collect())
    }

    fn guard_private(&self, ctx: &Context<'_>) -> Result<()> {
        Ok(policy::read_user_private(ctx.principal()?, &self.id, &self.account_id).require()?)
    }
}

#[Object]
impl User {
    pub async fn id(&self) -> ID {
        ID(self.id.clone())
    }
    async fn name(&self) -> &str {
        &self.name
    }
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let principal = ctx.principal()?;
        let account =
            read::account(ctx.reads()?, &principal.organization_id, &self.account_id).await?.ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("account {} of user {} is missing", self.account_id, self.id))
            })?;
        Ok(Account::from(account))
    }
    async fn active(&self) -> bool {
        self.active
    }
    async fn can_login(&self) -> bool {
        self.can_login
    }
    /// Readable by the user themself and ADMIN.
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        nullable(ctx, async {
            self.guard_private(ctx)?;
            Ok(Some(self.email.as_str()))
        })
        .await
    }
    /// Readable by the user themself and ADMIN.
    async fn role_bindings(&self, ctx: &Context<'_>) -> Option<Vec<RoleBinding>> {
        nullable(ctx, async {
            self.guard_private(ctx)?;
            let rows = read::role_bindings(ctx.reads()?, &self.id).await?;
            Ok(Some(rows.into_iter().map(RoleBinding).collect()))
        })
        .await
    }
}

/// An account, shared with the request's loaders.
pub struct Account(pub(crate) Arc<accounts::Model>);

impl From<accounts::Model> for Account {
    fn from(model: accounts::Model) -> Self {
        Self(Arc::new(model))
    }
}

impl Account {
    /// The account of a scope (`None`: organization-wide), through the
    /// request's loaders.
    pub async fn of_scope(ctx: &Context<'_>, scope_account_id: Option<&String>) -> Result<Option<Self>> {
        let Some(id) = scope_account_id else { return Ok(None) };
        Ok(ctx.loaders()?.load_one(AccountById(id.clone())).await.map_err(to_app)?.map(Self))
    }
}

#[Object]
impl Account {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn parent(&self, ctx: &Context<'_>) -> Option<Account> {
        nullable(ctx, async {
            let Some(parent_id) = &self.0.parent_id else {
                return Ok(None);
            };
            let principal = ctx.principal()?;
            let parent = read::account(ctx.reads()?, &principal.organization_id, parent_id).await?;
            Ok(parent
                .filter(|a| policy::account_visible(principal, &a.id, a.parent_id.is_none()).allowed)
                .map(Account::from))
        })
        .await
    }
    /// ADMIN over the account.
    async fn settings(&self, ctx: &Context<'_>) -> Option<AccountSettings> {
        nullable(ctx, async {
            admin::administer(ctx.principal()?, &self.0.id).require()?;
            let row = account_settings::Entity::find_by_id(self.0.id.as_str())
                .one(ctx.reads()?)
                .await
                .map_err(AppError::from)?;
            Ok(Some(row.map_or(
                AccountSettings {
                    requester_sees_asset_orders: false,
                    non_admin_vendor_override: false,
                    planner_may_delete: false,
                },
                |r| AccountSettings {
                    requester_sees_asset_orders: r.requester_sees_asset_orders,
                    non_admin_vendor_override: r.non_admin_vendor_override,
                    planner_may_delete: r.planner_may_delete,
                },
            )))
        })
        .await
    }
    /// Child accounts the caller may see.
    async fn children(&self, ctx: &Context<'_>) -> Result<Vec<Account>> {
        let principal = ctx.principal()?;
        let children = read::child_accounts(ctx.reads()?, principal, &self.0.id).await?;
        Ok(children.into_iter().map(Account::from).collect())
    }
}

impl Plain for User {
    fn plain(&self, name: &str) -> Option<Value> {
        match name {
            "id" => Some(Value::String(self.id.clone())),
            "name" => Some(Value::String(self.name.clone())),
            "active" => Some(Value::Boolean(self.active)),
            "canLogin" => Some(Value::Boolean(self.can_login)),
            _ => None,
        }
    }
}

/// A site, shared with the request's loaders.
pub struct Site(pub(crate) Arc<sites::Model>);

impl From<sites::Model> for Site {
    fn from(model: sites::Model) -> Self {
        Self(Arc::new(model))
    }
}

impl Plain for Site {
    fn plain(&self, name: &str) -> Option<Value> {
        match name {
            "id" => Some(Value::String(self.0.id.clone())),
            "name" => Some(Value::String(self.0.name.clone())),
            _ => None,
        }
    }

    fn readable(principal: &Principal, name: &str) -> bool {
        policy::order::read_site_or_vendor_field(principal, "Site", name).allowed
    }
}

impl Site {
    fn guard<'c>(ctx: &'c Context<'_>, field: &str) -> Result<&'c Principal> {
        let principal = ctx.principal()?;
        policy::order::read_site_or_vendor_field(principal, "Site", field).require()?;
        Ok(principal)
    }
}

#[Object]
impl Site {
    pub async fn id(&self, ctx: &Context<'_>) -> Result<ID> {
        Self::guard(ctx, "id")?;
        Ok(ID(self.0.id.clone()))
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let principal = Self::guard(ctx, "account")?;
        let account = read::account(ctx.reads()?, &principal.organization_id, &self.0.account_id)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("account of site {} is missing", self.0.id)))?;
        Ok(Account::from(account))
    }
    async fn tags(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        Self::guard(ctx, "tags")?;
        Ok(crate::graphql::stored_list("sites.tags", &self.0.id, &self.0.tags)?)
    }
}

pub struct SiteGroup(pub(crate) site_groups::Model);

#[Object]
impl SiteGroup {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn sites(&self, ctx: &Context<'_>) -> Result<Vec<Site>> {
        let sites = read::sites_of_group(ctx.reads()?, ctx.principal()?, &self.0.id).await?;
        Ok(sites.into_iter().map(Site::from).collect())
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
    async fn site(&self, ctx: &Context<'_>) -> Option<Site> {
        nullable(ctx, async {
            if self.0.scope_kind != ScopeKind::Site.as_str() {
                return Ok(None);
            }
            let principal = ctx.principal()?;
            Ok(read::site(ctx.reads()?, &principal.organization_id, &self.0.scope_target).await?.map(Site::from))
        })
        .await
    }
    async fn site_group(&self, ctx: &Context<'_>) -> Option<SiteGroup> {
        nullable(ctx, async {
            if self.0.scope_kind != ScopeKind::SiteGroup.as_str() {
                return Ok(None);
            }
            let principal = ctx.principal()?;
            Ok(read::site_group(ctx.reads()?, &principal.organization_id, &self.0.scope_target).await?.map(SiteGroup))
        })
        .await
    }
}
