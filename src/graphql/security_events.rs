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

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection};
use async_graphql::{PathSegment, Response, Value};

use crate::auth::{Actor, Principal};
use crate::error::ErrorCode;

/// A mutation operation's name and its root fields' names by response key
/// (an alias, or the name itself).
type Operation = (Option<String>, HashMap<String, String>);

/// A document's mutation operations, for [`log_refusals`] after execution.
#[derive(Default)]
pub struct Mutations(Vec<Operation>);

impl Mutations {
    pub fn of(document: &ExecutableDocument) -> Self {
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
        Self(mutations)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Logs the refusals among `response`'s errors, which answered
    /// `principal`'s operation `operation_name`.
    pub fn log_refusals(self, principal: Option<&Principal>, operation_name: Option<&str>, response: &Response) {
        // The operation that ran: the one named, or the document's only one.
        let fields = match operation_name {
            Some(name) => self.0.into_iter().find(|(n, _)| n.as_deref() == Some(name)),
            None => self.0.into_iter().next(),
        };
        let (Some((_, fields)), Some(principal)) = (fields, principal) else { return };
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
