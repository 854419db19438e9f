//! `/healthz` (the process answers) and `/readyz` (the database and the event
//! bus answer too; load balancers route only to ready instances).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::HttpState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn alive() -> &'static str {
    "ok"
}

pub async fn ready(State(http): State<HttpState>) -> (StatusCode, Json<Value>) {
    let state = &http.state;
    let (database, bus) = tokio::join!(
        tokio::time::timeout(CHECK_TIMEOUT, state.db.ping()),
        tokio::time::timeout(CHECK_TIMEOUT, state.bus.check()),
    );
    let database_ok = matches!(database, Ok(Ok(())));
    let bus_ok = matches!(bus, Ok(Ok(())));
    if !database_ok {
        tracing::warn!(?database, "readiness: database unreachable");
    }
    if !bus_ok {
        tracing::warn!(?bus, "readiness: event bus unreachable");
    }
    let status = if database_ok && bus_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let word = |ok: bool| if ok { "ok" } else { "unreachable" };
    (
        status,
        Json(json!({
            "database": word(database_ok),
            "eventBus": word(bus_ok),
            "eventBusKind": state.bus.kind(),
        })),
    )
}
