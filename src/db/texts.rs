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
//!
//! A statement whose text follows something with more forms than a few (a
//! principal's visibility of one order follows their roles, scopes and
//! relations) is kept by that instead, by a [`KeptBy`], and only the one
//! value that differs between its uses is bound afresh.

use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::{LazyLock, Mutex, PoisonError};

use lru::LruCache;

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

/// The statements one builder makes, kept by a key that decides their
/// text and every value they bind but one, the *blank*: a principal's
/// visibility of one order, whose text follows the principal's roles,
/// scopes and relations and binds their sites and accounts, and where only
/// the order's id differs from one use to the next.
///
/// The first use for a key builds the statement with a marker in the
/// blank ([`MARKER`]) and keeps its text and values, with the places the
/// marker took; later uses bind their blank there. The builder must be a
/// function of the key and the blank alone, and bind the blank as a value.
/// A statement whose values hold no marker, or whose text does (a builder
/// that ignored the blank or wrote it into the text), is not kept: it is
/// built at every use. Debug builds (every test) build the statement at
/// every use, the first included, and compare it with the kept one bound
/// to the same blank.
///
/// At most [`KeptBy::MOST`] keys are kept, the least recently used
/// forgotten first (as `graphql::documents` keeps documents), with texts
/// of at most [`KeptBy::LONGEST`] bytes (a longer one is built at every
/// use).
pub struct KeptBy<K: Hash + Eq>(LazyLock<Mutex<KeptTexts<K>>>);

type KeptTexts<K> = LruCache<K, Vec<(DbBackend, Kept)>, foldhash::fast::RandomState>;

/// A statement's text and values, and where its blank goes.
struct Kept {
    sql: String,
    values: Vec<Value>,
    blanks: Vec<usize>,
}

/// What the first use of a key builds its statement with, in the blank:
/// no value a key binds can equal it (every id the server gives is a
/// prefix and hexadecimal digits, `ids`, and PostgreSQL refuses a NUL in
/// a text).
const MARKER: &str = "\0blank";

impl<K: Hash + Eq + Clone> Default for KeptBy<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Hash + Eq + Clone> KeptBy<K> {
    /// How many keys are kept at most.
    pub const MOST: NonZeroUsize = NonZeroUsize::new(2_048).unwrap();
    /// The longest text kept. A principal's visibility of one order is
    /// 1–3 kB; one whose roles name many sites is longer, and its key (its
    /// bindings) and values grow with it. With this bound, all that is
    /// kept stays within some tens of megabytes at worst, a few at most
    /// in practice.
    pub const LONGEST: usize = 8 * 1024;

    pub const fn new() -> Self {
        Self(LazyLock::new(|| Mutex::new(LruCache::with_hasher(Self::MOST, Default::default()))))
    }

    /// The statement `build` makes for `key` with `blank` in its blank.
    pub fn statement(&self, backend: DbBackend, key: &K, blank: &str, build: impl Fn(&str) -> Statement) -> Statement {
        let kept = match self.bound(backend, key, blank) {
            Some(kept) if !cfg!(debug_assertions) => return kept,
            kept => kept,
        };
        let built = build(blank);
        if kept.is_none() {
            self.keep(backend, key, build(MARKER));
        }
        if cfg!(debug_assertions)
            && let Some(kept) = kept.or_else(|| self.bound(backend, key, blank))
        {
            assert_eq!(kept, built, "the kept statement differs from the one built");
        }
        built
    }

    /// The kept statement of `key`, with `blank` bound in its blank.
    fn bound(&self, backend: DbBackend, key: &K, blank: &str) -> Option<Statement> {
        let mut texts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (_, kept) = texts.get(key)?.iter().find(|(b, _)| *b == backend)?;
        let mut values = kept.values.clone();
        for &place in &kept.blanks {
            values[place] = Value::from(blank);
        }
        Some(Statement { sql: kept.sql.clone(), values: Some(Values(values)), db_backend: backend })
    }

    fn keep(&self, backend: DbBackend, key: &K, marked: Statement) {
        let values = marked.values.map(|v| v.0).unwrap_or_default();
        let marker = Value::from(MARKER);
        let blanks: Vec<usize> =
            values.iter().enumerate().filter(|(_, v)| **v == marker).map(|(place, _)| place).collect();
        if blanks.is_empty() || marked.sql.contains(MARKER) || marked.sql.len() > Self::LONGEST {
            return;
        }
        let kept = Kept { sql: marked.sql, values, blanks };
        let mut texts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let of_key = texts.get_or_insert_mut(key.clone(), Vec::new);
        if !of_key.iter().any(|(b, _)| *b == backend) {
            of_key.push((backend, kept));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A statement of `key` with `blank` bound twice, among the key's own
    /// values.
    fn statement(key: u32, blank: &str) -> Statement {
        let values = vec![Value::from(key), Value::from(blank), Value::from("x"), Value::from(blank)];
        let sql = format!("SELECT {key} WHERE a = $1 AND b = $2 AND c = $3 AND d = $4");
        Statement { sql, values: Some(Values(values)), db_backend: DbBackend::Postgres }
    }

    #[test]
    fn each_use_binds_its_own_blank_in_every_place() {
        let kept = KeptBy::<u32>::new();
        for (key, blank) in [(1, "ord_1"), (1, "ord_2"), (2, "ord_2"), (1, "ord_3")] {
            let given = kept.statement(DbBackend::Postgres, &key, blank, |blank| statement(key, blank));
            assert_eq!(given, statement(key, blank));
            let bound = kept.bound(DbBackend::Postgres, &key, blank).expect("kept");
            assert_eq!(bound, statement(key, blank), "kept for {key}, bound to {blank}");
        }
        assert!(kept.bound(DbBackend::Sqlite, &1, "ord_1").is_none(), "kept by backend");
    }

    #[test]
    fn a_statement_that_does_not_bind_its_blank_is_not_kept() {
        let kept = KeptBy::<u32>::new();
        let ignores = |_: &str| statement(1, "ord_1");
        let written = |blank: &str| Statement::from_string(DbBackend::Postgres, format!("SELECT '{blank}'"));
        let long = |blank: &str| {
            let mut long = statement(3, blank);
            long.sql.push_str(&" ".repeat(KeptBy::<u32>::LONGEST));
            long
        };
        assert_eq!(kept.statement(DbBackend::Postgres, &1, "ord_2", ignores), statement(1, "ord_1"));
        assert_eq!(kept.statement(DbBackend::Postgres, &2, "ord_2", written).sql, "SELECT 'ord_2'");
        assert_eq!(kept.statement(DbBackend::Postgres, &3, "ord_2", long), long("ord_2"));
        for key in [1, 2, 3] {
            assert!(kept.bound(DbBackend::Postgres, &key, "ord_3").is_none(), "{key} kept");
        }
    }

    #[test]
    fn no_more_than_most_keys_are_kept_the_least_recently_used_forgotten() {
        let kept = KeptBy::<u32>::new();
        let most = u32::try_from(KeptBy::<u32>::MOST.get()).expect("a u32");
        for key in 0..=most {
            kept.statement(DbBackend::Postgres, &key, "ord_1", |blank| statement(key, blank));
            if key > 0 {
                // The first key, used again each time, is never the least recent.
                kept.statement(DbBackend::Postgres, &0, "ord_1", |blank| statement(0, blank));
            }
        }
        let texts = kept.0.lock().expect("not poisoned");
        assert_eq!(texts.len(), KeptBy::<u32>::MOST.get());
        assert!(texts.contains(&most) && texts.contains(&0), "the newest and the one in use are kept");
        assert!(!texts.contains(&1), "the least recently used is forgotten");
    }
}
