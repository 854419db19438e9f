//! Parsed inputs of the workflow: free text with its limits (DOMAIN.md
//! section 10), hours, quantities and money.

use crate::error::{AppError, AppResult};

/// Titles: 1-200 characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Descriptions, notes, resolutions and reasons: up to 10,000 characters.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Part numbers, cost categories, file names.
pub const MAX_LABEL_CHARS: usize = 255;

/// Trimmed text of 1 to `max` characters.
pub fn required(field: &str, value: &str, max: usize) -> AppResult<String> {
    let text = value.trim();
    let chars = text.chars().count();
    if chars == 0 {
        return Err(AppError::bad_input(field, "must not be empty"));
    }
    if chars > max {
        return Err(AppError::bad_input(field, format!("must be at most {max} characters")));
    }
    Ok(text.to_owned())
}

/// Like [`required`], but empty or absent text is `None`.
pub fn optional(field: &str, value: Option<&str>, max: usize) -> AppResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => required(field, text, max).map(Some),
    }
}

/// A positive, finite amount up to `max` (hours, quantities).
pub fn positive(field: &str, value: f64, max: f64) -> AppResult<f64> {
    if value.is_finite() && value > 0.0 && value <= max {
        Ok(value)
    } else {
        Err(AppError::bad_input(field, format!("must be greater than 0 and at most {max}")))
    }
}

/// Money that is not negative (cents).
pub fn not_negative(field: &str, cents: i64) -> AppResult<i64> {
    if cents < 0 { Err(AppError::bad_input(field, "must not be negative")) } else { Ok(cents) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_the_field() {
        assert!(required("title", "  Fix pump ", 200).is_ok_and(|t| t == "Fix pump"));
        for bad in ["", "   ", &"x".repeat(201)] {
            let Err(AppError::BadInput { field, .. }) = required("title", bad, 200) else { panic!("accepted {bad:?}") };
            assert_eq!(field, "title");
        }
        assert_eq!(optional("description", Some("  "), 10).ok(), Some(None));
        assert!(positive("hours", -1.0, 24.0).is_err());
        assert!(positive("hours", f64::NAN, 24.0).is_err());
        assert!(positive("hours", 1.5, 24.0).is_ok());
        assert!(not_negative("estimatedCost", -1).is_err());
    }
}
