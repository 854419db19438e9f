//! The authenticated caller, as every layer after the edge sees it.

use crate::org::model::Role;

/// Who is calling: a person (by JWT) or an API token. Organization and
/// account always come from the database, never from the request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    pub organization_id: String,
    pub account_id: String,
    /// The principal's account is the organization's root account (no scope
    /// tag: it sees every scope).
    pub root_account: bool,
    /// The switches of the principal's account (DOMAIN.md "where the account
    /// allows it"), loaded with the principal on every request.
    pub settings: AccountSwitches,
    pub actor: Actor,
}

/// Account settings the policy consults; all off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AccountSwitches {
    pub requester_sees_asset_orders: bool,
    pub non_admin_vendor_override: bool,
    pub planner_may_delete: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    User(UserActor),
    Token(TokenActor),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserActor {
    pub user_id: String,
    /// Loaded on every request, so a revoked role stops working at once.
    pub bindings: Vec<RoleBinding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenActor {
    pub token_id: String,
    pub name: String,
    pub capabilities: Vec<String>,
    /// Set on partner tokens: the only vendor whose orders they read.
    pub partner_vendor_id: Option<String>,
}

/// A role held at a scope, with site groups resolved to their sites.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoleBinding {
    pub role: Role,
    pub scope: BindingScope,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BindingScope {
    Account,
    Site(String),
    SiteGroup { id: String, site_ids: Vec<String> },
}

impl TokenActor {
    pub fn has_capability(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

impl Principal {
    /// The user behind this principal, if it is a person.
    pub fn user_id(&self) -> Option<&str> {
        match &self.actor {
            Actor::User(u) => Some(&u.user_id),
            Actor::Token(_) => None,
        }
    }
}
