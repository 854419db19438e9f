//! What the benchmarks share: a database of their own, and GraphQL calls
//! that must succeed.

use serde_json::{Value, json};

/// Where a benchmark runs: a SQLite file in a temporary folder, or, with
/// `WORKGATE_BENCH_DATABASE_URL=postgres://...`, a PostgreSQL database of
/// its own, dropped by [`BenchDatabase::drop_database`].
pub struct BenchDatabase {
    pub label: &'static str,
    pub url: String,
    postgres: Option<(sea_orm::DatabaseConnection, String)>,
    _dir: tempfile::TempDir,
}

impl BenchDatabase {
    pub async fn create(prefix: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match std::env::var("WORKGATE_BENCH_DATABASE_URL") {
            Ok(server) if !server.is_empty() => {
                let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
                let admin = workgate::db::connect_url(&server, 1).await.expect("postgres");
                sea_orm::ConnectionTrait::execute_unprepared(&admin, &format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create database");
                let base = server.rsplit_once('/').map_or(server.as_str(), |(base, _)| base).to_owned();
                Self { label: "PostgreSQL", url: format!("{base}/{name}"), postgres: Some((admin, name)), _dir: dir }
            }
            _ => {
                let url = format!("sqlite://{}/{prefix}.db", dir.path().display());
                Self { label: "SQLite", url, postgres: None, _dir: dir }
            }
        }
    }

    pub async fn drop_database(self) {
        if let Some((admin, name)) = self.postgres {
            let drop = format!("DROP DATABASE \"{name}\" WITH (FORCE)");
            let _ = sea_orm::ConnectionTrait::execute_unprepared(&admin, &drop).await;
        }
    }
}

/// Posts a GraphQL operation to `url` as the bearer of `token`; panics on
/// any error, so that a benchmark never measures refusals.
pub async fn call(client: &reqwest::Client, url: &str, token: &str, query: &str, variables: Value) -> Value {
    let body: Value = client
        .post(url)
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert!(body.get("errors").is_none(), "{body}");
    body
}
