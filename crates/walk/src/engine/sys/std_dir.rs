//! The std backend (Windows and other platforms).

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;

use crate::engine::entry::{EntryKind, Meta};

/// Nothing to share: a std `DirEntry` keeps its directory handle alive itself.
pub(crate) struct DirHandle;

/// Lists one directory.
pub(crate) struct DirReader {
    inner: fs::ReadDir,
}

impl DirReader {
    /// Opens `path` for listing (std has no directory-relative open: `parent` is not used).
    pub(crate) fn open(path: &Path, _parent: Option<(&DirHandle, &OsStr)>) -> io::Result<Self> {
        Ok(DirReader {
            inner: fs::read_dir(path)?,
        })
    }

    /// The handle stat chunks keep.
    pub(crate) fn handle(&self) -> Arc<DirHandle> {
        Arc::new(DirHandle)
    }

    /// The entries of the directory, read on demand (the reader itself).
    pub(crate) fn entries(&mut self) -> &mut Self {
        self
    }

    /// The next entry, `None` at the end, `Some(Err)` when reading failed.
    pub(crate) fn next_entry(&mut self) -> Option<io::Result<Listed<'_>>> {
        let entry = match self.inner.next()? {
            Ok(entry) => entry,
            Err(e) => return Some(Err(e)),
        };
        let name = entry.file_name();
        Some(Ok(Listed {
            entry,
            name,
            meta: None,
            _reader: std::marker::PhantomData,
        }))
    }
}

/// One listed entry.
pub(crate) struct Listed<'r> {
    entry: fs::DirEntry,
    name: OsString,
    meta: Option<Meta>,
    _reader: std::marker::PhantomData<&'r mut DirReader>,
}

impl Listed<'_> {
    /// The entry's name.
    pub(crate) fn name(&self) -> &OsStr {
        &self.name
    }

    /// `.` or `..` (std never lists them).
    pub(crate) fn is_dot(&self) -> bool {
        false
    }

    /// The kind from the listing.
    pub(crate) fn kind(&mut self) -> io::Result<EntryKind> {
        Ok(EntryKind::of(self.entry.file_type()?))
    }

    /// Metadata read while finding the kind, if any.
    pub(crate) fn known_meta(&self) -> Option<Meta> {
        self.meta
    }

    /// Own metadata (links not followed).
    pub(crate) fn lstat(&self) -> io::Result<Meta> {
        Ok(Meta::from_std(&self.entry.metadata()?))
    }

    /// The metadata of what the entry leads to (symbolic links followed).
    pub(crate) fn stat_target(&self) -> io::Result<Meta> {
        Ok(Meta::from_std(&fs::metadata(self.entry.path())?))
    }

    /// `FILE_ATTRIBUTE_HIDDEN` (free on Windows: the enumeration carries the attributes).
    pub(crate) fn hidden_attribute(&self) -> bool {
        cfg!(windows) && self.lstat().is_ok_and(|m| m.hidden_attribute)
    }

    /// Moves the entry into a stat chunk.
    pub(crate) fn keep(self, chunk: &mut NameChunk) {
        chunk.entries.push((self.entry, self.name));
    }
}

/// Entries of one directory whose metadata is read later, possibly on another thread.
pub(crate) struct NameChunk {
    entries: Vec<(fs::DirEntry, OsString)>,
}

impl NameChunk {
    pub(crate) fn new(_handle: Arc<DirHandle>, capacity: usize) -> Self {
        NameChunk {
            entries: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Calls `f` with each name, its listed kind and its metadata (or the error reading it),
    /// stopping at the first `Err` of `f`.
    pub(crate) fn for_each<E>(
        &self,
        mut f: impl FnMut(&OsStr, EntryKind, io::Result<Meta>) -> Result<(), E>,
    ) -> Result<(), E> {
        for (entry, name) in &self.entries {
            let kind = entry.file_type().map_or(EntryKind::Other, EntryKind::of);
            f(name, kind, entry.metadata().map(|m| Meta::from_std(&m)))?;
        }
        Ok(())
    }
}
