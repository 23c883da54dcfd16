//! Starts the service: opens the store and the CA in the data folder, creates the first admin
//! account on first start, binds the public and the agent listeners and serves both until
//! stopped.

use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::agent_listener::{self, ListenerError};
use crate::api::boxes::resume_chain_work;
use crate::api::{agent_router, now_ms, public_router, AppState, ServiceConfig};
use crate::ca::{CaError, CertificateAuthority};
use crate::chain::ChainRegistration;
use crate::credentials::{hash_password, new_secret, PasswordError};
use crate::heartbeat_buffer::HeartbeatBuffer;
use crate::limits::HEARTBEAT_FLUSH_MS;
use crate::roles::Role;
use crate::store::{RedbStore, Store, StoreError, UserRecord};

/// Name of the store file inside the data folder.
pub const STORE_FILE: &str = "control-plane.redb";
/// Where a generated first admin password is written, inside the data folder.
pub const GENERATED_PASSWORD_FILE: &str = "admin-password";

/// How to run the service.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Data folder: store, CA, generated admin password.
    pub data: PathBuf,
    /// Address of the public listener (admin API and enrollment).
    pub listen: SocketAddr,
    /// Address of the mTLS agent listener.
    pub agent_listen: SocketAddr,
    /// URL agents are told to reach the agent listener at; `None`: `https://` and the bound
    /// address (refused when that address is unspecified, like 0.0.0.0).
    pub agent_url: Option<String>,
    /// More DNS names or IP addresses for the agent listener's certificate.
    pub agent_names: Vec<String>,
    /// Approve every enrolled box at once.
    pub auto_approve: bool,
    /// Milliseconds between heartbeats asked of agents.
    pub heartbeat_every_ms: u64,
    /// Name of the first admin account, created when the store has no account.
    pub admin_user: String,
    /// Its password; `None`: a random one, written to [`GENERATED_PASSWORD_FILE`].
    pub admin_password: Option<String>,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data folder could not be created or written.
    #[error("{path}: {source}")]
    Io {
        /// The path at fault.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The store could not be opened.
    #[error("opening the store: {0}")]
    Store(#[from] StoreError),
    /// The CA could not be loaded or created.
    #[error("the CA: {0}")]
    Ca(#[from] CaError),
    /// The agent listener's TLS could not be set up.
    #[error("the agent listener: {0}")]
    Listener(#[from] ListenerError),
    /// The first admin password is unusable.
    #[error("the first admin account: {0}")]
    Password(#[from] PasswordError),
    /// A listener could not be bound.
    #[error("binding {flag} {addr}: {source}")]
    Bind {
        /// The flag that named the address.
        flag: &'static str,
        /// The address.
        addr: SocketAddr,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A flag value is not usable.
    #[error("{0}")]
    Config(String),
}

/// A running service.
pub struct Running {
    /// Bound address of the public listener.
    pub public_addr: SocketAddr,
    /// Bound address of the agent listener.
    pub agent_addr: SocketAddr,
    /// URL agents are given for the agent listener.
    pub agent_url: String,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    state: Arc<AppState>,
}

impl Running {
    /// Stops accepting, lets in-flight public requests finish, and returns when both listeners
    /// are closed.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        flush(&self.state).await;
    }
}

/// Writes the buffered heartbeats; a failure is logged (they stay buffered for the next try).
async fn flush(state: &Arc<AppState>) {
    let worker = Arc::clone(state);
    let written =
        tokio::task::spawn_blocking(move || worker.heartbeats.flush(worker.store.as_ref())).await;
    match written {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => tracing::error!(%err, "writing heartbeats failed"),
        Err(err) => tracing::error!(%err, "the heartbeat writer task failed"),
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StartError + '_ {
    move |source| StartError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Creates the first admin account when the store has none.
fn bootstrap_admin(store: &dyn Store, cfg: &ServeConfig) -> Result<(), StartError> {
    if !store.list_users()?.is_empty() {
        if cfg.admin_password.is_some() {
            tracing::info!("accounts exist already: the given first admin password is not used");
        }
        return Ok(());
    }
    let (password, generated) = match &cfg.admin_password {
        Some(password) => (password.clone(), false),
        None => (new_secret(), true),
    };
    let password_hash = hash_password(&password)?;
    if generated {
        let path = cfg.data.join(GENERATED_PASSWORD_FILE);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_error(&path))?;
        std::io::Write::write_all(&mut file, password.as_bytes()).map_err(io_error(&path))?;
        tracing::warn!(
            user = %cfg.admin_user,
            password_file = %path.display(),
            "created the first admin account with a random password; change it or delete the file"
        );
    }
    store.create_user(&UserRecord {
        username: cfg.admin_user.clone(),
        password_hash,
        role: Role::Admin,
        created_at_ms: now_ms(),
    })?;
    store.append_audit(
        now_ms(),
        "system",
        "user.create",
        &cfg.admin_user,
        serde_json::json!({ "role": Role::Admin, "bootstrap": true }),
    )?;
    Ok(())
}

/// The host part of an `https://host:port/...` URL, brackets removed from IPv6 addresses.
fn url_host(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let authority = rest.split('/').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.split(':').next()?,
    };
    (!host.is_empty()).then(|| host.to_owned())
}

/// Opens everything in `cfg.data`, binds both listeners and starts serving in the background
/// on the current tokio runtime. `chain` receives approved boxes; `None` when no chain is
/// configured.
pub async fn start(
    cfg: ServeConfig,
    chain: Option<Arc<dyn ChainRegistration>>,
) -> Result<Running, StartError> {
    std::fs::create_dir_all(&cfg.data).map_err(io_error(&cfg.data))?;
    let setup = cfg.clone();
    let (store, ca) = tokio::task::spawn_blocking(move || {
        let store: Arc<dyn Store> = Arc::new(RedbStore::open(&setup.data.join(STORE_FILE))?);
        let ca = CertificateAuthority::open_or_create(&setup.data)?;
        bootstrap_admin(store.as_ref(), &setup)?;
        Ok::<_, StartError>((store, ca))
    })
    .await
    .map_err(|e| StartError::Config(format!("start-up task failed: {e}")))??;

    let public = TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| StartError::Bind {
            flag: "--listen",
            addr: cfg.listen,
            source,
        })?;
    let agent = TcpListener::bind(cfg.agent_listen)
        .await
        .map_err(|source| StartError::Bind {
            flag: "--agent-listen",
            addr: cfg.agent_listen,
            source,
        })?;
    let bound = |listener: &TcpListener, flag, addr| {
        listener
            .local_addr()
            .map_err(|source| StartError::Bind { flag, addr, source })
    };
    let public_addr = bound(&public, "--listen", cfg.listen)?;
    let agent_addr = bound(&agent, "--agent-listen", cfg.agent_listen)?;
    let agent_url = match &cfg.agent_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None if agent_addr.ip().is_unspecified() => {
            return Err(StartError::Config(format!(
                "--agent-listen {agent_addr} binds every interface: give --agent-url with the \
                 address boxes reach it at"
            )))
        }
        None => format!("https://{agent_addr}"),
    };
    let host = url_host(&agent_url).ok_or_else(|| {
        StartError::Config(format!(
            "--agent-url {agent_url:?} must look like https://HOST:PORT"
        ))
    })?;
    let mut names = cfg.agent_names.clone();
    names.extend([host, "localhost".to_owned()]);
    if !agent_addr.ip().is_unspecified() {
        names.push(agent_addr.ip().to_string());
    }
    names.sort();
    names.dedup();
    let tls = agent_listener::tls_config(&ca, &names)?;

    let state = Arc::new(AppState {
        store,
        ca,
        chain,
        heartbeats: HeartbeatBuffer::default(),
        config: ServiceConfig {
            auto_approve: cfg.auto_approve,
            heartbeat_every_ms: cfg.heartbeat_every_ms,
            agent_url: agent_url.clone(),
        },
    });
    if let Err(err) = resume_chain_work(&state).await {
        return Err(StartError::Config(format!(
            "handing approved boxes to chain registration: {err}"
        )));
    }
    let (stop, stopped) = watch::channel(false);
    let signal = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let public_app = public_router(Arc::clone(&state));
    let public_stop = signal(stopped.clone());
    let public_task = tokio::spawn(async move {
        if let Err(err) = axum::serve(public, public_app)
            .with_graceful_shutdown(public_stop)
            .await
        {
            tracing::error!(%err, "the public listener failed");
        }
    });
    let agent_task = tokio::spawn(agent_listener::serve(
        agent,
        tls,
        agent_router(Arc::clone(&state)),
        signal(stopped.clone()),
    ));
    let flusher_state = Arc::clone(&state);
    let flusher_stop = signal(stopped);
    let flusher = tokio::spawn(async move {
        tokio::pin!(flusher_stop);
        let mut tick = tokio::time::interval(Duration::from_millis(HEARTBEAT_FLUSH_MS));
        loop {
            tokio::select! {
                _ = &mut flusher_stop => return,
                _ = tick.tick() => flush(&flusher_state).await,
            }
        }
    });
    tracing::info!(%public_addr, %agent_addr, %agent_url, "control plane serving");
    Ok(Running {
        public_addr,
        agent_addr,
        agent_url,
        stop,
        tasks: vec![public_task, agent_task, flusher],
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_agent_urls() {
        assert_eq!(
            url_host("https://10.0.0.2:7443").as_deref(),
            Some("10.0.0.2")
        );
        assert_eq!(
            url_host("https://cp.example/x").as_deref(),
            Some("cp.example")
        );
        assert_eq!(url_host("https://[::1]:7443").as_deref(), Some("::1"));
        assert_eq!(url_host("http://cp:80"), None);
        assert_eq!(url_host("https://"), None);
    }
}
