//! The SQL text of statements that every request runs in the same few
//! forms, rendered once.
//!
//! sea-query renders a statement's text afresh each time it is built: for
//! the API token lookup that authenticates a partner's request, and for
//! the loaders' reads of people, sites and vendors by id, that was about
//! 3% of a partner's dashboard page in gateway instructions
//! (BENCHMARKS.md); the statement that reads an order's children (notes,
//! time, cost lines, history ...) with what it names keeps its too. Their
//! text depends only on the backend and on the statement's *form* (on
//! PostgreSQL, one id or an array of them; on SQLite, how many places an
//! `IN` list has; for a `UNION ALL`, which arms it has and with which
//! filters), and their values are known without rendering. A [`Texts`] keeps each form's text; a use binds its
//! own values to it.
//!
//! A use's values must be those the statement it describes would bind, in
//! order. Debug builds (every test) render the statement on every use and
//! compare its text and values with the kept text and the values given.
//! Two more conditions the form must carry, since release builds do not
//! check them: a value that may be NULL changes the text (sea-query writes
//! `IS NULL`, binding nothing), so it must be part of the form or never
//! NULL; and a `static` [`Texts`] serves one statement, so it must not sit
//! in a generic function whose instances build different statements: they
//! would share it. (One generic only over the connection, which builds the
//! same statement whatever the connection, may hold it.)

use std::sync::{Mutex, PoisonError};

use sea_orm::{DbBackend, Statement, Value, Values};

/// The texts of one statement, by backend and form (`()` for a statement
/// of one form).
pub struct Texts<F = ()>(Mutex<Vec<(DbBackend, F, String)>>);

impl<F: Copy + PartialEq> Default for Texts<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Copy + PartialEq> Texts<F> {
    pub const fn new() -> Self {
        Self(Mutex::new(Vec::new()))
    }

    /// The statement that `build` makes of `values`, in its `form`: built
    /// only the first time this form is asked for, its text kept and bound
    /// to the values of later uses.
    pub fn statement(
        &self,
        backend: DbBackend,
        form: F,
        values: Vec<Value>,
        build: impl FnOnce(Vec<Value>) -> Statement,
    ) -> Statement {
        let kept = match self.kept(backend, form) {
            Some(sql) if !cfg!(debug_assertions) => {
                return Statement { sql, values: Some(Values(values)), db_backend: backend };
            }
            kept => kept,
        };
        // Rendered: the first use of this form, or any use in a debug
        // build, which holds the kept text and the values given to it.
        let built = build(values.clone());
        let built_values = built.values.as_ref().map_or(&[][..], |v| v.0.as_slice());
        debug_assert_eq!(built_values, values.as_slice(), "the values given differ from the statement's");
        match kept {
            Some(sql) => debug_assert_eq!(sql, built.sql, "the kept text differs from the statement's"),
            None => self.keep(backend, form, &built.sql),
        }
        built
    }

    fn kept(&self, backend: DbBackend, form: F) -> Option<String> {
        let texts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        texts.iter().find(|(b, f, _)| *b == backend && *f == form).map(|(_, _, sql)| sql.clone())
    }

    fn keep(&self, backend: DbBackend, form: F, sql: &str) {
        let mut texts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !texts.iter().any(|(b, f, _)| *b == backend && *f == form) {
            texts.push((backend, form, sql.to_owned()));
        }
    }
}
