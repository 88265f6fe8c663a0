//! Directory entries through `fdopendir` + `readdir` (Apple systems).

use std::ffi::CStr;
use std::io;
use std::ptr::NonNull;

/// An open directory stream, closed when the last holder drops it. The stream is advanced only
/// through the one [`Stream`] of its reader; other holders only use the descriptor.
pub(crate) struct DirHandle {
    dir: NonNull<libc::DIR>,
    fd: libc::c_int,
}

// SAFETY: the `DIR` stream is only advanced through the unique `Stream` (`&mut self`) and closed
// once in `Drop` when the last holder is gone; the other holders only pass the descriptor to
// `fstatat` and `openat`, which any thread may do concurrently.
#[allow(unsafe_code)]
unsafe impl Send for DirHandle {}
// SAFETY: as above: shared access only reads the descriptor number.
#[allow(unsafe_code)]
unsafe impl Sync for DirHandle {}

impl DirHandle {
    /// The descriptor, for `fstatat` and `openat` relative to the directory.
    pub(crate) fn fd(&self) -> libc::c_int {
        self.fd
    }
}

impl Drop for DirHandle {
    fn drop(&mut self) {
        // SAFETY: `dir` came from a successful `fdopendir` and is closed exactly once, here.
        #[allow(unsafe_code)]
        unsafe {
            libc::closedir(self.dir.as_ptr());
        }
    }
}

/// The entries of one open directory (the state lives in the `DIR` stream of the handle).
pub(crate) struct Stream;

impl Stream {
    /// Wraps the open directory descriptor `fd`; on success the stream owns it.
    pub(crate) fn open(fd: libc::c_int) -> io::Result<(DirHandle, Stream)> {
        // SAFETY: `fd` is an open directory descriptor owned by the caller.
        #[allow(unsafe_code)]
        let dir = unsafe { libc::fdopendir(fd) };
        match NonNull::new(dir) {
            Some(dir) => Ok((DirHandle { dir, fd }, Stream)),
            None => Err(io::Error::last_os_error()),
        }
    }

    /// The next entry's name and `d_type` (`.` and `..` skipped); `None` at the end.
    pub(crate) fn next<'s>(
        &'s mut self,
        handle: &'s DirHandle,
    ) -> Option<io::Result<(&'s CStr, u8)>> {
        loop {
            // SAFETY: the errno location is this thread's own `int`, valid for the thread's lifetime.
            #[allow(unsafe_code)]
            unsafe {
                *libc::__error() = 0;
            }
            // SAFETY: the stream is valid and only this `&mut self` advances it.
            #[allow(unsafe_code)]
            let ent = unsafe { libc::readdir(handle.dir.as_ptr()) };
            if ent.is_null() {
                let err = io::Error::last_os_error();
                return match err.raw_os_error() {
                    Some(0) | None => None,
                    Some(_) => Some(Err(err)),
                };
            }
            // SAFETY: `ent` points to a dirent that stays valid until the next `readdir` on this
            // stream, which needs `&mut self` again; `d_name` is NUL-terminated.
            #[allow(unsafe_code)]
            let (name, d_type) = unsafe { (CStr::from_ptr((*ent).d_name.as_ptr()), (*ent).d_type) };
            if !matches!(name.to_bytes(), b"." | b"..") {
                return Some(Ok((name, d_type)));
            }
        }
    }
}
