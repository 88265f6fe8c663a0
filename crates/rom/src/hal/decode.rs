//! The HAL stream walker (docs/rom.md, "HAL stream"): one loop serves decoding, the parse-only
//! `compressed_length` and the scanner's bounded probe, so all three report the same errors.
//!
//! Every check depends only on the write position `o`, the reference offset and the length, so
//! the parse-only walk (no output buffer) fails exactly where decoding fails.

use crate::error::{HalError, HalReason};

/// Largest output a stream may produce (exactly 65,536 bytes is allowed).
pub const MAX_OUTPUT: usize = 65_536;

/// Bit-reversal of every byte value (bit 0 <-> 7, 1 <-> 6, ...), for command 5.
pub(crate) const BIT_REVERSED: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = (i as u8).reverse_bits();
        i += 1;
    }
    table
};

/// What a walk counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    /// Input bytes read, including the `FF` terminator.
    pub consumed: usize,
    /// Output bytes produced.
    pub produced: usize,
    /// Commands by their raw 3-bit number (index 7 counts `FC`-`FE`).
    pub counts: [u32; 8],
    /// Output of the largest single command.
    pub largest: usize,
    /// True when the walk stopped because input read exceeded output produced by more than
    /// [`Walk::excess_limit`] (the scanner's fast path); the other fields are then partial.
    pub excess: bool,
}

/// Walk parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Walk {
    /// Refuse `FC`-`FE` and references to unwritten output.
    pub strict: bool,
    /// Stop (with [`Stats::excess`] set) once `consumed - produced` exceeds this.
    pub excess_limit: usize,
}

/// Where decoded bytes go: a buffer, or nowhere (parse-only).
pub(crate) trait Sink {
    /// Bytes written so far.
    fn len(&self) -> usize;
    /// Appends `src[..]` (raw copy).
    fn raw(&mut self, src: &[u8]);
    /// Appends `len` copies of `v`.
    fn fill(&mut self, v: u8, len: usize);
    /// Appends the pair `a, b` `len` times.
    fn word(&mut self, a: u8, b: u8, len: usize);
    /// Appends `v, v+1, ...` (mod 256).
    fn sequence(&mut self, v: u8, len: usize);
    /// Command 4 (`rev = false`) or 5 (`rev = true`) from `off`, byte by byte semantics.
    fn forward(&mut self, off: usize, len: usize, rev: bool);
    /// Command 6 from `off` going down.
    fn backward(&mut self, off: usize, len: usize);
}

/// A parse-only sink: counts the output length.
pub(crate) struct Count(pub usize);

impl Sink for Count {
    fn len(&self) -> usize {
        self.0
    }
    fn raw(&mut self, src: &[u8]) {
        self.0 += src.len();
    }
    fn fill(&mut self, _: u8, len: usize) {
        self.0 += len;
    }
    fn word(&mut self, _: u8, _: u8, len: usize) {
        self.0 += 2 * len;
    }
    fn sequence(&mut self, _: u8, len: usize) {
        self.0 += len;
    }
    fn forward(&mut self, _: usize, len: usize, _: bool) {
        self.0 += len;
    }
    fn backward(&mut self, _: usize, len: usize) {
        self.0 += len;
    }
}

/// A 64 KiB output window reused across decodes (never zeroed again after creation). Bytes at
/// or past `len` are stale: every read of unwritten output goes through `at`, which answers 0.
pub(crate) struct Window {
    buf: Box<[u8]>,
    len: usize,
}

impl Window {
    /// A zeroed window.
    pub(crate) fn new() -> Window {
        Window {
            buf: vec![0u8; MAX_OUTPUT].into_boxed_slice(),
            len: 0,
        }
    }

    /// Forgets the output (the bytes stay, unread).
    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    /// The output so far.
    pub(crate) fn output(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// The byte at `p` if written, else 0.
    fn at(&self, p: usize) -> u8 {
        if p < self.len {
            self.buf.get(p).copied().unwrap_or(0)
        } else {
            0
        }
    }

    /// The `n` bytes after the output, to be written (the walker checked `len + n <= 65536`).
    fn next(&mut self, n: usize) -> &mut [u8] {
        let start = self.len;
        self.len += n;
        self.buf.get_mut(start..start + n).unwrap_or_default()
    }

    /// Copies `n` bytes from `from` to the end, where `from + n <= len` (no overlap).
    fn copy_down(&mut self, from: usize, n: usize) {
        let to = self.len;
        if from + n <= to && to + n <= self.buf.len() {
            self.buf.copy_within(from..from + n, to);
        }
        self.len += n;
    }

    /// Appends `extra` bytes continuing the periodic sequence that starts at `from` with period
    /// `len - from`; doubling copies keep this O(log) calls for short periods.
    fn repeat_period(&mut self, from: usize, extra: usize) {
        let period = self.len - from;
        let mut done = 0;
        while period > 0 && done < extra {
            let src = from + done % period;
            let n = (extra - done).min(self.len - src);
            self.copy_down(src, n);
            done += n;
        }
    }
}

impl Sink for Window {
    fn len(&self) -> usize {
        self.len
    }

    fn raw(&mut self, src: &[u8]) {
        let dst = self.next(src.len());
        if dst.len() == src.len() {
            dst.copy_from_slice(src);
        }
    }

    fn fill(&mut self, v: u8, len: usize) {
        self.next(len).fill(v);
    }

    fn word(&mut self, a: u8, b: u8, len: usize) {
        let start = self.len;
        self.next(2).copy_from_slice(&[a, b][..]);
        self.repeat_period(start, 2 * len - 2);
    }

    fn sequence(&mut self, v: u8, len: usize) {
        for (k, slot) in self.next(len).iter_mut().enumerate() {
            *slot = v.wrapping_add(k as u8);
        }
    }

    fn forward(&mut self, off: usize, len: usize, rev: bool) {
        let o = self.len;
        if off >= o {
            // Only in compatible mode: every byte read is unwritten, so it reads 0 (and
            // bit-reversed 0 is 0), whatever a previous decode left in the window.
            self.next(len).fill(0);
            return;
        }
        if rev {
            // Byte k reads `off + k`: below `o` it is earlier output, at or past `o` it is this
            // command's own output (already reversed once), so it runs byte by byte.
            let (head, tail) = self.buf.split_at_mut(o);
            let Some(tail) = tail.get_mut(..len) else {
                return;
            };
            for k in 0..len {
                let src = off + k;
                let b = if src < o {
                    head.get(src).copied()
                } else {
                    tail.get(src - o).copied()
                };
                if let Some(slot) = tail.get_mut(k) {
                    *slot = BIT_REVERSED[usize::from(b.unwrap_or(0))];
                }
            }
            self.len += len;
            return;
        }
        if off + len <= o {
            self.copy_down(off, len);
        } else {
            // Overlap: the copy reads its own output, which repeats the `o - off` bytes before `o`.
            self.copy_down(off, o - off);
            self.repeat_period(off, len - (o - off));
        }
    }

    fn backward(&mut self, off: usize, len: usize) {
        let o = self.len;
        // The walker guarantees `off + 1 >= len`.
        if off < o {
            // Every byte read (`off - k`) is earlier output: a reversed copy of a finished range.
            let (head, tail) = self.buf.split_at_mut(o);
            if let (Some(src), Some(dst)) = (head.get(off + 1 - len..=off), tail.get_mut(..len)) {
                for (d, s) in dst.iter_mut().zip(src.iter().rev()) {
                    *d = *s;
                }
            }
            self.len += len;
            return;
        }
        // Compatible mode with `off >= o`: byte k reads `off - k`, written only once it has
        // fallen below the write position `o + k`; unwritten bytes read 0.
        for k in 0..len {
            let b = if off - k < o + k { self.at(off - k) } else { 0 };
            self.next(1).fill(b);
        }
    }
}

/// Walks the stream `src` into `sink` (docs/rom.md, "Reference decoder").
pub(crate) fn walk<S: Sink>(src: &[u8], params: Walk, sink: &mut S) -> Result<Stats, HalError> {
    let mut stats = Stats::default();
    let mut i = 0usize;
    loop {
        let start = i;
        let fail = |reason| HalError {
            reason,
            offset: start,
        };
        let Some(&b0) = src.get(i) else {
            return Err(fail(HalReason::Truncated));
        };
        i += 1;
        if b0 == 0xFF {
            break;
        }
        let (raw, len) = if b0 & 0xE0 == 0xE0 {
            let Some(&b1) = src.get(i) else {
                return Err(fail(HalReason::Truncated));
            };
            i += 1;
            (
                (b0 >> 2) & 7,
                ((usize::from(b0 & 3) << 8) | usize::from(b1)) + 1,
            )
        } else {
            (b0 >> 5, usize::from(b0 & 0x1F) + 1)
        };
        let cmd = match raw {
            7 if params.strict => return Err(fail(HalReason::BadCommand)),
            7 => 4,
            c => c,
        };
        let produced = if cmd == 2 { 2 * len } else { len };
        let o = sink.len();
        if o + produced > MAX_OUTPUT {
            return Err(fail(HalReason::OutputTooLarge));
        }
        match cmd {
            0 => {
                let Some(bytes) = src.get(i..i + len) else {
                    return Err(fail(HalReason::Truncated));
                };
                sink.raw(bytes);
                i += len;
            }
            1 | 3 => {
                let Some(&v) = src.get(i) else {
                    return Err(fail(HalReason::Truncated));
                };
                i += 1;
                if cmd == 1 {
                    sink.fill(v, len);
                } else {
                    sink.sequence(v, len);
                }
            }
            2 => {
                let (Some(&a), Some(&b)) = (src.get(i), src.get(i + 1)) else {
                    return Err(fail(HalReason::Truncated));
                };
                i += 2;
                sink.word(a, b, len);
            }
            _ => {
                let (Some(&hi), Some(&lo)) = (src.get(i), src.get(i + 1)) else {
                    return Err(fail(HalReason::Truncated));
                };
                i += 2;
                let off = (usize::from(hi) << 8) | usize::from(lo);
                if params.strict && off >= o {
                    return Err(fail(HalReason::RefToUnwritten));
                }
                if cmd == 6 {
                    if off + 1 < len {
                        return Err(fail(HalReason::BadRef));
                    }
                    sink.backward(off, len);
                } else {
                    if off + len > MAX_OUTPUT {
                        return Err(fail(HalReason::BadRef));
                    }
                    sink.forward(off, len, cmd == 5);
                }
            }
        }
        stats.produced = o + produced;
        stats.largest = stats.largest.max(produced);
        stats.counts[usize::from(raw)] += 1;
        if i.saturating_sub(stats.produced) > params.excess_limit {
            stats.consumed = i;
            stats.excess = true;
            return Ok(stats);
        }
    }
    stats.consumed = i;
    stats.produced = sink.len();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_repeats_patterns_and_reads_unwritten_as_zero() {
        let mut w = Window::new();
        w.raw(&[9, 1, 2, 3]);
        w.repeat_period(1, 7);
        assert_eq!(w.output(), [9, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1]);
        w.clear();
        w.raw(&[5]);
        w.repeat_period(0, 100);
        assert_eq!(w.output(), vec![5; 101]);
        assert_eq!(w.at(101), 0, "stale bytes past the output read 0");
        w.clear();
        assert_eq!(w.at(0), 0);
    }

    #[test]
    fn bit_reversal_table() {
        assert_eq!(BIT_REVERSED[0x01], 0x80);
        assert_eq!(BIT_REVERSED[0x02], 0x40);
        assert_eq!(BIT_REVERSED[0xF0], 0x0F);
    }
}
