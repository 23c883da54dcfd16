//! Scrub, rebuild and compaction: all three re-read stripes, rebuild what is bad from parity,
//! and rewrite chosen shards to fresh space before pointing the index at them.

use std::collections::HashSet;
use std::sync::Arc;

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::read;
use super::stripe::{self, Shape};
use super::{drive, superblock_for, Inner};
use crate::error::StorageError;
use crate::index::{key, ObjectRecord, ShardLoc, OBJECTS};
use crate::limits::RECLAIM_WAIT;
use crate::metrics as m;
use crate::object_id::ObjectId;

/// What a scrub found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScrubReport {
    /// Objects checked.
    pub objects: u64,
    /// Stripes checked.
    pub stripes: u64,
    /// Shards that were missing or failed their check.
    pub bad_shards: u64,
    /// Shards rewritten from parity.
    pub repaired_shards: u64,
    /// Objects with a stripe beyond repair.
    pub unrecoverable: Vec<ObjectId>,
}

/// What a rebuild did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebuildReport {
    /// The rebuilt drive.
    pub drive: usize,
    /// Objects looked at.
    pub objects: u64,
    /// Shards written to the drive.
    pub shards: u64,
    /// Bytes written to the drive.
    pub bytes: u64,
    /// Objects with a stripe beyond repair.
    pub unrecoverable: Vec<ObjectId>,
}

/// What a compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactReport {
    /// Zones made writable again.
    pub zones_reclaimed: u64,
    /// Live extents moved out of them.
    pub extents_moved: u64,
    /// Bytes moved.
    pub bytes_moved: u64,
}

/// What repairing one stripe did.
#[derive(Debug, Default)]
struct Repair {
    bad: u64,
    rewritten: u64,
    bytes: u64,
}

/// Reads stripe `s` of `id` whole, rebuilds missing data, reseals, and rewrites to fresh space
/// every shard that is bad (when its drive is online) or that `rewrite` picks. Locations on
/// `forgotten_drive` are not live in the allocator (the drive was reset).
fn repair_stripe(
    inner: &Inner,
    id: &ObjectId,
    record: &ObjectRecord,
    s: usize,
    rewrite: &dyn Fn(usize, Option<ShardLoc>) -> bool,
    forgotten_drive: Option<usize>,
) -> Result<Repair, StorageError> {
    let stripe = &record.stripes[s];
    let shape = Shape::of(stripe, record.m);
    let mut r = read::start(inner, record, s, 0..shape.shards(), None);
    let (intact, _) = read::finish(inner, id, record, &mut r)?;
    let mut repair = Repair {
        bad: intact.iter().filter(|x| !**x).count() as u64,
        ..Repair::default()
    };
    let targets: Vec<(usize, usize)> = (0..shape.shards())
        .filter(|&i| !intact[i] || rewrite(i, stripe.shards[i]))
        .map(|i| {
            let d =
                stripe.shards[i].map_or(inner.target_drive(stripe.seq, i), |l| l.drive as usize);
            (i, d)
        })
        .filter(|&(_, d)| inner.drives[d].is_online())
        .collect();
    if targets.is_empty() {
        return Ok(repair);
    }
    stripe::seal(r.buf.as_mut_slice(), &shape, record.write_id, stripe.seq, s);
    let mut fresh = Vec::new();
    {
        let mut alloc = inner.alloc.lock();
        for &(i, d) in &targets {
            match alloc.allocate(d, shape.extent_len as u64, shape.stream(i)) {
                Ok(offset) => fresh.push((
                    i,
                    ShardLoc {
                        drive: d as u16,
                        offset,
                    },
                )),
                Err(_) => {
                    for (_, l) in &fresh {
                        alloc.abort(l.drive as usize, l.offset);
                    }
                    return Err(StorageError::OutOfSpace { drive: d });
                }
            }
        }
    }
    let group = stripe::submit(inner, &mut r.buf, &shape, &fresh, true);
    let results = group.wait();
    let durable: Vec<(usize, ShardLoc)> = fresh
        .iter()
        .zip(&results)
        .filter(|(_, res)| res.is_ok())
        .map(|(f, _)| *f)
        .collect();
    // Point the index at the new copies, unless the object changed meanwhile.
    let txn = inner.db.begin_write()?;
    let mut applied = Vec::new();
    {
        let mut table = txn.open_table(OBJECTS)?;
        let current = table
            .get(key(id))?
            .map(|v| ObjectRecord::decode(v.value()))
            .transpose()?;
        if let Some(mut current) = current.filter(|c| c.write_id == record.write_id) {
            for &(i, loc) in &durable {
                if current.stripes[s].shards[i] == stripe.shards[i] {
                    current.stripes[s].shards[i] = Some(loc);
                    applied.push((i, loc));
                }
            }
            table.insert(key(id), current.encode().as_slice())?;
        }
    }
    txn.commit()?;
    let mut alloc = inner.alloc.lock();
    for (i, loc) in &fresh {
        if applied.iter().any(|(j, _)| j == i) {
            alloc.commit(loc.drive as usize, loc.offset, shape.extent_len as u64);
            if let Some(old) = stripe.shards[*i] {
                if forgotten_drive != Some(old.drive as usize) {
                    alloc.release(old.drive as usize, old.offset, shape.extent_len as u64);
                }
            }
            repair.rewritten += 1;
            repair.bytes += shape.extent_len as u64;
            m::repair();
        } else {
            alloc.abort(loc.drive as usize, loc.offset);
        }
    }
    Ok(repair)
}

fn all_ids(inner: &Inner) -> Result<Vec<ObjectId>, StorageError> {
    let txn = inner.db.begin_read()?;
    let table = txn.open_table(OBJECTS)?;
    let mut ids = Vec::new();
    for entry in table.iter()? {
        let (k, _) = entry?;
        ids.push(ObjectId(k.value().try_into().map_err(|_| {
            StorageError::CorruptIndex("object key is not 32 bytes".into())
        })?));
    }
    Ok(ids)
}

/// Runs `visit` on every stripe of every object (skipping objects deleted meanwhile), collecting
/// unrecoverable objects instead of stopping at them.
fn for_each_stripe(
    inner: &Inner,
    progress: &mut dyn FnMut(u64, u64),
    mut visit: impl FnMut(&ObjectId, &ObjectRecord, usize) -> Result<(), StorageError>,
) -> Result<(u64, Vec<ObjectId>), StorageError> {
    let ids = all_ids(inner)?;
    let total = ids.len() as u64;
    let mut unrecoverable = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        progress(n as u64, total);
        let record = match inner.record(id) {
            Ok(r) => r,
            Err(StorageError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        for s in 0..record.stripes.len() {
            match visit(id, &record, s) {
                Ok(()) => {}
                Err(StorageError::TooManyFailures { .. }) => {
                    tracing::error!(%id, stripe = s, "stripe beyond repair");
                    unrecoverable.push(*id);
                    break;
                }
                Err(e) => return Err(e),
            }
        }
    }
    progress(total, total);
    Ok((total, unrecoverable))
}

pub(crate) fn scrub(
    inner: &Inner,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ScrubReport, StorageError> {
    let _one_at_a_time = inner.maintenance.lock();
    let mut report = ScrubReport::default();
    let (objects, unrecoverable) = for_each_stripe(inner, progress, |id, record, s| {
        let repair = repair_stripe(inner, id, record, s, &|_, _| false, None)?;
        report.stripes += 1;
        report.bad_shards += repair.bad;
        report.repaired_shards += repair.rewritten;
        Ok(())
    })?;
    report.objects = objects;
    report.unrecoverable = unrecoverable;
    tracing::info!(?report, "scrub done");
    Ok(report)
}

pub(crate) fn rebuild(
    inner: &Inner,
    d: usize,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RebuildReport, StorageError> {
    let drive = inner.drives.get(d).ok_or(StorageError::NoSuchDrive(d))?;
    let _one_at_a_time = inner.maintenance.lock();
    drive.take_offline("being rebuilt".into());
    let is_block_device = std::fs::metadata(&drive.path)
        .map(|m| std::os::unix::fs::FileTypeExt::is_block_device(&m.file_type()))
        .unwrap_or(false);
    let create = (!is_block_device).then_some(drive.capacity);
    let device = drive
        .open_device(d, &inner.cfg, &inner.pool, inner.wrap.as_ref(), create)
        .map_err(|e| StorageError::Config(format!("drive {}: {e}", drive.path.display())))?;
    if device.capacity() < drive.capacity {
        return Err(StorageError::Config(format!(
            "replacement drive {} holds {} bytes, {} needed",
            drive.path.display(),
            device.capacity(),
            drive.capacity
        )));
    }
    drive::write_superblock(
        device.as_ref(),
        &inner.pool,
        &superblock_for(&inner.layout, d),
    )
    .map_err(|e| StorageError::io(format!("write superblock to {}", drive.path.display()), e))?;
    inner.alloc.lock().reset_drive(d);
    drive.set_device(Arc::clone(&device));
    let mut report = RebuildReport {
        drive: d,
        ..RebuildReport::default()
    };
    let on_drive = |record: &ObjectRecord, s: usize, i: usize| {
        let stripe = &record.stripes[s];
        stripe.shards[i].map_or(inner.target_drive(stripe.seq, i), |l| l.drive as usize) == d
    };
    let (objects, unrecoverable) = for_each_stripe(inner, progress, |id, record, s| {
        if !(0..record.stripes[s].shards.len()).any(|i| on_drive(record, s, i)) {
            return Ok(());
        }
        let repair = repair_stripe(
            inner,
            id,
            record,
            s,
            &|i, _| on_drive(record, s, i),
            Some(d),
        )?;
        report.shards += repair.rewritten;
        report.bytes += repair.bytes;
        Ok(())
    })?;
    report.objects = objects;
    report.unrecoverable = unrecoverable;
    tracing::info!(?report, "rebuild done");
    Ok(report)
}

pub(crate) fn compact(inner: &Inner) -> Result<CompactReport, StorageError> {
    let _one_at_a_time = inner.maintenance.lock();
    let candidates: HashSet<(usize, usize)> = inner
        .alloc
        .lock()
        .compaction_candidates()
        .into_iter()
        .collect();
    let mut report = CompactReport::default();
    if candidates.is_empty() {
        return Ok(report);
    }
    let in_candidate = |loc: Option<ShardLoc>| {
        loc.is_some_and(|l| {
            let zone = inner.alloc.lock().zone_of(l.offset);
            candidates.contains(&(l.drive as usize, zone))
        })
    };
    for_each_stripe(inner, &mut |_, _| {}, |id, record, s| {
        if !record.stripes[s].shards.iter().any(|l| in_candidate(*l)) {
            return Ok(());
        }
        let repair = repair_stripe(inner, id, record, s, &|_, l| in_candidate(l), None)?;
        report.extents_moved += repair.rewritten;
        report.bytes_moved += repair.bytes;
        Ok(())
    })?;
    // Readers may be waiting for pool buffers that a writer holds while it compacts: never wait
    // for them forever. Moved extents stay moved; their old zones are reset next time.
    let Some(_no_readers) = inner.reclaim.try_write_for(RECLAIM_WAIT) else {
        tracing::warn!(
            ?report,
            "readers held the zones too long; zone resets left for next time"
        );
        return Ok(report);
    };
    let mut alloc = inner.alloc.lock();
    for (d, z) in candidates {
        if alloc.reset_if_unused(d, z) {
            report.zones_reclaimed += 1;
        }
    }
    drop(alloc);
    tracing::info!(?report, "compaction done");
    Ok(report)
}
