//! `/graphql/ws`: GraphQL subscriptions over WebSocket. The caller is
//! authenticated from the `connection_init` payload
//! (`{"authorization": "Bearer ..."}`), exactly like the HTTP header.

use async_graphql::Data;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response;

use super::HttpState;

pub async fn upgrade(State(http): State<HttpState>, protocol: GraphQLProtocol, upgrade: WebSocketUpgrade) -> Response {
    upgrade.protocols(ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| {
        let state = http.state.clone();
        GraphQLWebSocket::new(socket, http.schema.clone(), protocol)
            .on_connection_init(move |payload| async move {
                let authorization = payload.get("authorization").and_then(|v| v.as_str());
                let principal = state.auth.authenticate(authorization).await.map_err(async_graphql::Error::from)?;
                let mut data = Data::default();
                if let Some(principal) = principal {
                    data.insert(crate::graphql::request_data(&state, &principal));
                    data.insert(principal);
                }
                Ok(data)
            })
            .serve()
    })
}
