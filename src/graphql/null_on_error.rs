//! Field errors as the GraphQL spec handles them (section 6.4.4, "Handling
//! Field Errors"): a nullable field whose resolver fails is `null` in the
//! response and its error is listed, while the rest of the response stays.
//!
//! async-graphql 7 instead drops the failed field from its object, and an
//! object whose only selected field failed becomes `null` itself (so
//! `{ order(id: ...) { id } }` answered `"data": null`). This extension
//! catches the error of every nullable field, keeps it for the response and
//! resolves the field to `null`. Non-null fields are left to async-graphql.
//! ([`super::hooks`] calls it for each field, and adds the held errors to
//! the response.)

use std::sync::{Mutex, PoisonError};

use async_graphql::extensions::{ExtensionContext, NextResolve, ResolveInfo};
use async_graphql::{ServerError, ServerResult, Value};

/// One execution's caught errors.
#[derive(Default)]
pub struct HeldErrors(Mutex<Vec<ServerError>>);

impl HeldErrors {
    pub fn take(&self) -> Vec<ServerError> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let nullable = !info.return_type.ends_with('!');
        match next.run(ctx, info).await {
            Err(error) if nullable => {
                self.0.lock().unwrap_or_else(PoisonError::into_inner).push(error);
                Ok(Some(Value::Null))
            }
            other => other,
        }
    }
}
