//! Scope: which accounts' objects a principal sees, and which of its role
//! bindings cover a given site.

use crate::auth::{BindingScope, Principal, UserActor};
use crate::org::model::Role;

/// DOMAIN.md section 1: root-account principals see every scope; a child
/// account sees its own scope and organization-wide objects (no scope).
pub fn scope_visible(principal: &Principal, scope_account_id: Option<&str>) -> bool {
    let viewer = (!principal.root_account).then_some(principal.account_id.as_str());
    sees_scope(viewer, scope_account_id)
}

/// Section 1's table itself: from the scope `viewer` (`None`: the root,
/// which sees everything), is an object of scope `object` visible? Orders
/// take the viewer's place when routing picks rules and vendors for them.
pub fn sees_scope(viewer: Option<&str>, object: Option<&str>) -> bool {
    viewer.is_none() || object.is_none() || object == viewer
}

/// The roles whose bindings cover an object: an ACCOUNT binding covers
/// everything in the principal's visible scope, a SITE or SITE_GROUP binding
/// the objects at its sites (and in the visible scope).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoleSet(u8);

impl RoleSet {
    const fn bit(role: Role) -> u8 {
        1 << role as u8
    }

    pub fn covering(principal: &Principal, user: &UserActor, scope: Option<&str>, site_id: Option<&str>) -> Self {
        if !scope_visible(principal, scope) {
            return Self::default();
        }
        let mut set = 0;
        for binding in &user.bindings {
            if binding_covers(&binding.scope, site_id) {
                set |= Self::bit(binding.role);
            }
        }
        Self(set)
    }

    pub const fn has(self, role: Role) -> bool {
        self.0 & Self::bit(role) != 0
    }
}

fn binding_covers(scope: &BindingScope, site_id: Option<&str>) -> bool {
    match scope {
        BindingScope::Account => true,
        BindingScope::Site(site) => site_id == Some(site.as_str()),
        BindingScope::SiteGroup { site_ids, .. } => site_id.is_some_and(|s| site_ids.iter().any(|id| id == s)),
    }
}

/// Where a set of roles reaches, for building SQL filters: everywhere in the
/// visible scope, or only at some sites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    Nowhere,
    Sites(Vec<String>),
    Everywhere,
}

/// The reach of the user's bindings of any of `roles`.
pub fn reach(user: &UserActor, roles: &[Role]) -> Reach {
    let mut sites: Vec<String> = Vec::new();
    for binding in user.bindings.iter().filter(|b| roles.contains(&b.role)) {
        match &binding.scope {
            BindingScope::Account => return Reach::Everywhere,
            BindingScope::Site(site) => sites.push(site.clone()),
            BindingScope::SiteGroup { site_ids, .. } => sites.extend(site_ids.iter().cloned()),
        }
    }
    if sites.is_empty() {
        Reach::Nowhere
    } else {
        sites.sort();
        sites.dedup();
        Reach::Sites(sites)
    }
}
