//! Running operations. The schema has no async-graphql extension: with
//! one, async-graphql passes every field of every response through it (a
//! boxed future and a lookup of the field's type by name, per field), even
//! when the extension only reads the document and the response; that was
//! about a tenth of a dashboard request's CPU (BENCHMARKS.md, profile). So
//! what is done once per operation is done here, around the schema:
//!
//! - before: the document is parsed here, or copied from the documents
//!   already parsed ([`super::documents`]; async-graphql then takes it as
//!   parsed), whether the same request passed validation before looked up
//!   (then it runs on a copy of the schema that skips the document rules),
//!   its aliases counted ([`super::limits`]), and what request
//!   timing, introspection trimming and security events need of it noted;
//!   a caller's operation gets its loaders and where it reads
//!   ([`crate::db::Reads`]: a query holds one connection);
//! - after: the held connection given back, the request's time,
//!   introspection trimming, then the security events (which read the
//!   response with every error).
//!
//! Failed nullable fields become `null` in their resolvers
//! ([`super::null_on_error`]).

use std::any::TypeId;
use std::sync::Arc;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition, OperationType};
use async_graphql::{BatchRequest, BatchResponse, Request, Response, ServerError};
use futures::stream::{self, BoxStream, StreamExt};

use super::AppSchema;
use super::documents::{Documents, Validation};
use super::introspection::{self, Answers, TypeGraph};
use super::request_metrics::Timing;
use super::security_events::Mutations;
use crate::auth::Principal;
use crate::db::Reads;
use crate::state::AppState;

/// The schema with what runs around each of its operations.
#[derive(Clone)]
pub struct Engine {
    schema: AppSchema,
    /// The same schema in `ValidationMode::Fast`, for requests the same
    /// as one that passed validation before ([`super::documents`]).
    validated: AppSchema,
    introspection: Arc<TypeGraph>,
    documents: Documents,
    state: AppState,
}

/// What the steps after execution need to know of an operation.
struct Notes {
    timing: Timing,
    answers: Answers,
    mutations: Mutations,
    operation_name: Option<String>,
    subscription: bool,
    /// What decides whether the request passes validation.
    validation: Option<Validation>,
    /// The request's principal, when a step after execution needs it
    /// (introspection trimming, refused mutations).
    principal: Option<Principal>,
    /// Where the operation reads (a caller's operations only); released
    /// when it ends.
    reads: Option<Reads>,
}

impl Engine {
    /// `schema`, and `validated`, the same in `ValidationMode::Fast`.
    pub fn new(schema: AppSchema, validated: AppSchema, introspection: Arc<TypeGraph>, state: AppState) -> Self {
        Self { schema, validated, introspection, documents: Documents::default(), state }
    }

    /// Runs one query or mutation.
    pub async fn execute(&self, request: Request) -> Response {
        match self.prepare(request) {
            Ok((request, notes)) => self.run(request, notes).await,
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
        stream::once(async move { engine.run(request, notes).await }).boxed()
    }

    /// Parses the document and checks and notes what only the document
    /// tells; a document refused here is answered at once.
    fn prepare(&self, mut request: Request) -> Result<(Request, Notes), ServerError> {
        let mut timing = Timing::start(self.state.metrics.clone());
        let parsed = self.documents.parse(&request.query)?;
        let document = &parsed.document;
        super::limits::check_aliases(document)?;
        timing.note(document);
        let answers = introspection::answers(document, &request.variables);
        let mutations = Mutations::of(document);
        let principal = if answers.is_empty() && mutations.is_empty() { None } else { principal(&request).cloned() };
        let operation_name = request.operation_name.clone();
        let picked = operation(document, operation_name.as_deref());
        let validation = parsed.validation(operation_name.as_deref(), picked, &request.variables);
        let kind = picked.map(|op| op.ty);
        let reads = self.reads_for(&mut request, kind == Some(OperationType::Query));
        request.set_parsed_query(parsed.document);
        let subscription = kind == Some(OperationType::Subscription);
        Ok((request, Notes { timing, answers, mutations, operation_name, subscription, validation, principal, reads }))
    }

    /// Runs a prepared query or mutation. A request the same as one that
    /// passed validation before runs without the document rules; any other
    /// is validated, and noted when it passed (it ran: `data` is not null).
    async fn run(&self, request: Request, mut notes: Notes) -> Response {
        if notes.validation.as_ref().is_some_and(Validation::passed) {
            self.state.metrics.validation_reused();
            let response = self.validated.execute(request).await;
            return self.finish(notes, response).await;
        }
        let response = self.schema.execute(request).await;
        if let Some(validation) = notes.validation.take()
            && response.data != async_graphql::Value::Null
        {
            validation.pass();
        }
        self.finish(notes, response).await
    }

    /// Where a request read before it runs, when it is a query of a
    /// document seen before: a held connection ([`crate::db::Reads`]),
    /// through which the caller is authenticated and which the query then
    /// goes on reading through (given to [`Self::execute`] in the
    /// request's data). `None`: the request is authenticated through the
    /// pool, and gets where it reads when it runs.
    pub fn reads_ahead(&self, request: &Request) -> Option<Reads> {
        let kind = self.documents.kept_operation_type(&request.query, request.operation_name.as_deref());
        (kind == Some(OperationType::Query)).then(|| Reads::new(&self.state.db, &self.state.statements, true))
    }

    /// A caller's operation gets its own loaders and the connection they
    /// and its resolvers read through: one held connection for a query
    /// (see [`crate::db::Reads`]; the one [`Self::reads_ahead`] gave, if
    /// any), the pool for anything else.
    fn reads_for(&self, request: &mut Request, query: bool) -> Option<Reads> {
        let organization_id = principal(request)?.organization_id.clone();
        let ahead = request.data.get(&TypeId::of::<Reads>()).and_then(|data| data.downcast_ref::<Reads>());
        // `reads_ahead` and `prepare` pick the operation alike, so a
        // connection taken ahead is a query's.
        debug_assert!(ahead.is_none() || query, "a connection held ahead for an operation that is not a query");
        let reads = match ahead {
            Some(reads) if query => reads.clone(),
            _ => Reads::new(&self.state.db, &self.state.statements, query),
        };
        request.data.insert(super::loaders::for_request(reads.clone(), organization_id));
        request.data.insert(reads.clone());
        Some(reads)
    }

    async fn finish(&self, notes: Notes, mut response: Response) -> Response {
        let Notes { timing, answers, mutations, operation_name, principal, reads, .. } = notes;
        if let Some(reads) = reads {
            reads.release().await;
        }
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

/// The type of the operation `operation_name` picks from `document`;
/// `None` when it picks none.
pub fn operation_type(document: &ExecutableDocument, operation_name: Option<&str>) -> Option<OperationType> {
    operation(document, operation_name).map(|op| op.ty)
}

/// The operation `operation_name` picks from `document`, as async-graphql
/// picks it: the one of that name, or with no name the only one.
fn operation<'d>(document: &'d ExecutableDocument, operation_name: Option<&str>) -> Option<&'d OperationDefinition> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), None) => Some(&op.node),
        (DocumentOperations::Single(_), Some(_)) => None,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next().map(|op| &op.node),
        (DocumentOperations::Multiple(_), None) => None,
    }
}
