//! The file operations a snapshot write needs, behind a trait so tests can inject failures.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// A file being written by [`FileLayer::create_new`].
pub trait LayerFile: Send {
    /// Writes all of `data`.
    fn write_all(&mut self, data: &[u8]) -> io::Result<()>;
    /// Flushes data and metadata to stable storage.
    fn sync_all(&mut self) -> io::Result<()>;
}

/// The file-system calls of the write protocol (docs/store.md, "Writes"). [`OsLayer`] is the real
/// one.
pub trait FileLayer: Send + Sync {
    /// Creates a new file exclusively (`O_CREAT|O_EXCL`) with ordinary permissions.
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn LayerFile>>;
    /// Renames `from` over `to`, replacing it atomically.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Flushes a directory's entries (a no-op where the platform has no such call).
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Deletes a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
}

/// The operating system's file layer.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsLayer;

struct OsFile(File);

impl LayerFile for OsFile {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.write_all(data)
    }

    fn sync_all(&mut self) -> io::Result<()> {
        full_sync(&self.0)
    }
}

impl FileLayer for OsLayer {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn LayerFile>> {
        // `create_new` uses mode 0o666 minus the umask on Unix, unlike owner-only temp-file crates.
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        Ok(Box::new(OsFile(file)))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        #[cfg(unix)]
        {
            full_sync(&File::open(dir)?)
        }
        #[cfg(not(unix))]
        {
            // Windows offers no directory flush through std; the rename itself is journaled by NTFS.
            let _ = dir;
            Ok(())
        }
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }
}

/// `fsync` that reaches the drive. On Apple platforms std's `sync_all` issues `F_FULLFSYNC`, which
/// some file systems refuse with `ENOTSUP`; std has no fallback, so the call is made here and falls
/// back to a plain `fsync`.
#[cfg(target_vendor = "apple")]
fn full_sync(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    #[allow(unsafe_code)]
    // SAFETY: `fd` is an open descriptor owned by `file`, which outlives the call; F_FULLFSYNC
    // takes no pointer argument.
    let full = unsafe { libc::fcntl(fd, libc::F_FULLFSYNC) };
    if full != -1 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::ENOTSUP) {
        return Err(err);
    }
    #[allow(unsafe_code)]
    // SAFETY: as above; `fsync` only takes the descriptor.
    let plain = unsafe { libc::fsync(fd) };
    if plain == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `fsync` (std's `sync_all`: `fsync` on Unix, `FlushFileBuffers` on Windows).
#[cfg(not(target_vendor = "apple"))]
fn full_sync(file: &File) -> io::Result<()> {
    file.sync_all()
}
