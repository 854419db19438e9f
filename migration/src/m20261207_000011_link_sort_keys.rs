//! The link tables that relate people to orders (`order_assignees`,
//! `approval_step_approvers`) carry their order's sort keys, so that a
//! site-bound person's page walks "the orders assigned to me" and "the
//! orders I am to approve" in the page's order and stops after a page,
//! as it walks the site's orders by the site's sort indexes.
//!
//! Without them each of those arms read every order it relates the person
//! to by primary key and sorted them: the synthetic TECHNICIAN's 111
//! assignments and 308 designations, 512 orders read for a page of 50.
//! pgbench on the page's statement over the dashboard's twelve views
//! (BENCHMARKS.md, "A person's links carry their orders' sort keys").
//!
//! The order's status is copied too, so that a page filtered on statuses
//! (a dashboard's "under way" view) tests it in the index as it walks,
//! without reading each linked order to find that it does not match.
//!
//! The copies are kept by the database itself, so that no writer can
//! forget them:
//! - a link row takes its order's values when it is inserted (or moved to
//!   another order);
//! - an order whose created, updated, priority or due time or status
//!   changes passes them on to its link rows.
//!
//! `order_due` is `COALESCE(due_at, i64::MAX)`, as the `DUE_ASC` sort
//! writes it (`orders::list`): orders without a due date last. Each table
//! gets one index per sort key, `(user_id, key, order_id, order_status)`,
//! walked forwards or backwards. `order_status` is a code: `COLLATE "C"`
//! on PostgreSQL, as migration 10 made the others.
//!
//! Writers that race each other on PostgreSQL (READ COMMITTED) cannot
//! leave a copy stale: a link's trigger reads its order `FOR SHARE`, so
//! an insert of a link and an update of its order wait for each other and
//! the second sees the first. The migration runs in one transaction on
//! both backends and, on PostgreSQL, locks the three tables against writes
//! first, so that no write falls between the copies' filling and the
//! triggers' creation.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000011_link_sort_keys"
    }
}

/// The link tables, and the columns that name one of their rows.
const LINKS: [(&str, &str); 2] = [
    ("order_assignees", "order_id = NEW.order_id AND user_id = NEW.user_id"),
    ("approval_step_approvers", "step_id = NEW.step_id AND user_id = NEW.user_id"),
];

/// The copies: the link's column, its type and default, and the order's
/// value it copies (`{o}` is the order's row, `{collate}` how a code's
/// column is declared).
const COPIES: [(&str, &str, &str); 5] = [
    ("order_created_at", "BIGINT NOT NULL DEFAULT 0", "{o}.created_at"),
    ("order_updated_at", "BIGINT NOT NULL DEFAULT 0", "{o}.updated_at"),
    ("order_priority", "INTEGER NOT NULL DEFAULT 0", "{o}.priority"),
    ("order_due", "BIGINT NOT NULL DEFAULT 9223372036854775807", "COALESCE({o}.due_at, 9223372036854775807)"),
    ("order_status", "TEXT{collate} NOT NULL DEFAULT ''", "{o}.status"),
];

/// The copies that are sort keys, each the second column of an index.
const SORT_KEYS: [&str; 4] = ["order_created_at", "order_updated_at", "order_priority", "order_due"];

/// The order's columns whose changes are passed on.
const PASSED_ON: [&str; 5] = ["created_at", "updated_at", "priority", "due_at", "status"];

fn copy_columns() -> String {
    COPIES.map(|(column, _, _)| column).join(", ")
}

/// The order's values of the copies, as `{o}` names its row.
fn order_values(o: &str) -> String {
    COPIES.map(|(_, _, value)| value.replace("{o}", o)).join(", ")
}

fn index(table: &str, column: &str) -> String {
    format!("{table}_user_{}", column.trim_start_matches("order_"))
}

/// What both backends run first: the columns, filled from the orders, and
/// their indexes.
fn columns_and_indexes(collate: &str) -> Vec<String> {
    let mut statements = Vec::new();
    for (table, _) in LINKS {
        for (column, declared, _) in COPIES {
            let declared = declared.replace("{collate}", collate);
            statements.push(format!("ALTER TABLE {table} ADD COLUMN {column} {declared}"));
        }
        statements.push(format!(
            "UPDATE {table} SET ({}) = (SELECT {} FROM orders WHERE orders.id = {table}.order_id)",
            copy_columns(),
            order_values("orders")
        ));
        for column in SORT_KEYS {
            let name = index(table, column);
            statements.push(format!("CREATE INDEX {name} ON {table} (user_id, {column}, order_id, order_status)"));
        }
    }
    statements
}

/// An order's copied values changed: `OLD` and `NEW` differ in one.
fn copies_changed(distinct: &str) -> String {
    PASSED_ON.map(|c| format!("OLD.{c} {distinct} NEW.{c}")).join(" OR ")
}

/// The order `NEW` passes its values to `table`'s rows.
fn pass_on(table: &str) -> String {
    format!("UPDATE {table} SET ({}) = ({}) WHERE order_id = NEW.id", copy_columns(), order_values("NEW"))
}

fn postgres_up() -> Vec<String> {
    let tables = LINKS.map(|(table, _)| table).join(", ");
    let mut statements = vec![format!("LOCK TABLE orders, {tables} IN SHARE MODE")];
    statements.extend(columns_and_indexes(" COLLATE \"C\""));
    statements.push(format!(
        "CREATE FUNCTION order_link_take_keys() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         SELECT {} INTO {} FROM orders o WHERE o.id = NEW.order_id FOR SHARE; RETURN NEW; END $$",
        order_values("o"),
        COPIES.map(|(column, _, _)| format!("NEW.{column}")).join(", ")
    ));
    for (table, _) in LINKS {
        statements.push(format!(
            "CREATE TRIGGER {table}_take_keys BEFORE INSERT OR UPDATE OF order_id ON {table} \
             FOR EACH ROW EXECUTE FUNCTION order_link_take_keys()"
        ));
    }
    statements.push(format!(
        "CREATE FUNCTION orders_pass_keys() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         {}; RETURN NULL; END $$",
        LINKS.map(|(table, _)| pass_on(table)).join("; ")
    ));
    statements.push(format!(
        "CREATE TRIGGER orders_pass_keys AFTER UPDATE OF {} ON orders \
         FOR EACH ROW WHEN ({}) EXECUTE FUNCTION orders_pass_keys()",
        PASSED_ON.join(", "),
        copies_changed("IS DISTINCT FROM")
    ));
    for (table, _) in LINKS {
        statements.push(format!("ANALYZE {table}"));
    }
    statements
}

fn sqlite_up() -> Vec<String> {
    let mut statements = columns_and_indexes("");
    for (table, this_row) in LINKS {
        let take = format!(
            "UPDATE {table} SET ({}) = (SELECT {} FROM orders WHERE orders.id = NEW.order_id) WHERE {this_row}",
            copy_columns(),
            order_values("orders")
        );
        statements.push(format!("CREATE TRIGGER {table}_take_keys AFTER INSERT ON {table} BEGIN {take}; END"));
        statements.push(format!(
            "CREATE TRIGGER {table}_take_keys_on_move AFTER UPDATE OF order_id ON {table} BEGIN {take}; END"
        ));
    }
    statements.push(format!(
        "CREATE TRIGGER orders_pass_keys AFTER UPDATE OF {} ON orders WHEN {} BEGIN {}; END",
        PASSED_ON.join(", "),
        copies_changed("IS NOT"),
        LINKS.map(|(table, _)| pass_on(table)).join("; ")
    ));
    statements
}

fn down(backend: DbBackend) -> Vec<String> {
    let mut statements = Vec::new();
    match backend {
        DbBackend::Postgres => {
            statements.push("DROP TRIGGER orders_pass_keys ON orders".to_owned());
            for (table, _) in LINKS {
                statements.push(format!("DROP TRIGGER {table}_take_keys ON {table}"));
            }
            statements.push("DROP FUNCTION orders_pass_keys()".to_owned());
            statements.push("DROP FUNCTION order_link_take_keys()".to_owned());
        }
        _ => {
            statements.push("DROP TRIGGER orders_pass_keys".to_owned());
            for (table, _) in LINKS {
                statements.push(format!("DROP TRIGGER {table}_take_keys"));
                statements.push(format!("DROP TRIGGER {table}_take_keys_on_move"));
            }
        }
    }
    for (table, _) in LINKS {
        for column in SORT_KEYS {
            statements.push(format!("DROP INDEX {}", index(table, column)));
        }
        for (column, _, _) in COPIES {
            statements.push(format!("ALTER TABLE {table} DROP COLUMN {column}"));
        }
    }
    statements
}

async fn run(manager: &SchemaManager<'_>, statements: Vec<String>) -> Result<(), DbErr> {
    let connection = manager.get_connection();
    for statement in statements {
        connection.execute_unprepared(&statement).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = match manager.get_database_backend() {
            DbBackend::Postgres => postgres_up(),
            DbBackend::Sqlite => sqlite_up(),
            other => return Err(DbErr::Migration(format!("unsupported database backend {other:?}"))),
        };
        run(manager, statements).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, down(manager.get_database_backend())).await
    }

    /// On SQLite too (sea-orm's default there is none): the copies are
    /// filled and their triggers made with no write between, and a failed
    /// run leaves nothing half made.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
