//! What operators watch: Prometheus metrics, served on `/metrics` to the
//! bearer of `WORKGATE_METRICS_TOKEN` (not served without one).

use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::db::StatementCounter;

/// Labels of one series: a close code, an error code, an operation name.
type Labels = Vec<(&'static str, String)>;

/// Operation names are the clients' to choose: past this many distinct
/// names, further ones are counted as `other`, so a client cannot grow the
/// registry without bound.
const MAX_OPERATION_NAMES: usize = 200;
/// Longer operation names are cut to this many characters.
const MAX_OPERATION_NAME_LEN: usize = 64;

#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    ws_connections: Gauge,
    subscriptions: Gauge,
    hub_subscribers: Gauge,
    ws_closed: Family<Labels, Counter>,
    events_delivered: Counter,
    operations: Family<Labels, Histogram>,
    operation_names: RwLock<HashSet<String>>,
    errors: Family<Labels, Counter>,
    validations_reused: Counter,
    events_relayed: Counter,
    relay_lag: Histogram,
    pool_in_use: Gauge,
    pool_idle: Gauge,
    pool_max: Gauge,
}

/// Latency buckets from 0.5 ms to about 16 s, doubling.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Metrics {
    /// The registry; `statements` is the request pool's statement counter.
    pub fn new(statements: &StatementCounter) -> Self {
        let mut registry = Registry::with_prefix("workgate");
        let ws_connections = Gauge::default();
        registry.register("ws_connections", "Open WebSocket connections", ws_connections.clone());
        let subscriptions = Gauge::default();
        registry.register("subscriptions", "Running GraphQL operations over WebSocket", subscriptions.clone());
        let hub_subscribers = Gauge::default();
        registry.register(
            "hub_subscribers",
            "Subscriptions receiving events from the hub (started, not refused); each event of their route runs their filter",
            hub_subscribers.clone(),
        );
        let ws_closed = Family::<Labels, Counter>::default();
        registry.register(
            "ws_closed",
            "WebSocket connections the server closed, by close code (1013: too slow)",
            ws_closed.clone(),
        );
        let events_delivered = Counter::default();
        registry.register(
            "events_delivered",
            "Order events the hub handed to this instance's subscriptions",
            events_delivered.clone(),
        );
        let operations = Family::<Labels, Histogram>::new_with_constructor(latency_buckets as fn() -> Histogram);
        registry.register(
            "graphql_request_duration_seconds",
            "GraphQL queries and mutations over HTTP and WebSocket, parse to response, by operation name \
             (`anonymous` without one, `other` past the first 200 names)",
            operations.clone(),
        );
        let errors = Family::<Labels, Counter>::default();
        registry.register(
            "graphql_errors",
            "Errors sent to clients, by `extensions.code` (HTTP and WebSocket; a response may carry several)",
            errors.clone(),
        );
        let validations_reused = Counter::default();
        registry.register(
            "graphql_validations_reused",
            "Queries and mutations run without validating them again: the same document, operation and \
             variables (any string for an `ID` or `String` variable) passed before",
            validations_reused.clone(),
        );
        registry.register(
            "db_statements",
            "SQL statements run for requests (not the relay's, hub's or send worker's own pools)",
            statements.counter(),
        );
        let events_relayed = Counter::default();
        registry.register(
            "events_relayed",
            "Order events this instance's relay sequenced and published",
            events_relayed.clone(),
        );
        let relay_lag = latency_buckets();
        registry.register(
            "relay_lag_seconds",
            "From an order event's commit (its `at`) to its publication by the relay",
            relay_lag.clone(),
        );
        let pool_in_use = Gauge::default();
        registry.register(
            "db_pool_in_use",
            "Request pool connections running a statement or transaction",
            pool_in_use.clone(),
        );
        let pool_idle = Gauge::default();
        registry.register("db_pool_idle", "Request pool connections open and idle", pool_idle.clone());
        let pool_max = Gauge::default();
        registry.register(
            "db_pool_max",
            "The request pool's size limit (WORKGATE_DATABASE_POOL); in use at the limit means requests wait",
            pool_max.clone(),
        );
        Self(Arc::new(Inner {
            registry,
            ws_connections,
            subscriptions,
            hub_subscribers,
            ws_closed,
            events_delivered,
            operations,
            operation_names: RwLock::default(),
            errors,
            validations_reused,
            events_relayed,
            relay_lag,
            pool_in_use,
            pool_idle,
            pool_max,
        }))
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.0.registry);
        text
    }

    /// Counts an open WebSocket connection until the guard is dropped.
    pub fn ws_connection(&self) -> GaugeGuard {
        GaugeGuard::new(&self.0.ws_connections)
    }

    pub fn ws_connections_open(&self) -> i64 {
        self.0.ws_connections.get()
    }

    /// Counts a running operation over WebSocket until the guard is dropped.
    pub fn subscription(&self) -> GaugeGuard {
        GaugeGuard::new(&self.0.subscriptions)
    }

    /// Counts a subscription attached to the hub until the guard is dropped.
    pub fn hub_subscriber(&self) -> GaugeGuard {
        GaugeGuard::new(&self.0.hub_subscribers)
    }

    pub fn ws_closed(&self, code: u16) {
        self.0.ws_closed.get_or_create(&vec![("code", code.to_string())]).inc();
    }

    pub fn event_delivered(&self) {
        self.0.events_delivered.inc();
    }

    /// One GraphQL query or mutation, parse to response.
    pub fn operation(&self, name: Option<&str>, took: Duration) {
        let label = self.operation_label(name);
        self.0.operations.get_or_create(&vec![("operation", label)]).observe(took.as_secs_f64());
    }

    fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name else { return "anonymous".to_owned() };
        let name: String = name.chars().take(MAX_OPERATION_NAME_LEN).collect();
        let known = &self.0.operation_names;
        if known.read().unwrap_or_else(PoisonError::into_inner).contains(&name) {
            return name;
        }
        let mut known = known.write().unwrap_or_else(PoisonError::into_inner);
        if known.len() >= MAX_OPERATION_NAMES {
            return "other".to_owned();
        }
        known.insert(name.clone());
        name
    }

    /// An error sent to a client, by its `extensions.code`.
    pub fn error(&self, code: &str) {
        self.0.errors.get_or_create(&vec![("code", code.to_owned())]).inc();
    }

    /// An operation run without validating it again.
    pub fn validation_reused(&self) {
        self.0.validations_reused.inc();
    }

    /// An event the relay published, `lag` after its commit.
    pub fn event_relayed(&self, lag: Duration) {
        self.0.events_relayed.inc();
        self.0.relay_lag.observe(lag.as_secs_f64());
    }

    /// The request pool as it is now: connections open, of them idle, and
    /// the limit.
    pub fn pool(&self, open: u32, idle: usize, max: u32) {
        let idle = i64::try_from(idle).unwrap_or(i64::MAX);
        self.0.pool_in_use.set(i64::from(open) - idle);
        self.0.pool_idle.set(idle);
        self.0.pool_max.set(i64::from(max));
    }
}

/// One unit of a gauge, given back when dropped (so an aborted task or a
/// dropped connection is never counted for ever).
pub struct GaugeGuard(Gauge);

impl GaugeGuard {
    fn new(gauge: &Gauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}
