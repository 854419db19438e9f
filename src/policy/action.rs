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

    /// The action of `ViewerCan`'s field `name` (`closeReview`).
    pub fn of_field(name: &str) -> Option<Action> {
        Self::ALL.into_iter().find(|action| camel_case_of(action.snake_name(), name))
    }

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

/// Whether `camel` is `snake` in camelCase (`close_review`, `closeReview`).
fn camel_case_of(snake: &str, camel: &str) -> bool {
    let mut camel = camel.bytes();
    let mut snake = snake.bytes();
    loop {
        match (snake.next(), camel.next()) {
            (None, None) => return true,
            (Some(b'_'), Some(c)) if c.is_ascii_uppercase() => {
                if snake.next() != Some(c.to_ascii_lowercase()) {
                    return false;
                }
            }
            (Some(s), Some(c)) if s == c && s != b'_' => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Action;

    #[test]
    fn fields_name_their_actions() {
        assert_eq!(Action::of_field("view"), Some(Action::View));
        assert_eq!(Action::of_field("closeReview"), Some(Action::CloseReview));
        assert_eq!(Action::of_field("addInternalNote"), Some(Action::AddInternalNote));
        for wrong in ["close_review", "closereview", "CloseReview", "closeReviewX", "close", ""] {
            assert_eq!(Action::of_field(wrong), None, "{wrong}");
        }
    }
}
