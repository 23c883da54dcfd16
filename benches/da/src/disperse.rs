//! Dispersal throughput, in MB/s of blob input on all cores: the `kernels` encoding of the
//! chunks alone (the reference), `BlobStore::disperse` (the library: encoding pipelined with
//! engine writes, manifest commit), `POST /v1/blobs` on loopback, and the other order (every
//! chunk encoded with `encode_chunked`, then every chunk object stored) for comparison.
//!
//! Every measurement disperses fresh bytes (the store answers repeated bytes without work).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use appliance::cli::parse_size;
use appliance::http::AppState;
use appliance::server;
use appliance_da::chunk_object::{self, blob_key};
use appliance_da::limits::{INPUT_BYTES_PER_CHUNK, MAX_BLOB_SIZE};
use appliance_da::packing::{chunk_count, pack};
use appliance_da::{BlobStore, BlobStoreConfig};
use appliance_storage::{Engine, EngineConfig};
use kernels::KzgSettings;
use rayon::prelude::*;

/// Dispersal flags.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder for the drive files and the manifest. [default: a new temporary folder, removed
    /// afterwards]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Size of each dispersed blob.
    #[arg(long, value_name = "SIZE", default_value = "8MiB", value_parser = parse_size)]
    pub blob_size: u64,
    /// Size of each of the six sparse drive files.
    #[arg(long, value_name = "SIZE", default_value = "4GiB", value_parser = parse_size)]
    pub drive_size: u64,
}

/// Seconds of each path in one run.
struct Run {
    kernels: f64,
    library: f64,
    http: f64,
    encode_then_store: f64,
}

/// Picks one path's seconds out of a run.
type Seconds = fn(&Run) -> f64;

/// Runs every measurement `repeat` times and returns the table.
pub fn measure(args: &Args, repeat: usize) -> anyhow::Result<String> {
    ensure!(
        (1..=MAX_BLOB_SIZE).contains(&args.blob_size),
        "--blob-size must be 1 byte to {MAX_BLOB_SIZE} bytes"
    );
    let temp;
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir().context("creating a temporary folder")?;
            temp.path().to_path_buf()
        }
    };
    let mut cfg = EngineConfig::new(&dir);
    cfg.file_drive_size = args.drive_size;
    Engine::format(&cfg, true).context("formatting the drive files")?;
    let engine = Engine::open(cfg).context("opening the engine")?;
    let mut blob_cfg = BlobStoreConfig::new(&dir);
    blob_cfg.max_blob_size = args.blob_size;
    let store = BlobStore::open(engine.clone(), blob_cfg).context("opening the blob store")?;
    eprintln!("da-bench: building the KZG tables...");
    KzgSettings::ethereum().precompute();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting tokio")?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .context("binding 127.0.0.1:0")?;
    let url = format!("http://{}/v1/blobs", listener.local_addr()?);
    let state = Arc::new(AppState {
        max_object_size: engine.max_object_size(),
        engine: engine.clone(),
        cluster: None,
        blobs: Some(store.clone()),
        node_id: None,
        metrics: None,
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(3600))
        .build()?;

    let size = args.blob_size as usize;
    let mut seed = 0u64;
    let mut fresh = || {
        seed += 1;
        blob(size, seed)
    };
    let mut runs = Vec::new();
    for round in 1..=repeat {
        eprintln!("round {round}: kernels alone...");
        let data = fresh();
        let kernels = time(|| {
            KzgSettings::ethereum().encode_chunked(&pack(&data))?;
            Ok(())
        })?;
        eprintln!("round {round}: library...");
        let data = fresh();
        let library = time(|| {
            store.disperse(&data)?;
            Ok(())
        })?;
        eprintln!("round {round}: HTTP on loopback...");
        let data = fresh();
        let http = time(|| {
            let response = http.post(&url).body(data.clone()).send()?;
            ensure!(
                response.status() == 200,
                "POST answered {}",
                response.status()
            );
            Ok(())
        })?;
        eprintln!("round {round}: encode every chunk, then store...");
        let data = fresh();
        let encode_then_store = time(|| encode_then_store(&engine, &data))?;
        runs.push(Run {
            kernels,
            library,
            http,
            encode_then_store,
        });
    }
    let _ = stop.send(());
    runtime.block_on(server)??;

    let mut out = String::new();
    writeln!(
        out,
        "disperse: {} MiB blobs ({} chunks of {INPUT_BYTES_PER_CHUNK} bytes), {} threads, six file drives in {}, median of {repeat} run(s)",
        size as f64 / f64::from(1u32 << 20),
        chunk_count(size),
        rayon::current_num_threads(),
        dir.display()
    )?;
    let rate = |secs: f64| size as f64 / secs / 1e6;
    let kernels = median(runs.iter().map(|r| r.kernels));
    writeln!(
        out,
        "  {:<40} {:>8.2} MB/s",
        "kernels encode_chunked (reference)",
        rate(kernels)
    )?;
    let rows: [(&str, Seconds); 3] = [
        ("library BlobStore::disperse", |r| r.library),
        ("HTTP POST /v1/blobs (loopback)", |r| r.http),
        ("encode all, then store (no manifest)", |r| {
            r.encode_then_store
        }),
    ];
    for (name, secs) in rows {
        let value = median(runs.iter().map(secs));
        let overhead = median(runs.iter().map(|r| secs(r) / r.kernels - 1.0));
        writeln!(
            out,
            "  {name:<40} {:>8.2} MB/s   overhead {:+.1}% over kernels",
            rate(value),
            overhead * 100.0
        )?;
    }
    Ok(out)
}

/// The other order: `encode_chunked` over the whole blob, then every chunk object put in
/// parallel (what dispersal would cost without overlapping encoding and writes).
fn encode_then_store(engine: &Engine, data: &[u8]) -> anyhow::Result<()> {
    let key = blob_key(data);
    let chunks = KzgSettings::ethereum().encode_chunked(&pack(data))?;
    chunks
        .par_iter()
        .enumerate()
        .try_for_each(|(index, chunk)| {
            let object = chunk_object::build(&key, index as u32, 0, &chunk.cells, &chunk.proofs);
            engine.put(&object).map(|_| ())
        })?;
    Ok(())
}

fn time(f: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed().as_secs_f64())
}

/// Deterministic pseudo-random bytes, distinct per seed.
pub(crate) fn blob(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// The median of `values` (the mean of the middle two for an even count).
pub(crate) fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}
