//! Objects answered whole by the resolver of the field that returns them.
//!
//! async-graphql resolves each field of an object through a boxed future of
//! its own: a page of fifty orders asking nine `viewerCan` actions and the
//! `id` and `name` of a site, an owner, assignees and a vendor builds well
//! over a thousand of them, and for fields that are plain values of what is
//! already in hand that machinery is most of the cost. Here the value of
//! such an object is built at once from the fields asked, and handed to
//! async-graphql as a [`Brief<T>`] of the schema's type `T` (its name and
//! fields come from `T`'s own declaration, so the schema is unchanged):
//!
//! - [`object`] builds an object from a function answering each field
//!   asked in a [`Shape`] (`Order.viewerCan`, and a dashboard's page of
//!   orders, see `orders::graphql::Order::built`, where one shape serves
//!   every order of the page);
//! - [`brief`] answers an object with some [`Plain`] fields whole when only
//!   those are asked, and otherwise leaves it to async-graphql as ever;
//!   [`plain`] is the same for an object inside one being built.
//!
//! The selection is read through async-graphql's public
//! [`SelectionField`], which has already dropped `@skip`/`@include` and
//! flattens fragments. That is right where the field's type is an object
//! type (never an interface or a union): validation lets through only
//! fragments on that type or on an interface or union it belongs to
//! (`... on Node`), and each of those applies. A response key asked twice is
//! merged as async-graphql merges it.

use std::borrow::Cow;
use std::cell::{Cell, OnceCell};
use std::sync::{Mutex, PoisonError};

use async_graphql::indexmap::IndexMap;
use async_graphql::indexmap::map::Entry;
use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::{Context, ContextSelectionSet, Name, OutputType, Positioned, SelectionField, ServerResult, Value};

use super::ContextExt;
use crate::auth::Principal;
use crate::error::AppError;

/// An object of the schema's type `T`: its value built by its parent's
/// resolver, or the object itself for async-graphql to resolve.
pub enum Brief<T> {
    /// Taken when resolved (async-graphql resolves a resolver's value
    /// once), not copied: a page's edges are most of its response.
    Built(Mutex<Option<Value>>),
    Whole(T),
}

impl<T> Brief<T> {
    pub fn built(value: Value) -> Self {
        Self::Built(Mutex::new(Some(value)))
    }
}

/// An object's fields that are plain values of what it holds: no guard, no
/// load, no argument. A field with a guard must not be one, or the guard
/// would be skipped when only plain fields are asked.
pub trait Plain: OutputType {
    /// The value of the field `name` (`None`: not a plain field).
    fn plain(&self, name: &str) -> Option<Value>;

    /// Whether `principal` reads the plain field `name` (`false`: the field
    /// is left to its resolver, whose guard refuses it).
    fn readable(_principal: &Principal, _name: &str) -> bool {
        true
    }
}

/// `object` as `ctx`'s field asks for it: built whole when only [`Plain`]
/// fields are asked (the common `{ id name }`), resolved by async-graphql
/// otherwise.
pub fn brief<T: Plain>(ctx: &Context<'_>, object: T) -> Brief<T> {
    let Ok(principal) = ctx.principal() else { return Brief::Whole(object) };
    match plain(&Shape::of(ctx.field()), &object, principal) {
        Some(value) => Brief::built(value),
        None => Brief::Whole(object),
    }
}

/// `object` as `shape` asks for it, when only [`Plain`] fields that
/// `principal` reads are asked.
pub fn plain<T: Plain>(shape: &Shape<'_>, object: &T, principal: &Principal) -> Option<Value> {
    self::object::<T>(shape, |field| {
        let name = field.name();
        if T::readable(principal, name) { object.plain(name) } else { None }
    })
}

/// A field's selection, read once (fragments flattened, `@skip`/`@include`
/// applied, response keys made) to answer any number of objects asked the
/// same, such as a page's orders. Its fields' own selections are read when
/// first needed, and kept.
pub struct Shape<'a> {
    fields: Vec<Slot<'a>>,
    /// Whether an object has been answered in this shape.
    answered: Cell<bool>,
    /// From the second object on: the response keys in order, each with a
    /// `null`, copied for each object and filled in. Copying a map copies
    /// its keys' hashes, where inserting the keys hashes each again (a
    /// page's orders, their sites, people and `viewerCan` are thousands of
    /// keys). `None` when a key is asked more than once: those objects are
    /// merged key by key ([`insert`]).
    keys: OnceCell<Option<IndexMap<Name, Value>>>,
}

/// One field of a [`Shape`], under its response key.
pub struct Slot<'a> {
    key: Name,
    field: SelectionField<'a>,
    shape: OnceCell<Shape<'a>>,
}

impl<'a> Shape<'a> {
    /// The selection of the field `selection`.
    pub fn of(selection: SelectionField<'a>) -> Self {
        let fields = selection
            .selection_set()
            .map(|field| Slot { key: Name::new(field.alias().unwrap_or(field.name())), field, shape: OnceCell::new() })
            .collect();
        Self { fields, answered: Cell::new(false), keys: OnceCell::new() }
    }

    /// The keys to copy for another object, once one has been answered.
    fn keys(&self) -> Option<&IndexMap<Name, Value>> {
        if !self.answered.replace(true) {
            return None;
        }
        self.keys
            .get_or_init(|| {
                let mut keys = IndexMap::with_capacity(self.fields.len());
                for field in &self.fields {
                    keys.insert(field.key.clone(), Value::Null);
                }
                (keys.len() == self.fields.len()).then_some(keys)
            })
            .as_ref()
    }
}

impl<'a> Slot<'a> {
    /// The field's name in the schema.
    pub fn name(&self) -> &'a str {
        self.field.name()
    }

    /// The field's own selection.
    pub fn shape(&self) -> &Shape<'a> {
        self.shape.get_or_init(|| Shape::of(self.field))
    }
}

/// The object of type `T` that `shape` asks for, when `value_of` answers
/// each field asked (given the field, whose own selection it may answer in
/// turn); in the selection's order.
pub fn object<'a, T: OutputType>(
    shape: &Shape<'a>,
    mut value_of: impl FnMut(&Slot<'a>) -> Option<Value>,
) -> Option<Value> {
    let mut value_of = |field: &Slot<'a>| match field.name() {
        "__typename" => Some(Value::String(T::type_name().into_owned())),
        _ => value_of(field),
    };
    if let Some(keys) = shape.keys() {
        let mut object = keys.clone();
        for (field, value) in shape.fields.iter().zip(object.values_mut()) {
            *value = value_of(field)?;
        }
        return Some(Value::Object(object));
    }
    let mut object = IndexMap::with_capacity(shape.fields.len());
    for field in &shape.fields {
        insert(&mut object, field.key.clone(), value_of(field)?);
    }
    Some(Value::Object(object))
}

/// Puts `value` at `key` as async-graphql does when a key is asked more
/// than once (validation has made sure it is the same field each time):
/// objects are merged key by key, lists of them item by item, and
/// otherwise the first value stands.
fn insert(object: &mut IndexMap<Name, Value>, key: Name, value: Value) {
    let mut previous = match object.entry(key) {
        Entry::Vacant(entry) => {
            entry.insert(value);
            return;
        }
        Entry::Occupied(entry) => entry,
    };
    match (previous.get_mut(), value) {
        (Value::Object(previous), Value::Object(value)) => merge(previous, value),
        (Value::List(previous), Value::List(values)) => {
            for (previous, value) in previous.iter_mut().zip(values) {
                if let (Value::Object(previous), Value::Object(value)) = (previous, value) {
                    merge(previous, value);
                }
            }
        }
        _ => {}
    }
}

fn merge(into: &mut IndexMap<Name, Value>, from: IndexMap<Name, Value>) {
    for (key, value) in from {
        insert(into, key, value);
    }
}

impl<T: OutputType> OutputType for Brief<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        match self {
            Self::Built(value) => value.lock().unwrap_or_else(PoisonError::into_inner).take().ok_or_else(|| {
                let error = AppError::internal(anyhow::anyhow!("{} resolved twice", T::type_name()));
                async_graphql::Error::from(error).into_server_error(field.pos)
            }),
            Self::Whole(object) => object.resolve(ctx, field).await,
        }
    }
}
