//! Chain registration through the real `control-plane` binary against anvil: an approved box is
//! registered (storage and event), a revoked one deregistered, a reverted registration shows as
//! `failed` with the contract's reason, and start-up refuses an unreachable RPC, a missing
//! contract and a missing key with a clear message.

mod common;

use std::process::Command;

use alloy::primitives::{Bytes, U256};
use alloy::providers::ProviderBuilder;
use alloy::signers::local::PrivateKeySigner;
use common::chain::{chain_state, registry_id, wait_chain_state, Chain, OPERATOR};
use common::{
    box_action, enroll_and_approve, fresh_login, get_json, new_token, TestBox, ADMIN_PASSWORD,
};
use control_plane_chain::contract::NodeRegistry;
use control_plane_chain::local_chain::{LocalChain, DEV_KEYS};
use serde_json::{json, Value};

#[test]
fn approved_box_is_registered_and_revoked_box_deregistered() {
    let chain = Chain::start(&["--block-time", "1"]);
    let dir = tempfile::tempdir().unwrap();
    let cp = chain.control_plane(&dir.path().join("data"), 2, &[]);
    let (http, admin) = fresh_login(&cp);

    let token = new_token(&cp, &http, &admin, json!({ "zone": "eu-west" }));
    let test_box = TestBox::new();
    assert_eq!(test_box.enroll(&cp, &http, &token).status(), 200);
    let node_id = test_box.key.node_id();
    assert_eq!(
        chain_state(&cp, &http, &admin, &node_id)["state"],
        "not_submitted",
        "a pending box is not handed to the chain"
    );
    let response = box_action(&cp, &http, &admin, &node_id, "approve");
    assert_eq!(response.status(), 200);

    let registered = wait_chain_state(&cp, &http, &admin, &node_id, "registered");
    assert_eq!(registered["state"], "registered", "{registered}");
    let node = chain.node(registry_id(&node_id)).expect("in the registry");
    assert_eq!(node.operator, LocalChain::dev_key(OPERATOR).address());
    assert_eq!(
        node.publicKey,
        Bytes::from(hex::decode(test_box.key.public_key_hex()).unwrap())
    );
    assert_eq!(node.endpoint, "http://127.0.0.1:1");
    assert_eq!(node.zone, "eu-west");
    assert_eq!(node.capacity, U256::ZERO, "no heartbeat before approval");
    let events = chain.events::<NodeRegistry::NodeRegistered>();
    assert_eq!(events.get(&registry_id(&node_id)), Some(&1));
    let block = registered["block"].as_u64().unwrap();
    let head = chain.block_on(async {
        use alloy::providers::Provider;
        chain.chain.provider().get_block_number().await.unwrap()
    });
    assert!(
        head + 1 >= block + 2,
        "shown registered after 2 confirmations"
    );

    let list: Vec<Value> = get_json(&cp, &http, &admin, "/api/boxes");
    assert_eq!(list[0]["chain"]["state"], "registered", "{list:?}");

    let response = box_action(&cp, &http, &admin, &node_id, "revoke");
    assert_eq!(response.status(), 200);
    let gone = wait_chain_state(&cp, &http, &admin, &node_id, "deregistered");
    assert_eq!(gone["state"], "deregistered", "{gone}");
    assert!(chain.node(registry_id(&node_id)).is_none());
    assert_eq!(chain.node_count(), 0);
    let events = chain.events::<NodeRegistry::NodeDeregistered>();
    assert_eq!(events.get(&registry_id(&node_id)), Some(&1));

    // A restart hands every box over again; nothing is sent twice.
    cp.kill();
    let cp = chain.control_plane(&dir.path().join("data"), 2, &[]);
    let (http, admin) = fresh_login(&cp);
    assert_eq!(
        chain_state(&cp, &http, &admin, &node_id)["state"],
        "deregistered"
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(
        chain.mined_nonce(OPERATOR),
        2,
        "one register, one deregister"
    );
}

/// Registers `node_id` in the registry as another operator (dev account 1), sent straight to
/// the node (no simulation) with a gas limit given and a priority fee far above the market, so it
/// is ordered first in the block it lands in.
fn squat(chain: &Chain, node_id: &str) {
    let signer: PrivateKeySigner = DEV_KEYS[1].parse().unwrap();
    let provider = ProviderBuilder::new()
        .wallet(signer)
        .connect_http(chain.chain.url());
    let registry = NodeRegistry::new(chain.registry, provider);
    let call = registry
        .register(
            registry_id(node_id),
            vec![7u8; 32].into(),
            "squatter:1".into(),
            U256::from(1),
            String::new(),
        )
        .gas(SQUAT_GAS)
        .max_priority_fee_per_gas(SQUAT_PRIORITY_FEE)
        .max_fee_per_gas(2 * SQUAT_PRIORITY_FEE);
    let pending = chain.block_on(call.send()).unwrap();
    assert!(!pending.tx_hash().is_zero());
}

/// Gas limit of the other operator's registration: well above what `register` costs.
const SQUAT_GAS: u64 = 1_000_000;
/// Its priority fee, 100 gwei: far above anvil's suggestion, so it is mined first.
const SQUAT_PRIORITY_FEE: u128 = 100_000_000_000;

#[test]
fn box_registered_by_another_operator_fails_with_the_reason() {
    let chain = Chain::start(&[]);
    let intruder = LocalChain::dev_key(1).address();
    let dir = tempfile::tempdir().unwrap();
    let cp = chain.control_plane(&dir.path().join("data"), 1, &[]);
    let (http, admin) = fresh_login(&cp);

    // Registered by the other operator before approval: the simulation reverts, nothing is sent.
    let early = TestBox::new();
    let early_id = early.key.node_id();
    squat(&chain, &early_id);
    enroll_and_approve(&cp, &http, &admin, &early);
    let failed = wait_chain_state(&cp, &http, &admin, &early_id, "failed");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("already registered") && error.contains(&intruder.to_string()),
        "{failed}"
    );
    assert_eq!(
        chain.mined_nonce(OPERATOR),
        0,
        "nothing sent for a revert found by simulation"
    );

    // Both sent into the same block, the other operator's ordered first by its fee: ours passed
    // its simulation, is mined, and reverts.
    common::chain::automine(&chain, false);
    let raced = TestBox::new();
    let raced_id = raced.key.node_id();
    enroll_and_approve(&cp, &http, &admin, &raced);
    let submitted = wait_chain_state(&cp, &http, &admin, &raced_id, "submitted");
    assert_eq!(submitted["state"], "submitted", "{submitted}");
    squat(&chain, &raced_id);
    common::chain::mine(&chain, 1);
    let failed = wait_chain_state(&cp, &http, &admin, &raced_id, "failed");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("reverted in block")
            && error.contains("already registered")
            && error.contains(&intruder.to_string()),
        "{failed}"
    );
    assert_eq!(
        chain.mined_nonce(OPERATOR),
        1,
        "the reverted transaction was mined"
    );
    for node_id in [&early_id, &raced_id] {
        assert_eq!(
            chain.node(registry_id(node_id)).unwrap().operator,
            intruder,
            "the other operator's record stands"
        );
    }
}

/// Runs `control-plane up` with `flags` and `env`, expecting it to refuse to start; returns stderr.
fn refused_start(flags: &[&str], env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_control-plane"))
        .arg("up")
        .arg("--data")
        .arg(dir.path().join("data"))
        .args(["--listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0"])
        .args(flags)
        .env("CONTROL_PLANE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env_remove("CP_OPERATOR_KEY")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn start_up_refuses_an_unusable_chain_with_a_clear_error() {
    let chain = Chain::start(&[]);
    let key = Chain::key_env();
    let registry = chain.registry.to_string();

    // Nothing listens on port 1 of loopback.
    let stderr = refused_start(
        &["--chain-rpc", "http://127.0.0.1:1", "--registry", &registry],
        &key,
    );
    assert!(
        stderr.contains("--chain-rpc http://127.0.0.1:1/")
            && stderr.contains("no RPC endpoint answered"),
        "{stderr}"
    );

    // A live chain, but no contract at the address.
    let empty = "0x00000000000000000000000000000000000000aa";
    let url = chain.chain.url().to_string();
    let stderr = refused_start(&["--chain-rpc", &url, "--registry", empty], &key);
    assert!(stderr.contains("no contract deployed at"), "{stderr}");

    // No operator key, and a malformed one (never echoed back).
    let stderr = refused_start(&["--chain-rpc", &url, "--registry", &registry], &[]);
    assert!(stderr.contains("CP_OPERATOR_KEY"), "{stderr}");
    let stderr = refused_start(
        &["--chain-rpc", &url, "--registry", &registry],
        &[("CP_OPERATOR_KEY", "0xnot-a-key-secret-material")],
    );
    assert!(stderr.contains("CP_OPERATOR_KEY"), "{stderr}");
    assert!(!stderr.contains("secret-material"), "{stderr}");
}

#[test]
fn the_operator_key_comes_from_a_keystore_with_its_password_in_the_environment() {
    let chain = Chain::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let secret = hex::decode(DEV_KEYS[1].trim_start_matches("0x")).unwrap();
    PrivateKeySigner::encrypt_keystore(
        dir.path(),
        &mut rand_08::thread_rng(),
        &secret,
        "keystore password",
        Some("operator.json"),
    )
    .unwrap();
    let keystore = dir.path().join("operator.json");
    let keystore = keystore.to_str().unwrap();
    let mut flags = chain.flags(1);
    flags.extend(["--operator-keystore".to_owned(), keystore.to_owned()]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();

    let stderr = refused_start(
        &flags,
        &[("CP_OPERATOR_KEYSTORE_PASSWORD", "wrong password")],
    );
    assert!(stderr.contains("--operator-keystore"), "{stderr}");
    assert!(!stderr.contains("wrong password"), "{stderr}");

    let cp = common::ControlPlane::start_with_env(
        &dir.path().join("data"),
        &flags,
        &[("CP_OPERATOR_KEYSTORE_PASSWORD", "keystore password")],
    );
    let log = std::fs::read_to_string(&cp.log).unwrap();
    let operator = LocalChain::dev_key(1).address().to_string();
    assert!(
        log.contains(&format!("operator={operator}")),
        "signs as the keystore's account: {log}"
    );
}
