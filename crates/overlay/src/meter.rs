//! Byte counters of a build: mod bytes read in all, the most mod bytes held at once (read
//! buffers plus prepared overrides: `peakBytesRead`), game bytes read and bytes written.

use std::sync::atomic::{AtomicU64, Ordering};

/// Shared counters; every method is thread-safe.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    mod_read: AtomicU64,
    game_read: AtomicU64,
    written: AtomicU64,
    held: AtomicU64,
    peak: AtomicU64,
    compressed: AtomicU64,
    copies: [AtomicU64; 3],
}

/// A reservation of held bytes, released on drop.
#[derive(Debug)]
pub(crate) struct Held<'a> {
    meter: &'a Meter,
    bytes: u64,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.meter.held.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

impl Meter {
    /// Counts `n` mod bytes read.
    pub(crate) fn mod_read(&self, n: u64) {
        self.mod_read.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` game bytes read.
    pub(crate) fn game_read(&self, n: u64) {
        self.game_read.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` bytes written.
    pub(crate) fn written(&self, n: u64) {
        self.written.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts one override compressed by this build.
    pub(crate) fn compressed_one(&self) {
        self.compressed.fetch_add(1, Ordering::Relaxed);
    }

    /// Holds `n` mod bytes until the guard drops, raising the peak if needed.
    pub(crate) fn hold(&self, n: u64) -> Held<'_> {
        let now = self.held.fetch_add(n, Ordering::Relaxed) + n;
        self.peak.fetch_max(now, Ordering::Relaxed);
        Held {
            meter: self,
            bytes: n,
        }
    }

    /// Holds `n` mod bytes until [`Meter::release`] is called with the same amount.
    pub(crate) fn acquire(&self, n: u64) {
        let now = self.held.fetch_add(n, Ordering::Relaxed) + n;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }

    /// Releases bytes taken with [`Meter::acquire`].
    pub(crate) fn release(&self, n: u64) {
        self.held.fetch_sub(n, Ordering::Relaxed);
    }

    /// Counts one WAD region copied with `method`.
    pub(crate) fn copied_with(&self, method: crate::copy::CopyMethod) {
        let slot = match method {
            crate::copy::CopyMethod::Kernel => 0,
            crate::copy::CopyMethod::Buffered => 1,
            crate::copy::CopyMethod::Clone => 2,
        };
        self.copies[slot].fetch_add(1, Ordering::Relaxed);
    }

    /// (kernel copies, buffered copies, clones).
    pub(crate) fn copies(&self) -> (u64, u64, u64) {
        (
            self.copies[0].load(Ordering::Relaxed),
            self.copies[1].load(Ordering::Relaxed),
            self.copies[2].load(Ordering::Relaxed),
        )
    }

    /// (mod bytes read, game bytes read, bytes written, peak held, overrides compressed).
    pub(crate) fn totals(&self) -> (u64, u64, u64, u64, u64) {
        (
            self.mod_read.load(Ordering::Relaxed),
            self.game_read.load(Ordering::Relaxed),
            self.written.load(Ordering::Relaxed),
            self.peak.load(Ordering::Relaxed),
            self.compressed.load(Ordering::Relaxed),
        )
    }
}
