//! The tail layout of an overlay WAD (docs/overlay.md, "Output layout"), planned without I/O:
//!
//! ```text
//! [272-byte header][TOC: 32 × capacity, slots past the entry count zeroed]
//! [source region: the game WAD's bytes [s0, s1) copied verbatim]     at D = 272 + 32 × capacity
//! [tail: each distinct override's packed bytes, ascending path hash] at T = D + (s1 − s0)
//! ```
//!
//! Pass-through entries keep every field but the offset (`offset + D − s0`); overridden
//! originals stay in the region unreferenced. The capacity reserves `slack` slots in steps
//! determined by the source's entry count only, so an incremental rebuild and a clean build of
//! the same override set give the same bytes, and adding a few entries keeps `D` (and so the
//! region) in place. Every offset, size and end must fit in u32.

use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Error, Result};
use crate::wad::{TocEntry, V3_ENTRY_LEN, V3_HEADER_LEN, V3_SIGNATURE_LEN, WadImage, chunk_type};

/// The fields of one override as the planner needs them; `rep` identifies its packed bytes
/// (equal `rep` = the same bytes, written once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedOverride {
    /// Path hash.
    pub path_hash: u64,
    /// Identity of the packed bytes.
    pub rep: usize,
    /// 0 or 3.
    pub chunk_type: u8,
    /// Packed length (u64, so oversized inputs can be planned and rejected).
    pub packed_len: u64,
    /// Uncompressed length.
    pub size: u64,
    /// XXH3_64 of the packed bytes.
    pub checksum: u64,
}

/// A planned overlay WAD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Final TOC, ascending path hash, offsets set.
    pub entries: Vec<TocEntry>,
    /// TOC slots (≥ entry count).
    pub toc_capacity: u32,
    /// `D`: where the source region is placed.
    pub data_region_offset: u64,
    /// `s0`.
    pub region_start: u64,
    /// `s1`.
    pub region_end: u64,
    /// `T`: where the tail starts.
    pub tail_offset: u64,
    /// Distinct override bytes in tail order: (offset, rep).
    pub tail: Vec<(u64, usize)>,
    /// File length.
    pub len: u64,
    /// Path hashes of type-4 source entries replaced by an override.
    pub subchunked_overrides: Vec<u64>,
}

impl Layout {
    /// `D − s0`.
    pub fn offset_delta(&self) -> i64 {
        self.data_region_offset as i64 - self.region_start as i64
    }

    /// The header and TOC bytes (`D` bytes: header, entries, zeroed slots).
    pub fn header_bytes(&self, signature: &[u8; V3_SIGNATURE_LEN]) -> Result<Vec<u8>> {
        WadImage {
            major: 3,
            minor: 4,
            signature: signature.to_vec(),
            checksum: None,
            entries: self.entries.clone(),
            toc_capacity: self.toc_capacity,
        }
        .header_and_toc()
    }
}

/// TOC slots for `count` entries over a source of `source_count`: `count` when `slack` is 0,
/// else `source_count + slack × (⌊(count − source_count) / slack⌋ + 1)`.
pub fn toc_capacity(source_count: u64, count: u64, slack: u32) -> u64 {
    if slack == 0 {
        return count;
    }
    let slack = u64::from(slack);
    let extra = count.saturating_sub(source_count);
    source_count + slack * (extra / slack + 1)
}

/// Plans an overlay WAD from the source's entries (any order; the first of duplicate hashes
/// counts) and the overrides (one per path hash). `packed_of` gives a source entry's packed
/// bytes when the source is 3.0, whose entry checksums are recomputed.
pub fn plan(
    source: &[TocEntry],
    source_minor: u8,
    overrides: &[PlannedOverride],
    slack: u32,
    mut packed_of: impl FnMut(&TocEntry) -> Result<Vec<u8>>,
) -> Result<Layout> {
    let mut src: Vec<TocEntry> = Vec::with_capacity(source.len());
    {
        let mut seen = std::collections::HashSet::with_capacity(source.len());
        for e in source {
            if seen.insert(e.path_hash) {
                src.push(*e);
            }
        }
    }
    src.sort_unstable_by_key(|e| e.path_hash);
    let mut ovr: Vec<PlannedOverride> = overrides.to_vec();
    ovr.sort_unstable_by_key(|o| o.path_hash);
    ovr.dedup_by_key(|o| o.path_hash);

    let (region_start, region_end) = src
        .iter()
        .filter(|e| e.packed_size > 0)
        .fold(None, |acc: Option<(u64, u64)>, e| {
            let (lo, hi) = (u64::from(e.offset), e.end());
            Some(acc.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))))
        })
        .unwrap_or((0, 0));

    let mut count = src.len() as u64;
    {
        let mut i = 0;
        for o in &ovr {
            while i < src.len() && src[i].path_hash < o.path_hash {
                i += 1;
            }
            if src.get(i).is_none_or(|e| e.path_hash != o.path_hash) {
                count += 1;
            }
        }
    }
    let capacity = toc_capacity(src.len() as u64, count, slack);
    let capacity = u32::try_from(capacity)
        .map_err(|_| Error::Limit(format!("TOC of {capacity} entries beyond u32")))?;
    let data_region_offset = V3_HEADER_LEN + V3_ENTRY_LEN * u64::from(capacity);
    let tail_offset = data_region_offset + (region_end - region_start);

    let mut tail: Vec<(u64, usize)> = Vec::new();
    let mut rep_offset: std::collections::HashMap<usize, u64> = std::collections::HashMap::new();
    let mut at = tail_offset;
    let mut placed: Vec<(PlannedOverride, u64)> = Vec::with_capacity(ovr.len());
    for o in &ovr {
        let offset = match rep_offset.get(&o.rep) {
            Some(off) => *off,
            None => {
                let off = at;
                at = at
                    .checked_add(o.packed_len)
                    .ok_or_else(|| Error::Limit("WAD size overflows".into()))?;
                rep_offset.insert(o.rep, off);
                tail.push((off, o.rep));
                off
            }
        };
        placed.push((*o, offset));
    }
    let len = at;
    if len > u64::from(u32::MAX) {
        return Err(Error::Limit(format!(
            "overlay WAD of {len} bytes: offsets and sizes must fit in u32 (at most {} bytes)",
            u32::MAX
        )));
    }

    let fit = |v: u64, what: &str| {
        u32::try_from(v).map_err(|_| Error::Limit(format!("{what} {v} beyond u32")))
    };
    let delta = data_region_offset as i64 - region_start as i64;
    let mut entries = Vec::with_capacity(count as usize);
    let mut subchunked = Vec::new();
    let mut pi = placed.iter().peekable();
    for e in &src {
        while let Some((o, off)) = pi.peek() {
            if o.path_hash >= e.path_hash {
                break;
            }
            entries.push(override_entry(o, *off, &fit)?);
            pi.next();
        }
        if let Some((o, off)) = pi.peek() {
            if o.path_hash == e.path_hash {
                if e.chunk_type == chunk_type::ZSTD_MULTI {
                    subchunked.push(e.path_hash);
                }
                entries.push(override_entry(o, *off, &fit)?);
                pi.next();
                continue;
            }
        }
        let mut moved = *e;
        moved.duplicate = false;
        let start = u64::from(e.offset);
        moved.offset = if e.packed_size == 0 && !(region_start..=region_end).contains(&start) {
            fit(data_region_offset, "offset")?
        } else {
            fit((start as i64 + delta) as u64, "offset")?
        };
        if source_minor == 0 {
            moved.checksum = xxh3_64(&packed_of(e)?);
        }
        entries.push(moved);
    }
    for (o, off) in pi {
        entries.push(override_entry(o, *off, &fit)?);
    }
    Ok(Layout {
        entries,
        toc_capacity: capacity,
        data_region_offset,
        region_start,
        region_end,
        tail_offset,
        tail,
        len,
        subchunked_overrides: subchunked,
    })
}

fn override_entry(
    o: &PlannedOverride,
    offset: u64,
    fit: &impl Fn(u64, &str) -> Result<u32>,
) -> Result<TocEntry> {
    Ok(TocEntry {
        path_hash: o.path_hash,
        offset: fit(offset, "offset")?,
        packed_size: fit(o.packed_len, "packed size")?,
        size: fit(o.size, "size")?,
        chunk_type: o.chunk_type,
        subchunk_count: 0,
        subchunk_index: 0,
        duplicate: false,
        checksum: o.checksum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(hash: u64, offset: u32, packed: u32, kind: u8) -> TocEntry {
        TocEntry {
            path_hash: hash,
            offset,
            packed_size: packed,
            size: packed,
            chunk_type: kind,
            subchunk_count: if kind == 4 { 2 } else { 0 },
            subchunk_index: if kind == 4 { 7 } else { 0 },
            duplicate: false,
            checksum: hash * 3,
        }
    }

    fn ovr(hash: u64, rep: usize, len: u64) -> PlannedOverride {
        PlannedOverride {
            path_hash: hash,
            rep,
            chunk_type: 3,
            packed_len: len,
            size: len * 2,
            checksum: 99,
        }
    }

    #[test]
    fn capacity_steps_depend_on_the_source_only() {
        assert_eq!(toc_capacity(10, 10, 0), 10);
        assert_eq!(toc_capacity(10, 12, 0), 12);
        assert_eq!(toc_capacity(10, 10, 2048), 2058);
        assert_eq!(toc_capacity(10, 2057, 2048), 2058);
        assert_eq!(toc_capacity(10, 2058, 2048), 4106);
    }

    #[test]
    fn tail_layout_with_shared_reps_and_type4_replacement() {
        let source = [src(5, 400, 10, 3), src(1, 304, 20, 4), src(9, 324, 0, 0)];
        let overrides = [ovr(1, 0, 8), ovr(7, 0, 8), ovr(8, 1, 4)];
        let l = plan(&source, 4, &overrides, 0, |_| unreachable!()).unwrap();
        assert_eq!(l.toc_capacity, 5);
        assert_eq!(l.data_region_offset, 272 + 160);
        assert_eq!((l.region_start, l.region_end), (304, 410));
        assert_eq!(l.tail_offset, 432 + 106);
        assert_eq!(l.tail, vec![(538, 0), (546, 1)]);
        assert_eq!(l.len, 550);
        let hashes: Vec<u64> = l.entries.iter().map(|e| e.path_hash).collect();
        assert_eq!(hashes, vec![1, 5, 7, 8, 9]);
        assert_eq!(l.entries[0].offset, 538);
        assert_eq!(l.entries[0].chunk_type, 3);
        assert_eq!(
            (l.entries[0].subchunk_count, l.entries[0].subchunk_index),
            (0, 0)
        );
        assert_eq!(l.entries[2].offset, 538, "equal bytes share one tail range");
        assert_eq!(l.entries[1].offset, 400 - 304 + 432);
        assert_eq!(l.entries[1].checksum, 15);
        assert_eq!(l.entries[4].offset, 324 - 304 + 432);
        assert_eq!(l.subchunked_overrides, vec![1]);
        assert_eq!(l.offset_delta(), 128);
    }

    #[test]
    fn sizes_beyond_u32_are_limit_errors() {
        let source = [src(5, 272, 10, 3)];
        let huge = [ovr(1, 0, u64::from(u32::MAX))];
        assert!(matches!(
            plan(&source, 4, &huge, 0, |_| unreachable!()),
            Err(Error::Limit(_))
        ));
        let two = [ovr(1, 0, 3_000_000_000), ovr(2, 1, 2_000_000_000)];
        assert!(matches!(
            plan(&source, 4, &two, 0, |_| unreachable!()),
            Err(Error::Limit(_))
        ));
        let mut big_size = ovr(1, 0, 10);
        big_size.size = 1 << 33;
        assert!(matches!(
            plan(&source, 4, &[big_size], 0, |_| unreachable!()),
            Err(Error::Limit(_))
        ));
    }
}
