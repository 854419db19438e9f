//! Vendor resolution and approval steps for one order (DOMAIN.md section
//! 7), as a pure function of the order's shape and the organization's
//! rules, assignments and vendors. `createOrder` records its answer;
//! `previewVendorResolution` shows it, with why each candidate lost.

use std::collections::BTreeSet;

use crate::orders::model::OrderKind;
use crate::policy::scope::sees_scope;

/// What resolution needs to know of the order.
#[derive(Debug, Clone)]
pub struct OrderShape<'a> {
    pub kind: OrderKind,
    /// The order's tags with its asset's and its site's.
    pub tags: &'a BTreeSet<String>,
    /// The order's scope tag (a child account), or none.
    pub scope: Option<&'a str>,
    pub estimated_cost_cents: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct RuleFacts {
    pub id: String,
    pub name: String,
    pub scope: Option<String>,
    pub kinds: Vec<OrderKind>,
    pub required_tags: Vec<String>,
    pub optional_tags: Vec<String>,
    pub min_estimated_cost_cents: Option<i64>,
    pub requires_approval: bool,
    pub approval_position: i32,
    pub approvers: Vec<String>,
    /// SERVICE orders it matches put their asset in maintenance.
    pub auto_maintenance: bool,
}

#[derive(Debug, Clone)]
pub struct AssignmentFacts {
    pub rule_id: String,
    pub vendor_id: String,
    pub kind: OrderKind,
    pub priority: i32,
}

#[derive(Debug, Clone)]
pub struct VendorFacts {
    pub id: String,
    pub name: String,
    pub scope: Option<String>,
    pub enabled: bool,
    pub requires_approval: bool,
    pub approvers: Vec<String>,
}

/// Why a candidate was not chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    MissingRequiredTag(String),
    RuleOutOfScope,
    VendorOutOfScope,
    VendorDisabled,
    VendorUnknown,
    /// A better-ranked candidate's vendor was chosen.
    Outranked,
}

impl Skip {
    pub fn describe(&self) -> String {
        match self {
            Self::MissingRequiredTag(tag) => format!("the order lacks the required tag `{tag}`"),
            Self::RuleOutOfScope => "the rule is outside the order's scope".into(),
            Self::VendorOutOfScope => "the vendor is outside the order's scope".into(),
            Self::VendorDisabled => "the vendor is disabled".into(),
            Self::VendorUnknown => "the vendor was deleted".into(),
            Self::Outranked => "a better-ranked vendor was chosen".into(),
        }
    }
}

/// One (rule, vendor) pair assigned for the order's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub rule_id: String,
    pub vendor_id: String,
    pub optional_tags_matched: usize,
    pub priority: i32,
    pub skipped: Option<Skip>,
}

/// The `source` prefix of a rule's approval step.
pub const RULE_STEP: &str = "rule:";

/// An approval step the order will wait on, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepPlan {
    /// `rule:<name>` or `vendor:<name>`.
    pub source: String,
    pub approvers: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    pub vendor_id: Option<String>,
    /// Every candidate, best first.
    pub candidates: Vec<Candidate>,
    pub steps: Vec<StepPlan>,
    /// A SERVICE order matched by an `autoMaintenance` rule: its asset is in
    /// maintenance until the order is done.
    pub auto_maintenance: bool,
}

/// Visible in the order's scope (section 1's table, the order's scope in
/// the principal's place).
fn in_scope(order_scope: Option<&str>, object_scope: Option<&str>) -> bool {
    sees_scope(order_scope, object_scope)
}

fn missing_tag(rule: &RuleFacts, tags: &BTreeSet<String>) -> Option<String> {
    rule.required_tags.iter().find(|t| !tags.contains(*t)).cloned()
}

/// The vendor and the approval steps for `order`; `chosen` overrides the
/// resolved vendor (an allowed `vendorId` at creation).
pub fn resolve(
    order: &OrderShape<'_>,
    rules: &[RuleFacts],
    assignments: &[AssignmentFacts],
    vendors: &[VendorFacts],
    chosen: Option<&str>,
) -> Resolution {
    let mut candidates: Vec<Candidate> = Vec::new();
    for assignment in assignments.iter().filter(|a| a.kind == order.kind) {
        let Some(rule) = rules.iter().find(|r| r.id == assignment.rule_id) else { continue };
        if !rule.kinds.contains(&order.kind) {
            continue;
        }
        let vendor = vendors.iter().find(|v| v.id == assignment.vendor_id);
        let skipped = if let Some(tag) = missing_tag(rule, order.tags) {
            Some(Skip::MissingRequiredTag(tag))
        } else if !in_scope(order.scope, rule.scope.as_deref()) {
            Some(Skip::RuleOutOfScope)
        } else {
            match vendor {
                None => Some(Skip::VendorUnknown),
                Some(v) if !in_scope(order.scope, v.scope.as_deref()) => Some(Skip::VendorOutOfScope),
                Some(v) if !v.enabled => Some(Skip::VendorDisabled),
                Some(_) => None,
            }
        };
        let optional_tags_matched = rule.optional_tags.iter().filter(|t| order.tags.contains(*t)).count();
        candidates.push(Candidate {
            rule_id: rule.id.clone(),
            vendor_id: assignment.vendor_id.clone(),
            optional_tags_matched,
            priority: assignment.priority,
            skipped,
        });
    }
    // Rank: optional tags matched (desc), priority (asc), rule id, vendor
    // id; skipped candidates keep their rank, so a preview shows who would
    // have won.
    candidates.sort_by(|a, b| {
        (std::cmp::Reverse(a.optional_tags_matched), a.priority, &a.rule_id, &a.vendor_id).cmp(&(
            std::cmp::Reverse(b.optional_tags_matched),
            b.priority,
            &b.rule_id,
            &b.vendor_id,
        ))
    });
    let resolved = candidates.iter().find(|c| c.skipped.is_none()).map(|c| c.vendor_id.clone());
    let mut winner_seen = false;
    for candidate in candidates.iter_mut().filter(|c| c.skipped.is_none()) {
        if winner_seen {
            candidate.skipped = Some(Skip::Outranked);
        }
        winner_seen = true;
    }
    let vendor_id = chosen.map(str::to_owned).or(resolved);
    let steps = approval_steps(order, rules, vendors, vendor_id.as_deref());
    let auto_maintenance = order.kind == OrderKind::Service
        && rules.iter().any(|r| {
            r.auto_maintenance
                && r.kinds.contains(&order.kind)
                && missing_tag(r, order.tags).is_none()
                && in_scope(order.scope, r.scope.as_deref())
        });
    Resolution { vendor_id, candidates, steps, auto_maintenance }
}

/// One step per matching rule that requires approval (kind, required tags,
/// cost threshold, scope), by approval position; then the vendor's step.
fn approval_steps(
    order: &OrderShape<'_>,
    rules: &[RuleFacts],
    vendors: &[VendorFacts],
    vendor_id: Option<&str>,
) -> Vec<StepPlan> {
    let cost = order.estimated_cost_cents.unwrap_or(0);
    let mut matching: Vec<&RuleFacts> = rules
        .iter()
        .filter(|r| {
            r.requires_approval
                && r.kinds.contains(&order.kind)
                && missing_tag(r, order.tags).is_none()
                && r.min_estimated_cost_cents.is_none_or(|min| cost >= min)
                && in_scope(order.scope, r.scope.as_deref())
        })
        .collect();
    matching.sort_by(|a, b| (a.approval_position, &a.id).cmp(&(b.approval_position, &b.id)));
    let mut steps: Vec<StepPlan> = matching
        .into_iter()
        .map(|r| StepPlan { source: format!("{RULE_STEP}{}", r.name), approvers: r.approvers.clone() })
        .collect();
    if let Some(vendor) = vendor_id.and_then(|id| vendors.iter().find(|v| v.id == id && v.requires_approval)) {
        steps.push(StepPlan { source: format!("vendor:{}", vendor.name), approvers: vendor.approvers.clone() });
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, required: &[&str], optional: &[&str]) -> RuleFacts {
        RuleFacts {
            id: id.into(),
            name: id.into(),
            scope: None,
            kinds: vec![OrderKind::Part],
            required_tags: required.iter().map(|s| (*s).into()).collect(),
            optional_tags: optional.iter().map(|s| (*s).into()).collect(),
            min_estimated_cost_cents: None,
            requires_approval: false,
            approval_position: 0,
            approvers: vec![],
            auto_maintenance: false,
        }
    }

    fn vendor(id: &str, enabled: bool) -> VendorFacts {
        VendorFacts {
            id: id.into(),
            name: id.into(),
            scope: None,
            enabled,
            requires_approval: false,
            approvers: vec![],
        }
    }

    fn assign(rule: &str, vendor: &str, priority: i32) -> AssignmentFacts {
        AssignmentFacts { rule_id: rule.into(), vendor_id: vendor.into(), kind: OrderKind::Part, priority }
    }

    #[test]
    fn optional_tags_then_priority_then_id() {
        let tags: BTreeSet<String> = ["hvac", "north"].map(String::from).into();
        let order = OrderShape { kind: OrderKind::Part, tags: &tags, scope: None, estimated_cost_cents: None };
        let rules = [rule("r1", &["hvac"], &[]), rule("r2", &["hvac"], &["north"]), rule("r3", &["it"], &[])];
        let vendors = [vendor("v1", true), vendor("v2", false), vendor("v3", true)];
        let assignments = [assign("r1", "v1", 0), assign("r2", "v2", 0), assign("r2", "v3", 5), assign("r3", "v1", 0)];
        let r = resolve(&order, &rules, &assignments, &vendors, None);
        // r2 matches an optional tag: its vendors rank first; v2 is disabled.
        assert_eq!(r.vendor_id.as_deref(), Some("v3"));
        let skips: Vec<_> = r.candidates.iter().map(|c| (c.vendor_id.as_str(), c.skipped.clone())).collect();
        assert_eq!(
            skips,
            [
                ("v2", Some(Skip::VendorDisabled)),
                ("v3", None),
                ("v1", Some(Skip::Outranked)),
                ("v1", Some(Skip::MissingRequiredTag("it".into()))),
            ]
        );
    }

    #[test]
    fn approval_steps_follow_positions_then_the_vendor() {
        let tags = BTreeSet::new();
        let order = OrderShape { kind: OrderKind::Part, tags: &tags, scope: None, estimated_cost_cents: Some(600_000) };
        let mut finance = rule("finance", &[], &[]);
        finance.requires_approval = true;
        finance.approval_position = 2;
        finance.approvers = vec!["usr_cfo".into()];
        let mut manager = rule("manager", &[], &[]);
        manager.requires_approval = true;
        manager.approval_position = 1;
        manager.min_estimated_cost_cents = Some(500_000);
        manager.approvers = vec!["usr_mgr".into()];
        let mut expensive = rule("expensive", &[], &[]);
        expensive.requires_approval = true;
        expensive.min_estimated_cost_cents = Some(1_000_000);
        let mut v = vendor("v", true);
        v.requires_approval = true;
        v.approvers = vec!["usr_admin".into()];
        let r = resolve(&order, &[finance, manager, expensive], &[assign("manager", "v", 0)], &[v], None);
        let sources: Vec<&str> = r.steps.iter().map(|s| s.source.as_str()).collect();
        assert_eq!(sources, ["rule:manager", "rule:finance", "vendor:v"]);
    }
}
