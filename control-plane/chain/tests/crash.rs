//! 50 boxes registered by a child process that is SIGKILLed several times mid-way (at points
//! drawn from a printed seed) and started again on the same journal: the chain's events and storage show each box exactly once, and the
//! operator account sent exactly one transaction per box.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rand::{Rng, SeedableRng};

use alloy::primitives::U256;
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use common::{chain, mined_nonce};
use control_plane_chain::contract::NodeRegistry;
use control_plane_chain::local_chain::{sample_fleet, LocalChain, DEV_KEYS};

/// Boxes in the fleet.
const BOXES: usize = 50;

fn spawn(chain: &common::Chain, journal: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_register-boxes"))
        .args(["--rpc", chain.chain.url().as_str()])
        .args(["--contract", &chain.contract.to_string()])
        .arg("--journal")
        .arg(journal)
        .args(["--count", &BOXES.to_string(), "--timeout-s", "60"])
        .env("CHAIN_OPERATOR_KEY", DEV_KEYS[0])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start register-boxes")
}

/// Where a round kills the child.
#[derive(Debug, Clone, Copy)]
enum KillPoint {
    /// Right after it prints `submitted <index>` (the next box may be mid-submission).
    AfterSubmitted(usize),
    /// This long after it starts: connecting, submitting or waiting for confirmations.
    After(Duration),
}

/// Runs the child and SIGKILLs it at `point` (if it is still running then).
fn kill_at(chain: &common::Chain, journal: &std::path::Path, point: KillPoint) {
    let mut child = spawn(chain, journal);
    match point {
        KillPoint::AfterSubmitted(index) => {
            let wanted = format!("submitted {index}");
            let stdout = BufReader::new(child.stdout.take().unwrap());
            let seen = stdout.lines().any(|line| line.unwrap() == wanted);
            assert!(seen, "the child exited before printing {wanted:?}");
        }
        KillPoint::After(delay) => std::thread::sleep(delay),
    }
    // SIGKILL; an error only means it had already exited.
    let _ = child.kill();
    child.wait().unwrap();
}

/// Kill rounds before the final run: `CHAIN_CRASH_ROUNDS`, 4 by default (a few seconds).
fn rounds() -> usize {
    std::env::var("CHAIN_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4)
}

#[tokio::test]
async fn fifty_boxes_registered_exactly_once_across_sigkills() {
    // Interval mining: transactions wait in the mempool for up to a second, so kills land with
    // work journaled, sent, mined and confirmed in every mix.
    let chain = chain(&["--block-time", "1"]).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.redb");

    // Kill points from a seed that is printed, so a failing mix can be replayed with
    // CHAIN_CRASH_SEED. The first two rounds always kill mid-submission.
    let seed = std::env::var("CHAIN_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    println!("CHAIN_CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for round in 0..rounds() {
        let point = if round < 2 || rng.gen_bool(0.5) {
            KillPoint::AfterSubmitted(rng.gen_range(0..BOXES))
        } else {
            KillPoint::After(Duration::from_millis(rng.gen_range(0..2000)))
        };
        println!("round {round}: kill {point:?}");
        kill_at(&chain, &journal, point);
    }

    let output = spawn(&chain, &journal).wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "final run: {}\n{stdout}",
        output.status
    );
    assert!(
        stdout.lines().any(|l| l == format!("settled {BOXES} 0")),
        "{stdout}"
    );

    let provider = chain.chain.provider();
    let filter = Filter::new()
        .address(chain.contract)
        .event_signature(NodeRegistry::NodeRegistered::SIGNATURE_HASH)
        .from_block(0);
    let events: Vec<_> = provider
        .get_logs(&filter)
        .await
        .unwrap()
        .iter()
        .map(|log| NodeRegistry::NodeRegistered::decode_log_data(log.data()).unwrap())
        .collect();
    assert_eq!(events.len(), BOXES, "one NodeRegistered event per box");
    let fleet = sample_fleet(BOXES);
    let expected: HashSet<_> = fleet.iter().map(|r| r.node_id).collect();
    let seen: HashSet<_> = events.iter().map(|e| e.nodeId).collect();
    assert_eq!(seen, expected, "each box's event exactly once");

    let registry = NodeRegistry::new(chain.contract, provider.clone());
    assert_eq!(
        registry.nodeCount().call().await.unwrap(),
        U256::from(BOXES)
    );
    for record in &fleet {
        let node = registry.getNode(record.node_id).call().await.unwrap();
        assert_eq!(
            (node.endpoint.as_str(), &node.publicKey),
            (record.endpoint.as_str(), &record.public_key)
        );
    }
    let operator = LocalChain::dev_key(0).address();
    assert_eq!(
        mined_nonce(&chain, operator).await,
        BOXES as u64,
        "one transaction per box, none wasted"
    );
}
