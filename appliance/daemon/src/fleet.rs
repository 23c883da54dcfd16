//! The box's inventory for the control plane's agent: drives and storage counters from the
//! engine's status.

use std::path::Path;

use appliance_agent::drives::drive_identity;
use appliance_agent::{InventorySource, LocalInventory};
use appliance_protocol::fleet::{DriveInventory, ModuleProfile, StorageCounters};
use appliance_storage::{Engine, EngineStatus};

/// Reads the inventory from the engine.
pub struct EngineInventory {
    /// The running engine.
    pub engine: Engine,
}

/// The inventory `status` describes: one entry per drive, counters summed over drives.
pub fn inventory_of(status: &EngineStatus, sysfs: &Path) -> LocalInventory {
    let drives: Vec<DriveInventory> = status
        .drives
        .iter()
        .map(|drive| {
            let (model, serial) = drive_identity(&drive.path, sysfs);
            DriveInventory {
                path: drive.path.display().to_string(),
                model,
                serial,
                capacity_bytes: drive.capacity,
                used_bytes: drive.used,
                errors: drive.read_errors + drive.write_errors + drive.checksum_failures,
                online: drive.online,
            }
        })
        .collect();
    let storage = StorageCounters {
        objects: status.objects,
        capacity_bytes: drives.iter().map(|d| d.capacity_bytes).sum(),
        used_bytes: drives.iter().map(|d| d.used_bytes).sum(),
        errors: drives.iter().map(|d| d.errors).sum(),
        offline_drives: status.offline_drives() as u64,
    };
    LocalInventory {
        // The daemon runs the storage module; DA and serving are not wired into it yet.
        modules: ModuleProfile {
            storage: true,
            da: false,
            serving: false,
        },
        drives,
        storage: Some(storage),
        da: None,
    }
}

impl InventorySource for EngineInventory {
    fn collect(&self) -> LocalInventory {
        match self.engine.status() {
            Ok(status) => inventory_of(&status, Path::new("/sys")),
            Err(err) => {
                tracing::warn!(%err, "engine status failed: heartbeat without drives");
                LocalInventory::default()
            }
        }
    }
}
