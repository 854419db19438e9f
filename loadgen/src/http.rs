//! One HTTP/1.1 keep-alive connection per worker (hyper's connection-level
//! client, no pool): a worker's requests go one after another on its own
//! socket, so "32 connections" means 32 sockets, as a dashboard fleet
//! behind a proxy would hold.

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

impl Connection {
    /// Opens a connection to `host` (`127.0.0.1:port`).
    pub async fn open(host: &str) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(host).await.with_context(|| format!("cannot connect to {host}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the server closes.
            let _ = connection.await;
        });
        Ok(Self { sender, host: host.to_owned() })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// Posts a GraphQL request body; the response's JSON.
    pub async fn graphql(&mut self, token: &str, body: Bytes) -> anyhow::Result<Value> {
        Ok(serde_json::from_slice(&self.post(token, body).await?)?)
    }

    /// Posts a GraphQL request body; the response's `errors`, as one line,
    /// if it has any. The data is read past, not built: under load the
    /// generator shares the machine with the server, and building every
    /// response's JSON tree would take CPU from it.
    pub async fn graphql_errors(&mut self, token: &str, body: Bytes) -> anyhow::Result<Option<String>> {
        #[derive(serde::Deserialize)]
        struct Reply {
            errors: Option<Value>,
        }
        let reply: Reply = serde_json::from_slice(&self.post(token, body).await?)?;
        Ok(reply.errors.map(|errors| errors.to_string()))
    }

    async fn post(&mut self, token: &str, body: Bytes) -> anyhow::Result<Bytes> {
        self.sender.ready().await?;
        let request = Request::builder()
            .method(Method::POST)
            .uri("/graphql")
            .header(HOST, &self.host)
            .header(CONTENT_TYPE, "application/json")
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(Full::new(body))?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            bail!("HTTP {status}: {}", String::from_utf8_lossy(&bytes));
        }
        Ok(bytes)
    }
}

/// A GraphQL request body.
pub fn body(query: &str, variables: &Value) -> Bytes {
    Bytes::from(serde_json::json!({ "query": query, "variables": variables }).to_string())
}

/// The `errors` of a GraphQL response, as one line, if it has any.
pub fn errors(response: &Value) -> Option<String> {
    response.get("errors").map(Value::to_string)
}

/// One GraphQL call that must succeed (setup, not measured).
pub async fn call(host: &str, token: &str, query: &str, variables: &Value) -> anyhow::Result<Value> {
    let mut connection = Connection::open(host).await?;
    let response = connection.graphql(token, body(query, variables)).await?;
    if let Some(errors) = errors(&response) {
        bail!("{query}: {errors}");
    }
    Ok(response["data"].clone())
}
