//! The header at the start of every extent: what lets a read tell a good block from a torn,
//! rotted or stale one.
//!
//! Layout (little endian): magic `APX1` (4), crc32c (4), write id (8), stripe sequence (8),
//! stripe number within the object (4), shard number (2), k (1), m (1), extent length (4),
//! object bytes in this shard (4), zeros up to [`HEADER_LEN`]. The crc32c covers every byte of the
//! extent after itself, payload included.

use crate::limits::HEADER_LEN;

const MAGIC: &[u8; 4] = b"APX1";

/// The identity and shape of one extent, as the index expects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtentHeader {
    /// Unique id of the write that created the object (its content hash is only known at the end
    /// of a streamed write, after its extents are on disk).
    pub write_id: u64,
    /// Global sequence number of the stripe.
    pub seq: u64,
    /// Stripe number within the object.
    pub stripe: u32,
    /// Shard number within the stripe: data `0..k`, parity `k..k+m`.
    pub shard: u16,
    /// Data shards in the stripe.
    pub k: u8,
    /// Parity shards in the stripe.
    pub m: u8,
    /// Bytes of the whole extent, header included.
    pub extent_len: u32,
    /// Object bytes carried by this shard (0 for parity).
    pub data_len: u32,
}

/// Why an extent failed its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExtentFault {
    /// No header here: never written, or overwritten.
    #[error("no extent header")]
    BadMagic,
    /// A header of another extent (stale or misplaced).
    #[error("extent header belongs to another extent")]
    Mismatch,
    /// The payload or header does not match its crc32c.
    #[error("extent checksum mismatch")]
    Checksum,
}

impl ExtentHeader {
    /// Writes this header into `extent[..HEADER_LEN]` with the crc32c of the whole extent.
    pub fn seal(&self, extent: &mut [u8]) {
        assert_eq!(extent.len(), self.extent_len as usize);
        let h = &mut extent[..HEADER_LEN];
        h.fill(0);
        h[0..4].copy_from_slice(MAGIC);
        h[8..16].copy_from_slice(&self.write_id.to_le_bytes());
        h[16..24].copy_from_slice(&self.seq.to_le_bytes());
        h[24..28].copy_from_slice(&self.stripe.to_le_bytes());
        h[28..30].copy_from_slice(&self.shard.to_le_bytes());
        h[30] = self.k;
        h[31] = self.m;
        h[32..36].copy_from_slice(&self.extent_len.to_le_bytes());
        h[36..40].copy_from_slice(&self.data_len.to_le_bytes());
        let crc = crc32c::crc32c(&extent[8..]);
        extent[4..8].copy_from_slice(&crc.to_le_bytes());
    }

    /// Checks that `extent` carries exactly this header and an intact payload.
    pub fn check(&self, extent: &[u8]) -> Result<(), ExtentFault> {
        if extent.len() != self.extent_len as usize || &extent[0..4] != MAGIC {
            return Err(ExtentFault::BadMagic);
        }
        let expected = &extent[..HEADER_LEN];
        let fields_match = u64::from_le_bytes(expected[8..16].try_into().expect("8 bytes"))
            == self.write_id
            && u64::from_le_bytes(expected[16..24].try_into().expect("8 bytes")) == self.seq
            && u32::from_le_bytes(expected[24..28].try_into().expect("4 bytes")) == self.stripe
            && u16::from_le_bytes(expected[28..30].try_into().expect("2 bytes")) == self.shard
            && expected[30] == self.k
            && expected[31] == self.m
            && u32::from_le_bytes(expected[32..36].try_into().expect("4 bytes")) == self.extent_len
            && u32::from_le_bytes(expected[36..40].try_into().expect("4 bytes")) == self.data_len;
        let stored = u32::from_le_bytes(extent[4..8].try_into().expect("4 bytes"));
        if crc32c::crc32c(&extent[8..]) != stored {
            return Err(ExtentFault::Checksum);
        }
        if !fields_match {
            return Err(ExtentFault::Mismatch);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> ExtentHeader {
        ExtentHeader {
            write_id: 7,
            seq: 99,
            stripe: 3,
            shard: 1,
            k: 4,
            m: 2,
            extent_len: 8192,
            data_len: 5000,
        }
    }

    #[test]
    fn sealed_extent_checks_and_every_flip_is_caught() {
        let h = header();
        let mut extent = vec![0u8; 8192];
        extent[HEADER_LEN..]
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = i as u8);
        h.seal(&mut extent);
        assert_eq!(h.check(&extent), Ok(()));
        for pos in [0, 5, 9, 20, 30, 63, 64, 4096, 8191] {
            let mut bad = extent.clone();
            bad[pos] ^= 1;
            assert!(h.check(&bad).is_err(), "flip at {pos} not caught");
        }
    }

    #[test]
    fn another_extents_header_is_a_mismatch() {
        let mut extent = vec![0u8; 8192];
        header().seal(&mut extent);
        let other = ExtentHeader {
            seq: 100,
            ..header()
        };
        assert_eq!(other.check(&extent), Err(ExtentFault::Mismatch));
        assert_eq!(header().check(&vec![0u8; 8192]), Err(ExtentFault::BadMagic));
    }
}
