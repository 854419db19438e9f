//! What the relay publishes on the bus: one order event, sequenced, as JSON.

use entity::order_events;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub seq: i64,
    pub id: i64,
    pub organization_id: String,
    pub order_id: String,
    pub kind: String,
    pub actor_id: Option<String>,
    pub at: i64,
    pub payload: String,
}

impl Published {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

impl From<&order_events::Model> for Published {
    fn from(e: &order_events::Model) -> Self {
        Self {
            seq: e.seq.unwrap_or_default(),
            id: e.id,
            organization_id: e.organization_id.clone(),
            order_id: e.order_id.clone(),
            kind: e.kind.clone(),
            actor_id: e.actor_id.clone(),
            at: e.at,
            payload: e.payload.clone(),
        }
    }
}

impl From<order_events::Model> for Published {
    fn from(e: order_events::Model) -> Self {
        Self::from(&e)
    }
}
