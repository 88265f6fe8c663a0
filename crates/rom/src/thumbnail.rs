//! Thumbnails (docs/rom.md, "Thumbnails"): decode (through the caches) -> tiles -> palette ->
//! nearest-neighbour scale into a box -> PNG, WebP or RGBA; and the per-ROM priority queue that
//! orders, coalesces and cancels requests.
//!
//! Lower `priority` runs first, FIFO within a priority; identical requests share one job whose
//! priority is the minimum of its requesters'; a cancelled requester leaves, and a job nobody
//! waits for is dropped (pending) or abandoned at its next stage (running). Jobs run on rayon's
//! pool for submitted requests, and on a blocking caller's own thread while it waits.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
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

/// Width and height of an encoded thumbnail, by decoding it (images larger than [`MAX_BOX`] are
/// refused before any pixel buffer is allocated).
pub(crate) fn image_dimensions(t: &Thumbnail) -> Result<(u32, u32), String> {
    match t.format {
        ImageFormat::Rgba => Ok((t.width, t.height)),
        ImageFormat::Png => {
            let decoder = png::Decoder::new(std::io::Cursor::new(&t.image));
            let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
            let (w, h) = (reader.info().width, reader.info().height);
            if w > MAX_BOX || h > MAX_BOX {
                return Err(format!("PNG of {w}x{h} is larger than any thumbnail"));
            }
            let mut buf = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
            let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
            Ok((info.width, info.height))
        }
        ImageFormat::Webp => {
            let mut decoder = image_webp::WebPDecoder::new(std::io::Cursor::new(&t.image))
                .map_err(|e| e.to_string())?;
            let (w, h) = decoder.dimensions();
            if w > MAX_BOX || h > MAX_BOX {
                return Err(format!("WebP of {w}x{h} is larger than any thumbnail"));
            }
            let size = decoder.output_buffer_size().ok_or("WebP too large")?;
            let mut buf = vec![0; size];
            decoder.read_image(&mut buf).map_err(|e| e.to_string())?;
            Ok((w, h))
        }
    }
}

type JobKey = (u64, u64);

/// Receives a job's result.
type Deliver = Box<dyn FnOnce(Result<Arc<Thumbnail>, Error>) + Send>;

struct Waiter {
    id: u64,
    deliver: Deliver,
}

struct Job {
    request: ThumbnailRequest,
    priority: i32,
    seq: u64,
    running: bool,
    waiters: Vec<Waiter>,
    abandoned: Arc<AtomicBool>,
}

#[derive(Default)]
struct QueueState {
    heap: BinaryHeap<Reverse<(i32, u64, JobKey)>>,
    jobs: HashMap<JobKey, Job>,
    seq: u64,
}

/// A request's place in the queue, for withdrawing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ticket {
    key: JobKey,
    id: u64,
}

/// The per-ROM thumbnail queue: pending jobs by (priority, arrival), each with the requesters
/// waiting for it. Whoever runs jobs (a blocking caller while it waits, or a pool task per
/// submitted request) always takes the best pending one.
#[derive(Default)]
pub(crate) struct ThumbQueue {
    state: Mutex<QueueState>,
    renders: AtomicU64,
}

/// How often a blocked requester re-checks its own cancellation flag.
const POLL: Duration = Duration::from_millis(2);

impl ThumbQueue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a requester: joins an identical job (lowering its priority to the minimum) or
    /// queues a new one.
    pub(crate) fn enqueue(&self, request: &ThumbnailRequest, deliver: Deliver) -> Ticket {
        let key = (request.offset, request.options.key_hash());
        let priority = request.options.priority;
        let mut state = self.lock();
        state.seq += 1;
        let seq = state.seq;
        let waiter = Waiter { id: seq, deliver };
        match state.jobs.get_mut(&key) {
            Some(job) => {
                job.waiters.push(waiter);
                // A running job abandoned by its earlier requesters is wanted again.
                job.abandoned.store(false, Ordering::Relaxed);
                if !job.running && priority < job.priority {
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
                        running: false,
                        waiters: vec![waiter],
                        abandoned: Arc::new(AtomicBool::new(false)),
                    },
                );
                state.heap.push(Reverse((priority, seq, key)));
            }
        }
        Ticket { key, id: seq }
    }

    /// Removes a requester. A pending job nobody waits for is dropped; a running one is told
    /// to stop at its next stage. Returns whether the requester was still waiting.
    pub(crate) fn withdraw(&self, ticket: Ticket) -> bool {
        let mut state = self.lock();
        let Some(job) = state.jobs.get_mut(&ticket.key) else {
            return false;
        };
        let before = job.waiters.len();
        job.waiters.retain(|w| w.id != ticket.id);
        let removed = job.waiters.len() != before;
        if job.waiters.is_empty() {
            if job.running {
                job.abandoned.store(true, Ordering::Relaxed);
            } else {
                state.jobs.remove(&ticket.key);
            }
        }
        removed
    }

    /// Runs the best pending job, if any, and hands its result to every requester. Returns
    /// false when nothing was pending.
    pub(crate) fn run_next(&self, rom: &RomFile) -> bool {
        let picked = {
            let mut state = self.lock();
            let mut picked = None;
            while let Some(Reverse((priority, seq, key))) = state.heap.pop() {
                if let Some(job) = state.jobs.get_mut(&key) {
                    if !job.running && job.priority == priority && job.seq == seq {
                        job.running = true;
                        picked = Some((key, job.request.clone(), job.abandoned.clone()));
                        break;
                    }
                }
            }
            picked
        };
        let Some((key, request, abandoned)) = picked else {
            return false;
        };
        let result = rom.render(&request, &abandoned).map(Arc::new);
        self.renders.fetch_add(1, Ordering::Relaxed);
        let waiters = {
            let mut state = self.lock();
            let Some(job) = state.jobs.get_mut(&key) else {
                return true;
            };
            if matches!(result, Err(Error::Aborted)) && !job.waiters.is_empty() {
                // Abandoned, then requested again before the stage check: run it again.
                job.running = false;
                job.abandoned = Arc::new(AtomicBool::new(false));
                let entry = Reverse((job.priority, job.seq, key));
                state.heap.push(entry);
                return true;
            }
            state
                .jobs
                .remove(&key)
                .map(|j| j.waiters)
                .unwrap_or_default()
        };
        for waiter in waiters {
            let copy = match &result {
                Ok(t) => Ok(t.clone()),
                Err(e) => Err(e.duplicate()),
            };
            (waiter.deliver)(copy);
        }
        true
    }

    /// Jobs waiting to run.
    pub(crate) fn pending(&self) -> usize {
        self.lock().jobs.values().filter(|j| !j.running).count()
    }

    /// Renders run so far (coalesced requests share one).
    pub(crate) fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }
}

impl RomFile {
    /// One thumbnail of the HAL block at `offset`, through the queue and both caches. The
    /// calling thread runs queued jobs (best first) while it waits for its own.
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
        let (tx, rx) = mpsc::channel();
        let ticket = self.queue.enqueue(
            &request,
            Box::new(move |result| {
                let _ = tx.send(result);
            }),
        );
        loop {
            if let Ok(result) = rx.try_recv() {
                return result;
            }
            if control.is_cancelled() {
                self.queue.withdraw(ticket);
                return Err(Error::Aborted);
            }
            if !self.queue.run_next(self) {
                match rx.recv_timeout(POLL) {
                    Ok(result) => return result,
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        return Err(Error::Internal("thumbnail job dropped".into()));
                    }
                }
            }
        }
    }

    /// Queues a thumbnail without blocking: a task on rayon's pool runs the best pending job
    /// and `deliver` receives this request's result on a pool thread. Withdraw it with
    /// [`RomFile::withdraw_thumbnail`] (then `deliver` is not called unless it already ran).
    pub fn submit_thumbnail(
        self: &Arc<Self>,
        offset: u64,
        options: &ThumbnailOptions,
        deliver: impl FnOnce(Result<Arc<Thumbnail>, Error>) + Send + 'static,
    ) -> Result<Ticket, Error> {
        validate(options)?;
        let request = ThumbnailRequest {
            offset,
            options: options.clone(),
        };
        let ticket = self.queue.enqueue(&request, Box::new(deliver));
        let rom = Arc::clone(self);
        rayon::spawn(move || {
            rom.queue.run_next(&rom);
        });
        Ok(ticket)
    }

    /// Withdraws a submitted request; returns whether it was still waiting.
    pub fn withdraw_thumbnail(&self, ticket: Ticket) -> bool {
        self.queue.withdraw(ticket)
    }

    /// Many thumbnails in parallel (rayon), results in request order, each its own success or
    /// error. Every request is queued first, so the batch runs in priority order; cancellation
    /// aborts the batch.
    pub fn thumbnails(
        &self,
        requests: &[ThumbnailRequest],
        control: &Control<'_>,
    ) -> Result<Vec<Result<Arc<Thumbnail>, Error>>, Error> {
        control.check()?;
        let total = requests.len() as u64;
        let done = Arc::new(AtomicU64::new(0));
        let mut receivers = Vec::with_capacity(requests.len());
        let mut tickets = Vec::new();
        for r in requests {
            let (tx, rx) = mpsc::channel();
            match validate(&r.options) {
                Ok(()) => {
                    let done = done.clone();
                    tickets.push(self.queue.enqueue(
                        r,
                        Box::new(move |result| {
                            done.fetch_add(1, Ordering::Relaxed);
                            let _ = tx.send(result);
                        }),
                    ));
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
            receivers.push(rx);
        }
        let workers = rayon::current_num_threads().max(1);
        (0..workers).into_par_iter().for_each(|_| {
            while !control.is_cancelled() && self.queue.run_next(self) {
                let n = done.load(Ordering::Relaxed);
                control.report(Progress::of(Stage::Thumbnail, n, total));
            }
        });
        if control.is_cancelled() {
            for t in tickets {
                self.queue.withdraw(t);
            }
            return Err(Error::Aborted);
        }
        control.report(Progress::of(Stage::Thumbnail, total, total));
        Ok(receivers
            .into_iter()
            .map(|rx| {
                rx.try_recv()
                    .unwrap_or_else(|_| Err(Error::Internal("thumbnail job dropped".into())))
            })
            .collect())
    }

    /// Pending jobs in this ROM's thumbnail queue.
    pub fn queued_thumbnails(&self) -> usize {
        self.queue.pending()
    }

    /// Thumbnail jobs run so far (coalesced requests count once; cache hits count too).
    pub fn thumbnails_rendered(&self) -> u64 {
        self.queue.renders()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rom::OpenOptions;

    fn rom() -> RomFile {
        // Four blocks: an 8-tile fill at 0x100, 0x200, 0x300, 0x400.
        let mut image = vec![0u8; 0x1000];
        for (n, at) in [0x100usize, 0x200, 0x300, 0x400].iter().enumerate() {
            image[*at..*at + 4].copy_from_slice(&[0xE4, 0xFF, n as u8 + 1, 0xFF]);
        }
        RomFile::from_bytes("queue", image, &OpenOptions::default()).unwrap()
    }

    fn request(offset: u64, priority: i32) -> ThumbnailRequest {
        ThumbnailRequest {
            offset,
            options: ThumbnailOptions {
                priority,
                format: ImageFormat::Rgba,
                ..ThumbnailOptions::default()
            },
        }
    }

    #[test]
    fn jobs_run_by_priority_then_arrival_and_coalesce() {
        let rom = rom();
        let order = Arc::new(Mutex::new(Vec::new()));
        let record = |tag: &'static str| -> Deliver {
            let order = order.clone();
            Box::new(move |r: Result<Arc<Thumbnail>, Error>| {
                assert!(r.is_ok());
                order.lock().unwrap().push(tag);
            })
        };
        rom.queue.enqueue(&request(0x100, 5), record("a"));
        rom.queue.enqueue(&request(0x200, 1), record("b"));
        rom.queue.enqueue(&request(0x300, 1), record("c"));
        // Same image as "a" (priority is not part of the key): joins it and lowers it to 0.
        rom.queue.enqueue(&request(0x100, 0), record("a2"));
        assert_eq!(rom.queued_thumbnails(), 3);
        while rom.queue.run_next(&rom) {}
        assert_eq!(*order.lock().unwrap(), ["a", "a2", "b", "c"]);
        assert_eq!(rom.thumbnails_rendered(), 3);
    }

    #[test]
    fn withdrawn_requests_drop_their_job() {
        let rom = rom();
        let ran = Arc::new(AtomicU64::new(0));
        let count = || -> Deliver {
            let ran = ran.clone();
            Box::new(move |_| {
                ran.fetch_add(1, Ordering::Relaxed);
            })
        };
        let t1 = rom.queue.enqueue(&request(0x100, 0), count());
        let t2 = rom.queue.enqueue(&request(0x200, 0), count());
        let t3 = rom.queue.enqueue(&request(0x200, 0), count());
        assert!(rom.queue.withdraw(t1));
        assert!(!rom.queue.withdraw(t1), "already gone");
        assert!(rom.queue.withdraw(t2));
        assert_eq!(rom.queued_thumbnails(), 1, "0x200 still has a requester");
        while rom.queue.run_next(&rom) {}
        assert_eq!(ran.load(Ordering::Relaxed), 1);
        assert_eq!(rom.thumbnails_rendered(), 1);
        assert!(!rom.queue.withdraw(t3));
    }

    #[test]
    fn a_cancelled_blocking_request_returns_aborted() {
        let rom = rom();
        let cancel = modforge_core::Cancel::new();
        cancel.cancel();
        let err = rom
            .thumbnail(
                0x100,
                &ThumbnailOptions::default(),
                &Control::cancel(&cancel),
            )
            .unwrap_err();
        assert!(matches!(err, Error::Aborted));
        assert_eq!(rom.queued_thumbnails(), 0);
    }
}
