//! The `Rule` and `RuleAssignment` types. A rule is configuration: it is
//! reached only through `rules` and `node(id)`, which ADMIN and PLANNER use
//! (`policy::procurement::read_rules`); `approvers` is guarded again like
//! `Vendor.approvers`, for rules reached another way. `assignments` lists
//! the ones whose vendor the caller sees.

use async_graphql::{Context, ID, Object, Result};
use entity::{rule_assignments, rules, vendors};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::graphql::Vendor;
use crate::error::AppError;
use crate::graphql::answered::Brief;
use crate::graphql::loaders::RuleApprovers;
use crate::graphql::scalars::Money;
use crate::graphql::{ContextExt, nullable};
use crate::orders::model::OrderKind;
use crate::org::graphql::{Account, User};
use crate::policy;

pub struct Rule(pub rules::Model);

impl Rule {
    fn json_list(&self, column: &str, text: &str) -> Result<Vec<String>> {
        Ok(crate::graphql::stored_list(&format!("rules.{column}"), &self.0.id, text)?)
    }
}

#[Object]
impl Rule {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kinds(&self) -> Result<Vec<OrderKind>> {
        Ok(self.json_list("kinds", &self.0.kinds)?.iter().filter_map(|k| OrderKind::parse(k)).collect())
    }
    async fn required_tags(&self) -> Result<Vec<String>> {
        self.json_list("required_tags", &self.0.required_tags)
    }
    async fn optional_tags(&self) -> Result<Vec<String>> {
        self.json_list("optional_tags", &self.0.optional_tags)
    }
    async fn min_estimated_cost(&self) -> Option<Money> {
        self.0.min_estimated_cost_cents.map(Money)
    }
    async fn requires_approval(&self) -> bool {
        self.0.requires_approval
    }
    async fn approval_position(&self) -> i32 {
        self.0.approval_position
    }
    /// ADMIN and PLANNER.
    async fn approvers(&self, ctx: &Context<'_>) -> Option<Vec<Brief<User>>> {
        super::graphql::approvers(ctx, RuleApprovers(self.0.id.clone())).await
    }
    async fn auto_maintenance(&self) -> bool {
        self.0.auto_maintenance
    }
    /// Generated from a vendor's conditions; read-only.
    async fn auto_generated(&self) -> bool {
        self.0.auto_generated
    }
    async fn scope(&self, ctx: &Context<'_>) -> Option<Account> {
        nullable(ctx, async { Account::of_scope(ctx, self.0.scope_account_id.as_ref()).await }).await
    }
    /// Ordered by kind, priority and vendor; assignments to vendors the
    /// caller does not see are left out.
    async fn assignments(&self, ctx: &Context<'_>) -> Result<Vec<RuleAssignment>> {
        let (principal, db) = (ctx.principal()?, ctx.reads()?);
        let rows = rule_assignments::Entity::find()
            .filter(rule_assignments::Column::RuleId.eq(self.0.id.as_str()))
            .order_by_asc(rule_assignments::Column::Kind)
            .order_by_asc(rule_assignments::Column::Priority)
            .order_by_asc(rule_assignments::Column::VendorId)
            .all(db)
            .await
            .map_err(AppError::from)?;
        let vendor_ids: Vec<&str> = rows.iter().map(|a| a.vendor_id.as_str()).collect();
        let visible = vendors::Entity::find()
            .filter(policy::vendor_filter::visible_vendors(principal))
            .filter(vendors::Column::Id.is_in(vendor_ids))
            .all(db)
            .await
            .map_err(AppError::from)?;
        Ok(rows
            .into_iter()
            .filter_map(|a| {
                let vendor = visible.iter().find(|v| v.id == a.vendor_id)?.clone();
                Some(RuleAssignment { vendor, kind: OrderKind::parse(&a.kind)?, priority: a.priority })
            })
            .collect())
    }
}

/// A vendor a rule routes one order kind to, with its priority (the
/// ranking is vendor resolution's, DOMAIN.md section 7).
pub struct RuleAssignment {
    vendor: vendors::Model,
    kind: OrderKind,
    priority: i32,
}

#[Object]
impl RuleAssignment {
    async fn vendor(&self) -> Vendor {
        Vendor::from(self.vendor.clone())
    }
    async fn kind(&self) -> OrderKind {
        self.kind
    }
    async fn priority(&self) -> i32 {
        self.priority
    }
}
