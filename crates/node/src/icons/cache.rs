//! `IconCache` by handle: open and build, the view path of `getIcon` (one native lookup, the
//! bytes read by JavaScript from a Buffer over the mapped generation), on-demand and async
//! lookups, rebuilds, serving and contact sheets (docs/icons.md, "Node API" and "Serving path").

use std::sync::atomic::AtomicU32;
use std::sync::{Arc, LazyLock};

use modforge_core::Control;
use modforge_icons as icons;
use napi::Env;
use napi::bindgen_prelude::{Buffer, BufferSlice, JsObjectValue, Object, PromiseRaw};
use napi_derive::napi;

use super::convert::{Discovery, Location, SkippedName, error_code, locations};
use super::options::{IconCacheOptions, SheetOptions, UpdateCallback};
use crate::runtime::{Call, CancelFlag, NodeError, ProgressCallback, Registry, promise, sync};
use crate::store::display;

/// Open icon caches by handle.
static CACHES: LazyLock<Registry<icons::IconCache>> = LazyLock::new(|| Registry::new("icon cache"));

/// `find` result: no icon of that name.
const MISSING: i32 = -1;
/// `find` result: the icon is held in memory (encoded on demand or repaired): ask for it by name.
const IN_MEMORY: i32 = -2;
/// `find` result: the served generation is not the caller's: fetch the view again.
const STALE: i32 = -3;

/// What JavaScript keeps of an open cache.
#[napi(object, object_from_js = false)]
pub struct CacheInfo {
    /// The handle for `iconCache*` calls.
    pub handle: u32,
    /// Size of one `entries` record in bytes.
    pub entry_length: u32,
}

/// A served icon (the copying path: icons held in memory, async lookups).
#[napi(object, object_from_js = false)]
pub struct Icon {
    /// The WebP bytes.
    pub data: Buffer,
    /// `image/webp`.
    pub mime: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The winning source's label.
    pub source: String,
}

impl From<icons::Icon> for Icon {
    fn from(icon: icons::Icon) -> Self {
        Icon {
            mime: icon.mime().to_owned(),
            data: Buffer::from(icon.data.to_vec()),
            width: icon.width,
            height: icon.height,
            source: icon.source.to_string(),
        }
    }
}

/// An icon that could not be built.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct IconFailure {
    /// The icon's name.
    pub name: String,
    /// The location it was read from, when one was chosen.
    pub location: Option<Location>,
    /// `ERR_MODFORGE_FORMAT`, `ERR_MODFORGE_LIMIT`, `ERR_MODFORGE_IO`, ...
    pub code: String,
    /// The message (names the file and the byte offset).
    pub message: String,
}

impl From<&icons::Failure> for IconFailure {
    fn from(failure: &icons::Failure) -> Self {
        IconFailure {
            name: failure.name.clone(),
            location: failure.location.as_ref().map(Location::from),
            code: error_code(failure.code),
            message: failure.message.clone(),
        }
    }
}

/// What a build did.
#[napi(object, object_from_js = false)]
pub struct BuildReport {
    /// Icons in the new generation.
    pub icons: f64,
    /// Icons decoded and encoded.
    pub encoded: f64,
    /// Icons whose bytes were copied from the previous generation.
    pub reused: f64,
    /// Damaged entries re-encoded.
    pub repaired: f64,
    /// Icons that could not be built.
    pub failed: Vec<IconFailure>,
    /// Names not indexed (too long, not ASCII).
    pub skipped_names: Vec<SkippedName>,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
    /// The generation number.
    pub generation: f64,
    /// Whether the generation was written to the cache folder.
    pub persisted: bool,
}

impl From<&icons::BuildReport> for BuildReport {
    fn from(report: &icons::BuildReport) -> Self {
        BuildReport {
            icons: report.icons as f64,
            encoded: report.encoded as f64,
            reused: report.reused as f64,
            repaired: report.repaired as f64,
            failed: report.failed.iter().map(IconFailure::from).collect(),
            skipped_names: report.skipped_names.iter().map(SkippedName::from).collect(),
            duration_ms: report.duration_ms,
            generation: report.generation as f64,
            persisted: report.persisted,
        }
    }
}

/// Counters and state of a cache.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct IconCacheStats {
    /// The generation served.
    pub generation: f64,
    /// Icons in it.
    pub icons: f64,
    /// Whether it is served from a memory map of its file.
    pub mapped: bool,
    /// Its file.
    pub path: Option<String>,
    /// Its size in bytes.
    pub bytes: f64,
    /// Bytes of WebP data in it.
    pub blob_bytes: f64,
    /// Icons served so far.
    pub served: f64,
    /// Damaged entries re-encoded so far.
    pub repaired: f64,
    /// Icons encoded on demand so far.
    pub on_demand: f64,
    /// Icons that could not be built.
    pub failed: Vec<IconFailure>,
    /// Warnings (unwritable cache folder, unreadable sources, ...).
    pub warnings: Vec<String>,
    /// `pending`, `validated`, `rebuilt`, `fresh`, `skipped` or `failed`.
    pub validation: String,
    /// Why validation failed, when it did.
    pub validation_error: Option<String>,
    /// Whether the cache lives in memory only.
    pub memory_only: bool,
    /// The last build of this process.
    pub last_build: Option<BuildReport>,
    /// Whether the open took its sources from the discovery stored with the generation it
    /// opened (docs/icons.md, "Discovery memo"): with every place that discovery consulted
    /// unchanged under `validate: 'none'`, else as stored, until validation discovers again.
    pub discovery_reused: bool,
}

impl From<icons::CacheStats> for IconCacheStats {
    fn from(stats: icons::CacheStats) -> Self {
        let (validation, validation_error) = match stats.validation {
            icons::ValidationState::Pending => ("pending", None),
            icons::ValidationState::Validated => ("validated", None),
            icons::ValidationState::Rebuilt => ("rebuilt", None),
            icons::ValidationState::Fresh => ("fresh", None),
            icons::ValidationState::Skipped => ("skipped", None),
            icons::ValidationState::Failed(why) => ("failed", Some(why)),
        };
        IconCacheStats {
            generation: stats.generation as f64,
            icons: stats.icons as f64,
            mapped: stats.mapped,
            path: stats.path.as_deref().map(display),
            bytes: stats.bytes as f64,
            blob_bytes: stats.blob_bytes as f64,
            served: stats.served as f64,
            repaired: stats.repaired as f64,
            on_demand: stats.on_demand as f64,
            failed: stats.failed.iter().map(IconFailure::from).collect(),
            warnings: stats.warnings,
            validation: validation.to_owned(),
            validation_error,
            memory_only: stats.memory_only,
            last_build: stats.last_build.as_ref().map(BuildReport::from),
            discovery_reused: stats.discovery_reused,
        }
    }
}

fn open(
    options: icons::IconCacheOptions,
    control: &Control<'_>,
) -> Result<icons::IconCache, NodeError> {
    Ok(icons::IconCache::open(options, control)?)
}

fn register(env: &Env, cache: icons::IconCache) -> CacheInfo {
    let bytes = cache.heap_bytes();
    CacheInfo {
        handle: CACHES.insert(env, Arc::new(cache), bytes),
        entry_length: icons::ENTRY_LEN as u32,
    }
}

/// Opens the newest valid generation in the cache folder or builds one, off the main thread.
/// Progress: `index` (sources), `plan` (icons), `encode` (icons), `write` (bytes).
#[napi(ts_return_type = "Promise<CacheInfo>")]
pub fn icon_cache_open<'env>(
    env: &'env Env,
    options: IconCacheOptions,
    cancel: Option<&CancelFlag>,
    #[napi(ts_arg_type = "(event: ProgressEvent) => void")] on_progress: Option<ProgressCallback>,
    #[napi(ts_arg_type = "(event: UpdateEvent) => void")] on_update: Option<UpdateCallback>,
) -> napi::Result<PromiseRaw<'env, CacheInfo>> {
    let options = sync(env, |_control| options.resolve(on_update))?;
    promise(
        env,
        "icons",
        Call::new(cancel, on_progress),
        move |control| open(options, control),
        |env, cache| Ok(register(env, cache)),
    )
}

/// [`icon_cache_open`] on the calling thread.
#[napi]
pub fn icon_cache_open_sync(
    env: &Env,
    options: IconCacheOptions,
    #[napi(ts_arg_type = "(event: UpdateEvent) => void")] on_update: Option<UpdateCallback>,
) -> napi::Result<CacheInfo> {
    let cache = sync(env, |control| open(options.resolve(on_update)?, control))?;
    Ok(register(env, cache))
}

/// Stops background validation and releases cache `handle`; Buffers already handed out keep
/// their generation mapped until they are collected. Closing twice is harmless.
#[napi]
pub fn icon_cache_close(env: &Env, handle: u32) {
    if let Ok(cache) = CACHES.get(handle) {
        cache.close();
    }
    CACHES.remove(env, handle);
}

/// The served generation as JavaScript reads it: a Buffer over its `entries` section (a view of
/// the private mapping; a copy when the cache lives in memory or the runtime refuses external
/// buffers), the byte length of `blobs`, the length of the blob windows [`icon_cache_blobs`]
/// hands out, the source labels and the swap count it was taken at:
/// `{generation, epoch, entries, blobsLength, window, labels}`. With `epochCell`, also the cache's swap
/// counter as a 4-byte Buffer (a native-endian `u32`; see `IconCache::epoch_cell`) and whether
/// it is `live`: an external view the cache keeps current, not a copy made because the runtime
/// refuses external buffers. Blob bytes come in windows from [`icon_cache_blobs`].
#[napi(
    ts_return_type = "{ generation: number; epoch: number; entries: Buffer; blobsLength: number; window: number; labels: string[]; cell?: Buffer; live?: boolean }"
)]
pub fn icon_cache_view<'env>(
    env: &'env Env,
    handle: u32,
    epoch_cell: bool,
) -> napi::Result<Object<'env>> {
    let (view, cell) = sync(env, |_control| {
        let cache = CACHES.get(handle)?;
        Ok((cache.view(), epoch_cell.then(|| cache.epoch_cell())))
    })?;
    let mut object = Object::new(env)?;
    object.set_named_property("generation", view.generation() as f64)?;
    object.set_named_property("epoch", view.epoch())?;
    object.set_named_property("blobsLength", view.blobs().len() as f64)?;
    object.set_named_property("window", icons::BLOB_WINDOW as f64)?;
    let mut labels = Vec::new();
    let mut id = 0u16;
    while let Some(label) = view.source_label(id) {
        labels.push(label.to_owned());
        id = match id.checked_add(1) {
            Some(next) => next,
            None => break,
        };
    }
    object.set_named_property("labels", labels)?;
    if let Some(cell) = cell {
        let buffer = epoch_buffer(env, cell)?;
        object.set_named_property("live", buffer.1)?;
        object.set_named_property("cell", buffer.0)?;
    }
    let entries = view.entries_range();
    object.set_named_property("entries", view_buffer(env, view, entries)?)?;
    Ok(object)
}

/// The bytes `start..end` of the `blobs` section of generation `generation` (offsets relative
/// to `blobs`), in a Buffer that may extend past `end` so that neighbouring icons share it
/// (`CacheView::blob_window`); `null` when `generation` is no longer the served one (fetch the
/// view again). Bytes are served only after `iconCacheFind` checked their entry.
#[napi]
pub fn icon_cache_blobs<'env>(
    env: &'env Env,
    handle: u32,
    generation: f64,
    start: f64,
    end: f64,
) -> napi::Result<Option<BufferSlice<'env>>> {
    let window = sync(env, |_control| {
        let view = CACHES.get(handle)?.view();
        if view.generation() as f64 != generation {
            return Ok(None);
        }
        match view.blob_window(start as u64, end as u64) {
            Some(window) => Ok(Some((view, window))),
            None => Err(NodeError::InvalidArg(format!(
                "blob range {start}..{end} is outside the {} bytes of generation {generation}",
                view.blobs().len()
            ))),
        }
    })?;
    window
        .map(|(view, window)| view_buffer(env, view, window))
        .transpose()
}

/// A Buffer over `range` of the payload of `view`: external over a private mapping (kept alive
/// by the Buffer's finalizer), else a copy.
fn view_buffer(
    env: &Env,
    view: icons::CacheView,
    range: std::ops::Range<usize>,
) -> napi::Result<BufferSlice<'_>> {
    let Some(bytes) = view.payload().get(range) else {
        return Err(NodeError::Internal("a view range outside the payload".into()).into_napi(env));
    };
    if !view.is_mapped() || bytes.is_empty() {
        return BufferSlice::copy_from(env, bytes);
    }
    let (data, len) = (bytes.as_ptr().cast_mut(), bytes.len());
    #[allow(unsafe_code)]
    // SAFETY: `data` points at `len` bytes of a private, writable (MAP_PRIVATE, copy-on-write)
    // mapping owned by the generation in `view`; the view is moved into the finalizer, so the
    // mapping outlives the Buffer. A JavaScript write lands in this process's copy of the page,
    // never in the file, and cannot fault; every entry the native side serves is bounds-checked
    // and hash-checked before use (docs/icons.md, "Serving path"). Where the runtime refuses
    // external buffers, napi-rs copies the bytes and runs the finalizer at once.
    unsafe {
        BufferSlice::from_external(env, data, len, view, |_env, view| drop(view))
    }
}

/// The swap counter `cell` as an external 4-byte Buffer, and whether it is one (`false`: the
/// runtime refused external buffers and napi-rs copied the count).
fn epoch_buffer(env: &Env, cell: Arc<AtomicU32>) -> napi::Result<(BufferSlice<'_>, bool)> {
    let data = Arc::as_ptr(&cell).cast::<u8>().cast_mut();
    #[allow(unsafe_code)]
    // SAFETY: `data` points at the 4 bytes of an `AtomicU32` (same layout as `u32`) owned by the
    // `Arc` moved into the finalizer, so the memory outlives the Buffer. The cache only stores
    // into it atomically; JavaScript only reads it (the Buffer stays private to the IconCache
    // class), and an aligned 4-byte read observes either the old or the new count.
    let buffer = unsafe {
        BufferSlice::from_external(env, data, std::mem::size_of::<u32>(), cell, |_env, cell| {
            drop(cell)
        })
    }?;
    let live = std::ptr::eq(buffer.as_ptr(), data);
    Ok((buffer, live))
}

/// Looks `name` up in the served generation: the entry index, or `-1` (no such icon), `-2`
/// (held in memory: call `iconCacheGetIcon`), `-3` (the served generation is not `generation`:
/// fetch the view again). Checks the entry (bounds, record check, first-serve hash) first.
#[napi]
pub fn icon_cache_find(env: &Env, handle: u32, generation: f64, name: String) -> napi::Result<i32> {
    sync(env, |_control| {
        let cache = CACHES.get(handle)?;
        Ok(match cache.find(&name) {
            icons::Lookup::Mapped {
                generation: served,
                index,
            } if served as f64 == generation => i32::try_from(index).unwrap_or(STALE),
            icons::Lookup::Mapped { .. } => STALE,
            icons::Lookup::Memory => IN_MEMORY,
            icons::Lookup::Missing => MISSING,
        })
    })
}

/// The icon `name` as a copy (icons held in memory, or any icon), or `null`. Encodes on demand
/// an image outside the icon set, on the calling thread.
#[napi]
pub fn icon_cache_get_icon(env: &Env, handle: u32, name: String) -> napi::Result<Option<Icon>> {
    sync(env, |_control| {
        Ok(CACHES.get(handle)?.get_icon(&name).map(Icon::from))
    })
}

/// [`icon_cache_get_icon`] for several names off the main thread (on-demand encodes included).
#[napi(ts_return_type = "Promise<(Icon | null)[]>")]
pub fn icon_cache_get_icons_async<'env>(
    env: &'env Env,
    handle: u32,
    names: Vec<String>,
) -> napi::Result<PromiseRaw<'env, Vec<Option<Icon>>>> {
    promise(
        env,
        "icons",
        Call::new(None, None),
        move |_control| Ok(CACHES.get(handle)?.get_icons(names.as_slice())),
        |_env, found| Ok(found.into_iter().map(|icon| icon.map(Icon::from)).collect()),
    )
}

/// Whether an icon of that name is cached (nothing is encoded).
#[napi]
pub fn icon_cache_has(env: &Env, handle: u32, name: String) -> napi::Result<bool> {
    sync(env, |_control| Ok(CACHES.get(handle)?.has(&name)))
}

/// The cached icon names, sorted.
#[napi]
pub fn icon_cache_names(env: &Env, handle: u32) -> napi::Result<Vec<String>> {
    sync(env, |_control| Ok(CACHES.get(handle)?.names()))
}

/// Every location of `name` in the sources, winner first (builds the resource index on first use).
#[napi]
pub fn icon_cache_where_is(env: &Env, handle: u32, name: String) -> napi::Result<Vec<Location>> {
    sync(env, |_control| {
        Ok(locations(&CACHES.get(handle)?.where_is(&name)?))
    })
}

/// The versioned URL of an icon under `prefix`, or `null`.
#[napi]
pub fn icon_cache_icon_url(
    env: &Env,
    handle: u32,
    name: String,
    prefix: String,
) -> napi::Result<Option<String>> {
    sync(env, |_control| {
        Ok(CACHES.get(handle)?.icon_url(&name, &prefix))
    })
}

/// The discovery the sources came from, when they were discovered.
#[napi]
pub fn icon_cache_discovery(env: &Env, handle: u32) -> napi::Result<Option<Discovery>> {
    sync(env, |_control| {
        Ok(CACHES
            .get(handle)?
            .discovery()
            .as_ref()
            .map(Discovery::from))
    })
}

/// Re-resolves and re-indexes the sources and builds a new generation (only changed icons are
/// re-encoded unless `force`), off the main thread. Progress as for open.
#[napi(ts_return_type = "Promise<BuildReport>")]
pub fn icon_cache_rebuild<'env>(
    env: &'env Env,
    handle: u32,
    force: bool,
    cancel: Option<&CancelFlag>,
    #[napi(ts_arg_type = "(event: ProgressEvent) => void")] on_progress: Option<ProgressCallback>,
) -> napi::Result<PromiseRaw<'env, BuildReport>> {
    promise(
        env,
        "icons",
        Call::new(cancel, on_progress),
        move |control| {
            let cache = CACHES.get(handle)?;
            Ok(cache.rebuild(icons::RebuildOptions { force }, control)?)
        },
        |_env, report| Ok(BuildReport::from(&report)),
    )
}

/// Writes icons encoded on demand into a new generation, off the main thread.
#[napi(ts_return_type = "Promise<BuildReport>")]
pub fn icon_cache_persist<'env>(
    env: &'env Env,
    handle: u32,
) -> napi::Result<PromiseRaw<'env, BuildReport>> {
    promise(
        env,
        "icons",
        Call::new(None, None),
        move |control| Ok(CACHES.get(handle)?.persist(control)?),
        |_env, report| Ok(BuildReport::from(&report)),
    )
}

/// Counters and state of cache `handle`.
#[napi]
pub fn icon_cache_stats(env: &Env, handle: u32) -> napi::Result<IconCacheStats> {
    sync(env, |_control| Ok(CACHES.get(handle)?.stats().into()))
}

/// Starts the background validation of cache `handle` if it waits to be started; a closed or
/// unknown handle is left alone (this runs from a microtask nobody could catch an error of).
#[napi]
pub fn icon_cache_start_validation(env: &Env, handle: u32) -> napi::Result<()> {
    sync(env, |_control| {
        if let Ok(cache) = CACHES.get(handle) {
            cache.start_validation();
        }
        Ok(())
    })
}

/// Waits until background validation (and a rebuild it started) has ended, off the main thread.
#[napi(ts_return_type = "Promise<void>")]
pub fn icon_cache_idle<'env>(env: &'env Env, handle: u32) -> napi::Result<PromiseRaw<'env, ()>> {
    promise(
        env,
        "icons",
        Call::new(None, None),
        move |_control| {
            CACHES.get(handle)?.wait_idle();
            Ok(())
        },
        |_env, ()| Ok(()),
    )
}

/// An HTTP response for one icon request.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct IconResponse {
    /// 200, 304, 400, 404 or 405.
    pub status: u32,
    /// Header names and values, in order.
    pub headers: Vec<Vec<String>>,
    /// The icon bytes (`GET` 200 only).
    pub body: Option<Buffer>,
}

/// Answers a request for `url` (path and query) under `prefix`: 400 for a bad name, 405 for a
/// method other than GET/HEAD, 404 for an unknown icon, 304 when `ifNoneMatch` matches the ETag.
#[napi]
pub fn icon_cache_respond(
    env: &Env,
    handle: u32,
    method: String,
    url: String,
    prefix: String,
    if_none_match: Option<String>,
) -> napi::Result<IconResponse> {
    sync(env, |_control| {
        let cache = CACHES.get(handle)?;
        let response = icons::respond(&cache, &method, &url, &prefix, if_none_match.as_deref());
        Ok(IconResponse {
            status: u32::from(response.status),
            headers: response
                .headers
                .iter()
                .map(|(name, value)| vec![(*name).to_owned(), value.clone()])
                .collect(),
            body: response.body.map(|bytes| Buffer::from(bytes.to_vec())),
        })
    })
}

/// Where one icon was drawn on a sheet.
#[napi(object, object_from_js = false)]
pub struct SheetCell {
    /// The icon's name.
    pub name: String,
    /// Left edge of the drawn icon.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Drawn width.
    pub w: u32,
    /// Drawn height.
    pub h: u32,
}

/// A rendered contact sheet.
#[napi(object, object_from_js = false)]
pub struct Sheet {
    /// The encoded image.
    pub data: Buffer,
    /// `image/png` or `image/webp`.
    pub mime: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Icons drawn, in order (names without an icon are left out).
    pub cells: Vec<SheetCell>,
}

/// Renders a contact sheet off the main thread.
#[napi(ts_return_type = "Promise<Sheet>")]
pub fn icon_cache_contact_sheet<'env>(
    env: &'env Env,
    handle: u32,
    options: Option<SheetOptions>,
) -> napi::Result<PromiseRaw<'env, Sheet>> {
    let options = sync(env, |_control| match options {
        Some(options) => options.resolve(),
        None => Ok(icons::SheetOptions::default()),
    })?;
    promise(
        env,
        "icons",
        Call::new(None, None),
        move |_control| Ok(CACHES.get(handle)?.contact_sheet(&options)?),
        |_env, sheet| {
            Ok(Sheet {
                mime: sheet.mime.to_owned(),
                width: sheet.width,
                height: sheet.height,
                cells: sheet
                    .cells
                    .into_iter()
                    .map(|c| SheetCell {
                        name: c.name,
                        x: c.x,
                        y: c.y,
                        w: c.w,
                        h: c.h,
                    })
                    .collect(),
                data: Buffer::from(sheet.data),
            })
        },
    )
}
