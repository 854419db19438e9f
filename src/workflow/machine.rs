//! The order state machine of DOMAIN.md section 4, declared as data: for
//! each action, the statuses (and kinds) it starts from and where it leads.
//! The policy consults it before its "who may" rules, so `viewerCan`, the
//! mutations and `explainAccess` share one table; the mutations take the
//! target from it.

use crate::orders::model::{OrderKind, OrderStatus, SendState};
use crate::policy::Action;

use OrderStatus::{
    ActionNeeded, Cancelled, Closed, InProgress, Open, PendingApproval, PendingReview, Rejected, SendFailed, Sent,
};

/// Where a transition leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The status becomes this one.
    To(OrderStatus),
    /// Approval: the next undecided step, or OPEN after the last one.
    NextApprovalStep,
    /// Sending: SENT, or SEND_FAILED when the vendor could not be notified.
    Sent,
    /// The status stays (edits, assignments, notes, the archive flag).
    Same,
}

/// Which kinds of order a transition applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kinds {
    All,
    /// Maintenance work (`WORK`).
    Work,
    /// Orders to a vendor (`PART`, `SERVICE`, `CAPITAL`).
    Vendor,
}

impl Kinds {
    fn admit(self, kind: OrderKind) -> bool {
        match self {
            Self::All => true,
            Self::Work => kind == OrderKind::Work,
            Self::Vendor => kind != OrderKind::Work,
        }
    }
}

/// What an archived order allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archived {
    /// Not on archived orders (they are read-only).
    Refused,
    /// On archived and current orders alike.
    Allowed,
    /// Only on archived orders.
    Required,
}

/// What a send to the vendor that is not over yet allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhileSending {
    Allowed,
    /// Not while a send is queued or under way.
    Refused,
    /// Not while an attempt is under way (a queued send is withdrawn).
    RefusedInFlight,
}

#[derive(Debug, Clone, Copy)]
pub struct Transition {
    pub action: Action,
    pub from: &'static [OrderStatus],
    pub kinds: Kinds,
    pub archived: Archived,
    pub sending: WhileSending,
    pub to: Target,
    /// Why the action is refused in another status.
    pub refusal: &'static str,
}

const ANY: &[OrderStatus] = OrderStatus::ALL;
const NOT_DONE: &[OrderStatus] =
    &[PendingApproval, Rejected, Open, Sent, SendFailed, InProgress, PendingReview, ActionNeeded];
const DONE: &[OrderStatus] = &[Closed, Cancelled, Rejected];

const fn t(
    action: Action,
    from: &'static [OrderStatus],
    kinds: Kinds,
    to: Target,
    refusal: &'static str,
) -> Transition {
    Transition { action, from, kinds, archived: Archived::Refused, sending: WhileSending::Allowed, to, refusal }
}

/// Every action of the contract, one row each (section 4's table, with
/// section 5's deletion actions and the flags).
pub const TRANSITIONS: [Transition; 22] = [
    Transition { archived: Archived::Allowed, ..t(Action::View, ANY, Kinds::All, Target::Same, "") },
    t(Action::EditDetails, NOT_DONE, Kinds::All, Target::Same, "closed and cancelled orders are not edited"),
    t(
        Action::Approve,
        &[PendingApproval],
        Kinds::All,
        Target::NextApprovalStep,
        "only orders pending approval are approved",
    ),
    t(
        Action::Reject,
        &[PendingApproval],
        Kinds::All,
        Target::To(Rejected),
        "only orders pending approval are rejected",
    ),
    t(Action::Resubmit, &[Rejected], Kinds::All, Target::To(PendingApproval), "only rejected orders are resubmitted"),
    t(
        Action::Assign,
        &[Open, InProgress, ActionNeeded],
        Kinds::All,
        Target::Same,
        "assignees are set while the order is open, in progress or needs action",
    ),
    t(
        Action::Start,
        &[Open, ActionNeeded],
        Kinds::Work,
        Target::To(InProgress),
        "work starts on open work orders or ones sent back for rework",
    ),
    t(
        Action::SubmitForReview,
        &[InProgress],
        Kinds::All,
        Target::To(PendingReview),
        "only work in progress is submitted for review",
    ),
    t(
        Action::CloseReview,
        &[PendingReview],
        Kinds::All,
        Target::To(Closed),
        "only orders pending review are closed by review",
    ),
    t(
        Action::RequestRework,
        &[PendingReview],
        Kinds::All,
        Target::To(ActionNeeded),
        "only orders pending review are sent back for rework",
    ),
    Transition {
        sending: WhileSending::Refused,
        ..t(Action::Send, &[Open], Kinds::Vendor, Target::Sent, "only open vendor orders are sent")
    },
    Transition {
        sending: WhileSending::Refused,
        ..t(
            Action::Resend,
            &[SendFailed],
            Kinds::Vendor,
            Target::Sent,
            "only vendor orders whose send failed are resent",
        )
    },
    t(
        Action::MarkFulfilled,
        &[Sent],
        Kinds::Vendor,
        Target::To(Closed),
        "only sent vendor orders are marked fulfilled",
    ),
    Transition {
        sending: WhileSending::RefusedInFlight,
        ..t(Action::Cancel, NOT_DONE, Kinds::All, Target::To(Cancelled), "the order is already closed or cancelled")
    },
    t(Action::Archive, DONE, Kinds::All, Target::Same, "only closed, cancelled or rejected orders are archived"),
    Transition {
        archived: Archived::Required,
        ..t(Action::Unarchive, ANY, Kinds::All, Target::Same, "only archived orders are unarchived")
    },
    Transition {
        sending: WhileSending::Refused,
        ..t(
            Action::OverrideVendor,
            &[PendingApproval, Rejected, Open, SendFailed],
            Kinds::Vendor,
            Target::Same,
            "the vendor is fixed once the order was sent",
        )
    },
    t(Action::AddNote, ANY, Kinds::All, Target::Same, ""),
    t(Action::AddInternalNote, ANY, Kinds::All, Target::Same, ""),
    t(
        Action::LogWork,
        &[InProgress, ActionNeeded],
        Kinds::All,
        Target::Same,
        "work is logged while the order is in progress or needs action",
    ),
    Transition { archived: Archived::Allowed, ..t(Action::RequestDeletion, ANY, Kinds::All, Target::Same, "") },
    Transition {
        archived: Archived::Allowed,
        sending: WhileSending::RefusedInFlight,
        ..t(Action::Delete, ANY, Kinds::All, Target::Same, "")
    },
];

/// The row of `action`.
pub fn row(action: Action) -> &'static Transition {
    // Every action has exactly one row (a unit test checks it).
    TRANSITIONS.iter().find(|t| t.action == action).unwrap_or(&TRANSITIONS[0])
}

/// The state of an order that the state machine looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    pub status: OrderStatus,
    pub kind: OrderKind,
    pub archived: bool,
    pub sending: Option<SendState>,
}

/// Whether the order's state admits `action`, or why not.
pub fn admits(action: Action, state: State) -> Result<Target, &'static str> {
    let State { status, kind, archived, sending } = state;
    let row = row(action);
    match (row.archived, archived) {
        (Archived::Refused, true) => return Err("archived orders are read-only; unarchive first"),
        (Archived::Required, false) => return Err(row.refusal),
        _ => {}
    }
    if !row.kinds.admit(kind) {
        return Err(match row.kinds {
            Kinds::Work => "vendor orders are sent, not started",
            _ => "work orders are not sent to vendors",
        });
    }
    if !row.from.contains(&status) {
        return Err(row.refusal);
    }
    match (row.sending, sending) {
        (WhileSending::Refused, Some(_)) => Err("a send to the vendor is already queued or under way"),
        (WhileSending::RefusedInFlight, Some(SendState::Sending)) => {
            Err("the order is being sent to the vendor right now; try again once the send is over")
        }
        _ => Ok(row.to),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_exactly_one_row() {
        for action in Action::ALL {
            assert_eq!(TRANSITIONS.iter().filter(|t| t.action == action).count(), 1, "{action:?}");
        }
    }

    fn admits(action: Action, status: OrderStatus, kind: OrderKind, archived: bool) -> Result<Target, &'static str> {
        super::admits(action, State { status, kind, archived, sending: None })
    }

    #[test]
    fn a_pending_send_refuses_a_second_send_and_an_in_flight_one_refuses_cancel() {
        let state = |sending| State { status: Open, kind: OrderKind::Part, archived: false, sending };
        assert_eq!(super::admits(Action::Send, state(None)), Ok(Target::Sent));
        assert!(super::admits(Action::Send, state(Some(SendState::Queued))).is_err());
        assert!(super::admits(Action::OverrideVendor, state(Some(SendState::Queued))).is_err());
        assert_eq!(super::admits(Action::Cancel, state(Some(SendState::Queued))), Ok(Target::To(Cancelled)));
        assert!(super::admits(Action::Cancel, state(Some(SendState::Sending))).is_err());
        assert_eq!(super::admits(Action::EditDetails, state(Some(SendState::Sending))), Ok(Target::Same));
    }

    #[test]
    fn the_table_admits_and_refuses() {
        assert_eq!(admits(Action::Start, Open, OrderKind::Work, false), Ok(Target::To(InProgress)));
        assert!(admits(Action::Start, Open, OrderKind::Part, false).is_err());
        assert!(admits(Action::Send, Open, OrderKind::Work, false).is_err());
        assert!(admits(Action::Approve, Open, OrderKind::Work, false).is_err());
        assert!(admits(Action::Archive, Closed, OrderKind::Work, true).is_err());
        assert!(admits(Action::Unarchive, Closed, OrderKind::Work, false).is_err());
        assert_eq!(admits(Action::Unarchive, Closed, OrderKind::Work, true), Ok(Target::Same));
        assert_eq!(admits(Action::Delete, Closed, OrderKind::Work, true), Ok(Target::Same));
    }
}
