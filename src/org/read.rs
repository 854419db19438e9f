//! Lookups of organization records by id, always within the caller's
//! organization: a record of another organization is simply not found.

use entity::{accounts, role_bindings, site_group_members, site_groups, sites, users};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::policy::admin;

pub async fn user(db: &impl ConnectionTrait, organization_id: &str, id: &str) -> AppResult<Option<users::Model>> {
    Ok(users::Entity::find_by_id(id).filter(users::Column::OrganizationId.eq(organization_id)).one(db).await?)
}

/// A user the principal's scope sees (`active_only`: and active), or
/// BAD_USER_INPUT on `field`: input naming a user goes through here.
pub async fn visible_user(
    db: &impl ConnectionTrait,
    principal: &Principal,
    field: &str,
    id: &str,
    active_only: bool,
) -> AppResult<users::Model> {
    let mut query = users::Entity::find().filter(admin::visible_users(principal)).filter(users::Column::Id.eq(id));
    if active_only {
        query = query.filter(users::Column::Active.eq(true));
    }
    query
        .one(db)
        .await?
        .ok_or_else(|| AppError::bad_input(field, if active_only { "no such active user" } else { "no such user" }))
}

pub async fn account(db: &impl ConnectionTrait, organization_id: &str, id: &str) -> AppResult<Option<accounts::Model>> {
    Ok(accounts::Entity::find_by_id(id).filter(accounts::Column::OrganizationId.eq(organization_id)).one(db).await?)
}

/// The child accounts of `parent_id` that `principal` sees.
pub async fn child_accounts(
    db: &impl ConnectionTrait,
    principal: &Principal,
    parent_id: &str,
) -> AppResult<Vec<accounts::Model>> {
    Ok(accounts::Entity::find()
        .filter(admin::visible_account_rows(principal))
        .filter(accounts::Column::ParentId.eq(parent_id))
        .order_by_asc(accounts::Column::Name)
        .all(db)
        .await?)
}

pub async fn site(db: &impl ConnectionTrait, organization_id: &str, id: &str) -> AppResult<Option<sites::Model>> {
    Ok(sites::Entity::find_by_id(id).filter(sites::Column::OrganizationId.eq(organization_id)).one(db).await?)
}

pub async fn site_group(
    db: &impl ConnectionTrait,
    organization_id: &str,
    id: &str,
) -> AppResult<Option<site_groups::Model>> {
    Ok(site_groups::Entity::find_by_id(id)
        .filter(site_groups::Column::OrganizationId.eq(organization_id))
        .one(db)
        .await?)
}

/// The sites of a group that `principal` sees (a group is the
/// organization's, its sites may be any account's).
pub async fn sites_of_group(
    db: &impl ConnectionTrait,
    principal: &Principal,
    group_id: &str,
) -> AppResult<Vec<sites::Model>> {
    let members = Query::select()
        .column(site_group_members::Column::SiteId)
        .from(site_group_members::Entity)
        .and_where(site_group_members::Column::SiteGroupId.eq(group_id))
        .take();
    Ok(sites::Entity::find()
        .filter(admin::visible_sites(principal))
        .filter(sites::Column::Id.in_subquery(members))
        .order_by_asc(sites::Column::Name)
        .all(db)
        .await?)
}

pub async fn role_bindings(db: &impl ConnectionTrait, user_id: &str) -> AppResult<Vec<role_bindings::Model>> {
    Ok(role_bindings::Entity::find()
        .filter(role_bindings::Column::UserId.eq(user_id))
        .order_by_asc(role_bindings::Column::CreatedAt)
        .all(db)
        .await?)
}
