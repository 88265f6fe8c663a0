//! The Unix backend (Linux, Android, Apple) through `rustix` (docs/profile.md, "Engine"):
//! directories opened relative to their parent's descriptor (`openat`), entries read by the
//! platform's stream (`getdents64` on Linux and Android, `readdir` on Apple systems), metadata by
//! `fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW)` relative to the open directory.

use std::ffi::{CStr, OsStr};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawMode};

use crate::engine::entry::{EntryKind, FileId, Meta};

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) use super::getdents::DirHandle;
#[cfg(any(target_os = "linux", target_os = "android"))]
use super::getdents::{Entries, RawEntry, Stream};
#[cfg(target_vendor = "apple")]
pub(crate) use super::readdir::DirHandle;
#[cfg(target_vendor = "apple")]
use super::readdir::{Entries, RawEntry, Stream};

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
            return Self::from_fd(open_dir(handle.fd(), name, OFlags::NOFOLLOW)?);
        }
        match open_dir(rustix::fs::CWD, path.as_os_str(), OFlags::empty()) {
            Ok(fd) => Self::from_fd(fd),
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NAMETOOLONG.raw_os_error()) => {
                Self::from_fd(open_by_components(path)?)
            }
            Err(e) => Err(e),
        }
    }

    /// The platform's stream over an open directory.
    fn from_fd(fd: OwnedFd) -> io::Result<Self> {
        let (handle, stream) = Stream::open(fd)?;
        Ok(DirReader {
            handle: Arc::new(handle),
            stream,
        })
    }

    /// The handle stat chunks keep.
    pub(crate) fn handle(&self) -> Arc<DirHandle> {
        Arc::clone(&self.handle)
    }

    /// The entries of the directory, read on demand.
    pub(crate) fn entries(&mut self) -> Listing<'_> {
        Listing {
            fd: self.handle.fd(),
            entries: self.stream.entries(&self.handle),
        }
    }
}

/// The entries of one open directory, read on demand.
pub(crate) struct Listing<'r> {
    fd: BorrowedFd<'r>,
    entries: Entries<'r>,
}

impl Listing<'_> {
    /// The next entry (`.` and `..` included: see [`Listed::is_dot`]), `None` at the end,
    /// `Some(Err)` when reading failed (an interrupted read can be repeated).
    pub(crate) fn next_entry(&mut self) -> Option<io::Result<Listed<'_>>> {
        let fd = self.fd;
        Some(self.entries.next()?.map(|raw| Listed {
            kind: raw.kind(),
            raw,
            fd,
            meta: None,
        }))
    }
}

/// One listed entry, borrowed from the stream.
pub(crate) struct Listed<'r> {
    raw: RawEntry<'r>,
    /// The kind from `d_type`; `None` for `DT_UNKNOWN`.
    kind: Option<EntryKind>,
    fd: BorrowedFd<'r>,
    meta: Option<Meta>,
}

impl Listed<'_> {
    /// The entry's name.
    pub(crate) fn name(&self) -> &OsStr {
        OsStr::from_bytes(self.raw.name().to_bytes())
    }

    /// `.` or `..` (the caller skips them).
    pub(crate) fn is_dot(&self) -> bool {
        matches!(self.raw.name().to_bytes(), b"." | b"..")
    }

    /// The kind from `d_type`; `DT_UNKNOWN` reads the metadata (kept for [`Self::lstat`]).
    pub(crate) fn kind(&mut self) -> io::Result<EntryKind> {
        match self.kind {
            Some(kind) => Ok(kind),
            None => {
                let meta = stat_at(self.fd, self.raw.name(), AtFlags::SYMLINK_NOFOLLOW)?;
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
            None => stat_at(self.fd, self.raw.name(), AtFlags::SYMLINK_NOFOLLOW),
        }
    }

    /// The metadata of what the entry leads to (symbolic links followed), relative to the open
    /// directory.
    pub(crate) fn stat_target(&self) -> io::Result<Meta> {
        stat_at(self.fd, self.raw.name(), AtFlags::empty())
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
        let kind = self
            .kind
            .or(self.meta.map(|m| m.kind))
            .unwrap_or(EntryKind::Other);
        chunk.kinds.push(kind);
        chunk
            .names
            .extend_from_slice(self.raw.name().to_bytes_with_nul());
    }
}

/// Names of one directory whose metadata is read later, possibly on another thread.
pub(crate) struct NameChunk {
    handle: Arc<DirHandle>,
    /// NUL-terminated names, back to back.
    names: Vec<u8>,
    /// The listed kind of each name.
    kinds: Vec<EntryKind>,
    capacity: usize,
}

impl NameChunk {
    /// An empty chunk (`capacity` names expected; memory is taken on the first name).
    pub(crate) fn new(handle: Arc<DirHandle>, capacity: usize) -> Self {
        NameChunk {
            handle,
            names: Vec::new(),
            kinds: Vec::new(),
            capacity,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.kinds.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// Calls `f` with each name, its listed kind and its metadata (or the error reading it),
    /// stopping at the first `Err` of `f`.
    pub(crate) fn for_each<E>(
        &self,
        mut f: impl FnMut(&OsStr, EntryKind, io::Result<Meta>) -> Result<(), E>,
    ) -> Result<(), E> {
        let fd = self.handle.fd();
        for (raw, &kind) in self.names.split_inclusive(|&b| b == 0).zip(&self.kinds) {
            let Ok(name) = CStr::from_bytes_with_nul(raw) else {
                continue;
            };
            f(
                OsStr::from_bytes(name.to_bytes()),
                kind,
                stat_at(fd, name, AtFlags::SYMLINK_NOFOLLOW),
            )?;
        }
        Ok(())
    }
}

/// `openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags)`.
fn open_dir(dirfd: BorrowedFd<'_>, name: &OsStr, flags: OFlags) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | flags;
    Ok(rustix::fs::openat(dirfd, name, flags, Mode::empty())?)
}

/// Opens a path longer than `PATH_MAX` by walking it one component at a time.
fn open_by_components(path: &Path) -> io::Result<OwnedFd> {
    use std::path::Component;
    let mut current: Option<OwnedFd> = None;
    for component in path.components() {
        let name: &OsStr = match component {
            Component::RootDir => OsStr::new("/"),
            Component::CurDir => continue,
            Component::ParentDir => OsStr::new(".."),
            Component::Normal(n) => n,
            Component::Prefix(_) => {
                return Err(rustix::io::Errno::INVAL.into());
            }
        };
        let next = match &current {
            Some(fd) => open_dir(fd.as_fd(), name, OFlags::empty())?,
            None => open_dir(rustix::fs::CWD, name, OFlags::empty())?,
        };
        current = Some(next);
    }
    current.ok_or_else(|| rustix::io::Errno::NOENT.into())
}

/// `fstatat(fd, name, flags)`.
fn stat_at(fd: BorrowedFd<'_>, name: &CStr, flags: AtFlags) -> io::Result<Meta> {
    Ok(meta_of(&rustix::fs::statat(fd, name, flags)?))
}

#[allow(clippy::unnecessary_cast)] // field types differ between platforms
fn meta_of(st: &rustix::fs::Stat) -> Meta {
    let kind = match FileType::from_raw_mode(st.st_mode as RawMode) {
        FileType::RegularFile => EntryKind::File,
        FileType::Directory => EntryKind::Dir,
        FileType::Symlink => EntryKind::Symlink,
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
            rustix::fs::mkdirat(reader.handle.fd(), name.as_str(), Mode::from(0o755)).unwrap();
            reader = DirReader::open(&deep, Some((&reader.handle(), OsStr::new(&name)))).unwrap();
            deep.push(&name);
        }
        assert!(std::fs::read_dir(&deep).is_err());
        let mut long = DirReader::open(&deep, None).unwrap();
        let mut entries = long.entries();
        while let Some(entry) = entries.next_entry() {
            assert!(entry.unwrap().is_dot());
        }
        let parent = deep.parent().unwrap();
        let mut listing = DirReader::open(parent, None).unwrap();
        let mut entries = listing.entries();
        let mut names = Vec::new();
        while let Some(entry) = entries.next_entry() {
            let entry = entry.unwrap();
            if !entry.is_dot() {
                assert_eq!(entry.lstat().unwrap().kind, EntryKind::Dir);
                names.push(entry.name().to_os_string());
            }
        }
        assert_eq!(names, [OsStr::new(&name)]);
    }

    #[test]
    fn listing_gives_names_kinds_and_metadata() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("f.txt"), b"12345").unwrap();
        std::fs::create_dir(tmp.path().join("sub")).unwrap();
        std::os::unix::fs::symlink("f.txt", tmp.path().join("link")).unwrap();
        let mut reader = DirReader::open(tmp.path(), None).unwrap();
        let mut entries = reader.entries();
        let mut seen = Vec::new();
        while let Some(entry) = entries.next_entry() {
            let mut entry = entry.unwrap();
            if entry.is_dot() {
                continue;
            }
            let kind = entry.kind().unwrap();
            let meta = entry.lstat().unwrap();
            let target = entry.stat_target().unwrap();
            seen.push((
                entry.name().to_string_lossy().into_owned(),
                kind,
                meta.kind,
                target.apparent,
            ));
        }
        seen.sort_by(|a, b| a.0.cmp(&b.0));
        let dir_size = std::fs::metadata(tmp.path().join("sub")).unwrap().len();
        assert_eq!(
            seen,
            [
                ("f.txt".into(), EntryKind::File, EntryKind::File, 5),
                ("link".into(), EntryKind::Symlink, EntryKind::Symlink, 5),
                ("sub".into(), EntryKind::Dir, EntryKind::Dir, dir_size),
            ]
        );
    }
}
