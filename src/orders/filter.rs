//! The contract's `OrderFilter` as SQL, and how a page's statement is
//! planned ([`Plan`]): which of the filter's values are written into the
//! statement's text and which are bound.

use std::collections::BTreeSet;

use async_graphql::InputObject;
use chrono::{DateTime, Utc};
use entity::{order_assignees, order_tags, orders};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query, Value};
use sea_orm::{ColumnTrait, Condition, EntityTrait};

use super::model::{OrderKind, OrderStatus};
use crate::error::{AppError, AppResult};
use crate::org::input::Tag;
use crate::time::to_micros;

/// The contract's `OrderFilter`. Archived orders are left out unless
/// `archived` says otherwise (`true`: only archived ones).
#[derive(Debug, Clone, Default, InputObject)]
pub struct OrderFilter {
    pub status: Option<Vec<OrderStatus>>,
    pub kind: Option<Vec<OrderKind>>,
    pub site_id: Option<async_graphql::ID>,
    pub asset_id: Option<async_graphql::ID>,
    pub assignee_id: Option<async_graphql::ID>,
    pub owner_id: Option<async_graphql::ID>,
    pub vendor_id: Option<async_graphql::ID>,
    /// Orders carrying every one of these tags.
    pub tags: Option<Vec<String>>,
    pub archived: Option<bool>,
    /// Case-insensitive substring of the title, description or number.
    pub search: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
}

impl OrderFilter {
    /// The filter's fields that are given, each with the `Order` field it
    /// tests (the policy lets a caller filter only on what they read).
    /// `archived` is not among them: it picks the list (the archived
    /// orders or the others), which every caller may choose.
    pub fn tests(&self) -> impl Iterator<Item = (&'static str, &'static str)> {
        [
            (self.status.is_some(), "status", "status"),
            (self.kind.is_some(), "kind", "kind"),
            (self.site_id.is_some(), "siteId", "site"),
            (self.asset_id.is_some(), "assetId", "asset"),
            (self.assignee_id.is_some(), "assigneeId", "assignees"),
            (self.owner_id.is_some(), "ownerId", "owner"),
            (self.vendor_id.is_some(), "vendorId", "vendor"),
            (self.tags.is_some(), "tags", "tags"),
            (self.search.is_some(), "search", "title"),
            (self.created_after.is_some(), "createdAfter", "createdAt"),
            (self.created_before.is_some(), "createdBefore", "createdAt"),
        ]
        .into_iter()
        .filter(|(given, ..)| *given)
        .map(|(_, filter_field, order_field)| (filter_field, order_field))
    }

    /// The statuses the filter keeps, sorted and once each, so that the
    /// same set is the same statement.
    pub fn statuses(&self) -> Option<BTreeSet<&'static str>> {
        self.status.as_ref().map(|statuses| statuses.iter().map(|s| s.as_str()).collect())
    }

    /// The filter as SQL; BAD_USER_INPUT (naming the field) for bad values.
    pub fn condition(&self) -> AppResult<Condition> {
        let column = |c: orders::Column| Expr::col((orders::Entity, c));
        let mut c = Condition::all().add(column(orders::Column::Archived).eq(written(self.archived.unwrap_or(false))));
        if let Some(statuses) = self.statuses() {
            c = c.add(column(orders::Column::Status).is_in(statuses.into_iter().map(written)));
        }
        if let Some(kinds) = &self.kind {
            let kinds: BTreeSet<&str> = kinds.iter().map(|k| k.as_str()).collect();
            c = c.add(column(orders::Column::Kind).is_in(kinds.into_iter().map(written)));
        }
        if let Some(site) = &self.site_id {
            c = c.add(orders::Column::SiteId.eq(site.as_str()));
        }
        if let Some(asset) = &self.asset_id {
            c = c.add(orders::Column::AssetId.eq(asset.as_str()));
        }
        if let Some(owner) = &self.owner_id {
            c = c.add(orders::Column::OwnerId.eq(owner.as_str()));
        }
        if let Some(vendor) = &self.vendor_id {
            c = c.add(orders::Column::VendorId.eq(vendor.as_str()));
        }
        if let Some(assignee) = &self.assignee_id {
            use order_assignees::{Column, Entity};
            c = c.add(linked(Entity, Column::OrderId, Column::UserId, assignee.as_str()));
        }
        for tag in self.tags.iter().flatten() {
            use order_tags::{Column, Entity};
            let tag = Tag::parse("filter.tags", tag)?;
            c = c.add(linked(Entity, Column::OrderId, Column::Tag, tag.as_str()));
        }
        if let Some(search) = self.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            if search.chars().count() > 200 {
                return Err(AppError::bad_input("filter.search", "must be at most 200 characters"));
            }
            let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
            let like = |column: orders::Column| {
                Expr::expr(Func::lower(Expr::col((orders::Entity, column))))
                    .like(sea_orm::sea_query::LikeExpr::new(pattern.clone()).escape('\\'))
            };
            c = c.add(
                Condition::any()
                    .add(like(orders::Column::Title))
                    .add(like(orders::Column::Description))
                    .add(like(orders::Column::Number)),
            );
        }
        if let Some(after) = self.created_after {
            c = c.add(orders::Column::CreatedAt.gt(to_micros(after)));
        }
        if let Some(before) = self.created_before {
            c = c.add(orders::Column::CreatedAt.lt(to_micros(before)));
        }
        Ok(c)
    }
}

/// How PostgreSQL plans a page's statement. It keeps one plan for a
/// prepared statement (a generic plan, made without the values) once that
/// plan is estimated to cost no more than those made for the values at
/// hand; until then, and for as long as it is not, it plans every
/// execution again, which cost a PLANNER's page more than running it
/// (BENCHMARKS.md, "A page's plan kept").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// The page's size is written into the text, as the filter's flags
    /// and enums are, so PostgreSQL can keep one plan. For pages whose
    /// filter binds nothing or a site or a vendor: the sort indexes lead
    /// with those columns, as with the organization, so a walk of one of
    /// them serves any value. (The caller's visibility may bind more, an
    /// account or the caller's id; such pages were seen planned for their
    /// values all the same.)
    Kept,
    /// The page's size is bound. PostgreSQL estimates a bound LIMIT,
    /// without its value, as a tenth of the rows, so in every case
    /// measured a plan made without the values never looked as cheap and
    /// each execution was planned for its own. For values whose frequency
    /// differs by orders of magnitude from one to the next (a person, an
    /// asset, a tag, a search, dates): a plan kept for a typical owner took
    /// 18.8 ms for the synthetic data's busiest one (20,156 orders), where
    /// a plan made for that owner took 0.14 ms and 0.25 ms to make.
    ForEachRequest,
}

impl OrderFilter {
    /// [`Plan::Kept`] unless the filter binds a value of the kinds
    /// [`Plan::ForEachRequest`] names. Every field is named, so that a new
    /// one is decided here.
    pub fn plan(&self) -> Plan {
        let Self {
            status: _,
            kind: _,
            site_id: _,
            vendor_id: _,
            archived: _,
            asset_id,
            assignee_id,
            owner_id,
            tags,
            search,
            created_after,
            created_before,
        } = self;
        let varied = asset_id.is_some()
            || assignee_id.is_some()
            || owner_id.is_some()
            || tags.is_some()
            || search.is_some()
            || created_after.is_some()
            || created_before.is_some();
        if varied { Plan::ForEachRequest } else { Plan::Kept }
    }
}

/// Orders with a row in `table` whose `column` is `value`, `order` naming
/// the order (an assignee, a tag).
fn linked<T: EntityTrait, C: ColumnTrait>(table: T, order: C, column: C, value: &str) -> Expr {
    orders::Column::Id.in_subquery(Query::select().column(order).from(table).and_where(column.eq(value)).take())
}

/// A value written into the statement's text rather than bound: only for
/// the flags and the enums' names a list filters on, so that a page's
/// statement can keep one plan ([`Plan::Kept`]). Each combination of them
/// is a statement of its own.
pub(super) fn written(value: impl Into<Value>) -> Expr {
    Expr::Constant(value.into())
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}
