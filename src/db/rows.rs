//! Rows decoded by their columns' positions in the select list.
//!
//! sea-orm's derived decoding finds every column by its name (sqlx hashes
//! the name into the row's map of columns) and reads a NULL into an
//! `Option` by formatting an error that names the column and dropping it.
//! For the rows a read decodes by the dozen (orders, the people, sites and
//! vendors they name) that was about a sixth of a
//! dashboard page's gateway instructions (BENCHMARKS.md).
//!
//! [`at`] reads one column by position. A row type made by [`positional!`]
//! reads column `n` of an `Entity::find()` select as the model's `n`th
//! field: sea-orm selects an entity's columns in the order of its `Column`
//! enum, the order of the model's fields, and
//! `tests::rows_read_the_columns_in_the_order_sea_orm_selects_them` holds
//! each row type's fields to it. Read a select's models with [`all`] (or
//! select with `into_model::<XRow>()`), from the entity alone, or with
//! further columns only after its own.

use entity::{
    accounts, api_tokens, assets, attachments, audit_events, cost_lines, notes, orders, part_usages, procedure_steps,
    sites, time_entries, users, vendor_sends, vendors,
};
use sea_orm::sqlx::{self, Postgres, Sqlite};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Statement, TryGetable};

/// A row type of [`positional!`]: its entity's model, decoded by position.
pub trait Positional {
    type Model;

    /// The model from the row's columns `first` onwards (`first` > 0: a
    /// select that has other columns before the entity's).
    fn read(row: &QueryResult, first: usize) -> Result<Self::Model, DbErr> {
        Self::read_at(row, first..)
    }

    /// The model's fields, in order, from the row's `columns`: a wide row
    /// that holds several tables' columns, each where its type has room
    /// (`graphql::loaders::Children`).
    fn read_at(row: &QueryResult, columns: impl Iterator<Item = usize>) -> Result<Self::Model, DbErr>;
}

/// The models of the rows `statement` reads, decoded as `R`, in a vector
/// of their number (sea-orm's `all` collects `Result`s, whose number it
/// does not know, and moves a page's fifty models again each time its
/// vector grows).
pub async fn all<R: Positional>(conn: &impl ConnectionTrait, statement: Statement) -> Result<Vec<R::Model>, DbErr> {
    let rows = conn.query_all_raw(statement).await?;
    let mut models = Vec::with_capacity(rows.len());
    for row in &rows {
        models.push(R::read(row, 0)?);
    }
    Ok(models)
}

/// Column `index` of `row`: a NULL is `None` for an `Option` and an error
/// for anything else, as sea-orm reads it.
pub fn at<T: FromColumn>(row: &QueryResult, index: usize) -> Result<T, DbErr> {
    T::at(row, index)
}

/// What a column is read as.
pub trait FromColumn: Sized {
    fn at(row: &QueryResult, index: usize) -> Result<Self, DbErr>;
}

macro_rules! columns {
    ($($ty:ty),+) => {$(
        impl FromColumn for Option<$ty> {
            fn at(row: &QueryResult, index: usize) -> Result<Self, DbErr> {
                decode(row, index)
            }
        }
        impl FromColumn for $ty {
            fn at(row: &QueryResult, index: usize) -> Result<Self, DbErr> {
                decode::<Option<$ty>>(row, index)?.ok_or_else(|| DbErr::Type(format!("column {index} is NULL")))
            }
        }
    )+};
}
columns!(String, i32, i64, f64, bool);

/// `error`, naming the field it was read for.
fn in_field(field: &str, error: DbErr) -> DbErr {
    DbErr::Type(format!("{field}: {error}"))
}

/// Column `index` of `row` read through sqlx (sea-orm for other drivers).
///
/// sqlx is not asked to compare the column's type with `T` on every row
/// (`try_get_unchecked`: for a text column, six type descriptions built
/// and compared, a twelfth of a dashboard page's instructions). What the
/// columns are is fixed: each caller reads its own statement's columns
/// as the entity's model types them, and `tests/orders_read.rs` decodes
/// every row type against both schemas, as sea-orm's checked decoding
/// does.
fn decode<T>(row: &QueryResult, index: usize) -> Result<T, DbErr>
where
    T: TryGetable + for<'r> sqlx::Decode<'r, Postgres> + for<'r> sqlx::Decode<'r, Sqlite>,
{
    use sqlx::Row;
    let decoded = if let Some(row) = row.try_as_pg_row() {
        row.try_get_unchecked::<T, _>(index)
    } else if let Some(row) = row.try_as_sqlite_row() {
        row.try_get_unchecked::<T, _>(index)
    } else {
        return T::try_get_by_index(row, index).map_err(DbErr::from);
    };
    decoded.map_err(|e| DbErr::Type(format!("column {index}: {e}")))
}

/// `positional!(Row(entity) { field, ... })`: `pub struct Row(pub
/// entity::Model)`, decoded from the first columns of a row in the order
/// of the fields listed, which must be the model's (the test below holds
/// them to it). With a prefix (a joined entity's columns), by name, as
/// sea-orm does.
macro_rules! positional {
    ($(#[$doc:meta])* $row:ident($entity:ident) { $($field:ident),+ $(,)? }) => {
        $(#[$doc])*
        pub struct $row(pub $entity::Model);

        impl $row {
            /// The model's fields, in the order of their columns.
            pub const FIELDS: &[&str] = &[$(stringify!($field)),+];
        }

        impl Positional for $row {
            type Model = $entity::Model;

            fn read_at(row: &QueryResult, mut columns: impl Iterator<Item = usize>) -> Result<$entity::Model, DbErr> {
                // The fields are read in the order written (a struct
                // expression evaluates its fields in source order), each
                // from the next of `columns`; an error names the field.
                let mut column = || columns.next().ok_or_else(|| DbErr::Type("too few columns".to_owned()));
                Ok($entity::Model {
                    $($field: column().and_then(|c| at(row, c)).map_err(|e| in_field(stringify!($field), e))?),+
                })
            }
        }

        impl sea_orm::FromQueryResult for $row {
            fn from_query_result(row: &QueryResult, pre: &str) -> Result<Self, DbErr> {
                if !pre.is_empty() {
                    return <$entity::Model as sea_orm::FromQueryResult>::from_query_result(row, pre).map(Self);
                }
                Self::read(row, 0).map(Self)
            }
        }
    };
}

positional!(
    /// An order: every read decodes orders, 50 for a dashboard page.
    OrderRow(orders) {
        id, organization_id, number, kind, title, description, priority, status, archived, version, site_id,
        asset_id, scope_account_id, creator_id, owner_id, via_token_id, vendor_id, estimated_cost_cents,
        resolution, due_at, created_at, updated_at, closed_at, deleted_at, send_state,
    }
);
positional!(
    /// A person an order names.
    UserRow(users) { id, organization_id, account_id, name, email, active, can_login, hourly_rate_cents, created_at }
);
positional!(
    /// A site.
    SiteRow(sites) { id, organization_id, account_id, name, tags, created_at }
);
positional!(
    /// An asset.
    AssetRow(assets) { id, organization_id, site_id, name, tags, in_maintenance, created_at }
);
positional!(
    /// A vendor.
    VendorRow(vendors) {
        id, organization_id, scope_account_id, name, contact_emails, enabled, requires_approval, manual_send,
        conditions, created_at, updated_at, deleted_at,
    }
);
positional!(
    /// An account.
    AccountRow(accounts) { id, organization_id, parent_id, name, created_at }
);
positional!(
    /// A note on an order.
    NoteRow(notes) { id, order_id, author_id, body, visibility, created_at }
);
positional!(
    /// Time logged on an order.
    TimeEntryRow(time_entries) { id, order_id, user_id, hours, note, cost_cents, logged_at }
);
positional!(
    /// A cost line of an order.
    CostLineRow(cost_lines) { id, order_id, category, description, amount_cents, added_by, created_at }
);
positional!(
    /// An entry of the audit log.
    AuditEventRow(audit_events) {
        id, organization_id, at, actor_id, token_id, token_name, action, entity_type, entity_id, order_id, changes,
        reason,
    }
);
positional!(
    /// An order's attachment.
    AttachmentRow(attachments) { id, order_id, filename, content_type, size_bytes, sha256, uploaded_by, created_at }
);
positional!(
    /// A part used on an order.
    PartUsageRow(part_usages) { id, order_id, part_number, description, quantity, added_by, created_at }
);
positional!(
    /// A step of an order's procedure.
    ProcedureStepRow(procedure_steps) { id, order_id, position, text, done, done_by, done_at }
);
positional!(
    /// A send of an order to its vendor.
    VendorSendRow(vendor_sends) {
        id, organization_id, order_id, vendor_id, trigger, requested_by, state, attempts, next_attempt_at,
        lease_until, recipients, last_error, message_id, created_at, finished_at,
    }
);
positional!(
    /// An API token: every request of a partner's program reads one.
    ApiTokenRow(api_tokens) {
        id, organization_id, account_id, name, secret_hash, capabilities, partner_vendor_id, created_by, created_at,
        expires_at, last_used_at, revoked_at,
    }
);

#[cfg(test)]
mod tests {
    use sea_orm::{EntityTrait, IdenStatic, Iterable};

    use super::*;

    /// The columns `Entity::find()` selects, in order.
    fn selected<E: EntityTrait>() -> Vec<String> {
        E::Column::iter().map(|column| column.as_str().to_owned()).collect()
    }

    #[test]
    fn rows_read_the_columns_in_the_order_sea_orm_selects_them() {
        assert_eq!(OrderRow::FIELDS, selected::<orders::Entity>());
        assert_eq!(UserRow::FIELDS, selected::<users::Entity>());
        assert_eq!(SiteRow::FIELDS, selected::<sites::Entity>());
        assert_eq!(AssetRow::FIELDS, selected::<assets::Entity>());
        assert_eq!(VendorRow::FIELDS, selected::<vendors::Entity>());
        assert_eq!(AccountRow::FIELDS, selected::<accounts::Entity>());
        assert_eq!(ApiTokenRow::FIELDS, selected::<api_tokens::Entity>());
        assert_eq!(NoteRow::FIELDS, selected::<notes::Entity>());
        assert_eq!(TimeEntryRow::FIELDS, selected::<time_entries::Entity>());
        assert_eq!(CostLineRow::FIELDS, selected::<cost_lines::Entity>());
        assert_eq!(AuditEventRow::FIELDS, selected::<audit_events::Entity>());
        assert_eq!(AttachmentRow::FIELDS, selected::<attachments::Entity>());
        assert_eq!(PartUsageRow::FIELDS, selected::<part_usages::Entity>());
        assert_eq!(ProcedureStepRow::FIELDS, selected::<procedure_steps::Entity>());
        assert_eq!(VendorSendRow::FIELDS, selected::<vendor_sends::Entity>());
    }
}
