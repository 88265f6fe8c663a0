//! Thumbnails (docs/rom.md, "Thumbnails"): decode (through the caches) -> tiles -> palette ->
//! nearest-neighbour scale into a box -> PNG, WebP or RGBA; and the per-ROM priority queue that
//! orders, coalesces and cancels requests.
//!
//! Lower `priority` runs first, FIFO within a priority; identical requests share one job whose
//! priority is the minimum of its requesters'; a cancelled requester leaves, and a job nobody
//! waits for is dropped (pending) or abandoned at its next stage (running). Jobs run on rayon's
//! pool for submitted requests, and on a blocking caller's own thread while it waits.

mod options;
pub(crate) mod queue;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use modforge_core::{Control, Progress, Stage};
use rayon::prelude::*;

pub use options::{ThumbnailOptions, ThumbnailRequest};
pub use queue::Ticket;

use crate::cache::{CacheKey, Cached, EntryKind};
use crate::error::Error;
use crate::gfx::{Palette, PaletteSource, decode_tiles};
use crate::image::{self, ImageFormat, MAX_BOX, Thumbnail};
use crate::rom::RomFile;

/// How often a blocked requester re-checks its own cancellation flag.
const POLL: Duration = Duration::from_millis(2);

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
            if !self.queue.run_next(|r, stop| self.render(r, stop)) {
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
            rom.queue.run_next(|r, stop| rom.render(r, stop));
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
            while !control.is_cancelled() && self.queue.run_next(|r, stop| self.render(r, stop)) {
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
    use std::sync::Mutex;

    use super::queue::Deliver;
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
        while rom.queue.run_next(|r, stop| rom.render(r, stop)) {}
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
        while rom.queue.run_next(|r, stop| rom.render(r, stop)) {}
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
