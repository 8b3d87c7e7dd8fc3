//! Starting and stopping the service: open the store, restore the engine, start the writer,
//! make sure an administrator credential exists, and serve HTTP until told to stop. On shutdown
//! the listener stops accepting, in-flight requests finish, and the writer commits what it holds.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use domain::clearance::{Decider, Supervised};
use store::Store;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::{self, AppState};
use crate::auth;
use crate::guard::{self, Guard, GuardConfig};
use crate::pipeline::{Pipeline, PipelineConfig};

#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    /// `postgres://…`, `sqlite:PATH`, or a path (see `store::open`).
    pub store: String,
    /// Where the embedded store and the bootstrap admin token live.
    pub data_dir: PathBuf,
    pub pipeline: PipelineConfig,
    pub limits: ceb::Limits,
    /// The data key ring (see `keys`): this file, else `ONEWINDOW_DATA_KEYS`, else
    /// `DATA_DIR/data-key`, created on the first start of a store without data.
    pub data_key_file: Option<PathBuf>,
    /// Rate limits, timeouts and connection cap at the door (`guard.rs`).
    pub guard: GuardConfig,
    /// The web portal: cookies, session lifetimes, public look-up limits (`portal/`).
    pub portal: crate::portal::PortalConfig,
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    /// The administrator token, when this start created it (first start of a fresh store).
    pub admin_token: Option<String>,
    pub store: Arc<dyn Store>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Running {
    /// Stop accepting, finish requests, commit what the writer holds.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.task.await;
    }

    /// Wait until the server stops by itself (it only does on a signal).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// The wall clock in Unix milliseconds: the one place the shell reads time (the engine gets it
/// as an argument, recorded in the journal).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Make sure an administrator credential exists; if this call creates it, write the token to
/// `DATA_DIR/admin-token` (owner-readable only) and return it.
pub fn bootstrap_admin(
    store: &dyn Store,
    data_dir: &std::path::Path,
) -> anyhow::Result<Option<String>> {
    let live = store
        .credentials_of(auth::ADMIN)?
        .into_iter()
        .any(|c| c.revoked_at_ms.is_none());
    if live {
        return Ok(None);
    }
    let issued = auth::issue(auth::ADMIN, now_ms()).map_err(|e| anyhow::anyhow!("{e}"))?;
    store.put_credential(&issued.row)?;
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join("admin-token");
    write_private(&path, &issued.token)?;
    Ok(Some(issued.token))
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")
}

/// Open everything and start serving on `config.listen`.
pub async fn start(config: ServeConfig) -> anyhow::Result<Running> {
    start_with(config, Arc::new(Supervised)).await
}

pub async fn start_with(
    config: ServeConfig,
    decider: Arc<dyn Decider + Send + Sync>,
) -> anyhow::Result<Running> {
    let target = config.store.clone();
    let dir = config.data_dir.clone();
    let key_file = config.data_key_file.clone();
    let (store, _keys, _source) = tokio::task::spawn_blocking(move || {
        crate::keys::open_store(&target, &dir, key_file.as_deref(), true)
    })
    .await??;
    // Become the store's one writer before writing anything (the administrator credential): a
    // second server on the same PostgreSQL store stops here, saying why.
    {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.claim_writer())
            .await?
            .map_err(crate::pipeline::PipelineError::Claim)?;
    }
    let admin_token = {
        let store = store.clone();
        let dir = config.data_dir.clone();
        tokio::task::spawn_blocking(move || bootstrap_admin(store.as_ref(), &dir)).await??
    };
    let pipeline = {
        let store = store.clone();
        let pipeline_config = config.pipeline.clone();
        tokio::task::spawn_blocking(move || Pipeline::start(store, pipeline_config, decider))
            .await??
    };
    let certificates = {
        let store = store.clone();
        Arc::new(
            tokio::task::spawn_blocking(move || {
                crate::signatures::Certificates::load(store.as_ref())
            })
            .await??,
        )
    };
    let reload = reload_certificates(store.clone(), certificates.clone());
    let state = AppState {
        store: store.clone(),
        ingest: pipeline.ingest.clone(),
        limits: Arc::new(config.limits.clone()),
        buyer_secret: Arc::new(config.pipeline.buyer_secret.clone()),
        settings: Arc::new(std::sync::RwLock::new(pipeline.settings.clone())),
        portal: Arc::new(crate::portal::Portal::new(config.portal.clone())),
        certificates,
    };
    let guard_config = config.guard.clone();
    let app = api::router(state)
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            std::time::Duration::from_secs(30),
        ));
    let app = guard::wrap(app, Arc::new(Guard::new(guard_config.clone())));
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let stopped = async move {
            let _ = stop_rx.await;
        };
        crate::connections::serve(
            listener,
            app,
            &guard_config,
            stopped,
            std::time::Duration::from_secs(30),
        )
        .await;
        reload.abort();
        // Every AppState clone is gone with the router: the writer drains and stops.
        let _ = tokio::task::spawn_blocking(move || pipeline.shutdown()).await;
    });
    Ok(Running {
        addr,
        admin_token,
        store,
        stop: Some(stop_tx),
        task,
    })
}

/// How often the certificate cache is re-read from the store in full: this node refreshes it at
/// once when it files or revokes a certificate; the periodic reload brings in what other nodes
/// (sharing a PostgreSQL store) filed.
const CERTIFICATE_RELOAD: std::time::Duration = std::time::Duration::from_secs(30);

fn reload_certificates(
    store: Arc<dyn Store>,
    cache: Arc<crate::signatures::Certificates>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CERTIFICATE_RELOAD);
        tick.tick().await;
        loop {
            tick.tick().await;
            let (store, cache) = (store.clone(), cache.clone());
            let reloaded = tokio::task::spawn_blocking(move || cache.reload(store.as_ref())).await;
            if let Ok(Err(error)) = reloaded {
                tracing::warn!(%error, "certificate cache not reloaded; keeping the last one");
            }
        }
    })
}

/// The key of the keyed hash that identifies buyers. It must stay the same for the life of the
/// data (quotas are looked up by it): taken from `ONEWINDOW_BUYER_SECRET` (hex) if set, else read
/// from `DATA_DIR/buyer-secret`, created with 32 random bytes on first start.
pub fn load_or_create_secret(data_dir: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    if let Ok(hex_text) = std::env::var("ONEWINDOW_BUYER_SECRET") {
        return hex::decode(hex_text.trim())
            .map_err(|e| anyhow::anyhow!("ONEWINDOW_BUYER_SECRET is not hex: {e}"));
    }
    let path = data_dir.join("buyer-secret");
    match std::fs::read_to_string(&path) {
        Ok(text) => hex::decode(text.trim())
            .map_err(|e| anyhow::anyhow!("{} is not hex: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut secret = vec![0u8; 32];
            getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("{e}"))?;
            std::fs::create_dir_all(data_dir)?;
            write_private(&path, &hex::encode(&secret))?;
            Ok(secret)
        }
        Err(e) => Err(e.into()),
    }
}
