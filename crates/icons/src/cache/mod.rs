//! The icon cache: the icon set of a resource index, decoded, fitted and encoded as lossless
//! WebP, persisted as one snapshot file per generation and memory-mapped (docs/icons.md,
//! "Icon cache").
//!
//! Opening a valid generation does O(sources) work: map the file, check the container header,
//! `meta` and the settings, and take the sources from the generation's discovery memo (`memo`).
//! Without validation that is only when every place the memo watched is unchanged, and every
//! archive and folder root is stat'ed against the stored sources. Validation of the
//! rest (payload checksum, index hash, folder walks, archive key lists) runs in the background or
//! before `open` returns, as [`Validate`] says. Until it passes, every entry is checked on first
//! serve (record check value, blob bounds, blob hash), and a damaged one is re-encoded from its
//! source instead of being served.

mod build;
mod files;
mod layout;
mod memo;
mod serve;
mod sheet;
mod table;

use std::ops::{Deref, Range};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use dashmap::DashMap;
use modforge_core::{Cancel, Control};
use modforge_store::{Hooks, Snapshot};
use xxhash_rust::xxh3::xxh3_64;

pub use layout::{
    ENTRY_LEN, EntryRecord, FLAG_ON_DEMAND, FLAG_OPAQUE, FLAG_RESIZED, FORMAT_VERSION, KIND,
};
pub use serve::{Response, icon_url, parse_request_name, respond};
pub use sheet::{Background, Cell, Sheet, SheetFormat, SheetOptions};

use crate::decode::decode;
use crate::discover::{DiscoverOptions, Discovery, Watched};
use crate::encode::{EncodeSettings, encode_icon};
use crate::error::Error;
use crate::index::{DEFAULT_PREFERENCE, IndexOptions, Location, ResourceIndex};
use crate::key::{ResRef, ResType, parse_query};
use crate::source::{SourceKind, SourceSpec, entry_label, stat};
use memo::Resolved;

/// MIME type of every icon.
pub const MIME: &str = "image/webp";

/// The encoder id stored in `meta`: the crates whose output the blobs depend on, with their
/// versions (checked against Cargo.lock by a test), and this crate's decoders.
pub fn encoder_id() -> String {
    format!(
        "image-webp 0.2.4; fast_image_resize 6.1.0; bcdec_rs 0.2.1; png 0.18.1; modforge-icons {}",
        env!("CARGO_PKG_VERSION")
    )
}

/// Where the sources come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sources {
    /// An ordered list, highest priority first.
    List(Vec<SourceSpec>),
    /// The default NWN2 precedence of an install and a user folder ([`discover`]).
    Discover {
        /// The install folder.
        game_dir: PathBuf,
        /// The user folder (`Documents/Neverwinter Nights 2`).
        user_dir: PathBuf,
        /// Module, campaign and Workshop folders.
        options: DiscoverOptions,
    },
}

/// When the cache checks itself against its sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Validate {
    /// After `open` returns, on a background thread (default).
    #[default]
    Background,
    /// As `Background`, but the thread starts at the first [`IconCache::start_validation`] (or
    /// [`IconCache::wait_idle`]): a binding starts it once its caller's synchronous work is done,
    /// so an open and the first lookups do not wait for a thread to start (docs/icons.md,
    /// "Validation").
    Deferred,
    /// Before `open` returns.
    Blocking,
    /// Never (the file is trusted; entries are still checked on first serve, and a source whose
    /// size or time changed still causes a rebuild at open).
    None,
}

/// Called after a new generation replaced the served one.
pub type UpdateFn = Arc<dyn Fn(&UpdateEvent) + Send + Sync>;

/// Options of [`IconCache::open`].
#[derive(Clone)]
pub struct IconCacheOptions {
    /// The sources.
    pub sources: Sources,
    /// The cache folder; `None` keeps the cache in memory only.
    pub cache_dir: Option<PathBuf>,
    /// Size, resampler and transparency handling.
    pub encode: EncodeSettings,
    /// Image types in order of preference inside one source (default dds, tga, png).
    pub type_preference: Vec<ResType>,
    /// Folder names whose images form the icon set of `IconDirs` sources (default `icons`).
    pub icon_dirs: Vec<String>,
    /// Names added to the icon set.
    pub extra_icons: Vec<String>,
    /// When to validate.
    pub validate: Validate,
    /// Worker threads for builds (`None`: all cores).
    pub threads: Option<usize>,
    /// Called after a background or explicit rebuild installs a new generation.
    pub on_update: Option<UpdateFn>,
}

impl IconCacheOptions {
    /// Defaults for `sources`: no cache folder, original size, Lanczos3, `dds > tga > png`,
    /// `icons` folders, background validation.
    pub fn new(sources: Sources) -> IconCacheOptions {
        IconCacheOptions {
            sources,
            cache_dir: None,
            encode: EncodeSettings::default(),
            type_preference: DEFAULT_PREFERENCE.to_vec(),
            icon_dirs: vec!["icons".into()],
            extra_icons: Vec::new(),
            validate: Validate::Background,
            threads: None,
            on_update: None,
        }
    }
}

impl std::fmt::Debug for IconCacheOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IconCacheOptions")
            .field("sources", &self.sources)
            .field("cache_dir", &self.cache_dir)
            .field("encode", &self.encode)
            .field("validate", &self.validate)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

/// The settings as `meta` stores them and as their hash covers: the keys in the order
/// `serde_json` sorts an object's keys, as they were first written, so caches keep their hash.
/// Serialized from this struct rather than built as a JSON value: the open runs it on every start.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct SettingsJson<'a> {
    exact_transparent: bool,
    extra_icons: Vec<&'a str>,
    icon_dirs: &'a [String],
    max_size: Option<u32>,
    resampler: &'static str,
    type_preference: Vec<String>,
}

/// The settings the blobs depend on, in canonical form.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub encode: EncodeSettings,
    pub type_preference: Vec<ResType>,
    pub icon_dirs: Vec<String>,
    pub extra_icons: Vec<ResRef>,
    /// Canonical JSON of `{maxSize, resampler, typePreference, iconDirs, exactTransparent, extraIcons}`.
    pub json: String,
    /// XXH3-64 of `json`.
    pub hash: u64,
}

impl Settings {
    fn new(o: &IconCacheOptions) -> Result<Settings, Error> {
        if o.type_preference.is_empty() || o.type_preference.iter().any(|t| !t.is_image()) {
            return Err(Error::InvalidArg(
                "typePreference must list image types (dds, tga, png)".into(),
            ));
        }
        if o.encode
            .max_size
            .is_some_and(|m| m == 0 || m > crate::decode::MAX_SIDE)
        {
            return Err(Error::InvalidArg(format!(
                "maxSize must be 1 to {}",
                crate::decode::MAX_SIDE
            )));
        }
        let mut extra = Vec::new();
        for name in &o.extra_icons {
            let (resref, _) = parse_query(name)
                .map_err(|p| Error::InvalidArg(format!("extraIcons: {name:?}: {p}")))?;
            extra.push(resref);
        }
        extra.sort_unstable();
        extra.dedup();
        let mut icon_dirs: Vec<String> =
            o.icon_dirs.iter().map(|d| d.to_ascii_lowercase()).collect();
        icon_dirs.sort();
        icon_dirs.dedup();
        let json = serde_json::to_string(&SettingsJson {
            exact_transparent: o.encode.exact_transparent,
            extra_icons: extra.iter().map(|r| r.as_str()).collect(),
            icon_dirs: &icon_dirs,
            max_size: o.encode.max_size,
            resampler: o.encode.resampler.as_str(),
            type_preference: o.type_preference.iter().map(|t| t.to_string()).collect(),
        })
        .map_err(|e| Error::Internal(format!("settings as JSON: {e}")))?;
        Ok(Settings {
            encode: o.encode,
            type_preference: o.type_preference.clone(),
            icon_dirs,
            extra_icons: extra,
            hash: xxh3_64(json.as_bytes()),
            json,
        })
    }
}

/// An icon that could not be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The resref.
    pub name: String,
    /// The winning location, when there is one.
    pub location: Option<Location>,
    /// Error category code (`format`, `limit`, `io`, ...; `missing` for a listed name no source has).
    pub code: &'static str,
    /// The message.
    pub message: String,
}

/// What a build did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BuildReport {
    /// Icons in the generation.
    pub icons: u64,
    /// Icons decoded and encoded.
    pub encoded: u64,
    /// Icons whose blob was copied from the previous generation.
    pub reused: u64,
    /// Icons whose previous blob was damaged and was re-encoded.
    pub repaired: u64,
    /// Icons that could not be made.
    pub failed: Vec<Failure>,
    /// Names not indexed (too long, not ASCII).
    pub skipped_names: Vec<crate::source::SkippedName>,
    /// Wall time.
    pub duration_ms: f64,
    /// The generation built.
    pub generation: u64,
    /// Written to the cache folder.
    pub persisted: bool,
}

/// What changed when a new generation replaced the served one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateEvent {
    /// Icons whose bytes changed.
    pub changed: Vec<String>,
    /// Icons no longer present.
    pub removed: Vec<String>,
    /// New icons.
    pub added: Vec<String>,
    /// The new generation.
    pub generation: u64,
}

/// Where validation stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValidationState {
    /// Not started, or running in the background.
    Pending,
    /// Everything matched: entries are no longer checked one by one.
    Validated,
    /// A difference was found and a new generation was built.
    Rebuilt,
    /// The generation was built in this process (no validation needed).
    Fresh,
    /// Skipped (`Validate::None`).
    Skipped,
    /// Validation could not complete.
    Failed(String),
}

/// Counters and state of a cache.
#[derive(Clone, Debug, PartialEq)]
pub struct CacheStats {
    /// The served generation.
    pub generation: u64,
    /// Icons in it.
    pub icons: u64,
    /// Served from a memory map of its file.
    pub mapped: bool,
    /// Its file, when persisted.
    pub path: Option<PathBuf>,
    /// Size of its file (or payload in memory) in bytes.
    pub bytes: u64,
    /// Bytes of WebP data.
    pub blob_bytes: u64,
    /// Icons served (mapped or in memory).
    pub served: u64,
    /// Damaged entries re-encoded from source instead of being served.
    pub repaired: u64,
    /// Icons encoded on demand (not in the icon set).
    pub on_demand: u64,
    /// Icons that could not be made.
    pub failed: Vec<Failure>,
    /// Warnings (unwritable cache folder, unreadable sources, ...).
    pub warnings: Vec<String>,
    /// Validation state.
    pub validation: ValidationState,
    /// The cache folder could not be written: generations live in memory only.
    pub memory_only: bool,
    /// The last build of this process.
    pub last_build: Option<BuildReport>,
    /// The open took its sources from the discovery stored with the generation it opened
    /// (docs/icons.md, "Discovery memo"): with every place that discovery consulted unchanged
    /// under [`Validate::None`], else as stored, until validation discovers again.
    pub discovery_reused: bool,
}

/// The bytes of one served icon: a range of a mapped generation, or an encoded blob in memory.
/// Cloning is cheap; the mapping stays alive while a clone exists.
#[derive(Clone)]
pub struct IconBytes {
    owner: Owner,
    range: Range<usize>,
}

#[derive(Clone)]
enum Owner {
    Generation(Arc<Generation>),
    Memory(Arc<Vec<u8>>),
}

impl Deref for IconBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        let all: &[u8] = match &self.owner {
            Owner::Generation(g) => g.payload(),
            Owner::Memory(v) => v,
        };
        all.get(self.range.clone()).unwrap_or_default()
    }
}

impl std::fmt::Debug for IconBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IconBytes({} bytes)", self.range.len())
    }
}

/// A served icon.
#[derive(Clone, Debug)]
pub struct Icon {
    /// The WebP bytes.
    pub data: IconBytes,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The winning source's label.
    pub source: Arc<str>,
    /// The source image's type.
    pub res_type: ResType,
    /// XXH3-64 of `data`.
    pub blob_hash: u64,
}

impl Icon {
    /// `image/webp`.
    pub fn mime(&self) -> &'static str {
        MIME
    }

    /// The HTTP ETag: the blob hash as 16 hex digits in quotes.
    pub fn etag(&self) -> String {
        format!("\"{:016x}\"", self.blob_hash)
    }

    /// The URL version: the first 8 hex digits of the blob hash.
    pub fn version(&self) -> String {
        format!("{:016x}", self.blob_hash)
            .get(..8)
            .unwrap_or_default()
            .to_string()
    }
}

/// The result of [`IconCache::find`], for bindings that read entries themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Entry `index` of generation `generation`, checked: read it through [`IconCache::view`]
    /// (if the view's generation differs, the cache was swapped meanwhile: look up again).
    Mapped {
        /// The generation the index belongs to.
        generation: u64,
        /// The entry index.
        index: u32,
    },
    /// Held in memory (encoded on demand or repaired): use [`IconCache::get_icon`].
    Memory,
    /// No icon of that name.
    Missing,
}

/// A served generation's byte ranges, for bindings that expose them as buffers: `entries` are
/// [`ENTRY_LEN`]-byte records ([`EntryRecord`]), blob offsets are relative to `blobs`. The bytes
/// stay valid while the view exists.
#[derive(Clone)]
pub struct CacheView {
    generation: Arc<Generation>,
    epoch: u32,
}

impl CacheView {
    /// The generation number.
    pub fn generation(&self) -> u64 {
        self.generation.number
    }

    /// The cache's swap count ([`IconCache::epoch_cell`]) when this view was taken: while the
    /// cell still holds this value, this view's generation is the served one.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The whole payload.
    pub fn payload(&self) -> &[u8] {
        self.generation.payload()
    }

    /// The `entries` section.
    pub fn entries(&self) -> &[u8] {
        self.generation
            .layout
            .section(self.payload(), layout::Section::Entries)
    }

    /// The `blobs` section.
    pub fn blobs(&self) -> &[u8] {
        self.generation
            .layout
            .section(self.payload(), layout::Section::Blobs)
    }

    /// Byte range of `entries` inside [`CacheView::payload`].
    pub fn entries_range(&self) -> Range<usize> {
        self.generation.layout.range(layout::Section::Entries)
    }

    /// Byte range of `blobs` inside [`CacheView::payload`].
    pub fn blobs_range(&self) -> Range<usize> {
        self.generation.layout.range(layout::Section::Blobs)
    }

    /// Entry `index`'s record.
    pub fn entry(&self, index: u32) -> Option<EntryRecord> {
        self.generation.layout.entry(self.payload(), index)
    }

    /// The label of source `id` (a record's `source_id`).
    pub fn source_label(&self, id: u16) -> Option<&str> {
        self.generation
            .layout
            .sources
            .get(usize::from(id))
            .map(|s| s.label.as_str())
    }

    /// Whether the payload is a private memory map of the file (writes through a pointer into it
    /// never reach the file).
    pub fn is_mapped(&self) -> bool {
        matches!(self.generation.bytes, GenBytes::Mapped(_))
    }

    /// The window of `blobs` a binding exposes to serve the blob bytes `start..end` (offsets
    /// relative to `blobs`): from `start` to at least [`BLOB_WINDOW`] bytes further (less at the
    /// end of the section) and never short of `end`, so one window serves the neighbouring icons too.
    /// The range is relative to [`CacheView::payload`]; `None` when `start..end` is not inside
    /// `blobs`.
    pub fn blob_window(&self, start: u64, end: u64) -> Option<Range<usize>> {
        let blobs = self.blobs_range();
        let len = blobs.len() as u64;
        if start > end || end > len {
            return None;
        }
        let stop = end.max(start.saturating_add(BLOB_WINDOW).min(len));
        Some(blobs.start + start as usize..blobs.start + stop as usize)
    }
}

/// Shards of the map of icons held in memory (encoded on demand or repaired).
const MEMORY_SHARDS: usize = 8;

/// Bytes of `blobs` a binding exposes per window ([`CacheView::blob_window`]): small enough that
/// a runtime accounting the window as external memory never starts a collection for it, large
/// enough that a few hundred icons share one window (docs/icons.md, "Serving path").
pub const BLOB_WINDOW: u64 = 1 << 20;

/// One generation: its bytes, its checked layout and a per-entry check state.
pub(crate) struct Generation {
    number: u64,
    bytes: GenBytes,
    layout: layout::Layout,
    /// Source labels, shared by every served icon.
    labels: Vec<Arc<str>>,
    /// Per entry: 0 unchecked, 1 intact, 2 damaged.
    verified: Box<[AtomicU8]>,
    /// Payload checksum and index hash verified: entries need only bounds checks.
    trusted: AtomicBool,
    path: Option<PathBuf>,
    /// Replaced by a newer generation: its file is removed when the last user drops it.
    superseded: AtomicBool,
}

enum GenBytes {
    Mapped(Snapshot),
    Memory(Vec<u8>),
}

impl Generation {
    fn new(number: u64, bytes: GenBytes, path: Option<PathBuf>) -> Result<Generation, Error> {
        let payload: &[u8] = match &bytes {
            GenBytes::Mapped(s) => s.payload(),
            GenBytes::Memory(v) => v,
        };
        let label = path.as_ref().map_or_else(
            || "icon cache (memory)".to_string(),
            |p| p.display().to_string(),
        );
        let layout = layout::Layout::parse(payload)
            .map_err(|(offset, detail)| Error::corrupt(&label, Some(offset + 192), detail))?;
        let verified = (0..layout.len()).map(|_| AtomicU8::new(0)).collect();
        let labels = layout
            .sources
            .iter()
            .map(|s| Arc::from(s.label.as_str()))
            .collect();
        Ok(Generation {
            number,
            bytes,
            layout,
            labels,
            verified,
            trusted: AtomicBool::new(false),
            path,
            superseded: AtomicBool::new(false),
        })
    }

    fn payload(&self) -> &[u8] {
        match &self.bytes {
            GenBytes::Mapped(s) => s.payload(),
            GenBytes::Memory(v) => v,
        }
    }

    /// The entry named `resref` and its record.
    fn lookup(&self, resref: &ResRef) -> Option<(u32, EntryRecord)> {
        let payload = self.payload();
        let i = self.layout.find(payload, resref.as_bytes())?;
        Some((i, self.layout.entry(payload, i)?))
    }

    /// Whether entry `i` (record `e`) may be served: its blob is always bounds-checked; until the
    /// generation is trusted, its record check value and blob hash are verified once.
    fn entry_ok(&self, i: u32, e: &EntryRecord) -> bool {
        if self.trusted.load(Ordering::Acquire) {
            return self.layout.blob_range(e).is_some();
        }
        let Some(state) = self.verified.get(i as usize) else {
            return false;
        };
        match state.load(Ordering::Acquire) {
            1 => true,
            2 => false,
            _ => {
                let ok = self.layout.entry_intact(self.payload(), i);
                state.store(if ok { 1 } else { 2 }, Ordering::Release);
                ok
            }
        }
    }

    fn icon(self: &Arc<Self>, e: &EntryRecord) -> Option<Icon> {
        let range = self.layout.blob_range(e)?;
        Some(Icon {
            data: IconBytes {
                owner: Owner::Generation(self.clone()),
                range,
            },
            width: u32::from(e.width),
            height: u32::from(e.height),
            source: self
                .labels
                .get(usize::from(e.source_id))
                .cloned()
                .unwrap_or_else(|| Arc::from("")),
            res_type: ResType(e.res_type),
            blob_hash: e.blob_hash,
        })
    }

    /// Full validation of the stored bytes: container payload checksum (mapped files) and index hash.
    fn verify_bytes(&self) -> Result<(), String> {
        if let (GenBytes::Mapped(s), Some(path)) = (&self.bytes, &self.path) {
            let header = s.header();
            let (len, sum) =
                files::payload_checksum(path).map_err(|e| format!("{}: {e}", path.display()))?;
            if len != header.payload_len || sum != header.payload_checksum {
                return Err("payload checksum mismatch".into());
            }
        }
        if self.layout.compute_index_hash(self.payload()) != self.layout.meta.index_hash {
            return Err("index hash mismatch".into());
        }
        Ok(())
    }

    fn file_bytes(&self) -> u64 {
        match &self.bytes {
            GenBytes::Mapped(s) => s.image().len() as u64,
            GenBytes::Memory(v) => v.len() as u64,
        }
    }
}

impl Drop for Generation {
    fn drop(&mut self) {
        if self.superseded.load(Ordering::Acquire) {
            if let Some(path) = &self.path {
                // A failure (the file is mapped by another process on Windows) is left for the
                // next start's sweep.
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// An icon held in memory: encoded on demand or repaired.
struct MemIcon {
    webp: Arc<Vec<u8>>,
    width: u32,
    height: u32,
    source: Arc<str>,
    res_type: ResType,
    blob_hash: u64,
    on_demand: bool,
}

enum MemEntry {
    Ready(Arc<MemIcon>),
    Failed,
}

struct Shared {
    options: IconCacheOptions,
    settings: Settings,
    fingerprint: modforge_store::Fingerprint,
    sources: RwLock<Resolved>,
    /// The open took its sources from the served generation's discovery memo.
    discovery_reused: bool,
    current: RwLock<Arc<Generation>>,
    index: RwLock<Option<Arc<ResourceIndex>>>,
    index_build: Mutex<()>,
    build_lock: Mutex<()>,
    memory: DashMap<ResRef, MemEntry>,
    failed: Mutex<Vec<Failure>>,
    warnings: Mutex<Vec<String>>,
    validation: Mutex<ValidationState>,
    last_build: Mutex<Option<BuildReport>>,
    memory_only: AtomicBool,
    served: AtomicU64,
    /// Bumped after every swap of `current` (see [`IconCache::epoch_cell`]).
    epoch: Arc<AtomicU32>,
    repaired: AtomicU64,
    on_demand: AtomicU64,
    /// Validation waits for [`IconCache::start_validation`] ([`Validate::Deferred`]).
    deferred: AtomicBool,
    closing: Cancel,
    background: Mutex<Option<JoinHandle<()>>>,
}

/// The icon cache. `Send + Sync`; clones share one cache.
#[derive(Clone)]
pub struct IconCache {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for IconCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IconCache")
            .field("generation", &self.current().number)
            .finish_non_exhaustive()
    }
}

/// Options of [`IconCache::rebuild`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RebuildOptions {
    /// Re-encode every icon.
    pub force: bool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl IconCache {
    /// Opens the newest valid generation of the cache folder, or builds one. See the module
    /// documentation for what is checked when.
    pub fn open(options: IconCacheOptions, control: &Control<'_>) -> Result<IconCache, Error> {
        let settings = Settings::new(&options)?;
        let fingerprint = files::fingerprint(settings.hash)?;
        let mut warnings: Vec<String> = Vec::new();
        let mut memory_only = options.cache_dir.is_none();
        // A folder that exists is listed at once; only one that cannot be listed is created
        // (`mkdir` on an existing folder would take the parent's lock).
        let listed = match &options.cache_dir {
            Some(dir) => files::scan(dir).unwrap_or_else(|| {
                if let Err(e) = std::fs::create_dir_all(dir) {
                    warnings.push(format!(
                        "cache folder {} cannot be created ({e}); the cache is kept in memory",
                        dir.display()
                    ));
                    memory_only = true;
                }
                Vec::new()
            }),
            None => Vec::new(),
        };
        let opened = open_newest(&listed, &fingerprint, &settings);
        // The sources: from the newest generation's discovery memo when it answers this question,
        // else discovered (or listed) now. Validation discovers again whatever the memo says and
        // this open serves the generation it mapped either way, so the memo's stamps are checked
        // only by an open without validation (docs/icons.md, "Discovery memo").
        let reused = opened.as_ref().and_then(|g| {
            let (memo, stored) = (&g.layout.meta.discovery_memo, &g.layout.sources);
            if options.validate != Validate::None {
                memo::provisional(memo, &options.sources, stored).map(|r| (r, None))
            } else {
                memo::reuse(memo, &options.sources, stored).map(|(r, w)| (r, Some(w)))
            }
        });
        let discovery_reused = reused.is_some();
        let (resolved, stamps) = match reused {
            Some(taken) => taken,
            None => (
                memo::resolve(&options.sources, options.cache_dir.as_deref())?,
                None,
            ),
        };
        if let Some(d) = &resolved.discovery {
            warnings.splice(0..0, d.warnings.iter().cloned());
        }
        let opened = opened.map(Arc::new);
        let current = match &opened {
            Some(generation) => Arc::clone(generation),
            // Nothing to serve yet: an empty generation until the build below swaps one in.
            None => Arc::new(Generation::new(
                0,
                GenBytes::Memory(empty_payload(&settings)?),
                None,
            )?),
        };
        let validate = options.validate;
        let shared = Arc::new(Shared {
            settings,
            fingerprint,
            discovery_reused,
            sources: RwLock::new(resolved),
            current: RwLock::new(current),
            index: RwLock::new(None),
            index_build: Mutex::new(()),
            build_lock: Mutex::new(()),
            // A fixed shard count: the default asks the system for the core count (cgroup files
            // on Linux), a cost every warm start would pay for a map that is mostly empty.
            memory: DashMap::with_shard_amount(MEMORY_SHARDS),
            failed: Mutex::new(Vec::new()),
            warnings: Mutex::new(warnings),
            validation: Mutex::new(ValidationState::Pending),
            last_build: Mutex::new(None),
            memory_only: AtomicBool::new(memory_only),
            served: AtomicU64::new(0),
            epoch: Arc::new(AtomicU32::new(0)),
            repaired: AtomicU64::new(0),
            deferred: AtomicBool::new(false),
            on_demand: AtomicU64::new(0),
            closing: Cancel::new(),
            background: Mutex::new(None),
            options,
        });
        let cache = IconCache { shared };
        match opened {
            Some(generation) => {
                // Only an open without validation compares its sources' stats with the stored
                // ones; validation compares them with their hashes.
                let fresh = validate == Validate::None
                    && cache.sources_unchanged(&generation, stamps.as_ref());
                remove_listed_older(&listed, generation.number);
                // The cache holds it as `current`; a rebuild below must be free to unmap it.
                drop(generation);
                match (validate, fresh) {
                    (Validate::Blocking, _) => cache.validate_now(control)?,
                    (Validate::Background, _) => cache.spawn_validation(),
                    (Validate::Deferred, _) => cache.shared.deferred.store(true, Ordering::Release),
                    (Validate::None, true) => {
                        *lock(&cache.shared.validation) = ValidationState::Skipped
                    }
                    (Validate::None, false) => {
                        cache.rebuild_with(RebuildOptions::default(), control, false)?;
                    }
                }
            }
            None => {
                cache.rebuild_with(RebuildOptions::default(), control, false)?;
                *lock(&cache.shared.validation) = ValidationState::Fresh;
            }
        }
        Ok(cache)
    }

    fn current(&self) -> Arc<Generation> {
        read(&self.shared.current).clone()
    }

    /// The served generation's byte ranges (see [`CacheView`]).
    pub fn view(&self) -> CacheView {
        // The epoch is read before the generation: a swap in between leaves the view with an
        // older epoch, so its holder refreshes once more instead of trusting a stale generation.
        let epoch = self.shared.epoch.load(Ordering::Acquire);
        CacheView {
            generation: self.current(),
            epoch,
        }
    }

    /// Bytes of the served generation held on the heap (a cache kept in memory). A mapped
    /// generation counts 0: its pages belong to the page cache, not to this process's heap.
    pub fn heap_bytes(&self) -> u64 {
        match &self.current().bytes {
            GenBytes::Mapped(_) => 0,
            GenBytes::Memory(v) => v.len() as u64,
        }
    }

    /// A cell holding the number of generation swaps so far. A binding that remembers lookups
    /// against a [`CacheView`] compares it with [`CacheView::epoch`] before trusting them
    /// (docs/icons.md, "Serving path").
    pub fn epoch_cell(&self) -> Arc<AtomicU32> {
        Arc::clone(&self.shared.epoch)
    }

    /// Looks `name` up (`is_x`, `is_x.tga`, `is_x.webp`; any case) and checks the entry; a damaged
    /// entry is re-encoded into memory (then [`Lookup::Memory`]). Encodes on demand an image that
    /// is not in the icon set.
    pub fn find(&self, name: &str) -> Lookup {
        let Some(resref) = icon_name(name) else {
            return Lookup::Missing;
        };
        let generation = self.current();
        if let Some((i, e)) = generation.lookup(&resref) {
            if generation.entry_ok(i, &e) {
                self.shared.served.fetch_add(1, Ordering::Relaxed);
                return Lookup::Mapped {
                    generation: generation.number,
                    index: i,
                };
            }
            return match self.repair(resref) {
                Some(_) => Lookup::Memory,
                None => Lookup::Missing,
            };
        }
        match self.memory_or_demand(resref) {
            Some(_) => Lookup::Memory,
            None => Lookup::Missing,
        }
    }

    /// The icon named `name`, or `None` (no such image, or it could not be decoded: then it is
    /// listed in [`CacheStats::failed`]). Never fails otherwise.
    pub fn get_icon(&self, name: &str) -> Option<Icon> {
        let resref = icon_name(name)?;
        let generation = self.current();
        if let Some((i, e)) = generation.lookup(&resref) {
            if generation.entry_ok(i, &e) {
                if let Some(icon) = generation.icon(&e) {
                    self.shared.served.fetch_add(1, Ordering::Relaxed);
                    return Some(icon);
                }
            }
            return self.repair(resref);
        }
        self.memory_or_demand(resref)
    }

    /// [`IconCache::get_icon`] for several names, in order.
    pub fn get_icons<S: AsRef<str>>(&self, names: &[S]) -> Vec<Option<Icon>> {
        names.iter().map(|n| self.get_icon(n.as_ref())).collect()
    }

    /// Whether an icon of that name is cached (mapped or in memory); nothing is encoded.
    pub fn has(&self, name: &str) -> bool {
        let Some(resref) = icon_name(name) else {
            return false;
        };
        let generation = self.current();
        generation
            .layout
            .find(generation.payload(), resref.as_bytes())
            .is_some()
            || matches!(
                self.shared.memory.get(&resref).as_deref(),
                Some(MemEntry::Ready(_))
            )
    }

    /// Names of the cached icons, sorted.
    pub fn names(&self) -> Vec<String> {
        let generation = self.current();
        let payload = generation.payload();
        let mut names: Vec<String> = (0..generation.layout.len() as u32)
            .filter_map(|i| {
                let e = generation.layout.entry(payload, i)?;
                let n = generation.layout.name(payload, &e)?;
                Some(String::from_utf8_lossy(n).into_owned())
            })
            .collect();
        for item in self.shared.memory.iter() {
            if matches!(item.value(), MemEntry::Ready(_)) {
                names.push(item.key().to_string());
            }
        }
        names.sort();
        names.dedup();
        names
    }

    /// Every location of `name` in the sources (builds the resource index on first use).
    pub fn where_is(&self, name: &str) -> Result<Vec<Location>, Error> {
        self.index()?.where_is(name)
    }

    /// The versioned URL of an icon: `/<prefix>/<name>.webp?v=<8 hex of its blob hash>`.
    pub fn icon_url(&self, name: &str, prefix: &str) -> Option<String> {
        let icon = self.get_icon(name)?;
        let resref = icon_name(name)?;
        Some(icon_url(prefix, resref.as_str(), &icon.version()))
    }

    /// The resource index of the current sources (built on first use, replaced by rebuilds).
    pub fn index(&self) -> Result<Arc<ResourceIndex>, Error> {
        if let Some(index) = read(&self.shared.index).clone() {
            return Ok(index);
        }
        let _guard = lock(&self.shared.index_build);
        if let Some(index) = read(&self.shared.index).clone() {
            return Ok(index);
        }
        let specs = read(&self.shared.sources).specs.clone();
        let index = Arc::new(ResourceIndex::open(
            &specs,
            &self.index_options(),
            &Control::default(),
        )?);
        *write(&self.shared.index) = Some(index.clone());
        Ok(index)
    }

    /// The sources resolved now (discovered again, with a new memo) and their index.
    fn resolve_and_index(
        &self,
        control: &Control<'_>,
    ) -> Result<(Resolved, Arc<ResourceIndex>), Error> {
        let options = &self.shared.options;
        let resolved = memo::resolve(&options.sources, options.cache_dir.as_deref())?;
        let index = ResourceIndex::open(&resolved.specs, &self.index_options(), control)?;
        Ok((resolved, Arc::new(index)))
    }

    fn index_options(&self) -> IndexOptions {
        IndexOptions {
            threads: self.shared.options.threads,
            icon_dirs: self.shared.settings.icon_dirs.clone(),
        }
    }

    /// The discovery that produced the sources, when they were discovered.
    pub fn discovery(&self) -> Option<Discovery> {
        read(&self.shared.sources).discovery.clone()
    }

    /// Re-resolves the sources, re-indexes them and builds a new generation (incrementally unless
    /// `force`), then serves it.
    pub fn rebuild(
        &self,
        options: RebuildOptions,
        control: &Control<'_>,
    ) -> Result<BuildReport, Error> {
        self.rebuild_with(options, control, true)
    }

    /// Writes icons encoded on demand into a new generation.
    pub fn persist(&self, control: &Control<'_>) -> Result<BuildReport, Error> {
        self.rebuild_with(RebuildOptions::default(), control, false)
    }

    fn rebuild_with(
        &self,
        options: RebuildOptions,
        control: &Control<'_>,
        rediscover: bool,
    ) -> Result<BuildReport, Error> {
        let guard = lock(&self.shared.build_lock);
        if rediscover || read(&self.shared.index).is_none() {
            let (resolved, index) = self.resolve_and_index(control)?;
            *write(&self.shared.sources) = resolved;
            *write(&self.shared.index) = Some(index);
        }
        let index = self.index()?;
        let (report, update) = self.build_and_install(&index, options.force, control)?;
        drop(guard);
        self.notify(update);
        Ok(report)
    }

    /// Calls `onUpdate` (outside every lock, so the callback may use the cache).
    fn notify(&self, update: Option<UpdateEvent>) {
        if let (Some(update), Some(cb)) = (update, &self.shared.options.on_update) {
            cb(&update);
        }
    }

    /// Builds and serves a new generation; returns the report and, when a previous generation
    /// was replaced and something changed, the update to announce.
    fn build_and_install(
        &self,
        index: &ResourceIndex,
        force: bool,
        control: &Control<'_>,
    ) -> Result<(BuildReport, Option<UpdateEvent>), Error> {
        let old = self.current();
        let on_demand: Vec<ResRef> = self
            .shared
            .memory
            .iter()
            .filter(|m| matches!(m.value(), MemEntry::Ready(icon) if icon.on_demand))
            .map(|m| *m.key())
            .collect();
        // Blobs of the old generation that are now in memory (repaired) are not reused.
        let number = self.next_generation(old.number);
        let memo = read(&self.shared.sources).memo.clone();
        let built = build::build(
            index,
            &memo,
            Some(build::Old {
                payload: old.payload(),
                layout: &old.layout,
            }),
            &self.shared.settings,
            &on_demand,
            force,
            number,
            self.shared.options.threads,
            control,
        )?;
        control.check()?;
        let mut report = built.report;
        let mut update = built.update;
        update.generation = number;
        let generation = self.persist_generation(number, built.payload, control)?;
        report.persisted = generation.path.is_some();
        generation.trusted.store(true, Ordering::Release);
        let generation = Arc::new(generation);
        let previous = std::mem::replace(&mut *write(&self.shared.current), generation.clone());
        self.shared.epoch.fetch_add(1, Ordering::AcqRel);
        if previous.path.is_some() && previous.path != generation.path {
            previous.superseded.store(true, Ordering::Release);
        }
        drop(previous);
        if let Some(dir) = &self.shared.options.cache_dir {
            remove_older(dir, number);
        }
        // Icons now in the generation leave memory; failures are those of this build.
        let payload = generation.payload();
        self.shared
            .memory
            .retain(|k, _| generation.layout.find(payload, k.as_bytes()).is_none());
        *lock(&self.shared.failed) = report.failed.clone();
        *lock(&self.shared.last_build) = Some(report.clone());
        let old_had_entries = old.layout.len() > 0 || old.number > 0;
        drop(old);
        let changed =
            !update.added.is_empty() || !update.changed.is_empty() || !update.removed.is_empty();
        Ok((report, (old_had_entries && changed).then_some(update)))
    }

    fn next_generation(&self, current: u64) -> u64 {
        let on_disk = self
            .shared
            .options
            .cache_dir
            .as_deref()
            .map(files::list)
            .and_then(|l| l.first().map(|(g, _)| *g))
            .unwrap_or(0);
        current.max(on_disk) + 1
    }

    /// Writes a payload as generation `number` and maps it; falls back to memory (with a
    /// warning) when the folder cannot be written.
    fn persist_generation(
        &self,
        number: u64,
        payload: Vec<u8>,
        control: &Control<'_>,
    ) -> Result<Generation, Error> {
        let dir = match (
            &self.shared.options.cache_dir,
            self.shared.memory_only.load(Ordering::Acquire),
        ) {
            (Some(dir), false) => dir.clone(),
            _ => return Generation::new(number, GenBytes::Memory(payload), None),
        };
        let hooks = Hooks {
            control: *control,
            ..Hooks::default()
        };
        match files::write(&dir, number, &self.shared.fingerprint, &payload, &hooks) {
            Ok(path) => match files::load(&path, &self.shared.fingerprint) {
                Ok(snapshot) => Generation::new(number, GenBytes::Mapped(snapshot), Some(path)),
                Err(reason) => {
                    self.warn(format!(
                        "{}: written but not mapped ({reason}); served from memory",
                        path.display()
                    ));
                    Generation::new(number, GenBytes::Memory(payload), Some(path))
                }
            },
            Err(Error::Aborted) => Err(Error::Aborted),
            Err(e) => {
                self.warn(format!(
                    "cache folder {} cannot be written ({e}); the cache is kept in memory",
                    dir.display()
                ));
                self.shared.memory_only.store(true, Ordering::Release);
                Generation::new(number, GenBytes::Memory(payload), None)
            }
        }
    }

    fn warn(&self, message: String) {
        let mut w = lock(&self.shared.warnings);
        if !w.contains(&message) {
            w.push(message);
        }
    }

    /// Whether the stored sources are the current list with unchanged archive stats and folder
    /// root times (the O(sources) warm check).
    fn sources_unchanged(&self, generation: &Generation, stamps: Option<&Watched>) -> bool {
        let specs = &read(&self.shared.sources).specs;
        let stored = &generation.layout.sources;
        stored.len() == specs.len()
            && stored.iter().zip(specs).all(|(s, spec)| {
                s.describes(spec)
                    && stamps
                        .and_then(|w| w.stamp(&spec.path))
                        .map_or_else(|| stat(&spec.path), |stamp| stamp.stat())
                        .is_some_and(|(size, mtime)| {
                            mtime == s.mtime_ns && (s.kind == SourceKind::Dir || size == s.size)
                        })
            })
    }

    /// Full validation: container checksum, index hash, every source's hash; rebuilds on any
    /// difference.
    fn validate_now(&self, control: &Control<'_>) -> Result<(), Error> {
        let generation = self.current();
        let (resolved, index) = self.resolve_and_index(control)?;
        control.check()?;
        let bytes_ok = generation.verify_bytes();
        let stored = &generation.layout.sources;
        let same_sources = stored.len() == index.sources().len()
            && stored.iter().zip(index.sources()).all(|(s, i)| {
                s.path == i.path.to_string_lossy()
                    && s.kind == i.kind
                    && s.icons == i.icons
                    && s.label == i.label
                    && s.size == i.size
                    && s.mtime_ns == i.mtime_ns
                    && s.hash == i.hash
            });
        *write(&self.shared.sources) = resolved;
        *write(&self.shared.index) = Some(index.clone());
        if bytes_ok.is_ok() && same_sources {
            generation.trusted.store(true, Ordering::Release);
            *lock(&self.shared.validation) = ValidationState::Validated;
            return Ok(());
        }
        if let Err(detail) = bytes_ok {
            self.warn(format!(
                "generation {}: {detail}; rebuilt",
                generation.number
            ));
        }
        drop(generation);
        let guard = lock(&self.shared.build_lock);
        let (_, update) = self.build_and_install(&index, false, control)?;
        *lock(&self.shared.validation) = ValidationState::Rebuilt;
        drop(guard);
        self.notify(update);
        Ok(())
    }

    fn spawn_validation(&self) {
        let cache = self.clone();
        let handle = std::thread::Builder::new()
            .name("modforge-icons-validate".into())
            .spawn(move || {
                lower_priority();
                let cancel = cache.shared.closing.clone();
                let control = Control::cancel(&cancel);
                if let Err(e) = cache.validate_now(&control) {
                    *lock(&cache.shared.validation) = ValidationState::Failed(e.to_string());
                }
            });
        match handle {
            Ok(h) => *lock(&self.shared.background) = Some(h),
            Err(e) => {
                *lock(&self.shared.validation) =
                    ValidationState::Failed(format!("no validation thread: {e}"))
            }
        }
    }

    /// Starts deferred validation ([`Validate::Deferred`]) unless it started already, the cache
    /// was closed or nothing is deferred.
    pub fn start_validation(&self) {
        if self.shared.deferred.swap(false, Ordering::AcqRel) {
            self.spawn_validation();
        }
    }

    /// Waits for background validation (and any rebuild it started) to end; starts deferred
    /// validation first.
    pub fn wait_idle(&self) {
        self.start_validation();
        let handle = lock(&self.shared.background).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }

    /// Stops background work and waits for it. The cache stays usable for queries.
    pub fn close(&self) {
        self.shared.deferred.store(false, Ordering::Release);
        self.shared.closing.cancel();
        self.wait_idle();
    }

    /// Counters and state.
    pub fn stats(&self) -> CacheStats {
        let generation = self.current();
        let mut failed = lock(&self.shared.failed).clone();
        failed.sort_by(|a, b| a.name.cmp(&b.name));
        CacheStats {
            generation: generation.number,
            icons: generation.layout.len() as u64,
            mapped: matches!(generation.bytes, GenBytes::Mapped(_)),
            path: generation.path.clone(),
            bytes: generation.file_bytes(),
            blob_bytes: generation.layout.range(layout::Section::Blobs).len() as u64,
            served: self.shared.served.load(Ordering::Relaxed),
            repaired: self.shared.repaired.load(Ordering::Relaxed),
            on_demand: self.shared.on_demand.load(Ordering::Relaxed),
            failed,
            warnings: lock(&self.shared.warnings).clone(),
            validation: lock(&self.shared.validation).clone(),
            memory_only: self.shared.memory_only.load(Ordering::Acquire),
            last_build: lock(&self.shared.last_build).clone(),
            discovery_reused: self.shared.discovery_reused,
        }
    }

    /// A damaged mapped entry: re-encode from its source into memory (never serve the bytes).
    fn repair(&self, resref: ResRef) -> Option<Icon> {
        if let Some(icon) = self.in_memory(&resref) {
            return icon;
        }
        let icon = self.encode_into_memory(resref, false)?;
        self.shared.repaired.fetch_add(1, Ordering::Relaxed);
        Some(icon)
    }

    fn memory_or_demand(&self, resref: ResRef) -> Option<Icon> {
        if let Some(icon) = self.in_memory(&resref) {
            return icon;
        }
        let icon = self.encode_into_memory(resref, true)?;
        self.shared.on_demand.fetch_add(1, Ordering::Relaxed);
        Some(icon)
    }

    /// `Some(result)` when memory knows the name.
    fn in_memory(&self, resref: &ResRef) -> Option<Option<Icon>> {
        let entry = self.shared.memory.get(resref)?;
        Some(match entry.value() {
            MemEntry::Ready(m) => {
                self.shared.served.fetch_add(1, Ordering::Relaxed);
                Some(Icon {
                    data: IconBytes {
                        owner: Owner::Memory(m.webp.clone()),
                        range: 0..m.webp.len(),
                    },
                    width: m.width,
                    height: m.height,
                    source: m.source.clone(),
                    res_type: m.res_type,
                    blob_hash: m.blob_hash,
                })
            }
            MemEntry::Failed => None,
        })
    }

    fn encode_into_memory(&self, resref: ResRef, on_demand: bool) -> Option<Icon> {
        let index = match self.index() {
            Ok(index) => index,
            Err(e) => {
                self.warn(format!("resource index: {e}"));
                return None;
            }
        };
        let loc = index.best_of(&resref, &self.shared.settings.type_preference, false)?;
        let (info, entry) = index.entry(loc)?;
        let label = entry_label(info, entry);
        let result = index
            .read_loc(loc)
            .and_then(|raw| decode(&raw, entry.key.res_type, &label))
            .and_then(|img| encode_icon(img, &self.shared.settings.encode, &label));
        match result {
            Ok(enc) => {
                let m = Arc::new(MemIcon {
                    blob_hash: xxh3_64(&enc.webp),
                    webp: Arc::new(enc.webp),
                    width: enc.width,
                    height: enc.height,
                    source: Arc::from(info.label.as_str()),
                    res_type: entry.key.res_type,
                    on_demand,
                });
                self.shared.memory.insert(resref, MemEntry::Ready(m));
                self.in_memory(&resref).flatten()
            }
            Err(e) => {
                let mut failed = lock(&self.shared.failed);
                if !failed.iter().any(|f| f.name == resref.as_str()) {
                    failed.push(Failure {
                        name: resref.to_string(),
                        location: index.location(loc, true),
                        code: e.code(),
                        message: e.to_string(),
                    });
                }
                self.shared.memory.insert(resref, MemEntry::Failed);
                None
            }
        }
    }

    /// A contact sheet of icons (see [`SheetOptions`]).
    pub fn contact_sheet(&self, options: &SheetOptions) -> Result<Sheet, Error> {
        sheet::render(self, options)
    }

    /// The `maxSize` setting.
    pub fn max_size(&self) -> Option<u32> {
        self.shared.settings.encode.max_size
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.closing.cancel();
    }
}

/// Background validation yields to serving: on Linux, where a priority applies to the calling
/// thread, it runs niced.
#[cfg(target_os = "linux")]
fn lower_priority() {
    let _ = rustix::process::setpriority_process(None, 10);
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

/// The resref of an icon request: `is_x`, `is_x.tga`, `is_x.webp`, any case.
fn icon_name(name: &str) -> Option<ResRef> {
    let name = match name.len().checked_sub(5) {
        Some(cut)
            if name
                .get(cut..)
                .is_some_and(|s| s.eq_ignore_ascii_case(".webp")) =>
        {
            name.get(..cut)?
        }
        _ => name,
    };
    parse_query(name).ok().map(|(r, _)| r)
}

/// The newest of the listed generations that loads and has this format and settings.
fn open_newest(
    listed: &[(u64, PathBuf)],
    fingerprint: &modforge_store::Fingerprint,
    settings: &Settings,
) -> Option<Generation> {
    for (number, path) in listed {
        let (number, path) = (*number, path.clone());
        let Ok(snapshot) = files::load(&path, fingerprint) else {
            continue;
        };
        let Ok(generation) = Generation::new(number, GenBytes::Mapped(snapshot), Some(path)) else {
            continue;
        };
        let meta = &generation.layout.meta;
        if meta.format_version == FORMAT_VERSION
            && meta.settings_hash == settings.hash
            && meta.generation == number
        {
            return Some(generation);
        }
    }
    None
}

/// Removes listed generation files older than `keep`.
fn remove_listed_older(listed: &[(u64, PathBuf)], keep: u64) {
    for (number, path) in listed {
        if *number < keep {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Removes generation files older than `keep` (a file still mapped elsewhere is left on Windows).
fn remove_older(dir: &Path, keep: u64) {
    for (number, path) in files::list(dir) {
        if number < keep {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn empty_payload(settings: &Settings) -> Result<Vec<u8>, Error> {
    layout::write(
        &layout::Meta {
            format_version: FORMAT_VERSION,
            settings_hash: settings.hash,
            fingerprint_hash: 0,
            generation: 0,
            index_hash: 0,
            entry_count: 0,
            source_count: 0,
            table_slots: 0,
            encoder_id: encoder_id(),
            settings_json: settings.json.clone(),
            discovery_memo: String::new(),
        },
        &[],
        &mut [],
    )
}

/// The icon cache's payload plug-in (`modforge.icons@1`) for the store's `inspect` and
/// `verify` ([`examine_payload`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct IconsPayload;

impl modforge_store::PayloadKind for IconsPayload {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn examine(
        &self,
        snapshot: &Snapshot,
        deep: bool,
        control: &Control<'_>,
    ) -> Result<modforge_store::Examination, modforge_store::Error> {
        modforge_store::Examination::of(deep, examine_payload(snapshot.payload(), deep, control))
    }
}

/// Structural check of a cache payload for `modforge store inspect|verify`: the section table,
/// `meta`, `sources`, and the index hash; with `deep`, every entry (record check value, name,
/// order, blob bounds and hash) and every table slot.
pub fn examine_payload(
    payload: &[u8],
    deep: bool,
    control: &Control<'_>,
) -> Result<serde_json::Value, Error> {
    let file = "icon cache payload";
    let layout =
        layout::Layout::parse(payload).map_err(|(o, d)| Error::corrupt(file, Some(o), d))?;
    let index_ok = layout.compute_index_hash(payload) == layout.meta.index_hash;
    if !index_ok {
        return Err(Error::corrupt(
            file,
            Some(layout.range(layout::Section::Names).start as u64),
            "index hash mismatch (names, entries, table)",
        ));
    }
    let mut blob_bytes = 0u64;
    if deep {
        let mut prev: Option<Vec<u8>> = None;
        let total = layout.len() as u64;
        for i in 0..layout.len() as u32 {
            if i % 1024 == 0 {
                control.check()?;
                control.report(modforge_core::Progress::of(
                    modforge_core::Stage::Verify,
                    u64::from(i),
                    total,
                ));
            }
            let at = Some(
                layout.range(layout::Section::Entries).start as u64
                    + u64::from(i) * ENTRY_LEN as u64,
            );
            let e = layout
                .entry(payload, i)
                .ok_or_else(|| Error::corrupt(file, at, format!("entry {i} unreadable")))?;
            let name = layout.name(payload, &e).ok_or_else(|| {
                Error::corrupt(file, at, format!("entry {i}: name outside names"))
            })?;
            if ResRef::new(name)
                .map(|r| r.as_bytes() != name)
                .unwrap_or(true)
            {
                return Err(Error::corrupt(
                    file,
                    at,
                    format!("entry {i}: name is not a lower-case resref"),
                ));
            }
            if prev.as_deref().is_some_and(|p| p >= name) {
                return Err(Error::corrupt(
                    file,
                    at,
                    format!("entry {i}: names not in strictly ascending order"),
                ));
            }
            if !layout.entry_intact(payload, i) {
                return Err(Error::corrupt(
                    file,
                    at,
                    format!(
                        "entry {i} ({}): check value or blob hash mismatch",
                        String::from_utf8_lossy(name)
                    ),
                ));
            }
            if usize::from(e.source_id) >= layout.sources.len() {
                return Err(Error::corrupt(
                    file,
                    at,
                    format!(
                        "entry {i}: source {} of {}",
                        e.source_id,
                        layout.sources.len()
                    ),
                ));
            }
            if layout.find(payload, name) != Some(i) {
                return Err(Error::corrupt(
                    file,
                    at,
                    format!("entry {i}: not found through the table"),
                ));
            }
            blob_bytes += u64::from(e.blob_len);
            prev = Some(name.to_vec());
        }
        let table = layout.section(payload, layout::Section::Table);
        let used = table
            .chunks_exact(4)
            .filter(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) != 0)
            .count();
        if used != layout.len() {
            return Err(Error::corrupt(
                file,
                Some(layout.range(layout::Section::Table).start as u64),
                format!("{used} table slots in use for {} entries", layout.len()),
            ));
        }
        control.report(modforge_core::Progress::of(
            modforge_core::Stage::Verify,
            total,
            total,
        ));
    }
    let settings: serde_json::Value =
        serde_json::from_str(&layout.meta.settings_json).unwrap_or(serde_json::Value::Null);
    Ok(serde_json::json!({
        "kind": KIND,
        "formatVersion": layout.meta.format_version,
        "generation": layout.meta.generation,
        "encoder": layout.meta.encoder_id,
        "settings": settings,
        "entries": layout.len(),
        "tableSlots": layout.meta.table_slots,
        "blobBytes": layout.range(layout::Section::Blobs).len(),
        "checkedBlobBytes": if deep { Some(blob_bytes) } else { None },
        "sources": layout.sources.iter().map(|s| serde_json::json!({
            "id": s.id, "kind": s.kind.as_str(), "label": s.label, "path": s.path,
            "size": s.size, "mtimeNs": s.mtime_ns, "hash": format!("{:016x}", s.hash),
        })).collect::<Vec<_>>(),
        "deep": deep,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The settings text is the one the addon wrote into caches (keys sorted), so their settings
    /// hash still matches. Compared with literal text: a `serde_json` value's key order depends on
    /// its `preserve_order` feature, which a test build of the whole workspace turns on.
    #[test]
    fn settings_text_keeps_its_form() {
        let default = Settings::new(&IconCacheOptions::new(Sources::List(Vec::new()))).unwrap();
        assert_eq!(
            default.json,
            r#"{"exactTransparent":false,"extraIcons":[],"iconDirs":["icons"],"maxSize":null,"resampler":"lanczos3","typePreference":["dds","tga","png"]}"#
        );
        let mut o = IconCacheOptions::new(Sources::List(Vec::new()));
        o.icon_dirs = vec!["Icons".into(), "a\"b".into()];
        o.extra_icons = vec!["is_fireball".into(), "IA_X.tga".into()];
        o.encode.max_size = Some(64);
        o.encode.exact_transparent = true;
        assert_eq!(
            Settings::new(&o).unwrap().json,
            r#"{"exactTransparent":true,"extraIcons":["ia_x","is_fireball"],"iconDirs":["a\"b","icons"],"maxSize":64,"resampler":"lanczos3","typePreference":["dds","tga","png"]}"#
        );
    }
}
