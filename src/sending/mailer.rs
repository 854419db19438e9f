//! Where messages go: an SMTP server (`WORKGATE_SMTP_URL`), or, with none
//! configured, one `.eml` file per message in the mail folder.

use std::path::PathBuf;

use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailTransport, SendingConfig};

pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder { transport: AsyncFileTransport<Tokio1Executor>, dir: PathBuf },
}

/// Why an attempt did not deliver, and whether it may have anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Nothing was delivered: the server refused the message (permanently
    /// or for now), or could not be reached at all.
    NotDelivered { permanent: bool, reason: String },
    /// The message may have been delivered: the connection broke, or the
    /// deadline passed, after it started to go out. Never retried by itself.
    Unknown { reason: String },
}

impl Failure {
    pub fn reason(&self) -> &str {
        match self {
            Self::NotDelivered { reason, .. } | Self::Unknown { reason } => reason,
        }
    }

    /// Whether another attempt cannot deliver the message twice.
    pub fn retryable(&self) -> bool {
        matches!(self, Self::NotDelivered { permanent: false, .. })
    }
}

impl Mailer {
    pub fn from_config(config: &SendingConfig) -> anyhow::Result<Self> {
        Ok(match &config.transport {
            MailTransport::Smtp(url) => Self::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())?
                    // Each command gets half the attempt's deadline, so a
                    // server that cannot be reached is known as such before
                    // the attempt as a whole runs out.
                    .timeout(Some(config.timeout / 2))
                    .build(),
            ),
            MailTransport::Folder(dir) => {
                std::fs::create_dir_all(dir)?;
                Self::Folder { transport: AsyncFileTransport::new(dir), dir: dir.clone() }
            }
        })
    }

    /// Where messages go, for the start-up lines.
    pub fn describe(&self) -> String {
        match self {
            Self::Smtp(_) => "the SMTP server of WORKGATE_SMTP_URL".to_owned(),
            Self::Folder { dir, .. } => format!(
                "the mail folder {} (no WORKGATE_SMTP_URL: one .eml file per message, nothing is mailed)",
                dir.display()
            ),
        }
    }

    pub async fn deliver(&self, message: &Message) -> Result<(), Failure> {
        match self {
            Self::Smtp(transport) => transport.send(message.clone()).await.map(drop).map_err(classify),
            Self::Folder { transport, .. } => transport
                .send(message.clone())
                .await
                .map(drop)
                .map_err(|e| Failure::NotDelivered { permanent: false, reason: format!("mail folder: {e}") }),
        }
    }
}

/// Sorts an SMTP error into delivered-or-not. A reply code means the server
/// refused (4xx for now, 5xx for good); an error connecting (or negotiating
/// TLS) means nothing was sent; anything else broke mid-conversation, maybe
/// after the server took the message.
fn classify(error: lettre::transport::smtp::Error) -> Failure {
    let reason = error.to_string();
    if error.is_permanent() || error.is_client() {
        Failure::NotDelivered { permanent: true, reason }
    } else if error.is_transient() || error.is_tls() || reason.starts_with(CONNECTION_ERROR) {
        Failure::NotDelivered { permanent: false, reason }
    } else {
        Failure::Unknown { reason: format!("{reason} (the vendor may have received the order)") }
    }
}

/// How lettre 0.11 shows an error establishing the connection; it has no
/// accessor for that kind. `tests/sending.rs` fails if this stops matching
/// (a server nobody listens on must be retried).
const CONNECTION_ERROR: &str = "Connection error";
