//! Snapshot files: identity, loading (docs/store.md, "Load checks") and writing (docs/store.md,
//! "Writes").

use std::path::{Path, PathBuf};
use std::sync::Arc;

use modforge_core::Control;

use crate::error::Error;
use crate::file::{self, Contents, ReadFailure};
use crate::fingerprint::Fingerprint;
use crate::header::{self, Expect, HEADER_LEN, Header, Wanted};
use crate::hooks::Hooks;
use crate::names;
use crate::reason::{Reason, ReasonCode, Refusal};
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
    /// Validates and builds an id. `dir`: not empty; `kind`: 1–32 bytes of `[a-z0-9._@/-]`;
    /// `version`: 1–64 bytes of UTF-8 without NUL or U+FFFD; the encoded file name must fit in
    /// 255 bytes (docs/store.md, "File names").
    pub fn new(
        dir: impl Into<PathBuf>,
        name: &str,
        version: &str,
        kind: &str,
    ) -> Result<Self, Error> {
        let dir = dir.into();
        names::validate_dir(&dir)?;
        header::validate_kind(kind)?;
        header::validate_version(version)?;
        let file_name = names::snapshot_file_name(name, version)?;
        Ok(SnapshotId {
            dir,
            name: name.into(),
            version: version.into(),
            kind: kind.into(),
            file_name,
        })
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
    bytes: Contents,
    path: PathBuf,
    header: Header,
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
        self.inner.bytes.bytes()
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

    /// True when served from a memory map of the file (files over 64 MiB, or any size with
    /// [`LoadOptions::copy_on_write`]), false when held in memory (smaller files, read whole;
    /// values built in this process).
    pub fn is_mapped(&self) -> bool {
        matches!(
            self.inner.bytes,
            Contents::Mapped(_) | Contents::MappedPrivate(_)
        )
    }

    /// True when the mapping is private and writable (copy-on-write, see
    /// [`LoadOptions::copy_on_write`]).
    pub fn is_private(&self) -> bool {
        matches!(self.inner.bytes, Contents::MappedPrivate(_))
    }

    /// Runs the payload checksum of check 7 for a snapshot loaded with
    /// [`LoadOptions::defer_payload_check`], polling `control` between chunks (outer error
    /// [`Error::Aborted`]; inner error why the payload cannot be used).
    pub fn verify_payload(&self, control: &Control<'_>) -> Result<Result<(), Reason>, Error> {
        match header::check_payload(self.image(), &self.inner.header, control) {
            Ok(()) => Ok(Ok(())),
            Err(Refusal::Rejected(reason)) => Ok(Err(reason)),
            Err(Refusal::Aborted) => Err(Error::Aborted),
        }
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
                bytes: Contents::Owned(image),
                path,
                header,
            }),
        })
    }

    /// Wraps a file's bytes whose header has already been checked.
    pub(crate) fn from_contents(path: PathBuf, bytes: Contents, header: Header) -> Snapshot {
        Snapshot {
            inner: Arc::new(Inner {
                bytes,
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
                bytes: Contents::Owned(image),
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

/// [`load`] polling `control` for cancellation while the file is read and its checksum computed:
/// the outer error is [`Error::Aborted`], the inner one why the file cannot be used.
pub fn load_with(
    id: &SnapshotId,
    fingerprint: &Fingerprint,
    control: &Control<'_>,
) -> Result<Result<Snapshot, Reason>, Error> {
    let expect = Expect {
        kind: id.kind(),
        version: Some(id.version()),
        fingerprint,
    };
    load_path_with(&id.path(), &expect, control)
}

/// Opens the file at `path` and runs the load checks against `expect` (docs/store.md, "Load
/// checks"); the payload's own structure is the caller's to check.
pub fn load_path(path: &Path, expect: &Expect<'_>) -> Result<Snapshot, Reason> {
    load_file(path, expect, LoadOptions::default())
}

/// How [`load_file`] holds and checks a file; the default is [`load_path`]'s (read whole up to
/// [`crate::MAP_THRESHOLD`], mapped read-only above, every check run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Skip the payload checksum of check 7 (every other check still runs). The caller must
    /// treat the payload as unverified until [`Snapshot::verify_payload`] passes, or check every
    /// record itself: a large payload with its own per-record checks then opens in O(header)
    /// time (docs/store.md, "Deferred payload check").
    pub defer_payload_check: bool,
    /// Map the file privately and writable (copy-on-write) whatever its size: the bytes can be
    /// served zero-copy to code that may write into them, and a stray write stays in this
    /// process's memory instead of faulting or reaching the file (docs/store.md, "Private
    /// mappings").
    pub copy_on_write: bool,
}

/// Opens the snapshot file at `path` (any file name, e.g. one written by [`write_snapshot_file`]) and runs
/// the load checks against `expect`, as `options` say (docs/store.md, "Load checks").
pub fn load_file(
    path: &Path,
    expect: &Expect<'_>,
    options: LoadOptions,
) -> Result<Snapshot, Reason> {
    let wanted = Wanted {
        kind: expect.kind,
        version: expect.version,
        fingerprint: Some(expect.fingerprint),
        payload_checksum: !options.defer_payload_check,
    };
    open_checked(path, &wanted, options, &Control::default()).map_err(rejected_only)
}

/// [`load_path`] polling `control` for cancellation (outer error [`Error::Aborted`]).
pub fn load_path_with(
    path: &Path,
    expect: &Expect<'_>,
    control: &Control<'_>,
) -> Result<Result<Snapshot, Reason>, Error> {
    let wanted = Wanted {
        kind: expect.kind,
        version: expect.version,
        fingerprint: Some(expect.fingerprint),
        payload_checksum: true,
    };
    match open_checked(path, &wanted, LoadOptions::default(), control) {
        Ok(snapshot) => Ok(Ok(snapshot)),
        Err(Refusal::Rejected(reason)) => Ok(Err(reason)),
        Err(Refusal::Aborted) => Err(Error::Aborted),
    }
}

/// Opens a snapshot file shipped with an application: every container check (size, magic,
/// container version, length, checksums) and the `kind`, but no data version and no source
/// fingerprint, since there is no source to compare (docs/store.md, "Shipped snapshots").
/// A file that fails is an error: [`Error::Io`] when it cannot be opened, [`Error::Format`] for
/// another kind or container version, [`Error::Corrupt`] for a failed size or checksum.
pub fn open_file(path: &Path, kind: &str, control: &Control<'_>) -> Result<Snapshot, Error> {
    header::validate_kind(kind)?;
    control.check()?;
    let (file, size) = file::open_regular(path).map_err(|failure| failure.into_error(path))?;
    let contents = match file::contents(&file, size, control) {
        Ok(contents) => contents,
        Err(ReadFailure::Aborted) => return Err(Error::Aborted),
        Err(ReadFailure::Io(e)) => return Err(Error::io("read", path, e)),
    };
    let wanted = Wanted {
        kind,
        version: None,
        fingerprint: None,
        payload_checksum: true,
    };
    match header::check_wanted(contents.bytes(), &wanted, control) {
        Ok(header) => Ok(Snapshot::from_contents(
            path.to_path_buf(),
            contents,
            header,
        )),
        Err(Refusal::Aborted) => Err(Error::Aborted),
        Err(Refusal::Rejected(reason)) => Err(reason_error(path, reason)),
    }
}

/// A rejection of a file opened by path, as an error naming the file and the offset.
pub fn reason_error(path: &Path, reason: Reason) -> Error {
    let file = path.display().to_string();
    let offset = reason.offset.unwrap_or(0);
    match reason.code {
        ReasonCode::Corrupt => Error::Corrupt {
            file,
            offset,
            detail: reason.detail,
        },
        ReasonCode::Missing => Error::io(
            "open",
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, reason.detail),
        ),
        ReasonCode::Version | ReasonCode::Kind | ReasonCode::Stale => Error::Format {
            file,
            offset,
            line: None,
            expected: reason.detail,
        },
    }
}

/// A rejection from a load that had no cancellation flag (so it cannot have been aborted).
fn rejected_only(refusal: Refusal) -> Reason {
    match refusal {
        Refusal::Rejected(reason) => reason,
        Refusal::Aborted => Reason::new(ReasonCode::Missing, "the load was aborted"),
    }
}

/// Opens the regular file at `path`, reads it (or maps it above [`file::MAP_THRESHOLD`], or
/// privately as `options` say) and runs the load checks against `wanted`.
pub(crate) fn open_checked(
    path: &Path,
    wanted: &Wanted<'_>,
    options: LoadOptions,
    control: &Control<'_>,
) -> Result<Snapshot, Refusal> {
    control.check()?;
    let contents = read_file(path, options.copy_on_write, control)?;
    let header = header::check_wanted(contents.bytes(), wanted, control)?;
    Ok(Snapshot::from_contents(
        path.to_path_buf(),
        contents,
        header,
    ))
}

/// The bytes of the snapshot file at `path` (check 0: a regular file, opened without blocking;
/// the size checks follow on the bytes). `private` maps a file of at least a header's size
/// privately (copy-on-write); a shorter one is read (mapping an empty file fails on POSIX) and
/// fails check 0b.
pub(crate) fn read_file(
    path: &Path,
    private: bool,
    control: &Control<'_>,
) -> Result<Contents, Refusal> {
    let (file, size) = file::open_regular(path)
        .map_err(|failure| Reason::new(ReasonCode::Missing, failure.describe("snapshot")))?;
    let contents = if private && size >= HEADER_LEN as u64 {
        file::map_private(&file, control)
    } else {
        file::contents(&file, size, control)
    };
    match contents {
        Ok(contents) => Ok(contents),
        Err(ReadFailure::Aborted) => Err(Refusal::Aborted),
        Err(ReadFailure::Io(e)) => Err(Reason::new(
            ReasonCode::Missing,
            format!("{}: {e}", modforge_core::io_code_name(&e)),
        )
        .into()),
    }
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
    let former = names::former_encoding(id.name());
    write_atomic(
        id.dir(),
        id.file_name(),
        former.as_deref(),
        &[&head, payload],
        hooks,
    )
}

/// Writes a snapshot of `kind` and `version` atomically (docs/store.md, "Writes") to `path`,
/// whatever its file name, and returns the path. Unlike [`write`], no other file is swept
/// afterwards: a caller naming its own files manages them (the temp file is
/// `<name>.<pid>.<16 hex>.tmp`, removed on failure). A name of the form of a named snapshot is
/// refused (use [`write`] for those).
pub fn write_snapshot_file(
    path: &Path,
    kind: &str,
    version: &str,
    fingerprint: &Fingerprint,
    payload: &[u8],
    hooks: &Hooks<'_>,
) -> Result<PathBuf, Error> {
    header::validate_kind(kind)?;
    header::validate_version(version)?;
    let (dir, file_name) = caller_path(path)?;
    let head = header::encode(kind, version, fingerprint, payload, hooks.created());
    write_atomic(dir, file_name, None, &[&head, payload], hooks)
}

/// The folder and UTF-8 file name of a caller-chosen path, refusing names of the snapshot form
/// (which the sweeps of [`write`] and [`crate::clean`] would treat as the store's own).
fn caller_path(path: &Path) -> Result<(&Path, &str), Error> {
    let (Some(dir), Some(file_name)) = (path.parent(), path.file_name().and_then(|n| n.to_str()))
    else {
        return Err(Error::InvalidArgument(format!(
            "{} does not name a file with a UTF-8 name",
            path.display()
        )));
    };
    if names::classify(file_name).is_some() {
        return Err(Error::InvalidArgument(format!(
            "{file_name} has the form of a snapshot file name; use `write` for named snapshots"
        )));
    }
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    Ok((dir, file_name))
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
    let former = names::former_encoding(id.name());
    match write_atomic(id.dir(), id.file_name(), former.as_deref(), &[image], hooks) {
        Ok(_) => Ok(Persisted::Written),
        Err(Error::Aborted) => Err(Error::Aborted),
        Err(e) => Ok(Persisted::Failed(e)),
    }
}
