//! How long each GraphQL query and mutation takes, by operation name, for
//! `workgate_graphql_request_duration_seconds`: from the request's arrival
//! at the schema (before parsing) to its response, over HTTP and WebSocket
//! alike. Operations refused before execution (syntax, validation, limits)
//! are counted by their error code instead; subscriptions are streams, not
//! requests, and are not timed.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument};
use async_graphql::{Request, Response, ServerResult, Variables};

use crate::metrics::Metrics;

pub struct RequestMetrics(pub Metrics);

impl ExtensionFactory for RequestMetrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Timing { metrics: self.0.clone(), started: OnceLock::new(), only_operation: OnceLock::new() })
    }
}

/// One request's clock.
struct Timing {
    metrics: Metrics,
    started: OnceLock<Instant>,
    /// The name of the document's only operation, when the request names
    /// none.
    only_operation: OnceLock<Option<String>>,
}

#[async_trait::async_trait]
impl Extension for Timing {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let _ = self.started.set(Instant::now());
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let only = match &document.operations {
            DocumentOperations::Single(_) => None,
            DocumentOperations::Multiple(operations) if operations.len() == 1 => {
                operations.keys().next().map(ToString::to_string)
            }
            DocumentOperations::Multiple(_) => None,
        };
        let _ = self.only_operation.set(only);
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let response = next.run(ctx, operation_name).await;
        if let Some(started) = self.started.get() {
            let name = operation_name.or_else(|| self.only_operation.get().and_then(Option::as_deref));
            self.metrics.operation(name, started.elapsed());
        }
        response
    }
}
