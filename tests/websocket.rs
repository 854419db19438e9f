//! `/graphql/ws` speaks graphql-transport-ws and authenticates from the
//! `connection_init` payload.

mod common;

use std::time::Duration;

use common::{Backend, spawn_app};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

backend_tests!(connection_init_authenticates);

async fn first_reply(app: &common::TestApp, payload: Value) -> Option<Value> {
    let url = app.url("/graphql/ws").replacen("http", "ws", 1);
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().expect("header"));
    let (mut socket, response) = tokio_tungstenite::connect_async(request).await.expect("upgrade");
    assert_eq!(
        response.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()),
        Some("graphql-transport-ws")
    );
    socket
        .send(Message::text(json!({ "type": "connection_init", "payload": payload }).to_string()))
        .await
        .expect("sent");
    let reply =
        tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("a reply within the deadline");
    match reply {
        Some(Ok(Message::Text(text))) => Some(serde_json::from_str(&text).expect("JSON message")),
        // Refused: the server closes the socket.
        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => None,
        Some(Ok(other)) => panic!("unexpected frame {other:?}"),
    }
}

async fn connection_init_authenticates(backend: Backend) {
    let app = spawn_app(backend).await;
    let boot = app.bootstrap("Acme").await;
    let token = app.token_for(&boot.admin_user_id);
    let ack = first_reply(&app, json!({ "authorization": format!("Bearer {token}") })).await;
    assert_eq!(ack.expect("acknowledged")["type"], "connection_ack");

    let refused = first_reply(&app, json!({ "authorization": "Bearer not-a-token" })).await;
    assert!(refused.is_none_or(|m| m["type"] != "connection_ack"), "bad credentials are not acknowledged");
}
