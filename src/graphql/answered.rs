//! Objects answered whole by the resolver of the field that returns them.
//!
//! async-graphql resolves each field of an object through a boxed future of
//! its own: a page of fifty orders asking nine `viewerCan` actions and the
//! `id` and `name` of a site, an owner, assignees and a vendor builds a
//! thousand of them, and for fields that are plain values of what is
//! already in hand that machinery is most of the cost. Here the value of
//! such an object is built at once from the fields asked, and handed to
//! async-graphql as the schema's type `T` (its name and fields come from
//! `T`'s own declaration, so the schema is unchanged):
//!
//! - [`answer`]: an object every field of which is computed by its parent
//!   (`ViewerCan`);
//! - [`brief`]: an object with some [`Plain`] fields; when only those are
//!   asked it is answered whole, otherwise async-graphql resolves it as
//!   ever.
//!
//! Both give a [`Brief<T>`].
//!
//! The selection is read through async-graphql's public
//! [`SelectionField`](async_graphql::SelectionField), which has already
//! dropped `@skip`/`@include` and flattens fragments. That is right where
//! the field's type is an object type (never an interface or a union):
//! validation lets through only fragments on that type or on an interface
//! or union it belongs to (`... on Node`), and each of those applies.

use std::borrow::Cow;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::{Context, ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value};

use crate::error::{AppError, AppResult};

/// An object of the schema's type `T`: its value built by its parent's
/// resolver, or the object itself for async-graphql to resolve.
pub enum Brief<T> {
    Built(Value),
    Whole(T),
}

/// The object of type `T` that `ctx`'s field asks for, each field's value
/// from `value_of` (given the field's name; `None`: not a field of `T`).
pub fn answer<T: OutputType>(ctx: &Context<'_>, value_of: impl Fn(&str) -> Option<Value>) -> AppResult<Brief<T>> {
    let value = object::<T>(ctx, value_of)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("a field asked of {} has no answer", T::type_name())))?;
    Ok(Brief::Built(value))
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
    match self::object::<T>(ctx, |name| object.plain(name)) {
        Some(value) => Brief::Built(value),
        None => Brief::Whole(object),
    }
}

/// The object `ctx`'s field asks for, when `value_of` answers each field
/// asked; in the selection's order, each response key once (validation
/// makes sure that the same key is the same field).
fn object<T: OutputType>(ctx: &Context<'_>, value_of: impl Fn(&str) -> Option<Value>) -> Option<Value> {
    let mut object = IndexMap::new();
    for field in ctx.field().selection_set() {
        let key = field.alias().unwrap_or(field.name());
        if object.contains_key(key) {
            continue;
        }
        let value = match field.name() {
            "__typename" => Value::String(T::type_name().into_owned()),
            name => value_of(name)?,
        };
        object.insert(Name::new(key), value);
    }
    Some(Value::Object(object))
}

impl<T: OutputType> OutputType for Brief<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
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
