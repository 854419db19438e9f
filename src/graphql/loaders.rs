//! Batched reads for nested fields. A page of 50 orders asks for its
//! creators, sites, notes ... through these, and each kind of thing costs one
//! statement for the whole page. One `DataLoader` per operation, caching
//! for that operation only (nothing stale across requests or after a
//! batch's mutation, nothing of another caller's), reading through the
//! operation's [`Reads`] (one held connection for a query): a page primes it with one batch per relation (see
//! `orders::graphql::prime`), and the nested resolvers read from it. Every
//! loader answers for every key it is asked, empty lists included, so an
//! order without notes is not asked about again.
//!
//! These loaders fetch by id or by order id only; whether the caller may see
//! the order was decided before, by the policy, and which children of it they
//! may see is part of the key (for example `NotesOf::internal`), so the
//! narrowing happens in SQL.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{
    accounts, assets, attachments, audit_events, cost_lines, notes, part_usages, procedure_steps, rule_approvers,
    sites, time_entries, users, vendor_approvers, vendor_sends, vendors,
};
use sea_orm::sea_query::{Condition, Expr, Func, Query, UnionType};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QueryTrait, Value};

use crate::db::rows::{
    self, AccountRow, AssetRow, AttachmentRow, AuditEventRow, CostLineRow, NoteRow, PartUsageRow, ProcedureStepRow,
    SiteRow, TimeEntryRow, UserRow, VendorRow, VendorSendRow,
};
use crate::db::texts::Texts;
use crate::db::{OneOf, Reads, one_of, one_of_bound, one_of_values};
use crate::error::AppError;

mod by_id;
mod children;
mod prime;

pub use by_id::{Found, Named, cached_and_missing};
pub use children::Children;
pub use prime::prime;

/// What a loader fails with (`DataLoader` needs a `Clone` error).
pub type LoadError = Arc<anyhow::Error>;

pub fn to_app(error: LoadError) -> AppError {
    AppError::internal(anyhow::anyhow!("{error:#}"))
}

/// The source behind every loader of one request.
pub struct Db {
    conn: Reads,
    organization_id: String,
}

impl Db {
    fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }
}

/// The loaders' cache hashes its keys (ids) with foldhash, seeded at random
/// per map as the standard library's SipHash is, at a fraction of its cost:
/// a page of orders caches a hundred or so.
pub type Loaders = Arc<DataLoader<Db, HashMapCache<foldhash::fast::RandomState>>>;

/// A request's loaders, reading within the caller's organization only.
pub fn for_request(conn: Reads, organization_id: String) -> Loaders {
    Arc::new(DataLoader::with_cache(Db { conn, organization_id }, tokio::spawn, HashMapCache::new()))
}

fn fail(e: sea_orm::DbErr) -> LoadError {
    Arc::new(e.into())
}

fn by_key<K: std::hash::Hash + Eq, V>(rows: Vec<V>, key: impl Fn(&V) -> K) -> HashMap<K, V> {
    rows.into_iter().map(|r| (key(&r), r)).collect()
}

/// `rows` grouped by `key`, with an empty group for every key of `keys`.
fn grouped<K: std::hash::Hash + Eq + Clone, V>(keys: &[K], rows: Vec<V>, key: impl Fn(&V) -> K) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = keys.iter().map(|k| (k.clone(), Vec::new())).collect();
    for row in rows {
        map.entry(key(&row)).or_default().push(row);
    }
    map
}

/// Defines a key type and its loader: `$entity` rows of the caller's
/// organization by id, one statement per batch.
macro_rules! by_id {
    ($(#[$doc:meta])* $key:ident => $entity:ident as $row:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $key(pub String);

        impl Loader<$key> for Db {
            /// Shared: the loader hands a copy to its cache and one to
            /// each caller of a batch (a page's people, sites and vendors).
            type Value = Arc<$entity::Model>;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, Self::Error> {
                // Its text is one of a few: kept (`Texts`).
                static TEXTS: Texts<OneOf> = Texts::new();
                let backend = self.backend();
                let (form, mut values) = one_of_values(backend, keys.iter().map(|k| k.0.clone()).collect());
                values.push(Value::from(self.organization_id.as_str()));
                let statement = TEXTS.statement(backend, form, values, |values| {
                    let (ids, organization) = values.split_at(values.len() - 1);
                    $entity::Entity::find()
                        .filter(one_of_bound(($entity::Entity, $entity::Column::Id), form, ids.to_vec()))
                        .filter($entity::Column::OrganizationId.eq(organization[0].clone()))
                        .build(backend)
                });
                let rows = rows::all::<$row>(&self.conn, statement).await.map_err(fail)?;
                Ok(by_key(rows.into_iter().map(Arc::new).collect(), |r| $key(r.id.clone())))
            }
        }
    };
}

by_id!(
    /// A user by id.
    UserById => users as UserRow
);
by_id!(
    /// A site by id.
    SiteById => sites as SiteRow
);
by_id!(
    /// An asset by id.
    AssetById => assets as AssetRow
);
by_id!(
    /// A vendor by id.
    VendorById => vendors as VendorRow
);
by_id!(
    /// An account by id.
    AccountById => accounts as AccountRow
);

/// Defines a key type whose value is every `$entity` row of one order,
/// decoded as `$row`, one statement per batch (its text kept: `Texts`).
macro_rules! children_of_order {
    ($(#[$doc:meta])* $key:ident => $entity:ident as $row:ident ordered $order:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $key(pub String);

        impl Loader<$key> for Db {
            type Value = Vec<$entity::Model>;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, Self::Error> {
                static TEXTS: Texts<OneOf> = Texts::new();
                let backend = self.backend();
                let (form, values) = one_of_values(backend, keys.iter().map(|k| k.0.clone()).collect());
                let statement = TEXTS.statement(backend, form, values, |ids| {
                    $entity::Entity::find()
                        .filter(one_of_bound(($entity::Entity, $entity::Column::OrderId), form, ids))
                        .order_by_asc($entity::Column::$order)
                        .order_by_asc($entity::Column::Id)
                        .build(backend)
                });
                let rows = rows::all::<$row>(&self.conn, statement).await.map_err(fail)?;
                Ok(grouped(keys, rows, |r| $key(r.order_id.clone())))
            }
        }
    };
}

children_of_order!(
    /// An order's attachments, oldest first.
    AttachmentsOf => attachments as AttachmentRow ordered CreatedAt
);
children_of_order!(
    /// An order's time entries, oldest first.
    TimeEntriesOf => time_entries as TimeEntryRow ordered LoggedAt
);
children_of_order!(
    /// The parts used on an order, oldest first.
    PartsOf => part_usages as PartUsageRow ordered CreatedAt
);
children_of_order!(
    /// An order's procedure, in order.
    StepsOf => procedure_steps as ProcedureStepRow ordered Position
);
children_of_order!(
    /// An order's sends to its vendor, oldest first.
    SendsOf => vendor_sends as VendorSendRow ordered CreatedAt
);

/// An order's notes; `internal: false` leaves INTERNAL ones out (in SQL).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NotesOf {
    pub order_id: String,
    pub internal: bool,
}

impl Loader<NotesOf> for Db {
    type Value = Vec<notes::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[NotesOf]) -> Result<HashMap<NotesOf, Self::Value>, Self::Error> {
        let mut out: HashMap<NotesOf, Self::Value> = keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        // Kept texts (`Texts`), by form and by whether INTERNAL notes are in.
        static TEXTS: Texts<(OneOf, bool)> = Texts::new();
        let backend = self.backend();
        for internal in [false, true] {
            let ids: Vec<String> = keys.iter().filter(|k| k.internal == internal).map(|k| k.order_id.clone()).collect();
            if ids.is_empty() {
                continue;
            }
            let (form, mut values) = one_of_values(backend, ids);
            let ids = values.len();
            if !internal {
                values.push(Value::from(PUBLIC));
            }
            let statement = TEXTS.statement(backend, (form, internal), values, |mut values| {
                let public = values.split_off(ids).into_iter().next();
                notes::Entity::find()
                    .filter(notes_filter(form, values, public))
                    .order_by_asc(notes::Column::CreatedAt)
                    .order_by_asc(notes::Column::Id)
                    .build(backend)
            });
            let rows = rows::all::<NoteRow>(&self.conn, statement).await.map_err(fail)?;
            for note in rows {
                out.entry(NotesOf { order_id: note.order_id.clone(), internal }).or_default().push(note);
            }
        }
        Ok(out)
    }
}

/// A note's visibility that every reader of its order sees.
const PUBLIC: &str = "PUBLIC";

/// The notes of the orders `ids` (bound in `form`) that a reader sees:
/// with `public` (PUBLIC, bound), not the INTERNAL ones. The notes
/// loader's filter, and an order's children's (`Children`).
fn notes_filter(form: OneOf, ids: Vec<Value>, public: Option<Value>) -> Condition {
    let filter = Condition::all().add(one_of_bound((notes::Entity, notes::Column::OrderId), form, ids));
    match public {
        Some(public) => filter.add(notes::Column::Visibility.eq(public)),
        None => filter,
    }
}

/// The cost lines of the orders `ids` (bound in `form`) that a reader
/// sees: with `user`, only those that user added.
fn cost_lines_filter(form: OneOf, ids: Vec<Value>, user: Option<Value>) -> Condition {
    let filter = Condition::all().add(one_of_bound((cost_lines::Entity, cost_lines::Column::OrderId), form, ids));
    match user {
        Some(user) => filter.add(cost_lines::Column::AddedBy.eq(user)),
        None => filter,
    }
}

/// The audit events of the orders `ids` (bound in `form`), within the
/// organization (bound first).
fn history_filter(form: OneOf, ids: Vec<Value>, organization: Value) -> Condition {
    Condition::all().add(audit_events::Column::OrganizationId.eq(organization)).add(one_of_bound(
        (audit_events::Entity, audit_events::Column::OrderId),
        form,
        ids,
    ))
}

/// An order's cost lines; with `added_by`, only the lines that user added.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CostLinesOf {
    pub order_id: String,
    pub added_by: Option<String>,
}

impl Loader<CostLinesOf> for Db {
    type Value = Vec<cost_lines::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[CostLinesOf]) -> Result<HashMap<CostLinesOf, Self::Value>, Self::Error> {
        let mut by_filter: HashMap<Option<String>, Vec<String>> = HashMap::new();
        for key in keys {
            by_filter.entry(key.added_by.clone()).or_default().push(key.order_id.clone());
        }
        let mut out: HashMap<CostLinesOf, Self::Value> = keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        // Kept texts (`Texts`), by form and by whether one user's lines only.
        static TEXTS: Texts<(OneOf, bool)> = Texts::new();
        let backend = self.backend();
        for (added_by, ids) in by_filter {
            let (form, mut values) = one_of_values(backend, ids);
            let ids = values.len();
            values.extend(added_by.iter().map(|user| Value::from(user.as_str())));
            let statement = TEXTS.statement(backend, (form, added_by.is_some()), values, |mut values| {
                let user = values.split_off(ids).into_iter().next();
                cost_lines::Entity::find()
                    .filter(cost_lines_filter(form, values, user))
                    .order_by_asc(cost_lines::Column::CreatedAt)
                    .order_by_asc(cost_lines::Column::Id)
                    .build(backend)
            });
            let rows = rows::all::<CostLineRow>(&self.conn, statement).await.map_err(fail)?;
            for line in rows {
                out.entry(CostLinesOf { order_id: line.order_id.clone(), added_by: added_by.clone() })
                    .or_default()
                    .push(line);
            }
        }
        Ok(out)
    }
}

/// The sum of an order's cost lines and time-entry costs, in cents.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActualCostOf(pub String);

impl Loader<ActualCostOf> for Db {
    type Value = i64;
    type Error = LoadError;

    async fn load(&self, keys: &[ActualCostOf]) -> Result<HashMap<ActualCostOf, i64>, Self::Error> {
        // Both sums in one statement: an order's cost lines, then its time,
        // each selecting the same ids. Its text is kept (`Texts`).
        static TEXTS: Texts<OneOf> = Texts::new();
        let backend = self.backend();
        let (form, mut values) = one_of_values(backend, keys.iter().map(|k| k.0.clone()).collect());
        values.extend_from_within(..);
        let statement = TEXTS.statement(backend, form, values, |mut lines| {
            let time = lines.split_off(lines.len() / 2);
            let mut query = Query::select()
                .column(cost_lines::Column::OrderId)
                .expr_as(sum_as_bigint(cost_lines::Column::AmountCents), "total")
                .from(cost_lines::Entity)
                .and_where(one_of_bound((cost_lines::Entity, cost_lines::Column::OrderId), form, lines))
                .group_by_col(cost_lines::Column::OrderId)
                .take();
            query.union(
                UnionType::All,
                Query::select()
                    .column(time_entries::Column::OrderId)
                    .expr_as(sum_as_bigint(time_entries::Column::CostCents), "total")
                    .from(time_entries::Entity)
                    .and_where(one_of_bound((time_entries::Entity, time_entries::Column::OrderId), form, time))
                    .group_by_col(time_entries::Column::OrderId)
                    .take(),
            );
            backend.build(&query)
        });
        let mut out: HashMap<ActualCostOf, i64> = keys.iter().map(|k| (k.clone(), 0)).collect();
        for row in self.conn.query_all_raw(statement).await.map_err(fail)? {
            let order_id: String = rows::at(&row, 0).map_err(fail)?;
            let total: Option<i64> = rows::at(&row, 1).map_err(fail)?;
            *out.entry(ActualCostOf(order_id)).or_default() += total.unwrap_or(0);
        }
        Ok(out)
    }
}

/// `SUM(column)` as a 64-bit integer (PostgreSQL sums BIGINT as NUMERIC).
fn sum_as_bigint(column: impl sea_orm::sea_query::IntoColumnRef) -> Expr {
    Func::cast_as(Func::sum(Expr::col(column)), "BIGINT").into()
}

/// Defines a key type and its loader: the approvers' user ids of each
/// vendor or rule (`$table.$field`, column `$column`), sorted, one statement
/// per batch.
macro_rules! approvers_of {
    ($(#[$doc:meta])* $key:ident => $table:ident . $field:ident ($column:ident)) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $key(pub String);

        impl Loader<$key> for Db {
            type Value = Vec<String>;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, Self::Error> {
                let ids = keys.iter().map(|k| k.0.clone()).collect();
                let rows = $table::Entity::find()
                    .filter(one_of(self.backend(), ($table::Entity, $table::Column::$column), ids))
                    .order_by_asc($table::Column::UserId)
                    .all(&self.conn)
                    .await
                    .map_err(fail)?;
                let mut out: HashMap<$key, Vec<String>> = keys.iter().map(|k| (k.clone(), Vec::new())).collect();
                for row in rows {
                    out.entry($key(row.$field)).or_default().push(row.user_id);
                }
                Ok(out)
            }
        }
    };
}

approvers_of!(
    /// A vendor's approvers (its spend step), by vendor id.
    VendorApprovers => vendor_approvers.vendor_id(VendorId)
);
approvers_of!(
    /// A rule's approvers, by rule id.
    RuleApprovers => rule_approvers.rule_id(RuleId)
);

/// An order's audit history, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HistoryOf(pub String);

impl Loader<HistoryOf> for Db {
    type Value = Vec<audit_events::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[HistoryOf]) -> Result<HashMap<HistoryOf, Self::Value>, Self::Error> {
        // Its text is kept (`Texts`): the organization, then the orders.
        static TEXTS: Texts<OneOf> = Texts::new();
        let backend = self.backend();
        let (form, ids) = one_of_values(backend, keys.iter().map(|k| k.0.clone()).collect());
        let values = std::iter::once(Value::from(self.organization_id.as_str())).chain(ids).collect();
        let statement = TEXTS.statement(backend, form, values, |mut ids| {
            let organization = ids.remove(0);
            audit_events::Entity::find()
                .filter(history_filter(form, ids, organization))
                .order_by_asc(audit_events::Column::At)
                .order_by_asc(audit_events::Column::Id)
                .build(backend)
        });
        let rows = rows::all::<AuditEventRow>(&self.conn, statement).await.map_err(fail)?;
        Ok(grouped(keys, rows, |r| HistoryOf(r.order_id.clone().unwrap_or_default())))
    }
}

/// Forgets everything `loaders` cached: a subscription calls it before each
/// event, so an event's order shows its children as they are now, and a
/// long stream does not hold every order it ever saw.
pub fn forget(loaders: &Loaders) {
    loaders.clear::<UserById>();
    loaders.clear::<SiteById>();
    loaders.clear::<AssetById>();
    loaders.clear::<VendorById>();
    loaders.clear::<AccountById>();
    loaders.clear::<AttachmentsOf>();
    loaders.clear::<TimeEntriesOf>();
    loaders.clear::<PartsOf>();
    loaders.clear::<StepsOf>();
    loaders.clear::<SendsOf>();
    loaders.clear::<NotesOf>();
    loaders.clear::<CostLinesOf>();
    loaders.clear::<ActualCostOf>();
    loaders.clear::<HistoryOf>();
    loaders.clear::<VendorApprovers>();
    loaders.clear::<RuleApprovers>();
}
