//! `/metrics`: the Prometheus text format, for the bearer of
//! `WORKGATE_METRICS_TOKEN`; not served (404) without one configured.

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::HttpState;

const CONTENT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub async fn metrics(State(http): State<HttpState>, headers: HeaderMap) -> Response {
    let Some(expected) = &http.state.config.metrics_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    // Digests are compared, so the time taken says nothing about the token.
    let matches = given.is_some_and(|given| Sha256::digest(given) == Sha256::digest(expected.expose()));
    if !matches {
        return (StatusCode::UNAUTHORIZED, [(WWW_AUTHENTICATE, "Bearer")]).into_response();
    }
    let (open, idle, max) = crate::db::pool_state(&http.state.db);
    http.state.metrics.pool(open, idle, max);
    ([(CONTENT_TYPE, CONTENT)], http.state.metrics.render()).into_response()
}
