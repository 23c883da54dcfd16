//! The sampler against sample servers holding real KZG encodings of random blobs: an honest box
//! verifies; boxes that lie about cells, proofs or commitments, or withhold cells, are caught.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;

use appliance_protocol::sample_frames::{BlobCommitments, CellEntry};
use appliance_protocol::BlobId;
use appliance_quic::{
    MemorySource, NodeIdentity, SampleServer, SampleSource, ServerLimits, SourceError, StoredChunk,
};
use kernels::KzgSettings;
use rand::{RngCore, SeedableRng};
use sampler::confidence::confidence;
use sampler::sampling::SampleError;
use sampler::{exit_code, sample_blob, NodeSpec, SampleConfig};

/// Bytes of the test blob: two chunks, the second partly padding.
const BLOB_BYTES: usize = 200_000;

/// A random blob encoded with `kernels`: every 32-byte word starts with a zero byte, so it is a
/// canonical field element.
fn encoded_blob(seed: u64) -> (u64, Vec<StoredChunk>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut data = vec![0u8; BLOB_BYTES];
    rng.fill_bytes(&mut data);
    for word in data.chunks_mut(32) {
        word[0] = 0;
    }
    let chunks = KzgSettings::ethereum()
        .encode_chunked(&data)
        .unwrap()
        .into_iter()
        .map(|chunk| StoredChunk {
            commitment: chunk.commitment,
            cells: chunk.cells,
            proofs: chunk.proofs,
        })
        .collect();
    (BLOB_BYTES as u64, chunks)
}

/// How a dishonest box misbehaves.
#[derive(Clone, Copy)]
enum Lie {
    /// Flips a byte of every cell it serves.
    CellBytes,
    /// Serves each cell with the proof of another cell.
    Proof,
    /// Claims another size, so its commitments hash to another id.
    Commitments,
    /// Withholds the upper half of every chunk plus one cell (the chunk is lost).
    WithholdHalf,
    /// Lacks every odd column (a custody subset); serves the rest honestly.
    LacksOdd,
}

struct Dishonest {
    inner: MemorySource,
    lie: Lie,
}

impl SampleSource for Dishonest {
    fn commitments(&self, blob: &BlobId) -> Result<BlobCommitments, SourceError> {
        let honest = self.inner.commitments(blob)?;
        match self.lie {
            Lie::Commitments => {
                Ok(BlobCommitments::new(honest.size() + 1, honest.commitments().to_vec()).unwrap())
            }
            _ => Ok(honest),
        }
    }

    fn cells(
        &self,
        blob: &BlobId,
        chunk: u32,
        indices: &[u16],
    ) -> Result<Vec<CellEntry>, SourceError> {
        let withheld = |index: u16| match self.lie {
            Lie::WithholdHalf => index >= 63,
            Lie::LacksOdd => index % 2 == 1,
            _ => false,
        };
        let missing: Vec<u16> = indices.iter().copied().filter(|&i| withheld(i)).collect();
        if !missing.is_empty() {
            return Err(SourceError::CellsUnavailable {
                indices: missing,
                reason: "not held".to_owned(),
            });
        }
        let mut cells = self.inner.cells(blob, chunk, indices)?;
        for entry in &mut cells {
            match self.lie {
                Lie::CellBytes => entry.cell[100] ^= 1,
                Lie::Proof => {
                    let other = (entry.index + 1) % 128;
                    entry.proof = self.inner.cells(blob, chunk, &[other])?[0].proof;
                }
                _ => {}
            }
        }
        Ok(cells)
    }
}

struct Boxed {
    server: SampleServer,
    spec: NodeSpec,
}

fn serve(source: Arc<dyn SampleSource>) -> Boxed {
    let identity = NodeIdentity::generate().unwrap();
    let server = SampleServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        &identity,
        source,
        ServerLimits::default(),
    )
    .unwrap();
    let addr: SocketAddr = server.local_addr().unwrap();
    Boxed {
        spec: NodeSpec {
            pin: Some(server.node_id()),
            addr,
        },
        server,
    }
}

fn honest(size: u64, chunks: Vec<StoredChunk>) -> (BlobId, Arc<dyn SampleSource>) {
    let source = MemorySource::new();
    let blob = source.insert(size, chunks);
    (blob, Arc::new(source))
}

fn dishonest(size: u64, chunks: Vec<StoredChunk>, lie: Lie) -> (BlobId, Arc<dyn SampleSource>) {
    let inner = MemorySource::new();
    let blob = inner.insert(size, chunks);
    (blob, Arc::new(Dishonest { inner, lie }))
}

async fn run(
    nodes: Vec<NodeSpec>,
    blob: BlobId,
    samples: u16,
) -> Result<sampler::SampleReport, SampleError> {
    let config = SampleConfig {
        nodes,
        blob,
        samples,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    sample_blob(&config, &mut rng, Arc::new(|_| {})).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_honest_box_verifies() {
    let (size, chunks) = encoded_blob(1);
    let (blob, source) = honest(size, chunks);
    let node = serve(source);
    let report = run(vec![node.spec], blob, 16).await.unwrap();
    assert_eq!(report.blob, blob);
    assert_eq!(report.size, size);
    assert_eq!(report.chunks, 2);
    assert_eq!(report.cells_verified, 32);
    assert_eq!(report.confidence, confidence(2, 16));
    assert!(report.node_failures.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_cells_and_wrong_proofs_are_caught() {
    let (size, chunks) = encoded_blob(2);
    for lie in [Lie::CellBytes, Lie::Proof] {
        let (blob, source) = dishonest(size, chunks.clone(), lie);
        let node = serve(source);
        let error = run(vec![node.spec], blob, 8).await.unwrap_err();
        assert_eq!(error.exit_code(), exit_code::INVALID);
        let SampleError::Failed { bad, verified, .. } = error else {
            panic!("expected a failed sampling, got {error}");
        };
        assert_eq!(verified, 0);
        assert_eq!(bad.iter().map(|b| b.cells.len()).sum::<usize>(), 16);
        assert!(bad.iter().all(|b| b.node == node.spec));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commitments_that_do_not_hash_to_the_id_are_caught() {
    let (size, chunks) = encoded_blob(3);
    let (blob, source) = dishonest(size, chunks, Lie::Commitments);
    let node = serve(source);
    let error = run(vec![node.spec], blob, 8).await.unwrap_err();
    assert_eq!(error.exit_code(), exit_code::WRONG_COMMITMENTS);
    assert!(
        matches!(error, SampleError::WrongCommitments { node: n, expected, .. } if n == node.spec && expected == blob)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withheld_cells_fail_the_run_and_name_chunk_and_cell() {
    let (size, chunks) = encoded_blob(4);
    let (blob, source) = dishonest(size, chunks, Lie::WithholdHalf);
    let node = serve(source);
    let error = run(vec![node.spec], blob, 30).await.unwrap_err();
    assert_eq!(error.exit_code(), exit_code::UNAVAILABLE);
    let SampleError::Failed {
        bad,
        unavailable,
        verified,
    } = &error
    else {
        panic!("expected a failed sampling, got {error}");
    };
    assert!(bad.is_empty());
    assert!(!unavailable.is_empty());
    assert!(unavailable
        .iter()
        .all(|cell| cell.cell >= 63 && cell.tried.len() == 1));
    assert_eq!(verified + unavailable.len(), 60);
    let message = error.to_string();
    let first = &unavailable[0];
    assert!(message.contains(&format!(
        "chunk {} cell {} unavailable",
        first.chunk, first.cell
    )));
    assert!(message.contains(&node.spec.to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_box_lacking_columns_is_covered_by_another() {
    let (size, chunks) = encoded_blob(5);
    let (blob, partial) = dishonest(size, chunks.clone(), Lie::LacksOdd);
    let (_, full) = honest(size, chunks);
    let partial = serve(partial);
    let full = serve(full);
    let report = run(vec![partial.spec, full.spec], blob, 40).await.unwrap();
    assert_eq!(report.cells_verified, 80);
    assert_eq!(report.commitments_from, partial.spec);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pin_leaves_no_box_to_ask() {
    let (size, chunks) = encoded_blob(6);
    let (blob, source) = honest(size, chunks);
    let node = serve(source);
    let wrong = NodeSpec {
        pin: Some(NodeIdentity::generate().unwrap().node_id()),
        addr: node.spec.addr,
    };
    let error = run(vec![wrong], blob, 8).await.unwrap_err();
    assert_eq!(error.exit_code(), exit_code::NO_COMMITMENTS);
    assert!(error
        .to_string()
        .contains(&format!("presented node id {}", node.server.node_id())));
    // The right pin beside it is used instead.
    let report = run(vec![wrong, node.spec], blob, 8).await.unwrap();
    assert_eq!(report.node_failures.len(), 1);
    assert_eq!(report.node_failures[0].node, wrong);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_confidence_or_exits_non_zero() {
    let (size, chunks) = encoded_blob(7);
    let (blob, source) = honest(size, chunks.clone());
    let good = serve(source);
    let (_, source) = dishonest(size, chunks, Lie::CellBytes);
    let bad = serve(source);
    let sampler = |node: NodeSpec| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sampler"));
        command.args([
            "--node",
            &node.to_string(),
            "--blob",
            &blob.to_string(),
            "--samples",
            "12",
        ]);
        tokio::task::spawn_blocking(move || command.output().unwrap())
    };
    let output = sampler(good.spec).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("verified 24 cells (12 per chunk)"),
        "{stdout}"
    );
    assert!(stdout.contains("confidence 0.99"), "{stdout}");

    let output = sampler(bad.spec).await.unwrap();
    assert_eq!(output.status.code(), Some(i32::from(exit_code::INVALID)));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("node {}: chunk 0 cells", bad.spec)),
        "{stderr}"
    );

    let help = Command::new(env!("CARGO_BIN_EXE_sampler"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("6  a node served a cell or proof"));
    let usage = Command::new(env!("CARGO_BIN_EXE_sampler"))
        .args(["--node", "nowhere", "--blob", &blob.to_string()])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(i32::from(exit_code::USAGE)));
}
