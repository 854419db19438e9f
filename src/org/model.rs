//! Organization vocabulary: roles and the scopes a role is bound at.

use async_graphql::Enum;

/// Roles, strongest first (DOMAIN.md section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Enum)]
pub enum Role {
    Admin,
    Planner,
    Approver,
    Technician,
    Requester,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 6] =
        [Self::Admin, Self::Planner, Self::Approver, Self::Technician, Self::Requester, Self::Viewer];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "ADMIN",
            Self::Planner => "PLANNER",
            Self::Approver => "APPROVER",
            Self::Technician => "TECHNICIAN",
            Self::Requester => "REQUESTER",
            Self::Viewer => "VIEWER",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }
}

/// Where a role binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
pub enum ScopeKind {
    Account,
    Site,
    SiteGroup,
}

impl ScopeKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Account => "ACCOUNT",
            Self::Site => "SITE",
            Self::SiteGroup => "SITE_GROUP",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Account, Self::Site, Self::SiteGroup].into_iter().find(|k| k.as_str() == value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        for kind in [ScopeKind::Account, ScopeKind::Site, ScopeKind::SiteGroup] {
            assert_eq!(ScopeKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Role::parse("admin"), None);
    }
}
