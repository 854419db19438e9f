//! `Application::build`: the one boot path shared by `main`, the CLI and
//! every test. It connects, migrates, starts the event bus, binds the
//! listener (port 0 picks a free port) and reports the address it got.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::auth::{Authenticator, jwt::JwtVerifier};
use crate::config::Config;
use crate::events::hub::{self, Hub};
use crate::events::relay::Relay;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimits;
use crate::sending::mailer::Mailer;
use crate::sending::worker::Worker;
use crate::state::{AppState, Inner};
use crate::{db, events, graphql, http};

/// Connections the send worker holds, apart from the requests' pool.
const SEND_WORKER_POOL: u32 = 2;
/// Connections of the event relay (one of them listens for commits on
/// PostgreSQL), and of the hub and its subscriptions.
const RELAY_POOL: u32 = 2;
const HUB_POOL: u32 = 4;
/// How long WebSocket connections have to close at shutdown.
const WS_CLOSE_TIME: Duration = Duration::from_secs(2);
/// How often the rate limits forget callers whose allowance is full again.
const FORGET_IDLE_CALLERS_EVERY: Duration = Duration::from_secs(60);

pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    router: Router,
    state: AppState,
    worker: Worker,
    relay: Relay,
    /// Tells WebSocket connections the server is stopping.
    stopping: watch::Sender<bool>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let (db, statements) = db::connect_counted(&config).await?;
        db::migrate(&db).await?;
        let bus = events::from_config(config.redis_url.as_deref(), &config.redis_channel)?;
        let auth = Authenticator::new(db.clone(), JwtVerifier::new(&config.jwt)?);
        let mailer = Mailer::from_config(&config.sending).context("cannot set up sending (WORKGATE_MAIL_DIR)")?;
        let send_wake = Arc::new(Notify::new());
        // The background tasks have pools of their own (their polling is not
        // the requests' work), except on an in-memory SQLite database, which
        // exists once per pool.
        let pool = |size| {
            let (url, shared) = (config.database_url.clone(), db.clone());
            async move { if url.contains(":memory:") { Ok(shared) } else { db::connect_url(&url, size).await } }
        };
        let metrics = Metrics::new(&statements);
        let relay = Relay::new(pool(RELAY_POOL).await?, bus.clone(), config.event_retention, metrics.clone());
        let hub = Hub::new(pool(HUB_POOL).await?, metrics.clone());
        let worker = Worker::new(pool(SEND_WORKER_POOL).await?, mailer, config.sending.clone(), send_wake.clone());
        let listen = config.listen;
        let (stopping, stopping_seen) = watch::channel(false);
        let rate_limits = RateLimits::new(config.rate_limit, config.rate_limit_anonymous);
        let state = AppState::new(Inner {
            config,
            db,
            bus,
            auth,
            statements,
            send_wake,
            hub,
            metrics,
            rate_limits,
            stopping: stopping_seen,
        });
        let engine = graphql::build(state.clone());
        let router = http::router(state.clone(), engine);
        let listener =
            TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen} (WORKGATE_LISTEN)"))?;
        let address = listener.local_addr()?;
        Ok(Self { listener, address, router, state, worker, relay, stopping })
    }

    /// The address actually bound (with the real port when 0 was asked).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Where orders to vendors go (for the start-up lines).
    pub fn mail_destination(&self) -> String {
        self.worker.destination()
    }

    /// Serves (and relays order events, and sends orders to vendors) until
    /// `signal` completes; then finishes in-flight requests and the send
    /// attempts under way.
    pub async fn run_until(self, signal: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        tracing::info!(address = %self.address, "listening");
        let (stop, stopped) = watch::channel(false);
        let attempt_deadline = self.state.config.sending.timeout;
        let worker = tokio::spawn(self.worker.run(stopped.clone()));
        let relay = tokio::spawn(self.relay.run(stopped.clone()));
        let hub = tokio::spawn(hub::run(self.state.hub.clone(), self.state.bus.clone(), stopped));
        // At the signal, WebSocket connections close (1001) while requests
        // in flight finish.
        let stopping = self.stopping;
        let signal = async move {
            signal.await;
            let _ = stopping.send(true);
        };
        let limits = self.state.clone();
        let sweeper = tokio::spawn(async move {
            let mut every = tokio::time::interval(FORGET_IDLE_CALLERS_EVERY);
            loop {
                every.tick().await;
                limits.rate_limits.forget_idle();
            }
        });
        let router = self.router.into_make_service_with_connect_info::<SocketAddr>();
        // Responses and WebSocket frames go out as soon as they are written:
        // with Nagle's algorithm a frame written while the last is still
        // unacknowledged waits for the client's delayed ACK (40 ms on Linux,
        // up to 200 ms elsewhere), which is what a subscriber sees when two
        // events come close together.
        let listener = self.listener.tap_io(|stream| {
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!(error = %e, "cannot set TCP_NODELAY on an accepted connection");
            }
        });
        let served = axum::serve(listener, router).with_graceful_shutdown(signal).await;
        sweeper.abort();
        let metrics = &self.state.metrics;
        let deadline = tokio::time::Instant::now() + WS_CLOSE_TIME;
        while metrics.ws_connections_open() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = stop.send(true);
        if tokio::time::timeout(Duration::from_secs(5), async { tokio::join!(relay, hub) }).await.is_err() {
            tracing::warn!("the event relay or hub did not stop in time");
        }
        if tokio::time::timeout(attempt_deadline + Duration::from_secs(1), worker).await.is_err() {
            tracing::warn!("the send worker did not stop in time; its attempt fails once its lease runs out");
        }
        served
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
