//! Order vocabulary: kinds, priorities and statuses, with their stored names.

use async_graphql::Enum;
use serde::{Deserialize, Serialize};

macro_rules! stored_enum {
    ($name:ident { $($variant:ident => $stored:literal),+ $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$(Self::$variant),+];

            /// The name stored in the database (the GraphQL enum value).
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $stored),+ }
            }

            pub fn parse(value: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == value)
            }
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderKind {
    Work,
    Part,
    Service,
    Capital,
}
stored_enum!(OrderKind { Work => "WORK", Part => "PART", Service => "SERVICE", Capital => "CAPITAL" });

impl OrderKind {
    /// Number prefix: work orders and purchase (vendor) orders count apart.
    pub const fn number_prefix(self) -> &'static str {
        match self {
            Self::Work => "WO",
            Self::Part | Self::Service | Self::Capital => "PO",
        }
    }
}

/// Stored as its rank (LOW = 0 .. URGENT = 3) so that it sorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Enum)]
pub enum Priority {
    Low,
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub const fn rank(self) -> i32 {
        self as i32
    }

    /// The contract's name (`URGENT`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Low => "LOW",
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
            Self::Urgent => "URGENT",
        }
    }

    pub fn from_rank(rank: i32) -> Option<Self> {
        [Self::Low, Self::Medium, Self::High, Self::Urgent].into_iter().find(|p| p.rank() == rank)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    PendingApproval,
    Rejected,
    Open,
    Sent,
    SendFailed,
    InProgress,
    PendingReview,
    ActionNeeded,
    Closed,
    Cancelled,
}
stored_enum!(OrderStatus {
    PendingApproval => "PENDING_APPROVAL",
    Rejected => "REJECTED",
    Open => "OPEN",
    Sent => "SENT",
    SendFailed => "SEND_FAILED",
    InProgress => "IN_PROGRESS",
    PendingReview => "PENDING_REVIEW",
    ActionNeeded => "ACTION_NEEDED",
    Closed => "CLOSED",
    Cancelled => "CANCELLED",
});

/// The order's side of a send to its vendor that is not over yet
/// (`orders.send_state`); see `crate::sending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SendState {
    /// Waiting for its first attempt or for a retry.
    Queued,
    /// An attempt is under way: its outcome is not known yet.
    Sending,
}

impl SendState {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "QUEUED",
            Self::Sending => "SENDING",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Queued, Self::Sending].into_iter().find(|s| s.as_str() == value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_match_graphql_names_and_round_trip() {
        let serialized = |value: serde_json::Value| value.as_str().map(str::to_owned);
        for kind in OrderKind::ALL {
            assert_eq!(OrderKind::parse(kind.as_str()), Some(*kind));
            assert_eq!(serialized(serde_json::json!(kind)).as_deref(), Some(kind.as_str()));
        }
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(*status));
            assert_eq!(serialized(serde_json::json!(status)).as_deref(), Some(status.as_str()));
        }
        for state in [SendState::Queued, SendState::Sending] {
            assert_eq!(serialized(serde_json::json!(state)).as_deref(), Some(state.as_str()));
        }
        for rank in 0..4 {
            assert_eq!(Priority::from_rank(rank).map(Priority::rank), Some(rank));
        }
        assert_eq!(Priority::from_rank(4), None);
        assert_eq!(OrderKind::Capital.number_prefix(), "PO");
    }
}
