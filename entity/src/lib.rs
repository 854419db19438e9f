//! Database entities: one module per table. Relations are expressed in the
//! queries that need them rather than here, so each file is the table's shape.
//! See `docs/data-model.md` for the conventions (ids, times, money, JSON lists).

pub use sea_orm;

pub mod account_settings;
pub mod accounts;
pub mod api_tokens;
pub mod approval_step_approvers;
pub mod approval_steps;
pub mod assets;
pub mod attachment_blobs;
pub mod attachments;
pub mod audit_events;
pub mod cost_lines;
pub mod deletion_requests;
pub mod notes;
pub mod order_assignees;
pub mod order_events;
pub mod order_tags;
pub mod orders;
pub mod organizations;
pub mod part_usages;
pub mod procedure_steps;
pub mod role_bindings;
pub mod rule_approvers;
pub mod rule_assignments;
pub mod rules;
pub mod site_group_members;
pub mod site_groups;
pub mod sites;
pub mod time_entries;
pub mod users;
pub mod vendor_approvers;
pub mod vendor_sends;
pub mod vendors;
