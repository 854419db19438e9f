//! What operators watch: Prometheus metrics, served on `/metrics` to the
//! bearer of `WORKGATE_METRICS_TOKEN` (not served without one).

use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Labels of closed WebSocket connections: the close code sent.
type CodeLabels = Vec<(&'static str, String)>;

#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    ws_connections: Gauge,
    subscriptions: Gauge,
    ws_closed: Family<CodeLabels, Counter>,
    events_delivered: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("workgate");
        let ws_connections = Gauge::default();
        registry.register("ws_connections", "Open WebSocket connections", ws_connections.clone());
        let subscriptions = Gauge::default();
        registry.register("subscriptions", "Running GraphQL operations over WebSocket", subscriptions.clone());
        let ws_closed = Family::<CodeLabels, Counter>::default();
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
        Self(Arc::new(Inner { registry, ws_connections, subscriptions, ws_closed, events_delivered }))
    }
}

impl Metrics {
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

    pub fn ws_closed(&self, code: u16) {
        self.0.ws_closed.get_or_create(&vec![("code", code.to_string())]).inc();
    }

    pub fn event_delivered(&self) {
        self.0.events_delivered.inc();
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
