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

    /// The action of `ViewerCan`'s field `name` (`closeReview`): its
    /// [`snake_name`](Self::snake_name) in camelCase, as the test below
    /// holds it. A `match`, because a dashboard's page asks it for each
    /// action of each order (a search through [`ALL`](Self::ALL) comparing
    /// names was 3.5% of the page's instructions).
    pub fn of_field(name: &str) -> Option<Action> {
        Some(match name {
            "view" => Self::View,
            "editDetails" => Self::EditDetails,
            "approve" => Self::Approve,
            "reject" => Self::Reject,
            "resubmit" => Self::Resubmit,
            "assign" => Self::Assign,
            "start" => Self::Start,
            "submitForReview" => Self::SubmitForReview,
            "closeReview" => Self::CloseReview,
            "requestRework" => Self::RequestRework,
            "send" => Self::Send,
            "resend" => Self::Resend,
            "markFulfilled" => Self::MarkFulfilled,
            "cancel" => Self::Cancel,
            "archive" => Self::Archive,
            "unarchive" => Self::Unarchive,
            "overrideVendor" => Self::OverrideVendor,
            "addNote" => Self::AddNote,
            "addInternalNote" => Self::AddInternalNote,
            "logWork" => Self::LogWork,
            "requestDeletion" => Self::RequestDeletion,
            "delete" => Self::Delete,
            _ => return None,
        })
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

#[cfg(test)]
mod tests {
    use super::Action;

    /// `snake` in camelCase (`close_review`, `closeReview`).
    fn camel_case(snake: &str) -> String {
        let mut words = snake.split('_');
        let mut camel = words.next().unwrap_or_default().to_owned();
        for word in words {
            let mut letters = word.chars();
            camel.extend(letters.next().map(|c| c.to_ascii_uppercase()));
            camel.push_str(letters.as_str());
        }
        camel
    }

    #[test]
    fn fields_name_their_actions() {
        for action in Action::ALL {
            let field = camel_case(action.snake_name());
            assert_eq!(Action::of_field(&field), Some(action), "{field}");
        }
        assert_eq!(Action::of_field("view"), Some(Action::View));
        assert_eq!(Action::of_field("closeReview"), Some(Action::CloseReview));
        assert_eq!(Action::of_field("addInternalNote"), Some(Action::AddInternalNote));
        for wrong in ["close_review", "closereview", "CloseReview", "closeReviewX", "close", ""] {
            assert_eq!(Action::of_field(wrong), None, "{wrong}");
        }
    }
}
