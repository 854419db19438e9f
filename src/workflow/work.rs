//! Work on an order that adds to it without changing its status: notes,
//! time, costs, parts, procedure steps, attachments. Each is one transaction
//! that first re-checks, with a conditional UPDATE of the order's row, that
//! the order is still in a state that admits the work (else CONFLICT), then
//! writes its row, audit event and order event.

use async_graphql::{Context, Enum, ID, Object, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use entity::{attachment_blobs, attachments, cost_lines, notes, part_usages, procedure_steps, time_entries, users};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::EventKind;
use super::input::{self, MAX_LABEL_CHARS, MAX_TEXT_CHARS};
use super::machine;
use super::service::{self, Change};
use crate::audit::AuditActor;
use crate::error::{AppError, AppResult};
use crate::graphql::ContextExt;
use crate::graphql::scalars::Money;
use crate::ids::IdKind;
use crate::orders::graphql::{Attachment, CostLine, Note, NoteVisibility, PartUsage, ProcedureStep, TimeEntry};
use crate::orders::record::OrderRecord;
use crate::policy::{self, Action};
use crate::time::now_micros;

/// At most 24 hours per time entry.
const MAX_HOURS: f64 = 24.0;
const MAX_QUANTITY: f64 = 1_000_000.0;

/// Cost categories (DOMAIN.md section 4: labour, parts, other).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
enum CostCategory {
    Labour,
    Parts,
    Other,
}

/// Content types accepted for attachments, with the leading bytes the
/// content must start with where the format has them.
const CONTENT_TYPES: [(&str, &[u8]); 8] = [
    ("application/pdf", b"%PDF-"),
    ("image/png", b"\x89PNG\r\n\x1a\n"),
    ("image/jpeg", b"\xff\xd8\xff"),
    ("image/gif", b"GIF8"),
    ("image/webp", b"RIFF"),
    ("text/plain", b""),
    ("text/csv", b""),
    ("application/json", b""),
];

fn check_content(content_type: &str, content: &[u8]) -> AppResult<()> {
    let Some((_, magic)) = CONTENT_TYPES.iter().find(|(t, _)| *t == content_type) else {
        let accepted: Vec<&str> = CONTENT_TYPES.iter().map(|(t, _)| *t).collect();
        return Err(AppError::bad_input("contentType", format!("not accepted; one of {}", accepted.join(", "))));
    };
    if !content.starts_with(magic) {
        return Err(AppError::bad_input("contentBase64", format!("the content is not {content_type}")));
    }
    if magic.is_empty() && std::str::from_utf8(content).is_err() {
        return Err(AppError::bad_input("contentBase64", format!("{content_type} must be UTF-8 text")));
    }
    Ok(())
}

fn filename(value: &str) -> AppResult<String> {
    let name = input::required("filename", value, MAX_LABEL_CHARS)?;
    if name.contains(['/', '\\']) || name.chars().any(char::is_control) || name == "." || name == ".." {
        return Err(AppError::bad_input("filename", "must be a plain file name, without paths"));
    }
    Ok(name)
}

/// Loads the order and checks `action` on it (no version: these add to
/// the order rather than change it).
async fn checked(ctx: &Context<'_>, order_id: &str, action: Action) -> AppResult<OrderRecord> {
    let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
    let order = service::load(db, principal, order_id).await?;
    service::check(principal, action, &order, None)?;
    Ok(order)
}

/// Runs `write` in a transaction after re-checking the order's state, then
/// records `change`.
macro_rules! add_to_order {
    ($ctx:expr, $order:expr, $change:expr, |$txn:ident| $write:block) => {{
        let statuses = machine::row($change.action).from;
        add_to_order!($ctx, $order, $change, statuses, |$txn| $write)
    }};
    ($ctx:expr, $order:expr, $change:expr, $statuses:expr, |$txn:ident| $write:block) => {{
        let (principal, db) = ($ctx.principal()?, &$ctx.state()?.db);
        let $txn = crate::db::write_txn(&db).await.map_err(AppError::from)?;
        service::touch_in(&$txn, &$order, $statuses, true).await?;
        let written = $write;
        service::record(&$txn, AuditActor::Principal(principal), &$order.model, $change).await?;
        $txn.commit().await.map_err(AppError::from)?;
        written
    }};
}

#[derive(Default)]
pub struct WorkMutation;

#[Object]
impl WorkMutation {
    /// A note: PUBLIC by default; INTERNAL for staff in scope, the owner and
    /// assignees.
    async fn add_note(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
        body: String,
        visibility: Option<NoteVisibility>,
    ) -> Result<Note> {
        let body = input::required("body", &body, MAX_TEXT_CHARS)?;
        let visibility = visibility.unwrap_or(NoteVisibility::Public);
        let action = if visibility == NoteVisibility::Internal { Action::AddInternalNote } else { Action::AddNote };
        let order = checked(ctx, &order_id, action).await?;
        let author = ctx.principal()?.user_id().unwrap_or_default().to_owned();
        let change = Change::new(action, EventKind::NoteAdded).note("visibility", json!(visibility.as_str()));
        let note = add_to_order!(ctx, order, change, |txn| {
            notes::ActiveModel {
                id: Set(IdKind::Note.new_id()),
                order_id: Set(order.model.id.clone()),
                author_id: Set(author),
                body: Set(body),
                visibility: Set(visibility.as_str().to_owned()),
                created_at: Set(now_micros()),
            }
            .insert(&txn)
            .await
            .map_err(AppError::from)?
        });
        Ok(Note(note))
    }

    /// Hours worked, costed at the worker's hourly rate when they have one.
    async fn log_time(&self, ctx: &Context<'_>, order_id: ID, hours: f64, note: Option<String>) -> Result<TimeEntry> {
        let hours = input::positive("hours", hours, MAX_HOURS)?;
        let note = input::optional("note", note.as_deref(), MAX_TEXT_CHARS)?;
        let order = checked(ctx, &order_id, Action::LogWork).await?;
        let principal = ctx.principal()?;
        let me = principal.user_id().unwrap_or_default().to_owned();
        let rate = users::Entity::find_by_id(&me).one(&ctx.state()?.db).await?.and_then(|u| u.hourly_rate_cents);
        // Cents, rounded to the nearest cent.
        let cost = rate.map(|cents| (cents as f64 * hours).round() as i64);
        let change = Change::new(Action::LogWork, EventKind::Updated).note("timeEntry", json!({ "hours": hours }));
        let entry = add_to_order!(ctx, order, change, |txn| {
            time_entries::ActiveModel {
                id: Set(IdKind::TimeEntry.new_id()),
                order_id: Set(order.model.id.clone()),
                user_id: Set(me.clone()),
                hours: Set(hours),
                note: Set(note),
                cost_cents: Set(cost),
                logged_at: Set(now_micros()),
            }
            .insert(&txn)
            .await
            .map_err(AppError::from)?
        });
        let access = policy::order::cost_access(principal, &order.facts());
        Ok(TimeEntry { m: entry, access, me: Some(me) })
    }

    /// A cost line (`labour`, `parts` or `other`) with a positive amount.
    async fn add_cost(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
        category: String,
        description: String,
        amount: Money,
    ) -> Result<CostLine> {
        let category = match category.trim().to_lowercase().as_str() {
            "labour" | "labor" => CostCategory::Labour,
            "parts" => CostCategory::Parts,
            "other" => CostCategory::Other,
            _ => return Err(AppError::bad_input("category", "one of labour, parts, other").into()),
        };
        let description = input::required("description", &description, MAX_LABEL_CHARS)?;
        if amount.0 <= 0 {
            return Err(AppError::bad_input("amount", "must be greater than 0").into());
        }
        let order = checked(ctx, &order_id, Action::LogWork).await?;
        let me = ctx.principal()?.user_id().unwrap_or_default().to_owned();
        let category = format!("{category:?}").to_lowercase();
        let change = Change::new(Action::LogWork, EventKind::Updated)
            .note("costLine", json!({ "category": category, "amountCents": amount.0 }));
        let line = add_to_order!(ctx, order, change, |txn| {
            cost_lines::ActiveModel {
                id: Set(IdKind::CostLine.new_id()),
                order_id: Set(order.model.id.clone()),
                category: Set(category),
                description: Set(description),
                amount_cents: Set(amount.0),
                added_by: Set(me),
                created_at: Set(now_micros()),
            }
            .insert(&txn)
            .await
            .map_err(AppError::from)?
        });
        Ok(CostLine(line))
    }

    /// Parts used from inventory.
    async fn use_part(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
        part_number: String,
        quantity: f64,
        description: Option<String>,
    ) -> Result<PartUsage> {
        let part_number = input::required("partNumber", &part_number, MAX_LABEL_CHARS)?;
        let quantity = input::positive("quantity", quantity, MAX_QUANTITY)?;
        let description = input::optional("description", description.as_deref(), MAX_LABEL_CHARS)?;
        let order = checked(ctx, &order_id, Action::LogWork).await?;
        let me = ctx.principal()?.user_id().unwrap_or_default().to_owned();
        let change = Change::new(Action::LogWork, EventKind::Updated)
            .note("partUsage", json!({ "partNumber": part_number, "quantity": quantity }));
        let part = add_to_order!(ctx, order, change, |txn| {
            part_usages::ActiveModel {
                id: Set(IdKind::PartUsage.new_id()),
                order_id: Set(order.model.id.clone()),
                part_number: Set(part_number),
                description: Set(description),
                quantity: Set(quantity),
                added_by: Set(me),
                created_at: Set(now_micros()),
            }
            .insert(&txn)
            .await
            .map_err(AppError::from)?
        });
        Ok(PartUsage(part))
    }

    /// Ticks a procedure step of the order (once).
    async fn complete_step(&self, ctx: &Context<'_>, order_id: ID, step_id: ID) -> Result<ProcedureStep> {
        let order = checked(ctx, &order_id, Action::LogWork).await?;
        let db = &ctx.state()?.db;
        let step = procedure_steps::Entity::find_by_id(step_id.as_str())
            .filter(procedure_steps::Column::OrderId.eq(order.model.id.as_str()))
            .one(db)
            .await?
            .ok_or_else(|| AppError::bad_input("stepId", "no such step on this order"))?;
        if step.done {
            return Err(AppError::InvalidTransition("the step is already done".into()).into());
        }
        let me = ctx.principal()?.user_id().unwrap_or_default().to_owned();
        let change = Change::new(Action::LogWork, EventKind::Updated)
            .note("procedureStep", json!({ "position": step.position, "done": [false, true] }));
        let done = add_to_order!(ctx, order, change, |txn| {
            let updated = procedure_steps::Entity::update_many()
                .col_expr(procedure_steps::Column::Done, Expr::value(true))
                .col_expr(procedure_steps::Column::DoneBy, Expr::value(Some(me.clone())))
                .col_expr(procedure_steps::Column::DoneAt, Expr::value(Some(now_micros())))
                .filter(procedure_steps::Column::Id.eq(step.id.as_str()))
                .filter(procedure_steps::Column::Done.eq(false))
                .exec(&txn)
                .await
                .map_err(AppError::from)?;
            if updated.rows_affected == 0 {
                return Err(AppError::Conflict.into());
            }
            procedure_steps::Entity::find_by_id(step.id.as_str())
                .one(&txn)
                .await
                .map_err(AppError::from)?
                .ok_or(AppError::NotFound)?
        });
        Ok(ProcedureStep(done))
    }

    /// A file (base64, up to `WORKGATE_MAX_ATTACHMENT_BYTES`, 10 MiB by
    /// default), stored once per content by its SHA-256.
    async fn add_attachment(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
        filename: String,
        content_type: String,
        content_base64: String,
    ) -> Result<Attachment> {
        let filename = self::filename(&filename)?;
        let content_type = content_type.trim().to_lowercase();
        let limit = ctx.state()?.config.max_attachment_bytes;
        let too_large = || AppError::bad_input("contentBase64", format!("larger than {limit} bytes"));
        if content_base64.len() > limit.div_ceil(3) * 4 + 4 {
            return Err(too_large().into());
        }
        let content =
            STANDARD.decode(content_base64.trim()).map_err(|_| AppError::bad_input("contentBase64", "not base64"))?;
        if content.len() > limit {
            return Err(too_large().into());
        }
        check_content(&content_type, &content)?;
        let (principal, db) = (ctx.principal()?, &ctx.state()?.db);
        let order = service::load(db, principal, &order_id).await?;
        let decision = policy::order::attach(principal, &order.facts());
        if !decision.allowed {
            return Err(if policy::order::ATTACH_STATUSES.contains(&order.status) && !order.model.archived {
                AppError::forbidden(decision.reason)
            } else {
                AppError::InvalidTransition("files are added before work starts or while it is done".into())
            }
            .into());
        }
        let sha256 = hex::encode(Sha256::digest(&content));
        let size = i64::try_from(content.len()).unwrap_or(i64::MAX);
        let me = ctx.principal()?.user_id().unwrap_or_default().to_owned();
        let change = Change::new(Action::LogWork, EventKind::Updated)
            .note("attachment", json!({ "filename": filename, "sha256": sha256, "sizeBytes": size }));
        let attachment = add_to_order!(ctx, order, change, &policy::order::ATTACH_STATUSES, |txn| {
            attachment_blobs::Entity::insert(attachment_blobs::ActiveModel {
                sha256: Set(sha256.clone()),
                size_bytes: Set(size),
                content: Set(content),
            })
            .on_conflict_do_nothing_on([attachment_blobs::Column::Sha256])
            .exec(&txn)
            .await
            .map_err(AppError::from)?;
            attachments::ActiveModel {
                id: Set(IdKind::Attachment.new_id()),
                order_id: Set(order.model.id.clone()),
                filename: Set(filename),
                content_type: Set(content_type),
                size_bytes: Set(size),
                sha256: Set(sha256),
                uploaded_by: Set(me),
                created_at: Set(now_micros()),
            }
            .insert(&txn)
            .await
            .map_err(AppError::from)?
        });
        Ok(Attachment(attachment))
    }
}

impl NoteVisibility {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Public => "PUBLIC",
            Self::Internal => "INTERNAL",
        }
    }
}
