//! Directory entries through `getdents64` (Linux, Android), with `rustix::fs::RawDir`
//! (docs/profile.md, "Engine").
//!
//! One system call fills a buffer with many `linux_dirent64` records, read in place. This replaces
//! glibc's `fdopendir` + `readdir`, whose `fdopendir` costs an `fstat` and two `fcntl` calls per
//! directory: about a fifth of all system calls of a full profile of a tree of small folders (a
//! `node_modules` tree).

use std::cell::RefCell;
use std::ffi::CStr;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{FileType, RawDir, RawDirEntry};

use crate::engine::entry::EntryKind;

/// Buffer for one `getdents64` call; the size glibc's `opendir` uses.
const BUFFER_BYTES: usize = 32 * 1024;

thread_local! {
    /// Buffers of finished streams, reused by the next directory this thread reads.
    static SPARE_BUFFERS: RefCell<Vec<Box<[MaybeUninit<u8>]>>> = const { RefCell::new(Vec::new()) };
}

/// An open directory descriptor, closed when the last holder drops it.
pub(crate) struct DirHandle {
    fd: OwnedFd,
}

impl DirHandle {
    /// The descriptor, for `fstatat` and `openat` relative to the directory.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The read buffer of one open directory.
pub(crate) struct Stream {
    buffer: Box<[MaybeUninit<u8>]>,
}

impl Stream {
    /// Takes ownership of the open directory descriptor `fd`.
    pub(crate) fn open(fd: OwnedFd) -> io::Result<(DirHandle, Stream)> {
        let buffer = SPARE_BUFFERS
            .with(|spare| spare.borrow_mut().pop())
            .unwrap_or_else(|| Box::new_uninit_slice(BUFFER_BYTES));
        Ok((DirHandle { fd }, Stream { buffer }))
    }

    /// The entries of the directory behind `handle`, read on demand.
    pub(crate) fn entries<'s>(&'s mut self, handle: &'s DirHandle) -> Entries<'s> {
        Entries {
            raw: RawDir::new(handle.fd(), &mut self.buffer),
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let buffer = std::mem::take(&mut self.buffer);
        SPARE_BUFFERS.with(|spare| {
            let mut spare = spare.borrow_mut();
            // A worker has at most a few streams open at once; keep that many.
            if buffer.len() == BUFFER_BYTES && spare.len() < 4 {
                spare.push(buffer);
            }
        });
    }
}

/// The entries of one directory.
pub(crate) struct Entries<'s> {
    raw: RawDir<'s, BorrowedFd<'s>>,
}

impl Entries<'_> {
    /// The next entry, `.` and `..` included; `None` at the end. The caller skips the dot entries
    /// and repeats an interrupted read (`RawDir` keeps its place when a read fails): a loop here
    /// could not hand out the borrowed entry.
    pub(crate) fn next(&mut self) -> Option<io::Result<RawEntry<'_>>> {
        Some(self.raw.next()?.map(RawEntry).map_err(io::Error::from))
    }
}

/// One entry of a listing, borrowed from the read buffer.
pub(crate) struct RawEntry<'s>(RawDirEntry<'s>);

impl RawEntry<'_> {
    /// The entry's name.
    pub(crate) fn name(&self) -> &CStr {
        self.0.file_name()
    }

    /// The kind from `d_type`; `None` for `DT_UNKNOWN`.
    pub(crate) fn kind(&self) -> Option<EntryKind> {
        match self.0.file_type() {
            FileType::RegularFile => Some(EntryKind::File),
            FileType::Directory => Some(EntryKind::Dir),
            FileType::Symlink => Some(EntryKind::Symlink),
            FileType::Unknown => None,
            _ => Some(EntryKind::Other),
        }
    }
}
