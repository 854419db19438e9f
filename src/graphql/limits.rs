//! What one request may ask of the server (SECURITY.md, "Query limits").
//! A request over a limit is refused before anything runs, with
//! `QUERY_TOO_COMPLEX` and a message naming the limit.
//!
//! async-graphql enforces depth, complexity, parser nesting and directives
//! per field (`Schema::limit_*`); [`check_aliases`] counts aliases, the HTTP
//! handler caps batches and body size, and runs each request under
//! `WORKGATE_REQUEST_TIMEOUT`.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Positioned, ServerResult};

use crate::error::AppError;

/// Fields nested in fields, counted from the operation.
pub const MAX_DEPTH: usize = 12;
/// Fields a request may resolve, counting each field once and a paginated
/// list's selection once per item of its page ([`page_cost`]).
pub const MAX_COMPLEXITY: usize = 10_000;
/// Aliases in one document.
pub const MAX_ALIASES: usize = 100;
/// Directives on one field.
pub const MAX_DIRECTIVES: usize = 4;
/// Nesting of selection sets and fragments the parser's checks follow.
pub const MAX_NESTING: usize = 32;
/// Operations in one batch (a JSON array of requests).
pub const MAX_BATCH: usize = 10;
/// The page size assumed for a paginated field that names none.
pub const DEFAULT_PAGE: usize = 50;

/// The complexity of a paginated field: its selection once per item of the
/// page asked for (or the default page), plus the field itself.
pub fn page_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let page = first.map_or(DEFAULT_PAGE, |n| usize::try_from(n).unwrap_or(0));
    page.saturating_mul(child_complexity).saturating_add(1)
}

/// Applies the limits async-graphql enforces itself.
pub fn apply<Q, M, S>(builder: async_graphql::SchemaBuilder<Q, M, S>) -> async_graphql::SchemaBuilder<Q, M, S> {
    builder
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(MAX_NESTING)
        .limit_directives(MAX_DIRECTIVES)
}

/// async-graphql's own messages for its limits (and fragment cycles, which
/// would recurse without end), which it sends without a code.
pub fn is_limit_message(message: &str) -> bool {
    [
        "Query is too complex",
        "Query is nested too deep",
        "The recursion depth of the query cannot be greater than",
        "The number of directives on the field",
        "Cannot spread fragment",
    ]
    .iter()
    .any(|prefix| message.starts_with(prefix))
}

/// Refuses documents with more than [`MAX_ALIASES`] aliases (run by
/// [`super::Engine`] on each parsed document).
pub fn check_aliases(document: &ExecutableDocument) -> ServerResult<()> {
    let aliases = document.operations.iter().map(|(_, op)| aliases(&op.node.selection_set, 0)).sum::<usize>()
        + document.fragments.values().map(|f| aliases(&f.node.selection_set, 0)).sum::<usize>();
    if aliases > MAX_ALIASES {
        let refused =
            AppError::TooComplex(format!("the query has {aliases} aliases; at most {MAX_ALIASES} are allowed"));
        return Err(async_graphql::Error::from(refused).into_server_error(async_graphql::Pos::default()));
    }
    Ok(())
}

/// The aliases written in a selection set `depth` sets deep (fragments
/// counted where they are defined). Sets nested deeper than
/// [`MAX_NESTING`] are not followed: async-graphql refuses the document
/// after this check.
fn aliases(set: &Positioned<SelectionSet>, depth: usize) -> usize {
    if depth > MAX_NESTING {
        return 0;
    }
    set.node
        .items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some()) + aliases(&field.node.selection_set, depth + 1)
            }
            Selection::InlineFragment(fragment) => aliases(&fragment.node.selection_set, depth + 1),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}
