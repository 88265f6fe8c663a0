//! The libc backend (Linux, Android, Apple): directories opened relative to their parent's
//! descriptor, entries read by the platform's stream (`getdents64` on Linux and Android, `readdir`
//! on Apple systems), metadata by `fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW)`.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use crate::engine::entry::{EntryKind, FileId, Meta};

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) use super::getdents::DirHandle;
#[cfg(any(target_os = "linux", target_os = "android"))]
use super::getdents::Stream;
#[cfg(target_vendor = "apple")]
pub(crate) use super::readdir::DirHandle;
#[cfg(target_vendor = "apple")]
use super::readdir::Stream;

/// Lists one directory.
pub(crate) struct DirReader {
    handle: Arc<DirHandle>,
    stream: Stream,
}

impl DirReader {
    /// Opens a directory for listing: `name` relative to the open `parent` when given (no path
    /// lookup; a symbolic link put in its place meanwhile fails with `ELOOP`), else `path`; a path
    /// over the platform limit is opened one component at a time.
    pub(crate) fn open(path: &Path, parent: Option<(&DirHandle, &OsStr)>) -> io::Result<Self> {
        if let Some((handle, name)) = parent {
            return Self::open_at(handle.fd(), name.as_bytes(), libc::O_NOFOLLOW);
        }
        match Self::open_at(libc::AT_FDCWD, path.as_os_str().as_bytes(), 0) {
            Err(e) if e.raw_os_error() == Some(libc::ENAMETOOLONG) => {
                Self::open_by_components(path)
            }
            other => other,
        }
    }

    /// `openat(dirfd, name, O_DIRECTORY | flags)`, then the platform's stream over it.
    fn open_at(dirfd: libc::c_int, name: &[u8], flags: libc::c_int) -> io::Result<Self> {
        let fd = open_fd(dirfd, name, flags)?;
        let (handle, stream) = match Stream::open(fd) {
            Ok(opened) => opened,
            Err(err) => {
                close_fd(fd);
                return Err(err);
            }
        };
        Ok(DirReader {
            handle: Arc::new(handle),
            stream,
        })
    }

    /// Opens a path longer than `PATH_MAX` by walking it one component at a time.
    fn open_by_components(path: &Path) -> io::Result<Self> {
        use std::path::Component;
        let mut fd = libc::AT_FDCWD;
        let mut last: Option<&[u8]> = None;
        let step = |fd: &mut libc::c_int, name: &[u8]| -> io::Result<()> {
            let next = open_fd(*fd, name, 0);
            if *fd != libc::AT_FDCWD {
                close_fd(*fd);
            }
            *fd = next?;
            Ok(())
        };
        for component in path.components() {
            let name: &[u8] = match component {
                Component::RootDir => b"/",
                Component::CurDir => continue,
                Component::ParentDir => b"..",
                Component::Normal(n) => n.as_bytes(),
                Component::Prefix(_) => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
            };
            if let Some(previous) = last.replace(name) {
                step(&mut fd, previous)?;
            }
        }
        let Some(final_name) = last else {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        };
        let opened = Self::open_at(fd, final_name, 0);
        if fd != libc::AT_FDCWD {
            close_fd(fd);
        }
        opened
    }

    /// The handle stat chunks keep.
    pub(crate) fn handle(&self) -> Arc<DirHandle> {
        Arc::clone(&self.handle)
    }

    /// The next entry (`.` and `..` skipped), `None` at the end, `Some(Err)` when reading failed.
    pub(crate) fn next_entry(&mut self) -> Option<io::Result<Listed<'_>>> {
        let fd = self.handle.fd();
        Some(
            self.stream
                .next(&self.handle)?
                .map(|(name, d_type)| Listed {
                    name,
                    d_type,
                    fd,
                    meta: None,
                }),
        )
    }
}

/// One listed entry, borrowed from the stream.
pub(crate) struct Listed<'r> {
    name: &'r CStr,
    d_type: u8,
    fd: libc::c_int,
    meta: Option<Meta>,
}

impl Listed<'_> {
    /// The entry's name.
    pub(crate) fn name(&self) -> &OsStr {
        OsStr::from_bytes(self.name.to_bytes())
    }

    /// The kind from `d_type`; `DT_UNKNOWN` reads the metadata (kept for [`Self::lstat`]).
    pub(crate) fn kind(&mut self) -> io::Result<EntryKind> {
        match listed_kind(self.d_type) {
            Some(kind) => Ok(kind),
            None => {
                let meta = stat_at(self.fd, self.name)?;
                self.meta = Some(meta);
                Ok(meta.kind)
            }
        }
    }

    /// Metadata read while finding the kind, if any.
    pub(crate) fn known_meta(&self) -> Option<Meta> {
        self.meta
    }

    /// Own metadata (links not followed), relative to the open directory.
    pub(crate) fn lstat(&self) -> io::Result<Meta> {
        match self.meta {
            Some(meta) => Ok(meta),
            None => stat_at(self.fd, self.name),
        }
    }

    /// The metadata of what the entry leads to (symbolic links followed), relative to the open
    /// directory.
    pub(crate) fn stat_target(&self) -> io::Result<Meta> {
        stat_at_flags(self.fd, self.name, 0)
    }

    /// `FILE_ATTRIBUTE_HIDDEN` (never set here).
    pub(crate) fn hidden_attribute(&self) -> bool {
        false
    }

    /// Moves the entry into a stat chunk (its name and its listed kind).
    pub(crate) fn keep(self, chunk: &mut NameChunk) {
        if chunk.names.capacity() == 0 {
            chunk.names.reserve(chunk.capacity * 24);
            chunk.kinds.reserve(chunk.capacity);
        }
        let kind = listed_kind(self.d_type)
            .or(self.meta.map(|m| m.kind))
            .unwrap_or(EntryKind::Other);
        chunk.kinds.push(kind);
        chunk.names.extend_from_slice(self.name.to_bytes_with_nul());
        chunk.len += 1;
    }
}

/// The kind a `d_type` gives; `None` for `DT_UNKNOWN`.
fn listed_kind(d_type: u8) -> Option<EntryKind> {
    match d_type {
        libc::DT_REG => Some(EntryKind::File),
        libc::DT_DIR => Some(EntryKind::Dir),
        libc::DT_LNK => Some(EntryKind::Symlink),
        libc::DT_UNKNOWN => None,
        _ => Some(EntryKind::Other),
    }
}

/// Names of one directory whose metadata is read later, possibly on another thread.
pub(crate) struct NameChunk {
    handle: Arc<DirHandle>,
    /// NUL-terminated names, back to back.
    names: Vec<u8>,
    /// The listed kind of each name.
    kinds: Vec<EntryKind>,
    len: usize,
    capacity: usize,
}

impl NameChunk {
    /// An empty chunk (`capacity` names expected; memory is taken on the first name).
    pub(crate) fn new(handle: Arc<DirHandle>, capacity: usize) -> Self {
        NameChunk {
            handle,
            names: Vec::new(),
            kinds: Vec::new(),
            len: 0,
            capacity,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Calls `f` with each name, its listed kind and its metadata (or the error reading it),
    /// stopping at the first `Err` of `f`.
    pub(crate) fn for_each<E>(
        &self,
        mut f: impl FnMut(&OsStr, EntryKind, io::Result<Meta>) -> Result<(), E>,
    ) -> Result<(), E> {
        for (raw, &kind) in self.names.split_inclusive(|&b| b == 0).zip(&self.kinds) {
            let Ok(name) = CStr::from_bytes_with_nul(raw) else {
                continue;
            };
            f(
                OsStr::from_bytes(name.to_bytes()),
                kind,
                stat_at(self.handle.fd(), name),
            )?;
        }
        Ok(())
    }
}

/// `openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags)`.
fn open_fd(dirfd: libc::c_int, name: &[u8], flags: libc::c_int) -> io::Result<libc::c_int> {
    let c_name = CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `c_name` is NUL-terminated and alive across the call; `dirfd` is AT_FDCWD or an open
    // directory descriptor of the caller.
    #[allow(unsafe_code)]
    let fd = unsafe {
        libc::openat(
            dirfd,
            c_name.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC | flags,
        )
    };
    if fd < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(fd)
    }
}

/// Closes a descriptor of this backend.
pub(super) fn close_fd(fd: libc::c_int) {
    // SAFETY: `fd` was returned by `openat` here and is closed once.
    #[allow(unsafe_code)]
    unsafe {
        libc::close(fd);
    }
}

/// `fstatat(fd, name, AT_SYMLINK_NOFOLLOW)`.
fn stat_at(fd: libc::c_int, name: &CStr) -> io::Result<Meta> {
    stat_at_flags(fd, name, libc::AT_SYMLINK_NOFOLLOW)
}

/// `fstatat(fd, name, flags)`.
fn stat_at_flags(fd: libc::c_int, name: &CStr, flags: libc::c_int) -> io::Result<Meta> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `name` is NUL-terminated, `fd` is an open directory (its handle is alive in the
    // caller), and `st` is writable memory of the right type.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::fstatat(fd, name.as_ptr(), st.as_mut_ptr(), flags) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fstatat` returned 0, so it filled `st`.
    #[allow(unsafe_code)]
    let st = unsafe { st.assume_init() };
    Ok(meta_of(&st))
}

#[allow(clippy::unnecessary_cast)] // field types differ between platforms
fn meta_of(st: &libc::stat) -> Meta {
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => EntryKind::File,
        libc::S_IFDIR => EntryKind::Dir,
        libc::S_IFLNK => EntryKind::Symlink,
        _ => EntryKind::Other,
    };
    Meta {
        kind,
        apparent: u64::try_from(st.st_size).unwrap_or(0),
        allocated: Some(u64::try_from(st.st_blocks).unwrap_or(0).saturating_mul(512)),
        id: Some(FileId {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
        }),
        nlink: st.st_nlink as u64,
        mtime_ns: (st.st_mtime as i64)
            .saturating_mul(1_000_000_000)
            .saturating_add(st.st_mtime_nsec as i64),
        hidden_attribute: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_over_the_limit_open_component_by_component() {
        let tmp = tempfile::tempdir().unwrap();
        let mut deep = tmp.path().to_path_buf();
        let name = "d".repeat(200);
        // create the chain relative to an open handle at each level (no call names a long path)
        let mut reader = DirReader::open(&deep, None).unwrap();
        while deep.as_os_str().len() <= 4200 {
            let c_name = CString::new(name.as_str()).unwrap();
            // SAFETY: valid descriptor of an open directory and a NUL-terminated name.
            #[allow(unsafe_code)]
            let rc = unsafe { libc::mkdirat(reader.handle.fd(), c_name.as_ptr(), 0o755) };
            assert_eq!(rc, 0, "{}", io::Error::last_os_error());
            reader = DirReader::open(&deep, Some((&reader.handle(), OsStr::new(&name)))).unwrap();
            deep.push(&name);
        }
        assert!(std::fs::read_dir(&deep).is_err());
        let mut long = DirReader::open(&deep, None).unwrap();
        assert!(long.next_entry().is_none());
        let parent = deep.parent().unwrap();
        let mut listing = DirReader::open(parent, None).unwrap();
        let entry = listing.next_entry().unwrap().unwrap();
        assert_eq!(entry.name(), OsStr::new(&name));
        assert_eq!(entry.lstat().unwrap().kind, EntryKind::Dir);
    }
}
