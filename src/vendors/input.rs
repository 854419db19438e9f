//! The contract's `VendorInput` and `RuleInput`, and their parsed forms: a
//! [`VendorSpec`] or [`RuleSpec`] has passed every check that needs no
//! database (names, e-mails, tags, kinds, money). Approver ids and the
//! scope account are checked against the organization by the mutations.

use async_graphql::{ID, InputObject, MaybeUndefined};

use crate::error::{AppError, AppResult};
use crate::graphql::scalars::Money;
use crate::orders::model::OrderKind;
use crate::org::input::{Email, Name, Tag};

/// Vendor kinds: the order kinds routed to vendors (work orders are not).
pub const VENDOR_KINDS: [OrderKind; 3] = [OrderKind::Part, OrderKind::Service, OrderKind::Capital];

/// The contract's `VendorInput`. On update every field is replaced (an
/// omitted list is empty, an omitted switch off), except `enabled`
/// (omitted: unchanged; it has `setVendorEnabled`) and `scopeAccountId`
/// (omitted: unchanged; `null`: organization-wide).
#[derive(InputObject)]
pub struct VendorInput {
    pub name: String,
    pub contact_emails: Vec<String>,
    pub enabled: Option<bool>,
    pub requires_approval: Option<bool>,
    pub manual_send: Option<bool>,
    pub approver_ids: Option<Vec<ID>>,
    pub conditions: Option<Vec<String>>,
    pub scope_account_id: MaybeUndefined<ID>,
}

/// The contract's `RuleInput`; on update every field is replaced except an
/// omitted `scopeAccountId` (unchanged).
#[derive(InputObject)]
pub struct RuleInput {
    pub name: String,
    pub kinds: Vec<OrderKind>,
    pub required_tags: Vec<String>,
    pub optional_tags: Option<Vec<String>>,
    pub min_estimated_cost: Option<Money>,
    pub requires_approval: Option<bool>,
    pub approval_position: Option<i32>,
    pub approver_ids: Option<Vec<ID>>,
    pub auto_maintenance: Option<bool>,
    pub scope_account_id: MaybeUndefined<ID>,
}

/// A vendor's configuration, parsed.
#[derive(Debug, Clone)]
pub struct VendorSpec {
    pub name: String,
    pub contact_emails: Vec<String>,
    /// `None`: unchanged on update, enabled on create.
    pub enabled: Option<bool>,
    pub requires_approval: bool,
    pub manual_send: bool,
    pub approver_ids: Vec<String>,
    pub conditions: Vec<Tag>,
}

/// A rule's configuration, parsed.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    pub name: String,
    pub kinds: Vec<OrderKind>,
    pub required_tags: Vec<Tag>,
    pub optional_tags: Vec<Tag>,
    pub min_estimated_cost_cents: Option<i64>,
    pub requires_approval: bool,
    pub approval_position: i32,
    pub approver_ids: Vec<String>,
    pub auto_maintenance: bool,
}

/// Tags with each one's index in the field name; sorted, without
/// duplicates.
pub fn tags(field: &str, values: &[String]) -> AppResult<Vec<Tag>> {
    let mut tags = values
        .iter()
        .enumerate()
        .map(|(i, v)| Tag::parse(&format!("{field}[{i}]"), v))
        .collect::<AppResult<Vec<_>>>()?;
    tags.sort();
    tags.dedup();
    Ok(tags)
}

/// Ids in the order given, without duplicates (their existence is checked
/// by the caller, which knows the organization).
fn ids(values: Option<Vec<ID>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in values.unwrap_or_default() {
        if !out.contains(&id.0) {
            out.push(id.0);
        }
    }
    out
}

fn approvers_required(requires_approval: bool, approvers: &[String]) -> AppResult<()> {
    if requires_approval && approvers.is_empty() {
        return Err(AppError::bad_input(
            "input.approverIds",
            "requiresApproval needs at least one designated approver, or nobody could approve",
        ));
    }
    Ok(())
}

impl VendorInput {
    pub fn parse(&self) -> AppResult<VendorSpec> {
        let name = Name::parse("input.name", &self.name)?.into_inner();
        let mut contact_emails: Vec<String> = Vec::new();
        for (i, email) in self.contact_emails.iter().enumerate() {
            let email = Email::parse(&format!("input.contactEmails[{i}]"), email)?.into_inner();
            if !contact_emails.contains(&email) {
                contact_emails.push(email);
            }
        }
        if contact_emails.is_empty() {
            return Err(AppError::bad_input("input.contactEmails", "give at least one contact e-mail address"));
        }
        let conditions = tags("input.conditions", self.conditions.as_deref().unwrap_or_default())?;
        let approver_ids = ids(self.approver_ids.clone());
        let requires_approval = self.requires_approval.unwrap_or(false);
        approvers_required(requires_approval, &approver_ids)?;
        Ok(VendorSpec {
            name,
            contact_emails,
            enabled: self.enabled,
            requires_approval,
            manual_send: self.manual_send.unwrap_or(false),
            approver_ids,
            conditions,
        })
    }
}

impl RuleInput {
    pub fn parse(&self) -> AppResult<RuleSpec> {
        let name = Name::parse("input.name", &self.name)?.into_inner();
        let mut kinds: Vec<OrderKind> = Vec::new();
        for kind in &self.kinds {
            if !kinds.contains(kind) {
                kinds.push(*kind);
            }
        }
        if kinds.is_empty() {
            return Err(AppError::bad_input("input.kinds", "give at least one order kind"));
        }
        kinds.sort_by_key(|k| OrderKind::ALL.iter().position(|a| a == k));
        let required_tags = tags("input.requiredTags", &self.required_tags)?;
        let optional_tags = tags("input.optionalTags", self.optional_tags.as_deref().unwrap_or_default())?;
        let min_estimated_cost_cents = match self.min_estimated_cost {
            Some(Money(cents)) if cents < 0 => {
                return Err(AppError::bad_input("input.minEstimatedCost", "must be zero or more"));
            }
            other => other.map(|m| m.0),
        };
        let approval_position = self.approval_position.unwrap_or(0);
        if approval_position < 0 {
            return Err(AppError::bad_input("input.approvalPosition", "must be zero or more"));
        }
        let approver_ids = ids(self.approver_ids.clone());
        let requires_approval = self.requires_approval.unwrap_or(false);
        approvers_required(requires_approval, &approver_ids)?;
        Ok(RuleSpec {
            name,
            kinds,
            required_tags,
            optional_tags,
            min_estimated_cost_cents,
            requires_approval,
            approval_position,
            approver_ids,
            auto_maintenance: self.auto_maintenance.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(err: AppError) -> String {
        match err {
            AppError::BadInput { field, .. } => field,
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    fn vendor() -> VendorInput {
        VendorInput {
            name: " Acme Parts ".into(),
            contact_emails: vec!["Orders@Acme.example".into()],
            enabled: None,
            requires_approval: None,
            manual_send: None,
            approver_ids: None,
            conditions: Some(vec![" HVAC ".into(), "north".into(), "hvac".into()]),
            scope_account_id: MaybeUndefined::Undefined,
        }
    }

    #[test]
    fn vendor_input_is_normalised() {
        let spec = vendor().parse().expect("valid");
        assert_eq!(spec.name, "Acme Parts");
        assert_eq!(spec.contact_emails, ["orders@acme.example"]);
        assert_eq!(spec.conditions.iter().map(Tag::as_str).collect::<Vec<_>>(), ["hvac", "north"]);
    }

    #[test]
    fn vendor_errors_name_the_field() {
        let bad = |f: fn(&mut VendorInput)| {
            let mut input = vendor();
            f(&mut input);
            field_of(input.parse().expect_err("invalid"))
        };
        assert_eq!(bad(|v| v.name = " ".into()), "input.name");
        assert_eq!(bad(|v| v.contact_emails.push("nope".into())), "input.contactEmails[1]");
        assert_eq!(bad(|v| v.contact_emails.clear()), "input.contactEmails");
        assert_eq!(bad(|v| v.conditions = Some(vec!["ok".into(), "Not ok".into()])), "input.conditions[1]");
        assert_eq!(bad(|v| v.requires_approval = Some(true)), "input.approverIds");
    }

    #[test]
    fn rule_errors_name_the_field() {
        let rule = || RuleInput {
            name: "Big spend".into(),
            kinds: vec![OrderKind::Capital, OrderKind::Part, OrderKind::Capital],
            required_tags: vec![],
            optional_tags: None,
            min_estimated_cost: Some(Money(500_000)),
            requires_approval: None,
            approval_position: None,
            approver_ids: None,
            auto_maintenance: None,
            scope_account_id: MaybeUndefined::Undefined,
        };
        let spec = rule().parse().expect("valid");
        assert_eq!(spec.kinds, [OrderKind::Part, OrderKind::Capital]);
        assert_eq!(spec.approval_position, 0);
        let mut r = rule();
        r.kinds.clear();
        assert_eq!(field_of(r.parse().expect_err("no kinds")), "input.kinds");
        let mut r = rule();
        r.min_estimated_cost = Some(Money(-1));
        assert_eq!(field_of(r.parse().expect_err("negative")), "input.minEstimatedCost");
        let mut r = rule();
        r.optional_tags = Some(vec!["a".into(), "b c".into()]);
        assert_eq!(field_of(r.parse().expect_err("bad tag")), "input.optionalTags[1]");
    }
}
