//! The actions of DOMAIN.md sections 4 and 5, as the contract names them.

use async_graphql::Enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
pub enum Action {
    View,
    EditDetails,
    Approve,
    Reject,
    Resubmit,
    Assign,
    Start,
    SubmitForReview,
    CloseReview,
    RequestRework,
    Send,
    Resend,
    MarkFulfilled,
    Cancel,
    Archive,
    Unarchive,
    OverrideVendor,
    AddNote,
    AddInternalNote,
    LogWork,
    RequestDeletion,
    Delete,
}

impl Action {
    pub const ALL: [Action; 22] = [
        Self::View,
        Self::EditDetails,
        Self::Approve,
        Self::Reject,
        Self::Resubmit,
        Self::Assign,
        Self::Start,
        Self::SubmitForReview,
        Self::CloseReview,
        Self::RequestRework,
        Self::Send,
        Self::Resend,
        Self::MarkFulfilled,
        Self::Cancel,
        Self::Archive,
        Self::Unarchive,
        Self::OverrideVendor,
        Self::AddNote,
        Self::AddInternalNote,
        Self::LogWork,
        Self::RequestDeletion,
        Self::Delete,
    ];

    /// The name in audit actions (`order.close_review`).
    pub const fn snake_name(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::EditDetails => "edit_details",
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Resubmit => "resubmit",
            Self::Assign => "assign",
            Self::Start => "start",
            Self::SubmitForReview => "submit_for_review",
            Self::CloseReview => "close_review",
            Self::RequestRework => "request_rework",
            Self::Send => "send",
            Self::Resend => "resend",
            Self::MarkFulfilled => "mark_fulfilled",
            Self::Cancel => "cancel",
            Self::Archive => "archive",
            Self::Unarchive => "unarchive",
            Self::OverrideVendor => "override_vendor",
            Self::AddNote => "add_note",
            Self::AddInternalNote => "add_internal_note",
            Self::LogWork => "log_work",
            Self::RequestDeletion => "request_deletion",
            Self::Delete => "delete",
        }
    }
}
