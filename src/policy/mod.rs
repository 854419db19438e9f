//! The policy: the one place that decides what a principal may see and do.
//! Pure: it reads the principal and the facts it is given and does no I/O.
//!
//! - [`order::decide`]: every action of the contract on one order, with the
//!   rule that decided it;
//! - [`filter::visible_orders`]: the same View rule as an SQL condition
//!   ([`filter::visible_order`] for one order);
//! - field guards (costs, notes, history, partner fields) in [`order`];
//! - the organization's own records (users, accounts, administration) here.

mod action;
pub mod admin;
pub mod filter;
pub mod order;
pub mod procurement;
pub mod queues;
pub mod schema;
pub mod scope;
pub mod vendor_filter;

pub use action::Action;
pub use order::{CostAccess, OrderFacts, PendingStep, decide};

use crate::auth::{Actor, BindingScope, Principal};
use crate::org::model::Role;

/// An answer with the rule that produced it, for `explainAccess` and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub reason: &'static str,
}

impl Decision {
    pub const fn allow(reason: &'static str) -> Self {
        Self { allowed: true, reason }
    }
    pub const fn deny(reason: &'static str) -> Self {
        Self { allowed: false, reason }
    }

    /// The decision as a result: a refusal is FORBIDDEN with its reason.
    pub fn require(self) -> crate::error::AppResult<()> {
        if self.allowed { Ok(()) } else { Err(crate::error::AppError::forbidden(self.reason)) }
    }
}

/// Whether the principal holds `role` bound at account level over the
/// account `account_id` (its own account, or any account from the root).
pub fn holds_account_role(principal: &Principal, role: Role, account_id: &str) -> bool {
    let Actor::User(user) = &principal.actor else {
        return false;
    };
    let covers = principal.root_account || principal.account_id == account_id;
    covers && user.bindings.iter().any(|b| b.role == role && b.scope == BindingScope::Account)
}

/// Whether an account is visible: root-account principals see every account
/// of the organization; others see their own account and the root.
pub fn account_visible(principal: &Principal, account_id: &str, account_is_root: bool) -> Decision {
    if principal.root_account {
        Decision::allow("root account sees every account")
    } else if principal.account_id == account_id {
        Decision::allow("own account")
    } else if account_is_root {
        Decision::allow("every account sees the organization's root")
    } else {
        Decision::deny("another account's scope")
    }
}

/// `User.email` and `User.roleBindings`: the user themself, or ADMIN over
/// the user's account.
pub fn read_user_private(principal: &Principal, user_id: &str, user_account_id: &str) -> Decision {
    if principal.user_id() == Some(user_id) {
        Decision::allow("the user themself")
    } else if holds_account_role(principal, Role::Admin, user_account_id) {
        Decision::allow("ADMIN over the user's account")
    } else {
        Decision::deny("only the user themself and ADMIN read this field")
    }
}

/// Vendor and rule configuration (`Vendor.contactEmails`, `.approvers`,
/// `.conditions`, `ApprovalStep.approvers`): ADMIN, and PLANNER read-only.
pub fn read_procurement_config(principal: &Principal) -> Decision {
    let Actor::User(user) = &principal.actor else {
        return Decision::deny("API tokens do not read vendor and rule configuration");
    };
    if user.bindings.iter().any(|b| b.role == Role::Admin) {
        Decision::allow("ADMIN")
    } else if user.bindings.iter().any(|b| b.role == Role::Planner) {
        Decision::allow("PLANNER reads procurement configuration")
    } else {
        Decision::deny("vendor and rule configuration is read by ADMIN and PLANNER")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{RoleBinding, TokenActor, UserActor};

    fn user(id: &str, account: &str, root: bool, roles: &[Role]) -> Principal {
        Principal {
            organization_id: "org_1".into(),
            account_id: account.into(),
            root_account: root,
            settings: Default::default(),
            actor: Actor::User(UserActor {
                user_id: id.into(),
                bindings: roles.iter().map(|&role| RoleBinding { role, scope: BindingScope::Account }).collect(),
            }),
        }
    }

    #[test]
    fn private_user_fields() {
        let me = user("usr_me", "acc_a", false, &[]);
        assert!(read_user_private(&me, "usr_me", "acc_a").allowed);
        assert!(!read_user_private(&me, "usr_other", "acc_a").allowed);

        let child_admin = user("usr_admin", "acc_a", false, &[Role::Admin]);
        assert!(read_user_private(&child_admin, "usr_x", "acc_a").allowed);
        assert!(!read_user_private(&child_admin, "usr_x", "acc_b").allowed);

        let root_admin = user("usr_root", "acc_root", true, &[Role::Admin]);
        assert!(read_user_private(&root_admin, "usr_x", "acc_b").allowed);

        let planner = user("usr_p", "acc_root", true, &[Role::Planner]);
        assert!(!read_user_private(&planner, "usr_x", "acc_b").allowed);

        let token = Principal {
            actor: Actor::Token(TokenActor {
                token_id: "tok_1".into(),
                name: "erp".into(),
                capabilities: vec![],
                partner_vendor_id: None,
            }),
            ..root_admin
        };
        assert!(!read_user_private(&token, "usr_x", "acc_b").allowed);
    }

    #[test]
    fn account_visibility() {
        let child = user("usr_c", "acc_a", false, &[]);
        assert!(account_visible(&child, "acc_a", false).allowed);
        assert!(account_visible(&child, "acc_root", true).allowed);
        assert!(!account_visible(&child, "acc_b", false).allowed);
        let root = user("usr_r", "acc_root", true, &[]);
        assert!(account_visible(&root, "acc_b", false).allowed);
    }
}
