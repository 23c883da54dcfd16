//! Reads: stripes are read ahead into pool buffers, checked extent by extent, rebuilt from
//! parity when a shard is missing or fails its checksum, and handed to the caller in order.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::stripe::{self, Shape};
use super::Inner;
use crate::device::{IoGroup, PoolBuf};
use crate::error::StorageError;
use crate::extent_header::ExtentFault;
use crate::index::{ObjectRecord, ShardLoc};
use crate::limits::{HEADER_LEN, READ_AHEAD_STRIPES};
use crate::metrics as m;
use crate::object_id::ObjectId;
use crate::stripe_codec;

/// A stripe with reads in flight.
pub(crate) struct StripeRead {
    pub index: usize,
    pub shape: Shape,
    pub buf: PoolBuf,
    group: Arc<IoGroup>,
    reads: Vec<(usize, ShardLoc)>,
    /// Data shards the caller needs.
    wanted: std::ops::Range<usize>,
}

impl Drop for StripeRead {
    fn drop(&mut self) {
        // The kernel may still be writing into `buf`; it goes back to the pool only after.
        self.group.wait_idle();
    }
}

/// Starts reading shards `wanted` (data shards) of stripe `index` of `record`.
pub(crate) fn start(
    inner: &Inner,
    record: &ObjectRecord,
    index: usize,
    wanted: std::ops::Range<usize>,
    buf: Option<PoolBuf>,
) -> StripeRead {
    let stripe = &record.stripes[index];
    let shape = Shape::of(stripe, record.m);
    let mut buf = buf.unwrap_or_else(|| inner.checkout(shape.class(inner)));
    let reads: Vec<(usize, ShardLoc)> = wanted
        .clone()
        .filter_map(|i| stripe.shards[i].map(|l| (i, l)))
        .collect();
    let group = stripe::submit(inner, &mut buf, &shape, &reads, false);
    StripeRead {
        index,
        shape,
        buf,
        group,
        reads,
        wanted,
    }
}

/// Records a shard that did not read back intact.
fn note_fault(inner: &Inner, loc: ShardLoc, fault: &Result<(), ExtentFault>) {
    let drive = &inner.drives[loc.drive as usize];
    match fault {
        Err(ExtentFault::Checksum) | Err(ExtentFault::Mismatch) | Err(ExtentFault::BadMagic) => {
            drive.checksum_failures.fetch_add(1, Ordering::Relaxed);
            m::checksum_failure();
        }
        Ok(()) => {
            drive.read_errors.fetch_add(1, Ordering::Relaxed);
            m::read_error();
        }
    }
}

/// Verifies shard `i` in the buffer against the header the index expects.
fn verify(record: &ObjectRecord, r: &StripeRead, i: usize) -> Result<(), ExtentFault> {
    let seq = record.stripes[r.index].seq;
    r.shape
        .header(record.write_id, seq, r.index, i)
        .check(r.shape.extent(r.buf.as_slice(), i))
}

/// Marks each shard read without error and matching its header as intact; counts the others.
fn check_reads(
    inner: &Inner,
    record: &ObjectRecord,
    r: &StripeRead,
    reads: &[(usize, ShardLoc)],
    results: Vec<std::io::Result<()>>,
    intact: &mut [bool],
) {
    for (&(i, loc), result) in reads.iter().zip(results) {
        let check = if result.is_ok() {
            verify(record, r, i)
        } else {
            Ok(())
        };
        if result.is_ok() && check.is_ok() {
            intact[i] = true;
        } else {
            note_fault(inner, loc, &check);
        }
    }
}

/// Waits for a stripe's reads; if a wanted shard is missing or bad, reads the rest of the stripe
/// and reconstructs. Returns which shards are intact (all wanted ones are, on success), and
/// whether reconstruction was needed.
pub(crate) fn finish(
    inner: &Inner,
    id: &ObjectId,
    record: &ObjectRecord,
    r: &mut StripeRead,
) -> Result<(Vec<bool>, bool), StorageError> {
    let stripe = &record.stripes[r.index];
    let mut intact = vec![false; r.shape.shards()];
    let results = r.group.wait();
    check_reads(inner, record, r, &r.reads, results, &mut intact);
    if r.wanted.clone().all(|i| intact[i]) {
        return Ok((intact, false));
    }
    // Degraded: read every other shard we have and rebuild the data from any k of them.
    let others: Vec<(usize, ShardLoc)> = (0..r.shape.shards())
        .filter(|i| !r.wanted.contains(i))
        .filter_map(|i| stripe.shards[i].map(|l| (i, l)))
        .collect();
    let group = stripe::submit(inner, &mut r.buf, &r.shape, &others, false);
    let results = group.wait();
    check_reads(inner, record, r, &others, results, &mut intact);
    let (k, m, e) = (r.shape.k, r.shape.m, r.shape.extent_len);
    let bytes = r.shape.stripe_bytes();
    stripe_codec::reconstruct_data(k, m, e, &mut r.buf.as_mut_slice()[..bytes], &intact).map_err(
        |_| StorageError::TooManyFailures {
            id: *id,
            stripe: r.index,
            available: intact.iter().filter(|x| **x).count(),
            needed: k,
        },
    )?;
    m::degraded_read();
    Ok((intact, true))
}

/// Streams `len` bytes from `offset` of the object to `sink`; a range past its end is refused.
pub(crate) fn read_range(
    inner: &Inner,
    id: &ObjectId,
    record: &ObjectRecord,
    offset: u64,
    len: u64,
    sink: &mut dyn FnMut(&[u8]) -> Result<(), StorageError>,
) -> Result<u64, StorageError> {
    let started = Instant::now();
    if offset.checked_add(len).is_none_or(|end| end > record.size) {
        return Err(StorageError::RangeNotSatisfiable {
            offset,
            len,
            size: record.size,
        });
    }
    if len == 0 {
        m::op_done("get", started);
        return Ok(0);
    }
    let _no_zone_resets = inner.reclaim.read();
    let end = offset + len;
    let mut starts = Vec::with_capacity(record.stripes.len());
    let mut at = 0u64;
    for s in &record.stripes {
        starts.push(at);
        at += s.data_len;
    }
    let first = starts.partition_point(|&s| s <= offset) - 1;
    let last = starts.partition_point(|&s| s < end) - 1;
    // Data shards of stripe `s` that overlap the range.
    let wanted = |s: usize| {
        let shape = Shape::of(&record.stripes[s], record.m);
        let lo = offset.saturating_sub(starts[s]) as usize;
        let hi = ((end - starts[s]) as usize).min(shape.data_len);
        (lo / shape.payload())..(hi.div_ceil(shape.payload())).max(lo / shape.payload() + 1)
    };
    let mut ahead: VecDeque<StripeRead> = VecDeque::new();
    let mut next = first;
    let mut delivered = 0u64;
    while delivered < len {
        while next <= last && ahead.len() < READ_AHEAD_STRIPES {
            let shape = Shape::of(&record.stripes[next], record.m);
            let buf = if ahead.is_empty() {
                Some(inner.checkout(shape.class(inner)))
            } else {
                match inner.pool.try_checkout(shape.class(inner)) {
                    Some(b) => Some(b),
                    None => break,
                }
            };
            ahead.push_back(start(inner, record, next, wanted(next), buf));
            next += 1;
        }
        let mut r = ahead.pop_front().expect("a stripe is read ahead");
        finish(inner, id, record, &mut r)?;
        let base = starts[r.index];
        let p = r.shape.payload();
        for i in r.wanted.clone() {
            let shard_start = base + (i * p) as u64;
            let shard_end = shard_start + r.shape.shard_data_len(i) as u64;
            let (lo, hi) = (offset.max(shard_start), end.min(shard_end));
            if lo >= hi {
                continue;
            }
            let at = i * r.shape.extent_len + HEADER_LEN + (lo - shard_start) as usize;
            sink(&r.buf.as_slice()[at..at + (hi - lo) as usize])?;
            delivered += hi - lo;
        }
    }
    m::op_done("get", started);
    m::bytes_read(delivered);
    Ok(delivered)
}
