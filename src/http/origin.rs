//! Which web pages may call the API: the server's own origin and those of
//! `WORKGATE_ALLOWED_ORIGINS`. Browsers name the page's origin in `Origin`
//! on cross-site requests and on every WebSocket upgrade; a request from a
//! page of another origin is refused (403) before it reaches a handler, and
//! CORS grants only the same origins. Programs and mobile apps send no
//! `Origin` and are not concerned: cross-site request forgery works through
//! a browser.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::HttpState;
use super::negotiate::ResponseMedia;
use crate::config::AllowedOrigins;
use crate::error::ErrorCode;

/// Whether a page of `origin` may call this server, reached as `host`.
pub fn allowed(allowed: &AllowedOrigins, origin: &HeaderValue, host: Option<&HeaderValue>) -> bool {
    let Ok(origin) = origin.to_str() else { return false };
    let same = origin
        .split_once("://")
        .zip(host.and_then(|h| h.to_str().ok()))
        .is_some_and(|((_, authority), host)| authority.eq_ignore_ascii_case(host));
    same || match allowed {
        AllowedOrigins::SameOrigin => false,
        AllowedOrigins::Any => true,
        AllowedOrigins::List(origins) => origins.iter().any(|o| o.eq_ignore_ascii_case(origin)),
    }
}

/// Refuses requests from pages of origins not allowed (403 `FORBIDDEN`).
pub async fn check(State(http): State<HttpState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN)
        && !allowed(&http.state.config.allowed_origins, origin, headers.get(header::HOST))
    {
        return super::graphql::failure(
            StatusCode::FORBIDDEN,
            ResponseMedia::Json,
            ErrorCode::Forbidden,
            "requests from this origin are not allowed (WORKGATE_ALLOWED_ORIGINS)",
        );
    }
    next.run(request).await
}

/// CORS for the same origins: GET and POST with a bearer token and a JSON
/// body; no cookies are involved, so no credentials mode.
pub fn cors(origins: AllowedOrigins) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, parts: &Parts| {
            allowed(&origins, origin, parts.headers.get(header::HOST))
        }))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT, X_REQUEST_ID])
        .expose_headers([X_REQUEST_ID, header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
