//! `rom.patch`: edits written into a copy of the ROM with checksum and complement fixed, atomically
//! (docs/rom.md, "Patching").

use std::path::Path;

use modforge_core::Control;
use modforge_rom as rom;
use napi::Env;
use napi::bindgen_prelude::{Buffer, PromiseRaw};
use napi_derive::napi;

use super::{Failure, offset_arg, rom_of, rom_sync};
use crate::runtime::{Call, CancelFlag, NodeError, ProgressCallback, promise};

/// One edit: bytes written at a ROM offset (copier header excluded).
#[napi(object)]
pub struct RomEdit {
    /// ROM offset of the first byte.
    pub offset: f64,
    /// The bytes.
    pub bytes: Buffer,
}

/// What `rom.patch` wrote.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct PatchResult {
    /// The file written.
    pub path: String,
    /// Bytes written (the whole image, copier header included).
    pub bytes: f64,
    /// The new checksum, or `null` for a ROM without a detected header (nothing fixed).
    pub checksum: Option<u32>,
    /// The new complement (`checksum ^ 0xFFFF`), or `null`.
    pub complement: Option<u32>,
}

fn edits_of(edits: &[RomEdit]) -> Result<Vec<(u64, Vec<u8>)>, NodeError> {
    edits
        .iter()
        .enumerate()
        .map(|(i, e)| {
            Ok((
                offset_arg(&format!("edits[{i}].offset"), e.offset)?,
                e.bytes.to_vec(),
            ))
        })
        .collect()
}

fn run(
    handle: u32,
    dest: &str,
    edits: &[(u64, Vec<u8>)],
    control: &Control<'_>,
) -> Result<PatchResult, NodeError> {
    let borrowed: Vec<(u64, &[u8])> = edits.iter().map(|(o, b)| (*o, b.as_slice())).collect();
    let report = rom_of(handle)?.patch_to(&borrowed, Path::new(dest), control)?;
    Ok(convert(report))
}

fn convert(report: rom::PatchReport) -> PatchResult {
    PatchResult {
        path: report.path.to_string_lossy().into_owned(),
        bytes: report.bytes as f64,
        checksum: report.checksum.map(|(c, _)| u32::from(c)),
        complement: report.checksum.map(|(_, c)| u32::from(c)),
    }
}

/// Writes a copy of ROM `handle` with `edits` applied and checksum and complement fixed to
/// `dest` (temp file in the same folder, fsync, rename), off the main thread. The open image
/// never changes. Progress: stage `write` (bytes), then `patch` (`done`/`total` = 1 file).
#[napi(ts_return_type = "Promise<PatchResult>")]
pub fn rom_patch<'env>(
    env: &'env Env,
    handle: u32,
    dest: String,
    edits: Vec<RomEdit>,
    cancel: Option<&CancelFlag>,
    #[napi(ts_arg_type = "(event: ProgressEvent) => void")] on_progress: Option<ProgressCallback>,
) -> napi::Result<PromiseRaw<'env, PatchResult>> {
    let edits = edits_of(&edits).map_err(|err| err.into_napi(env))?;
    promise(
        env,
        "patch",
        Call::new(cancel, on_progress),
        move |control| run(handle, &dest, &edits, control),
        |_env, result| Ok(result),
    )
}

/// [`rom_patch`] on the calling thread.
#[napi]
pub fn rom_patch_sync(
    env: &Env,
    handle: u32,
    dest: String,
    edits: Vec<RomEdit>,
) -> napi::Result<PatchResult> {
    rom_sync(env, || {
        let edits = edits_of(&edits)?;
        Ok::<_, Failure>(run(handle, &dest, &edits, &Control::default())?)
    })
}

/// Writes `bytes` as the file `path` atomically: a temp file in the same folder, fsync, rename,
/// folder fsync; on failure `path` is untouched and no temp file is left.
#[napi]
pub fn write_file_atomic(env: &Env, path: String, bytes: &[u8]) -> napi::Result<()> {
    rom_sync(env, || {
        rom::write_atomic(Path::new(&path), bytes, &Control::default())?;
        Ok::<_, Failure>(())
    })
}
