//! A real client that nobody here wrote: the `graphql-ws` npm package
//! (pinned in `tests/graphql-ws/package-lock.json`, installed with `npm ci`
//! under the target directory on first use) subscribes to an order, gets
//! its replayed creation and a live edit.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::{Duration, Instant};

use common::{Backend, spawn_app};
use serde_json::{Value, json};

backend_tests!(the_graphql_ws_npm_client_subscribes);

/// The client's folder with its node_modules, made once per target dir.
fn client_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/graphql-ws");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("graphql-ws-client");
        std::fs::create_dir_all(&dir).expect("client dir");
        for file in ["package.json", "package-lock.json", "client.mjs"] {
            std::fs::copy(source.join(file), dir.join(file)).expect("copy the client");
        }
        if !dir.join("node_modules/graphql-ws").exists() {
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .status()
                .expect("npm runs (Node.js and npm are needed for this test)");
            assert!(status.success(), "npm ci failed ({status}); this test needs the npm registry once");
        }
        dir
    })
    .clone()
}

async fn the_graphql_ws_npm_client_subscribes(backend: Backend) {
    let app = spawn_app(backend).await;
    let boot = app.bootstrap("Npm").await;
    let site = app.site(&boot.organization_id, &boot.account_id, "Plant").await;
    let token = app.token_for(&boot.admin_user_id);
    let input = json!({ "kind": "WORK", "title": "From npm", "siteId": site });
    let data = app
        .graphql(
            Some(&token),
            "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id } }",
            json!({ "i": input }),
        )
        .await;
    let id = data.assert_ok()["createOrder"]["id"].as_str().expect("id").to_owned();

    let dir = client_dir();
    let ws_url = app.url("/graphql/ws").replacen("http", "ws", 1);
    let mut child = Command::new("node")
        .arg(dir.join("client.mjs"))
        .args([ws_url.as_str(), token.as_str(), id.as_str(), "2"])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let next = |what: &str| -> Value {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("the npm client printed no {what} in time"));
        serde_json::from_str(&line).expect("a JSON line")
    };
    let created = next("replayed event");
    assert_eq!(created["data"]["orderChanged"]["kind"], json!("CREATED"), "{created}");
    let edit = "mutation($id: ID!) { editOrder(id: $id, version: 1, input: { title: \"Edited for npm\" }) { id } }";
    app.graphql(Some(&token), edit, json!({ "id": id })).await.assert_ok();
    let edited = next("live event");
    assert_eq!(edited["data"]["orderChanged"]["order"]["title"], json!("Edited for npm"), "{edited}");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the npm client did not exit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "the npm client exited with {status}");
}
