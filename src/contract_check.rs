//! Checks that the exported schema is a compatible superset of the API
//! contract: everything a client written against the contract may send or
//! expect still works.
//!
//! The rules are the usual ones for GraphQL evolution:
//! - every contract type exists here with the same kind;
//! - every contract field exists; an output type may only get stricter
//!   (`String` may become `String!`, never the reverse);
//! - every contract argument and input field exists; an input type may only
//!   get looser (`ID!` may become `ID`), and anything new a client could not
//!   know about must be optional;
//! - enums keep their values, unions their members, objects their interfaces.
//!
//! Only the highest missing level is reported: a missing type is one
//! incompatibility, not one per field.

use std::collections::BTreeMap;
use std::fmt;

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{
    BaseType, FieldDefinition, InputValueDefinition, Type, TypeDefinition, TypeKind, TypeSystemDefinition,
};

/// One way in which the schema breaks the contract, at one schema coordinate
/// (`Type`, `Type.field`, `Type.field(argument)`, `Enum.VALUE`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Incompatibility {
    pub element: String,
    pub problem: String,
}

impl fmt::Display for Incompatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.element, self.problem)
    }
}

/// Compares two SDL documents. Errors only when either does not parse.
pub fn check(contract: &str, schema: &str) -> Result<Vec<Incompatibility>, String> {
    let contract = types_of(contract).map_err(|e| format!("contract: {e}"))?;
    let schema = types_of(schema).map_err(|e| format!("schema: {e}"))?;
    let mut found = Vec::new();
    for (name, expected) in &contract {
        match schema.get(name) {
            None => found.push(problem(name, "missing type")),
            Some(actual) => compare_type(name, expected, actual, &mut found),
        }
    }
    found.sort();
    Ok(found)
}

fn types_of(sdl: &str) -> Result<BTreeMap<String, TypeKind>, String> {
    let document = parse_schema(sdl).map_err(|e| e.to_string())?;
    let mut types = BTreeMap::new();
    for definition in document.definitions {
        if let TypeSystemDefinition::Type(definition) = definition {
            let TypeDefinition { name, kind, .. } = definition.node;
            types.insert(name.node.to_string(), kind);
        }
    }
    Ok(types)
}

fn problem(element: impl Into<String>, problem: impl Into<String>) -> Incompatibility {
    Incompatibility { element: element.into(), problem: problem.into() }
}

fn kind_name(kind: &TypeKind) -> &'static str {
    match kind {
        TypeKind::Scalar => "a scalar",
        TypeKind::Object(_) => "an object",
        TypeKind::Interface(_) => "an interface",
        TypeKind::Union(_) => "a union",
        TypeKind::Enum(_) => "an enum",
        TypeKind::InputObject(_) => "an input object",
    }
}

fn compare_type(name: &str, expected: &TypeKind, actual: &TypeKind, found: &mut Vec<Incompatibility>) {
    match (expected, actual) {
        (TypeKind::Scalar, TypeKind::Scalar) => {}
        (TypeKind::Object(e), TypeKind::Object(a)) => {
            missing_names(name, "interface", names(&e.implements), &names(&a.implements), found);
            compare_fields(name, &e.fields, &a.fields, found);
        }
        (TypeKind::Interface(e), TypeKind::Interface(a)) => {
            missing_names(name, "interface", names(&e.implements), &names(&a.implements), found);
            compare_fields(name, &e.fields, &a.fields, found);
        }
        (TypeKind::Union(e), TypeKind::Union(a)) => {
            missing_names(name, "member", names(&e.members), &names(&a.members), found);
        }
        (TypeKind::Enum(e), TypeKind::Enum(a)) => {
            let actual: Vec<&str> = a.values.iter().map(|v| v.node.value.node.as_str()).collect();
            for value in &e.values {
                let value = value.node.value.node.as_str();
                if !actual.contains(&value) {
                    found.push(problem(format!("{name}.{value}"), "missing enum value"));
                }
            }
        }
        (TypeKind::InputObject(e), TypeKind::InputObject(a)) => {
            compare_inputs(name, &e.fields, &a.fields, "input field", found);
        }
        _ => found
            .push(problem(name, format!("is {} in the contract but {} here", kind_name(expected), kind_name(actual)))),
    }
}

fn names(list: &[async_graphql::Positioned<async_graphql::Name>]) -> Vec<&str> {
    list.iter().map(|n| n.node.as_str()).collect()
}

fn missing_names(owner: &str, what: &str, expected: Vec<&str>, actual: &[&str], found: &mut Vec<Incompatibility>) {
    for name in expected {
        if !actual.contains(&name) {
            found.push(problem(owner, format!("missing {what} {name}")));
        }
    }
}

fn compare_fields(
    owner: &str,
    expected: &[async_graphql::Positioned<FieldDefinition>],
    actual: &[async_graphql::Positioned<FieldDefinition>],
    found: &mut Vec<Incompatibility>,
) {
    for field in expected {
        let field = &field.node;
        let coordinate = format!("{owner}.{}", field.name.node);
        let Some(present) = actual.iter().find(|a| a.node.name.node == field.name.node) else {
            found.push(problem(coordinate, "missing field"));
            continue;
        };
        let present = &present.node;
        if !output_compatible(&field.ty.node, &present.ty.node) {
            found.push(problem(
                &coordinate,
                format!("type is {} in the contract but {} here", field.ty.node, present.ty.node),
            ));
        }
        compare_inputs(&coordinate, &field.arguments, &present.arguments, "argument", found);
    }
}

fn compare_inputs(
    owner: &str,
    expected: &[async_graphql::Positioned<InputValueDefinition>],
    actual: &[async_graphql::Positioned<InputValueDefinition>],
    what: &str,
    found: &mut Vec<Incompatibility>,
) {
    let coordinate = |name: &str| {
        if what == "argument" { format!("{owner}({name})") } else { format!("{owner}.{name}") }
    };
    for input in expected {
        let input = &input.node;
        match actual.iter().find(|a| a.node.name.node == input.name.node) {
            None => found.push(problem(coordinate(&input.name.node), format!("missing {what}"))),
            Some(present) if !input_compatible(&input.ty.node, &present.node.ty.node) => found.push(problem(
                coordinate(&input.name.node),
                format!("type is {} in the contract but {} here", input.ty.node, present.node.ty.node),
            )),
            Some(_) => {}
        }
    }
    for extra in actual {
        let extra = &extra.node;
        let known = expected.iter().any(|e| e.node.name.node == extra.name.node);
        if !known && !extra.ty.node.nullable && extra.default_value.is_none() {
            found.push(problem(coordinate(&extra.name.node), format!("new required {what}")));
        }
    }
}

/// A client expecting `expected` can read a value of type `actual`.
fn output_compatible(expected: &Type, actual: &Type) -> bool {
    (expected.nullable || !actual.nullable) && same_base(&expected.base, &actual.base, output_compatible)
}

/// A client sending a value of type `expected` is accepted by `actual`.
fn input_compatible(expected: &Type, actual: &Type) -> bool {
    (actual.nullable || !expected.nullable) && same_base(&expected.base, &actual.base, input_compatible)
}

fn same_base(expected: &BaseType, actual: &BaseType, inner: fn(&Type, &Type) -> bool) -> bool {
    match (expected, actual) {
        (BaseType::Named(e), BaseType::Named(a)) => e == a,
        (BaseType::List(e), BaseType::List(a)) => inner(e, a),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(contract: &str, schema: &str) -> Vec<String> {
        check(contract, schema).expect("parses").into_iter().map(|i| i.to_string()).collect::<Vec<_>>()
    }

    #[test]
    fn identical_documents_are_compatible() {
        let sdl = "type Query { a(x: ID!): String } enum E { A B } input I { f: Int! }";
        assert!(elements(sdl, sdl).is_empty());
    }

    #[test]
    fn a_missing_type_is_reported_once() {
        let found = elements("type Query { a: String } type Gone { x: Int y: Int }", "type Query { a: String }");
        assert_eq!(found, ["Gone: missing type"]);
    }

    #[test]
    fn output_types_may_tighten_but_not_loosen() {
        assert!(elements("type Query { a: String }", "type Query { a: String! }").is_empty());
        assert_eq!(
            elements("type Query { a: String! }", "type Query { a: String }"),
            ["Query.a: type is String! in the contract but String here"]
        );
        assert_eq!(
            elements("type Query { a: [Int!]! }", "type Query { a: [Int]! }"),
            ["Query.a: type is [Int!]! in the contract but [Int]! here"]
        );
    }

    #[test]
    fn arguments_may_loosen_and_new_ones_must_be_optional() {
        assert!(elements("type Query { a(x: ID!): Int }", "type Query { a(x: ID, y: Int): Int }").is_empty());
        assert_eq!(
            elements("type Query { a(x: ID): Int }", "type Query { a(x: ID!, y: Int!): Int }"),
            ["Query.a(x): type is ID in the contract but ID! here", "Query.a(y): new required argument"]
        );
        assert!(elements("type Query { a: Int }", "type Query { a(y: Int! = 3): Int }").is_empty());
    }

    #[test]
    fn enums_inputs_unions_and_kinds() {
        assert_eq!(elements("enum E { A B }", "enum E { A C }"), ["E.B: missing enum value"]);
        assert_eq!(elements("input I { f: Int }", "input I { g: Int }"), ["I.f: missing input field"]);
        assert_eq!(
            elements(
                "union U = A | B type A { a: Int } type B { b: Int }",
                "union U = A type A { a: Int } type B { b: Int }"
            ),
            ["U: missing member B"]
        );
        assert_eq!(elements("scalar S", "enum S { A }"), ["S: is a scalar in the contract but an enum here"]);
        assert_eq!(
            elements(
                "interface N { id: ID! } type T implements N { id: ID! }",
                "interface N { id: ID! } type T { id: ID! }"
            ),
            ["T: missing interface N"]
        );
    }
}
