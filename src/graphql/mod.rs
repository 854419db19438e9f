//! Schema assembly: the merged root types, the context accessors resolvers
//! use, and the SDL export that `schema.graphql` is compared with.

pub mod answered;
mod documents;
mod engine;
mod introspection;
pub mod limits;
pub mod loaders;
pub mod node;
mod null_on_error;
mod request_metrics;
pub mod scalars;
mod security_events;

pub use engine::{Engine, operation_type, refused};
pub use null_on_error::nullable;

use async_graphql::{Context, MergedObject, MergedSubscription, Schema, ValidationMode};

use crate::auth::Principal;
use crate::db::Reads;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// The query root, merged from each domain folder's queries.
#[derive(MergedObject, Default)]
pub struct Query(
    crate::org::graphql::OrgQuery,
    crate::orders::graphql::OrderQuery,
    crate::reports::graphql::ReportQuery,
    crate::workflow::deletion::DeletionQuery,
    crate::workflow::create::PreviewQuery,
    crate::vendors::mutations::VendorQuery,
    node::NodeQuery,
);

/// The mutation root, merged from each domain folder's mutations.
#[derive(MergedObject, Default)]
pub struct Mutation(
    crate::org::mutations::OrgMutation,
    crate::workflow::create::CreateMutation,
    crate::workflow::graphql::WorkflowMutation,
    crate::workflow::work::WorkMutation,
    crate::workflow::deletion::DeletionMutation,
    crate::vendors::mutations::VendorMutation,
);

/// The subscription root (DOMAIN.md section 8).
#[derive(MergedSubscription, Default)]
pub struct Subscription(crate::subscriptions::OrderSubscription);

fn builder() -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
    limits::apply(Schema::build(Query::default(), Mutation::default(), Subscription::default()))
        .register_output_type::<node::Node>()
}

/// Builds the executable schema around the application state.
pub fn build(state: AppState) -> Engine {
    let production = state.config.environment == crate::config::Environment::Production;
    let graph = std::sync::Arc::new(introspection::TypeGraph::from_sdl(&sdl()));
    // Two copies of the schema: the second skips the document rules for
    // requests that passed them before (`documents`); about 3 MB more
    // memory and a few milliseconds more at start (BENCHMARKS.md).
    let schema = |mode| {
        let builder = builder().data(state.clone()).validation_mode(mode);
        // "Did you mean ...?" names fields a caller did not know of.
        if production { builder.disable_suggestions() } else { builder }.finish()
    };
    Engine::new(schema(ValidationMode::Strict), schema(ValidationMode::Fast), graph, state)
}

/// Whether a request of `principal` may introspect the schema (always
/// outside production).
pub fn may_introspect(state: &AppState, principal: Option<&Principal>) -> bool {
    state.config.environment != crate::config::Environment::Production
        || crate::policy::admin::introspect(principal).allowed
}

/// The schema's SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// A JSON list of strings stored in a text column (tags, kinds, e-mails).
/// A row that does not hold one is an internal error naming the column and
/// the row, for the log.
pub fn stored_list(column: &str, id: &str, text: &str) -> AppResult<Vec<String>> {
    serde_json::from_str(text).map_err(|e| AppError::internal(anyhow::anyhow!("{column} of {id}: {e}")))
}

/// Typed access to what every resolver needs, without `unwrap()`.
pub trait ContextExt {
    fn state(&self) -> AppResult<&AppState>;
    /// The authenticated caller; `UNAUTHENTICATED` for anonymous requests.
    fn principal(&self) -> AppResult<&Principal>;
    /// The operation's batched loaders (present whenever a principal is).
    fn loaders(&self) -> AppResult<&loaders::Loaders>;
    /// Where the operation reads (present whenever a principal is): a
    /// query's resolvers read through this, never the pool beside it.
    fn reads(&self) -> AppResult<&Reads>;
}

impl ContextExt for Context<'_> {
    fn state(&self) -> AppResult<&AppState> {
        self.data::<AppState>()
            .map_err(|_| AppError::internal(anyhow::anyhow!("AppState missing from the schema data")))
    }

    fn principal(&self) -> AppResult<&Principal> {
        self.data_opt::<Principal>().ok_or(AppError::Unauthenticated("authentication required"))
    }

    fn loaders(&self) -> AppResult<&loaders::Loaders> {
        self.data::<loaders::Loaders>()
            .map_err(|_| AppError::internal(anyhow::anyhow!("request loaders missing from the request data")))
    }

    fn reads(&self) -> AppResult<&Reads> {
        self.data::<Reads>()
            .map_err(|_| AppError::internal(anyhow::anyhow!("the operation's reads missing from the request data")))
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::ValidationMode;

    use super::builder;

    /// The copy of the schema that runs requests seen before
    /// (`ValidationMode::Fast`) still holds them to the complexity and
    /// depth limits, refused before anything runs (no data needed).
    #[tokio::test]
    async fn the_fast_schema_keeps_the_limits() {
        let schema = builder().validation_mode(ValidationMode::Fast).finish();
        let too_complex = format!("{{ orders(first: 100) {{ edges {{ node {{ {} }} }} }} }}", "id ".repeat(120));
        let too_deep = format!(
            "{{ __schema {{ types {{ {}name{} }} }} }}",
            "ofType { ".repeat(super::limits::MAX_DEPTH),
            " }".repeat(super::limits::MAX_DEPTH)
        );
        for (query, refusal) in [(too_complex, "Query is too complex."), (too_deep, "Query is nested too deep.")] {
            let response = schema.execute(query.as_str()).await;
            assert!(response.data == async_graphql::Value::Null, "{refusal}: nothing ran");
            let message = response.errors.first().map(|e| e.message.as_str()).unwrap_or_default();
            assert_eq!(message, refusal);
        }
    }
}
