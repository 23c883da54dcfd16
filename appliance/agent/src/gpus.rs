//! GPU discovery through NVML. A box without an NVIDIA driver (or without GPUs) reports none;
//! the reason is logged once, at start.

use appliance_protocol::fleet::GpuInventory;
use nvml_wrapper::Nvml;

/// Library names tried in order: the versioned name every driver install has, then the
/// unversioned one that only development packages add.
const NVML_LIBRARIES: [&str; 2] = ["libnvidia-ml.so.1", "libnvidia-ml.so"];

/// NVML, when a driver is there.
pub struct GpuProbe {
    nvml: Option<Nvml>,
    /// Why there is no NVML, for the log and tests.
    absent_reason: Option<String>,
}

impl GpuProbe {
    /// Loads NVML from the usual library names.
    pub fn new() -> GpuProbe {
        GpuProbe::with_libraries(&NVML_LIBRARIES)
    }

    /// Loads NVML from the first of `libraries` that initialises.
    pub fn with_libraries(libraries: &[&str]) -> GpuProbe {
        let mut reasons = Vec::new();
        for library in libraries {
            match Nvml::builder().lib_path(library.as_ref()).init() {
                Ok(nvml) => {
                    return GpuProbe {
                        nvml: Some(nvml),
                        absent_reason: None,
                    }
                }
                Err(err) => reasons.push(format!("{library}: {err}")),
            }
        }
        let reason = reasons.join("; ");
        tracing::info!(%reason, "no NVIDIA driver: this box reports no GPUs");
        GpuProbe {
            nvml: None,
            absent_reason: Some(reason),
        }
    }

    /// Why NVML is absent; `None` when it loaded.
    pub fn absent_reason(&self) -> Option<&str> {
        self.absent_reason.as_deref()
    }

    /// Every GPU NVML sees now; empty without NVML. A GPU that fails a query is reported with
    /// what could be read (a failing GPU should show up, not vanish).
    pub fn list(&self) -> Vec<GpuInventory> {
        let Some(nvml) = &self.nvml else {
            return Vec::new();
        };
        let count = match nvml.device_count() {
            Ok(count) => count,
            Err(err) => {
                tracing::warn!(%err, "NVML could not count GPUs");
                return Vec::new();
            }
        };
        (0..count)
            .map(|index| match nvml.device_by_index(index) {
                Ok(device) => {
                    let memory = device.memory_info().ok();
                    GpuInventory {
                        index,
                        name: device.name().unwrap_or_default(),
                        uuid: device.uuid().unwrap_or_default(),
                        memory_total_bytes: memory.as_ref().map_or(0, |m| m.total),
                        memory_used_bytes: memory.as_ref().map_or(0, |m| m.used),
                    }
                }
                Err(err) => GpuInventory {
                    index,
                    name: format!("unreadable: {err}"),
                    uuid: String::new(),
                    memory_total_bytes: 0,
                    memory_used_bytes: 0,
                },
            })
            .collect()
    }
}

impl Default for GpuProbe {
    fn default() -> Self {
        GpuProbe::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_driver_means_no_gpus() {
        let probe = GpuProbe::with_libraries(&["/nonexistent/libnvidia-ml.so.1"]);
        assert!(probe.list().is_empty());
        let reason = probe.absent_reason().unwrap();
        assert!(
            reason.contains("/nonexistent/libnvidia-ml.so.1"),
            "{reason}"
        );
    }

    /// Whatever this machine has, the probe answers without panicking, and a probe that found
    /// no driver says why. With `EXPECT_GPUS=N` (on a GPU machine) it must see N GPUs with
    /// names, UUIDs and memory.
    #[test]
    fn the_real_driver_or_none() {
        let probe = GpuProbe::new();
        let gpus = probe.list();
        if probe.absent_reason().is_some() {
            assert!(gpus.is_empty());
        }
        if let Ok(expected) = std::env::var("EXPECT_GPUS") {
            let expected: usize = expected.parse().expect("EXPECT_GPUS is a number");
            assert_eq!(gpus.len(), expected, "{:?}", probe.absent_reason());
            for gpu in &gpus {
                assert!(
                    !gpu.name.is_empty() && gpu.uuid.starts_with("GPU-"),
                    "{gpu:?}"
                );
                assert!(gpu.memory_total_bytes > 0, "{gpu:?}");
            }
        }
    }
}
