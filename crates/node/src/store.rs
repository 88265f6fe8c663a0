//! Blob snapshots, maintenance and inspection for `modforge-store`.

use modforge_core::Cancel;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use modforge_store as store;
use napi::Env;
use napi::bindgen_prelude::{Buffer, PromiseRaw};
use napi_derive::napi;

use crate::cancel::{CancelFlag, flag_of};
use crate::error::NodeError;
use crate::task::{run_sync, spawn_promise};

/// What a snapshot is built from (exactly one of `bytes`, `files`, `token`).
#[napi(object)]
pub struct NativeSource {
    /// The source bytes themselves.
    pub bytes: Option<Buffer>,
    /// Source files, fingerprinted by content (default) or by size and modification time.
    pub files: Option<Vec<String>>,
    /// For `files`: `content` (XXH3-128, default), `stat` (size + mtime), `sha256` (SHA-256 of content).
    #[napi(ts_type = "'content' | 'stat' | 'sha256'")]
    pub mode: Option<String>,
    /// A caller-chosen token standing for the source (a version string, a hash).
    pub token: Option<String>,
}

impl NativeSource {
    /// The store's `Source`, or `ERR_MODFORGE_INVALID_ARG` unless exactly one form is given.
    pub fn into_source(self) -> Result<store::Source, NodeError> {
        let mode = match self.mode.as_deref() {
            None | Some("content") => store::FileMode::Content,
            Some("stat") => store::FileMode::Stat,
            Some("sha256") => store::FileMode::ContentSha256,
            Some(other) => {
                return Err(NodeError::InvalidArg(format!(
                    "source.mode must be 'content', 'stat' or 'sha256', got '{other}'"
                )));
            }
        };
        match (self.bytes, self.files, self.token) {
            (Some(bytes), None, None) => Ok(store::Source::Bytes(bytes.to_vec())),
            (None, Some(files), None) => Ok(store::Source::Files {
                paths: files.into_iter().map(PathBuf::from).collect(),
                mode,
            }),
            (None, None, Some(token)) => Ok(store::Source::Token(token)),
            _ => Err(NodeError::InvalidArg(
                "source must have exactly one of `bytes`, `files` or `token`".to_owned(),
            )),
        }
    }
}

/// Where a blob snapshot lives and what it must match.
#[napi(object)]
pub struct SnapshotSpec {
    /// Folder of the snapshot files (created when missing).
    pub dir: String,
    /// The snapshot's name (the file-name stem).
    pub name: String,
    /// The data version (1-64 bytes of UTF-8).
    pub version: String,
    /// The payload kind, `[a-z0-9._@/-]`, up to 32 bytes; default `blob`.
    pub kind: Option<String>,
    /// What the snapshot is built from.
    pub source: NativeSource,
}

/// Why a snapshot on disk was not used.
#[napi(object, use_nullable = true)]
pub struct RejectReason {
    /// `missing`, `corrupt`, `stale`, `version` or `kind`.
    #[napi(ts_type = "'missing' | 'corrupt' | 'stale' | 'version' | 'kind'")]
    pub code: String,
    /// What exactly failed.
    pub detail: String,
    /// Byte offset of the failure in the file, when known.
    pub offset: Option<f64>,
}

impl From<store::Reason> for RejectReason {
    fn from(reason: store::Reason) -> Self {
        RejectReason {
            code: reason.code.as_str().to_owned(),
            detail: reason.detail,
            offset: reason.offset.map(|offset| offset as f64),
        }
    }
}

/// The outcome of `BlobPlan.load`.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct BlobLoad {
    /// The payload when the snapshot passed every check, else `null`.
    pub bytes: Option<Buffer>,
    /// The snapshot file.
    pub path: String,
    /// Why the file was not used, when `bytes` is `null`.
    pub reason: Option<RejectReason>,
}

/// The outcome of `BlobPlan.write`.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct BlobWrite {
    /// The snapshot file.
    pub path: String,
    /// True when the file was written.
    pub persisted: bool,
    /// Why the write failed (`ERR_MODFORGE_IO` with `errno`, `syscall`, `path`), when it did.
    #[napi(ts_type = "Error | null")]
    pub persist_error: Option<napi::Error>,
}

/// A blob snapshot request with its source fingerprinted once, then loaded and/or written.
#[napi]
pub struct BlobPlan {
    inner: Arc<(store::SnapshotId, store::Fingerprint)>,
}

fn plan(spec: SnapshotSpec, cancel: &Cancel) -> Result<BlobPlan, NodeError> {
    if cancel.is_cancelled() {
        return Err(NodeError::Aborted);
    }
    let kind = spec.kind.unwrap_or_else(|| "blob".to_owned());
    let id = store::SnapshotId::new(spec.dir, &spec.name, &spec.version, &kind)?;
    let fingerprint = store::fingerprint(&spec.source.into_source()?)?;
    Ok(BlobPlan {
        inner: Arc::new((id, fingerprint)),
    })
}

/// Validates `spec` and fingerprints its source off the main thread.
#[napi(ts_return_type = "Promise<BlobPlan>")]
pub fn plan_blob<'env>(
    env: &'env Env,
    spec: SnapshotSpec,
    cancel: Option<&CancelFlag>,
) -> napi::Result<PromiseRaw<'env, BlobPlan>> {
    let cancel = flag_of(cancel);
    spawn_promise(
        env,
        "store",
        move || plan(spec, &cancel),
        |_env, plan| Ok(plan),
    )
}

/// Validates `spec` and fingerprints its source on the calling thread.
#[napi]
pub fn plan_blob_sync(env: &Env, spec: SnapshotSpec) -> napi::Result<BlobPlan> {
    run_sync(env, || plan(spec, &Cancel::new()))
}

fn load_blob(inner: &(store::SnapshotId, store::Fingerprint)) -> BlobLoad {
    let (id, fingerprint) = inner;
    let path = display(&id.path());
    match store::load(id, fingerprint) {
        Ok(snapshot) => BlobLoad {
            bytes: Some(Buffer::from(snapshot.payload().to_vec())),
            path,
            reason: None,
        },
        Err(reason) => BlobLoad {
            bytes: None,
            path,
            reason: Some(reason.into()),
        },
    }
}

fn write_blob(
    inner: &(store::SnapshotId, store::Fingerprint),
    bytes: &[u8],
    cancel: &Cancel,
) -> Result<store::Put, NodeError> {
    let hooks = store::Hooks {
        control: modforge_core::Control::cancel(cancel),
        ..Default::default()
    };
    Ok(store::put_blob_fingerprinted(
        &inner.0, &inner.1, bytes, &hooks,
    )?)
}

fn put_to_js(env: &Env, put: store::Put) -> BlobWrite {
    BlobWrite {
        path: display(&put.path),
        persisted: put.persisted,
        persist_error: put
            .persist_error
            .map(|err| NodeError::from(err).into_napi(env)),
    }
}

#[napi]
impl BlobPlan {
    /// The snapshot file this plan reads and writes.
    #[napi(getter)]
    pub fn path(&self) -> String {
        display(&self.inner.0.path())
    }

    /// Loads the snapshot if it passes every check (off the main thread).
    #[napi(ts_return_type = "Promise<BlobLoad>")]
    pub fn load<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, BlobLoad>> {
        let inner = Arc::clone(&self.inner);
        spawn_promise(
            env,
            "store",
            move || Ok(load_blob(&inner)),
            |_env, load| Ok(load),
        )
    }

    /// Loads the snapshot if it passes every check, on the calling thread.
    #[napi]
    pub fn load_sync(&self, env: &Env) -> napi::Result<BlobLoad> {
        run_sync(env, || Ok(load_blob(&self.inner)))
    }

    /// Writes `bytes` atomically as the snapshot (off the main thread). Write failures are
    /// reported in the result; an abort rejects with `ABORT_ERR` and leaves no temp file.
    #[napi(ts_return_type = "Promise<BlobWrite>")]
    pub fn write<'env>(
        &self,
        env: &'env Env,
        bytes: Buffer,
        cancel: Option<&CancelFlag>,
    ) -> napi::Result<PromiseRaw<'env, BlobWrite>> {
        let inner = Arc::clone(&self.inner);
        let cancel = flag_of(cancel);
        let bytes = bytes.to_vec();
        spawn_promise(
            env,
            "store",
            move || write_blob(&inner, &bytes, &cancel),
            |env, put| Ok(put_to_js(env, put)),
        )
    }

    /// Writes `bytes` atomically as the snapshot, on the calling thread.
    #[napi]
    pub fn write_sync(&self, env: &Env, bytes: Buffer) -> napi::Result<BlobWrite> {
        let put = run_sync(env, || write_blob(&self.inner, &bytes, &Default::default()))?;
        Ok(put_to_js(env, put))
    }
}

/// Files removed by `invalidate` or `clean`.
#[napi(object)]
pub struct Removed {
    /// Files deleted.
    pub removed: f64,
    /// Files renamed to `.del` whose deletion failed (left for a later sweep).
    pub deferred: f64,
}

impl From<store::Removed> for Removed {
    fn from(removed: store::Removed) -> Self {
        Removed {
            removed: removed.removed as f64,
            deferred: removed.deferred as f64,
        }
    }
}

/// Removes every version of snapshot `name` in `dir` (and its temp files), off the main thread.
#[napi(ts_return_type = "Promise<Removed>")]
pub fn invalidate(env: &Env, dir: String, name: String) -> napi::Result<PromiseRaw<'_, Removed>> {
    spawn_promise(
        env,
        "store",
        move || Ok(store::invalidate(Path::new(&dir), &name)?),
        |_env, removed| Ok(removed.into()),
    )
}

/// Removes every version of snapshot `name` in `dir` (and its temp files).
#[napi]
pub fn invalidate_sync(env: &Env, dir: String, name: String) -> napi::Result<Removed> {
    run_sync(
        env,
        || Ok(store::invalidate(Path::new(&dir), &name)?.into()),
    )
}

/// Removes temp (`.tmp`) and deferred-deletion (`.del`) files of every snapshot in `dir`
/// (run it when no writer is active).
#[napi]
pub fn clean_store_sync(env: &Env, dir: String) -> napi::Result<Removed> {
    run_sync(env, || Ok(store::clean(Path::new(&dir))?.into()))
}

/// Header fields of a snapshot file.
#[napi(object)]
pub struct SnapshotHeader {
    /// Container format version (1).
    pub container_version: u32,
    /// Header length (192).
    pub header_length: u32,
    /// Reserved flags.
    pub flags: u32,
    /// Payload kind (`modforge.dataset@1`, `blob`, ...).
    pub kind: String,
    /// Data version.
    pub version: String,
    /// Fingerprint algorithm: 1 content (XXH3-128), 2 stat list, 3 token, 4 content (SHA-256).
    pub fingerprint_algorithm: u32,
    /// The source fingerprint, hex.
    pub fingerprint: String,
    /// Payload length in bytes.
    pub payload_length: f64,
    /// XXH3-128 of the payload, hex.
    pub payload_checksum: String,
    /// Creation time, milliseconds since the Unix epoch (informational).
    pub created_ms: f64,
    /// XXH3-64 of header bytes 0..184, hex.
    pub header_checksum: String,
}

/// One check run by `inspect` or `verify`.
#[napi(object, use_nullable = true)]
pub struct SnapshotCheck {
    /// `size`, `magic`, `container version`, `fingerprint algorithm`, `integrity`, `structure`, `cells`.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// Why it failed.
    pub reason: Option<RejectReason>,
}

/// One table of an inspected dataset.
#[napi(object, use_nullable = true)]
pub struct InspectedTable {
    /// Table name.
    pub name: String,
    /// Rows.
    pub rows: u32,
    /// Column names.
    pub columns: Vec<String>,
    /// Key column.
    pub key: Option<String>,
    /// Hash-index slots.
    pub index_slots: u32,
    /// Bytes of text, offsets and index.
    pub bytes: f64,
}

/// What `inspect` or `verify` found in a snapshot file.
#[napi(object, use_nullable = true)]
pub struct SnapshotInspection {
    /// The file.
    pub path: String,
    /// Its size in bytes.
    pub file_size: f64,
    /// True when every check passed.
    pub ok: bool,
    /// Header fields (when the file holds a whole header).
    pub header: Option<SnapshotHeader>,
    /// The checks run, in order (a failed check ends the list).
    pub checks: Vec<SnapshotCheck>,
    /// Tables of a dataset.
    pub tables: Vec<InspectedTable>,
    /// The dataset's stored build report, JSON text.
    pub report_json: Option<String>,
    /// Cells walked by `verify` (datasets).
    pub cells: Option<f64>,
}

impl From<store::Inspection> for SnapshotInspection {
    fn from(inspection: store::Inspection) -> Self {
        let ok = inspection.ok();
        SnapshotInspection {
            path: display(&inspection.path),
            file_size: inspection.file_size as f64,
            ok,
            header: inspection.header.map(|header| SnapshotHeader {
                fingerprint: fingerprint_hex(&header),
                container_version: u32::from(header.container_version),
                header_length: u32::from(header.header_len),
                flags: header.flags,
                kind: header.kind,
                version: header.version,
                fingerprint_algorithm: u32::from(header.fingerprint_algorithm),
                payload_length: header.payload_len as f64,
                payload_checksum: format!("{:032x}", header.payload_checksum),
                created_ms: (header.created_ns / 1_000_000) as f64,
                header_checksum: format!("{:016x}", header.header_checksum),
            }),
            checks: inspection
                .checks
                .into_iter()
                .map(|check| SnapshotCheck {
                    name: check.name.to_owned(),
                    ok: check.result.is_ok(),
                    reason: check.result.err().map(RejectReason::from),
                })
                .collect(),
            tables: inspection
                .tables
                .into_iter()
                .map(|table| InspectedTable {
                    name: table.name,
                    rows: table.rows,
                    columns: table.columns,
                    key: table.key,
                    index_slots: table.index_slots,
                    bytes: table.bytes as f64,
                })
                .collect(),
            report_json: inspection.report_json,
            cells: inspection.cells.map(|cells| cells.cells as f64),
        }
    }
}

/// Reads a snapshot's header and runs every check that needs no expectation (off the main thread).
#[napi(ts_return_type = "Promise<SnapshotInspection>")]
pub fn inspect_snapshot(
    env: &Env,
    path: String,
) -> napi::Result<PromiseRaw<'_, SnapshotInspection>> {
    spawn_promise(
        env,
        "store",
        move || Ok(store::inspect(Path::new(&path))?),
        |_env, inspection| Ok(inspection.into()),
    )
}

/// `inspect` plus the full walk over every cell of a dataset, for one file or every `.mfs` in a
/// folder (off the main thread).
#[napi(ts_return_type = "Promise<SnapshotInspection[]>")]
pub fn verify_snapshots(
    env: &Env,
    path: String,
) -> napi::Result<PromiseRaw<'_, Vec<SnapshotInspection>>> {
    spawn_promise(
        env,
        "store",
        move || {
            let path = Path::new(&path);
            Ok(if path.is_dir() {
                store::verify_dir(path)?
            } else {
                vec![store::verify(path)?]
            })
        },
        |_env, found| Ok(found.into_iter().map(SnapshotInspection::from).collect()),
    )
}

/// A path as JavaScript sees it (lossy for non-UTF-8 names).
pub fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The fingerprint in canonical hex (XXH3-128 high half first), or the raw field for an unknown
/// algorithm.
fn fingerprint_hex(header: &store::Header) -> String {
    header.fingerprint().map_or_else(
        || hex(&header.fingerprint),
        |fingerprint| fingerprint.to_hex(),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
