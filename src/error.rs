//! The one error type of the service, with the stable `extensions.code`s of
//! the API contract.
//!
//! Client errors carry a message meant for the caller. Internal errors carry
//! their cause for the log only: the caller sees "internal error" and the
//! request id (added by the HTTP layer), never SQL or type names.

use async_graphql::ErrorExtensions;

/// The contract's error codes (`extensions.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    InvalidTransition,
    Conflict,
    BadUserInput,
    QueryTooComplex,
    RateLimited,
    Internal,
}

impl ErrorCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::InvalidTransition => "INVALID_TRANSITION",
            Self::Conflict => "CONFLICT",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::RateLimited => "RATE_LIMITED",
            Self::Internal => "INTERNAL",
        }
    }
}

/// Message shown for every internal error.
pub const INTERNAL_MESSAGE: &str = "internal error";
/// Message for anything not found or not visible: the same text either way,
/// so that ids cannot be probed.
pub const NOT_FOUND_MESSAGE: &str = "not found";

/// Deliberately not `Display`: async-graphql converts any `Display` error
/// into a bare message, which would drop the code. Without it, `?` in a
/// resolver can only go through `From<AppError> for async_graphql::Error`
/// below, so no path loses the code or leaks an internal cause.
#[derive(Debug)]
pub enum AppError {
    Unauthenticated(&'static str),
    Forbidden(String),
    NotFound,
    InvalidTransition(String),
    Conflict,
    BadInput {
        field: String,
        message: String,
    },
    /// The request asks more than the server's limits allow.
    TooComplex(String),
    Internal(anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadInput { field: field.into(), message: message.into() }
    }

    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::Forbidden(reason.into())
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self::Internal(cause.into())
    }

    /// The message the client sees.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated(message) => (*message).to_owned(),
            Self::Forbidden(message) | Self::InvalidTransition(message) | Self::TooComplex(message) => message.clone(),
            Self::NotFound => NOT_FOUND_MESSAGE.to_owned(),
            Self::Conflict => "the object was changed by someone else; reload it and try again".to_owned(),
            Self::BadInput { field, message } => format!("{field}: {message}"),
            Self::Internal(_) => INTERNAL_MESSAGE.to_owned(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound => ErrorCode::NotFound,
            Self::InvalidTransition(_) => ErrorCode::InvalidTransition,
            Self::Conflict => ErrorCode::Conflict,
            Self::BadInput { .. } => ErrorCode::BadUserInput,
            Self::TooComplex(_) => ErrorCode::QueryTooComplex,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Internal(err.into())
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(err: sea_orm::TransactionError<AppError>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(e) => e.into(),
            sea_orm::TransactionError::Transaction(e) => e,
        }
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        if let AppError::Internal(cause) = &err {
            // Logged once, here, inside the request's span (which carries the
            // request id the client is shown).
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        let code = err.code();
        let field = match &err {
            AppError::BadInput { field, .. } => Some(field.clone()),
            _ => None,
        };
        async_graphql::Error::new(err.message()).extend_with(|_, ext| {
            ext.set("code", code.as_str());
            if let Some(field) = field {
                ext.set("field", field);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extensions(err: AppError) -> (String, serde_json::Value) {
        let gql: async_graphql::Error = err.into();
        let ext = serde_json::to_value(&gql.extensions).expect("serializable");
        (gql.message, ext)
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let (message, ext) =
            extensions(AppError::internal(anyhow::anyhow!("no such table: users (SELECT * FROM users)")));
        assert_eq!(message, INTERNAL_MESSAGE);
        assert_eq!(ext["code"], "INTERNAL");
    }

    #[test]
    fn bad_input_names_the_field() {
        let (message, ext) = extensions(AppError::bad_input("title", "must not be empty"));
        assert_eq!(message, "title: must not be empty");
        assert_eq!(ext["code"], "BAD_USER_INPUT");
        assert_eq!(ext["field"], "title");
    }
}
