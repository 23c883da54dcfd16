//! Drive identity for the inventory: model and serial of NVMe namespaces from sysfs; file-backed
//! drives report model `file` and no serial.

use std::path::Path;

/// Model and serial of the drive at `path`. NVMe namespaces (`/dev/nvme0n1`) are looked up
/// under `sysfs` (normally `/sys`); anything else is a file-backed drive.
pub fn drive_identity(path: &Path, sysfs: &Path) -> (String, String) {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if path.starts_with("/dev") && name.starts_with("nvme") {
        let device = sysfs.join("block").join(name).join("device");
        let read = |field: &str| {
            std::fs::read_to_string(device.join(field))
                .map(|text| text.trim().to_owned())
                .unwrap_or_default()
        };
        let model = read("model");
        return (
            if model.is_empty() {
                "nvme".to_owned()
            } else {
                model
            },
            read("serial"),
        );
    }
    ("file".to_owned(), String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvme_identity_comes_from_sysfs() {
        let sysfs = tempfile::tempdir().unwrap();
        let device = sysfs.path().join("block/nvme1n1/device");
        std::fs::create_dir_all(&device).unwrap();
        std::fs::write(device.join("model"), "Acme NVMe 7.68TB   \n").unwrap();
        std::fs::write(device.join("serial"), "  S123  \n").unwrap();
        assert_eq!(
            drive_identity(Path::new("/dev/nvme1n1"), sysfs.path()),
            ("Acme NVMe 7.68TB".to_owned(), "S123".to_owned())
        );
        // A namespace sysfs does not describe still reports as NVMe.
        assert_eq!(
            drive_identity(Path::new("/dev/nvme9n1"), sysfs.path()),
            ("nvme".to_owned(), String::new())
        );
        assert_eq!(
            drive_identity(Path::new("/data/drives/0"), sysfs.path()),
            ("file".to_owned(), String::new())
        );
    }
}
