//! Which fields of the schema a principal can ever use, for introspection
//! (DOMAIN.md section 6: "Fields no principal of a role can ever read
//! should not appear in that role's introspection"). Only what is shown
//! changes: a field left out still answers as its guard says (`FORBIDDEN`
//! and null), so a client is never misled into a field, and never broken.
//!
//! "Ever" counts relations: anyone may become an order's owner, assignee
//! or designated approver, so fields and mutations those relations open
//! stay shown to every person; what needs a role is shown to people who
//! hold that role in some binding.

use super::order::{PARTNER_ORDER_FIELDS, PARTNER_OTHER_FIELDS};
use crate::auth::{Actor, Principal};
use crate::org::model::Role;

const MANAGERS: &[Role] = &[Role::Admin, Role::Planner];
const ADMIN: &[Role] = &[Role::Admin];

/// Fields that need one of some roles, in any binding.
const NEED_ROLES: &[(&str, &str, &[Role])] = &[
    ("Mutation", "createAccount", ADMIN),
    ("Mutation", "updateAccountSettings", ADMIN),
    ("Mutation", "createSite", MANAGERS),
    ("Mutation", "createSiteGroup", MANAGERS),
    ("Mutation", "createAsset", MANAGERS),
    ("Mutation", "createUser", ADMIN),
    ("Mutation", "setUserActive", ADMIN),
    ("Mutation", "grantRole", ADMIN),
    ("Mutation", "revokeRole", ADMIN),
    ("Mutation", "createApiToken", ADMIN),
    ("Mutation", "revokeApiToken", ADMIN),
    ("Mutation", "createOrder", &[Role::Admin, Role::Planner, Role::Approver, Role::Technician, Role::Requester]),
    ("Mutation", "send", ADMIN),
    ("Mutation", "resend", ADMIN),
    ("Mutation", "archive", MANAGERS),
    ("Mutation", "unarchive", MANAGERS),
    ("Mutation", "approveDeletion", MANAGERS),
    ("Mutation", "denyDeletion", MANAGERS),
    ("Mutation", "deleteOrder", MANAGERS),
    ("Mutation", "createVendor", ADMIN),
    ("Mutation", "updateVendor", ADMIN),
    ("Mutation", "setVendorEnabled", ADMIN),
    ("Mutation", "deleteVendor", ADMIN),
    ("Mutation", "createRule", ADMIN),
    ("Mutation", "updateRule", ADMIN),
    ("Mutation", "deleteRule", ADMIN),
    ("Mutation", "assignRule", ADMIN),
    ("Mutation", "unassignRule", ADMIN),
    ("Query", "apiTokens", ADMIN),
    ("Query", "explainAccess", ADMIN),
    ("Query", "auditLog", MANAGERS),
    ("Query", "orderStats", &[Role::Admin, Role::Planner, Role::Technician]),
    ("Query", "rules", MANAGERS),
    ("Order", "history", MANAGERS),
    ("Order", "sends", MANAGERS),
    ("OrderEvent", "actor", MANAGERS),
    ("Vendor", "contactEmails", MANAGERS),
    ("Vendor", "approvers", MANAGERS),
    ("Vendor", "conditions", MANAGERS),
];

/// What an API token (not a partner's) can ever use beyond reading orders:
/// section 2 ("create orders only on behalf of a named user, query orders
/// and vendors within its account's scope, and preview vendor resolution").
const TOKEN_ROOTS: &[(&str, &str)] = &[
    ("Query", "order"),
    ("Query", "orders"),
    ("Query", "node"),
    ("Query", "vendors"),
    ("Query", "previewVendorResolution"),
    ("Mutation", "createOrder"),
    ("Subscription", "orderChanged"),
];

/// Fields of people's records and money no token ever reads.
const NOT_FOR_TOKENS: &[(&str, &str)] = &[
    ("User", "email"),
    ("User", "roleBindings"),
    ("Order", "costLines"),
    ("Order", "actualCost"),
    ("Order", "history"),
    ("Order", "sends"),
    ("TimeEntry", "cost"),
    ("OrderEvent", "actor"),
    ("Vendor", "contactEmails"),
    ("Vendor", "approvers"),
    ("Vendor", "conditions"),
];

/// A partner token's whole schema: its vendor's orders, ten fields of them.
const PARTNER_ROOTS: &[(&str, &str)] =
    &[("Query", "order"), ("Query", "orders"), ("Query", "node"), ("Subscription", "orderChanged")];

const ROOTS: [&str; 3] = ["Query", "Mutation", "Subscription"];

/// The part of the schema one principal is shown.
pub struct SchemaView<'a> {
    principal: Option<&'a Principal>,
}

pub fn view(principal: Option<&Principal>) -> SchemaView<'_> {
    SchemaView { principal }
}

impl SchemaView<'_> {
    /// Whether `type_name.field` is shown.
    pub fn shows(&self, type_name: &str, field: &str) -> bool {
        let key = (type_name, field);
        match self.principal.map(|p| &p.actor) {
            // Strangers see the contract they must sign in to use; outside
            // production that is the whole schema.
            None => true,
            Some(Actor::User(user)) => NEED_ROLES
                .iter()
                .filter(|(t, f, _)| (*t, *f) == key)
                .all(|(_, _, roles)| user.bindings.iter().any(|b| roles.contains(&b.role))),
            Some(Actor::Token(token)) if token.partner_vendor_id.is_some() => {
                if ROOTS.contains(&type_name) {
                    PARTNER_ROOTS.contains(&key)
                } else if type_name == "Order" {
                    PARTNER_ORDER_FIELDS.contains(&field)
                } else if matches!(type_name, "Site" | "Vendor") {
                    PARTNER_OTHER_FIELDS.contains(&key)
                } else {
                    !NOT_FOR_TOKENS.contains(&key)
                }
            }
            Some(Actor::Token(token)) => {
                if ROOTS.contains(&type_name) {
                    TOKEN_ROOTS.contains(&key)
                        && (key != ("Mutation", "createOrder") || token.has_capability("orders:write"))
                } else {
                    !NOT_FOR_TOKENS.contains(&key)
                }
            }
        }
    }
}
