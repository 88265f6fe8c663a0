//! The game install (docs/overlay.md, "Game index"): the list of game WADs and its fingerprint
//! (stat only), the index of every path hash to the WADs holding it (TOCs only, parallel), the
//! slice of that index the mods of the last build asked about, and the memo of game content
//! hashes filled on demand. Index, slice and memo persist as snapshots of the store, keyed by the
//! game fingerprint.

mod index;
mod memo;
mod slice;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::hash::{StatRecord, stat_fingerprint};

pub use index::{GameIndex, HashInfo, WadRecord};
pub(crate) use index::{
    INDEX_KIND, build as build_index, load as load_index, save as save_index,
    structure as index_structure,
};
pub use memo::Memo;
pub(crate) use memo::{MEMO_KIND, fill as fill_memo, load as load_memo, save as save_memo};
pub(crate) use slice::{
    Answer, SLICE_KIND, SLICE_MAGIC, Slice, load as load_slice, save as save_slice,
    shape as slice_shape,
};

/// The folder under the game folder that holds the WADs.
pub const DATA_FINAL: &str = "DATA/FINAL";

/// A game WAD as listed (stat only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GameWad {
    /// Path relative to the game folder, `/`-separated, original case.
    pub key: String,
    /// Size.
    pub size: u64,
    /// Modification time, ns.
    pub mtime_ns: u64,
}

/// Every `*.wad.client` (case-insensitive) under `<game_dir>/DATA/FINAL`, sorted by key bytes,
/// and the game fingerprint over them. Symbolic links are not followed.
pub fn list_game_wads(game_dir: &Path) -> Result<(Vec<GameWad>, u64)> {
    let root = game_dir.join(DATA_FINAL);
    if !root.is_dir() {
        return Err(Error::InvalidArg(format!(
            "{} has no DATA/FINAL folder; gameDir must be the game's `Game` folder",
            game_dir.display()
        )));
    }
    let mut records: Vec<StatRecord> = crate::tree::list(&root, |_, _| true)?
        .into_iter()
        .filter(|e| {
            e.kind == modforge_walk::engine::EntryKind::File
                && e.rel.to_ascii_lowercase().ends_with(".wad.client")
        })
        .map(|e| StatRecord {
            key: format!("{DATA_FINAL}/{}", e.rel),
            size: e.size,
            mtime_ns: e.mtime_ns,
        })
        .collect();
    let fp = stat_fingerprint(&mut records);
    Ok((
        records
            .into_iter()
            .map(|r| GameWad {
                key: r.key,
                size: r.size,
                mtime_ns: r.mtime_ns,
            })
            .collect(),
        fp,
    ))
}

/// A relative path as a `/`-separated key.
pub(crate) fn key_of(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The absolute path of a WAD key under `dir`.
pub(crate) fn path_of(dir: &Path, key: &str) -> PathBuf {
    let mut out = dir.to_path_buf();
    for part in key.split('/') {
        out.push(part);
    }
    out
}
