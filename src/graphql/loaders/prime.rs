//! What a page of orders or one order names, and one order's children, in
//! one statement ([`prime`]).
//!
//! Both are arms of one `UNION ALL` of wide rows (`db::wide`), each kind
//! of row its own arm with its own kind: the people, sites, assets,
//! vendors and accounts named by id (`by_id::Part`), and an order's notes,
//! time, cost lines, totals, history, attachments and parts
//! (`children::Part`). Both are known once the orders' rows and facts are
//! read, so they go as one statement, laid out for the widest arm: an
//! order's detail reads them with a round trip fewer than as two
//! (BENCHMARKS.md, "What an order names and its children in one
//! statement").

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::UnionType;

use super::by_id::{self, Found, Named};
use super::children::{self, Children};
use super::{LoadError, Loaders, fail};
use crate::db::OneOf;
use crate::db::texts::Texts;
use crate::db::wide;

/// Reads what `named` names and `children`, those not in the loaders'
/// cache already, in one statement (none when all are), and feeds them
/// into the cache. Returns the people, sites and vendors named, cached
/// before or read now.
pub async fn prime(loaders: &Loaders, named: Named, children: Children) -> Result<Found, LoadError> {
    let (named, named_values) = by_id::Part::new(loaders, named);
    let children = children::Part::new(loaders, children);
    if named.is_empty() && children.is_empty() {
        return Ok(named.found());
    }
    let db = loaders.loader();
    let backend = db.backend();
    let organization = db.organization_id.as_str();
    let layout = children.layout().max(named.layout());
    let mut values = children.values(organization);
    let bound_by_children = values.len();
    values.extend(named_values);
    // Its text is kept (`Texts`), by the children's form and each named
    // kind's, or their absence.
    static TEXTS: Texts<(u16, [Option<OneOf>; 5])> = Texts::new();
    let statement = TEXTS.statement(backend, (children.form(), named.form()), values, |mut values| {
        let named_values = values.split_off(bound_by_children);
        let mut selects = children.selects(layout, organization).into_iter().chain(named.selects(layout, named_values));
        let mut union = selects.next().expect("at least one arm");
        for select in selects {
            union.union(UnionType::All, select);
        }
        if !children.is_empty() {
            children::Part::order(&mut union);
        }
        backend.build(&union)
    });
    let rows = db.conn.query_all_raw(statement).await.map_err(fail)?;

    let (mut named_read, mut children_read) = (by_id::Read::new(layout), children::Read::new(layout));
    for row in &rows {
        let kind = wide::kind(row).map_err(fail)?;
        if by_id::Part::reads(kind) {
            named_read.add(row, kind)?;
        } else {
            children_read.add(row, kind).map_err(fail)?;
        }
    }
    children.feed(loaders, children_read).await;
    Ok(named.feed(loaders, named_read).await)
}
