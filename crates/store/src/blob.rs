//! Blob snapshots: `open_or_build`, `put`, `get` (docs/store.md, "Blobs").

use std::path::PathBuf;

use crate::error::Error;
use crate::fingerprint::{Fingerprint, Source, fingerprint};
use crate::hooks::Hooks;
use crate::reason::Reason;
use crate::snapshot::{self, Snapshot, SnapshotId};

/// The payload kind of a blob snapshot (bytes stored as given).
pub const BLOB_KIND: &str = "blob";

impl SnapshotId {
    /// An id with the default kind `blob`.
    pub fn blob(dir: impl Into<PathBuf>, name: &str, version: &str) -> Result<Self, Error> {
        Self::new(dir, name, version, BLOB_KIND)
    }
}

/// The result of an open-or-build call: the value, where it lives, and how it was obtained.
#[derive(Debug)]
pub struct Opened<T> {
    /// The value (served from disk or built now).
    pub value: T,
    /// The snapshot file's path.
    pub path: PathBuf,
    /// True when served from disk, false when built by this call.
    pub loaded: bool,
    /// Why the file on disk was not used (set whenever `loaded` is false).
    pub rejected: Option<Reason>,
    /// True when loaded, or built and written successfully.
    pub persisted: bool,
    /// Why writing failed (the value is still returned); `None` when `persisted`.
    pub persist_error: Option<Error>,
}

/// The result of [`put_blob`].
#[derive(Debug)]
pub struct Put {
    /// The snapshot file's path.
    pub path: PathBuf,
    /// True when the file was written.
    pub persisted: bool,
    /// Why writing failed.
    pub persist_error: Option<Error>,
}

/// Serves `id` from disk when it passes every load check against `source`'s fingerprint;
/// otherwise calls `build`, writes the result atomically and returns it. A failed write is
/// reported in [`Opened::persist_error`], never as an error. Errors: `build`'s own, a source that
/// cannot be fingerprinted, or [`Error::Aborted`] from `hooks.control` (no file is left behind).
pub fn open_or_build_blob<E: From<Error>>(
    id: &SnapshotId,
    source: &Source,
    hooks: &Hooks<'_>,
    build: impl FnOnce() -> Result<Vec<u8>, E>,
) -> Result<Opened<Snapshot>, E> {
    open_or_build_checked(id, source, hooks, |_| Ok(()), build)
}

/// Like [`open_or_build_blob`], with the caller's structural check of the payload (check 8,
/// docs/store.md, "Load checks"): a payload that `validate` refuses is treated as `corrupt` and
/// rebuilt.
pub fn open_or_build_checked<E: From<Error>>(
    id: &SnapshotId,
    source: &Source,
    hooks: &Hooks<'_>,
    validate: impl Fn(&[u8]) -> Result<(), String>,
    build: impl FnOnce() -> Result<Vec<u8>, E>,
) -> Result<Opened<Snapshot>, E> {
    let fp = fingerprint(source)?;
    let path = id.path();
    let rejected = match snapshot::load(id, &fp) {
        Ok(snap) => match validate(snap.payload()) {
            Ok(()) => {
                return Ok(Opened {
                    value: snap,
                    path,
                    loaded: true,
                    rejected: None,
                    persisted: true,
                    persist_error: None,
                });
            }
            Err(detail) => Reason::corrupt(crate::header::HEADER_LEN as u64, detail),
        },
        Err(reason) => reason,
    };
    hooks.check_cancel()?;
    let payload = build()?;
    hooks.check_cancel()?;
    let image = snapshot::encode_image(id, &fp, &payload, hooks.created());
    drop(payload);
    let persisted = snapshot::persist_image(id, &image, hooks)?;
    let value = Snapshot::built(path.clone(), image)?;
    let (persisted, persist_error) = persisted.into_parts();
    Ok(Opened {
        value,
        path,
        loaded: false,
        rejected: Some(rejected),
        persisted,
        persist_error,
    })
}

/// Writes `bytes` as `id`'s snapshot for `source`. IO failures are reported in the result;
/// errors are a source that cannot be fingerprinted and [`Error::Aborted`].
pub fn put_blob(
    id: &SnapshotId,
    source: &Source,
    bytes: &[u8],
    hooks: &Hooks<'_>,
) -> Result<Put, Error> {
    put_blob_fingerprinted(id, &fingerprint(source)?, bytes, hooks)
}

/// [`put_blob`] with the source's fingerprint computed by the caller (who may already have used
/// it to try [`crate::load`], and so need not read a file source twice).
pub fn put_blob_fingerprinted(
    id: &SnapshotId,
    fp: &Fingerprint,
    bytes: &[u8],
    hooks: &Hooks<'_>,
) -> Result<Put, Error> {
    let path = id.path();
    match snapshot::write(id, fp, bytes, hooks) {
        Ok(path) => Ok(Put {
            path,
            persisted: true,
            persist_error: None,
        }),
        Err(Error::Aborted) => Err(Error::Aborted),
        Err(e) => Ok(Put {
            path,
            persisted: false,
            persist_error: Some(e),
        }),
    }
}

/// Reads `id`'s snapshot if it passes every load check against `source`; otherwise the reason.
/// The error is a source that cannot be fingerprinted.
pub fn get_blob(id: &SnapshotId, source: &Source) -> Result<Result<Snapshot, Reason>, Error> {
    let fp = fingerprint(source)?;
    Ok(snapshot::load(id, &fp))
}
