//! Every migration's `down` undoes its `up`: the whole history goes down to
//! an empty database and up again, on both backends, and the application
//! then starts on it and answers.

mod common;

use std::sync::Arc;

use common::{Backend, TestDatabase};
use migration::{Migrator, MigratorTrait};
use sea_orm::ConnectionTrait;

backend_tests!(history_goes_down_and_up_again);

async fn history_goes_down_and_up_again(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let url = match backend {
        Backend::Sqlite => format!("{}?mode=rwc", database.url),
        Backend::Postgres => database.url.clone(),
    };
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
