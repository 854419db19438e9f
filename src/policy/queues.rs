//! What each saved view holds (DOMAIN.md section 8), as SQL conditions that
//! are always combined with [`super::filter::visible_orders`].

use entity::{order_assignees, orders};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition};

use crate::orders::model::OrderStatus;

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
