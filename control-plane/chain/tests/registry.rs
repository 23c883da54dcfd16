//! The registrar against a real local chain (anvil) with the NodeRegistry contract deployed per
//! test: register/update/deregister with their events, operator checks, reverts, confirmations.

mod common;

use alloy::primitives::Bytes;
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use common::{
    automine, chain, config, journal, mine, mined_nonce, registrar, revert_of, SETTLE_TIMEOUT,
};
use control_plane_chain::contract::NodeRegistry;
use control_plane_chain::local_chain::sample_fleet;
use control_plane_chain::{BoxError, BoxOperation, BoxState, RecordError, RegistryRevert};

async fn logs<E: SolEvent>(chain: &common::Chain) -> Vec<E> {
    let filter = Filter::new()
        .address(chain.contract)
        .event_signature(E::SIGNATURE_HASH)
        .from_block(0);
    chain
        .chain
        .provider()
        .get_logs(&filter)
        .await
        .expect("get logs")
        .iter()
        .map(|log| E::decode_log_data(log.data()).expect("decode event"))
        .collect()
}

#[tokio::test]
async fn register_update_deregister_change_storage_and_emit_events() {
    let chain = chain(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let registrar = registrar(config(&chain, 1), 0, journal(&dir)).await;
    let registry = NodeRegistry::new(chain.contract, chain.chain.provider());
    let mut record = sample_fleet(1).remove(0);
    let id = record.node_id;

    registrar
        .submit(BoxOperation::Register(record.clone()))
        .await
        .expect("register");
    let statuses = registrar.wait_settled(&[id], SETTLE_TIMEOUT).await.unwrap();
    assert!(
        matches!(statuses[0].state, BoxState::Confirmed { .. }),
        "{statuses:?}"
    );
    let node = registry.getNode(id).call().await.unwrap();
    assert_eq!(node.operator, registrar.operator());
    assert_eq!(node.publicKey, record.public_key);
    assert_eq!(node.endpoint, record.endpoint);
    assert_eq!(node.zone, record.zone);
    let registered = logs::<NodeRegistry::NodeRegistered>(&chain).await;
    assert_eq!(registered.len(), 1);
    assert_eq!(
        (registered[0].nodeId, registered[0].operator),
        (id, registrar.operator())
    );

    record.endpoint = "moved.fleet.internal:7001".to_owned();
    record.public_key = Bytes::from(vec![7u8; 32]);
    record.capacity *= 2;
    registrar
        .submit(BoxOperation::Update(record.clone()))
        .await
        .expect("update");
    let statuses = registrar.wait_settled(&[id], SETTLE_TIMEOUT).await.unwrap();
    assert!(
        matches!(statuses[0].state, BoxState::Confirmed { .. }),
        "{statuses:?}"
    );
    let node = registry.getNode(id).call().await.unwrap();
    assert_eq!(node.endpoint, record.endpoint);
    assert_eq!(node.publicKey, record.public_key);
    assert_eq!(
        node.capacity,
        alloy::primitives::U256::from(record.capacity)
    );
    let updated = logs::<NodeRegistry::NodeUpdated>(&chain).await;
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].endpoint, record.endpoint);

    registrar
        .submit(BoxOperation::Deregister(id))
        .await
        .expect("deregister");
    let statuses = registrar.wait_settled(&[id], SETTLE_TIMEOUT).await.unwrap();
    assert!(
        matches!(statuses[0].state, BoxState::Confirmed { .. }),
        "{statuses:?}"
    );
    assert!(!registry.isRegistered(id).call().await.unwrap());
    assert_eq!(
        registry.nodeCount().call().await.unwrap(),
        alloy::primitives::U256::ZERO
    );
    let gone = logs::<NodeRegistry::NodeDeregistered>(&chain).await;
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].nodeId, id);
    assert_eq!(mined_nonce(&chain, registrar.operator()).await, 3);
}

#[tokio::test]
async fn only_the_operator_may_change_its_box() {
    let chain = chain(&[]).await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let owner = registrar(config(&chain, 1), 0, journal(&dir_a)).await;
    let intruder = registrar(config(&chain, 1), 1, journal(&dir_b)).await;
    let mut record = sample_fleet(1).remove(0);
    let id = record.node_id;
    owner
        .submit(BoxOperation::Register(record.clone()))
        .await
        .unwrap();
    owner.wait_settled(&[id], SETTLE_TIMEOUT).await.unwrap();

    record.endpoint = "hijacked.example:1".to_owned();
    let err = intruder
        .submit(BoxOperation::Update(record.clone()))
        .await
        .unwrap_err();
    match err {
        BoxError::Reverted {
            revert:
                RegistryRevert::NotOperator {
                    node_id,
                    operator,
                    caller,
                },
            ..
        } => {
            assert_eq!(
                (node_id, operator, caller),
                (id, owner.operator(), intruder.operator())
            );
        }
        other => panic!("expected NotOperator, got {other:?}"),
    }
    let status = intruder.status(id).await.unwrap().expect("status recorded");
    assert!(
        matches!(&status.state, BoxState::Failed { reason } if reason.contains("belongs to operator")),
        "{status:?}"
    );

    let err = intruder
        .submit(BoxOperation::Deregister(id))
        .await
        .unwrap_err();
    assert!(
        matches!(revert_of(&err), RegistryRevert::NotOperator { .. }),
        "{err:?}"
    );

    // Nothing was sent for the refused operations, and the box is unchanged.
    assert_eq!(mined_nonce(&chain, intruder.operator()).await, 0);
    let node = NodeRegistry::new(chain.contract, chain.chain.provider())
        .getNode(id)
        .call()
        .await
        .unwrap();
    assert_eq!(node.endpoint, sample_fleet(1)[0].endpoint);
}

#[tokio::test]
async fn registering_a_registered_node_is_a_box_error_and_sends_nothing() {
    let chain = chain(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let registrar = registrar(config(&chain, 1), 0, journal(&dir)).await;
    let record = sample_fleet(1).remove(0);
    let id = record.node_id;
    registrar
        .submit(BoxOperation::Register(record.clone()))
        .await
        .unwrap();
    registrar.wait_settled(&[id], SETTLE_TIMEOUT).await.unwrap();

    // The same operation again is idempotent: same status, no transaction.
    let again = registrar
        .submit(BoxOperation::Register(record.clone()))
        .await
        .unwrap();
    assert!(
        matches!(again.state, BoxState::Confirmed { .. }),
        "{again:?}"
    );
    assert_eq!(mined_nonce(&chain, registrar.operator()).await, 1);

    // A different record under the same id is refused by the contract's custom error.
    let mut other = record.clone();
    other.endpoint = "elsewhere:1".to_owned();
    let err = registrar
        .submit(BoxOperation::Register(other))
        .await
        .unwrap_err();
    match &err {
        BoxError::Reverted {
            revert: RegistryRevert::AlreadyRegistered { node_id, operator },
            ..
        } => {
            assert_eq!((*node_id, *operator), (id, registrar.operator()));
        }
        other => panic!("expected AlreadyRegistered, got {other:?}"),
    }
    assert!(err.to_string().contains("already registered"), "{err}");
    let status = registrar.status(id).await.unwrap().unwrap();
    assert!(
        matches!(status.state, BoxState::Failed { .. }),
        "{status:?}"
    );
    assert_eq!(mined_nonce(&chain, registrar.operator()).await, 1);
}

#[tokio::test]
async fn a_transaction_reverted_on_chain_fails_its_box_with_the_decoded_reason() {
    // Two operators race for one node id. Simulation runs against the pending state, so A's
    // transaction is hidden from the node while B submits, then A re-sends it: both are in the
    // mempool, the first mined wins and the other reverts in the block.
    let chain = chain(&[]).await;
    automine(&chain, false).await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = registrar(config(&chain, 1), 0, journal(&dir_a)).await;
    let b = registrar(config(&chain, 1), 1, journal(&dir_b)).await;
    let record = sample_fleet(1).remove(0);
    let id = record.node_id;
    let sa = a
        .submit(BoxOperation::Register(record.clone()))
        .await
        .unwrap();
    let BoxState::Submitted { tx: tx_a } = sa.state else {
        panic!("{sa:?}")
    };
    chain
        .chain
        .request("anvil_dropTransaction", serde_json::json!([tx_a]))
        .await
        .unwrap();
    let sb = b
        .submit(BoxOperation::Register(record.clone()))
        .await
        .unwrap();
    assert!(matches!(sb.state, BoxState::Submitted { .. }), "{sb:?}");
    a.poll().await.unwrap();
    assert!(chain
        .chain
        .provider()
        .get_transaction_by_hash(tx_a)
        .await
        .unwrap()
        .is_some());
    mine(&chain, 1).await;

    let sa = a
        .wait_settled(&[id], SETTLE_TIMEOUT)
        .await
        .unwrap()
        .remove(0);
    let sb = b
        .wait_settled(&[id], SETTLE_TIMEOUT)
        .await
        .unwrap()
        .remove(0);
    let owner = NodeRegistry::new(chain.contract, chain.chain.provider())
        .getNode(id)
        .call()
        .await
        .unwrap()
        .operator;
    let (winner, loser) = if owner == a.operator() {
        (sa, sb)
    } else {
        (sb, sa)
    };
    assert!(
        matches!(winner.state, BoxState::Confirmed { .. }),
        "{winner:?}"
    );
    match &loser.state {
        BoxState::Failed { reason } => {
            assert!(
                reason.contains("already registered") && reason.contains(&owner.to_string()),
                "{reason}"
            );
        }
        other => panic!("the reverted registration must fail its box, got {other:?}"),
    }
    assert_eq!(logs::<NodeRegistry::NodeRegistered>(&chain).await.len(), 1);
}

#[tokio::test]
async fn bad_records_are_refused_before_anything_is_sent() {
    let chain = chain(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let registrar = registrar(config(&chain, 1), 0, journal(&dir)).await;
    let good = sample_fleet(1).remove(0);
    let cases = [
        (
            Bytes::from(vec![1u8; 33]),
            good.endpoint.clone(),
            RecordError::PublicKeyLength(33),
        ),
        (
            good.public_key.clone(),
            String::new(),
            RecordError::EndpointLength(0),
        ),
        (
            good.public_key.clone(),
            "x".repeat(257),
            RecordError::EndpointLength(257),
        ),
    ];
    for (public_key, endpoint, expected) in cases {
        let record = control_plane_chain::BoxRecord {
            public_key,
            endpoint,
            ..good.clone()
        };
        match registrar.submit(BoxOperation::Register(record)).await {
            Err(BoxError::InvalidRecord { source, .. }) => assert_eq!(source, expected),
            other => panic!("expected {expected:?}, got {other:?}"),
        }
    }
    let zero = control_plane_chain::BoxRecord {
        node_id: Default::default(),
        ..good.clone()
    };
    assert!(matches!(
        registrar.submit(BoxOperation::Register(zero)).await,
        Err(BoxError::InvalidRecord {
            source: RecordError::ZeroNodeId,
            ..
        })
    ));
    // Deregistering a box that was never registered is refused by the contract.
    let err = registrar
        .submit(BoxOperation::Deregister(good.node_id))
        .await
        .unwrap_err();
    assert!(
        matches!(revert_of(&err), RegistryRevert::NotRegistered { .. }),
        "{err:?}"
    );
    assert_eq!(mined_nonce(&chain, registrar.operator()).await, 0);
}

#[tokio::test]
async fn a_box_counts_as_confirmed_only_after_the_configured_confirmations() {
    let chain = chain(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let registrar = registrar(config(&chain, 3), 0, journal(&dir)).await;
    let record = sample_fleet(1).remove(0);
    let id = record.node_id;
    registrar
        .submit(BoxOperation::Register(record))
        .await
        .unwrap();
    // Automine put it in a block: one confirmation.
    let status = registrar.poll().await.unwrap().remove(0);
    assert!(
        matches!(status.state, BoxState::Submitted { .. }),
        "{status:?}"
    );
    mine(&chain, 1).await;
    let status = registrar.poll().await.unwrap().remove(0);
    assert!(
        matches!(status.state, BoxState::Submitted { .. }),
        "two of three confirmations: {status:?}"
    );
    mine(&chain, 1).await;
    let status = registrar.poll().await.unwrap().remove(0);
    let included = chain.chain.provider().get_block_number().await.unwrap() - 2;
    assert_eq!(status.state, BoxState::Confirmed { block: included });
    assert!(
        registrar.poll().await.unwrap().is_empty(),
        "nothing left in flight"
    );
    assert_eq!(
        registrar.status(id).await.unwrap().unwrap().state,
        BoxState::Confirmed { block: included }
    );
}

#[tokio::test]
async fn an_operation_already_in_effect_on_chain_is_confirmed_without_a_transaction() {
    // The journal was lost (or the box was registered by another control-plane replica with the
    // same operator key): the chain's state decides, and nothing is sent twice.
    let chain = chain(&[]).await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = registrar(config(&chain, 1), 0, journal(&dir_a)).await;
    let record = sample_fleet(1).remove(0);
    let id = record.node_id;
    first
        .submit(BoxOperation::Register(record.clone()))
        .await
        .unwrap();
    let confirmed = first
        .wait_settled(&[id], SETTLE_TIMEOUT)
        .await
        .unwrap()
        .remove(0);
    drop(first);

    let second = registrar(config(&chain, 1), 0, journal(&dir_b)).await;
    let status = second.submit(BoxOperation::Register(record)).await.unwrap();
    assert_eq!(status.state, confirmed.state);
    assert_eq!(mined_nonce(&chain, second.operator()).await, 1);
    assert_eq!(logs::<NodeRegistry::NodeRegistered>(&chain).await.len(), 1);

    // The same for a deregistration: done once, then found on chain by a registrar that lost it.
    second.submit(BoxOperation::Deregister(id)).await.unwrap();
    let gone = second
        .wait_settled(&[id], SETTLE_TIMEOUT)
        .await
        .unwrap()
        .remove(0);
    assert!(matches!(gone.state, BoxState::Confirmed { .. }), "{gone:?}");
    drop(second);
    let dir_c = tempfile::tempdir().unwrap();
    let third = registrar(config(&chain, 1), 0, journal(&dir_c)).await;
    let status = third.submit(BoxOperation::Deregister(id)).await.unwrap();
    assert_eq!(status.state, gone.state);
    assert_eq!(mined_nonce(&chain, third.operator()).await, 2);
}

#[tokio::test]
async fn the_background_poller_confirms_boxes_and_stops_with_the_registrar() {
    let chain = chain(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let registrar = std::sync::Arc::new(registrar(config(&chain, 2), 0, journal(&dir)).await);
    let poller = registrar.spawn_poller(std::time::Duration::from_millis(20));
    let record = sample_fleet(1).remove(0);
    registrar
        .submit(BoxOperation::Register(record.clone()))
        .await
        .unwrap();
    mine(&chain, 1).await;
    let deadline = std::time::Instant::now() + SETTLE_TIMEOUT;
    loop {
        let status = registrar.status(record.node_id).await.unwrap().unwrap();
        if matches!(status.state, BoxState::Confirmed { .. }) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not confirmed by the poller: {status:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    drop(registrar);
    tokio::time::timeout(SETTLE_TIMEOUT, poller)
        .await
        .expect("poller ends")
        .unwrap();
}

#[tokio::test]
async fn another_operation_on_a_box_in_flight_is_refused_as_busy() {
    let chain = chain(&[]).await;
    automine(&chain, false).await;
    let dir = tempfile::tempdir().unwrap();
    let registrar = registrar(config(&chain, 1), 0, journal(&dir)).await;
    let record = sample_fleet(1).remove(0);
    registrar
        .submit(BoxOperation::Register(record.clone()))
        .await
        .unwrap();
    let err = registrar
        .submit(BoxOperation::Deregister(record.node_id))
        .await
        .unwrap_err();
    assert!(matches!(err, BoxError::Busy { .. }), "{err:?}");
}

#[tokio::test]
async fn an_operator_that_cannot_pay_gets_a_refusal_on_the_box_and_keeps_its_nonce() {
    let chain = chain(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let broke =
        control_plane_chain::OperatorKey::from_hex(&format!("0x{}", "11".repeat(32))).unwrap();
    let registrar =
        control_plane_chain::Registrar::connect(config(&chain, 1), &broke, journal(&dir))
            .await
            .unwrap();
    let record = sample_fleet(1).remove(0);
    let err = registrar
        .submit(BoxOperation::Register(record.clone()))
        .await
        .unwrap_err();
    let message = match &err {
        BoxError::Refused { message, .. } => message.clone(),
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(message.to_lowercase().contains("fund"), "{message}");
    let status = registrar.status(record.node_id).await.unwrap().unwrap();
    assert!(
        matches!(&status.state, BoxState::Failed { reason } if reason.contains(&message)),
        "{status:?}"
    );

    // Funded, the same box goes through with nonce 0: the refused transaction used none.
    chain
        .chain
        .request(
            "anvil_setBalance",
            serde_json::json!([broke.address(), "0x56bc75e2d63100000"]),
        )
        .await
        .unwrap();
    registrar
        .submit(BoxOperation::Register(record.clone()))
        .await
        .unwrap();
    let status = registrar
        .wait_settled(&[record.node_id], SETTLE_TIMEOUT)
        .await
        .unwrap()
        .remove(0);
    assert!(
        matches!(status.state, BoxState::Confirmed { .. }),
        "{status:?}"
    );
    assert_eq!(mined_nonce(&chain, broke.address()).await, 1);
}

#[tokio::test]
async fn the_crate_limits_match_the_contract() {
    let chain = chain(&[]).await;
    let registry = NodeRegistry::new(chain.contract, chain.chain.provider());
    let endpoint = registry.MAX_ENDPOINT_LENGTH().call().await.unwrap();
    let zone = registry.MAX_ZONE_LENGTH().call().await.unwrap();
    use control_plane_chain::limits::{MAX_ENDPOINT_LENGTH, MAX_ZONE_LENGTH};
    assert_eq!(endpoint, alloy::primitives::U256::from(MAX_ENDPOINT_LENGTH));
    assert_eq!(zone, alloy::primitives::U256::from(MAX_ZONE_LENGTH));
}

#[tokio::test]
async fn concurrent_submissions_send_one_transaction_per_box() {
    use futures::StreamExt;
    let chain = chain(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let registrar = registrar(config(&chain, 1), 0, journal(&dir)).await;
    let fleet = sample_fleet(8);
    // Every box asked for three times, all at once.
    let requests = fleet.iter().chain(&fleet).chain(&fleet);
    let results: Vec<_> = futures::stream::iter(requests)
        .map(|record| registrar.submit(BoxOperation::Register(record.clone())))
        .buffer_unordered(12)
        .collect()
        .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let ids: Vec<_> = fleet.iter().map(|r| r.node_id).collect();
    let statuses = registrar.wait_settled(&ids, SETTLE_TIMEOUT).await.unwrap();
    assert!(
        statuses
            .iter()
            .all(|s| matches!(s.state, BoxState::Confirmed { .. })),
        "{statuses:?}"
    );
    assert_eq!(
        mined_nonce(&chain, registrar.operator()).await,
        fleet.len() as u64
    );
    assert_eq!(
        logs::<NodeRegistry::NodeRegistered>(&chain).await.len(),
        fleet.len()
    );
}
