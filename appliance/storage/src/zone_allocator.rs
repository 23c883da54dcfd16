//! Append-only space on each drive, cut into zones, with live-byte accounting for compaction.
//!
//! Only the index is persistent: at start-up the allocator is rebuilt from the extents the index
//! references. Space a crashed write used but never committed is past no live extent and is simply
//! reused. Each zone counts its live bytes (referenced by the index) and its pending extents
//! (allocated by writes not yet committed or aborted); a zone is reset only when both are zero.

use crate::limits::{COMPACT_LIVE_PERCENT, ZONES_START};

/// Which open zone an extent is appended to. Data and parity extents go to separate zones, so a
/// drive's data extents lie back to back and a healthy read (data shards only) is sequential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Data shards.
    Data = 0,
    /// Parity shards.
    Parity = 1,
}

/// No free zone is left on the drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriveFull;

#[derive(Debug, Clone, Default)]
struct Zone {
    /// Bytes appended since the zone was last reset.
    wp: u64,
    /// Bytes the index references.
    live: u64,
    /// Extents allocated but not yet committed or aborted.
    pending: u32,
}

#[derive(Debug)]
struct DriveZones {
    zones: Vec<Zone>,
    /// The zone each [`Stream`] appends to.
    open: [Option<usize>; 2],
}

impl DriveZones {
    fn is_open(&self, zone: usize) -> bool {
        self.open.contains(&Some(zone))
    }
}

/// Usage of one drive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriveUsage {
    /// Bytes appended (live or garbage).
    pub used: u64,
    /// Bytes the index references.
    pub live: u64,
    /// Bytes available to new writes (zones never written or reset).
    pub free: u64,
}

/// The allocator for all drives.
#[derive(Debug)]
pub struct ZoneAllocator {
    zone_size: u64,
    drives: Vec<DriveZones>,
}

impl ZoneAllocator {
    /// An allocator with every zone empty; `zones[d]` zones of `zone_size` bytes on drive `d`.
    pub fn new(zone_size: u64, zones: &[u64]) -> Self {
        ZoneAllocator {
            zone_size,
            drives: zones
                .iter()
                .map(|&n| DriveZones {
                    zones: vec![Zone::default(); n as usize],
                    open: [None; 2],
                })
                .collect(),
        }
    }

    /// Zones a drive of `capacity` bytes holds.
    pub fn zones_for(capacity: u64, zone_size: u64) -> u64 {
        capacity.saturating_sub(ZONES_START) / zone_size
    }

    /// The zone holding byte `offset` of a drive.
    pub fn zone_of(&self, offset: u64) -> usize {
        debug_assert!(offset >= ZONES_START);
        ((offset - ZONES_START) / self.zone_size) as usize
    }

    fn zone_start(&self, zone: usize) -> u64 {
        ZONES_START + zone as u64 * self.zone_size
    }

    /// Records an extent the index references (at start-up).
    pub fn mark_live(&mut self, drive: usize, offset: u64, len: u64) {
        let z = self.zone_of(offset);
        let end = offset + len - self.zone_start(z);
        let zone = &mut self.drives[drive].zones[z];
        zone.wp = zone.wp.max(end);
        zone.live += len;
    }

    /// Reserves `len` bytes on `drive`, appending to the stream's open zone or opening an empty
    /// one.
    pub fn allocate(&mut self, drive: usize, len: u64, stream: Stream) -> Result<u64, DriveFull> {
        assert!(len <= self.zone_size, "extent larger than a zone");
        let zone_size = self.zone_size;
        let d = &mut self.drives[drive];
        let fits = |z: &Zone| z.wp + len <= zone_size;
        let zone = match d.open[stream as usize].filter(|&z| fits(&d.zones[z])) {
            Some(z) => z,
            None => {
                let z = d
                    .zones
                    .iter()
                    .position(|z| z.wp == 0 && z.pending == 0 && z.live == 0)
                    .ok_or(DriveFull)?;
                d.open[stream as usize] = Some(z);
                z
            }
        };
        let state = &mut d.zones[zone];
        let offset = state.wp;
        state.wp += len;
        state.pending += 1;
        Ok(self.zone_start(zone) + offset)
    }

    /// A pending extent is now referenced by the index.
    pub fn commit(&mut self, drive: usize, offset: u64, len: u64) {
        let z = self.zone_of(offset);
        let zone = &mut self.drives[drive].zones[z];
        assert!(zone.pending > 0, "commit of an extent never allocated");
        zone.pending -= 1;
        zone.live += len;
    }

    /// A pending extent will never be referenced (failed or duplicate write).
    pub fn abort(&mut self, drive: usize, offset: u64) {
        let z = self.zone_of(offset);
        let zone = &mut self.drives[drive].zones[z];
        assert!(zone.pending > 0, "abort of an extent never allocated");
        zone.pending -= 1;
    }

    /// A live extent is no longer referenced (deleted or moved).
    pub fn release(&mut self, drive: usize, offset: u64, len: u64) {
        let z = self.zone_of(offset);
        let zone = &mut self.drives[drive].zones[z];
        assert!(zone.live >= len, "release of more than is live");
        zone.live -= len;
    }

    /// Zones worth compacting: closed, nothing pending, and at most
    /// [`COMPACT_LIVE_PERCENT`] of what they hold still live. Returned as (drive, zone).
    pub fn compaction_candidates(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (d, drive) in self.drives.iter().enumerate() {
            for (z, zone) in drive.zones.iter().enumerate() {
                if !drive.is_open(z)
                    && zone.wp > 0
                    && zone.pending == 0
                    && zone.live * 100 <= zone.wp * COMPACT_LIVE_PERCENT
                {
                    out.push((d, z));
                }
            }
        }
        out
    }

    /// Makes a zone writable again if nothing in it is live or pending; returns whether it did.
    pub fn reset_if_unused(&mut self, drive: usize, zone: usize) -> bool {
        let d = &mut self.drives[drive];
        let z = &mut d.zones[zone];
        if z.live == 0 && z.pending == 0 && z.wp > 0 {
            z.wp = 0;
            for open in &mut d.open {
                if *open == Some(zone) {
                    *open = None;
                }
            }
            true
        } else {
            false
        }
    }

    /// Forgets everything on a drive (it was replaced by a blank one).
    pub fn reset_drive(&mut self, drive: usize) {
        let d = &mut self.drives[drive];
        for z in &mut d.zones {
            *z = Zone {
                pending: z.pending,
                ..Zone::default()
            };
        }
        d.open = [None; 2];
    }

    /// Space on a drive.
    pub fn usage(&self, drive: usize) -> DriveUsage {
        let d = &self.drives[drive];
        let mut usage = DriveUsage::default();
        for (i, z) in d.zones.iter().enumerate() {
            usage.used += z.wp;
            usage.live += z.live;
            if z.wp == 0 && z.pending == 0 {
                usage.free += self.zone_size;
            } else if d.is_open(i) {
                usage.free += self.zone_size - z.wp;
            }
        }
        usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Z: u64 = 1 << 20;

    #[test]
    fn appends_then_opens_next_zone_then_fills() {
        let mut a = ZoneAllocator::new(Z, &[2]);
        let first = a.allocate(0, Z / 2, Stream::Data).unwrap();
        assert_eq!(first, ZONES_START);
        assert_eq!(
            a.allocate(0, Z / 2, Stream::Data).unwrap(),
            ZONES_START + Z / 2
        );
        assert_eq!(a.allocate(0, Z / 2, Stream::Data).unwrap(), ZONES_START + Z);
        assert_eq!(a.allocate(0, Z, Stream::Data).unwrap_err(), DriveFull);
    }

    #[test]
    fn zones_reset_only_when_nothing_live_or_pending() {
        let mut a = ZoneAllocator::new(Z, &[2]);
        let x = a.allocate(0, Z, Stream::Data).unwrap();
        let y = a.allocate(0, Z / 4, Stream::Data).unwrap();
        a.commit(0, x, Z);
        assert_eq!(a.compaction_candidates(), vec![]);
        a.release(0, x, Z);
        assert_eq!(a.compaction_candidates(), vec![(0, 0)]);
        assert!(a.reset_if_unused(0, 0));
        // Zone 1 is open and its extent pending: never a candidate, never reset.
        assert!(!a.reset_if_unused(0, 1));
        a.abort(0, y);
        assert_eq!(a.allocate(0, Z, Stream::Data).unwrap(), ZONES_START);
    }

    #[test]
    fn data_and_parity_append_to_separate_zones() {
        let mut a = ZoneAllocator::new(Z, &[3]);
        let d1 = a.allocate(0, 4096, Stream::Data).unwrap();
        let p1 = a.allocate(0, 4096, Stream::Parity).unwrap();
        let d2 = a.allocate(0, 4096, Stream::Data).unwrap();
        assert_eq!((d1, d2), (ZONES_START, ZONES_START + 4096));
        assert_eq!(p1, ZONES_START + Z);
        assert_eq!(a.compaction_candidates(), vec![]);
    }

    #[test]
    fn rebuilt_from_live_extents() {
        let mut a = ZoneAllocator::new(Z, &[3]);
        a.mark_live(0, ZONES_START + Z + 4096, 4096);
        let u = a.usage(0);
        assert_eq!((u.used, u.live), (8192, 4096));
        // The partly used zone is not appended to after a restart; an empty one is opened.
        assert_eq!(a.allocate(0, 4096, Stream::Data).unwrap(), ZONES_START);
    }
}
