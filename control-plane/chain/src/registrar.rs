//! The registrar: turns box operations into signed transactions to the NodeRegistry contract,
//! journals each one before it is sent, and follows it until it is confirmed or has failed.
//!
//! One operator account sends everything, so nonces are assigned here, one after another, under
//! one lock. A crash at any point leaves a journal entry that says what was meant and which signed
//! transaction (with which nonce) carries it; `poll` picks it up again: re-sends it if the node
//! dropped it, replaces it with higher fees if it is not mined in time, and checks the contract's
//! state when the nonce was used by something else. So a box is never registered twice.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::consensus::Transaction as _;
use alloy::eips::eip2718::Encodable2718;
use alloy::eips::BlockId;
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::sol_types::{SolCall, SolEvent};
use tokio::sync::Mutex;
use url::Url;

use crate::box_status::{BoxOperation, BoxState, BoxStatus, NodeId, RecordError};
use crate::contract::{NodeRegistry, RegistryRevert};
use crate::journal::{Attempt, JournalEntry, JournalError, RegistrationJournal};
use crate::limits::{
    DEFAULT_CONFIRMATIONS, DEFAULT_REPLACE_AFTER, GAS_LIMIT_HEADROOM_PERCENT, MAX_REPLACEMENTS,
    REPLACEMENT_FEE_PER_MILLE, RPC_REQUEST_TIMEOUT, SETTLE_POLL_INTERVAL,
};
use crate::operator_key::OperatorKey;
use crate::rpc_pool::{RpcFailure, RpcPool};

/// Where and how the registrar talks to the chain.
#[derive(Debug, Clone)]
pub struct RegistrarConfig {
    /// JSON-RPC endpoints of one chain, tried in this order (the one that answered last first).
    pub rpc_urls: Vec<Url>,
    /// The NodeRegistry contract.
    pub contract: Address,
    /// Blocks on top of (and including) the one holding a transaction before it counts as done.
    pub confirmations: u64,
    /// A transaction not mined this long after it was signed is replaced with bumped fees.
    pub replace_after: Duration,
    /// Longest wait for one RPC answer before the next endpoint is tried.
    pub rpc_timeout: Duration,
}

impl RegistrarConfig {
    /// A configuration with the default confirmations, replacement delay and RPC timeout.
    pub fn new(rpc_urls: Vec<Url>, contract: Address) -> Self {
        Self {
            rpc_urls,
            contract,
            confirmations: DEFAULT_CONFIRMATIONS,
            replace_after: DEFAULT_REPLACE_AFTER,
            rpc_timeout: RPC_REQUEST_TIMEOUT,
        }
    }
}

/// Why the registrar as a whole could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The configuration names no RPC endpoint.
    #[error("no chain RPC endpoint configured")]
    NoEndpoints,
    /// No endpoint answered, or one refused a call.
    #[error(transparent)]
    Rpc(#[from] RpcFailure),
    /// The contract address holds no code on this chain.
    #[error("no contract deployed at {address} on chain {chain_id}")]
    NoContract {
        /// The configured address.
        address: Address,
        /// The chain the endpoints serve.
        chain_id: u64,
    },
    /// The journal failed.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A transaction could not be built or signed.
    #[error("cannot sign the transaction: {0}")]
    Signing(String),
}

/// Why an operation on one box did not go through.
#[derive(Debug, thiserror::Error)]
pub enum BoxError {
    /// The record breaks the contract's rules; nothing was sent.
    #[error("box {node_id}: {source}")]
    InvalidRecord {
        /// The box.
        node_id: NodeId,
        /// What is wrong with it.
        source: RecordError,
    },
    /// The contract refused the operation (found by simulation, or after it was mined).
    #[error("box {node_id}: the registry refused to {operation}: {revert}")]
    Reverted {
        /// The box.
        node_id: NodeId,
        /// "register", "update" or "deregister".
        operation: &'static str,
        /// The contract's reason.
        revert: RegistryRevert,
    },
    /// The node refused the signed transaction (for example: the operator cannot pay the fee).
    #[error("box {node_id}: the chain node refused the transaction: {message}")]
    Refused {
        /// The box.
        node_id: NodeId,
        /// The node's words.
        message: String,
    },
    /// Another operation on the box is still in flight.
    #[error("box {node_id}: a {in_flight} is still in flight; wait until it settles before a {requested}")]
    Busy {
        /// The box.
        node_id: NodeId,
        /// The operation in flight.
        in_flight: String,
        /// The operation asked for.
        requested: &'static str,
    },
    /// The chain or the journal could not be reached.
    #[error("box {node_id}: {source}")]
    Chain {
        /// The box.
        node_id: NodeId,
        /// What failed.
        source: ChainError,
    },
}

/// Registers, updates and deregisters boxes for one operator account.
pub struct Registrar {
    rpc: RpcPool,
    contract: Address,
    operator: Address,
    wallet: EthereumWallet,
    chain_id: u64,
    confirmations: u64,
    replace_after: Duration,
    journal: Arc<dyn RegistrationJournal>,
    /// The next nonce to assign; `None` until read from the chain and the journal. Held while
    /// submitting or polling, so nonces and journal entries change in one order.
    next_nonce: Mutex<Option<u64>>,
}

impl std::fmt::Debug for Registrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registrar")
            .field("contract", &self.contract)
            .field("operator", &self.operator)
            .field("chain_id", &self.chain_id)
            .field("confirmations", &self.confirmations)
            .finish_non_exhaustive()
    }
}

/// How sending a signed transaction ended.
enum Sent {
    /// The node accepted it (or already had it).
    Accepted,
    /// The node refused it for good.
    Refused(String),
    /// The node refused it because a transaction with the same nonce pays more, or the fees
    /// are below what it accepts now.
    Underpriced(String),
    /// No endpoint answered.
    Unreachable(RpcFailure),
}

fn now_ms() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

fn calldata(operation: &BoxOperation) -> Bytes {
    let encoded = match operation {
        BoxOperation::Register(r) => NodeRegistry::registerCall {
            nodeId: r.node_id,
            publicKey: r.public_key.clone(),
            endpoint: r.endpoint.clone(),
            capacity: U256::from(r.capacity),
            zone: r.zone.clone(),
        }
        .abi_encode(),
        BoxOperation::Update(r) => NodeRegistry::updateCall {
            nodeId: r.node_id,
            publicKey: r.public_key.clone(),
            endpoint: r.endpoint.clone(),
            capacity: U256::from(r.capacity),
            zone: r.zone.clone(),
        }
        .abi_encode(),
        BoxOperation::Deregister(node_id) => {
            NodeRegistry::deregisterCall { nodeId: *node_id }.abi_encode()
        }
    };
    encoded.into()
}

/// Fee caps raised by `REPLACEMENT_FEE_PER_MILLE`, rounded up, and never below the node's
/// current estimate.
fn bumped(old: u128, estimate: u128) -> u128 {
    let rise = REPLACEMENT_FEE_PER_MILLE - 1000;
    // old * rise / 1000, rounded up, without overflowing for any u128.
    let extra = (old / 1000) * rise + ((old % 1000) * rise).div_ceil(1000);
    let raised = old.saturating_add(extra.max(1));
    raised.max(estimate)
}

fn is_already_known(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("already known")
        || message.contains("known transaction")
        || message.contains("already imported")
}

fn is_underpriced(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("underpriced")
        || message.contains("fee too low")
        || message.contains("max fee per gas less than block base fee")
}

impl Registrar {
    /// Connects to the chain (checking that the contract exists there) with the operator's key
    /// and the journal that keeps progress across restarts. In-flight entries in the journal are
    /// picked up by the next `poll`.
    pub async fn connect(
        config: RegistrarConfig,
        key: &OperatorKey,
        journal: Arc<dyn RegistrationJournal>,
    ) -> Result<Self, ChainError> {
        if config.rpc_urls.is_empty() {
            return Err(ChainError::NoEndpoints);
        }
        let rpc = RpcPool::new(&config.rpc_urls, config.rpc_timeout);
        // Picks an endpoint that answers and is not behind the others before anything is read.
        rpc.head().await?;
        let chain_id = rpc
            .call("eth_chainId", |p| async move { p.get_chain_id().await })
            .await?;
        let contract = config.contract;
        let code = rpc
            .call(
                "eth_getCode",
                |p| async move { p.get_code_at(contract).await },
            )
            .await?;
        if code.is_empty() {
            return Err(ChainError::NoContract {
                address: contract,
                chain_id,
            });
        }
        Ok(Self {
            rpc,
            contract,
            operator: key.address(),
            wallet: key.wallet(),
            chain_id,
            confirmations: config.confirmations.max(1),
            replace_after: config.replace_after,
            journal,
            next_nonce: Mutex::new(None),
        })
    }

    /// The operator account that signs.
    pub fn operator(&self) -> Address {
        self.operator
    }

    /// The chain id the endpoints serve.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// Starts an operation on a box: checks it against the contract (simulation), signs it with
    /// the next nonce, journals it, and sends it. Returns the box's status (usually `Submitted`);
    /// `poll` follows it from there.
    ///
    /// Idempotent: the same operation again returns the status of the first one; an operation
    /// already in effect on chain (found after a restart, or done elsewhere) is `Confirmed`
    /// without a transaction. A revert is an error here and `Failed` in the box's status.
    pub async fn submit(&self, operation: BoxOperation) -> Result<BoxStatus, BoxError> {
        let node_id = operation.node_id();
        let chain_err = |source: ChainError| BoxError::Chain { node_id, source };
        if let BoxOperation::Register(record) | BoxOperation::Update(record) = &operation {
            record
                .validate()
                .map_err(|source| BoxError::InvalidRecord { node_id, source })?;
        }
        // Checked again under the lock below: two callers may submit the same box at once.
        if let Some(status) = self.journaled(&operation).await? {
            return Ok(status);
        }

        if let Some(block) = self.in_effect_at(&operation).await.map_err(chain_err)? {
            let _order = self.next_nonce.lock().await;
            if let Some(status) = self.journaled(&operation).await? {
                return Ok(status);
            }
            let entry = JournalEntry {
                operation,
                nonce: None,
                attempts: Vec::new(),
                state: BoxState::Confirmed { block },
                last_error: None,
            };
            self.journal_put(&entry)
                .await
                .map_err(|e| chain_err(e.into()))?;
            tracing::info!(%node_id, block, "already in effect on chain; nothing sent");
            return Ok(entry.status());
        }

        let input = calldata(&operation);
        let request = TransactionRequest::default()
            .with_from(self.operator)
            .with_to(self.contract)
            .with_input(input.clone());
        let simulated = self
            .rpc
            .call("eth_estimateGas", |p| {
                let request = request.clone();
                async move { p.estimate_gas(request).await }
            })
            .await;
        let gas = match simulated {
            Ok(gas) => gas,
            Err(RpcFailure::Refused { payload, .. }) => {
                let _order = self.next_nonce.lock().await;
                if let Some(status) = self.journaled(&operation).await? {
                    return Ok(status);
                }
                let revert = payload
                    .as_revert_data()
                    .map(|data: Bytes| RegistryRevert::decode(&data))
                    .unwrap_or_else(|| RegistryRevert::Unknown(Bytes::new()));
                if matches!(revert, RegistryRevert::Unknown(_))
                    && !payload.message.to_ascii_lowercase().contains("revert")
                {
                    return Err(self
                        .record_refusal(operation, payload.message.to_string())
                        .await);
                }
                return Err(self.record_revert(operation, revert).await);
            }
            Err(unreachable) => return Err(chain_err(unreachable.into())),
        };
        let fees = self
            .rpc
            .call("eth_feeHistory", |p| async move {
                p.estimate_eip1559_fees().await
            })
            .await
            .map_err(|e| chain_err(e.into()))?;

        let mut next_nonce = self.next_nonce.lock().await;
        if let Some(status) = self.journaled(&operation).await? {
            return Ok(status);
        }
        let nonce = match *next_nonce {
            Some(nonce) => nonce,
            None => self.first_free_nonce().await.map_err(chain_err)?,
        };
        let gas_limit = gas.saturating_mul(GAS_LIMIT_HEADROOM_PERCENT) / 100;
        let attempt = self
            .sign(
                &input,
                nonce,
                gas_limit,
                fees.max_fee_per_gas,
                fees.max_priority_fee_per_gas,
            )
            .await
            .map_err(chain_err)?;
        let mut entry = JournalEntry {
            operation,
            nonce: Some(nonce),
            attempts: vec![attempt.clone()],
            state: BoxState::Pending,
            last_error: None,
        };
        // Journaled before it is sent: after a crash, the same signed transaction is re-sent.
        self.journal_put(&entry)
            .await
            .map_err(|e| chain_err(e.into()))?;
        *next_nonce = Some(nonce + 1);

        match self.send(&attempt.raw).await {
            Sent::Accepted => {
                entry.state = BoxState::Submitted { tx: attempt.hash };
                tracing::info!(%node_id, nonce, tx = %attempt.hash, operation = entry.operation.kind(), "submitted");
            }
            Sent::Unreachable(failure) => {
                entry.last_error = Some(failure.to_string());
                tracing::warn!(%node_id, nonce, error = %failure, "not sent yet; will retry");
            }
            Sent::Refused(message) | Sent::Underpriced(message) => {
                // The node did not take the nonce; read it afresh before the next submission.
                *next_nonce = None;
                entry.state = BoxState::Failed {
                    reason: format!("the chain node refused the transaction: {message}"),
                };
                self.journal_put(&entry)
                    .await
                    .map_err(|e| chain_err(e.into()))?;
                return Err(BoxError::Refused { node_id, message });
            }
        }
        self.journal_put(&entry)
            .await
            .map_err(|e| chain_err(e.into()))?;
        Ok(entry.status())
    }

    /// Follows every in-flight box one step: records inclusion and confirmations, decodes
    /// reverts, re-sends transactions the node dropped (same nonce, same signature), replaces
    /// those not mined within `replace_after` (fees bumped by 12.5% or more), and notes on each
    /// box when the RPC is unreachable or lagging. Returns the in-flight boxes' statuses.
    pub async fn poll(&self) -> Result<Vec<BoxStatus>, ChainError> {
        let mut next_nonce = self.next_nonce.lock().await;
        let mut entries: Vec<JournalEntry> = self
            .journal_entries()
            .await?
            .into_iter()
            .filter(JournalEntry::in_flight)
            .collect();
        entries.sort_by_key(|e| e.nonce);
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let operator = self.operator;
        let chain_view = async {
            let head = self.rpc.head().await?;
            let mined_nonce = self
                .rpc
                .call("eth_getTransactionCount", |p| async move {
                    p.get_transaction_count(operator).latest().await
                })
                .await?;
            Ok::<_, RpcFailure>((head, mined_nonce))
        };
        let (head, mined_nonce) = match chain_view.await {
            Ok(view) => view,
            Err(failure) => {
                for entry in &mut entries {
                    entry.last_error = Some(failure.to_string());
                    self.journal_put(entry).await?;
                }
                return Ok(entries.iter().map(JournalEntry::status).collect());
            }
        };
        let mut statuses = Vec::with_capacity(entries.len());
        for mut entry in entries {
            let before = entry.clone();
            self.advance(&mut entry, head, mined_nonce, &mut next_nonce)
                .await?;
            if entry != before {
                self.journal_put(&entry).await?;
            }
            statuses.push(entry.status());
        }
        Ok(statuses)
    }

    /// Spawns a task that calls `poll` every `every` (logging failures) for as long as the
    /// registrar is alive elsewhere; it ends within one period of the last `Arc` being dropped.
    pub fn spawn_poller(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let registrar = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(registrar) = registrar.upgrade() else {
                    return;
                };
                if let Err(error) = registrar.poll().await {
                    tracing::warn!(%error, "chain registration poll failed");
                }
            }
        })
    }

    /// Polls until every listed box is `Confirmed` or `Failed`, or `timeout` passes; returns
    /// their statuses then (a box without a journal entry is left out).
    pub async fn wait_settled(
        &self,
        node_ids: &[NodeId],
        timeout: Duration,
    ) -> Result<Vec<BoxStatus>, ChainError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            self.poll().await?;
            let mut statuses = Vec::with_capacity(node_ids.len());
            for node_id in node_ids {
                if let Some(status) = self.status(*node_id).await? {
                    statuses.push(status);
                }
            }
            let settled = statuses.iter().all(|s| {
                matches!(
                    s.state,
                    BoxState::Confirmed { .. } | BoxState::Failed { .. }
                )
            });
            if settled || tokio::time::Instant::now() >= deadline {
                return Ok(statuses);
            }
            tokio::time::sleep(SETTLE_POLL_INTERVAL).await;
        }
    }

    /// The box's chain status, if the registrar ever handled it.
    pub async fn status(&self, node_id: NodeId) -> Result<Option<BoxStatus>, ChainError> {
        Ok(self.journal_get(node_id).await?.map(|e| e.status()))
    }

    /// Every box's chain status.
    pub async fn statuses(&self) -> Result<Vec<BoxStatus>, ChainError> {
        Ok(self
            .journal_entries()
            .await?
            .iter()
            .map(JournalEntry::status)
            .collect())
    }

    /// One step for one in-flight entry; changes only `entry` (and the next nonce when the
    /// chain shows the journal's view is off).
    async fn advance(
        &self,
        entry: &mut JournalEntry,
        head: u64,
        mined_nonce: u64,
        next_nonce: &mut Option<u64>,
    ) -> Result<(), ChainError> {
        let node_id = entry.node_id();
        let (Some(nonce), Some(latest)) = (entry.nonce, entry.attempts.last().cloned()) else {
            // In flight without a transaction cannot be written by this registrar; treat as lost.
            entry.state = BoxState::Failed {
                reason: "journal entry without a transaction".to_owned(),
            };
            return Ok(());
        };

        for attempt in entry.attempts.iter().rev() {
            let hash = attempt.hash;
            let receipt = match self
                .rpc
                .call("eth_getTransactionReceipt", |p| async move {
                    p.get_transaction_receipt(hash).await
                })
                .await
            {
                Ok(receipt) => receipt,
                Err(failure) => {
                    entry.last_error = Some(failure.to_string());
                    return Ok(());
                }
            };
            let Some(receipt) = receipt else { continue };
            let block = receipt.block_number.unwrap_or(head);
            let confirmed = head + 1 >= block + self.confirmations;
            if !receipt.status() && confirmed {
                let revert = self.revert_reason(&entry.operation, block).await;
                tracing::warn!(%node_id, tx = %hash, block, %revert, "reverted on chain");
                entry.state = BoxState::Failed {
                    reason: format!("reverted in block {block}: {revert}"),
                };
                entry.last_error = None;
            } else if confirmed {
                tracing::info!(%node_id, tx = %hash, block, "confirmed");
                entry.state = BoxState::Confirmed { block };
                entry.last_error = None;
            } else {
                entry.state = BoxState::Submitted { tx: hash };
                entry.last_error = None;
            }
            return Ok(());
        }

        if mined_nonce > nonce {
            // The nonce was used, but by none of the transactions journaled for this box.
            *next_nonce = None;
            match self.in_effect_at(&entry.operation).await {
                Err(error) => entry.last_error = Some(error.to_string()),
                Ok(Some(block)) => entry.state = BoxState::Confirmed { block },
                Ok(None) => {
                    entry.state = BoxState::Failed {
                        reason: format!("nonce {nonce} was used by another transaction of the operator account; submit again"),
                    }
                }
            }
            return Ok(());
        }

        let hash = latest.hash;
        let known = match self
            .rpc
            .call("eth_getTransactionByHash", |p| async move {
                p.get_transaction_by_hash(hash).await
            })
            .await
        {
            Ok(tx) => tx.is_some(),
            Err(failure) => {
                entry.last_error = Some(failure.to_string());
                return Ok(());
            }
        };
        let age = Duration::from_millis(now_ms().saturating_sub(latest.signed_at_ms));
        if known && age < self.replace_after {
            entry.state = BoxState::Submitted { tx: hash };
            return Ok(());
        }
        if !known {
            tracing::warn!(%node_id, nonce, tx = %hash, "dropped by the node; re-sending");
            match self.send(&latest.raw).await {
                Sent::Accepted => {
                    entry.state = BoxState::Submitted { tx: hash };
                    entry.last_error = Some(format!(
                        "transaction {hash} was dropped by the node and re-sent"
                    ));
                    return Ok(());
                }
                Sent::Unreachable(failure) => {
                    entry.last_error = Some(failure.to_string());
                    return Ok(());
                }
                Sent::Refused(message) => {
                    // Kept in flight: later nonces wait behind this one, so giving it up would
                    // strand them. The refusal (say, the operator cannot pay the fee) shows on
                    // the box until it is fixed; a used nonce is caught on a later poll.
                    entry.last_error = Some(format!(
                        "transaction {hash} was dropped and the node refuses it again: {message}"
                    ));
                    return Ok(());
                }
                Sent::Underpriced(_) => {}
            }
        }
        self.replace(entry, nonce, &latest).await
    }

    /// Signs the entry's operation again with the same nonce and bumped fees, journals it, sends it.
    async fn replace(
        &self,
        entry: &mut JournalEntry,
        nonce: u64,
        latest: &Attempt,
    ) -> Result<(), ChainError> {
        let node_id = entry.node_id();
        if entry.attempts.len() > MAX_REPLACEMENTS {
            // Stays in flight (a transaction with this nonce may still be mined, and later nonces
            // wait behind it) but fees stop rising: a person has to look.
            entry.last_error = Some(format!(
                "not mined after {MAX_REPLACEMENTS} fee bumps; fees stay at {} wei/gas: check the chain's fee market and the RPC endpoints",
                latest.max_fee_per_gas
            ));
            return Ok(());
        }
        let estimate = match self
            .rpc
            .call("eth_feeHistory", |p| async move {
                p.estimate_eip1559_fees().await
            })
            .await
        {
            Ok(estimate) => estimate,
            Err(failure) => {
                entry.last_error = Some(failure.to_string());
                return Ok(());
            }
        };
        let max_fee = bumped(latest.max_fee_per_gas, estimate.max_fee_per_gas);
        let priority = bumped(
            latest.max_priority_fee_per_gas,
            estimate.max_priority_fee_per_gas,
        )
        .min(max_fee);
        let attempt = self
            .sign(
                &calldata(&entry.operation),
                nonce,
                latest.gas_limit,
                max_fee,
                priority,
            )
            .await?;
        entry.attempts.push(attempt.clone());
        entry.last_error = Some(format!(
            "not mined {}s after signing; replaced with fee cap {max_fee} wei/gas",
            now_ms().saturating_sub(latest.signed_at_ms) / 1000
        ));
        self.journal_put(entry).await?;
        tracing::warn!(%node_id, nonce, tx = %attempt.hash, max_fee, priority, "replacing with bumped fees");
        match self.send(&attempt.raw).await {
            Sent::Accepted => entry.state = BoxState::Submitted { tx: attempt.hash },
            Sent::Unreachable(failure) => entry.last_error = Some(failure.to_string()),
            Sent::Refused(message) | Sent::Underpriced(message) => {
                entry.last_error = Some(format!("replacement refused: {message}"));
            }
        }
        Ok(())
    }

    /// Builds and signs an EIP-1559 transaction to the contract.
    async fn sign(
        &self,
        input: &Bytes,
        nonce: u64,
        gas_limit: u64,
        max_fee: u128,
        priority: u128,
    ) -> Result<Attempt, ChainError> {
        let request = TransactionRequest::default()
            .with_from(self.operator)
            .with_to(self.contract)
            .with_input(input.clone())
            .with_nonce(nonce)
            .with_chain_id(self.chain_id)
            .with_gas_limit(gas_limit)
            .with_max_fee_per_gas(max_fee)
            .with_max_priority_fee_per_gas(priority);
        let envelope = request
            .build(&self.wallet)
            .await
            .map_err(|e| ChainError::Signing(e.to_string()))?;
        debug_assert_eq!(envelope.nonce(), nonce);
        Ok(Attempt {
            hash: *envelope.tx_hash(),
            raw: envelope.encoded_2718().into(),
            gas_limit,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: priority,
            signed_at_ms: now_ms(),
        })
    }

    async fn send(&self, raw: &Bytes) -> Sent {
        let sent = self
            .rpc
            .call("eth_sendRawTransaction", |p| {
                let raw = raw.clone();
                async move { p.send_raw_transaction(&raw).await.map(|_| ()) }
            })
            .await;
        match sent {
            Ok(()) => Sent::Accepted,
            Err(RpcFailure::Refused { payload, .. }) if is_already_known(&payload.message) => {
                Sent::Accepted
            }
            Err(RpcFailure::Refused { payload, .. }) if is_underpriced(&payload.message) => {
                Sent::Underpriced(payload.message.to_string())
            }
            Err(RpcFailure::Refused { payload, .. }) => Sent::Refused(payload.message.to_string()),
            Err(unreachable) => Sent::Unreachable(unreachable),
        }
    }

    /// The next nonce no journaled in-flight transaction uses, and not below the chain's count of
    /// the account's transactions (mempool included).
    async fn first_free_nonce(&self) -> Result<u64, ChainError> {
        let operator = self.operator;
        let on_chain = self
            .rpc
            .call("eth_getTransactionCount", |p| async move {
                p.get_transaction_count(operator).pending().await
            })
            .await?;
        let journaled = self
            .journal_entries()
            .await?
            .iter()
            .filter(|e| e.in_flight())
            .filter_map(|e| e.nonce)
            .map(|n| n + 1)
            .max()
            .unwrap_or(0);
        Ok(on_chain.max(journaled))
    }

    /// Calls a view function of the registry through the RPC pool (so with failover); `call`
    /// picks the function on the contract instance it is given.
    async fn view<T, F, Fut>(&self, what: &'static str, call: F) -> Result<T, RpcFailure>
    where
        F: Fn(NodeRegistry::NodeRegistryInstance<RootProvider>) -> Fut,
        Fut: std::future::Future<Output = Result<T, alloy::contract::Error>>,
    {
        let contract = self.contract;
        self.rpc
            .call(what, |provider| {
                let answer = call(NodeRegistry::new(contract, provider));
                async move { answer.await.map_err(into_rpc_error) }
            })
            .await
    }

    /// Whether the operation's effect is already on chain (as this operator), and from which
    /// block: the box is registered with exactly this record, or (for a deregistration) it is
    /// not registered and this operator's `NodeDeregistered` event for it is on chain.
    async fn in_effect_at(&self, operation: &BoxOperation) -> Result<Option<u64>, ChainError> {
        let contract = self.contract;
        let node_id = operation.node_id();
        let registered = self
            .view("isRegistered", |registry| async move {
                registry.isRegistered(node_id).call().await
            })
            .await?;
        let event = match (operation, registered) {
            (BoxOperation::Deregister(_), false) => NodeRegistry::NodeDeregistered::SIGNATURE_HASH,
            (BoxOperation::Register(record) | BoxOperation::Update(record), true) => {
                let node = self
                    .view("getNode", |registry| async move {
                        registry.getNode(node_id).call().await
                    })
                    .await?;
                let same = node.operator == self.operator
                    && node.publicKey == record.public_key
                    && node.endpoint == record.endpoint
                    && node.capacity == U256::from(record.capacity)
                    && node.zone == record.zone;
                if !same {
                    return Ok(None);
                }
                if matches!(operation, BoxOperation::Register(_)) {
                    NodeRegistry::NodeRegistered::SIGNATURE_HASH
                } else {
                    NodeRegistry::NodeUpdated::SIGNATURE_HASH
                }
            }
            _ => return Ok(None),
        };
        let filter = Filter::new()
            .address(contract)
            .event_signature(event)
            .topic1(node_id)
            .topic2(self.operator.into_word())
            .from_block(0);
        let logs = self
            .rpc
            .call("eth_getLogs", |p| {
                let filter = filter.clone();
                async move { p.get_logs(&filter).await }
            })
            .await;
        let block = match logs {
            Ok(logs) => logs.iter().filter_map(|log| log.block_number).max(),
            // Some endpoints refuse log queries over the whole chain; for a record found in
            // storage the head is then the best block we can name.
            Err(RpcFailure::Refused { .. }) => None,
            Err(unreachable) => return Err(unreachable.into()),
        };
        match (block, operation) {
            (Some(block), _) => Ok(Some(block)),
            // Not registered and no deregistration of ours on record: it never was ours.
            (None, BoxOperation::Deregister(_)) => Ok(None),
            (None, _) => Ok(Some(self.rpc.head().await?)),
        }
    }

    /// Why a mined transaction reverted: the same call replayed on the state of its block.
    async fn revert_reason(&self, operation: &BoxOperation, block: u64) -> RegistryRevert {
        let request = TransactionRequest::default()
            .with_from(self.operator)
            .with_to(self.contract)
            .with_input(calldata(operation));
        let replay = self
            .rpc
            .call("eth_call", |p| {
                let request = request.clone();
                async move { p.call(request).block(BlockId::number(block)).await }
            })
            .await;
        match replay {
            Err(RpcFailure::Refused { payload, .. }) => payload
                .as_revert_data()
                .map(|data: Bytes| RegistryRevert::decode(&data))
                .unwrap_or_else(|| RegistryRevert::Unknown(Bytes::new())),
            _ => RegistryRevert::Unknown(Bytes::new()),
        }
    }

    /// What the journal says about a new request for this operation: `Some(status)` when the
    /// same operation is in flight or done (nothing to do), `Busy` when another operation on the
    /// box is in flight, `None` when it may go ahead (no entry, a settled other operation, or
    /// this operation failed before and is being retried).
    async fn journaled(&self, operation: &BoxOperation) -> Result<Option<BoxStatus>, BoxError> {
        let node_id = operation.node_id();
        let entry = self
            .journal_get(node_id)
            .await
            .map_err(|e| BoxError::Chain {
                node_id,
                source: e.into(),
            })?;
        let Some(entry) = entry else { return Ok(None) };
        let failed = matches!(entry.state, BoxState::Failed { .. });
        if entry.operation == *operation && !failed {
            return Ok(Some(entry.status()));
        }
        if entry.in_flight() {
            return Err(BoxError::Busy {
                node_id,
                in_flight: entry.operation.kind().to_owned(),
                requested: operation.kind(),
            });
        }
        Ok(None)
    }

    async fn record_revert(&self, operation: BoxOperation, revert: RegistryRevert) -> BoxError {
        let node_id = operation.node_id();
        let kind = operation.kind();
        tracing::warn!(%node_id, operation = kind, %revert, "refused by the registry");
        let entry = JournalEntry {
            operation,
            nonce: None,
            attempts: Vec::new(),
            state: BoxState::Failed {
                reason: revert.to_string(),
            },
            last_error: None,
        };
        if let Err(e) = self.journal_put(&entry).await {
            return BoxError::Chain {
                node_id,
                source: e.into(),
            };
        }
        BoxError::Reverted {
            node_id,
            operation: kind,
            revert,
        }
    }

    async fn record_refusal(&self, operation: BoxOperation, message: String) -> BoxError {
        let node_id = operation.node_id();
        let entry = JournalEntry {
            operation,
            nonce: None,
            attempts: Vec::new(),
            state: BoxState::Failed {
                reason: format!("the chain node refused the transaction: {message}"),
            },
            last_error: None,
        };
        if let Err(e) = self.journal_put(&entry).await {
            return BoxError::Chain {
                node_id,
                source: e.into(),
            };
        }
        BoxError::Refused { node_id, message }
    }

    async fn journal_get(&self, node_id: NodeId) -> Result<Option<JournalEntry>, JournalError> {
        let journal = Arc::clone(&self.journal);
        tokio::task::spawn_blocking(move || journal.get(&node_id))
            .await
            .map_err(|e| JournalError::Store(e.to_string()))?
    }

    async fn journal_put(&self, entry: &JournalEntry) -> Result<(), JournalError> {
        let journal = Arc::clone(&self.journal);
        let entry = entry.clone();
        tokio::task::spawn_blocking(move || journal.put(&entry))
            .await
            .map_err(|e| JournalError::Store(e.to_string()))?
    }

    async fn journal_entries(&self) -> Result<Vec<JournalEntry>, JournalError> {
        let journal = Arc::clone(&self.journal);
        tokio::task::spawn_blocking(move || journal.entries())
            .await
            .map_err(|e| JournalError::Store(e.to_string()))?
    }
}

/// A contract call's error as the RPC error it carries, so the pool can tell a refusal (revert)
/// from an unreachable endpoint.
fn into_rpc_error(
    error: alloy::contract::Error,
) -> alloy::transports::RpcError<alloy::transports::TransportErrorKind> {
    match error {
        alloy::contract::Error::TransportError(e) => e,
        other => alloy::transports::TransportErrorKind::custom_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacement_fees_rise_by_an_eighth_rounded_up_and_follow_the_market() {
        assert_eq!(bumped(1000, 0), 1125);
        assert_eq!(bumped(1001, 0), 1127, "rounded up, never below +12.5%");
        assert_eq!(bumped(1, 0), 2, "tiny fees still rise");
        assert_eq!(bumped(0, 0), 1);
        assert_eq!(
            bumped(1000, 5000),
            5000,
            "the node's estimate when it is higher"
        );
        let huge = u128::MAX / 2;
        assert_eq!(
            bumped(huge, 0),
            huge + huge / 8 + 1,
            "no overflow on the way"
        );
        assert_eq!(bumped(u128::MAX, 0), u128::MAX, "saturates");
    }

    #[test]
    fn node_answers_are_classified() {
        assert!(is_already_known("already known"));
        assert!(is_already_known("Known transaction: 0xabc"));
        assert!(is_underpriced("replacement transaction underpriced"));
        assert!(is_underpriced("max fee per gas less than block base fee"));
        assert!(!is_underpriced(
            "insufficient funds for gas * price + value"
        ));
        assert!(!is_already_known("nonce too low"));
    }
}
