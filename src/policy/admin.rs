//! Organization administration: who manages accounts, sites, assets, users,
//! role bindings and API tokens, and which of those records a caller lists.
//!
//! Reach follows scope: a root-account principal reaches every account of the
//! organization, a child-account principal its own account only.
//!
//! Reports (DOMAIN.md sections 5 and 9) are decided here too: who reads the
//! order statistics, the audit log (and which of its events, in SQL) and the
//! CSV export.

use entity::{accounts, api_tokens, assets, audit_events, orders, sites, users};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition};

use super::Decision;
use crate::auth::{Actor, BindingScope, Principal};
use crate::ids::IdKind;
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

/// A person's role among `roles` held in any binding (account, site or site
/// group); tokens hold none.
fn any_binding(principal: &Principal, roles: &[Role]) -> Option<Role> {
    let Actor::User(user) = &principal.actor else { return None };
    roles.iter().copied().find(|role| user.bindings.iter().any(|b| b.role == *role))
}

/// `orderStats` (DOMAIN.md section 9): ADMIN, PLANNER and TECHNICIAN
/// (read-only, seed 004) in any binding. The figures cover only the orders
/// the caller sees ([`super::filter::visible_orders`]), so a site-bound
/// binding yields that site's figures.
pub fn read_stats(principal: &Principal) -> Decision {
    if is_token(principal) {
        return Decision::deny("API tokens do not read metrics");
    }
    match any_binding(principal, &[Role::Admin, Role::Planner, Role::Technician]) {
        Some(Role::Admin) => Decision::allow("ADMIN reads metrics"),
        Some(Role::Planner) => Decision::allow("PLANNER reads metrics"),
        Some(_) => Decision::allow("TECHNICIAN reads metrics (read-only)"),
        None => Decision::deny("metrics are read by ADMIN, PLANNER and TECHNICIAN"),
    }
}

/// `GET /export/orders.csv` (DOMAIN.md section 9): ADMIN in any binding; the
/// rows are the orders the caller sees.
pub fn export_orders(principal: &Principal) -> Decision {
    if is_token(principal) {
        return Decision::deny("API tokens do not export orders");
    }
    match any_binding(principal, &[Role::Admin]) {
        Some(_) => Decision::allow("ADMIN exports the orders they see"),
        None => Decision::deny("only ADMIN exports orders"),
    }
}

/// Schema introspection in production (`WORKGATE_ENV=production`): ADMIN
/// in any binding; everyone else works from the published contract, so a
/// stranger's probing learns nothing from the schema. Outside production
/// anyone may introspect.
pub fn introspect(principal: Option<&Principal>) -> Decision {
    match principal.and_then(|p| any_binding(p, &[Role::Admin])) {
        Some(_) => Decision::allow("ADMIN introspects the schema"),
        None => Decision::deny("in production only ADMIN introspects the schema"),
    }
}

/// `auditLog` beyond one order's history (DOMAIN.md section 5: "ADMIN reads
/// the whole log"): ADMIN in any binding. Which events, [`visible_audit_events`]
/// says; one order's history is `order::read_history`.
pub fn read_audit_log(principal: &Principal) -> Decision {
    if is_token(principal) {
        return Decision::deny("API tokens do not read the audit log");
    }
    match any_binding(principal, &[Role::Admin]) {
        Some(_) => Decision::allow("ADMIN reads the audit log"),
        None => Decision::deny(
            "the audit log is read by ADMIN; PLANNER reads the history of one order in scope (give `orderId`)",
        ),
    }
}

/// The audit events ADMIN reads, as SQL:
///
/// - ADMIN bound at account level in the root account: every event of the
///   organization (deleted orders' included: their history stays);
/// - any other ADMIN: the events of the orders they see, and, when bound at
///   account level, the events of their account's records (the account, its
///   users, sites, assets and API tokens). Never another child account's.
///
/// Nothing for everyone else.
pub fn visible_audit_events(principal: &Principal) -> Condition {
    let base = Condition::all().add(audit_events::Column::OrganizationId.eq(principal.organization_id.as_str()));
    if any_binding(principal, &[Role::Admin]).is_none() {
        return base.add(Expr::val(1).eq(0));
    }
    let account_admin = account_role(principal, &[Role::Admin], &principal.account_id).is_some();
    if account_admin && principal.root_account {
        return base;
    }
    let visible = Query::select()
        .column((orders::Entity, orders::Column::Id))
        .from(orders::Entity)
        .cond_where(super::filter::visible_orders(principal))
        .take();
    let mut any = Condition::any().add(audit_events::Column::OrderId.in_subquery(visible));
    if account_admin {
        any = any.add(records_of_account(&principal.account_id));
    }
    base.add(any)
}

/// Audit events about the records of one account (entity types as written
/// by `org::service`). Organization-wide records (the organization, site
/// groups) belong to the root account's log.
fn records_of_account(account_id: &str) -> Condition {
    let about = |entity_type: &str, ids: SelectStatement| {
        Condition::all()
            .add(audit_events::Column::EntityType.eq(entity_type))
            .add(audit_events::Column::EntityId.in_subquery(ids))
    };
    let sites_of_account = || {
        Query::select()
            .column(sites::Column::Id)
            .from(sites::Entity)
            .and_where(sites::Column::AccountId.eq(account_id))
            .take()
    };
    Condition::any()
        .add(
            Condition::all()
                .add(audit_events::Column::EntityType.eq("account"))
                .add(audit_events::Column::EntityId.eq(account_id)),
        )
        .add(about(
            "user",
            Query::select()
                .column(users::Column::Id)
                .from(users::Entity)
                .and_where(users::Column::AccountId.eq(account_id))
                .take(),
        ))
        .add(about("site", sites_of_account()))
        .add(about(
            "asset",
            Query::select()
                .column(assets::Column::Id)
                .from(assets::Entity)
                .and_where(assets::Column::SiteId.in_subquery(sites_of_account()))
                .take(),
        ))
        .add(about(
            "api_token",
            Query::select()
                .column(api_tokens::Column::Id)
                .from(api_tokens::Entity)
                .and_where(api_tokens::Column::AccountId.eq(account_id))
                .take(),
        ))
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

/// Accounts the caller sees (`Account.children`): the root sees every
/// account; a child account its own and the root.
pub fn visible_account_rows(principal: &Principal) -> Condition {
    Condition::all()
        .add(accounts::Column::OrganizationId.eq(principal.organization_id.as_str()))
        .add(visible_accounts(principal, Expr::col((accounts::Entity, accounts::Column::Id))))
}

/// `sites`: sites of the accounts the caller sees; tokens list none (they
/// query orders and vendors, section 2).
pub fn visible_sites(principal: &Principal) -> Condition {
    let base = Condition::all().add(sites::Column::OrganizationId.eq(principal.organization_id.as_str()));
    if is_token(principal) {
        return base.add(Expr::val(1).eq(0));
    }
    base.add(visible_accounts(principal, Expr::col((sites::Entity, sites::Column::AccountId))))
}

/// `node(id)`: which kinds of object a principal may look up by id (each
/// then by its own visibility rule). Tokens query orders and vendors only
/// (section 2); people any kind.
pub fn look_up(principal: &Principal, kind: IdKind) -> Decision {
    if !is_token(principal) || matches!(kind, IdKind::Order | IdKind::Vendor) {
        Decision::allow("looked up by its own visibility rule")
    } else {
        Decision::deny("API tokens look up orders and vendors only")
    }
}

/// `assets`: assets at the sites the caller sees (so none for tokens).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{RoleBinding, TokenActor, UserActor};

    fn person(root: bool, bindings: &[(Role, BindingScope)]) -> Principal {
        Principal {
            organization_id: "org_1".into(),
            account_id: if root { "acc_root" } else { "acc_a" }.into(),
            root_account: root,
            settings: Default::default(),
            actor: Actor::User(UserActor {
                user_id: "usr_1".into(),
                bindings: bindings
                    .iter()
                    .map(|(role, scope)| RoleBinding { role: *role, scope: scope.clone() })
                    .collect(),
            }),
        }
    }

    fn token() -> Principal {
        Principal {
            actor: Actor::Token(TokenActor {
                token_id: "tok_1".into(),
                name: "erp".into(),
                capabilities: vec!["orders:read".into()],
                partner_vendor_id: None,
            }),
            ..person(true, &[])
        }
    }

    #[test]
    fn who_reads_reports() {
        let site = || BindingScope::Site("sit_1".into());
        for role in [Role::Admin, Role::Planner, Role::Technician] {
            assert!(read_stats(&person(false, &[(role, site())])).allowed, "{role:?}");
        }
        for role in [Role::Approver, Role::Requester, Role::Viewer] {
            assert!(!read_stats(&person(true, &[(role, BindingScope::Account)])).allowed, "{role:?}");
        }
        assert!(!read_stats(&token()).allowed);

        let site_admin = person(false, &[(Role::Admin, site())]);
        assert!(export_orders(&site_admin).allowed && read_audit_log(&site_admin).allowed);
        let planner = person(true, &[(Role::Planner, BindingScope::Account)]);
        assert!(!export_orders(&planner).allowed && !read_audit_log(&planner).allowed);
        assert!(!export_orders(&token()).allowed && !read_audit_log(&token()).allowed);
    }

    fn sql(condition: Condition) -> String {
        use sea_orm::{DbBackend, EntityTrait, QueryFilter, QueryTrait};
        audit_events::Entity::find().filter(condition).build(DbBackend::Sqlite).to_string()
    }

    #[test]
    fn audit_events_by_reach() {
        let root_admin = sql(visible_audit_events(&person(true, &[(Role::Admin, BindingScope::Account)])));
        assert!(root_admin.contains("'org_1'") && !root_admin.contains("orders") && !root_admin.contains("1 = 0"));

        // A child account's admin: visible orders and the account's records.
        let child_admin = sql(visible_audit_events(&person(false, &[(Role::Admin, BindingScope::Account)])));
        assert!(child_admin.contains("\"orders\"") && child_admin.contains("\"users\""), "{child_admin}");
        assert!(child_admin.contains("'acc_a'"), "{child_admin}");

        // A site-bound root admin is not the root's account admin: orders only.
        let site_admin = sql(visible_audit_events(&person(true, &[(Role::Admin, BindingScope::Site("sit_1".into()))])));
        assert!(site_admin.contains("\"orders\"") && !site_admin.contains("\"users\""), "{site_admin}");

        for nobody in [person(true, &[(Role::Planner, BindingScope::Account)]), token()] {
            assert!(sql(visible_audit_events(&nobody)).contains("1 = 0"));
        }
    }
}
