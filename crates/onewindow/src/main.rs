//! `onewindow`: the cross-border e-commerce single window, one binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

/// The process allocates many small strings per message (XML names and text, receipts, rows);
/// mimalloc serves them several times faster than the system allocator (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod backfill;
mod bench;
mod client;
mod demo;
mod desk;
mod offline;
mod privacy;
mod regulator;
mod signing;

#[derive(Parser)]
#[command(
    name = "onewindow",
    version,
    about = "Cross-border e-commerce single window (CEB import clearance)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives; shared by the commands that open a store.
#[derive(Args, Clone, Debug)]
pub struct StoreArgs {
    /// Data directory: the embedded SQLite store, the admin token and the buyer-hash key.
    #[arg(long, env = "ONEWINDOW_DATA", default_value = "onewindow-data")]
    pub data: PathBuf,
    /// Store URL: `postgres://user@host/db` for PostgreSQL; default: SQLite in the data directory.
    #[arg(long, env = "ONEWINDOW_STORE")]
    pub store: Option<String>,
    /// The data key ring that encrypts personal data at rest (one key per line, `ID HEX
    /// [current]`); default: `ONEWINDOW_DATA_KEYS`, else `DATA/data-key` (created on the first
    /// start of a store without data). See docs/security.md.
    #[arg(long, env = "ONEWINDOW_DATA_KEY_FILE")]
    pub data_key_file: Option<PathBuf>,
}

impl StoreArgs {
    /// Open the store with its data keys (never creating a key: for maintenance commands).
    pub fn open(&self) -> anyhow::Result<std::sync::Arc<dyn store::Store>> {
        let (store, _, _) = server::keys::open_store(
            &self.target(),
            &self.data,
            self.data_key_file.as_deref(),
            false,
        )?;
        Ok(store)
    }

    pub fn target(&self) -> String {
        self.store
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", self.data.join("onewindow.db").display()))
    }
}

/// Rate limits, timeouts and the connection cap at the door (docs/security.md).
#[derive(Args, Clone, Debug)]
pub struct GuardArgs {
    /// Requests per second per API credential, `RATE` or `RATE/BURST`; `off` for no limit.
    #[arg(long, env = "ONEWINDOW_RATE_CREDENTIAL", default_value = "1000/2000")]
    pub rate_credential: String,
    /// Requests per second per client address, `RATE` or `RATE/BURST`; `off` for no limit.
    #[arg(long, env = "ONEWINDOW_RATE_ADDRESS", default_value = "2000/4000")]
    pub rate_address: String,
    /// Failed authentications per second per client address (API tokens; past it a failure is
    /// answered 429, a good token still served) and per client address and account (portal
    /// logins; past it that account's logins from that address wait).
    #[arg(long, env = "ONEWINDOW_RATE_FAILED_AUTH", default_value = "1/20")]
    pub rate_failed_auth: String,
    /// Failed portal logins per second per client address, all accounts together; past it every
    /// login from the address waits.
    #[arg(long, env = "ONEWINDOW_RATE_FAILED_LOGINS", default_value = "1/100")]
    pub rate_failed_logins: String,
    /// Take the client address from `X-Forwarded-For` (only behind a reverse proxy you run).
    #[arg(long, env = "ONEWINDOW_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// Seconds a client has to send its first bytes after connecting, and then a request's
    /// headers (also how long an HTTP/1.1 connection may wait between requests).
    #[arg(long, env = "ONEWINDOW_HEADER_TIMEOUT", default_value_t = 10)]
    pub header_timeout: u64,
    /// Seconds a connection may stay open with no request in flight (an HTTP/2 connection that
    /// opens no stream is closed after this, whatever PINGs it answers).
    #[arg(long, env = "ONEWINDOW_IDLE_TIMEOUT", default_value_t = 60)]
    pub idle_timeout: u64,
    /// Most open connections; further ones are closed at once.
    #[arg(long, env = "ONEWINDOW_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// Most open connections from one client address (an IPv6 /64; the TCP peer, so behind a
    /// reverse proxy the proxy's); further ones are closed at once. 0: no cap of its own.
    #[arg(
        long,
        env = "ONEWINDOW_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 256
    )]
    pub max_connections_per_address: usize,
    /// Send Strict-Transport-Security (when TLS terminates in front of the server).
    #[arg(long, env = "ONEWINDOW_HSTS")]
    pub hsts: bool,
}

impl GuardArgs {
    pub fn config(&self) -> anyhow::Result<server::guard::GuardConfig> {
        use server::guard::Rate;
        let rate = |flag: &str, text: &str| {
            Rate::parse(text).map_err(|e| anyhow::anyhow!("--{flag}: {e}"))
        };
        Ok(server::guard::GuardConfig {
            credential: rate("rate-credential", &self.rate_credential)?,
            address: rate("rate-address", &self.rate_address)?,
            failed_auth: rate("rate-failed-auth", &self.rate_failed_auth)?,
            failed_logins: rate("rate-failed-logins", &self.rate_failed_logins)?,
            trust_forwarded_for: self.trust_forwarded_for,
            header_timeout: std::time::Duration::from_secs(self.header_timeout.max(1)),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout.max(1)),
            max_connections: self.max_connections.max(1),
            max_connections_per_address: self.max_connections_per_address,
            hsts: self.hsts,
        })
    }
}

/// The web portal's cookies and sessions (docs/portal.md).
#[derive(Args, Clone, Debug)]
pub struct PortalArgs {
    /// Mark the portal's cookies `Secure`: set this when people reach the portal over HTTPS
    /// (TLS terminated by a proxy in front of the server).
    #[arg(long, env = "ONEWINDOW_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Minutes of inactivity after which a portal session ends.
    #[arg(long, env = "ONEWINDOW_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: u64,
    /// Hours after login at which a portal session ends, used or not.
    #[arg(long, env = "ONEWINDOW_SESSION_MAX_HOURS", default_value_t = 12)]
    pub session_max_hours: u64,
    /// Password hashes (argon2id, ≈ 19 MiB each) computed at once for logins and new accounts;
    /// more wait up to 10 s, then are asked to retry (503).
    #[arg(long, env = "ONEWINDOW_MAX_PASSWORD_HASHES", default_value_t = 2)]
    pub max_password_hashes: usize,
}

impl PortalArgs {
    pub fn config(&self) -> server::portal::PortalConfig {
        server::portal::PortalConfig {
            secure_cookies: self.secure_cookies,
            idle_timeout: std::time::Duration::from_secs(self.session_idle_minutes.max(1) * 60),
            absolute_timeout: std::time::Duration::from_secs(self.session_max_hours.max(1) * 3600),
            password_hashes: self.max_password_hashes.max(1),
            ..Default::default()
        }
    }
}

/// How to reach a running server.
#[derive(Args, Clone, Debug)]
pub struct ClientArgs {
    #[arg(
        long,
        global = true,
        env = "ONEWINDOW_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,
    /// API token; default: the admin token in the data directory.
    #[arg(long, global = true, env = "ONEWINDOW_TOKEN")]
    pub token: Option<String>,
    /// Data directory of the server (where `admin-token` is read from when no --token is given).
    #[arg(
        long,
        global = true,
        env = "ONEWINDOW_DATA",
        default_value = "onewindow-data"
    )]
    pub data: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, env = "ONEWINDOW_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        guard: GuardArgs,
        #[command(flatten)]
        portal: PortalArgs,
    },
    /// Start a server on a fresh embedded store and stream realistic traffic at it.
    Demo(demo::DemoArgs),
    /// Send CEB message files to a running server and print the receipts.
    Submit {
        #[command(flatten)]
        client: ClientArgs,
        files: Vec<PathBuf>,
    },
    /// Check CEB files against the official 202205 schema; exit 1 if any is invalid.
    Validate { files: Vec<PathBuf> },
    /// Enterprise filing and credentials (talks to a running server as admin).
    Enterprise {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        action: EnterpriseAction,
    },
    /// Tariff administration (talks to a running server as admin).
    Tariff {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        action: TariffAction,
    },
    /// The credit and risk desk: alerts, inspections, credit, negative lists, recalls, rules.
    Regulator(regulator::RegulatorArgs),
    /// Portal accounts of people (talks to a running server as admin).
    User {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        action: UserAction,
    },
    /// Offline conformance mode: file a registry into a fresh store, process CEB files in the
    /// order given, write every receipt as a CEB XML file into DIR.
    Replay(offline::ReplayArgs),
    /// Replay the journal into fresh projections (stop the server first).
    Rebuild {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Measure the whole clearance path on generated declarations.
    Bench(bench::BenchArgs),
    /// Make a key pair and a self-signed certificate for signing messages (SM2 by default), for
    /// testing: key.pem (PKCS#8, mode 0600) and cert.pem in --out.
    Keygen(signing::KeygenArgs),
    /// Sign CEB files with a software key (enveloped XML signature, SM2-SM3 or RSA-SHA1), in place
    /// or into --out.
    Sign(signing::SignArgs),
    /// Verify the signatures of CEB files offline; exit 1 if any fails.
    Verify(signing::VerifyArgs),
    /// Re-encrypt personal data under the current data key; add or retire keys (docs/security.md).
    Rekey(privacy::RekeyArgs),
    /// Remove the personal data of declarations concluded before a date (stop the server first).
    Purge(privacy::PurgeArgs),
    /// The audit log: query, export and verify (as the auditor, against a running server), or
    /// verify the store's chain directly.
    Audit(privacy::AuditArgs),
    /// Exit 0 when the server answers its health check.
    Healthcheck {
        #[arg(
            long,
            env = "ONEWINDOW_SERVER",
            default_value = "http://127.0.0.1:8080"
        )]
        server: String,
    },
}

#[derive(Subcommand)]
enum EnterpriseAction {
    /// File (or re-file) the enterprises of a registry CSV (docs/registry.md), and issue an API
    /// credential to each that has none yet (the tokens are printed once).
    File { registry: PathBuf },
    /// List filed enterprises.
    List,
    /// Issue an API credential for an enterprise code (or `admin`, `regulator:<department>`).
    Credential { code: String },
    /// Revoke a credential by key id.
    Revoke { key_id: String },
    /// File an X.509 certificate (PEM or DER) whose key signs the enterprise's messages.
    Certificate { code: String, file: PathBuf },
    /// List an enterprise's filed certificates (revoked ones included).
    Certificates { code: String },
    /// Revoke a filed certificate by its SHA-256 fingerprint.
    RevokeCertificate { code: String, fingerprint: String },
}

#[derive(Subcommand)]
enum UserAction {
    /// Create a portal account. The password is read from `--password-file`, or from the first
    /// line of standard input (never from the command line, where other users could see it).
    Add {
        username: String,
        /// Whom the account acts as: a filed enterprise code, `regulator:<department>` or `admin`.
        #[arg(long)]
        role: String,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// List portal accounts.
    List,
    /// Disable an account: it cannot log in, and its sessions end at once.
    Disable { username: String },
    /// Enable a disabled account.
    Enable { username: String },
}

#[derive(Subcommand)]
enum TariffAction {
    /// Replace the tariff table with a CSV file (docs/tariff.md).
    Load { file: PathBuf },
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ONEWINDOW_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,onewindow=info,server=info")
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("onewindow: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    use std::process::ExitCode;
    match cli.command {
        Command::Serve {
            store,
            listen,
            guard,
            portal,
        } => {
            let guard = guard.config()?;
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(serve(store, listen, guard, portal.config()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(demo::run(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Submit { client, files } => client::submit(&client, &files),
        Command::Validate { files } => offline::validate(&files),
        Command::Enterprise { client, action } => {
            match action {
                EnterpriseAction::File { registry } => client::file_registry(&client, &registry)?,
                EnterpriseAction::List => {
                    client::print(client::call(&client, "GET", "/api/v1/enterprises", None)?)
                }
                EnterpriseAction::Credential { code } => client::print(client::call(
                    &client,
                    "POST",
                    &format!("/api/v1/enterprises/{code}/credentials"),
                    None,
                )?),
                EnterpriseAction::Revoke { key_id } => client::print(client::call(
                    &client,
                    "DELETE",
                    &format!("/api/v1/credentials/{key_id}"),
                    None,
                )?),
                EnterpriseAction::Certificate { code, file } => {
                    return signing::file_certificate(&client, &code, &file);
                }
                EnterpriseAction::Certificates { code } => {
                    return signing::list_certificates(&client, &code);
                }
                EnterpriseAction::RevokeCertificate { code, fingerprint } => {
                    return signing::revoke_certificate(&client, &code, &fingerprint);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Tariff { client, action } => {
            let TariffAction::Load { file } = action;
            let body =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            client::print(client::call(
                &client,
                "POST",
                "/api/v1/tariff",
                Some(("text/csv", &body)),
            )?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Regulator(args) => regulator::run(args),
        Command::User { client, action } => {
            let answer = match action {
                UserAction::Add {
                    username,
                    role,
                    password_file,
                } => {
                    let password = match password_file {
                        Some(path) => std::fs::read_to_string(&path)
                            .with_context(|| format!("reading {}", path.display()))?,
                        None => {
                            let mut line = String::new();
                            std::io::stdin().read_line(&mut line)?;
                            line
                        }
                    };
                    let body = serde_json::json!({
                        "username": username,
                        "subject": role,
                        "password": password.trim_end_matches(['\n', '\r']),
                    })
                    .to_string();
                    client::call(
                        &client,
                        "POST",
                        "/api/v1/users",
                        Some(("application/json", body.as_bytes())),
                    )?
                }
                UserAction::List => client::call(&client, "GET", "/api/v1/users", None)?,
                UserAction::Disable { username } => client::call(
                    &client,
                    "POST",
                    &format!("/api/v1/users/{username}/disable"),
                    None,
                )?,
                UserAction::Enable { username } => client::call(
                    &client,
                    "POST",
                    &format!("/api/v1/users/{username}/enable"),
                    None,
                )?,
            };
            let ok = (200..300).contains(&answer.0);
            client::print(answer);
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Replay(args) => offline::replay(&args),
        Command::Rebuild { store } => offline::rebuild(&store),
        Command::Bench(args) => bench::run(&args),
        Command::Keygen(args) => signing::keygen(&args),
        Command::Sign(args) => signing::sign(&args),
        Command::Verify(args) => signing::verify(&args),
        Command::Rekey(args) => privacy::rekey(&args),
        Command::Purge(args) => privacy::purge(&args),
        Command::Audit(args) => privacy::audit_command(&args),
        Command::Healthcheck { server } => client::healthcheck(&server),
    }
}

/// Hold `DATA/onewindow.lock` for as long as the returned file lives, so that two processes
/// never write the same store (a second `serve`, or a `rebuild` while a server runs). The lock is
/// released by the operating system when the process ends, even after `kill -9`.
pub fn lock_data_dir(data: &std::path::Path) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(data)
        .with_context(|| format!("creating data directory {}", data.display()))?;
    let path = data.join("onewindow.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another onewindow process is using {} (stop it first)",
            data.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => Err(e).context("locking the data directory"),
    }
}

/// Configuration shared by `serve` and `demo`.
pub fn serve_config(
    store: &StoreArgs,
    listen: SocketAddr,
) -> anyhow::Result<server::app::ServeConfig> {
    std::fs::create_dir_all(&store.data)
        .with_context(|| format!("creating data directory {}", store.data.display()))?;
    let buyer_secret = offline::buyer_secret(&store.data)?;
    Ok(server::app::ServeConfig {
        listen,
        store: store.target(),
        data_dir: store.data.clone(),
        pipeline: server::pipeline::PipelineConfig {
            buyer_secret,
            ..Default::default()
        },
        limits: ceb::Limits::default(),
        data_key_file: store.data_key_file.clone(),
        guard: server::guard::GuardConfig::default(),
        portal: server::portal::PortalConfig::default(),
    })
}

async fn serve(
    store: StoreArgs,
    listen: SocketAddr,
    guard: server::guard::GuardConfig,
    portal: server::portal::PortalConfig,
) -> anyhow::Result<()> {
    let _lock = lock_data_dir(&store.data)?;
    let mut config = serve_config(&store, listen)?;
    config.guard = guard;
    config.portal = portal;
    let running = server::app::start(config).await?;
    eprintln!(
        "onewindow: serving on http://{} (store: {}); portal at /, API description at /openapi.json",
        running.addr,
        running.store.backend()
    );
    if running.admin_token.is_some() {
        eprintln!(
            "onewindow: created the administrator credential; it is in {}",
            store.data.join("admin-token").display()
        );
    }
    shutdown_signal().await;
    eprintln!("onewindow: stopping (committing what is in flight)");
    running.stop().await;
    Ok(())
}

/// Ctrl-C or SIGTERM: stop accepting, let the writer commit what it holds, exit 0.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
