//! Security events: every mutation the policy refuses an authenticated
//! principal (`FORBIDDEN`, or `NOT_FOUND` for an object outside their
//! sight, which is how probing looks) is logged with who, what and why, at
//! WARN under the target `workgate::security`, beside the request id of its
//! span. These are not changes, so they stay out of the audit table; an
//! operator's log pipeline alerts on them.
//!
//! Read once per operation from its finished response (the errors at a
//! mutation's root field), so no field's resolution pays for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection};
use async_graphql::{PathSegment, Response, ServerResult, Value, Variables};

use crate::auth::{Actor, Principal};
use crate::error::ErrorCode;

pub struct SecurityEvents;

impl ExtensionFactory for SecurityEvents {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Mutations::default())
    }
}

/// A mutation operation's name and its root fields' names by response key
/// (an alias, or the name itself).
type Operation = (Option<String>, HashMap<String, String>);

/// One request's mutation operations.
#[derive(Default)]
struct Mutations(Mutex<Vec<Operation>>);

#[async_trait::async_trait]
impl Extension for Mutations {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let mutations = document
            .operations
            .iter()
            .filter(|(_, op)| op.node.ty == OperationType::Mutation)
            .map(|(name, op)| {
                let fields = op
                    .node
                    .selection_set
                    .node
                    .items
                    .iter()
                    .filter_map(|item| match &item.node {
                        Selection::Field(f) => {
                            Some((f.node.response_key().node.to_string(), f.node.name.node.to_string()))
                        }
                        _ => None,
                    })
                    .collect();
                (name.map(|n| n.to_string()), fields)
            })
            .collect();
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = mutations;
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let response = next.run(ctx, operation_name).await;
        let mutations = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        // The operation that ran: the one named, or the document's only one.
        let fields = match operation_name {
            Some(name) => mutations.into_iter().find(|(n, _)| n.as_deref() == Some(name)),
            None => mutations.into_iter().next(),
        };
        let (Some((_, fields)), Some(principal)) = (fields, ctx.data_opt::<Principal>()) else { return response };
        for error in &response.errors {
            let [PathSegment::Field(key)] = error.path.as_slice() else { continue };
            let code = match error.extensions.as_ref().and_then(|e| e.get("code")) {
                Some(Value::String(code)) => code.as_str(),
                _ => continue,
            };
            if code == ErrorCode::Forbidden.as_str() || code == ErrorCode::NotFound.as_str() {
                log(principal, fields.get(key).map_or(key.as_str(), String::as_str), code, &error.message);
            }
        }
        response
    }
}

fn log(principal: &Principal, action: &str, code: &str, reason: &str) {
    let (kind, id) = match &principal.actor {
        Actor::User(user) => ("user", user.user_id.as_str()),
        Actor::Token(token) => ("api_token", token.token_id.as_str()),
    };
    tracing::warn!(
        target: "workgate::security",
        event = "refused_mutation",
        organization = %principal.organization_id,
        principal_kind = kind,
        principal = id,
        action,
        code,
        reason,
        "refused mutation"
    );
}
