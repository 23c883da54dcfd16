//! Streamed writes: fill stripes in pool buffers, seal, write durably, then commit the index.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use super::stripe::{self, compact_fill, fill_offset, Shape};
use super::{maintenance, now_secs, Inner, ObjectMeta};
use crate::device::{IoGroup, PoolBuf, SlotClass};
use crate::error::StorageError;

use crate::index::{ObjectRecord, ShardLoc, StripeRecord};
use crate::limits::{EXTENT_PAYLOAD_MAX, SMALL_OBJECT_MAX, WRITE_STRIPES_IN_FLIGHT};
use crate::metrics as m;
use crate::object_id::ObjectId;
use crate::zone_allocator::DriveFull;

/// A write in progress. Bytes passed to [`ObjectWriter::write`] are copied once, into registered
/// pool buffers, and written from there, durably. [`ObjectWriter::finish`] waits for the writes,
/// then commits the index entry. Dropping the writer unfinished discards everything it wrote.
pub struct ObjectWriter {
    inner: Arc<Inner>,
    hasher: blake3::Hasher,
    size: u64,
    write_id: u64,
    started: Instant,
    current: Option<PoolBuf>,
    fill: usize,
    in_flight: VecDeque<Stripe>,
    stripes: Vec<StripeRecord>,
    /// Extents allocated and not yet committed or aborted.
    pending: Vec<(usize, u64)>,
    failed: bool,
}

/// A stripe handed off by the writer: being sealed on the sealing pool, or written.
enum Stripe {
    Sealing(crossbeam_channel::Receiver<Result<InFlight, StorageError>>),
    Written(InFlight),
}

impl Stripe {
    /// Waits for sealing to finish; the stripe's writes are then in flight.
    fn sealed(self) -> Result<InFlight, StorageError> {
        match self {
            Stripe::Written(w) => Ok(w),
            Stripe::Sealing(rx) => rx
                .recv()
                .unwrap_or_else(|_| Err(StorageError::Config("a sealing task died".into()))),
        }
    }
}

/// A stripe whose writes are submitted. Its buffer is held by `group` and goes back to the pool
/// as soon as the writes end, not when the writer next looks.
struct InFlight {
    group: Arc<IoGroup>,
    shards: Vec<(usize, ShardLoc)>,
    record: StripeRecord,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // The writes may still be running: the extents they target are not given up before.
        self.group.wait_idle();
    }
}

impl ObjectWriter {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        ObjectWriter {
            inner,
            hasher: blake3::Hasher::new(),
            size: 0,
            write_id: rand::random(),
            started: Instant::now(),
            current: None,
            fill: 0,
            in_flight: VecDeque::new(),
            stripes: Vec::new(),
            pending: Vec::new(),
            failed: false,
        }
    }

    fn k(&self) -> usize {
        self.inner.layout.k as usize
    }

    /// Appends bytes to the object.
    pub fn write(&mut self, mut data: &[u8]) -> Result<(), StorageError> {
        if self.failed {
            return Err(StorageError::Config("this write already failed".into()));
        }
        let max = self.inner.cfg.max_object_size;
        if self.size + data.len() as u64 > max {
            self.failed = true;
            return Err(StorageError::TooLarge { max });
        }
        self.hasher.update(data);
        self.size += data.len() as u64;
        let capacity = self.k() * EXTENT_PAYLOAD_MAX;
        while !data.is_empty() {
            if self.current.is_none() {
                // Waits while no buffer is free. Every stripe a writer hands off gives its buffer
                // back when its writes end, without that writer's help, so writers never wait on
                // each other for one.
                self.current = Some(self.inner.checkout(SlotClass::Stripe));
            }
            let within = self.fill % EXTENT_PAYLOAD_MAX;
            let n = (EXTENT_PAYLOAD_MAX - within).min(data.len());
            let at = fill_offset(self.fill);
            let buf = self.current.as_mut().expect("checked out above");
            buf.as_mut_slice()[at..at + n].copy_from_slice(&data[..n]);
            self.fill += n;
            data = &data[n..];
            if self.fill == capacity {
                self.seal_current(false)
                    .inspect_err(|_| self.failed = true)?;
            }
        }
        Ok(())
    }

    /// Hands the filled stripe off: full stripes are sealed and written on the sealing pool (so
    /// parity and checksums overlap the caller filling the next stripe); the last one inline.
    fn seal_current(&mut self, last: bool) -> Result<(), StorageError> {
        let buf = self.current.take().expect("a stripe is being filled");
        let job = SealJob {
            buf,
            data_len: std::mem::take(&mut self.fill),
            stripe_no: self.stripes.len() + self.in_flight.len(),
            last,
            write_id: self.write_id,
        };
        if last {
            self.in_flight
                .push_back(Stripe::Written(job.run(&self.inner)?));
        } else {
            let (tx, rx) = crossbeam_channel::bounded(1);
            let inner = Arc::clone(&self.inner);
            rayon::spawn(move || {
                let _ = tx.send(job.run(&inner));
            });
            self.in_flight.push_back(Stripe::Sealing(rx));
        }
        while self.in_flight.len() > WRITE_STRIPES_IN_FLIGHT {
            self.complete_oldest()?;
        }
        Ok(())
    }

    fn complete_oldest(&mut self) -> Result<(), StorageError> {
        let mut stripe = self
            .in_flight
            .pop_front()
            .expect("a stripe in flight")
            .sealed()?;
        self.pending.extend(
            stripe
                .shards
                .iter()
                .map(|(_, l)| (l.drive as usize, l.offset)),
        );
        let results = stripe.group.wait();
        for (&(i, loc), result) in stripe.shards.iter().zip(results) {
            if let Err(e) = result {
                self.drop_shard(&mut stripe.record, i, loc, &format!("write failed: {e}"));
            }
        }
        self.check_stripe(&stripe.record)?;
        self.stripes.push(stripe.record.clone());
        Ok(())
    }

    /// Forgets shard `i` of `record` after its drive failed it, and takes the drive offline.
    fn drop_shard(&mut self, record: &mut StripeRecord, i: usize, loc: ShardLoc, why: &str) {
        let drive = &self.inner.drives[loc.drive as usize];
        drive
            .write_errors
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if drive.is_online() {
            tracing::error!(drive = loc.drive, path = %drive.path.display(), why, "taking drive offline");
            drive.take_offline(why.to_string());
        }
        record.shards[i] = None;
        self.inner
            .alloc
            .lock()
            .abort(loc.drive as usize, loc.offset);
        self.pending
            .retain(|&(d, o)| (d, o) != (loc.drive as usize, loc.offset));
    }

    fn check_stripe(&self, record: &StripeRecord) -> Result<(), StorageError> {
        let written = record.shards.iter().flatten().count();
        if written < record.k as usize {
            return Err(StorageError::NotEnoughDrives {
                online: written,
                needed: record.k as usize,
            });
        }
        Ok(())
    }

    /// Waits for the object's writes, which are durable when they complete, then makes it
    /// visible; returns its metadata. Storing content that is already stored returns the
    /// existing object.
    pub fn finish(mut self) -> Result<ObjectMeta, StorageError> {
        if self.failed {
            return Err(StorageError::Config("this write already failed".into()));
        }
        if self.fill > 0 {
            self.seal_current(true)?;
        }
        while !self.in_flight.is_empty() {
            self.complete_oldest()?;
        }
        let id = ObjectId(*self.hasher.finalize().as_bytes());
        let record = ObjectRecord {
            size: self.size,
            write_id: self.write_id,
            created: now_secs(),
            m: self.inner.layout.m,
            stripes: std::mem::take(&mut self.stripes),
        };
        let existing = self
            .inner
            .commits
            .insert_if_absent(&self.inner.db, id, &record)?;
        let pending = std::mem::take(&mut self.pending);
        {
            let mut alloc = self.inner.alloc.lock();
            for s in &record.stripes {
                for loc in s.shards.iter().flatten() {
                    let (d, o) = (loc.drive as usize, loc.offset);
                    if existing.is_some() {
                        alloc.abort(d, o);
                    } else {
                        alloc.commit(d, o, s.extent_len as u64);
                    }
                }
            }
            debug_assert_eq!(
                pending.len(),
                record
                    .stripes
                    .iter()
                    .map(|s| s.shards.iter().flatten().count())
                    .sum::<usize>()
            );
        }
        let created = existing.as_ref().map_or(record.created, |e| e.created);
        let written: u64 = record
            .stripes
            .iter()
            .map(|s| s.extent_len as u64 * s.shards.iter().flatten().count() as u64)
            .sum();
        m::bytes_written(written);
        m::op_done("put", self.started);
        Ok(ObjectMeta {
            id,
            size: self.size,
            created,
        })
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        for stripe in std::mem::take(&mut self.in_flight) {
            if let Ok(written) = stripe.sealed() {
                self.pending.extend(
                    written
                        .shards
                        .iter()
                        .map(|(_, l)| (l.drive as usize, l.offset)),
                );
            }
        }
        let mut alloc = self.inner.alloc.lock();
        for (d, o) in self.pending.drain(..) {
            alloc.abort(d, o);
        }
    }
}

/// A filled stripe buffer to seal and write.
struct SealJob {
    buf: PoolBuf,
    data_len: usize,
    stripe_no: usize,
    last: bool,
    write_id: u64,
}

impl SealJob {
    /// Lays the stripe out, seals it, places its shards and submits their writes.
    fn run(self, inner: &Inner) -> Result<InFlight, StorageError> {
        let SealJob {
            mut buf,
            data_len,
            stripe_no,
            last,
            write_id,
        } = self;
        let k = if stripe_no == 0 && last && data_len <= SMALL_OBJECT_MAX {
            1
        } else {
            inner.layout.k as usize
        };
        let shape = Shape::for_data(k, inner.layout.m as usize, data_len);
        compact_fill(buf.as_mut_slice(), &shape);
        let seq = inner.next_seq();
        stripe::seal(buf.as_mut_slice(), &shape, write_id, seq, stripe_no);
        let locs = match place(inner, seq, &shape) {
            Err(StorageError::OutOfSpace { .. }) => {
                maintenance::compact(inner)?;
                place(inner, seq, &shape)?
            }
            other => other?,
        };
        let shards: Vec<(usize, ShardLoc)> = locs
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.map(|l| (i, l)))
            .collect();
        if shards.len() < shape.shards() {
            m::degraded_write();
        }
        let group = stripe::submit(inner, &mut buf, &shape, &shards, true);
        group.hold_until_done(buf);
        Ok(InFlight {
            group,
            shards,
            record: StripeRecord {
                seq,
                k: k as u8,
                extent_len: shape.extent_len as u32,
                data_len: data_len as u64,
                shards: locs,
            },
        })
    }
}

/// Allocates space for each shard of a stripe on its target drive; a shard whose drive is
/// offline gets no location (it is restored later by scrub or rebuild).
pub(crate) fn place(
    inner: &Inner,
    seq: u64,
    shape: &Shape,
) -> Result<Vec<Option<ShardLoc>>, StorageError> {
    let mut alloc = inner.alloc.lock();
    let mut locs = Vec::with_capacity(shape.shards());
    for i in 0..shape.shards() {
        let d = inner.target_drive(seq, i);
        if !inner.drives[d].is_online() {
            locs.push(None);
            continue;
        }
        match alloc.allocate(d, shape.extent_len as u64, shape.stream(i)) {
            Ok(offset) => locs.push(Some(ShardLoc {
                drive: d as u16,
                offset,
            })),
            Err(DriveFull) => {
                for l in locs.iter().flatten() {
                    alloc.abort(l.drive as usize, l.offset);
                }
                return Err(StorageError::OutOfSpace { drive: d });
            }
        }
    }
    let placed = locs.iter().flatten().count();
    if placed < shape.k {
        for l in locs.iter().flatten() {
            alloc.abort(l.drive as usize, l.offset);
        }
        return Err(StorageError::NotEnoughDrives {
            online: placed,
            needed: shape.k,
        });
    }
    Ok(locs)
}
