//! The superblock at the start of each drive: which engine and which slot the drive belongs to.
//!
//! Layout (little endian): magic `APLDRIVE` (8), version (4), drive number (4), drive count (4),
//! k (1), m (1), zero (2), zone size (8), capacity (8), engine uuid (16), crc32c of the bytes before
//! it (4). The rest of the first block is zero.

use crate::limits::BLOCK_SIZE;

const MAGIC: &[u8; 8] = b"APLDRIVE";
const VERSION: u32 = 1;
const CRC_AT: usize = 56;

/// What a drive's superblock records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Superblock {
    /// This drive's number in the engine.
    pub drive: u32,
    /// Drives in the engine.
    pub drive_count: u32,
    /// Data shards per stripe.
    pub k: u8,
    /// Parity shards per stripe.
    pub m: u8,
    /// Bytes per zone.
    pub zone_size: u64,
    /// Bytes of the drive the engine uses.
    pub capacity: u64,
    /// The engine this drive belongs to.
    pub uuid: [u8; 16],
}

impl Superblock {
    /// Writes the superblock into a block-sized buffer.
    pub fn encode(&self, block: &mut [u8]) {
        assert!(block.len() >= BLOCK_SIZE);
        let b = &mut block[..BLOCK_SIZE];
        b.fill(0);
        b[0..8].copy_from_slice(MAGIC);
        b[8..12].copy_from_slice(&VERSION.to_le_bytes());
        b[12..16].copy_from_slice(&self.drive.to_le_bytes());
        b[16..20].copy_from_slice(&self.drive_count.to_le_bytes());
        b[20] = self.k;
        b[21] = self.m;
        b[24..32].copy_from_slice(&self.zone_size.to_le_bytes());
        b[32..40].copy_from_slice(&self.capacity.to_le_bytes());
        b[40..56].copy_from_slice(&self.uuid);
        let crc = crc32c::crc32c(&b[..CRC_AT]);
        b[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
    }

    /// Reads a superblock; `None` when the block holds none (blank, foreign or damaged).
    pub fn decode(block: &[u8]) -> Option<Superblock> {
        if block.len() < BLOCK_SIZE || &block[0..8] != MAGIC {
            return None;
        }
        let crc = u32::from_le_bytes(block[CRC_AT..CRC_AT + 4].try_into().ok()?);
        if crc32c::crc32c(&block[..CRC_AT]) != crc
            || u32::from_le_bytes(block[8..12].try_into().ok()?) != VERSION
        {
            return None;
        }
        Some(Superblock {
            drive: u32::from_le_bytes(block[12..16].try_into().ok()?),
            drive_count: u32::from_le_bytes(block[16..20].try_into().ok()?),
            k: block[20],
            m: block[21],
            zone_size: u64::from_le_bytes(block[24..32].try_into().ok()?),
            capacity: u64::from_le_bytes(block[32..40].try_into().ok()?),
            uuid: block[40..56].try_into().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let sb = Superblock {
            drive: 2,
            drive_count: 6,
            k: 4,
            m: 2,
            zone_size: 1 << 26,
            capacity: 1 << 33,
            uuid: [9; 16],
        };
        let mut block = vec![0u8; BLOCK_SIZE];
        sb.encode(&mut block);
        assert_eq!(Superblock::decode(&block), Some(sb));
        block[13] ^= 1;
        assert_eq!(Superblock::decode(&block), None);
        assert_eq!(Superblock::decode(&vec![0u8; BLOCK_SIZE]), None);
    }
}
