//! A stripe in a pool buffer: its shape, layout, sealing and I/O.
//!
//! In a stripe buffer, shard `i` (data `0..k`, then parity) sits at `i * extent_len`; every extent
//! starts with its [`ExtentHeader`]. While a writer fills a stripe, object byte `b` goes to
//! `fill_offset(b)` (full-size extents); a final, shorter stripe is compacted in place to its own
//! extent length before sealing.

use std::io;
use std::sync::Arc;

use super::Inner;
use crate::device::{IoGroup, IoOp, IoRequest, PoolBuf, SlotClass};
use crate::extent_header::ExtentHeader;
use crate::index::{ShardLoc, StripeRecord};
use crate::limits::{BLOCK_SIZE, EXTENT_MAX, EXTENT_PAYLOAD_MAX, HEADER_LEN};
use crate::stripe_codec;
use crate::zone_allocator::Stream;

/// The shape of one stripe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    pub k: usize,
    pub m: usize,
    pub extent_len: usize,
    pub data_len: usize,
}

impl Shape {
    /// The shape for `data_len` object bytes over `k` data shards.
    pub fn for_data(k: usize, m: usize, data_len: usize) -> Shape {
        let per_shard = data_len.div_ceil(k).max(1);
        let extent_len = (HEADER_LEN + per_shard).next_multiple_of(BLOCK_SIZE);
        debug_assert!(extent_len <= EXTENT_MAX);
        Shape {
            k,
            m,
            extent_len,
            data_len,
        }
    }

    /// The shape a stripe record describes.
    pub fn of(record: &StripeRecord, m: u8) -> Shape {
        Shape {
            k: record.k as usize,
            m: m as usize,
            extent_len: record.extent_len as usize,
            data_len: record.data_len as usize,
        }
    }

    /// The zone stream shard `i` is appended to.
    pub fn stream(&self, i: usize) -> Stream {
        if i < self.k {
            Stream::Data
        } else {
            Stream::Parity
        }
    }

    pub fn shards(&self) -> usize {
        self.k + self.m
    }

    pub fn payload(&self) -> usize {
        self.extent_len - HEADER_LEN
    }

    /// Object bytes in shard `i` (zero for parity).
    pub fn shard_data_len(&self, i: usize) -> usize {
        if i >= self.k {
            return 0;
        }
        self.data_len
            .saturating_sub(i * self.payload())
            .min(self.payload())
    }

    /// Bytes of buffer the whole stripe (data and parity) occupies.
    pub fn stripe_bytes(&self) -> usize {
        self.shards() * self.extent_len
    }

    /// Bytes of buffer needed to seal it (data plus the coder's work area).
    pub fn seal_bytes(&self) -> usize {
        (self.k + stripe_codec::work_shards(self.k, self.m).max(self.m)) * self.extent_len
    }

    /// The buffer class that holds the stripe.
    pub fn class(&self, inner: &Inner) -> SlotClass {
        if self.seal_bytes() <= inner.pool.slot_len(SlotClass::Small) {
            SlotClass::Small
        } else {
            SlotClass::Stripe
        }
    }

    pub fn header(&self, write_id: u64, seq: u64, stripe: usize, shard: usize) -> ExtentHeader {
        ExtentHeader {
            write_id,
            seq,
            stripe: stripe as u32,
            shard: shard as u16,
            k: self.k as u8,
            m: self.m as u8,
            extent_len: self.extent_len as u32,
            data_len: self.shard_data_len(shard) as u32,
        }
    }

    pub fn extent<'a>(&self, buf: &'a [u8], shard: usize) -> &'a [u8] {
        &buf[shard * self.extent_len..(shard + 1) * self.extent_len]
    }
}

/// Where object byte `b` of a stripe being filled goes in its buffer.
pub(crate) fn fill_offset(b: usize) -> usize {
    (b / EXTENT_PAYLOAD_MAX) * EXTENT_MAX + HEADER_LEN + b % EXTENT_PAYLOAD_MAX
}

/// Moves the `shape.data_len` bytes written at `fill_offset` positions to their places for
/// `shape.extent_len`. Every byte moves up or stays, so copying from the top down never
/// overwrites bytes not yet moved.
pub(crate) fn compact_fill(buf: &mut [u8], shape: &Shape) {
    let (p_src, p_dst) = (EXTENT_PAYLOAD_MAX, shape.payload());
    let mut end = shape.data_len;
    while end > 0 {
        let last = end - 1;
        let (src_ext, dst_ext) = (last / p_src, last / p_dst);
        let start = (src_ext * p_src).max(dst_ext * p_dst);
        let src = fill_offset(start);
        let dst = dst_ext * shape.extent_len + HEADER_LEN + (start - dst_ext * p_dst);
        debug_assert!(dst >= src);
        buf.copy_within(src..src + (end - start), dst);
        end = start;
    }
}

/// Zeroes each data extent past its data, writes the data headers, computes parity into place
/// and writes the parity headers. Deterministic: resealing a reconstructed stripe reproduces
/// the bytes first written.
pub(crate) fn seal(buf: &mut [u8], shape: &Shape, write_id: u64, seq: u64, stripe: usize) {
    assert!(buf.len() >= shape.seal_bytes());
    let e = shape.extent_len;
    for i in 0..shape.k {
        let extent = &mut buf[i * e..(i + 1) * e];
        extent[HEADER_LEN + shape.shard_data_len(i)..].fill(0);
        shape.header(write_id, seq, stripe, i).seal(extent);
    }
    let (data, work) = buf.split_at_mut(shape.k * e);
    stripe_codec::encode_parity(shape.k, shape.m, e, data, work);
    for j in 0..shape.m {
        let i = shape.k + j;
        shape
            .header(write_id, seq, stripe, i)
            .seal(&mut buf[i * e..(i + 1) * e]);
    }
}

/// Submits reads or writes of the given shards between `buf` and their drives. Returns the group
/// and, per group slot, the shard it carries. Shards whose drive is offline fail at once. Writes
/// are durable: a shard written without error is on stable media, with no flush to follow.
pub(crate) fn submit(
    inner: &Inner,
    buf: &mut PoolBuf,
    shape: &Shape,
    shards: &[(usize, ShardLoc)],
    write: bool,
) -> Arc<IoGroup> {
    let group = IoGroup::new(shards.len());
    let e = shape.extent_len;
    for (slot, &(i, loc)) in shards.iter().enumerate() {
        let ptr = buf.ptr_at(i * e);
        let op = if write {
            IoOp::Write {
                offset: loc.offset,
                buf: ptr,
                len: e,
                durable: true,
            }
        } else {
            IoOp::Read {
                offset: loc.offset,
                buf: ptr,
                len: e,
            }
        };
        match inner.drives[loc.drive as usize].device() {
            // SAFETY: `buf` is a pool buffer; callers keep it alive and untouched until the
            // group has reported (`wait`/`wait_idle`) before reading it or letting it go.
            Some(device) => unsafe {
                device.submit(vec![IoRequest {
                    op,
                    group: Arc::clone(&group),
                    slot,
                }])
            },
            None => group.complete(
                slot,
                Err(io::Error::new(io::ErrorKind::NotConnected, "drive offline")),
            ),
        }
    }
    group
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_fill_puts_every_byte_where_the_shape_says() {
        for (k, data_len) in [
            (4, 100),
            (4, 3 * EXTENT_PAYLOAD_MAX + 17),
            (1, 5000),
            (3, 1),
        ] {
            let shape = Shape::for_data(k, 2, data_len);
            let mut buf = vec![0u8; (k + 2) * EXTENT_MAX];
            for b in 0..data_len {
                buf[fill_offset(b)] = (b % 251) as u8;
            }
            compact_fill(&mut buf, &shape);
            for b in 0..data_len {
                let (i, r) = (b / shape.payload(), b % shape.payload());
                assert_eq!(
                    buf[i * shape.extent_len + HEADER_LEN + r],
                    (b % 251) as u8,
                    "k={k} len={data_len} byte {b}"
                );
            }
        }
    }

    #[test]
    fn shard_lengths_cover_the_data() {
        let shape = Shape::for_data(4, 2, 10_000);
        let total: usize = (0..6).map(|i| shape.shard_data_len(i)).sum();
        assert_eq!(total, 10_000);
        assert_eq!(shape.extent_len % BLOCK_SIZE, 0);
    }
}
