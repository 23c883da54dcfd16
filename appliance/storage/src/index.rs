//! The redb index: where every object's shards live, and the engine's layout.
//!
//! Records are small hand-rolled little-endian encodings with a version byte, decoded with bounds
//! checks so a damaged index gives [`StorageError::CorruptIndex`], never a panic.

use std::path::PathBuf;

use redb::TableDefinition;

use crate::error::StorageError;
use crate::object_id::ObjectId;

/// Object id → [`ObjectRecord`].
pub(crate) const OBJECTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("objects");
/// Named engine-wide values (the [`Layout`]).
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Key of the layout in [`META`].
pub(crate) const LAYOUT_KEY: &str = "layout";

const RECORD_VERSION: u8 = 1;
const LAYOUT_VERSION: u8 = 1;

/// Where one shard lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardLoc {
    /// Drive number.
    pub drive: u16,
    /// Byte offset on the drive.
    pub offset: u64,
}

/// One stripe of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeRecord {
    /// Global stripe sequence number (in every extent header).
    pub seq: u64,
    /// Data shards (1 for small objects, mirrored).
    pub k: u8,
    /// Bytes of each extent, header included.
    pub extent_len: u32,
    /// Object bytes in this stripe.
    pub data_len: u64,
    /// k + m shard locations; `None` where a shard is missing (its drive was down), to be
    /// restored by scrub or rebuild on drive `(seq + i) % drives`.
    pub shards: Vec<Option<ShardLoc>>,
}

/// Everything the index knows about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRecord {
    /// Size in bytes.
    pub size: u64,
    /// The write that created it (in every extent header).
    pub write_id: u64,
    /// Seconds since the Unix epoch when it was committed.
    pub created: u64,
    /// Parity shards per stripe.
    pub m: u8,
    /// Its stripes, in object order.
    pub stripes: Vec<StripeRecord>,
}

struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StorageError> {
        if self.bytes.len() < n {
            return Err(StorageError::CorruptIndex(format!(
                "{} is truncated",
                self.what
            )));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, StorageError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, StorageError> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&mut self) -> Result<u32, StorageError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self) -> Result<u64, StorageError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn done(&self) -> Result<(), StorageError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(StorageError::CorruptIndex(format!(
                "{} has trailing bytes",
                self.what
            )))
        }
    }
}

const ABSENT: u64 = u64::MAX;

impl ObjectRecord {
    /// Serialises the record.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.stripes.len() * 64);
        out.push(RECORD_VERSION);
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.write_id.to_le_bytes());
        out.extend_from_slice(&self.created.to_le_bytes());
        out.push(self.m);
        out.extend_from_slice(&(self.stripes.len() as u32).to_le_bytes());
        for s in &self.stripes {
            out.extend_from_slice(&s.seq.to_le_bytes());
            out.push(s.k);
            out.extend_from_slice(&s.extent_len.to_le_bytes());
            out.extend_from_slice(&s.data_len.to_le_bytes());
            for loc in &s.shards {
                let (drive, offset) = loc.map_or((0, ABSENT), |l| (l.drive, l.offset));
                out.extend_from_slice(&drive.to_le_bytes());
                out.extend_from_slice(&offset.to_le_bytes());
            }
        }
        out
    }

    /// Parses a record written by [`ObjectRecord::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self, StorageError> {
        let mut r = Reader {
            bytes,
            what: "object record",
        };
        if r.u8()? != RECORD_VERSION {
            return Err(StorageError::CorruptIndex(
                "unknown object record version".into(),
            ));
        }
        let size = r.u64()?;
        let write_id = r.u64()?;
        let created = r.u64()?;
        let m = r.u8()?;
        let count = r.u32()? as usize;
        let mut stripes = Vec::with_capacity(count.min(bytes.len()));
        for _ in 0..count {
            let seq = r.u64()?;
            let k = r.u8()?;
            let extent_len = r.u32()?;
            let data_len = r.u64()?;
            let shards = (0..k as usize + m as usize)
                .map(|_| {
                    let drive = r.u16()?;
                    let offset = r.u64()?;
                    Ok((offset != ABSENT).then_some(ShardLoc { drive, offset }))
                })
                .collect::<Result<_, StorageError>>()?;
            stripes.push(StripeRecord {
                seq,
                k,
                extent_len,
                data_len,
                shards,
            });
        }
        r.done()?;
        Ok(ObjectRecord {
            size,
            write_id,
            created,
            m,
            stripes,
        })
    }
}

/// How the engine was formatted: fixed for its lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Identity written in every drive's superblock.
    pub uuid: [u8; 16],
    /// Data shards per stripe.
    pub k: u8,
    /// Parity shards per stripe.
    pub m: u8,
    /// Bytes per zone.
    pub zone_size: u64,
    /// Each drive's path and usable capacity.
    pub drives: Vec<(PathBuf, u64)>,
}

impl Layout {
    /// Serialises the layout.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![LAYOUT_VERSION];
        out.extend_from_slice(&self.uuid);
        out.push(self.k);
        out.push(self.m);
        out.extend_from_slice(&self.zone_size.to_le_bytes());
        out.extend_from_slice(&(self.drives.len() as u16).to_le_bytes());
        for (path, capacity) in &self.drives {
            let p = path.to_string_lossy();
            out.extend_from_slice(&capacity.to_le_bytes());
            out.extend_from_slice(&(p.len() as u16).to_le_bytes());
            out.extend_from_slice(p.as_bytes());
        }
        out
    }

    /// Parses a layout written by [`Layout::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self, StorageError> {
        let mut r = Reader {
            bytes,
            what: "layout",
        };
        if r.u8()? != LAYOUT_VERSION {
            return Err(StorageError::CorruptIndex("unknown layout version".into()));
        }
        let uuid = r.take(16)?.try_into().expect("16 bytes");
        let k = r.u8()?;
        let m = r.u8()?;
        let zone_size = r.u64()?;
        let n = r.u16()?;
        let mut drives = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let capacity = r.u64()?;
            let len = r.u16()? as usize;
            let path = std::str::from_utf8(r.take(len)?)
                .map_err(|_| StorageError::CorruptIndex("drive path is not UTF-8".into()))?;
            drives.push((PathBuf::from(path), capacity));
        }
        r.done()?;
        Ok(Layout {
            uuid,
            k,
            m,
            zone_size,
            drives,
        })
    }
}

/// Key bytes of an object id.
pub(crate) fn key(id: &ObjectId) -> &[u8] {
    &id.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record() -> ObjectRecord {
        ObjectRecord {
            size: 5_000_000,
            write_id: 42,
            created: 1_700_000_000,
            m: 2,
            stripes: vec![
                StripeRecord {
                    seq: 1,
                    k: 4,
                    extent_len: 1 << 20,
                    data_len: 4 * ((1 << 20) - 64),
                    shards: (0..6)
                        .map(|d| {
                            (d != 3).then_some(ShardLoc {
                                drive: d,
                                offset: 1 << 20,
                            })
                        })
                        .collect(),
                },
                StripeRecord {
                    seq: 2,
                    k: 1,
                    extent_len: 8192,
                    data_len: 5000,
                    shards: vec![
                        Some(ShardLoc {
                            drive: 5,
                            offset: 3 << 20
                        });
                        3
                    ],
                },
            ],
        }
    }

    #[test]
    fn record_and_layout_round_trip() {
        let r = record();
        assert_eq!(ObjectRecord::decode(&r.encode()).unwrap(), r);
        let l = Layout {
            uuid: [3; 16],
            k: 4,
            m: 2,
            zone_size: 1 << 26,
            drives: vec![
                ("/dev/nvme0n1".into(), 1 << 40),
                ("d/x.img".into(), 1 << 30),
            ],
        };
        assert_eq!(Layout::decode(&l.encode()).unwrap(), l);
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = ObjectRecord::decode(&bytes);
            let _ = Layout::decode(&bytes);
        }

        #[test]
        fn every_truncation_is_an_error(cut in 0usize..100) {
            let bytes = record().encode();
            let cut = cut.min(bytes.len() - 1);
            prop_assert!(ObjectRecord::decode(&bytes[..cut]).is_err());
        }
    }
}
