//! How long each GraphQL query and mutation takes, by operation name, for
//! `workgate_graphql_request_duration_seconds`: from the request's arrival
//! at the schema (before parsing) to its response, over HTTP and WebSocket
//! alike. Operations refused before execution (syntax, validation, limits)
//! are counted by their error code instead; subscriptions are streams, not
//! requests, and are not timed.

use std::sync::OnceLock;
use std::time::Instant;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument};

use crate::metrics::Metrics;

/// One request's clock ([`super::hooks`] starts it, shows it the document
/// and stops it).
pub struct Timing {
    metrics: Metrics,
    started: OnceLock<Instant>,
    /// The name of the document's only operation, when the request names
    /// none.
    only_operation: OnceLock<Option<String>>,
}

impl Timing {
    pub fn new(metrics: Metrics) -> Self {
        Self { metrics, started: OnceLock::new(), only_operation: OnceLock::new() }
    }

    pub fn start(&self) {
        let _ = self.started.set(Instant::now());
    }

    pub fn note(&self, document: &ExecutableDocument) {
        let only = match &document.operations {
            DocumentOperations::Multiple(operations) if operations.len() == 1 => {
                operations.keys().next().map(ToString::to_string)
            }
            _ => None,
        };
        let _ = self.only_operation.set(only);
    }

    /// The operation `operation_name` (as the request named it) answered.
    pub fn stop(&self, operation_name: Option<&str>) {
        if let Some(started) = self.started.get() {
            let name = operation_name.or_else(|| self.only_operation.get().and_then(Option::as_deref));
            self.metrics.operation(name, started.elapsed());
        }
    }
}
