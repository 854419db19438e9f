//! The command line: `serve`, `migrate`, `bootstrap`, `token`, `schema`,
//! `seed --synthetic`.
//!
//! Exit codes: 0 success, 1 failure, 2 bad configuration or usage (one line
//! on stderr naming the variable).

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use sea_orm::EntityTrait;

use crate::auth::jwt;
use crate::config::{Config, ConfigError, Environment, RawConfig};
use crate::startup::Application;
use crate::{db, org};

#[derive(Debug, Parser)]
#[command(name = "workgate", version, about = "GraphQL gateway for maintenance and procurement work orders")]
pub struct Cli {
    #[command(flatten)]
    config: RawConfig,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (applies pending migrations first).
    Serve {
        /// Seed a demo organization (once) and print a token per demo user.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Create an organization with its root account and first admin, unless
    /// one of that name exists; prints one JSON line with the ids.
    Bootstrap {
        #[arg(long)]
        org: String,
        #[arg(long)]
        admin_name: String,
        #[arg(long)]
        admin_email: String,
    },
    /// Mint a JWT for a user with the configured HS256 secret.
    Token {
        #[arg(long)]
        user: String,
        /// Lifetime, e.g. 15m, 1h, 7d.
        #[arg(long, default_value = "1h")]
        ttl: String,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Generate an organization for benchmarks (`--synthetic`): the same
    /// shape and content for the same arguments; prints one JSON line with
    /// the organization and a principal of each kind the scenarios use.
    Seed {
        /// The only kind of seed there is (kept explicit: it is not demo data).
        #[arg(long, required = true)]
        synthetic: bool,
        #[arg(long, default_value_t = 1000)]
        orders: usize,
        #[arg(long, default_value_t = 20)]
        sites: usize,
        #[arg(long, default_value_t = 200)]
        users: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

enum Failure {
    Config(ConfigError),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self::Other(e)
    }
}

impl From<crate::error::AppError> for Failure {
    fn from(e: crate::error::AppError) -> Self {
        Self::Other(match e {
            crate::error::AppError::Internal(cause) => cause,
            other => anyhow::anyhow!(other.message()),
        })
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Schema = cli.command {
        print!("{}", crate::graphql::sdl());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_raw(&cli.config) {
        Ok(config) => config,
        Err(e) => return report(Failure::Config(e)),
    };
    crate::telemetry::init(config.environment == Environment::Production);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return report(Failure::Other(e.into())),
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(failure),
    }
}

fn report(failure: Failure) -> ExitCode {
    match failure {
        Failure::Config(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Failure::Other(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> Result<(), Failure> {
    match command {
        Command::Serve { demo } => serve(config, demo).await,
        Command::Migrate => {
            let conn = db::connect(&config).await?;
            db::migrate(&conn).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Bootstrap { org, admin_name, admin_email } => {
            let conn = db::connect(&config).await?;
            db::migrate(&conn).await?;
            let outcome = org::service::bootstrap(&conn, &org, &admin_name, &admin_email).await?;
            println!("{}", serde_json::to_string(&outcome).map_err(anyhow::Error::from)?);
            Ok(())
        }
        Command::Token { user, ttl } => {
            let ttl: Duration = humantime::parse_duration(&ttl).map_err(|e| {
                Failure::Config(ConfigError {
                    variable: "--ttl",
                    message: format!("expected a duration like 1h or 30m ({e})"),
                })
            })?;
            let conn = db::connect(&config).await?;
            let found =
                entity::users::Entity::find_by_id(user.as_str()).one(&conn).await.map_err(anyhow::Error::from)?;
            match found {
                Some(u) if u.active && u.can_login => {}
                Some(_) => return Err(anyhow::anyhow!("user {user} is deactivated or cannot log in").into()),
                None => return Err(anyhow::anyhow!("no user with id {user}").into()),
            }
            println!("{}", jwt::mint_hs256(&config.jwt, &user, ttl)?);
            Ok(())
        }
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::Seed { synthetic: _, orders, sites, users, seed } => {
            let conn = db::connect(&config).await?;
            db::migrate(&conn).await?;
            let started = std::time::Instant::now();
            let seeded = crate::seed::synthetic(&conn, crate::seed::Shape { orders, sites, users, seed }).await?;
            let mut line = serde_json::to_value(&seeded).map_err(anyhow::Error::from)?;
            line["seconds"] = serde_json::json!(started.elapsed().as_secs_f64());
            println!("{line}");
            Ok(())
        }
    }
}

/// One of `serve`'s start-up lines on stdout. A server does not stop
/// because nothing reads them any more (a closed pipe): `println!` would
/// panic there.
fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

async fn serve(config: Config, demo: bool) -> Result<(), Failure> {
    let dev_secret = config.jwt.dev_secret_file.clone();
    let pool = config.database_pool;
    let app = Application::build(config).await?;
    let base = format!("http://{}", app.address());
    say(format_args!("workgate listening on {base}"));
    say(format_args!("GraphiQL: {base}/graphql"));
    say(format_args!("orders to vendors go to {}", app.mail_destination()));
    say(format_args!("requests read the database on up to {pool} connections (WORKGATE_DATABASE_POOL)"));
    if let Some(path) = dev_secret {
        say(format_args!(
            "development mode: no WORKGATE_JWT_SECRET set; using the generated secret in {} (set a real one for production)",
            path.display()
        ));
    }
    if demo {
        let users = org::demo::ensure(&app.state().db).await?;
        let ttl = Duration::from_secs(12 * 3600);
        say(format_args!("demo organization ready; tokens (valid 12 h) to paste as the `Authorization` header:"));
        for user in users {
            match jwt::mint_hs256(&app.state().config.jwt, &user.id, ttl) {
                Ok(token) => say(format_args!("  {:<11} {:<22} Bearer {token}", user.label, user.name)),
                Err(e) => say(format_args!("  {:<11} {:<22} (no token: {e})", user.label, user.name)),
            }
        }
    }
    app.run_until_stopped().await.map_err(anyhow::Error::from)?;
    Ok(())
}
