//! Reads an organization's rules, assignments and vendors for resolution:
//! five statements, whatever their number.

use std::collections::HashMap;

use entity::{rule_approvers, rule_assignments, rules, vendor_approvers, vendors};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::resolve::{AssignmentFacts, RuleFacts, VendorFacts};
use crate::error::AppResult;
use crate::orders::model::OrderKind;

/// The organization's routing configuration.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    pub rules: Vec<RuleFacts>,
    pub assignments: Vec<AssignmentFacts>,
    pub vendors: Vec<VendorFacts>,
}

/// A JSON array of strings from a text column (tags, kinds, e-mails);
/// anything else reads as empty.
pub fn string_list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

fn grouped(pairs: impl Iterator<Item = (String, String)>) -> HashMap<String, Vec<String>> {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (key, value) in pairs {
        map.entry(key).or_default().push(value);
    }
    map
}

pub async fn load<C: ConnectionTrait>(conn: &C, organization_id: &str) -> AppResult<Routing> {
    let rule_rows = rules::Entity::find().filter(rules::Column::OrganizationId.eq(organization_id)).all(conn).await?;
    let vendor_rows = vendors::Entity::find()
        .filter(vendors::Column::OrganizationId.eq(organization_id))
        .filter(vendors::Column::DeletedAt.is_null())
        .all(conn)
        .await?;
    let rule_ids: Vec<String> = rule_rows.iter().map(|r| r.id.clone()).collect();
    let vendor_ids: Vec<String> = vendor_rows.iter().map(|v| v.id.clone()).collect();
    let mut rule_approvers = grouped(
        rule_approvers::Entity::find()
            .filter(rule_approvers::Column::RuleId.is_in(rule_ids.clone()))
            .all(conn)
            .await?
            .into_iter()
            .map(|a| (a.rule_id, a.user_id)),
    );
    let mut vendor_approvers = grouped(
        vendor_approvers::Entity::find()
            .filter(vendor_approvers::Column::VendorId.is_in(vendor_ids))
            .all(conn)
            .await?
            .into_iter()
            .map(|a| (a.vendor_id, a.user_id)),
    );
    let assignments = rule_assignments::Entity::find()
        .filter(rule_assignments::Column::RuleId.is_in(rule_ids))
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|a| {
            Some(AssignmentFacts {
                kind: OrderKind::parse(&a.kind)?,
                rule_id: a.rule_id,
                vendor_id: a.vendor_id,
                priority: a.priority,
            })
        })
        .collect();
    let rules = rule_rows
        .into_iter()
        .map(|r| RuleFacts {
            approvers: rule_approvers.remove(&r.id).unwrap_or_default(),
            kinds: string_list(&r.kinds).iter().filter_map(|k| OrderKind::parse(k)).collect(),
            required_tags: string_list(&r.required_tags),
            optional_tags: string_list(&r.optional_tags),
            min_estimated_cost_cents: r.min_estimated_cost_cents,
            requires_approval: r.requires_approval,
            approval_position: r.approval_position,
            auto_maintenance: r.auto_maintenance,
            scope: r.scope_account_id,
            name: r.name,
            id: r.id,
        })
        .collect();
    let vendors = vendor_rows
        .into_iter()
        .map(|v| VendorFacts {
            approvers: vendor_approvers.remove(&v.id).unwrap_or_default(),
            scope: v.scope_account_id,
            enabled: v.enabled,
            requires_approval: v.requires_approval,
            name: v.name,
            id: v.id,
        })
        .collect();
    Ok(Routing { rules, assignments, vendors })
}
