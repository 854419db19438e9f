//! The schema's one extension. async-graphql passes every field of every
//! response through each registered extension's `resolve` hook, a boxed
//! future per extension per field, also for extensions that only look at
//! the document and the response; with several extensions that was a
//! visible share of a dashboard request's CPU (BENCHMARKS.md, profile). So
//! the concerns live in their modules as plain types and this one extension
//! calls them:
//!
//! - after parsing: the alias limit ([`super::limits`]), and what security
//!   events, introspection trimming and request timing need to know of the
//!   document;
//! - for each field: null-on-error ([`super::null_on_error`]), the only one
//!   that needs each field;
//! - after execution, innermost first: the request's time, introspection
//!   trimming, the held field errors, then the security events (which read
//!   the response with every error).

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest, NextResolve,
    ResolveInfo,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, Response, ServerResult, Value, Variables};

use super::introspection::{Trim, TypeGraph};
use super::null_on_error::HeldErrors;
use super::request_metrics::Timing;
use super::security_events::Mutations;
use crate::metrics::Metrics;

/// The running server's type graph (for introspection) and metrics.
pub struct Hooks {
    pub introspection: Arc<TypeGraph>,
    pub metrics: Metrics,
}

impl ExtensionFactory for Hooks {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PerRequest {
            mutations: Mutations::default(),
            held: HeldErrors::default(),
            trim: Trim::new(self.introspection.clone()),
            timing: Timing::new(self.metrics.clone()),
        })
    }
}

struct PerRequest {
    mutations: Mutations,
    held: HeldErrors,
    trim: Trim,
    timing: Timing,
}

#[async_trait::async_trait]
impl Extension for PerRequest {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        self.timing.start();
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
        super::limits::check_aliases(&document)?;
        self.mutations.note(&document);
        self.trim.note(&document, variables);
        self.timing.note(&document);
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        self.timing.stop(operation_name);
        self.trim.apply(ctx, &mut response);
        response.errors.extend(self.held.take());
        self.mutations.log_refusals(ctx, operation_name, &response);
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        self.held.resolve(ctx, info, next).await
    }
}
