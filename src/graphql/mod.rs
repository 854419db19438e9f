//! Schema assembly: the merged root types, the context accessors resolvers
//! use, and the SDL export that `schema.graphql` is compared with.

use async_graphql::{Context, EmptyMutation, EmptySubscription, MergedObject, Schema};

use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub type AppSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// The query root, merged from each domain folder's queries.
#[derive(MergedObject, Default)]
pub struct Query(crate::org::graphql::OrgQuery);

/// Builds the executable schema around the application state.
pub fn build(state: AppState) -> AppSchema {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription).data(state).finish()
}

/// The schema's SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription).finish().sdl()
}

/// Typed access to what every resolver needs, without `unwrap()`.
pub trait ContextExt {
    fn state(&self) -> AppResult<&AppState>;
    /// The authenticated caller; `UNAUTHENTICATED` for anonymous requests.
    fn principal(&self) -> AppResult<&Principal>;
}

impl ContextExt for Context<'_> {
    fn state(&self) -> AppResult<&AppState> {
        self.data::<AppState>()
            .map_err(|_| AppError::internal(anyhow::anyhow!("AppState missing from the schema data")))
    }

    fn principal(&self) -> AppResult<&Principal> {
        self.data_opt::<Principal>().ok_or(AppError::Unauthenticated("authentication required"))
    }
}
