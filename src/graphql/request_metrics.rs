//! How long each GraphQL query and mutation takes, by operation name, for
//! `workgate_graphql_request_duration_seconds`: from the request's arrival
//! at the schema (before parsing) to its response, over HTTP and WebSocket
//! alike. Operations refused before execution (syntax, validation, limits)
//! are counted by their error code instead; subscriptions are streams, not
//! requests, and are not timed.

use std::time::Instant;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument};

use crate::metrics::Metrics;

/// One operation's clock, from its arrival at [`super::Engine`] to its
/// response.
pub struct Timing {
    metrics: Metrics,
    started: Instant,
    /// The name of the document's only operation, when the request names
    /// none.
    only_operation: Option<String>,
}

impl Timing {
    pub fn start(metrics: Metrics) -> Self {
        Self { metrics, started: Instant::now(), only_operation: None }
    }

    pub fn note(&mut self, document: &ExecutableDocument) {
        self.only_operation = match &document.operations {
            DocumentOperations::Multiple(operations) if operations.len() == 1 => {
                operations.keys().next().map(ToString::to_string)
            }
            _ => None,
        };
    }

    /// The operation `operation_name` (as the request named it) answered.
    pub fn stop(self, operation_name: Option<&str>) {
        let name = operation_name.or(self.only_operation.as_deref());
        self.metrics.operation(name, self.started.elapsed());
    }
}
