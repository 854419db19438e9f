//! The order workflow of DOMAIN.md sections 4 and 5: the state machine as
//! data, and the transitions that apply it atomically with their audit and
//! order events.

pub mod create;
pub mod deletion;
pub mod graphql;
mod input;
pub mod machine;
pub mod service;
pub mod work;

/// What happened to an order, as the outbox and the contract's
/// `OrderEventKind` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Created,
    Updated,
    StatusChanged,
    Assigned,
    NoteAdded,
    ApprovalRecorded,
    DeletionRequested,
    Deleted,
    Archived,
    Unarchived,
}

impl EventKind {
    pub const ALL: [Self; 10] = [
        Self::Created,
        Self::Updated,
        Self::StatusChanged,
        Self::Assigned,
        Self::NoteAdded,
        Self::ApprovalRecorded,
        Self::DeletionRequested,
        Self::Deleted,
        Self::Archived,
        Self::Unarchived,
    ];

    /// The kind stored as `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Updated => "UPDATED",
            Self::StatusChanged => "STATUS_CHANGED",
            Self::Assigned => "ASSIGNED",
            Self::NoteAdded => "NOTE_ADDED",
            Self::ApprovalRecorded => "APPROVAL_RECORDED",
            Self::DeletionRequested => "DELETION_REQUESTED",
            Self::Deleted => "DELETED",
            Self::Archived => "ARCHIVED",
            Self::Unarchived => "UNARCHIVED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EventKind;

    #[test]
    fn event_kinds_read_back_from_their_stored_names() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::parse("SOMETHING_NEWER"), None);
    }
}
