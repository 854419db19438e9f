//! Field errors as the GraphQL spec handles them (section 6.4.4, "Handling
//! Field Errors"): a nullable field whose resolver fails is `null` in the
//! response and its error is listed, while the rest of the response stays.
//!
//! async-graphql 7 instead drops the failed field from its object, and an
//! object whose only selected field failed becomes `null` itself (so
//! `{ order(id: ...) { id } }` answered `"data": null`). So every nullable
//! field that can fail resolves through [`nullable`], which lists the error
//! under the field's path and answers `null`. Non-null fields are left to
//! async-graphql. (An extension's per-field hook did this once, at a cost
//! every field of every response paid; BENCHMARKS.md.)

use std::future::Future;

use async_graphql::{Context, Result};

/// What `resolve` gives, or `None` with its error listed for the field
/// `ctx` resolves.
pub async fn nullable<T>(ctx: &Context<'_>, resolve: impl Future<Output = Result<Option<T>>>) -> Option<T> {
    match resolve.await {
        Ok(value) => value,
        Err(error) => {
            ctx.add_error(ctx.set_error_path(error.into_server_error(ctx.item.pos)));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// A resolver (a method taking the `Context`) returning
    /// `Result<Option<_>>` would be dropped from its object on error instead
    /// of being `null`.
    #[test]
    fn fallible_nullable_resolvers_go_through_nullable() {
        let mut offenders = Vec::new();
        visit(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut offenders);
        assert!(offenders.is_empty(), "return Option<_> through `nullable` instead: {offenders:#?}");
    }

    fn visit(dir: &Path, offenders: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("src is readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                visit(&path, offenders);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("source is readable");
                for (n, line) in text.lines().enumerate() {
                    let resolver = line.contains("fn ") && line.contains("(&self") && line.contains("Context<'_>");
                    if resolver && line.contains("-> Result<Option<") {
                        offenders.push(format!("{}:{}", path.display(), n + 1));
                    }
                }
            }
        }
    }
}
