//! Thumbnails (docs/rom.md, "Thumbnails"): decode (through the caches) -> tiles -> palette ->
//! nearest-neighbour scale into a box -> PNG, WebP or RGBA; and the per-ROM priority queue that
//! orders, coalesces and cancels requests.
//!
//! The queue runs on its callers' threads: a caller enqueues its request, then runs the
//! highest-priority pending job (its own or another caller's) until its own result is ready.
//! Lower `priority` runs first, FIFO within a priority; identical requests share one job whose
//! priority is the minimum of its requesters'; a cancelled requester leaves, and a job nobody
//! waits for is dropped (pending) or abandoned at its next stage (running).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use modforge_core::{Control, Progress, Stage};
use rayon::prelude::*;
use xxhash_rust::xxh3::Xxh3;

use crate::cache::{CacheKey, Cached, EntryKind};
use crate::error::Error;
use crate::gfx::{Palette, PaletteSource, TileFormat, decode_tiles};
use crate::image;
use crate::rom::RomFile;

/// The encoded form of a thumbnail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// 8-bit indexed PNG with PLTE and tRNS.
    #[default]
    Png,
    /// Lossless WebP (VP8L), RGBA.
    Webp,
    /// Raw RGBA, row-major.
    Rgba,
}

impl ImageFormat {
    /// The format's name (`png`, `webp`, `rgba`).
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Webp => "webp",
            ImageFormat::Rgba => "rgba",
        }
    }

    /// Parses a format name.
    pub fn parse(name: &str) -> Option<ImageFormat> {
        match name {
            "png" => Some(ImageFormat::Png),
            "webp" => Some(ImageFormat::Webp),
            "rgba" => Some(ImageFormat::Rgba),
            _ => None,
        }
    }
}

/// How a thumbnail is made. `ThumbnailOptions::default()`: a 128x128 box, PNG, 4bpp tiles 16 to a
/// row, greyscale, colour 0 transparent, exhal-compatible decoding, priority 0.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ThumbnailOptions {
    /// Box width in pixels.
    pub box_width: u32,
    /// Box height in pixels.
    pub box_height: u32,
    /// Output encoding.
    pub format: ImageFormat,
    /// How the decoded bytes are read as tiles.
    pub tile_format: TileFormat,
    /// Tiles per sheet row.
    pub columns: u32,
    /// Colours.
    pub palette: PaletteSource,
    /// Colour 0 as `(0, 0, 0, 0)`.
    pub transparent: bool,
    /// Strict HAL decoding.
    pub strict: bool,
    /// Queue priority: lower runs first.
    pub priority: i32,
}

impl Default for ThumbnailOptions {
    fn default() -> Self {
        ThumbnailOptions {
            box_width: 128,
            box_height: 128,
            format: ImageFormat::Png,
            tile_format: TileFormat::Bpp4,
            columns: 16,
            palette: PaletteSource::Greyscale,
            transparent: true,
            strict: false,
            priority: 0,
        }
    }
}

/// Largest box side, in pixels.
pub const MAX_BOX: u32 = 4096;

impl ThumbnailOptions {
    /// A hash of everything that shapes the image (not the priority): the cache key's options
    /// part (palette bytes included, so a new CGRAM dump is a new entry).
    pub(crate) fn key_hash(&self) -> u64 {
        let mut h = Xxh3::new();
        h.update(&self.box_width.to_le_bytes());
        h.update(&self.box_height.to_le_bytes());
        h.update(self.format.as_str().as_bytes());
        h.update(self.tile_format.as_str().as_bytes());
        h.update(&self.columns.to_le_bytes());
        h.update(&self.palette.key_bytes());
        h.update(&[u8::from(self.transparent), u8::from(self.strict)]);
        h.digest()
    }
}

/// A rendered thumbnail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thumbnail {
    /// The encoded image.
    pub image: Vec<u8>,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Tiles in the decoded data.
    pub tiles: u32,
    /// True when the data ended inside a tile.
    pub partial_tile: bool,
    /// The encoding of `image`.
    pub format: ImageFormat,
}

/// One request of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThumbnailRequest {
    /// ROM offset of the HAL stream.
    pub offset: u64,
    /// How to render it.
    pub options: ThumbnailOptions,
}

/// Width and height of an encoded thumbnail, by decoding it.
pub(crate) fn image_dimensions(t: &Thumbnail) -> Result<(u32, u32), String> {
    match t.format {
        ImageFormat::Rgba => Ok((t.width, t.height)),
        ImageFormat::Png => {
            let decoder = png::Decoder::new(std::io::Cursor::new(&t.image));
            let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
            let mut buf = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
            let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
            Ok((info.width, info.height))
        }
        ImageFormat::Webp => {
            let mut decoder = image_webp::WebPDecoder::new(std::io::Cursor::new(&t.image))
                .map_err(|e| e.to_string())?;
            let (w, h) = decoder.dimensions();
            let size = decoder.output_buffer_size().ok_or("WebP too large")?;
            let mut buf = vec![0; size];
            decoder.read_image(&mut buf).map_err(|e| e.to_string())?;
            Ok((w, h))
        }
    }
}

type JobKey = (u64, u64);

enum JobState {
    Pending,
    Running,
    Done(Result<Arc<Thumbnail>, Error>),
}

struct Job {
    request: ThumbnailRequest,
    priority: i32,
    seq: u64,
    waiters: usize,
    state: JobState,
    abandoned: Arc<AtomicBool>,
}

#[derive(Default)]
struct QueueState {
    heap: BinaryHeap<Reverse<(i32, u64, JobKey)>>,
    jobs: HashMap<JobKey, Job>,
    seq: u64,
}

/// The per-ROM thumbnail queue.
#[derive(Default)]
pub(crate) struct ThumbQueue {
    state: Mutex<QueueState>,
    done: Condvar,
    served: AtomicU64,
}

/// How often a waiting requester re-checks its own cancellation flag.
const POLL: Duration = Duration::from_millis(5);

impl ThumbQueue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pops the highest-priority pending job, skipping heap entries left behind by priority
    /// changes and dropped jobs.
    fn pop(state: &mut QueueState) -> Option<(JobKey, ThumbnailRequest, Arc<AtomicBool>)> {
        while let Some(Reverse((priority, seq, key))) = state.heap.pop() {
            if let Some(job) = state.jobs.get_mut(&key) {
                if matches!(job.state, JobState::Pending)
                    && job.priority == priority
                    && job.seq == seq
                {
                    job.state = JobState::Running;
                    return Some((key, job.request.clone(), job.abandoned.clone()));
                }
            }
        }
        None
    }

    fn request(
        &self,
        rom: &RomFile,
        request: &ThumbnailRequest,
        control: &Control<'_>,
    ) -> Result<Arc<Thumbnail>, Error> {
        let key = (request.offset, request.options.key_hash());
        let priority = request.options.priority;
        let mut state = self.lock();
        state.seq += 1;
        let seq = state.seq;
        match state.jobs.get_mut(&key) {
            Some(job) => {
                job.waiters += 1;
                // A running job abandoned by its earlier requesters is wanted again.
                job.abandoned.store(false, Ordering::Relaxed);
                if matches!(job.state, JobState::Pending) && priority < job.priority {
                    job.priority = priority;
                    let entry = Reverse((priority, job.seq, key));
                    state.heap.push(entry);
                }
            }
            None => {
                state.jobs.insert(
                    key,
                    Job {
                        request: request.clone(),
                        priority,
                        seq,
                        waiters: 1,
                        state: JobState::Pending,
                        abandoned: Arc::new(AtomicBool::new(false)),
                    },
                );
                state.heap.push(Reverse((priority, seq, key)));
            }
        }
        loop {
            if let Some(job) = state.jobs.get_mut(&key) {
                if let JobState::Done(result) = &job.state {
                    let out = match result {
                        Ok(t) => Ok(t.clone()),
                        Err(e) => Err(e.duplicate()),
                    };
                    job.waiters -= 1;
                    if job.waiters == 0 {
                        state.jobs.remove(&key);
                    }
                    return out;
                }
            }
            if control.is_cancelled() {
                if let Some(job) = state.jobs.get_mut(&key) {
                    job.waiters -= 1;
                    if job.waiters == 0 {
                        match job.state {
                            JobState::Pending => {
                                state.jobs.remove(&key);
                            }
                            _ => job.abandoned.store(true, Ordering::Relaxed),
                        }
                    }
                }
                return Err(Error::Aborted);
            }
            if let Some((run_key, run_request, abandoned)) = Self::pop(&mut state) {
                drop(state);
                let result = rom.render(&run_request, &abandoned).map(Arc::new);
                self.served.fetch_add(1, Ordering::Relaxed);
                state = self.lock();
                if let Some(job) = state.jobs.get_mut(&run_key) {
                    if job.waiters == 0 {
                        state.jobs.remove(&run_key);
                    } else if matches!(result, Err(Error::Aborted)) {
                        // Abandoned, then requested again before the stage check: run again.
                        job.state = JobState::Pending;
                        job.abandoned = Arc::new(AtomicBool::new(false));
                        let entry = Reverse((job.priority, job.seq, run_key));
                        state.heap.push(entry);
                    } else {
                        job.state = JobState::Done(result);
                    }
                }
                self.done.notify_all();
                continue;
            }
            state = self
                .done
                .wait_timeout(state, POLL)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// Jobs waiting to run (for tests and diagnostics).
    pub(crate) fn pending(&self) -> usize {
        self.lock()
            .jobs
            .values()
            .filter(|j| matches!(j.state, JobState::Pending))
            .count()
    }
}

impl RomFile {
    /// One thumbnail of the HAL block at `offset`, through the queue and both caches.
    pub fn thumbnail(
        &self,
        offset: u64,
        options: &ThumbnailOptions,
        control: &Control<'_>,
    ) -> Result<Arc<Thumbnail>, Error> {
        control.check()?;
        validate(options)?;
        let request = ThumbnailRequest {
            offset,
            options: options.clone(),
        };
        self.queue.request(self, &request, control)
    }

    /// Many thumbnails in parallel (rayon), results in request order, each its own success or
    /// error; cancellation aborts the batch.
    pub fn thumbnails(
        &self,
        requests: &[ThumbnailRequest],
        control: &Control<'_>,
    ) -> Result<Vec<Result<Arc<Thumbnail>, Error>>, Error> {
        let total = requests.len() as u64;
        let done = AtomicU64::new(0);
        let results: Vec<Result<Arc<Thumbnail>, Error>> = requests
            .par_iter()
            .map(|r| {
                let out = self.thumbnail(r.offset, &r.options, control);
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                control.report(Progress::of(Stage::Thumbnail, n, total));
                out
            })
            .collect();
        control.check()?;
        Ok(results)
    }

    /// Pending jobs in this ROM's thumbnail queue.
    pub fn queued_thumbnails(&self) -> usize {
        self.queue.pending()
    }

    /// The pipeline of one job: cache lookups, decode, tiles, palette, scale, encode.
    fn render(
        &self,
        request: &ThumbnailRequest,
        abandoned: &AtomicBool,
    ) -> Result<Thumbnail, Error> {
        let options = &request.options;
        let key = CacheKey {
            kind: EntryKind::Thumb,
            offset: request.offset,
            options: options.key_hash(),
        };
        if let Some(Cached::Thumb(t)) = self.caches.get_memory(&key) {
            return Ok((*t).clone());
        }
        let rom_hash = if self.caches.has_disk() {
            Some(self.content_hash()?)
        } else {
            None
        };
        if let Some(hash) = rom_hash {
            if let Some(Cached::Thumb(t)) = self.caches.get_disk(&key, hash) {
                self.caches.put_memory(key, Cached::Thumb(t.clone()));
                return Ok((*t).clone());
            }
        }
        let stop = || {
            if abandoned.load(Ordering::Relaxed) {
                Err(Error::Aborted)
            } else {
                Ok(())
            }
        };
        let decoded = self.decode_cached(request.offset, options.strict)?;
        stop()?;
        let sheet = decode_tiles(&decoded.data, options.tile_format, options.columns)?;
        if sheet.height == 0 {
            return Err(Error::InvalidArgument(format!(
                "the block at {} decodes to no tiles",
                request.offset
            )));
        }
        let bits = options.tile_format.bits();
        let palette = match &options.palette {
            PaletteSource::Greyscale => Palette::greyscale(bits),
            PaletteSource::Rom { offset } => {
                let count = 1usize << bits;
                let len = (2 * count) as u64;
                if offset.checked_add(len).is_none_or(|end| end > self.size()) {
                    return Err(Error::InvalidArgument(format!(
                        "a {count}-colour palette at {offset} is outside the ROM"
                    )));
                }
                Palette::from_bgr555(&self.read(*offset, len)?, count)
            }
            PaletteSource::Cgram { bytes, index } => Palette::from_cgram(bytes, *index, bits)?,
        }
        .with_transparency(options.transparent);
        stop()?;
        let (indices, w, h) = image::scale(
            &sheet.indices,
            sheet.width,
            sheet.height,
            options.box_width,
            options.box_height,
        );
        let encoded = match options.format {
            ImageFormat::Png => image::png_indexed(&indices, w, h, &palette)?,
            ImageFormat::Webp => image::webp(&image::rgba(&indices, &palette), w, h)?,
            ImageFormat::Rgba => image::rgba(&indices, &palette),
        };
        let thumb = Thumbnail {
            image: encoded,
            width: w,
            height: h,
            tiles: sheet.tiles,
            partial_tile: sheet.partial_tile,
            format: options.format,
        };
        let cached = Cached::Thumb(Arc::new(thumb.clone()));
        if let Some(hash) = rom_hash {
            self.caches.put_disk(&key, hash, &cached);
        }
        self.caches.put_memory(key, cached);
        Ok(thumb)
    }
}

fn validate(options: &ThumbnailOptions) -> Result<(), Error> {
    let side = |v: u32| (1..=MAX_BOX).contains(&v);
    if !side(options.box_width) || !side(options.box_height) {
        return Err(Error::InvalidArgument(format!(
            "box {}x{}: each side must be 1-{MAX_BOX}",
            options.box_width, options.box_height
        )));
    }
    if options.columns == 0 || options.columns > crate::gfx::MAX_COLUMNS {
        return Err(Error::InvalidArgument(format!(
            "columns must be 1-{}, got {}",
            crate::gfx::MAX_COLUMNS,
            options.columns
        )));
    }
    Ok(())
}
