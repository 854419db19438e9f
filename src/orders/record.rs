//! An order with the facts the policy needs about it, loaded in batches: a
//! page of orders costs a fixed number of statements however long it is.

use entity::{
    approval_step_approvers, approval_steps, cost_lines, order_assignees, order_tags, orders, part_usages, time_entries,
};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement, UnionType};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Value};

use super::model::{OrderKind, OrderStatus, SendState};
use crate::auth::Principal;
use crate::db::rows::{self, OrderRow};
use crate::db::texts::{KeptBy, Texts};
use crate::db::wide::Slot;
use crate::db::{OneOf, one_of_bound, one_of_values};
use crate::error::{AppError, AppResult};
use crate::ids::{ById, IdHasher};
use crate::policy::{self, OrderFacts, PendingStep, filter::visible_order};

/// The `source` of the intake approval step.
pub const INTAKE_SOURCE: &str = "intake";

/// An approval step's decision once approved.
pub const STEP_APPROVED: &str = "APPROVED";

/// Who decides the pending approval step, owned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Pending {
    Intake,
    Designated(Vec<String>),
}

impl Pending {
    /// The policy's view of it.
    pub fn step(&self) -> PendingStep<'_> {
        match self {
            Self::Intake => PendingStep::Intake,
            Self::Designated(ids) => PendingStep::Designated(ids),
        }
    }
}

/// An order's row and what is related to it. Loaded by [`load_for`] for a
/// principal the policy judges from the row alone (a partner token), the
/// related facts are left empty: nothing that principal may decide or read
/// depends on them.
#[derive(Debug, Clone)]
pub struct OrderRecord {
    pub model: orders::Model,
    pub kind: OrderKind,
    pub status: OrderStatus,
    /// `None` when the read that loaded it did not ask for them
    /// ([`Tags::Unread`]); read them through [`Self::tags`].
    tags: Option<Vec<String>>,
    pub assignee_ids: Vec<String>,
    pub work_logger_ids: Vec<String>,
    pub designated_approver_ids: Vec<String>,
    pub pending: Option<Pending>,
    /// Every approval step, by position.
    pub steps: Vec<StepRecord>,
}

/// An approval step with its approvers (sorted), as an order's record holds
/// it.
#[derive(Debug, Clone)]
pub struct StepRecord {
    pub model: approval_steps::Model,
    pub approvers: Vec<String>,
}

/// Whether a load reads the orders' tags: a page that does not select
/// `tags` leaves them out, a sixth of its facts statement's time and half
/// its rows (BENCHMARKS.md, "A page's tags read when asked"). Nothing the
/// policy decides depends on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tags {
    Read,
    Unread,
}

impl OrderRecord {
    /// The order's tags, by name; an internal error for a record loaded
    /// without them, which only a read that did not ask for them holds.
    pub fn tags(&self) -> AppResult<&[String]> {
        self.tags.as_deref().ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("order {}'s tags were not read for this request", self.model.id))
        })
    }

    pub fn facts(&self) -> OrderFacts<'_> {
        let m = &self.model;
        OrderFacts {
            organization_id: &m.organization_id,
            scope_account_id: m.scope_account_id.as_deref(),
            site_id: m.site_id.as_deref(),
            asset_id: m.asset_id.as_deref(),
            kind: self.kind,
            status: self.status,
            archived: m.archived,
            deleted: m.deleted_at.is_some(),
            creator_id: &m.creator_id,
            owner_id: &m.owner_id,
            vendor_id: m.vendor_id.as_deref(),
            assignee_ids: &self.assignee_ids,
            work_logger_ids: &self.work_logger_ids,
            designated_approver_ids: &self.designated_approver_ids,
            pending_step: self.pending.as_ref().map(Pending::step),
            sending: m.send_state.as_deref().and_then(SendState::parse),
        }
    }
}

/// The order `id` with its facts, if `principal` may see it (`None` alike
/// for one that does not exist, was deleted or is out of their sight).
/// Loaded for `principal`'s own reads and decisions ([`load_for`]); to
/// judge it for someone else, [`load_visible_whole`].
pub async fn load_visible<C: ConnectionTrait>(
    conn: &C,
    principal: &Principal,
    id: &str,
) -> AppResult<Option<OrderRecord>> {
    match visible_row(conn, principal, id).await? {
        Some(model) => Ok(load_for(conn, principal, vec![model], Tags::Read).await?.pop()),
        None => Ok(None),
    }
}

/// [`load_visible`] with every fact loaded, whoever `principal` is: for
/// deciding what another person may do with it (`explainAccess`).
pub async fn load_visible_whole<C: ConnectionTrait>(
    conn: &C,
    principal: &Principal,
    id: &str,
) -> AppResult<Option<OrderRecord>> {
    match visible_row(conn, principal, id).await? {
        Some(model) => Ok(load(conn, vec![model]).await?.pop()),
        None => Ok(None),
    }
}

/// The text of [`visible_row`]'s statement, by principal.
static VISIBLE_ROW: KeptBy<Principal> = KeptBy::new();

/// The order `id`'s row, if `principal` may see it. The policy's condition
/// is the same text for every order a principal asks for, and binds the
/// same values but the order's id, so the statement is kept by principal
/// ([`KeptBy`]) rather than built by sea-query for every detail: that was
/// a twentieth of a detail's gateway instructions for a principal who sees
/// the whole organization, and a tenth for one who does not, whose
/// condition lists their relations and scopes (BENCHMARKS.md).
async fn visible_row<C: ConnectionTrait>(
    conn: &C,
    principal: &Principal,
    id: &str,
) -> AppResult<Option<orders::Model>> {
    let backend = conn.get_database_backend();
    let statement = VISIBLE_ROW.statement(backend, principal, id, |id| {
        orders::Entity::find().filter(visible_order(principal, id)).limit(1).build(backend)
    });
    Ok(rows::all::<OrderRow>(conn, statement).await?.pop())
}

/// [`load`] for what `principal` reads, with their tags or not: without
/// the facts beyond each order's row where the policy says nothing
/// `principal` may decide or read depends on them (a partner token's
/// reads: a statement fewer, and no tags). The records are for
/// `principal`'s own decisions only.
pub async fn load_for<C: ConnectionTrait>(
    conn: &C,
    principal: &Principal,
    models: Vec<orders::Model>,
    tags: Tags,
) -> AppResult<Vec<OrderRecord>> {
    if policy::order::depends_on_related(principal) {
        load_with(conn, models, tags).await
    } else {
        records(models, Tags::Unread, |_| (Related::default(), Steps::default()))
    }
}

/// Loads the facts of `models`, in their order, with one statement
/// ([`facts`]): the orders' people and tags, and their approval steps with
/// their approvers (kept whole: `Order.approvalSteps` reads them from here).
pub async fn load<C: ConnectionTrait>(conn: &C, models: Vec<orders::Model>) -> AppResult<Vec<OrderRecord>> {
    load_with(conn, models, Tags::Read).await
}

async fn load_with<C: ConnectionTrait>(
    conn: &C,
    models: Vec<orders::Model>,
    tags: Tags,
) -> AppResult<Vec<OrderRecord>> {
    if models.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = models.iter().map(|m| m.id.clone()).collect();
    let (mut related, mut steps) = facts(conn, &ids, tags).await?;
    records(models, tags, |id| (related.remove(id).unwrap_or_default(), steps.remove(id).unwrap_or_default()))
}

/// The records of `models`, in their order, each with its facts from
/// `facts_of` (given its id) and its tags if they were read. Collected
/// into a vector of its final size: a collect of `Result`s cannot know it,
/// and would move a page's records again each time the vector grew.
fn records(
    models: Vec<orders::Model>,
    tags: Tags,
    mut facts_of: impl FnMut(&str) -> (Related, Steps),
) -> AppResult<Vec<OrderRecord>> {
    let mut records = Vec::with_capacity(models.len());
    for model in models {
        let (related, steps) = facts_of(&model.id);
        records.push(OrderRecord::new(model, related, tags, steps)?);
    }
    Ok(records)
}

impl OrderRecord {
    fn new(model: orders::Model, related: Related, tags: Tags, steps: Steps) -> AppResult<Self> {
        let kind = OrderKind::parse(&model.kind);
        let status = OrderStatus::parse(&model.status);
        let (Some(kind), Some(status)) = (kind, status) else {
            return Err(AppError::internal(anyhow::anyhow!(
                "order {} has kind {:?} and status {:?}",
                model.id,
                model.kind,
                model.status
            )));
        };
        Ok(Self {
            kind,
            status,
            tags: (tags == Tags::Read).then_some(related.tags),
            assignee_ids: related.assignees,
            work_logger_ids: related.loggers,
            designated_approver_ids: steps.designated,
            pending: steps.pending,
            steps: steps.steps,
            model,
        })
    }
}

/// An order's tags and people, as [`facts`] reads them.
#[derive(Default)]
struct Related {
    tags: Vec<String>,
    /// Assignees, earliest assigned first.
    assignees: Vec<String>,
    /// Everyone who logged time, costs or parts, sorted.
    loggers: Vec<String>,
}

/// The text of [`facts`]'s statement, by form and whether it reads tags:
/// outside the function, which is generic over the connection.
static FACTS: Texts<(OneOf, Tags)> = Texts::new();

/// What a row of [`facts`] is.
const TAG: i32 = 0;
const ASSIGNEE: i32 = 1;
const LOGGER: i32 = 2;
const STEP: i32 = 3;

/// The facts of each order, in one statement: a `UNION ALL` of one select
/// per table, each row saying which it is (`what`). Tags, assignees (with
/// when they were assigned) and work loggers are `(order, what, value,
/// at)`, the rest of the row NULL; an approval step is a row per approver
/// (one with no approver for a step that has none), the step's id as its
/// value and its position as its `at`. A person who logged work more than
/// once comes in a row each time, and is kept once here: a `UNION` would
/// have the database sort every row to find them, which cost it 5–8% of
/// these statements' throughput. One statement for all of it saves a
/// round trip on every detail and every page of a person's (BENCHMARKS.md).
/// Its text is kept ([`FACTS`]).
async fn facts<C: ConnectionTrait>(
    conn: &C,
    ids: &[String],
    tags: Tags,
) -> AppResult<(ById<String, Related>, ById<String, Steps>)> {
    use approval_step_approvers as approvers;
    use approval_steps as steps;
    /// The step's columns after `(order, what, value, at)`, NULL in the
    /// other arms: source, decision, decided_by, decided_at, reason, approver.
    const STEP_SLOTS: [Slot; 6] = [Slot::Text, Slot::Text, Slot::Text, Slot::Int, Slot::Text, Slot::Text];
    /// A related arm's values, in the order it binds them: `what`, `at`
    /// unless it is a column, then the orders'.
    fn values(what: i32, dated: bool, ids: &[Value]) -> impl Iterator<Item = Value> {
        let at = (!dated).then(|| Value::from(0i64));
        std::iter::once(Value::from(what)).chain(at).chain(ids.iter().cloned())
    }
    fn arm<T: EntityTrait>(
        table: T,
        order: impl ColumnTrait,
        value: impl ColumnTrait,
        what: i32,
        at: Option<impl ColumnTrait>,
        form: OneOf,
        ids: &[Value],
    ) -> SelectStatement {
        let at = match at {
            Some(column) => Expr::col(column),
            None => Expr::val(0i64),
        };
        let mut query = Query::select()
            .expr_as(Expr::col(order), "order_id")
            .expr_as(Expr::val(what), "what")
            .expr_as(Expr::col(value), "value")
            .expr_as(at, "at")
            .from(table)
            .and_where(one_of_bound(order, form, ids.to_vec()))
            .take();
        query.exprs(STEP_SLOTS.map(Slot::null));
        query
    }
    let backend = conn.get_database_backend();
    let (form, ids) = one_of_values(backend, ids.to_vec());
    let tagged = [(TAG, false)].into_iter().filter(|_| tags == Tags::Read);
    let bound = tagged
        .chain([(ASSIGNEE, true), (LOGGER, false), (LOGGER, false), (LOGGER, false)])
        .flat_map(|(what, dated)| values(what, dated, &ids))
        .chain(std::iter::once(Value::from(STEP)))
        .chain(ids.iter().cloned())
        .collect();
    let statement = FACTS.statement(backend, (form, tags), bound, |_| {
        let none = None::<order_tags::Column>;
        let tagged = (tags == Tags::Read).then(|| {
            arm(order_tags::Entity, order_tags::Column::OrderId, order_tags::Column::Tag, TAG, none, form, &ids)
        });
        let arms = [
            arm(
                order_assignees::Entity,
                order_assignees::Column::OrderId,
                order_assignees::Column::UserId,
                ASSIGNEE,
                Some(order_assignees::Column::AssignedAt),
                form,
                &ids,
            ),
            arm(
                time_entries::Entity,
                time_entries::Column::OrderId,
                time_entries::Column::UserId,
                LOGGER,
                none,
                form,
                &ids,
            ),
            arm(cost_lines::Entity, cost_lines::Column::OrderId, cost_lines::Column::AddedBy, LOGGER, none, form, &ids),
            arm(
                part_usages::Entity,
                part_usages::Column::OrderId,
                part_usages::Column::AddedBy,
                LOGGER,
                none,
                form,
                &ids,
            ),
        ];
        let mut arms = tagged.into_iter().chain(arms);
        let mut query = arms.next().expect("the assignees' arm at least");
        for arm in arms {
            query.union(UnionType::All, arm);
        }
        let step = |column: steps::Column| Expr::col((steps::Entity, column));
        let steps = Query::select()
            .expr(step(steps::Column::OrderId))
            .expr(Expr::val(STEP))
            .expr(step(steps::Column::Id))
            .expr(step(steps::Column::Position).cast_as("BIGINT"))
            .expr(step(steps::Column::Source))
            .expr(step(steps::Column::Decision))
            .expr(step(steps::Column::DecidedBy))
            .expr(step(steps::Column::DecidedAt))
            .expr(step(steps::Column::Reason))
            .expr(Expr::col((approvers::Entity, approvers::Column::UserId)))
            .from(steps::Entity)
            .left_join(
                approvers::Entity,
                Expr::col((approvers::Entity, approvers::Column::StepId)).equals((steps::Entity, steps::Column::Id)),
            )
            .and_where(one_of_bound((steps::Entity, steps::Column::OrderId), form, ids.clone()))
            .take();
        query.union(UnionType::All, steps);
        backend.build(&query)
    });
    let mut related = Vec::new();
    let mut step_rows = Vec::new();
    for row in conn.query_all_raw(statement).await? {
        let order_id = rows::at::<String>(&row, 0)?;
        let what = rows::at::<i32>(&row, 1)?;
        let value = rows::at::<String>(&row, 2)?;
        let at = rows::at::<i64>(&row, 3)?;
        if what != STEP {
            related.push((order_id, what, value, at));
            continue;
        }
        let position = i32::try_from(at).map_err(|_| sea_orm::DbErr::Type(format!("step {value} at {at}")))?;
        let step = approval_steps::Model {
            id: value,
            order_id,
            position,
            source: rows::at(&row, 4)?,
            decision: rows::at(&row, 5)?,
            decided_by: rows::at(&row, 6)?,
            decided_at: rows::at(&row, 7)?,
            reason: rows::at(&row, 8)?,
        };
        step_rows.push((step, rows::at::<Option<String>>(&row, 9)?));
    }
    Ok((related_of(related, ids.len()), steps_of(step_rows, ids.len())))
}

/// Tags by name, assignees by when, loggers by id, for each of `orders`
/// orders; a row repeated (a logger's) lands beside its twin, and only one
/// is kept.
fn related_of(mut rows: Vec<(String, i32, String, i64)>, orders: usize) -> ById<String, Related> {
    rows.sort_unstable_by(|a, b| (a.1, a.3, &a.2, &a.0).cmp(&(b.1, b.3, &b.2, &b.0)));
    rows.dedup();
    let mut map: ById<String, Related> = ById::with_capacity_and_hasher(orders, IdHasher::default());
    for (order_id, what, value, _) in rows {
        let related = map.entry(order_id).or_default();
        match what {
            TAG => related.tags.push(value),
            ASSIGNEE => related.assignees.push(value),
            _ => related.loggers.push(value),
        }
    }
    map
}

/// An order's approval steps, as [`facts`] reads them.
#[derive(Default)]
struct Steps {
    /// The approvers of every step, sorted, once each.
    designated: Vec<String>,
    /// The first undecided step.
    pending: Option<Pending>,
    /// Every step, by position.
    steps: Vec<StepRecord>,
}

/// Each of `orders` orders' steps, by position, with their approvers, from
/// a row per step and approver.
fn steps_of(mut rows: Vec<(approval_steps::Model, Option<String>)>, orders: usize) -> ById<String, Steps> {
    rows.sort_by(|(a, a_approver), (b, b_approver)| {
        (&a.order_id, a.position, &a.id, a_approver).cmp(&(&b.order_id, b.position, &b.id, b_approver))
    });
    let mut map: ById<String, Steps> = ById::with_capacity_and_hasher(orders, IdHasher::default());
    for (step, approver) in rows {
        let order = map.entry(step.order_id.clone()).or_default();
        if order.steps.last().is_none_or(|last| last.model.id != step.id) {
            order.steps.push(StepRecord { model: step, approvers: Vec::new() });
        }
        if let (Some(approver), Some(last)) = (approver, order.steps.last_mut()) {
            last.approvers.push(approver);
        }
    }
    for order in map.values_mut() {
        order.pending = order.steps.iter().find(|s| s.model.decision.is_none()).map(|step| {
            if step.model.source == INTAKE_SOURCE {
                Pending::Intake
            } else {
                Pending::Designated(step.approvers.clone())
            }
        });
        order.designated = order.steps.iter().flat_map(|s| s.approvers.iter().cloned()).collect();
        order.designated.sort();
        order.designated.dedup();
    }
    map
}
