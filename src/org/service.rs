//! Organization administration as stored operations: bootstrap, accounts,
//! sites, site groups, assets, users, role bindings and API tokens.
//!
//! These functions validate their input and write the audit log; they do not
//! decide whether the caller may act. That is the policy's job, asked by the
//! GraphQL mutations before they call here (the CLI and the demo seed act as
//! the system).

use entity::{
    account_settings, accounts, api_tokens, assets, organizations, role_bindings, site_group_members, site_groups,
    sites, users,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;

use super::input::{Email, Name, Tag, tags_json};
use super::model::{Role, ScopeKind};
use crate::audit::{self, AuditActor, AuditEntry};
use crate::auth::api_token;
use crate::error::{AppError, AppResult};
use crate::ids::IdKind;
use crate::time::now_micros;

/// What `bootstrap` found or made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BootstrapOutcome {
    pub organization_id: String,
    pub account_id: String,
    pub admin_user_id: String,
    pub created: bool,
}

/// Creates an organization with its root account and first admin, unless an
/// organization of that name exists; then it changes nothing and returns the
/// existing ids.
pub async fn bootstrap(
    db: &DatabaseConnection,
    org_name: &str,
    admin_name: &str,
    admin_email: &str,
) -> AppResult<BootstrapOutcome> {
    let org_name = Name::parse("org", org_name)?.into_inner();
    let admin_name = Name::parse("adminName", admin_name)?;
    let admin_email = Email::parse("adminEmail", admin_email)?;
    if let Some(existing) = find_bootstrapped(db, &org_name).await? {
        return Ok(existing);
    }
    let txn = crate::db::write_txn(db).await?;
    let org = organizations::ActiveModel {
        id: Set(IdKind::Organization.new_id()),
        name: Set(org_name.clone()),
        work_order_seq: Set(0),
        purchase_order_seq: Set(0),
        created_at: Set(now_micros()),
    }
    .insert(&txn)
    .await;
    let org = match org {
        Ok(org) => org,
        // Another bootstrap of the same name won the race: report its ids.
        Err(e) if is_unique_violation(&e) => {
            drop(txn);
            return find_bootstrapped(db, &org_name)
                .await?
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("organization vanished after a unique violation")));
        }
        Err(e) => return Err(e.into()),
    };
    let root = create_account(&txn, AuditActor::System, &org.id, None, Name::parse("org", &org_name)?).await?;
    let admin = create_user(&txn, AuditActor::System, &org.id, &root.id, admin_name, admin_email, true).await?;
    grant_role(&txn, AuditActor::System, &org.id, &admin.id, Role::Admin, ScopeKind::Account, "").await?;
    audit::record(
        &txn,
        AuditActor::System,
        AuditEntry {
            organization_id: &org.id,
            action: "organization.bootstrap",
            entity_type: "organization",
            entity_id: &org.id,
            order_id: None,
            changes: json!({ "name": [null, org.name] }),
            reason: None,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(BootstrapOutcome { organization_id: org.id, account_id: root.id, admin_user_id: admin.id, created: true })
}

async fn find_bootstrapped(db: &DatabaseConnection, org_name: &str) -> AppResult<Option<BootstrapOutcome>> {
    let Some(org) = organizations::Entity::find().filter(organizations::Column::Name.eq(org_name)).one(db).await?
    else {
        return Ok(None);
    };
    let root = accounts::Entity::find()
        .filter(accounts::Column::OrganizationId.eq(&org.id))
        .filter(accounts::Column::ParentId.is_null())
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("organization {} has no root account", org.id)))?;
    // The first admin is the earliest user holding ADMIN on the root account.
    let admin_ids: Vec<String> = role_bindings::Entity::find()
        .filter(role_bindings::Column::Role.eq(Role::Admin.as_str()))
        .filter(role_bindings::Column::ScopeKind.eq(ScopeKind::Account.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|b| b.user_id)
        .collect();
    let admin = users::Entity::find()
        .filter(users::Column::AccountId.eq(&root.id))
        .filter(users::Column::Id.is_in(admin_ids))
        .order_by_asc(users::Column::CreatedAt)
        .order_by_asc(users::Column::Id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("organization {} has no admin", org.id)))?;
    Ok(Some(BootstrapOutcome { organization_id: org.id, account_id: root.id, admin_user_id: admin.id, created: false }))
}

pub async fn create_account<C: ConnectionTrait>(
    conn: &C,
    actor: AuditActor<'_>,
    organization_id: &str,
    parent_id: Option<&str>,
    name: Name,
) -> AppResult<accounts::Model> {
    let now = now_micros();
    let account = accounts::ActiveModel {
        id: Set(IdKind::Account.new_id()),
        organization_id: Set(organization_id.to_owned()),
        parent_id: Set(parent_id.map(str::to_owned)),
        name: Set(name.into_inner()),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    account_settings::ActiveModel {
        account_id: Set(account.id.clone()),
        requester_sees_asset_orders: Set(false),
        non_admin_vendor_override: Set(false),
        planner_may_delete: Set(false),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    record_created(
        conn,
        actor,
        organization_id,
        "account",
        &account.id,
        json!({ "name": account.name, "parentId": account.parent_id }),
    )
    .await?;
    Ok(account)
}

pub async fn create_site<C: ConnectionTrait>(
    conn: &C,
    actor: AuditActor<'_>,
    organization_id: &str,
    account_id: &str,
    name: Name,
    tags: &[Tag],
) -> AppResult<sites::Model> {
    let site = sites::ActiveModel {
        id: Set(IdKind::Site.new_id()),
        organization_id: Set(organization_id.to_owned()),
        account_id: Set(account_id.to_owned()),
        name: Set(name.into_inner()),
        tags: Set(tags_json(tags)),
        created_at: Set(now_micros()),
    }
    .insert(conn)
    .await?;
    record_created(
        conn,
        actor,
        organization_id,
        "site",
        &site.id,
        json!({ "name": site.name, "accountId": site.account_id, "tags": site.tags }),
    )
    .await?;
    Ok(site)
}

pub async fn create_site_group<C: ConnectionTrait>(
    conn: &C,
    actor: AuditActor<'_>,
    organization_id: &str,
    name: Name,
    site_ids: &[String],
) -> AppResult<site_groups::Model> {
    let group = site_groups::ActiveModel {
        id: Set(IdKind::SiteGroup.new_id()),
        organization_id: Set(organization_id.to_owned()),
        name: Set(name.into_inner()),
        created_at: Set(now_micros()),
    }
    .insert(conn)
    .await?;
    for site_id in site_ids {
        site_group_members::ActiveModel { site_group_id: Set(group.id.clone()), site_id: Set(site_id.clone()) }
            .insert(conn)
            .await?;
    }
    record_created(
        conn,
        actor,
        organization_id,
        "site_group",
        &group.id,
        json!({ "name": group.name, "siteIds": site_ids }),
    )
    .await?;
    Ok(group)
}

pub async fn create_asset<C: ConnectionTrait>(
    conn: &C,
    actor: AuditActor<'_>,
    organization_id: &str,
    site_id: &str,
    name: Name,
    tags: &[Tag],
) -> AppResult<assets::Model> {
    let asset = assets::ActiveModel {
        id: Set(IdKind::Asset.new_id()),
        organization_id: Set(organization_id.to_owned()),
        site_id: Set(site_id.to_owned()),
        name: Set(name.into_inner()),
        tags: Set(tags_json(tags)),
        in_maintenance: Set(false),
        created_at: Set(now_micros()),
    }
    .insert(conn)
    .await?;
    record_created(
        conn,
        actor,
        organization_id,
        "asset",
        &asset.id,
        json!({ "name": asset.name, "siteId": asset.site_id, "tags": asset.tags }),
    )
    .await?;
    Ok(asset)
}

pub async fn create_user<C: ConnectionTrait>(
    conn: &C,
    actor: AuditActor<'_>,
    organization_id: &str,
    account_id: &str,
    name: Name,
    email: Email,
    can_login: bool,
) -> AppResult<users::Model> {
    let email = email.into_inner();
    let taken = users::Entity::find()
        .filter(users::Column::OrganizationId.eq(organization_id))
        .filter(users::Column::Email.eq(&email))
        .one(conn)
        .await?
        .is_some();
    if taken {
        return Err(AppError::bad_input("email", "a user with this e-mail address exists"));
    }
    let user = users::ActiveModel {
        id: Set(IdKind::User.new_id()),
        organization_id: Set(organization_id.to_owned()),
        account_id: Set(account_id.to_owned()),
        name: Set(name.into_inner()),
        email: Set(email),
        active: Set(true),
        can_login: Set(can_login),
        hourly_rate_cents: Set(None),
        created_at: Set(now_micros()),
    }
    .insert(conn)
    .await?;
    record_created(
        conn,
        actor,
        organization_id,
        "user",
        &user.id,
        json!({ "name": user.name, "accountId": user.account_id, "canLogin": can_login }),
    )
    .await?;
    Ok(user)
}

/// Grants a role; granting one the user already holds changes nothing.
/// `scope_target` is the site or site group id ("" for the account).
pub async fn grant_role<C: ConnectionTrait>(
    conn: &C,
    actor: AuditActor<'_>,
    organization_id: &str,
    user_id: &str,
    role: Role,
    scope_kind: ScopeKind,
    scope_target: &str,
) -> AppResult<()> {
    let held = role_bindings::Entity::find_by_id((
        user_id.to_owned(),
        role.as_str().to_owned(),
        scope_kind.as_str().to_owned(),
        scope_target.to_owned(),
    ))
    .one(conn)
    .await?
    .is_some();
    if held {
        return Ok(());
    }
    role_bindings::ActiveModel {
        user_id: Set(user_id.to_owned()),
        role: Set(role.as_str().to_owned()),
        scope_kind: Set(scope_kind.as_str().to_owned()),
        scope_target: Set(scope_target.to_owned()),
        created_at: Set(now_micros()),
    }
    .insert(conn)
    .await?;
    let binding = json!({ "role": role.as_str(), "scopeKind": scope_kind.as_str(), "scope": scope_target });
    audit_change(
        conn,
        actor,
        organization_id,
        "user.grant_role",
        "user",
        user_id,
        json!({ "roleBindings": [null, binding] }),
    )
    .await
}

/// Revokes a role binding; revoking one the user does not hold changes
/// nothing. The next request of that user runs without it.
pub async fn revoke_role<C: ConnectionTrait>(
    conn: &C,
    actor: AuditActor<'_>,
    organization_id: &str,
    user_id: &str,
    role: Role,
    scope_kind: ScopeKind,
    scope_target: &str,
) -> AppResult<()> {
    let removed = role_bindings::Entity::delete_by_id((
        user_id.to_owned(),
        role.as_str().to_owned(),
        scope_kind.as_str().to_owned(),
        scope_target.to_owned(),
    ))
    .exec(conn)
    .await?
    .rows_affected;
    if removed == 0 {
        return Ok(());
    }
    let binding = json!({ "role": role.as_str(), "scopeKind": scope_kind.as_str(), "scope": scope_target });
    audit_change(
        conn,
        actor,
        organization_id,
        "user.revoke_role",
        "user",
        user_id,
        json!({ "roleBindings": [binding, null] }),
    )
    .await
}

/// New values for an account's switches; `None` leaves one as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct SettingsChange {
    pub requester_sees_asset_orders: Option<bool>,
    pub non_admin_vendor_override: Option<bool>,
    pub planner_may_delete: Option<bool>,
}

/// Changes an account's settings, recording each switch that changed.
pub async fn update_account_settings<C: ConnectionTrait>(
    conn: &C,
    actor: AuditActor<'_>,
    organization_id: &str,
    account_id: &str,
    change: SettingsChange,
) -> AppResult<account_settings::Model> {
    let current = match account_settings::Entity::find_by_id(account_id).one(conn).await? {
        Some(row) => row,
        None => {
            account_settings::ActiveModel {
                account_id: Set(account_id.to_owned()),
                requester_sees_asset_orders: Set(false),
                non_admin_vendor_override: Set(false),
                planner_may_delete: Set(false),
                updated_at: Set(now_micros()),
            }
            .insert(conn)
            .await?
        }
    };
    let mut changes = serde_json::Map::new();
    let mut model: account_settings::ActiveModel = current.clone().into();
    let mut apply = |name: &str, before: bool, after: Option<bool>, field: &mut sea_orm::ActiveValue<bool>| {
        if let Some(after) = after.filter(|a| *a != before) {
            changes.insert(name.to_owned(), json!([before, after]));
            *field = Set(after);
        }
    };
    apply(
        "requesterSeesAssetOrders",
        current.requester_sees_asset_orders,
        change.requester_sees_asset_orders,
        &mut model.requester_sees_asset_orders,
    );
    apply(
        "nonAdminVendorOverride",
        current.non_admin_vendor_override,
        change.non_admin_vendor_override,
        &mut model.non_admin_vendor_override,
    );
    apply("plannerMayDelete", current.planner_may_delete, change.planner_may_delete, &mut model.planner_may_delete);
    if changes.is_empty() {
        return Ok(current);
    }
    model.updated_at = Set(now_micros());
    let updated = model.update(conn).await?;
    audit_change(
        conn,
        actor,
        organization_id,
        "account.update_settings",
        "account",
        account_id,
        serde_json::Value::Object(changes),
    )
    .await?;
    Ok(updated)
}

/// Activates or deactivates a user; a deactivated user's tokens stop working
/// on their next request.
pub async fn set_user_active<C: ConnectionTrait>(
    conn: &C,
    actor: AuditActor<'_>,
    user: users::Model,
    active: bool,
) -> AppResult<users::Model> {
    if user.active == active {
        return Ok(user);
    }
    let (organization_id, id, before) = (user.organization_id.clone(), user.id.clone(), user.active);
    let mut model: users::ActiveModel = user.into();
    model.active = Set(active);
    let user = model.update(conn).await?;
    audit_change(conn, actor, &organization_id, "user.set_active", "user", &id, json!({ "active": [before, active] }))
        .await?;
    Ok(user)
}

/// A newly issued API token and its secret, which is shown only this once.
pub struct IssuedToken {
    pub token: api_tokens::Model,
    pub secret: String,
}

pub struct NewApiToken<'a> {
    pub organization_id: &'a str,
    pub account_id: &'a str,
    pub name: Name,
    pub capabilities: Vec<String>,
    pub partner_vendor_id: Option<String>,
    pub expires_at: Option<i64>,
    pub created_by: Option<String>,
}

pub async fn issue_api_token<C: ConnectionTrait>(
    conn: &C,
    actor: AuditActor<'_>,
    new: NewApiToken<'_>,
) -> AppResult<IssuedToken> {
    let secret = api_token::generate();
    let token = api_tokens::ActiveModel {
        id: Set(IdKind::ApiToken.new_id()),
        organization_id: Set(new.organization_id.to_owned()),
        account_id: Set(new.account_id.to_owned()),
        name: Set(new.name.into_inner()),
        secret_hash: Set(secret.hash),
        capabilities: Set(serde_json::Value::from(new.capabilities).to_string()),
        partner_vendor_id: Set(new.partner_vendor_id),
        created_by: Set(new.created_by),
        created_at: Set(now_micros()),
        expires_at: Set(new.expires_at),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(conn)
    .await?;
    record_created(
        conn,
        actor,
        new.organization_id,
        "api_token",
        &token.id,
        json!({ "name": token.name, "capabilities": token.capabilities }),
    )
    .await?;
    Ok(IssuedToken { token, secret: secret.secret })
}

pub async fn revoke_api_token<C: ConnectionTrait>(
    conn: &C,
    actor: AuditActor<'_>,
    token: api_tokens::Model,
) -> AppResult<api_tokens::Model> {
    if token.revoked_at.is_some() {
        return Ok(token);
    }
    let (organization_id, id) = (token.organization_id.clone(), token.id.clone());
    let now = now_micros();
    let mut model: api_tokens::ActiveModel = token.into();
    model.revoked_at = Set(Some(now));
    let token = model.update(conn).await?;
    audit_change(
        conn,
        actor,
        &organization_id,
        "api_token.revoke",
        "api_token",
        &id,
        json!({ "revoked": [false, true] }),
    )
    .await?;
    Ok(token)
}

pub(crate) async fn record_created<C: ConnectionTrait>(
    conn: &C,
    actor: AuditActor<'_>,
    organization_id: &str,
    entity_type: &str,
    entity_id: &str,
    fields: serde_json::Value,
) -> AppResult<()> {
    let changes = match fields {
        serde_json::Value::Object(map) => map.into_iter().map(|(k, v)| (k, json!([null, v]))).collect(),
        other => other,
    };
    audit_change(conn, actor, organization_id, &format!("{entity_type}.create"), entity_type, entity_id, changes).await
}

pub(crate) async fn audit_change<C: ConnectionTrait>(
    conn: &C,
    actor: AuditActor<'_>,
    organization_id: &str,
    action: &str,
    entity_type: &str,
    entity_id: &str,
    changes: serde_json::Value,
) -> AppResult<()> {
    audit::record(
        conn,
        actor,
        AuditEntry { organization_id, action, entity_type, entity_id, order_id: None, changes, reason: None },
    )
    .await
}

fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(err.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}
