//! The `workgate` command as an operator runs it: configuration errors,
//! `bootstrap`, `token`, `schema`, `serve --demo`, `serve` with nothing
//! reading its output, and stopping with SIGTERM.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::process::Serve;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_workgate");

/// The command with a clean environment: only what the test sets.
fn workgate(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("WORKGATE_") {
            command.env_remove(key);
        }
    }
    command.env("RUST_LOG", "warn");
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("workgate runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn bad_configuration_stops_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (variable, value) in [
        ("WORKGATE_LISTEN", "not-an-address"),
        ("WORKGATE_DATABASE_URL", "mysql://nope"),
        ("WORKGATE_JWT_SECRET", "too-short"),
        ("WORKGATE_JWT_ALG", "none"),
        ("WORKGATE_JWT_PUBLIC_KEY", "/no/such/key.pem"),
        ("WORKGATE_REDIS_URL", "http://localhost"),
        ("WORKGATE_ENV", "staging"),
        ("WORKGATE_DATABASE_POOL", "0"),
    ] {
        let output = run(workgate(dir.path()).arg("migrate").env(variable, value));
        assert_eq!(output.status.code(), Some(2), "{variable}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "one line for {variable}: {stderr}");
        assert!(stderr.contains(variable), "{variable} named: {stderr}");
        assert!(!stderr.contains(value) || variable != "WORKGATE_JWT_SECRET", "secrets are not echoed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_is_idempotent_and_token_mints_a_working_jwt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = common::SECRET;
    let bootstrap = |email: &str| {
        run(workgate(dir.path()).env("WORKGATE_JWT_SECRET", secret).args([
            "bootstrap",
            "--org",
            "Acme Facilities",
            "--admin-name",
            "Ann Admin",
            "--admin-email",
            email,
        ]))
    };
    let first = bootstrap("ann@acme.example");
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let ids: Value = serde_json::from_str(stdout(&first).trim()).expect("one JSON line");
    assert_eq!(ids["created"], true);
    for key in ["organizationId", "accountId", "adminUserId"] {
        assert!(ids[key].as_str().is_some_and(|v| !v.is_empty()), "{key}");
    }
    let second = bootstrap("someone-else@acme.example");
    assert!(second.status.success());
    let again: Value = serde_json::from_str(stdout(&second).trim()).expect("one JSON line");
    assert_eq!(again["created"], false);
    for key in ["organizationId", "accountId", "adminUserId"] {
        assert_eq!(again[key], ids[key], "{key} unchanged");
    }
    let invalid = bootstrap("not-an-email");
    assert!(!invalid.status.success());
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("adminEmail"));

    let admin = ids["adminUserId"].as_str().expect("id");
    let token =
        run(workgate(dir.path()).env("WORKGATE_JWT_SECRET", secret).args(["token", "--user", admin, "--ttl", "10m"]));
    assert!(token.status.success(), "{}", String::from_utf8_lossy(&token.stderr));
    let token = stdout(&token).trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT");
    let unknown = run(workgate(dir.path()).env("WORKGATE_JWT_SECRET", secret).args(["token", "--user", "usr_nobody"]));
    assert_eq!(unknown.status.code(), Some(1));

    // The minted token signs the admin in on a server over the same database.
    let server = Serve::start(workgate(dir.path()).env("WORKGATE_JWT_SECRET", secret).arg("serve"));
    let me = me(&server, &token).await;
    assert_eq!(me["data"]["me"]["name"], "Ann Admin", "{me}");
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(workgate(dir.path()).arg("schema"));
    assert!(output.status.success());
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql is committed");
    assert!(
        stdout(&output) == committed,
        "schema.graphql differs from `workgate schema`: run `cargo run -- schema > schema.graphql` and commit it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_prints_tokens_that_answer_me() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Serve::start(workgate(dir.path()).args(["serve", "--demo"]));
    assert!(server.lines.iter().any(|l| l.contains("development mode")), "says it is development mode");
    assert!(dir.path().join(".workgate-dev-secret").exists(), "the generated secret is kept beside the database");
    let tokens: Vec<(String, String)> = server
        .lines
        .iter()
        .filter_map(|line| {
            let (label, token) = line.split_once("Bearer ")?;
            Some((label.split_whitespace().next()?.to_owned(), token.trim().to_owned()))
        })
        .collect();
    let labels: Vec<&str> = tokens.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, ["ADMIN", "PLANNER", "APPROVER", "TECHNICIAN", "REQUESTER", "VIEWER"]);
    for (label, token) in &tokens {
        let me = me(&server, token).await;
        assert!(me.get("errors").is_none(), "{label}: {me}");
        assert!(me["data"]["me"]["name"].as_str().is_some_and(|n| !n.is_empty()), "{label}: {me}");
        let roles: Vec<&str> = me["data"]["me"]["roleBindings"]
            .as_array()
            .expect("bindings")
            .iter()
            .filter_map(|b| b["role"].as_str())
            .collect();
        assert!(roles.contains(&label.as_str()), "{label} holds its role: {me}");
    }
    drop(server);

    // A second start seeds nothing new and prints tokens for the same people.
    let server = Serve::start(workgate(dir.path()).args(["serve", "--demo"]));
    let count = server.lines.iter().filter(|l| l.contains("Bearer ")).count();
    assert_eq!(count, 6);
}

/// SIGTERM: requests in flight finish, and WebSocket clients are told the
/// server is going away (1001), so that they reconnect at once elsewhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_websockets_with_going_away() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Serve::start(workgate(dir.path()).args(["serve", "--demo"]));
    let token = server
        .lines
        .iter()
        .find_map(|line| {
            line.trim_start().strip_prefix("ADMIN").and_then(|rest| rest.split_once("Bearer ")).map(|(_, t)| t.trim())
        })
        .expect("the ADMIN token printed")
        .to_owned();
    let mut ws = common::ws::WsClient::connect(&server.base, &token).await;
    ws.subscribe("1", "subscription { assignmentChanged { kind } }", json!({})).await;
    // The subscription is running once a ping round trip after it is done.
    ws.send(json!({ "type": "ping" })).await;
    assert_eq!(ws.message().await["type"], "pong");

    let terminated = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().expect("kill runs");
    assert!(terminated.success());
    let closed = ws.message().await;
    assert_eq!(closed, json!({ "type": "closed", "code": 1001 }));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("status") {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "the server did not stop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "stopped cleanly: {status}");
}

/// `serve` keeps serving when nothing reads its start-up lines any more:
/// its stdout is a pipe closed before it prints, and it is found by the
/// address it logs on stderr.
#[tokio::test]
async fn serve_outlives_a_closed_stdout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = workgate(dir.path())
        .arg("serve")
        .env("WORKGATE_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("workgate serve starts");
    drop(child.stdout.take());
    let rx = common::process::lines_of(child.stderr.take().expect("stderr"));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let address = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("the server logs where it listens");
        if let Some((_, rest)) = line.split_once("listening").and_then(|(_, rest)| rest.split_once("127.0.0.1:")) {
            let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
            break format!("127.0.0.1:{port}");
        }
    };
    let client = reqwest::Client::new();
    let answered = common::eventually("the server to answer after its start-up lines", Duration::from_secs(30), || {
        let url = format!("http://{address}/graphql");
        let client = client.clone();
        async move {
            let response = client.post(url).json(&json!({ "query": "{ __typename }" })).send().await.ok()?;
            response.status().is_success().then_some(())
        }
    });
    answered.await;
    assert!(child.try_wait().expect("status").is_none(), "the server is still running");
    let _ = child.kill();
    let _ = child.wait();
}

/// `me` as the bearer of `token`.
async fn me(server: &Serve, token: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{}/graphql", server.base))
        .bearer_auth(token)
        .timeout(Duration::from_secs(10))
        .json(&json!({ "query": "{ me { id name roleBindings { role } } }" }))
        .send()
        .await
        .expect("server answers")
        .json()
        .await
        .expect("JSON body")
}
