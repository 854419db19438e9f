//! The one test harness: spawns the real application on 127.0.0.1 port 0
//! with a database of its own (a SQLite file in a temp dir, or a fresh
//! PostgreSQL database), and offers request and set-up helpers.
//!
//! PostgreSQL runs when `WORKGATE_TEST_DATABASE_URL` names a server (any
//! database on it; each test creates and drops its own), Redis when
//! `WORKGATE_TEST_REDIS_URL` is set too. Without them the PostgreSQL variant
//! of each test prints one "skipped" line, unless `CI=true`, where it fails.
#![allow(dead_code)]

pub mod process;
pub mod smtp;
pub mod world;
pub mod ws;

use std::io::Write;
use std::sync::{Arc, Once};
use std::time::Duration;

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};
use workgate::config::{Config, RawConfig};
use workgate::startup::Application;

pub const SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a scenario `async fn name(backend: Backend)` on SQLite and on
/// PostgreSQL (when configured), as two tests `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::common::postgres_available() {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            }
        }
    )*};
}

/// Whether PostgreSQL tests can run; prints the "skipped" line once per test
/// binary, or fails under CI.
pub fn postgres_available() -> bool {
    if std::env::var("WORKGATE_TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but WORKGATE_TEST_DATABASE_URL is not set: PostgreSQL tests must run in CI"
    );
    static SKIP: Once = Once::new();
    SKIP.call_once(|| {
        // Written past the test harness's capture so it is seen.
        let _ = writeln!(
            std::io::stderr().lock(),
            "skipped: PostgreSQL tests (set WORKGATE_TEST_DATABASE_URL to run them)"
        );
    });
    false
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    pub config: Config,
    pub backend: Backend,
    /// Counts every SQL statement the app runs.
    pub statements: workgate::db::StatementCounter,
    /// The database (and temp dir) the app runs on, kept while it lives.
    pub database: Arc<TestDatabase>,
}

/// A database of one test: a SQLite file in a temp dir, or a fresh
/// PostgreSQL database (dropped when the test ends). The temp dir holds the
/// mail folder either way.
pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    pub dir: tempfile::TempDir,
    _pg: Option<PgDatabase>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, pg) = match backend {
            Backend::Sqlite => (format!("sqlite://{}/workgate.db", dir.path().display()), None),
            Backend::Postgres => {
                let pg = PgDatabase::create().await;
                (pg.url.clone(), Some(pg))
            }
        };
        Self { backend, url, dir, _pg: pg }
    }

    /// The Redis URL the app uses on this backend, if any.
    pub fn redis_url(&self) -> Option<String> {
        match self.backend {
            Backend::Postgres => std::env::var("WORKGATE_TEST_REDIS_URL").ok().filter(|v| !v.is_empty()),
            Backend::Sqlite => None,
        }
    }
}

/// Spawns the app with the default test configuration.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Spawns the app after `tweak` adjusts the raw configuration (the same
/// strings the environment would give).
pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut RawConfig)) -> TestApp {
    spawn_app_on(Arc::new(TestDatabase::create(backend).await), tweak).await
}

/// Spawns the app on an existing test database (a second instance, or one
/// that takes over from a stopped process).
pub async fn spawn_app_on(database: Arc<TestDatabase>, tweak: impl FnOnce(&mut RawConfig)) -> TestApp {
    let backend = database.backend;
    let mut raw = RawConfig {
        database_url: Some(database.url.clone()),
        redis_url: database.redis_url(),
        redis_channel: Some(format!("workgate-test:{}", uuid::Uuid::now_v7().simple())),
        listen: Some("127.0.0.1:0".into()),
        jwt_secret: Some(SECRET.into()),
        jwt_public_key: None,
        jwt_alg: None,
        jwt_issuer: None,
        jwt_audience: None,
        environment: None,
        database_pool: Some("5".into()),
        max_attachment_bytes: None,
        mail_dir: Some(database.dir.path().join("mail").display().to_string()),
        // Tests run thousands of operations as one principal; the limits
        // have their own tests (security_rate_limits.rs).
        rate_limit: Some("off".into()),
        rate_limit_anonymous: Some("off".into()),
        ..RawConfig::default()
    };
    tweak(&mut raw);
    let config = Config::from_raw(&raw).expect("valid test configuration");
    let app = Application::build(config.clone()).await.expect("application starts");
    let address = format!("http://{}", app.address());
    let db = app.state().db.clone();
    let statements = app.state().statements.clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client"),
        db,
        config,
        backend,
        statements,
        database,
    }
}

/// A parsed GraphQL response with its HTTP status.
#[derive(Debug)]
pub struct GqlResponse {
    pub status: StatusCode,
    pub body: Value,
}

impl GqlResponse {
    /// `extensions.code` of the first error.
    pub fn code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
    pub fn assert_ok(&self) -> &Value {
        assert!(self.body.get("errors").is_none(), "unexpected errors: {}", self.body);
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        &self.body["data"]
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// POSTs a query as JSON, with a bearer token when given.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> GqlResponse {
        let mut request =
            self.client.post(self.url("/graphql")).json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let body = response.json().await.expect("JSON body");
        GqlResponse { status, body }
    }

    /// Creates an organization and returns its ids.
    pub async fn bootstrap(&self, org: &str) -> workgate::org::service::BootstrapOutcome {
        workgate::org::service::bootstrap(
            &self.db,
            org,
            "First Admin",
            &format!("admin@{}.example", org.to_lowercase().replace(' ', "-")),
        )
        .await
        .expect("bootstrap")
    }

    /// A valid JWT for `user_id` from the configured secret.
    pub fn token_for(&self, user_id: &str) -> String {
        workgate::auth::jwt::mint_hs256(&self.config.jwt, user_id, Duration::from_secs(600)).expect("mint")
    }

    /// Adds a user to an account.
    pub async fn create_user(&self, org: &str, account: &str, name: &str, email: &str, can_login: bool) -> String {
        use workgate::org::input::{Email, Name};
        workgate::org::service::create_user(
            &self.db,
            workgate::audit::AuditActor::System,
            org,
            account,
            Name::parse("name", name).expect("name"),
            Email::parse("email", email).expect("email"),
            can_login,
        )
        .await
        .expect("user created")
        .id
    }

    /// Creates a site in `account_id` through the API, as the bearer of `token`.
    pub async fn create_site(&self, token: &str, account_id: &str, name: &str) -> String {
        let query = "mutation($a: ID!, $n: String!) { createSite(name: $n, accountId: $a) { id } }";
        let created = self.graphql(Some(token), query, json!({ "a": account_id, "n": name })).await;
        created.assert_ok()["createSite"]["id"].as_str().expect("site id").to_owned()
    }

    /// Runs raw SQL against the app's database (for forcing broken states).
    /// The server's metric `name` (with labels, as printed), read from
    /// `/metrics` with `token`; 0 when absent.
    pub async fn metric(&self, token: &str, name: &str) -> f64 {
        self.metrics_text(token)
            .await
            .lines()
            .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .map_or(0.0, |value| value.trim().parse().expect("a number"))
    }

    /// `/metrics` as the bearer of `token`.
    pub async fn metrics_text(&self, token: &str) -> String {
        let response = self.client.get(self.url("/metrics")).bearer_auth(token).send().await;
        response.expect("metrics answered").text().await.expect("metrics text")
    }

    pub async fn execute_sql(&self, sql: &str) {
        self.db.execute_unprepared(sql).await.expect("sql runs");
    }
}

/// A PostgreSQL database of one test, dropped when the test ends.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    async fn create() -> Self {
        let admin_url = std::env::var("WORKGATE_TEST_DATABASE_URL").expect("checked by postgres_available");
        let name = format!("wgtest_{}", uuid::Uuid::now_v7().simple());
        let admin = workgate::db::connect_url(&admin_url, 1).await.expect("connect to the PostgreSQL test server");
        admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create test database");
        let _ = admin.close().await;
        let url = with_database(&admin_url, &name);
        Self { admin_url, name, url }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime; use a runtime of our own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let admin = workgate::db::connect_url(&admin_url, 1).await.ok()?;
                admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.ok()?;
                admin.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: test database {} was not dropped", self.name);
        }
    }
}

/// The URL of database `name` on the server `url` points at.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Polls `check` until it yields a value or the deadline passes.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = tokio::time::Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(start.elapsed() < deadline, "timed out after {deadline:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
