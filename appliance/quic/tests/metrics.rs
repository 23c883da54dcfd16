//! The server's metrics: cells served, bytes, latency histogram, refusals by reason. One test in
//! its own process, since it installs the global metrics recorder.

use std::sync::Arc;

use appliance_protocol::sample_frames::{CellsRequest, ErrorCode, Request, Response};
use appliance_quic::server_metrics::{BYTES_SERVED, REJECTED, REQUEST_SECONDS, SAMPLES_SERVED};
use appliance_quic::{
    MemorySource, NodeIdentity, SampleClient, SampleServer, ServerLimits, StoredChunk,
};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::MetricKind;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_cells_bytes_latency_and_refusals_are_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let source = Arc::new(MemorySource::new());
    let chunk = StoredChunk {
        commitment: [3; 48],
        cells: vec![[1; 2048]; 128],
        proofs: vec![[2; 48]; 128],
    };
    let blob = source.insert(10, vec![chunk]);
    let identity = NodeIdentity::generate().unwrap();
    let server = SampleServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        &identity,
        source,
        ServerLimits::default(),
    )
    .unwrap();
    let client = SampleClient::connect(server.local_addr().unwrap(), Some(identity.node_id()))
        .await
        .unwrap();
    for _ in 0..3 {
        let request = CellsRequest::new(blob, 0, vec![5, 6, 7, 8]).unwrap();
        client.get_cells(&request).await.unwrap();
    }
    let mut bad = Request::Commitments(blob).encode();
    bad[4] = 0;
    let (mut send, mut recv) = client.connection().open_bi().await.unwrap();
    let _ = send.write_all(&bad).await;
    let _ = send.finish();
    let body = appliance_quic::frame_io::read_frame_body(&mut recv, 4096)
        .await
        .unwrap();
    let Response::Error(error) = Response::decode_body(&body).unwrap() else {
        panic!("garbage was answered");
    };
    assert_eq!(error.code(), ErrorCode::MALFORMED_FRAME);
    client.close().await;
    server.shutdown().await;

    let mut served = None;
    let mut bytes = None;
    let mut latencies = 0;
    let mut malformed = None;
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let (kind, key) = key.into_parts();
        let labels: Vec<_> = key
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        match (kind, key.name(), value) {
            (MetricKind::Counter, SAMPLES_SERVED, DebugValue::Counter(n)) => served = Some(n),
            (MetricKind::Counter, BYTES_SERVED, DebugValue::Counter(n)) => bytes = Some(n),
            (MetricKind::Histogram, REQUEST_SECONDS, DebugValue::Histogram(values)) => {
                assert_eq!(labels, [("kind".to_owned(), "cells".to_owned())]);
                latencies += values.len();
            }
            (MetricKind::Counter, REJECTED, DebugValue::Counter(n)) => {
                assert_eq!(
                    labels,
                    [("reason".to_owned(), "malformed_frame".to_owned())]
                );
                malformed = Some(n);
            }
            _ => {}
        }
    }
    assert_eq!(served, Some(12));
    let cells_frame = 4 + 9 + 4 * 2098;
    assert!(
        bytes.unwrap() as usize >= 3 * cells_frame,
        "bytes {bytes:?}"
    );
    assert_eq!(latencies, 3);
    assert_eq!(malformed, Some(1));
}
