//! Shared set-up for the engine's integration tests: small file drives in a temp folder.
#![allow(dead_code)]

mod pattern;

use std::path::PathBuf;
use std::sync::Arc;

use appliance_storage::device::{FaultPlan, FaultyDevice};
use appliance_storage::{DeviceWrapper, Engine, EngineConfig};

/// Size of each test drive file (sparse).
pub const DRIVE_SIZE: u64 = 96 << 20;
/// Zone size in tests: small, so compaction and full drives are cheap to reach.
pub const ZONE_SIZE: u64 = 4 << 20;

/// A config for six small file drives under `dir`.
pub fn config(dir: &std::path::Path) -> EngineConfig {
    let mut cfg = EngineConfig::new(dir);
    cfg.file_drive_size = DRIVE_SIZE;
    cfg.zone_size = ZONE_SIZE;
    cfg.stripe_buffers = 6;
    cfg.small_buffers = 32;
    cfg
}

/// A freshly formatted engine in a new temp folder.
pub fn fresh() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    Engine::format(&cfg, false).unwrap();
    let engine = Engine::open(cfg).unwrap();
    (dir, engine)
}

pub use pattern::pattern;

/// Path of default drive `i` under `dir`.
pub fn drive_path(dir: &std::path::Path, i: usize) -> PathBuf {
    appliance_storage::config::default_drive_path(dir, i)
}

/// Opens the engine at `dir` with a fault plan per drive.
pub fn open_faulty(dir: &std::path::Path) -> (Engine, Vec<Arc<FaultPlan>>) {
    let plans: Vec<Arc<FaultPlan>> = (0..6).map(|_| Arc::new(FaultPlan::default())).collect();
    let p = plans.clone();
    let wrap: DeviceWrapper =
        Arc::new(move |i, dev| Box::new(FaultyDevice::new(dev, Arc::clone(&p[i]))));
    (Engine::open_with(config(dir), Some(wrap)).unwrap(), plans)
}
