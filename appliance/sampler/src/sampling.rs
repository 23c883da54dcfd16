//! Sampling one blob across one or more boxes: commitments checked against the blob id, N
//! distinct random cells per chunk fetched (spread over the boxes, a failing box replaced by the
//! next), every proof verified.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use appliance_protocol::da_limits::{BYTES_PER_COMMITMENT, CELLS_PER_CHUNK};
use appliance_protocol::sample_frames::{CellEntry, CellsRequest, ErrorCode};
use appliance_protocol::BlobId;
use appliance_quic::{ClientError, SampleClient};
use kernels::KzgSettings;
use rand::Rng;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::confidence::{blob_miss_probability, confidence};
use crate::exit_code;
use crate::limits::{MAX_REQUESTS_IN_FLIGHT, MAX_SAMPLES};
use crate::node_spec::NodeSpec;

/// What to sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleConfig {
    /// The boxes to ask, in order of preference for the commitments.
    pub nodes: Vec<NodeSpec>,
    /// The blob.
    pub blob: BlobId,
    /// Distinct cells to sample in every chunk (1 to 128).
    pub samples: u16,
}

/// A box that could not be used for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFailure {
    /// The box.
    pub node: NodeSpec,
    /// What went wrong.
    pub error: String,
}

impl fmt::Display for NodeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node {}: {}", self.node, self.error)
    }
}

/// A box answered with data that does not verify: proof, cell or framing is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadAnswer {
    /// The box at fault.
    pub node: NodeSpec,
    /// The chunk asked for.
    pub chunk: u32,
    /// The cells at fault.
    pub cells: Vec<u16>,
    /// What is wrong.
    pub reason: String,
}

/// A sampled cell that no box served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnavailableCell {
    /// The chunk.
    pub chunk: u32,
    /// The cell.
    pub cell: u16,
    /// Each box asked, with its answer.
    pub tried: Vec<NodeFailure>,
}

/// The outcome of a sampling run in which every sampled cell verified.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleReport {
    /// The blob.
    pub blob: BlobId,
    /// Bytes of blob input.
    pub size: u64,
    /// Chunks of the blob.
    pub chunks: usize,
    /// Cells sampled per chunk.
    pub samples_per_chunk: usize,
    /// Cells whose proofs verified.
    pub cells_verified: usize,
    /// The box whose commitments were used.
    pub commitments_from: NodeSpec,
    /// Boxes that failed along the way without failing the run (others served their cells).
    pub node_failures: Vec<NodeFailure>,
    /// Upper bound on the probability that the blob is unavailable nonetheless.
    pub miss_probability: f64,
    /// `1 - miss_probability`.
    pub confidence: f64,
}

/// Sampling could not show the blob available.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// No box was named.
    #[error("no --node given")]
    NoNodes,
    /// Samples per chunk outside 1..=128.
    #[error("samples per chunk must be 1 to {MAX_SAMPLES}, got {0}")]
    BadSampleCount(u16),
    /// No box answered the commitments request.
    #[error("no node answered with the blob's commitments:{}", lines(failures))]
    NoCommitments {
        /// Each box with its failure.
        failures: Vec<NodeFailure>,
    },
    /// A box answered with commitments of another blob.
    #[error("node {node} sent commitments that hash to {got}, not to blob {expected}")]
    WrongCommitments {
        /// The box at fault.
        node: NodeSpec,
        /// The blob asked about.
        expected: BlobId,
        /// The id its answer hashes to.
        got: BlobId,
    },
    /// Some sampled cells failed to verify or could not be fetched.
    #[error("{}", failed_summary(bad, unavailable, *verified))]
    Failed {
        /// Answers that did not verify.
        bad: Vec<BadAnswer>,
        /// Cells no box served.
        unavailable: Vec<UnavailableCell>,
        /// Cells that did verify.
        verified: usize,
    },
}

impl SampleError {
    /// The process exit code for this failure (documented in `sampler --help`).
    pub fn exit_code(&self) -> u8 {
        match self {
            SampleError::NoNodes | SampleError::BadSampleCount(_) => exit_code::USAGE,
            SampleError::NoCommitments { .. } => exit_code::NO_COMMITMENTS,
            SampleError::WrongCommitments { .. } => exit_code::WRONG_COMMITMENTS,
            SampleError::Failed { bad, .. } if !bad.is_empty() => exit_code::INVALID,
            SampleError::Failed { .. } => exit_code::UNAVAILABLE,
        }
    }
}

fn lines(failures: &[NodeFailure]) -> String {
    failures.iter().fold(String::new(), |mut out, failure| {
        let _ = write!(out, "\n  {failure}");
        out
    })
}

fn failed_summary(bad: &[BadAnswer], unavailable: &[UnavailableCell], verified: usize) -> String {
    let mut out = format!(
        "{} answers did not verify, {} sampled cells unavailable ({verified} cells verified)",
        bad.len(),
        unavailable.len()
    );
    for answer in bad {
        let _ = write!(
            out,
            "\n  node {}: chunk {} cells {:?}: {}",
            answer.node, answer.chunk, answer.cells, answer.reason
        );
    }
    for cell in unavailable {
        let _ = write!(
            out,
            "\n  chunk {} cell {} unavailable:{}",
            cell.chunk,
            cell.cell,
            lines(&cell.tried).replace("\n  ", "\n    ")
        );
    }
    out
}

/// A named box and its connection (or why there is none).
struct Node {
    spec: NodeSpec,
    client: Result<SampleClient, String>,
}

/// One node's answer to one request, after verification.
enum Fetch {
    /// Every cell verified.
    Verified(usize),
    /// The answer does not verify.
    Bad(BadAnswer),
    /// No answer; `lacks_some` when the box said it cannot serve some of the cells (it may
    /// serve the others).
    Failed {
        failure: NodeFailure,
        lacks_some: bool,
    },
}

#[derive(Default)]
struct Outcome {
    verified: usize,
    bad: Vec<BadAnswer>,
    unavailable: Vec<UnavailableCell>,
}

/// Everything a cell-fetching task needs.
struct Job {
    nodes: Arc<Vec<Node>>,
    /// Indices into `nodes` of the boxes that connected, in order.
    live: Arc<Vec<usize>>,
    blob: BlobId,
    progress: Arc<dyn Fn(u64) + Send + Sync>,
}

/// Samples `config.blob`: see the module docs. `progress` is called with the number of cells
/// each verified answer adds.
pub async fn sample_blob(
    config: &SampleConfig,
    rng: &mut (impl Rng + Send),
    progress: Arc<dyn Fn(u64) + Send + Sync>,
) -> Result<SampleReport, SampleError> {
    if config.nodes.is_empty() {
        return Err(SampleError::NoNodes);
    }
    if config.samples == 0 || config.samples > MAX_SAMPLES {
        return Err(SampleError::BadSampleCount(config.samples));
    }
    // Loading the trusted setup takes a while: overlap it with the handshakes.
    let kzg_loaded = tokio::task::spawn_blocking(|| {
        KzgSettings::ethereum();
    });
    let nodes = Arc::new(connect_all(&config.nodes).await);
    let mut node_failures: Vec<NodeFailure> = nodes
        .iter()
        .filter_map(|node| {
            node.client.as_ref().err().map(|error| NodeFailure {
                node: node.spec,
                error: error.clone(),
            })
        })
        .collect();
    let live: Arc<Vec<usize>> = Arc::new(
        (0..nodes.len())
            .filter(|&i| nodes[i].client.is_ok())
            .collect(),
    );

    let (commitments_from, commitments) =
        fetch_commitments(&nodes, &live, &config.blob, &mut node_failures).await?;
    let samples = usize::from(config.samples);
    let chunks = commitments.commitments().len();
    let plan = draw_plan(rng, chunks, samples, live.len());
    kzg_loaded
        .await
        .expect("loading the trusted setup does not panic");

    let job = Arc::new(Job {
        nodes: nodes.clone(),
        live,
        blob: config.blob,
        progress,
    });
    let in_flight = Arc::new(Semaphore::new(MAX_REQUESTS_IN_FLIGHT));
    let mut tasks = JoinSet::new();
    for ((position, chunk), cells) in plan {
        let commitment = commitments.commitments()[chunk as usize];
        let job = job.clone();
        let in_flight = in_flight.clone();
        tasks.spawn(async move {
            let _slot = in_flight.acquire_owned().await.expect("never closed");
            sample_group(&job, position, chunk, commitment, cells).await
        });
    }
    let mut outcome = Outcome::default();
    while let Some(done) = tasks.join_next().await {
        let group = done.expect("sampling tasks do not panic");
        outcome.verified += group.verified;
        outcome.bad.extend(group.bad);
        outcome.unavailable.extend(group.unavailable);
    }
    if !outcome.bad.is_empty() || !outcome.unavailable.is_empty() {
        outcome.bad.sort_by_key(|answer| answer.chunk);
        outcome
            .unavailable
            .sort_by_key(|cell| (cell.chunk, cell.cell));
        return Err(SampleError::Failed {
            bad: outcome.bad,
            unavailable: outcome.unavailable,
            verified: outcome.verified,
        });
    }
    debug_assert_eq!(outcome.verified, chunks * samples);
    Ok(SampleReport {
        blob: config.blob,
        size: commitments.size(),
        chunks,
        samples_per_chunk: samples,
        cells_verified: outcome.verified,
        commitments_from,
        node_failures,
        miss_probability: blob_miss_probability(chunks, samples),
        confidence: confidence(chunks, samples),
    })
}

async fn connect_all(specs: &[NodeSpec]) -> Vec<Node> {
    let handles: Vec<_> = specs
        .iter()
        .map(|&spec| tokio::spawn(async move { SampleClient::connect(spec.addr, spec.pin).await }))
        .collect();
    let mut nodes = Vec::with_capacity(specs.len());
    for (&spec, handle) in specs.iter().zip(handles) {
        let client = handle
            .await
            .expect("connecting does not panic")
            .map_err(|e| e.to_string());
        nodes.push(Node { spec, client });
    }
    nodes
}

/// The commitments from the first box that answers; a box whose answer hashes to another id
/// fails the run (it is lying about the blob).
async fn fetch_commitments(
    nodes: &[Node],
    live: &[usize],
    blob: &BlobId,
    failures: &mut Vec<NodeFailure>,
) -> Result<(NodeSpec, appliance_protocol::sample_frames::BlobCommitments), SampleError> {
    for &i in live {
        let node = &nodes[i];
        let client = node.client.as_ref().expect("live nodes are connected");
        match client.get_commitments(blob).await {
            Ok(commitments) => return Ok((node.spec, commitments)),
            Err(ClientError::WrongCommitments { expected, got }) => {
                return Err(SampleError::WrongCommitments {
                    node: node.spec,
                    expected,
                    got,
                })
            }
            Err(e) => failures.push(NodeFailure {
                node: node.spec,
                error: e.to_string(),
            }),
        }
    }
    Err(SampleError::NoCommitments {
        failures: failures.clone(),
    })
}

/// Draws `samples` distinct cells per chunk and deals them round-robin to the live boxes:
/// `(position in live boxes, chunk) -> cells`. With no live box everything goes to position 0,
/// whose fetches then fail.
fn draw_plan(
    rng: &mut impl Rng,
    chunks: usize,
    samples: usize,
    live: usize,
) -> BTreeMap<(usize, u32), Vec<u16>> {
    let mut plan: BTreeMap<(usize, u32), Vec<u16>> = BTreeMap::new();
    let mut dealt = 0usize;
    for chunk in 0..chunks {
        let chunk = u32::try_from(chunk).expect("the protocol bounds chunk counts");
        for cell in rand::seq::index::sample(rng, CELLS_PER_CHUNK, samples) {
            let position = dealt % live.max(1);
            dealt += 1;
            let cell = u16::try_from(cell).expect("cell indices are below 128");
            plan.entry((position, chunk)).or_default().push(cell);
        }
    }
    plan
}

/// Fetches one group of cells from its box. If that fails, each cell is asked for alone: from
/// the same box first when it only lacked some of the cells, then from the other live boxes in
/// turn.
async fn sample_group(
    job: &Job,
    position: usize,
    chunk: u32,
    commitment: [u8; BYTES_PER_COMMITMENT],
    cells: Vec<u16>,
) -> Outcome {
    let mut outcome = Outcome::default();
    let Some(&first) = job.live.get(position) else {
        return outcome;
    };
    let first_failure = match fetch(job, first, chunk, commitment, &cells).await {
        Fetch::Verified(count) => {
            outcome.verified += count;
            return outcome;
        }
        Fetch::Bad(bad) => {
            outcome.bad.push(bad);
            return outcome;
        }
        Fetch::Failed {
            failure,
            lacks_some,
        } => (failure, lacks_some),
    };
    let others = (1..job.live.len()).map(|step| job.live[(position + step) % job.live.len()]);
    let (order, known): (Vec<usize>, Vec<NodeFailure>) = match first_failure {
        (_, true) => (std::iter::once(first).chain(others).collect(), Vec::new()),
        (failure, false) => (others.collect(), vec![failure]),
    };
    'cells: for cell in cells {
        let mut tried = known.clone();
        for &node in &order {
            match fetch(job, node, chunk, commitment, &[cell]).await {
                Fetch::Verified(count) => outcome.verified += count,
                Fetch::Bad(bad) => outcome.bad.push(bad),
                Fetch::Failed { failure, .. } => {
                    tried.push(failure);
                    continue;
                }
            }
            continue 'cells;
        }
        outcome
            .unavailable
            .push(UnavailableCell { chunk, cell, tried });
    }
    outcome
}

/// Asks box `node` for `cells` of `chunk` and verifies the answer.
async fn fetch(
    job: &Job,
    node: usize,
    chunk: u32,
    commitment: [u8; BYTES_PER_COMMITMENT],
    cells: &[u16],
) -> Fetch {
    let Node { spec, client } = &job.nodes[node];
    let failed = |error: String, lacks_some: bool| Fetch::Failed {
        failure: NodeFailure { node: *spec, error },
        lacks_some,
    };
    let client = match client {
        Ok(client) => client,
        Err(error) => return failed(error.clone(), false),
    };
    let request = CellsRequest::new(job.blob, chunk, cells.to_vec())
        .expect("the plan draws distinct indices below 128, at most 128 of them");
    let response = match client.get_cells(&request).await {
        Ok(response) => response,
        Err(
            e @ (ClientError::WrongCells { .. }
            | ClientError::Frame(_)
            | ClientError::UnexpectedResponse { .. }),
        ) => {
            return Fetch::Bad(BadAnswer {
                node: *spec,
                chunk,
                cells: cells.to_vec(),
                reason: e.to_string(),
            })
        }
        Err(ClientError::Refused(error)) if error.code() == ErrorCode::CELLS_UNAVAILABLE => {
            return failed(format!("refused: {error}"), true)
        }
        Err(e) => return failed(e.to_string(), false),
    };
    let entries = response.into_cells();
    let count = entries.len();
    let invalid = tokio::task::spawn_blocking(move || invalid_cells(&commitment, &entries))
        .await
        .expect("verification does not panic");
    if invalid.is_empty() {
        (job.progress)(count as u64);
        Fetch::Verified(count)
    } else {
        Fetch::Bad(BadAnswer {
            node: *spec,
            chunk,
            cells: invalid,
            reason: "cell proof does not verify against the chunk commitment".to_owned(),
        })
    }
}

/// The cells whose proofs fail: one batch check for the whole answer, then cell by cell to name
/// the culprits when the batch fails.
fn invalid_cells(commitment: &[u8; BYTES_PER_COMMITMENT], entries: &[CellEntry]) -> Vec<u16> {
    let kzg = KzgSettings::ethereum();
    if verify(kzg, commitment, entries) {
        return Vec::new();
    }
    let culprits: Vec<u16> = entries
        .iter()
        .filter(|entry| !verify(kzg, commitment, std::slice::from_ref(entry)))
        .map(|entry| entry.index)
        .collect();
    if culprits.is_empty() {
        // The batch failed although every cell passes alone: blame the whole answer.
        entries.iter().map(|entry| entry.index).collect()
    } else {
        culprits
    }
}

fn verify(
    kzg: &KzgSettings,
    commitment: &[u8; BYTES_PER_COMMITMENT],
    entries: &[CellEntry],
) -> bool {
    let commitments = vec![commitment; entries.len()];
    let indices: Vec<u64> = entries.iter().map(|entry| u64::from(entry.index)).collect();
    let cells: Vec<&[u8]> = entries.iter().map(|entry| &entry.cell[..]).collect();
    let proofs: Vec<&[u8; 48]> = entries.iter().map(|entry| &entry.proof).collect();
    kzg.verify_cell_kzg_proof_batch(&commitments, &indices, &cells, &proofs)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn plan_draws_distinct_cells_per_chunk_and_spreads_them() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let plan = draw_plan(&mut rng, 5, 20, 3);
        for chunk in 0..5u32 {
            let mut cells: Vec<u16> = plan
                .iter()
                .filter(|((_, c), _)| *c == chunk)
                .flat_map(|(_, cells)| cells.iter().copied())
                .collect();
            assert_eq!(cells.len(), 20);
            cells.sort_unstable();
            cells.dedup();
            assert_eq!(cells.len(), 20, "chunk {chunk} drew a cell twice");
            assert!(cells.iter().all(|&c| usize::from(c) < CELLS_PER_CHUNK));
        }
        for position in 0..3 {
            let dealt: usize = plan
                .iter()
                .filter(|((p, _), _)| *p == position)
                .map(|(_, cells)| cells.len())
                .sum();
            assert!(
                (33..=34).contains(&dealt),
                "box {position} got {dealt} of 100"
            );
        }
    }

    #[test]
    fn exit_codes_follow_the_worst_failure() {
        let node: NodeSpec = "127.0.0.1:1".parse().unwrap();
        let bad = BadAnswer {
            node,
            chunk: 0,
            cells: vec![1],
            reason: "x".into(),
        };
        let gone = UnavailableCell {
            chunk: 0,
            cell: 2,
            tried: vec![],
        };
        let failed = |bad: Vec<BadAnswer>| SampleError::Failed {
            bad,
            unavailable: vec![gone.clone()],
            verified: 3,
        };
        assert_eq!(failed(vec![bad]).exit_code(), exit_code::INVALID);
        assert_eq!(failed(vec![]).exit_code(), exit_code::UNAVAILABLE);
        assert!(failed(vec![])
            .to_string()
            .contains("chunk 0 cell 2 unavailable"));
    }
}
