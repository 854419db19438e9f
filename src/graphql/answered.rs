//! An object answered whole by the resolver of the field that returns it.
//!
//! async-graphql resolves each field of an object through a boxed future of
//! its own, and a page of fifty orders asking nine `viewerCan` actions is 450
//! of them; for an object whose fields are plain values computed from what
//! the parent already holds, that machinery is most of the cost. The parent
//! builds the object's value from the fields asked instead, and
//! [`Answered`] hands it to async-graphql as the schema's type `T` (its name
//! and fields come from `T`'s declaration, so the schema is unchanged).
//!
//! Only for objects whose fields take no arguments and are scalars: the
//! selection is read through async-graphql's public
//! [`SelectionField`](async_graphql::SelectionField), which has already
//! dropped `@skip`/`@include` and flattens fragments (on a type with no
//! interface or union, every fragment that validation lets through applies).

use std::borrow::Cow;
use std::marker::PhantomData;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::{Context, ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value};

use crate::error::{AppError, AppResult};

/// The value of an object of the schema's type `T`, computed by its parent.
pub struct Answered<T> {
    value: Value,
    declared: PhantomData<fn() -> T>,
}

/// The object of type `T` that `ctx`'s field asks for, each field's value
/// from `value_of` (given the field's name; `None`: not a field of `T`).
pub fn answer<T: OutputType>(ctx: &Context<'_>, value_of: impl Fn(&str) -> Option<Value>) -> AppResult<Answered<T>> {
    let mut object = IndexMap::new();
    for field in ctx.field().selection_set() {
        let key = field.alias().unwrap_or(field.name());
        // The same key twice is the same field (validation makes sure).
        if object.contains_key(key) {
            continue;
        }
        let value = match field.name() {
            "__typename" => Value::String(T::type_name().into_owned()),
            name => value_of(name)
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("{} has no field {name}", T::type_name())))?,
        };
        object.insert(Name::new(key), value);
    }
    Ok(Answered { value: Value::Object(object), declared: PhantomData })
}

impl<T: OutputType> OutputType for Answered<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(&self, _: &ContextSelectionSet<'_>, _: &Positioned<Field>) -> ServerResult<Value> {
        Ok(self.value.clone())
    }
}
