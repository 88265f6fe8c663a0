//! The atomic, crash-safe write protocol and the removal of superseded files (docs/store.md,
//! "Writes").

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::Error;
use modforge_core::Stage;

use crate::hooks::Hooks;
use crate::layer::FileLayer;
use crate::names::{self, EntryKind};

/// Temp and `.del` files younger than this may belong to a live writer and are left alone.
pub(crate) const STALE_TEMP_AGE: Duration = Duration::from_secs(10 * 60);
const WRITE_CHUNK: usize = 1 << 20;
/// Backoff between rename attempts on Windows sharing violations: about one second in all.
const RENAME_BACKOFF_MS: [u64; 7] = [10, 20, 40, 80, 160, 320, 400];

/// Writes `parts` (header then payload) as `dir/final_name` through a temp file, then removes
/// this name's other versions and its stale temp files, and its files under the name's former
/// encoding `former` (docs/store.md, "File names"). Returns the final path.
pub(crate) fn write_atomic(
    dir: &Path,
    final_name: &str,
    former: Option<&str>,
    parts: &[&[u8]],
    hooks: &Hooks<'_>,
) -> Result<PathBuf, Error> {
    let layer = hooks.layer();
    std::fs::create_dir_all(dir).map_err(|e| Error::io("mkdir", dir, e))?;
    let target = dir.join(final_name);
    let temp = dir.join(names::temp_file_name(final_name));
    let result = write_temp_and_rename(layer, &temp, &target, parts, hooks);
    if result.is_err() {
        // The temp file may or may not exist at this point; either way it must not stay.
        let _ = layer.remove_file(&temp);
    }
    result?;
    layer
        .sync_dir(dir)
        .map_err(|e| Error::io("fsync", dir, e))?;
    if let Some((_, encoded_name)) = names::classify(final_name) {
        sweep(
            layer,
            dir,
            encoded_name,
            Sweep::AfterWrite { keep: final_name },
        );
    }
    if let Some(former) = former {
        // Every snapshot of the former encoding is superseded; its young temp files may belong
        // to a writer of an earlier release and are left, like this name's own.
        sweep(layer, dir, former, Sweep::AfterWrite { keep: final_name });
    }
    Ok(target)
}

fn write_temp_and_rename(
    layer: &dyn FileLayer,
    temp: &Path,
    target: &Path,
    parts: &[&[u8]],
    hooks: &Hooks<'_>,
) -> Result<(), Error> {
    let total: u64 = parts.iter().map(|p| p.len() as u64).sum();
    let label = target.file_name().and_then(|n| n.to_str());
    let mut file = layer
        .create_new(temp)
        .map_err(|e| Error::io("open", temp, e))?;
    let mut done = 0u64;
    for part in parts {
        for chunk in part.chunks(WRITE_CHUNK) {
            hooks.check_cancel()?;
            file.write_all(chunk)
                .map_err(|e| Error::io("write", temp, e))?;
            done += chunk.len() as u64;
            hooks.report(Stage::Write, done, total, label);
        }
    }
    hooks.check_cancel()?;
    // An fsync error is final: it is never retried (a retry can "succeed" after the kernel has
    // dropped the dirty pages).
    file.sync_all().map_err(|e| Error::io("fsync", temp, e))?;
    drop(file);
    rename_with_retry(
        layer,
        temp,
        target,
        |e| cfg!(windows) && is_sharing_violation(e),
        std::thread::sleep,
    )
    .map_err(|e| Error::io("rename", target, e))
}

/// Renames, retrying with backoff while `transient` says the error is a passing sharing
/// violation (another process or a scanner holds the target open on Windows).
pub(crate) fn rename_with_retry(
    layer: &dyn FileLayer,
    from: &Path,
    to: &Path,
    transient: impl Fn(&io::Error) -> bool,
    sleep: impl Fn(Duration),
) -> io::Result<()> {
    let mut delays = RENAME_BACKOFF_MS.iter();
    loop {
        match layer.rename(from, to) {
            Ok(()) => return Ok(()),
            Err(e) if transient(&e) => match delays.next() {
                Some(ms) => sleep(Duration::from_millis(*ms)),
                None => return Err(e),
            },
            Err(e) => return Err(e),
        }
    }
}

/// Windows errors that mean "someone holds the file": access denied (5), sharing violation (32),
/// lock violation (33), user-mapped section open (1224), or their portable kinds.
pub(crate) fn is_sharing_violation(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ResourceBusy
    ) || matches!(e.raw_os_error(), Some(5 | 32 | 33 | 1224))
}

/// What a sweep removes from a directory.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sweep<'a> {
    /// After a write: this name's other snapshot versions, and its temp/`.del` files older than
    /// [`STALE_TEMP_AGE`].
    AfterWrite { keep: &'a str },
    /// Invalidation: this name's snapshots of every version and all its temp/`.del` files.
    Invalidate,
    /// Cleaning: every temp/`.del` file of every name.
    TempFiles,
}

/// Counts of a sweep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Swept {
    pub removed: u64,
    pub deferred: u64,
}

/// Removes the files `which` selects from `dir`, for the encoded name `encoded_name` (ignored
/// for [`Sweep::TempFiles`]). Failures to delete are counted as deferred, never reported.
pub(crate) fn sweep(
    layer: &dyn FileLayer,
    dir: &Path,
    encoded_name: &str,
    which: Sweep<'_>,
) -> Swept {
    let mut swept = Swept::default();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return swept;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        let Some((kind, name)) = names::classify(file_name) else {
            continue;
        };
        let mine = name == encoded_name;
        let old = || {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age >= STALE_TEMP_AGE)
        };
        let select = match (which, kind) {
            (Sweep::AfterWrite { keep }, EntryKind::Snapshot) => mine && file_name != keep,
            (Sweep::AfterWrite { .. }, EntryKind::Temp | EntryKind::Deleted) => mine && old(),
            (Sweep::Invalidate, _) => mine,
            (Sweep::TempFiles, EntryKind::Temp | EntryKind::Deleted) => true,
            (Sweep::TempFiles, EntryKind::Snapshot) => false,
        };
        if !select {
            continue;
        }
        let path = entry.path();
        let outcome = match kind {
            EntryKind::Snapshot => remove_snapshot(layer, dir, file_name),
            EntryKind::Temp | EntryKind::Deleted => match layer.remove_file(&path) {
                Ok(()) => Removal::Removed,
                Err(e) if e.kind() == io::ErrorKind::NotFound => Removal::Gone,
                Err(_) => Removal::Deferred,
            },
        };
        match outcome {
            Removal::Removed => swept.removed += 1,
            Removal::Deferred => swept.deferred += 1,
            Removal::Gone => {}
        }
    }
    swept
}

enum Removal {
    Removed,
    Deferred,
    Gone,
}

/// Removes a snapshot by renaming it to `.del` first (readers opening by name stop seeing it at
/// once), then deleting; a delete refused because the file is mapped elsewhere is deferred.
fn remove_snapshot(layer: &dyn FileLayer, dir: &Path, file_name: &str) -> Removal {
    let from = dir.join(file_name);
    let to = dir.join(names::deleted_file_name(file_name));
    match layer.rename(&from, &to) {
        Ok(()) => match layer.remove_file(&to) {
            Ok(()) => Removal::Removed,
            Err(_) => Removal::Deferred,
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Removal::Gone,
        Err(_) => Removal::Deferred,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{LayerFile, OsLayer};
    use std::cell::Cell;
    use std::sync::Mutex;

    /// Fails `rename` with a permission error a given number of times.
    struct Flaky {
        failures: Mutex<u32>,
    }

    impl FileLayer for Flaky {
        fn create_new(&self, path: &Path) -> io::Result<Box<dyn LayerFile>> {
            OsLayer.create_new(path)
        }
        fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
            let mut left = self.failures.lock().unwrap();
            if *left > 0 {
                *left -= 1;
                return Err(io::Error::from(io::ErrorKind::PermissionDenied));
            }
            OsLayer.rename(from, to)
        }
        fn sync_dir(&self, dir: &Path) -> io::Result<()> {
            OsLayer.sync_dir(dir)
        }
        fn remove_file(&self, path: &Path) -> io::Result<()> {
            OsLayer.remove_file(path)
        }
    }

    #[test]
    fn rename_retries_sharing_violations_with_backoff() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&from, b"x").unwrap();
        let slept = Cell::new(0u64);
        let layer = Flaky {
            failures: Mutex::new(3),
        };
        rename_with_retry(&layer, &from, &to, is_sharing_violation, |d| {
            slept.set(slept.get() + d.as_millis() as u64)
        })
        .unwrap();
        assert_eq!(slept.get(), 10 + 20 + 40);
        assert_eq!(std::fs::read(&to).unwrap(), b"x");

        std::fs::write(&from, b"y").unwrap();
        let layer = Flaky {
            failures: Mutex::new(100),
        };
        slept.set(0);
        let err = rename_with_retry(&layer, &from, &to, is_sharing_violation, |d| {
            slept.set(slept.get() + d.as_millis() as u64)
        })
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(slept.get(), RENAME_BACKOFF_MS.iter().sum::<u64>());
        assert!(slept.get() >= 1000 && slept.get() < 1100);

        // Not transient: no retry at all.
        let layer = Flaky {
            failures: Mutex::new(1),
        };
        slept.set(0);
        assert!(
            rename_with_retry(
                &layer,
                &from,
                &to,
                |_| false,
                |d| slept.set(slept.get() + d.as_millis() as u64)
            )
            .is_err()
        );
        assert_eq!(slept.get(), 0);
    }

    #[test]
    fn windows_sharing_codes() {
        assert!(is_sharing_violation(&io::Error::from_raw_os_error(1224)) || cfg!(unix));
        assert!(is_sharing_violation(&io::Error::from(
            io::ErrorKind::PermissionDenied
        )));
        assert!(!is_sharing_violation(&io::Error::from(
            io::ErrorKind::NotFound
        )));
    }
}
