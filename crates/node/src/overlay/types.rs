//! The JavaScript shapes of modforge-overlay's options and results, and their conversions.
//! Path hashes and content hashes are 16-digit lower-case hex strings (u64 does not fit a
//! number); sizes and counts are numbers.

use std::path::PathBuf;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use modforge_overlay as overlay;

use crate::runtime::NodeError;

fn hex64(value: u64) -> String {
    format!("{value:016x}")
}

/// One mod of a build, in priority order (index 0 wins).
#[napi(object)]
pub struct OverlayMod {
    /// Unique id (the state and the conflict report name mods by it).
    pub id: String,
    /// A folder project, a `.fantome`/`.zip` or a `.modpkg`.
    pub path: String,
    /// Active layers; undefined = every layer; `base` is always active.
    pub layers: Option<Vec<String>>,
}

/// Build options; every field has a default.
#[napi(object)]
#[derive(Default)]
pub struct OverlayBuildOptions {
    /// WAD file names never patched (case-insensitive), e.g. `scripts.wad.client`. Default none.
    pub blocked_wads: Option<Vec<String>>,
    /// Ignore the state and rebuild every WAD. Default false.
    pub force: Option<bool>,
    /// Worker threads; default one per core.
    pub threads: Option<u32>,
}

/// What to build.
#[napi(object)]
pub struct OverlayBuildSpec {
    /// The game's `Game` folder (holding `DATA/FINAL`).
    pub game_dir: String,
    /// Where overlay WADs go (`<overlayDir>/DATA/FINAL/...`).
    pub overlay_dir: String,
    /// Where the state file, the conflict report and the caches go.
    pub state_dir: String,
    /// Mods in priority order: index 0 wins.
    pub mods: Vec<OverlayMod>,
    /// Options.
    pub options: Option<OverlayBuildOptions>,
}

impl OverlayBuildSpec {
    /// The crate's request, with the ids checked for uniqueness.
    pub fn into_request(self) -> Result<overlay::BuildRequest, NodeError> {
        let options = self.options.unwrap_or_default();
        let threads = match options.threads {
            Some(0) => {
                return Err(NodeError::InvalidArg(
                    "options.threads must be at least 1".into(),
                ));
            }
            Some(n) => Some(n as usize),
            None => None,
        };
        Ok(overlay::BuildRequest {
            game_dir: PathBuf::from(self.game_dir),
            overlay_dir: PathBuf::from(self.overlay_dir),
            state_dir: PathBuf::from(self.state_dir),
            mods: self
                .mods
                .into_iter()
                .map(|m| overlay::ModSpec {
                    id: m.id,
                    path: PathBuf::from(m.path),
                    layers: m.layers,
                })
                .collect(),
            options: overlay::BuildOptions {
                blocked_wads: options.blocked_wads.unwrap_or_default(),
                force: options.force.unwrap_or(false),
                threads,
                ..overlay::BuildOptions::default()
            },
        })
    }
}

/// Which way a build went.
#[napi(string_enum = "lowercase")]
pub enum OverlayBuildMode {
    /// Nothing changed: no WAD written, no mod byte read.
    Skip,
    /// Only the WADs whose override set changed were rebuilt.
    Incremental,
    /// Every WAD was rebuilt (first build, game patch, builder change, `force`).
    Full,
    /// No mods: the overlay was emptied.
    Empty,
}

impl From<overlay::BuildMode> for OverlayBuildMode {
    fn from(mode: overlay::BuildMode) -> Self {
        match mode {
            overlay::BuildMode::Skip => OverlayBuildMode::Skip,
            overlay::BuildMode::Incremental => OverlayBuildMode::Incremental,
            overlay::BuildMode::Full => OverlayBuildMode::Full,
            overlay::BuildMode::Empty => OverlayBuildMode::Empty,
        }
    }
}

/// What a warning is about (stable strings).
#[napi(string_enum = "UPPER_SNAKE")]
pub enum OverlayWarningCode {
    /// A WAD folder's name matched no game WAD (or several): routed by hash overlap instead.
    WadNameFallback,
    /// An override could be routed to no WAD and was dropped.
    UnroutableOverride,
    /// A blocked WAD holds a chunk that is overridden elsewhere: its copy will differ.
    BlockedSharedChunk,
    /// A mod override of a `.SubChunkTOC` chunk was dropped.
    SubchunktocOverrideDropped,
    /// A mod override replaced a subchunked (type 4) entry with an ordinary one.
    SubchunkedOverride,
    /// A zip entry's CRC-32 did not match; its bytes were used anyway.
    ZipCrcIgnored,
    /// A folder mod has only `mod.config.toml`, which is not read.
    ConfigTomlIgnored,
    /// A folder that is not a layer, WAD folder or RAW folder was ignored.
    IgnoredFolder,
    /// A file outside any WAD folder or RAW folder was ignored.
    IgnoredFile,
    /// A symbolic link inside a folder mod was not followed.
    IgnoredSymlink,
    /// A cache or the conflict report could not be saved; the build result stands.
    CacheSaveFailed,
    /// A chunk of a type that cannot be decoded (2, 5-15) was skipped.
    UndecodableChunk,
    /// A packed chunk's recorded checksum differs from its bytes; the computed one is written.
    ChecksumMismatch,
    /// A requested layer does not exist in the mod.
    UnknownLayer,
    /// A path from a hash list would leave the output folder; the hex name was used instead.
    UnsafePath,
    /// Two extracted paths collide; the hex name was used.
    PathCollision,
    /// A game WAD's TOC could not be read; it is left out of the index.
    GameWadUnreadable,
}

impl From<overlay::WarningCode> for OverlayWarningCode {
    fn from(code: overlay::WarningCode) -> Self {
        use overlay::WarningCode as W;
        match code {
            W::WadNameFallback => OverlayWarningCode::WadNameFallback,
            W::UnroutableOverride => OverlayWarningCode::UnroutableOverride,
            W::BlockedSharedChunk => OverlayWarningCode::BlockedSharedChunk,
            W::SubchunktocOverrideDropped => OverlayWarningCode::SubchunktocOverrideDropped,
            W::SubchunkedOverride => OverlayWarningCode::SubchunkedOverride,
            W::ZipCrcIgnored => OverlayWarningCode::ZipCrcIgnored,
            W::ConfigTomlIgnored => OverlayWarningCode::ConfigTomlIgnored,
            W::IgnoredFolder => OverlayWarningCode::IgnoredFolder,
            W::IgnoredFile => OverlayWarningCode::IgnoredFile,
            W::IgnoredSymlink => OverlayWarningCode::IgnoredSymlink,
            W::CacheSaveFailed => OverlayWarningCode::CacheSaveFailed,
            W::UndecodableChunk => OverlayWarningCode::UndecodableChunk,
            W::ChecksumMismatch => OverlayWarningCode::ChecksumMismatch,
            W::UnknownLayer => OverlayWarningCode::UnknownLayer,
            W::UnsafePath => OverlayWarningCode::UnsafePath,
            W::PathCollision => OverlayWarningCode::PathCollision,
            W::GameWadUnreadable => OverlayWarningCode::GameWadUnreadable,
        }
    }
}

/// One warning (never fatal).
#[napi(object, object_from_js = false)]
pub struct OverlayWarning {
    /// What it is about.
    pub code: OverlayWarningCode,
    /// A sentence for people.
    pub message: String,
    /// The mod concerned.
    pub mod_id: Option<String>,
    /// The WAD concerned (a game-relative key or a mod's WAD folder name).
    pub wad: Option<String>,
    /// The chunk concerned (16 hex digits).
    pub path_hash: Option<String>,
}

impl From<overlay::Warning> for OverlayWarning {
    fn from(w: overlay::Warning) -> Self {
        OverlayWarning {
            code: w.code.into(),
            message: w.message,
            mod_id: w.mod_id,
            wad: w.wad,
            path_hash: w.path_hash.map(hex64),
        }
    }
}

/// One source that offered an override for a conflicting path hash.
#[napi(object, object_from_js = false)]
pub struct OverlayContributor {
    /// The mod.
    pub mod_id: String,
    /// The layer; null for a RAW file.
    pub layer: Option<String>,
    /// The WAD folder (or packed WAD) name as the mod wrote it; null for a RAW file.
    pub wad: Option<String>,
    /// The path inside the WAD or RAW folder.
    pub rel_path: String,
    /// XXH3_64 of the offered bytes (16 hex digits).
    pub content_hash: String,
}

/// A path hash that two or more sources override (never fatal: the winner is written).
#[napi(object, object_from_js = false)]
pub struct OverlayConflict {
    /// The chunk (16 hex digits).
    pub path_hash: String,
    /// Its path, when a contributor named it by path rather than by hash.
    pub path: Option<String>,
    /// The game-relative WAD keys the winner was routed to.
    pub wads: Vec<String>,
    /// Every source, in mod order and, inside a mod, in apply order.
    pub contributors: Vec<OverlayContributor>,
    /// Index into `contributors` of the source whose bytes win.
    pub winner: u32,
    /// Whether every contributor offered the same bytes.
    pub same_content: bool,
    /// Whether the winner equals the game's chunk, so the game original is kept.
    pub kept_game_original: bool,
}

impl From<overlay::Conflict> for OverlayConflict {
    fn from(c: overlay::Conflict) -> Self {
        OverlayConflict {
            path_hash: hex64(c.path_hash),
            path: c.path,
            wads: c.wads,
            contributors: c
                .contributors
                .into_iter()
                .map(|m| OverlayContributor {
                    mod_id: m.mod_id,
                    layer: m.layer,
                    wad: m.wad,
                    rel_path: m.rel_path,
                    content_hash: hex64(m.content_hash),
                })
                .collect(),
            winner: u32::try_from(c.winner).unwrap_or(u32::MAX),
            same_content: c.same_content,
            kept_game_original: c.kept_game_original,
        }
    }
}

/// Byte and work counters of a build.
#[napi(object, object_from_js = false)]
pub struct OverlayBuildStats {
    /// Mod bytes read, in all (0 on a skip).
    pub mod_bytes_read: f64,
    /// Game bytes read (TOCs, chunks hashed for the lazy filter, regions copied).
    pub game_bytes_read: f64,
    /// Bytes written to overlay WADs.
    pub bytes_written: f64,
    /// Overrides this build compressed.
    pub overrides_compressed: f64,
    /// WAD regions copied in the kernel (`copy_file_range`).
    pub regions_kernel_copied: f64,
    /// WAD regions copied through a buffer.
    pub regions_buffer_copied: f64,
    /// WADs whose region came from a whole-file clone of the previous overlay WAD.
    pub regions_cloned: f64,
}

/// The outcome of `buildOverlay`.
#[napi(object, object_from_js = false)]
pub struct OverlayBuildResult {
    /// Game-relative keys of the WADs written, sorted.
    pub built: Vec<String>,
    /// Keys of the WADs kept from an earlier build, sorted.
    pub reused: Vec<String>,
    /// Whether the build was skipped (nothing changed).
    pub skipped: bool,
    /// Which way it went.
    pub mode: OverlayBuildMode,
    /// Conflicts (on a skip: those of the build that wrote the overlay).
    pub conflicts: Vec<OverlayConflict>,
    /// Warnings (on a skip: those of the build that wrote the overlay).
    pub warnings: Vec<OverlayWarning>,
    /// Wall time in milliseconds.
    pub time_ms: f64,
    /// The most mod bytes held at once (read buffers and prepared overrides); 0 when none was read.
    pub peak_bytes_read: f64,
    /// Counters.
    pub stats: OverlayBuildStats,
}

impl From<overlay::BuildResult> for OverlayBuildResult {
    fn from(r: overlay::BuildResult) -> Self {
        let s = r.stats;
        OverlayBuildResult {
            built: r.built,
            reused: r.reused,
            skipped: r.skipped,
            mode: r.mode.into(),
            conflicts: r.conflicts.into_iter().map(Into::into).collect(),
            warnings: r.warnings.into_iter().map(Into::into).collect(),
            time_ms: r.time_ms,
            peak_bytes_read: r.peak_bytes_read as f64,
            stats: OverlayBuildStats {
                mod_bytes_read: s.mod_bytes_read as f64,
                game_bytes_read: s.game_bytes_read as f64,
                bytes_written: s.bytes_written as f64,
                overrides_compressed: s.overrides_compressed as f64,
                regions_kernel_copied: s.regions_kernel_copied as f64,
                regions_buffer_copied: s.regions_buffer_copied as f64,
                regions_cloned: s.regions_cloned as f64,
            },
        }
    }
}

/// The container a mod comes in.
#[napi(string_enum = "lowercase")]
pub enum ModContainer {
    /// A folder project (`mod.config.json`, `content/<layer>/<X.wad.client>/...`, `RAW/...`).
    Folder,
    /// A `.fantome` (or `.zip`) archive.
    Fantome,
    /// A `.modpkg` package.
    Modpkg,
}

/// How a mod's WAD folder was matched to a game WAD.
#[napi(string_enum = "lowercase")]
pub enum WadRouting {
    /// The game has exactly one WAD of that file name.
    Name,
    /// By hash overlap (unknown or ambiguous name).
    Overlap,
    /// The mod's dominant WAD (no overlap of its own).
    Dominant,
    /// Nothing matched.
    None,
}

/// Options of `analyzeMod`.
#[napi(object)]
#[derive(Default)]
pub struct AnalyzeModOptions {
    /// A game folder to resolve WAD folders against (fills `routedTo` and `routing`).
    pub game_dir: Option<String>,
    /// Active layers; undefined = every layer.
    pub layers: Option<Vec<String>>,
}

/// A layer of a mod.
#[napi(object, object_from_js = false)]
pub struct ModLayer {
    /// Its name (slug).
    pub name: String,
    /// Its display name.
    pub display_name: Option<String>,
    /// Its priority (higher wins; `base` is 0).
    pub priority: i32,
}

/// One WAD folder (or packed WAD) of an active layer.
#[napi(object, object_from_js = false)]
pub struct ModWadSummary {
    /// The name as the mod wrote it.
    pub name: String,
    /// Its layer.
    pub layer: String,
    /// Overrides in it.
    pub files: f64,
    /// Their uncompressed bytes.
    pub bytes: f64,
    /// The game WAD it resolves to (with `gameDir`).
    pub routed_to: Option<String>,
    /// How it resolved (with `gameDir`).
    pub routing: Option<WadRouting>,
}

/// RAW files of a mod.
#[napi(object, object_from_js = false)]
pub struct ModRawSummary {
    /// Files.
    pub files: f64,
    /// Uncompressed bytes.
    pub bytes: f64,
}

/// What `analyzeMod` found (no file is written).
#[napi(object, object_from_js = false)]
pub struct ModAnalysis {
    /// The container.
    pub kind: ModContainer,
    /// The mod's name.
    pub name: String,
    /// Its version.
    pub version: Option<String>,
    /// Every layer in apply order.
    pub layers: Vec<ModLayer>,
    /// WAD folders of the active layers, in apply order.
    pub wads: Vec<ModWadSummary>,
    /// RAW files.
    pub raw: ModRawSummary,
    /// The mod fingerprint (stat only; 16 hex digits).
    pub fingerprint: String,
    /// The mod key for these layers (16 hex digits).
    pub key: String,
    /// Warnings.
    pub warnings: Vec<OverlayWarning>,
}

impl From<overlay::ModAnalysis> for ModAnalysis {
    fn from(a: overlay::ModAnalysis) -> Self {
        ModAnalysis {
            kind: match a.kind {
                overlay::ModKind::Folder => ModContainer::Folder,
                overlay::ModKind::Fantome => ModContainer::Fantome,
                overlay::ModKind::Modpkg => ModContainer::Modpkg,
            },
            name: a.name,
            version: a.version,
            layers: a
                .layers
                .into_iter()
                .map(|l| ModLayer {
                    name: l.name,
                    display_name: l.display_name,
                    priority: l.priority,
                })
                .collect(),
            wads: a
                .wads
                .into_iter()
                .map(|w| ModWadSummary {
                    name: w.name,
                    layer: w.layer,
                    files: w.files as f64,
                    bytes: w.bytes as f64,
                    routed_to: w.routed_to,
                    routing: w.routing.map(|r| match r {
                        overlay::Resolution::Name => WadRouting::Name,
                        overlay::Resolution::Overlap => WadRouting::Overlap,
                        overlay::Resolution::Dominant => WadRouting::Dominant,
                        overlay::Resolution::None => WadRouting::None,
                    }),
                })
                .collect(),
            raw: ModRawSummary {
                files: a.raw.files as f64,
                bytes: a.raw.bytes as f64,
            },
            fingerprint: hex64(a.fingerprint),
            key: hex64(a.key),
            warnings: a.warnings.into_iter().map(Into::into).collect(),
        }
    }
}

/// One TOC entry of a WAD.
#[napi(object, object_from_js = false)]
pub struct WadEntry {
    /// XXH64 of the chunk's lower-case path (16 hex digits).
    pub path_hash: String,
    /// Absolute offset of the packed bytes.
    pub offset: u32,
    /// Length of the packed bytes.
    pub packed_size: u32,
    /// Length of the uncompressed bytes.
    pub size: u32,
    /// Chunk type: 0 raw, 1 gzip, 2 redirect, 3 zstd, 4 subchunked zstd.
    #[napi(js_name = "type")]
    pub chunk_type: u32,
    /// Number of subchunks (type 4).
    pub subchunk_count: u32,
    /// Index of the first subchunk record (type 4).
    pub subchunk_index: u32,
    /// The duplicate flag of 2.x and 3.0-3.3 (always false in 1.x and 3.4).
    pub duplicate: bool,
    /// The entry checksum (3.1+: XXH3_64 of the packed bytes; 16 hex digits).
    pub checksum: String,
}

/// A WAD's header and TOC.
#[napi(object, object_from_js = false)]
pub struct WadListing {
    /// `"3.4"`, `"2.1"`, ...
    pub version: String,
    /// The signature bytes (none in 1.x).
    pub signature: Option<Buffer>,
    /// The header checksum (2.x, 3.x; 16 hex digits).
    pub checksum: Option<String>,
    /// Entries in TOC order.
    pub entries: Vec<WadEntry>,
}

impl From<overlay::WadListing> for WadListing {
    fn from(l: overlay::WadListing) -> Self {
        WadListing {
            version: l.version,
            signature: l.signature.map(Buffer::from),
            checksum: l.checksum.map(hex64),
            entries: l
                .entries
                .into_iter()
                .map(|e| WadEntry {
                    path_hash: hex64(e.path_hash),
                    offset: e.offset,
                    packed_size: e.packed_size,
                    size: e.size,
                    chunk_type: u32::from(e.chunk_type),
                    subchunk_count: u32::from(e.subchunk_count),
                    subchunk_index: e.subchunk_index,
                    duplicate: e.duplicate,
                    checksum: hex64(e.checksum),
                })
                .collect(),
        }
    }
}

/// Options of `extractWad`.
#[napi(object)]
#[derive(Default)]
pub struct ExtractWadOptions {
    /// A hash-list file (lines `<16 hex> <path>`, CommunityDragon format) naming the chunks;
    /// others are written as `<hash>.bin`.
    pub hashes: Option<String>,
    /// Check every entry's checksum (3.1+) before writing; a mismatch is `ERR_MODFORGE_CORRUPT`.
    pub verify: Option<bool>,
}

/// What `extractWad` did.
#[napi(object, object_from_js = false)]
pub struct ExtractWadResult {
    /// Files written.
    pub written: f64,
    /// Chunks skipped (undecodable types).
    pub skipped: f64,
    /// Warnings.
    pub warnings: Vec<OverlayWarning>,
}

impl From<overlay::ExtractReport> for ExtractWadResult {
    fn from(r: overlay::ExtractReport) -> Self {
        ExtractWadResult {
            written: r.written as f64,
            skipped: r.skipped as f64,
            warnings: r.warnings.into_iter().map(Into::into).collect(),
        }
    }
}
