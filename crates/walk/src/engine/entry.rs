//! What the walker hands to a visitor: entry kinds, metadata, directory nodes and entries.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The kind of a directory entry (the target's kind for a followed symbolic link).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EntryKind {
    /// A regular file.
    File = 0,
    /// A directory.
    Dir = 1,
    /// A symbolic link (on Windows also a junction).
    Symlink = 2,
    /// Anything else: FIFO, socket, character or block device.
    Other = 3,
}

impl EntryKind {
    /// The kind of a `FileType` (from `d_type`, or from metadata).
    pub fn of(file_type: fs::FileType) -> Self {
        if file_type.is_file() {
            EntryKind::File
        } else if file_type.is_dir() {
            EntryKind::Dir
        } else if file_type.is_symlink() {
            EntryKind::Symlink
        } else {
            EntryKind::Other
        }
    }

    /// The numeric code used in path batches: 0 file, 1 dir, 2 symlink, 3 other.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Identity of a file: device and inode number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId {
    /// Device (`st_dev`).
    pub dev: u64,
    /// Inode number (`st_ino`).
    pub ino: u64,
}

/// The metadata of an entry, reduced to what walkers use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// Kind of the entry (of the target for a followed link).
    pub kind: EntryKind,
    /// Apparent size (`st_size`).
    pub apparent: u64,
    /// Allocated size (`st_blocks * 512`); `None` where the platform does not report blocks (Windows).
    pub allocated: Option<u64>,
    /// Device and inode; `None` where std does not expose them (Windows).
    pub id: Option<FileId>,
    /// Number of hard links (`st_nlink`); 1 where unknown.
    pub nlink: u64,
    /// Modification time in nanoseconds since the Unix epoch (negative before it, saturating).
    pub mtime_ns: i64,
    /// `FILE_ATTRIBUTE_HIDDEN` is set (Windows only; always `false` elsewhere).
    pub hidden_attribute: bool,
}

impl Meta {
    /// Reduces std metadata.
    #[cfg(unix)]
    pub fn from_std(m: &fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Meta {
            kind: EntryKind::of(m.file_type()),
            apparent: m.size(),
            allocated: Some(m.blocks().saturating_mul(512)),
            id: Some(FileId {
                dev: m.dev(),
                ino: m.ino(),
            }),
            nlink: m.nlink(),
            mtime_ns: m
                .mtime()
                .saturating_mul(1_000_000_000)
                .saturating_add(m.mtime_nsec()),
            hidden_attribute: false,
        }
    }

    /// Reduces std metadata.
    #[cfg(not(unix))]
    pub fn from_std(m: &fs::Metadata) -> Self {
        #[cfg(windows)]
        let hidden_attribute = {
            use std::os::windows::fs::MetadataExt;
            const FILE_ATTRIBUTE_HIDDEN: u32 = 0x2;
            m.file_attributes() & FILE_ATTRIBUTE_HIDDEN != 0
        };
        #[cfg(not(windows))]
        let hidden_attribute = false;
        let mtime_ns = match m.modified() {
            Ok(t) => match t.duration_since(std::time::UNIX_EPOCH) {
                Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
                Err(e) => i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |n| -n),
            },
            Err(_) => 0,
        };
        Meta {
            kind: EntryKind::of(m.file_type()),
            apparent: m.len(),
            allocated: None,
            id: None,
            nlink: 1,
            mtime_ns,
            hidden_attribute,
        }
    }
}

/// Identifier of a directory within one walk (unique across workers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DirId(pub u64);

/// A directory the walk reads: its paths, depth, identity and ancestors.
///
/// Nodes are shared (`Arc`) by the listing job, its stat chunks and its subdirectories' nodes, which
/// link to their parent: the chain of ancestors is what the symlink loop check walks.
#[derive(Debug)]
pub struct DirNode {
    pub(crate) abs: PathBuf,
    pub(crate) rel: Arc<str>,
    pub(crate) depth: u32,
    pub(crate) id: DirId,
    pub(crate) file_id: Option<FileId>,
    /// Reached through a followed symbolic link (opened by path, never relative to the parent).
    pub(crate) via_link: bool,
    pub(crate) parent: Option<Arc<DirNode>>,
}

impl DirNode {
    /// Path used to open the directory (the root as given, joined with the names below it).
    pub fn path(&self) -> &Path {
        &self.abs
    }

    /// Path relative to the root, `/`-separated, non-UTF-8 bytes replaced by U+FFFD; `""` for the root.
    pub fn rel_path(&self) -> &Arc<str> {
        &self.rel
    }

    /// Depth (root = 0).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Identifier of this directory within the walk.
    pub fn id(&self) -> DirId {
        self.id
    }

    /// Device and inode when known.
    pub fn file_id(&self) -> Option<FileId> {
        self.file_id
    }

    /// The parent directory's node (`None` for the root).
    pub fn parent(&self) -> Option<&Arc<DirNode>> {
        self.parent.as_ref()
    }

    /// Whether this directory or one of its ancestors has identity `id`.
    pub(crate) fn has_ancestor_or_self(&self, id: FileId) -> bool {
        let mut node = Some(self);
        while let Some(n) = node {
            if n.file_id == Some(id) {
                return true;
            }
            node = n.parent.as_deref();
        }
        false
    }
}

/// Appends the relative path of `name` inside a directory with relative path `dir_rel` to `buf`.
pub(crate) fn push_rel_path(buf: &mut String, dir_rel: &str, name: &OsStr) {
    if !dir_rel.is_empty() {
        buf.push_str(dir_rel);
        buf.push('/');
    }
    buf.push_str(&name.to_string_lossy());
}

/// An entry seen in a listing, before any metadata was read (used to prune early).
#[derive(Debug)]
pub struct Candidate<'a> {
    pub(crate) parent: &'a DirNode,
    pub(crate) name: &'a OsStr,
    pub(crate) kind: EntryKind,
    pub(crate) hidden_attribute: bool,
}

impl Candidate<'_> {
    /// The entry's name.
    pub fn name(&self) -> &OsStr {
        self.name
    }

    /// Kind from the listing (`d_type`); a symbolic link is `Symlink` even when links are followed.
    pub fn kind(&self) -> EntryKind {
        self.kind
    }

    /// The directory being listed.
    pub fn parent(&self) -> &DirNode {
        self.parent
    }

    /// Depth of the entry (its parent's depth + 1).
    pub fn depth(&self) -> u32 {
        self.parent.depth + 1
    }

    /// Hidden: the name starts with `.`; on Windows also `FILE_ATTRIBUTE_HIDDEN` (free there: the
    /// enumeration already carries the attributes).
    pub fn is_hidden(&self) -> bool {
        self.hidden_attribute || self.name.as_encoded_bytes().first() == Some(&b'.')
    }

    /// Appends the entry's relative path (`/`-separated, lossy) to `buf`.
    pub fn write_rel_path(&self, buf: &mut String) {
        push_rel_path(buf, &self.parent.rel, self.name);
    }
}

/// An entry with its final kind and (unless the walk runs without stats) its metadata.
#[derive(Debug)]
pub struct Entry<'a> {
    pub(crate) parent: Option<&'a DirNode>,
    pub(crate) name: &'a OsStr,
    pub(crate) kind: EntryKind,
    pub(crate) depth: u32,
    pub(crate) meta: Option<&'a Meta>,
    pub(crate) followed: bool,
    pub(crate) dir: Option<(DirId, &'a Arc<str>)>,
}

impl Entry<'_> {
    /// The entry's name (`""` for the root).
    pub fn name(&self) -> &OsStr {
        self.name
    }

    /// Final kind: from metadata when read, else from the listing.
    pub fn kind(&self) -> EntryKind {
        self.kind
    }

    /// Depth (root = 0).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Metadata: `None` when the walk runs without stats, and for an entry whose metadata could
    /// not be read (its error was reported first; the kind is then the listed one).
    pub fn meta(&self) -> Option<&Meta> {
        self.meta
    }

    /// The entry is a symbolic link replaced by its target.
    pub fn followed(&self) -> bool {
        self.followed
    }

    /// The directory holding the entry (`None` for the root).
    pub fn parent(&self) -> Option<&DirNode> {
        self.parent
    }

    /// For directories: the identifier and relative path the walk gives it (also when it is not read).
    pub fn dir(&self) -> Option<(DirId, &Arc<str>)> {
        self.dir
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.parent.is_none()
    }

    /// Appends the relative path (`/`-separated, lossy; `"."` for the root) to `buf`.
    pub fn write_rel_path(&self, buf: &mut String) {
        match self.parent {
            Some(p) => push_rel_path(buf, &p.rel, self.name),
            None => buf.push('.'),
        }
    }
}

/// Identity of a directory for the symbolic-link loop check: device and inode where std exposes them;
/// on other platforms, when links are followed, a hash of the canonical path.
pub(crate) fn dir_identity(path: &Path, meta: &Meta, follow_symlinks: bool) -> Option<FileId> {
    if meta.id.is_some() || !follow_symlinks {
        return meta.id;
    }
    use std::hash::{Hash, Hasher};
    let canonical = fs::canonicalize(path).ok()?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    canonical.hash(&mut hasher);
    Some(FileId {
        dev: 0,
        ino: hasher.finish(),
    })
}
