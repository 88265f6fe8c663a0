//! The game slice (`modforge.overlay.slice@1`, docs/overlay.md, "Game slice"): what the game index
//! says about the path hashes an earlier build's mods asked about, and a membership test for the
//! rest, so a build whose mods add no path the game may hold reads a few MB instead of the index.
//!
//! ```text
//! 0   8  magic "MFOVSLC1"       8  8  game fingerprint
//! 16  4  index bytes L          20  4  absent count A      24  4  prefix count P      28  4  zero
//! 32     L bytes: a game index payload with every WAD and the asked hashes the game holds
//! …      A × u64: asked hashes no game WAD holds, strictly ascending
//! …      P × u32: the high 32 bits of every path hash of the game, strictly ascending
//! ```

use std::path::Path;

use modforge_core::Reader;
use modforge_store::{Hooks, SnapshotId};

use super::index::{Bytes, store_fingerprint};
use super::{GameIndex, HashInfo};
use crate::error::{Error, Result};

/// The snapshot kind of the game slice.
pub(crate) const SLICE_KIND: &str = "modforge.overlay.slice@1";
/// The magic of a game slice payload.
pub(crate) const SLICE_MAGIC: &[u8; 8] = b"MFOVSLC1";
const HEAD: usize = 32;

/// What the slice says about one path hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The game holds it; the index's record of it.
    Held(HashInfo),
    /// No game WAD holds it.
    Absent,
    /// The slice cannot tell: only the full index can.
    Unknown,
}

/// A validated game slice.
pub(crate) struct Slice {
    index: GameIndex,
    snapshot: modforge_store::Snapshot,
    absent_at: usize,
    absent_count: usize,
    prefixes_at: usize,
    prefix_count: usize,
}

/// The validated shape of a slice payload.
pub(crate) struct SliceShape {
    /// The game fingerprint.
    pub fingerprint: u64,
    /// Where the embedded index payload lies.
    pub index: std::ops::Range<usize>,
    /// Offset and count of the absent hashes.
    pub absent: (usize, usize),
    /// Offset and count of the prefixes.
    pub prefixes: (usize, usize),
}

fn bad(offset: usize, what: impl Into<String>) -> Error {
    Error::corrupt("game slice payload", Some(offset as u64), what)
}

/// Checks a slice payload's framing (`deep`: also the order of both arrays and the embedded
/// index's own deep checks).
pub(crate) fn shape(p: &[u8], deep: bool) -> Result<SliceShape> {
    let r = Reader::new(p);
    let oob = |e: modforge_core::OutOfBounds| bad(e.offset as usize, "truncated");
    if r.slice_at(0, 8).map_err(oob)? != SLICE_MAGIC {
        return Err(bad(0, "not a game slice payload"));
    }
    let fingerprint = r.u64_le_at(8).map_err(oob)?;
    let index_len = r.u32_le_at(16).map_err(oob)? as usize;
    let absent_count = r.u32_le_at(20).map_err(oob)? as usize;
    let prefix_count = r.u32_le_at(24).map_err(oob)? as usize;
    let expected =
        HEAD as u128 + index_len as u128 + absent_count as u128 * 8 + prefix_count as u128 * 4;
    if expected != p.len() as u128 {
        return Err(bad(
            16,
            format!(
                "counts describe {expected} bytes, the payload has {}",
                p.len()
            ),
        ));
    }
    let absent_at = HEAD + index_len;
    let prefixes_at = absent_at + absent_count * 8;
    let embedded = super::index::structure(&p[HEAD..absent_at], deep)
        .map_err(|e| bad(HEAD, format!("embedded index: {e}")))?;
    if embedded.fingerprint != fingerprint {
        return Err(bad(HEAD + 24, "the embedded index is of another game"));
    }
    if deep {
        for i in 1..absent_count {
            let at = absent_at + i * 8;
            if r.u64_le_at(at - 8).map_err(oob)? >= r.u64_le_at(at).map_err(oob)? {
                return Err(bad(at, "absent hashes not strictly ascending"));
            }
        }
        for i in 1..prefix_count {
            let at = prefixes_at + i * 4;
            if r.u32_le_at(at - 4).map_err(oob)? >= r.u32_le_at(at).map_err(oob)? {
                return Err(bad(at, "prefixes not strictly ascending"));
            }
        }
    }
    Ok(SliceShape {
        fingerprint,
        index: HEAD..absent_at,
        absent: (absent_at, absent_count),
        prefixes: (prefixes_at, prefix_count),
    })
}

/// The payload of the slice of `full` for the hashes `asked` (ascending, without repeats).
pub(crate) fn encode(full: &GameIndex, asked: &[u64]) -> Result<Vec<u8>> {
    let (index, absent) = full.subset(asked)?;
    let prefixes = full.prefixes();
    let u32_of = |v: usize, what: &str| {
        u32::try_from(v).map_err(|_| Error::Limit(format!("game slice: {v} {what}")))
    };
    let mut out = Vec::with_capacity(HEAD + index.len() + absent.len() * 8 + prefixes.len() * 4);
    out.extend_from_slice(SLICE_MAGIC);
    out.extend_from_slice(&full.fingerprint().to_le_bytes());
    out.extend_from_slice(&u32_of(index.len(), "index bytes")?.to_le_bytes());
    out.extend_from_slice(&u32_of(absent.len(), "absent hashes")?.to_le_bytes());
    out.extend_from_slice(&u32_of(prefixes.len(), "prefixes")?.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&index);
    for h in &absent {
        out.extend_from_slice(&h.to_le_bytes());
    }
    for p in &prefixes {
        out.extend_from_slice(&p.to_le_bytes());
    }
    Ok(out)
}

impl Slice {
    fn from_snapshot(snapshot: modforge_store::Snapshot) -> Result<Slice> {
        let s = shape(snapshot.payload(), false)?;
        let index = GameIndex::from_payload(Bytes::Mapped(snapshot.clone(), s.index), false)?;
        Ok(Slice {
            index,
            snapshot,
            absent_at: s.absent.0,
            absent_count: s.absent.1,
            prefixes_at: s.prefixes.0,
            prefix_count: s.prefixes.1,
        })
    }

    fn payload(&self) -> &[u8] {
        self.snapshot.payload()
    }

    /// What the slice says about `hash`.
    pub(crate) fn answer(&self, hash: u64) -> Answer {
        if let Some(info) = self.index.lookup(hash) {
            return Answer::Held(info);
        }
        let r = Reader::new(self.payload());
        let absent = |i: usize| r.u64_le_at(self.absent_at + i * 8).unwrap_or(u64::MAX);
        if search(self.absent_count, |i| absent(i).cmp(&hash)) {
            return Answer::Absent;
        }
        let top = (hash >> 32) as u32;
        let prefix = |i: usize| r.u32_le_at(self.prefixes_at + i * 4).unwrap_or(u32::MAX);
        if search(self.prefix_count, |i| prefix(i).cmp(&top)) {
            Answer::Unknown
        } else {
            Answer::Absent
        }
    }

    /// Whether the slice answers for every hash of `asked`.
    pub(crate) fn covers(&self, asked: &[u64]) -> bool {
        asked.iter().all(|h| self.answer(*h) != Answer::Unknown)
    }

    /// The embedded index: every game WAD and the held hashes the slice was made for. Routing
    /// may use it as the game index once [`Slice::covers`] holds for every hash it asks about.
    pub(crate) fn into_index(self) -> GameIndex {
        self.index
    }
}

/// Bisection over `count` sorted values, given their order against the target.
fn search(count: usize, cmp: impl Fn(usize) -> std::cmp::Ordering) -> bool {
    let (mut lo, mut hi) = (0usize, count);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match cmp(mid) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
        }
    }
    false
}

fn snapshot_id(state_dir: &Path) -> Result<SnapshotId> {
    Ok(SnapshotId::new(
        state_dir.join("cache"),
        "game-slice",
        "1",
        SLICE_KIND,
    )?)
}

/// Loads the slice saved for game fingerprint `fp`, if there is a valid one.
pub(crate) fn load(state_dir: &Path, fp: u64) -> Option<Slice> {
    let id = snapshot_id(state_dir).ok()?;
    let snapshot = modforge_store::load(&id, &store_fingerprint(fp)).ok()?;
    Slice::from_snapshot(snapshot)
        .ok()
        .filter(|s| s.index.fingerprint() == fp)
}

/// Saves the slice of `full` for `asked` (ascending, without repeats; atomic).
pub(crate) fn save(state_dir: &Path, full: &GameIndex, asked: &[u64]) -> Result<()> {
    let id = snapshot_id(state_dir)?;
    let payload = encode(full, asked)?;
    modforge_store::write(
        &id,
        &store_fingerprint(full.fingerprint()),
        &payload,
        &Hooks::default(),
    )?;
    Ok(())
}
