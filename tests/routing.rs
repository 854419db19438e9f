//! Vendor resolution against a brute-force oracle, by property test: over
//! generated rule sets (kinds, required and optional tags, scopes, ties of
//! tags and priorities), assignments and vendors (some disabled, some out of
//! scope), `resolve` picks the vendor that the section 7 ranking written
//! out directly picks, and the approval steps are the matching rules'
//! (kind, tags, cost threshold, scope) by position, then the vendor's.

use std::collections::BTreeSet;

use proptest::prelude::*;
use workgate::orders::model::OrderKind;
use workgate::routing::resolve::{AssignmentFacts, OrderShape, RuleFacts, VendorFacts, resolve};

const TAGS: [&str; 4] = ["hvac", "north", "it", "fleet"];
const SCOPES: [Option<&str>; 3] = [None, Some("acc_a"), Some("acc_b")];
const KINDS: [OrderKind; 3] = [OrderKind::Part, OrderKind::Service, OrderKind::Capital];

fn tags() -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(TAGS.to_vec(), 0..=2).prop_map(|t| t.into_iter().map(String::from).collect())
}

fn scope() -> impl Strategy<Value = Option<String>> {
    proptest::sample::select(SCOPES.to_vec()).prop_map(|s| s.map(String::from))
}

fn rules() -> impl Strategy<Value = Vec<RuleFacts>> {
    proptest::collection::vec(
        (
            proptest::sample::subsequence(KINDS.to_vec(), 1..=3),
            tags(),
            tags(),
            scope(),
            proptest::option::of(0_i64..3),
            any::<bool>(),
            0_i32..3,
        ),
        1..6,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (kinds, required, optional, scope, min, requires_approval, position))| RuleFacts {
                id: format!("rul_{i}"),
                name: format!("rule {i}"),
                scope,
                kinds,
                required_tags: required,
                optional_tags: optional,
                min_estimated_cost_cents: min.map(|m| m * 1000),
                requires_approval,
                approval_position: position,
                approvers: vec![format!("usr_{i}")],
                auto_maintenance: false,
            })
            .collect()
    })
}

fn vendors() -> impl Strategy<Value = Vec<VendorFacts>> {
    proptest::collection::vec((scope(), proptest::bool::weighted(0.7), any::<bool>()), 1..5).prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (scope, enabled, requires_approval))| VendorFacts {
                id: format!("ven_{i}"),
                name: format!("vendor {i}"),
                scope,
                enabled,
                requires_approval,
                approvers: vec![format!("usr_v{i}")],
            })
            .collect()
    })
}

/// Assignments as (rule index, vendor index, kind, priority).
type RawAssignments = Vec<(usize, usize, OrderKind, i32)>;

fn world() -> impl Strategy<Value = (Vec<RuleFacts>, Vec<VendorFacts>, RawAssignments)> {
    (rules(), vendors()).prop_flat_map(|(rules, vendors)| {
        let (r, v) = (rules.len(), vendors.len());
        let assignments =
            proptest::collection::vec((0..r, 0..v, proptest::sample::select(KINDS.to_vec()), 0_i32..3), 0..10);
        (Just(rules), Just(vendors), assignments)
    })
}

/// Section 7 written out: among assignments for the order's kind whose rule
/// applies to the kind, has all its required tags among the order's, and is
/// visible in the order's scope, and whose vendor is enabled and visible,
/// the best by (most optional tags, lowest priority, rule id, vendor id).
fn oracle(
    kind: OrderKind,
    tags: &BTreeSet<String>,
    scope: Option<&str>,
    rules: &[RuleFacts],
    vendors: &[VendorFacts],
    assignments: &[AssignmentFacts],
) -> Option<String> {
    let visible = |object: Option<&str>| match (scope, object) {
        (None, _) | (_, None) => true,
        (Some(a), Some(b)) => a == b,
    };
    let mut best: Option<(usize, i32, String, String)> = None;
    for a in assignments {
        let rule = rules.iter().find(|r| r.id == a.rule_id).expect("rule");
        let vendor = vendors.iter().find(|v| v.id == a.vendor_id).expect("vendor");
        let eligible = a.kind == kind
            && rule.kinds.contains(&kind)
            && rule.required_tags.iter().all(|t| tags.contains(t))
            && visible(rule.scope.as_deref())
            && visible(vendor.scope.as_deref())
            && vendor.enabled;
        if !eligible {
            continue;
        }
        let matched = rule.optional_tags.iter().filter(|t| tags.contains(*t)).count();
        let key = (matched, a.priority, a.rule_id.clone(), a.vendor_id.clone());
        let better = match &best {
            None => true,
            Some(b) => key.0 > b.0 || (key.0 == b.0 && (key.1, &key.2, &key.3) < (b.1, &b.2, &b.3)),
        };
        if better {
            best = Some(key);
        }
    }
    best.map(|b| b.3)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn resolution_matches_the_oracle(
        (rules, vendors, raw) in world(),
        kind in proptest::sample::select(KINDS.to_vec()),
        order_tags in tags(),
        order_scope in scope(),
        cost in proptest::option::of(0_i64..4000),
    ) {
        let assignments: Vec<AssignmentFacts> = raw
            .iter()
            .map(|(r, v, kind, priority)| AssignmentFacts {
                rule_id: rules[*r].id.clone(),
                vendor_id: vendors[*v].id.clone(),
                kind: *kind,
                priority: *priority,
            })
            .collect();
        let tags: BTreeSet<String> = order_tags.into_iter().collect();
        let order = OrderShape { kind, tags: &tags, scope: order_scope.as_deref(), estimated_cost_cents: cost };
        let resolution = resolve(&order, &rules, &assignments, &vendors, None);
        let expected = oracle(kind, &tags, order_scope.as_deref(), &rules, &vendors, &assignments);
        prop_assert_eq!(&resolution.vendor_id, &expected);
        // Exactly the winner is not skipped.
        let winners: Vec<_> = resolution.candidates.iter().filter(|c| c.skipped.is_none()).collect();
        prop_assert_eq!(winners.len(), usize::from(expected.is_some()));

        // Approval steps: matching rules that require approval, by position
        // (then id), then the chosen vendor's step.
        let visible = |object: Option<&str>| order_scope.is_none() || object.is_none() || object == order_scope.as_deref();
        let mut rule_steps: Vec<&RuleFacts> = rules
            .iter()
            .filter(|r| r.requires_approval
                && r.kinds.contains(&kind)
                && r.required_tags.iter().all(|t| tags.contains(t))
                && r.min_estimated_cost_cents.is_none_or(|min| cost.unwrap_or(0) >= min)
                && visible(r.scope.as_deref()))
            .collect();
        rule_steps.sort_by_key(|r| (r.approval_position, r.id.clone()));
        let mut sources: Vec<String> = rule_steps.iter().map(|r| format!("rule:{}", r.name)).collect();
        if let Some(v) = expected.as_ref().and_then(|id| vendors.iter().find(|v| &v.id == id && v.requires_approval)) {
            sources.push(format!("vendor:{}", v.name));
        }
        let got: Vec<String> = resolution.steps.iter().map(|s| s.source.clone()).collect();
        prop_assert_eq!(got, sources);
    }
}
