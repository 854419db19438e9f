//! Every migration's `down` undoes its `up`: the whole history goes down to
//! an empty database and up again, on both backends, and the application
//! then starts on it and answers.

mod common;

use std::sync::Arc;

use common::{Backend, TestDatabase};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, TransactionTrait};

backend_tests!(history_goes_down_and_up_again, link_rows_carry_their_orders_sort_keys);

async fn history_goes_down_and_up_again(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let url = creatable(backend, &database);
    // A pool of several connections, as the server migrates on its pool: a
    // migration's statements may run on different connections.
    let conn = workgate::db::connect_url(&url, 4).await.expect("connects");
    let all = Migrator::migrations().len();

    Migrator::up(&conn, None).await.expect("every migration applies");
    assert_eq!(Migrator::get_applied_migrations(&conn).await.expect("history").len(), all);
    conn.execute_unprepared("SELECT id FROM orders").await.expect("orders exists after up");

    Migrator::down(&conn, None).await.expect("every migration reverses");
    assert!(Migrator::get_applied_migrations(&conn).await.expect("history").is_empty());
    assert!(conn.execute_unprepared("SELECT id FROM orders").await.is_err(), "orders is gone after down");

    Migrator::up(&conn, None).await.expect("every migration applies again");
    assert_eq!(Migrator::get_applied_migrations(&conn).await.expect("history").len(), all);
    conn.close().await.expect("closes");

    let app = common::spawn_app_on(Arc::new(database), |_| {}).await;
    let admin = app.bootstrap("migrated").await.admin_user_id;
    let token = app.token_for(&admin);
    let answer = app.graphql(Some(&token), "{ orders(first: 1) { totalCount } }", serde_json::json!({})).await;
    assert_eq!(answer.assert_ok()["orders"]["totalCount"], 0);
}

/// `database`'s URL, for a SQLite file that the first connection creates.
fn creatable(backend: Backend, database: &TestDatabase) -> String {
    match backend {
        Backend::Sqlite => format!("{}?mode=rwc", database.url),
        Backend::Postgres => database.url.clone(),
    }
}

/// Columns that hold a code from the gateway's own vocabularies, beside the
/// ids (`id`, `*_id`, `*_by`, `scope_target`).
const CODES: [&str; 19] = [
    "number",
    "kind",
    "status",
    "role",
    "scope_kind",
    "send_state",
    "tag",
    "source",
    "decision",
    "visibility",
    "category",
    "sha256",
    "secret_hash",
    "entity_type",
    "action",
    "queue",
    "trigger",
    "state",
    "order_status",
];

/// On PostgreSQL, every text column holding an id or a code compares byte by
/// byte (`COLLATE "C"`, migration 10), and every other (names, titles,
/// notes) keeps the database's collation, so people's lists sort in its
/// locale. Read from the live schema, so a column a later migration adds is
/// held to the same rule. The columns' statistics survive the change. SQLite
/// compares every text byte by byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_and_codes_compare_byte_by_byte_on_postgres() {
    if !common::postgres_available() {
        return;
    }
    let database = TestDatabase::create(Backend::Postgres).await;
    let conn = workgate::db::connect_url(&database.url, 1).await.expect("connects");
    let sql = |text: &str| sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, text);
    let statistics = "SELECT attname::text AS c FROM pg_stats WHERE tablename = 'organizations' AND attname = 'id'";
    // PostgreSQL drops a column's statistics when its type changes: the
    // migration analyzes what it altered, or the planner would go without.
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261207_000010_identifiers_bytewise")
        .expect("migration 10 is in the history");
    Migrator::up(&conn, Some(u32::try_from(before).expect("a few"))).await.expect("migrations before 10 apply");
    conn.execute_unprepared(
        "INSERT INTO organizations (id, name, work_order_seq, purchase_order_seq, created_at) \
         VALUES ('org_a', 'A', 0, 0, 0), ('org_b', 'B', 0, 0, 0); ANALYZE organizations",
    )
    .await
    .expect("an analyzed organization table");
    assert_eq!(conn.query_all_raw(sql(statistics)).await.expect("statistics").len(), 1, "analyzed before");
    Migrator::up(&conn, None).await.expect("every migration applies");
    assert_eq!(conn.query_all_raw(sql(statistics)).await.expect("statistics").len(), 1, "and after migration 10");
    let rows = conn
        .query_all_raw(sql("SELECT table_name::text AS t, column_name::text AS c, collation_name::text AS collation \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND data_type = 'text' AND table_name <> 'seaql_migrations' \
             ORDER BY 1, 2"))
        .await
        .expect("reads the schema");
    assert!(rows.len() > 100, "the schema's text columns are read ({})", rows.len());
    let mut wrong = Vec::new();
    for row in rows {
        let table: String = row.try_get("", "t").expect("table");
        let column: String = row.try_get("", "c").expect("column");
        let collation: Option<String> = row.try_get("", "collation").expect("collation");
        let identifier = column == "id"
            || column.ends_with("_id")
            || column.ends_with("_by")
            || column == "scope_target"
            || CODES.contains(&column.as_str());
        if identifier != (collation.as_deref() == Some("C")) {
            wrong.push(format!("{table}.{column}: {collation:?}"));
        }
    }
    assert!(wrong.is_empty(), "ids and codes in \"C\", the rest in the database's collation: {wrong:#?}");
    conn.close().await.expect("closes");
}

/// The link rows of people to orders carry copies of their order's sort
/// keys (migration 11), and the copies are right: for rows inserted after
/// the migration (the synthetic organization's), for rows that existed
/// before it (migrated down and up again), and after the orders change.
async fn link_rows_carry_their_orders_sort_keys(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let url = creatable(backend, &database);
    let conn = workgate::db::connect_url(&url, 2).await.expect("connects");
    Migrator::up(&conn, None).await.expect("every migration applies");
    let shape = workgate::seed::Shape { orders: 600, sites: 5, users: 40, seed: 7 };
    workgate::seed::synthetic(&conn, shape).await.expect("seeds");
    let wrong = |conn: &sea_orm::DatabaseConnection| {
        let conn = conn.clone();
        async move {
            let mut found = Vec::new();
            for table in ["order_assignees", "approval_step_approvers"] {
                let sql = format!(
                    "SELECT COUNT(*) AS n, SUM(CASE WHEN l.order_created_at = o.created_at \
                     AND l.order_updated_at = o.updated_at AND l.order_priority = o.priority \
                     AND l.order_due = COALESCE(o.due_at, 9223372036854775807) \
                     AND l.order_status = o.status THEN 0 ELSE 1 END) AS wrong \
                     FROM {table} l JOIN orders o ON o.id = l.order_id"
                );
                let row = conn
                    .query_one_raw(sea_orm::Statement::from_string(conn.get_database_backend(), sql))
                    .await
                    .expect("reads the links")
                    .expect("a row");
                let n: i64 = row.try_get("", "n").expect("a count");
                let wrong: i64 = row.try_get("", "wrong").expect("a sum");
                assert!(n >= 10, "{table} holds rows to check ({n})");
                found.push((table, wrong));
            }
            found
        }
    };
    let none = vec![("order_assignees", 0), ("approval_step_approvers", 0)];
    assert_eq!(wrong(&conn).await, none, "links inserted after the migration");

    // Migration 11 and those after it.
    let after = Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name() == "m20261207_000011_link_sort_keys")
        .expect("migration 11 is in the history")
        + 1;
    Migrator::down(&conn, Some(u32::try_from(after).expect("a few"))).await.expect("migration 11 reverses");
    conn.execute_unprepared("UPDATE orders SET updated_at = updated_at + 1").await.expect("orders change");
    Migrator::up(&conn, None).await.expect("migration 11 applies again");
    assert_eq!(wrong(&conn).await, none, "links that were there before the migration");

    conn.execute_unprepared(
        "UPDATE orders SET updated_at = updated_at + 5, priority = 3 - priority, \
         due_at = CASE WHEN due_at IS NULL THEN created_at ELSE NULL END WHERE created_at % 2 = 0",
    )
    .await
    .expect("orders change");
    // The status alone, of orders with links of both kinds.
    conn.execute_unprepared(
        "UPDATE orders SET status = 'CANCELLED' WHERE status <> 'CANCELLED' AND id IN \
         (SELECT order_id FROM order_assignees UNION SELECT order_id FROM approval_step_approvers)",
    )
    .await
    .expect("orders change");
    conn.execute_unprepared("UPDATE orders SET created_at = created_at - 1 WHERE created_at % 3 = 0")
        .await
        .expect("orders change");
    assert_eq!(wrong(&conn).await, none, "links of orders that changed");
    conn.close().await.expect("closes");
}

/// On PostgreSQL, a link inserted while its order's update is under way,
/// and an order updated while a link to it is being inserted, each wait
/// for the other (the link's trigger reads its order `FOR SHARE`), so the
/// copy ends as the order does. Without the row lock, both orders of
/// events left the copy stale for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_writers_leave_no_stale_copy_on_postgres() {
    if !common::postgres_available() {
        return;
    }
    let database = TestDatabase::create(Backend::Postgres).await;
    let conn = workgate::db::connect_url(&database.url, 4).await.expect("connects");
    Migrator::up(&conn, None).await.expect("every migration applies");
    let shape = workgate::seed::Shape { orders: 50, sites: 2, users: 20, seed: 3 };
    workgate::seed::synthetic(&conn, shape).await.expect("seeds");
    let sql = |text: String| sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, text);
    let unlinked = "SELECT o.id AS o, u.id AS u FROM orders o JOIN users u ON u.organization_id = o.organization_id \
         WHERE NOT EXISTS (SELECT 1 FROM order_assignees a WHERE a.order_id = o.id AND a.user_id = u.id) \
         ORDER BY o.id, u.id LIMIT 2";
    let pairs: Vec<(String, String)> = conn
        .query_all_raw(sql(unlinked.to_owned()))
        .await
        .expect("reads")
        .into_iter()
        .map(|row| (row.try_get("", "o").expect("order"), row.try_get("", "u").expect("user")))
        .collect();
    assert_eq!(pairs.len(), 2, "two orders and people not yet linked");
    let copy = |order: String, user: String| {
        let conn = conn.clone();
        async move {
            let row = conn
                .query_one_raw(sql(format!(
                    "SELECT a.order_updated_at = o.updated_at AS same FROM order_assignees a \
                     JOIN orders o ON o.id = a.order_id WHERE a.order_id = '{order}' AND a.user_id = '{user}'"
                )))
                .await
                .expect("reads")
                .expect("the link");
            row.try_get::<bool>("", "same").expect("a comparison")
        }
    };
    let insert = |order: &str, user: &str| {
        format!("INSERT INTO order_assignees (order_id, user_id, assigned_at) VALUES ('{order}', '{user}', 0)")
    };
    let update = |order: &str| format!("UPDATE orders SET updated_at = updated_at + 7 WHERE id = '{order}'");

    let (order, user) = &pairs[0];
    race(&conn, update(order), insert(order, user)).await;
    assert!(copy(order.clone(), user.clone()).await, "a link inserted during its order's update");
    let (order, user) = &pairs[1];
    race(&conn, insert(order, user), update(order)).await;
    assert!(copy(order.clone(), user.clone()).await, "an order updated during a link's insert");
    conn.close().await.expect("closes");
}

/// Runs `open` in a transaction and, beside it, `next`, until `next`
/// waits for a lock or is done (either way it has gone as far as it can
/// while `open` is open); then commits `open` and waits for `next`.
async fn race(conn: &sea_orm::DatabaseConnection, open: String, next: String) {
    let sql = |text: &str| sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, text);
    let transaction = conn.begin().await.expect("begins");
    transaction.execute_unprepared(&open).await.expect("the first statement runs");
    let next = tokio::spawn({
        let conn = conn.clone();
        async move {
            conn.execute_unprepared(&next).await.expect("the second statement runs");
        }
    });
    let waiting = "SELECT 1 AS waiting FROM pg_stat_activity \
         WHERE wait_event_type = 'Lock' AND datname = current_database()";
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !next.is_finished() && conn.query_all_raw(sql(waiting)).await.expect("reads").is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the second statement neither waits nor ends in 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    transaction.commit().await.expect("commits");
    next.await.expect("the second statement ends");
}
