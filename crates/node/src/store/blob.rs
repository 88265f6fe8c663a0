//! Blob snapshots: a request fingerprinted once (`planBlob`), then loaded and/or written.

use std::sync::Arc;

use modforge_core::Control;
use modforge_store as store;
use napi::Env;
use napi::bindgen_prelude::{Buffer, PromiseRaw};
use napi_derive::napi;

use super::display;
use super::reason::RejectReason;
use super::source::SnapshotSource;
use crate::runtime::{Call, CancelFlag, NodeError, promise, sync};

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
    pub source: SnapshotSource,
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

fn plan(spec: SnapshotSpec, control: &Control<'_>) -> Result<BlobPlan, NodeError> {
    control.check()?;
    let kind = spec.kind.as_deref().unwrap_or(store::BLOB_KIND);
    let id = store::SnapshotId::new(spec.dir, &spec.name, &spec.version, kind)?;
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
    promise(
        env,
        "store",
        Call::new(cancel, None),
        move |control| plan(spec, control),
        |_env, plan| Ok(plan),
    )
}

/// Validates `spec` and fingerprints its source on the calling thread.
#[napi]
pub fn plan_blob_sync(env: &Env, spec: SnapshotSpec) -> napi::Result<BlobPlan> {
    sync(env, |control| plan(spec, control))
}

fn load(
    inner: &(store::SnapshotId, store::Fingerprint),
    control: &Control<'_>,
) -> Result<BlobLoad, NodeError> {
    let (id, fingerprint) = inner;
    let path = display(&id.path());
    Ok(match store::load_with(id, fingerprint, control)? {
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
    })
}

fn write(
    inner: &(store::SnapshotId, store::Fingerprint),
    bytes: &[u8],
    control: &Control<'_>,
) -> Result<store::Put, NodeError> {
    let hooks = store::Hooks {
        control: *control,
        ..Default::default()
    };
    Ok(store::put_blob_fingerprinted(
        &inner.0, &inner.1, bytes, &hooks,
    )?)
}

fn written(env: &Env, put: store::Put) -> BlobWrite {
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

    /// Loads the snapshot if it passes every check (off the main thread); `cancel` stops reading
    /// and checksumming it (the call then rejects with `ABORT_ERR`).
    #[napi(ts_return_type = "Promise<BlobLoad>")]
    pub fn load<'env>(
        &self,
        env: &'env Env,
        cancel: Option<&CancelFlag>,
    ) -> napi::Result<PromiseRaw<'env, BlobLoad>> {
        let inner = Arc::clone(&self.inner);
        promise(
            env,
            "store",
            Call::new(cancel, None),
            move |control| load(&inner, control),
            |_env, load| Ok(load),
        )
    }

    /// Loads the snapshot if it passes every check, on the calling thread.
    #[napi]
    pub fn load_sync(&self, env: &Env) -> napi::Result<BlobLoad> {
        sync(env, |control| load(&self.inner, control))
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
        let bytes = bytes.to_vec();
        promise(
            env,
            "store",
            Call::new(cancel, None),
            move |control| write(&inner, &bytes, control),
            |env, put| Ok(written(env, put)),
        )
    }

    /// Writes `bytes` atomically as the snapshot, on the calling thread.
    #[napi]
    pub fn write_sync(&self, env: &Env, bytes: Buffer) -> napi::Result<BlobWrite> {
        let put = sync(env, |control| write(&self.inner, &bytes, control))?;
        Ok(written(env, put))
    }
}

/// A blob snapshot opened by path ([`read_blob_file`]).
#[napi(object, object_from_js = false)]
pub struct BlobFile {
    /// The payload.
    pub bytes: Buffer,
    /// The file's data version.
    pub version: String,
}

fn read_file(path: &str, kind: Option<&str>, control: &Control<'_>) -> Result<BlobFile, NodeError> {
    let snapshot = store::open_file(
        std::path::Path::new(path),
        kind.unwrap_or(store::BLOB_KIND),
        control,
    )?;
    Ok(BlobFile {
        bytes: Buffer::from(snapshot.payload().to_vec()),
        version: snapshot.header().version.clone(),
    })
}

/// Reads a snapshot shipped with an application, by path: every container check and the kind
/// (default `blob`), no data version and no source (off the main thread). Rejects with
/// `ERR_MODFORGE_IO` (missing), `ERR_MODFORGE_FORMAT` (another kind), `ERR_MODFORGE_CORRUPT`,
/// `ERR_MODFORGE_INVALID_ARG` (a bad kind, a FIFO or device) or `ABORT_ERR`.
#[napi(ts_return_type = "Promise<BlobFile>")]
pub fn read_blob_file<'env>(
    env: &'env Env,
    path: String,
    kind: Option<String>,
    cancel: Option<&CancelFlag>,
) -> napi::Result<PromiseRaw<'env, BlobFile>> {
    promise(
        env,
        "store",
        Call::new(cancel, None),
        move |control| read_file(&path, kind.as_deref(), control),
        |_env, file| Ok(file),
    )
}

/// [`read_blob_file`] on the calling thread.
#[napi]
pub fn read_blob_file_sync(
    env: &Env,
    path: String,
    kind: Option<String>,
) -> napi::Result<BlobFile> {
    sync(env, |control| read_file(&path, kind.as_deref(), control))
}
