//! Snapshot files: identity, loading (docs/store.md, "Load checks") and writing (docs/store.md,
//! "Writes").

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::{Mmap, MmapMut, MmapOptions};

use crate::error::Error;
use crate::fingerprint::Fingerprint;
use crate::header::{self, Expect, HEADER_LEN, Header};
use crate::hooks::Hooks;
use crate::names;
use crate::reason::{Reason, ReasonCode};
use crate::write::write_atomic;

/// Names one snapshot: the directory, the user's name, the data version and the payload kind.
/// Construction validates all four, so every later call can rely on them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotId {
    dir: PathBuf,
    name: String,
    version: String,
    kind: String,
    file_name: String,
}

impl SnapshotId {
    /// Validates and builds an id. `kind`: 1–32 bytes of `[a-z0-9._@/-]`; `version`: 1–64 bytes
    /// of UTF-8 without NUL; the encoded file name must fit in 255 bytes.
    pub fn new(
        dir: impl Into<PathBuf>,
        name: &str,
        version: &str,
        kind: &str,
    ) -> Result<Self, Error> {
        header::validate_kind(kind)?;
        header::validate_version(version)?;
        let file_name = names::snapshot_file_name(name, version)?;
        Ok(SnapshotId {
            dir: dir.into(),
            name: name.into(),
            version: version.into(),
            kind: kind.into(),
            file_name,
        })
    }

    /// An id with the default kind `blob`.
    pub fn blob(dir: impl Into<PathBuf>, name: &str, version: &str) -> Result<Self, Error> {
        Self::new(dir, name, version, crate::blob::BLOB_KIND)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The user's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The data version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The payload kind.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The file name, `<enc(name)>_<enc(version)>.mfs`.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The full path of the snapshot file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.file_name)
    }
}

/// A verified snapshot: a read-only memory map of the file (or, for a value built in this
/// process, its bytes in memory). Cloning is cheap (shared); the mapping lives until the last
/// clone is dropped. `Send + Sync`.
#[derive(Clone)]
pub struct Snapshot {
    inner: Arc<Inner>,
}

struct Inner {
    bytes: Bytes,
    path: PathBuf,
    header: Header,
}

enum Bytes {
    Mapped(Mmap),
    /// A private (copy-on-write) writable mapping: writes through it stay in this process and
    /// never reach the file.
    MappedPrivate(MmapMut),
    Owned(Vec<u8>),
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("path", &self.inner.path)
            .field("mapped", &self.is_mapped())
            .field("header", &self.inner.header)
            .finish()
    }
}

impl Snapshot {
    /// The whole file: header then payload.
    pub fn image(&self) -> &[u8] {
        match &self.inner.bytes {
            Bytes::Mapped(map) => map,
            Bytes::MappedPrivate(map) => map,
            Bytes::Owned(vec) => vec,
        }
    }

    /// The payload (the file after the 192-byte header).
    pub fn payload(&self) -> &[u8] {
        self.image().get(HEADER_LEN..).unwrap_or_default()
    }

    /// The snapshot's path (for a value not yet persisted: where it was to be written).
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The decoded, verified header.
    pub fn header(&self) -> &Header {
        &self.inner.header
    }

    /// True when served from a memory map of the file, false when held in memory.
    pub fn is_mapped(&self) -> bool {
        matches!(self.inner.bytes, Bytes::Mapped(_) | Bytes::MappedPrivate(_))
    }

    /// True when the mapping is private and writable (copy-on-write, see [`LoadOptions`]).
    pub fn is_private(&self) -> bool {
        matches!(self.inner.bytes, Bytes::MappedPrivate(_))
    }

    /// Runs the payload checksum of check 7, for a snapshot loaded with
    /// [`LoadOptions::defer_payload_check`].
    pub fn verify_payload(&self) -> Result<(), Reason> {
        header::check_payload(self.image(), &self.inner.header)
    }

    /// Validates an in-memory file image (checks 0b–7, docs/store.md, "Load checks") as [`load`]
    /// would a file.
    pub fn from_image(
        path: impl Into<PathBuf>,
        image: Vec<u8>,
        id: &SnapshotId,
        fingerprint: &Fingerprint,
    ) -> Result<Snapshot, Reason> {
        let expect = Expect {
            kind: id.kind(),
            version: Some(id.version()),
            fingerprint,
        };
        Self::from_image_expect(path.into(), image, &expect)
    }

    /// Validates an in-memory file image against `expect` as [`load_path`] would a file.
    pub fn from_image_expect(
        path: PathBuf,
        image: Vec<u8>,
        expect: &Expect<'_>,
    ) -> Result<Snapshot, Reason> {
        let header = header::check(&image, expect)?;
        Ok(Snapshot {
            inner: Arc::new(Inner {
                bytes: Bytes::Owned(image),
                path,
                header,
            }),
        })
    }

    /// Wraps a mapped file whose header has already been checked.
    pub(crate) fn from_map(path: PathBuf, map: Mmap, header: Header) -> Snapshot {
        Snapshot {
            inner: Arc::new(Inner {
                bytes: Bytes::Mapped(map),
                path,
                header,
            }),
        }
    }

    /// Wraps an image this process has just encoded (no re-validation).
    pub fn built(path: PathBuf, image: Vec<u8>) -> Result<Snapshot, Error> {
        let header = Header::decode(&image)
            .ok_or_else(|| Error::InvalidArgument("image shorter than a header".into()))?;
        Ok(Snapshot {
            inner: Arc::new(Inner {
                bytes: Bytes::Owned(image),
                path,
                header,
            }),
        })
    }
}

/// Runs the load checks 0b–7 (docs/store.md, "Load checks") on a whole file image in memory (the
/// same code [`load`] runs on a mapped file) and returns its header.
pub fn check_image(
    image: &[u8],
    id: &SnapshotId,
    fingerprint: &Fingerprint,
) -> Result<Header, Reason> {
    header::check(
        image,
        &Expect {
            kind: id.kind(),
            version: Some(id.version()),
            fingerprint,
        },
    )
}

/// Opens `id`'s file and runs the load checks 0–7 (docs/store.md, "Load checks") against the
/// current fingerprint. Payload structure (check 8) is the caller's.
pub fn load(id: &SnapshotId, fingerprint: &Fingerprint) -> Result<Snapshot, Reason> {
    let expect = Expect {
        kind: id.kind(),
        version: Some(id.version()),
        fingerprint,
    };
    load_path(&id.path(), &expect)
}

/// Opens the file at `path` and runs the load checks against `expect` (docs/store.md, "Load
/// checks"); the payload's own structure is the caller's to check.
pub fn load_path(path: &Path, expect: &Expect<'_>) -> Result<Snapshot, Reason> {
    let map = map_file(path)?;
    let header = header::check(&map, expect)?;
    Ok(Snapshot {
        inner: Arc::new(Inner {
            bytes: Bytes::Mapped(map),
            path: path.to_path_buf(),
            header,
        }),
    })
}

/// Opens and maps a file after checking that it is a regular file of at least a header's size
/// (checks 0 and 0b of docs/store.md, "Load checks": mapping a zero-length file fails on POSIX).
pub(crate) fn map_file(path: &Path) -> Result<Mmap, Reason> {
    let file = open_checked(path)?;
    #[allow(unsafe_code)]
    // SAFETY: the map is read-only. Snapshot files are never modified in place by this crate
    // (writers rename complete files over them), so the mapped bytes stay those of the verified
    // file until unmapped. Another program truncating the file in place is outside the contract
    // (it would raise SIGBUS on POSIX).
    let map = unsafe { Mmap::map(&file) }.map_err(|e| missing(&e))?;
    Ok(map)
}

/// The reason for a file that cannot be opened or mapped.
fn missing(e: &std::io::Error) -> Reason {
    Reason::new(ReasonCode::Missing, e.to_string())
}

/// Opens `path` for mapping after checks 0 and 0b.
fn open_checked(path: &Path) -> Result<File, Reason> {
    let file = File::open(path).map_err(|e| {
        // Windows refuses to open a directory as a file; name it the same on every platform.
        if path.is_dir() {
            Reason::new(
                ReasonCode::Missing,
                "EISDIR: a directory is in the snapshot's place",
            )
        } else {
            missing(&e)
        }
    })?;
    let meta = file.metadata().map_err(|e| missing(&e))?;
    if meta.is_dir() {
        return Err(Reason::new(
            ReasonCode::Missing,
            "EISDIR: a directory is in the snapshot's place",
        ));
    }
    if meta.len() < HEADER_LEN as u64 {
        return Err(Reason::corrupt(
            meta.len(),
            format!(
                "file is {} bytes, shorter than the {HEADER_LEN}-byte header",
                meta.len()
            ),
        ));
    }
    Ok(file)
}

/// How [`load_file`] maps and checks a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Skip the payload checksum of check 7 (every other check still runs). The caller must
    /// treat the payload as unverified until [`Snapshot::verify_payload`] passes: this lets a
    /// large payload with its own per-record checks open in O(header) time.
    pub defer_payload_check: bool,
    /// Map the file privately and writable (copy-on-write): a stray write through the mapping
    /// stays in this process's memory instead of faulting or reaching the file.
    pub copy_on_write: bool,
}

/// Opens the snapshot file at `path` (any file name; see [`write_file`]) and runs the load checks
/// 0–7 of d.2 for `kind`, `version` and `fingerprint`, as `options` say.
pub fn load_file(
    path: &Path,
    kind: &str,
    version: &str,
    fingerprint: &Fingerprint,
    options: LoadOptions,
) -> Result<Snapshot, Reason> {
    let expect = Expect {
        kind,
        version: Some(version),
        fingerprint,
    };
    let bytes = if options.copy_on_write {
        Bytes::MappedPrivate(map_file_private(path)?)
    } else {
        Bytes::Mapped(map_file(path)?)
    };
    let image: &[u8] = match &bytes {
        Bytes::Mapped(map) => map,
        Bytes::MappedPrivate(map) => map,
        Bytes::Owned(vec) => vec,
    };
    let header = header::check_with(image, &expect, !options.defer_payload_check)?;
    Ok(Snapshot {
        inner: Arc::new(Inner {
            bytes,
            path: path.to_path_buf(),
            header,
        }),
    })
}

/// Writes a snapshot of `kind` and `version` atomically (d.4) to `path`, whatever its file name,
/// and returns the path. Unlike [`write`], no other file is swept afterwards: a caller naming its
/// own files manages them (the temp file is `<path>.<pid>.<16 hex>.tmp`, removed on failure).
pub fn write_file(
    path: &Path,
    kind: &str,
    version: &str,
    fingerprint: &Fingerprint,
    payload: &[u8],
    hooks: &Hooks<'_>,
) -> Result<PathBuf, Error> {
    header::validate_kind(kind)?;
    header::validate_version(version)?;
    let (Some(dir), Some(file_name)) = (path.parent(), path.file_name().and_then(|n| n.to_str()))
    else {
        return Err(Error::InvalidArgument(format!(
            "{} does not name a file with a UTF-8 name",
            path.display()
        )));
    };
    if names::classify(file_name).is_some() {
        return Err(Error::InvalidArgument(format!(
            "{file_name} has the form of a named snapshot; use `write` for those"
        )));
    }
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let head = header::encode(kind, version, fingerprint, payload, hooks.created());
    write_atomic(dir, file_name, &[&head, payload], hooks)
}

/// Writes `data` as the plain file `path` (an exported resource, a rendered image) through the
/// atomic protocol (docs/store.md, "Writes"): a temp file in the same folder, fsync, rename, folder
/// fsync. Nothing else is swept; a name of the snapshot form is refused (see [`write_file`]).
pub fn write_plain(path: &Path, data: &[u8], hooks: &Hooks<'_>) -> Result<PathBuf, Error> {
    let (Some(dir), Some(file_name)) = (path.parent(), path.file_name().and_then(|n| n.to_str()))
    else {
        return Err(Error::InvalidArgument(format!(
            "{} does not name a file with a UTF-8 name",
            path.display()
        )));
    };
    if names::classify(file_name).is_some() {
        return Err(Error::InvalidArgument(format!(
            "{file_name} has the form of a snapshot file name"
        )));
    }
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    write_atomic(dir, file_name, &[data], hooks)
}

/// [`map_file`] with a private writable (copy-on-write) mapping.
fn map_file_private(path: &Path) -> Result<MmapMut, Reason> {
    let file = open_checked(path)?;
    #[allow(unsafe_code)]
    // SAFETY: the mapping is private (MAP_PRIVATE): writes through it go to anonymous copies of
    // the touched pages and never to the file. Snapshot files are never modified in place (writers
    // rename complete files over them), so untouched pages stay those of the verified file.
    let map = unsafe { MmapOptions::new().map_copy(&file) }.map_err(|e| missing(&e))?;
    Ok(map)
}

/// Encodes header + payload for `id` into one buffer.
pub(crate) fn encode_image(
    id: &SnapshotId,
    fingerprint: &Fingerprint,
    payload: &[u8],
    created_ns: u64,
) -> Vec<u8> {
    let head = header::encode(id.kind(), id.version(), fingerprint, payload, created_ns);
    let mut image = Vec::with_capacity(HEADER_LEN + payload.len());
    image.extend_from_slice(&head);
    image.extend_from_slice(payload);
    image
}

/// Writes a snapshot atomically (docs/store.md, "Writes") with the hooks' file layer and returns
/// its path. The payload is written as given; nothing is modified in place.
pub fn write(
    id: &SnapshotId,
    fingerprint: &Fingerprint,
    payload: &[u8],
    hooks: &Hooks<'_>,
) -> Result<PathBuf, Error> {
    let head = header::encode(
        id.kind(),
        id.version(),
        fingerprint,
        payload,
        hooks.created(),
    );
    write_atomic(id.dir(), id.file_name(), &[&head, payload], hooks)
}

/// The outcome of persisting a value that is returned regardless.
pub enum Persisted {
    /// The file was written.
    Written,
    /// Writing failed; the value is still usable.
    Failed(Error),
}

impl Persisted {
    /// `(persisted, persist_error)` as [`crate::Opened`] reports them.
    pub fn into_parts(self) -> (bool, Option<Error>) {
        match self {
            Persisted::Written => (true, None),
            Persisted::Failed(e) => (false, Some(e)),
        }
    }
}

/// Writes a complete image for `id`; IO failures become [`Persisted::Failed`], only an abort is
/// an error.
pub fn persist_image(id: &SnapshotId, image: &[u8], hooks: &Hooks<'_>) -> Result<Persisted, Error> {
    match write_atomic(id.dir(), id.file_name(), &[image], hooks) {
        Ok(_) => Ok(Persisted::Written),
        Err(Error::Aborted) => Err(Error::Aborted),
        Err(e) => Ok(Persisted::Failed(e)),
    }
}
