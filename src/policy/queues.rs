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
/// (PLANNER, ADMIN in scope) and their own.
pub fn visible_deletion_requests(principal: &Principal) -> Condition {
    let Some(me) = principal.user_id() else {
        return Condition::all().add(Expr::val(1).eq(0));
    };
    let decided_by_me = Query::select()
        .column(orders::Column::Id)
        .from(orders::Entity)
        .cond_where(super::filter::visible_orders(principal))
        .cond_where(orders_with_roles(principal, &[Role::Admin, Role::Planner]))
        .take();
    Condition::all().add(deletion_requests::Column::OrganizationId.eq(principal.organization_id.as_str())).add(
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
