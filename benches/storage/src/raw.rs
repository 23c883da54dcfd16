//! The raw baseline: io_uring O_DIRECT straight on the drive files through the engine's public
//! device layer (registered pool buffers, fixed files, batches at a queue depth), no engine.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, Context};
use appliance_storage::device::{
    open_drive_file, BlockDevice, BufferPool, IoGroup, IoOp, IoRequest, SlotClass, UringDevice,
};
use appliance_storage::limits::{BLOCK_SIZE, EXTENT_MAX, ZONES_START};
use rand::Rng;

use crate::workload::Workload;
use crate::Args;

/// Raw figures.
pub struct Raw {
    /// Sequential durable write (each write `RWF_DSYNC`, as the engine writes), bytes per second
    /// over all drives.
    pub durable_write_bps: f64,
    /// Sequential write into the drives' caches, then one flush per drive, bytes per second over
    /// all drives (flush included).
    pub cached_write_bps: f64,
    /// Sequential read, bytes per second over all drives.
    pub read_bps: f64,
    /// 4 KiB random reads per second at `--random-depth` in flight.
    pub random_iops: f64,
}

/// Runs the three raw measurements on the workload's drive files. The sequential tests move the
/// bytes the engine's sequential PUT puts on the drives (data and parity), in extent-sized I/Os.
pub fn measure(args: &Args, w: &Workload) -> anyhow::Result<Raw> {
    let qd = args.queue_depth.max(1) as usize;
    let drives = w.drives.len();
    let pool = BufferPool::new(
        EXTENT_MAX,
        drives * qd,
        BLOCK_SIZE,
        args.random_depth.max(1),
    );
    let devices: Vec<Arc<dyn BlockDevice>> = w
        .drives
        .iter()
        .map(|path| {
            let file = open_drive_file(path, Some(args.drive_size))
                .with_context(|| format!("opening {}", path.display()))?;
            let device = UringDevice::new(
                path.display().to_string(),
                file,
                args.queue_depth,
                pool.clone(),
            )
            .with_context(|| format!("starting io_uring on {}", path.display()))?;
            Ok(Arc::new(device) as Arc<dyn BlockDevice>)
        })
        .collect::<anyhow::Result<_>>()?;

    let per_drive = (w.on_disk(args.data) / drives as u64).next_multiple_of(EXTENT_MAX as u64);
    let end = ZONES_START + per_drive;
    anyhow::ensure!(
        end <= args.drive_size,
        "--drive-size {} is too small for --data {} on {drives} drives",
        args.drive_size,
        args.data
    );

    // One unmeasured pass first: it allocates the sparse files' blocks, which the engine's
    // writes then find allocated (formatting keeps them), so both are timed on the same footing.
    sequential(&devices, &pool, qd, end, Pass::CachedWrite)?;
    let bps = |pass: Pass| -> anyhow::Result<f64> {
        let start = Instant::now();
        sequential(&devices, &pool, qd, end, pass)?;
        Ok((per_drive * drives as u64) as f64 / start.elapsed().as_secs_f64())
    };
    let cached_write_bps = bps(Pass::CachedWrite)?;
    let durable_write_bps = bps(Pass::DurableWrite)?;
    let read_bps = bps(Pass::Read)?;

    // Random reads span as many blocks per drive as the small objects of the engine tests occupy
    // (each small object is one block on 1 + m drives), so both read from the same footprint.
    let footprint = (args.small_objects.max(1) * (1 + w.m)).div_ceil(drives) as u64;
    let random_end = (ZONES_START + footprint * BLOCK_SIZE as u64).min(end);
    let start = Instant::now();
    random_reads(
        &devices,
        &pool,
        args.random_depth.max(1),
        args.random_reads,
        random_end,
    )?;
    let random_iops = args.random_reads as f64 / start.elapsed().as_secs_f64();
    Ok(Raw {
        durable_write_bps,
        cached_write_bps,
        read_bps,
        random_iops,
    })
}

fn join_all(
    workers: Vec<std::thread::ScopedJoinHandle<'_, anyhow::Result<()>>>,
) -> anyhow::Result<()> {
    workers
        .into_iter()
        .try_for_each(|w| w.join().map_err(|_| anyhow!("raw I/O thread panicked"))?)
}

fn check(results: Vec<std::io::Result<()>>) -> anyhow::Result<()> {
    results
        .into_iter()
        .try_for_each(|r| r.map_err(|e| anyhow!("raw I/O failed: {e}")))
}

/// What a sequential pass does with each extent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    Read,
    /// Writes into the drive's cache, then flushes the drive once at the end.
    CachedWrite,
    /// Writes each extent durably (`RWF_DSYNC`), no flush.
    DurableWrite,
}

/// Writes or reads `[ZONES_START, end)` of every drive, one thread per drive,
/// keeping `qd` extent-sized operations in flight: each completion, oldest first, is replaced by
/// the next extent at once, as a streaming writer or reader would (not batch by batch, which
/// would leave the drive idle while a batch's slowest operation finishes).
fn sequential(
    devices: &[Arc<dyn BlockDevice>],
    pool: &Arc<BufferPool>,
    qd: usize,
    end: u64,
    pass: Pass,
) -> anyhow::Result<()> {
    std::thread::scope(|scope| {
        let workers: Vec<_> = devices
            .iter()
            .map(|device| {
                scope.spawn(move || -> anyhow::Result<()> {
                    let mut bufs: Vec<_> =
                        (0..qd).map(|_| pool.checkout(SlotClass::Stripe)).collect();
                    for (i, buf) in bufs.iter_mut().enumerate() {
                        buf.as_mut_slice().fill(0x5A ^ i as u8);
                    }
                    let mut in_flight = std::collections::VecDeque::with_capacity(qd);
                    let mut offset = ZONES_START;
                    let mut slot = 0;
                    loop {
                        while in_flight.len() < qd && offset < end {
                            let buf = bufs[slot % qd].ptr_at(0);
                            let op = match pass {
                                Pass::Read => IoOp::Read {
                                    offset,
                                    buf,
                                    len: EXTENT_MAX,
                                },
                                Pass::CachedWrite | Pass::DurableWrite => IoOp::Write {
                                    offset,
                                    buf,
                                    len: EXTENT_MAX,
                                    durable: pass == Pass::DurableWrite,
                                },
                            };
                            let group = IoGroup::new(1);
                            // SAFETY: the pointer is the start of a pool buffer checked out by
                            // this thread (extent-sized, block aligned); the buffer is reused
                            // only after this operation's group reported (oldest first below),
                            // and all stay alive until the loop ends with nothing in flight.
                            unsafe {
                                device.submit(vec![IoRequest {
                                    op,
                                    group: group.clone(),
                                    slot: 0,
                                }])
                            };
                            in_flight.push_back(group);
                            offset += EXTENT_MAX as u64;
                            slot += 1;
                        }
                        let Some(oldest) = in_flight.pop_front() else {
                            break;
                        };
                        check(oldest.wait())?;
                    }
                    if pass == Pass::CachedWrite {
                        let group = IoGroup::new(1);
                        let flush = IoRequest {
                            op: IoOp::Flush,
                            group: group.clone(),
                            slot: 0,
                        };
                        // SAFETY: a flush carries no buffer.
                        unsafe { device.submit(vec![flush]) };
                        check(group.wait())?;
                    }
                    Ok(())
                })
            })
            .collect();
        join_all(workers)
    })
}

/// `count` 4 KiB reads at random block offsets in `[ZONES_START, end)` of random drives, from
/// `depth` threads each keeping one read in flight: the same shape as the engine's readers.
fn random_reads(
    devices: &[Arc<dyn BlockDevice>],
    pool: &Arc<BufferPool>,
    depth: usize,
    count: usize,
    end: u64,
) -> anyhow::Result<()> {
    let blocks = (end - ZONES_START) / BLOCK_SIZE as u64;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..depth)
            .map(|t| {
                let reads = count / depth + usize::from(t < count % depth);
                scope.spawn(move || -> anyhow::Result<()> {
                    let mut buf = pool.checkout(SlotClass::Small);
                    let mut rng = rand::rng();
                    for _ in 0..reads {
                        let device = &devices[rng.random_range(0..devices.len())];
                        let block = rng.random_range(0..blocks);
                        let group = IoGroup::new(1);
                        let read = IoRequest {
                            op: IoOp::Read {
                                offset: ZONES_START + block * BLOCK_SIZE as u64,
                                buf: buf.ptr_at(0),
                                len: BLOCK_SIZE,
                            },
                            group: group.clone(),
                            slot: 0,
                        };
                        // SAFETY: the pointer is this thread's own small pool buffer (one block),
                        // untouched until `wait` below returns.
                        unsafe { device.submit(vec![read]) };
                        check(group.wait())?;
                    }
                    Ok(())
                })
            })
            .collect();
        join_all(workers)
    })
}
