//! `/graphql/ws` speaks graphql-transport-ws and authenticates from the
//! `connection_init` payload.

mod common;

use std::time::Duration;

use common::ws::WsClient;
use common::{Backend, spawn_app, spawn_app_with};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

backend_tests!(
    connection_init_authenticates,
    the_protocol_closes_with_its_codes,
    an_expired_credential_closes_the_socket,
    a_withdrawn_role_closes_the_socket,
    a_client_that_does_not_read_is_closed_as_too_slow,
    metrics_are_served_to_the_bearer_of_the_metrics_token,
    payloads_keep_the_order_the_selection_asks_for,
);

const METRICS_TOKEN: &str = "metrics-token-for-tests-0123456789";

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

/// A raw socket speaking graphql-transport-ws, for breaking the protocol.
async fn raw(
    app: &common::TestApp,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = app.url("/graphql/ws").replacen("http", "ws", 1);
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().expect("header"));
    tokio_tungstenite::connect_async(request).await.expect("upgrade").0
}

/// Sends `messages` in order, then waits for the server to close: its code.
async fn close_code(app: &common::TestApp, messages: &[Value]) -> u16 {
    let mut socket = raw(app).await;
    for message in messages {
        let frame = match message {
            Value::String(text) => Message::text(text.clone()),
            other => Message::text(other.to_string()),
        };
        socket.send(frame).await.expect("sent");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next()).await.expect("closed within the deadline");
        match frame {
            Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
            Some(Ok(Message::Text(_))) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

async fn the_protocol_closes_with_its_codes(backend: Backend) {
    let app = spawn_app_with(backend, |raw| raw.ws_init_timeout = Some("300ms".into())).await;
    let boot = app.bootstrap("Acme").await;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", app.token_for(&boot.admin_user_id)) } });
    let subscribe = |id: &str| {
        json!({ "id": id, "type": "subscribe", "payload": {
        "query": "subscription { assignmentChanged { kind } }" } })
    };

    assert_eq!(close_code(&app, &[json!("not json")]).await, 4400, "unreadable message");
    assert_eq!(close_code(&app, &[init.clone(), json!({ "type": "shout" })]).await, 4400, "unknown type");
    assert_eq!(close_code(&app, &[init.clone(), json!({ "type": "subscribe", "payload": {} })]).await, 4400, "no id");
    assert_eq!(close_code(&app, &[subscribe("1")]).await, 4401, "subscribe before the acknowledgement");
    let refused = json!({ "type": "connection_init", "payload": { "authorization": "Bearer nope" } });
    assert_eq!(close_code(&app, &[refused]).await, 4403, "refused credentials");
    assert_eq!(close_code(&app, &[]).await, 4408, "no connection_init in time");
    assert_eq!(close_code(&app, &[init.clone(), subscribe("1"), subscribe("1")]).await, 4409, "id in use");
    assert_eq!(close_code(&app, &[init.clone(), init.clone()]).await, 4429, "second connection_init");

    // ping is answered, before and after the acknowledgement.
    let mut socket = raw(&app).await;
    socket.send(Message::text(json!({ "type": "ping", "payload": { "n": 1 } }).to_string())).await.expect("sent");
    let reply = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("pong");
    let Some(Ok(Message::Text(text))) = reply else { panic!("{reply:?}") };
    assert_eq!(serde_json::from_str::<Value>(&text).expect("JSON"), json!({ "type": "pong", "payload": { "n": 1 } }));

    // An id is free again once its stream completed.
    let mut client = WsClient::connect(&app.address, &app.token_for(&boot.admin_user_id)).await;
    client.subscribe("q", "{ me { id } }", json!({})).await;
    assert_eq!(client.message().await["type"], "next");
    assert_eq!(client.message().await, json!({ "id": "q", "type": "complete" }));
    client.subscribe("q", "{ me { id } }", json!({})).await;
    assert_eq!(client.message().await["type"], "next");
}

async fn an_expired_credential_closes_the_socket(backend: Backend) {
    let app = spawn_app(backend).await;
    let boot = app.bootstrap("Acme").await;
    let token =
        workgate::auth::jwt::mint_hs256(&app.config.jwt, &boot.admin_user_id, Duration::from_secs(2)).expect("mint");
    let mut client = WsClient::connect(&app.address, &token).await;
    client.subscribe("1", "subscription { assignmentChanged { kind } }", json!({})).await;
    let closed = client.message().await;
    assert_eq!(closed, json!({ "type": "closed", "code": 4403 }));
}

async fn a_withdrawn_role_closes_the_socket(backend: Backend) {
    let app = spawn_app_with(backend, |raw| raw.ws_reauthenticate = Some("200ms".into())).await;
    let boot = app.bootstrap("Acme").await;
    let planner = app.create_user(&boot.organization_id, &boot.account_id, "Pat", "pat@acme.example", true).await;
    app.execute_sql(&format!(
        "INSERT INTO role_bindings (user_id, role, scope_kind, scope_target, created_at) VALUES ('{planner}', 'PLANNER', 'ACCOUNT', '{}', 0)",
        boot.account_id
    ))
    .await;
    let mut client = WsClient::connect(&app.address, &app.token_for(&planner)).await;
    client.subscribe("1", "subscription { assignmentChanged { kind } }", json!({})).await;
    // Still the same principal: the checks pass and nothing arrives.
    assert!(client.message_within(Duration::from_millis(700)).await.is_none());
    app.execute_sql(&format!("DELETE FROM role_bindings WHERE user_id = '{planner}'")).await;
    assert_eq!(client.message().await, json!({ "type": "closed", "code": 4403 }));
}

/// A subscriber whose client stops reading is disconnected with 1013 and
/// a reason, once a write has waited for it longer than the server allows;
/// its subscription ends (memory is given back) and it can resume after
/// its last cursor.
async fn a_client_that_does_not_read_is_closed_as_too_slow(backend: Backend) {
    let app = spawn_app_with(backend, |raw| raw.metrics_token = Some(METRICS_TOKEN.into())).await;
    let boot = app.bootstrap("Acme").await;
    let admin = app.token_for(&boot.admin_user_id);
    let input = json!({ "kind": "WORK", "title": "Pump", "description": "x".repeat(10_000) });
    let created = app
        .graphql(
            Some(&admin),
            "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id } }",
            json!({ "i": input }),
        )
        .await;
    let id = created.assert_ok()["createOrder"]["id"].as_str().expect("id").to_owned();

    // A client with a small receive buffer; each event it is sent is about
    // 500 kB (fifty copies of the description).
    let address: std::net::SocketAddr = app.address.trim_start_matches("http://").parse().expect("address");
    let tcp = tokio::net::TcpSocket::new_v4().expect("socket");
    tcp.set_recv_buffer_size(4096).expect("small receive buffer");
    let stream = tcp.connect(address).await.expect("connected");
    let url = app.url("/graphql/ws").replacen("http", "ws", 1);
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().expect("header"));
    let (mut socket, _) = tokio_tungstenite::client_async(request, stream).await.expect("upgrade");
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {admin}") } });
    socket.send(Message::text(init.to_string())).await.expect("sent");
    assert!(matches!(socket.next().await, Some(Ok(Message::Text(_)))), "acknowledged");
    let copies: String = (0..50).map(|n| format!("c{n}: order {{ description }} ")).collect();
    let query = format!("subscription($id: ID!) {{ orderChanged(id: $id, after: \"0\") {{ cursor {copies} }} }}");
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": { "id": id } } });
    socket.send(Message::text(subscribe.to_string())).await.expect("sent");
    let created = socket.next().await;
    assert!(matches!(&created, Some(Ok(Message::Text(t))) if t.contains("cursor")), "the creation: {created:?}");
    assert_eq!(app.metric(METRICS_TOKEN, "workgate_subscriptions").await, 1.0);

    // The client reads nothing more while the order keeps changing, until
    // the server reports that it closed a socket as too slow.
    let edit = "mutation($id: ID!, $v: Int!, $t: String!) { editOrder(id: $id, version: $v, input: { title: $t }) { version } }";
    let mut version = 1;
    let mut edits = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while app.metric(METRICS_TOKEN, "workgate_ws_closed_total{code=\"1013\"}").await < 1.0 {
        assert!(tokio::time::Instant::now() < deadline, "never closed as too slow after {edits} edits");
        edits += 1;
        let answer =
            app.graphql(Some(&admin), edit, json!({ "id": id, "v": version, "t": format!("Pump {edits}") })).await;
        version = answer.assert_ok()["editOrder"]["version"].as_i64().expect("version");
    }

    // Reading again, it gets what was already on its way, then the close.
    let mut received = 0;
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(30), socket.next()).await.expect("closed within the deadline") {
            Some(Ok(Message::Text(_))) => received += 1,
            Some(Ok(Message::Close(Some(frame)))) => break frame,
            other => panic!("expected events then a close frame, got {other:?}"),
        }
    };
    assert_eq!(u16::from(close.code), 1013);
    assert!(close.reason.contains("resume after your last cursor"), "{}", close.reason);
    assert!(received < edits, "some events were not sent: {received} of {edits}");
    common::eventually("the subscription to end", Duration::from_secs(10), || async {
        (app.metric(METRICS_TOKEN, "workgate_subscriptions").await == 0.0
            && app.metric(METRICS_TOKEN, "workgate_ws_connections").await == 0.0)
            .then_some(())
    })
    .await;
}

/// `/metrics` is not served without `WORKGATE_METRICS_TOKEN`; with it, only
/// to its bearer.
async fn metrics_are_served_to_the_bearer_of_the_metrics_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let status = app.client.get(app.url("/metrics")).send().await.expect("answered").status();
    assert_eq!(status.as_u16(), 404, "not served without a token configured");

    let app = spawn_app_with(backend, |raw| raw.metrics_token = Some(METRICS_TOKEN.into())).await;
    for bearer in [None, Some("wrong-token-of-the-same-length-0123")] {
        let mut request = app.client.get(app.url("/metrics"));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        let response = request.send().await.expect("answered");
        assert_eq!(response.status().as_u16(), 401, "bearer {bearer:?}");
        assert_eq!(response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));
    }
    let mut ws = WsClient::connect(&app.address, &app.token_for(&app.bootstrap("Acme").await.admin_user_id)).await;
    ws.subscribe("1", "subscription { assignmentChanged { kind } }", json!({})).await;
    common::eventually("the subscription to be counted", Duration::from_secs(10), || async {
        (app.metric(METRICS_TOKEN, "workgate_ws_connections").await == 1.0
            && app.metric(METRICS_TOKEN, "workgate_subscriptions").await == 1.0)
            .then_some(())
    })
    .await;
}

/// A `next` message's data has its keys in the order the selection asks
/// for them, as an HTTP response does (the GraphQL spec's ordering), not
/// sorted by name; and reads as the HTTP response to the same document.
async fn payloads_keep_the_order_the_selection_asks_for(backend: Backend) {
    let app = spawn_app(backend).await;
    let boot = app.bootstrap("Acme").await;
    let token = app.token_for(&boot.admin_user_id);
    let mut client = WsClient::connect(&app.address, &token).await;
    for (n, (query, keys)) in
        [("{ me { name id } }", ["name", "id"]), ("{ me { id name } }", ["id", "name"])].into_iter().enumerate()
    {
        let id = n.to_string();
        client.subscribe(&id, query, json!({})).await;
        let next = client.message().await;
        assert_eq!(next["type"], "next", "{next}");
        let text = client.last_text.clone();
        let payload = &text[text.find("\"payload\":").expect("a payload")..];
        let at = |key: &str| payload.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("no {key} in {text}"));
        assert!(at(keys[0]) < at(keys[1]), "{query}: {text}");
        let over_http = app.graphql(Some(&token), query, json!({})).await;
        assert_eq!(next["payload"]["data"], *over_http.assert_ok(), "{text}");
        assert_eq!(client.message().await, json!({ "id": id, "type": "complete" }));
    }
}
