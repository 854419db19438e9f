//! Parsed documents, kept by their text. Clients send the same few
//! documents over and over with different variables (a dashboard, a
//! detail), and parsing one is a good part of a small request's CPU: about
//! 68 µs for the load generator's dashboard document against 2 µs to copy
//! the parsed tree (BENCHMARKS.md). A document is parsed once and copied
//! for each request after; async-graphql still validates each request
//! against its variables.
//!
//! Bounded in entries and in the size of a document kept, so unique
//! documents can neither grow the memory nor evict by size; a document
//! above the size is parsed every time.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::parser::{self, types::ExecutableDocument};
use lru::LruCache;

/// Documents kept.
const ENTRIES: NonZeroUsize = NonZeroUsize::new(256).unwrap();
/// The longest document text kept, in bytes.
const LONGEST: usize = 16 * 1024;

#[derive(Clone)]
pub struct Documents(Arc<Mutex<LruCache<String, Arc<ExecutableDocument>>>>);

impl Default for Documents {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(LruCache::new(ENTRIES))))
    }
}

impl Documents {
    /// `query` parsed, as async-graphql's parser gives it.
    pub fn parse(&self, query: &str) -> parser::Result<ExecutableDocument> {
        if query.len() > LONGEST {
            return parser::parse_query(query);
        }
        let kept = self.0.lock().unwrap_or_else(PoisonError::into_inner).get(query).cloned();
        if let Some(document) = kept {
            return Ok(ExecutableDocument::clone(&document));
        }
        let document = parser::parse_query(query)?;
        self.0.lock().unwrap_or_else(PoisonError::into_inner).put(query.to_owned(), Arc::new(document.clone()));
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(documents: &Documents) -> usize {
        documents.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    #[test]
    fn a_kept_document_is_the_document_parsed() {
        let documents = Documents::default();
        let query = "query Q($id: ID!) { order(id: $id) { id ...F } } fragment F on Order { title }";
        let first = documents.parse(query).expect("parsed");
        let again = documents.parse(query).expect("kept");
        assert_eq!(format!("{again:?}"), format!("{first:?}"));
        assert_eq!(format!("{again:?}"), format!("{:?}", parser::parse_query(query).expect("parsed")));
        assert_eq!(kept(&documents), 1);
    }

    #[test]
    fn errors_and_long_documents_are_not_kept() {
        let documents = Documents::default();
        assert!(documents.parse("query {").is_err());
        let long = format!("{{ {} }}", "__typename ".repeat(LONGEST / 10));
        assert!(documents.parse(&long).is_ok());
        assert_eq!(kept(&documents), 0);
    }
}
