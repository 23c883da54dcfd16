//! What the engine is told at start-up.

use std::path::{Path, PathBuf};

use crate::limits::{
    DEFAULT_FILE_DRIVES, DEFAULT_FILE_DRIVE_SIZE, DEFAULT_MAX_OBJECT_SIZE, DEFAULT_QUEUE_DEPTH,
    DEFAULT_SMALL_BUFFERS, DEFAULT_STRIPE_BUFFERS, DEFAULT_ZONE_SIZE,
};

/// Engine settings. [`EngineConfig::new`] gives laptop defaults: six sparse file drives under the
/// data folder, 4 data + 2 parity shards.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Folder of the index, and of the default file drives.
    pub data_dir: PathBuf,
    /// Drives (NVMe namespaces or files); empty means the default file drives.
    pub drives: Vec<PathBuf>,
    /// Data shards per stripe; `None` picks one for the drive count.
    pub data_shards: Option<usize>,
    /// Parity shards per stripe; `None` picks one for the drive count.
    pub parity_shards: Option<usize>,
    /// io_uring operations in flight per drive.
    pub queue_depth: u32,
    /// Largest object accepted.
    pub max_object_size: u64,
    /// Size of each default file drive (created sparse).
    pub file_drive_size: u64,
    /// Bytes per zone (fixed at format).
    pub zone_size: u64,
    /// Stripe-sized buffers in the registered pool.
    pub stripe_buffers: usize,
    /// Small buffers in the registered pool.
    pub small_buffers: usize,
}

impl EngineConfig {
    /// Defaults rooted at `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        EngineConfig {
            data_dir: data_dir.into(),
            drives: Vec::new(),
            data_shards: None,
            parity_shards: None,
            queue_depth: DEFAULT_QUEUE_DEPTH,
            max_object_size: DEFAULT_MAX_OBJECT_SIZE,
            file_drive_size: DEFAULT_FILE_DRIVE_SIZE,
            zone_size: DEFAULT_ZONE_SIZE,
            stripe_buffers: DEFAULT_STRIPE_BUFFERS,
            small_buffers: DEFAULT_SMALL_BUFFERS,
        }
    }

    /// Where the redb index lives.
    pub fn index_path(&self) -> PathBuf {
        self.data_dir.join("index.redb")
    }

    /// Whether the drives are the default file drives (created by the engine).
    pub fn uses_default_drives(&self) -> bool {
        self.drives.is_empty()
    }

    /// The drives this configuration names, defaults filled in.
    pub fn drive_paths(&self) -> Vec<PathBuf> {
        if self.drives.is_empty() {
            (0..DEFAULT_FILE_DRIVES)
                .map(|i| default_drive_path(&self.data_dir, i))
                .collect()
        } else {
            self.drives.clone()
        }
    }

    /// Data and parity shards for `drives` drives, honouring explicit settings.
    pub fn shape(&self, drives: usize) -> (usize, usize) {
        let m = self.parity_shards.unwrap_or(match drives {
            0 | 1 => 0,
            2 | 3 => 1,
            4..=8 => 2,
            _ => 3,
        });
        let k = self
            .data_shards
            .unwrap_or_else(|| drives.saturating_sub(m).clamp(1, 16));
        (k, m)
    }
}

/// Path of default file drive `i` under `data_dir`.
pub fn default_drive_path(data_dir: &Path, i: usize) -> PathBuf {
    data_dir.join("drives").join(format!("drive-{i}.img"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_shapes_fit_the_drive_count() {
        let c = EngineConfig::new("x");
        assert_eq!(c.shape(6), (4, 2));
        assert_eq!(c.shape(3), (2, 1));
        assert_eq!(c.shape(1), (1, 0));
        assert_eq!(c.shape(12), (9, 3));
        assert_eq!(c.drive_paths().len(), 6);
    }
}
