//! The memo of game content hashes (`modforge.overlay.memo@1`): XXH3_64 of the uncompressed
//! bytes of a game chunk, computed on demand (only for overridden hashes whose size matches the
//! game's, docs/overlay.md, "Lazy filter") from the chunk's first holder in key order, and kept
//! across builds until the game changes.
//!
//! ```text
//! 0  8  magic "MFOVMEM1"      8  8  game fingerprint      16  8  count N
//! 24    N × (path hash u64, content hash u64), path hashes strictly ascending
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::Path;

use modforge_core::{Control, Reader};
use modforge_store::{Hooks, SnapshotId};
use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use super::index::store_fingerprint;
use super::{GameIndex, path_of};
use crate::error::{Error, Result, label};
use crate::io::read_exact_at;
use crate::meter::Meter;
use crate::wad::{TocEntry, chunk_type, decode_chunk, find_subchunk_toc, read_toc_from};

/// The snapshot kind of the memo.
pub(crate) const MEMO_KIND: &str = "modforge.overlay.memo@1";
const MAGIC: &[u8; 8] = b"MFOVMEM1";

/// Game content hashes by path hash.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Memo {
    map: HashMap<u64, u64>,
    grown: bool,
}

impl Memo {
    /// The content hash of the game chunk `hash`, if computed.
    pub fn get(&self, hash: u64) -> Option<u64> {
        self.map.get(&hash).copied()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Whether entries were added since loading.
    pub fn grown(&self) -> bool {
        self.grown
    }

    fn insert(&mut self, hash: u64, content: u64) {
        if self.map.insert(hash, content).is_none() {
            self.grown = true;
        }
    }

    /// The payload bytes.
    pub(crate) fn encode(&self, fingerprint: u64) -> Vec<u8> {
        let mut pairs: Vec<(u64, u64)> = self.map.iter().map(|(k, v)| (*k, *v)).collect();
        pairs.sort_unstable();
        let mut out = Vec::with_capacity(24 + pairs.len() * 16);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&fingerprint.to_le_bytes());
        out.extend_from_slice(&(pairs.len() as u64).to_le_bytes());
        for (k, v) in pairs {
            out.extend_from_slice(&k.to_le_bytes());
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Decodes and validates a payload (`deep` checks the order too).
    pub(crate) fn decode(p: &[u8], deep: bool) -> Result<(Memo, u64)> {
        let r = Reader::new(p);
        let bad = |at: u64, what: &str| Error::corrupt("memo payload", Some(at), what);
        if r.slice_at(0, 8).ok() != Some(&MAGIC[..]) {
            return Err(bad(0, "not a memo payload"));
        }
        let fp = r.u64_le_at(8).map_err(|_| bad(8, "truncated"))?;
        let count = r.u64_le_at(16).map_err(|_| bad(16, "truncated"))?;
        if u128::from(count) * 16 + 24 != p.len() as u128 {
            return Err(bad(16, "count does not match the payload length"));
        }
        let mut map = HashMap::with_capacity(count as usize);
        let mut prev = None;
        for i in 0..count as usize {
            let at = 24 + i * 16;
            let k = r.u64_le_at(at).map_err(|_| bad(at as u64, "truncated"))?;
            let v = r
                .u64_le_at(at + 8)
                .map_err(|_| bad(at as u64, "truncated"))?;
            if deep && prev.is_some_and(|p| p >= k) {
                return Err(bad(at as u64, "path hashes not strictly ascending"));
            }
            prev = Some(k);
            map.insert(k, v);
        }
        Ok((Memo { map, grown: false }, fp))
    }
}

fn snapshot_id(state_dir: &Path) -> Result<SnapshotId> {
    Ok(SnapshotId::new(
        state_dir.join("cache"),
        "game-memo",
        "1",
        MEMO_KIND,
    )?)
}

/// Loads the memo saved for game fingerprint `fp` (empty when there is none).
pub(crate) fn load(state_dir: &Path, fp: u64) -> Memo {
    let Ok(id) = snapshot_id(state_dir) else {
        return Memo::default();
    };
    match modforge_store::load(&id, &store_fingerprint(fp)) {
        Ok(snapshot) => match Memo::decode(snapshot.payload(), false) {
            Ok((memo, stored)) if stored == fp => memo,
            _ => Memo::default(),
        },
        Err(_) => Memo::default(),
    }
}

/// Saves the memo (atomic).
pub(crate) fn save(state_dir: &Path, fp: u64, memo: &Memo) -> Result<()> {
    let id = snapshot_id(state_dir)?;
    modforge_store::write(
        &id,
        &store_fingerprint(fp),
        &memo.encode(fp),
        &Hooks::default(),
    )?;
    Ok(())
}

/// Computes the content hashes of `hashes` missing from the memo, reading each chunk from its
/// first holder; every WAD is opened once and the WADs are read in parallel. A chunk that cannot
/// be decoded gets no entry (it then never equals an override).
pub(crate) fn fill(
    game_dir: &Path,
    index: &GameIndex,
    memo: &mut Memo,
    hashes: &[u64],
    meter: &Meter,
    control: &Control<'_>,
) -> Result<()> {
    let mut groups: BTreeMap<u16, Vec<(u64, super::HashInfo)>> = BTreeMap::new();
    for &h in hashes {
        if memo.get(h).is_some() {
            continue;
        }
        if let Some(info) = index.lookup(h) {
            if let Some(&first) = index.holders(&info).first() {
                groups.entry(first).or_default().push((h, info));
            }
        }
    }
    let groups: Vec<(u16, Vec<(u64, super::HashInfo)>)> = groups.into_iter().collect();
    let results: Vec<Result<Vec<(u64, u64)>>> = groups
        .par_iter()
        .map(|(wad, wanted)| {
            control.check()?;
            let Some(record) = index.wads().get(usize::from(*wad)) else {
                return Ok(Vec::new());
            };
            hash_from_wad(
                &path_of(game_dir, &record.key),
                record.subchunk_toc,
                wanted,
                meter,
                control,
            )
        })
        .collect();
    for r in results {
        for (h, c) in r? {
            memo.insert(h, c);
        }
    }
    Ok(())
}

fn hash_from_wad(
    path: &Path,
    subchunk_toc: u64,
    wanted: &[(u64, super::HashInfo)],
    meter: &Meter,
    control: &Control<'_>,
) -> Result<Vec<(u64, u64)>> {
    let name = label(path);
    let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("stat", path, e))?
        .len();
    let read = |e: &TocEntry| -> Option<Vec<u8>> {
        if e.end() > len {
            return None;
        }
        let mut buf = vec![0u8; e.packed_size as usize];
        read_exact_at(&file, &mut buf, u64::from(e.offset)).ok()?;
        meter.game_read(buf.len() as u64);
        Some(buf)
    };
    let needs_toc = wanted
        .iter()
        .any(|(_, i)| i.chunk_type == chunk_type::ZSTD_MULTI);
    let (entries, subchunks) = if needs_toc {
        let toc = read_toc_from(&file, len, &name, path)?;
        meter.game_read(toc.toc_end());
        let subs = find_subchunk_toc(&toc.entries, Some(subchunk_toc), |e| {
            let packed = read(e)?;
            decode_chunk(e, &packed, None, &name).ok()
        });
        let map: HashMap<u64, TocEntry> = toc.entries.iter().map(|e| (e.path_hash, *e)).collect();
        (Some(map), subs)
    } else {
        (None, None)
    };
    let mut out = Vec::with_capacity(wanted.len());
    for (h, info) in wanted {
        control.check()?;
        let entry = match &entries {
            Some(map) => match map.get(h) {
                Some(e) => *e,
                None => continue,
            },
            None => TocEntry {
                path_hash: *h,
                offset: info.offset,
                packed_size: info.packed_size,
                size: info.size,
                chunk_type: info.chunk_type,
                subchunk_count: info.subchunk_count,
                subchunk_index: 0,
                duplicate: false,
                checksum: info.checksum,
            },
        };
        let Some(packed) = read(&entry) else { continue };
        if let Ok(plain) = decode_chunk(&entry, &packed, subchunks.as_ref(), &name) {
            out.push((*h, xxh3_64(&plain)));
        }
    }
    Ok(out)
}
