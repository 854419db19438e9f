//! Order lists: the policy's visibility condition, the caller's filter, a
//! sort and keyset pagination. A cursor carries the sort it belongs to, the
//! sort key and the id, so any page costs what the first page costs.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use async_graphql::Enum;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entity::orders;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement, SimpleExpr};
use sea_orm::{
    Condition, ConnectionTrait, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use serde::{Deserialize, Serialize};

use super::filter::{Plan, written};
use crate::auth::Principal;
use crate::db::rows::{self, OrderRow};
use crate::error::{AppError, AppResult};
use crate::ids::IdKind;
use crate::policy::filter::{Arms, Link, visible_orders_for_page};

/// Page size when the client gives none, and the most it may ask for.
pub const DEFAULT_PAGE: u64 = 20;
pub const MAX_PAGE: u64 = 100;

/// The LIMITs a page with a kept plan ([`Plan::Kept`]) writes: one more
/// than the usual page sizes (10, the default 20, 50 and the most), so
/// that a client paging by any size uses at most four statement texts per
/// view, where each connection keeps 100 prepared. The rows a page did not
/// ask for are read and dropped.
const KEPT_LIMITS: [u64; 4] = [11, DEFAULT_PAGE + 1, 51, MAX_PAGE + 1];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Enum, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderSort {
    #[default]
    CreatedDesc,
    CreatedAsc,
    UpdatedDesc,
    PriorityDesc,
    DueAsc,
}

/// The requested window: `first`/`after` forwards or `last`/`before`
/// backwards.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// Where a page ends: its sort, and the sort key and id of the row.
///
/// Written as URL-safe base64 of `<mark><key>.<id>`, the mark a letter
/// for the sort ([`OrderSort::mark`]), e.g. `u1796607257756024.ord_…`:
/// 72 characters where the JSON form it replaced, `{"s":"UPDATED_DESC",
/// "k":…,"i":"…"}`, took 112, on each of a page's fifty edges, and
/// written without a serializer (the JSON form was a twentieth of a
/// partner's page, BENCHMARKS.md). Cursors in that form, held by clients
/// across an upgrade, are still read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct Cursor {
    #[serde(rename = "s")]
    sort: OrderSort,
    #[serde(rename = "k")]
    key: i64,
    #[serde(rename = "i")]
    id: String,
}

impl OrderSort {
    /// The sort's letter in a cursor. Cursors outlive a deployment, so a
    /// letter once given is never given to another sort.
    const fn mark(self) -> char {
        match self {
            Self::CreatedDesc => 'c',
            Self::CreatedAsc => 'a',
            Self::UpdatedDesc => 'u',
            Self::PriorityDesc => 'p',
            Self::DueAsc => 'd',
        }
    }

    fn of_mark(mark: char) -> Option<Self> {
        Self::all().find(|sort| sort.mark() == mark)
    }

    /// Every sort, as the schema lists them.
    fn all() -> impl Iterator<Item = Self> {
        <Self as async_graphql::resolver_utils::EnumType>::items().iter().map(|item| item.value)
    }
}

impl Cursor {
    fn encode(&self) -> String {
        // Sized for the longest: a mark, a key of 20 characters, a dot and
        // an id.
        let mut text = String::with_capacity(22 + self.id.len());
        text.push(self.sort.mark());
        text.push_str(itoa::Buffer::new().format(self.key));
        text.push('.');
        text.push_str(&self.id);
        URL_SAFE_NO_PAD.encode(text)
    }

    fn decode(field: &str, value: &str, sort: OrderSort) -> AppResult<Self> {
        let invalid = || AppError::bad_input(field, "not a cursor of this list");
        let bytes = URL_SAFE_NO_PAD.decode(value).map_err(|_| invalid())?;
        let cursor = if bytes.first() == Some(&b'{') {
            serde_json::from_slice::<Self>(&bytes).ok()
        } else {
            Self::parse(std::str::from_utf8(&bytes).map_err(|_| invalid())?)
        }
        // An order's id, or the database would be given whatever it holds.
        .filter(|cursor| IdKind::of(&cursor.id) == Some(IdKind::Order))
        .ok_or_else(invalid)?;
        if cursor.sort != sort {
            return Err(AppError::bad_input(field, "the cursor belongs to another sort order"));
        }
        Ok(cursor)
    }

    /// `<mark><key>.<id>`.
    fn parse(text: &str) -> Option<Self> {
        let mut chars = text.chars();
        let sort = OrderSort::of_mark(chars.next()?)?;
        let (key, id) = chars.as_str().split_once('.')?;
        let key = key.parse().ok()?;
        (!id.is_empty()).then(|| Self { sort, key, id: id.to_owned() })
    }
}

/// The sort key of each sort as an expression, its direction and the key of
/// a row. DUE_ASC puts orders without a due date last.
fn sort_key(sort: OrderSort) -> (SimpleExpr, Order) {
    let col = |c: orders::Column| Expr::col((orders::Entity, c));
    match sort {
        OrderSort::CreatedDesc => (col(orders::Column::CreatedAt), Order::Desc),
        OrderSort::CreatedAsc => (col(orders::Column::CreatedAt), Order::Asc),
        OrderSort::UpdatedDesc => (col(orders::Column::UpdatedAt), Order::Desc),
        OrderSort::PriorityDesc => (col(orders::Column::Priority), Order::Desc),
        // Written as the `orders_due` index is (the maximum inline, not a
        // parameter), so that the database can walk it.
        OrderSort::DueAsc => (Expr::cust("COALESCE(\"orders\".\"due_at\", 9223372036854775807)"), Order::Asc),
    }
}

fn key_of(sort: OrderSort, m: &orders::Model) -> i64 {
    match sort {
        OrderSort::CreatedDesc | OrderSort::CreatedAsc => m.created_at,
        OrderSort::UpdatedDesc => m.updated_at,
        OrderSort::PriorityDesc => i64::from(m.priority),
        OrderSort::DueAsc => m.due_at.unwrap_or(i64::MAX),
    }
}

fn reverse(order: &Order) -> Order {
    match order {
        Order::Asc => Order::Desc,
        _ => Order::Asc,
    }
}

/// Rows strictly after `cursor` when walking in `direction`, as one row
/// comparison `(key, id) < (k, i)`: PostgreSQL uses it as an index
/// condition, so page 1,000 costs what page 1 costs (the equivalent
/// `key < k OR (key = k AND id < i)` makes it re-read every newer row).
fn beyond(key: SimpleExpr, id: SimpleExpr, direction: &Order, cursor: &Cursor) -> Condition {
    let row = Expr::tuple([key, id]);
    let at = Expr::tuple([Expr::val(cursor.key), Expr::val(cursor.id.as_str())]);
    Condition::all().add(match direction {
        Order::Asc => row.gt(at),
        _ => row.lt(at),
    })
}

/// The column of the link tables that copies the order's key of `sort`
/// (migration 11 keeps them; `DUE_ASC`'s is the `COALESCE` already).
fn link_key(sort: OrderSort) -> &'static str {
    match sort {
        OrderSort::CreatedDesc | OrderSort::CreatedAsc => "order_created_at",
        OrderSort::UpdatedDesc => "order_updated_at",
        OrderSort::PriorityDesc => "order_priority",
        OrderSort::DueAsc => "order_due",
    }
}

/// How a page reads the arms of a site-bound principal's visibility
/// ([`visible_orders_for_page`]): of each arm, the sort key and id of the
/// first rows the page could take, walked in the page's order by an index
/// (the site's, the creator's or owner's, or the link table's own copy of
/// the key) and cut at the page's size; of their union, the first rows of
/// the page. PostgreSQL merges the arms' walks and stops after a page
/// (`Merge Append` under the `LIMIT`). SQLite allows no `ORDER BY` or
/// `LIMIT` in the arm of a `UNION`, hence each arm as a subquery in `FROM`.
/// The arms' `LIMIT`s stay bound whatever the plan: the union is planned
/// for its values at every request even with them written (BENCHMARKS.md,
/// "A page's plan kept").
struct FirstRows<'a> {
    sort: OrderSort,
    walk: Order,
    /// The caller's filter and the page's cursors, on `orders`.
    condition: &'a Condition,
    /// The cursors, each with the direction its rows lie in.
    cursors: &'a [(Order, &'a Cursor)],
    /// The statuses `condition` keeps, if it keeps only some: a link arm
    /// tests its copy of the order's status in the index it walks.
    statuses: Option<&'a BTreeSet<&'static str>>,
    /// Rows to take: the page and one more.
    take: u64,
}

impl FirstRows<'_> {
    const KEY: &'static str = "k";
    const ID: &'static str = "id";

    /// `SELECT k, id FROM (select ORDER BY key, id LIMIT take) AS first_rows`.
    fn cut(&self, mut select: SelectStatement, key: SimpleExpr, id: SimpleExpr) -> SelectStatement {
        select.order_by_expr(key, self.walk.clone()).order_by_expr(id, self.walk.clone()).limit(self.take);
        Query::select()
            .columns([Alias::new(Self::KEY), Alias::new(Self::ID)])
            .from_subquery(select, Alias::new("first_rows"))
            .take()
    }
}

impl Arms for FirstRows<'_> {
    fn orders(&self, arm: Condition, base: &Condition) -> SelectStatement {
        let (key, _) = sort_key(self.sort);
        let id = Expr::col((orders::Entity, orders::Column::Id));
        let select = Query::select()
            .expr_as(key.clone(), Alias::new(Self::KEY))
            .expr_as(id.clone(), Alias::new(Self::ID))
            .from(orders::Entity)
            .cond_where(base.clone().add(arm).add(self.condition.clone()))
            .take();
        self.cut(select, key, id)
    }

    fn linked(&self, link: Link, user: &str, base: &Condition) -> SelectStatement {
        let table = Alias::new("link");
        let column = |name: &str| Expr::col((table.clone(), Alias::new(name)));
        let (key, id) = (column(link_key(self.sort)), column(Link::ORDER));
        let mut walked =
            Condition::all().add(column(Link::USER).eq(user)).add(base.clone()).add(self.condition.clone());
        // The cursors again, on the link's copy of the key: the walk of
        // its index starts there.
        for (towards, cursor) in self.cursors {
            walked = walked.add(beyond(key.clone(), id.clone(), towards, cursor));
        }
        // And the statuses, on the link's copy: a link of another status is
        // passed over in the index, its order not read.
        if let Some(statuses) = self.statuses {
            walked = walked.add(column("order_status").is_in(statuses.iter().map(|&status| written(status))));
        }
        let mut select = Query::select()
            .expr_as(key.clone(), Alias::new(Self::KEY))
            .expr_as(id.clone(), Alias::new(Self::ID))
            .from_as(Alias::new(link.table()), table.clone())
            .inner_join(
                orders::Entity,
                Expr::col((orders::Entity, orders::Column::Id)).equals((table, Alias::new(Link::ORDER))),
            )
            .cond_where(walked)
            .take();
        if link.repeats_orders() {
            select.distinct();
        }
        self.cut(select, key, id)
    }

    fn united(&self, union: SelectStatement) -> SelectStatement {
        let mut first = Query::select()
            .distinct()
            .columns([Alias::new(Self::KEY), Alias::new(Self::ID)])
            .from_subquery(union, Alias::new("arms"))
            .take();
        first
            .order_by(Alias::new(Self::KEY), self.walk.clone())
            .order_by(Alias::new(Self::ID), self.walk.clone())
            .limit(self.take);
        Query::select().column(Alias::new(Self::ID)).from_subquery(first, Alias::new("page")).take()
    }
}

/// One page of orders and where it sits.
pub struct Page {
    pub rows: Vec<(String, orders::Model)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

fn page_size(field: &str, value: Option<i32>) -> AppResult<Option<u64>> {
    match value {
        None => Ok(None),
        Some(n) if (0..=MAX_PAGE as i32).contains(&n) => Ok(Some(n as u64)),
        Some(_) => Err(AppError::bad_input(field, format!("must be between 0 and {MAX_PAGE}"))),
    }
}

/// Fetches one page of the orders `principal` may see that match
/// `condition` (the policy's visibility is added here), planned as `plan`
/// says. `statuses` are those `condition` keeps, when it keeps only some.
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    principal: &Principal,
    condition: Condition,
    statuses: Option<&BTreeSet<&'static str>>,
    plan: Plan,
    sort: OrderSort,
    request: &PageRequest,
) -> AppResult<Page> {
    let first = page_size("first", request.first)?;
    let last = page_size("last", request.last)?;
    if first.is_some() && last.is_some() {
        return Err(AppError::bad_input("last", "give `first` or `last`, not both"));
    }
    let after = request.after.as_deref().map(|c| Cursor::decode("after", c, sort)).transpose()?;
    let before = request.before.as_deref().map(|c| Cursor::decode("before", c, sort)).transpose()?;
    let backwards = last.is_some();
    let limit = last.or(first).unwrap_or(DEFAULT_PAGE);

    let (key, direction) = sort_key(sort);
    let mut cursors = Vec::new();
    if let Some(after) = &after {
        cursors.push((direction.clone(), after));
    }
    if let Some(before) = &before {
        cursors.push((reverse(&direction), before));
    }
    let mut condition = condition;
    for (towards, cursor) in &cursors {
        let id = Expr::col((orders::Entity, orders::Column::Id));
        condition = condition.add(beyond(key.clone(), id, towards, cursor));
    }
    let walk = if backwards { reverse(&direction) } else { direction };
    let first_rows =
        FirstRows { sort, walk: walk.clone(), condition: &condition, cursors: &cursors, statuses, take: limit + 1 };
    let visible = visible_orders_for_page(principal, &first_rows);
    let mut select = orders::Entity::find()
        .filter(visible.add(condition))
        .order_by(key, walk.clone())
        .order_by(orders::Column::Id, walk);
    if plan == Plan::ForEachRequest {
        select = select.limit(limit + 1);
    }
    let mut statement = select.build(conn.get_database_backend());
    if plan == Plan::Kept {
        // A number of ours: the least of KEPT_LIMITS that takes the page
        // and the row after it, so that a few texts serve every size; the
        // rows beyond are dropped below.
        let written = KEPT_LIMITS.into_iter().find(|&n| n > limit).unwrap_or(MAX_PAGE + 1);
        write!(statement.sql, " LIMIT {written}").expect("writing to a String");
    }
    let mut rows = rows::all::<OrderRow>(conn, statement).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    if backwards {
        rows.reverse();
    }
    let rows =
        rows.into_iter().map(|m| (Cursor { sort, key: key_of(sort, &m), id: m.id.clone() }.encode(), m)).collect();
    Ok(Page {
        rows,
        has_next_page: if backwards { before.is_some() } else { more },
        has_previous_page: if backwards { more } else { after.is_some() },
    })
}

/// How many orders match `condition`.
pub async fn count<C: ConnectionTrait>(conn: &C, condition: Condition) -> AppResult<u64> {
    Ok(orders::Entity::find().filter(condition).count(conn).await?)
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::{Cursor, OrderSort, URL_SAFE_NO_PAD};
    use crate::error::AppError;

    const ORDER: &str = "ord_01a24e3c3d9a7572aae909355f7e1c52";

    #[test]
    fn cursors_read_back_as_written_for_every_sort() {
        let sorts: Vec<OrderSort> = OrderSort::all().collect();
        assert_eq!(sorts.len(), 5);
        for &sort in &sorts {
            for key in [0, 3, -1, 1_796_607_257_756_024, i64::MAX, i64::MIN] {
                let cursor = Cursor { sort, key, id: ORDER.into() };
                let text = cursor.encode();
                assert_eq!(Cursor::decode("after", &text, sort).expect("read back"), cursor, "{text}");
                for &other in sorts.iter().filter(|other| **other != sort) {
                    assert!(Cursor::decode("after", &text, other).is_err(), "{sort:?}'s cursor read as {other:?}'s");
                }
            }
        }
        let marks: std::collections::BTreeSet<char> = sorts.iter().map(|sort| sort.mark()).collect();
        assert_eq!(marks.len(), sorts.len(), "each sort has its own mark");
    }

    #[test]
    fn cursors_of_the_json_form_are_still_read() {
        let old = URL_SAFE_NO_PAD.encode(format!(r#"{{"s":"UPDATED_DESC","k":1796607257756024,"i":"{ORDER}"}}"#));
        let cursor = Cursor::decode("after", &old, OrderSort::UpdatedDesc).expect("an old cursor");
        assert_eq!(cursor, Cursor { sort: OrderSort::UpdatedDesc, key: 1_796_607_257_756_024, id: ORDER.into() });
    }

    #[test]
    fn anything_else_is_not_a_cursor() {
        let encoded = |text: &str| URL_SAFE_NO_PAD.encode(text);
        for text in [
            "not-a-cursor!".to_owned(),
            String::new(),
            encoded(""),
            encoded("u"),
            encoded("u12"),
            encoded("u12."),
            encoded(&format!("x12.{ORDER}")),
            encoded(&format!("u.{ORDER}")),
            encoded(&format!("u1.{ORDER}")) + "@",
            encoded(&format!("u99999999999999999999.{ORDER}")),
            encoded(&format!("u 1.{ORDER}")),
            // Not an order's id: another kind's, a short one, one with a NUL
            // (which PostgreSQL refuses in a text), in either form.
            encoded("u1.site_01a24e3c3d9a7572aae909355f7e1c52"),
            encoded("u1.ord_1"),
            encoded(&format!("u1.{ORDER}\0")),
            encoded(r#"{"s":"UPDATED_DESC","k":1,"i":"ord_01a24e3c3d9a7572aae909355f7e1c5\u0000"}"#),
            encoded(r#"{"s":"UPDATED_DESC"}"#),
            URL_SAFE_NO_PAD.encode([b'u', b'1', b'.', 0xff, 0xfe]),
        ] {
            let error = Cursor::decode("before", &text, OrderSort::UpdatedDesc).expect_err(&text);
            assert!(matches!(&error, AppError::BadInput { field, .. } if field == "before"), "{text}: {error:?}");
        }
    }
}
