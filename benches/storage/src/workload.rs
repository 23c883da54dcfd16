//! What every measurement shares: the drive files, the engine's configuration and stripe shape.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use appliance_storage::config::default_drive_path;
use appliance_storage::EngineConfig;

use crate::Args;

/// The drives and shape under test.
pub struct Workload {
    /// Engine configuration over the bench's drive files.
    pub cfg: EngineConfig,
    /// Drive files, shared by the raw and the engine tests.
    pub drives: Vec<PathBuf>,
    /// Data shards per stripe.
    pub k: usize,
    /// Parity shards per stripe.
    pub m: usize,
}

impl Workload {
    /// Lays out `args.drives` file drives under `dir`.
    pub fn new(args: &Args, dir: &Path) -> anyhow::Result<Self> {
        if args.drives < 2 {
            bail!("--drives must be at least 2");
        }
        let drives_dir = dir.join("drives");
        std::fs::create_dir_all(&drives_dir)
            .with_context(|| format!("creating {}", drives_dir.display()))?;
        let drives: Vec<PathBuf> = (0..args.drives)
            .map(|i| default_drive_path(dir, i))
            .collect();
        let mut cfg = EngineConfig::new(dir.join("engine"));
        cfg.drives.clone_from(&drives);
        cfg.file_drive_size = args.drive_size;
        cfg.queue_depth = args.queue_depth;
        cfg.stripe_buffers = args.stripe_buffers;
        let (k, m) = cfg.shape(drives.len());
        Ok(Workload { cfg, drives, k, m })
    }

    /// Bytes the drives receive when `data` object bytes are stored: parity included.
    pub fn on_disk(&self, data: u64) -> u64 {
        data * (self.k + self.m) as u64 / self.k as u64
    }
}

/// An object store under test: the engine's library API or its HTTP API.
pub trait Store: Sync {
    /// Stores `data`, returning its id.
    fn put(&self, data: &[u8]) -> anyhow::Result<String>;
    /// Reads the whole object, returning the bytes received.
    fn get(&self, id: &str) -> anyhow::Result<u64>;
}

/// What the engine achieved.
pub struct EngineFigures {
    /// Sequential PUT: object data bytes per second.
    pub put_data_bps: f64,
    /// Sequential GET: object data bytes per second.
    pub get_data_bps: f64,
    /// Random small-object reads per second.
    pub small_iops: f64,
}

/// Runs the PUT, GET and random small-read tests against `store`.
pub fn run(args: &Args, store: &impl Store) -> anyhow::Result<EngineFigures> {
    use std::time::Instant;

    let objects = (args.data / args.object_size).max(1) as usize;
    let clients = args.clients.max(1);
    let size = usize::try_from(args.object_size).context("--object-size")?;

    let start = Instant::now();
    let ids = parallel(clients, objects, |i, content: &mut Vec<u8>| {
        if content.is_empty() {
            *content = noise(size, i as u64);
        }
        content[..8].copy_from_slice(&(i as u64).to_le_bytes());
        store.put(content)
    })?;
    let put_secs = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let got = parallel(clients, objects, |i, _| store.get(&ids[i]))?;
    let get_secs = start.elapsed().as_secs_f64();
    let total: u64 = got.iter().sum();
    anyhow::ensure!(
        total == objects as u64 * args.object_size,
        "GET returned {total} bytes, expected {}",
        objects as u64 * args.object_size
    );

    let small = parallel(
        clients,
        args.small_objects.max(1),
        |i, content: &mut Vec<u8>| {
            let mut data = noise(args.small_size, u64::MAX - i as u64);
            data[..8.min(args.small_size)]
                .copy_from_slice(&(i as u64).to_le_bytes()[..8.min(args.small_size)]);
            content.clear();
            store.put(&data)
        },
    )?;
    let depth = args.random_depth.max(1);
    let start = Instant::now();
    parallel(depth, args.random_reads, |_, _| {
        let id = &small[rand::random_range(0..small.len())];
        let n = store.get(id)?;
        anyhow::ensure!(n == args.small_size as u64, "small read returned {n} bytes");
        Ok(())
    })?;
    let small_secs = start.elapsed().as_secs_f64();
    Ok(EngineFigures {
        put_data_bps: (objects as u64 * args.object_size) as f64 / put_secs,
        get_data_bps: total as f64 / get_secs,
        small_iops: args.random_reads as f64 / small_secs,
    })
}

/// Runs `job(i, scratch)` for `i` in `0..count` on `threads` threads (each with its own scratch
/// buffer), returning the results in `i` order.
fn parallel<T: Send>(
    threads: usize,
    count: usize,
    job: impl Fn(usize, &mut Vec<u8>) -> anyhow::Result<T> + Sync,
) -> anyhow::Result<Vec<T>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, T)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<Vec<(usize, T)>> {
                    let mut scratch = Vec::new();
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= count {
                            return Ok(out);
                        }
                        out.push((i, job(i, &mut scratch)?));
                    }
                })
            })
            .collect();
        let mut all = Vec::with_capacity(count);
        for w in workers {
            all.extend(
                w.join()
                    .map_err(|_| anyhow::anyhow!("bench thread panicked"))??,
            );
        }
        Ok::<_, anyhow::Error>(all)
    })?;
    results.sort_unstable_by_key(|(i, _)| *i);
    Ok(results.into_iter().map(|(_, r)| r).collect())
}

/// `len` pseudo-random bytes (incompressible, distinct per seed).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    use rand::{RngCore, SeedableRng};
    let mut data = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut data);
    data
}
