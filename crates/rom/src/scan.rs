//! The scanner (docs/rom.md, "Scanner"): strict-decode every grid offset, score the output as
//! 4bpp tiles, keep the best non-overlapping blocks. Candidates are evaluated in parallel chunks
//! and merged sequentially in offset order, so results are identical for every thread count and
//! chunk size.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use modforge_core::{Control, Progress, Stage};
use rayon::prelude::*;

use crate::error::Error;
use crate::hal::{MAX_OUTPUT, Stats, Walk, Window, walk};
use crate::rom::RomFile;

/// Options of a scan. `ScanOptions::default()`: the whole ROM, step 1, strict decoding, at least
/// 4 tiles, score at least 0.75, rayon's global pool, 16,384 candidates per chunk.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScanOptions {
    /// First offset.
    pub start: u64,
    /// End offset (exclusive); `None` = the ROM's size.
    pub end: Option<u64>,
    /// Distance between candidate offsets (>= 1).
    pub step: u64,
    /// Strict HAL decoding (refuses `FC`-`FE` and references to unwritten output).
    pub strict: bool,
    /// Smallest decoded size in 32-byte tiles.
    pub min_tiles: u32,
    /// Smallest score accepted.
    pub min_score: f64,
    /// Worker threads (`None`: rayon's global pool).
    pub threads: Option<usize>,
    /// Candidates per parallel chunk (>= 1).
    pub chunk: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            start: 0,
            end: None,
            step: 1,
            strict: true,
            min_tiles: 4,
            min_score: 0.75,
            threads: None,
            chunk: 16_384,
        }
    }
}

/// A block the scanner found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScanHit {
    /// ROM offset of the stream.
    pub offset: u64,
    /// Decoded size in bytes.
    pub size: usize,
    /// Stream length including `FF`.
    pub consumed: usize,
    /// Score in [0, 1].
    pub score: f64,
}

/// The parts of a score (docs/rom.md, "Scanner score").
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreParts {
    /// Share of equal horizontally adjacent pixels over non-empty tiles.
    pub coherence: f64,
    /// Distinct tiles / tiles.
    pub unique: f64,
    /// All-zero tiles / tiles.
    pub empty: f64,
    /// Largest single command's output / size.
    pub max_share: f64,
    /// The weighted score.
    pub score: f64,
}

/// Input read beyond output produced after which a candidate is dropped (a chain of one-byte
/// raw commands through `00` padding otherwise runs for 65,536 commands).
const EXCESS_LIMIT: usize = 256;

/// Scores `data` read as 4bpp tiles; `largest` is the largest single command's output.
pub fn score(data: &[u8], largest: usize) -> ScoreParts {
    let tiles: Vec<&[u8]> = data.chunks_exact(32).collect();
    let total = tiles.len().max(1) as f64;
    let mut empty = 0usize;
    let mut equal = 0u32;
    let mut distinct: HashSet<&[u8]> = HashSet::new();
    for tile in &tiles {
        distinct.insert(tile);
        if tile.iter().all(|&b| b == 0) {
            empty += 1;
            continue;
        }
        for row in 0..8 {
            let plane = |i: usize| tile.get(i).copied().unwrap_or(0);
            let p = [
                plane(2 * row),
                plane(2 * row + 1),
                plane(16 + 2 * row),
                plane(17 + 2 * row),
            ];
            // Bit k of `same` is set when pixels 6-k and 7-k agree in every plane.
            let same = p
                .iter()
                .fold(0x7Fu8, |acc, &v| acc & !(v ^ (v >> 1)) & 0x7F);
            equal += same.count_ones();
        }
    }
    let non_empty = tiles.len() - empty;
    let coherence = if non_empty == 0 {
        0.0
    } else {
        f64::from(equal) / (56.0 * non_empty as f64)
    };
    let unique = distinct.len() as f64 / total;
    let empty_share = empty as f64 / total;
    let max_share = if data.is_empty() {
        1.0
    } else {
        largest as f64 / data.len() as f64
    };
    let empty_term = if empty_share <= 0.75 {
        1.0
    } else {
        (1.0 - empty_share) / 0.25
    };
    let score = 0.5 * (coherence / 0.5).min(1.0)
        + 0.2 * (unique / 0.25).min(1.0)
        + 0.15 * (1.0 - max_share)
        + 0.15 * empty_term;
    ScoreParts {
        coherence,
        unique,
        empty: empty_share,
        max_share,
        score,
    }
}

/// Evaluates the candidate at `offset`; `buf` is a reusable output window.
fn evaluate(rom: &[u8], offset: usize, options: &ScanOptions, buf: &mut Window) -> Option<ScanHit> {
    let window = rom.get(offset..offset.saturating_add(MAX_OUTPUT).min(rom.len()))?;
    let first = *window.first()?;
    if first == 0xFF || window.get(..4).is_some_and(|w| w == [0, 0, 0, 0]) {
        return None;
    }
    buf.clear();
    let params = Walk {
        strict: options.strict,
        excess_limit: EXCESS_LIMIT,
    };
    let stats: Stats = walk(window, params, buf).ok()?;
    let commands: u32 = stats.counts.iter().sum();
    let size = stats.produced;
    if stats.excess
        || size < options.min_tiles as usize * 32
        || size <= stats.consumed
        || commands < 3
    {
        return None;
    }
    let parts = score(buf.output(), stats.largest);
    (parts.score >= options.min_score).then_some(ScanHit {
        offset: offset as u64,
        size,
        consumed: stats.consumed,
        score: parts.score,
    })
}

/// How much higher a candidate inside an accepted span must score to replace it. A stream's
/// own tail (a start a few commands in that resynchronises with the same stream) scores almost
/// the same, slightly higher when it skips the largest command; the margin keeps the true start.
pub const REPLACE_MARGIN: f64 = 0.02;

/// Merges candidates in offset order: a candidate outside the current accepted span is
/// accepted; one starting inside it replaces it when its score is higher by more than
/// [`REPLACE_MARGIN`].
fn merge(candidates: Vec<ScanHit>) -> Vec<ScanHit> {
    let mut out: Vec<ScanHit> = Vec::new();
    let mut current: Option<ScanHit> = None;
    for c in candidates {
        match current {
            Some(cur) if c.offset < cur.offset + cur.consumed as u64 => {
                if c.score > cur.score + REPLACE_MARGIN {
                    current = Some(c);
                }
            }
            _ => {
                if let Some(cur) = current.take() {
                    out.push(cur);
                }
                current = Some(c);
            }
        }
    }
    out.extend(current);
    out
}

/// Scans `rom` (bytes without copier header).
pub fn scan_bytes(
    rom: &[u8],
    options: &ScanOptions,
    control: &Control<'_>,
) -> Result<Vec<ScanHit>, Error> {
    let end = options.end.unwrap_or(rom.len() as u64);
    if options.step == 0 || options.chunk == 0 || options.start > end || end > rom.len() as u64 {
        return Err(Error::InvalidArgument(format!(
            "scan range {}..{end} step {} chunk {} over a {}-byte ROM",
            options.start,
            options.step,
            options.chunk,
            rom.len()
        )));
    }
    let count = (end - options.start).div_ceil(options.step);
    let chunk = options.chunk as u64;
    let chunks = count.div_ceil(chunk);
    let scanned = AtomicU64::new(0);
    let total_bytes = end - options.start;
    let work = || {
        (0..chunks)
            .into_par_iter()
            .map_init(Window::new, |buf, c| {
                control.check()?;
                let first = c * chunk;
                let last = ((c + 1) * chunk).min(count);
                let mut found = Vec::new();
                for k in first..last {
                    let offset = options.start + k * options.step;
                    if let Some(hit) = usize::try_from(offset)
                        .ok()
                        .and_then(|o| evaluate(rom, o, options, buf))
                    {
                        found.push(hit);
                    }
                }
                let bytes = (last - first) * options.step;
                let n = scanned.fetch_add(bytes, Ordering::Relaxed) + bytes;
                control.report(Progress::of(Stage::Scan, n.min(total_bytes), total_bytes));
                Ok(found)
            })
            .collect::<Result<Vec<Vec<ScanHit>>, Error>>()
    };
    let per_chunk = match options.threads {
        Some(threads) => rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()
            .map_err(|e| Error::Internal(format!("thread pool: {e}")))?
            .install(work)?,
        None => work()?,
    };
    control.report(Progress::of(Stage::Scan, total_bytes, total_bytes));
    Ok(merge(per_chunk.into_iter().flatten().collect()))
}

impl RomFile {
    /// Scans the ROM for HAL blocks that decode to tile-like data.
    pub fn scan(
        &self,
        options: &ScanOptions,
        control: &Control<'_>,
    ) -> Result<Vec<ScanHit>, Error> {
        let lease = self.lease()?;
        scan_bytes(lease.rom(), options, control)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(offset: u64, consumed: usize, score: f64) -> ScanHit {
        ScanHit {
            offset,
            size: 1000,
            consumed,
            score,
        }
    }

    #[test]
    fn merge_keeps_the_best_of_overlapping_candidates() {
        let merged = merge(vec![
            hit(0, 10, 0.8),
            hit(3, 20, 0.9),
            hit(15, 5, 0.85),
            hit(30, 5, 0.8),
            hit(32, 5, 0.81),
        ]);
        assert_eq!(merged.iter().map(|h| h.offset).collect::<Vec<_>>(), [3, 30]);
        assert!(merge(Vec::new()).is_empty());
    }

    #[test]
    fn noise_scores_low_and_uniform_tiles_score_zero_coherence() {
        let mut state = 9u32;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (state >> 16) as u8
            })
            .collect();
        let s = score(&noise, 32);
        assert!((s.coherence - 1.0 / 16.0).abs() < 0.03, "{}", s.coherence);
        let zeros = score(&[0u8; 4096], 4096);
        assert_eq!(zeros.empty, 1.0);
        assert_eq!(zeros.coherence, 0.0);
        assert_eq!(zeros.score, 0.2 * (1.0 / 128.0 / 0.25));
    }
}
