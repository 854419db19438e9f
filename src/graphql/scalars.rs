//! The contract's custom scalars. `DateTime` is chrono's `DateTime<Utc>`
//! (RFC 3339), which async-graphql already names `DateTime`.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

/// A decimal string with at most two decimals (`"1234.50"`), held as
/// integer cents: money is never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(pub i64);

impl Money {
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || whole.len() > 15 || fraction.len() > 2 || !all_digits(whole) || !all_digits(fraction) {
            return None;
        }
        if digits.contains('.') && fraction.is_empty() {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let cents: i64 = format!("{fraction:0<2}").parse().ok()?;
        let total = whole.checked_mul(100)?.checked_add(cents)?;
        Some(Self(if negative { -total } else { total }))
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[Scalar(name = "Money")]
impl ScalarType for Money {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => Money::parse(text)
                .ok_or_else(|| InputValueError::custom("a decimal string with at most two decimals, like \"1234.50\"")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.to_string())
    }
}

/// An opaque position in a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(pub String);

#[Scalar(name = "Cursor")]
impl ScalarType for Cursor {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(text) => Ok(Self(text)),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::Money;

    #[test]
    fn money_round_trips_exactly() {
        for (text, cents, shown) in
            [("1234.50", 123_450, "1234.50"), ("0.05", 5, "0.05"), ("7", 700, "7.00"), ("-3.1", -310, "-3.10")]
        {
            let money = Money::parse(text).expect(text);
            assert_eq!(money.0, cents);
            assert_eq!(money.to_string(), shown);
        }
        for bad in ["", "1.234", "1.", ".5", "1e3", "12,50", "abc", "--1", "1234567890123456"] {
            assert_eq!(Money::parse(bad), None, "{bad}");
        }
    }
}
