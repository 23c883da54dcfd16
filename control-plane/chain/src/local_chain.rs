//! A local chain for tests and the bench: anvil (from the npm package
//! `@foundry-rs/anvil-linux-amd64` in control-plane/contracts) on a free loopback port, and the
//! NodeRegistry contract deployed to it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use alloy::primitives::Address;
use alloy::providers::{Provider, ProviderBuilder, RootProvider};
use url::Url;

use crate::contract::NodeRegistry;
use crate::limits::ANVIL_START_TIMEOUT;
use crate::operator_key::OperatorKey;

/// Private keys of anvil's first dev accounts (its public, well-known test mnemonic), each funded
/// with 10,000 ether on a fresh chain. For local chains only.
pub const DEV_KEYS: [&str; 3] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
];

/// Anvil's fourth dev account, which deploys the registry, so the accounts of `DEV_KEYS` start
/// with nonce 0 in tests.
const DEPLOYER_KEY: &str = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";

/// How anvil announces its port on stdout.
const LISTENING_PREFIX: &str = "Listening on 127.0.0.1:";

/// Environment variable that overrides where the anvil binary is.
pub const ANVIL_BIN_ENV: &str = "ANVIL_BIN";

/// Why the local chain could not be started or used.
#[derive(Debug, thiserror::Error)]
pub enum LocalChainError {
    /// The anvil binary is not installed.
    #[error(
        "anvil not found at {0}; run scripts/install-test-deps.sh or `npm ci --prefix control-plane/contracts`"
    )]
    NotInstalled(PathBuf),
    /// anvil could not be started or did not open its port in time.
    #[error("anvil did not start: {0}")]
    Start(String),
    /// Deploying or calling the contract failed.
    #[error("local chain: {0}")]
    Rpc(String),
}

/// A running anvil; killed when dropped.
#[derive(Debug)]
pub struct LocalChain {
    child: Child,
    port: u16,
}

impl LocalChain {
    /// Where the anvil binary is: `$ANVIL_BIN`, else the npm package's in control-plane/contracts.
    pub fn anvil_path() -> PathBuf {
        std::env::var_os(ANVIL_BIN_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../contracts/node_modules/.bin/anvil")
            })
    }

    /// Starts anvil on a free loopback port with `extra_args` (for example `["--block-time",
    /// "1"]`), and waits until it listens. anvil binds port 0 itself and prints the port it got,
    /// so two tests never race for one port.
    pub fn start(extra_args: &[&str]) -> Result<Self, LocalChainError> {
        let anvil = Self::anvil_path();
        if !anvil.exists() {
            return Err(LocalChainError::NotInstalled(anvil));
        }
        let mut child = Command::new(&anvil)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| LocalChainError::Start(format!("{}: {e}", anvil.display())))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        // Reads anvil's banner for the port, then drains its log so the pipe never fills.
        std::thread::spawn(move || {
            let mut port_tx = Some(port_tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = line
                    .strip_prefix(LISTENING_PREFIX)
                    .and_then(|p| p.trim().parse::<u16>().ok())
                {
                    if let Some(tx) = port_tx.take() {
                        // The receiver may have given up waiting; the chain is killed then.
                        let _ = tx.send(port);
                    }
                }
            }
        });
        match port_rx.recv_timeout(ANVIL_START_TIMEOUT) {
            Ok(port) => Ok(Self { child, port }),
            Err(_) => {
                let exited = child.try_wait().ok().flatten();
                let _ = child.kill();
                let _ = child.wait();
                Err(LocalChainError::Start(match exited {
                    Some(status) => format!("anvil exited with {status}"),
                    None => format!(
                        "no \"{LISTENING_PREFIX}<port>\" line within {ANVIL_START_TIMEOUT:?}"
                    ),
                }))
            }
        }
    }

    /// The chain's JSON-RPC URL.
    pub fn url(&self) -> Url {
        Url::parse(&format!("http://127.0.0.1:{}", self.port)).expect("a loopback URL parses")
    }

    /// A plain provider for the chain (no signer).
    pub fn provider(&self) -> RootProvider {
        RootProvider::new_http(self.url())
    }

    /// The `index`th dev account's key (see [`DEV_KEYS`]).
    pub fn dev_key(index: usize) -> OperatorKey {
        OperatorKey::from_hex(DEV_KEYS[index]).expect("anvil dev keys parse")
    }

    /// Deploys a fresh NodeRegistry from a dev account outside `DEV_KEYS`; returns its address.
    pub async fn deploy_registry(&self) -> Result<Address, LocalChainError> {
        let deployer = OperatorKey::from_hex(DEPLOYER_KEY).expect("anvil dev keys parse");
        let provider = ProviderBuilder::new()
            .wallet(deployer.wallet())
            .connect_http(self.url());
        let contract = NodeRegistry::deploy(&provider)
            .await
            .map_err(|e| LocalChainError::Rpc(format!("deploy NodeRegistry: {e}")))?;
        Ok(*contract.address())
    }

    /// Sends a raw JSON-RPC request (anvil's `anvil_*` and `evm_*` methods) and returns its result.
    pub async fn request(
        &self,
        method: &'static str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, LocalChainError> {
        self.provider()
            .raw_request::<_, serde_json::Value>(method.into(), params)
            .await
            .map_err(|e| LocalChainError::Rpc(format!("{method}: {e}")))
    }
}

impl Drop for LocalChain {
    fn drop(&mut self) {
        // Already exited is fine; the process is reaped either way.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `count` distinct, valid box records (index `i` always gives the same record), for tests and
/// the bench: node id keccak256("box-{i}"), alternating BLS (48-byte) and ed25519 (32-byte) keys.
pub fn sample_fleet(count: usize) -> Vec<crate::box_status::BoxRecord> {
    (0..count)
        .map(|i| {
            let node_id = alloy::primitives::keccak256(format!("box-{i}"));
            let key_length = if i % 2 == 0 { 48 } else { 32 };
            let public_key: Vec<u8> = node_id.iter().cycle().take(key_length).copied().collect();
            crate::box_status::BoxRecord {
                node_id,
                public_key: public_key.into(),
                endpoint: format!("box-{i}.fleet.internal:7000"),
                capacity: (i as u64 + 1) * (1 << 40),
                zone: format!("zone-{}", i % 3),
            }
        })
        .collect()
}
