//! Parsed documents, kept by their text, and the validations each has
//! passed. Clients send the same few documents over and over with
//! different variables (a dashboard, a detail), and parsing one is a good
//! part of a small request's CPU: about 68 µs for the load generator's
//! dashboard document against 2 µs to copy the parsed tree (BENCHMARKS.md).
//! A document is parsed once and copied for each request after.
//!
//! Validating a request against the schema costs more still: a quarter of
//! a PLANNER's order detail (BENCHMARKS.md, callgrind). Its result depends
//! on the schema, which never changes, and on the document, the operation
//! and the variables: async-graphql checks the variables' values where
//! they are used as arguments, and counts a page's complexity from them.
//! So what decides it is kept too, as a [`Validation`] key: a request whose
//! document, operation and variables passed before passes again, and the
//! engine runs it without the document rules (`ValidationMode::Fast`, which
//! still counts complexity and depth against their limits). A variable
//! declared `ID` or `String` and given a string is any string in the key:
//! every string is a valid `ID` and `String` whatever it says, so an order's
//! detail passes once for every order. Every other value is in the key as
//! it was given.
//!
//! This rests on what async-graphql 7.2's rules read: of Strict's rules only
//! `ArgumentsOfCorrectType` reads the variables' values, and
//! `VariableInAllowedPosition` lets a variable declared `ID` or `String`
//! reach only an `ID` or `String` position; complexity and depth, which
//! read the page sizes, run in both modes. `tests/security_limits.rs`
//! (`a_document_that_passed_is_checked_again_with_new_variables`) and
//! `tests/metrics.rs` (`validations_are_reused_only_for_what_passed`) hold
//! it to that; check them on an upgrade.
//!
//! Bounded in entries, in the size of a document kept, in the validations
//! kept per document and in the size of their keys, so unique documents or
//! variables can neither grow the memory nor evict by size; a document above
//! the size is parsed, and a request above the key size validated, every
//! time.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::parser;
use async_graphql::parser::types::{BaseType, ExecutableDocument, OperationDefinition, OperationType};
use async_graphql::{Name, Value, Variables};
use lru::LruCache;
use serde::Serialize;

/// Documents kept.
const ENTRIES: NonZeroUsize = NonZeroUsize::new(256).unwrap();
/// The longest document text kept, in bytes.
const LONGEST: usize = 16 * 1024;
/// Validations kept per document (a dashboard's dozen views fit).
const VALIDATIONS: NonZeroUsize = NonZeroUsize::new(32).unwrap();
/// The longest validation key kept, in bytes (the variables' size, about):
/// with the above, at most 8 MiB of keys.
const LONGEST_KEY: usize = 1024;

#[derive(Clone)]
pub struct Documents(Arc<Mutex<LruCache<String, Arc<Kept>>>>);

impl Default for Documents {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(LruCache::new(ENTRIES))))
    }
}

/// A document kept, and the validations it has passed.
struct Kept {
    document: ExecutableDocument,
    passed: Mutex<LruCache<String, ()>>,
}

/// A document as async-graphql's parser gives it, and, when it is kept,
/// where its validations are.
pub struct Parsed {
    pub document: ExecutableDocument,
    kept: Option<Arc<Kept>>,
}

impl Documents {
    /// `query` parsed.
    pub fn parse(&self, query: &str) -> parser::Result<Parsed> {
        if query.len() > LONGEST {
            return Ok(Parsed { document: parser::parse_query(query)?, kept: None });
        }
        let kept = self.0.lock().unwrap_or_else(PoisonError::into_inner).get(query).cloned();
        if let Some(kept) = kept {
            return Ok(Parsed { document: kept.document.clone(), kept: Some(kept) });
        }
        let document = parser::parse_query(query)?;
        let kept = Arc::new(Kept { document: document.clone(), passed: Mutex::new(LruCache::new(VALIDATIONS)) });
        self.0.lock().unwrap_or_else(PoisonError::into_inner).put(query.to_owned(), kept.clone());
        Ok(Parsed { document, kept: Some(kept) })
    }

    /// The type of the operation `operation_name` picks from `query`, if
    /// `query` is kept (`None` for a document not seen before: it is not
    /// parsed here).
    pub fn kept_operation_type(&self, query: &str, operation_name: Option<&str>) -> Option<OperationType> {
        if query.len() > LONGEST {
            return None;
        }
        let kept = self.0.lock().unwrap_or_else(PoisonError::into_inner).get(query).cloned()?;
        super::engine::operation_type(&kept.document, operation_name)
    }
}

impl Parsed {
    /// What decides whether a request of this document passes validation:
    /// the operation it names (`operation_name`; `operation` is the one
    /// that picks) and `variables`. `None` when the document is not kept.
    pub fn validation(
        &self,
        operation_name: Option<&str>,
        operation: Option<&OperationDefinition>,
        variables: &Variables,
    ) -> Option<Validation> {
        let kept = self.kept.clone()?;
        let declared_any_string = |name: &Name| {
            operation.is_some_and(|op| {
                op.variable_definitions.iter().any(|definition| {
                    definition.node.name.node == *name
                        && matches!(&definition.node.var_type.node.base, BaseType::Named(ty) if ty == "ID" || ty == "String")
                })
            })
        };
        let given: Vec<(&str, Given<'_>)> = variables
            .iter()
            .map(|(name, value)| {
                let given = match value {
                    Value::String(_) if declared_any_string(name) => Given::AnyString,
                    value => Given::Value(value),
                };
                (name.as_str(), given)
            })
            .collect();
        let key = serde_json::to_string(&(operation_name, given)).ok().filter(|key| key.len() <= LONGEST_KEY)?;
        Some(Validation { kept, key })
    }
}

/// A variable's value as far as validation is concerned.
#[derive(Serialize)]
enum Given<'a> {
    /// A string given for a variable declared `ID` or `String`.
    AnyString,
    Value(&'a Value),
}

/// A request's document, operation and variables, as validation sees them.
pub struct Validation {
    kept: Arc<Kept>,
    key: String,
}

impl Validation {
    /// Whether a request the same as this one passed validation before.
    pub fn passed(&self) -> bool {
        self.kept.passed.lock().unwrap_or_else(PoisonError::into_inner).get(&self.key).is_some()
    }

    /// Notes that this request passed validation.
    pub fn pass(self) {
        self.kept.passed.lock().unwrap_or_else(PoisonError::into_inner).put(self.key, ());
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::types::DocumentOperations;

    use super::*;

    fn kept(documents: &Documents) -> usize {
        documents.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    #[test]
    fn a_kept_document_is_the_document_parsed() {
        let documents = Documents::default();
        let query = "query Q($id: ID!) { order(id: $id) { id ...F } } fragment F on Order { title }";
        let first = documents.parse(query).expect("parsed").document;
        let again = documents.parse(query).expect("kept").document;
        assert_eq!(format!("{again:?}"), format!("{first:?}"));
        assert_eq!(format!("{again:?}"), format!("{:?}", parser::parse_query(query).expect("parsed")));
        assert_eq!(kept(&documents), 1);
    }

    #[test]
    fn errors_and_long_documents_are_not_kept() {
        let documents = Documents::default();
        assert!(documents.parse("query {").is_err());
        let long = format!("{{ {} }}", "__typename ".repeat(LONGEST / 10));
        let parsed = documents.parse(&long).expect("parsed");
        assert_eq!(kept(&documents), 0);
        assert!(parsed.validation(None, None, &Variables::default()).is_none(), "nothing to keep it in");
    }

    const QUERY: &str = "query Q($id: ID!, $note: String, $first: Int!, $sort: OrderSort, $ids: [ID!]) {
        order(id: $id) { id } orders(first: $first, sort: $sort) { edges { node { id } } } }";

    /// The key of `QUERY` with `variables`, as operation `name`.
    fn key(documents: &Documents, name: Option<&str>, variables: serde_json::Value) -> Option<Validation> {
        let parsed = documents.parse(QUERY).expect("parsed");
        let DocumentOperations::Multiple(ops) = &parsed.document.operations else { panic!("one named operation") };
        let operation = ops.get("Q").map(|op| op.node.clone());
        parsed.validation(name, operation.as_ref(), &Variables::from_json(variables))
    }

    #[test]
    fn a_validation_is_kept_for_what_decides_it() {
        let documents = Documents::default();
        let base = serde_json::json!({ "id": "ord_1", "note": "a", "first": 5, "sort": "DUE_ASC", "ids": ["x"] });
        let passed = |variables: serde_json::Value| key(&documents, Some("Q"), variables).expect("kept").passed();
        assert!(!passed(base.clone()), "nothing passed yet");
        key(&documents, Some("Q"), base.clone()).expect("kept").pass();
        assert!(passed(base.clone()));

        // Any string is a valid ID or String.
        let mut other = base.clone();
        other["id"] = "ord_2".into();
        other["note"] = "another note".into();
        assert!(passed(other), "another order, another note");

        // Everything else counts as it is.
        for (variable, value) in [
            ("id", serde_json::json!(7)),
            ("id", serde_json::json!({ "not": "an id" })),
            ("note", serde_json::json!(7)),
            ("note", serde_json::Value::Null),
            ("first", serde_json::json!(50)),
            ("first", serde_json::json!("5")),
            ("sort", serde_json::json!("CREATED_DESC")),
            ("ids", serde_json::json!(["y"])),
        ] {
            let mut changed = base.clone();
            changed[variable] = value.clone();
            assert!(!passed(changed), "{variable}: {value}");
        }
        let mut fewer = base.clone();
        fewer.as_object_mut().expect("object").remove("note");
        assert!(!passed(fewer), "a variable left out");
        let mut more = base.clone();
        more["extra"] = "x".into();
        assert!(!passed(more), "a variable more");

        // Another operation name is another request.
        assert!(!key(&documents, None, base.clone()).expect("kept").passed());
    }

    #[test]
    fn long_variables_are_not_kept() {
        let documents = Documents::default();
        let long = serde_json::json!({ "id": "ord_1", "first": 5, "ids": vec!["x"; LONGEST_KEY] });
        assert!(key(&documents, Some("Q"), long).is_none());
    }
}
