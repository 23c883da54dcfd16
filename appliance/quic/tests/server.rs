//! The sample server against well-behaved and abusive clients: answers, error codes, limits, and
//! the server still serving others afterwards.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use appliance_protocol::da_limits::BYTES_PER_CELL;
use appliance_protocol::sample_frames::{
    BlobCommitments, CellEntry, CellsRequest, ErrorCode, Request, Response, MAGIC, VERSION,
};
use appliance_protocol::BlobId;
use appliance_quic::frame_io::read_frame_body;
use appliance_quic::limits::MAX_RESPONSE_BYTES;
use appliance_quic::{
    ClientError, MemorySource, NodeIdentity, SampleClient, SampleServer, SampleSource,
    ServerLimits, SourceError, StoredChunk,
};
use rand::{Rng, RngCore, SeedableRng};

fn random_chunk(rng: &mut impl Rng) -> StoredChunk {
    let mut commitment = [0u8; 48];
    rng.fill_bytes(&mut commitment);
    StoredChunk {
        commitment,
        cells: (0..128)
            .map(|_| {
                let mut cell = [0u8; BYTES_PER_CELL];
                rng.fill_bytes(&mut cell);
                cell
            })
            .collect(),
        proofs: (0..128).map(|_| rng.random()).collect(),
    }
}

struct Fixture {
    server: SampleServer,
    addr: SocketAddr,
    blob: BlobId,
    chunks: Vec<StoredChunk>,
}

fn start(
    limits: ServerLimits,
    wrap: impl FnOnce(Arc<MemorySource>) -> Arc<dyn SampleSource>,
) -> Fixture {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let chunks: Vec<StoredChunk> = (0..3).map(|_| random_chunk(&mut rng)).collect();
    let source = Arc::new(MemorySource::new());
    let blob = source.insert(300_000, chunks.clone());
    let identity = NodeIdentity::generate().unwrap();
    let server = SampleServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        &identity,
        wrap(source),
        limits,
    )
    .unwrap();
    let addr = server.local_addr().unwrap();
    Fixture {
        server,
        addr,
        blob,
        chunks,
    }
}

fn start_default() -> Fixture {
    start(ServerLimits::default(), |source| source)
}

impl Fixture {
    async fn client(&self) -> SampleClient {
        SampleClient::connect(self.addr, Some(self.server.node_id()))
            .await
            .unwrap()
    }

    /// The server still answers a valid request correctly.
    async fn assert_serving(&self, client: &SampleClient) {
        let request = CellsRequest::new(self.blob, 1, vec![9, 0, 127]).unwrap();
        let response = client.get_cells(&request).await.unwrap();
        assert_eq!(*response.cells()[2].cell, self.chunks[1].cells[127]);
    }
}

/// Sends raw bytes on a new stream (finishing it when `finish`) and reads the response frame.
async fn raw_exchange(client: &SampleClient, bytes: &[u8], finish: bool) -> Response {
    let (mut send, mut recv) = client.connection().open_bi().await.unwrap();
    // A refusing server stops the stream; writing may fail then, the answer still comes.
    let _ = send.write_all(bytes).await;
    if finish {
        let _ = send.finish();
    }
    let body = tokio::time::timeout(
        Duration::from_secs(5),
        read_frame_body(&mut recv, MAX_RESPONSE_BYTES),
    )
    .await
    .expect("the server answers in time")
    .unwrap();
    Response::decode_body(&body).unwrap()
}

fn error_code(response: Response) -> ErrorCode {
    match response {
        Response::Error(error) => error.code(),
        other => panic!("expected an error frame, got {other:?}"),
    }
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut frame = (body.len() as u32).to_le_bytes().to_vec();
    frame.extend_from_slice(body);
    frame
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_client_gets_commitments_and_cells() {
    let fixture = start_default();
    let client = fixture.client().await;
    assert_eq!(client.node_id(), fixture.server.node_id());
    let commitments = client.get_commitments(&fixture.blob).await.unwrap();
    assert_eq!(commitments.size(), 300_000);
    let expected: Vec<_> = fixture.chunks.iter().map(|c| c.commitment).collect();
    assert_eq!(commitments.commitments(), expected.as_slice());
    let request = CellsRequest::new(fixture.blob, 2, (0..128).rev().collect()).unwrap();
    let response = client.get_cells(&request).await.unwrap();
    assert_eq!(response.cells().len(), 128);
    for entry in response.cells() {
        let i = usize::from(entry.index);
        assert_eq!(*entry.cell, fixture.chunks[2].cells[i]);
        assert_eq!(entry.proof, fixture.chunks[2].proofs[i]);
    }
    client.close().await;
    fixture.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_pin_is_refused_and_no_pin_learns_the_id() {
    let fixture = start_default();
    let other = NodeIdentity::generate().unwrap().node_id();
    match SampleClient::connect(fixture.addr, Some(other)).await {
        Err(ClientError::PinMismatch(mismatch)) => {
            assert_eq!(mismatch.expected, other);
            assert_eq!(mismatch.got, fixture.server.node_id());
        }
        Err(e) => panic!("expected a pin mismatch, got {e}"),
        Ok(_) => panic!("a wrong pin was accepted"),
    }
    let unpinned = SampleClient::connect(fixture.addr, None).await.unwrap();
    assert_eq!(unpinned.node_id(), fixture.server.node_id());
    fixture.assert_serving(&unpinned).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_errors_reach_the_client_as_codes() {
    let fixture = start_default();
    let client = fixture.client().await;
    let refused = |result: Result<_, ClientError>| match result {
        Err(ClientError::Refused(error)) => error.code(),
        Err(e) => panic!("expected a refusal, got {e}"),
        Ok(_) => panic!("expected a refusal"),
    };
    let unknown = BlobId([1; 32]);
    assert_eq!(
        refused(client.get_commitments(&unknown).await.map(drop)),
        ErrorCode::UNKNOWN_BLOB
    );
    let request = CellsRequest::new(fixture.blob, 3, vec![1]).unwrap();
    assert_eq!(
        refused(client.get_cells(&request).await.map(drop)),
        ErrorCode::CHUNK_OUT_OF_RANGE
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_get_error_codes_and_the_connection_goes_on() {
    let fixture = start_default();
    let client = fixture.client().await;
    let blob = fixture.blob.0;

    // Too many cells: the count alone is refused.
    let mut body = vec![MAGIC, VERSION, 0x02];
    body.extend_from_slice(&blob);
    body.extend_from_slice(&0u32.to_le_bytes());
    body.extend_from_slice(&129u16.to_le_bytes());
    let code = error_code(raw_exchange(&client, &frame(&body), true).await);
    assert_eq!(code, ErrorCode::TOO_MANY_CELLS);

    // Duplicate and out-of-range indices.
    let mut body = vec![MAGIC, VERSION, 0x02];
    body.extend_from_slice(&blob);
    body.extend_from_slice(&0u32.to_le_bytes());
    body.extend_from_slice(&2u16.to_le_bytes());
    body.extend_from_slice(&[4, 0, 4, 0]);
    let code = error_code(raw_exchange(&client, &frame(&body), true).await);
    assert_eq!(code, ErrorCode::BAD_CELL_INDEX);
    let last = body.len() - 2;
    body[last] = 200;
    let code = error_code(raw_exchange(&client, &frame(&body), true).await);
    assert_eq!(code, ErrorCode::BAD_CELL_INDEX);

    // Another version, bad magic, unknown kind, a response sent as a request.
    let request = Request::Commitments(fixture.blob).encode();
    let mut other_version = request.clone();
    other_version[5] = 2;
    let code = error_code(raw_exchange(&client, &other_version, true).await);
    assert_eq!(code, ErrorCode::UNSUPPORTED_VERSION);
    for (at, value) in [(4, 0x00), (6, 0x7F), (6, 0x81)] {
        let mut bad = request.clone();
        bad[at] = value;
        let code = error_code(raw_exchange(&client, &bad, true).await);
        assert_eq!(code, ErrorCode::MALFORMED_FRAME, "byte {at} = {value:#x}");
    }

    // A frame cut short by the end of the stream.
    let code = error_code(raw_exchange(&client, &request[..20], true).await);
    assert_eq!(code, ErrorCode::MALFORMED_FRAME);

    // An oversized prefix is refused at once, without waiting for (or finishing) the body.
    let started = std::time::Instant::now();
    let code = error_code(raw_exchange(&client, &(1u32 << 20).to_le_bytes(), false).await);
    assert_eq!(code, ErrorCode::FRAME_TOO_LARGE);
    assert!(started.elapsed() < Duration::from_secs(2));

    fixture.assert_serving(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzed_frames_never_break_the_server() {
    let fixture = start_default();
    let client = fixture.client().await;
    let rounds: usize = std::env::var("SAMPLE_FUZZ_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let valid = [
        Request::Commitments(fixture.blob).encode(),
        Request::Cells(CellsRequest::new(fixture.blob, 0, vec![1, 2, 3]).unwrap()).encode(),
    ];
    for round in 0..rounds {
        let bytes = if round % 3 == 0 {
            let mut junk = vec![0u8; rng.random_range(0..400)];
            rng.fill_bytes(&mut junk);
            junk
        } else {
            let mut bytes = valid[round % 2].clone();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..bytes.len());
                bytes[at] ^= rng.random_range(1..=255u8);
            }
            bytes
        };
        match raw_exchange(&client, &bytes, true).await {
            Response::Error(error) => assert!(
                error.code().name().is_some(),
                "round {round}: unnamed code {}",
                error.code()
            ),
            // A mutation that stays a valid request (another chunk, cell or blob) is answered.
            Response::Commitments(_) | Response::Cells(_) => {
                assert!(
                    Request::decode(&bytes).is_ok(),
                    "round {round}: invalid frame answered"
                );
            }
        }
    }
    fixture.assert_serving(&client).await;
    fixture.assert_serving(&fixture.client().await).await;
}

fn short_limits() -> ServerLimits {
    ServerLimits {
        max_streams_per_connection: 4,
        request_timeout: Duration::from_millis(400),
        ..ServerLimits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_limit_and_request_timeout_stop_a_slow_client() {
    let fixture = start(short_limits(), |source| source);
    let slow = fixture.client().await;
    // Fill every stream slot with a request that never completes.
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let (mut send, recv) = slow.connection().open_bi().await.unwrap();
        send.write_all(&[0x29, 0]).await.unwrap();
        stalled.push((send, recv));
    }
    // A fifth stream must wait for a slot.
    let fifth = tokio::time::timeout(Duration::from_millis(150), slow.connection().open_bi()).await;
    assert!(fifth.is_err(), "a fifth stream opened past the limit of 4");
    // Meanwhile other clients are served.
    fixture.assert_serving(&fixture.client().await).await;
    // The stalled requests are timed out with an error frame and a stopped stream.
    for (mut send, mut recv) in stalled {
        let body = read_frame_body(&mut recv, MAX_RESPONSE_BYTES)
            .await
            .unwrap();
        assert_eq!(
            error_code(Response::decode_body(&body).unwrap()),
            ErrorCode::TIMEOUT
        );
        let stopped = send.write_all(&[0; 64]).await;
        assert!(
            matches!(stopped, Err(quinn::WriteError::Stopped(code)) if code == quinn::VarInt::from_u32(9)),
            "stream not stopped with the timeout code: {stopped:?}"
        );
    }
    // Slots free up again for the same connection.
    tokio::time::timeout(Duration::from_secs(5), fixture.assert_serving(&slow))
        .await
        .expect("a slot frees up after the timeouts");
}

/// A source that blocks on one blob, panics on another, and serves the rest from memory.
struct Troublesome {
    inner: Arc<MemorySource>,
}

const SLOW_BLOB: BlobId = BlobId([0x51; 32]);
const PANIC_BLOB: BlobId = BlobId([0x9a; 32]);

impl SampleSource for Troublesome {
    fn commitments(&self, blob: &BlobId) -> Result<BlobCommitments, SourceError> {
        if *blob == SLOW_BLOB {
            std::thread::sleep(Duration::from_millis(800));
        }
        assert_ne!(*blob, PANIC_BLOB, "a bug in the store");
        self.inner.commitments(blob)
    }

    fn cells(
        &self,
        blob: &BlobId,
        chunk: u32,
        indices: &[u16],
    ) -> Result<Vec<CellEntry>, SourceError> {
        self.inner.cells(blob, chunk, indices)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_store_answers_internal_and_a_full_store_answers_busy() {
    let limits = ServerLimits {
        max_source_calls: 1,
        source_queue_timeout: Duration::from_millis(200),
        ..ServerLimits::default()
    };
    let fixture = start(limits, |inner| Arc::new(Troublesome { inner }));
    let client = Arc::new(fixture.client().await);
    let code = error_code(
        client
            .request(&Request::Commitments(PANIC_BLOB))
            .await
            .unwrap(),
    );
    assert_eq!(code, ErrorCode::INTERNAL);

    let slow = {
        let client = client.clone();
        tokio::spawn(async move { client.request(&Request::Commitments(SLOW_BLOB)).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let busy = client
        .request(&Request::Commitments(fixture.blob))
        .await
        .unwrap();
    assert_eq!(error_code(busy), ErrorCode::BUSY);
    // The slow call itself completes (that blob is unknown to the memory store).
    let code = error_code(slow.await.unwrap().unwrap());
    assert_eq!(code, ErrorCode::UNKNOWN_BLOB);
    fixture.assert_serving(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_are_refused() {
    let limits = ServerLimits {
        max_connections: 1,
        ..ServerLimits::default()
    };
    let fixture = start(limits, |source| source);
    let first = fixture.client().await;
    let second = SampleClient::connect(fixture.addr, Some(fixture.server.node_id())).await;
    assert!(
        matches!(second, Err(ClientError::Connect(_))),
        "second connection accepted"
    );
    fixture.assert_serving(&first).await;
    first.close().await;
    // The slot is released once the first connection is gone.
    let mut third = None;
    for _ in 0..20 {
        if let Ok(client) =
            SampleClient::connect(fixture.addr, Some(fixture.server.node_id())).await
        {
            third = Some(client);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fixture
        .assert_serving(&third.expect("a slot freed up"))
        .await;
}
