//! Reports (DOMAIN.md sections 5 and 9): order statistics, the audit log
//! and the CSV export of orders. Each reads only what the policy lets the
//! caller see, filtered in SQL; who may ask is decided in `policy::admin`.
//!
//! - [`stats`]: `orderStats`, a handful of aggregate statements;
//! - [`audit_log`]: `auditLog`, newest first, keyset-paginated;
//! - [`export`]: the rows of `GET /export/orders.csv`, fetched in batches and
//!   streamed; [`csv`] quotes them;
//! - [`graphql`]: the `orderStats` and `auditLog` queries.

pub mod audit_log;
pub mod csv;
pub mod export;
pub mod graphql;
pub mod stats;

use chrono::{DateTime, Utc};
use entity::orders;
use sea_orm::{ColumnTrait, Condition};

use crate::error::{AppError, AppResult};
use crate::time::to_micros;

/// A window of order creation times, `[from, to)`; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    /// Microseconds since the epoch, inclusive.
    pub from: Option<i64>,
    /// Microseconds since the epoch, exclusive.
    pub to: Option<i64>,
}

impl Period {
    /// BAD_USER_INPUT naming `to` when the window is empty or reversed.
    pub fn new(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> AppResult<Self> {
        let (from, to) = (from.map(to_micros), to.map(to_micros));
        if let (Some(from), Some(to)) = (from, to)
            && to <= from
        {
            return Err(AppError::bad_input("to", "must be later than `from`"));
        }
        Ok(Self { from, to })
    }

    /// Parses RFC 3339 instants (query-string parameters); an empty value
    /// is an open end. Errors name the parameter.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> AppResult<Self> {
        fn instant(field: &str, value: Option<&str>) -> AppResult<Option<DateTime<Utc>>> {
            match value.map(str::trim).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(text) => DateTime::parse_from_rfc3339(text)
                    .map(|at| Some(at.with_timezone(&Utc)))
                    .map_err(|_| AppError::bad_input(field, "must be an RFC 3339 instant, like 2025-01-31T00:00:00Z")),
            }
        }
        Self::new(instant("from", from)?, instant("to", to)?)
    }

    /// Orders created within the window.
    pub fn condition(&self) -> Condition {
        let mut c = Condition::all();
        if let Some(from) = self.from {
            c = c.add(orders::Column::CreatedAt.gte(from));
        }
        if let Some(to) = self.to {
            c = c.add(orders::Column::CreatedAt.lt(to));
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_name_the_bad_parameter() {
        let p = Period::parse(Some("2025-01-01T00:00:00Z"), Some("2025-01-02T01:00:00+01:00")).expect("valid");
        assert_eq!(p.to.zip(p.from).map(|(t, f)| t - f), Some(86_400_000_000));
        assert_eq!(Period::parse(None, Some("")).expect("open"), Period::default());
        for (from, to, field) in [
            (Some("yesterday"), None, "from"),
            (None, Some("2025-13-01T00:00:00Z"), "to"),
            (Some("2025-01-02T00:00:00Z"), Some("2025-01-01T00:00:00Z"), "to"),
            (Some("2025-01-01T00:00:00Z"), Some("2025-01-01T00:00:00Z"), "to"),
        ] {
            match Period::parse(from, to) {
                Err(AppError::BadInput { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{from:?}..{to:?}: {other:?}"),
            }
        }
    }
}
