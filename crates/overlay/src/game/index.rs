//! The game index payload (`modforge.overlay.game@1`, docs/overlay.md, "Game index payload"):
//!
//! ```text
//! 0   8  magic "MFOVGIX1"
//! 8   4  wad count W        12  4  hash count H       16  4  holder count K
//! 20  4  string bytes S     24  8  game fingerprint
//! 32     W × 48 wad records: key offset u32, key length u32, size u64, mtime_ns u64,
//!        entry count u32, major u8, minor u8, 2 pad, SubChunkTOC hash u64, reserved u64
//! …      H × u64 path hashes, strictly ascending
//! …      H × 32 infos: checksum u64, offset u32, packed u32, size u32, first holder u32,
//!        holder count u16, type u8, subchunk count u8          (of the first holder)
//! …      K × u16 holder WAD indices (ascending within each hash)
//! …      S bytes of UTF-8 keys
//! ```
//!
//! Every structure is validated before use ([`GameIndex::from_payload`]); queries are binary
//! searches over the mapped bytes, so loading costs no decoding.

use std::collections::HashMap;
use std::path::Path;

use modforge_core::{Control, Progress, Reader, Stage};
use modforge_store::{Fingerprint, FingerprintAlgorithm, Hooks, Snapshot, SnapshotId};
use rayon::prelude::*;

use super::{GameWad, path_of};
use crate::error::{Error, Result};
use crate::hash::subchunk_toc_hash;
use crate::report::{Warning, WarningCode};
use crate::wad::{TocEntry, read_toc};

/// The snapshot kind of the game index.
pub(crate) const INDEX_KIND: &str = "modforge.overlay.game@1";
const MAGIC: &[u8; 8] = b"MFOVGIX1";
const HEAD: usize = 32;
const WAD_REC: usize = 48;
const INFO_REC: usize = 32;
/// The most game WADs indexed (holder indices are u16).
pub const MAX_GAME_WADS: usize = u16::MAX as usize;

/// One game WAD of the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WadRecord {
    /// Key relative to the game folder.
    pub key: String,
    /// Size.
    pub size: u64,
    /// Modification time, ns.
    pub mtime_ns: u64,
    /// TOC entries.
    pub entry_count: u32,
    /// Version.
    pub major: u8,
    /// Version.
    pub minor: u8,
    /// The hash of its `.SubChunkTOC` chunk path.
    pub subchunk_toc: u64,
    /// Its lower-case file name.
    pub file_name: String,
}

/// What the index knows of one path hash (fields of its first holder).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashInfo {
    /// Entry checksum in the first holder.
    pub checksum: u64,
    /// Offset in the first holder.
    pub offset: u32,
    /// Packed size.
    pub packed_size: u32,
    /// Uncompressed size.
    pub size: u32,
    /// Chunk type.
    pub chunk_type: u8,
    /// Subchunk count.
    pub subchunk_count: u8,
    first: u32,
    count: u16,
}

impl HashInfo {
    /// Appends its 32-byte record (the layout [`GameIndex::info_at`] reads).
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.checksum.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.packed_size.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.first.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.push(self.chunk_type);
        out.push(self.subchunk_count);
        out.extend_from_slice(&[0u8; 4]);
    }
}

/// The payload's bytes: built in memory, or a range of a loaded snapshot (all of a game index
/// snapshot, the embedded part of a game slice).
pub(crate) enum Bytes {
    Owned(Vec<u8>),
    Mapped(Snapshot, std::ops::Range<usize>),
}

impl Bytes {
    fn get(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            Bytes::Mapped(s, range) => s.payload().get(range.clone()).unwrap_or_default(),
        }
    }
}

/// A validated game index.
pub struct GameIndex {
    bytes: Bytes,
    wads: Vec<WadRecord>,
    hash_count: usize,
    holder_count: usize,
    hashes_at: usize,
    infos_at: usize,
    holders_at: usize,
    fingerprint: u64,
    by_name: HashMap<String, Vec<u16>>,
    subchunk_tocs: std::collections::HashSet<u64>,
}

impl std::fmt::Debug for GameIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GameIndex")
            .field("wads", &self.wads.len())
            .field("hashes", &self.hash_count)
            .field("fingerprint", &format_args!("{:016x}", self.fingerprint))
            .finish()
    }
}

impl GameIndex {
    fn payload(&self) -> &[u8] {
        self.bytes.get()
    }

    /// The game fingerprint the index was built for.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Every indexed WAD, in key order.
    pub fn wads(&self) -> &[WadRecord] {
        &self.wads
    }

    /// Indexed path hashes.
    pub fn hash_count(&self) -> usize {
        self.hash_count
    }

    /// The WADs whose lower-case file name is `lower_name`.
    pub fn by_name(&self, lower_name: &str) -> &[u16] {
        self.by_name.get(lower_name).map_or(&[], Vec::as_slice)
    }

    /// Whether `hash` is the SubChunkTOC chunk of some game WAD.
    pub fn is_subchunk_toc(&self, hash: u64) -> bool {
        self.subchunk_tocs.contains(&hash)
    }

    fn hash_at(&self, i: usize) -> u64 {
        Reader::new(self.payload())
            .u64_le_at(self.hashes_at + i * 8)
            .unwrap_or(u64::MAX)
    }

    /// What the index knows of `hash`. Path hashes are XXH64 values, spread evenly, so the
    /// search interpolates: about 4 reads for 500k hashes where bisection needs 19, each read
    /// a likely cache miss in a 4 MB array. After 8 rounds (data that is not spread evenly,
    /// such as a hostile file) it bisects.
    pub fn lookup(&self, hash: u64) -> Option<HashInfo> {
        let (mut lo, mut hi) = (0usize, self.hash_count);
        let mut rounds = 0;
        while lo < hi {
            let (first, last) = (self.hash_at(lo), self.hash_at(hi - 1));
            if first <= last && (hash < first || hash > last) {
                return None;
            }
            let mid = if rounds < 8 && first <= hash && hash <= last {
                let span = u128::from(last - first).max(1);
                let at = u128::from(hash - first) * (hi - 1 - lo) as u128 / span;
                lo + usize::try_from(at).unwrap_or(0).min(hi - 1 - lo)
            } else {
                lo + (hi - lo) / 2
            };
            rounds += 1;
            let h = self.hash_at(mid);
            if h == hash {
                return self.info_at(mid);
            }
            if h < hash {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        None
    }

    fn info_at(&self, i: usize) -> Option<HashInfo> {
        let r = Reader::new(self.payload());
        let at = self.infos_at + i * INFO_REC;
        Some(HashInfo {
            checksum: r.u64_le_at(at).ok()?,
            offset: r.u32_le_at(at + 8).ok()?,
            packed_size: r.u32_le_at(at + 12).ok()?,
            size: r.u32_le_at(at + 16).ok()?,
            first: r.u32_le_at(at + 20).ok()?,
            count: r.u16_le_at(at + 24).ok()?,
            chunk_type: r.u8_at(at + 26).ok()?,
            subchunk_count: r.u8_at(at + 27).ok()?,
        })
    }

    /// The WADs (indices into [`GameIndex::wads`], ascending) holding the hash of `info`. A
    /// loaded index is checked shallowly (its checksum held), so a reference past the WAD table
    /// is dropped here rather than trusted.
    pub fn holders(&self, info: &HashInfo) -> Vec<u16> {
        let r = Reader::new(self.payload());
        (0..usize::from(info.count))
            .filter_map(|k| {
                r.u16_le_at(self.holders_at + (info.first as usize + k) * 2)
                    .ok()
            })
            .filter(|w| usize::from(*w) < self.wads.len())
            .collect()
    }

    /// The holders of `hash` (empty when no game WAD holds it).
    pub fn holders_of(&self, hash: u64) -> Vec<u16> {
        self.lookup(hash)
            .map(|i| self.holders(&i))
            .unwrap_or_default()
    }

    /// Validates a payload and wraps it. `deep` also checks ordering and every reference.
    pub(crate) fn from_payload(bytes: Bytes, deep: bool) -> Result<GameIndex> {
        let s = structure(bytes.get(), deep)?;
        let wads = s.wads;
        let mut by_name: HashMap<String, Vec<u16>> = HashMap::new();
        let mut subchunk_tocs = std::collections::HashSet::new();
        for (i, w) in wads.iter().enumerate() {
            by_name
                .entry(w.file_name.clone())
                .or_default()
                .push(i as u16);
            subchunk_tocs.insert(w.subchunk_toc);
        }
        Ok(GameIndex {
            bytes,
            wads,
            hash_count: s.hash_count,
            holder_count: s.holder_count,
            hashes_at: s.hashes_at,
            infos_at: s.infos_at,
            holders_at: s.holders_at,
            fingerprint: s.fingerprint,
            by_name,
            subchunk_tocs,
        })
    }

    /// Total holder references.
    pub fn holder_count(&self) -> usize {
        self.holder_count
    }

    /// The payload bytes (saved by the store).
    pub fn payload_bytes(&self) -> &[u8] {
        self.payload()
    }

    /// The payload of an index with the same WADs that holds only those of `asked` (ascending)
    /// the game holds, and the asked hashes no game WAD holds (the two parts of a game slice,
    /// docs/overlay.md, "Game slice"). The WAD table and keys are copied as they are.
    pub(crate) fn subset(&self, asked: &[u64]) -> Result<(Vec<u8>, Vec<u64>)> {
        let p = self.payload();
        let mut hashes = Vec::new();
        let mut infos = Vec::new();
        let mut holders: Vec<u8> = Vec::new();
        let mut absent = Vec::new();
        for &h in asked {
            let Some(info) = self.lookup(h) else {
                absent.push(h);
                continue;
            };
            let first = u32::try_from(holders.len() / 2)
                .map_err(|_| Error::Limit("game slice: holders".into()))?;
            let at = self.holders_at + info.first as usize * 2;
            let own = p
                .get(at..at + usize::from(info.count) * 2)
                .ok_or_else(|| bad(at, "holders out of range"))?;
            holders.extend_from_slice(own);
            hashes.extend_from_slice(&h.to_le_bytes());
            HashInfo { first, ..info }.encode(&mut infos);
        }
        let wad_table = p
            .get(HEAD..self.hashes_at)
            .ok_or_else(|| bad(HEAD, "WAD table out of range"))?;
        let strings = p
            .get(self.holders_at + self.holder_count * 2..)
            .ok_or_else(|| bad(self.holders_at, "keys out of range"))?;
        let mut out = Vec::with_capacity(
            HEAD + wad_table.len() + hashes.len() + infos.len() + holders.len() + strings.len(),
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.wads.len() as u32).to_le_bytes());
        out.extend_from_slice(&((hashes.len() / 8) as u32).to_le_bytes());
        out.extend_from_slice(&((holders.len() / 2) as u32).to_le_bytes());
        out.extend_from_slice(&(strings.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.fingerprint.to_le_bytes());
        out.extend_from_slice(wad_table);
        out.extend_from_slice(&hashes);
        out.extend_from_slice(&infos);
        out.extend_from_slice(&holders);
        out.extend_from_slice(strings);
        Ok((out, absent))
    }

    /// The high 32 bits of every indexed path hash, ascending, without repeats.
    pub(crate) fn prefixes(&self) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::with_capacity(self.hash_count);
        for i in 0..self.hash_count {
            let top = (self.hash_at(i) >> 32) as u32;
            if out.last() != Some(&top) {
                out.push(top);
            }
        }
        out
    }
}

/// The validated shape of a payload.
pub(crate) struct Structure {
    pub wads: Vec<WadRecord>,
    pub hash_count: usize,
    pub holder_count: usize,
    pub hashes_at: usize,
    pub infos_at: usize,
    pub holders_at: usize,
    pub fingerprint: u64,
}

fn bad(offset: usize, what: impl Into<String>) -> Error {
    Error::corrupt("game index payload", Some(offset as u64), what)
}

/// Checks a payload's structure (`deep`: also order and every reference).
pub(crate) fn structure(p: &[u8], deep: bool) -> Result<Structure> {
    let r = Reader::new(p);
    let oob = |e: modforge_core::OutOfBounds| bad(e.offset as usize, "truncated");
    if r.slice_at(0, 8).map_err(oob)? != MAGIC {
        return Err(bad(0, "not a game index payload"));
    }
    let wad_count = r.u32_le_at(8).map_err(oob)? as usize;
    let hash_count = r.u32_le_at(12).map_err(oob)? as usize;
    let holder_count = r.u32_le_at(16).map_err(oob)? as usize;
    let strings_len = r.u32_le_at(20).map_err(oob)? as usize;
    let fingerprint = r.u64_le_at(24).map_err(oob)?;
    if wad_count > MAX_GAME_WADS {
        return Err(bad(
            8,
            format!("{wad_count} WADs (at most {MAX_GAME_WADS})"),
        ));
    }
    let expected = (HEAD as u128)
        + (wad_count as u128) * (WAD_REC as u128)
        + (hash_count as u128) * (8 + INFO_REC as u128)
        + (holder_count as u128) * 2
        + strings_len as u128;
    if expected != p.len() as u128 {
        return Err(bad(
            8,
            format!(
                "counts describe {expected} bytes, the payload has {}",
                p.len()
            ),
        ));
    }
    let hashes_at = HEAD + wad_count * WAD_REC;
    let infos_at = hashes_at + hash_count * 8;
    let holders_at = infos_at + hash_count * INFO_REC;
    let strings_at = holders_at + holder_count * 2;
    let strings = r.slice_at(strings_at, strings_len).map_err(oob)?;
    let mut wads = Vec::with_capacity(wad_count);
    for i in 0..wad_count {
        let at = HEAD + i * WAD_REC;
        let off = r.u32_le_at(at).map_err(oob)? as usize;
        let len = r.u32_le_at(at + 4).map_err(oob)? as usize;
        let key = off
            .checked_add(len)
            .and_then(|end| strings.get(off..end))
            .and_then(|b| std::str::from_utf8(b).ok())
            .ok_or_else(|| bad(at, format!("WAD {i}: key out of range or not UTF-8")))?;
        let file_name = key.rsplit('/').next().unwrap_or(key).to_lowercase();
        wads.push(WadRecord {
            key: key.to_owned(),
            size: r.u64_le_at(at + 8).map_err(oob)?,
            mtime_ns: r.u64_le_at(at + 16).map_err(oob)?,
            entry_count: r.u32_le_at(at + 24).map_err(oob)?,
            major: r.u8_at(at + 28).map_err(oob)?,
            minor: r.u8_at(at + 29).map_err(oob)?,
            subchunk_toc: r.u64_le_at(at + 32).map_err(oob)?,
            file_name,
        });
    }
    if deep {
        let mut prev: Option<u64> = None;
        for i in 0..hash_count {
            let h = r.u64_le_at(hashes_at + i * 8).map_err(oob)?;
            if prev.is_some_and(|p| p >= h) {
                return Err(bad(hashes_at + i * 8, "path hashes not strictly ascending"));
            }
            prev = Some(h);
            let at = infos_at + i * INFO_REC;
            let first = r.u32_le_at(at + 20).map_err(oob)? as usize;
            let count = usize::from(r.u16_le_at(at + 24).map_err(oob)?);
            if count == 0
                || first
                    .checked_add(count)
                    .is_none_or(|end| end > holder_count)
            {
                return Err(bad(at + 20, format!("hash {i}: holders out of range")));
            }
        }
        for k in 0..holder_count {
            let w = usize::from(r.u16_le_at(holders_at + k * 2).map_err(oob)?);
            if w >= wad_count {
                return Err(bad(
                    holders_at + k * 2,
                    format!("holder {k}: WAD {w} out of range"),
                ));
            }
        }
    }
    Ok(Structure {
        wads,
        hash_count,
        holder_count,
        hashes_at,
        infos_at,
        holders_at,
        fingerprint,
    })
}

/// Builds the index by reading every game WAD's TOC in parallel. A WAD whose TOC cannot be
/// read is left out with a warning.
pub(crate) fn build(
    game_dir: &Path,
    wads: &[GameWad],
    fingerprint: u64,
    control: &Control<'_>,
) -> Result<(GameIndex, Vec<Warning>, u64)> {
    if wads.len() > MAX_GAME_WADS {
        return Err(Error::Limit(format!(
            "{} game WADs (at most {MAX_GAME_WADS} are indexed)",
            wads.len()
        )));
    }
    let done = std::sync::atomic::AtomicU64::new(0);
    let total = wads.len() as u64;
    let tocs: Vec<Result<std::result::Result<crate::wad::Toc, Error>>> = wads
        .par_iter()
        .map(|w| {
            control.check()?;
            let toc = read_toc(&path_of(game_dir, &w.key));
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            control.report(Progress::of(Stage::Index, n, total).at(&w.key));
            Ok(toc)
        })
        .collect();
    let mut warnings = Vec::new();
    let mut kept: Vec<(&GameWad, crate::wad::Toc)> = Vec::with_capacity(wads.len());
    let mut read_bytes = 0u64;
    for (w, t) in wads.iter().zip(tocs) {
        match t? {
            Ok(toc) => {
                read_bytes += toc.toc_end();
                kept.push((w, toc));
            }
            Err(Error::Aborted) => return Err(Error::Aborted),
            Err(e) => warnings.push(
                Warning::new(
                    WarningCode::GameWadUnreadable,
                    format!("{} is not indexed: {e}", w.key),
                )
                .in_wad(w.key.clone()),
            ),
        }
    }
    let payload = encode(&kept, fingerprint)?;
    let index = GameIndex::from_payload(Bytes::Owned(payload), false)?;
    Ok((index, warnings, read_bytes))
}

/// Encodes the payload of `wads` (in key order) and their TOCs.
fn encode(wads: &[(&GameWad, crate::wad::Toc)], fingerprint: u64) -> Result<Vec<u8>> {
    let mut rows: Vec<(u64, u16, TocEntry)> = Vec::new();
    for (i, (_, toc)) in wads.iter().enumerate() {
        let mut seen = std::collections::HashSet::with_capacity(toc.entries.len());
        for e in &toc.entries {
            if seen.insert(e.path_hash) {
                rows.push((e.path_hash, i as u16, *e));
            }
        }
    }
    rows.par_sort_unstable_by_key(|(h, w, _)| (*h, *w));
    let mut strings = Vec::new();
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    let mut hashes = Vec::new();
    let mut infos = Vec::new();
    let mut holders: Vec<u8> = Vec::with_capacity(rows.len() * 2);
    let mut i = 0;
    while i < rows.len() {
        let (h, _, first) = rows[i];
        let start = holders.len() / 2;
        let mut j = i;
        while j < rows.len() && rows[j].0 == h {
            holders.extend_from_slice(&rows[j].1.to_le_bytes());
            j += 1;
        }
        let count = u16::try_from(j - i).map_err(|_| Error::Limit("holders of one hash".into()))?;
        hashes.extend_from_slice(&h.to_le_bytes());
        HashInfo {
            checksum: first.checksum,
            offset: first.offset,
            packed_size: first.packed_size,
            size: first.size,
            chunk_type: first.chunk_type,
            subchunk_count: first.subchunk_count,
            first: start as u32,
            count,
        }
        .encode(&mut infos);
        i = j;
    }
    let u32_of = |v: usize, what: &str| {
        u32::try_from(v).map_err(|_| Error::Limit(format!("game index: {v} {what}")))
    };
    out.extend_from_slice(&u32_of(wads.len(), "WADs")?.to_le_bytes());
    out.extend_from_slice(&u32_of(hashes.len() / 8, "hashes")?.to_le_bytes());
    out.extend_from_slice(&u32_of(holders.len() / 2, "holders")?.to_le_bytes());
    let strings_len: usize = wads.iter().map(|(w, _)| w.key.len()).sum();
    out.extend_from_slice(&u32_of(strings_len, "key bytes")?.to_le_bytes());
    out.extend_from_slice(&fingerprint.to_le_bytes());
    for (w, toc) in wads {
        out.extend_from_slice(&u32_of(strings.len(), "key bytes")?.to_le_bytes());
        out.extend_from_slice(&u32_of(w.key.len(), "key bytes")?.to_le_bytes());
        strings.extend_from_slice(w.key.as_bytes());
        out.extend_from_slice(&w.size.to_le_bytes());
        out.extend_from_slice(&w.mtime_ns.to_le_bytes());
        out.extend_from_slice(&u32_of(toc.entries.len(), "entries")?.to_le_bytes());
        out.push(toc.major);
        out.push(toc.minor);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&subchunk_toc_hash(&w.key).to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes());
    }
    out.extend_from_slice(&hashes);
    out.extend_from_slice(&infos);
    out.extend_from_slice(&holders);
    out.extend_from_slice(&strings);
    Ok(out)
}

fn snapshot_id(state_dir: &Path) -> Result<SnapshotId> {
    Ok(SnapshotId::new(
        state_dir.join("cache"),
        "game-index",
        "1",
        INDEX_KIND,
    )?)
}

/// The store fingerprint standing for a game fingerprint.
pub(crate) fn store_fingerprint(fp: u64) -> Fingerprint {
    let mut value = [0u8; 32];
    value[..8].copy_from_slice(&fp.to_le_bytes());
    Fingerprint::from_parts(FingerprintAlgorithm::Stat, value)
}

/// Loads the index saved for game fingerprint `fp`, if there is a valid one.
pub(crate) fn load(state_dir: &Path, fp: u64) -> Result<Option<GameIndex>> {
    let id = snapshot_id(state_dir)?;
    match modforge_store::load(&id, &store_fingerprint(fp)) {
        Ok(snapshot) => {
            let whole = 0..snapshot.payload().len();
            match GameIndex::from_payload(Bytes::Mapped(snapshot, whole), false) {
                Ok(index) if index.fingerprint() == fp => Ok(Some(index)),
                _ => Ok(None),
            }
        }
        Err(_) => Ok(None),
    }
}

/// Saves an index payload built for game fingerprint `fp` (atomic).
pub(crate) fn save(state_dir: &Path, fp: u64, payload: &[u8]) -> Result<()> {
    let id = snapshot_id(state_dir)?;
    modforge_store::write(&id, &store_fingerprint(fp), payload, &Hooks::default())?;
    Ok(())
}
