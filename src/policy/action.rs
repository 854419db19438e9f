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
}
