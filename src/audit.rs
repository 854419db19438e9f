//! The append-only audit log: who changed what, when and why. Written in the
//! same transaction as the change it records; never updated or deleted (the
//! migration installs triggers that refuse both).

use entity::audit_events;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::auth::{Actor, Principal};
use crate::error::AppResult;
use crate::ids::IdKind;

/// One audited change. `changes` maps each changed field to `[before, after]`.
pub struct AuditEntry<'a> {
    pub organization_id: &'a str,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub order_id: Option<&'a str>,
    pub changes: serde_json::Value,
    pub reason: Option<&'a str>,
}

/// Who did it: a principal, a token acting for a user (attribution goes to
/// the user, the token is recorded beside it), or the system itself (CLI
/// bootstrap, demo seed).
#[derive(Clone, Copy)]
pub enum AuditActor<'a> {
    Principal(&'a Principal),
    OnBehalf { principal: &'a Principal, user_id: &'a str },
    System,
}

impl AuditActor<'_> {
    /// The user the change is attributed to.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Self::Principal(p) => p.user_id(),
            Self::OnBehalf { user_id, .. } => Some(user_id),
            Self::System => None,
        }
    }
}

pub async fn record<C: ConnectionTrait>(conn: &C, actor: AuditActor<'_>, entry: AuditEntry<'_>) -> AppResult<()> {
    let principal = match actor {
        AuditActor::System => None,
        AuditActor::Principal(p) | AuditActor::OnBehalf { principal: p, .. } => Some(p),
    };
    let (token_id, token_name) = match principal.map(|p| &p.actor) {
        Some(Actor::Token(t)) => (Some(t.token_id.clone()), Some(t.name.clone())),
        _ => (None, None),
    };
    let actor_id = actor.user_id().map(str::to_owned);
    audit_events::ActiveModel {
        id: Set(IdKind::AuditEvent.new_id()),
        organization_id: Set(entry.organization_id.to_owned()),
        at: Set(crate::time::now_micros()),
        actor_id: Set(actor_id),
        token_id: Set(token_id),
        token_name: Set(token_name),
        action: Set(entry.action.to_owned()),
        entity_type: Set(entry.entity_type.to_owned()),
        entity_id: Set(entry.entity_id.to_owned()),
        order_id: Set(entry.order_id.map(str::to_owned)),
        changes: Set(entry.changes.to_string()),
        reason: Set(entry.reason.map(str::to_owned)),
    }
    .insert(conn)
    .await?;
    Ok(())
}
