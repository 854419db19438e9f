//! `/graphql/ws`: GraphQL over WebSocket with the graphql-transport-ws
//! protocol, exactly as its PROTOCOL.md says. Written here rather than taken
//! from async-graphql, whose handler has no initialisation timeout, closes
//! with 1011 instead of 4401, lets a reused id silently replace a stream and
//! closes with 1002 instead of 4400/4403.
//!
//! - `connection_init` authenticates from its payload
//!   (`{"authorization": "Bearer ..."}`), like the HTTP header; refused:
//!   4403. None within `WORKGATE_WS_INIT_TIMEOUT`: 4408. A second one: 4429.
//! - `subscribe` before the acknowledgement: 4401; an id in use: 4409;
//!   anything unreadable: 4400.
//! - `ping` is answered with `pong` at any time; `complete` ends a stream.
//! - When the credential expires, or a check every 30 s
//!   (`WORKGATE_WS_REAUTHENTICATE`) refuses it or finds
//!   the principal changed (revoked token, deactivated user, a role or an
//!   account setting changed), the socket closes with 4403.
//! - The connection's streams are polled by the connection itself, one
//!   message written at a time: while a write waits, nothing more is made
//!   for that socket (the hub keeps what its subscriptions have not taken,
//!   bounded, and a subscription too far behind reads the log). A client
//!   that does not take a write within [`WRITE_TIMEOUT`] is disconnected
//!   with 1013 ("try again later") and a reason saying so; it resumes after
//!   its last cursor.
//! - When the server shuts down, every socket closes with 1001.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_graphql::{Data, Request, Variables};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::response::Response;
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use serde_json::{Value, json};
use tokio_stream::StreamMap;

use super::HttpState;
use crate::auth::Principal;
use crate::metrics::GaugeGuard;
use crate::rate_limit::Caller;
use crate::time::now_micros;

/// The subprotocol spoken.
pub const PROTOCOL: &str = "graphql-transport-ws";
/// The socket's read buffer (it grows for a larger message).
const READ_BUFFER: usize = 512;
/// The largest message a client may send (a `subscribe` with its query).
pub const MAX_CLIENT_MESSAGE: usize = 256 * 1024;
/// How long one write may wait for the client to read.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn upgrade(
    State(http): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .protocols([PROTOCOL])
        // tungstenite's defaults (a 128 KiB read buffer allocated up front,
        // 64 MiB messages) would cost every idle subscriber dearly; clients
        // send small messages.
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| Connection::new(http, peer.ip()).run(socket))
}

/// Why a connection closes, as the protocol numbers it.
struct Close(u16, &'static str);

const INVALID: Close = Close(4400, "Invalid message received");
const UNAUTHORIZED: Close = Close(4401, "Unauthorized");
const FORBIDDEN: Close = Close(4403, "Forbidden");
const EXPIRED: Close = Close(4403, "Forbidden: the credential expired");
const CHANGED: Close = Close(4403, "Forbidden: the credential or its permissions changed; reconnect");
const INIT_TIMED_OUT: Close = Close(4408, "Connection initialisation timeout");
const TOO_MANY_INITS: Close = Close(4429, "Too many initialisation requests");
const TOO_SLOW: Close = Close(1013, "Too slow: messages went unread; reconnect and resume after your last cursor");
const GOING_AWAY: Close = Close(1001, "The server is shutting down; reconnect");

struct Connection {
    http: HttpState,
    /// The client's address (rate limits without credentials).
    peer: IpAddr,
    /// Set by `connection_init`: the principal, and when its credential
    /// expires.
    principal: Option<(Option<Principal>, Option<i64>)>,
    /// The credential given, to check it again every
    /// `WORKGATE_WS_REAUTHENTICATE`.
    authorization: Option<String>,
    /// Running operations' responses (then None, at their end), by a
    /// number of their own.
    streams: StreamMap<u64, BoxStream<'static, Option<async_graphql::Response>>>,
    /// What is known of each running operation, by the same number.
    running: HashMap<u64, Running>,
    /// The number of the last operation started.
    started: u64,
    _open: GaugeGuard,
}

/// A message carrying operation `running`'s `payload`, written straight
/// from it as an HTTP body is (`graphql::respond`): through a
/// `serde_json::Value` an object's keys would come out sorted by name, not
/// in the order the selection asks for them.
fn frame(running: &Running, kind: &str, payload: &impl serde::Serialize) -> String {
    #[derive(serde::Serialize)]
    struct Frame<'a, P> {
        id: &'a str,
        #[serde(rename = "type")]
        kind: &'a str,
        payload: P,
    }
    let id = running.id.as_str();
    sonic_rs::to_string(&Frame { id, kind, payload }).unwrap_or_else(|error| {
        tracing::error!(%error, request_id = %running.request_id, "a response could not be written");
        let payload = super::graphql::internal_errors(&running.request_id);
        json!({ "id": id, "type": "error", "payload": payload }).to_string()
    })
}

/// A running operation of the connection.
struct Running {
    /// The id the client gave it.
    id: String,
    /// Names its errors in the log.
    request_id: String,
    /// No response was sent yet (a request error then ends it as `error`).
    first: bool,
    _counted: GaugeGuard,
}

impl Connection {
    fn new(http: HttpState, peer: IpAddr) -> Self {
        let open = http.state.metrics.ws_connection();
        Self {
            http,
            peer,
            principal: None,
            authorization: None,
            streams: StreamMap::new(),
            running: HashMap::new(),
            started: 0,
            _open: open,
        }
    }

    async fn run(mut self, mut socket: WebSocket) {
        let close = self.serve(&mut socket).await;
        if let Some(Close(code, reason)) = close {
            self.http.state.metrics.ws_closed(code);
            let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
            // After what was already written: a slow client that reads on
            // gets it; one that reads nothing is dropped after the timeout.
            let _ = tokio::time::timeout(WRITE_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
        }
    }

    /// Writes one message, unless the client does not take it in time.
    async fn write(socket: &mut WebSocket, text: String) -> Result<(), Option<Close>> {
        match tokio::time::timeout(WRITE_TIMEOUT, socket.send(Message::Text(text.into()))).await {
            Ok(sent) => sent.map_err(|_| None),
            Err(_) => Err(Some(TOO_SLOW)),
        }
    }

    /// The message for operation `n`'s next response (None: its end).
    fn message(&mut self, n: u64, response: Option<async_graphql::Response>) -> Option<String> {
        let running = self.running.get_mut(&n)?;
        let Some(response) = response else {
            let id = self.running.remove(&n)?.id;
            return Some(json!({ "id": id, "type": "complete" }).to_string());
        };
        let (body, request_error) = super::graphql::to_wire(response, &running.request_id, &self.http.state.metrics);
        if running.first && request_error {
            let running = self.running.remove(&n)?;
            self.streams.remove(&n);
            return Some(frame(&running, "error", &body.errors));
        }
        running.first = false;
        Some(frame(running, "next", &body))
    }

    /// Serves until the client goes (None) or the connection must close.
    async fn serve(&mut self, socket: &mut WebSocket) -> Option<Close> {
        let init_deadline = tokio::time::Instant::now() + self.http.state.config.ws_init_timeout;
        let every = self.http.state.config.ws_reauthenticate;
        // The first check at a random point of the interval, so that sockets
        // opened together do not all check at once.
        let first = every.mul_f64(1.0 + rand::random::<f64>());
        let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + first, every);
        // A check under way runs beside the streams, not before them.
        let mut checking: Option<BoxFuture<'static, bool>> = None;
        let mut stopping = self.http.state.stopping.clone();
        let mut stopping = std::pin::pin!(async move {
            // The sender lives as long as the server does.
            let _ = stopping.wait_for(|stopping| *stopping).await.map(|_| ());
        });
        loop {
            let expiry = self.expiry();
            tokio::select! {
                () = &mut stopping => return Some(GOING_AWAY),
                () = tokio::time::sleep_until(init_deadline), if self.principal.is_none() => {
                    return Some(INIT_TIMED_OUT);
                }
                () = tokio::time::sleep_until(expiry.unwrap_or(init_deadline)), if expiry.is_some() => {
                    return Some(EXPIRED);
                }
                _ = recheck.tick(), if self.authorization.is_some() && checking.is_none() => {
                    // Refused now, or no longer the same principal (roles,
                    // settings): the client reconnects with what holds now.
                    let (state, authorization) = (self.http.state.clone(), self.authorization.clone());
                    let principal = self.principal.as_ref().and_then(|(p, _)| p.clone());
                    checking = Some(Box::pin(async move {
                        let now = state.auth.authenticate(authorization.as_deref()).await;
                        matches!((now, principal), (Ok(Some(p)), Some(q)) if p == q)
                    }));
                }
                same = async { Some(checking.as_mut()?.await) }, if checking.is_some() => {
                    checking = None;
                    if same != Some(true) {
                        return Some(CHANGED);
                    }
                }
                next = self.streams.next(), if !self.streams.is_empty() => {
                    if let Some((n, response)) = next
                        && let Some(message) = self.message(n, response)
                        && let Err(close) = Box::pin(Self::write(socket, message)).await
                    {
                        return close;
                    }
                }
                frame = socket.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        let reply = match serde_json::from_str::<Value>(text.as_str()) {
                            Ok(message) => Box::pin(self.handle(message)).await,
                            Err(_) => Err(INVALID),
                        };
                        match reply {
                            Ok(Some(reply)) => {
                                if let Err(close) = Box::pin(Self::write(socket, reply.to_string())).await {
                                    return close;
                                }
                            }
                            Ok(None) => {}
                            Err(close) => return Some(close),
                        }
                    }
                    Some(Ok(Message::Binary(_))) => return Some(INVALID),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                    Some(Ok(_)) => {}
                },
            }
        }
    }

    /// When the credential expires, as a tokio instant.
    fn expiry(&self) -> Option<tokio::time::Instant> {
        let (_, Some(expires)) = self.principal.as_ref()? else { return None };
        let left = u64::try_from(expires - now_micros()).unwrap_or(0);
        Some(tokio::time::Instant::now() + Duration::from_micros(left))
    }

    /// One client message: a reply to send, nothing, or why to close.
    async fn handle(&mut self, message: Value) -> Result<Option<Value>, Close> {
        match message["type"].as_str() {
            Some("connection_init") => {
                if self.principal.is_some() {
                    return Err(TOO_MANY_INITS);
                }
                let authorization = match message.get("payload") {
                    None | Some(Value::Null) => None,
                    Some(Value::Object(payload)) => match payload.get("authorization") {
                        None | Some(Value::Null) => None,
                        Some(Value::String(text)) => Some(text.clone()),
                        Some(_) => return Err(INVALID),
                    },
                    Some(_) => return Err(INVALID),
                };
                match self.http.state.auth.authenticate_until(authorization.as_deref()).await {
                    Ok(Some((principal, expires))) => self.principal = Some((Some(principal), expires)),
                    Ok(None) => self.principal = Some((None, None)),
                    Err(_) => return Err(FORBIDDEN),
                }
                self.authorization = authorization;
                Ok(Some(json!({ "type": "connection_ack" })))
            }
            Some("ping") => Ok(Some(match message.get("payload") {
                Some(payload) => json!({ "type": "pong", "payload": payload }),
                None => json!({ "type": "pong" }),
            })),
            Some("pong") => Ok(None),
            Some("subscribe") => {
                let Some((principal, _)) = &self.principal else { return Err(UNAUTHORIZED) };
                let id = message["id"].as_str().filter(|id| !id.is_empty()).ok_or(INVALID)?.to_owned();
                let payload = &message["payload"];
                let query = payload["query"].as_str().ok_or(INVALID)?;
                if self.running.values().any(|running| running.id == id) {
                    return Err(Close(4409, "Subscriber for this id already exists"));
                }
                let mut request = Request::new(query);
                if let Some(name) = payload["operationName"].as_str() {
                    request = request.operation_name(name);
                }
                match &payload["variables"] {
                    Value::Null => {}
                    variables @ Value::Object(_) => {
                        request = request.variables(Variables::from_json(variables.clone()))
                    }
                    _ => return Err(INVALID),
                }
                let mut data = Data::default();
                if let Some(principal) = principal {
                    data.insert(principal.clone());
                }
                request.data = data;
                if let Err(wait) = self.http.state.rate_limits.take(Caller::of(principal.as_ref(), self.peer), 1) {
                    let (secs, message) = crate::rate_limit::refusal(wait);
                    let code = crate::error::ErrorCode::RateLimited.as_str();
                    self.http.state.metrics.error(code);
                    let refusal = json!([{ "message": message, "extensions": { "code": code, "retryAfter": secs } }]);
                    return Ok(Some(json!({ "id": id, "type": "error", "payload": refusal })));
                }
                if !crate::graphql::may_introspect(&self.http.state, principal.as_ref()) {
                    request = request.disable_introspection();
                }
                self.started += 1;
                let responses = self.http.engine.execute_stream(request).map(Some).chain(futures::stream::iter([None]));
                self.streams.insert(self.started, responses.boxed());
                let request_id = uuid::Uuid::now_v7().to_string();
                let counted = self.http.state.metrics.subscription();
                self.running.insert(self.started, Running { id, request_id, first: true, _counted: counted });
                Ok(None)
            }
            Some("complete") => {
                let id = message["id"].as_str();
                let n = self.running.iter().find(|(_, running)| Some(running.id.as_str()) == id).map(|(n, _)| *n);
                if let Some(n) = n {
                    self.running.remove(&n);
                    self.streams.remove(&n);
                }
                Ok(None)
            }
            _ => Err(INVALID),
        }
    }
}
