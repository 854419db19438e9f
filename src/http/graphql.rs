//! `POST /graphql` and `GET /graphql`, as the GraphQL-over-HTTP spec says:
//! JSON request bodies only (415 otherwise), the response media type the
//! client's `Accept` asks for (406 when none fits), 400 for malformed
//! requests, request errors as 400 under `application/graphql-response+json`
//! (200 under `application/json`), mutations never over GET (405), and bad
//! credentials as 401. Every error leaves with an `extensions.code`; internal
//! ones leave as "internal error" plus the request id.

use std::net::SocketAddr;

use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, BatchResponse, Request, ServerError, Variables};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::HttpState;
use super::negotiate::{self, ResponseMedia};
use crate::error::{AppError, ErrorCode, INTERNAL_MESSAGE};
use crate::graphql::limits::MAX_BATCH;
use crate::metrics::Metrics;
use crate::rate_limit::Caller;

/// The largest request body: the largest attachment in base64, with a MiB
/// for the rest of the request. Larger bodies are refused with 413.
pub fn max_body_bytes(max_attachment_bytes: usize) -> usize {
    max_attachment_bytes.div_ceil(3) * 4 + 1024 * 1024
}

pub async fn post(
    State(http): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let Some(media) = negotiate::response_media(&headers) else {
        return not_acceptable();
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let limit = max_body_bytes(http.state.config.max_attachment_bytes);
            let message = format!("the request body is larger than {limit} bytes");
            return failure(StatusCode::PAYLOAD_TOO_LARGE, media, ErrorCode::QueryTooComplex, &message);
        }
        Err(_) => {
            return failure(
                StatusCode::BAD_REQUEST,
                media,
                ErrorCode::BadUserInput,
                "the request body could not be read",
            );
        }
    };
    if !negotiate::is_json_body(&headers) {
        return failure(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            ErrorCode::BadUserInput,
            "a GraphQL POST needs `Content-Type: application/json`",
        );
    }
    let batch = match parse_batch(&body) {
        Ok(BatchRequest::Batch(requests)) if requests.len() > MAX_BATCH => {
            let message = format!("a batch may hold at most {MAX_BATCH} operations, not {}", requests.len());
            return failure(StatusCode::BAD_REQUEST, media, ErrorCode::QueryTooComplex, &message);
        }
        Ok(batch) => batch,
        Err(problem) => {
            return failure(
                StatusCode::BAD_REQUEST,
                media,
                ErrorCode::BadUserInput,
                &format!("the body is not a GraphQL request: {problem}"),
            );
        }
    };
    execute(&http, &headers, peer, media, batch).await
}

/// A request object, or a batch of them, each with a `query` string (the
/// spec's one required member; async-graphql alone would default it to "").
fn parse_batch(body: &[u8]) -> Result<BatchRequest, String> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let requests: Vec<&serde_json::Value> = match &value {
        serde_json::Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    if requests.iter().any(|r| !r.get("query").is_some_and(serde_json::Value::is_string)) {
        return Err("every request needs a `query` string".to_owned());
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

#[derive(Debug, Deserialize)]
pub struct GetParams {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

pub async fn get(
    State(http): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    params: Result<Query<GetParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(params)) = params else {
        return failure(
            StatusCode::BAD_REQUEST,
            ResponseMedia::Json,
            ErrorCode::BadUserInput,
            "malformed query string",
        );
    };
    let Some(query) = params.query else {
        if negotiate::prefers_html(&headers) && http.graphiql {
            return Html(
                async_graphql::http::GraphiQLSource::build()
                    .endpoint("/graphql")
                    .subscription_endpoint("/graphql/ws")
                    .finish(),
            )
            .into_response();
        }
        return failure(
            StatusCode::BAD_REQUEST,
            ResponseMedia::Json,
            ErrorCode::BadUserInput,
            "the `query` parameter is required",
        );
    };
    let Some(media) = negotiate::response_media(&headers) else {
        return not_acceptable();
    };
    if is_mutation(&query, params.operation_name.as_deref()) {
        let mut response = failure(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            ErrorCode::BadUserInput,
            "mutations are accepted only over POST",
        );
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let mut request = Request::new(query);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    for (name, raw) in [("variables", &params.variables), ("extensions", &params.extensions)] {
        let Some(raw) = raw else { continue };
        let parsed = match serde_json::from_str::<Value>(raw) {
            Ok(value @ Value::Object(_)) => value,
            _ => {
                return failure(
                    StatusCode::BAD_REQUEST,
                    media,
                    ErrorCode::BadUserInput,
                    &format!("`{name}` must be a JSON object"),
                );
            }
        };
        if name == "variables" {
            request = request.variables(Variables::from_json(parsed));
        } else if let Ok(extensions) = serde_json::from_value(parsed) {
            request.extensions = extensions;
        }
    }
    execute(&http, &headers, peer, media, BatchRequest::Single(request)).await
}

/// Whether the operation GET would run is a mutation. Documents that do not
/// parse are left to execution, which reports the syntax error.
fn is_mutation(query: &str, operation_name: Option<&str>) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    crate::graphql::operation_type(&document, operation_name) == Some(OperationType::Mutation)
}

async fn execute(
    http: &HttpState,
    headers: &HeaderMap,
    peer: SocketAddr,
    media: ResponseMedia,
    batch: BatchRequest,
) -> Response {
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let authorization = match headers.get(header::AUTHORIZATION).map(HeaderValue::to_str).transpose() {
        Ok(value) => value,
        Err(_) => return unauthorized(media, crate::auth::REFUSED),
    };
    // A single query of a document seen before reads on one held
    // connection from its caller's credential on (`Engine::reads_ahead`).
    let ahead = match (&batch, authorization) {
        (BatchRequest::Single(request), Some(_)) => http.engine.reads_ahead(request),
        _ => None,
    };
    let authenticated = match &ahead {
        Some(reads) => http.state.auth.authenticate_on(reads, authorization).await,
        None => http.state.auth.authenticate(authorization).await,
    };
    let principal = match authenticated {
        Ok(principal) => principal,
        // Refused credentials count against the address: guessing is slow.
        Err(AppError::Unauthenticated(message)) => {
            return match http.state.rate_limits.take(Caller::Address(peer.ip()), 1) {
                Ok(()) => unauthorized(media, message),
                Err(wait) => rate_limited(media, wait),
            };
        }
        Err(e) => {
            // Converting logs the cause once, inside this request's span.
            let _: async_graphql::Error = e.into();
            return internal_failure(media, &request_id);
        }
    };
    let operations = match &batch {
        BatchRequest::Single(_) => 1,
        BatchRequest::Batch(requests) => requests.len(),
    };
    if let Err(wait) = http.state.rate_limits.take(Caller::of(principal.as_ref(), peer.ip()), operations) {
        return rate_limited(media, wait);
    }
    let batch = if crate::graphql::may_introspect(&http.state, principal.as_ref()) {
        batch
    } else {
        batch.disable_introspection()
    };
    let batch = match (principal, ahead.clone()) {
        (Some(principal), Some(reads)) => batch.data(principal).data(reads),
        (Some(principal), None) => batch.data(principal),
        (None, _) => batch,
    };
    let limit = http.state.config.request_timeout;
    let executed = tokio::time::timeout(limit, http.engine.execute_batch(batch)).await;
    if let (Some(reads), Ok(_)) = (ahead, &executed) {
        // Given back as the operation ended, unless it never ran. (A
        // request stopped by the timeout is not waited for: a load it
        // left running holds the connection until it ends, then drops it.)
        reads.release().await;
    }
    let Ok(responses) = executed else {
        let message = format!(
            "the request ran longer than {} and was stopped (a mutation it was running was rolled back); ask for less",
            humantime::format_duration(limit)
        );
        return failure(StatusCode::SERVICE_UNAVAILABLE, media, ErrorCode::QueryTooComplex, &message);
    };
    let (status, body) = match responses {
        BatchResponse::Single(response) => {
            let (body, request_error) = to_wire(response, &request_id, &http.state.metrics);
            let status = if request_error && media == ResponseMedia::GraphqlResponse {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            (status, Wires::Single(body))
        }
        BatchResponse::Batch(responses) => {
            let bodies = responses.into_iter().map(|r| to_wire(r, &request_id, &http.state.metrics).0).collect();
            (StatusCode::OK, Wires::Batch(bodies))
        }
    };
    respond(status, media, &body)
}

/// Shapes one GraphQL response for the wire, counting its errors by code;
/// the flag says whether it is a request error (no execution: the `data`
/// entry is left out).
pub(crate) fn to_wire(response: async_graphql::Response, request_id: &str, metrics: &Metrics) -> (Wire, bool) {
    let request_error = crate::graphql::refused(&response);
    let wire = Wire {
        data: (!request_error).then_some(response.data),
        errors: response.errors.into_iter().map(|e| error_json(e, request_id, metrics)).collect(),
        extensions: response.extensions,
    };
    (wire, request_error)
}

/// One GraphQL response as it goes on the wire. The data is serialized
/// straight from async-graphql's tree, not copied into a `serde_json` one
/// first: a page of orders is thousands of values.
#[derive(serde::Serialize)]
pub(crate) struct Wire {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<async_graphql::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Value>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: std::collections::BTreeMap<String, async_graphql::Value>,
}

/// Gives an error its `extensions.code` if it has none, masks internal
/// errors, and counts it.
fn error_json(mut error: ServerError, request_id: &str, metrics: &Metrics) -> Value {
    let existing = error.extensions.as_ref().and_then(|e| match e.get("code") {
        Some(async_graphql::Value::String(code)) => Some(code.clone()),
        _ => None,
    });
    let code = match existing {
        Some(code) => code,
        None => {
            let (code, field) = classify(&error);
            let ext = error.extensions.get_or_insert_with(Default::default);
            ext.set("code", code.as_str());
            if let Some(field) = field {
                ext.set("field", field);
            }
            code.as_str().to_owned()
        }
    };
    metrics.error(&code);
    if code == ErrorCode::Internal.as_str() {
        if error.message != INTERNAL_MESSAGE {
            tracing::error!(error = %error.message, "internal error");
        }
        error.message = INTERNAL_MESSAGE.to_owned();
        error.extensions.get_or_insert_with(Default::default).set("requestId", request_id);
    }
    serde_json::to_value(&error).unwrap_or_else(|_| json!({ "message": INTERNAL_MESSAGE }))
}

/// Errors raised by async-graphql itself rather than by our resolvers: the
/// document (parse, validation, variables), its cost, or argument coercion.
fn classify(error: &ServerError) -> (ErrorCode, Option<String>) {
    let message = error.message.as_str();
    if crate::graphql::limits::is_limit_message(message) {
        return (ErrorCode::QueryTooComplex, None);
    }
    let argument = message
        .split_once("argument \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(name, _)| name.to_owned())
        .or_else(|| input_argument(message));
    if error.path.is_empty() || argument.is_some() || message.starts_with("Failed to parse") {
        return (ErrorCode::BadUserInput, argument);
    }
    (ErrorCode::Internal, None)
}

/// The argument an input object arrives in, from async-graphql's "occurred
/// while parsing "CreateOrderInput"" (which names the type, not the
/// argument): this schema passes `...Input` objects as `input` and the
/// order filter as `filter`.
fn input_argument(message: &str) -> Option<String> {
    let (_, rest) = message.split_once("occurred while parsing \"")?;
    let (type_name, _) = rest.split_once('"')?;
    match type_name {
        "OrderFilter" => Some("filter".to_owned()),
        name if name.ends_with("Input") => Some("input".to_owned()),
        _ => None,
    }
}

/// A single response or a batch's.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Wires {
    Single(Wire),
    Batch(Vec<Wire>),
}

/// What a response body is written into at first: a dashboard page of 50
/// orders is 20–50 kB, which a vector grown from empty copies a dozen
/// times as it doubles (2–3% of the page's instructions, BENCHMARKS.md).
/// A body using less than a quarter of it (most answers: a mutation's, an
/// error) is copied into one its size, so that a response waiting on a
/// slow reader holds at most four times its size, and a small one only
/// its own.
const RESPONSE_BUFFER: usize = 64 * 1024;

/// The body of `body` as JSON. Written by sonic-rs, whose string escaping
/// looks at many bytes an instruction where serde_json's looks at one: a
/// page's strings (ids, cursors, names) were serde_json's largest cost,
/// 9% of a partner's page and 12% with the rest of its serialisation
/// (BENCHMARKS.md). The test below holds its bytes to serde_json's for
/// awkward texts and numbers; `tests/http_protocol.rs` holds what clients
/// read back to what was written.
fn respond(status: StatusCode, media: ResponseMedia, body: &impl serde::Serialize) -> Response {
    let mut bytes = Vec::with_capacity(RESPONSE_BUFFER);
    if sonic_rs::to_writer(&mut bytes, body).is_err() {
        bytes.clear();
    }
    if bytes.len() < bytes.capacity() / 4 {
        bytes.shrink_to_fit();
    }
    (status, [(header::CONTENT_TYPE, media.content_type())], bytes).into_response()
}

/// A response that never reached execution: one error, no `data`.
pub(crate) fn failure(status: StatusCode, media: ResponseMedia, code: ErrorCode, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] });
    refused(respond(status, media, &body), code)
}

/// The code of a response refused before execution, left on it for
/// [`count_refusals`].
#[derive(Clone, Copy)]
struct Refused(ErrorCode);

fn refused(mut response: Response, code: ErrorCode) -> Response {
    response.extensions_mut().insert(Refused(code));
    response
}

/// Counts, by code, the GraphQL requests refused before execution (the
/// executed ones are counted as they are shaped, by [`to_wire`]).
pub async fn count_refusals(
    State(http): State<HttpState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    if let Some(Refused(code)) = response.extensions().get() {
        http.state.metrics.error(code.as_str());
    }
    response
}

/// 429 with `Retry-After`: the caller's allowance of operations is spent.
fn rate_limited(media: ResponseMedia, wait: std::time::Duration) -> Response {
    let (secs, message) = crate::rate_limit::refusal(wait);
    let mut response = failure(StatusCode::TOO_MANY_REQUESTS, media, ErrorCode::RateLimited, &message);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

fn internal_failure(media: ResponseMedia, request_id: &str) -> Response {
    let body = json!({ "errors": internal_errors(request_id) });
    refused(respond(StatusCode::INTERNAL_SERVER_ERROR, media, &body), ErrorCode::Internal)
}

/// The errors of a request that failed inside: one INTERNAL, naming the
/// request for the logs and nothing else.
pub(crate) fn internal_errors(request_id: &str) -> Value {
    json!([{
        "message": INTERNAL_MESSAGE,
        "extensions": { "code": ErrorCode::Internal.as_str(), "requestId": request_id },
    }])
}

fn unauthorized(media: ResponseMedia, message: &str) -> Response {
    let mut response = failure(StatusCode::UNAUTHORIZED, media, ErrorCode::Unauthenticated, message);
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
    response
}

fn not_acceptable() -> Response {
    failure(
        StatusCode::NOT_ACCEPTABLE,
        ResponseMedia::Json,
        ErrorCode::BadUserInput,
        "`Accept` must allow application/graphql-response+json or application/json",
    )
}

#[cfg(test)]
mod tests {
    use async_graphql::indexmap::IndexMap;
    use async_graphql::{Name, Number, Value};

    use super::{Wire, input_argument, is_mutation};

    /// sonic-rs writes what serde_json wrote: each awkward text alone and
    /// all of them together, short and longer than a vector register,
    /// integers and floats, an error beside the data.
    #[test]
    fn bodies_are_written_as_serde_json_wrote_them() {
        let texts = [
            "",
            "\"",
            "\\",
            "\n",
            "\t",
            "\u{1}",
            "\u{1f}",
            "\u{7f}",
            "é",
            "漢字",
            "🔧",
            "\u{2028}\u{2029}",
            "</script>",
            "ord_01a24e3c3d9a7572aae909355f7e1c52",
        ];
        let mut all: Vec<String> = texts.iter().map(|text| (*text).to_owned()).collect();
        all.push(texts.concat());
        all.push(texts.concat().repeat(5));
        let numbers = [
            Number::from(0),
            Number::from(-1),
            Number::from(i64::MAX),
            Number::from(u64::MAX),
            Number::from_f64(0.1).expect("finite"),
            Number::from_f64(-1234.5).expect("finite"),
            Number::from_f64(1e21).expect("finite"),
            Number::from_f64(1.5e-7).expect("finite"),
        ];
        let mut object = IndexMap::new();
        for (n, text) in all.iter().enumerate() {
            object.insert(Name::new(format!("t{n}")), Value::String(text.clone()));
        }
        for (n, number) in numbers.into_iter().enumerate() {
            object.insert(Name::new(format!("n{n}")), Value::Number(number));
        }
        object.insert(
            Name::new("list"),
            Value::List(vec![Value::Null, Value::Boolean(true), Value::Enum(Name::new("OPEN"))]),
        );
        let wire = Wire {
            data: Some(Value::Object(object)),
            errors: vec![serde_json::json!({ "message": texts.concat(), "path": ["t0", 1] })],
            extensions: Default::default(),
        };
        let sonic = sonic_rs::to_vec(&wire).expect("written");
        let serde = serde_json::to_vec(&wire).expect("written");
        assert_eq!(String::from_utf8_lossy(&sonic), String::from_utf8_lossy(&serde));
    }

    #[test]
    fn input_objects_are_named_by_their_argument() {
        let money = "Failed to parse \"Money\": bad (occurred while parsing \"CreateOrderInput\")";
        assert_eq!(input_argument(money).as_deref(), Some("input"));
        assert_eq!(input_argument("x (occurred while parsing \"OrderFilter\")").as_deref(), Some("filter"));
        assert_eq!(input_argument("Failed to parse \"Int\""), None);
    }

    #[test]
    fn finds_the_operation_get_would_run() {
        assert!(is_mutation("mutation { x }", None));
        assert!(!is_mutation("{ me { id } }", None));
        assert!(!is_mutation("query Q { me { id } }", None));
        let doc = "query A { me { id } } mutation B { x }";
        assert!(is_mutation(doc, Some("B")));
        assert!(!is_mutation(doc, Some("A")));
        assert!(!is_mutation(doc, None));
        assert!(!is_mutation("mutation {", None));
    }
}
