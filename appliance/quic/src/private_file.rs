//! Writing files only the owner may read (mode 0600): the node key, and the agent's enrollment
//! state. Both go through a private temporary file that is synced before it takes the final
//! name, so a reader never sees half a file, and the directory is synced after.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::limits::KEY_FILE_MODE;

/// What [`create_new`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The file was written.
    Written,
    /// A file of that name existed already and was left as it was.
    Existed,
}

/// A temporary name beside `path` for this process.
fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// Writes `contents` to a new private temporary file beside `path` and syncs it.
fn write_temporary(path: &Path, contents: &[u8]) -> io::Result<PathBuf> {
    let temporary = temporary(path);
    // A temporary left by a crashed run of this process id is stale: start afresh.
    match fs::remove_file(&temporary) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(KEY_FILE_MODE)
        .open(&temporary)?;
    if let Err(e) = file.write_all(contents).and_then(|()| file.sync_all()) {
        let _ = fs::remove_file(&temporary);
        return Err(e);
    }
    Ok(temporary)
}

fn sync_parent(path: &Path) -> io::Result<()> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::File::open(parent)?.sync_all()
}

/// Creates the private file `path` holding `contents`, unless a file of that name exists: an
/// existing file (a key, most often) is never replaced, even by a racing process.
pub fn create_new(path: &Path, contents: &[u8]) -> io::Result<Created> {
    let temporary = write_temporary(path, contents)?;
    let linked = fs::hard_link(&temporary, path);
    let removed = fs::remove_file(&temporary);
    let created = match linked {
        Ok(()) => Created::Written,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Created::Existed,
        Err(e) => return Err(e),
    };
    removed?;
    sync_parent(path)?;
    Ok(created)
}

/// Replaces the private file `path` (or creates it) with `contents` in one step: a reader sees
/// the old contents or the new, never a mix. For state that changes, never for keys.
pub fn replace(path: &Path, contents: &[u8]) -> io::Result<()> {
    let temporary = write_temporary(path, contents)?;
    if let Err(e) = fs::rename(&temporary, path) {
        let _ = fs::remove_file(&temporary);
        return Err(e);
    }
    sync_parent(path)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn create_new_never_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        assert_eq!(create_new(&path, b"first").unwrap(), Created::Written);
        assert_eq!(create_new(&path, b"second").unwrap(), Created::Existed);
        assert_eq!(fs::read(&path).unwrap(), b"first");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn replace_swaps_contents_privately() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        replace(&path, b"one").unwrap();
        replace(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_stale_temporary_is_overwritten_and_a_missing_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        fs::write(temporary(&path), b"left by a crash").unwrap();
        assert_eq!(create_new(&path, b"key").unwrap(), Created::Written);
        assert_eq!(fs::read(&path).unwrap(), b"key");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        let missing = dir.path().join("nowhere/key");
        assert!(create_new(&missing, b"key").is_err());
        assert!(replace(&missing, b"key").is_err());
    }
}
