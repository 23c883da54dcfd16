//! A local chain (anvil, NodeRegistry deployed) for the control plane's chain tests, the flags
//! that point `control-plane up` at it, and readers of the contract's events and storage.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use control_plane_chain::contract::NodeRegistry;
use control_plane_chain::local_chain::{LocalChain, DEV_KEYS};
use reqwest::blocking::Client;
use serde_json::Value;

use super::ControlPlane;

/// Generous bound for a box's chain state to settle on a local chain.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The dev account the control plane signs with.
pub const OPERATOR: usize = 0;

/// anvil with the registry deployed.
pub struct Chain {
    /// The anvil process.
    pub chain: LocalChain,
    /// The NodeRegistry contract.
    pub registry: Address,
    runtime: tokio::runtime::Runtime,
}

impl Chain {
    /// Starts anvil with `extra_args` (e.g. `["--block-time", "1"]`) and deploys the registry.
    pub fn start(extra_args: &[&str]) -> Chain {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let chain = LocalChain::start(extra_args).expect("start anvil");
        let registry = runtime
            .block_on(chain.deploy_registry())
            .expect("deploy NodeRegistry");
        Chain {
            chain,
            registry,
            runtime,
        }
    }

    /// Runs a future on the chain's runtime (the tests themselves are blocking).
    pub fn block_on<F: std::future::IntoFuture>(&self, future: F) -> F::Output {
        self.runtime.block_on(future.into_future())
    }

    /// `control-plane up` flags that register on this chain with `confirmations`.
    pub fn flags(&self, confirmations: u64) -> Vec<String> {
        vec![
            "--chain-rpc".into(),
            self.chain.url().to_string(),
            "--registry".into(),
            self.registry.to_string(),
            "--confirmations".into(),
            confirmations.to_string(),
        ]
    }

    /// The environment giving the control plane dev account [`OPERATOR`]'s key.
    pub fn key_env() -> [(&'static str, &'static str); 1] {
        [("CP_OPERATOR_KEY", DEV_KEYS[OPERATOR])]
    }

    /// Starts `control-plane up` on `data` against this chain, with `extra` flags.
    pub fn control_plane(
        &self,
        data: &std::path::Path,
        confirmations: u64,
        extra: &[&str],
    ) -> ControlPlane {
        let flags = self.flags(confirmations);
        let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
        args.extend_from_slice(extra);
        ControlPlane::start_with_env(data, &args, &Self::key_env())
    }

    /// Every node id in the registry's `event` logs, with how often it appears.
    pub fn events<E: SolEvent>(&self) -> HashMap<B256, usize> {
        let filter = Filter::new()
            .address(self.registry)
            .event_signature(E::SIGNATURE_HASH)
            .from_block(0);
        let logs = self
            .block_on(self.chain.provider().get_logs(&filter))
            .unwrap();
        let mut counts = HashMap::new();
        for log in logs {
            let node_id = log.topics()[1];
            *counts.entry(node_id).or_insert(0) += 1;
        }
        counts
    }

    /// What the registry's storage holds for a box, if it is registered.
    pub fn node(&self, node_id: B256) -> Option<NodeRegistry::Node> {
        let registry = NodeRegistry::new(self.registry, self.chain.provider());
        self.block_on(async {
            if !registry.isRegistered(node_id).call().await.unwrap() {
                return None;
            }
            Some(registry.getNode(node_id).call().await.unwrap())
        })
    }

    /// How many boxes the registry holds.
    pub fn node_count(&self) -> u64 {
        let registry = NodeRegistry::new(self.registry, self.chain.provider());
        let count = self.block_on(registry.nodeCount().call()).unwrap();
        u64::try_from(count).unwrap()
    }

    /// Transactions mined from dev account `index`.
    pub fn mined_nonce(&self, index: usize) -> u64 {
        let account = LocalChain::dev_key(index).address();
        self.block_on(
            self.chain
                .provider()
                .get_transaction_count(account)
                .latest(),
        )
        .unwrap()
    }
}

/// Turns anvil's mining of each transaction as it arrives on or off.
pub fn automine(chain: &Chain, on: bool) {
    chain
        .block_on(
            chain
                .chain
                .request("evm_setAutomine", serde_json::json!([on])),
        )
        .expect("evm_setAutomine");
}

/// Mines `blocks` blocks now.
pub fn mine(chain: &Chain, blocks: u64) {
    chain
        .block_on(
            chain
                .chain
                .request("anvil_mine", serde_json::json!([blocks])),
        )
        .expect("anvil_mine");
}

/// A box's node id as the registry's 32-byte key.
pub fn registry_id(node_id: &str) -> B256 {
    node_id.parse().expect("node ids are 64 hex digits")
}

/// The box's `chain` object from `GET /api/boxes/{node_id}`.
pub fn chain_state(cp: &ControlPlane, http: &Client, token: &str, node_id: &str) -> Value {
    let response = http
        .get(cp.url(&format!("/api/boxes/{node_id}")))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let detail: Value = response.json().unwrap();
    detail["chain"].clone()
}

/// Polls the box's chain state until it is `state` (or `failed`, which is returned at once when
/// not the one awaited); panics with the last state after [`SETTLE_TIMEOUT`].
pub fn wait_chain_state(
    cp: &ControlPlane,
    http: &Client,
    token: &str,
    node_id: &str,
    state: &str,
) -> Value {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    loop {
        let chain = chain_state(cp, http, token, node_id);
        if chain["state"] == state || (chain["state"] == "failed" && state != "failed") {
            return chain;
        }
        assert!(
            Instant::now() < deadline,
            "box {node_id} still {chain} after {SETTLE_TIMEOUT:?}, waiting for {state}; log:\n{}",
            std::fs::read_to_string(&cp.log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
