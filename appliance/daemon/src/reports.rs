//! JSON forms of the engine's reports, shared by the admin API and the CLI (which prints the
//! same JSON whether it opened the engine itself or asked a running daemon).

use std::path::PathBuf;

use appliance_storage::{
    CompactReport, DriveStatus, EngineStatus, FormatReport, RebuildReport, ScrubReport,
};
use serde::{Deserialize, Serialize};

/// One drive in [`StatusJson`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DriveJson {
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

impl From<&DriveStatus> for DriveJson {
    fn from(d: &DriveStatus) -> Self {
        DriveJson {
            path: d.path.clone(),
            online: d.online,
            offline_reason: d.offline_reason.clone(),
            capacity: d.capacity,
            used: d.used,
            live: d.live,
            free: d.free,
            read_errors: d.read_errors,
            write_errors: d.write_errors,
            checksum_failures: d.checksum_failures,
        }
    }
}

/// `appliance status` and `GET /v1/admin/status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusJson {
    /// Data shards per stripe.
    pub data_shards: usize,
    /// Parity shards per stripe: how many failed drives the data survives.
    pub parity_shards: usize,
    /// Objects stored.
    pub objects: u64,
    /// Per drive.
    pub drives: Vec<DriveJson>,
}

impl StatusJson {
    /// Drives the engine no longer reads or writes.
    pub fn offline_drives(&self) -> usize {
        self.drives.iter().filter(|d| !d.online).count()
    }
}

impl From<&EngineStatus> for StatusJson {
    fn from(s: &EngineStatus) -> Self {
        StatusJson {
            data_shards: s.data_shards,
            parity_shards: s.parity_shards,
            objects: s.objects,
            drives: s.drives.iter().map(DriveJson::from).collect(),
        }
    }
}

/// `appliance scrub` and `POST /v1/admin/scrub`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScrubJson {
    /// Objects verified.
    pub objects: u64,
    /// Stripes verified.
    pub stripes: u64,
    /// Shards that were missing or failed their checksum.
    pub bad_shards: u64,
    /// Shards rewritten from parity.
    pub repaired_shards: u64,
    /// Objects that could not be repaired (more shards lost than parity covers).
    pub unrecoverable: Vec<String>,
}

impl From<&ScrubReport> for ScrubJson {
    fn from(r: &ScrubReport) -> Self {
        ScrubJson {
            objects: r.objects,
            stripes: r.stripes,
            bad_shards: r.bad_shards,
            repaired_shards: r.repaired_shards,
            unrecoverable: r.unrecoverable.iter().map(ToString::to_string).collect(),
        }
    }
}

/// `appliance rebuild` and `POST /v1/admin/rebuild/{drive}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RebuildJson {
    /// The drive refilled.
    pub drive: usize,
    /// Objects with a shard on it.
    pub objects: u64,
    /// Shards rewritten.
    pub shards: u64,
    /// Bytes rewritten.
    pub bytes: u64,
    /// Objects that could not be rebuilt.
    pub unrecoverable: Vec<String>,
}

impl From<&RebuildReport> for RebuildJson {
    fn from(r: &RebuildReport) -> Self {
        RebuildJson {
            drive: r.drive,
            objects: r.objects,
            shards: r.shards,
            bytes: r.bytes,
            unrecoverable: r.unrecoverable.iter().map(ToString::to_string).collect(),
        }
    }
}

/// `appliance format`.
#[derive(Debug, Clone, Serialize)]
pub struct FormatJson {
    /// Each drive's path and usable bytes.
    pub drives: Vec<(PathBuf, u64)>,
    /// Data shards per stripe.
    pub data_shards: usize,
    /// Parity shards per stripe.
    pub parity_shards: usize,
}

impl From<&FormatReport> for FormatJson {
    fn from(r: &FormatReport) -> Self {
        FormatJson {
            drives: r.drives.clone(),
            data_shards: r.data_shards,
            parity_shards: r.parity_shards,
        }
    }
}

/// `POST /v1/admin/compact`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompactJson {
    /// Zones made writable again.
    pub zones_reclaimed: u64,
    /// Live extents moved out of them.
    pub extents_moved: u64,
    /// Bytes moved.
    pub bytes_moved: u64,
}

impl From<&CompactReport> for CompactJson {
    fn from(r: &CompactReport) -> Self {
        CompactJson {
            zones_reclaimed: r.zones_reclaimed,
            extents_moved: r.extents_moved,
            bytes_moved: r.bytes_moved,
        }
    }
}
