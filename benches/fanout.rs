//! Subscription fan-out: N WebSocket subscribers on one `workgate serve`
//! process (a child, so that its memory and CPU are its own), order events
//! at a fixed rate, and then as fast as eight writers can make them.
//!
//! Reports, for each N: memory per idle subscriber (the server's RSS before
//! and after the subscribers connect, divided by N); event-to-delivery
//! latency (the event's `at`, taken in the change's transaction, to its
//! arrival at the client: relay, bus, hub, policy, GraphQL, socket) median,
//! p99 and max; deliveries missing; events per second sustained; the
//! server's CPU.
//!
//! The organization: `USERS` technicians of one site, `ORDERS` orders there.
//! Subscriber i is technician i % USERS watching `orderChanged` of order
//! i % ORDERS, so an event reaches N / ORDERS subscribers, while every
//! subscription on the instance wakes for it and is filtered. The events are
//! PUBLIC notes added by an admin.
//!
//! `cargo bench --bench fanout` runs on a SQLite file with the in-process
//! bus. `WORKGATE_BENCH_DATABASE_URL=postgres://...` (a database of its own
//! is created and dropped) and `WORKGATE_BENCH_REDIS_URL=redis://...` run it
//! on PostgreSQL and Redis. `FANOUT_SUBSCRIBERS` (default `1000,10000`),
//! `FANOUT_RATE` (events/s, default 50) and `FANOUT_SECONDS` (default 10)
//! change the run; `FANOUT_SERVER_WRAPPER` runs the server under a
//! profiler. Results are in BENCHMARKS.md.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use workgate::audit::AuditActor;
use workgate::config::{Config, RawConfig};
use workgate::org::input::{Email, Name};
use workgate::org::model::{Role, ScopeKind};
use workgate::org::service;

const SECRET: &str = "bench-secret-bench-secret-bench-secret-0123456789";
const METRICS_TOKEN: &str = "bench-metrics-token-0123456789";
const USERS: usize = 500;
const ORDERS: usize = 100;
const SATURATION_WRITERS: usize = 8;
const DEADLINE: Duration = Duration::from_secs(300);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The server under test.
struct Server {
    child: Child,
    base: String,
    client: reqwest::Client,
}

impl Server {
    fn start(database_url: &str, redis_url: Option<&str>) -> Self {
        // FANOUT_SERVER_WRAPPER runs the server under a profiler, e.g.
        // `valgrind --tool=massif --massif-out-file=massif.out`.
        let wrapper = std::env::var("FANOUT_SERVER_WRAPPER").unwrap_or_default();
        let mut words = wrapper.split_whitespace();
        let mut command = match words.next() {
            Some(program) => {
                let mut command = Command::new(program);
                command.args(words).arg(env!("CARGO_BIN_EXE_workgate"));
                command
            }
            None => Command::new(env!("CARGO_BIN_EXE_workgate")),
        };
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("WORKGATE_")) {
            command.env_remove(key);
        }
        command
            .arg("serve")
            .env("WORKGATE_DATABASE_URL", database_url)
            .env("WORKGATE_DATABASE_POOL", "16")
            .env("WORKGATE_LISTEN", "127.0.0.1:0")
            .env("WORKGATE_JWT_SECRET", SECRET)
            .env("WORKGATE_METRICS_TOKEN", METRICS_TOKEN)
            // Thousands of subscriptions from a few principals.
            .env("WORKGATE_RATE_LIMIT", "off")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(redis) = redis_url {
            command.env("WORKGATE_REDIS_URL", redis);
        }
        let mut child = command.spawn().expect("workgate serve starts");
        // Read on until it ends: a closed pipe would fail the server's
        // later lines.
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("GraphiQL: ") {
                    let _ = tx.send(url.trim_end_matches("/graphql").to_owned());
                }
            }
        });
        let base = rx.recv_timeout(Duration::from_secs(120)).expect("the server prints its address");
        Self { child, base, client: reqwest::Client::new() }
    }

    /// Resident memory, in bytes.
    fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("status");
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS");
        kb * 1024
    }

    /// CPU time used so far (user + system), in seconds.
    fn cpu(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).expect("stat");
        let fields: Vec<&str> = stat.rsplit_once(") ").expect("stat fields").1.split(' ').collect();
        let ticks: f64 = fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
        ticks / 100.0
    }

    async fn metric(&self, name: &str) -> f64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.base))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .map_or(0.0, |v| v.trim().parse().expect("number"))
    }

    async fn call(&self, token: &str, query: &str, variables: Value) -> Value {
        support::call(&self.client, &format!("{}/graphql", self.base), token, query, variables).await
    }
}

impl Drop for Server {
    /// SIGTERM first (a profiler wrapping the server writes its report on
    /// the way out), SIGKILL if it has not stopped within a minute.
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct World {
    admin: String,
    technicians: Vec<String>,
    orders: Vec<String>,
}

async fn world(server: &Server, database_url: &str) -> World {
    let db = workgate::db::connect_url(database_url, 2).await.expect("database");
    let config =
        Config::from_raw(&RawConfig { jwt_secret: Some(SECRET.into()), ..RawConfig::default() }).expect("config");
    let mint =
        |user: &str| workgate::auth::jwt::mint_hs256(&config.jwt, user, Duration::from_secs(3 * 3600)).expect("token");
    let boot = service::bootstrap(&db, "Bench", "Admin", "admin@bench.example").await.expect("bootstrap");
    let (org, root) = (boot.organization_id, boot.account_id);
    let name = |n: &str| Name::parse("name", n).expect("name");
    let site = service::create_site(&db, AuditActor::System, &org, &root, name("Plant"), &[]).await.expect("site");
    let mut technicians = Vec::new();
    for n in 0..USERS {
        let email = Email::parse("email", &format!("tech{n}@bench.example")).expect("email");
        let user = service::create_user(&db, AuditActor::System, &org, &root, name(&format!("Tech {n}")), email, true)
            .await
            .expect("user");
        service::grant_role(&db, AuditActor::System, &org, &user.id, Role::Technician, ScopeKind::Site, &site.id)
            .await
            .expect("role");
        technicians.push(mint(&user.id));
    }
    let admin = mint(&boot.admin_user_id);
    let mut orders = Vec::new();
    for n in 0..ORDERS {
        let input = json!({ "kind": "WORK", "title": format!("Order {n}"), "siteId": site.id });
        let created = server
            .call(&admin, "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id } }", json!({ "i": input }))
            .await;
        orders.push(created["data"]["createOrder"]["id"].as_str().expect("id").to_owned());
    }
    World { admin, technicians, orders }
}

/// What the subscribers measured.
#[derive(Default)]
struct Deliveries {
    /// Event-to-delivery latencies, in microseconds.
    latencies: Vec<i64>,
}

/// One subscriber: connects, subscribes, and records each event's latency
/// until told to stop.
async fn subscriber(base: String, token: String, order: String, seen: Arc<Mutex<Deliveries>>) {
    let url = format!("{base}/graphql/ws").replacen("http", "ws", 1);
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().expect("header"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("upgrade");
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    socket.send(Message::text(init.to_string())).await.expect("init");
    let query = "subscription($id: ID!) { orderChanged(id: $id) { cursor at kind } }";
    let subscribe =
        json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": { "id": order } } });
    socket.send(Message::text(subscribe.to_string())).await.expect("subscribe");
    while let Some(Ok(frame)) = socket.next().await {
        let Message::Text(text) = frame else { continue };
        let arrived = workgate::time::now_micros();
        let message: Value = serde_json::from_str(&text).expect("json");
        match message["type"].as_str() {
            Some("next") => {
                let at = message["payload"]["data"]["orderChanged"]["at"].as_str().expect("at");
                let at = chrono::DateTime::parse_from_rfc3339(at).expect("instant").timestamp_micros();
                seen.lock().expect("lock").latencies.push(arrived - at);
            }
            Some("ping") => socket.send(Message::text(json!({ "type": "pong" }).to_string())).await.expect("pong"),
            Some("connection_ack") => {}
            other => panic!("unexpected message {other:?}: {text}"),
        }
    }
}

fn percentile(sorted: &[i64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index] as f64 / 1000.0
}

async fn note(server: &Server, admin: &str, order: &str) {
    let add = "mutation($o: ID!) { addNote(orderId: $o, body: \"Checked\", visibility: PUBLIC) { id } }";
    server.call(admin, add, json!({ "o": order })).await;
}

/// Latency summary of what arrived since `from`, and how many deliveries.
fn summary(seen: &Mutex<Deliveries>, from: usize) -> (usize, f64, f64, f64) {
    let mut latencies = seen.lock().expect("lock").latencies[from..].to_vec();
    latencies.sort_unstable();
    let max = latencies.last().map_or(f64::NAN, |m| *m as f64 / 1000.0);
    (latencies.len(), percentile(&latencies, 0.5), percentile(&latencies, 0.99), max)
}

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run(label: &str, database_url: &str, redis_url: Option<&str>) {
    let server = Arc::new(Server::start(database_url, redis_url));
    let world = Arc::new(world(&server, database_url).await);
    let rate: f64 = env_or("FANOUT_RATE", 50.0);
    let seconds: f64 = env_or("FANOUT_SECONDS", 10.0);
    let counts: Vec<usize> = std::env::var("FANOUT_SUBSCRIBERS")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let seen = Arc::new(Mutex::new(Deliveries::default()));
    let mut tasks = Vec::new();
    println!("{label}: {USERS} technicians, {ORDERS} orders; each event reaches subscribers / {ORDERS}");
    for n in counts {
        // Idle memory: the server's RSS before and after the subscribers.
        let before = server.rss();
        let open = tasks.len();
        for i in open..n {
            let (token, order) = (world.technicians[i % USERS].clone(), world.orders[i % ORDERS].clone());
            tasks.push(tokio::spawn(subscriber(server.base.clone(), token, order, seen.clone())));
            if i % 200 == 199 {
                let target = (i + 1) as f64;
                wait_for("subscribers", async || server.metric("workgate_subscriptions").await >= target).await;
            }
        }
        wait_for("subscribers", async || server.metric("workgate_subscriptions").await >= n as f64).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let per_idle = (server.rss().saturating_sub(before)) as f64 / (n - open) as f64;

        // A fixed rate, open loop: a note every 1/rate s, whatever the last
        // one's answer time.
        let from = seen.lock().expect("lock").latencies.len();
        let delivered_before = server.metric("workgate_events_delivered_total").await;
        let cpu_before = server.cpu();
        let events = (rate * seconds) as usize;
        let started = Instant::now();
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
        let mut writes = Vec::new();
        for e in 0..events {
            ticker.tick().await;
            let (server, world) = (server.clone(), world.clone());
            writes.push(tokio::spawn(async move { note(&server, &world.admin, &world.orders[e % ORDERS]).await }));
        }
        for write in writes {
            write.await.expect("write");
        }
        let expected = (delivered_before as usize + events) as f64;
        wait_for("the events to be delivered", async || {
            server.metric("workgate_events_delivered_total").await >= expected
        })
        .await;
        let per_event = n / ORDERS;
        let wanted = events * per_event;
        let settle = Instant::now() + Duration::from_secs(10);
        while seen.lock().expect("lock").latencies.len() - from < wanted && Instant::now() < settle {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let cpu = (server.cpu() - cpu_before) / started.elapsed().as_secs_f64();
        let (count, median, p99, max) = summary(&seen, from);
        println!(
            "{label}: {n:>5} subscribers: {:.1} kB RSS per idle subscriber; {rate} events/s for {seconds} s: \
             {count}/{wanted} deliveries, latency median {median:.1} ms, p99 {p99:.1} ms, max {max:.1} ms; \
             server CPU {:.0}%",
            per_idle / 1024.0,
            cpu * 100.0
        );

        // Saturation: eight writers as fast as they can.
        let from = seen.lock().expect("lock").latencies.len();
        let delivered_before = server.metric("workgate_events_delivered_total").await;
        let until = Instant::now() + Duration::from_secs_f64(seconds);
        let started = Instant::now();
        let writers: Vec<_> = (0..SATURATION_WRITERS)
            .map(|w| {
                let (server, world) = (server.clone(), world.clone());
                tokio::spawn(async move {
                    let mut made = 0;
                    while Instant::now() < until {
                        note(&server, &world.admin, &world.orders[(w + made * SATURATION_WRITERS) % ORDERS]).await;
                        made += 1;
                    }
                    made
                })
            })
            .collect();
        let mut made = 0;
        for writer in writers {
            made += writer.await.expect("writer");
        }
        let expected = delivered_before + made as f64;
        wait_for("the events to be delivered", async || {
            server.metric("workgate_events_delivered_total").await >= expected
        })
        .await;
        let elapsed = started.elapsed().as_secs_f64();
        let settle = Instant::now() + Duration::from_secs(10);
        while seen.lock().expect("lock").latencies.len() - from < made * per_event && Instant::now() < settle {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (count, median, p99, max) = summary(&seen, from);
        println!(
            "{label}: {n:>5} subscribers: saturation, {SATURATION_WRITERS} writers: {made} events in {elapsed:.1} s = \
             {:.0} events/s, {count}/{} deliveries, latency median {median:.1} ms, p99 {p99:.1} ms, max {max:.1} ms",
            made as f64 / elapsed,
            made * per_event
        );
    }
    for task in tasks {
        task.abort();
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let redis = std::env::var("WORKGATE_BENCH_REDIS_URL").ok().filter(|r| !r.is_empty());
        let database = support::BenchDatabase::create("wgfanout").await;
        let label = match (database.label, &redis) {
            ("PostgreSQL", Some(_)) => "PostgreSQL + Redis",
            (label, _) => label,
        };
        run(label, &database.url, redis.as_deref()).await;
        database.drop_database().await;
    });
}
