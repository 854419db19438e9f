//! The server under test: `workgate serve` as a child process, so that its
//! CPU time and memory are its own, read from `/proc`; its own account of
//! the work (statements per request) from `/metrics`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub const JWT_SECRET: &str = "workgate-load-secret-0123456789-0123456789";
pub const METRICS_TOKEN: &str = "workgate-load-metrics-0123456789";

pub struct Server {
    child: Child,
    /// `127.0.0.1:port`.
    pub host: String,
    /// From the start of the process to its first ready answer.
    pub ready: Duration,
}

impl Server {
    /// Starts `workgate serve` on `database_url` and waits until `/readyz`
    /// answers 200.
    pub async fn start(
        binary: &Path,
        database_url: &str,
        redis_url: Option<&str>,
        pool: Option<u32>,
    ) -> anyhow::Result<Self> {
        let mut command = Command::new(binary);
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("WORKGATE_")) {
            command.env_remove(key);
        }
        command
            .arg("serve")
            .env("WORKGATE_DATABASE_URL", database_url)
            .env("WORKGATE_LISTEN", "127.0.0.1:0")
            .env("WORKGATE_JWT_SECRET", JWT_SECRET)
            .env("WORKGATE_METRICS_TOKEN", METRICS_TOKEN)
            // The load comes from a handful of principals.
            .env("WORKGATE_RATE_LIMIT", "off")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(redis) = redis_url {
            command.env("WORKGATE_REDIS_URL", redis);
        }
        if let Some(pool) = pool {
            command.env("WORKGATE_DATABASE_POOL", pool.to_string());
        }
        let started = Instant::now();
        let mut child = command.spawn().with_context(|| format!("cannot start {}", binary.display()))?;
        let stdout = BufReader::new(child.stdout.take().context("the server's stdout")?);
        let (tx, rx) = std::sync::mpsc::channel();
        // Read on until it ends: a closed pipe would fail the server's later
        // lines.
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if let Some(base) = line.strip_prefix("workgate listening on http://") {
                    let _ = tx.send(base.trim().to_owned());
                }
            }
        });
        let host = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(120)))
            .await?
            .context("the server did not say where it listens")?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if readyz(&host).await {
                break;
            }
            if Instant::now() > deadline {
                bail!("the server was not ready within a minute");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(Self { child, host, ready: started.elapsed() })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now, in bytes.
    pub fn rss(&self) -> u64 {
        rss(self.pid())
    }

    /// CPU time used so far (user + system), in seconds.
    pub fn cpu(&self) -> f64 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())) else { return 0.0 };
        let Some((_, fields)) = stat.rsplit_once(") ") else { return 0.0 };
        let fields: Vec<&str> = fields.split(' ').collect();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        // utime and stime, in clock ticks (100 per second on Linux).
        (ticks(11) + ticks(12)) / 100.0
    }

    /// Samples resident memory until the guard is dropped; the peak.
    pub fn watch_memory(&self) -> MemoryWatch {
        let (peak, stop) = (Arc::new(AtomicU64::new(self.rss())), Arc::new(AtomicBool::new(false)));
        let (pid, seen, stopped) = (self.pid(), peak.clone(), stop.clone());
        tokio::spawn(async move {
            while !stopped.load(Ordering::Relaxed) {
                seen.fetch_max(rss(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        MemoryWatch { peak, stop }
    }

    /// A counter or gauge of `/metrics` (0 when absent).
    pub async fn metric(&self, name: &str) -> anyhow::Result<f64> {
        let text = get(&self.host, "/metrics", Some(METRICS_TOKEN)).await?;
        Ok(text
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0))
    }

    /// Stops the server (SIGTERM, then SIGKILL after ten seconds).
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.terminate();
        }
    }
}

pub struct MemoryWatch {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl MemoryWatch {
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

impl Drop for MemoryWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

async fn readyz(host: &str) -> bool {
    matches!(get_status(host, "/readyz", None).await, Ok(200))
}

async fn get(host: &str, path: &str, bearer: Option<&str>) -> anyhow::Result<String> {
    let (status, body) = exchange(host, path, bearer).await?;
    if status != 200 {
        bail!("GET {path}: HTTP {status}");
    }
    Ok(body)
}

async fn get_status(host: &str, path: &str, bearer: Option<&str>) -> anyhow::Result<u16> {
    Ok(exchange(host, path, bearer).await?.0)
}

/// One GET on a fresh connection.
async fn exchange(host: &str, path: &str, bearer: Option<&str>) -> anyhow::Result<(u16, String)> {
    use http_body_util::{BodyExt, Empty};
    let stream = tokio::net::TcpStream::connect(host).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut request = hyper::Request::get(path).header(hyper::header::HOST, host);
    if let Some(bearer) = bearer {
        request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {bearer}"));
    }
    let response = sender.send_request(request.body(Empty::<bytes::Bytes>::new())?).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}
