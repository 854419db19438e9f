//! `GET /export/orders.csv?from=&to=`: the orders the caller sees as CSV,
//! streamed. Authenticated like `/graphql` (a bearer JWT or API token);
//! answers are plain text: 401 without or with a bad credential, 400 for a
//! bad parameter (named), 403 when the policy refuses, 500 with the request
//! id for anything else.

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::HttpState;
use crate::error::{AppError, INTERNAL_MESSAGE};
use crate::reports::{Period, export};

#[derive(Debug, Deserialize)]
pub struct ExportParams {
    from: Option<String>,
    to: Option<String>,
}

pub async fn orders_csv(
    State(http): State<HttpState>,
    headers: HeaderMap,
    params: Result<Query<ExportParams>, QueryRejection>,
) -> Response {
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let Ok(authorization) = headers.get(header::AUTHORIZATION).map(HeaderValue::to_str).transpose() else {
        return unauthorized(crate::auth::REFUSED);
    };
    let principal = match http.state.auth.authenticate(authorization).await {
        Ok(Some(principal)) => principal,
        Ok(None) => return unauthorized("authentication required"),
        Err(e) => return failure(e, &request_id),
    };
    let Ok(Query(params)) = params else {
        return plain(StatusCode::BAD_REQUEST, "malformed query string".to_owned());
    };
    let period = match Period::parse(params.from.as_deref(), params.to.as_deref()) {
        Ok(period) => period,
        Err(e) => return failure(e, &request_id),
    };
    match export::orders_csv(http.state.db.clone(), &principal, period).await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
                (header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"orders.csv\"")),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            Body::from_stream(csv),
        )
            .into_response(),
        Err(e) => failure(e, &request_id),
    }
}

fn plain(status: StatusCode, message: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message).into_response()
}

fn unauthorized(message: &str) -> Response {
    let mut response = plain(StatusCode::UNAUTHORIZED, message.to_owned());
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

fn failure(error: AppError, request_id: &str) -> Response {
    match error {
        AppError::Unauthenticated(message) => unauthorized(message),
        AppError::BadInput { .. } => plain(StatusCode::BAD_REQUEST, error.message()),
        AppError::Forbidden(message) => plain(StatusCode::FORBIDDEN, message),
        other => {
            // Converting logs an internal cause once, inside this request's span.
            let _: async_graphql::Error = other.into();
            plain(StatusCode::INTERNAL_SERVER_ERROR, format!("{INTERNAL_MESSAGE} (request id {request_id})"))
        }
    }
}
