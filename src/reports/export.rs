//! The rows of `GET /export/orders.csv` (DOMAIN.md section 9: admins export
//! orders for a date range).
//!
//! The orders the caller sees (deleted ones never; archived ones too),
//! created within the period, oldest first. They are fetched in keyset
//! batches of [`BATCH`] by `(created_at, id)` and rendered one batch at a
//! time as the client reads, so memory stays one batch whatever the size of
//! the export. Names of sites, assets, people and vendors are looked up once
//! per batch. The first batch is fetched before the response starts, so a
//! failing database is still an HTTP error rather than a cut-off file.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::SecondsFormat;
use entity::{assets, orders, sites, users, vendors};
use futures::{Stream, StreamExt};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tracing::instrument;

use super::{Period, csv};
use crate::auth::Principal;
use crate::error::AppResult;
use crate::graphql::scalars::Money;
use crate::orders::model::Priority;
use crate::policy::{admin, filter::visible_orders};
use crate::time::from_micros;

/// Rows fetched per statement.
pub const BATCH: u64 = 500;

/// The columns, in order.
pub const COLUMNS: [&str; 15] = [
    "number",
    "id",
    "kind",
    "status",
    "priority",
    "title",
    "site",
    "asset",
    "creator",
    "owner",
    "vendor",
    "estimated_cost",
    "created_at",
    "updated_at",
    "closed_at",
];

/// The CSV text of the export, header first, chunk by chunk. FORBIDDEN
/// unless the policy lets the caller export. A failure after the first
/// chunk ends the stream with an error (logged here), which cuts the
/// response off rather than ending it cleanly.
#[instrument(skip_all)]
pub async fn orders_csv(
    db: DatabaseConnection,
    principal: &Principal,
    period: Period,
) -> AppResult<impl Stream<Item = Result<String, std::io::Error>> + Send + 'static> {
    admin::export_orders(principal).require()?;
    let condition = visible_orders(principal).add(period.condition());
    let first = fetch(&db, &condition, None).await?;
    let mut header = String::new();
    csv::write_record(&mut header, COLUMNS.map(Cow::Borrowed));
    let exporter = Exporter { db, organization_id: principal.organization_id.clone(), condition };
    let rows = futures::stream::try_unfold((exporter, Next::Rows(first)), |(exporter, next)| async move {
        let rows = match next {
            Next::Done => return Ok(None),
            Next::Rows(rows) => rows,
            Next::After(key) => fetch(&exporter.db, &exporter.condition, Some(key)).await?,
        };
        if rows.is_empty() {
            return Ok(None);
        }
        let next = match rows.last() {
            Some(last) if rows.len() as u64 == BATCH => Next::After((last.created_at, last.id.clone())),
            _ => Next::Done,
        };
        let chunk = exporter.render(&rows).await?;
        Ok(Some((chunk, (exporter, next))))
    })
    .map(|chunk: AppResult<String>| {
        chunk.map_err(|e| {
            let _: async_graphql::Error = e.into(); // logs the cause once
            std::io::Error::other("the export failed")
        })
    });
    Ok(futures::stream::once(async { Ok(header) }).chain(rows))
}

/// What to do on the next pull.
enum Next {
    /// A batch already fetched.
    Rows(Vec<orders::Model>),
    /// Fetch the batch after this `(created_at, id)`.
    After((i64, String)),
    Done,
}

struct Exporter {
    db: DatabaseConnection,
    organization_id: String,
    condition: Condition,
}

/// One batch of orders matching `condition`, after `key` when given.
async fn fetch(
    db: &DatabaseConnection,
    condition: &Condition,
    after: Option<(i64, String)>,
) -> AppResult<Vec<orders::Model>> {
    let mut condition = condition.clone();
    if let Some((created_at, id)) = after {
        condition = condition.add(
            Condition::any()
                .add(orders::Column::CreatedAt.gt(created_at))
                .add(Condition::all().add(orders::Column::CreatedAt.eq(created_at)).add(orders::Column::Id.gt(id))),
        );
    }
    Ok(orders::Entity::find()
        .filter(condition)
        .order_by_asc(orders::Column::CreatedAt)
        .order_by_asc(orders::Column::Id)
        .limit(BATCH)
        .all(db)
        .await?)
}

/// Names by id.
type Names = HashMap<String, String>;

impl Exporter {
    /// The CSV records of one batch.
    async fn render(&self, rows: &[orders::Model]) -> AppResult<String> {
        let (db, org) = (&self.db, self.organization_id.as_str());
        let (sites, assets, people, vendors) = futures::try_join!(
            names::<sites::Entity>(
                db,
                [sites::Column::Id, sites::Column::Name, sites::Column::OrganizationId],
                org,
                rows.iter().filter_map(|m| m.site_id.clone()).collect(),
            ),
            names::<assets::Entity>(
                db,
                [assets::Column::Id, assets::Column::Name, assets::Column::OrganizationId],
                org,
                rows.iter().filter_map(|m| m.asset_id.clone()).collect(),
            ),
            names::<users::Entity>(
                db,
                [users::Column::Id, users::Column::Name, users::Column::OrganizationId],
                org,
                rows.iter().flat_map(|m| [m.creator_id.clone(), m.owner_id.clone()]).collect(),
            ),
            names::<vendors::Entity>(
                db,
                [vendors::Column::Id, vendors::Column::Name, vendors::Column::OrganizationId],
                org,
                rows.iter().filter_map(|m| m.vendor_id.clone()).collect(),
            ),
        )?;
        let name = |names: &Names, id: Option<&String>| -> String {
            id.and_then(|id| names.get(id)).map(|n| csv::text(n).into_owned()).unwrap_or_default()
        };
        let instant = |micros: i64| from_micros(micros).to_rfc3339_opts(SecondsFormat::AutoSi, true);
        let mut out = String::with_capacity(rows.len() * 200);
        for m in rows {
            let fields: [Cow<'_, str>; 15] = [
                Cow::Borrowed(&m.number),
                Cow::Borrowed(&m.id),
                Cow::Borrowed(&m.kind),
                Cow::Borrowed(&m.status),
                Cow::Borrowed(priority(m.priority)),
                csv::text(&m.title),
                Cow::Owned(name(&sites, m.site_id.as_ref())),
                Cow::Owned(name(&assets, m.asset_id.as_ref())),
                Cow::Owned(name(&people, Some(&m.creator_id))),
                Cow::Owned(name(&people, Some(&m.owner_id))),
                Cow::Owned(name(&vendors, m.vendor_id.as_ref())),
                Cow::Owned(m.estimated_cost_cents.map(|c| Money(c).to_string()).unwrap_or_default()),
                Cow::Owned(instant(m.created_at)),
                Cow::Owned(instant(m.updated_at)),
                Cow::Owned(m.closed_at.map(instant).unwrap_or_default()),
            ];
            csv::write_record(&mut out, fields);
        }
        Ok(out)
    }
}

/// `id -> name` of the rows of `E` among `ids`, within the organization.
async fn names<E: EntityTrait>(
    db: &DatabaseConnection,
    [id, name, organization]: [E::Column; 3],
    organization_id: &str,
    ids: Vec<String>,
) -> AppResult<Names> {
    if ids.is_empty() {
        return Ok(Names::new());
    }
    let rows: Vec<(String, String)> = E::find()
        .select_only()
        .columns([id, name])
        .filter(organization.eq(organization_id))
        .filter(id.is_in(dedup(ids)))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

fn dedup(mut ids: Vec<String>) -> Vec<String> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The contract's name of a stored priority rank.
fn priority(rank: i32) -> &'static str {
    match Priority::from_rank(rank) {
        Some(Priority::Low) => "LOW",
        Some(Priority::Medium) => "MEDIUM",
        Some(Priority::High) => "HIGH",
        Some(Priority::Urgent) => "URGENT",
        None => "",
    }
}
