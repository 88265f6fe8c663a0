//! `rom.scan`: HAL blocks that decode to tile-like data, found by strict decoding at every grid
//! offset (docs/rom.md, "Scanner").

use modforge_core::Control;
use modforge_rom as rom;
use napi::Env;
use napi::bindgen_prelude::PromiseRaw;
use napi_derive::napi;

use super::{Failure, offset_arg, rom_of, rom_sync, threads_option};
use crate::runtime::convert::integer_option;
use crate::runtime::{Call, CancelFlag, NodeError, ProgressCallback, promise};

/// Options of `rom.scan`; every field optional.
#[napi(object)]
#[derive(Default)]
pub struct ScanOptions {
    /// First offset; default 0.
    pub start: Option<f64>,
    /// End offset (exclusive); default the ROM's size.
    pub end: Option<f64>,
    /// Distance between candidate offsets, at least 1; default 1.
    pub step: Option<f64>,
    /// Strict HAL decoding; default true.
    pub strict: Option<bool>,
    /// Smallest decoded size in 32-byte tiles; default 4.
    pub min_tiles: Option<f64>,
    /// Smallest score accepted, 0-1; default 0.75.
    pub min_score: Option<f64>,
    /// Worker threads, 1-256; default: one per core.
    pub threads: Option<f64>,
}

impl ScanOptions {
    fn resolve(self) -> Result<rom::ScanOptions, NodeError> {
        let defaults = rom::ScanOptions::default();
        let min_score = match self.min_score {
            Some(s) if !(0.0..=1.0).contains(&s) => {
                return Err(NodeError::InvalidArg(format!(
                    "option `minScore` must be a number from 0 to 1, got {s}"
                )));
            }
            Some(s) => s,
            None => defaults.min_score,
        };
        Ok(rom::ScanOptions {
            start: self
                .start
                .map(|s| offset_arg("start", s))
                .transpose()?
                .unwrap_or(0),
            end: self.end.map(|e| offset_arg("end", e)).transpose()?,
            step: integer_option("step", self.step, 1, 1 << 32)?.unwrap_or(1),
            strict: self.strict.unwrap_or(defaults.strict),
            min_tiles: integer_option("minTiles", self.min_tiles, 0, 2048)?
                .map_or(defaults.min_tiles, |t| t as u32),
            min_score,
            threads: threads_option(self.threads)?,
            chunk: defaults.chunk,
        })
    }
}

/// A block the scanner found.
#[napi(object, object_from_js = false)]
pub struct ScanHit {
    /// ROM offset of the stream.
    pub offset: f64,
    /// Decoded size in bytes.
    pub size: u32,
    /// Stream bytes including `FF`.
    pub consumed: u32,
    /// Score in [0, 1] (docs/rom.md, "Scanner score").
    pub score: f64,
}

fn run(
    handle: u32,
    options: &rom::ScanOptions,
    control: &Control<'_>,
) -> Result<Vec<ScanHit>, NodeError> {
    Ok(rom_of(handle)?
        .scan(options, control)?
        .into_iter()
        .map(|h| ScanHit {
            offset: h.offset as f64,
            size: h.size as u32,
            consumed: h.consumed as u32,
            score: h.score,
        })
        .collect())
}

/// Scans ROM `handle` off the main thread; hits sorted by offset, identical for every thread
/// count. Progress: stage `scan`, `done`/`total` = bytes of the range scanned.
#[napi(ts_return_type = "Promise<ScanHit[]>")]
pub fn rom_scan<'env>(
    env: &'env Env,
    handle: u32,
    options: Option<ScanOptions>,
    cancel: Option<&CancelFlag>,
    #[napi(ts_arg_type = "(event: ProgressEvent) => void")] on_progress: Option<ProgressCallback>,
) -> napi::Result<PromiseRaw<'env, Vec<ScanHit>>> {
    let options = options
        .unwrap_or_default()
        .resolve()
        .map_err(|err| err.into_napi(env))?;
    promise(
        env,
        "scan",
        Call::new(cancel, on_progress),
        move |control| run(handle, &options, control),
        |_env, hits| Ok(hits),
    )
}

/// [`rom_scan`] on the calling thread (the candidates are still evaluated in parallel).
#[napi]
pub fn rom_scan_sync(
    env: &Env,
    handle: u32,
    options: Option<ScanOptions>,
) -> napi::Result<Vec<ScanHit>> {
    rom_sync(env, || {
        let options = options.unwrap_or_default().resolve()?;
        Ok::<_, Failure>(run(handle, &options, &Control::default())?)
    })
}
