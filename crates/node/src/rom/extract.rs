//! `rom.extract`: HAL blocks at many offsets decoded in parallel over the one image
//! (docs/rom.md, "Extraction").

use modforge_core::Control;
use modforge_rom as rom;
use napi::Env;
use napi::bindgen_prelude::{Buffer, PromiseRaw};
use napi_derive::napi;

use super::{Failure, RomItemError, offset_arg, rom_of, rom_sync, threads_option};
use crate::runtime::{Call, CancelFlag, NodeError, ProgressCallback, promise};

/// Options of `rom.extract`.
#[napi(object)]
#[derive(Default)]
pub struct ExtractOptions {
    /// Strict HAL decoding (refuses `FC`-`FE` and references to unwritten output); default false.
    pub strict: Option<bool>,
    /// Worker threads, 1-256; default: one per core.
    pub threads: Option<f64>,
}

/// One offset's result.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct ExtractedBlock {
    /// The requested ROM offset.
    pub offset: f64,
    /// The decoded block, or `null` when it failed.
    pub data: Option<Buffer>,
    /// Why it failed, or `null`.
    pub error: Option<RomItemError>,
    /// Stream bytes read, `FF` included (0 when it failed).
    pub consumed: u32,
    /// Commands by raw number (0-7), or `null` when it failed.
    pub command_counts: Option<Vec<u32>>,
    /// Decode time of this offset on the worker's monotonic clock, in milliseconds (0 when served
    /// from the memory cache or when it failed).
    pub time_ms: f64,
}

fn convert(found: Vec<rom::Extracted>) -> Vec<ExtractedBlock> {
    found
        .into_iter()
        .map(|e| match e.result {
            Ok(decoded) => ExtractedBlock {
                offset: e.offset as f64,
                data: Some(decoded.data.clone().into()),
                error: None,
                consumed: decoded.consumed as u32,
                command_counts: Some(decoded.command_counts.to_vec()),
                time_ms: e.time_ns as f64 / 1e6,
            },
            Err(err) => ExtractedBlock {
                offset: e.offset as f64,
                data: None,
                error: Some(RomItemError::new(&err, e.offset)),
                consumed: 0,
                command_counts: None,
                time_ms: 0.0,
            },
        })
        .collect()
}

fn prepare(
    offsets: &[f64],
    options: Option<ExtractOptions>,
) -> Result<(Vec<u64>, rom::ExtractOptions), NodeError> {
    let options = options.unwrap_or_default();
    let offsets = offsets
        .iter()
        .map(|&o| offset_arg("offsets[]", o))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((
        offsets,
        rom::ExtractOptions {
            strict: options.strict.unwrap_or(false),
            threads: threads_option(options.threads)?,
        },
    ))
}

fn run(
    handle: u32,
    offsets: &[u64],
    options: &rom::ExtractOptions,
    control: &Control<'_>,
) -> Result<Vec<rom::Extracted>, NodeError> {
    Ok(rom_of(handle)?.extract(offsets, options, control)?)
}

/// Decodes the HAL blocks at `offsets` of ROM `handle` in parallel, off the main thread. Results
/// keep the input order; each failure is that offset's `error`, never a rejected batch.
/// Progress: stage `extract`, `done`/`total` = distinct offsets decoded.
#[napi(ts_return_type = "Promise<ExtractedBlock[]>")]
pub fn rom_extract<'env>(
    env: &'env Env,
    handle: u32,
    offsets: Vec<f64>,
    options: Option<ExtractOptions>,
    cancel: Option<&CancelFlag>,
    #[napi(ts_arg_type = "(event: ProgressEvent) => void")] on_progress: Option<ProgressCallback>,
) -> napi::Result<PromiseRaw<'env, Vec<ExtractedBlock>>> {
    let (offsets, options) = prepare(&offsets, options).map_err(|err| err.into_napi(env))?;
    promise(
        env,
        "extract",
        Call::new(cancel, on_progress),
        move |control| run(handle, &offsets, &options, control),
        |_env, found| Ok(convert(found)),
    )
}

/// [`rom_extract`] on the calling thread (the decoding itself still runs in parallel).
#[napi]
pub fn rom_extract_sync(
    env: &Env,
    handle: u32,
    offsets: Vec<f64>,
    options: Option<ExtractOptions>,
) -> napi::Result<Vec<ExtractedBlock>> {
    rom_sync(env, || {
        let (offsets, options) = prepare(&offsets, options)?;
        let found = run(handle, &offsets, &options, &Control::default())?;
        Ok::<_, Failure>(convert(found))
    })
}
