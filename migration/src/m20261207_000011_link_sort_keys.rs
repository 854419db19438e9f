//! The link tables that relate people to orders (`order_assignees`,
//! `approval_step_approvers`) carry their order's sort keys, so that a
//! site-bound person's page walks "the orders assigned to me" and "the
//! orders I am to approve" in the page's order and stops after a page,
//! as it walks the site's orders by the site's sort indexes.
//!
//! Without them each of those arms read every order it relates the person
//! to by primary key and sorted them: the synthetic TECHNICIAN's 111
//! assignments and 308 designations, 512 orders read for a page of 50.
//! pgbench on the page's statement (BENCHMARKS.md, "A person's links carry
//! their orders' sort keys"): 1,275–1,315 → 4,800–4,837 transactions/s.
//!
//! The keys are copies, kept by the database itself, so that no writer can
//! forget them:
//! - a link row takes its order's keys when it is inserted (or moved to
//!   another order);
//! - an order whose created, updated, priority or due time changes passes
//!   them on to its link rows.
//!
//! `order_due` is `COALESCE(due_at, i64::MAX)`, as the `DUE_ASC` sort
//! writes it (`orders::list`): orders without a due date last. Each table
//! gets one index per sort key, `(user_id, key, order_id)`, walked forwards
//! or backwards.

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

/// The copied keys: the link's column, its type and default, and the
/// order's value it copies (`{o}` is the order's row).
const KEYS: [(&str, &str, &str); 4] = [
    ("order_created_at", "BIGINT NOT NULL DEFAULT 0", "{o}.created_at"),
    ("order_updated_at", "BIGINT NOT NULL DEFAULT 0", "{o}.updated_at"),
    ("order_priority", "INTEGER NOT NULL DEFAULT 0", "{o}.priority"),
    ("order_due", "BIGINT NOT NULL DEFAULT 9223372036854775807", "COALESCE({o}.due_at, 9223372036854775807)"),
];

fn key_columns() -> String {
    KEYS.map(|(column, _, _)| column).join(", ")
}

/// The order's values of the keys, as `{o}` names its row.
fn order_values(o: &str) -> String {
    KEYS.map(|(_, _, value)| value.replace("{o}", o)).join(", ")
}

fn index(table: &str, column: &str) -> String {
    format!("{table}_user_{}", column.trim_start_matches("order_"))
}

/// What both backends run first: the columns, filled from the orders, and
/// their indexes.
fn columns_and_indexes() -> Vec<String> {
    let mut statements = Vec::new();
    for (table, _) in LINKS {
        for (column, declared, _) in KEYS {
            statements.push(format!("ALTER TABLE {table} ADD COLUMN {column} {declared}"));
        }
        statements.push(format!(
            "UPDATE {table} SET ({}) = (SELECT {} FROM orders WHERE orders.id = {table}.order_id)",
            key_columns(),
            order_values("orders")
        ));
        for (column, _, _) in KEYS {
            statements.push(format!("CREATE INDEX {} ON {table} (user_id, {column}, order_id)", index(table, column)));
        }
    }
    statements
}

/// An order's keys changed: `OLD` and `NEW` differ in one of them.
fn keys_changed(distinct: &str) -> String {
    ["created_at", "updated_at", "priority", "due_at"].map(|c| format!("OLD.{c} {distinct} NEW.{c}")).join(" OR ")
}

/// The order `NEW` passes its keys to `table`'s rows.
fn pass_on(table: &str) -> String {
    format!("UPDATE {table} SET ({}) = ({}) WHERE order_id = NEW.id", key_columns(), order_values("NEW"))
}

fn postgres_up() -> Vec<String> {
    let mut statements = columns_and_indexes();
    statements.push(format!(
        "CREATE FUNCTION order_link_take_keys() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         SELECT {} INTO {} FROM orders o WHERE o.id = NEW.order_id; RETURN NEW; END $$",
        order_values("o"),
        KEYS.map(|(column, _, _)| format!("NEW.{column}")).join(", ")
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
        "CREATE TRIGGER orders_pass_keys AFTER UPDATE OF created_at, updated_at, priority, due_at ON orders \
         FOR EACH ROW WHEN ({}) EXECUTE FUNCTION orders_pass_keys()",
        keys_changed("IS DISTINCT FROM")
    ));
    for (table, _) in LINKS {
        statements.push(format!("ANALYZE {table}"));
    }
    statements
}

fn sqlite_up() -> Vec<String> {
    let mut statements = columns_and_indexes();
    for (table, this_row) in LINKS {
        let take = format!(
            "UPDATE {table} SET ({}) = (SELECT {} FROM orders WHERE orders.id = NEW.order_id) WHERE {this_row}",
            key_columns(),
            order_values("orders")
        );
        statements.push(format!("CREATE TRIGGER {table}_take_keys AFTER INSERT ON {table} BEGIN {take}; END"));
        statements.push(format!(
            "CREATE TRIGGER {table}_take_keys_on_move AFTER UPDATE OF order_id ON {table} BEGIN {take}; END"
        ));
    }
    statements.push(format!(
        "CREATE TRIGGER orders_pass_keys AFTER UPDATE OF created_at, updated_at, priority, due_at ON orders \
         WHEN {} BEGIN {}; END",
        keys_changed("IS NOT"),
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
        for (column, _, _) in KEYS {
            statements.push(format!("DROP INDEX {}", index(table, column)));
        }
        for (column, _, _) in KEYS {
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
}
