//! Batch extraction (docs/rom.md, "Extraction"): rayon over the one in-memory image, input order
//! kept, duplicate offsets decoded once, a per-offset time and a per-offset error.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use modforge_core::{Control, Progress, Stage};
use rayon::prelude::*;

use crate::cache::{CacheKey, Cached, EntryKind};
use crate::error::Error;
use crate::hal::Decoded;
use crate::rom::RomFile;

/// Options of [`RomFile::extract`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtractOptions {
    /// Strict HAL decoding.
    pub strict: bool,
    /// Worker threads (`None`: rayon's global pool).
    pub threads: Option<usize>,
}

/// One offset's result.
#[derive(Debug)]
pub struct Extracted {
    /// The requested ROM offset.
    pub offset: u64,
    /// The decoded block (shared with the memory cache), or why it failed.
    pub result: Result<Arc<Decoded>, Error>,
    /// Decode time of this offset on the worker's monotonic clock, in nanoseconds (0 when
    /// served from the cache).
    pub time_ns: u64,
}

impl RomFile {
    /// The decoded block at `offset`, through the memory cache (blobs are not written to disk:
    /// decoding from the in-memory image is faster than reading a cache file).
    pub(crate) fn decode_cached(&self, offset: u64, strict: bool) -> Result<Arc<Decoded>, Error> {
        Ok(self.decode_timed(offset, strict)?.0)
    }

    fn decode_timed(&self, offset: u64, strict: bool) -> Result<(Arc<Decoded>, u64), Error> {
        let key = CacheKey {
            kind: EntryKind::Blob,
            offset,
            options: u64::from(strict),
        };
        if let Some(Cached::Blob(d)) = self.caches.get_memory(&key) {
            return Ok((d, 0));
        }
        let started = Instant::now();
        let decoded = Arc::new(self.decode_at(offset, strict)?);
        let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.caches.put_memory(key, Cached::Blob(decoded.clone()));
        Ok((decoded, ns))
    }

    /// Decodes the HAL blocks at `offsets` in parallel. The batch fails only when cancelled or
    /// when the ROM is closed; every other failure is that offset's `result`.
    pub fn extract(
        &self,
        offsets: &[u64],
        options: &ExtractOptions,
        control: &Control<'_>,
    ) -> Result<Vec<Extracted>, Error> {
        // Hold the image for the whole batch so `close` waits for it.
        let _lease = self.lease()?;
        let mut unique: Vec<u64> = offsets.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let total = unique.len() as u64;
        let done = AtomicU64::new(0);
        let work = || {
            unique
                .par_iter()
                .map(|&offset| {
                    control.check()?;
                    let out = self.decode_timed(offset, options.strict);
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if n % 64 == 0 || n == total {
                        control.report(Progress::of(Stage::Extract, n, total));
                    }
                    Ok((offset, out))
                })
                .collect::<Result<Vec<_>, Error>>()
        };
        let decoded = match options.threads {
            Some(threads) => rayon::ThreadPoolBuilder::new()
                .num_threads(threads.max(1))
                .build()
                .map_err(|e| Error::Internal(format!("thread pool: {e}")))?
                .install(work)?,
            None => work()?,
        };
        Ok(offsets
            .iter()
            .map(|&offset| {
                let found = decoded
                    .binary_search_by_key(&offset, |(o, _)| *o)
                    .ok()
                    .and_then(|i| decoded.get(i));
                let (result, time_ns) = match found {
                    Some((_, Ok((d, ns)))) => (Ok(d.clone()), *ns),
                    Some((_, Err(e))) => (Err(e.duplicate()), 0),
                    None => (
                        Err(Error::Internal(format!("offset {offset} was not decoded"))),
                        0,
                    ),
                };
                Extracted {
                    offset,
                    result,
                    time_ns,
                }
            })
            .collect())
    }

    /// The counters of both cache levels.
    pub fn cache_stats(&self) -> crate::cache::CacheStats {
        self.caches.stats()
    }
}
