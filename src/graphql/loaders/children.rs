//! An order's children of several kinds in one statement ([`prime`]).
//!
//! An order's detail asks for its notes, time, cost lines, actual cost and
//! history, each its own loader's statement: five round trips to the
//! database for a few rows each, where the database's and the gateway's
//! cost is mostly the trip, not the rows. Asked for one order, these
//! loaders' reads go as one `UNION ALL` instead: each kind's select is an
//! arm, and every arm's columns are laid out in one wide row, each column
//! in a place of its type (texts, then integers, then floats), the places
//! an arm has no column for NULL. The row's first column says which kind
//! it is, the second is the kind's sort key; the rows come in each kind's
//! own order, as its loader would read them. What is read is fed into the
//! loaders' cache, where the resolvers find it, as the loaders themselves
//! would have left it (empty lists and zero totals included).
//!
//! Pages of orders keep one statement per kind (`orders::graphql::prime`):
//! a page's statements do not grow with its size either way.

use entity::{attachments, audit_events, cost_lines, notes, part_usages, time_entries};
use sea_orm::sea_query::{Alias, Condition, Expr, Func, Query, SelectStatement, UnionType};
use sea_orm::{ColumnTrait, ColumnType, ConnectionTrait, EntityTrait, Iterable, Order, QueryResult, Value};

use super::{
    ActualCostOf, AttachmentsOf, CostLinesOf, HistoryOf, LoadError, Loaders, NotesOf, PartsOf, TimeEntriesOf, fail,
};
use crate::db::rows::{
    self, AttachmentRow, AuditEventRow, CostLineRow, NoteRow, PartUsageRow, Positional, TimeEntryRow,
};
use crate::db::texts::Texts;

/// The children of orders to read in one statement, as the keys their
/// loaders cache them under (each key its own order's; the detail's are
/// all one order's).
#[derive(Debug, Default)]
pub struct Children {
    pub notes: Option<NotesOf>,
    pub cost_lines: Option<CostLinesOf>,
    pub time_entries: Option<TimeEntriesOf>,
    pub actual_cost: Option<ActualCostOf>,
    pub history: Option<HistoryOf>,
    pub attachments: Option<AttachmentsOf>,
    pub parts: Option<PartsOf>,
}

/// Reads `children`, those not in the loaders' cache already, in one
/// statement (none when all are), and feeds them into the cache.
pub async fn prime(loaders: &Loaders, children: Children) -> Result<(), LoadError> {
    let mut arms = Vec::new();
    if let Some(key) = children.notes.filter(|k| !cached(loaders, k)) {
        arms.push(Arm::Notes(key));
    }
    if let Some(key) = children.cost_lines.filter(|k| !cached(loaders, k)) {
        arms.push(Arm::CostLines(key));
    }
    if let Some(key) = children.time_entries.filter(|k| !cached(loaders, k)) {
        arms.push(Arm::TimeEntries(key));
    }
    if let Some(key) = children.actual_cost.filter(|k| !cached(loaders, k)) {
        arms.push(Arm::CostTotal(key.clone()));
        arms.push(Arm::TimeTotal(key));
    }
    if let Some(key) = children.history.filter(|k| !cached(loaders, k)) {
        arms.push(Arm::History(key));
    }
    if let Some(key) = children.attachments.filter(|k| !cached(loaders, k)) {
        arms.push(Arm::Attachments(key));
    }
    if let Some(key) = children.parts.filter(|k| !cached(loaders, k)) {
        arms.push(Arm::Parts(key));
    }
    if arms.is_empty() {
        return Ok(());
    }
    let db = loaders.loader();
    let backend = db.backend();
    let layout = arms.iter().fold(Layout::default(), |layout, arm| layout.max(Layout::of(&arm.slots())));
    let organization = db.organization_id.as_str();
    let values = arms.iter().flat_map(|arm| arm.values(organization)).collect();
    // Its text is kept (`Texts`), by which arms, with which filters.
    static TEXTS: Texts<u16> = Texts::new();
    let form = arms.iter().fold(0, |form, arm| form | arm.form());
    let statement = TEXTS.statement(backend, form, values, |_| {
        let mut arms = arms.iter().map(|arm| arm.select(layout, organization));
        let mut union = arms.next().expect("at least one arm");
        for arm in arms {
            union.union(UnionType::All, arm);
        }
        for column in [KIND, SORT, "t0"] {
            union.order_by(Alias::new(column), Order::Asc);
        }
        backend.build(&union)
    });
    let rows = db.conn.query_all_raw(statement).await.map_err(fail)?;

    let mut read = Read::default();
    for row in &rows {
        read.add(row, layout).map_err(fail)?;
    }
    for arm in arms {
        read.feed(loaders, arm).await;
    }
    Ok(())
}

fn cached<K>(loaders: &Loaders, key: &K) -> bool
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    super::Db: async_graphql::dataloader::Loader<K>,
{
    loaders.get_cached_values::<K>().contains_key(key)
}

/// The wide row's first two columns.
const KIND: &str = "kind";
const SORT: &str = "sort";

/// The kinds of row (the row's first column), each an arm's.
const NOTES: i32 = 0;
const COST_LINES: i32 = 1;
const TIME_ENTRIES: i32 = 2;
const COST_TOTAL: i32 = 3;
const TIME_TOTAL: i32 = 4;
const HISTORY: i32 = 5;
const ATTACHMENTS: i32 = 6;
const PARTS: i32 = 7;

/// One kind's select in the statement, with the key it is read for.
enum Arm {
    Notes(NotesOf),
    CostLines(CostLinesOf),
    TimeEntries(TimeEntriesOf),
    /// The sum of the order's cost lines.
    CostTotal(ActualCostOf),
    /// The sum of the order's time entries' costs.
    TimeTotal(ActualCostOf),
    History(HistoryOf),
    Attachments(AttachmentsOf),
    Parts(PartsOf),
}

impl Arm {
    /// What the row's first column holds for this arm's rows.
    fn kind(&self) -> i32 {
        match self {
            Self::Notes(_) => NOTES,
            Self::CostLines(_) => COST_LINES,
            Self::TimeEntries(_) => TIME_ENTRIES,
            Self::CostTotal(_) => COST_TOTAL,
            Self::TimeTotal(_) => TIME_TOTAL,
            Self::History(_) => HISTORY,
            Self::Attachments(_) => ATTACHMENTS,
            Self::Parts(_) => PARTS,
        }
    }

    /// Its part of the statement's form: its kind, and whether a filter
    /// (notes' visibility, cost lines' author) is there.
    fn form(&self) -> u16 {
        let filtered = match self {
            Self::Notes(key) => !key.internal,
            Self::CostLines(key) => key.added_by.is_some(),
            _ => false,
        };
        (1 << self.kind()) | (u16::from(filtered) << (8 + self.kind()))
    }

    /// The values it binds, in the order its select binds them.
    fn values(&self, organization: &str) -> Vec<Value> {
        let order = |id: &str| Value::from(id);
        match self {
            Self::Notes(key) if key.internal => vec![order(&key.order_id)],
            Self::Notes(key) => vec![order(&key.order_id), Value::from(PUBLIC)],
            Self::CostLines(CostLinesOf { order_id, added_by }) => {
                std::iter::once(order(order_id)).chain(added_by.as_deref().map(Value::from)).collect()
            }
            Self::History(key) => vec![Value::from(organization), order(&key.0)],
            Self::TimeEntries(TimeEntriesOf(id))
            | Self::CostTotal(ActualCostOf(id))
            | Self::TimeTotal(ActualCostOf(id))
            | Self::Attachments(AttachmentsOf(id))
            | Self::Parts(PartsOf(id)) => vec![order(id)],
        }
    }

    /// The types of the columns it selects after the kind and the sort key.
    fn slots(&self) -> Vec<Slot> {
        match self {
            Self::Notes(_) => slots::<notes::Entity>(),
            Self::CostLines(_) => slots::<cost_lines::Entity>(),
            Self::TimeEntries(_) => slots::<time_entries::Entity>(),
            Self::CostTotal(_) | Self::TimeTotal(_) => vec![Slot::Int],
            Self::History(_) => slots::<audit_events::Entity>(),
            Self::Attachments(_) => slots::<attachments::Entity>(),
            Self::Parts(_) => slots::<part_usages::Entity>(),
        }
    }

    /// Its select, laid out as `layout`: the same rows, filtered the same
    /// way, as its loader's statement (see the loaders).
    fn select(&self, layout: Layout, organization: &str) -> SelectStatement {
        let kind = self.kind();
        match self {
            Self::Notes(key) => {
                let mut filter = Condition::all().add(notes::Column::OrderId.eq(key.order_id.as_str()));
                if !key.internal {
                    filter = filter.add(notes::Column::Visibility.eq(PUBLIC));
                }
                rows_of::<notes::Entity>(kind, layout, notes::Column::CreatedAt, filter)
            }
            Self::CostLines(key) => {
                let mut filter = Condition::all().add(cost_lines::Column::OrderId.eq(key.order_id.as_str()));
                if let Some(user) = &key.added_by {
                    filter = filter.add(cost_lines::Column::AddedBy.eq(user.as_str()));
                }
                rows_of::<cost_lines::Entity>(kind, layout, cost_lines::Column::CreatedAt, filter)
            }
            Self::TimeEntries(TimeEntriesOf(id)) => rows_of::<time_entries::Entity>(
                kind,
                layout,
                time_entries::Column::LoggedAt,
                Condition::all().add(time_entries::Column::OrderId.eq(id.as_str())),
            ),
            Self::CostTotal(ActualCostOf(id)) => total::<cost_lines::Entity>(
                kind,
                layout,
                cost_lines::Column::AmountCents,
                cost_lines::Column::OrderId.eq(id.as_str()),
            ),
            Self::TimeTotal(ActualCostOf(id)) => total::<time_entries::Entity>(
                kind,
                layout,
                time_entries::Column::CostCents,
                time_entries::Column::OrderId.eq(id.as_str()),
            ),
            Self::History(HistoryOf(id)) => rows_of::<audit_events::Entity>(
                kind,
                layout,
                audit_events::Column::At,
                Condition::all()
                    .add(audit_events::Column::OrganizationId.eq(organization))
                    .add(audit_events::Column::OrderId.eq(id.as_str())),
            ),
            Self::Attachments(AttachmentsOf(id)) => rows_of::<attachments::Entity>(
                kind,
                layout,
                attachments::Column::CreatedAt,
                Condition::all().add(attachments::Column::OrderId.eq(id.as_str())),
            ),
            Self::Parts(PartsOf(id)) => rows_of::<part_usages::Entity>(
                kind,
                layout,
                part_usages::Column::CreatedAt,
                Condition::all().add(part_usages::Column::OrderId.eq(id.as_str())),
            ),
        }
    }
}

/// A note's visibility that every reader of the order sees.
const PUBLIC: &str = "PUBLIC";

/// What type a column of the wide row has. An order's children's columns
/// are of these three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Text,
    Int,
    Float,
}

impl Slot {
    const ALL: [Self; 3] = [Self::Text, Self::Int, Self::Float];

    fn of(column_type: &ColumnType) -> Self {
        match column_type {
            ColumnType::String(_) | ColumnType::Text | ColumnType::Char(_) => Self::Text,
            ColumnType::BigInteger => Self::Int,
            ColumnType::Double => Self::Float,
            other => unreachable!("an order's child has a column of type {other:?}, which no slot holds"),
        }
    }

    /// A NULL of its type: PostgreSQL types each column of a `UNION` from
    /// its arms, and a bare NULL in the first arm would be taken as text.
    fn null(self) -> Expr {
        Expr::cust(match self {
            Self::Text => "CAST(NULL AS TEXT)",
            Self::Int => "CAST(NULL AS BIGINT)",
            Self::Float => "CAST(NULL AS DOUBLE PRECISION)",
        })
    }

    /// Its columns' names: `t0`, `i0`, `f0` ...
    fn name(self, n: usize) -> String {
        let prefix = match self {
            Self::Text => 't',
            Self::Int => 'i',
            Self::Float => 'f',
        };
        format!("{prefix}{n}")
    }
}

/// The types of `E`'s columns, in the order `E::find()` selects them.
fn slots<E: EntityTrait>() -> Vec<Slot> {
    E::Column::iter().map(|column| Slot::of(column.def().get_column_type())).collect()
}

/// How many columns of each type the wide row has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Layout {
    text: usize,
    int: usize,
    float: usize,
}

impl Layout {
    fn of(slots: &[Slot]) -> Self {
        let count = |slot| slots.iter().filter(|s| **s == slot).count();
        Self { text: count(Slot::Text), int: count(Slot::Int), float: count(Slot::Float) }
    }

    fn max(self, other: Self) -> Self {
        Self { text: self.text.max(other.text), int: self.int.max(other.int), float: self.float.max(other.float) }
    }

    fn count(self, slot: Slot) -> usize {
        match slot {
            Slot::Text => self.text,
            Slot::Int => self.int,
            Slot::Float => self.float,
        }
    }

    /// The first column of `slot`'s type: after the kind and the sort key,
    /// the texts, then the integers, then the floats.
    fn first(self, slot: Slot) -> usize {
        2 + match slot {
            Slot::Text => 0,
            Slot::Int => self.text,
            Slot::Float => self.text + self.int,
        }
    }

    /// The row's column of each of `slots` in turn: each type's columns
    /// fill its places in order.
    fn columns(self, slots: &[Slot]) -> Vec<usize> {
        let mut used = Layout::default();
        slots
            .iter()
            .map(|&slot| {
                let n = used.count(slot);
                match slot {
                    Slot::Text => used.text += 1,
                    Slot::Int => used.int += 1,
                    Slot::Float => used.float += 1,
                }
                self.first(slot) + n
            })
            .collect()
    }

    /// Selects `columns` (typed) in their places, NULL in the rest.
    fn place(self, select: &mut SelectStatement, columns: Vec<(Slot, Expr)>) {
        for slot in Slot::ALL {
            let mut of_type = columns.iter().filter(|(s, _)| *s == slot).map(|(_, expr)| expr.clone());
            for n in 0..self.count(slot) {
                select.expr_as(of_type.next().unwrap_or_else(|| slot.null()), Alias::new(slot.name(n)));
            }
        }
    }
}

/// The rows of `E` that `filter` keeps, every column, in `sort` then id
/// order (the id is the first text column).
fn rows_of<E: EntityTrait>(kind: i32, layout: Layout, sort: E::Column, filter: Condition) -> SelectStatement {
    let columns =
        E::Column::iter().map(|column| (Slot::of(column.def().get_column_type()), Expr::col((E::default(), column))));
    let mut select = Query::select();
    select.expr_as(Expr::cust(kind.to_string()), Alias::new(KIND)).expr_as(Expr::col((E::default(), sort)), SORT);
    layout.place(&mut select, columns.collect());
    select.from(E::default()).cond_where(filter);
    select
}

/// One row: the sum of `column` over the rows of `E` that `filter` keeps
/// (NULL when there are none).
fn total<E: EntityTrait>(kind: i32, layout: Layout, column: E::Column, filter: Expr) -> SelectStatement {
    let sum = Func::cast_as(Func::sum(Expr::col((E::default(), column))), "BIGINT");
    let mut select = Query::select();
    select.expr_as(Expr::cust(kind.to_string()), Alias::new(KIND)).expr_as(Slot::Int.null(), SORT);
    layout.place(&mut select, vec![(Slot::Int, sum.into())]);
    select.from(E::default()).and_where(filter);
    select
}

/// What the statement read, by kind.
#[derive(Default)]
struct Read {
    notes: Vec<notes::Model>,
    cost_lines: Vec<cost_lines::Model>,
    time_entries: Vec<time_entries::Model>,
    total: i64,
    history: Vec<audit_events::Model>,
    attachments: Vec<attachments::Model>,
    parts: Vec<part_usages::Model>,
}

impl Read {
    fn add(&mut self, row: &QueryResult, layout: Layout) -> Result<(), sea_orm::DbErr> {
        fn read<R: Positional, E: EntityTrait>(row: &QueryResult, layout: Layout) -> Result<R::Model, sea_orm::DbErr> {
            R::read_at(row, layout.columns(&slots::<E>()).into_iter())
        }
        match rows::at::<i32>(row, 0)? {
            NOTES => self.notes.push(read::<NoteRow, notes::Entity>(row, layout)?),
            COST_LINES => self.cost_lines.push(read::<CostLineRow, cost_lines::Entity>(row, layout)?),
            TIME_ENTRIES => self.time_entries.push(read::<TimeEntryRow, time_entries::Entity>(row, layout)?),
            COST_TOTAL | TIME_TOTAL => {
                self.total += rows::at::<Option<i64>>(row, layout.first(Slot::Int))?.unwrap_or(0)
            }
            HISTORY => self.history.push(read::<AuditEventRow, audit_events::Entity>(row, layout)?),
            ATTACHMENTS => self.attachments.push(read::<AttachmentRow, attachments::Entity>(row, layout)?),
            PARTS => self.parts.push(read::<PartUsageRow, part_usages::Entity>(row, layout)?),
            other => return Err(sea_orm::DbErr::Type(format!("no kind of child is {other}"))),
        }
        Ok(())
    }

    /// Caches what `arm` read under its key.
    async fn feed(&mut self, loaders: &Loaders, arm: Arm) {
        match arm {
            Arm::Notes(key) => loaders.feed_one(key, std::mem::take(&mut self.notes)).await,
            Arm::CostLines(key) => loaders.feed_one(key, std::mem::take(&mut self.cost_lines)).await,
            Arm::TimeEntries(key) => loaders.feed_one(key, std::mem::take(&mut self.time_entries)).await,
            // Both sums are in `total`; one arm feeds it.
            Arm::CostTotal(key) => loaders.feed_one(key, self.total).await,
            Arm::TimeTotal(_) => {}
            Arm::History(key) => loaders.feed_one(key, std::mem::take(&mut self.history)).await,
            Arm::Attachments(key) => loaders.feed_one(key, std::mem::take(&mut self.attachments)).await,
            Arm::Parts(key) => loaders.feed_one(key, std::mem::take(&mut self.parts)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_fills_its_own_places() {
        let slots = [Slot::Text, Slot::Int, Slot::Text, Slot::Float, Slot::Int];
        let layout = Layout { text: 3, int: 2, float: 1 };
        assert_eq!(layout.columns(&slots), [2, 5, 3, 7, 6]);
        assert_eq!(Layout::of(&slots), Layout { text: 2, int: 2, float: 1 });
    }

    #[test]
    fn every_child_kind_has_room_in_the_row() {
        for slots in [
            slots::<notes::Entity>(),
            slots::<cost_lines::Entity>(),
            slots::<time_entries::Entity>(),
            slots::<audit_events::Entity>(),
            slots::<attachments::Entity>(),
            slots::<part_usages::Entity>(),
        ] {
            assert_eq!(slots[0], Slot::Text, "the id first: the rows' order ends on it");
            let layout = Layout::of(&slots);
            let mut columns = layout.columns(&slots);
            columns.sort_unstable();
            assert_eq!(columns, (2..2 + slots.len()).collect::<Vec<_>>(), "each column its own place");
        }
    }
}
