//! Shared set-up for the chain tests: a fresh anvil and registry per test, a journal in a temp dir.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, TxHash};
use control_plane_chain::local_chain::LocalChain;
use control_plane_chain::{
    BoxError, BoxOperation, BoxRecord, BoxState, RedbJournal, Registrar, RegistrarConfig,
    RegistryRevert,
};

/// Generous bound for anything to settle on a local chain.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

/// A running chain with the registry deployed.
pub struct Chain {
    pub chain: LocalChain,
    pub contract: Address,
}

pub async fn chain(extra_args: &[&str]) -> Chain {
    let chain = LocalChain::start(extra_args).expect("start anvil");
    let contract = chain.deploy_registry().await.expect("deploy NodeRegistry");
    Chain { chain, contract }
}

pub fn config(chain: &Chain, confirmations: u64) -> RegistrarConfig {
    let mut config = RegistrarConfig::new(vec![chain.chain.url()], chain.contract);
    config.confirmations = confirmations;
    config
}

pub fn journal(dir: &tempfile::TempDir) -> Arc<RedbJournal> {
    Arc::new(RedbJournal::open(&dir.path().join("journal.redb")).expect("open journal"))
}

pub async fn registrar(
    config: RegistrarConfig,
    key_index: usize,
    journal: Arc<RedbJournal>,
) -> Registrar {
    Registrar::connect(config, &LocalChain::dev_key(key_index), journal)
        .await
        .expect("connect registrar")
}

/// How many transactions the account has had mined.
pub async fn mined_nonce(chain: &Chain, account: Address) -> u64 {
    use alloy::providers::Provider;
    chain
        .chain
        .provider()
        .get_transaction_count(account)
        .latest()
        .await
        .expect("nonce")
}

/// Turns automatic mining off: transactions wait in the mempool until `mine`.
pub async fn automine(chain: &Chain, on: bool) {
    chain
        .chain
        .request("evm_setAutomine", serde_json::json!([on]))
        .await
        .expect("evm_setAutomine");
}

pub async fn mine(chain: &Chain, blocks: u64) {
    chain
        .chain
        .request("anvil_mine", serde_json::json!([blocks]))
        .await
        .expect("anvil_mine");
}

/// The transaction of a `Submitted` state (panics on any other).
pub fn submitted_tx(state: &BoxState) -> TxHash {
    match state {
        BoxState::Submitted { tx } => *tx,
        other => panic!("expected Submitted, got {other:?}"),
    }
}

/// Submits a registration of each record in order; returns each one's transaction.
pub async fn submit_all(registrar: &Registrar, fleet: &[BoxRecord]) -> Vec<TxHash> {
    let mut hashes = Vec::with_capacity(fleet.len());
    for record in fleet {
        let status = registrar
            .submit(BoxOperation::Register(record.clone()))
            .await
            .unwrap();
        hashes.push(submitted_tx(&status.state));
    }
    hashes
}

/// The contract's reason of a `Reverted` error (panics on any other error).
pub fn revert_of(err: &BoxError) -> &RegistryRevert {
    match err {
        BoxError::Reverted { revert, .. } => revert,
        other => panic!("expected a revert, got {other:?}"),
    }
}
