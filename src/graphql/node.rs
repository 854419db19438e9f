//! The `Node` interface and `node(id)`: the id's prefix names the type, and
//! each type is loaded with the same visibility rule as its own query. An id
//! the caller may not see is NOT_FOUND, exactly like one that does not exist.

use async_graphql::{Context, ID, Interface, Object, Result};
use entity::{accounts, api_tokens, assets, deletion_requests, rules, site_groups, sites, users, vendors};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::{ContextExt, nullable};
use crate::error::AppError;
use crate::ids::IdKind;
use crate::orders::graphql::{Asset, Order, visible_order};
use crate::org::graphql::{Account, ApiToken, Site, SiteGroup, User};
use crate::policy::{self, admin};
use crate::vendors::graphql::Vendor;
use crate::vendors::rules::Rule;
use crate::workflow::deletion::DeletionRequest;

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Account(Account),
    Site(Site),
    SiteGroup(SiteGroup),
    Asset(Asset),
    User(User),
    Order(Order),
    Vendor(Vendor),
    Rule(Rule),
    ApiToken(ApiToken),
    DeletionRequest(DeletionRequest),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global id.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Option<Node> {
        nullable(ctx, async { Ok(Some(load(ctx, &id).await?)) }).await
    }
}

async fn load(ctx: &Context<'_>, id: &str) -> Result<Node, AppError> {
    let principal = ctx.principal()?;
    let db = ctx.reads()?;
    let org = principal.organization_id.as_str();
    let kind = IdKind::of(id).filter(|&kind| admin::look_up(principal, kind).allowed);
    let node = match kind {
        Some(IdKind::Order) => Some(Node::Order(visible_order(ctx, id).await?)),
        Some(IdKind::User) => users::Entity::find()
            .filter(admin::visible_users(principal))
            .filter(users::Column::Id.eq(id))
            .one(db)
            .await?
            .map(|u| Node::User(User::from(u))),
        Some(IdKind::Site) => sites::Entity::find()
            .filter(admin::visible_sites(principal))
            .filter(sites::Column::Id.eq(id))
            .one(db)
            .await?
            .map(|s| Node::Site(Site::from(s))),
        Some(IdKind::Asset) => assets::Entity::find()
            .filter(admin::visible_assets(principal))
            .filter(assets::Column::Id.eq(id))
            .one(db)
            .await?
            .map(|a| Node::Asset(Asset::from(a))),
        Some(IdKind::Account) => accounts::Entity::find_by_id(id)
            .filter(accounts::Column::OrganizationId.eq(org))
            .one(db)
            .await?
            .filter(|a| policy::account_visible(principal, &a.id, a.parent_id.is_none()).allowed)
            .map(|a| Node::Account(Account::from(a))),
        Some(IdKind::SiteGroup) => site_groups::Entity::find_by_id(id)
            .filter(site_groups::Column::OrganizationId.eq(org))
            .one(db)
            .await?
            .map(|g| Node::SiteGroup(SiteGroup(g))),
        Some(IdKind::Vendor) => vendors::Entity::find()
            .filter(policy::vendor_filter::visible_vendors(principal))
            .filter(vendors::Column::Id.eq(id))
            .one(db)
            .await?
            .map(|v| Node::Vendor(Vendor::from(v))),
        Some(IdKind::Rule) => rules::Entity::find()
            .filter(policy::procurement::visible_rules(principal))
            .filter(rules::Column::Id.eq(id))
            .one(db)
            .await?
            .map(|r| Node::Rule(Rule(r))),
        Some(IdKind::ApiToken) => api_tokens::Entity::find()
            .filter(admin::visible_api_tokens(principal))
            .filter(api_tokens::Column::Id.eq(id))
            .one(db)
            .await?
            .map(|t| Node::ApiToken(ApiToken(t))),
        Some(IdKind::DeletionRequest) => deletion_requests::Entity::find()
            .filter(policy::queues::visible_deletion_requests(principal))
            .filter(deletion_requests::Column::Id.eq(id))
            .one(db)
            .await?
            .map(|r| Node::DeletionRequest(r.into())),
        _ => None,
    };
    node.ok_or(AppError::NotFound)
}
