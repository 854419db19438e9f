//! Identifiers and codes compare byte by byte on PostgreSQL (`COLLATE "C"`),
//! whatever collation the cluster gives a new database.
//!
//! Every list page, order and batch of facts is found by ids: the primary
//! keys, `order_id = ANY(...)` over a page's orders, `organization_id` and
//! `site_id` leading the sort indexes, `id` ending them. Under a database's
//! default collation, each comparison of two texts in a B-tree goes through
//! the locale (`strcoll`, after copying both into buffers), and sorts get no
//! abbreviated keys; under `"C"` it is `memcmp`. pgbench on two copies of
//! one seeded database, before and after this migration (BENCHMARKS.md,
//! "Ids compared byte by byte"): a page's facts +11–20% and a site
//! TECHNICIAN's page +14–20% on a `C.UTF-8` database; on an ICU `en-US`
//! one, with every text column changed, +27–45% and +22–29%.
//!
//! Only what the gateway writes is changed: ids (`id`, `*_id`, the people
//! in `*_by`, `role_bindings.scope_target`) and codes from its own
//! vocabularies (statuses, kinds, roles, numbers, tags, hashes). What people
//! write and read sorted (names, titles, emails, notes) keeps the
//! database's collation, so lists sorted by name follow the locale.
//! Equality is the same under both, so no key, constraint or answer
//! changes; ids are a prefix and lowercase hex (`ids.rs`), which every
//! locale orders as bytes do, so neither does a list's order.
//!
//! Each table is locked while its indexes are rebuilt, then analyzed: 2.8 s
//! for the synthetic organization of 100,000 orders on the benchmark
//! machine.
//!
//! SQLite compares texts byte by byte already (`BINARY`): nothing to do.
//! A column added later that holds an id or a code is declared
//! `COLLATE "C"`; `tests/migrations.rs` checks every one by name.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000010_identifiers_bytewise"
    }
}

/// Each table's identifier and code columns (all `text`).
const COLUMNS: &[(&str, &[&str])] = &[
    ("organizations", &["id"]),
    ("accounts", &["id", "organization_id", "parent_id"]),
    ("account_settings", &["account_id"]),
    ("users", &["id", "organization_id", "account_id"]),
    ("role_bindings", &["user_id", "role", "scope_kind", "scope_target"]),
    ("site_groups", &["id", "organization_id"]),
    ("sites", &["id", "organization_id", "account_id"]),
    ("site_group_members", &["site_group_id", "site_id"]),
    ("assets", &["id", "organization_id", "site_id"]),
    ("api_tokens", &["id", "organization_id", "account_id", "partner_vendor_id", "created_by", "secret_hash"]),
    ("vendors", &["id", "organization_id", "scope_account_id"]),
    ("vendor_approvers", &["vendor_id", "user_id"]),
    ("rules", &["id", "organization_id", "scope_account_id", "vendor_id"]),
    ("rule_approvers", &["rule_id", "user_id"]),
    ("rule_assignments", &["rule_id", "vendor_id", "kind"]),
    (
        "orders",
        &[
            "id",
            "organization_id",
            "number",
            "kind",
            "status",
            "site_id",
            "asset_id",
            "scope_account_id",
            "creator_id",
            "owner_id",
            "via_token_id",
            "vendor_id",
            "send_state",
        ],
    ),
    ("order_tags", &["order_id", "tag"]),
    ("order_assignees", &["order_id", "user_id"]),
    ("approval_steps", &["id", "order_id", "source", "decision", "decided_by"]),
    ("approval_step_approvers", &["step_id", "order_id", "user_id"]),
    ("notes", &["id", "order_id", "author_id", "visibility"]),
    ("time_entries", &["id", "order_id", "user_id"]),
    ("cost_lines", &["id", "order_id", "category", "added_by"]),
    ("part_usages", &["id", "order_id", "added_by"]),
    ("procedure_steps", &["id", "order_id", "done_by"]),
    ("attachment_blobs", &["sha256"]),
    ("attachments", &["id", "order_id", "sha256", "uploaded_by"]),
    ("deletion_requests", &["id", "organization_id", "order_id", "status", "requested_by", "decided_by"]),
    (
        "audit_events",
        &["id", "organization_id", "order_id", "actor_id", "token_id", "entity_type", "entity_id", "action"],
    ),
    ("order_events", &["organization_id", "order_id", "actor_id", "kind", "queue"]),
    (
        "vendor_sends",
        &["id", "organization_id", "order_id", "vendor_id", "message_id", "trigger", "state", "requested_by"],
    ),
];

/// One statement a table, so that its indexes are rebuilt once; then the
/// table is analyzed, since PostgreSQL drops a column's statistics when its
/// type is altered, and without them it planned a TECHNICIAN's dashboard
/// page to 31 requests a second (the load generator on 100,000 orders).
/// Autovacuum would not put them back: it analyzes after rows change.
async fn collate(manager: &SchemaManager<'_>, collation: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let connection = manager.get_connection();
    for (table, columns) in COLUMNS {
        let changes: Vec<String> =
            columns.iter().map(|column| format!("ALTER COLUMN \"{column}\" TYPE text COLLATE {collation}")).collect();
        connection.execute_unprepared(&format!("ALTER TABLE \"{table}\" {}", changes.join(", "))).await?;
        connection.execute_unprepared(&format!("ANALYZE \"{table}\"")).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        collate(manager, "\"C\"").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        collate(manager, "\"default\"").await
    }
}
