//! Organization administration: who manages accounts, sites, assets, users,
//! role bindings and API tokens, and which of those records a caller lists.
//!
//! Reach follows scope: a root-account principal reaches every account of the
//! organization, a child-account principal its own account only.

use entity::{accounts, api_tokens, assets, sites, users};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition};

use super::Decision;
use crate::auth::{Actor, BindingScope, Principal};
use crate::org::model::Role;

/// Whether an account-level binding of one of `roles` reaches `account_id`.
fn account_role(principal: &Principal, roles: &[Role], account_id: &str) -> Option<Role> {
    let Actor::User(user) = &principal.actor else { return None };
    if !(principal.root_account || principal.account_id == account_id) {
        return None;
    }
    user.bindings.iter().find(|b| b.scope == BindingScope::Account && roles.contains(&b.role)).map(|b| b.role)
}

fn is_token(principal: &Principal) -> bool {
    matches!(principal.actor, Actor::Token(_))
}

/// Users, role bindings, API tokens, account settings: ADMIN over the
/// account.
pub fn administer(principal: &Principal, account_id: &str) -> Decision {
    if is_token(principal) {
        return Decision::deny("API tokens do not administer the organization");
    }
    match account_role(principal, &[Role::Admin], account_id) {
        Some(_) => Decision::allow("ADMIN over the account"),
        None => Decision::deny("only ADMIN over the account administers it"),
    }
}

/// New child accounts: ADMIN of the root account only (a child account's
/// admin cannot see sibling or grandchild scopes).
pub fn create_account(principal: &Principal) -> Decision {
    if is_token(principal) {
        return Decision::deny("API tokens do not administer the organization");
    }
    match account_role(principal, &[Role::Admin], &principal.account_id) {
        Some(_) if principal.root_account => Decision::allow("ADMIN of the root account"),
        _ => Decision::deny("only ADMIN of the root account creates accounts"),
    }
}

/// Sites and site groups ("locations"): ADMIN or PLANNER over the account.
pub fn manage_locations(principal: &Principal, account_id: &str) -> Decision {
    if is_token(principal) {
        return Decision::deny("API tokens do not manage locations");
    }
    match account_role(principal, &[Role::Admin, Role::Planner], account_id) {
        Some(Role::Admin) => Decision::allow("ADMIN over the account"),
        Some(_) => Decision::allow("PLANNER over the account manages locations"),
        None => Decision::deny("sites are managed by ADMIN and PLANNER over the account"),
    }
}

/// Assets: ADMIN or PLANNER over the site's account, or bound at the site
/// (directly or through a site group).
pub fn manage_assets(principal: &Principal, site_id: &str, site_account_id: &str) -> Decision {
    let by_account = manage_locations(principal, site_account_id);
    if by_account.allowed {
        return by_account;
    }
    let Actor::User(user) = &principal.actor else { return by_account };
    let at_site = user.bindings.iter().any(|b| {
        matches!(b.role, Role::Admin | Role::Planner)
            && match &b.scope {
                BindingScope::Account => false,
                BindingScope::Site(site) => site == site_id,
                BindingScope::SiteGroup { site_ids, .. } => site_ids.iter().any(|s| s == site_id),
            }
    });
    if at_site && super::scope::scope_visible(principal, Some(site_account_id)) {
        Decision::allow("ADMIN or PLANNER bound at the site")
    } else {
        Decision::deny("assets are managed by ADMIN and PLANNER over the site")
    }
}

/// `explainAccess`: ADMIN over the account of the user asked about.
pub fn explain(principal: &Principal, user_account_id: &str) -> Decision {
    administer(principal, user_account_id)
}

/// Accounts whose records (users, sites) the principal sees: the root sees
/// all; a child account sees its own and the organization-wide root's.
fn visible_accounts(principal: &Principal, column: Expr) -> Condition {
    if principal.root_account {
        return Condition::all();
    }
    Condition::any().add(column.clone().eq(principal.account_id.as_str())).add(
        column.in_subquery(
            Query::select()
                .column(accounts::Column::Id)
                .from(accounts::Entity)
                .and_where(accounts::Column::OrganizationId.eq(principal.organization_id.as_str()))
                .and_where(accounts::Column::ParentId.is_null())
                .take(),
        ),
    )
}

/// `users`: people of the accounts the caller sees; tokens list nobody.
pub fn visible_users(principal: &Principal) -> Condition {
    let base = Condition::all().add(users::Column::OrganizationId.eq(principal.organization_id.as_str()));
    if is_token(principal) {
        return base.add(Expr::val(1).eq(0));
    }
    base.add(visible_accounts(principal, Expr::col((users::Entity, users::Column::AccountId))))
}

/// `sites`: sites of the accounts the caller sees.
pub fn visible_sites(principal: &Principal) -> Condition {
    Condition::all()
        .add(sites::Column::OrganizationId.eq(principal.organization_id.as_str()))
        .add(visible_accounts(principal, Expr::col((sites::Entity, sites::Column::AccountId))))
}

/// `assets`: assets at the sites the caller sees.
pub fn visible_assets(principal: &Principal) -> Condition {
    Condition::all().add(assets::Column::OrganizationId.eq(principal.organization_id.as_str())).add(
        assets::Column::SiteId.in_subquery(
            Query::select().column(sites::Column::Id).from(sites::Entity).cond_where(visible_sites(principal)).take(),
        ),
    )
}

/// `apiTokens`: ADMIN lists the tokens of the accounts they administer.
pub fn visible_api_tokens(principal: &Principal) -> Condition {
    let base = Condition::all().add(api_tokens::Column::OrganizationId.eq(principal.organization_id.as_str()));
    match account_role(principal, &[Role::Admin], &principal.account_id) {
        None => base.add(Expr::val(1).eq(0)),
        Some(_) if principal.root_account => base,
        Some(_) => base.add(api_tokens::Column::AccountId.eq(principal.account_id.as_str())),
    }
}
