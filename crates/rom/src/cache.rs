//! The two cache levels of a `RomFile` (docs/rom.md, "Caches"): L1, an in-memory LRU bounded by
//! bytes and entries; L2, snapshot files of the store's container on disk, one folder per ROM
//! content hash, every entry verified (container checks, then this payload's own checks) before
//! it is served. An unusable disk cache degrades to L1 and says so in [`CacheStats`].

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use modforge_core::{Control, Reader};
use modforge_store::{Fingerprint, FingerprintAlgorithm, Hooks, SnapshotId};
use xxhash_rust::xxh3::xxh3_64;

use crate::error::Error;
use crate::hal::Decoded;
use crate::image::{ImageFormat, Thumbnail};

/// Snapshot kind of decoded blobs.
pub const BLOB_KIND: &str = "modforge.rom.blob@1";
/// Snapshot kind of thumbnails.
pub const THUMB_KIND: &str = "modforge.rom.thumb@1";
const PAYLOAD_MAGIC: [u8; 4] = *b"MFRC";
const PAYLOAD_LAYOUT: u16 = 1;
const DATA_VERSION: &str = "1";
const PAYLOAD_LABEL: &str = "<rom cache payload>";

/// What an entry holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum EntryKind {
    Blob = 1,
    Thumb = 2,
}

impl EntryKind {
    fn snapshot_kind(self) -> &'static str {
        match self {
            EntryKind::Blob => BLOB_KIND,
            EntryKind::Thumb => THUMB_KIND,
        }
    }

    fn short(self) -> &'static str {
        match self {
            EntryKind::Blob => "blob",
            EntryKind::Thumb => "thumb",
        }
    }
}

/// Identifies an entry: kind, ROM offset and a hash of the options that shaped it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    pub kind: EntryKind,
    pub offset: u64,
    pub options: u64,
}

/// A cached value.
#[derive(Clone, Debug)]
pub(crate) enum Cached {
    Blob(Arc<Decoded>),
    Thumb(Arc<Thumbnail>),
}

impl Cached {
    fn size(&self) -> usize {
        match self {
            Cached::Blob(d) => d.data.len() + 64,
            Cached::Thumb(t) => t.image.len() + 64,
        }
    }
}

/// Counters of the memory cache.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct L1Stats {
    /// Lookups served.
    pub hits: u64,
    /// Lookups not served.
    pub misses: u64,
    /// Entries held.
    pub entries: u64,
    /// Bytes held.
    pub bytes: u64,
    /// Entries dropped to stay within the caps.
    pub evictions: u64,
}

/// Counters and state of the disk cache.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct L2Stats {
    /// Whether a cache folder was configured.
    pub enabled: bool,
    /// Lookups served from disk.
    pub hits: u64,
    /// Lookups not served (absent, expired, stale or failing a check).
    pub misses: u64,
    /// Entries written.
    pub writes: u64,
    /// Failed writes (and an unusable folder).
    pub errors: u64,
    /// Why the disk cache stopped being written (the cache then works as L1 only).
    pub degraded: Option<String>,
}

/// Both levels' counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Memory cache.
    pub l1: L1Stats,
    /// Disk cache.
    pub l2: L2Stats,
}

/// Cache settings taken from the open options.
pub(crate) struct CacheConfig {
    pub dir: Option<PathBuf>,
    pub ttl: Option<Duration>,
    pub l1_max_bytes: usize,
    pub l1_max_entries: usize,
}

/// An LRU over cached values, bounded by bytes and by entries. Hand-written: the bound by the
/// sum of entry sizes is the point, and the common LRU crates bound the count only.
struct Lru {
    map: HashMap<CacheKey, (Cached, u64)>,
    order: BTreeMap<u64, CacheKey>,
    tick: u64,
    bytes: usize,
    max_bytes: usize,
    max_entries: usize,
    stats: L1Stats,
}

impl Lru {
    fn get(&mut self, key: &CacheKey) -> Option<Cached> {
        let Some((value, stamp)) = self.map.get_mut(key) else {
            self.stats.misses += 1;
            return None;
        };
        self.order.remove(stamp);
        self.tick += 1;
        *stamp = self.tick;
        self.order.insert(self.tick, *key);
        self.stats.hits += 1;
        Some(value.clone())
    }

    fn insert(&mut self, key: CacheKey, value: Cached) {
        let size = value.size();
        if size > self.max_bytes || self.max_entries == 0 {
            return;
        }
        if let Some((old, stamp)) = self.map.remove(&key) {
            self.order.remove(&stamp);
            self.bytes -= old.size();
        }
        self.tick += 1;
        self.order.insert(self.tick, key);
        self.map.insert(key, (value, self.tick));
        self.bytes += size;
        while self.bytes > self.max_bytes || self.map.len() > self.max_entries {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some((old, _)) = self.map.remove(&oldest) {
                self.bytes -= old.size();
                self.stats.evictions += 1;
            }
        }
    }

    fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
        self.bytes = 0;
    }
}

struct Disk {
    root: PathBuf,
    ttl: Option<Duration>,
    degraded: Mutex<Option<String>>,
    hits: AtomicU64,
    misses: AtomicU64,
    writes: AtomicU64,
    errors: AtomicU64,
}

/// Both cache levels of one ROM.
pub(crate) struct Caches {
    l1: Mutex<Lru>,
    disk: Option<Disk>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Caches {
    pub(crate) fn new(config: CacheConfig) -> Caches {
        let disk = config.dir.map(|root| {
            let degraded = std::fs::create_dir_all(&root)
                .err()
                .map(|e| format!("cache folder {}: {e}", root.display()));
            Disk {
                errors: AtomicU64::new(u64::from(degraded.is_some())),
                root,
                ttl: config.ttl,
                degraded: Mutex::new(degraded),
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
                writes: AtomicU64::new(0),
            }
        });
        Caches {
            l1: Mutex::new(Lru {
                map: HashMap::new(),
                order: BTreeMap::new(),
                tick: 0,
                bytes: 0,
                max_bytes: config.l1_max_bytes,
                max_entries: config.l1_max_entries,
                stats: L1Stats::default(),
            }),
            disk,
        }
    }

    /// L1 lookup.
    pub(crate) fn get_memory(&self, key: &CacheKey) -> Option<Cached> {
        lock(&self.l1).get(key)
    }

    /// L1 insert.
    pub(crate) fn put_memory(&self, key: CacheKey, value: Cached) {
        lock(&self.l1).insert(key, value);
    }

    /// Drops every L1 entry.
    pub(crate) fn clear_memory(&self) {
        lock(&self.l1).clear();
    }

    /// Whether a disk cache is configured (even if degraded).
    pub(crate) fn has_disk(&self) -> bool {
        self.disk.is_some()
    }

    fn id(disk: &Disk, key: &CacheKey, rom_hash: u128) -> Result<SnapshotId, Error> {
        let name = format!("{}-{:x}-{:016x}", key.kind.short(), key.offset, key.options);
        let bucket = xxh3_64(name.as_bytes()) & 0xFF;
        let dir = disk
            .root
            .join(format!("{rom_hash:032x}"))
            .join(format!("{bucket:02x}"));
        SnapshotId::new(dir, &name, DATA_VERSION, key.kind.snapshot_kind())
            .map_err(|e| Error::Internal(format!("cache entry name: {e}")))
    }

    fn fingerprint(rom_hash: u128) -> Fingerprint {
        let mut value = [0u8; 32];
        value[..16].copy_from_slice(&rom_hash.to_le_bytes());
        Fingerprint::from_parts(FingerprintAlgorithm::Content, value)
    }

    /// L2 lookup: served only when the file passes the container's checks for this ROM's
    /// content hash, is younger than the TTL, and its payload decodes to the same key.
    pub(crate) fn get_disk(&self, key: &CacheKey, rom_hash: u128) -> Option<Cached> {
        let disk = self.disk.as_ref()?;
        let served = (|| {
            let id = Self::id(disk, key, rom_hash).ok()?;
            if let Some(ttl) = disk.ttl {
                let modified = std::fs::metadata(id.path()).ok()?.modified().ok()?;
                if modified.elapsed().map_or(true, |age| age > ttl) {
                    return None;
                }
            }
            let snapshot = modforge_store::load(&id, &Self::fingerprint(rom_hash)).ok()?;
            let (found, value) = parse_payload(snapshot.payload(), true).ok()?;
            (found == *key).then_some(value)
        })();
        let counter = if served.is_some() {
            &disk.hits
        } else {
            &disk.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        served
    }

    /// L2 write (atomic, through the store). A failure degrades the disk cache; it is never an
    /// error of the caller's request.
    pub(crate) fn put_disk(&self, key: &CacheKey, rom_hash: u128, value: &Cached) {
        let Some(disk) = self.disk.as_ref() else {
            return;
        };
        if lock(&disk.degraded).is_some() {
            return;
        }
        let outcome = Self::id(disk, key, rom_hash).and_then(|id| {
            let payload = encode_payload(key, value);
            modforge_store::put_blob_fingerprinted(
                &id,
                &Self::fingerprint(rom_hash),
                &payload,
                &Hooks::default(),
            )
            .map_err(|e| Error::Internal(e.to_string()))
            .and_then(|put| match put.persist_error {
                None => Ok(()),
                Some(e) => Err(Error::Internal(e.to_string())),
            })
        });
        match outcome {
            Ok(()) => {
                disk.writes.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                disk.errors.fetch_add(1, Ordering::Relaxed);
                lock(&disk.degraded).get_or_insert_with(|| e.to_string());
            }
        }
    }

    /// Both levels' counters.
    pub(crate) fn stats(&self) -> CacheStats {
        let l1 = {
            let lru = lock(&self.l1);
            L1Stats {
                entries: lru.map.len() as u64,
                bytes: lru.bytes as u64,
                ..lru.stats.clone()
            }
        };
        let l2 = self
            .disk
            .as_ref()
            .map_or_else(L2Stats::default, |d| L2Stats {
                enabled: true,
                hits: d.hits.load(Ordering::Relaxed),
                misses: d.misses.load(Ordering::Relaxed),
                writes: d.writes.load(Ordering::Relaxed),
                errors: d.errors.load(Ordering::Relaxed),
                degraded: lock(&d.degraded).clone(),
            });
        CacheStats { l1, l2 }
    }
}

fn image_format_byte(f: ImageFormat) -> u8 {
    match f {
        ImageFormat::Png => 1,
        ImageFormat::Webp => 2,
        ImageFormat::Rgba => 3,
    }
}

/// The payload of one entry (docs/rom.md, "Cache payload").
pub(crate) fn encode_payload(key: &CacheKey, value: &Cached) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&PAYLOAD_MAGIC);
    out.extend_from_slice(&PAYLOAD_LAYOUT.to_le_bytes());
    out.push(key.kind as u8);
    out.push(0);
    out.extend_from_slice(&key.offset.to_le_bytes());
    out.extend_from_slice(&key.options.to_le_bytes());
    let data: &[u8] = match value {
        Cached::Blob(d) => {
            out.extend_from_slice(&(d.consumed as u32).to_le_bytes());
            for c in d.command_counts {
                out.extend_from_slice(&c.to_le_bytes());
            }
            &d.data
        }
        Cached::Thumb(t) => {
            out.extend_from_slice(&t.width.to_le_bytes());
            out.extend_from_slice(&t.height.to_le_bytes());
            out.extend_from_slice(&t.tiles.to_le_bytes());
            out.push(u8::from(t.partial_tile));
            out.push(image_format_byte(t.format));
            out.extend_from_slice(&[0, 0]);
            &t.image
        }
    };
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    let hash = payload_hash(&out, data);
    out.extend_from_slice(&hash.to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// XXH3-64 over every payload byte except the hash field itself (fields, then data).
fn payload_hash(fields: &[u8], data: &[u8]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(fields);
    h.update(data);
    h.digest()
}

fn corrupt(offset: usize, detail: impl Into<String>) -> Error {
    Error::Corrupt {
        file: PAYLOAD_LABEL.into(),
        offset: offset as u64,
        detail: detail.into(),
    }
}

/// Decodes a payload; `check_data` verifies the payload hash (every field and the data).
pub(crate) fn parse_payload(payload: &[u8], check_data: bool) -> Result<(CacheKey, Cached), Error> {
    let mut r = Reader::new(payload);
    let short = |e: modforge_core::OutOfBounds| corrupt(e.offset as usize, e.to_string());
    if r.array::<4>().map_err(short)? != PAYLOAD_MAGIC {
        return Err(corrupt(0, "bad magic (expected MFRC)"));
    }
    let layout = r.u16_le().map_err(short)?;
    if layout != PAYLOAD_LAYOUT {
        return Err(corrupt(
            4,
            format!("layout {layout} (expected {PAYLOAD_LAYOUT})"),
        ));
    }
    let kind = match r.u8().map_err(short)? {
        1 => EntryKind::Blob,
        2 => EntryKind::Thumb,
        other => return Err(corrupt(6, format!("entry kind {other} (expected 1 or 2)"))),
    };
    if r.u8().map_err(short)? != 0 {
        return Err(corrupt(7, "reserved byte is not zero"));
    }
    let offset = r.u64_le().map_err(short)?;
    let options = r.u64_le().map_err(short)?;
    let key = CacheKey {
        kind,
        offset,
        options,
    };
    enum Meta {
        Blob(usize, [u32; 8]),
        Thumb(u32, u32, u32, bool, ImageFormat),
    }
    let meta = match kind {
        EntryKind::Blob => {
            let consumed = r.u32_le().map_err(short)? as usize;
            let mut counts = [0u32; 8];
            for c in &mut counts {
                *c = r.u32_le().map_err(short)?;
            }
            Meta::Blob(consumed, counts)
        }
        EntryKind::Thumb => {
            let width = r.u32_le().map_err(short)?;
            let height = r.u32_le().map_err(short)?;
            let tiles = r.u32_le().map_err(short)?;
            let at = r.pos();
            let partial = match r.u8().map_err(short)? {
                0 => false,
                1 => true,
                other => return Err(corrupt(at, format!("partial flag {other}"))),
            };
            let format = match r.u8().map_err(short)? {
                1 => ImageFormat::Png,
                2 => ImageFormat::Webp,
                3 => ImageFormat::Rgba,
                other => return Err(corrupt(at + 1, format!("image format {other}"))),
            };
            if r.array::<2>().map_err(short)? != [0, 0] {
                return Err(corrupt(at + 2, "reserved bytes are not zero"));
            }
            Meta::Thumb(width, height, tiles, partial, format)
        }
    };
    let len_at = r.pos();
    let len = r.u32_le().map_err(short)? as usize;
    let hash = r.u64_le().map_err(short)?;
    if r.remaining() != len {
        return Err(corrupt(
            len_at,
            format!("data length {len} but {} bytes follow", r.remaining()),
        ));
    }
    let data_at = r.pos();
    let data = r.take(len).map_err(short)?;
    let fields = payload.get(..len_at + 4).unwrap_or_default();
    if check_data && payload_hash(fields, data) != hash {
        return Err(corrupt(data_at, "payload hash mismatch"));
    }
    let value = match meta {
        Meta::Blob(consumed, command_counts) => {
            if len > crate::hal::MAX_OUTPUT {
                return Err(corrupt(
                    len_at,
                    format!("blob of {len} bytes exceeds 65,536"),
                ));
            }
            Cached::Blob(Arc::new(Decoded {
                data: data.to_vec(),
                consumed,
                command_counts,
            }))
        }
        Meta::Thumb(width, height, tiles, partial_tile, format) => {
            if format == ImageFormat::Rgba
                && (width as usize)
                    .checked_mul(height as usize)
                    .and_then(|p| p.checked_mul(4))
                    != Some(len)
            {
                return Err(corrupt(len_at, "RGBA data does not match width x height"));
            }
            Cached::Thumb(Arc::new(Thumbnail {
                image: data.to_vec(),
                width,
                height,
                tiles,
                partial_tile,
                format,
            }))
        }
    };
    Ok((key, value))
}

/// Structural check of an L2 payload for the store's inspect/verify: the layout, lengths and
/// fields; `deep` also verifies the payload hash and decodes a thumbnail's image to check its
/// dimensions. Returns a JSON summary; a failed check is a Corrupt error naming the offset.
pub fn examine_payload(
    payload: &[u8],
    deep: bool,
    control: &Control<'_>,
) -> Result<serde_json::Value, Error> {
    control.check()?;
    let (key, value) = parse_payload(payload, deep)?;
    let mut summary = serde_json::json!({
        "entry": key.kind.short(),
        "offset": key.offset,
        "options": format!("{:016x}", key.options),
        "deep": deep,
    });
    match &value {
        Cached::Blob(d) => {
            summary["dataLength"] = d.data.len().into();
            summary["consumed"] = d.consumed.into();
            summary["commandCounts"] = d.command_counts.to_vec().into();
        }
        Cached::Thumb(t) => {
            summary["dataLength"] = t.image.len().into();
            summary["width"] = t.width.into();
            summary["height"] = t.height.into();
            summary["tiles"] = t.tiles.into();
            summary["format"] = t.format.as_str().into();
            if deep {
                control.check()?;
                let (w, h) = crate::image::image_dimensions(t)
                    .map_err(|e| corrupt(0, format!("thumbnail image does not decode: {e}")))?;
                if (w, h) != (t.width, t.height) {
                    return Err(corrupt(
                        0,
                        format!("image is {w}x{h}, the entry says {}x{}", t.width, t.height),
                    ));
                }
            }
        }
    }
    Ok(summary)
}

/// The L2 payload kinds' plug-in for the store's `inspect` and `verify` ([`examine_payload`]).
#[derive(Debug, Clone, Copy)]
pub struct RomCachePayload(&'static str);

impl RomCachePayload {
    /// Decoded blocks (`modforge.rom.blob@1`).
    pub const BLOB: RomCachePayload = RomCachePayload(BLOB_KIND);
    /// Thumbnails (`modforge.rom.thumb@1`).
    pub const THUMB: RomCachePayload = RomCachePayload(THUMB_KIND);
}

impl modforge_store::PayloadKind for RomCachePayload {
    fn kind(&self) -> &'static str {
        self.0
    }

    fn examine(
        &self,
        snapshot: &modforge_store::Snapshot,
        deep: bool,
        control: &Control<'_>,
    ) -> Result<modforge_store::Examination, modforge_store::Error> {
        modforge_store::Examination::of(deep, examine_payload(snapshot.payload(), deep, control))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(n: usize) -> Cached {
        Cached::Blob(Arc::new(Decoded {
            data: vec![7; n],
            consumed: 3,
            command_counts: [1, 0, 0, 0, 0, 0, 0, 0],
        }))
    }

    fn key(offset: u64) -> CacheKey {
        CacheKey {
            kind: EntryKind::Blob,
            offset,
            options: 1,
        }
    }

    #[test]
    fn lru_is_bounded_by_bytes_and_entries() {
        let caches = Caches::new(CacheConfig {
            dir: None,
            ttl: None,
            l1_max_bytes: 1000,
            l1_max_entries: 3,
        });
        for i in 0..4 {
            caches.put_memory(key(i), blob(100));
        }
        let s = caches.stats();
        assert_eq!((s.l1.entries, s.l1.evictions), (3, 1));
        assert!(caches.get_memory(&key(0)).is_none(), "oldest evicted");
        assert!(caches.get_memory(&key(1)).is_some());
        // 1 is now the most recent; a large entry evicts by bytes, oldest first.
        caches.put_memory(key(9), blob(700));
        assert!(caches.get_memory(&key(2)).is_none());
        assert!(caches.get_memory(&key(1)).is_some());
        assert!(caches.stats().l1.bytes <= 1000);
        // Larger than the whole cache: not kept.
        caches.put_memory(key(10), blob(5000));
        assert!(caches.get_memory(&key(10)).is_none());
        let s = caches.stats();
        assert_eq!((s.l1.hits, s.l2.enabled), (2, false));
    }

    #[test]
    fn payloads_round_trip_and_damage_is_detected() {
        let k = key(0x1234);
        let payload = encode_payload(&k, &blob(40));
        let (back, value) = parse_payload(&payload, true).unwrap();
        assert_eq!(back, k);
        assert!(matches!(value, Cached::Blob(d) if d.data == vec![7; 40]));
        let json = examine_payload(&payload, true, &Control::default()).unwrap();
        assert_eq!(json["entry"], "blob");
        assert_eq!(json["dataLength"], 40);
        for cut in 0..payload.len() {
            assert!(parse_payload(&payload[..cut], true).is_err(), "cut {cut}");
        }
        for i in 0..payload.len() {
            let mut bad = payload.clone();
            bad[i] ^= 0x10;
            assert!(parse_payload(&bad, true).is_err(), "flip at {i}");
        }
    }
}
