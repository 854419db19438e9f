//! Workflow throughput: transitions per second through the real HTTP API,
//! each with its audit event and order event, at 1 and 32 concurrent
//! clients. Each client cycles its own order through start ->
//! submitForReview -> requestRework (three transitions, two people).
//!
//! `cargo bench --bench transitions` runs on a SQLite file in a temp dir;
//! with `WORKGATE_BENCH_DATABASE_URL=postgres://...` (a server; a database
//! of its own is created and dropped) it runs on PostgreSQL. Results are in
//! BENCHMARKS.md.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use workgate::audit::AuditActor;
use workgate::config::{Config, RawConfig};
use workgate::org::input::{Email, Name};
use workgate::org::model::{Role, ScopeKind};
use workgate::org::service;
use workgate::startup::Application;

const SECRET: &str = "bench-secret-bench-secret-bench-secret-0123456789";
const RUN: Duration = Duration::from_secs(5);

struct Bench {
    url: String,
    client: reqwest::Client,
    tech_token: String,
    tech_id: String,
    planner_token: String,
    site: String,
}

impl Bench {
    async fn call(&self, token: &str, query: &str, variables: Value) -> Value {
        support::call(&self.client, &self.url, token, query, variables).await
    }

    /// One client: its own order, cycled until `until`; returns the number
    /// of transitions done.
    async fn client(&self, until: Instant) -> u64 {
        let created = self
            .call(
                &self.planner_token,
                "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id version } }",
                json!({ "i": { "kind": "WORK", "title": "Bench", "siteId": self.site, "assigneeIds": [self.tech_id] } }),
            )
            .await;
        let id = created["data"]["createOrder"]["id"].as_str().expect("id").to_owned();
        let mut version = 1;
        let mut done = 0;
        while Instant::now() < until {
            let steps: [(&str, &str); 3] = [
                (&self.tech_token, "mutation($id: ID!, $v: Int!) { start(id: $id, version: $v) { version } }"),
                (
                    &self.tech_token,
                    "mutation($id: ID!, $v: Int!) { submitForReview(id: $id, version: $v, resolution: \"done\") { version } }",
                ),
                (
                    &self.planner_token,
                    "mutation($id: ID!, $v: Int!) { requestRework(id: $id, version: $v, reason: \"again\") { version } }",
                ),
            ];
            for (token, query) in steps {
                self.call(token, query, json!({ "id": id, "v": version })).await;
                version += 1;
                done += 1;
            }
        }
        done
    }
}

async fn setup(database_url: String) -> Bench {
    let raw = RawConfig {
        database_url: Some(database_url),
        redis_url: None,
        redis_channel: None,
        listen: Some("127.0.0.1:0".into()),
        jwt_secret: Some(SECRET.into()),
        jwt_public_key: None,
        jwt_alg: None,
        jwt_issuer: None,
        jwt_audience: None,
        environment: None,
        database_pool: Some("16".into()),
        max_attachment_bytes: None,
        ..RawConfig::default()
    };
    let config = Config::from_raw(&raw).expect("config");
    let app = Application::build(config.clone()).await.expect("app");
    let url = format!("http://{}/graphql", app.address());
    let db = app.state().db.clone();
    tokio::spawn(app.run_until_stopped());

    let boot = service::bootstrap(&db, "Bench", "Admin", "admin@bench.example").await.expect("bootstrap");
    let (org, root) = (boot.organization_id, boot.account_id);
    let name = |n: &str| Name::parse("name", n).expect("name");
    let site = service::create_site(&db, AuditActor::System, &org, &root, name("Plant"), &[]).await.expect("site");
    let mut tokens = Vec::new();
    for (who, role) in [("tech", Role::Technician), ("planner", Role::Planner)] {
        let email = Email::parse("email", &format!("{who}@bench.example")).expect("email");
        let user =
            service::create_user(&db, AuditActor::System, &org, &root, name(who), email, true).await.expect("user");
        service::grant_role(&db, AuditActor::System, &org, &user.id, role, ScopeKind::Account, "").await.expect("role");
        let token = workgate::auth::jwt::mint_hs256(&config.jwt, &user.id, Duration::from_secs(3600)).expect("token");
        tokens.push((token, user.id));
    }
    let ((tech_token, tech_id), (planner_token, _)) = (tokens.remove(0), tokens.remove(0));
    Bench { url, client: reqwest::Client::new(), tech_token, tech_id, planner_token, site: site.id }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let database = support::BenchDatabase::create("wgbench").await;
        let label = database.label;
        let bench = std::sync::Arc::new(setup(database.url.clone()).await);
        for clients in [1, 32] {
            let until = Instant::now() + RUN;
            let started = Instant::now();
            let tasks: Vec<_> = (0..clients)
                .map(|_| {
                    let bench = bench.clone();
                    tokio::spawn(async move { bench.client(until).await })
                })
                .collect();
            let mut total = 0;
            for task in tasks {
                total += task.await.expect("client");
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{label}: {clients:>2} client(s): {total} transitions in {secs:.1} s = {:.0} transitions/s",
                total as f64 / secs
            );
        }
        database.drop_database().await;
    });
}
