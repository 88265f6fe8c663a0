//! `inspectSnapshot` and `verifySnapshots`: the container checks of modforge-store plus the check
//! of every payload kind this package knows ([`PAYLOADS`]).

use std::path::Path;

use modforge_core::hex;
use modforge_store::{self as store, PayloadKind};
use napi::Env;
use napi::bindgen_prelude::PromiseRaw;
use napi_derive::napi;

use super::display;
use super::reason::RejectReason;
use crate::runtime::{Call, CancelFlag, promise, sync};

/// Every payload kind whose structure `inspect` and `verify` check.
const PAYLOADS: &[&dyn PayloadKind] = &[
    &modforge_dataset::DatasetPayload,
    &modforge_rom::RomCachePayload::BLOB,
    &modforge_rom::RomCachePayload::THUMB,
    &modforge_overlay::OverlayPayload::MOD,
    &modforge_overlay::OverlayPayload::TREE,
    &modforge_overlay::OverlayPayload::GAME_INDEX,
    &modforge_overlay::OverlayPayload::MEMO,
    &modforge_overlay::OverlayPayload::GAME_SLICE,
    &modforge_icons::IconsPayload,
];

/// Header fields of a snapshot file.
#[napi(object, object_from_js = false)]
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

impl From<store::Header> for SnapshotHeader {
    fn from(header: store::Header) -> Self {
        SnapshotHeader {
            fingerprint: header.fingerprint().map_or_else(
                || hex::bytes(&header.fingerprint),
                |fingerprint| fingerprint.to_hex(),
            ),
            container_version: u32::from(header.container_version),
            header_length: u32::from(header.header_len),
            flags: header.flags,
            kind: header.kind,
            version: header.version,
            fingerprint_algorithm: u32::from(header.fingerprint_algorithm),
            payload_length: header.payload_len as f64,
            payload_checksum: hex::u128(header.payload_checksum),
            created_ms: (header.created_ns / 1_000_000) as f64,
            header_checksum: hex::u64(header.header_checksum),
        }
    }
}

/// One check run by `inspect` or `verify`.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct SnapshotCheck {
    /// `size`, `magic`, `container version`, `fingerprint algorithm`, `integrity`, then the payload's
    /// own checks (`structure`, and `cells` for a verified dataset).
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// Why it failed.
    pub reason: Option<RejectReason>,
}

/// What `inspect` or `verify` found in a snapshot file.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct SnapshotInspection {
    /// The file.
    pub path: String,
    /// Its size in bytes.
    pub file_size: f64,
    /// True when every check passed.
    pub ok: bool,
    /// Header fields (when the file holds a whole header with the snapshot magic).
    pub header: Option<SnapshotHeader>,
    /// The checks run, in order (a failed check ends the list).
    pub checks: Vec<SnapshotCheck>,
    /// What the payload holds, by kind (a dataset: `tables`, `report`, and `cells` when verified).
    #[napi(ts_type = "Record<string, unknown>")]
    pub details: Option<serde_json::Value>,
}

impl From<store::Inspection> for SnapshotInspection {
    fn from(inspection: store::Inspection) -> Self {
        SnapshotInspection {
            ok: inspection.ok(),
            path: display(&inspection.path),
            file_size: inspection.file_size as f64,
            header: inspection.header.map(SnapshotHeader::from),
            checks: inspection
                .checks
                .into_iter()
                .map(|check| SnapshotCheck {
                    name: check.name.to_owned(),
                    ok: check.result.is_ok(),
                    reason: check.result.err().map(RejectReason::from),
                })
                .collect(),
            details: inspection.details,
        }
    }
}

/// Reads a snapshot's header and runs every check that needs no expectation, plus the payload's
/// structural check (off the main thread).
#[napi(ts_return_type = "Promise<SnapshotInspection>")]
pub fn inspect_snapshot<'env>(
    env: &'env Env,
    path: String,
    cancel: Option<&CancelFlag>,
) -> napi::Result<PromiseRaw<'env, SnapshotInspection>> {
    promise(
        env,
        "store",
        Call::new(cancel, None),
        move |control| Ok(store::inspect(Path::new(&path), PAYLOADS, control)?),
        |_env, inspection| Ok(inspection.into()),
    )
}

/// [`inspect_snapshot`] on the calling thread.
#[napi]
pub fn inspect_snapshot_sync(env: &Env, path: String) -> napi::Result<SnapshotInspection> {
    sync(env, |control| {
        Ok(store::inspect(Path::new(&path), PAYLOADS, control)?.into())
    })
}

/// `inspect` plus the payload's full walk, for one file or every `.mfs` in a folder (off the
/// main thread).
#[napi(ts_return_type = "Promise<SnapshotInspection[]>")]
pub fn verify_snapshots<'env>(
    env: &'env Env,
    path: String,
    cancel: Option<&CancelFlag>,
) -> napi::Result<PromiseRaw<'env, Vec<SnapshotInspection>>> {
    promise(
        env,
        "store",
        Call::new(cancel, None),
        move |control| Ok(store::verify_all(Path::new(&path), PAYLOADS, control)?),
        |_env, found| Ok(found.into_iter().map(SnapshotInspection::from).collect()),
    )
}

/// [`verify_snapshots`] on the calling thread.
#[napi]
pub fn verify_snapshots_sync(env: &Env, path: String) -> napi::Result<Vec<SnapshotInspection>> {
    sync(env, |control| {
        Ok(store::verify_all(Path::new(&path), PAYLOADS, control)?
            .into_iter()
            .map(SnapshotInspection::from)
            .collect())
    })
}
