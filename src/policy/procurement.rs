//! Vendors and routing rules (DOMAIN.md sections 1, 6 and 7): who manages
//! them, who reads rules, and which rules a principal sees, as SQL.
//!
//! - Managing vendors and rules is ADMIN's, bound at account level; API
//!   tokens never manage them.
//! - An organization-wide object (no scope) is changed only by an ADMIN of
//!   the root account; a scoped one by ADMIN over that account (so root
//!   admins manage every scope).
//! - Rules are configuration: ADMIN and PLANNER read them (PLANNER
//!   read-only), within the scope table of section 1.

use entity::rules;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition};

use super::{Decision, holds_account_role, read_procurement_config};
use crate::auth::{Actor, Principal};
use crate::org::model::Role;

/// Creating, changing, enabling, deleting a vendor or rule whose scope is
/// `scope_account_id` (`None`: organization-wide), and assigning rules.
pub fn manage(principal: &Principal, scope_account_id: Option<&str>) -> Decision {
    if matches!(principal.actor, Actor::Token(_)) {
        return Decision::deny("API tokens never manage vendors or rules");
    }
    match scope_account_id {
        None if principal.root_account && holds_account_role(principal, Role::Admin, &principal.account_id) => {
            Decision::allow("ADMIN of the root account manages organization-wide vendors and rules")
        }
        None => Decision::deny("only ADMIN of the root account changes organization-wide vendors and rules"),
        Some(account) if holds_account_role(principal, Role::Admin, account) => {
            Decision::allow("ADMIN over the account manages its vendors and rules")
        }
        Some(_) => Decision::deny("vendors and rules of an account are managed by ADMIN over that account"),
    }
}

/// Whether a rule of scope `rule_scope` may route to a vendor of scope
/// `vendor_scope`: an organization-wide side fits anything; two scoped sides
/// must be the same account.
pub fn assignment_compatible(rule_scope: Option<&str>, vendor_scope: Option<&str>) -> Decision {
    match (rule_scope, vendor_scope) {
        (Some(rule), Some(vendor)) if rule != vendor => {
            Decision::deny("the rule and the vendor belong to different accounts")
        }
        _ => Decision::allow("compatible scopes"),
    }
}

/// The `rules` query and `node(id)` of a rule: ADMIN and PLANNER (any
/// binding); everyone else, tokens included, is refused.
pub fn read_rules(principal: &Principal) -> Decision {
    read_procurement_config(principal)
}

/// The rules a principal sees: none unless [`read_rules`] allows, else those
/// of its organization in its visible scope (root: all; child account: its
/// own and the organization-wide ones).
pub fn visible_rules(principal: &Principal) -> Condition {
    let c = Condition::all().add(rules::Column::OrganizationId.eq(principal.organization_id.as_str()));
    if !read_rules(principal).allowed {
        return c.add(Expr::val(1).eq(0));
    }
    if principal.root_account {
        return c;
    }
    c.add(
        Condition::any()
            .add(rules::Column::ScopeAccountId.is_null())
            .add(rules::Column::ScopeAccountId.eq(principal.account_id.as_str())),
    )
}

/// `previewVendorResolution` shows rules and their configuration: ADMIN and
/// PLANNER (who read it, section 6), and API tokens that create orders
/// (section 2: tokens "preview vendor resolution").
pub fn preview_resolution(principal: &Principal) -> Decision {
    match &principal.actor {
        Actor::Token(token) if token.partner_vendor_id.is_some() => Decision::deny(super::order::PARTNER_READS_ONLY),
        Actor::Token(token) if token.has_capability(super::order::ORDERS_WRITE) => {
            Decision::allow("API token with orders:write previews routing")
        }
        Actor::Token(_) => Decision::deny("previewing routing needs the orders:write capability"),
        Actor::User(_) => read_procurement_config(principal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{BindingScope, RoleBinding, TokenActor, UserActor};

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

    fn admin(root: bool) -> Principal {
        person(root, &[(Role::Admin, BindingScope::Account)])
    }

    #[test]
    fn organization_wide_objects_are_root_admins() {
        assert!(manage(&admin(true), None).allowed);
        assert!(!manage(&admin(false), None).allowed);
        let planner = person(true, &[(Role::Planner, BindingScope::Account)]);
        assert!(!manage(&planner, None).allowed);
        let site_admin = person(true, &[(Role::Admin, BindingScope::Site("sit_1".into()))]);
        assert!(!manage(&site_admin, None).allowed, "a site binding is not the account's");
    }

    #[test]
    fn scoped_objects_are_their_accounts_admins() {
        assert!(manage(&admin(false), Some("acc_a")).allowed);
        assert!(!manage(&admin(false), Some("acc_b")).allowed);
        assert!(manage(&admin(true), Some("acc_b")).allowed, "root admins manage every scope");
        for role in [Role::Planner, Role::Approver, Role::Requester, Role::Technician, Role::Viewer] {
            assert!(!manage(&person(false, &[(role, BindingScope::Account)]), Some("acc_a")).allowed, "{role:?}");
        }
    }

    #[test]
    fn tokens_never_manage() {
        let token = Principal {
            actor: Actor::Token(TokenActor {
                token_id: "tok_1".into(),
                name: "erp".into(),
                capabilities: vec!["vendors:read".into()],
                partner_vendor_id: None,
            }),
            ..admin(true)
        };
        assert!(!manage(&token, None).allowed && !manage(&token, Some("acc_a")).allowed);
        assert!(!read_rules(&token).allowed);
    }

    #[test]
    fn assignment_scopes() {
        assert!(assignment_compatible(None, Some("acc_a")).allowed);
        assert!(assignment_compatible(Some("acc_a"), None).allowed);
        assert!(assignment_compatible(Some("acc_a"), Some("acc_a")).allowed);
        assert!(!assignment_compatible(Some("acc_a"), Some("acc_b")).allowed);
    }

    fn sql(condition: Condition) -> String {
        use sea_orm::{DbBackend, EntityTrait, QueryFilter, QueryTrait};
        let sql = rules::Entity::find().filter(condition).build(DbBackend::Sqlite).to_string();
        sql.split_once(" WHERE ").map(|(_, filter)| filter.to_owned()).unwrap_or_default()
    }

    #[test]
    fn rules_by_scope_and_role() {
        assert!(!sql(visible_rules(&admin(true))).contains("scope_account_id"));
        let child = sql(visible_rules(&person(false, &[(Role::Planner, BindingScope::Account)])));
        assert!(child.contains("'acc_a'") && child.contains("IS NULL"), "{child}");
        let requester = sql(visible_rules(&person(true, &[(Role::Requester, BindingScope::Account)])));
        assert!(requester.contains("1 = 0"), "{requester}");
    }
}
