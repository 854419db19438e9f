//! The SQL form of `decide(View)`: the orders a principal may see, as one
//! condition on the `orders` table. Lists, counts, pages and queues all add
//! it to their query, so nothing is fetched to be thrown away in Rust.
//!
//! It must agree with [`super::decide`] for `Action::View` on every order;
//! the property test in `tests/visibility.rs` checks exactly that.

use entity::{orders, site_group_members, sites, users};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement, UnionType};
use sea_orm::{ColumnTrait, Condition};

use super::order::ORDERS_READ;
use super::scope::{Reach, reach};
use crate::auth::{Actor, Principal};
use crate::org::model::{Role, ScopeKind};

/// Roles that see every order they cover.
const VIEWING_ROLES: [Role; 5] = [Role::Admin, Role::Planner, Role::Approver, Role::Technician, Role::Viewer];

/// The orders `principal` may see (not deleted, in its organization).
pub fn visible_orders(principal: &Principal) -> Condition {
    visible(principal, &Every)
}

/// The order `id`, if `principal` may see it: [`visible_orders`] with each
/// arm of the visibility cut to that order, so that each arm is one index
/// lookup. SQLite does not carry an outer `id = ?` into the arms of a
/// `UNION`: given `visible_orders` and the id, it read every order a
/// site-bound principal's arms reach.
///
/// A function of `principal` and `id` alone, and `id` is only ever bound
/// as a value: a caller may keep its text by principal (`orders::record`).
pub fn visible_order(principal: &Principal, id: &str) -> Condition {
    visible(principal, &One(id)).add(orders::Column::Id.eq(id))
}

/// A relation that a link table holds between people and orders: an arm of
/// a person's visibility that is not a condition on `orders`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// `order_assignees`: the orders a person is assigned to.
    Assignee,
    /// `approval_step_approvers`: the orders a person is a designated
    /// approver of (one row per step).
    Approver,
}

impl Link {
    /// The column of both link tables that names the order.
    pub const ORDER: &'static str = "order_id";
    /// The column of both link tables that names the person.
    pub const USER: &'static str = "user_id";

    /// The link table.
    pub fn table(self) -> &'static str {
        match self {
            Self::Assignee => "order_assignees",
            Self::Approver => "approval_step_approvers",
        }
    }

    /// Whether the table may hold an order more than once for a person
    /// (a designated approver of two of its steps).
    pub fn repeats_orders(self) -> bool {
        matches!(self, Self::Approver)
    }

    /// Whether this link relates `user` to the order of the row at hand: a
    /// condition on `orders`, correlated by its id.
    ///
    /// Written as `EXISTS`, not as `id IN (the user's orders)`: PostgreSQL
    /// estimates the `IN`'s rows without the user's id at the average
    /// person's (303 designations in the synthetic data), so a prepared
    /// page holding it never found a plan made without the values cheap
    /// enough, and planned every execution for them (a child account
    /// ADMIN's page: 0.32–0.37 ms to plan, more than running it). The
    /// `EXISTS` runs the same way (as a hash of the user's orders, or one
    /// index probe for one order) and its plan is kept (BENCHMARKS.md, "A
    /// child account's page planned once").
    fn holds(self, user: &str) -> Expr {
        let mut linked = self.orders_of(user, None);
        // `order_id` is the link table's: `orders` has no such column.
        linked.and_where(Expr::col(Alias::new(Self::ORDER)).equals((orders::Entity, orders::Column::Id)));
        Expr::exists(linked)
    }

    /// The ids of the orders this link relates `user` to (of them, `only`
    /// when given).
    fn orders_of(self, user: &str, only: Option<&str>) -> SelectStatement {
        let column = |name| Expr::col(Alias::new(name));
        let mut select = Query::select()
            .column(Alias::new(Self::ORDER))
            .from(Alias::new(self.table()))
            .and_where(column(Self::USER).eq(user))
            .take();
        if let Some(order) = only {
            select.and_where(column(Self::ORDER).eq(order));
        }
        select
    }
}

/// How the arms of a site-bound principal's visibility are read, each as
/// the ids of its orders, and how their union becomes the visible ids.
/// What the arms are is this module's decision ([`visible`]); an `Arms`
/// only chooses the statement that reads each.
///
/// `base` is what every visible order meets ([`base`]), which the outer
/// condition holds too: for an `Arms` that cuts each arm to its first rows,
/// which must be visible ones.
pub trait Arms {
    /// The orders meeting `arm`, a condition on `orders`.
    fn orders(&self, arm: Condition, base: &Condition) -> SelectStatement;
    /// The orders `link` relates `user` to.
    fn linked(&self, link: Link, user: &str, base: &Condition) -> SelectStatement;
    /// The visible ids, given the union of the arms' ids.
    fn united(&self, union: SelectStatement) -> SelectStatement {
        union
    }
}

/// Every order of each arm.
struct Every;

impl Arms for Every {
    fn orders(&self, arm: Condition, _base: &Condition) -> SelectStatement {
        Query::select().column((orders::Entity, orders::Column::Id)).from(orders::Entity).cond_where(arm).take()
    }

    fn linked(&self, link: Link, user: &str, _base: &Condition) -> SelectStatement {
        link.orders_of(user, None)
    }
}

/// Of each arm, the one order.
struct One<'a>(&'a str);

impl Arms for One<'_> {
    fn orders(&self, arm: Condition, base: &Condition) -> SelectStatement {
        Every.orders(arm.add(orders::Column::Id.eq(self.0)), base)
    }

    fn linked(&self, link: Link, user: &str, _base: &Condition) -> SelectStatement {
        link.orders_of(user, Some(self.0))
    }
}

/// Whether `principal` sees every order of its organization: [`visible`]'s
/// condition is then [`base`] alone.
fn sees_whole_organization(principal: &Principal) -> bool {
    principal.root_account
        && match &principal.actor {
            Actor::Token(token) => token.has_capability(ORDERS_READ) && token.partner_vendor_id.is_none(),
            Actor::User(user) => matches!(reach(user, &VIEWING_ROLES), Reach::Everywhere),
        }
}

/// [`visible_orders`] for a query that keeps only the first rows of its
/// sort (a page). Where roles reach only some sites, `page` reads each arm
/// of the visibility as the first rows the page could take among its
/// orders (the page's own filter, order and limit applied) and their union
/// as the page's first rows among those, since an order among the page's
/// first rows is among its arm's first rows too: a technician's page reads
/// a page's worth of orders of their site, of their assignments and of
/// their designations, not all of them. Elsewhere it is
/// [`visible_orders`].
pub fn visible_orders_for_page(principal: &Principal, page: &dyn Arms) -> Condition {
    visible(principal, page)
}

/// What every visible order is: in the principal's organization, not
/// deleted.
fn base(principal: &Principal) -> Condition {
    Condition::all()
        .add(orders::Column::OrganizationId.eq(principal.organization_id.as_str()))
        .add(orders::Column::DeletedAt.is_null())
}

/// `arms` reads the arms of a site-bound principal's visibility.
fn visible(principal: &Principal, arms: &dyn Arms) -> Condition {
    let base = base(principal);
    if sees_whole_organization(principal) {
        return base;
    }
    match &principal.actor {
        Actor::Token(token) => {
            if !token.has_capability(ORDERS_READ) {
                return base.add(nothing());
            }
            let base = with_scope(base, principal);
            match &token.partner_vendor_id {
                Some(vendor) => base.add(orders::Column::VendorId.eq(vendor.as_str())),
                None => base,
            }
        }
        Actor::User(user) => {
            let me = user.user_id.as_str();
            let by_role = reach(user, &VIEWING_ROLES);
            let everywhere = matches!(by_role, Reach::Everywhere);
            let mut conditions: Vec<Condition> = Vec::new();
            if let Some(covered) = covered(principal, by_role, None) {
                conditions.push(covered);
            }
            if principal.settings.requester_sees_asset_orders {
                let asset_orders = Condition::all().add(orders::Column::AssetId.is_not_null());
                if let Some(by_role) = covered(principal, reach(user, &[Role::Requester]), Some(asset_orders)) {
                    conditions.push(by_role);
                }
            }
            conditions.push(Condition::all().add(orders::Column::CreatorId.eq(me)));
            conditions.push(Condition::all().add(orders::Column::OwnerId.eq(me)));
            let links = [Link::Assignee, Link::Approver];
            if everywhere {
                // A role covers every order in scope: one OR, which the
                // database evaluates while walking the sort's index (most
                // orders pass).
                let any = conditions.into_iter().fold(Condition::any(), Condition::add);
                return base.add(links.into_iter().fold(any, |any, link| any.add(link.holds(me))));
            }
            // Roles at some sites only: the ids of each arm, united. Each arm
            // is an index lookup, so the cost follows the orders visible,
            // not the organization's size (an OR holding subqueries cannot
            // use indexes and is evaluated on every order).
            let mut ids = arms.linked(Link::Assignee, me, &base);
            ids.union(UnionType::All, arms.linked(Link::Approver, me, &base));
            for condition in conditions {
                ids.union(UnionType::All, arms.orders(condition, &base));
            }
            base.add(orders::Column::Id.in_subquery(arms.united(ids)))
        }
    }
}

/// The orders on which a user holds one of `roles` (in scope, at the
/// order's site); nothing for tokens. Combined with [`visible_orders`] by the
/// queues that only some roles work (REVIEW, DELETION_REQUESTS).
pub fn orders_with_roles(principal: &Principal, roles: &[Role]) -> Condition {
    let Actor::User(user) = &principal.actor else {
        return Condition::all().add(nothing());
    };
    covered(principal, reach(user, roles), None).unwrap_or_else(|| Condition::all().add(nothing()))
}

/// Orders in the principal's visible scope within `reach`, and `extra`.
fn covered(principal: &Principal, reach: Reach, extra: Option<Condition>) -> Option<Condition> {
    let mut condition = with_scope(Condition::all(), principal);
    match reach {
        Reach::Nowhere => return None,
        Reach::Everywhere => {}
        Reach::Sites(sites) => condition = condition.add(orders::Column::SiteId.is_in(sites)),
    }
    if let Some(extra) = extra {
        condition = condition.add(extra);
    }
    // An empty `all` (a root principal with an account-wide role) is TRUE.
    Some(if condition.is_empty() { Condition::all().add(everything()) } else { condition })
}

/// Adds the scope rule of DOMAIN.md section 1 (nothing for the root).
fn with_scope(condition: Condition, principal: &Principal) -> Condition {
    if principal.root_account {
        condition
    } else {
        condition.add(
            Condition::any()
                .add(orders::Column::ScopeAccountId.is_null())
                .add(orders::Column::ScopeAccountId.eq(principal.account_id.as_str())),
        )
    }
}

/// The bindings of `role`, held by active users, that cover `site`: bound
/// at the site, at a group holding it, or account-wide in an account that
/// sees it (the site's or the root, `root`). The SQL form, over everyone,
/// of what [`super::scope::RoleSet::covering`] says of one user.
pub fn bindings_covering_site(role: Role, site: &sites::Model, root: &str) -> Condition {
    use entity::role_bindings::Column as B;
    let groups = Query::select()
        .column(site_group_members::Column::SiteGroupId)
        .from(site_group_members::Entity)
        .and_where(site_group_members::Column::SiteId.eq(site.id.as_str()))
        .take();
    let account_users = Query::select()
        .column(users::Column::Id)
        .from(users::Entity)
        .and_where(users::Column::OrganizationId.eq(site.organization_id.as_str()))
        .and_where(users::Column::AccountId.is_in([site.account_id.as_str(), root]))
        .take();
    let active = Query::select()
        .column(users::Column::Id)
        .from(users::Entity)
        .and_where(users::Column::OrganizationId.eq(site.organization_id.as_str()))
        .and_where(users::Column::Active.eq(true))
        .take();
    let at = |kind: ScopeKind| B::ScopeKind.eq(kind.as_str());
    Condition::all().add(B::Role.eq(role.as_str())).add(B::UserId.in_subquery(active)).add(
        Condition::any()
            .add(Condition::all().add(at(ScopeKind::Site)).add(B::ScopeTarget.eq(site.id.as_str())))
            .add(Condition::all().add(at(ScopeKind::SiteGroup)).add(B::ScopeTarget.in_subquery(groups)))
            .add(Condition::all().add(at(ScopeKind::Account)).add(B::UserId.in_subquery(account_users))),
    )
}

fn nothing() -> Expr {
    Expr::val(1).eq(0)
}

fn everything() -> Expr {
    Expr::val(1).eq(1)
}
