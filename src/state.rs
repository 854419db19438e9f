//! The application state built once at start-up and shared by every request.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::db::StatementCounter;
use crate::events::EventBus;
use crate::events::hub::Hub;

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
}

impl AppState {
    pub fn new(
        config: Config,
        db: DatabaseConnection,
        bus: Arc<dyn EventBus>,
        auth: Authenticator,
        statements: StatementCounter,
        send_wake: Arc<Notify>,
        hub: Hub,
    ) -> Self {
        Self(Arc::new(Inner { config, db, bus, auth, statements, send_wake, hub }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
