//! The HTTP surface: routes, request ids and tracing spans.

pub mod export;
pub mod graphql;
pub mod health;
pub mod metrics;
pub mod negotiate;
pub mod origin;
pub mod ws;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Request;
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::config::Environment;
use crate::graphql::Engine;
use crate::state::AppState;

/// What the handlers share: the application state and the schema built
/// around it, with what runs around its operations.
#[derive(Clone)]
pub struct HttpState {
    pub state: AppState,
    pub engine: Engine,
    /// GraphiQL is served outside production only.
    pub graphiql: bool,
}

pub fn router(state: AppState, engine: Engine) -> Router {
    let graphiql = state.config.environment != Environment::Production;
    let body_limit = graphql::max_body_bytes(state.config.max_attachment_bytes);
    let cors = origin::cors(state.config.allowed_origins.clone());
    let http = HttpState { state, engine, graphiql };
    Router::new()
        .route(
            "/graphql",
            get(graphql::get)
                .post(graphql::post)
                .layer(DefaultBodyLimit::max(body_limit))
                .layer(axum::middleware::from_fn_with_state(http.clone(), graphql::count_refusals)),
        )
        .route("/graphql/ws", get(ws::upgrade))
        .route("/export/orders.csv", get(export::orders_csv))
        .route("/healthz", get(health::alive))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(metrics::metrics))
        .layer(axum::middleware::from_fn_with_state(http.clone(), origin::check))
        .layer(cors)
        .with_state(http)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                    let request_id =
                        request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
                }))
                .layer(PropagateRequestIdLayer::x_request_id()),
        )
}
