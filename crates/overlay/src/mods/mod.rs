//! Mod providers (docs/overlay.md, "Mod formats"): folder projects, `.fantome`/`.zip` archives
//! and `.modpkg` packages. Pass 1 turns a mod into [`ModMeta`] (hashes, sizes and where each
//! override's bytes are, no bytes kept); pass 2 reads the bytes of the overrides that won.

mod config;
mod fantome;
mod folder;
mod modpkg;
mod packed;
mod read;
mod zipentry;

use std::path::{Path, PathBuf};

pub(crate) use fantome::collect as collect_fantome;
pub(crate) use folder::{FolderScan, TreeStamps, collect as collect_folder, scan as scan_folder};
pub(crate) use modpkg::collect as collect_modpkg;
pub(crate) use read::{OpenFile, Packed, Prepared, SourceReader};
pub(crate) use zipentry::ZipEntryRef;

use crate::error::{Error, Result};
use crate::report::Warning;
use crate::wad::{SubchunkRecord, TocEntry};

/// The container a mod comes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModKind {
    /// A folder project (`mod.config.json`, `content/<layer>/<X.wad.client>/…`, `RAW/…`).
    Folder,
    /// A `.fantome` (or `.zip`) archive.
    Fantome,
    /// A `.modpkg` package.
    Modpkg,
}

impl ModKind {
    /// `folder`, `fantome` or `modpkg`.
    pub fn as_str(self) -> &'static str {
        match self {
            ModKind::Folder => "folder",
            ModKind::Fantome => "fantome",
            ModKind::Modpkg => "modpkg",
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            ModKind::Folder => 0,
            ModKind::Fantome => 1,
            ModKind::Modpkg => 2,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(ModKind::Folder),
            1 => Some(ModKind::Fantome),
            2 => Some(ModKind::Modpkg),
            _ => None,
        }
    }
}

/// What pass 1 may ask about the game: the content hash of the game's chunk when a packed mod
/// chunk is byte-identical to it (same type, sizes and packed XXH3), so it need not be decoded.
pub(crate) trait GameFacts: Sync {
    /// The game chunk's content hash, if known and `entry`/`packed_checksum` match it.
    fn identical_content(&self, entry: &TocEntry, packed_checksum: u64) -> Option<u64>;
}

/// Decides a mod's kind from the file system: a directory is a folder project; a file starting
/// with `_modpkg_` is a modpkg; a file starting with a zip signature is a fantome.
pub fn detect_kind(path: &Path) -> Result<ModKind> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io("stat", path, e))?;
    if meta.is_dir() {
        return Ok(ModKind::Folder);
    }
    let mut head = [0u8; 8];
    let file = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
    let n = usize::try_from(meta.len().min(8)).unwrap_or(0);
    crate::io::read_exact_at(&file, &mut head[..n], 0).map_err(|e| Error::io("read", path, e))?;
    if &head[..n] == b"_modpkg_" {
        return Ok(ModKind::Modpkg);
    }
    if head[..n].starts_with(b"PK") {
        return Ok(ModKind::Fantome);
    }
    Err(Error::format(
        crate::error::label(path),
        0,
        format!(
            "not a mod: expected a folder, a zip signature \"PK\" or \"_modpkg_\", found {}",
            modforge_core::hex::bytes(&head[..n])
        ),
    ))
}

/// A layer of a mod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    /// The layer's name (a slug); `base` always exists.
    pub name: String,
    /// A display name, when the mod gives one.
    pub display_name: Option<String>,
    /// Priority: higher wins over lower inside the mod.
    pub priority: i32,
}

/// What a mod declares about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModInfo {
    /// The container.
    pub kind: ModKind,
    /// The mod's name (the folder or file name when it declares none).
    pub name: String,
    /// The mod's version, when declared.
    pub version: Option<String>,
    /// Every layer, `base` included, in apply order (priority ascending, then name).
    pub layers: Vec<LayerInfo>,
}

/// A WAD folder (or packed WAD) of a mod layer: the WAD name as the mod wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WadDir {
    /// Index into [`ModInfo::layers`].
    pub layer: u16,
    /// The declared WAD name, normalised to `<stem>.wad.client` for packed `.wad`/`.wad.mobile`.
    pub name: String,
    /// The name exactly as it appears in the mod (folder or archive entry name).
    pub raw_name: String,
    /// Whether this is a packed WAD file rather than a folder of files.
    pub packed: bool,
}

/// Where an override's bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A file of a folder mod, relative to the mod root.
    File {
        /// The path relative to the mod root, `/`-separated.
        rel: String,
    },
    /// A stored or deflated zip entry.
    Zip(ZipEntryRef),
    /// A chunk of a packed WAD inside a zip entry.
    PackedChunk {
        /// The zip entry holding the WAD.
        wad: ZipEntryRef,
        /// The chunk's TOC entry inside that WAD.
        entry: TocEntry,
        /// XXH3_64 of the chunk's packed bytes, as read in pass 1.
        packed_checksum: u64,
        /// The subchunk records of a type-4 chunk (empty otherwise).
        subchunks: Vec<SubchunkRecord>,
    },
    /// A chunk of a modpkg.
    Modpkg {
        /// Absolute offset of the stored bytes.
        offset: u64,
        /// Stored length.
        stored_size: u64,
        /// 0 none, 1 zstd.
        compression: u8,
        /// XXH3_64 of the stored bytes, as the package records it.
        stored_checksum: u64,
    },
}

/// One override of a mod, as pass 1 found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The chunk's path hash.
    pub path_hash: u64,
    /// XXH3_64 of the uncompressed bytes.
    pub content_hash: u64,
    /// Uncompressed length.
    pub size: u64,
    /// Index into [`ModMeta::dirs`]; `None` for RAW files.
    pub dir: Option<u32>,
    /// The path inside the WAD folder or RAW folder (`{hash:016x}.bin` for packed chunks).
    pub rel_path: String,
    /// Where the bytes are.
    pub source: Source,
}

/// A folder mod file's stat and content hash, kept so an edit re-hashes only changed files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStamp {
    /// Path relative to the mod root.
    pub rel: String,
    /// Size.
    pub size: u64,
    /// Modification time, ns.
    pub mtime_ns: u64,
    /// Content hash.
    pub content_hash: u64,
}

/// Everything pass 1 learns about a mod; game-independent, so it survives a game patch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModMeta {
    /// What the mod declares.
    pub info: ModInfo,
    /// The mod's fingerprint (stat only) this was collected at.
    pub fingerprint: u64,
    /// WAD folders and packed WADs.
    pub dirs: Vec<WadDir>,
    /// Overrides in apply order: later items win over earlier ones with the same hash.
    pub items: Vec<Item>,
    /// Warnings found while reading (ignored folders, CRC errors, ...), without the mod id.
    pub warnings: Vec<Warning>,
    /// Folder mods: every hashed file's stamp.
    pub stamps: Vec<FileStamp>,
}

impl ModMeta {
    /// The layer an item belongs to (`None` = RAW).
    pub fn item_layer(&self, item: &Item) -> Option<&LayerInfo> {
        let dir = self.dirs.get(usize::try_from(item.dir?).ok()?)?;
        self.info.layers.get(usize::from(dir.layer))
    }

    /// The WAD folder of an item (`None` = RAW).
    pub fn item_dir(&self, item: &Item) -> Option<&WadDir> {
        self.dirs.get(usize::try_from(item.dir?).ok()?)
    }
}

/// Layers sorted into apply order: priority ascending, then name bytes ascending; later wins.
pub(crate) fn sort_layers(layers: &mut [LayerInfo]) {
    layers.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then_with(|| a.name.as_bytes().cmp(b.name.as_bytes()))
    });
}

/// Ensures `base` exists (priority 0) and sorts layers into apply order.
pub(crate) fn finish_layers(mut layers: Vec<LayerInfo>) -> Vec<LayerInfo> {
    let mut seen = std::collections::HashSet::new();
    layers.retain(|l| seen.insert(l.name.clone()));
    if !layers.iter().any(|l| l.name == crate::BASE_LAYER) {
        layers.push(LayerInfo {
            name: crate::BASE_LAYER.into(),
            display_name: None,
            priority: 0,
        });
    }
    sort_layers(&mut layers);
    layers
}

/// Sorts items into apply order (docs/overlay.md, "Precedence"): by layer apply order, then WAD
/// folder by lower-case name and raw name, then the normalised relative path and its raw bytes;
/// RAW files after every layer. Deterministic whatever order the file system or archive listed
/// them in.
pub(crate) fn sort_items(dirs: &[WadDir], items: &mut [Item]) {
    items.sort_by_cached_key(|item| {
        let dir = item.dir.and_then(|d| dirs.get(d as usize));
        let (layer, lower, raw) = match dir {
            Some(d) => (
                u32::from(d.layer),
                d.name.to_lowercase(),
                d.raw_name.clone(),
            ),
            None => (u32::MAX, String::new(), String::new()),
        };
        (
            layer,
            lower,
            raw,
            crate::hash::normalise_path(&item.rel_path),
            item.rel_path.clone(),
        )
    });
}

/// A mod as the caller names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModSpec {
    /// Unique id (state keys, cache file names, reports).
    pub id: String,
    /// Folder, `.fantome`/`.zip` or `.modpkg`.
    pub path: PathBuf,
    /// Active layers; `None` = all. `base` is always active.
    pub layers: Option<Vec<String>>,
}

impl ModSpec {
    /// Whether `layer` is active for this mod.
    pub fn layer_active(&self, layer: &str) -> bool {
        layer == crate::BASE_LAYER
            || self
                .layers
                .as_ref()
                .is_none_or(|names| names.iter().any(|n| n == layer))
    }
}
