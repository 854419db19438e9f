//! What each saved view holds (DOMAIN.md section 8), as SQL conditions that
//! are always combined with [`super::filter::visible_orders`].

use entity::{
    approval_step_approvers, approval_steps, cost_lines, deletion_requests, order_assignees, orders, part_usages,
    time_entries,
};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, IntoColumnRef, IntoTableRef, Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition};

use super::filter::orders_with_roles;
use crate::auth::Principal;
use crate::orders::model::OrderStatus;
use crate::org::model::Role;

/// MY_WORK: open orders assigned to the caller (to start, in progress, or
/// sent back for rework).
pub fn my_work(user_id: &str) -> Condition {
    Condition::all()
        .add(orders::Column::Archived.eq(false))
        .add(
            orders::Column::Status.is_in(
                [OrderStatus::Open, OrderStatus::InProgress, OrderStatus::ActionNeeded].map(OrderStatus::as_str),
            ),
        )
        .add(
            orders::Column::Id.in_subquery(
                Query::select()
                    .column(order_assignees::Column::OrderId)
                    .from(order_assignees::Entity)
                    .and_where(order_assignees::Column::UserId.eq(user_id))
                    .take(),
            ),
        )
}

/// MY_REQUESTS: orders the caller created or owns, archived ones left out.
pub fn my_requests(user_id: &str) -> Condition {
    Condition::all()
        .add(orders::Column::Archived.eq(false))
        .add(Condition::any().add(orders::Column::CreatorId.eq(user_id)).add(orders::Column::OwnerId.eq(user_id)))
}

/// Orders `user_id` logged time, costs or parts on.
fn logged_by(user_id: &str) -> Condition {
    let mut any = Condition::any();
    for (table, order, user) in [
        (
            time_entries::Entity.into_table_ref(),
            time_entries::Column::OrderId.into_column_ref(),
            time_entries::Column::UserId.into_column_ref(),
        ),
        (
            cost_lines::Entity.into_table_ref(),
            cost_lines::Column::OrderId.into_column_ref(),
            cost_lines::Column::AddedBy.into_column_ref(),
        ),
        (
            part_usages::Entity.into_table_ref(),
            part_usages::Column::OrderId.into_column_ref(),
            part_usages::Column::AddedBy.into_column_ref(),
        ),
    ] {
        any = any.add(
            orders::Column::Id
                .in_subquery(Query::select().column(order).from(table).and_where(Expr::col(user).eq(user_id)).take()),
        );
    }
    any
}

/// REVIEW: orders pending review that the caller may close: PLANNER or
/// ADMIN in scope, or the owner; never an assignee or anyone who logged
/// work on it (separation of duties).
pub fn review(principal: &Principal) -> Condition {
    let Some(me) = principal.user_id() else {
        return Condition::all().add(Expr::val(1).eq(0));
    };
    Condition::all()
        .add(orders::Column::Archived.eq(false))
        .add(orders::Column::Status.eq(OrderStatus::PendingReview.as_str()))
        .add(
            Condition::any()
                .add(orders_with_roles(principal, &[Role::Admin, Role::Planner]))
                .add(orders::Column::OwnerId.eq(me)),
        )
        .add(
            Condition::all()
                .add(
                    orders::Column::Id.not_in_subquery(
                        Query::select()
                            .column(order_assignees::Column::OrderId)
                            .from(order_assignees::Entity)
                            .and_where(order_assignees::Column::UserId.eq(me))
                            .take(),
                    ),
                )
                .add(logged_by(me).not()),
        )
}

/// DELETION_REQUESTS: orders with a pending deletion request, for PLANNER
/// and ADMIN in scope (who decide them).
pub fn deletion_requests(principal: &Principal) -> Condition {
    Condition::all().add(orders_with_roles(principal, &[Role::Admin, Role::Planner])).add(
        orders::Column::Id.in_subquery(
            Query::select()
                .column(deletion_requests::Column::OrderId)
                .from(deletion_requests::Entity)
                .and_where(deletion_requests::Column::Status.eq("PENDING"))
                .take(),
        ),
    )
}

/// FAILED_SENDS: vendor orders whose send failed and that wait for a
/// resend, for ADMIN in scope (who resend them).
pub fn failed_sends(principal: &Principal) -> Condition {
    Condition::all()
        .add(orders_with_roles(principal, &[Role::Admin]))
        .add(orders::Column::Archived.eq(false))
        .add(orders::Column::Status.eq(OrderStatus::SendFailed.as_str()))
        // A resend under way is no longer waiting for the admin.
        .add(orders::Column::SendState.is_null())
}

/// The deletion requests a principal lists: those on orders they decide
/// (PLANNER, ADMIN in scope) and their own, while they see the order. A
/// deleted order leaves every query (section 5), and so do the requests
/// that name it; the audit log keeps them.
pub fn visible_deletion_requests(principal: &Principal) -> Condition {
    let Some(me) = principal.user_id() else {
        return Condition::all().add(Expr::val(1).eq(0));
    };
    let orders_seen = Query::select()
        .column(orders::Column::Id)
        .from(orders::Entity)
        .cond_where(super::filter::visible_orders(principal))
        .take();
    let decided_by_me = Query::select()
        .column(orders::Column::Id)
        .from(orders::Entity)
        .cond_where(orders_with_roles(principal, &[Role::Admin, Role::Planner]))
        .take();
    Condition::all()
        .add(deletion_requests::Column::OrganizationId.eq(principal.organization_id.as_str()))
        .add(deletion_requests::Column::OrderId.in_subquery(orders_seen))
        .add(
            Condition::any()
                .add(deletion_requests::Column::RequestedBy.eq(me))
                .add(deletion_requests::Column::OrderId.in_subquery(decided_by_me)),
        )
}

/// The ids of orders whose first undecided approval step satisfies
/// `step` (a condition on the step aliased `s`).
fn first_pending_step(step: Condition) -> SelectStatement {
    let (s, p) = (Alias::new("s"), Alias::new("p"));
    let earlier = Query::select()
        .expr(Expr::val(1))
        .from_as(approval_steps::Entity, p.clone())
        .and_where(
            Expr::col((p.clone(), approval_steps::Column::OrderId))
                .equals((s.clone(), approval_steps::Column::OrderId)),
        )
        .and_where(Expr::col((p.clone(), approval_steps::Column::Decision)).is_null())
        .and_where(
            Expr::col((p, approval_steps::Column::Position))
                .lt(Expr::col((s.clone(), approval_steps::Column::Position))),
        )
        .take();
    Query::select()
        .column((s.clone(), approval_steps::Column::OrderId))
        .from_as(approval_steps::Entity, s.clone())
        .and_where(Expr::col((s, approval_steps::Column::Decision)).is_null())
        .and_where(Expr::exists(earlier).not())
        .cond_where(step)
        .take()
}

/// APPROVALS: orders pending approval whose current step the caller may
/// decide: an intake step in the scope of their APPROVER, PLANNER or ADMIN
/// role, or a spend step that names them. Never their own orders.
pub fn approvals(principal: &Principal) -> Condition {
    let Some(me) = principal.user_id() else {
        return Condition::all().add(Expr::val(1).eq(0));
    };
    let s = Alias::new("s");
    let intake = first_pending_step(
        Condition::all()
            .add(Expr::col((s.clone(), approval_steps::Column::Source)).eq(crate::orders::record::INTAKE_SOURCE)),
    );
    let designated = first_pending_step(
        Condition::all().add(
            Expr::col((s, approval_steps::Column::Id)).in_subquery(
                Query::select()
                    .column(approval_step_approvers::Column::StepId)
                    .from(approval_step_approvers::Entity)
                    .and_where(approval_step_approvers::Column::UserId.eq(me))
                    .take(),
            ),
        ),
    );
    Condition::all()
        .add(orders::Column::Archived.eq(false))
        .add(orders::Column::Status.eq(OrderStatus::PendingApproval.as_str()))
        .add(orders::Column::CreatorId.ne(me))
        .add(
            Condition::any()
                .add(
                    Condition::all()
                        .add(orders::Column::Id.in_subquery(intake))
                        .add(orders_with_roles(principal, &[Role::Admin, Role::Planner, Role::Approver])),
                )
                .add(orders::Column::Id.in_subquery(designated)),
        )
}

/// The same queues as pure functions of one order's facts. Subscriptions
/// judge each event by the order's snapshot right after the change
/// ([`crate::orders::snapshot`]) with these, without a query per event.
/// `tests/visibility.rs` proves each equal to its SQL form above, over
/// generated organizations. Like the SQL, each is combined with the View
/// rule by its caller.
pub mod holds {
    use crate::auth::{Actor, Principal};
    use crate::orders::model::OrderStatus;
    use crate::org::model::Role;
    use crate::policy::order::{OrderFacts, PendingStep};
    use crate::policy::scope::RoleSet;

    fn has(ids: &[String], user_id: &str) -> bool {
        ids.iter().any(|id| id == user_id)
    }

    /// Whether the principal holds one of `roles` over the order.
    fn with_roles(principal: &Principal, facts: &OrderFacts<'_>, roles: &[Role]) -> bool {
        let Actor::User(user) = &principal.actor else { return false };
        let set = RoleSet::covering(principal, user, facts.scope_account_id, facts.site_id);
        roles.iter().any(|role| set.has(*role))
    }

    /// [`super::my_work`].
    pub fn my_work(user_id: &str, facts: &OrderFacts<'_>) -> bool {
        !facts.archived
            && matches!(facts.status, OrderStatus::Open | OrderStatus::InProgress | OrderStatus::ActionNeeded)
            && has(facts.assignee_ids, user_id)
    }

    /// [`super::my_requests`].
    pub fn my_requests(user_id: &str, facts: &OrderFacts<'_>) -> bool {
        !facts.archived && (facts.creator_id == user_id || facts.owner_id == user_id)
    }

    /// [`super::review`].
    pub fn review(principal: &Principal, facts: &OrderFacts<'_>) -> bool {
        let Some(me) = principal.user_id() else { return false };
        !facts.archived
            && facts.status == OrderStatus::PendingReview
            && (with_roles(principal, facts, &[Role::Admin, Role::Planner]) || facts.owner_id == me)
            && !has(facts.assignee_ids, me)
            && !has(facts.work_logger_ids, me)
    }

    /// [`super::deletion_requests`]; `pending` says whether a deletion
    /// request waits for a decision.
    pub fn deletion_requests(principal: &Principal, facts: &OrderFacts<'_>, pending: bool) -> bool {
        pending && with_roles(principal, facts, &[Role::Admin, Role::Planner])
    }

    /// [`super::failed_sends`].
    pub fn failed_sends(principal: &Principal, facts: &OrderFacts<'_>) -> bool {
        with_roles(principal, facts, &[Role::Admin])
            && !facts.archived
            && facts.status == OrderStatus::SendFailed
            && facts.sending.is_none()
    }

    /// [`super::approvals`].
    pub fn approvals(principal: &Principal, facts: &OrderFacts<'_>) -> bool {
        let Some(me) = principal.user_id() else { return false };
        let decides = match facts.pending_step {
            Some(PendingStep::Intake) => with_roles(principal, facts, &[Role::Admin, Role::Planner, Role::Approver]),
            Some(PendingStep::Designated(approvers)) => has(approvers, me),
            None => false,
        };
        !facts.archived && facts.status == OrderStatus::PendingApproval && facts.creator_id != me && decides
    }
}
