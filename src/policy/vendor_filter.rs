//! Which vendors a principal sees: those of its organization in its visible
//! scope (DOMAIN.md section 1); tokens need `vendors:read`, and a partner
//! token sees its own vendor only.

use entity::vendors;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition};

use super::order::VENDORS_READ;
use crate::auth::{Actor, Principal};

pub fn visible_vendors(principal: &Principal) -> Condition {
    let mut c = Condition::all()
        .add(vendors::Column::OrganizationId.eq(principal.organization_id.as_str()))
        .add(vendors::Column::DeletedAt.is_null());
    if !principal.root_account {
        c = c.add(
            Condition::any()
                .add(vendors::Column::ScopeAccountId.is_null())
                .add(vendors::Column::ScopeAccountId.eq(principal.account_id.as_str())),
        );
    }
    match &principal.actor {
        Actor::User(_) => c,
        Actor::Token(token) => match &token.partner_vendor_id {
            Some(vendor) => c.add(vendors::Column::Id.eq(vendor.as_str())),
            None if token.has_capability(VENDORS_READ) => c,
            None => c.add(Expr::val(1).eq(0)),
        },
    }
}
