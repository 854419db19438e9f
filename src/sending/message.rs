//! The message a vendor receives: who it is for, and the order in plain
//! text.

use std::fmt::Write;

use lettre::Message;
use lettre::message::{Mailbox, header::ContentType};

use crate::orders::model::Priority;
use crate::orders::record::OrderRecord;
use crate::time::from_micros;

/// What the message is made of, read in the transaction that claims the send.
pub struct Parts<'a> {
    pub order: &'a OrderRecord,
    pub organization: &'a str,
    pub site: Option<&'a str>,
    pub vendor_name: &'a str,
    pub recipients: &'a [String],
    pub from: &'a str,
    pub message_id: &'a str,
}

/// The message, or why none can be made (a permanent failure: another
/// attempt would not do better).
pub fn compose(parts: &Parts<'_>) -> Result<Message, String> {
    let m = &parts.order.model;
    if parts.recipients.is_empty() {
        return Err(format!("the vendor {} has no contact email", parts.vendor_name));
    }
    let from: Mailbox = parts.from.parse().map_err(|e| format!("WORKGATE_MAIL_FROM: {e}"))?;
    let mut builder = Message::builder()
        .from(from)
        .subject(format!("{} order {}: {}", parts.organization, m.number, m.title))
        .message_id(Some(parts.message_id.to_owned()));
    for address in parts.recipients {
        let mailbox = address
            .parse()
            .map(|email| Mailbox::new(Some(parts.vendor_name.to_owned()), email))
            .map_err(|_| format!("the vendor's contact email `{address}` is not an address"))?;
        builder = builder.to(mailbox);
    }
    builder.header(ContentType::TEXT_PLAIN).body(body(parts)?).map_err(|e| format!("the message: {e}"))
}

fn body(parts: &Parts<'_>) -> Result<String, String> {
    let m = &parts.order.model;
    let tags = parts.order.tags().map_err(|_| "the order's tags were not read".to_owned())?;
    let mut text = format!("{} sends {} the following order.\n\n", parts.organization, parts.vendor_name);
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(text, "{label:<16}{value}");
    };
    line("Order:", &m.number);
    line("Title:", &m.title);
    line("Kind:", parts.order.kind.as_str());
    line("Priority:", Priority::from_rank(m.priority).map_or("", Priority::as_str));
    if let Some(site) = parts.site {
        line("Site:", site);
    }
    if let Some(due) = m.due_at {
        line("Due:", &from_micros(due).format("%Y-%m-%d %H:%M UTC").to_string());
    }
    if let Some(cents) = m.estimated_cost_cents {
        line("Estimated cost:", &format!("{}.{:02}", cents / 100, cents % 100));
    }
    if !tags.is_empty() {
        line("Tags:", &tags.join(", "));
    }
    if let Some(description) = m.description.as_deref().filter(|d| !d.is_empty()) {
        let _ = write!(text, "\n{description}\n");
    }
    let _ = write!(text, "\nPlease quote {} in any reply.\n", m.number);
    Ok(text)
}
