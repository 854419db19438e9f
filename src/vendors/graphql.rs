//! The `Vendor` type. Its configuration (contact e-mails, approvers,
//! conditions) is read by ADMIN and PLANNER only.

use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, Object, Result, Value};
use entity::vendors;

use crate::auth::Principal;
use crate::graphql::answered::{Brief, Plain};
use crate::graphql::loaders::{Db, LoadError, VendorApprovers, to_app};
use crate::graphql::{ContextExt, nullable};
use crate::org::graphql::{Account, User};
use crate::policy;

/// A vendor, shared with the request's loaders.
pub struct Vendor(pub Arc<vendors::Model>);

impl From<vendors::Model> for Vendor {
    fn from(model: vendors::Model) -> Self {
        Self(Arc::new(model))
    }
}

impl Plain for Vendor {
    fn plain(&self, name: &str) -> Option<Value> {
        match name {
            "id" => Some(Value::String(self.0.id.clone())),
            "name" => Some(Value::String(self.0.name.clone())),
            "enabled" => Some(Value::Boolean(self.0.enabled)),
            "requiresApproval" => Some(Value::Boolean(self.0.requires_approval)),
            "manualSend" => Some(Value::Boolean(self.0.manual_send)),
            _ => None,
        }
    }

    fn readable(principal: &Principal, name: &str) -> bool {
        policy::order::read_site_or_vendor_field(principal, "Vendor", name).allowed
    }
}

impl Vendor {
    fn guard_config(ctx: &Context<'_>) -> Result<()> {
        Ok(policy::read_procurement_config(ctx.principal()?).require()?)
    }

    /// A field beyond a partner token's `{ id name }`.
    fn guard(ctx: &Context<'_>, field: &str) -> Result<()> {
        Ok(policy::order::read_site_or_vendor_field(ctx.principal()?, "Vendor", field).require()?)
    }

    fn json_list(&self, column: &str, text: &str) -> Result<Vec<String>> {
        Ok(crate::graphql::stored_list(&format!("vendors.{column}"), &self.0.id, text)?)
    }
}

#[Object]
impl Vendor {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn enabled(&self, ctx: &Context<'_>) -> Result<bool> {
        Self::guard(ctx, "enabled")?;
        Ok(self.0.enabled)
    }
    async fn requires_approval(&self, ctx: &Context<'_>) -> Result<bool> {
        Self::guard(ctx, "requiresApproval")?;
        Ok(self.0.requires_approval)
    }
    async fn manual_send(&self, ctx: &Context<'_>) -> Result<bool> {
        Self::guard(ctx, "manualSend")?;
        Ok(self.0.manual_send)
    }
    async fn scope(&self, ctx: &Context<'_>) -> Option<Account> {
        nullable(ctx, async {
            Self::guard(ctx, "scope")?;
            Account::of_scope(ctx, self.0.scope_account_id.as_ref()).await
        })
        .await
    }
    /// ADMIN and PLANNER.
    async fn contact_emails(&self, ctx: &Context<'_>) -> Option<Vec<String>> {
        nullable(ctx, async {
            Self::guard_config(ctx)?;
            Ok(Some(self.json_list("contact_emails", &self.0.contact_emails)?))
        })
        .await
    }
    /// ADMIN and PLANNER.
    async fn approvers(&self, ctx: &Context<'_>) -> Option<Vec<Brief<User>>> {
        approvers(ctx, VendorApprovers(self.0.id.clone())).await
    }
    /// ADMIN and PLANNER.
    async fn conditions(&self, ctx: &Context<'_>) -> Option<Vec<String>> {
        nullable(ctx, async {
            Self::guard_config(ctx)?;
            Ok(Some(self.json_list("conditions", &self.0.conditions)?))
        })
        .await
    }
}

/// The approvers of a vendor or a rule (`key`), batched per request, guarded
/// like the rest of the procurement configuration: ADMIN and PLANNER.
pub(super) async fn approvers<K>(ctx: &Context<'_>, key: K) -> Option<Vec<Brief<User>>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    Db: Loader<K, Value = Vec<String>, Error = LoadError>,
{
    nullable(ctx, async {
        policy::read_procurement_config(ctx.principal()?).require()?;
        let ids = ctx.loaders()?.load_one(key).await.map_err(to_app)?.unwrap_or_default();
        Ok(Some(User::by_ids(ctx, &ids).await?))
    })
    .await
}
