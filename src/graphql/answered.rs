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
//!   asked (`Order.viewerCan`, and a dashboard's page of orders, see
//!   `orders::graphql::Order::built`);
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

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::{Context, ContextSelectionSet, Name, OutputType, Positioned, SelectionField, ServerResult, Value};

/// An object of the schema's type `T`: its value built by its parent's
/// resolver, or the object itself for async-graphql to resolve.
pub enum Brief<T> {
    Built(Value),
    Whole(T),
}

/// An object's fields that are plain values of what it holds: no guard, no
/// load, no argument. A field with a guard must not be one, or the guard
/// would be skipped when only plain fields are asked.
pub trait Plain: OutputType {
    /// The value of the field `name` (`None`: not a plain field).
    fn plain(&self, name: &str) -> Option<Value>;
}

/// `object` as `ctx`'s field asks for it: built whole when only [`Plain`]
/// fields are asked (the common `{ id name }`), resolved by async-graphql
/// otherwise.
pub fn brief<T: Plain>(ctx: &Context<'_>, object: T) -> Brief<T> {
    match plain(ctx.field(), &object) {
        Some(value) => Brief::Built(value),
        None => Brief::Whole(object),
    }
}

/// `object` as `selection` asks for it, when only [`Plain`] fields are
/// asked.
pub fn plain<T: Plain>(selection: SelectionField<'_>, object: &T) -> Option<Value> {
    self::object::<T>(selection, |field| object.plain(field.name()))
}

/// The object of type `T` that `selection` asks for, when `value_of`
/// answers each field asked (given the field, whose own selection it may
/// answer in turn); in the selection's order.
pub fn object<'a, T: OutputType>(
    selection: SelectionField<'a>,
    mut value_of: impl FnMut(SelectionField<'a>) -> Option<Value>,
) -> Option<Value> {
    let mut object = IndexMap::new();
    for field in selection.selection_set() {
        let value = match field.name() {
            "__typename" => Value::String(T::type_name().into_owned()),
            _ => value_of(field)?,
        };
        insert(&mut object, Name::new(field.alias().unwrap_or(field.name())), value);
    }
    Some(Value::Object(object))
}

/// Puts `value` at `key` as async-graphql does when a key is asked more
/// than once (validation has made sure it is the same field each time):
/// objects are merged key by key, lists of them item by item, and
/// otherwise the first value stands.
fn insert(object: &mut IndexMap<Name, Value>, key: Name, value: Value) {
    let Some(previous) = object.get_mut(&key) else {
        object.insert(key, value);
        return;
    };
    match (previous, value) {
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
            Self::Built(value) => Ok(value.clone()),
            Self::Whole(object) => object.resolve(ctx, field).await,
        }
    }
}
