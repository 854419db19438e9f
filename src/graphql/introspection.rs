//! Introspection as the caller's role sees the schema
//! ([`crate::policy::schema`]): fields the principal can never use are
//! left out of `__schema` and `__type` answers, and so are the types only
//! those fields lead to (a partner token sees a small schema). Queries are
//! not affected: a field left out still answers as its guard says.
//!
//! The answer is trimmed after execution, under the keys the client's
//! introspection fields were given, by the un-aliased names of the
//! introspection types' own fields (`types`, `fields`, `possibleTypes`,
//! `interfaces`), which is how introspection clients ask.

use std::collections::{BTreeMap, BTreeSet};

use async_graphql::parser::types::{BaseType, ExecutableDocument, Selection, Type, TypeKind, TypeSystemDefinition};
use async_graphql::{Name, Response, Value, Variables};

use crate::auth::Principal;
use crate::policy::schema::SchemaView;

/// Each type's fields and the named types each leads to (its type and its
/// arguments'), read from the SDL once.
#[derive(Default)]
pub struct TypeGraph {
    fields: BTreeMap<String, Vec<(String, Vec<String>)>>,
    /// Types another type's values carry (input fields, union members).
    carried: BTreeMap<String, Vec<String>>,
}

impl TypeGraph {
    pub fn from_sdl(sdl: &str) -> Self {
        let mut graph = Self::default();
        let Ok(document) = async_graphql::parser::parse_schema(sdl) else { return graph };
        for definition in document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else { continue };
            let name = ty.node.name.node.to_string();
            let fields = match &ty.node.kind {
                TypeKind::Object(object) => &object.fields,
                TypeKind::Interface(interface) => &interface.fields,
                TypeKind::InputObject(input) => {
                    let carried = input.fields.iter().map(|f| named(&f.node.ty.node)).collect();
                    graph.carried.insert(name, carried);
                    continue;
                }
                TypeKind::Union(union) => {
                    graph.carried.insert(name, union.members.iter().map(|m| m.node.to_string()).collect());
                    continue;
                }
                _ => continue,
            };
            let fields = fields
                .iter()
                .map(|f| {
                    let mut leads = vec![named(&f.node.ty.node)];
                    leads.extend(f.node.arguments.iter().map(|a| named(&a.node.ty.node)));
                    (f.node.name.node.to_string(), leads)
                })
                .collect();
            graph.fields.insert(name, fields);
        }
        graph
    }

    /// The types of the schema `view` shows: reached from the roots by
    /// shown fields.
    fn shown_types(&self, view: &SchemaView<'_>) -> BTreeSet<String> {
        let mut shown = BTreeSet::new();
        let mut todo: Vec<String> = ["Query", "Mutation", "Subscription"].map(String::from).to_vec();
        while let Some(ty) = todo.pop() {
            if !shown.insert(ty.clone()) {
                continue;
            }
            for (field, leads) in self.fields.get(&ty).into_iter().flatten() {
                if view.shows(&ty, field) {
                    todo.extend(leads.iter().cloned());
                }
            }
            todo.extend(self.carried.get(&ty).into_iter().flatten().cloned());
        }
        shown
    }

    fn knows(&self, ty: &str) -> bool {
        self.fields.contains_key(ty) || self.carried.contains_key(ty)
    }
}

fn named(ty: &Type) -> String {
    match &ty.base {
        BaseType::Named(name) => name.to_string(),
        BaseType::List(inner) => named(inner),
    }
}

/// The response keys of a document's introspection fields, each with the
/// type a `__type` field names: what [`TypeGraph::trim`] trims afterwards.
pub type Answers = Vec<(Name, Option<String>)>;

pub fn answers(document: &ExecutableDocument, variables: &Variables) -> Answers {
    let mut keys = Vec::new();
    for (_, operation) in document.operations.iter() {
        for item in &operation.node.selection_set.node.items {
            if let Selection::Field(field) = &item.node
                && matches!(field.node.name.node.as_str(), "__schema" | "__type")
            {
                let named = field.node.get_argument("name").and_then(|name| {
                    match name.node.clone().into_const_with(|v| variables.get(&v).cloned().ok_or(())) {
                        Ok(Value::String(name)) => Some(name),
                        _ => None,
                    }
                });
                keys.push((field.node.response_key().node.clone(), named));
            }
        }
    }
    keys
}

impl TypeGraph {
    /// Trims the introspection `answers` in `response` to what `principal`
    /// is shown.
    pub fn trim(&self, principal: Option<&Principal>, answers: Answers, response: &mut Response) {
        if answers.is_empty() {
            return;
        }
        let view = crate::policy::schema::view(principal);
        let shown = self.shown_types(&view);
        if let Value::Object(data) = &mut response.data {
            for (key, named) in answers {
                if let Some(answer) = data.get_mut(&key) {
                    self.trim_answer(answer, named, &view, &shown);
                }
            }
        }
    }

    fn hidden(&self, type_name: &str, shown: &BTreeSet<String>) -> bool {
        self.knows(type_name) && !shown.contains(type_name)
    }

    /// Trims an introspection answer; `named` is the type it describes
    /// when the answer may not say (`__type(name:)` without `name`).
    fn trim_answer(&self, value: &mut Value, named: Option<String>, view: &SchemaView<'_>, shown: &BTreeSet<String>) {
        match value {
            Value::List(items) => items.iter_mut().for_each(|item| self.trim_answer(item, None, view, shown)),
            Value::Object(object) => {
                let type_name = match object.get("name") {
                    Some(Value::String(name)) => Some(name.clone()),
                    _ => named,
                };
                // `__type(name:)` of a type not shown.
                if type_name.as_ref().is_some_and(|name| self.hidden(name, shown)) {
                    *value = Value::Null;
                    return;
                }
                let hidden = |v: &Value| match v {
                    Value::Object(o) => matches!(o.get("name"), Some(Value::String(name)) if self.hidden(name, shown)),
                    _ => false,
                };
                for (key, inner) in object.iter_mut() {
                    match (key.as_str(), inner) {
                        ("types" | "possibleTypes" | "interfaces", Value::List(items)) => items.retain(|t| !hidden(t)),
                        // Fields of a type the answer does not name are not
                        // shown at all.
                        ("fields", Value::List(fields)) => fields.retain(|f| match (f, &type_name) {
                            (Value::Object(f), Some(ty)) => match f.get("name") {
                                Some(Value::String(field)) => view.shows(ty, field),
                                _ => false,
                            },
                            _ => false,
                        }),
                        _ => {}
                    }
                }
                for inner in object.values_mut() {
                    self.trim_answer(inner, None, view, shown);
                }
            }
            _ => {}
        }
    }
}
