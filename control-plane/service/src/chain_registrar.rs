//! The [`ChainRegistration`] the `control-plane` binary runs when it is given a chain: approved
//! boxes go to a [`control_plane_chain::Registrar`] (journal before send, nonces, fee bumps,
//! confirmations, RPC failover), revoked ones are deregistered through the same journal.
//!
//! The trait's `status` is synchronous, so each box's [`ChainStatus`] is kept in a cache: filled
//! from the journal at start, and refreshed by every submission and by the poller, which follows
//! in-flight transactions every [`CHAIN_POLL_EVERY_MS`].

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use alloy_primitives::{Address, B256};
use control_plane_chain::{
    BoxError, BoxOperation, BoxRecord, BoxState, BoxStatus, ChainError, JournalError, NodeId,
    OperatorKey, RedbJournal, Registrar, RegistrarConfig,
};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use url::Url;

use crate::chain::{ChainBox, ChainHookError, ChainRegistration, ChainStatus};
use crate::limits::{CHAIN_POLL_EVERY_MS, CHAIN_RETRY_EVERY_MS};

/// Name of the registration journal inside the data folder.
pub const CHAIN_JOURNAL_FILE: &str = "chain-journal.redb";

/// Where and as whom to register boxes.
#[derive(Debug, Clone)]
pub struct ChainSettings {
    /// JSON-RPC endpoints of one chain, in failover order.
    pub rpc_urls: Vec<Url>,
    /// The NodeRegistry contract.
    pub registry: Address,
    /// Confirmations before a box counts as registered.
    pub confirmations: u64,
    /// The operator account that signs.
    pub key: OperatorKey,
}

/// Why chain registration could not start.
#[derive(Debug, thiserror::Error)]
pub enum ChainSetupError {
    /// The journal file could not be opened.
    #[error("opening the chain registration journal {path}: {source}")]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// What failed.
        source: JournalError,
    },
    /// The chain could not be reached, or the contract is not there.
    #[error("chain registration (--chain-rpc {rpc}, --registry {registry}): {source}")]
    Connect {
        /// The endpoints tried.
        rpc: String,
        /// The configured contract.
        registry: Address,
        /// What failed.
        source: ChainError,
    },
}

/// What the background tasks share.
#[derive(Default)]
struct Cache {
    /// Each box's latest known status.
    statuses: HashMap<NodeId, ChainStatus>,
    /// Boxes whose registration is being handed to the registrar (not journaled yet).
    registering: HashSet<NodeId>,
    /// Boxes revoked and not yet deregistered (or known to need none).
    deregistering: HashSet<NodeId>,
}

struct Shared {
    registrar: Registrar,
    cache: Mutex<Cache>,
}

impl Shared {
    fn cache(&self) -> MutexGuard<'_, Cache> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record(&self, status: &BoxStatus) {
        self.cache()
            .statuses
            .insert(status.node_id, to_chain_status(status));
    }

    fn note(&self, node_id: NodeId, status: ChainStatus) {
        self.cache().statuses.insert(node_id, status);
    }
}

/// Registers approved boxes with a [`Registrar`]; see the module documentation.
pub struct ChainRegistrar {
    shared: Arc<Shared>,
    runtime: Handle,
    poller: JoinHandle<()>,
}

impl std::fmt::Debug for ChainRegistrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainRegistrar")
            .field("registrar", &self.shared.registrar)
            .finish_non_exhaustive()
    }
}

impl Drop for ChainRegistrar {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

/// The operator-facing status of a journaled operation.
fn to_chain_status(status: &BoxStatus) -> ChainStatus {
    let last_error = status.last_error.clone();
    let deregister = status.operation == "deregister";
    match (&status.state, deregister) {
        (BoxState::Failed { reason }, _) => ChainStatus::Failed {
            error: format!("{} failed: {reason}", status.operation),
        },
        (BoxState::Pending, false) => ChainStatus::Queued { last_error },
        (BoxState::Submitted { tx }, false) => ChainStatus::Submitted {
            tx_hash: tx.to_string(),
            last_error,
        },
        (BoxState::Confirmed { block }, false) => ChainStatus::Registered { block: *block },
        (BoxState::Pending, true) => ChainStatus::Deregistering {
            tx_hash: None,
            last_error,
        },
        (BoxState::Submitted { tx }, true) => ChainStatus::Deregistering {
            tx_hash: Some(tx.to_string()),
            last_error,
        },
        (BoxState::Confirmed { block }, true) => ChainStatus::Deregistered { block: *block },
    }
}

/// The registry's node id for a box: its 64-hex-digit node id as 32 bytes.
fn node_id_of(node_id: &str) -> Result<NodeId, ChainHookError> {
    B256::from_str(node_id)
        .map_err(|_| ChainHookError(format!("node id {node_id:?} is not 64 hex digits")))
}

impl ChainRegistrar {
    /// Opens the journal at `journal`, connects to the chain (checking that the registry is
    /// deployed at its address), loads every journaled box's status and starts the poller on the
    /// current tokio runtime.
    pub async fn connect(
        settings: ChainSettings,
        journal: &Path,
    ) -> Result<Arc<Self>, ChainSetupError> {
        let path = journal.to_owned();
        let opened = tokio::task::spawn_blocking(move || RedbJournal::open(&path))
            .await
            .map_err(|e| JournalError::Store(e.to_string()))
            .and_then(|opened| opened)
            .map_err(|source| ChainSetupError::Journal {
                path: journal.to_owned(),
                source,
            })?;
        let rpc = settings
            .rpc_urls
            .iter()
            .map(Url::as_str)
            .collect::<Vec<_>>()
            .join(",");
        let connect_error = |source| ChainSetupError::Connect {
            rpc: rpc.clone(),
            registry: settings.registry,
            source,
        };
        let mut config = RegistrarConfig::new(settings.rpc_urls.clone(), settings.registry);
        config.confirmations = settings.confirmations;
        let registrar = Registrar::connect(config, &settings.key, Arc::new(opened))
            .await
            .map_err(connect_error)?;
        let journaled = registrar.statuses().await.map_err(connect_error)?;
        tracing::info!(
            operator = %registrar.operator(),
            chain_id = registrar.chain_id(),
            registry = %settings.registry,
            journaled = journaled.len(),
            "chain registration connected"
        );
        let shared = Arc::new(Shared {
            registrar,
            cache: Mutex::new(Cache::default()),
        });
        for status in &journaled {
            shared.record(status);
        }
        let poller = tokio::spawn(poll_forever(Arc::clone(&shared)));
        Ok(Arc::new(Self {
            shared,
            runtime: Handle::current(),
            poller,
        }))
    }

    /// The operator account that signs.
    pub fn operator(&self) -> Address {
        self.shared.registrar.operator()
    }
}

/// Follows in-flight transactions and refreshes the cache, until aborted.
async fn poll_forever(shared: Arc<Shared>) {
    let mut ticker = tokio::time::interval(Duration::from_millis(CHAIN_POLL_EVERY_MS));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match shared.registrar.poll().await {
            Ok(statuses) => statuses.iter().for_each(|status| shared.record(status)),
            Err(error) => tracing::warn!(%error, "chain registration poll failed"),
        }
    }
}

/// What to do with an operation the registrar did not take.
enum Next {
    /// Try again after [`CHAIN_RETRY_EVERY_MS`] (chain unreachable, another operation in flight).
    Retry,
    /// Give up: the failure is recorded on the box.
    Stop,
}

/// Submits `operation`, and records the outcome on the box.
async fn submit(shared: &Shared, operation: BoxOperation) -> Next {
    let node_id = operation.node_id();
    let kind = operation.kind();
    match shared.registrar.submit(operation).await {
        Ok(status) => {
            shared.record(&status);
            Next::Stop
        }
        Err(BoxError::Chain { source, .. }) => {
            tracing::warn!(%node_id, operation = kind, error = %source, "chain unreachable; will retry");
            let last_error = Some(source.to_string());
            let waiting = if kind == "deregister" {
                ChainStatus::Deregistering {
                    tx_hash: None,
                    last_error,
                }
            } else {
                ChainStatus::Queued { last_error }
            };
            shared.note(node_id, waiting);
            Next::Retry
        }
        Err(BoxError::Busy { .. }) => Next::Retry,
        Err(refused) => {
            // Reverts and refusals are journaled as failed; a record the contract would refuse
            // is not, so its error is noted here.
            tracing::warn!(%node_id, operation = kind, error = %refused, "chain registration failed");
            match shared.registrar.status(node_id).await {
                Ok(Some(status)) if status.operation == kind => shared.record(&status),
                _ => shared.note(
                    node_id,
                    ChainStatus::Failed {
                        error: refused.to_string(),
                    },
                ),
            }
            Next::Stop
        }
    }
}

async fn retry_pause() {
    tokio::time::sleep(Duration::from_millis(CHAIN_RETRY_EVERY_MS)).await;
}

/// Registers the box unless its registration is journaled already (in flight or done: then the
/// journal's record stands, even if the box's capacity or zone changed since).
async fn register(shared: Arc<Shared>, record: BoxRecord) {
    let node_id = record.node_id;
    loop {
        if shared.cache().deregistering.contains(&node_id) {
            break;
        }
        let journaled = match shared.registrar.status(node_id).await {
            Ok(journaled) => journaled,
            Err(error) => {
                shared.note(
                    node_id,
                    ChainStatus::Queued {
                        last_error: Some(error.to_string()),
                    },
                );
                retry_pause().await;
                continue;
            }
        };
        if let Some(status) = journaled
            .filter(|s| s.operation == "register" && !matches!(s.state, BoxState::Failed { .. }))
        {
            shared.record(&status);
            break;
        }
        match submit(&shared, BoxOperation::Register(record.clone())).await {
            Next::Stop => break,
            Next::Retry => retry_pause().await,
        }
    }
    shared.cache().registering.remove(&node_id);
}

/// Deregisters the box once its registration has settled; nothing when it was never registered.
async fn deregister(shared: Arc<Shared>, node_id: NodeId) {
    loop {
        let journaled = match shared.registrar.status(node_id).await {
            Ok(journaled) => journaled,
            Err(error) => {
                tracing::warn!(%node_id, %error, "reading the chain journal; will retry");
                retry_pause().await;
                continue;
            }
        };
        let settled =
            |state: &BoxState| !matches!(state, BoxState::Pending | BoxState::Submitted { .. });
        let go = match journaled {
            // Never journaled: nothing on chain, unless a registration is still being handed over.
            None if shared.cache().registering.contains(&node_id) => None,
            None => {
                shared.note(node_id, ChainStatus::NotSubmitted);
                Some(false)
            }
            Some(status) if status.operation == "deregister" => {
                shared.record(&status);
                Some(false)
            }
            Some(status) if !settled(&status.state) => None,
            // A registration that failed left nothing to take off.
            Some(status) if matches!(status.state, BoxState::Failed { .. }) => Some(false),
            Some(_) => Some(true),
        };
        match go {
            None => retry_pause().await,
            Some(false) => break,
            Some(true) => match submit(&shared, BoxOperation::Deregister(node_id)).await {
                Next::Stop => break,
                Next::Retry => retry_pause().await,
            },
        }
    }
    shared.cache().deregistering.remove(&node_id);
}

impl ChainRegistration for ChainRegistrar {
    fn register(&self, registration: ChainBox) -> Result<(), ChainHookError> {
        let node_id = node_id_of(&registration.node_id)?;
        let record = BoxRecord {
            node_id,
            public_key: registration.public_key.to_vec().into(),
            endpoint: registration.endpoint,
            capacity: registration.capacity_bytes,
            zone: registration.zone.unwrap_or_default(),
        };
        {
            let mut cache = self.shared.cache();
            if !cache.registering.insert(node_id) {
                return Ok(());
            }
            cache
                .statuses
                .entry(node_id)
                .or_insert(ChainStatus::Queued { last_error: None });
        }
        self.runtime
            .spawn(register(Arc::clone(&self.shared), record));
        Ok(())
    }

    fn deregister(&self, node_id: &str) -> Result<(), ChainHookError> {
        let node_id = node_id_of(node_id)?;
        if !self.shared.cache().deregistering.insert(node_id) {
            return Ok(());
        }
        self.runtime
            .spawn(deregister(Arc::clone(&self.shared), node_id));
        Ok(())
    }

    fn status(&self, node_id: &str) -> ChainStatus {
        let Ok(node_id) = node_id_of(node_id) else {
            return ChainStatus::NotSubmitted;
        };
        self.shared
            .cache()
            .statuses
            .get(&node_id)
            .cloned()
            .unwrap_or(ChainStatus::NotSubmitted)
    }
}
