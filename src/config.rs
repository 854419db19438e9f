//! Typed configuration, read from the environment (and matching CLI flags) and
//! validated once at start-up.
//!
//! Every variable is documented in the README's configuration table. A bad
//! value is a [`ConfigError`] that names the variable; `main` prints it on one
//! line and exits with code 2. Secrets are never printed: [`Secret`] redacts
//! itself in `Debug`.

use crate::rate_limit::Rate;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use rand::RngCore;

/// The raw settings as the CLI parser sees them: strings straight from flags or
/// environment variables, not yet validated.
#[derive(Debug, Clone, Default, Args)]
pub struct RawConfig {
    /// Database URL: `sqlite://FILE` or `postgres://...`.
    #[arg(long, env = "WORKGATE_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Redis URL for the event bus; unset means an in-process bus.
    #[arg(long, env = "WORKGATE_REDIS_URL", global = true)]
    pub redis_url: Option<String>,
    /// Redis pub/sub channel that carries order events between instances.
    #[arg(long, env = "WORKGATE_REDIS_CHANNEL", global = true)]
    pub redis_channel: Option<String>,
    /// Address the HTTP server listens on.
    #[arg(long, env = "WORKGATE_LISTEN", global = true)]
    pub listen: Option<String>,
    /// HS256 shared secret for people's JWTs (at least 32 bytes).
    #[arg(long, env = "WORKGATE_JWT_SECRET", global = true, hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// PEM public key (or a path to one) for RS256/EdDSA JWTs.
    #[arg(long, env = "WORKGATE_JWT_PUBLIC_KEY", global = true)]
    pub jwt_public_key: Option<String>,
    /// JWT algorithm: HS256, RS256 or EdDSA.
    #[arg(long, env = "WORKGATE_JWT_ALG", global = true)]
    pub jwt_alg: Option<String>,
    /// Expected `iss` claim.
    #[arg(long, env = "WORKGATE_JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,
    /// Expected `aud` claim.
    #[arg(long, env = "WORKGATE_JWT_AUDIENCE", global = true)]
    pub jwt_audience: Option<String>,
    /// `development` (default) or `production`.
    #[arg(long = "env", env = "WORKGATE_ENV", global = true)]
    pub environment: Option<String>,
    /// Maximum database connections in the pool.
    #[arg(long, env = "WORKGATE_DATABASE_POOL", global = true)]
    pub database_pool: Option<String>,
    /// Largest attachment in bytes (default 10 MiB).
    #[arg(long, env = "WORKGATE_MAX_ATTACHMENT_BYTES", global = true)]
    pub max_attachment_bytes: Option<String>,
    /// SMTP server for sending orders to vendors: `smtps://user:pass@host[:465]`
    /// (TLS from the start), `smtp://user:pass@host[:587]?tls=required`
    /// (STARTTLS; `tls=opportunistic` if offered) or `smtp://host[:25]`
    /// (plain, for a relay on a trusted network). Unset: the mail folder.
    #[arg(long, env = "WORKGATE_SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Folder the messages are written to when no SMTP server is configured.
    #[arg(long, env = "WORKGATE_MAIL_DIR", global = true)]
    pub mail_dir: Option<String>,
    /// The From address of messages to vendors.
    #[arg(long, env = "WORKGATE_MAIL_FROM", global = true)]
    pub mail_from: Option<String>,
    /// Longest one attempt to send may take (e.g. `60s`).
    #[arg(long, env = "WORKGATE_SEND_TIMEOUT", global = true)]
    pub send_timeout: Option<String>,
    /// Attempts before an order is SEND_FAILED.
    #[arg(long, env = "WORKGATE_SEND_ATTEMPTS", global = true)]
    pub send_attempts: Option<String>,
    /// Wait before the first retry; it doubles for each further one.
    #[arg(long, env = "WORKGATE_SEND_RETRY_DELAY", global = true)]
    pub send_retry_delay: Option<String>,
    /// How long a WebSocket client has to send `connection_init`.
    #[arg(long, env = "WORKGATE_WS_INIT_TIMEOUT", global = true)]
    pub ws_init_timeout: Option<String>,
    /// How long order events are kept for subscribers resuming with `after`.
    #[arg(long, env = "WORKGATE_EVENT_RETENTION", global = true)]
    pub event_retention: Option<String>,
    /// How often a WebSocket connection's credential is checked again.
    #[arg(long, env = "WORKGATE_WS_REAUTHENTICATE", global = true)]
    pub ws_reauthenticate: Option<String>,
    /// How long one HTTP GraphQL request may run.
    #[arg(long, env = "WORKGATE_REQUEST_TIMEOUT", global = true)]
    pub request_timeout: Option<String>,
    /// Operations per person or API token, like `1200/min`; `off`.
    #[arg(long, env = "WORKGATE_RATE_LIMIT", global = true)]
    pub rate_limit: Option<String>,
    /// Operations per client address without credentials, like `60/min`.
    #[arg(long, env = "WORKGATE_RATE_LIMIT_ANONYMOUS", global = true)]
    pub rate_limit_anonymous: Option<String>,
    /// Origins (comma-separated, like `https://app.example.com`) whose web
    /// pages may call the API; `*` for any. The server's own origin always.
    #[arg(long, env = "WORKGATE_ALLOWED_ORIGINS", global = true)]
    pub allowed_origins: Option<String>,
    /// Bearer token that `/metrics` requires; unset, `/metrics` is not served.
    #[arg(long, env = "WORKGATE_METRICS_TOKEN", global = true, hide_env_values = true)]
    pub metrics_token: Option<String>,
}

/// A configuration value that failed validation.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    /// The environment variable the bad value came from.
    pub variable: &'static str,
    pub message: String,
}

impl ConfigError {
    fn new(variable: &'static str, message: impl Into<String>) -> Self {
        Self { variable, message: message.into() }
    }
}

/// A value that must never reach a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    Hs256,
    Rs256,
    EdDsa,
}

impl JwtAlgorithm {
    fn parse(value: &str) -> Option<Self> {
        match value {
            "HS256" => Some(Self::Hs256),
            "RS256" => Some(Self::Rs256),
            "EdDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }
}

/// The one key that verifies people's tokens; its algorithm is pinned.
#[derive(Debug, Clone)]
pub enum JwtKey {
    /// HS256 shared secret.
    Hmac(Secret<Vec<u8>>),
    /// RS256 or EdDSA public key in PEM.
    Public { algorithm: JwtAlgorithm, pem: String },
    /// RS256 or EdDSA keys by `kid`, from a JWKS file (read again when it
    /// changes).
    KeySet { algorithm: JwtAlgorithm, path: PathBuf },
}

#[derive(Debug, Clone)]
pub struct JwtConfig {
    pub key: JwtKey,
    pub issuer: String,
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    /// Set when no key was configured and a development secret was generated
    /// (or reused) beside the database.
    pub dev_secret_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub database_pool: u32,
    pub redis_url: Option<String>,
    pub redis_channel: String,
    pub listen: SocketAddr,
    pub jwt: JwtConfig,
    pub environment: Environment,
    /// Largest attachment accepted, in bytes.
    pub max_attachment_bytes: usize,
    pub sending: SendingConfig,
    /// How long a WebSocket client has to send `connection_init`.
    pub ws_init_timeout: Duration,
    /// How long order events are kept for subscribers resuming with `after`.
    pub event_retention: Duration,
    /// How often a WebSocket connection's credential is checked again.
    pub ws_reauthenticate: Duration,
    /// How long one HTTP GraphQL request may run.
    pub request_timeout: Duration,
    /// Other origins whose web pages may call the API.
    pub allowed_origins: AllowedOrigins,
    /// Operations per principal; None: unlimited.
    pub rate_limit: Option<Rate>,
    /// Operations per client address without credentials; None: unlimited.
    pub rate_limit_anonymous: Option<Rate>,
    /// What `/metrics` requires as a bearer token; None: not served.
    pub metrics_token: Option<Secret<String>>,
}

/// Where messages to vendors go.
#[derive(Debug, Clone)]
pub enum MailTransport {
    /// An SMTP server (the URL may hold a password).
    Smtp(Secret<String>),
    /// One `.eml` file per message in this folder (the embedded default).
    Folder(PathBuf),
}

/// How orders are sent to vendors (DOMAIN.md section 7, "Sending").
#[derive(Debug, Clone)]
pub struct SendingConfig {
    pub transport: MailTransport,
    pub from: String,
    /// The longest one attempt may take, connection to last reply.
    pub timeout: Duration,
    /// Attempts before the order is SEND_FAILED (at least 1).
    pub attempts: u32,
    /// Wait before the first retry; doubled for each further one.
    pub retry_delay: Duration,
}

/// Seconds of clock skew accepted on `exp` and `nbf`; stated in README.md.
pub const JWT_LEEWAY_SECONDS: u64 = 30;
const DEFAULT_DATABASE_URL: &str = "sqlite://workgate.db";
/// The request pool for a database whose cores are not known here.
const DEFAULT_POOL: u32 = 10;
/// The smallest default pool for a database on this host: room for a slow
/// query or two beside the rest.
const MIN_LOCAL_POOL: u32 = 4;
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Attachments up to 10 MiB by default (DOMAIN.md section 10) ...
const DEFAULT_MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
/// ... and never more than 100 MiB (they travel base64 in a GraphQL body).
const MAX_ATTACHMENT_LIMIT: usize = 100 * 1024 * 1024;
const DEFAULT_REDIS_CHANNEL: &str = "workgate:order-events";
const DEV_SECRET_FILE: &str = ".workgate-dev-secret";
const MIN_HMAC_SECRET_BYTES: usize = 32;

impl Config {
    /// Validates the raw settings. May create the development JWT secret file
    /// when no key is configured outside production.
    pub fn from_raw(raw: &RawConfig) -> Result<Self, ConfigError> {
        let environment = match raw.environment.as_deref().unwrap_or("development") {
            "development" => Environment::Development,
            "production" => Environment::Production,
            other => {
                return Err(ConfigError::new(
                    "WORKGATE_ENV",
                    format!("expected `development` or `production`, got `{other}`"),
                ));
            }
        };
        let database_url = parse_database_url(raw.database_url.as_deref())?;
        let database_pool = match raw.database_pool.as_deref() {
            None => default_pool(&database_url),
            Some(v) => v.parse::<u32>().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
                ConfigError::new("WORKGATE_DATABASE_POOL", format!("expected a number from 1 to 1000, got `{v}`"))
            })?,
        };
        let redis_url = match raw.redis_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => Some(url.to_owned()),
            Some(_) => {
                return Err(ConfigError::new("WORKGATE_REDIS_URL", "expected a redis:// or rediss:// URL"));
            }
        };
        let redis_channel = match raw.redis_channel.as_deref() {
            None => DEFAULT_REDIS_CHANNEL.to_owned(),
            Some(c) if !c.trim().is_empty() => c.trim().to_owned(),
            Some(_) => {
                return Err(ConfigError::new("WORKGATE_REDIS_CHANNEL", "must not be empty"));
            }
        };
        let listen_raw = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen = listen_raw.parse::<SocketAddr>().map_err(|_| {
            ConfigError::new("WORKGATE_LISTEN", format!("expected an address like 127.0.0.1:8080, got `{listen_raw}`"))
        })?;
        let jwt = parse_jwt(raw, environment, &database_url)?;
        let max_attachment_bytes = match raw.max_attachment_bytes.as_deref() {
            None => DEFAULT_MAX_ATTACHMENT_BYTES,
            Some(v) => v.parse::<usize>().ok().filter(|n| (1..=MAX_ATTACHMENT_LIMIT).contains(n)).ok_or_else(|| {
                ConfigError::new(
                    "WORKGATE_MAX_ATTACHMENT_BYTES",
                    format!("expected a number of bytes from 1 to {MAX_ATTACHMENT_LIMIT}, got `{v}`"),
                )
            })?,
        };
        let sending = parse_sending(raw, &database_url)?;
        let event_retention = duration(
            &raw.event_retention,
            "WORKGATE_EVENT_RETENTION",
            DEFAULT_EVENT_RETENTION,
            (Duration::from_secs(366 * 86_400), "a year like `7days`"),
        )?;
        let ws_reauthenticate = duration(
            &raw.ws_reauthenticate,
            "WORKGATE_WS_REAUTHENTICATE",
            DEFAULT_WS_REAUTHENTICATE,
            (Duration::from_secs(3600), "1h like `30s`"),
        )?;
        let request_timeout =
            duration(&raw.request_timeout, "WORKGATE_REQUEST_TIMEOUT", DEFAULT_REQUEST_TIMEOUT, UP_TO_AN_HOUR)?;
        let allowed_origins = AllowedOrigins::parse(raw.allowed_origins.as_deref())?;
        let rate_limit = rate(&raw.rate_limit, "WORKGATE_RATE_LIMIT", DEFAULT_RATE_LIMIT)?;
        let rate_limit_anonymous =
            rate(&raw.rate_limit_anonymous, "WORKGATE_RATE_LIMIT_ANONYMOUS", DEFAULT_RATE_LIMIT_ANONYMOUS)?;
        let ws_init_timeout = duration(
            &raw.ws_init_timeout,
            "WORKGATE_WS_INIT_TIMEOUT",
            DEFAULT_WS_INIT_TIMEOUT,
            (Duration::from_secs(300), "5m like `10s`"),
        )?;
        let metrics_token = match raw.metrics_token.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => None,
            Some(token) if token.len() < MIN_METRICS_TOKEN_CHARS => {
                return Err(ConfigError::new(
                    "WORKGATE_METRICS_TOKEN",
                    format!("at least {MIN_METRICS_TOKEN_CHARS} characters, so that it cannot be guessed"),
                ));
            }
            Some(token) => Some(Secret::new(token.to_owned())),
        };
        Ok(Self {
            database_url,
            database_pool,
            redis_url,
            redis_channel,
            listen,
            jwt,
            environment,
            max_attachment_bytes,
            sending,
            ws_init_timeout,
            event_retention,
            ws_reauthenticate,
            request_timeout,
            allowed_origins,
            rate_limit,
            rate_limit_anonymous,
            metrics_token,
        })
    }

    /// The SQLite file behind `database_url`, if it names one.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        sqlite_path(&self.database_url)
    }
}

fn parse_database_url(value: Option<&str>) -> Result<String, ConfigError> {
    let url = value.map(str::trim).filter(|v| !v.is_empty()).unwrap_or(DEFAULT_DATABASE_URL);
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(url.to_owned());
    }
    if url.starts_with("sqlite:") {
        if url.contains(":memory:") || url.contains("mode=") {
            return Ok(url.to_owned());
        }
        // Create the file on first use.
        let sep = if url.contains('?') { '&' } else { '?' };
        return Ok(format!("{url}{sep}mode=rwc"));
    }
    Err(ConfigError::new("WORKGATE_DATABASE_URL", "expected a sqlite:// or postgres:// URL"))
}

/// The request pool when `WORKGATE_DATABASE_POOL` is not set.
///
/// A PostgreSQL server reached over a unix socket or a loopback address is
/// taken to run on this machine, so the pool follows the cores this
/// process may use ([`local_pool`]). More backends than that only take
/// turns on the same CPU, with the gateway beside them, and the tail grows
/// (BENCHMARKS.md, "Pool size and tail latency"; README, "Pool size"). A
/// database elsewhere, or SQLite, gets [`DEFAULT_POOL`]: its cores are not
/// known here. (A proxy or tunnel on loopback in front of a remote server
/// is taken for local too: README says to set the pool there.)
pub fn default_pool(database_url: &str) -> u32 {
    if !is_local_postgres(database_url) {
        return DEFAULT_POOL;
    }
    local_pool(std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
}

/// Twice `cores`, from [`MIN_LOCAL_POOL`] to [`DEFAULT_POOL`].
fn local_pool(cores: usize) -> u32 {
    u32::try_from(cores.saturating_mul(2)).unwrap_or(u32::MAX).clamp(MIN_LOCAL_POOL, DEFAULT_POOL)
}

/// Whether the URL names a PostgreSQL server on this host, read by the
/// driver's own parser: a unix socket (a percent-encoded path as the host,
/// or `host=/dir`), `localhost`, or a loopback address (`PGHOST` when the
/// URL names no host). Parsing also reads `~/.pgpass`, as connecting does.
/// A `hostaddr` (which sqlx does not expose) is not looked at.
fn is_local_postgres(database_url: &str) -> bool {
    use sea_orm::sqlx::postgres::PgConnectOptions;
    if !database_url.starts_with("postgres") {
        return false;
    }
    let Ok(options) = database_url.parse::<PgConnectOptions>() else { return false };
    let host = options.get_host();
    options.get_socket().is_some()
        || host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

const DEFAULT_WS_INIT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_WS_REAUTHENTICATE: Duration = Duration::from_secs(30);
/// Long enough for the largest page of the heaviest query on a busy
/// server; a request still running then is stopped (and its transaction
/// rolled back) rather than holding a connection.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const MIN_METRICS_TOKEN_CHARS: usize = 16;
const DEFAULT_EVENT_RETENTION: Duration = Duration::from_secs(7 * 86_400);
const DEFAULT_MAIL_FROM: &str = "workgate <workgate@localhost>";
const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_SEND_ATTEMPTS: u32 = 5;
const DEFAULT_SEND_RETRY_DELAY: Duration = Duration::from_secs(30);
/// The mail folder's name beside the SQLite database.
const MAIL_DIR: &str = "mail";

/// A dashboard polling a few queries a second, with room for bursts.
const DEFAULT_RATE_LIMIT: &str = "1200/min";
/// Sign-in pages and health probes; credential guessing gets nowhere.
const DEFAULT_RATE_LIMIT_ANONYMOUS: &str = "60/min";

fn rate(value: &Option<String>, variable: &'static str, default: &str) -> Result<Option<Rate>, ConfigError> {
    Rate::parse(value.as_deref().unwrap_or(default)).map_err(|problem| ConfigError::new(variable, problem))
}

/// `WORKGATE_ALLOWED_ORIGINS`: the origins, besides the server's own, whose
/// web pages may call the API (CORS, and the WebSocket upgrade's `Origin`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// The server's own origin only.
    #[default]
    SameOrigin,
    /// These too, each `scheme://host[:port]`, lower case.
    List(Vec<String>),
    /// `*`: any origin (development).
    Any,
}

impl AllowedOrigins {
    fn parse(value: Option<&str>) -> Result<Self, ConfigError> {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(Self::SameOrigin) };
        if value == "*" {
            return Ok(Self::Any);
        }
        let mut origins = Vec::new();
        for origin in value.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let parsed = origin.parse::<axum::http::Uri>().ok().filter(|u| {
                matches!(u.scheme_str(), Some("http" | "https"))
                    && u.authority().is_some_and(|a| !a.as_str().contains('@'))
                    && u.path_and_query().is_none_or(|p| p.as_str().is_empty() || p.as_str() == "/")
                    && !origin.ends_with('/')
            });
            if parsed.is_none() {
                return Err(ConfigError::new(
                    "WORKGATE_ALLOWED_ORIGINS",
                    format!("expected origins like `https://app.example.com`, comma-separated, or `*`; got `{origin}`"),
                ));
            }
            origins.push(origin.to_ascii_lowercase());
        }
        Ok(Self::List(origins))
    }
}

const UP_TO_AN_HOUR: (Duration, &str) = (Duration::from_secs(3600), "1h like `30s`");

/// A duration setting (`30s`, `5m`, `7days`): `default` when unset, above
/// zero and at most `max.0` (described as `max.1`) when set.
fn duration(
    value: &Option<String>,
    variable: &'static str,
    default: Duration,
    max: (Duration, &str),
) -> Result<Duration, ConfigError> {
    match value.as_deref() {
        None => Ok(default),
        Some(v) => humantime::parse_duration(v.trim())
            .ok()
            .filter(|d| !d.is_zero() && *d <= max.0)
            .ok_or_else(|| ConfigError::new(variable, format!("expected a duration up to {}, got `{v}`", max.1))),
    }
}

fn parse_sending(raw: &RawConfig, database_url: &str) -> Result<SendingConfig, ConfigError> {
    let transport = match raw.smtp_url.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        Some(url) => {
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url).map_err(|_| {
                ConfigError::new(
                    "WORKGATE_SMTP_URL",
                    "expected smtps://user:password@host[:port], smtp://user:password@host[:port]?tls=required or smtp://host[:port]",
                )
            })?;
            MailTransport::Smtp(Secret::new(url.to_owned()))
        }
        None => MailTransport::Folder(match raw.mail_dir.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => sqlite_path(database_url)
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .unwrap_or_default()
                .join(MAIL_DIR),
        }),
    };
    let from = raw.mail_from.as_deref().map(str::trim).filter(|v| !v.is_empty()).unwrap_or(DEFAULT_MAIL_FROM);
    if from.parse::<lettre::message::Mailbox>().is_err() {
        return Err(ConfigError::new(
            "WORKGATE_MAIL_FROM",
            format!("expected an address like `workgate <orders@example.com>`, got `{from}`"),
        ));
    }
    let attempts = match raw.send_attempts.as_deref() {
        None => DEFAULT_SEND_ATTEMPTS,
        Some(v) => v.trim().parse::<u32>().ok().filter(|n| (1..=20).contains(n)).ok_or_else(|| {
            ConfigError::new("WORKGATE_SEND_ATTEMPTS", format!("expected a number from 1 to 20, got `{v}`"))
        })?,
    };
    Ok(SendingConfig {
        transport,
        from: from.to_owned(),
        timeout: duration(&raw.send_timeout, "WORKGATE_SEND_TIMEOUT", DEFAULT_SEND_TIMEOUT, UP_TO_AN_HOUR)?,
        attempts,
        retry_delay: duration(
            &raw.send_retry_delay,
            "WORKGATE_SEND_RETRY_DELAY",
            DEFAULT_SEND_RETRY_DELAY,
            UP_TO_AN_HOUR,
        )?,
    })
}

fn parse_jwt(raw: &RawConfig, environment: Environment, database_url: &str) -> Result<JwtConfig, ConfigError> {
    fn non_empty(v: &Option<String>) -> Option<&str> {
        v.as_deref().filter(|s| !s.trim().is_empty())
    }
    let algorithm = match non_empty(&raw.jwt_alg) {
        None => None,
        Some(a) => Some(JwtAlgorithm::parse(a.trim()).ok_or_else(|| {
            ConfigError::new("WORKGATE_JWT_ALG", format!("expected HS256, RS256 or EdDSA, got `{a}`"))
        })?),
    };
    let mut dev_secret_file = None;
    let key = match (non_empty(&raw.jwt_secret), non_empty(&raw.jwt_public_key)) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                "WORKGATE_JWT_PUBLIC_KEY",
                "set either WORKGATE_JWT_SECRET or WORKGATE_JWT_PUBLIC_KEY, not both",
            ));
        }
        (Some(secret), None) => {
            if algorithm.is_some_and(|a| a != JwtAlgorithm::Hs256) {
                return Err(ConfigError::new(
                    "WORKGATE_JWT_ALG",
                    "a shared secret (WORKGATE_JWT_SECRET) verifies only HS256",
                ));
            }
            if secret.len() < MIN_HMAC_SECRET_BYTES {
                return Err(ConfigError::new(
                    "WORKGATE_JWT_SECRET",
                    format!("must be at least {MIN_HMAC_SECRET_BYTES} bytes"),
                ));
            }
            JwtKey::Hmac(Secret::new(secret.as_bytes().to_vec()))
        }
        (None, Some(key)) => {
            let algorithm = match algorithm {
                None | Some(JwtAlgorithm::Rs256) => JwtAlgorithm::Rs256,
                Some(JwtAlgorithm::EdDsa) => JwtAlgorithm::EdDsa,
                Some(JwtAlgorithm::Hs256) => {
                    return Err(ConfigError::new(
                        "WORKGATE_JWT_ALG",
                        "a public key verifies RS256 or EdDSA, not HS256",
                    ));
                }
            };
            if key.trim_start().starts_with('{') {
                return Err(ConfigError::new(
                    "WORKGATE_JWT_PUBLIC_KEY",
                    "a JWKS key set must be a file (it is read again when it changes), not inline text",
                ));
            }
            let text = read_pem(key)?;
            if text.trim_start().starts_with('{') {
                crate::auth::jwt::key_set(algorithm, &text)
                    .map_err(|message| ConfigError::new("WORKGATE_JWT_PUBLIC_KEY", message))?;
                JwtKey::KeySet { algorithm, path: PathBuf::from(key) }
            } else {
                crate::auth::jwt::check_public_key(algorithm, &text)
                    .map_err(|message| ConfigError::new("WORKGATE_JWT_PUBLIC_KEY", message))?;
                JwtKey::Public { algorithm, pem: text }
            }
        }
        (None, None) => {
            if environment == Environment::Production {
                return Err(ConfigError::new(
                    "WORKGATE_JWT_SECRET",
                    "production needs WORKGATE_JWT_SECRET or WORKGATE_JWT_PUBLIC_KEY",
                ));
            }
            if algorithm.is_some_and(|a| a != JwtAlgorithm::Hs256) {
                return Err(ConfigError::new(
                    "WORKGATE_JWT_PUBLIC_KEY",
                    "WORKGATE_JWT_ALG asks for a public key, but none is set",
                ));
            }
            let dir = sqlite_path(database_url).and_then(|p| p.parent().map(Path::to_path_buf)).unwrap_or_default();
            let path = dir.join(DEV_SECRET_FILE);
            let secret = load_or_create_dev_secret(&path)?;
            dev_secret_file = Some(path);
            JwtKey::Hmac(Secret::new(secret))
        }
    };
    let claim = |value: &Option<String>, variable: &'static str| match non_empty(value) {
        None => Ok("workgate".to_owned()),
        Some(v) if v.trim() == v => Ok(v.to_owned()),
        Some(_) => Err(ConfigError::new(variable, "must not have surrounding spaces")),
    };
    Ok(JwtConfig {
        key,
        issuer: claim(&raw.jwt_issuer, "WORKGATE_JWT_ISSUER")?,
        audience: claim(&raw.jwt_audience, "WORKGATE_JWT_AUDIENCE")?,
        leeway: Duration::from_secs(JWT_LEEWAY_SECONDS),
        dev_secret_file,
    })
}

fn read_pem(value: &str) -> Result<String, ConfigError> {
    if value.trim_start().starts_with("-----BEGIN") {
        return Ok(value.to_owned());
    }
    std::fs::read_to_string(value)
        .map_err(|e| ConfigError::new("WORKGATE_JWT_PUBLIC_KEY", format!("neither PEM text nor a readable file ({e})")))
}

/// Reads the development secret, creating it (readable by the owner only)
/// when it does not exist yet.
fn load_or_create_dev_secret(path: &Path) -> Result<Vec<u8>, ConfigError> {
    const VAR: &str = "WORKGATE_JWT_SECRET";
    match std::fs::read_to_string(path) {
        Ok(existing) if existing.trim().len() >= MIN_HMAC_SECRET_BYTES => {
            return Ok(existing.trim().as_bytes().to_vec());
        }
        Ok(_) => {
            return Err(ConfigError::new(VAR, format!("not set, and {} is too short", path.display())));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(ConfigError::new(VAR, format!("not set, and {} is unreadable ({e})", path.display())));
        }
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    write_private_file(path, &secret)
        .map_err(|e| ConfigError::new(VAR, format!("not set, and {} could not be written ({e})", path.display())))?;
    Ok(secret.into_bytes())
}

fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawConfig {
        RawConfig {
            database_url: Some("sqlite::memory:".into()),
            redis_url: None,
            redis_channel: None,
            listen: None,
            jwt_secret: Some("x".repeat(32)),
            jwt_public_key: None,
            jwt_alg: None,
            jwt_issuer: None,
            jwt_audience: None,
            environment: None,
            database_pool: None,
            max_attachment_bytes: None,
            ..RawConfig::default()
        }
    }

    fn error_variable(raw: &RawConfig) -> &'static str {
        Config::from_raw(raw).expect_err("should be refused").variable
    }

    #[test]
    fn defaults_are_valid() {
        let config = Config::from_raw(&raw()).expect("valid");
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.jwt.issuer, "workgate");
        assert_eq!(config.jwt.audience, "workgate");
        assert!(config.redis_url.is_none());
    }

    #[test]
    fn sqlite_urls_gain_create_mode_and_expose_their_path() {
        let url = parse_database_url(Some("sqlite://data/wg.db")).expect("valid");
        assert_eq!(url, "sqlite://data/wg.db?mode=rwc");
        assert_eq!(sqlite_path(&url), Some(PathBuf::from("data/wg.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }

    #[test]
    fn bad_values_name_their_variable() {
        for bad in ["0", "ten", "104857601"] {
            let mut r = raw();
            r.max_attachment_bytes = Some(bad.into());
            assert_eq!(error_variable(&r), "WORKGATE_MAX_ATTACHMENT_BYTES");
        }
        let mut r = raw();
        r.listen = Some("nowhere".into());
        assert_eq!(error_variable(&r), "WORKGATE_LISTEN");

        let mut r = raw();
        r.database_url = Some("mysql://x".into());
        assert_eq!(error_variable(&r), "WORKGATE_DATABASE_URL");

        let mut r = raw();
        r.jwt_secret = Some("short".into());
        assert_eq!(error_variable(&r), "WORKGATE_JWT_SECRET");

        let mut r = raw();
        r.jwt_alg = Some("HS512".into());
        assert_eq!(error_variable(&r), "WORKGATE_JWT_ALG");

        let mut r = raw();
        r.jwt_alg = Some("RS256".into());
        assert_eq!(error_variable(&r), "WORKGATE_JWT_ALG");

        let mut r = raw();
        r.redis_url = Some("http://x".into());
        assert_eq!(error_variable(&r), "WORKGATE_REDIS_URL");

        let mut r = raw();
        r.environment = Some("staging".into());
        assert_eq!(error_variable(&r), "WORKGATE_ENV");

        let mut r = raw();
        r.jwt_public_key = Some("-----BEGIN PUBLIC KEY-----\nnot a key\n".into());
        r.jwt_secret = None;
        assert_eq!(error_variable(&r), "WORKGATE_JWT_PUBLIC_KEY");
    }

    #[test]
    fn production_requires_a_configured_key() {
        let mut r = raw();
        r.jwt_secret = None;
        r.environment = Some("production".into());
        assert_eq!(error_variable(&r), "WORKGATE_JWT_SECRET");
    }

    #[test]
    fn development_secret_is_created_once_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut r = raw();
        r.jwt_secret = None;
        r.database_url = Some(format!("sqlite://{}/wg.db", dir.path().display()));
        let first = Config::from_raw(&r).expect("valid");
        let second = Config::from_raw(&r).expect("valid");
        let (JwtKey::Hmac(a), JwtKey::Hmac(b)) = (&first.jwt.key, &second.jwt.key) else {
            panic!("expected HS256 keys");
        };
        assert_eq!(a.expose(), b.expose());
        assert_eq!(first.jwt.dev_secret_file, Some(dir.path().join(DEV_SECRET_FILE)));
        assert!(format!("{:?}", first).contains("<redacted>"));
    }

    #[test]
    fn a_database_on_this_host_is_told_from_one_elsewhere() {
        for url in [
            "postgres://postgres@%2Fvar%2Frun%2Fpostgresql/workgate",
            "postgres:///workgate?host=/var/run/postgresql",
            "postgres://postgres@localhost/workgate",
            "postgres://postgres@LOCALHOST/workgate",
            "postgres://postgres@127.0.0.1:5432/workgate",
            "postgresql://postgres@127.0.0.2/workgate",
            "postgres://postgres@[::1]:5432/workgate",
        ] {
            assert!(is_local_postgres(url), "{url} is on this host");
        }
        for url in [
            "postgres://postgres@db.internal/workgate",
            "postgres://postgres@10.0.0.5:5432/workgate",
            "postgres://postgres@127.0.0.1.example.com/workgate",
            "postgres://postgres@localhost.example.com/workgate",
            "postgres://postgres@localhost/workgate?host=db.internal",
            "sqlite::memory:",
            "sqlite://workgate.db",
        ] {
            assert!(!is_local_postgres(url), "{url} is elsewhere");
        }
    }

    #[test]
    fn a_local_pool_is_twice_the_cores_from_4_to_10() {
        assert_eq!([1, 2, 3, 4, 5, 16, usize::MAX].map(local_pool), [4, 4, 6, 8, 10, 10, 10]);
    }

    #[test]
    fn the_pool_is_the_default_unless_set() {
        let pool = |url: &str, set: Option<&str>| {
            let mut r = raw();
            r.database_url = Some(url.to_owned());
            r.database_pool = set.map(str::to_owned);
            Config::from_raw(&r).expect("valid").database_pool
        };
        let local = "postgres://postgres@127.0.0.1/workgate";
        assert_eq!(pool(local, None), local_pool(std::thread::available_parallelism().expect("cores").get()));
        assert_eq!(pool("postgres://postgres@db.internal/workgate", None), DEFAULT_POOL);
        assert_eq!(pool("sqlite::memory:", None), DEFAULT_POOL);
        assert_eq!(pool(local, Some("7")), 7, "a set pool is kept");
    }
}
