//! An order's children of several kinds, read together ([`Part`]).
//!
//! An order's detail asks for its notes, time, cost lines, actual cost and
//! history, each its own loader's statement: five round trips to the
//! database for a few rows each, where the database's and the gateway's
//! cost is mostly the trip, not the rows. Asked for one order, these
//! loaders' reads go as arms of one `UNION ALL` of wide rows instead
//! (`db::wide`: each kind's select an arm, its sort key second), in each
//! kind's own order, as its loader would read them, in the statement that
//! reads what the order names (`loaders::prime`). What is read is fed
//! into the loaders' cache, where the resolvers find it, as the loaders
//! themselves would have left it (empty lists and zero totals included).
//!
//! Pages of orders keep one statement per kind (`orders::graphql::prime`):
//! a page's statements do not grow with its size either way.

use entity::{attachments, audit_events, cost_lines, notes, part_usages, time_entries};
use sea_orm::sea_query::{Alias, Condition, Expr, Func, Query, SelectStatement};
use sea_orm::{ColumnTrait, EntityTrait, Order, QueryResult, Value};

use super::{
    ActualCostOf, AttachmentsOf, CostLinesOf, HistoryOf, Loaders, NotesOf, PUBLIC, PartsOf, TimeEntriesOf,
    cost_lines_filter, history_filter, notes_filter,
};
use crate::db::OneOf;
use crate::db::rows::{self, AttachmentRow, AuditEventRow, CostLineRow, NoteRow, PartUsageRow, TimeEntryRow};
use crate::db::wide::{self, KIND, Layout, SORT, Slot, slots};

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

/// The arms of `children` not in the loaders' cache already: their part
/// of the statement that `loaders::prime` reads them with.
pub(super) struct Part {
    arms: Vec<Arm>,
}

impl Part {
    pub(super) fn new(loaders: &Loaders, children: Children) -> Self {
        let mut arms = Vec::new();
        arms.extend(uncached(loaders, children.notes).map(Arm::Notes));
        arms.extend(uncached(loaders, children.cost_lines).map(Arm::CostLines));
        arms.extend(uncached(loaders, children.time_entries).map(Arm::TimeEntries));
        if let Some(key) = uncached(loaders, children.actual_cost) {
            arms.push(Arm::CostTotal(key.clone()));
            arms.push(Arm::TimeTotal(key));
        }
        arms.extend(uncached(loaders, children.history).map(Arm::History));
        arms.extend(uncached(loaders, children.attachments).map(Arm::Attachments));
        arms.extend(uncached(loaders, children.parts).map(Arm::Parts));
        Self { arms }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.arms.is_empty()
    }

    /// Room for its arms' columns (none without arms), with at least one
    /// text place: the rows' order ends on it (the id), and the totals
    /// alone have none.
    pub(super) fn layout(&self) -> Layout {
        if self.arms.is_empty() {
            return Layout::default();
        }
        self.arms.iter().fold(Layout::of(&[Slot::Text]), |layout, arm| layout.max(Layout::of(&arm.slots())))
    }

    /// Which arms it has, with which filters: its part of the statement's
    /// form.
    pub(super) fn form(&self) -> u16 {
        self.arms.iter().fold(0, |form, arm| form | arm.form())
    }

    /// The values its arms bind, in order.
    pub(super) fn values(&self, organization: &str) -> Vec<Value> {
        self.arms.iter().flat_map(|arm| arm.values(organization)).collect()
    }

    /// Its arms' selects, laid out as `layout`.
    pub(super) fn selects(&self, layout: Layout, organization: &str) -> Vec<SelectStatement> {
        self.arms.iter().map(|arm| arm.select(layout, organization)).collect()
    }

    /// Orders a statement's rows as each kind's loader reads them: by
    /// kind, then by each kind's sort key and id.
    pub(super) fn order(union: &mut SelectStatement) {
        for column in [KIND, SORT, "t0"] {
            union.order_by(Alias::new(column), Order::Asc);
        }
    }

    /// Feeds what `read` read into the loaders' cache, under each arm's
    /// key (empty lists and zero totals included).
    pub(super) async fn feed(self, loaders: &Loaders, mut read: Read) {
        for arm in self.arms {
            read.feed(loaders, arm).await;
        }
    }
}

/// `key`, unless the loaders' cache holds it already.
fn uncached<K>(loaders: &Loaders, key: Option<K>) -> Option<K>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    super::Db: async_graphql::dataloader::Loader<K>,
{
    key.filter(|key| !loaders.get_cached_values::<K>().contains_key(key))
}

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
        let order = |id: &str| Value::from(id);
        match self {
            Self::Notes(key) => {
                let public = (!key.internal).then(|| Value::from(PUBLIC));
                let filter = notes_filter(OneOf::One, vec![order(&key.order_id)], public);
                wide::arm::<notes::Entity>(kind, layout, Some(notes::Column::CreatedAt), filter)
            }
            Self::CostLines(key) => {
                let user = key.added_by.as_deref().map(Value::from);
                let filter = cost_lines_filter(OneOf::One, vec![order(&key.order_id)], user);
                wide::arm::<cost_lines::Entity>(kind, layout, Some(cost_lines::Column::CreatedAt), filter)
            }
            Self::TimeEntries(TimeEntriesOf(id)) => wide::arm::<time_entries::Entity>(
                kind,
                layout,
                Some(time_entries::Column::LoggedAt),
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
            Self::History(HistoryOf(id)) => wide::arm::<audit_events::Entity>(
                kind,
                layout,
                Some(audit_events::Column::At),
                history_filter(OneOf::One, vec![order(id)], Value::from(organization)),
            ),
            Self::Attachments(AttachmentsOf(id)) => wide::arm::<attachments::Entity>(
                kind,
                layout,
                Some(attachments::Column::CreatedAt),
                Condition::all().add(attachments::Column::OrderId.eq(id.as_str())),
            ),
            Self::Parts(PartsOf(id)) => wide::arm::<part_usages::Entity>(
                kind,
                layout,
                Some(part_usages::Column::CreatedAt),
                Condition::all().add(part_usages::Column::OrderId.eq(id.as_str())),
            ),
        }
    }
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
pub(super) struct Read {
    layout: Layout,
    /// Where each kind's columns are in the row (`wide::places`), by kind.
    places: [Vec<usize>; 8],
    notes: Vec<notes::Model>,
    cost_lines: Vec<cost_lines::Model>,
    time_entries: Vec<time_entries::Model>,
    total: i64,
    history: Vec<audit_events::Model>,
    attachments: Vec<attachments::Model>,
    parts: Vec<part_usages::Model>,
}

impl Read {
    /// Reads rows laid out as `layout`.
    pub(super) fn new(layout: Layout) -> Self {
        let mut places: [Vec<usize>; 8] = Default::default();
        for (kind, at) in [
            (NOTES, wide::places::<notes::Entity>(layout)),
            (COST_LINES, wide::places::<cost_lines::Entity>(layout)),
            (TIME_ENTRIES, wide::places::<time_entries::Entity>(layout)),
            (HISTORY, wide::places::<audit_events::Entity>(layout)),
            (ATTACHMENTS, wide::places::<attachments::Entity>(layout)),
            (PARTS, wide::places::<part_usages::Entity>(layout)),
        ] {
            places[kind as usize] = at;
        }
        Self { layout, places, ..Self::default() }
    }

    /// Reads `row`, whose kind is `kind`: one of the children's.
    pub(super) fn add(&mut self, row: &QueryResult, kind: i32) -> Result<(), sea_orm::DbErr> {
        use wide::read;
        let places = usize::try_from(kind).ok().and_then(|kind| self.places.get(kind)).map_or(&[][..], Vec::as_slice);
        match kind {
            NOTES => self.notes.push(read::<NoteRow>(row, places)?),
            COST_LINES => self.cost_lines.push(read::<CostLineRow>(row, places)?),
            TIME_ENTRIES => self.time_entries.push(read::<TimeEntryRow>(row, places)?),
            COST_TOTAL | TIME_TOTAL => {
                self.total += rows::at::<Option<i64>>(row, self.layout.first(Slot::Int))?.unwrap_or(0);
            }
            HISTORY => self.history.push(read::<AuditEventRow>(row, places)?),
            ATTACHMENTS => self.attachments.push(read::<AttachmentRow>(row, places)?),
            PARTS => self.parts.push(read::<PartUsageRow>(row, places)?),
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
