//! `rom.thumbnail` and `rom.thumbnails`: decode → tiles → palette → scale → PNG, WebP or RGBA,
//! through the ROM's priority queue and caches (docs/rom.md, "Thumbnails").
//!
//! A single thumbnail is a request in the queue, run by rayon's pool in priority order: no
//! thread waits for it. Its Promise is settled by whoever ends the request: the pool when the job
//! ran, or [`rom_thumbnail_withdraw`] when JavaScript aborted it (a pending job nobody else waits
//! for is then dropped without running).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use modforge_core::Control;
use modforge_rom as rom;
use napi::bindgen_prelude::{Buffer, JsObjectValue, Object, PromiseRaw};
use napi::{Env, JsDeferred};
use napi_derive::napi;

use super::gfx::{PaletteSpec, TileFormatName};
use super::{Failure, RomItemError, offset_arg, rom_of, rom_sync};
use crate::runtime::convert::integer_option;
use crate::runtime::{Call, CancelFlag, NodeError, ProgressCallback, promise};

/// The encoding of a thumbnail.
#[napi(string_enum = "lowercase")]
pub enum ImageFormatName {
    /// 8-bit indexed PNG with PLTE and tRNS (the default).
    Png,
    /// Lossless WebP (VP8L), RGBA.
    Webp,
    /// Raw RGBA, row-major.
    Rgba,
}

impl From<ImageFormatName> for rom::ImageFormat {
    fn from(format: ImageFormatName) -> Self {
        match format {
            ImageFormatName::Png => rom::ImageFormat::Png,
            ImageFormatName::Webp => rom::ImageFormat::Webp,
            ImageFormatName::Rgba => rom::ImageFormat::Rgba,
        }
    }
}

impl From<rom::ImageFormat> for ImageFormatName {
    fn from(format: rom::ImageFormat) -> Self {
        match format {
            rom::ImageFormat::Png => ImageFormatName::Png,
            rom::ImageFormat::Webp => ImageFormatName::Webp,
            rom::ImageFormat::Rgba => ImageFormatName::Rgba,
        }
    }
}

/// How a thumbnail is made; every field optional.
#[napi(object)]
#[derive(Default)]
pub struct ThumbnailOptions {
    /// Box width in pixels, 1-4096; default 128.
    pub box_width: Option<f64>,
    /// Box height in pixels, 1-4096; default 128.
    pub box_height: Option<f64>,
    /// Output encoding; default `png`.
    pub format: Option<ImageFormatName>,
    /// How the decoded bytes are read as tiles; default `4bpp`.
    pub tile_format: Option<TileFormatName>,
    /// Tiles per sheet row, 1-256; default 16.
    pub columns: Option<f64>,
    /// Colours; default greyscale.
    pub palette: Option<PaletteSpec>,
    /// Colour 0 as `(0, 0, 0, 0)`; default true.
    pub transparent: Option<bool>,
    /// Strict HAL decoding; default false.
    pub strict: Option<bool>,
    /// Queue priority: lower runs first; default 0.
    pub priority: Option<f64>,
}

impl ThumbnailOptions {
    fn resolve(self) -> Result<rom::ThumbnailOptions, NodeError> {
        let defaults = rom::ThumbnailOptions::default();
        let side = |name: &str, v: Option<f64>, default: u32| {
            integer_option(name, v, 1, u64::from(rom::MAX_BOX))
                .map(|s| s.map_or(default, |s| s as u32))
        };
        let tile_format: rom::gfx::TileFormat =
            self.tile_format.map_or(defaults.tile_format, Into::into);
        let priority = match self.priority {
            None => 0,
            Some(p) if p.fract() == 0.0 && p >= f64::from(i32::MIN) && p <= f64::from(i32::MAX) => {
                p as i32
            }
            Some(p) => {
                return Err(NodeError::InvalidArg(format!(
                    "option `priority` must be a 32-bit integer, got {p}"
                )));
            }
        };
        Ok(rom::ThumbnailOptions {
            box_width: side("boxWidth", self.box_width, defaults.box_width)?,
            box_height: side("boxHeight", self.box_height, defaults.box_height)?,
            format: self.format.map_or(defaults.format, Into::into),
            tile_format,
            columns: integer_option("columns", self.columns, 1, u64::from(rom::gfx::MAX_COLUMNS))?
                .map_or(defaults.columns, |c| c as u32),
            palette: match &self.palette {
                Some(spec) => spec.source(tile_format)?,
                None => defaults.palette,
            },
            transparent: self.transparent.unwrap_or(defaults.transparent),
            strict: self.strict.unwrap_or(defaults.strict),
            priority,
        })
    }
}

/// A rendered thumbnail.
#[napi(object, object_from_js = false)]
pub struct Thumbnail {
    /// The encoded image (PNG, WebP or raw RGBA).
    pub image: Buffer,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Tiles in the decoded block.
    pub tiles: u32,
    /// True when the block ended inside a tile.
    pub partial_tile: bool,
    /// The encoding of `image`.
    pub format: ImageFormatName,
}

fn thumbnail_of(t: &rom::Thumbnail) -> Thumbnail {
    Thumbnail {
        image: t.image.clone().into(),
        width: t.width,
        height: t.height,
        tiles: t.tiles,
        partial_tile: t.partial_tile,
        format: t.format.into(),
    }
}

type Resolver = Box<dyn FnOnce(Env) -> napi::Result<Thumbnail> + Send>;
type Deferred = JsDeferred<Thumbnail, Resolver>;

/// The Promise of one request, settled exactly once by whoever takes it first.
#[derive(Default)]
struct Settlement {
    deferred: Mutex<Option<Deferred>>,
    /// Set once the request is queued: from then on a request dropped without an answer is a bug
    /// reported to JavaScript rather than a Promise that never settles.
    armed: AtomicBool,
}

impl Settlement {
    fn take(&self) -> Option<Deferred> {
        self.deferred
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take()
    }

    fn settle(&self, resolver: Resolver) {
        if let Some(deferred) = self.take() {
            deferred.resolve(resolver);
        }
    }
}

/// The delivery end of a queued request: settles the Promise when called, and rejects it when the
/// queue drops the request without calling it.
struct Answer {
    request: u64,
    settlement: Arc<Settlement>,
}

impl Answer {
    fn deliver(self, result: Result<Arc<rom::Thumbnail>, rom::Error>) {
        pending().remove(&self.request);
        self.settlement.settle(Box::new(move |env| match result {
            Ok(t) => Ok(thumbnail_of(&t)),
            Err(err) => Err(Failure::Rom(err).into_napi(&env)),
        }));
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        if self.settlement.armed.load(Ordering::Acquire) {
            pending().remove(&self.request);
            self.settlement.settle(Box::new(|env| {
                Err(
                    NodeError::Internal("the thumbnail request was dropped unanswered".into())
                        .into_napi(&env),
                )
            }));
        }
    }
}

/// A queued request, for withdrawing it.
struct Pending {
    rom: Arc<rom::RomFile>,
    ticket: rom::Ticket,
    settlement: Arc<Settlement>,
}

static PENDING: LazyLock<Mutex<HashMap<u64, Pending>>> = LazyLock::new(Mutex::default);
static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

fn pending() -> MutexGuard<'static, HashMap<u64, Pending>> {
    PENDING.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// Queues a thumbnail of the HAL block at `offset` of ROM `handle` and returns
/// `{ request, promise }`: `promise` settles with the thumbnail once the pool ran the job (lower
/// `priority` first, identical requests share one job); `request` identifies it for
/// `romThumbnailWithdraw`.
#[napi(ts_return_type = "{ request: number; promise: Promise<Thumbnail> }")]
pub fn rom_thumbnail<'env>(
    env: &'env Env,
    handle: u32,
    offset: f64,
    options: Option<ThumbnailOptions>,
) -> napi::Result<Object<'env>> {
    let (deferred, promise) = env.create_deferred::<Thumbnail, Resolver>()?;
    let settlement = Arc::new(Settlement {
        deferred: Mutex::new(Some(deferred)),
        armed: AtomicBool::new(false),
    });
    let request = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
    let queued = (|| -> Result<(), Failure> {
        let file = rom_of(handle)?;
        let offset = offset_arg("offset", offset)?;
        let options = options.unwrap_or_default().resolve()?;
        let answer = Answer {
            request,
            settlement: Arc::clone(&settlement),
        };
        // Held while queueing, so a withdrawal cannot look for the request before it is listed.
        let mut listed = pending();
        let ticket =
            file.submit_thumbnail(offset, &options, move |result| answer.deliver(result))?;
        settlement.armed.store(true, Ordering::Release);
        if settlement
            .deferred
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
        {
            listed.insert(
                request,
                Pending {
                    rom: file,
                    ticket,
                    settlement: Arc::clone(&settlement),
                },
            );
        }
        Ok(())
    })();
    if let Err(failure) = queued {
        settlement.settle(Box::new(move |env| Err(failure.into_napi(&env))));
    }
    let mut result = Object::new(env)?;
    result.set_named_property("request", request as f64)?;
    result.set_named_property("promise", promise)?;
    Ok(result)
}

/// Withdraws a queued thumbnail request: its Promise rejects with `ABORT_ERR`, and a job nobody
/// else waits for is dropped (pending) or stops at its next stage (running). Returns whether
/// the request was still open.
#[napi]
pub fn rom_thumbnail_withdraw(request: f64) -> bool {
    let Some(found) = pending().remove(&(request as u64)) else {
        return false;
    };
    // Taken before withdrawing: the dropped delivery end then finds nothing to settle.
    let deferred = found.settlement.take();
    found.rom.withdraw_thumbnail(found.ticket);
    match deferred {
        Some(deferred) => {
            deferred.resolve(Box::new(|env| Err(NodeError::Aborted.into_napi(&env))));
            true
        }
        None => false,
    }
}

/// Renders one thumbnail on the calling thread (it runs queued jobs, best first, while it waits).
#[napi]
pub fn rom_thumbnail_sync(
    env: &Env,
    handle: u32,
    offset: f64,
    options: Option<ThumbnailOptions>,
) -> napi::Result<Thumbnail> {
    rom_sync(env, || {
        let offset = offset_arg("offset", offset)?;
        let options = options.unwrap_or_default().resolve()?;
        let thumb = rom_of(handle)?.thumbnail(offset, &options, &Control::default())?;
        Ok::<_, Failure>(thumbnail_of(&thumb))
    })
}

/// One request of `rom.thumbnails`.
#[napi(object)]
pub struct ThumbnailRequest {
    /// ROM offset of the HAL stream.
    pub offset: f64,
    /// How to render it.
    pub options: Option<ThumbnailOptions>,
}

/// One result of `rom.thumbnails`: the thumbnail or the error of that request.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct ThumbnailOutcome {
    /// The requested offset.
    pub offset: f64,
    /// The thumbnail, or `null` when it failed.
    pub thumbnail: Option<Thumbnail>,
    /// Why it failed, or `null`.
    pub error: Option<RomItemError>,
}

fn requests_of(requests: Vec<ThumbnailRequest>) -> Result<Vec<rom::ThumbnailRequest>, NodeError> {
    requests
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            Ok(rom::ThumbnailRequest {
                offset: offset_arg(&format!("requests[{i}].offset"), r.offset)?,
                options: r.options.unwrap_or_default().resolve()?,
            })
        })
        .collect()
}

fn outcomes(
    requests: &[rom::ThumbnailRequest],
    results: Vec<Result<Arc<rom::Thumbnail>, rom::Error>>,
) -> Vec<ThumbnailOutcome> {
    requests
        .iter()
        .zip(results)
        .map(|(r, result)| match result {
            Ok(t) => ThumbnailOutcome {
                offset: r.offset as f64,
                thumbnail: Some(thumbnail_of(&t)),
                error: None,
            },
            Err(err) => ThumbnailOutcome {
                offset: r.offset as f64,
                thumbnail: None,
                error: Some(RomItemError::new(&err, r.offset)),
            },
        })
        .collect()
}

/// Renders many thumbnails in parallel off the main thread, results in request order, each its
/// own success or error (every request is queued first, so the batch runs in priority order).
/// Progress: stage `thumbnail`, `done`/`total` = thumbnails.
#[napi(ts_return_type = "Promise<ThumbnailOutcome[]>")]
pub fn rom_thumbnails<'env>(
    env: &'env Env,
    handle: u32,
    requests: Vec<ThumbnailRequest>,
    cancel: Option<&CancelFlag>,
    #[napi(ts_arg_type = "(event: ProgressEvent) => void")] on_progress: Option<ProgressCallback>,
) -> napi::Result<PromiseRaw<'env, Vec<ThumbnailOutcome>>> {
    let requests = requests_of(requests).map_err(|err| err.into_napi(env))?;
    promise(
        env,
        "thumbnail",
        Call::new(cancel, on_progress),
        move |control| {
            let results = rom_of(handle)?.thumbnails(&requests, control)?;
            Ok((requests, results))
        },
        |_env, (requests, results)| Ok(outcomes(&requests, results)),
    )
}

/// [`rom_thumbnails`] on the calling thread (the jobs still run in parallel).
#[napi]
pub fn rom_thumbnails_sync(
    env: &Env,
    handle: u32,
    requests: Vec<ThumbnailRequest>,
) -> napi::Result<Vec<ThumbnailOutcome>> {
    rom_sync(env, || {
        let requests = requests_of(requests)?;
        let results = rom_of(handle)?.thumbnails(&requests, &Control::default())?;
        Ok::<_, Failure>(outcomes(&requests, results))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_outside_32_bits_are_refused() {
        let options = ThumbnailOptions {
            priority: Some(1e12),
            ..ThumbnailOptions::default()
        };
        let err = options
            .resolve()
            .err()
            .map(|e| e.message())
            .unwrap_or_default();
        assert!(err.contains("`priority`"), "{err}");
        let ok = ThumbnailOptions {
            priority: Some(-3.0),
            box_width: Some(64.0),
            ..ThumbnailOptions::default()
        }
        .resolve()
        .map(|o| (o.priority, o.box_width, o.box_height));
        assert_eq!(ok.ok(), Some((-3, 64, 128)));
    }
}
