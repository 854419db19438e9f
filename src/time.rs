//! Instants as stored: integer microseconds since the Unix epoch, UTC, so that
//! SQLite and PostgreSQL compare and order them identically. The API speaks
//! RFC 3339 through `chrono::DateTime<Utc>`.

use chrono::{DateTime, TimeZone, Utc};

/// Microseconds since the Unix epoch for the current instant.
pub fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

/// Converts a stored instant to the API's type.
pub fn from_micros(micros: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(micros).single().unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Converts an API instant to its stored form.
pub fn to_micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_at_microsecond_precision() {
        let now = now_micros();
        assert_eq!(to_micros(from_micros(now)), now);
    }
}
