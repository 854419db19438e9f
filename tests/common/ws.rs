//! A graphql-transport-ws client for tests: connects to `/graphql/ws`,
//! authenticates with `connection_init`, subscribes, and reads messages
//! with a deadline.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for one message.
pub const DEADLINE: Duration = Duration::from_secs(15);

pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The last text message read, as the server wrote it.
    pub last_text: String,
}

impl WsClient {
    /// Connects to `base` (http://host:port) as the bearer of `token`; the
    /// connection is acknowledged.
    pub async fn connect(base: &str, token: &str) -> Self {
        let url = format!("{base}/graphql/ws").replacen("http", "ws", 1);
        let mut request = url.into_client_request().expect("request");
        request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().expect("header"));
        let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("upgrade");
        let mut client = Self { socket, last_text: String::new() };
        client
            .send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } }))
            .await;
        let ack = client.message().await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        client
    }

    pub async fn send(&mut self, message: Value) {
        self.socket.send(Message::text(message.to_string())).await.expect("sent");
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next protocol message (pings answered), within the deadline.
    pub async fn message(&mut self) -> Value {
        self.message_within(DEADLINE).await.unwrap_or_else(|| panic!("no message within {DEADLINE:?}"))
    }

    /// The next protocol message within `wait`, if one comes.
    pub async fn message_within(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next()).await.ok()?;
            match frame {
                Some(Ok(Message::Text(text))) => {
                    let message: Value = serde_json::from_str(&text).expect("JSON message");
                    if message["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    self.last_text = text.to_string();
                    return Some(message);
                }
                Some(Ok(Message::Close(frame))) => {
                    return Some(json!({ "type": "closed", "code": frame.map(|f| u16::from(f.code)) }));
                }
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => return Some(json!({ "type": "closed" })),
            }
        }
    }

    /// The data of the next `next` message of subscription `id`'s field
    /// `field`; panics on anything else.
    pub async fn event(&mut self, id: &str, field: &str) -> Value {
        let mut message = self.message().await;
        // Another subscription's end (after its error) is not this event.
        while message["type"] == "complete" && message["id"] != id {
            message = self.message().await;
        }
        assert_eq!((&message["type"], &message["id"]), (&json!("next"), &json!(id)), "{message}");
        assert!(message["payload"].get("errors").is_none(), "{message}");
        message["payload"]["data"][field].clone()
    }

    /// The code of a subscription's refusal: an `error` message, or a
    /// `next` carrying the error (then its `complete` is left unread).
    pub async fn refusal_code(&mut self) -> Value {
        let refused = self.message().await;
        let errors = if refused["type"] == "error" { &refused["payload"] } else { &refused["payload"]["errors"] };
        assert!(errors.is_array(), "a refusal: {refused}");
        errors[0]["extensions"]["code"].clone()
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}
