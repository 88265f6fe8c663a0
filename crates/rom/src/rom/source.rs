//! Loading a ROM file safely (docs/rom.md, "Memory and truncation").
//!
//! A shared file mapping raises SIGBUS in the whole process when another program truncates the
//! file while a page is read, which would kill the host (Node, Electron). ROM files are small
//! (the largest SNES mappings reach 8 MiB), so the file is read once into an anonymous mapping
//! (pages faulted in by the read itself, huge pages requested) that is then made read-only: one mapping, no window copies afterwards, immune to truncation
//! or rewriting of the file. The file's size, modification time and identity are recorded so
//! [`Stamp::changed`] can report a stale view.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;
use std::time::SystemTime;

use memmap2::{Mmap, MmapOptions};

use crate::error::Error;

/// Largest ROM file accepted: 64 MiB of ROM (eight times the largest SNES mapping) plus a
/// copier header. Larger files are a Limit error, refused before any allocation.
pub const MAX_FILE_SIZE: u64 = (64 << 20) + 512;

/// What identifies the file version that was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    identity: (u64, u64),
}

impl Stamp {
    fn of(meta: &Metadata) -> Stamp {
        #[cfg(unix)]
        let identity = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let identity = (0, 0);
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            identity,
        }
    }

    /// Whether `path` now differs from this stamp (a missing file has changed).
    pub(crate) fn changed(&self, path: &Path) -> Result<bool, Error> {
        match std::fs::metadata(path) {
            Ok(meta) => Ok(Stamp::of(&meta) != *self),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
            Err(e) => Err(Error::io("stat", path, e)),
        }
    }
}

/// Reads `path` into a read-only anonymous mapping. Retries once when the file changes while it
/// is read; fails with Io when it keeps changing.
pub(crate) fn load(path: &Path) -> Result<(Mmap, Stamp), Error> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        let meta = file.metadata().map_err(|e| Error::io("fstat", path, e))?;
        if meta.is_dir() {
            return Err(Error::io(
                "read",
                path,
                std::io::Error::from(std::io::ErrorKind::IsADirectory),
            ));
        }
        let len = meta.len();
        if len == 0 {
            return Err(Error::Format {
                file: path.display().to_string(),
                offset: 0,
                expected: "a ROM image (the file is empty)".into(),
            });
        }
        if len > MAX_FILE_SIZE {
            return Err(Error::Limit(format!(
                "{}: {len} bytes is larger than the {MAX_FILE_SIZE}-byte ROM limit",
                path.display()
            )));
        }
        let size = usize::try_from(len)
            .map_err(|_| Error::Limit(format!("{}: {len} bytes", path.display())))?;
        let mut map = MmapOptions::new()
            .len(size)
            .map_anon()
            .map_err(|e| Error::io("mmap", path, e))?;
        // Large pages where the system offers them on request: a 4 MiB ROM then costs two page
        // faults instead of a thousand. Only a hint; refusal changes nothing.
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::HugePage);
        let read = file.read_exact(&mut map[..]);
        let after = file.metadata().map_err(|e| Error::io("fstat", path, e))?;
        let stamp = Stamp::of(&meta);
        let stable = read.is_ok() && Stamp::of(&after) == stamp;
        if stable {
            let map = map
                .make_read_only()
                .map_err(|e| Error::io("mprotect", path, e))?;
            return Ok((map, stamp));
        }
        if attempts >= 2 {
            let cause = read.err().unwrap_or_else(|| {
                std::io::Error::other("the file changed while it was being read")
            });
            return Err(Error::io("read", path, cause));
        }
    }
}
