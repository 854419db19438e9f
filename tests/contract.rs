//! The exported schema against the API contract.
//!
//! `schema.graphql` must be a compatible superset of the contract, except for
//! the elements listed in `contract-not-yet.txt` (each with the issue that
//! brings it). The list is kept honest both ways: an unlisted incompatibility
//! fails, and so does a listed element that has become compatible.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use workgate::contract_check::check;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The contract lives in `../shared/spec/`; `spec/contract.graphql` is the
/// copy a clone outside that layout uses (and must match it when both exist).
fn contract() -> String {
    let vendored = read(&root().join("spec/contract.graphql"));
    let shared: Option<PathBuf> = std::env::var_os("WORKGATE_CONTRACT")
        .map(PathBuf::from)
        .or_else(|| Some(root().join("../shared/spec/contract.graphql")))
        .filter(|p| p.exists());
    match shared {
        Some(path) => {
            let shared = read(&path);
            assert_eq!(
                shared,
                vendored,
                "spec/contract.graphql differs from {}; copy the contract in and re-run",
                path.display()
            );
            shared
        }
        None => vendored,
    }
}

fn not_yet() -> BTreeSet<String> {
    read(&root().join("contract-not-yet.txt"))
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn schema_is_a_compatible_superset_of_the_contract() {
    let schema = read(&root().join("schema.graphql"));
    let found = check(&contract(), &schema).expect("both documents parse");
    let listed = not_yet();

    let unlisted: Vec<String> =
        found.iter().filter(|i| !listed.contains(&i.element)).map(ToString::to_string).collect();
    let stale: Vec<&String> = listed.iter().filter(|e| !found.iter().any(|i| &i.element == *e)).collect();

    println!("contract check: {} elements not yet provided (contract-not-yet.txt)", listed.len());
    assert!(unlisted.is_empty(), "schema.graphql breaks the contract:\n  {}", unlisted.join("\n  "));
    assert!(
        stale.is_empty(),
        "contract-not-yet.txt lists elements that are now compatible; remove them:\n  {}",
        stale.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n  ")
    );
}
