//! The registrar when things go wrong: dead and lagging RPC endpoints, transactions dropped by the
//! node, transactions stuck in the mempool, and restarts with work in flight.

mod common;

use std::time::Duration;

use alloy::primitives::TxHash;
use alloy::providers::Provider;
use common::{
    automine, chain, config, journal, mine, mined_nonce, registrar, submit_all, submitted_tx,
    SETTLE_TIMEOUT,
};
use control_plane_chain::contract::NodeRegistry;
use control_plane_chain::local_chain::{sample_fleet, LocalChain};
use control_plane_chain::{
    BoxOperation, BoxState, ChainError, RedbJournal, Registrar, RegistrarConfig,
    RegistrationJournal, RpcFailure,
};
use url::Url;

/// A loopback URL nobody listens on: port 1 is privileged and never handed out for port 0, so
/// no test's anvil can take it. `host` picks one of several (127.0.0.x).
fn dead_endpoint(host: u8) -> Url {
    Url::parse(&format!("http://127.0.0.{host}:1")).unwrap()
}

async fn known_to_node(chain: &common::Chain, hash: TxHash) -> bool {
    chain
        .chain
        .provider()
        .get_transaction_by_hash(hash)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn fails_over_when_the_first_endpoint_is_dead() {
    let chain = chain(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(&chain, 1);
    config.rpc_urls = vec![dead_endpoint(1), chain.chain.url()];
    let registrar = registrar(config, 0, journal(&dir)).await;
    let fleet = sample_fleet(3);
    for record in &fleet {
        registrar
            .submit(BoxOperation::Register(record.clone()))
            .await
            .unwrap();
    }
    let ids: Vec<_> = fleet.iter().map(|r| r.node_id).collect();
    let statuses = registrar.wait_settled(&ids, SETTLE_TIMEOUT).await.unwrap();
    assert!(
        statuses
            .iter()
            .all(|s| matches!(s.state, BoxState::Confirmed { .. })),
        "{statuses:?}"
    );
    let registry = NodeRegistry::new(chain.contract, chain.chain.provider());
    for id in ids {
        assert!(registry.isRegistered(id).call().await.unwrap());
    }
}

#[tokio::test]
async fn no_endpoint_answering_is_an_error_that_names_each_endpoint() {
    let (a, b) = (dead_endpoint(1), dead_endpoint(2));
    let config = RegistrarConfig::new(vec![a.clone(), b.clone()], Default::default());
    let dir = tempfile::tempdir().unwrap();
    let err = Registrar::connect(config, &LocalChain::dev_key(0), journal(&dir))
        .await
        .unwrap_err();
    match &err {
        ChainError::Rpc(RpcFailure::Unreachable { attempts, .. }) => {
            assert_eq!(attempts.len(), 2);
            assert!(
                attempts[0].starts_with(a.as_str()) && attempts[1].starts_with(b.as_str()),
                "{attempts:?}"
            );
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    let empty = RegistrarConfig::new(Vec::new(), Default::default());
    assert!(matches!(
        Registrar::connect(empty, &LocalChain::dev_key(0), journal(&dir)).await,
        Err(ChainError::NoEndpoints)
    ));
}

#[tokio::test]
async fn a_wrong_contract_address_is_refused_at_connect() {
    let chain = chain(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(&chain, 1);
    config.contract = LocalChain::dev_key(2).address();
    let err = Registrar::connect(config, &LocalChain::dev_key(0), journal(&dir))
        .await
        .unwrap_err();
    assert!(matches!(err, ChainError::NoContract { .. }), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_rpc_shows_on_each_box_in_flight() {
    let chain = chain(&[]).await;
    automine(&chain, false).await;
    let dir = tempfile::tempdir().unwrap();
    let registrar = registrar(config(&chain, 1), 0, journal(&dir)).await;
    let record = sample_fleet(1).remove(0);
    let submitted = registrar
        .submit(BoxOperation::Register(record.clone()))
        .await
        .unwrap();
    let tx = submitted_tx(&submitted.state);

    drop(chain);
    let status = registrar.poll().await.unwrap().remove(0);
    assert_eq!(
        status.state,
        BoxState::Submitted { tx },
        "still in flight, not failed"
    );
    let error = status.last_error.expect("the RPC trouble is on the box");
    assert!(error.contains("no RPC endpoint answered"), "{error}");
    assert_eq!(
        registrar
            .status(record.node_id)
            .await
            .unwrap()
            .unwrap()
            .last_error,
        Some(error)
    );
}

#[tokio::test]
async fn a_dropped_transaction_is_re_sent_with_the_same_nonce() {
    let chain = chain(&[]).await;
    automine(&chain, false).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = journal(&dir);
    let registrar = registrar(config(&chain, 1), 0, journal.clone()).await;
    let fleet = sample_fleet(3);
    let hashes = submit_all(&registrar, &fleet).await;
    // The node forgets the middle one: the third cannot be mined until its nonce gap is filled.
    chain
        .chain
        .request("anvil_dropTransaction", serde_json::json!([hashes[1]]))
        .await
        .unwrap();
    assert!(!known_to_node(&chain, hashes[1]).await);

    registrar.poll().await.unwrap();
    assert!(
        known_to_node(&chain, hashes[1]).await,
        "re-sent as signed, so under the same hash"
    );
    let entry = journal.get(&fleet[1].node_id).unwrap().unwrap();
    assert_eq!(
        (entry.nonce, entry.attempts.len()),
        (Some(1), 1),
        "same nonce, no new transaction"
    );
    assert!(entry.last_error.unwrap().contains("dropped"));

    mine(&chain, 1).await;
    let ids: Vec<_> = fleet.iter().map(|r| r.node_id).collect();
    let statuses = registrar.wait_settled(&ids, SETTLE_TIMEOUT).await.unwrap();
    assert!(
        statuses
            .iter()
            .all(|s| matches!(s.state, BoxState::Confirmed { .. })),
        "{statuses:?}"
    );
    assert_eq!(mined_nonce(&chain, registrar.operator()).await, 3);
}

#[tokio::test]
async fn a_stuck_transaction_is_replaced_with_fees_bumped_by_at_least_an_eighth() {
    let chain = chain(&[]).await;
    automine(&chain, false).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = journal(&dir);
    let mut config = config(&chain, 1);
    config.replace_after = Duration::ZERO;
    let registrar = registrar(config, 0, journal.clone()).await;
    let record = sample_fleet(1).remove(0);
    let first = submitted_tx(
        &registrar
            .submit(BoxOperation::Register(record.clone()))
            .await
            .unwrap()
            .state,
    );

    let status = registrar.poll().await.unwrap().remove(0);
    let second = submitted_tx(&status.state);
    assert_ne!(first, second);
    let entry = journal.get(&record.node_id).unwrap().unwrap();
    assert_eq!(entry.attempts.len(), 2);
    let (old, new) = (&entry.attempts[0], &entry.attempts[1]);
    assert!(
        new.max_fee_per_gas * 8 >= old.max_fee_per_gas * 9,
        "{} -> {}",
        old.max_fee_per_gas,
        new.max_fee_per_gas
    );
    assert!(new.max_priority_fee_per_gas * 8 >= old.max_priority_fee_per_gas * 9);
    assert!(
        !known_to_node(&chain, first).await,
        "the node replaced the first transaction"
    );

    mine(&chain, 1).await;
    let status = registrar
        .wait_settled(&[record.node_id], SETTLE_TIMEOUT)
        .await
        .unwrap()
        .remove(0);
    assert!(
        matches!(status.state, BoxState::Confirmed { .. }),
        "{status:?}"
    );
    let provider = chain.chain.provider();
    assert!(provider
        .get_transaction_receipt(second)
        .await
        .unwrap()
        .is_some());
    assert!(provider
        .get_transaction_receipt(first)
        .await
        .unwrap()
        .is_none());
    assert_eq!(mined_nonce(&chain, registrar.operator()).await, 1);
}

#[tokio::test]
async fn a_restart_resumes_from_the_journal_and_sends_nothing_twice() {
    let chain = chain(&[]).await;
    automine(&chain, false).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.redb");
    let fleet = sample_fleet(2);
    let hashes = {
        let journal = std::sync::Arc::new(RedbJournal::open(&path).unwrap());
        let before = registrar(config(&chain, 1), 0, journal).await;
        submit_all(&before, &fleet).await
    };
    // As if the process died between journaling and sending the first one.
    chain
        .chain
        .request("anvil_dropTransaction", serde_json::json!([hashes[0]]))
        .await
        .unwrap();

    let journal = std::sync::Arc::new(RedbJournal::open(&path).unwrap());
    let after = registrar(config(&chain, 1), 0, journal).await;
    for (record, hash) in fleet.iter().zip(&hashes) {
        let status = after
            .submit(BoxOperation::Register(record.clone()))
            .await
            .unwrap();
        assert_eq!(
            status.state,
            BoxState::Submitted { tx: *hash },
            "the journaled transaction, not a new one"
        );
    }
    after.poll().await.unwrap();
    mine(&chain, 1).await;
    let ids: Vec<_> = fleet.iter().map(|r| r.node_id).collect();
    let statuses = after.wait_settled(&ids, SETTLE_TIMEOUT).await.unwrap();
    assert!(
        statuses
            .iter()
            .all(|s| matches!(s.state, BoxState::Confirmed { .. })),
        "{statuses:?}"
    );
    assert_eq!(mined_nonce(&chain, after.operator()).await, 2);

    // New work after the restart takes the next nonce.
    let third = sample_fleet(3).remove(2);
    automine(&chain, true).await;
    after
        .submit(BoxOperation::Register(third.clone()))
        .await
        .unwrap();
    after
        .wait_settled(&[third.node_id], SETTLE_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(mined_nonce(&chain, after.operator()).await, 3);
}

#[tokio::test]
async fn a_lagging_endpoint_is_skipped_and_named_when_nothing_better_answers() {
    // The first endpoint is a node far behind the chain (a fresh anvil with none of its blocks).
    let lagging = LocalChain::start(&[]).unwrap();
    let chain = chain(&[]).await;
    mine(&chain, 20).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(&chain, 1);
    config.rpc_urls = vec![lagging.url(), chain.chain.url()];
    let registrar = registrar(config, 0, journal(&dir)).await;

    let fleet = sample_fleet(2);
    registrar
        .submit(BoxOperation::Register(fleet[0].clone()))
        .await
        .unwrap();
    let status = registrar
        .wait_settled(&[fleet[0].node_id], SETTLE_TIMEOUT)
        .await
        .unwrap()
        .remove(0);
    assert!(
        matches!(status.state, BoxState::Confirmed { .. }),
        "{status:?}"
    );
    let operator = registrar.operator();
    assert_eq!(
        lagging
            .provider()
            .get_transaction_count(operator)
            .await
            .unwrap(),
        0,
        "nothing went to the lagging node"
    );
    assert_eq!(mined_nonce(&chain, operator).await, 1);

    // The good endpoint goes away with a box in flight: the box says why it is stuck.
    automine(&chain, false).await;
    registrar
        .submit(BoxOperation::Register(fleet[1].clone()))
        .await
        .unwrap();
    drop(chain);
    let status = registrar.poll().await.unwrap().remove(0);
    assert!(
        matches!(status.state, BoxState::Submitted { .. }),
        "{status:?}"
    );
    let error = status.last_error.expect("the trouble is on the box");
    assert!(
        error.contains(&format!("{}: lagging, head 0 is", lagging.url())),
        "{error}"
    );
}

#[tokio::test]
async fn fee_bumps_stop_at_the_limit_and_the_box_stays_in_flight() {
    use control_plane_chain::limits::MAX_REPLACEMENTS;
    let chain = chain(&[]).await;
    automine(&chain, false).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = journal(&dir);
    let mut config = config(&chain, 1);
    config.replace_after = Duration::ZERO;
    let registrar = registrar(config, 0, journal.clone()).await;
    let record = sample_fleet(1).remove(0);
    registrar
        .submit(BoxOperation::Register(record.clone()))
        .await
        .unwrap();
    for _ in 0..MAX_REPLACEMENTS + 2 {
        registrar.poll().await.unwrap();
    }
    let entry = journal.get(&record.node_id).unwrap().unwrap();
    assert_eq!(
        entry.attempts.len(),
        MAX_REPLACEMENTS + 1,
        "the first transaction and its replacements"
    );
    let fees: Vec<_> = entry.attempts.iter().map(|a| a.max_fee_per_gas).collect();
    assert!(fees.windows(2).all(|w| w[1] * 8 >= w[0] * 9), "{fees:?}");
    assert!(
        matches!(entry.state, BoxState::Submitted { .. }),
        "{:?}",
        entry.state
    );
    assert!(entry.last_error.unwrap().contains("fee bumps"));

    mine(&chain, 1).await;
    let status = registrar
        .wait_settled(&[record.node_id], SETTLE_TIMEOUT)
        .await
        .unwrap()
        .remove(0);
    assert!(
        matches!(status.state, BoxState::Confirmed { .. }),
        "{status:?}"
    );
    assert_eq!(mined_nonce(&chain, registrar.operator()).await, 1);
}
