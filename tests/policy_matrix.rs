//! Permission matrix for `workgate::policy::decide`, written from
//! `DOMAIN.md` sections 1-6 and not from the code under test.
//!
//! [`expected`] is an independent oracle: one arm per row of the transition
//! table (section 4) and the deletion rules (section 5), each quoting its row.
//! `matrix_matches_domain` walks every principal kind x every action x every
//! status x every kind x vendor set/unset x archived x asset x pending step x
//! the three account switches, and fails once with every disagreement.
//!
//! Deactivated users are not a row here: a deactivated user never becomes a
//! `Principal` (authentication refuses even a still-valid token, section 2),
//! which `tests/security_authentication.rs::inactive_and_unknown_users_are_refused`
//! checks.
//!
//! Where DOMAIN.md leaves a case open, this test decides:
//!
//! - Archived orders are read-only: only `View`, `Unarchive`,
//!   `RequestDeletion` and `Delete`. Archiving is a flag on `CLOSED`,
//!   `CANCELLED` and `REJECTED` orders only and an archived order cannot
//!   change status, so `Unarchive` checks the flag, not the status; the
//!   (unreachable) archived orders in other statuses are still walked.
//! - `Start` is for `WORK` orders only (vendor orders are sent, not started).
//!   `MarkFulfilled` is for vendor kinds (only they reach `SENT`).
//!   `Assign`, `SubmitForReview` and `LogWork` do not look at the kind: the
//!   status already says whether they make sense.
//! - `Send` / `Resend` only for vendor kinds (`PART`, `SERVICE`, `CAPITAL`)
//!   with a vendor set.
//! - `OverrideVendor` ("before `SENT`"): vendor kinds in `PENDING_APPROVAL`,
//!   `REJECTED`, `OPEN` or `SEND_FAILED` (a failed send never reached the
//!   vendor). ADMIN always; "others where the account allows it" means PLANNER
//!   in scope or the owner, with the switch `non_admin_vendor_override`.
//! - REQUESTER by role sees no order (section 3: only those they created, own
//!   or requested), except orders with an asset when the account switch
//!   `requester_sees_asset_orders` is on (seed 003's asset-page exception).
//! - API tokens (partner or not): `View` only. Section 2 lists all a token may
//!   do (create on behalf of a user, query, preview resolution); adding notes
//!   is not among it.
//! - Relations ignore child-account scope ("always see it (within the
//!   organization)"): an assignee from another child account sees and works on
//!   the order; roles only count where the scope is visible (section 1).
//! - `Approve` / `Reject` with an intake step: APPROVER, PLANNER, ADMIN in
//!   scope; with a spend step: only that step's designated approvers, never
//!   the creator (separation of duties), whatever their roles.

use std::collections::BTreeMap;
use std::fmt;

use workgate::auth::{AccountSwitches, Actor, BindingScope, Principal, RoleBinding, TokenActor, UserActor};
use workgate::orders::model::{OrderKind, OrderStatus, SendState};
use workgate::org::model::Role;
use workgate::policy::{Action, Decision, OrderFacts, PendingStep, decide};

use Action as A;
use OrderStatus as S;

const ORG: &str = "org_1";
const OTHER_ORG: &str = "org_2";
const ROOT: &str = "acc_root";
const ACC_A: &str = "acc_a";
const ACC_B: &str = "acc_b";
/// The order's site, in scope `acc_a`.
const SITE: &str = "site_1";
const OTHER_SITE: &str = "site_2";
const GROUP: &str = "grp_1";
const VENDOR: &str = "ven_1";
const OTHER_VENDOR: &str = "ven_2";
/// The principal under test, when it is a user.
const ME: &str = "usr_me";
/// Creator and owner of the order when that is not `ME`.
const SOMEONE: &str = "usr_someone";
/// Always an assignee, work logger and designated approver, so those lists
/// are never empty just because `ME` is not on them.
const COLLEAGUE: &str = "usr_colleague";

// ---------------------------------------------------------------------------
// Principal kinds
// ---------------------------------------------------------------------------

/// Where a role binding is held, relative to the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    Account,
    /// `SITE(site_1)`: the order's site.
    OrderSite,
    /// `SITE_GROUP(grp_1)` = {site_1, site_3}.
    OrderGroup,
    /// `SITE(site_2)`: covers nothing here.
    OtherSite,
}

/// How the user relates to the order (section 3), independent of roles.
#[derive(Debug, Clone, Copy, Default)]
struct Rel {
    creator: bool,
    owner: bool,
    assignee: bool,
    /// Logged time, costs or parts on it (not a relation that grants access).
    logger: bool,
    designated: bool,
}

impl Rel {
    /// The relations that "grant access of their own" (section 3).
    fn related(self) -> bool {
        self.creator || self.owner || self.assignee || self.designated
    }
}

#[derive(Debug, Clone)]
enum Who {
    User { account: &'static str, roles: Vec<(Role, At)>, rel: Rel },
    Token { orders_read: bool, partner: Option<&'static str> },
}

/// One principal kind of the matrix, with the order circumstances that go
/// with it (its organization, whether the order was deleted).
#[derive(Debug, Clone)]
struct Subject {
    label: String,
    who: Who,
    organization: &'static str,
    order_deleted: bool,
}

fn user(label: impl Into<String>, account: &'static str, roles: &[(Role, At)], rel: Rel) -> Subject {
    Subject {
        label: label.into(),
        who: Who::User { account, roles: roles.to_vec(), rel },
        organization: ORG,
        order_deleted: false,
    }
}

fn token(label: &str, orders_read: bool, partner: Option<&'static str>) -> Subject {
    Subject { label: label.into(), who: Who::Token { orders_read, partner }, organization: ORG, order_deleted: false }
}

const NONE: Rel = Rel { creator: false, owner: false, assignee: false, logger: false, designated: false };
const CREATOR: Rel = Rel { creator: true, ..NONE };
const OWNER: Rel = Rel { owner: true, ..NONE };
const ASSIGNEE: Rel = Rel { assignee: true, ..NONE };
const LOGGER: Rel = Rel { logger: true, ..NONE };
const DESIGNATED: Rel = Rel { designated: true, ..NONE };

fn subjects() -> Vec<Subject> {
    let mut all = Vec::new();
    for role in Role::ALL {
        let r = role.as_str();
        all.push(user(format!("{r} @ACCOUNT (acc_a)"), ACC_A, &[(role, At::Account)], NONE));
        all.push(user(format!("{r} @ACCOUNT (root)"), ROOT, &[(role, At::Account)], NONE));
        all.push(user(format!("{r} @SITE site_1"), ACC_A, &[(role, At::OrderSite)], NONE));
        all.push(user(format!("{r} @SITE_GROUP grp_1"), ACC_A, &[(role, At::OrderGroup)], NONE));
        all.push(user(format!("{r} @SITE site_2 (other)"), ACC_A, &[(role, At::OtherSite)], NONE));
    }
    all.extend([
        user("creator (no role)", ACC_A, &[], CREATOR),
        user("owner, not creator (no role)", ACC_A, &[], OWNER),
        user("assignee (no role)", ACC_A, &[], ASSIGNEE),
        user("assignee who logged work (no role)", ACC_A, &[], Rel { logger: true, ..ASSIGNEE }),
        user("designated approver (no role)", ACC_A, &[], DESIGNATED),
        user("none of these (no role)", ACC_A, &[], NONE),
        // Combinations for separation of duties and "roles never take away".
        user("PLANNER @ACCOUNT who logged work", ACC_A, &[(Role::Planner, At::Account)], LOGGER),
        user("PLANNER @SITE site_1 who is assignee", ACC_A, &[(Role::Planner, At::OrderSite)], ASSIGNEE),
        user("ADMIN @ACCOUNT who is assignee", ACC_A, &[(Role::Admin, At::Account)], ASSIGNEE),
        user(
            "creator, designated, APPROVER @ACCOUNT",
            ACC_A,
            &[(Role::Approver, At::Account)],
            Rel { designated: true, ..CREATOR },
        ),
        user("owner who is VIEWER @ACCOUNT", ACC_A, &[(Role::Viewer, At::Account)], OWNER),
        user("assignee from child account acc_b", ACC_B, &[], ASSIGNEE),
        // Tokens.
        token("API token with orders:read", true, None),
        token("API token without orders:read", false, None),
        token("partner token of the order's vendor", true, Some(VENDOR)),
        token("partner token of another vendor", true, Some(OTHER_VENDOR)),
    ]);
    // Everything denied: scope B, another organization, a deleted order.
    all.push(user("ADMIN @ACCOUNT of child acc_b (scope B)", ACC_B, &[(Role::Admin, At::Account)], NONE));
    all.push(user("ADMIN @SITE site_1 from child acc_b (scope B)", ACC_B, &[(Role::Admin, At::OrderSite)], NONE));
    let mut foreign_admin = user("ADMIN @ACCOUNT (root) of org_2", ROOT, &[(Role::Admin, At::Account)], NONE);
    foreign_admin.organization = OTHER_ORG;
    let mut foreign_creator = user("creator id, but in org_2", ROOT, &[], CREATOR);
    foreign_creator.organization = OTHER_ORG;
    let mut foreign_token = token("API token of org_2", true, None);
    foreign_token.organization = OTHER_ORG;
    let mut deleted_admin = user("ADMIN @ACCOUNT (root), deleted order", ROOT, &[(Role::Admin, At::Account)], NONE);
    deleted_admin.order_deleted = true;
    let mut deleted_creator = user("creator, deleted order", ACC_A, &[], CREATOR);
    deleted_creator.order_deleted = true;
    all.extend([foreign_admin, foreign_creator, foreign_token, deleted_admin, deleted_creator]);
    all
}

fn binding(role: Role, at: At) -> RoleBinding {
    let scope = match at {
        At::Account => BindingScope::Account,
        At::OrderSite => BindingScope::Site(SITE.into()),
        At::OrderGroup => BindingScope::SiteGroup { id: GROUP.into(), site_ids: vec![SITE.into(), "site_3".into()] },
        At::OtherSite => BindingScope::Site(OTHER_SITE.into()),
    };
    RoleBinding { role, scope }
}

fn principal(subject: &Subject, settings: AccountSwitches) -> Principal {
    let (account, actor) = match &subject.who {
        Who::User { account, roles, .. } => (
            *account,
            Actor::User(UserActor {
                user_id: ME.into(),
                bindings: roles.iter().map(|&(role, at)| binding(role, at)).collect(),
            }),
        ),
        Who::Token { orders_read, partner } => {
            let capabilities = if *orders_read { vec!["orders:read"] } else { vec!["orders:write", "vendors:read"] };
            let token = TokenActor {
                token_id: "tok_1".into(),
                name: "integration".into(),
                capabilities: capabilities.into_iter().map(String::from).collect(),
                partner_vendor_id: partner.map(String::from),
            };
            (ACC_A, Actor::Token(token))
        }
    };
    Principal {
        organization_id: subject.organization.into(),
        account_id: account.into(),
        root_account: account == ROOT,
        settings,
        actor,
    }
}

// ---------------------------------------------------------------------------
// Order shapes
// ---------------------------------------------------------------------------

/// Which approval step a `PENDING_APPROVAL` order waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Intake,
    /// A spend step whose designated approvers are COLLEAGUE (and ME when
    /// the subject is a designated approver).
    Spend,
}

#[derive(Debug, Clone, Copy)]
struct Shape {
    status: OrderStatus,
    kind: OrderKind,
    vendor: bool,
    archived: bool,
    asset: bool,
    step: Option<Step>,
    /// A send to the vendor that is queued or under way.
    sending: Option<SendState>,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yn = |b: bool| if b { "yes" } else { "no" };
        write!(
            f,
            "{}/{} vendor={} archived={} asset={}",
            self.status.as_str(),
            self.kind.as_str(),
            yn(self.vendor),
            yn(self.archived),
            yn(self.asset)
        )?;
        if let Some(step) = self.step {
            write!(f, " step={step:?}")?;
        }
        match self.sending {
            Some(sending) => write!(f, " sending={}", sending.as_str()),
            None => Ok(()),
        }
    }
}

fn shapes() -> Vec<Shape> {
    let mut all = Vec::new();
    for &status in OrderStatus::ALL {
        for &kind in OrderKind::ALL {
            let vendors: &[bool] = if kind == OrderKind::Work { &[false] } else { &[true, false] };
            let steps: &[Option<Step>] =
                if status == S::PendingApproval { &[Some(Step::Intake), Some(Step::Spend)] } else { &[None] };
            // Sends are queued or under way only for OPEN and SEND_FAILED
            // vendor orders.
            let sendings: &[Option<SendState>] = if kind != OrderKind::Work && matches!(status, S::Open | S::SendFailed)
            {
                &[None, Some(SendState::Queued), Some(SendState::Sending)]
            } else {
                &[None]
            };
            for &vendor in vendors {
                for archived in [false, true] {
                    for asset in [true, false] {
                        for &step in steps {
                            for &sending in sendings {
                                all.push(Shape { status, kind, vendor, archived, asset, step, sending });
                            }
                        }
                    }
                }
            }
        }
    }
    all
}

fn all_switches() -> Vec<AccountSwitches> {
    let mut all = Vec::new();
    for requester_sees_asset_orders in [false, true] {
        for non_admin_vendor_override in [false, true] {
            for planner_may_delete in [false, true] {
                all.push(AccountSwitches {
                    requester_sees_asset_orders,
                    non_admin_vendor_override,
                    planner_may_delete,
                });
            }
        }
    }
    all
}

fn switches_label(s: AccountSwitches) -> String {
    let on = |b: bool| if b { "on" } else { "off" };
    format!(
        "requester_sees_asset_orders={} non_admin_vendor_override={} planner_may_delete={}",
        on(s.requester_sees_asset_orders),
        on(s.non_admin_vendor_override),
        on(s.planner_may_delete)
    )
}

/// The people on the order, owned so that `OrderFacts` can borrow them.
struct People {
    creator: &'static str,
    owner: &'static str,
    assignees: Vec<String>,
    loggers: Vec<String>,
    designated: Vec<String>,
}

impl People {
    fn for_subject(subject: &Subject) -> Self {
        let rel = match &subject.who {
            Who::User { rel, .. } => *rel,
            Who::Token { .. } => NONE,
        };
        let with_me = |mine: bool| {
            let mut ids = vec![COLLEAGUE.to_string()];
            if mine {
                ids.push(ME.into());
            }
            ids
        };
        Self {
            creator: if rel.creator { ME } else { SOMEONE },
            owner: if rel.owner { ME } else { SOMEONE },
            assignees: with_me(rel.assignee),
            loggers: with_me(rel.logger),
            designated: with_me(rel.designated),
        }
    }

    fn facts(&self, shape: &Shape, deleted: bool) -> OrderFacts<'_> {
        OrderFacts {
            organization_id: ORG,
            scope_account_id: Some(ACC_A),
            site_id: Some(SITE),
            asset_id: shape.asset.then_some("ast_1"),
            kind: shape.kind,
            status: shape.status,
            archived: shape.archived,
            deleted,
            creator_id: self.creator,
            owner_id: self.owner,
            vendor_id: shape.vendor.then_some(VENDOR),
            assignee_ids: &self.assignees,
            work_logger_ids: &self.loggers,
            designated_approver_ids: &self.designated,
            pending_step: shape.step.map(|step| match step {
                Step::Intake => PendingStep::Intake,
                Step::Spend => PendingStep::Designated(&self.designated),
            }),
            sending: shape.sending,
        }
    }
}

// ---------------------------------------------------------------------------
// The oracle: DOMAIN.md, read independently of the code
// ---------------------------------------------------------------------------

/// What DOMAIN.md says `subject` may do to an order of `shape`.
fn expected(subject: &Subject, action: Action, shape: &Shape, sw: AccountSwitches) -> bool {
    // §1 "Two organizations never see each other's anything."
    // §5 "It writes a tombstone; the order disappears from every query."
    if subject.organization != ORG || subject.order_deleted {
        return false;
    }
    match &subject.who {
        Who::Token { orders_read, partner } => token_expected(*orders_read, *partner, action, shape),
        Who::User { account, roles, rel } => user_expected(account, roles, *rel, action, shape, sw),
    }
}

/// §2: a token may "query orders and vendors within its account's scope"
/// (narrowed by `orders:read`); "a partner token bound to vendor V reads only
/// the orders routed to V"; it "may never approve or reject ... or delete
/// anything". Decided: tokens do nothing but `View` on an existing order.
fn token_expected(orders_read: bool, partner: Option<&str>, action: Action, shape: &Shape) -> bool {
    let routed_to_partner = match partner {
        None => true,
        Some(vendor) => shape.vendor && vendor == VENDOR,
    };
    // Tokens live in acc_a, the order's scope.
    action == A::View && orders_read && routed_to_partner
}

/// The roles whose bindings cover the order: §3 "in scope means the role
/// binding covers the order's site", within the §1 visibility table (root
/// sees anything, child A sees A; the order is in scope acc_a).
fn roles_in_scope(account: &str, roles: &[(Role, At)]) -> Vec<Role> {
    let scope_visible = account == ROOT || account == ACC_A;
    roles.iter().filter(|&&(_, at)| scope_visible && at != At::OtherSite).map(|&(role, _)| role).collect()
}

fn user_expected(
    account: &str,
    roles: &[(Role, At)],
    rel: Rel,
    action: Action,
    o: &Shape,
    sw: AccountSwitches,
) -> bool {
    let held = roles_in_scope(account, roles);
    let has = |role: Role| held.contains(&role);
    let admin = has(Role::Admin);
    let manager = admin || has(Role::Planner);
    let staff = manager || has(Role::Approver) || has(Role::Technician);
    let st = o.status;
    let vendor_kind = o.kind != OrderKind::Work;
    // Decided (seed 003's asset-page exception, an account switch).
    let requester_sight = has(Role::Requester) && sw.requester_sees_asset_orders && o.asset;

    // §3 "the creator, the owner, the assignees and the designated approvers
    // of an order always see it"; ADMIN..TECHNICIAN "view orders in scope";
    // VIEWER "read-only within scope"; REQUESTER only their own.
    let sees = rel.related() || staff || has(Role::Viewer) || requester_sight;
    if !sees {
        return false;
    }
    if action == A::View {
        return true;
    }
    // Decided: archived orders are read-only.
    if o.archived && !matches!(action, A::Unarchive | A::RequestDeletion | A::Delete) {
        return false;
    }
    // "VIEWERs who have no relation to it": seeing rests on VIEWER alone.
    // Decided: seed 003's asset-page exception lets a REQUESTER look, not
    // speak (the REQUESTER row of section 3: "notes and chat on those", their
    // own): notes and deletion requests need a relation or a staff role.
    let not_only_viewer = rel.related() || staff;

    match action {
        A::View => true,
        // | editDetails | any but CLOSED, CANCELLED | PLANNER, ADMIN, owner;
        //   creator while PENDING_APPROVAL/REJECTED |
        A::EditDetails => {
            !matches!(st, S::Closed | S::Cancelled)
                && (manager || rel.owner || (rel.creator && matches!(st, S::PendingApproval | S::Rejected)))
        }
        // | approve / reject (intake) | PENDING_APPROVAL | APPROVER, PLANNER,
        //   ADMIN in scope, not the creator |
        // | approve / reject (spend) | PENDING_APPROVAL | designated approvers
        //   of the vendor or rule, not the creator |
        A::Approve | A::Reject => {
            st == S::PendingApproval
                && !rel.creator
                && match o.step {
                    Some(Step::Intake) => manager || has(Role::Approver),
                    Some(Step::Spend) => rel.designated,
                    None => false,
                }
        }
        // | resubmit | REJECTED | creator, owner |
        A::Resubmit => st == S::Rejected && (rel.creator || rel.owner),
        // | assign | OPEN, IN_PROGRESS, ACTION_NEEDED | PLANNER, ADMIN, owner;
        //   an assignee may reassign |
        A::Assign => matches!(st, S::Open | S::InProgress | S::ActionNeeded) && (manager || rel.owner || rel.assignee),
        // | start | OPEN, ACTION_NEEDED | an assignee |  (decided: WORK only)
        A::Start => o.kind == OrderKind::Work && matches!(st, S::Open | S::ActionNeeded) && rel.assignee,
        // | submitForReview | IN_PROGRESS | an assignee |
        A::SubmitForReview => st == S::InProgress && rel.assignee,
        // | closeReview | PENDING_REVIEW | PLANNER, ADMIN in scope, or the owner
        //   — never an assignee or anyone who logged work on it |
        // | requestRework | PENDING_REVIEW | same as closeReview |
        A::CloseReview | A::RequestRework => {
            st == S::PendingReview && !rel.assignee && !rel.logger && (manager || rel.owner)
        }
        // | send / resend | OPEN / SEND_FAILED | ADMIN |
        //   (decided: vendor kinds with a vendor set, and not while a send is
        //   already queued or under way: one approval, one send)
        A::Send => vendor_kind && o.vendor && st == S::Open && admin && o.sending.is_none(),
        A::Resend => vendor_kind && o.vendor && st == S::SendFailed && admin && o.sending.is_none(),
        // | markFulfilled | SENT | ADMIN, PLANNER, owner |
        // Decided: SENT exists only for vendor kinds; fulfilment is theirs.
        A::MarkFulfilled => vendor_kind && st == S::Sent && (manager || rel.owner),
        // | cancel | PENDING_APPROVAL, REJECTED, OPEN | creator, owner |
        // | cancel | any but CLOSED, CANCELLED | ADMIN in scope |
        // Decided: not while an attempt to send is under way (its outcome
        // is not known yet); a queued send is withdrawn with the order.
        A::Cancel => {
            o.sending != Some(SendState::Sending)
                && ((admin && !matches!(st, S::Closed | S::Cancelled))
                    || (matches!(st, S::PendingApproval | S::Rejected | S::Open) && (rel.creator || rel.owner)))
        }
        // | archive / unarchive | CLOSED, CANCELLED, REJECTED | flag | PLANNER, ADMIN |
        A::Archive => matches!(st, S::Closed | S::Cancelled | S::Rejected) && !o.archived && manager,
        A::Unarchive => o.archived && manager,
        // | overrideVendor | before SENT | ADMIN; others only where the
        //   account allows it (setting, default off) |
        A::OverrideVendor => {
            vendor_kind
                && matches!(st, S::PendingApproval | S::Rejected | S::Open | S::SendFailed)
                && o.sending.is_none()
                && (admin || (sw.non_admin_vendor_override && (has(Role::Planner) || rel.owner)))
        }
        // | addNote (PUBLIC) | any | anyone who can see the order, except
        //   partner tokens and VIEWERs who have no relation to it |
        A::AddNote => not_only_viewer,
        // | addNote (INTERNAL) | any | PLANNER, ADMIN, APPROVER, TECHNICIAN in
        //   scope, owner, assignees |
        A::AddInternalNote => staff || rel.owner || rel.assignee,
        // | logTime, addCost, usePart, completeStep, addAttachment |
        //   IN_PROGRESS, ACTION_NEEDED | assignees; PLANNER, ADMIN |
        A::LogWork => matches!(st, S::InProgress | S::ActionNeeded) && (rel.assignee || manager),
        // §5 "Anyone else who can see an order (not VIEWER, not tokens) may
        // requestDeletion with a reason."
        A::RequestDeletion => not_only_viewer,
        // §5 "deleteOrder: ADMIN only (and PLANNER where the account allows it)."
        // Decided: as cancel, not while an attempt to send is under way.
        A::Delete => o.sending != Some(SendState::Sending) && (admin || (has(Role::Planner) && sw.planner_may_delete)),
    }
}

// ---------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------

struct Mismatch {
    expected: bool,
    decision: Decision,
    shape: Shape,
    switches: AccountSwitches,
}

#[test]
fn matrix_matches_domain() {
    let subjects = subjects();
    let shapes = shapes();
    let switches = all_switches();
    let mut checked = 0usize;
    // (subject, action, expected, decide's reason) -> (count, first example)
    let mut mismatches: BTreeMap<(String, String, bool, &'static str), (usize, Mismatch)> = BTreeMap::new();
    // Per action: how often the oracle allows and denies (a vacuous oracle
    // row would show up as never allowing).
    let mut outcomes: BTreeMap<String, (usize, usize)> = BTreeMap::new();

    for subject in &subjects {
        let people = People::for_subject(subject);
        for &sw in &switches {
            let principal = principal(subject, sw);
            for shape in &shapes {
                let facts = people.facts(shape, subject.order_deleted);
                for action in Action::ALL {
                    let want = expected(subject, action, shape, sw);
                    let got = decide(&principal, action, &facts);
                    checked += 1;
                    let tally = outcomes.entry(format!("{action:?}")).or_default();
                    if want {
                        tally.0 += 1;
                    } else {
                        tally.1 += 1;
                    }
                    if got.allowed != want {
                        let key = (subject.label.clone(), format!("{action:?}"), want, got.reason);
                        mismatches
                            .entry(key)
                            .or_insert_with(|| {
                                (0, Mismatch { expected: want, decision: got, shape: *shape, switches: sw })
                            })
                            .0 += 1;
                    }
                }
            }
        }
    }

    println!(
        "policy matrix: {checked} cases ({} principal kinds x {} actions x {} order shapes x {} switch settings)",
        subjects.len(),
        Action::ALL.len(),
        shapes.len(),
        switches.len()
    );
    assert!(checked >= 100_000, "the matrix shrank to {checked} cases");
    for action in Action::ALL {
        let (allowed, denied) = outcomes.get(&format!("{action:?}")).copied().unwrap_or_default();
        assert!(allowed > 0 && denied > 0, "{action:?}: the oracle allows {allowed} and denies {denied} cases");
    }

    if !mismatches.is_empty() {
        let total: usize = mismatches.values().map(|(count, _)| count).sum();
        let mut report = format!(
            "{total} of {checked} cases disagree with DOMAIN.md, in {} groups \
             (principal | action | DOMAIN.md says | decide says, reason | cases | first example):\n",
            mismatches.len()
        );
        for ((label, action, _, _), (count, m)) in &mismatches {
            report.push_str(&format!(
                "  {label} | {action} | {} | {} \"{}\" | {count} | {} ; {}\n",
                if m.expected { "allow" } else { "deny" },
                if m.decision.allowed { "allow" } else { "deny" },
                m.decision.reason,
                m.shape,
                switches_label(m.switches),
            ));
        }
        panic!("{report}");
    }
}

// ---------------------------------------------------------------------------
// Separation of duties, with the reasons decide gives
// ---------------------------------------------------------------------------

fn pending(status: OrderStatus, step: Option<Step>) -> Shape {
    Shape { status, kind: OrderKind::Part, vendor: true, archived: false, asset: true, step, sending: None }
}

fn decide_for(subject: &Subject, action: Action, shape: &Shape) -> Decision {
    let people = People::for_subject(subject);
    decide(&principal(subject, AccountSwitches::default()), action, &people.facts(shape, false))
}

fn assert_denied_because(decision: Decision, words: &[&str]) {
    assert!(!decision.allowed, "expected a denial, got {decision:?}");
    for word in words {
        assert!(decision.reason.contains(word), "reason {:?} does not mention {word:?}", decision.reason);
    }
}

#[test]
fn whoever_logged_work_does_not_review_it() {
    let review = pending(S::PendingReview, None);
    let logger = user("planner who logged", ACC_A, &[(Role::Planner, At::Account)], LOGGER);
    for action in [A::CloseReview, A::RequestRework] {
        assert_denied_because(decide_for(&logger, action, &review), &["separation of duties", "logged work"]);
    }
    // The same planner without the logged hours reviews.
    let planner = user("planner", ACC_A, &[(Role::Planner, At::Account)], NONE);
    assert!(decide_for(&planner, A::CloseReview, &review).allowed);
    // An owner who logged work does not review either.
    let owner_logger = user("owner who logged", ACC_A, &[], Rel { logger: true, ..OWNER });
    assert_denied_because(decide_for(&owner_logger, A::CloseReview, &review), &["logged work"]);
}

#[test]
fn an_assignee_does_not_review_their_own_work() {
    let review = pending(S::PendingReview, None);
    for subject in [
        user("admin assignee", ACC_A, &[(Role::Admin, At::Account)], ASSIGNEE),
        user("owner assignee", ACC_A, &[], Rel { assignee: true, ..OWNER }),
    ] {
        for action in [A::CloseReview, A::RequestRework] {
            assert_denied_because(decide_for(&subject, action, &review), &["separation of duties", "assignee"]);
        }
    }
}

#[test]
fn the_creator_never_approves_their_own_order() {
    let creator = user(
        "creator, designated, ADMIN and APPROVER",
        ACC_A,
        &[(Role::Admin, At::Account), (Role::Approver, At::Account)],
        Rel { designated: true, ..CREATOR },
    );
    for step in [Step::Intake, Step::Spend] {
        for action in [A::Approve, A::Reject] {
            let decision = decide_for(&creator, action, &pending(S::PendingApproval, Some(step)));
            assert_denied_because(decision, &["separation of duties", "created"]);
        }
    }
    // Not the creator: the same roles approve the intake step, the same
    // designation approves the spend step.
    let approver = user("approver", ACC_A, &[(Role::Approver, At::Account)], DESIGNATED);
    for step in [Step::Intake, Step::Spend] {
        assert!(decide_for(&approver, A::Approve, &pending(S::PendingApproval, Some(step))).allowed);
    }
}

#[test]
fn a_role_does_not_approve_a_spend_step_nor_a_designation_the_intake_step() {
    let admin = user("admin", ROOT, &[(Role::Admin, At::Account)], NONE);
    let decision = decide_for(&admin, A::Approve, &pending(S::PendingApproval, Some(Step::Spend)));
    assert_denied_because(decision, &["designated"]);
    let designated = user("designated", ACC_A, &[], DESIGNATED);
    let decision = decide_for(&designated, A::Approve, &pending(S::PendingApproval, Some(Step::Intake)));
    assert_denied_because(decision, &["APPROVER"]);
}

#[test]
fn tokens_never_approve() {
    for subject in [token("api", true, None), token("partner", true, Some(VENDOR))] {
        for step in [Step::Intake, Step::Spend] {
            let decision = decide_for(&subject, A::Approve, &pending(S::PendingApproval, Some(step)));
            assert_denied_because(decision, &["token"]);
        }
    }
}
