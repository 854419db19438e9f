//! The application state built once at start-up and shared by every request.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::{Notify, watch};

use crate::auth::Authenticator;
use crate::config::Config;
use crate::db::StatementCounter;
use crate::events::EventBus;
use crate::events::hub::Hub;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimits;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub db: DatabaseConnection,
    pub bus: Arc<dyn EventBus>,
    pub auth: Authenticator,
    pub statements: StatementCounter,
    /// Wakes the send worker after a change queued a send.
    pub send_wake: Arc<Notify>,
    /// Live order events for this instance's subscriptions.
    pub hub: Hub,
    pub metrics: Metrics,
    pub rate_limits: RateLimits,
    /// Becomes true when the server starts shutting down.
    pub stopping: watch::Receiver<bool>,
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
