//! Authentication at the edge: a bearer credential (a person's JWT or an API
//! token) becomes a [`Principal`]. Nothing after this module reads headers.
//!
//! Every refusal is the same `UNAUTHENTICATED` error whatever the reason, so
//! that a caller learns nothing about which part of a credential was wrong;
//! the reason goes to the log.

pub mod api_token;
pub mod jwt;
pub mod principal;

use std::collections::HashMap;

use entity::{account_settings, accounts, api_tokens, role_bindings, site_group_members, users};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult, Iterable,
    QueryFilter, QueryOrder, QueryResult, Value,
};

use crate::db::rows::{self, ApiTokenRow, Positional};
use crate::db::texts::Texts;
use crate::error::{AppError, AppResult};
use crate::org::model::{Role, ScopeKind};
pub use principal::{AccountSwitches, Actor, BindingScope, Principal, RoleBinding, TokenActor, UserActor};

/// The one message for every refused credential.
pub const REFUSED: &str = "invalid or expired credentials";
/// How stale `api_tokens.last_used_at` may get before a use rewrites it.
const LAST_USED_RESOLUTION_MICROS: i64 = 60 * 1_000_000;

pub struct Authenticator {
    db: DatabaseConnection,
    jwt: jwt::JwtVerifier,
}

impl Authenticator {
    pub fn new(db: DatabaseConnection, jwt: jwt::JwtVerifier) -> Self {
        Self { db, jwt }
    }

    /// Turns an `Authorization` header value into a principal. No header is
    /// `Ok(None)` (anonymous); a present but unusable credential is
    /// `UNAUTHENTICATED`.
    pub async fn authenticate(&self, authorization: Option<&str>) -> AppResult<Option<Principal>> {
        self.authenticate_on(&self.db, authorization).await
    }

    /// [`Self::authenticate`] through `conn` (a query's held connection:
    /// the request's first statement, without a round trip of its own to
    /// give a pooled connection back).
    pub async fn authenticate_on(
        &self,
        conn: &impl ConnectionTrait,
        authorization: Option<&str>,
    ) -> AppResult<Option<Principal>> {
        Ok(self.credential(conn, authorization).await?.map(|(principal, _)| principal))
    }

    /// [`Self::authenticate`], with when the credential expires (microseconds
    /// since the epoch; None for a credential that does not): a WebSocket
    /// connection ends then.
    pub async fn authenticate_until(&self, authorization: Option<&str>) -> AppResult<Option<(Principal, Option<i64>)>> {
        self.credential(&self.db, authorization).await
    }

    async fn credential(
        &self,
        conn: &impl ConnectionTrait,
        authorization: Option<&str>,
    ) -> AppResult<Option<(Principal, Option<i64>)>> {
        let Some(header) = authorization else {
            return Ok(None);
        };
        let token = bearer_token(header).ok_or_else(|| refuse("not a bearer credential"))?;
        Ok(Some(if token.starts_with(api_token::PREFIX) {
            self.api_token(conn, token).await?
        } else {
            let claims = self.jwt.verify(token).map_err(|e| refuse(&e.to_string()))?;
            let expires = i64::try_from(claims.exp).ok().map(|secs| secs.saturating_mul(1_000_000));
            (user_principal(conn, &claims.sub).await?, expires)
        }))
    }

    /// Loads a person as a principal: the user must exist, be active and be
    /// allowed to log in.
    pub async fn user(&self, user_id: &str) -> AppResult<Principal> {
        user_principal(&self.db, user_id).await
    }

    /// The token `secret`, read through `conn`, and its last use written
    /// through it too: a query holding a connection must not wait for
    /// another (every pooled one could be held that way).
    async fn api_token(&self, conn: &impl ConnectionTrait, secret: &str) -> AppResult<(Principal, Option<i64>)> {
        if !api_token::is_well_formed(secret) {
            return Err(refuse("malformed API token"));
        }
        // The token with its account's standing, in one statement, whose
        // text is always the same (kept: `Texts`).
        static LOOKUP: Texts = Texts::new();
        let backend = conn.get_database_backend();
        let statement = LOOKUP.statement(backend, (), vec![Value::from(api_token::hash(secret))], |values| {
            let query = account_standing()
                .columns(api_tokens::Column::iter().map(|column| (api_tokens::Entity, column)))
                .inner_join(
                    api_tokens::Entity,
                    Expr::col((api_tokens::Entity, api_tokens::Column::AccountId))
                        .equals((accounts::Entity, accounts::Column::Id)),
                )
                .and_where(Expr::col((api_tokens::Entity, api_tokens::Column::SecretHash)).eq(values[0].clone()))
                .take();
            backend.build(&query)
        });
        let row = conn.query_one_raw(statement).await?.ok_or_else(|| refuse("unknown API token"))?;
        let TokenStanding { token, account } = TokenStanding::read(&row)?;
        let now = crate::time::now_micros();
        if token.revoked_at.is_some() {
            return Err(refuse("revoked API token"));
        }
        if token.expires_at.is_some_and(|at| at <= now) {
            return Err(refuse("expired API token"));
        }
        // Written only when stale, so that a busy token costs no write per
        // request; the condition is repeated in SQL for concurrent uses.
        let stale = now - LAST_USED_RESOLUTION_MICROS;
        if token.last_used_at.is_none_or(|at| at < stale) {
            api_tokens::Entity::update_many()
                .col_expr(api_tokens::Column::LastUsedAt, Expr::value(now))
                .filter(api_tokens::Column::Id.eq(&token.id))
                .filter(
                    Condition::any()
                        .add(api_tokens::Column::LastUsedAt.is_null())
                        .add(api_tokens::Column::LastUsedAt.lt(stale)),
                )
                .exec(conn)
                .await?;
        }
        let capabilities = serde_json::from_str(&token.capabilities)
            .map_err(|e| AppError::internal(anyhow::anyhow!("api_tokens.capabilities of {}: {e}", token.id)))?;
        let expires = token.expires_at;
        let principal = Principal {
            organization_id: token.organization_id,
            account_id: token.account_id,
            root_account: account.parent_id.is_none(),
            settings: account.switches(),
            actor: Actor::Token(TokenActor {
                token_id: token.id,
                name: token.name,
                capabilities,
                partner_vendor_id: token.partner_vendor_id,
            }),
        };
        Ok((principal, expires))
    }
}

/// [`Authenticator::user`] through `db` (a query's held connection, say).
pub async fn user_principal(db: &impl ConnectionTrait, user_id: &str) -> AppResult<Principal> {
    // The user with their account's standing and their role bindings, in
    // one statement: a row per binding (one row without a binding for a
    // user who holds none), in a stable order, so that two loads of the
    // same bindings are equal (a WebSocket connection compares them to
    // notice a changed role).
    use role_bindings::Column as B;
    // Its text is always the same, so it is kept (`Texts`) rather than
    // built by sea-query for every request: 2% of a detail's instructions.
    static PERSON: Texts = Texts::new();
    let backend = db.get_database_backend();
    let statement = PERSON.statement(backend, (), vec![Value::from(user_id)], |values| {
        let query = account_standing()
            .columns([
                (users::Entity, users::Column::OrganizationId),
                (users::Entity, users::Column::AccountId),
                (users::Entity, users::Column::Active),
                (users::Entity, users::Column::CanLogin),
            ])
            .columns([
                (role_bindings::Entity, B::Role),
                (role_bindings::Entity, B::ScopeKind),
                (role_bindings::Entity, B::ScopeTarget),
            ])
            .inner_join(
                users::Entity,
                Expr::col((users::Entity, users::Column::AccountId)).equals((accounts::Entity, accounts::Column::Id)),
            )
            .left_join(
                role_bindings::Entity,
                Expr::col((role_bindings::Entity, B::UserId)).equals((users::Entity, users::Column::Id)),
            )
            .and_where(Expr::col((users::Entity, users::Column::Id)).eq(values[0].clone()))
            .order_by((role_bindings::Entity, B::Role), Order::Asc)
            .order_by((role_bindings::Entity, B::ScopeKind), Order::Asc)
            .order_by((role_bindings::Entity, B::ScopeTarget), Order::Asc)
            .take();
        backend.build(&query)
    });
    let mut rows = UserStanding::find_by_statement(statement).all(db).await?;
    let bindings: Vec<BindingRow> = rows.iter_mut().filter_map(|row| row.binding.take()).collect();
    let user = rows.into_iter().next().ok_or_else(|| refuse("unknown user"))?;
    if !user.active || !user.can_login {
        return Err(refuse("user is deactivated or cannot log in"));
    }
    let bindings = resolve_bindings(db, user_id, bindings).await?;
    Ok(Principal {
        root_account: user.account.parent_id.is_none(),
        settings: user.account.switches(),
        organization_id: user.organization_id,
        account_id: user.account_id,
        actor: Actor::User(UserActor { user_id: user_id.to_owned(), bindings }),
    })
}

/// An account's standing as a principal sees it: whether it is the root,
/// and its switches (all off without a settings row).
#[derive(Debug, FromQueryResult)]
struct AccountStanding {
    parent_id: Option<String>,
    requester_sees_asset_orders: Option<bool>,
    non_admin_vendor_override: Option<bool>,
    planner_may_delete: Option<bool>,
}

impl AccountStanding {
    fn switches(&self) -> AccountSwitches {
        AccountSwitches {
            requester_sees_asset_orders: self.requester_sees_asset_orders.unwrap_or(false),
            non_admin_vendor_override: self.non_admin_vendor_override.unwrap_or(false),
            planner_may_delete: self.planner_may_delete.unwrap_or(false),
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct UserStanding {
    organization_id: String,
    account_id: String,
    active: bool,
    can_login: bool,
    #[sea_orm(nested)]
    account: AccountStanding,
    #[sea_orm(nested)]
    binding: Option<BindingRow>,
}

/// One of a user's `role_bindings`, as [`UserStanding`] reads it.
#[derive(Debug, FromQueryResult)]
struct BindingRow {
    role: String,
    scope_kind: String,
    scope_target: String,
}

/// An API token with its account's standing.
struct TokenStanding {
    token: api_tokens::Model,
    account: AccountStanding,
}

impl TokenStanding {
    /// Read by position: the standing's columns ([`account_standing`]'s,
    /// in its order), then the token's.
    fn read(row: &QueryResult) -> Result<Self, DbErr> {
        let account = AccountStanding {
            parent_id: rows::at(row, 0)?,
            requester_sees_asset_orders: rows::at(row, 1)?,
            non_admin_vendor_override: rows::at(row, 2)?,
            planner_may_delete: rows::at(row, 3)?,
        };
        Ok(Self { account, token: ApiTokenRow::read(row, STANDING_COLUMNS)? })
    }
}

/// How many columns [`account_standing`] selects. [`TokenStanding::read`]
/// reads them by position and the token's after them: a column added there
/// must be added to both (`tests/security_authentication.rs` reads revoked
/// and expired tokens, whose columns a shift would misplace).
const STANDING_COLUMNS: usize = 4;

/// `accounts` with their settings: [`AccountStanding`]'s columns, in its
/// fields' order ([`TokenStanding::read`] reads them by position).
fn account_standing() -> SelectStatement {
    use account_settings::Column as S;
    Query::select()
        .column((accounts::Entity, accounts::Column::ParentId))
        .columns([
            (account_settings::Entity, S::RequesterSeesAssetOrders),
            (account_settings::Entity, S::NonAdminVendorOverride),
            (account_settings::Entity, S::PlannerMayDelete),
        ])
        .from(accounts::Entity)
        .left_join(
            account_settings::Entity,
            Expr::col((account_settings::Entity, S::AccountId)).equals((accounts::Entity, accounts::Column::Id)),
        )
        .take()
}

/// A user's role bindings with site groups resolved to their sites.
async fn resolve_bindings(
    db: &impl ConnectionTrait,
    user_id: &str,
    rows: Vec<BindingRow>,
) -> AppResult<Vec<RoleBinding>> {
    let group_ids: Vec<&str> = rows
        .iter()
        .filter(|r| r.scope_kind == ScopeKind::SiteGroup.as_str())
        .map(|r| r.scope_target.as_str())
        .collect();
    let mut group_sites: HashMap<String, Vec<String>> = HashMap::new();
    if !group_ids.is_empty() {
        for member in site_group_members::Entity::find()
            .filter(site_group_members::Column::SiteGroupId.is_in(group_ids))
            .order_by_asc(site_group_members::Column::SiteId)
            .all(db)
            .await?
        {
            group_sites.entry(member.site_group_id).or_default().push(member.site_id);
        }
    }
    rows.into_iter()
        .map(|row| {
            let role = Role::parse(&row.role);
            let kind = ScopeKind::parse(&row.scope_kind);
            let (Some(role), Some(kind)) = (role, kind) else {
                return Err(AppError::internal(anyhow::anyhow!(
                    "role binding of {user_id} has role {:?} scope {:?}",
                    row.role,
                    row.scope_kind
                )));
            };
            let scope = match kind {
                ScopeKind::Account => BindingScope::Account,
                ScopeKind::Site => BindingScope::Site(row.scope_target),
                ScopeKind::SiteGroup => BindingScope::SiteGroup {
                    site_ids: group_sites.get(&row.scope_target).cloned().unwrap_or_default(),
                    id: row.scope_target,
                },
            };
            Ok(RoleBinding { role, scope })
        })
        .collect()
}

fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn refuse(reason: &str) -> AppError {
    tracing::info!(reason, "credential refused");
    AppError::Unauthenticated(REFUSED)
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn only_bearer_credentials_are_read() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("abc"), None);
    }
}
