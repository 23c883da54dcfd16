//! QUIC sample serving on loopback: throughput in verified-size samples per second (one sample
//! is a cell and its proof, 2,096 bytes) and per-request p50/p99 latency, with `--clients`
//! concurrent clients (one QUIC connection each) asking for `--cells-per-request` random cells of
//! random chunks of a dispersed blob. Served from memory (`MemorySource`, the blob's cells) as the
//! reference, and from the DA store exactly as `appliance up` serves them (`StoreSource` over
//! `BlobStore`): with the default chunk cache (after the warm-up every chunk is in memory), and
//! with no cache (every request looks its chunk up in the manifest, reads the span of its cells
//! from the drives and checks their digests). The store's figures are printed as ratios of the
//! reference's.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use appliance::cli::parse_size;
use appliance::limits::DEFAULT_SAMPLE_CACHE_BYTES;
use appliance::sample_serving::StoreSource;
use appliance_da::limits::{CELLS_PER_CHUNK, MAX_BLOB_SIZE, RECORD_LEN};
use appliance_da::{BlobStore, BlobStoreConfig};
use appliance_protocol::sample_frames::CellsRequest;
use appliance_protocol::BlobId;
use appliance_quic::{
    MemorySource, NodeId, NodeIdentity, SampleClient, SampleServer, SampleSource, ServerLimits,
    StoredChunk,
};
use appliance_storage::{Engine, EngineConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::disperse::{blob, median};

/// Sample-serving flags.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Concurrent clients, each on its own QUIC connection with one request in flight.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub clients: usize,
    /// Distinct random cells per request (a sampler asks for a chunk's samples in one request).
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub cells_per_request: usize,
    /// Seconds of load on each source per run (after a one-second warm-up).
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub serve_seconds: u64,
    /// Size of the blob dispersed and then sampled.
    #[arg(long, value_name = "SIZE", default_value = "8MiB", value_parser = parse_size)]
    pub sample_blob_size: u64,
}

/// What one source sustained in one run.
#[derive(Debug, Clone, Copy)]
struct Load {
    samples_per_sec: f64,
    p50: Duration,
    p99: Duration,
}

/// Disperses a blob into a fresh store in `dir`, serves it from the store and from memory in
/// turn, `repeat` times, and returns the table.
pub fn measure(args: &Args, dir: Option<&PathBuf>, repeat: usize) -> anyhow::Result<String> {
    ensure!(
        (1..=MAX_BLOB_SIZE).contains(&args.sample_blob_size),
        "--sample-blob-size must be 1 byte to {MAX_BLOB_SIZE} bytes"
    );
    ensure!(
        (1..=CELLS_PER_CHUNK).contains(&args.cells_per_request),
        "--cells-per-request must be 1 to {CELLS_PER_CHUNK}"
    );
    ensure!(args.clients > 0, "--clients must be at least 1");
    let temp;
    let dir = match dir {
        Some(dir) => dir.join("sample-serving"),
        None => {
            temp = tempfile::tempdir().context("creating a temporary folder")?;
            temp.path().to_path_buf()
        }
    };
    let cfg = EngineConfig::new(&dir);
    Engine::format(&cfg, true).context("formatting the drive files")?;
    let engine = Engine::open(cfg).context("opening the engine")?;
    let mut blob_cfg = BlobStoreConfig::new(&dir);
    blob_cfg.max_blob_size = args.sample_blob_size;
    let store = BlobStore::open(engine, blob_cfg).context("opening the blob store")?;
    eprintln!("sample serving: dispersing the blob...");
    let meta = store.disperse(&blob(args.sample_blob_size as usize, 0x5a))?;
    let chunks = meta.chunks() as u32;
    let memory = Arc::new(MemorySource::new());
    let all: Vec<u16> = (0..CELLS_PER_CHUNK as u16).collect();
    let stored = (0..chunks)
        .map(|chunk| {
            let cells = store.cells(&meta.id, chunk, &all)?;
            Ok(StoredChunk {
                commitment: meta.commitments[chunk as usize],
                cells: cells.iter().map(|(cell, _)| *cell).collect(),
                proofs: cells.iter().map(|(_, proof)| *proof).collect(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let memory_id = memory.insert(meta.size, stored);
    ensure!(memory_id == meta.id, "the in-memory copy has another id");
    let from_memory: Arc<dyn SampleSource> = memory;
    let cached: Arc<dyn SampleSource> =
        Arc::new(StoreSource::new(store.clone(), DEFAULT_SAMPLE_CACHE_BYTES));
    let uncached: Arc<dyn SampleSource> = Arc::new(StoreSource::new(store, 0));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting tokio")?;
    let mut runs = Vec::new();
    for round in 1..=repeat {
        eprintln!("round {round}: serving from memory...");
        let memory = runtime.block_on(serve(from_memory.clone(), meta.id, chunks, args))?;
        eprintln!("round {round}: serving from the DA store with the chunk cache...");
        let cached = runtime.block_on(serve(cached.clone(), meta.id, chunks, args))?;
        eprintln!("round {round}: serving from the DA store without a cache...");
        let uncached = runtime.block_on(serve(uncached.clone(), meta.id, chunks, args))?;
        runs.push([memory, cached, uncached]);
    }

    let mut out = String::new();
    writeln!(
        out,
        "sample serving: {} clients on loopback QUIC, {} random cells per request, {:.0} MiB blob ({chunks} chunks), {} s per source, {} cores, median of {repeat} run(s)",
        args.clients,
        args.cells_per_request,
        args.sample_blob_size as f64 / f64::from(1u32 << 20),
        args.serve_seconds,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    )?;
    let names = [
        "in-memory source (reference)",
        "DA store, chunk cache (appliance up)",
        "DA store, no cache (--sample-cache 0)",
    ];
    for (i, name) in names.iter().enumerate() {
        let rate = median(runs.iter().map(|r| r[i].samples_per_sec));
        let p50 = median(runs.iter().map(|r| r[i].p50.as_secs_f64()));
        let p99 = median(runs.iter().map(|r| r[i].p99.as_secs_f64()));
        write!(
            out,
            "  {name:<38} {rate:>8.0} samples/s {:>7.1} MB/s   p50 {:>6.2} ms   p99 {:>6.2} ms",
            rate * RECORD_LEN as f64 / 1e6,
            p50 * 1e3,
            p99 * 1e3
        )?;
        if i > 0 {
            let ratio = median(
                runs.iter()
                    .map(|r| r[i].samples_per_sec / r[0].samples_per_sec),
            );
            write!(out, "   {ratio:.2}x in-memory")?;
        }
        writeln!(out)?;
    }
    Ok(out)
}

/// Serves `source` on a loopback port and loads it with the configured clients: a one-second
/// warm-up, then `serve_seconds` measured.
async fn serve(
    source: Arc<dyn SampleSource>,
    blob: BlobId,
    chunks: u32,
    args: &Args,
) -> anyhow::Result<Load> {
    let identity = NodeIdentity::generate()?;
    let server = SampleServer::bind(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        &identity,
        source,
        ServerLimits::default(),
    )?;
    let addr = server.local_addr()?;
    let start = Instant::now() + Duration::from_secs(1);
    let end = start + Duration::from_secs(args.serve_seconds);
    let mut tasks = Vec::with_capacity(args.clients);
    for client in 0..args.clients {
        let cells = args.cells_per_request;
        let pin = identity.node_id();
        tasks.push(tokio::spawn(load(
            addr,
            pin,
            blob,
            chunks,
            cells,
            client as u64,
            (start, end),
        )));
    }
    let mut samples = 0usize;
    let mut latencies = Vec::new();
    for task in tasks {
        let (served, times) = task.await??;
        samples += served;
        latencies.extend(times);
    }
    server.shutdown().await;
    ensure!(!latencies.is_empty(), "no request finished in the window");
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    Ok(Load {
        samples_per_sec: samples as f64 / (end - start).as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    })
}

/// One client: requests back to back until `window.1`; counts the cells and latencies of the
/// requests that started at or after `window.0` and finished by `window.1`.
async fn load(
    addr: SocketAddr,
    pin: NodeId,
    blob: BlobId,
    chunks: u32,
    cells: usize,
    seed: u64,
    (start, end): (Instant, Instant),
) -> anyhow::Result<(usize, Vec<Duration>)> {
    let client = SampleClient::connect(addr, Some(pin)).await?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut served = 0;
    let mut latencies = Vec::new();
    loop {
        let began = Instant::now();
        if began >= end {
            break;
        }
        let chunk = rng.random_range(0..chunks);
        let indices = rand::seq::index::sample(&mut rng, CELLS_PER_CHUNK, cells)
            .into_iter()
            .map(|i| i as u16)
            .collect();
        let request = CellsRequest::new(blob, chunk, indices)?;
        let response = client.get_cells(&request).await?;
        let finished = Instant::now();
        if began >= start && finished <= end {
            served += response.cells().len();
            latencies.push(finished - began);
        }
    }
    client.close().await;
    Ok((served, latencies))
}
