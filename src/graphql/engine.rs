//! Running operations. The schema has no async-graphql extension: with
//! one, async-graphql passes every field of every response through it (a
//! boxed future and a lookup of the field's type by name, per field), even
//! when the extension only reads the document and the response; that was
//! about a tenth of a dashboard request's CPU (BENCHMARKS.md, profile). So
//! what is done once per operation is done here, around the schema:
//!
//! - before: the document is parsed here, or copied from the documents
//!   already parsed ([`super::documents`]; async-graphql then takes it as
//!   parsed), its aliases counted ([`super::limits`]), and what request
//!   timing, introspection trimming and security events need of it noted;
//! - after: the request's time, introspection trimming, then the security
//!   events (which read the response with every error).
//!
//! Failed nullable fields become `null` in their resolvers
//! ([`super::null_on_error`]).

use std::any::TypeId;
use std::sync::Arc;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{BatchRequest, BatchResponse, Request, Response, ServerError};
use futures::stream::{self, BoxStream, StreamExt};

use super::AppSchema;
use super::documents::Documents;
use super::introspection::{self, Answers, TypeGraph};
use super::request_metrics::Timing;
use super::security_events::Mutations;
use crate::auth::Principal;
use crate::metrics::Metrics;

/// The schema with what runs around each of its operations.
#[derive(Clone)]
pub struct Engine {
    schema: AppSchema,
    introspection: Arc<TypeGraph>,
    metrics: Metrics,
    documents: Documents,
}

/// What the steps after execution need to know of an operation.
struct Notes {
    timing: Timing,
    answers: Answers,
    mutations: Mutations,
    operation_name: Option<String>,
    subscription: bool,
    /// The request's principal, when a step after execution needs it
    /// (introspection trimming, refused mutations).
    principal: Option<Principal>,
}

impl Engine {
    pub fn new(schema: AppSchema, introspection: Arc<TypeGraph>, metrics: Metrics) -> Self {
        Self { schema, introspection, metrics, documents: Documents::default() }
    }

    /// Runs one query or mutation.
    pub async fn execute(&self, request: Request) -> Response {
        match self.prepare(request) {
            Ok((request, notes)) => {
                let response = self.schema.execute(request).await;
                self.finish(notes, response)
            }
            Err(refused) => Response::from_errors(vec![refused]),
        }
    }

    /// Runs a batch's operations one after another, as async-graphql does.
    pub async fn execute_batch(&self, batch: BatchRequest) -> BatchResponse {
        match batch {
            BatchRequest::Single(request) => BatchResponse::Single(self.execute(request).await),
            BatchRequest::Batch(requests) => {
                let mut responses = Vec::with_capacity(requests.len());
                for request in requests {
                    responses.push(self.execute(request).await);
                }
                BatchResponse::Batch(responses)
            }
        }
    }

    /// Runs any operation as a stream of responses: a subscription's
    /// events, or a query's or mutation's one response.
    pub fn execute_stream(&self, request: Request) -> BoxStream<'static, Response> {
        let (request, notes) = match self.prepare(request) {
            Ok(prepared) => prepared,
            Err(refused) => return stream::once(async { Response::from_errors(vec![refused]) }).boxed(),
        };
        if notes.subscription {
            // A stream, not a request: not timed; a subscription has no
            // introspection or mutation fields.
            return self.schema.execute_stream(request);
        }
        let engine = self.clone();
        stream::once(async move {
            let response = engine.schema.execute(request).await;
            engine.finish(notes, response)
        })
        .boxed()
    }

    /// Parses the document and checks and notes what only the document
    /// tells; a document refused here is answered at once.
    fn prepare(&self, mut request: Request) -> Result<(Request, Notes), ServerError> {
        let mut timing = Timing::start(self.metrics.clone());
        let document = self.documents.parse(&request.query)?;
        super::limits::check_aliases(&document)?;
        timing.note(&document);
        let answers = introspection::answers(&document, &request.variables);
        let mutations = Mutations::of(&document);
        let principal = if answers.is_empty() && mutations.is_empty() { None } else { principal(&request).cloned() };
        let operation_name = request.operation_name.clone();
        let subscription = operation_type(&document, operation_name.as_deref()) == Some(OperationType::Subscription);
        request.set_parsed_query(document);
        Ok((request, Notes { timing, answers, mutations, operation_name, subscription, principal }))
    }

    fn finish(&self, notes: Notes, mut response: Response) -> Response {
        let Notes { timing, answers, mutations, operation_name, principal, .. } = notes;
        let operation_name = operation_name.as_deref();
        // Refused before execution (validation, limits): counted by code.
        if !refused(&response) {
            timing.stop(operation_name);
        }
        self.introspection.trim(principal.as_ref(), answers, &mut response);
        mutations.log_refusals(principal.as_ref(), operation_name, &response);
        response
    }
}

/// The principal a request runs as.
fn principal(request: &Request) -> Option<&Principal> {
    request.data.get(&TypeId::of::<Principal>()).and_then(|data| data.downcast_ref::<Principal>())
}

/// Whether the response is a request error: nothing ran.
pub fn refused(response: &Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// The type of the operation `operation_name` picks from `document` (the
/// only one when it names none); `None` when it picks none.
pub fn operation_type(document: &ExecutableDocument, operation_name: Option<&str>) -> Option<OperationType> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => {
            ops.iter().find(|(n, _)| n.as_str() == name).map(|(_, op)| op.node.ty)
        }
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next().map(|op| op.node.ty),
        (DocumentOperations::Multiple(_), None) => None,
    }
}
