//! The whole data model of DOMAIN.md: organizations, accounts, sites, users and
//! their roles; vendors and routing rules; API tokens; orders with everything
//! recorded on them; deletion requests; the audit log and the order event log.
//!
//! Conventions (see `docs/data-model.md`): ids are prefixed text, times are
//! integer microseconds since the Unix epoch, money is integer cents, enums
//! are their GraphQL names as text and lists of scalars are JSON arrays.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, blob, boolean, double, integer, text, text_null,
};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000001_initial"
    }
}

/// Tables in creation order; `down` drops them in reverse.
const TABLES: &[&str] = &[
    "organizations",
    "accounts",
    "account_settings",
    "sites",
    "site_groups",
    "site_group_members",
    "assets",
    "users",
    "role_bindings",
    "vendors",
    "vendor_approvers",
    "rules",
    "rule_approvers",
    "rule_assignments",
    "api_tokens",
    "orders",
    "order_tags",
    "order_assignees",
    "notes",
    "attachment_blobs",
    "attachments",
    "time_entries",
    "cost_lines",
    "part_usages",
    "procedure_steps",
    "approval_steps",
    "approval_step_approvers",
    "deletion_requests",
    "audit_events",
    "order_events",
];

fn id(column: &'static str) -> ColumnDef {
    text(column).primary_key().take()
}

/// A foreign key from `table.column` to `target.id`.
fn references(table: &'static str, column: &'static str, target: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(table, column).to(target, "id").take()
}

/// A foreign key from `table.column` to `target.id` that goes with its parent.
fn owned_by(table: &'static str, column: &'static str, target: &'static str) -> ForeignKeyCreateStatement {
    references(table, column, target).on_delete(ForeignKeyAction::Cascade).take()
}

fn index(table: &'static str, name: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create().name(name).table(table).take();
    for column in columns {
        index.col(*column);
    }
    index
}

/// A designation table: `(owner_column, user_id)`, both halves of the key.
fn link(table: &'static str, owner_column: &'static str, owner: &'static str) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(text(owner_column))
        .col(text("user_id"))
        .primary_key(Index::create().col(owner_column).col("user_id"))
        .foreign_key(&mut owned_by(table, owner_column, owner))
        .foreign_key(&mut references(table, "user_id", "users"))
        .take()
}

fn tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table("organizations")
            .col(id("id"))
            .col(text("name").unique_key())
            .col(big_integer("work_order_seq"))
            .col(big_integer("purchase_order_seq"))
            .col(big_integer("created_at"))
            .take(),
        Table::create()
            .table("accounts")
            .col(id("id"))
            .col(text("organization_id"))
            .col(text_null("parent_id"))
            .col(text("name"))
            .col(big_integer("created_at"))
            .foreign_key(&mut references("accounts", "organization_id", "organizations"))
            .foreign_key(&mut references("accounts", "parent_id", "accounts"))
            .take(),
        Table::create()
            .table("account_settings")
            .col(id("account_id"))
            .col(boolean("requester_sees_asset_orders"))
            .col(boolean("non_admin_vendor_override"))
            .col(boolean("planner_may_delete"))
            .col(big_integer("updated_at"))
            .foreign_key(&mut owned_by("account_settings", "account_id", "accounts"))
            .take(),
        Table::create()
            .table("sites")
            .col(id("id"))
            .col(text("organization_id"))
            .col(text("account_id"))
            .col(text("name"))
            .col(text("tags"))
            .col(big_integer("created_at"))
            .foreign_key(&mut references("sites", "organization_id", "organizations"))
            .foreign_key(&mut references("sites", "account_id", "accounts"))
            .take(),
        Table::create()
            .table("site_groups")
            .col(id("id"))
            .col(text("organization_id"))
            .col(text("name"))
            .col(big_integer("created_at"))
            .foreign_key(&mut references("site_groups", "organization_id", "organizations"))
            .take(),
        Table::create()
            .table("site_group_members")
            .col(text("site_group_id"))
            .col(text("site_id"))
            .primary_key(Index::create().col("site_group_id").col("site_id"))
            .foreign_key(&mut owned_by("site_group_members", "site_group_id", "site_groups"))
            .foreign_key(&mut owned_by("site_group_members", "site_id", "sites"))
            .take(),
        Table::create()
            .table("assets")
            .col(id("id"))
            .col(text("organization_id"))
            .col(text("site_id"))
            .col(text("name"))
            .col(text("tags"))
            .col(boolean("in_maintenance"))
            .col(big_integer("created_at"))
            .foreign_key(&mut references("assets", "organization_id", "organizations"))
            .foreign_key(&mut references("assets", "site_id", "sites"))
            .take(),
        Table::create()
            .table("users")
            .col(id("id"))
            .col(text("organization_id"))
            .col(text("account_id"))
            .col(text("name"))
            .col(text("email"))
            .col(boolean("active"))
            .col(boolean("can_login"))
            .col(big_integer_null("hourly_rate_cents"))
            .col(big_integer("created_at"))
            .foreign_key(&mut references("users", "organization_id", "organizations"))
            .foreign_key(&mut references("users", "account_id", "accounts"))
            .take(),
        Table::create()
            .table("role_bindings")
            .col(text("user_id"))
            .col(text("role"))
            .col(text("scope_kind"))
            .col(text("scope_target"))
            .col(big_integer("created_at"))
            .primary_key(Index::create().col("user_id").col("role").col("scope_kind").col("scope_target"))
            .foreign_key(&mut owned_by("role_bindings", "user_id", "users"))
            .take(),
        Table::create()
            .table("vendors")
            .col(id("id"))
            .col(text("organization_id"))
            .col(text_null("scope_account_id"))
            .col(text("name"))
            .col(text("contact_emails"))
            .col(boolean("enabled"))
            .col(boolean("requires_approval"))
            .col(boolean("manual_send"))
            .col(text("conditions"))
            .col(big_integer("created_at"))
            .col(big_integer("updated_at"))
            .col(big_integer_null("deleted_at"))
            .foreign_key(&mut references("vendors", "organization_id", "organizations"))
            .foreign_key(&mut references("vendors", "scope_account_id", "accounts"))
            .take(),
        link("vendor_approvers", "vendor_id", "vendors"),
        Table::create()
            .table("rules")
            .col(id("id"))
            .col(text("organization_id"))
            .col(text_null("scope_account_id"))
            .col(text_null("vendor_id"))
            .col(text("name"))
            .col(text("kinds"))
            .col(text("required_tags"))
            .col(text("optional_tags"))
            .col(big_integer_null("min_estimated_cost_cents"))
            .col(boolean("requires_approval"))
            .col(integer("approval_position"))
            .col(boolean("auto_maintenance"))
            .col(boolean("auto_generated"))
            .col(big_integer("created_at"))
            .col(big_integer("updated_at"))
            .foreign_key(&mut references("rules", "organization_id", "organizations"))
            .foreign_key(&mut references("rules", "scope_account_id", "accounts"))
            .foreign_key(&mut owned_by("rules", "vendor_id", "vendors"))
            .take(),
        link("rule_approvers", "rule_id", "rules"),
        Table::create()
            .table("rule_assignments")
            .col(text("rule_id"))
            .col(text("vendor_id"))
            .col(text("kind"))
            .col(integer("priority"))
            .primary_key(Index::create().col("rule_id").col("vendor_id").col("kind"))
            .foreign_key(&mut owned_by("rule_assignments", "rule_id", "rules"))
            .foreign_key(&mut owned_by("rule_assignments", "vendor_id", "vendors"))
            .take(),
        Table::create()
            .table("api_tokens")
            .col(id("id"))
            .col(text("organization_id"))
            .col(text("account_id"))
            .col(text("name"))
            .col(text("secret_hash").unique_key())
            .col(text("capabilities"))
            .col(text_null("partner_vendor_id"))
            .col(text_null("created_by"))
            .col(big_integer("created_at"))
            .col(big_integer_null("expires_at"))
            .col(big_integer_null("last_used_at"))
            .col(big_integer_null("revoked_at"))
            .foreign_key(&mut references("api_tokens", "organization_id", "organizations"))
            .foreign_key(&mut references("api_tokens", "account_id", "accounts"))
            .foreign_key(&mut references("api_tokens", "created_by", "users"))
            .foreign_key(&mut references("api_tokens", "partner_vendor_id", "vendors"))
            .take(),
        Table::create()
            .table("orders")
            .col(id("id"))
            .col(text("organization_id"))
            .col(text("number"))
            .col(text("kind"))
            .col(text("title"))
            .col(text_null("description"))
            .col(integer("priority"))
            .col(text("status"))
            .col(boolean("archived"))
            .col(big_integer("version"))
            .col(text_null("site_id"))
            .col(text_null("asset_id"))
            .col(text_null("scope_account_id"))
            .col(text("creator_id"))
            .col(text("owner_id"))
            .col(text_null("via_token_id"))
            .col(text_null("vendor_id"))
            .col(big_integer_null("estimated_cost_cents"))
            .col(text_null("resolution"))
            .col(big_integer_null("due_at"))
            .col(big_integer("created_at"))
            .col(big_integer("updated_at"))
            .col(big_integer_null("closed_at"))
            .col(big_integer_null("deleted_at"))
            .foreign_key(&mut references("orders", "organization_id", "organizations"))
            .foreign_key(&mut references("orders", "site_id", "sites"))
            .foreign_key(&mut references("orders", "asset_id", "assets"))
            .foreign_key(&mut references("orders", "scope_account_id", "accounts"))
            .foreign_key(&mut references("orders", "creator_id", "users"))
            .foreign_key(&mut references("orders", "owner_id", "users"))
            .foreign_key(&mut references("orders", "via_token_id", "api_tokens"))
            .foreign_key(&mut references("orders", "vendor_id", "vendors"))
            .take(),
        Table::create()
            .table("order_tags")
            .col(text("order_id"))
            .col(text("tag"))
            .primary_key(Index::create().col("order_id").col("tag"))
            .foreign_key(&mut owned_by("order_tags", "order_id", "orders"))
            .take(),
        Table::create()
            .table("order_assignees")
            .col(text("order_id"))
            .col(text("user_id"))
            .col(big_integer("assigned_at"))
            .primary_key(Index::create().col("order_id").col("user_id"))
            .foreign_key(&mut owned_by("order_assignees", "order_id", "orders"))
            .foreign_key(&mut references("order_assignees", "user_id", "users"))
            .take(),
        Table::create()
            .table("notes")
            .col(id("id"))
            .col(text("order_id"))
            .col(text("author_id"))
            .col(text("body"))
            .col(text("visibility"))
            .col(big_integer("created_at"))
            .foreign_key(&mut owned_by("notes", "order_id", "orders"))
            .foreign_key(&mut references("notes", "author_id", "users"))
            .take(),
        Table::create()
            .table("attachment_blobs")
            .col(text("sha256").primary_key())
            .col(big_integer("size_bytes"))
            .col(blob("content"))
            .take(),
        Table::create()
            .table("attachments")
            .col(id("id"))
            .col(text("order_id"))
            .col(text("filename"))
            .col(text("content_type"))
            .col(big_integer("size_bytes"))
            .col(text("sha256"))
            .col(text("uploaded_by"))
            .col(big_integer("created_at"))
            .foreign_key(&mut owned_by("attachments", "order_id", "orders"))
            .foreign_key(
                &mut ForeignKey::create().from("attachments", "sha256").to("attachment_blobs", "sha256").take(),
            )
            .foreign_key(&mut references("attachments", "uploaded_by", "users"))
            .take(),
        Table::create()
            .table("time_entries")
            .col(id("id"))
            .col(text("order_id"))
            .col(text("user_id"))
            .col(double("hours"))
            .col(text_null("note"))
            .col(big_integer_null("cost_cents"))
            .col(big_integer("logged_at"))
            .foreign_key(&mut owned_by("time_entries", "order_id", "orders"))
            .foreign_key(&mut references("time_entries", "user_id", "users"))
            .take(),
        Table::create()
            .table("cost_lines")
            .col(id("id"))
            .col(text("order_id"))
            .col(text("category"))
            .col(text("description"))
            .col(big_integer("amount_cents"))
            .col(text("added_by"))
            .col(big_integer("created_at"))
            .foreign_key(&mut owned_by("cost_lines", "order_id", "orders"))
            .foreign_key(&mut references("cost_lines", "added_by", "users"))
            .take(),
        Table::create()
            .table("part_usages")
            .col(id("id"))
            .col(text("order_id"))
            .col(text("part_number"))
            .col(text_null("description"))
            .col(double("quantity"))
            .col(text("added_by"))
            .col(big_integer("created_at"))
            .foreign_key(&mut owned_by("part_usages", "order_id", "orders"))
            .foreign_key(&mut references("part_usages", "added_by", "users"))
            .take(),
        Table::create()
            .table("procedure_steps")
            .col(id("id"))
            .col(text("order_id"))
            .col(integer("position"))
            .col(text("text"))
            .col(boolean("done"))
            .col(text_null("done_by"))
            .col(big_integer_null("done_at"))
            .foreign_key(&mut owned_by("procedure_steps", "order_id", "orders"))
            .foreign_key(&mut references("procedure_steps", "done_by", "users"))
            .take(),
        Table::create()
            .table("approval_steps")
            .col(id("id"))
            .col(text("order_id"))
            .col(integer("position"))
            .col(text("source"))
            .col(text_null("decision"))
            .col(text_null("decided_by"))
            .col(big_integer_null("decided_at"))
            .col(text_null("reason"))
            .foreign_key(&mut owned_by("approval_steps", "order_id", "orders"))
            .foreign_key(&mut references("approval_steps", "decided_by", "users"))
            .take(),
        Table::create()
            .table("approval_step_approvers")
            .col(text("step_id"))
            .col(text("user_id"))
            .col(text("order_id"))
            .primary_key(Index::create().col("step_id").col("user_id"))
            .foreign_key(&mut owned_by("approval_step_approvers", "step_id", "approval_steps"))
            .foreign_key(&mut references("approval_step_approvers", "user_id", "users"))
            .foreign_key(&mut owned_by("approval_step_approvers", "order_id", "orders"))
            .take(),
        Table::create()
            .table("deletion_requests")
            .col(id("id"))
            .col(text("organization_id"))
            .col(text("order_id"))
            .col(text("requested_by"))
            .col(text("reason"))
            .col(text("status"))
            .col(text_null("decided_by"))
            .col(big_integer_null("decided_at"))
            .col(text_null("decision_reason"))
            .col(big_integer("created_at"))
            .foreign_key(&mut references("deletion_requests", "organization_id", "organizations"))
            .foreign_key(&mut owned_by("deletion_requests", "order_id", "orders"))
            .foreign_key(&mut references("deletion_requests", "requested_by", "users"))
            .foreign_key(&mut references("deletion_requests", "decided_by", "users"))
            .take(),
        Table::create()
            .table("audit_events")
            .col(id("id"))
            .col(text("organization_id"))
            .col(big_integer("at"))
            .col(text_null("actor_id"))
            .col(text_null("token_id"))
            .col(text_null("token_name"))
            .col(text("action"))
            .col(text("entity_type"))
            .col(text("entity_id"))
            .col(text_null("order_id"))
            .col(text("changes"))
            .col(text_null("reason"))
            .take(),
        Table::create()
            .table("order_events")
            .col(big_pk_auto("id"))
            .col(text("organization_id"))
            .col(text("order_id"))
            .col(text("kind"))
            .col(text_null("queue"))
            .col(text_null("actor_id"))
            .col(big_integer("at"))
            .col(text("payload"))
            .col(big_integer_null("seq").unique_key())
            .take(),
    ]
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index("accounts", "accounts_organization", &["organization_id", "parent_id"]),
        index("sites", "sites_account", &["account_id"]),
        index("site_groups", "site_groups_name", &["organization_id", "name"]).unique().take(),
        index("site_group_members", "site_group_members_site", &["site_id"]),
        index("assets", "assets_site", &["site_id"]),
        index("users", "users_email", &["organization_id", "email"]).unique().take(),
        index("users", "users_account", &["account_id"]),
        index("role_bindings", "role_bindings_scope", &["scope_kind", "scope_target"]),
        index("orders", "orders_number", &["organization_id", "number"]).unique().take(),
        index("orders", "orders_status", &["organization_id", "status", "updated_at"]),
        index("orders", "orders_site", &["site_id"]),
        index("orders", "orders_scope_account", &["scope_account_id"]),
        index("orders", "orders_owner", &["owner_id"]),
        index("orders", "orders_creator", &["creator_id"]),
        index("order_tags", "order_tags_tag", &["tag"]),
        index("order_assignees", "order_assignees_user", &["user_id"]),
        index("orders", "orders_vendor", &["vendor_id"]),
        index("orders", "orders_created", &["organization_id", "created_at"]),
        index("vendor_approvers", "vendor_approvers_user", &["user_id"]),
        index("rule_approvers", "rule_approvers_user", &["user_id"]),
        index("rules", "rules_organization", &["organization_id"]),
        index("vendors", "vendors_organization", &["organization_id"]),
        index("notes", "notes_order", &["order_id", "created_at"]),
        index("attachments", "attachments_order", &["order_id"]),
        index("time_entries", "time_entries_order", &["order_id", "user_id"]),
        index("cost_lines", "cost_lines_order", &["order_id"]),
        index("part_usages", "part_usages_order", &["order_id"]),
        index("procedure_steps", "procedure_steps_order", &["order_id", "position"]),
        index("approval_steps", "approval_steps_order", &["order_id", "position"]),
        index("approval_step_approvers", "approval_step_approvers_user", &["user_id"]),
        index("deletion_requests", "deletion_requests_order", &["order_id", "status"]),
        index("deletion_requests", "deletion_requests_organization", &["organization_id", "status"]),
        index("order_events", "order_events_order", &["order_id", "id"]),
        index("audit_events", "audit_events_order", &["order_id", "at"]),
        index("audit_events", "audit_events_organization", &["organization_id", "at"]),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES.iter().rev() {
            manager.drop_table(Table::drop().table(*table).take()).await?;
        }
        Ok(())
    }
}
