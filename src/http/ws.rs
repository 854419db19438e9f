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
//! - A subscriber too slow for the live events ends with an error naming
//!   the cursor to resume from (see `subscriptions`); what the socket waits
//!   to send is bounded by [`OUTBOX`] messages.

use std::collections::HashMap;
use std::time::Duration;

use async_graphql::{Data, Request, Variables};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::HttpState;
use crate::auth::Principal;
use crate::time::now_micros;

/// The subprotocol spoken.
pub const PROTOCOL: &str = "graphql-transport-ws";
/// Messages waiting to be written to one socket.
const OUTBOX: usize = 256;

pub async fn upgrade(State(http): State<HttpState>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.protocols([PROTOCOL]).on_upgrade(move |socket| Connection::new(http).run(socket))
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

/// What a subscription task tells the connection.
enum Out {
    /// A message of stream `id` (its `generation`th use of the id); dropped
    /// if the client completed that stream meanwhile.
    Send { message: Value, id: String, generation: u64 },
    /// The last message of stream `id` (its `generation`th use of the id):
    /// once it is written, the id is free again.
    Last { message: Value, id: String, generation: u64 },
}

struct Connection {
    http: HttpState,
    /// Set by `connection_init`: the principal, and when its credential
    /// expires.
    principal: Option<(Option<Principal>, Option<i64>)>,
    /// The credential given, to check it again every
    /// `WORKGATE_WS_REAUTHENTICATE`.
    authorization: Option<String>,
    /// Running streams by id, with the generation that started them.
    subscriptions: HashMap<String, (u64, JoinHandle<()>)>,
    generation: u64,
    outbox: mpsc::Sender<Out>,
    inbox: mpsc::Receiver<Out>,
}

impl Connection {
    fn new(http: HttpState) -> Self {
        let (outbox, inbox) = mpsc::channel(OUTBOX);
        Self { http, principal: None, authorization: None, subscriptions: HashMap::new(), generation: 0, outbox, inbox }
    }

    async fn run(mut self, mut socket: WebSocket) {
        let close = self.serve(&mut socket).await;
        for (_, (_, task)) in self.subscriptions.drain() {
            task.abort();
        }
        if let Some(Close(code, reason)) = close {
            let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
            let _ = socket.send(Message::Close(Some(frame))).await;
        }
    }

    /// Serves until the client goes (None) or the connection must close.
    async fn serve(&mut self, socket: &mut WebSocket) -> Option<Close> {
        let init_deadline = tokio::time::Instant::now() + self.http.state.config.ws_init_timeout;
        let every = self.http.state.config.ws_reauthenticate;
        let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            let expiry = self.expiry();
            tokio::select! {
                () = tokio::time::sleep_until(init_deadline), if self.principal.is_none() => {
                    return Some(INIT_TIMED_OUT);
                }
                () = tokio::time::sleep_until(expiry.unwrap_or(init_deadline)), if expiry.is_some() => {
                    return Some(EXPIRED);
                }
                _ = recheck.tick(), if self.authorization.is_some() => {
                    // Refused now, or no longer the same principal (roles,
                    // settings): the client reconnects with what holds now.
                    let now = self.http.state.auth.authenticate(self.authorization.as_deref()).await;
                    let same = matches!((&now, &self.principal), (Ok(Some(p)), Some((Some(q), _))) if p == q);
                    if !same {
                        return Some(CHANGED);
                    }
                }
                out = self.inbox.recv() => match out {
                    Some(Out::Send { message, id, generation }) => {
                        let current = self.subscriptions.get(&id).is_some_and(|(g, _)| *g == generation);
                        if current && socket.send(Message::Text(message.to_string().into())).await.is_err() {
                            return None;
                        }
                    }
                    Some(Out::Last { message, id, generation }) => {
                        if self.subscriptions.get(&id).is_some_and(|(g, _)| *g == generation) {
                            self.subscriptions.remove(&id);
                            if socket.send(Message::Text(message.to_string().into())).await.is_err() {
                                return None;
                            }
                        }
                    }
                    None => return None,
                },
                frame = socket.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        let reply = match serde_json::from_str::<Value>(text.as_str()) {
                            Ok(message) => self.handle(message).await,
                            Err(_) => Err(INVALID),
                        };
                        match reply {
                            Ok(Some(reply)) => {
                                if socket.send(Message::Text(reply.to_string().into())).await.is_err() {
                                    return None;
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
                if self.subscriptions.contains_key(&id) {
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
                    data.insert(crate::graphql::request_data(&self.http.state, principal));
                    data.insert(principal.clone());
                }
                request.data = data;
                self.generation += 1;
                let task = tokio::spawn(subscription(
                    self.http.clone(),
                    id.clone(),
                    self.generation,
                    request,
                    self.outbox.clone(),
                ));
                self.subscriptions.insert(id, (self.generation, task));
                Ok(None)
            }
            Some("complete") => {
                if let Some((_, task)) = message["id"].as_str().and_then(|id| self.subscriptions.remove(id)) {
                    task.abort();
                }
                Ok(None)
            }
            _ => Err(INVALID),
        }
    }
}

/// Runs one operation, sending each result as `next` (or a request error as
/// `error`), then `complete`.
async fn subscription(http: HttpState, id: String, generation: u64, request: Request, outbox: mpsc::Sender<Out>) {
    let request_id = uuid::Uuid::now_v7().to_string();
    let mut stream = std::pin::pin!(http.schema.execute_stream(request));
    let mut first = true;
    while let Some(response) = stream.next().await {
        let (body, request_error) = super::graphql::to_wire(response, &request_id);
        if first && request_error {
            let message = json!({ "id": id, "type": "error", "payload": body["errors"] });
            let _ = outbox.send(Out::Last { message, id, generation }).await;
            return;
        }
        first = false;
        // A full outbox waits here: the stream is not read meanwhile, so
        // its live buffer fills, and it ends as too slow.
        let message = json!({ "id": id, "type": "next", "payload": body });
        if outbox.send(Out::Send { message, id: id.clone(), generation }).await.is_err() {
            return;
        }
    }
    let message = json!({ "id": id, "type": "complete" });
    let _ = outbox.send(Out::Last { message, id, generation }).await;
}
