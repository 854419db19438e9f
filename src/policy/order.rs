//! Decisions about one order: `decide(principal, action, facts)` for every
//! action of the contract, and the field guards of DOMAIN.md section 6.
//!
//! Reading order: [`Standing`] works out, once, which roles cover the order
//! and how the principal relates to it; every action is then a short rule
//! over that standing and the order's status. Every action requires that the
//! principal can see the order at all.

use super::Decision;
use super::scope::{RoleSet, scope_visible};
use crate::auth::{Actor, Principal, TokenActor, UserActor};
use crate::orders::model::{OrderKind, OrderStatus, SendState};
use crate::org::model::Role;
use crate::policy::Action;
use crate::workflow::machine;

/// Token capability to read orders.
pub const ORDERS_READ: &str = "orders:read";
/// Token capability to create orders on behalf of a user.
pub const ORDERS_WRITE: &str = "orders:write";
/// Token capability to read vendors.
pub const VENDORS_READ: &str = "vendors:read";
/// Every capability a token may be given.
pub const CAPABILITIES: [&str; 3] = [ORDERS_READ, ORDERS_WRITE, VENDORS_READ];

/// Who decides the approval step an order is waiting on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingStep<'a> {
    /// Intake approval: APPROVER, PLANNER or ADMIN in scope.
    Intake,
    /// A rule's or vendor's spend approval: its designated approvers.
    Designated(&'a [String]),
}

/// What the policy needs to know about an order.
#[derive(Debug, Clone, Copy)]
pub struct OrderFacts<'a> {
    pub organization_id: &'a str,
    pub scope_account_id: Option<&'a str>,
    pub site_id: Option<&'a str>,
    pub asset_id: Option<&'a str>,
    pub kind: OrderKind,
    pub status: OrderStatus,
    pub archived: bool,
    pub deleted: bool,
    pub creator_id: &'a str,
    pub owner_id: &'a str,
    pub vendor_id: Option<&'a str>,
    pub assignee_ids: &'a [String],
    /// Users who logged time, costs or parts on the order.
    pub work_logger_ids: &'a [String],
    /// Users designated on any of the order's approval steps.
    pub designated_approver_ids: &'a [String],
    /// The first undecided approval step, if any.
    pub pending_step: Option<PendingStep<'a>>,
    /// A send to the vendor that is queued or under way.
    pub sending: Option<SendState>,
}

impl OrderFacts<'_> {
    /// What the state machine looks at.
    pub fn state(&self) -> machine::State {
        machine::State { status: self.status, kind: self.kind, archived: self.archived, sending: self.sending }
    }
}

/// How a user stands to one order.
#[derive(Debug, Clone, Copy)]
struct Standing {
    roles: RoleSet,
    creator: bool,
    owner: bool,
    assignee: bool,
    logger: bool,
    designated: bool,
}

impl Standing {
    fn of(principal: &Principal, user: &UserActor, facts: &OrderFacts<'_>) -> Self {
        let me = user.user_id.as_str();
        let contains = |ids: &[String]| ids.iter().any(|id| id == me);
        Self {
            roles: RoleSet::covering(principal, user, facts.scope_account_id, facts.site_id),
            creator: facts.creator_id == me,
            owner: facts.owner_id == me,
            assignee: contains(facts.assignee_ids),
            logger: contains(facts.work_logger_ids),
            designated: contains(facts.designated_approver_ids),
        }
    }

    fn related(&self) -> bool {
        self.creator || self.owner || self.assignee || self.designated
    }

    /// The first of `roles` held in scope, as an allowing decision.
    fn by_role(&self, roles: &[Role]) -> Option<Decision> {
        roles.iter().find(|r| self.roles.has(**r)).map(|r| Decision::allow(in_scope(*r)))
    }

    /// A VIEWER, or a REQUESTER seeing the orders of an asset by the account
    /// setting, with no relation to the order: may look, not speak.
    fn only_looks(&self) -> bool {
        !self.related()
            && ![Role::Admin, Role::Planner, Role::Approver, Role::Technician].iter().any(|r| self.roles.has(*r))
    }
}

const fn in_scope(role: Role) -> &'static str {
    match role {
        Role::Admin => "ADMIN in scope",
        Role::Planner => "PLANNER in scope",
        Role::Approver => "APPROVER in scope",
        Role::Technician => "TECHNICIAN in scope",
        Role::Requester => "REQUESTER in scope",
        Role::Viewer => "VIEWER in scope",
    }
}

/// May `principal` perform `action` on the order described by `facts` now?
pub fn decide(principal: &Principal, action: Action, facts: &OrderFacts<'_>) -> Decision {
    if principal.organization_id != facts.organization_id {
        return Decision::deny("another organization");
    }
    if facts.deleted {
        return Decision::deny("the order was deleted");
    }
    match &principal.actor {
        Actor::Token(token) => decide_token(principal, token, action, facts),
        Actor::User(user) => decide_user(principal, user, action, facts),
    }
}

fn decide_token(principal: &Principal, token: &TokenActor, action: Action, facts: &OrderFacts<'_>) -> Decision {
    if !token.has_capability(ORDERS_READ) {
        return Decision::deny("the token lacks the orders:read capability");
    }
    if !scope_visible(principal, facts.scope_account_id) {
        return Decision::deny("outside the token's account scope");
    }
    let view = match &token.partner_vendor_id {
        Some(vendor) if facts.vendor_id != Some(vendor.as_str()) => {
            return Decision::deny("a partner token reads only the orders routed to its vendor");
        }
        Some(_) => Decision::allow("partner token of the order's vendor"),
        None => Decision::allow("API token with orders:read in its account's scope"),
    };
    if action == Action::View {
        view
    } else {
        Decision::deny("API tokens only read orders and create them on behalf of a user")
    }
}

fn decide_user(principal: &Principal, user: &UserActor, action: Action, facts: &OrderFacts<'_>) -> Decision {
    use OrderStatus::{Open, PendingApproval, Rejected};
    let s = Standing::of(principal, user, facts);
    let view = view(principal, &s, facts);
    if !view.allowed || action == Action::View {
        return view;
    }
    // The state machine first: is the action possible in this state at all?
    if let Err(reason) = machine::admits(action, facts.state()) {
        return Decision::deny(reason);
    }
    let status = facts.status;
    let managers = [Role::Admin, Role::Planner];
    match action {
        Action::View => view,
        Action::EditDetails => s
            .by_role(&managers)
            .or_else(|| s.owner.then(|| Decision::allow("the owner edits their order")))
            .or_else(|| {
                (s.creator && matches!(status, PendingApproval | Rejected))
                    .then(|| Decision::allow("the creator edits until the order is approved"))
            })
            .unwrap_or(Decision::deny(
                "details are edited by PLANNER, ADMIN, the owner, or the creator before approval",
            )),
        Action::Approve | Action::Reject => {
            if s.creator {
                return Decision::deny("separation of duties: nobody approves an order they created");
            }
            match facts.pending_step {
                None => Decision::deny("no approval step is pending"),
                Some(PendingStep::Intake) => s
                    .by_role(&[Role::Admin, Role::Planner, Role::Approver])
                    .unwrap_or(Decision::deny("intake approval needs APPROVER, PLANNER or ADMIN in scope")),
                Some(PendingStep::Designated(approvers)) => {
                    if approvers.contains(&user.user_id) {
                        Decision::allow("a designated approver of the current step")
                    } else {
                        Decision::deny("only the current step's designated approvers decide it")
                    }
                }
            }
        }
        Action::Resubmit => relation(s.creator, "the creator resubmits", s.owner, "the owner resubmits")
            .unwrap_or(Decision::deny("only the creator or the owner resubmits")),
        Action::Assign => s
            .by_role(&managers)
            .or_else(|| relation(s.owner, "the owner assigns", s.assignee, "an assignee may reassign"))
            .unwrap_or(Decision::deny("PLANNER, ADMIN, the owner or an assignee assigns")),
        Action::Start => assignee_only(&s, "an assignee starts the work"),
        Action::SubmitForReview => assignee_only(&s, "an assignee submits the resolution"),
        Action::CloseReview | Action::RequestRework => {
            if s.assignee {
                return Decision::deny("separation of duties: an assignee does not review their own work");
            }
            if s.logger {
                return Decision::deny("separation of duties: you logged work on this order");
            }
            s.by_role(&managers)
                .or_else(|| s.owner.then(|| Decision::allow("the owner reviews the resolution")))
                .unwrap_or(Decision::deny("PLANNER, ADMIN in scope or the owner reviews"))
        }
        Action::Send | Action::Resend => {
            if facts.vendor_id.is_none() {
                return Decision::deny("the order has no vendor to send to");
            }
            s.by_role(&[Role::Admin]).unwrap_or(Decision::deny("sending to vendors is for ADMIN"))
        }
        Action::MarkFulfilled => s
            .by_role(&managers)
            .or_else(|| s.owner.then(|| Decision::allow("the owner confirms fulfilment")))
            .unwrap_or(Decision::deny("ADMIN, PLANNER or the owner marks an order fulfilled")),
        Action::Cancel => {
            if let Some(admin) = s.by_role(&[Role::Admin]) {
                return admin;
            }
            if !matches!(status, PendingApproval | Rejected | Open) {
                return Decision::deny("once work started or the order was sent, only ADMIN cancels");
            }
            relation(
                s.creator,
                "the creator cancels before work starts",
                s.owner,
                "the owner cancels before work starts",
            )
            .unwrap_or(Decision::deny("the creator, the owner or ADMIN cancels"))
        }
        Action::Archive => s.by_role(&managers).unwrap_or(Decision::deny("PLANNER or ADMIN archives")),
        Action::Unarchive => s.by_role(&managers).unwrap_or(Decision::deny("PLANNER or ADMIN unarchives")),
        Action::OverrideVendor => {
            if let Some(admin) = s.by_role(&[Role::Admin]) {
                return admin;
            }
            if !principal.settings.non_admin_vendor_override {
                return Decision::deny("only ADMIN overrides the vendor (the account does not allow others)");
            }
            if s.roles.has(Role::Planner) {
                Decision::allow("PLANNER in scope, where the account allows vendor overrides")
            } else if s.owner {
                Decision::allow("the owner, where the account allows vendor overrides")
            } else {
                Decision::deny("ADMIN, or PLANNER and the owner where the account allows it, override the vendor")
            }
        }
        Action::AddNote | Action::RequestDeletion => {
            if s.only_looks() {
                Decision::deny(
                    "read-only access: seen by VIEWER role or the asset setting, without a relation to the order",
                )
            } else if action == Action::AddNote {
                Decision::allow("anyone who sees the order and is not read-only adds notes")
            } else {
                Decision::allow("anyone who sees the order and is not read-only may request its deletion")
            }
        }
        Action::AddInternalNote => s
            .by_role(&[Role::Admin, Role::Planner, Role::Approver, Role::Technician])
            .or_else(|| relation(s.owner, "the owner", s.assignee, "an assignee"))
            .unwrap_or(Decision::deny("internal notes are for staff in scope, the owner and assignees")),
        Action::LogWork => s
            .assignee
            .then(|| Decision::allow("an assignee logs their work"))
            .or_else(|| s.by_role(&managers))
            .unwrap_or(Decision::deny("assignees, PLANNER and ADMIN log work")),
        Action::Delete => {
            if let Some(admin) = s.by_role(&[Role::Admin]) {
                return admin;
            }
            if s.roles.has(Role::Planner) {
                return if principal.settings.planner_may_delete {
                    Decision::allow("PLANNER in scope, where the account allows planners to delete")
                } else {
                    Decision::deny("only ADMIN deletes (the account does not allow planners to)")
                };
            }
            Decision::deny("only ADMIN deletes orders; others request deletion")
        }
    }
}

fn view(principal: &Principal, s: &Standing, facts: &OrderFacts<'_>) -> Decision {
    if s.creator {
        return Decision::allow("the creator sees their order");
    }
    if s.owner {
        return Decision::allow("the owner sees their order");
    }
    if s.assignee {
        return Decision::allow("an assignee sees the order");
    }
    if s.designated {
        return Decision::allow("a designated approver sees the order");
    }
    if let Some(role) = s.by_role(&[Role::Admin, Role::Planner, Role::Approver, Role::Technician, Role::Viewer]) {
        return role;
    }
    if s.roles.has(Role::Requester) && principal.settings.requester_sees_asset_orders && facts.asset_id.is_some() {
        return Decision::allow("REQUESTER sees the orders of assets in scope (account setting)");
    }
    Decision::deny("no role covering the order and no relation to it")
}

fn relation(first: bool, first_reason: &'static str, second: bool, second_reason: &'static str) -> Option<Decision> {
    if first {
        Some(Decision::allow(first_reason))
    } else if second {
        Some(Decision::allow(second_reason))
    } else {
        None
    }
}

fn assignee_only(s: &Standing, reason: &'static str) -> Decision {
    if s.assignee { Decision::allow(reason) } else { Decision::deny("only an assignee does this") }
}

/// Who reads an order's costs (`costLines`, `actualCost`, `TimeEntry.cost`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostAccess {
    /// Every line.
    All,
    /// Only the lines this user logged (an assignee).
    Own,
    None,
}

/// Cost guard of section 6, for a principal who can see the order.
pub fn cost_access(principal: &Principal, facts: &OrderFacts<'_>) -> CostAccess {
    let Actor::User(user) = &principal.actor else {
        return CostAccess::None;
    };
    let s = Standing::of(principal, user, facts);
    if s.roles.has(Role::Admin) || s.roles.has(Role::Planner) || s.designated {
        CostAccess::All
    } else if s.assignee {
        CostAccess::Own
    } else {
        CostAccess::None
    }
}

pub const COSTS_DENIED: &str =
    "costs are read by ADMIN and PLANNER in scope, designated approvers, and assignees for their own lines";

/// `Order.estimatedCost`: anyone who sees the order, except partner tokens.
pub fn read_estimated_cost(principal: &Principal) -> Decision {
    if is_partner(principal) {
        Decision::deny("partner tokens do not read cost estimates")
    } else {
        Decision::allow("anyone who sees the order reads its estimate")
    }
}

/// INTERNAL notes: not partner tokens; not a REQUESTER (or a creator) whose
/// only standing is that, unless they own the order.
pub fn read_internal_notes(principal: &Principal, facts: &OrderFacts<'_>) -> bool {
    match &principal.actor {
        Actor::Token(token) => token.partner_vendor_id.is_none(),
        Actor::User(user) => {
            let s = Standing::of(principal, user, facts);
            s.owner
                || s.assignee
                || s.designated
                || [Role::Admin, Role::Planner, Role::Approver, Role::Technician, Role::Viewer]
                    .iter()
                    .any(|r| s.roles.has(*r))
        }
    }
}

/// `Order.history`: ADMIN, and PLANNER in scope.
pub fn read_history(principal: &Principal, facts: &OrderFacts<'_>) -> Decision {
    managers_in_scope(
        principal,
        facts,
        ("API tokens do not read order history", "order history is read by ADMIN and PLANNER in scope"),
    )
}

/// `Order.sends` (the sends to the vendor, with their recipients and the
/// mail server's answers): ADMIN, who sends, and PLANNER in scope, who reads
/// vendor configuration.
pub fn read_sends(principal: &Principal, facts: &OrderFacts<'_>) -> Decision {
    managers_in_scope(
        principal,
        facts,
        ("API tokens do not read sends to vendors", "sends to vendors are read by ADMIN and PLANNER in scope"),
    )
}

/// A field of an order read by ADMIN and PLANNER in scope, never by tokens;
/// the refusals say which field.
fn managers_in_scope(
    principal: &Principal,
    facts: &OrderFacts<'_>,
    (to_token, to_others): (&'static str, &'static str),
) -> Decision {
    let Actor::User(user) = &principal.actor else { return Decision::deny(to_token) };
    Standing::of(principal, user, facts).by_role(&[Role::Admin, Role::Planner]).unwrap_or(Decision::deny(to_others))
}

/// Whether `principal` hears of a change to the order (subscriptions): they
/// may view it as it is now, or, for a deleted order, as it was just before
/// (so that those who saw it learn it is gone).
pub fn hears_of(principal: &Principal, facts: &OrderFacts<'_>) -> Decision {
    decide(principal, Action::View, &OrderFacts { deleted: false, ..*facts })
}

/// Whether `principal` hears that `removed` was taken off an order's
/// assignees (subscriptions): the person removed does, even when the order
/// is now out of their sight; they saw it until this change.
pub fn hears_of_unassignment(principal: &Principal, removed: &str) -> Decision {
    if principal.user_id() == Some(removed) {
        Decision::allow("the person taken off the order")
    } else {
        Decision::deny("only the person taken off the order hears of it this way")
    }
}

/// Order fields a partner token may read (section 6); `site` means the
/// site's name only.
pub const PARTNER_ORDER_FIELDS: [&str; 10] =
    ["id", "number", "title", "description", "kind", "status", "priority", "site", "dueAt", "vendor"];

/// Why a partner token does anything but read: section 2's partner token
/// "reads only the orders routed to V, with the partner field set".
pub const PARTNER_READS_ONLY: &str = "a partner token only reads its vendor's orders";

/// The capabilities a partner token may hold.
pub const PARTNER_CAPABILITIES: [&str; 1] = [ORDERS_READ];

pub fn is_partner(principal: &Principal) -> bool {
    matches!(&principal.actor, Actor::Token(t) if t.partner_vendor_id.is_some())
}

/// Whether what `principal` may do with an order, or read of it, can
/// depend on more than its own row: its tags, assignees, work loggers and
/// approval steps. Not for a partner token: it may only view (which
/// [`decide_token`] judges from the row's organization, scope and vendor),
/// and its fields ([`PARTNER_ORDER_FIELDS`]) are the row's, its site's and
/// its vendor's. Its reads skip loading them (`orders::record`).
pub fn depends_on_related(principal: &Principal) -> bool {
    !is_partner(principal)
}

/// The fields of the objects an order leads to that a partner token reads:
/// the site's name and the vendor's id and name (section 6: "`site.name`",
/// "`vendor`"; the vendor's configuration is ADMIN's and PLANNER's).
pub const PARTNER_OTHER_FIELDS: [(&str, &str); 3] = [("Site", "name"), ("Vendor", "id"), ("Vendor", "name")];

const PARTNER_FIELDS: &str = "partner tokens read only an order's id, number, title, description, kind, status, priority, site name, due date and vendor";

/// Partner tokens read only [`PARTNER_ORDER_FIELDS`] of an order.
pub fn read_order_field(principal: &Principal, field: &str) -> Decision {
    if is_partner(principal) && !PARTNER_ORDER_FIELDS.contains(&field) {
        Decision::deny(PARTNER_FIELDS)
    } else {
        Decision::allow("readable by whoever sees the order")
    }
}

/// A field of a site or a vendor (`type_name` is `Site` or `Vendor`):
/// partner tokens read only [`PARTNER_OTHER_FIELDS`]; the other guards on
/// these types still apply.
pub fn read_site_or_vendor_field(principal: &Principal, type_name: &str, field: &str) -> Decision {
    if is_partner(principal) && !PARTNER_OTHER_FIELDS.contains(&(type_name, field)) {
        Decision::deny(PARTNER_FIELDS)
    } else {
        Decision::allow("readable by whoever sees the site or vendor")
    }
}

/// Filtering orders on what the `Order` field `order_field` holds: only
/// where the caller may read it, or a filter would tell them what they may
/// not (which orders carry a tag, who owns them).
pub fn filter_on(principal: &Principal, order_field: &str) -> Decision {
    if read_order_field(principal, order_field).allowed {
        Decision::allow("filters on a field the caller reads")
    } else {
        Decision::deny("partner tokens filter orders only on the fields they read")
    }
}

/// Where a new order goes: its site (and the site's scope tag), if any.
#[derive(Debug, Clone, Copy)]
pub struct NewOrderAt<'a> {
    pub site_id: Option<&'a str>,
    pub site_scope: Option<&'a str>,
}

fn creator_roles(creator: &Principal, at: NewOrderAt<'_>) -> Option<RoleSet> {
    let Actor::User(user) = &creator.actor else { return None };
    Some(RoleSet::covering(creator, user, at.site_scope, at.site_id))
}

/// `createOrder` (section 4): any role but VIEWER, in scope. `creator` is
/// the person the order is created by or for (a token's `onBehalfOf`).
pub fn create(creator: &Principal, at: NewOrderAt<'_>) -> Decision {
    let Some(roles) = creator_roles(creator, at) else {
        return Decision::deny("orders are created by people, or by tokens on behalf of one");
    };
    [Role::Admin, Role::Planner, Role::Approver, Role::Technician, Role::Requester]
        .into_iter()
        .find(|r| roles.has(*r))
        .map(|r| Decision::allow(in_scope(r)))
        .unwrap_or(Decision::deny("creating orders needs a role other than VIEWER covering the site"))
}

/// Intake approval (section 4): an order created by someone who holds none
/// of APPROVER, PLANNER and ADMIN at the site waits for an approver, when
/// the site has any.
pub fn needs_intake(creator: &Principal, at: NewOrderAt<'_>, site_has_approvers: bool) -> bool {
    let roles = creator_roles(creator, at).unwrap_or_default();
    site_has_approvers && ![Role::Admin, Role::Planner, Role::Approver].iter().any(|r| roles.has(*r))
}

/// Assignees named at creation: whoever may assign an order at the site
/// (PLANNER, ADMIN); the owner and assignees assign once it exists.
pub fn assign_at_creation(creator: &Principal, at: NewOrderAt<'_>) -> Decision {
    let roles = creator_roles(creator, at).unwrap_or_default();
    if roles.has(Role::Admin) || roles.has(Role::Planner) {
        Decision::allow("PLANNER or ADMIN in scope assigns")
    } else {
        Decision::deny("only PLANNER and ADMIN in scope name assignees at creation")
    }
}

/// A vendor chosen at creation instead of the resolved one: as
/// `OVERRIDE_VENDOR` would allow on the new order.
pub fn choose_vendor_at_creation(creator: &Principal, at: NewOrderAt<'_>) -> Decision {
    let roles = creator_roles(creator, at).unwrap_or_default();
    if roles.has(Role::Admin) {
        Decision::allow("ADMIN in scope")
    } else if creator.settings.non_admin_vendor_override {
        Decision::allow("the account allows vendor overrides; the creator owns the new order")
    } else {
        Decision::deny("only ADMIN chooses the vendor (the account does not allow others)")
    }
}

/// A token creating an order for a user: it needs `orders:write`, and the
/// user must be in the token's scope.
pub fn create_on_behalf(token: &Principal, user_account_id: &str, user_account_is_root: bool) -> Decision {
    let Actor::Token(actor) = &token.actor else {
        return Decision::deny("people create orders as themselves; `onBehalfOf` is for API tokens");
    };
    if actor.partner_vendor_id.is_some() {
        return Decision::deny(PARTNER_READS_ONLY);
    }
    if !actor.has_capability(ORDERS_WRITE) {
        return Decision::deny("the token lacks the orders:write capability");
    }
    let scope = if user_account_is_root { None } else { Some(user_account_id) };
    if scope_visible(token, scope) {
        Decision::allow("API token with orders:write, for a user in its scope")
    } else {
        Decision::deny("the user is outside the token's account scope")
    }
}

/// Deciding a deletion request (section 5): PLANNER and ADMIN in scope,
/// never the one who asked.
pub fn decide_deletion_request(principal: &Principal, facts: &OrderFacts<'_>, requested_by: &str) -> Decision {
    let Actor::User(user) = &principal.actor else {
        return Decision::deny("API tokens do not decide deletion requests");
    };
    if user.user_id == requested_by {
        return Decision::deny("separation of duties: nobody decides their own deletion request");
    }
    Standing::of(principal, user, facts)
        .by_role(&[Role::Admin, Role::Planner])
        .unwrap_or(Decision::deny("deletion requests are decided by PLANNER and ADMIN in scope"))
}

/// Withdrawing a deletion request: the one who made it.
pub fn withdraw_deletion_request(principal: &Principal, requested_by: &str) -> Decision {
    if principal.user_id() == Some(requested_by) {
        Decision::allow("the requester withdraws their request")
    } else {
        Decision::deny("only the requester withdraws a deletion request")
    }
}

/// Statuses in which files are added: before work (section 4: "attachments
/// also at creation") and during it.
pub const ATTACH_STATUSES: [OrderStatus; 4] =
    [OrderStatus::PendingApproval, OrderStatus::Open, OrderStatus::InProgress, OrderStatus::ActionNeeded];

/// `addAttachment`: whoever logs work, while it is done; and the creator
/// and the owner before work starts (a photo of the problem).
pub fn attach(principal: &Principal, facts: &OrderFacts<'_>) -> Decision {
    let work = decide(principal, Action::LogWork, facts);
    if work.allowed {
        return work;
    }
    let Actor::User(user) = &principal.actor else { return work };
    let early = matches!(facts.status, OrderStatus::PendingApproval | OrderStatus::Open) && !facts.archived;
    let me = user.user_id.as_str();
    if early && decide(principal, Action::View, facts).allowed && (facts.creator_id == me || facts.owner_id == me) {
        Decision::allow("the creator or owner adds files before work starts")
    } else {
        work
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::TokenActor;
    use crate::orders::model::OrderKind;

    /// [`depends_on_related`]: a partner token is judged the same with or
    /// without an order's related facts, for every action in every status,
    /// on its vendor's orders and on others'.
    #[test]
    fn a_partner_is_judged_from_the_row_alone() {
        let partner = Principal {
            organization_id: "org_1".into(),
            account_id: "acc_1".into(),
            root_account: true,
            settings: Default::default(),
            actor: Actor::Token(TokenActor {
                token_id: "tok_1".into(),
                name: "partner".into(),
                capabilities: vec![ORDERS_READ.into()],
                partner_vendor_id: Some("vnd_1".into()),
            }),
        };
        assert!(!depends_on_related(&partner));
        let people = ["usr_1".to_owned(), "usr_2".to_owned()];
        for vendor in [Some("vnd_1"), Some("vnd_2"), None] {
            for &status in OrderStatus::ALL {
                let bare = OrderFacts {
                    organization_id: "org_1",
                    scope_account_id: None,
                    site_id: Some("site_1"),
                    asset_id: None,
                    kind: OrderKind::Part,
                    status,
                    archived: false,
                    deleted: false,
                    creator_id: "usr_1",
                    owner_id: "usr_2",
                    vendor_id: vendor,
                    assignee_ids: &[],
                    work_logger_ids: &[],
                    designated_approver_ids: &[],
                    pending_step: None,
                    sending: None,
                };
                for pending_step in [Some(PendingStep::Intake), Some(PendingStep::Designated(&people))] {
                    let full = OrderFacts {
                        assignee_ids: &people,
                        work_logger_ids: &people,
                        designated_approver_ids: &people,
                        pending_step,
                        ..bare
                    };
                    for action in Action::ALL {
                        assert_eq!(decide(&partner, action, &full), decide(&partner, action, &bare), "{action:?}");
                    }
                    assert_eq!(cost_access(&partner, &full), cost_access(&partner, &bare));
                    assert_eq!(read_internal_notes(&partner, &full), read_internal_notes(&partner, &bare));
                    assert_eq!(read_history(&partner, &full), read_history(&partner, &bare));
                    assert_eq!(read_sends(&partner, &full), read_sends(&partner, &bare));
                    assert_eq!(hears_of(&partner, &full), hears_of(&partner, &bare));
                }
            }
        }
    }
}
