//! Exact longest matches for the three reference commands (docs/rom.md, "Encoder").
//!
//! For a reference kind, output byte `i + k` must equal `S[p + k]` for a source string `S`
//! derived from the input: the input itself (forward, command 4), its bit-reversed bytes
//! (command 5), or the input read backwards (command 6, `S = reverse(input)`). The longest
//! match at `i` over every allowed source start is found with a suffix array of
//! `T = input ++ S`: among the allowed source suffixes, the one with the longest common prefix
//! with `T[i..]` is a nearest neighbour of `i` in suffix-array order, and the common prefix of
//! two suffixes is the minimum of the LCP array between their ranks. Sweeping `i` upwards and
//! activating source suffixes as they become allowed gives every position's longest match in
//! O(n log n), with overlap (a forward reference reading its own output) included.
//!
//! The suffix array comes from `divsufsort`; the LCP array (Kasai et al. 2001), the range-minimum
//! table and the rank set are a few lines each, written here because they are tied to this use.

use super::MAX_LEN;
use crate::hal::decode::BIT_REVERSED;

/// Which reference command a table is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefKind {
    /// Command 4: `out[i + k] = out[off + k]`.
    Forward,
    /// Command 5: `out[i + k] = bitrev(out[off + k])`.
    Reversed,
    /// Command 6: `out[i + k] = out[off - k]`.
    Backward,
}

/// The longest reference at one position: `len` bytes from offset `off` (0 when none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RefMatch {
    pub len: u16,
    pub off: u16,
}

/// The longest match of `kind` at every position of `input` (at most 65,536 bytes), lengths
/// capped at 1024.
pub(crate) fn longest_matches(input: &[u8], kind: RefKind) -> Vec<RefMatch> {
    let n = input.len();
    let mut result = vec![RefMatch::default(); n];
    if n < 2 {
        return result;
    }
    let mut text = Vec::with_capacity(2 * n);
    text.extend_from_slice(input);
    match kind {
        RefKind::Forward => text.extend_from_slice(input),
        RefKind::Reversed => text.extend(input.iter().map(|&b| BIT_REVERSED[usize::from(b)])),
        RefKind::Backward => text.extend(input.iter().rev()),
    }
    let m = text.len();
    let mut sa = vec![0i32; m];
    divsufsort::sort_in_place(&text, &mut sa);
    let sa: Vec<usize> = sa
        .iter()
        .map(|&s| usize::try_from(s).unwrap_or(0))
        .collect();
    let mut rank = vec![0usize; m];
    for (r, &s) in sa.iter().enumerate() {
        if let Some(slot) = rank.get_mut(s) {
            *slot = r;
        }
    }
    let lcp = lcp_array(&text, &sa, &rank);
    let rmq = RangeMin::new(lcp);
    let mut active = RankSet::new(m);
    // Source start `p` (an output offset) -> position of its suffix in `T`.
    let source_pos = |p: usize| match kind {
        RefKind::Forward | RefKind::Reversed => n + p,
        RefKind::Backward => n + (n - 1 - p),
    };
    let offset_of = |t: usize| match kind {
        RefKind::Forward | RefKind::Reversed => t - n,
        RefKind::Backward => n - 1 - (t - n),
    };
    for i in 0..n {
        if i >= 1 {
            // Offsets below the write position are allowed: activate p = i - 1.
            if let Some(&r) = rank.get(source_pos(i - 1)) {
                active.insert(r);
            }
        }
        let Some(&r) = rank.get(i) else { continue };
        let mut best = (0usize, 0usize);
        if let Some(a) = active.before(r) {
            let l = rmq.min(a + 1, r);
            if l > best.0 {
                best = (l, a);
            }
        }
        if let Some(b) = active.after(r) {
            let l = rmq.min(r + 1, b);
            if l > best.0 {
                best = (l, b);
            }
        }
        let len = best.0.min(n - i).min(MAX_LEN);
        if len > 0 {
            if let (Some(slot), Some(&t)) = (result.get_mut(i), sa.get(best.1)) {
                *slot = RefMatch {
                    len: len as u16,
                    off: offset_of(t) as u16,
                };
            }
        }
    }
    result
}

/// Kasai's LCP array: `lcp[r]` = common prefix of the suffixes of rank `r - 1` and `r`
/// (`lcp[0] = 0`), capped at [`MAX_LEN`].
fn lcp_array(text: &[u8], sa: &[usize], rank: &[usize]) -> Vec<u16> {
    let m = text.len();
    let mut lcp = vec![0u16; m];
    let mut h = 0usize;
    for i in 0..m {
        let r = rank.get(i).copied().unwrap_or(0);
        if r == 0 {
            h = 0;
            continue;
        }
        let j = sa.get(r - 1).copied().unwrap_or(0);
        while let (Some(a), Some(b)) = (text.get(i + h), text.get(j + h)) {
            if a != b {
                break;
            }
            h += 1;
        }
        if let Some(slot) = lcp.get_mut(r) {
            *slot = h.min(MAX_LEN) as u16;
        }
        h = h.saturating_sub(1);
    }
    lcp
}

/// A sparse table answering minimum queries over a range of the LCP array in O(1).
struct RangeMin {
    levels: Vec<Vec<u16>>,
}

impl RangeMin {
    fn new(base: Vec<u16>) -> Self {
        let m = base.len();
        let mut levels = vec![base];
        let mut width = 1usize;
        while width * 2 <= m {
            let Some(prev) = levels.last() else { break };
            let next: Vec<u16> = (0..=m - width * 2)
                .map(|r| {
                    let a = prev.get(r).copied().unwrap_or(0);
                    let b = prev.get(r + width).copied().unwrap_or(0);
                    a.min(b)
                })
                .collect();
            levels.push(next);
            width *= 2;
        }
        RangeMin { levels }
    }

    /// Minimum of `lcp[lo..=hi]` (`lo <= hi`), i.e. the common prefix of ranks `lo - 1` and `hi`.
    fn min(&self, lo: usize, hi: usize) -> usize {
        if lo > hi {
            return 0;
        }
        let span = hi - lo + 1;
        let k = (usize::BITS - 1 - span.leading_zeros()) as usize;
        let Some(level) = self.levels.get(k) else {
            return 0;
        };
        let a = level.get(lo).copied().unwrap_or(0);
        let b = level.get(hi + 1 - (1 << k)).copied().unwrap_or(0);
        usize::from(a.min(b))
    }
}

/// A set of ranks with predecessor and successor queries: a bitmap plus a summary bitmap of
/// non-empty words.
struct RankSet {
    bits: Vec<u64>,
    summary: Vec<u64>,
}

impl RankSet {
    fn new(m: usize) -> Self {
        let words = m.div_ceil(64);
        RankSet {
            bits: vec![0; words],
            summary: vec![0; words.div_ceil(64)],
        }
    }

    fn insert(&mut self, r: usize) {
        if let Some(w) = self.bits.get_mut(r / 64) {
            *w |= 1 << (r % 64);
        }
        if let Some(s) = self.summary.get_mut(r / 4096) {
            *s |= 1 << ((r / 64) % 64);
        }
    }

    /// Largest member below `r`.
    fn before(&self, r: usize) -> Option<usize> {
        let w = r / 64;
        let below = self.bits.get(w).copied().unwrap_or(0) & ((1u64 << (r % 64)) - 1);
        if below != 0 {
            return Some(w * 64 + 63 - below.leading_zeros() as usize);
        }
        let sw = w / 64;
        let mut mask = self.summary.get(sw).copied().unwrap_or(0) & ((1u64 << (w % 64)) - 1);
        let mut s = sw;
        loop {
            if mask != 0 {
                let word = s * 64 + 63 - mask.leading_zeros() as usize;
                let bits = self.bits.get(word).copied().unwrap_or(0);
                return Some(word * 64 + 63 - bits.leading_zeros() as usize);
            }
            if s == 0 {
                return None;
            }
            s -= 1;
            mask = self.summary.get(s).copied().unwrap_or(0);
        }
    }

    /// Smallest member above `r`.
    fn after(&self, r: usize) -> Option<usize> {
        let w = r / 64;
        let shift = r % 64;
        let above = if shift == 63 {
            0
        } else {
            self.bits.get(w).copied().unwrap_or(0) & (!0u64 << (shift + 1))
        };
        if above != 0 {
            return Some(w * 64 + above.trailing_zeros() as usize);
        }
        let sw = w / 64;
        let wshift = w % 64;
        let mut mask = if wshift == 63 {
            0
        } else {
            self.summary.get(sw).copied().unwrap_or(0) & (!0u64 << (wshift + 1))
        };
        let mut s = sw;
        loop {
            if mask != 0 {
                let word = s * 64 + mask.trailing_zeros() as usize;
                let bits = self.bits.get(word).copied().unwrap_or(0);
                return Some(word * 64 + bits.trailing_zeros() as usize);
            }
            s += 1;
            if s >= self.summary.len() {
                return None;
            }
            mask = self.summary.get(s).copied().unwrap_or(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The longest match by brute force, for comparison.
    fn naive(input: &[u8], kind: RefKind, i: usize) -> usize {
        let n = input.len();
        let mut best = 0;
        for p in 0..i {
            let mut l = 0;
            while i + l < n && l < MAX_LEN {
                let src = match kind {
                    RefKind::Forward => input.get(p + l).copied(),
                    RefKind::Reversed => input.get(p + l).map(|&b| BIT_REVERSED[usize::from(b)]),
                    RefKind::Backward => p.checked_sub(l).and_then(|q| input.get(q).copied()),
                };
                if src != input.get(i + l).copied() {
                    break;
                }
                l += 1;
            }
            best = best.max(l);
        }
        best
    }

    fn check(input: &[u8]) {
        for kind in [RefKind::Forward, RefKind::Reversed, RefKind::Backward] {
            let found = longest_matches(input, kind);
            for i in 0..input.len() {
                let m = found[i];
                assert_eq!(usize::from(m.len), naive(input, kind, i), "{kind:?} at {i}");
                // The offset really gives that length.
                let off = usize::from(m.off);
                if m.len > 0 {
                    assert!(off < i);
                    for k in 0..usize::from(m.len) {
                        let src = match kind {
                            RefKind::Forward => input[off + k],
                            RefKind::Reversed => BIT_REVERSED[usize::from(input[off + k])],
                            RefKind::Backward => input[off - k],
                        };
                        assert_eq!(src, input[i + k]);
                    }
                }
            }
        }
    }

    #[test]
    fn matches_equal_brute_force() {
        check(b"abcabcabcxabcab");
        check(b"aaaaaaaaaaaaaaaaaaaab");
        check(&[
            1, 3, 3, 3, 3, 3, 7, 7, 3, 3, 3, 3, 3, 1, 7, 3, 3, 3, 3, 3, 1,
        ]);
        check(&[
            1, 3, 3, 3, 3, 3, 7, 0x80, 0xC0, 0xC0, 0xC0, 0xC0, 0xC0, 0xE0, 0x80,
        ]);
        let mut state = 7u32;
        let noisy: Vec<u8> = (0..700)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                ((state >> 16) % 4) as u8
            })
            .collect();
        check(&noisy);
    }

    #[test]
    fn rank_set_neighbours() {
        let mut s = RankSet::new(10_000);
        for r in [3, 64, 65, 4095, 4096, 9000] {
            s.insert(r);
        }
        assert_eq!(s.before(3), None);
        assert_eq!(s.before(4), Some(3));
        assert_eq!(s.before(64), Some(3));
        assert_eq!(s.before(9000), Some(4096));
        assert_eq!(s.after(65), Some(4095));
        assert_eq!(s.after(4096), Some(9000));
        assert_eq!(s.after(9000), None);
        assert_eq!(s.after(0), Some(3));
    }
}
