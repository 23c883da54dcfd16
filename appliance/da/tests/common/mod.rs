//! Shared set-up for the DA tests: a blob store over six small file drives in a temp folder,
//! and tools that damage a chunk object on the drive files the way real faults would.
#![allow(dead_code)] // each test binary uses a different part of the harness

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use appliance_da::limits::RECORD_LEN;
use appliance_da::{BlobStore, BlobStoreConfig};
use appliance_storage::device::{FaultPlan, FaultyDevice};
use appliance_storage::index::ObjectRecord;
use appliance_storage::limits::HEADER_LEN;
use appliance_storage::{DeviceWrapper, Engine, EngineConfig, ObjectId};
use redb::TableDefinition;

/// Size of each test drive file (sparse).
pub const DRIVE_SIZE: u64 = 96 << 20;
/// Zone size in tests: small, like the engine's own tests.
pub const ZONE_SIZE: u64 = 4 << 20;
/// Drives in a test set: 4 data + 2 parity shards.
pub const DRIVES: usize = 6;

/// The engine's table of objects, as the engine defines it (read with the engine closed).
const OBJECTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("objects");

/// A config for six small file drives under `dir`.
pub fn engine_config(dir: &Path) -> EngineConfig {
    let mut cfg = EngineConfig::new(dir);
    cfg.file_drive_size = DRIVE_SIZE;
    cfg.zone_size = ZONE_SIZE;
    cfg.stripe_buffers = 6;
    cfg.small_buffers = 32;
    cfg
}

/// Opens the blob store of `dir` (formatting its drives the first time).
pub fn open(dir: &Path) -> BlobStore {
    let cfg = engine_config(dir);
    if !cfg.index_path().exists() {
        Engine::format(&cfg, false).unwrap();
    }
    let engine = Engine::open(cfg).unwrap();
    BlobStore::open(engine, BlobStoreConfig::new(dir)).unwrap()
}

/// A blob store on fresh drives in a new temp folder.
pub fn fresh() -> (tempfile::TempDir, BlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    (dir, store)
}

/// Opens the blob store of `dir` with a fault plan per drive.
pub fn open_faulty(dir: &Path) -> (BlobStore, Vec<Arc<FaultPlan>>) {
    let plans: Vec<Arc<FaultPlan>> = (0..DRIVES)
        .map(|_| Arc::new(FaultPlan::default()))
        .collect();
    let p = plans.clone();
    let wrap: DeviceWrapper =
        Arc::new(move |i, dev| Box::new(FaultyDevice::new(dev, Arc::clone(&p[i]))));
    let engine = Engine::open_with(engine_config(dir), Some(wrap)).unwrap();
    (
        BlobStore::open(engine, BlobStoreConfig::new(dir)).unwrap(),
        plans,
    )
}

/// Deterministic pseudo-random bytes (distinct per seed).
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
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

/// Where one byte of an object lives on the drives.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    /// Drive number.
    pub drive: usize,
    /// Offset of the byte on the drive.
    pub at: u64,
    /// Offset of the extent holding it.
    pub extent: u64,
    /// Length of that extent.
    pub extent_len: u64,
}

/// The shards of an object as the engine's index (closed) records them.
fn object_record(dir: &Path, object: &ObjectId) -> ObjectRecord {
    let db = redb::Database::open(engine_config(dir).index_path()).unwrap();
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(OBJECTS).unwrap();
    let bytes = table
        .get(object.0.as_slice())
        .unwrap()
        .expect("object indexed");
    ObjectRecord::decode(bytes.value()).unwrap()
}

fn drive_file(dir: &Path, drive: usize) -> std::fs::File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(appliance_storage::config::default_drive_path(dir, drive))
        .unwrap()
}

/// Where byte `offset` of `object` is stored (its data shard), found through the engine's index.
/// The engine must be closed.
pub fn locate(dir: &Path, object: &ObjectId, offset: u64) -> Place {
    let record = object_record(dir, object);
    let mut stripe_start = 0u64;
    for stripe in &record.stripes {
        if offset < stripe_start + stripe.data_len {
            let mut shard_start = stripe_start;
            for loc in stripe.shards[..stripe.k as usize].iter() {
                let loc = loc.expect("every shard written");
                let mut header = [0u8; HEADER_LEN];
                drive_file(dir, loc.drive as usize)
                    .read_exact_at(&mut header, loc.offset)
                    .unwrap();
                let data_len = u32::from_le_bytes(header[36..40].try_into().unwrap()) as u64;
                if offset < shard_start + data_len {
                    return Place {
                        drive: loc.drive as usize,
                        at: loc.offset + HEADER_LEN as u64 + (offset - shard_start),
                        extent: loc.offset,
                        extent_len: stripe.extent_len as u64,
                    };
                }
                shard_start += data_len;
            }
        }
        stripe_start += stripe.data_len;
    }
    panic!("offset {offset} is beyond object {object}");
}

/// Every shard (data and parity) of the stripe holding byte `offset` of `object`.
pub fn stripe_shards(dir: &Path, object: &ObjectId, offset: u64) -> Vec<Place> {
    let record = object_record(dir, object);
    let mut stripe_start = 0u64;
    for stripe in &record.stripes {
        if offset < stripe_start + stripe.data_len {
            return stripe
                .shards
                .iter()
                .map(|loc| {
                    let loc = loc.expect("every shard written");
                    Place {
                        drive: loc.drive as usize,
                        at: loc.offset + HEADER_LEN as u64,
                        extent: loc.offset,
                        extent_len: stripe.extent_len as u64,
                    }
                })
                .collect();
        }
        stripe_start += stripe.data_len;
    }
    panic!("offset {offset} is beyond object {object}");
}

/// Flips one byte at `place` and reseals its extent's crc32c, so the engine reads the wrong
/// byte back as good: corruption only the DA layer's digests can catch.
pub fn corrupt_and_reseal(dir: &Path, place: Place) {
    let file = drive_file(dir, place.drive);
    let mut extent = vec![0u8; place.extent_len as usize];
    file.read_exact_at(&mut extent, place.extent).unwrap();
    extent[(place.at - place.extent) as usize] ^= 0x5a;
    let crc = crc32c::crc32c(&extent[8..]);
    extent[4..8].copy_from_slice(&crc.to_le_bytes());
    file.write_all_at(&extent, place.extent).unwrap();
}

/// Flips one byte at `place` without resealing: the engine sees a bad checksum.
pub fn rot(dir: &Path, place: Place) {
    let file = drive_file(dir, place.drive);
    let mut b = [0u8; 1];
    file.read_exact_at(&mut b, place.at).unwrap();
    file.write_all_at(&[b[0] ^ 0xff], place.at).unwrap();
}

/// Corrupts (and reseals) record `cell` of the chunk object `object`, inside the cell bytes.
pub fn corrupt_record(dir: &Path, object: &ObjectId, cell: usize) {
    let offset = appliance_da::chunk_object::record_offset(cell) + (RECORD_LEN as u64) / 3;
    corrupt_and_reseal(dir, locate(dir, object, offset));
}
