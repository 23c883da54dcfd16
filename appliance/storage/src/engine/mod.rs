//! The engine: format, open and recover, and the object operations.

mod drive;
mod index_commit;
mod maintenance;
mod read;
mod stripe;
mod write;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};
use redb::{Database, ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};

pub use maintenance::{CompactReport, RebuildReport, ScrubReport};
pub use write::ObjectWriter;

use crate::config::EngineConfig;
use crate::device::{open_drive_file, BlockDevice, BufferPool, SlotClass, UringDevice};
use crate::error::StorageError;
use crate::index::{key, Layout, ObjectRecord, LAYOUT_KEY, META, OBJECTS};
use crate::limits::{
    BLOCK_SIZE, EXTENT_MAX, MAX_DATA_SHARDS, MAX_DRIVES, MAX_PARITY_SHARDS, MIN_ZONES_PER_DRIVE,
    SMALL_EXTENT_MAX, ZONES_START,
};
use crate::metrics as m;
use crate::object_id::ObjectId;
use crate::stripe_codec;
use crate::superblock::Superblock;
use crate::zone_allocator::ZoneAllocator;
use drive::Drive;

/// Wraps each drive's device as it is opened (drive number, device); tests use it to inject faults.
pub type DeviceWrapper =
    Arc<dyn Fn(usize, Box<dyn BlockDevice>) -> Box<dyn BlockDevice> + Send + Sync>;

/// What a stored object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Content hash.
    pub id: ObjectId,
    /// Bytes.
    pub size: u64,
    /// Seconds since the Unix epoch when it was stored.
    pub created: u64,
}

/// What `format` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatReport {
    /// Each drive's path and usable bytes.
    pub drives: Vec<(PathBuf, u64)>,
    /// Data shards per stripe.
    pub data_shards: usize,
    /// Parity shards per stripe.
    pub parity_shards: usize,
}

/// One drive, as `status` sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveStatus {
    /// Path of the namespace or file.
    pub path: PathBuf,
    /// Whether the engine reads and writes it.
    pub online: bool,
    /// Why it is offline.
    pub offline_reason: Option<String>,
    /// Bytes the engine uses on it.
    pub capacity: u64,
    /// Bytes appended (live or garbage).
    pub used: u64,
    /// Bytes of live extents.
    pub live: u64,
    /// Bytes free for new writes.
    pub free: u64,
    /// Failed reads.
    pub read_errors: u64,
    /// Failed writes and flushes.
    pub write_errors: u64,
    /// Extents that failed their checksum.
    pub checksum_failures: u64,
}

/// The whole engine, as `status` sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineStatus {
    /// Data shards per stripe.
    pub data_shards: usize,
    /// Parity shards per stripe.
    pub parity_shards: usize,
    /// Objects stored.
    pub objects: u64,
    /// Per drive.
    pub drives: Vec<DriveStatus>,
}

impl EngineStatus {
    /// Drives the engine no longer reads or writes.
    pub fn offline_drives(&self) -> usize {
        self.drives.iter().filter(|d| !d.online).count()
    }
}

/// The storage engine. Cheap to clone; every method blocks (async callers use `spawn_blocking`).
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    cfg: EngineConfig,
    layout: Layout,
    db: Database,
    /// Shares index commits among writers finishing at the same time.
    commits: index_commit::IndexCommits,
    pool: Arc<BufferPool>,
    drives: Vec<Drive>,
    alloc: Mutex<ZoneAllocator>,
    /// Readers hold it shared; zone resets take it exclusively, so no read sees a reused zone.
    reclaim: RwLock<()>,
    /// One scrub, rebuild or compaction at a time.
    maintenance: Mutex<()>,
    next_seq: AtomicU64,
    wrap: Option<DeviceWrapper>,
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn open_index(cfg: &EngineConfig) -> Result<Database, StorageError> {
    let path = cfg.index_path();
    Database::create(&path).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StorageError::Busy(path),
        other => StorageError::Index(format!("{}: {other}", path.display())),
    })
}

impl Engine {
    /// Initialises the drives and the index. Refuses with [`StorageError::AlreadyFormatted`] when
    /// a drive or the index already holds a formatted engine, unless `force`.
    pub fn format(cfg: &EngineConfig, force: bool) -> Result<FormatReport, StorageError> {
        let paths = cfg.drive_paths();
        let (k, m) = cfg.shape(paths.len());
        validate_shape(paths.len(), k, m)?;
        if cfg.zone_size == 0 || !cfg.zone_size.is_multiple_of(BLOCK_SIZE as u64) {
            return Err(StorageError::Config(format!(
                "zone size {} is not a positive multiple of {BLOCK_SIZE}",
                cfg.zone_size
            )));
        }
        let index = cfg.index_path();
        std::fs::create_dir_all(&cfg.data_dir)
            .map_err(|e| StorageError::io(format!("create {}", cfg.data_dir.display()), e))?;
        if index.exists() && !force {
            return Err(StorageError::AlreadyFormatted(index));
        }
        if cfg.uses_default_drives() {
            let dir = cfg.data_dir.join("drives");
            std::fs::create_dir_all(&dir)
                .map_err(|e| StorageError::io(format!("create {}", dir.display()), e))?;
        }
        let pool = BufferPool::new(BLOCK_SIZE, 0, BLOCK_SIZE, 1);
        let create = cfg.uses_default_drives().then_some(cfg.file_drive_size);
        let min_capacity = ZONES_START + MIN_ZONES_PER_DRIVE * cfg.zone_size;
        let mut devices = Vec::new();
        for path in &paths {
            let file = open_drive_file(path, create)
                .map_err(|e| StorageError::io(format!("open drive {}", path.display()), e))?;
            let device =
                UringDevice::new(path.display().to_string(), file, 4, Arc::clone(&pool))
                    .map_err(|e| StorageError::io(format!("start I/O on {}", path.display()), e))?;
            if device.capacity() < min_capacity {
                return Err(StorageError::Config(format!(
                    "drive {} holds {} bytes; at least {min_capacity} are needed ({MIN_ZONES_PER_DRIVE} zones of {} bytes)",
                    path.display(),
                    device.capacity(),
                    cfg.zone_size
                )));
            }
            let existing = drive::read_superblock(&device, &pool)
                .map_err(|e| StorageError::io(format!("read {}", path.display()), e))?;
            if existing.is_some() && !force {
                return Err(StorageError::AlreadyFormatted(path.clone()));
            }
            devices.push(device);
        }
        let uuid: [u8; 16] = rand::random();
        let layout = Layout {
            uuid,
            k: k as u8,
            m: m as u8,
            zone_size: cfg.zone_size,
            drives: paths
                .iter()
                .zip(&devices)
                .map(|(p, d)| (p.clone(), d.capacity()))
                .collect(),
        };
        for (i, device) in devices.iter().enumerate() {
            drive::write_superblock(device, &pool, &superblock_for(&layout, i)).map_err(|e| {
                StorageError::io(format!("write superblock to {}", device.label()), e)
            })?;
        }
        if force && index.exists() {
            std::fs::remove_file(&index)
                .map_err(|e| StorageError::io(format!("remove {}", index.display()), e))?;
        }
        let db = open_index(cfg)?;
        let txn = db.begin_write()?;
        {
            txn.open_table(META)?
                .insert(LAYOUT_KEY, layout.encode().as_slice())?;
            txn.open_table(OBJECTS)?;
        }
        txn.commit()?;
        tracing::info!(drives = paths.len(), k, m, "formatted");
        Ok(FormatReport {
            drives: layout.drives,
            data_shards: k,
            parity_shards: m,
        })
    }

    /// Opens a formatted engine and recovers its state from the index.
    pub fn open(cfg: EngineConfig) -> Result<Engine, StorageError> {
        Self::open_with(cfg, None)
    }

    /// Like [`Engine::open`], passing each drive's device through `wrap` (fault injection).
    pub fn open_with(
        cfg: EngineConfig,
        wrap: Option<DeviceWrapper>,
    ) -> Result<Engine, StorageError> {
        if !cfg.index_path().exists() {
            return Err(StorageError::NotFormatted(cfg.data_dir.clone()));
        }
        let db = open_index(&cfg)?;
        let layout = {
            let txn = db.begin_read()?;
            let meta = txn.open_table(META)?;
            let bytes = meta
                .get(LAYOUT_KEY)?
                .ok_or_else(|| StorageError::CorruptIndex("no layout".into()))?;
            Layout::decode(bytes.value())?
        };
        let formatted: Vec<PathBuf> = layout.drives.iter().map(|(p, _)| p.clone()).collect();
        if !cfg.drives.is_empty() && cfg.drives != formatted {
            return Err(StorageError::Config(format!(
                "{} was formatted with drives {formatted:?}, not {:?}",
                cfg.data_dir.display(),
                cfg.drives
            )));
        }
        let (k, m) = (layout.k as usize, layout.m as usize);
        let stripe_len = (k + stripe_codec::work_shards(k, m).max(m)) * EXTENT_MAX;
        let pool = BufferPool::new(
            stripe_len,
            cfg.stripe_buffers.max(1),
            SMALL_EXTENT_MAX * (1 + m),
            cfg.small_buffers.max(1),
        );
        let drives: Vec<Drive> = layout
            .drives
            .iter()
            .enumerate()
            .map(|(i, (path, capacity))| {
                let drive = Drive::new(path.clone(), *capacity);
                drive.attach(i, &layout, &cfg, &pool, wrap.as_ref());
                drive
            })
            .collect();
        let zones: Vec<u64> = layout
            .drives
            .iter()
            .map(|(_, c)| ZoneAllocator::zones_for(*c, layout.zone_size))
            .collect();
        let mut alloc = ZoneAllocator::new(layout.zone_size, &zones);
        let mut max_seq = 0;
        let mut objects = 0u64;
        {
            let txn = db.begin_read()?;
            let table = txn.open_table(OBJECTS)?;
            for entry in table.iter()? {
                let (_, value) = entry?;
                let record = ObjectRecord::decode(value.value())?;
                for stripe in &record.stripes {
                    max_seq = max_seq.max(stripe.seq);
                    for loc in stripe.shards.iter().flatten() {
                        alloc.mark_live(loc.drive as usize, loc.offset, stripe.extent_len as u64);
                    }
                }
                objects += 1;
            }
        }
        let online = drives.iter().filter(|d| d.is_online()).count();
        tracing::info!(
            objects,
            drives = drives.len(),
            online,
            k,
            m,
            "storage engine open"
        );
        Ok(Engine {
            inner: Arc::new(Inner {
                cfg,
                layout,
                db,
                commits: index_commit::IndexCommits::default(),
                pool,
                drives,
                alloc: Mutex::new(alloc),
                reclaim: RwLock::new(()),
                maintenance: Mutex::new(()),
                next_seq: AtomicU64::new(max_seq + 1),
                wrap,
            }),
        })
    }

    /// Starts a streamed write. Nothing is visible until [`ObjectWriter::finish`] returns.
    pub fn writer(&self) -> Result<ObjectWriter, StorageError> {
        Ok(ObjectWriter::new(Arc::clone(&self.inner)))
    }

    /// Stores `data` and returns its metadata.
    pub fn put(&self, data: &[u8]) -> Result<ObjectMeta, StorageError> {
        let mut w = self.writer()?;
        w.write(data)?;
        w.finish()
    }

    /// Metadata of an object.
    pub fn stat(&self, id: &ObjectId) -> Result<ObjectMeta, StorageError> {
        let record = self.inner.record(id)?;
        Ok(ObjectMeta {
            id: *id,
            size: record.size,
            created: record.created,
        })
    }

    /// The whole object.
    pub fn get(&self, id: &ObjectId) -> Result<Vec<u8>, StorageError> {
        let record = self.inner.record(id)?;
        let mut out = Vec::with_capacity(record.size.min(1 << 30) as usize);
        read::read_range(&self.inner, id, &record, 0, record.size, &mut |piece| {
            out.extend_from_slice(piece);
            Ok(())
        })?;
        Ok(out)
    }

    /// Streams the whole object to `sink` as [`Engine::read_to`] does, with one index lookup
    /// (a [`Engine::stat`] first would be a second). Returns its size.
    pub fn read_all_to(
        &self,
        id: &ObjectId,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), StorageError>,
    ) -> Result<u64, StorageError> {
        let record = self.inner.record(id)?;
        read::read_range(&self.inner, id, &record, 0, record.size, sink)
    }

    /// `len` bytes from `offset`.
    pub fn read_range(
        &self,
        id: &ObjectId,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, StorageError> {
        let mut out = Vec::with_capacity(len.min(1 << 30) as usize);
        self.read_to(id, offset, len, &mut |piece| {
            out.extend_from_slice(piece);
            Ok(())
        })?;
        Ok(out)
    }

    /// Streams `len` bytes from `offset` to `sink`, in order, in pieces that are views into the
    /// engine's buffers (valid during the call only). An error from `sink` stops the read.
    /// Returns the bytes delivered.
    pub fn read_to(
        &self,
        id: &ObjectId,
        offset: u64,
        len: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), StorageError>,
    ) -> Result<u64, StorageError> {
        let record = self.inner.record(id)?;
        read::read_range(&self.inner, id, &record, offset, len, sink)
    }

    /// Removes an object; its space is reclaimed by compaction.
    pub fn delete(&self, id: &ObjectId) -> Result<(), StorageError> {
        let start = Instant::now();
        let txn = self.inner.db.begin_write()?;
        let record = {
            let mut table = txn.open_table(OBJECTS)?;
            let removed = table.remove(key(id))?;
            match removed {
                Some(bytes) => ObjectRecord::decode(bytes.value())?,
                None => return Err(StorageError::NotFound(*id)),
            }
        };
        txn.commit()?;
        let mut alloc = self.inner.alloc.lock();
        for stripe in &record.stripes {
            for loc in stripe.shards.iter().flatten() {
                alloc.release(loc.drive as usize, loc.offset, stripe.extent_len as u64);
            }
        }
        m::op_done("delete", start);
        Ok(())
    }

    /// Objects with ids after `after`, in id order, at most `limit`.
    pub fn list(
        &self,
        after: Option<&ObjectId>,
        limit: usize,
    ) -> Result<Vec<ObjectMeta>, StorageError> {
        let txn = self.inner.db.begin_read()?;
        let table = txn.open_table(OBJECTS)?;
        let range = match after {
            Some(a) => table.range::<&[u8]>((
                std::ops::Bound::Excluded(key(a)),
                std::ops::Bound::Unbounded,
            ))?,
            None => table.range::<&[u8]>(..)?,
        };
        let mut out = Vec::new();
        for entry in range.take(limit) {
            let (k, v) = entry?;
            let id =
                ObjectId(k.value().try_into().map_err(|_| {
                    StorageError::CorruptIndex("object key is not 32 bytes".into())
                })?);
            let record = ObjectRecord::decode(v.value())?;
            out.push(ObjectMeta {
                id,
                size: record.size,
                created: record.created,
            });
        }
        Ok(out)
    }

    /// Drives, space and counters.
    pub fn status(&self) -> Result<EngineStatus, StorageError> {
        let objects = self.inner.db.begin_read()?.open_table(OBJECTS)?.len()?;
        let alloc = self.inner.alloc.lock();
        let drives = self
            .inner
            .drives
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let usage = alloc.usage(i);
                DriveStatus {
                    path: d.path.clone(),
                    online: d.is_online(),
                    offline_reason: d.offline_reason(),
                    capacity: d.capacity,
                    used: usage.used,
                    live: usage.live,
                    free: usage.free,
                    read_errors: d.read_errors.load(Ordering::Relaxed),
                    write_errors: d.write_errors.load(Ordering::Relaxed),
                    checksum_failures: d.checksum_failures.load(Ordering::Relaxed),
                }
            })
            .collect();
        Ok(EngineStatus {
            data_shards: self.inner.layout.k as usize,
            parity_shards: self.inner.layout.m as usize,
            objects,
            drives,
        })
    }

    /// The largest object this engine accepts.
    pub fn max_object_size(&self) -> u64 {
        self.inner.cfg.max_object_size
    }

    /// Verifies every extent and repairs bad or missing ones from parity.
    pub fn scrub(&self) -> Result<ScrubReport, StorageError> {
        maintenance::scrub(&self.inner, &mut |_, _| {})
    }

    /// [`Engine::scrub`], reporting (objects done, objects total) as it goes.
    pub fn scrub_with_progress(
        &self,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<ScrubReport, StorageError> {
        maintenance::scrub(&self.inner, progress)
    }

    /// Treats drive `drive` as replaced by a blank one: re-creates it if it is a missing file,
    /// writes its superblock and refills every shard it should hold from the other drives.
    pub fn rebuild(&self, drive: usize) -> Result<RebuildReport, StorageError> {
        maintenance::rebuild(&self.inner, drive, &mut |_, _| {})
    }

    /// [`Engine::rebuild`], reporting (objects done, objects total) as it goes.
    pub fn rebuild_with_progress(
        &self,
        drive: usize,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<RebuildReport, StorageError> {
        maintenance::rebuild(&self.inner, drive, progress)
    }

    /// Moves live extents out of mostly-dead zones and makes those zones writable again.
    pub fn compact(&self) -> Result<CompactReport, StorageError> {
        maintenance::compact(&self.inner)
    }
}

impl Inner {
    fn record(&self, id: &ObjectId) -> Result<ObjectRecord, StorageError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(OBJECTS)?;
        let bytes = table.get(key(id))?.ok_or(StorageError::NotFound(*id))?;
        ObjectRecord::decode(bytes.value())
    }

    fn next_seq(&self) -> u64 {
        self.next_seq.fetch_add(1, Ordering::Relaxed)
    }

    /// The drive shard `shard` of stripe `seq` goes to.
    fn target_drive(&self, seq: u64, shard: usize) -> usize {
        (seq as usize + shard) % self.drives.len()
    }

    fn checkout(&self, class: SlotClass) -> crate::device::PoolBuf {
        self.pool.checkout(class)
    }
}

fn superblock_for(layout: &Layout, drive: usize) -> Superblock {
    Superblock {
        drive: drive as u32,
        drive_count: layout.drives.len() as u32,
        k: layout.k,
        m: layout.m,
        zone_size: layout.zone_size,
        capacity: layout.drives[drive].1,
        uuid: layout.uuid,
    }
}

fn validate_shape(drives: usize, k: usize, m: usize) -> Result<(), StorageError> {
    let problem = if drives == 0 {
        Some("no drives given".to_string())
    } else if drives > MAX_DRIVES {
        Some(format!(
            "{drives} drives given; at most {MAX_DRIVES} are supported"
        ))
    } else if k == 0 || k > MAX_DATA_SHARDS || m > MAX_PARITY_SHARDS {
        Some(format!(
            "{k}+{m} shards: data must be 1..={MAX_DATA_SHARDS}, parity 0..={MAX_PARITY_SHARDS}"
        ))
    } else if k + m > drives {
        Some(format!(
            "{k}+{m} shards need {} drives, {drives} given",
            k + m
        ))
    } else if !stripe_codec::supports(k, m) {
        Some(format!("{k}+{m} shards: parity may not exceed data"))
    } else {
        None
    };
    problem.map_or(Ok(()), |p| Err(StorageError::Config(p)))
}
