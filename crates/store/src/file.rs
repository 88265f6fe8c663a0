//! Opening the files the store reads (snapshots, source files): regular files only, opened without
//! blocking, and held in memory below [`MAP_THRESHOLD`] (docs/store.md, "Reading files").
//!
//! A FIFO named like a snapshot blocks a plain `open(2)` until some writer appears, forever in
//! practice; a character device such as `/dev/zero` never ends. On POSIX the file is therefore
//! opened with `O_NONBLOCK` (which a FIFO honours at open and a regular file ignores) and kept
//! only when `fstat` says it is a regular file.
//!
//! Another program truncating a memory-mapped file makes every later read of the lost pages raise
//! `SIGBUS`, which kills the host process. Files up to [`MAP_THRESHOLD`] bytes are therefore read
//! into memory: a later truncation cannot reach that copy. Only larger files are mapped; for them
//! the risk remains and is documented.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use memmap2::{Mmap, MmapMut, MmapOptions};
use modforge_core::Control;

use crate::error::Error;

/// Files up to this many bytes (64 MiB) are read into memory; larger ones are memory-mapped.
pub const MAP_THRESHOLD: u64 = 64 << 20;

/// Bytes read between two polls of the cancellation flag.
const READ_CHUNK: usize = 4 << 20;

/// Why a path could not be opened as a regular file.
#[derive(Debug)]
pub(crate) enum OpenFailure {
    /// The open or `fstat` call failed.
    Io(io::Error),
    /// A directory is at the path.
    Directory,
    /// Something other than a regular file or directory is at the path (named by its kind).
    NotRegular(&'static str),
}

impl OpenFailure {
    /// A one-line description, errno name first (`ENOENT: ...`, `EISDIR: ...`).
    pub(crate) fn describe(&self, what: &str) -> String {
        match self {
            OpenFailure::Io(e) => format!("{}: {e}", modforge_core::io_code_name(e)),
            OpenFailure::Directory => format!("EISDIR: a directory is in the {what}'s place"),
            OpenFailure::NotRegular(kind) => {
                format!("not a regular file: {kind} is in the {what}'s place")
            }
        }
    }

    /// The failure as this crate's error about `path`.
    pub(crate) fn into_error(self, path: &Path) -> Error {
        match self {
            OpenFailure::Io(e) => Error::io("open", path, e),
            OpenFailure::Directory => {
                Error::io("open", path, io::Error::from(io::ErrorKind::IsADirectory))
            }
            OpenFailure::NotRegular(kind) => {
                Error::InvalidArgument(format!("{} is {kind}, not a regular file", path.display()))
            }
        }
    }
}

/// Opens `path` read-only without blocking and checks that it is a regular file; returns the
/// file and its size.
pub(crate) fn open_regular(path: &Path) -> Result<(File, u64), OpenFailure> {
    let file = open_nonblocking(path).map_err(|e| {
        // Windows refuses to open a directory as a file; name it the same on every platform.
        if path.is_dir() {
            OpenFailure::Directory
        } else {
            OpenFailure::Io(e)
        }
    })?;
    let meta = file.metadata().map_err(OpenFailure::Io)?;
    if meta.is_dir() {
        return Err(OpenFailure::Directory);
    }
    if !meta.is_file() {
        return Err(OpenFailure::NotRegular(kind_name(&meta)));
    }
    Ok((file, meta.len()))
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )?;
    Ok(File::from(fd))
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

#[cfg(unix)]
fn kind_name(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn kind_name(_meta: &std::fs::Metadata) -> &'static str {
    "not a regular file"
}

/// The bytes of a file: in memory, or mapped when larger than [`MAP_THRESHOLD`].
pub(crate) enum Contents {
    /// Read into memory.
    Owned(Vec<u8>),
    /// Memory-mapped (read-only).
    Mapped(Mmap),
    /// Memory-mapped privately and writable (copy-on-write): writes through the mapping stay in
    /// this process's memory and never reach the file.
    MappedPrivate(MmapMut),
}

impl Contents {
    /// The bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Contents::Owned(vec) => vec,
            Contents::Mapped(map) => map,
            Contents::MappedPrivate(map) => map,
        }
    }
}

/// Why the contents of a file could not be had.
#[derive(Debug)]
pub(crate) enum ReadFailure {
    /// Reading (or mapping) failed after the open.
    Io(io::Error),
    /// The cancellation flag was set.
    Aborted,
}

/// Reads a whole regular file of `size` bytes (as `fstat` said) into memory, or maps it when it
/// is larger than [`MAP_THRESHOLD`]. Reads stop at `size` bytes even if the file grows meanwhile;
/// a file that shrinks meanwhile yields fewer bytes (which the caller's length check rejects).
pub(crate) fn contents(
    file: &File,
    size: u64,
    control: &Control<'_>,
) -> Result<Contents, ReadFailure> {
    if size > MAP_THRESHOLD {
        control.check().map_err(|_| ReadFailure::Aborted)?;
        #[allow(unsafe_code)]
        // SAFETY: the map is read-only and this crate never modifies a snapshot file in place
        // (writers rename complete files over them), so the mapped bytes stay those of the file
        // that was checked. Another program truncating a file above the threshold in place while
        // it is mapped is the documented remaining risk (docs/store.md, "Reading files").
        let map = unsafe { Mmap::map(file) }.map_err(ReadFailure::Io)?;
        return Ok(Contents::Mapped(map));
    }
    // `size` is at most MAP_THRESHOLD here, so it fits in usize on every platform.
    let size = usize::try_from(size).unwrap_or(0);
    let mut bytes = Vec::with_capacity(size);
    let mut reader = file.take(size as u64);
    loop {
        control.check().map_err(|_| ReadFailure::Aborted)?;
        let read = (&mut reader)
            .take(READ_CHUNK as u64)
            .read_to_end(&mut bytes)
            .map_err(ReadFailure::Io)?;
        if read == 0 {
            break;
        }
    }
    Ok(Contents::Owned(bytes))
}

/// Maps a whole regular file privately and writable (copy-on-write), whatever its size: for a
/// caller that serves the bytes zero-copy to code that may write into them (a JavaScript Buffer)
/// and opens in O(header) time (docs/store.md, "Private mappings").
pub(crate) fn map_private(file: &File, control: &Control<'_>) -> Result<Contents, ReadFailure> {
    control.check().map_err(|_| ReadFailure::Aborted)?;
    #[allow(unsafe_code)]
    // SAFETY: the mapping is private (MAP_PRIVATE): writes through it go to anonymous copies of
    // the touched pages and never to the file. This crate never modifies a snapshot file in place
    // (writers rename complete files over them), so untouched pages stay those of the checked
    // file. Another program truncating the file in place while it is mapped is the documented
    // remaining risk (docs/store.md, "Reading files").
    let map = unsafe { MmapOptions::new().map_copy(file) }.map_err(ReadFailure::Io)?;
    Ok(Contents::MappedPrivate(map))
}

/// Reads a whole source file (a CSV table, say) into memory: a regular file opened without
/// blocking, read in chunks that poll `control`. A FIFO, socket or device is an invalid argument.
pub fn read_source(path: &Path, control: &Control<'_>) -> Result<Vec<u8>, Error> {
    let (file, size) = open_regular(path).map_err(|failure| failure.into_error(path))?;
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let mut reader = file.take(size);
    loop {
        control.check()?;
        let read = (&mut reader)
            .take(READ_CHUNK as u64)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("read", path, e))?;
        if read == 0 {
            break;
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_files_are_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..(READ_CHUNK + 123)).map(|i| i as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let (file, size) = open_regular(&path).unwrap();
        assert_eq!(size, data.len() as u64);
        let got = contents(&file, size, &Control::default()).unwrap();
        assert!(matches!(got, Contents::Owned(_)));
        assert_eq!(got.bytes(), &data[..]);
    }

    #[test]
    fn directories_and_missing_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let failure = open_regular(dir.path()).unwrap_err();
        assert!(matches!(failure, OpenFailure::Directory));
        assert!(failure.describe("snapshot").starts_with("EISDIR"));
        let failure = open_regular(&dir.path().join("nope")).unwrap_err();
        assert!(failure.describe("snapshot").starts_with("ENOENT"));
    }

    #[cfg(unix)]
    #[test]
    fn sources_must_be_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, b"k\n1\n").unwrap();
        assert_eq!(read_source(&path, &Control::default()).unwrap(), b"k\n1\n");
        assert!(matches!(
            read_source(std::path::Path::new("/dev/zero"), &Control::default()),
            Err(Error::InvalidArgument(m)) if m.contains("character device")
        ));
        assert!(matches!(
            read_source(&dir.path().join("nope"), &Control::default()),
            Err(Error::Io { op: "open", .. })
        ));
    }

    #[test]
    fn cancelled_reads_stop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        let (file, size) = open_regular(&path).unwrap();
        let cancel = modforge_core::Cancel::new();
        cancel.cancel();
        assert!(matches!(
            contents(&file, size, &Control::cancel(&cancel)),
            Err(ReadFailure::Aborted)
        ));
    }
}
