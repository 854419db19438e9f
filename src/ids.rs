//! Public identifiers: a type prefix and a time-ordered random body
//! (`ord_` + UUIDv7 in hex). They sort by creation, cannot be guessed or
//! enumerated, and tell `node(id)` which type to load. Database serials are
//! never exposed.

use std::collections::HashMap;

use uuid::Uuid;

/// The hasher of the maps a request fills keyed by ids (or by keys made of
/// them): foldhash, seeded at random, as the loaders' cache is. std's
/// SipHash in those maps was 1–4% of a dashboard page's gateway
/// instructions (BENCHMARKS.md, "Ids hashed with foldhash").
pub type IdHasher = foldhash::fast::RandomState;

/// A map keyed by ids, hashed with [`IdHasher`].
pub type ById<K, V> = HashMap<K, V, IdHasher>;

/// The kinds of object that carry a public id, with their prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Organization,
    Account,
    Site,
    SiteGroup,
    Asset,
    User,
    ApiToken,
    Vendor,
    Rule,
    Order,
    Note,
    Attachment,
    TimeEntry,
    CostLine,
    PartUsage,
    ProcedureStep,
    ApprovalStep,
    DeletionRequest,
    AuditEvent,
    VendorSend,
}

impl IdKind {
    const ALL: [IdKind; 20] = [
        Self::Organization,
        Self::Account,
        Self::Site,
        Self::SiteGroup,
        Self::Asset,
        Self::User,
        Self::ApiToken,
        Self::Vendor,
        Self::Rule,
        Self::Order,
        Self::Note,
        Self::Attachment,
        Self::TimeEntry,
        Self::CostLine,
        Self::PartUsage,
        Self::ProcedureStep,
        Self::ApprovalStep,
        Self::DeletionRequest,
        Self::AuditEvent,
        Self::VendorSend,
    ];

    pub const fn prefix(self) -> &'static str {
        match self {
            Self::Organization => "org",
            Self::Account => "acc",
            Self::Site => "site",
            Self::SiteGroup => "sgrp",
            Self::Asset => "ast",
            Self::User => "usr",
            Self::ApiToken => "tok",
            Self::Vendor => "vnd",
            Self::Rule => "rule",
            Self::Order => "ord",
            Self::Note => "note",
            Self::Attachment => "att",
            Self::TimeEntry => "time",
            Self::CostLine => "cost",
            Self::PartUsage => "part",
            Self::ProcedureStep => "step",
            Self::ApprovalStep => "apst",
            Self::DeletionRequest => "delr",
            Self::AuditEvent => "aud",
            Self::VendorSend => "send",
        }
    }

    /// A fresh id of this kind.
    pub fn new_id(self) -> String {
        format!("{}_{}", self.prefix(), Uuid::now_v7().simple())
    }

    /// The kind an id claims by its prefix, if it is well-formed.
    pub fn of(id: &str) -> Option<Self> {
        let (prefix, body) = id.split_once('_')?;
        let well_formed = body.len() == 32 && body.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !well_formed {
            return None;
        }
        Self::ALL.into_iter().find(|k| k.prefix() == prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_kind_and_sort_by_creation() {
        let a = IdKind::Order.new_id();
        let b = IdKind::Order.new_id();
        assert!(a.starts_with("ord_"));
        assert!(a < b, "UUIDv7 ids sort by creation");
        assert_eq!(IdKind::of(&a), Some(IdKind::Order));
        assert_eq!(IdKind::of(&IdKind::User.new_id()), Some(IdKind::User));
    }

    #[test]
    fn malformed_ids_have_no_kind() {
        for id in [
            "",
            "ord",
            "ord_",
            "ord_123",
            "xyz_0193a4f2c3d47c1b9e0f0a1b2c3d4e5f",
            "ord_0193A4F2C3D47C1B9E0F0A1B2C3D4E5F",
        ] {
            assert_eq!(IdKind::of(id), None, "{id}");
        }
        let prefixes: std::collections::HashSet<_> = IdKind::ALL.iter().map(|k| k.prefix()).collect();
        assert_eq!(prefixes.len(), IdKind::ALL.len(), "prefixes are unique");
    }
}
