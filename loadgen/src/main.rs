//! `workgate-load`: issue 8's load generator. One command makes a fresh
//! database, seeds it (`workgate::seed::synthetic`), starts `workgate
//! serve` as a child process, and runs each scenario for each principal:
//! closed-loop at a fixed number of connections, open-loop at a fixed
//! arrival rate, the dashboard's and the detail's SQL directly against the
//! database (their ceilings), and WebSocket fan-out. It prints a table
//! and writes every figure as JSON. BENCHMARKS.md has the commands and the
//! results.

mod ceiling;
mod drive;
mod fanout;
mod http;
mod scenarios;
mod server;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use sea_orm::ConnectionTrait;
use serde::Serialize;
use serde_json::json;

use drive::{Arrivals, Measured};
use scenarios::{PAGE, Principal, Scenario, Subject};
use server::Server;

#[derive(Debug, Parser)]
#[command(version, about = "Load generator for workgate (issue 8): seeds, serves, measures")]
struct Args {
    /// The `workgate` binary (default: the one beside this program).
    #[arg(long)]
    workgate: Option<PathBuf>,
    /// A PostgreSQL server URL (`postgres://user@host/db`): a database of
    /// the run's own is created there and dropped after. Without it, a
    /// SQLite file in a temporary folder.
    #[arg(long)]
    database_url: Option<String>,
    /// Redis for the server's event bus (default: in-process).
    #[arg(long)]
    redis_url: Option<String>,
    #[arg(long, default_value_t = 100_000)]
    orders: usize,
    #[arg(long, default_value_t = 50)]
    sites: usize,
    #[arg(long, default_value_t = 1000)]
    users: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The server's request pool (WORKGATE_DATABASE_POOL); the ceiling uses
    /// the same.
    #[arg(long)]
    pool: Option<u32>,
    /// Connections of the closed-loop runs and of the ceiling.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// The open-loop dashboard runs' arrival rate, requests per second
    /// (0: no open-loop runs). Without it, 70% of the closed-loop run's
    /// throughput: a load the server sustains, so the latency shown is
    /// service time plus ordinary queueing.
    #[arg(long)]
    rate: Option<f64>,
    /// Measured seconds per run (after the warm-up).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// WebSocket subscribers of the fan-out scenario.
    #[arg(long, default_value_t = 10_000)]
    subscribers: usize,
    /// Events per second of the fan-out scenario.
    #[arg(long, default_value_t = 50.0)]
    event_rate: f64,
    /// Pairs of runs the dashboard's and the detail's ratios to their
    /// ceilings are taken from, each a closed-loop run of the scenario and
    /// then a ceiling run; the ratio is the pairs' median. On a shared
    /// machine throughput drifts by a fifth from one minute to the next,
    /// and the two runs of a pair see the same drift. With 1: the
    /// scenario's closed-loop run against one ceiling run.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pairs: u32,
    #[arg(long, value_delimiter = ',', default_value = "dashboard,detail,mixed,fanout")]
    scenarios: Vec<Scenario>,
    #[arg(long, value_delimiter = ',', default_value = "technician,planner,child-admin,partner")]
    principals: Vec<Principal>,
    /// Print the SQL of each principal's dashboard requests (each view)
    /// and of one detail request, as the ceilings replay them.
    #[arg(long)]
    show_sql: bool,
    /// Where to write the JSON result.
    #[arg(long, default_value = "load-result.json")]
    out: PathBuf,
    /// Print the GraphQL document of this scenario (`dashboard` or
    /// `detail`) as the first of `--principals` asks it, and exit: for
    /// tools that send the same requests (scripts/callgrind-requests.sh).
    #[arg(long)]
    print_document: Option<Scenario>,
}

#[derive(Debug, Serialize)]
struct Report {
    backend: &'static str,
    cores: usize,
    dataset: Dataset,
    /// From `workgate serve` starting on the seeded database to its first
    /// ready answer.
    ready_seconds: f64,
    /// The server's resident memory, ready and before any request.
    idle_rss_bytes: u64,
    runs: Vec<Run>,
    /// Statements per dashboard request by page size.
    statements_by_page_size: Vec<(i64, f64)>,
    ceilings: Vec<CeilingRun>,
    fanout: Vec<FanoutRun>,
}

#[derive(Debug, Serialize)]
struct Dataset {
    orders: usize,
    sites: usize,
    users: usize,
    seed: u64,
    seed_seconds: f64,
}

#[derive(Debug, Serialize)]
struct Run {
    scenario: Scenario,
    principal: Principal,
    #[serde(flatten)]
    arrivals: Arrivals,
    connections: usize,
    #[serde(flatten)]
    measured: Measured,
    /// The server's statements over the run / requests over the run.
    statements_per_request: f64,
    /// The server's CPU use over the run, in cores.
    server_cpu: f64,
    server_peak_rss_bytes: u64,
}

#[derive(Debug, Serialize)]
struct CeilingRun {
    scenario: Scenario,
    principal: Principal,
    #[serde(flatten)]
    ceiling: ceiling::Ceiling,
    /// The gateway's closed-loop throughput in the scenario over the
    /// ceiling's: the median of `pairs` (the lower middle one of an even
    /// number), whose ceiling `ceiling` is.
    gateway_ratio: f64,
    /// Each pair's gateway and ceiling throughput, in the order run.
    pairs: Vec<Pair>,
}

#[derive(Debug, Clone, Copy, Serialize)]
struct Pair {
    gateway: f64,
    ceiling: f64,
    ratio: f64,
}

#[derive(Debug, Serialize)]
struct FanoutRun {
    principal: Principal,
    #[serde(flatten)]
    fanout: fanout::Fanout,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(scenario) = args.print_document {
        let principal = *args.principals.first().context("--principals names none")?;
        println!("{}", scenarios::document(scenario, principal)?);
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(suite(args))
}

/// Where the run's data lives, and how to drop it.
struct Database {
    url: String,
    backend: &'static str,
    /// The server URL and the database's name, to drop it.
    postgres: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Database {
    async fn create(server: Option<&str>) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let Some(server) = server else {
            let url = format!("sqlite://{}/load.db?mode=rwc", dir.path().display());
            return Ok(Self { url, backend: "SQLite", postgres: None, _dir: dir });
        };
        let name = format!("workgate_load_{}", uuid::Uuid::now_v7().simple());
        let admin = workgate::db::connect_url(server, 1).await?;
        admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await?;
        admin.close().await?;
        let (base, _) = server.rsplit_once('/').context("a PostgreSQL URL ends in /database")?;
        let (base, query) = match server.split_once('?') {
            Some((_, query)) => (base.to_owned(), format!("?{query}")),
            None => (base.to_owned(), String::new()),
        };
        Ok(Self {
            url: format!("{base}/{name}{query}"),
            backend: "PostgreSQL",
            postgres: Some((server.to_owned(), name)),
            _dir: dir,
        })
    }

    async fn drop_database(self) -> anyhow::Result<()> {
        if let Some((server, name)) = self.postgres {
            let admin = workgate::db::connect_url(&server, 1).await?;
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await?;
            admin.close().await?;
        }
        Ok(())
    }
}

async fn suite(args: Args) -> anyhow::Result<()> {
    let binary = match &args.workgate {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("workgate"),
    };
    if !binary.exists() {
        bail!("{} not found: build it (`cargo build --release`) or pass --workgate", binary.display());
    }
    let database = Database::create(args.database_url.as_deref()).await?;
    let outcome = measure(&args, &binary, &database).await;
    database.drop_database().await?;
    let report = outcome?;
    std::fs::write(&args.out, serde_json::to_string_pretty(&report)?)?;
    print_table(&report);
    println!("\nwritten to {}", args.out.display());
    // Figures measured on refusals or lost events are not figures.
    let failed = report.runs.iter().filter(|r| r.measured.errors > 0).count();
    let short = report.fanout.iter().filter(|f| f.fanout.deliveries != f.fanout.expected_deliveries).count();
    if failed + short > 0 {
        bail!("{failed} runs had errors and {short} fan-out runs did not deliver every event (see above)");
    }
    Ok(())
}

async fn measure(args: &Args, binary: &std::path::Path, database: &Database) -> anyhow::Result<Report> {
    let (warmup, seconds) = (Duration::from_secs_f64(args.warmup), Duration::from_secs_f64(args.seconds));
    // The dataset, seeded here (migrating first), then a server started on
    // it: its start-up is `serve` on an existing database.
    let seeding = Instant::now();
    let db = workgate::db::connect_url(&database.url, 4).await?;
    workgate::db::migrate(&db).await?;
    let shape = workgate::seed::Shape { orders: args.orders, sites: args.sites, users: args.users, seed: args.seed };
    let seeded = workgate::seed::synthetic(&db, shape).await.map_err(|e| anyhow::anyhow!("seeding failed: {e:?}"))?;
    let seed_seconds = seeding.elapsed().as_secs_f64();
    db.close().await?;
    eprintln!("seeded {} orders in {seed_seconds:.1} s", args.orders);

    let server = Server::start(binary, &database.url, args.redis_url.as_deref(), args.pool).await?;
    let idle_rss_bytes = server.rss();
    eprintln!("server ready in {:.3} s, {} MB resident", server.ready.as_secs_f64(), idle_rss_bytes / 1_000_000);
    let tokens = Tokens::make(&server.host, &seeded).await?;

    let mut report = Report {
        backend: database.backend,
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        dataset: Dataset { orders: args.orders, sites: args.sites, users: args.users, seed: args.seed, seed_seconds },
        ready_seconds: server.ready.as_secs_f64(),
        idle_rss_bytes,
        runs: Vec::new(),
        statements_by_page_size: Vec::new(),
        ceilings: Vec::new(),
        fanout: Vec::new(),
    };
    // The ceiling gets as many database connections as the server has.
    let pool = server.metric("workgate_db_pool_max").await? as u32;
    for &principal in &args.principals {
        let subject = Subject::prepare(&server.host, principal, tokens.of(principal), &tokens.admin).await?;
        for &scenario in &args.scenarios {
            let workload = match scenario {
                Scenario::Dashboard => subject.dashboard(PAGE),
                Scenario::Detail => subject.detail(),
                Scenario::Mixed => subject.mixed(),
                Scenario::Fanout => {
                    let fanout = fanout::run(
                        &server,
                        tokens.of(principal),
                        &tokens.admin,
                        &subject.orders,
                        args.subscribers,
                        args.event_rate,
                        args.seconds,
                    )
                    .await?;
                    eprintln!("{principal:?} fan-out: {fanout:?}");
                    report.fanout.push(FanoutRun { principal, fanout });
                    continue;
                }
            };
            let closed = timed(
                &server,
                scenario,
                principal,
                args.connections,
                Arrivals::Closed,
                warmup,
                seconds,
                workload.clone(),
            )
            .await?;
            let rate = args.rate.unwrap_or((closed.measured.throughput * 0.7).round().max(1.0));
            report.runs.push(closed);
            if scenario == Scenario::Dashboard && rate > 0.0 {
                let open = Arrivals::Open { rate };
                report.runs.push(
                    timed(&server, scenario, principal, args.connections, open, warmup, seconds, workload).await?,
                );
            }
        }
        // Statements by page size.
        if args.scenarios.contains(&Scenario::Dashboard) && principal == Principal::Planner {
            for first in [10, PAGE, 100] {
                let quick = Duration::from_secs_f64(args.seconds.min(2.0));
                let run = timed(
                    &server,
                    Scenario::Dashboard,
                    principal,
                    4,
                    Arrivals::Closed,
                    Duration::ZERO,
                    quick,
                    subject.dashboard(first),
                )
                .await?;
                report.statements_by_page_size.push((first, run.statements_per_request));
            }
        }
        for scenario in [Scenario::Dashboard, Scenario::Detail] {
            if args.scenarios.contains(&scenario) {
                let run = ceiling_run(args, &server, &database.url, &report, &subject, scenario, pool).await?;
                report.ceilings.push(run);
            }
        }
    }
    server.stop();
    Ok(report)
}

/// The direct-SQL ceiling of `scenario` for `subject`, and the gateway's
/// throughput as a ratio of it: the same requests as the scenario's run
/// sends (each of the dashboard's views, each of the detail's orders),
/// their SQL captured, then replayed against the database.
async fn ceiling_run(
    args: &Args,
    server: &Server,
    database_url: &str,
    report: &Report,
    subject: &Subject,
    scenario: Scenario,
    pool: u32,
) -> anyhow::Result<CeilingRun> {
    let (warmup, seconds) = (Duration::from_secs_f64(args.warmup), Duration::from_secs_f64(args.seconds));
    let principal = subject.principal;
    let (query, variables) = subject.requests(scenario)?;
    let requests = ceiling::capture(database_url, &subject.token, &query, &variables).await?;
    if args.show_sql {
        // Every view of the dashboard; one order of the detail.
        let shown = if scenario == Scenario::Dashboard { requests.len() } else { 1 };
        for statement in requests.iter().take(shown).flatten() {
            eprintln!("{principal:?} {scenario:?} SQL: {statement}");
        }
    }
    let mut pairs = Vec::new();
    for pair in 0..args.pairs {
        let gateway = if args.pairs == 1 {
            report
                .runs
                .iter()
                .find(|r| r.principal == principal && r.scenario == scenario && matches!(r.arrivals, Arrivals::Closed))
                .context("the scenario's closed-loop run")?
                .measured
                .throughput
        } else {
            let workload = subject.workload(scenario)?;
            let run = timed(server, scenario, principal, args.connections, Arrivals::Closed, warmup, seconds, workload)
                .await?;
            if run.measured.errors > 0 {
                bail!("pair {pair}: the {scenario:?} run had {} errors", run.measured.errors);
            }
            run.measured.throughput
        };
        let ceiling = ceiling::replay(database_url, requests.clone(), args.connections, pool, warmup, seconds).await?;
        eprintln!("{principal:?} {scenario:?} ceiling: {ceiling:?}");
        let ratio = gateway / ceiling.throughput;
        pairs.push((Pair { gateway, ceiling: ceiling.throughput, ratio }, ceiling));
    }
    let mut by_ratio: Vec<usize> = (0..pairs.len()).collect();
    by_ratio.sort_by(|&a, &b| pairs[a].0.ratio.total_cmp(&pairs[b].0.ratio));
    let median = by_ratio[(by_ratio.len() - 1) / 2];
    let gateway_ratio = pairs[median].0.ratio;
    let figures = pairs.iter().map(|(pair, _)| *pair).collect();
    let ceiling = pairs.swap_remove(median).1;
    Ok(CeilingRun { scenario, principal, ceiling, gateway_ratio, pairs: figures })
}

/// One measured run, with the server's side of it.
#[allow(clippy::too_many_arguments)]
async fn timed(
    server: &Server,
    scenario: Scenario,
    principal: Principal,
    connections: usize,
    arrivals: Arrivals,
    warmup: Duration,
    seconds: Duration,
    workload: drive::Workload,
) -> anyhow::Result<Run> {
    let statements_before = server.metric("workgate_db_statements_total").await?;
    let memory = server.watch_memory();
    let cpu_before = server.cpu();
    let cpu_from = Instant::now();
    let measured = drive::run(&server.host, connections, arrivals, warmup, seconds, workload).await?;
    let server_cpu = (server.cpu() - cpu_before) / cpu_from.elapsed().as_secs_f64();
    let statements = server.metric("workgate_db_statements_total").await? - statements_before;
    let run = Run {
        scenario,
        principal,
        arrivals,
        connections,
        statements_per_request: statements / measured.all_requests.max(1) as f64,
        measured,
        server_cpu,
        server_peak_rss_bytes: memory.peak(),
    };
    eprintln!(
        "{principal:?} {scenario:?} {arrivals:?}: {:.0} req/s, p99 {:.1} ms, {} errors{}",
        run.measured.throughput,
        run.measured.latency_ms.p99,
        run.measured.errors,
        run.measured.first_error.as_deref().map(|e| format!(" (first: {e})")).unwrap_or_default()
    );
    Ok(run)
}

/// A token for each principal.
struct Tokens {
    admin: String,
    technician: String,
    planner: String,
    child_admin: String,
    partner: String,
}

impl Tokens {
    async fn make(host: &str, seeded: &workgate::seed::Seeded) -> anyhow::Result<Self> {
        let raw = workgate::config::RawConfig { jwt_secret: Some(server::JWT_SECRET.into()), ..Default::default() };
        let config = workgate::config::Config::from_raw(&raw)?;
        let mint = |user: &str| workgate::auth::jwt::mint_hs256(&config.jwt, user, Duration::from_secs(6 * 3600));
        let admin = mint(&seeded.admin)?;
        let create = "mutation($v: ID!) { createApiToken(name: \"Partner portal\", capabilities: [\"orders:read\"], partnerVendorId: $v) { secret } }";
        let created = http::call(host, &admin, create, &json!({ "v": seeded.partner_vendor })).await?;
        let partner = created["createApiToken"]["secret"].as_str().context("the partner token's secret")?.to_owned();
        Ok(Self {
            technician: mint(&seeded.site_technician)?,
            planner: mint(&seeded.account_planner)?,
            child_admin: mint(&seeded.child_admin)?,
            partner,
            admin,
        })
    }

    fn of(&self, principal: Principal) -> &str {
        match principal {
            Principal::Technician => &self.technician,
            Principal::Planner => &self.planner,
            Principal::ChildAdmin => &self.child_admin,
            Principal::Partner => &self.partner,
        }
    }
}

fn print_table(report: &Report) {
    println!(
        "\n{} · {} orders, {} sites, {} users · seeded in {:.1} s · ready in {:.3} s · idle RSS {:.1} MB",
        report.backend,
        report.dataset.orders,
        report.dataset.sites,
        report.dataset.users,
        report.dataset.seed_seconds,
        report.ready_seconds,
        report.idle_rss_bytes as f64 / 1e6
    );
    println!(
        "\n| scenario | principal | load | req/s | median ms | p95 ms | p99 ms | max ms | errors | missed | SQL/req | server CPU | peak RSS MB |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for run in &report.runs {
        let load = match run.arrivals {
            Arrivals::Closed => format!("{} conns", run.connections),
            Arrivals::Open { rate } => format!("{rate:.0}/s open"),
        };
        let m = &run.measured;
        println!(
            "| {:?} | {:?} | {load} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} | {} | {} | {:.1} | {:.2} | {:.0} |",
            run.scenario,
            run.principal,
            m.throughput,
            m.latency_ms.median,
            m.latency_ms.p95,
            m.latency_ms.p99,
            m.latency_ms.max,
            m.errors,
            m.missed,
            run.statements_per_request,
            run.server_cpu,
            run.server_peak_rss_bytes as f64 / 1e6
        );
    }
    if !report.statements_by_page_size.is_empty() {
        let sizes: Vec<String> =
            report.statements_by_page_size.iter().map(|(first, sql)| format!("first {first}: {sql:.1}")).collect();
        println!("\nSQL statements per dashboard request (PLANNER): {}", sizes.join(", "));
    }
    if !report.ceilings.is_empty() {
        println!(
            "\n| direct SQL ceiling | principal | statements | req/s | p99 ms | gateway / ceiling | pairs (gateway/ceiling) |"
        );
        println!("|---|---|---:|---:|---:|---:|---|");
        for c in &report.ceilings {
            let pairs: Vec<String> =
                c.pairs.iter().map(|p| format!("{:.0}/{:.0} = {:.2}", p.gateway, p.ceiling, p.ratio)).collect();
            println!(
                "| {:?} | {:?} | {:.1} | {:.0} | {:.2} | {:.2} | {} |",
                c.scenario,
                c.principal,
                c.ceiling.statements,
                c.ceiling.throughput,
                c.ceiling.latency_ms.p99,
                c.gateway_ratio,
                pairs.join(", ")
            );
        }
    }
    if !report.fanout.is_empty() {
        println!(
            "\n| fan-out | subscribers | kB per idle subscriber | events/s | delivered | median ms | p99 ms | max ms | server CPU |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for f in &report.fanout {
            let o = &f.fanout;
            println!(
                "| {:?} | {} | {:.1} | {:.0} | {}/{} | {:.1} | {:.1} | {:.1} | {:.2} |",
                f.principal,
                o.subscribers,
                o.bytes_per_idle_subscriber / 1024.0,
                o.event_rate,
                o.deliveries,
                o.expected_deliveries,
                o.latency_ms.median,
                o.latency_ms.p99,
                o.latency_ms.max,
                o.server_cpu
            );
        }
    }
}
