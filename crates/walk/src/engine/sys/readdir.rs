//! Directory entries through `fdopendir` + `readdir` (Apple systems; docs/profile.md, "Engine").
//!
//! Hand-written over libc because the descriptor must stay usable by other threads (`fstatat`,
//! `openat` relative to it) while one thread advances the stream, which `rustix::fs::Dir` (it owns
//! the descriptor and is advanced through `&mut`) does not allow without a `dup` per directory.
//! The module is the only place of the walker with `unsafe`; every block says why it holds.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};
use std::ptr::NonNull;

use crate::engine::entry::EntryKind;

/// An open directory stream, closed when the last holder drops it. The stream is advanced only
/// through the [`Entries`] of its reader (`&mut`); other holders only use the descriptor.
pub(crate) struct DirHandle {
    dir: NonNull<libc::DIR>,
    fd: libc::c_int,
}

// SAFETY: the `DIR` stream is only advanced through `Entries`, which needs the reader's `&mut`,
// and closed once in `Drop` when the last holder is gone; the other holders only pass the
// descriptor to `fstatat` and `openat`, which any thread may do concurrently.
unsafe impl Send for DirHandle {}
// SAFETY: as above: shared access only reads the descriptor number.
unsafe impl Sync for DirHandle {}

impl DirHandle {
    /// The descriptor, for `fstatat` and `openat` relative to the directory.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        // SAFETY: `fd` belongs to the `DIR` stream, which stays open until `Drop` runs, and the
        // returned borrow cannot outlive `self`.
        unsafe { BorrowedFd::borrow_raw(self.fd) }
    }
}

impl Drop for DirHandle {
    fn drop(&mut self) {
        // SAFETY: `dir` came from a successful `fdopendir` and is closed exactly once, here.
        unsafe {
            libc::closedir(self.dir.as_ptr());
        }
    }
}

/// Nothing to keep: the state lives in the `DIR` stream of the handle.
pub(crate) struct Stream;

impl Stream {
    /// Wraps the open directory descriptor `fd`; on success the stream owns it.
    pub(crate) fn open(fd: OwnedFd) -> io::Result<(DirHandle, Stream)> {
        // SAFETY: `fd` is an open directory descriptor; on success the `DIR` takes it over.
        let dir = unsafe { libc::fdopendir(fd.as_raw_fd()) };
        match NonNull::new(dir) {
            Some(dir) => {
                let fd = fd.into_raw_fd();
                Ok((DirHandle { dir, fd }, Stream))
            }
            None => Err(io::Error::last_os_error()),
        }
    }

    /// The entries of the directory behind `handle`, read on demand.
    pub(crate) fn entries<'s>(&'s mut self, handle: &'s DirHandle) -> Entries<'s> {
        Entries { handle }
    }
}

/// The entries of one directory.
pub(crate) struct Entries<'s> {
    handle: &'s DirHandle,
}

impl Entries<'_> {
    /// The next entry, `.` and `..` skipped; `None` at the end.
    pub(crate) fn next(&mut self) -> Option<io::Result<RawEntry<'_>>> {
        loop {
            // SAFETY: the errno location is this thread's own `int`, valid for the thread's lifetime.
            unsafe {
                *libc::__error() = 0;
            }
            // SAFETY: the stream is valid, and only this `Entries` (made from the reader's `&mut`)
            // advances it.
            let ent = unsafe { libc::readdir(self.handle.dir.as_ptr()) };
            if ent.is_null() {
                let err = io::Error::last_os_error();
                return match err.raw_os_error() {
                    Some(0) | None => None,
                    Some(_) => Some(Err(err)),
                };
            }
            // SAFETY: `ent` points to a dirent that stays valid until the next `readdir` on this
            // stream, which needs `&mut self` again; `d_name` is NUL-terminated.
            let (name, d_type) = unsafe { (CStr::from_ptr((*ent).d_name.as_ptr()), (*ent).d_type) };
            if matches!(name.to_bytes(), b"." | b"..") {
                continue;
            }
            let kind = match d_type {
                libc::DT_REG => Some(EntryKind::File),
                libc::DT_DIR => Some(EntryKind::Dir),
                libc::DT_LNK => Some(EntryKind::Symlink),
                libc::DT_UNKNOWN => None,
                _ => Some(EntryKind::Other),
            };
            return Some(Ok(RawEntry { name, kind }));
        }
    }
}

/// One entry of a listing, borrowed from the stream.
pub(crate) struct RawEntry<'s> {
    name: &'s CStr,
    kind: Option<EntryKind>,
}

impl RawEntry<'_> {
    /// The entry's name.
    pub(crate) fn name(&self) -> &CStr {
        self.name
    }

    /// The kind from `d_type`; `None` for `DT_UNKNOWN`.
    pub(crate) fn kind(&self) -> Option<EntryKind> {
        self.kind
    }
}
