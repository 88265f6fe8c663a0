//! The `.SubChunkTOC` chunk (since WAD 3.3; docs/overlay.md, "Subchunks"): 16-byte records
//! `u32 packed size, u32 uncompressed size, u64 XXH3_64 of the packed bytes`, indexed globally
//! across the WAD. A type-4 entry covers `subchunk_count` records from `subchunk_index`.

use modforge_core::Reader;

use super::{TocEntry, chunk_type};

/// One subchunk record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubchunkRecord {
    /// Length of the subchunk's packed bytes.
    pub packed_size: u32,
    /// Length of its uncompressed bytes (equal to `packed_size` for a raw subchunk).
    pub size: u32,
    /// XXH3_64 of the packed bytes.
    pub checksum: u64,
}

/// The decoded records of a `.SubChunkTOC` chunk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubchunkToc {
    records: Vec<SubchunkRecord>,
}

impl SubchunkToc {
    /// Parses decoded SubChunkTOC bytes; `None` when the length is not a multiple of 16.
    pub fn parse(bytes: &[u8]) -> Option<SubchunkToc> {
        if bytes.len() % 16 != 0 {
            return None;
        }
        let r = Reader::new(bytes);
        let mut records = Vec::with_capacity(bytes.len() / 16);
        for at in (0..bytes.len()).step_by(16) {
            records.push(SubchunkRecord {
                packed_size: r.u32_le_at(at).ok()?,
                size: r.u32_le_at(at + 4).ok()?,
                checksum: r.u64_le_at(at + 8).ok()?,
            });
        }
        Some(SubchunkToc { records })
    }

    /// Encodes records as SubChunkTOC bytes.
    pub fn encode(records: &[SubchunkRecord]) -> Vec<u8> {
        let mut out = Vec::with_capacity(records.len() * 16);
        for r in records {
            out.extend_from_slice(&r.packed_size.to_le_bytes());
            out.extend_from_slice(&r.size.to_le_bytes());
            out.extend_from_slice(&r.checksum.to_le_bytes());
        }
        out
    }

    /// All records.
    pub fn records(&self) -> &[SubchunkRecord] {
        &self.records
    }

    /// The records a type-4 entry covers, if they exist.
    pub fn of(&self, entry: &TocEntry) -> Option<&[SubchunkRecord]> {
        let start = usize::try_from(entry.subchunk_index).ok()?;
        let end = start.checked_add(usize::from(entry.subchunk_count))?;
        self.records.get(start..end)
    }

    /// Whether the records of every type-4 entry exist and add up to its sizes.
    pub fn covers(&self, entries: &[TocEntry]) -> bool {
        entries
            .iter()
            .filter(|e| e.chunk_type == chunk_type::ZSTD_MULTI)
            .all(|e| {
                self.of(e).is_some_and(|subs| {
                    let packed: u64 = subs.iter().map(|s| u64::from(s.packed_size)).sum();
                    let size: u64 = subs.iter().map(|s| u64::from(s.size)).sum();
                    packed == u64::from(e.packed_size) && size == u64::from(e.size)
                })
            })
    }
}

/// Finds the SubChunkTOC of a WAD whose entries are `entries`: the chunk at `expected` (the
/// hash derived from the WAD's game path) if it decodes and covers every type-4 entry, else the
/// smallest chunk whose uncompressed size is a multiple of 16 and at least 16 × the highest
/// record index used, and whose records cover them (ltk_wad requires the exact size, which an
/// overlay that replaced the highest-indexed subchunked entry no longer matches). `load` decodes
/// one entry. `None` when the WAD has no type-4 entry or no such chunk.
pub fn find_subchunk_toc(
    entries: &[TocEntry],
    expected: Option<u64>,
    mut load: impl FnMut(&TocEntry) -> Option<Vec<u8>>,
) -> Option<SubchunkToc> {
    let used = entries
        .iter()
        .filter(|e| e.chunk_type == chunk_type::ZSTD_MULTI)
        .map(|e| u64::from(e.subchunk_index) + u64::from(e.subchunk_count))
        .max()?;
    let mut try_entry = |e: &TocEntry| {
        load(e)
            .and_then(|bytes| SubchunkToc::parse(&bytes))
            .filter(|toc| toc.covers(entries))
    };
    if let Some(hash) = expected {
        if let Some(e) = entries.iter().find(|e| e.path_hash == hash) {
            if let Some(toc) = try_entry(e) {
                return Some(toc);
            }
        }
    }
    let mut candidates: Vec<&TocEntry> = entries
        .iter()
        .filter(|e| {
            let size = u64::from(e.size);
            size >= used * 16 && size % 16 == 0 && e.chunk_type != chunk_type::ZSTD_MULTI
        })
        .collect();
    candidates.sort_by_key(|e| (e.size, e.path_hash));
    candidates.into_iter().find_map(try_entry)
}
