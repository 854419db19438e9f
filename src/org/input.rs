//! Parsed inputs of organization administration: a value of these types has
//! passed validation (parse, don't validate).

use crate::error::{AppError, AppResult};

const MAX_NAME_CHARS: usize = 200;
const MAX_EMAIL_CHARS: usize = 254;
const MAX_TAG_CHARS: usize = 40;

/// A display name: trimmed, 1-200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(field: &str, value: &str) -> AppResult<Self> {
        let trimmed = value.trim();
        let chars = trimmed.chars().count();
        if chars == 0 || chars > MAX_NAME_CHARS {
            return Err(AppError::bad_input(field, format!("must be 1 to {MAX_NAME_CHARS} characters")));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(AppError::bad_input(field, "must not contain control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An e-mail address: trimmed, lower-cased, one `@` with text on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, value: &str) -> AppResult<Self> {
        let email = value.trim().to_lowercase();
        let valid = email.len() <= MAX_EMAIL_CHARS
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(email.split_once('@'), Some((local, domain))
                if !local.is_empty() && domain.contains('.') && !domain.contains('@')
                    && !domain.starts_with('.') && !domain.ends_with('.'));
        if !valid {
            return Err(AppError::bad_input(field, "must be an e-mail address like name@example.com"));
        }
        Ok(Self(email))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A tag: trimmed and lower-cased, then `[a-z0-9][a-z0-9_-]{0,39}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(String);

impl Tag {
    pub fn parse(field: &str, value: &str) -> AppResult<Self> {
        let tag = value.trim().to_lowercase();
        let mut bytes = tag.bytes();
        let valid = tag.len() <= MAX_TAG_CHARS
            && bytes.next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid {
            return Err(AppError::bad_input(
                field,
                format!(
                    "`{}` is not a tag: use a-z, 0-9, _ and -, starting with a letter or digit, at most {MAX_TAG_CHARS} characters",
                    value.trim()
                ),
            ));
        }
        Ok(Self(tag))
    }

    /// Parses a list, dropping duplicates, in sorted order.
    pub fn parse_all(field: &str, values: &[String]) -> AppResult<Vec<Self>> {
        let mut tags = values.iter().map(|v| Self::parse(field, v)).collect::<AppResult<Vec<_>>>()?;
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Serializes tags for a JSON text column.
pub fn tags_json(tags: &[Tag]) -> String {
    serde_json::Value::from(tags.iter().map(Tag::as_str).collect::<Vec<_>>()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(err: AppError) -> String {
        match err {
            AppError::BadInput { field, .. } => field,
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("name", "  Plant 7 ").expect("valid").into_inner(), "Plant 7");
        assert_eq!(field_of(Name::parse("name", "   ").expect_err("empty")), "name");
        assert!(Name::parse("name", &"x".repeat(201)).is_err());
        assert!(Name::parse("name", &"é".repeat(200)).is_ok());
        assert!(Name::parse("name", "a\u{7}b").is_err());
    }

    #[test]
    fn emails_are_normalised() {
        assert_eq!(Email::parse("email", " Ann@Example.COM ").expect("valid").into_inner(), "ann@example.com");
        for bad in ["", "ann", "@example.com", "ann@", "ann@example", "a b@example.com", "a@b@example.com", "ann@.com"]
        {
            assert_eq!(field_of(Email::parse("email", bad).expect_err(bad)), "email");
        }
    }

    #[test]
    fn tags_follow_the_convention() {
        assert_eq!(Tag::parse("tags", " HVAC ").expect("valid").as_str(), "hvac");
        assert!(Tag::parse("tags", "north-2_b").is_ok());
        for bad in ["", "-x", "_x", "a b", "ä", "x".repeat(41).as_str(), "a.b"] {
            assert!(Tag::parse("tags", bad).is_err(), "{bad}");
        }
        let tags = Tag::parse_all("tags", &["b".into(), "A".into(), "a".into()]).expect("valid");
        assert_eq!(tags_json(&tags), r#"["a","b"]"#);
    }
}
