//! Per-mod metadata caches (`modforge.overlay.mod@1`, docs/overlay.md, "Mod cache payload"):
//! one snapshot per mod id under `<stateDir>/cache/`, holding everything pass 1 learned
//! ([`ModMeta`]) so that an unchanged mod is never read again. The payload is a sequence of
//! little-endian fields; strings are `u32 length ‖ UTF-8`, optional values a `u8` flag first.
//!
//! Entries are game-independent, so they survive a game patch. The store fingerprint is the
//! mod's fingerprint; a stale cache of a folder mod is still read for the content hashes of its
//! unchanged files.

use std::path::Path;

use modforge_core::{Control, Reader};
use modforge_store::{Fingerprint, FingerprintAlgorithm, Header, Hooks, Snapshot, SnapshotId};
use serde_json::json;

use crate::error::{Error, Result};
use crate::mods::{
    FileStamp, Item, LayerInfo, ModInfo, ModKind, ModMeta, Source, TreeStamps, WadDir, ZipEntryRef,
};
use crate::report::{Warning, WarningCode};
use crate::wad::{SubchunkRecord, TocEntry};

/// The snapshot kind of a mod cache.
pub(crate) const MOD_KIND: &str = "modforge.overlay.mod@1";
const MAGIC: &[u8; 8] = b"MFOVMOD1";
/// The snapshot kind of a folder mod's stamps (docs/overlay.md, "Folder stamps").
pub(crate) const TREE_KIND: &str = "modforge.overlay.tree@1";
const TREE_MAGIC: &[u8; 8] = b"MFOVTRE1";

/// Little-endian field writer.
#[derive(Default)]
struct Enc(Vec<u8>);

impl Enc {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
            None => self.u8(0),
        }
    }
    fn zip(&mut self, z: &ZipEntryRef) {
        self.u32(z.index);
        self.str(&z.name);
        self.u64(z.data_start);
        self.u64(z.compressed_size);
        self.u64(z.size);
        self.u16(z.method);
        self.u32(z.crc32);
        self.u8(u8::from(z.is_dir));
    }
    fn entry(&mut self, e: &TocEntry) {
        self.u64(e.path_hash);
        self.u32(e.offset);
        self.u32(e.packed_size);
        self.u32(e.size);
        self.u8(e.chunk_type);
        self.u8(e.subchunk_count);
        self.u32(e.subchunk_index);
        self.u8(u8::from(e.duplicate));
        self.u64(e.checksum);
    }
}

/// Bounds-checked field reader.
struct Dec<'a> {
    r: Reader<'a>,
}

impl<'a> Dec<'a> {
    fn bad(&self, what: &str) -> Error {
        Error::corrupt(
            "mod cache payload",
            Some(self.r.pos() as u64),
            what.to_owned(),
        )
    }
    fn u8(&mut self) -> Result<u8> {
        self.r.u8().map_err(|_| self.bad("truncated"))
    }
    fn u16(&mut self) -> Result<u16> {
        self.r.u16_le().map_err(|_| self.bad("truncated"))
    }
    fn u32(&mut self) -> Result<u32> {
        self.r.u32_le().map_err(|_| self.bad("truncated"))
    }
    fn i32(&mut self) -> Result<i32> {
        self.r.i32_le().map_err(|_| self.bad("truncated"))
    }
    fn u64(&mut self) -> Result<u64> {
        self.r.u64_le().map_err(|_| self.bad("truncated"))
    }
    fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.bad("flag is neither 0 nor 1")),
        }
    }
    /// A count whose items need at least `min` bytes each: capped by what remains.
    fn count(&mut self, min: usize) -> Result<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min) > self.r.remaining() {
            return Err(self.bad("count exceeds the payload"));
        }
        Ok(n)
    }
    fn str(&mut self) -> Result<String> {
        let n = self.u32()? as usize;
        let bytes = self.r.take(n).map_err(|_| self.bad("truncated string"))?;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.bad("string is not UTF-8"))
    }
    fn opt_str(&mut self) -> Result<Option<String>> {
        Ok(if self.bool()? {
            Some(self.str()?)
        } else {
            None
        })
    }
    fn zip(&mut self) -> Result<ZipEntryRef> {
        Ok(ZipEntryRef {
            index: self.u32()?,
            name: self.str()?,
            data_start: self.u64()?,
            compressed_size: self.u64()?,
            size: self.u64()?,
            method: self.u16()?,
            crc32: self.u32()?,
            is_dir: self.bool()?,
        })
    }
    fn entry(&mut self) -> Result<TocEntry> {
        Ok(TocEntry {
            path_hash: self.u64()?,
            offset: self.u32()?,
            packed_size: self.u32()?,
            size: self.u32()?,
            chunk_type: self.u8()?,
            subchunk_count: self.u8()?,
            subchunk_index: self.u32()?,
            duplicate: self.bool()?,
            checksum: self.u64()?,
        })
    }
}

/// Encodes a mod's metadata.
pub(crate) fn encode(meta: &ModMeta) -> Vec<u8> {
    let mut e = Enc::default();
    e.0.extend_from_slice(MAGIC);
    e.u64(meta.fingerprint);
    e.u8(meta.info.kind.code());
    e.str(&meta.info.name);
    e.opt_str(meta.info.version.as_deref());
    e.len(meta.info.layers.len());
    for l in &meta.info.layers {
        e.str(&l.name);
        e.opt_str(l.display_name.as_deref());
        e.i32(l.priority);
    }
    e.len(meta.dirs.len());
    for d in &meta.dirs {
        e.u16(d.layer);
        e.str(&d.name);
        e.str(&d.raw_name);
        e.u8(u8::from(d.packed));
    }
    e.len(meta.items.len());
    for it in &meta.items {
        e.u64(it.path_hash);
        e.u64(it.content_hash);
        e.u64(it.size);
        e.u32(it.dir.unwrap_or(u32::MAX));
        e.str(&it.rel_path);
        match &it.source {
            Source::File { rel } => {
                e.u8(0);
                e.str(rel);
            }
            Source::Zip(z) => {
                e.u8(1);
                e.zip(z);
            }
            Source::PackedChunk {
                wad,
                entry,
                packed_checksum,
                subchunks,
            } => {
                e.u8(2);
                e.zip(wad);
                e.entry(entry);
                e.u64(*packed_checksum);
                e.len(subchunks.len());
                for s in subchunks {
                    e.u32(s.packed_size);
                    e.u32(s.size);
                    e.u64(s.checksum);
                }
            }
            Source::Modpkg {
                offset,
                stored_size,
                compression,
                stored_checksum,
            } => {
                e.u8(3);
                e.u64(*offset);
                e.u64(*stored_size);
                e.u8(*compression);
                e.u64(*stored_checksum);
            }
        }
    }
    e.len(meta.warnings.len());
    for w in &meta.warnings {
        e.u8(w.code.code());
        e.str(&w.message);
        e.opt_str(w.wad.as_deref());
        match w.path_hash {
            Some(h) => {
                e.u8(1);
                e.u64(h);
            }
            None => e.u8(0),
        }
    }
    e.len(meta.stamps.len());
    for s in &meta.stamps {
        e.str(&s.rel);
        e.u64(s.size);
        e.u64(s.mtime_ns);
        e.u64(s.content_hash);
    }
    e.0
}

/// Decodes and validates a mod cache payload (every index checked against its table).
pub(crate) fn decode(payload: &[u8]) -> Result<ModMeta> {
    let mut d = Dec {
        r: Reader::new(payload),
    };
    if d.r.take(8).ok() != Some(&MAGIC[..]) {
        return Err(Error::corrupt(
            "mod cache payload",
            Some(0),
            "not a mod cache payload",
        ));
    }
    let fingerprint = d.u64()?;
    let kind = ModKind::from_code(d.u8()?).ok_or_else(|| d.bad("unknown mod kind"))?;
    let name = d.str()?;
    let version = d.opt_str()?;
    let n = d.count(9)?;
    let mut layers = Vec::with_capacity(n);
    for _ in 0..n {
        layers.push(LayerInfo {
            name: d.str()?,
            display_name: d.opt_str()?,
            priority: d.i32()?,
        });
    }
    let n = d.count(11)?;
    let mut dirs = Vec::with_capacity(n);
    for _ in 0..n {
        let layer = d.u16()?;
        if usize::from(layer) >= layers.len() {
            return Err(d.bad("WAD folder names a layer out of range"));
        }
        dirs.push(WadDir {
            layer,
            name: d.str()?,
            raw_name: d.str()?,
            packed: d.bool()?,
        });
    }
    let n = d.count(33)?;
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        let path_hash = d.u64()?;
        let content_hash = d.u64()?;
        let size = d.u64()?;
        let dir = match d.u32()? {
            u32::MAX => None,
            i if (i as usize) < dirs.len() => Some(i),
            _ => return Err(d.bad("item names a WAD folder out of range")),
        };
        let rel_path = d.str()?;
        let source = match d.u8()? {
            0 => Source::File { rel: d.str()? },
            1 => Source::Zip(d.zip()?),
            2 => {
                let wad = d.zip()?;
                let entry = d.entry()?;
                let packed_checksum = d.u64()?;
                let k = d.count(16)?;
                let mut subchunks = Vec::with_capacity(k);
                for _ in 0..k {
                    subchunks.push(SubchunkRecord {
                        packed_size: d.u32()?,
                        size: d.u32()?,
                        checksum: d.u64()?,
                    });
                }
                Source::PackedChunk {
                    wad,
                    entry,
                    packed_checksum,
                    subchunks,
                }
            }
            3 => Source::Modpkg {
                offset: d.u64()?,
                stored_size: d.u64()?,
                compression: d.u8()?,
                stored_checksum: d.u64()?,
            },
            _ => return Err(d.bad("unknown source tag")),
        };
        items.push(Item {
            path_hash,
            content_hash,
            size,
            dir,
            rel_path,
            source,
        });
    }
    let n = d.count(7)?;
    let mut warnings = Vec::with_capacity(n);
    for _ in 0..n {
        let code = WarningCode::from_code(d.u8()?).ok_or_else(|| d.bad("unknown warning code"))?;
        let message = d.str()?;
        let wad = d.opt_str()?;
        let path_hash = if d.bool()? { Some(d.u64()?) } else { None };
        warnings.push(Warning {
            code,
            message,
            mod_id: None,
            wad,
            path_hash,
        });
    }
    let n = d.count(28)?;
    let mut stamps = Vec::with_capacity(n);
    for _ in 0..n {
        stamps.push(FileStamp {
            rel: d.str()?,
            size: d.u64()?,
            mtime_ns: d.u64()?,
            content_hash: d.u64()?,
        });
    }
    if d.r.remaining() != 0 {
        return Err(d.bad("bytes after the last field"));
    }
    Ok(ModMeta {
        info: ModInfo {
            kind,
            name,
            version,
            layers,
        },
        fingerprint,
        dirs,
        items,
        warnings,
        stamps,
    })
}

/// The store fingerprint of a mod fingerprint.
fn store_fingerprint(fp: u64) -> Fingerprint {
    let mut value = [0u8; 32];
    value[..8].copy_from_slice(&fp.to_le_bytes());
    Fingerprint::from_parts(FingerprintAlgorithm::Stat, value)
}

fn snapshot_id(state_dir: &Path, mod_id: &str) -> Result<SnapshotId> {
    Ok(SnapshotId::new(
        state_dir.join("cache"),
        &format!("mod-{mod_id}"),
        "1",
        MOD_KIND,
    )?)
}

/// A cache lookup: the metadata when its fingerprint is current, or a stale one's stamps.
pub(crate) enum Cached {
    /// Current.
    Hit(ModMeta),
    /// Collected at another fingerprint (only the stamps of a folder mod are reusable).
    Stale(ModMeta),
    /// None usable.
    Miss,
}

/// Looks up the cache of `mod_id` for fingerprint `fp`. Every header check of the store runs
/// (against the stored fingerprint for a stale file); the payload is fully validated.
pub(crate) fn load(state_dir: &Path, mod_id: &str, fp: u64) -> Cached {
    let Ok(id) = snapshot_id(state_dir, mod_id) else {
        return Cached::Miss;
    };
    if let Ok(snapshot) = modforge_store::load(&id, &store_fingerprint(fp)) {
        return match decode(snapshot.payload()) {
            Ok(meta) if meta.fingerprint == fp => Cached::Hit(meta),
            _ => Cached::Miss,
        };
    }
    let Ok(image) = modforge_store::read_source(&id.path(), &Control::default()) else {
        return Cached::Miss;
    };
    let Some(stored) = Header::decode(&image).and_then(|h| h.fingerprint()) else {
        return Cached::Miss;
    };
    match Snapshot::from_image(id.path(), image, &id, &stored) {
        Ok(snapshot) => match decode(snapshot.payload()) {
            Ok(meta) => Cached::Stale(meta),
            Err(_) => Cached::Miss,
        },
        Err(_) => Cached::Miss,
    }
}

/// Saves a mod's metadata (atomic).
pub(crate) fn save(state_dir: &Path, mod_id: &str, meta: &ModMeta) -> Result<()> {
    let id = snapshot_id(state_dir, mod_id)?;
    modforge_store::write(
        &id,
        &store_fingerprint(meta.fingerprint),
        &encode(meta),
        &Hooks::default(),
    )?;
    Ok(())
}

/// Removes the caches and stamps of mods not in `keep` (ids).
pub(crate) fn prune(state_dir: &Path, keep: &[String]) {
    let dir = state_dir.join("cache");
    let wanted: std::collections::HashSet<String> = keep
        .iter()
        .flat_map(|id| [snapshot_id(state_dir, id), tree_id(state_dir, id)])
        .filter_map(|id| id.ok())
        .map(|id| id.file_name().to_owned())
        .collect();
    let prefixes = ["mod-", "tree-"].map(modforge_store::encode_component);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if prefixes.iter().any(|p| name.starts_with(p.as_str()))
            && name.ends_with(".mfs")
            && !wanted.contains(&name)
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn tree_id(state_dir: &Path, mod_id: &str) -> Result<SnapshotId> {
    Ok(SnapshotId::new(
        state_dir.join("cache"),
        &format!("tree-{mod_id}"),
        "1",
        TREE_KIND,
    )?)
}

/// The stamps of folder mod `mod_id` recorded by an earlier build, if readable and intact.
pub(crate) fn load_tree(state_dir: &Path, mod_id: &str) -> Option<TreeStamps> {
    let id = tree_id(state_dir, mod_id).ok()?;
    let image = modforge_store::read_source(&id.path(), &Control::default()).ok()?;
    let stored = Header::decode(&image).and_then(|h| h.fingerprint())?;
    let snapshot = Snapshot::from_image(id.path(), image, &id, &stored).ok()?;
    let stamps = decode_tree(snapshot.payload()).ok()?;
    (store_fingerprint(stamps.fingerprint) == stored).then_some(stamps)
}

/// Saves the stamps of folder mod `mod_id` (atomic).
pub(crate) fn save_tree(state_dir: &Path, mod_id: &str, stamps: &TreeStamps) -> Result<()> {
    let id = tree_id(state_dir, mod_id)?;
    let mut e = Enc::default();
    e.0.extend_from_slice(TREE_MAGIC);
    e.u64(stamps.fingerprint);
    e.str(&stamps.root);
    e.len(stamps.dirs.len());
    for (rel, mtime) in &stamps.dirs {
        e.str(rel);
        e.u64(*mtime);
    }
    e.len(stamps.files.len());
    for (rel, size, mtime) in &stamps.files {
        e.str(rel);
        e.u64(*size);
        e.u64(*mtime);
    }
    modforge_store::write(
        &id,
        &store_fingerprint(stamps.fingerprint),
        &e.0,
        &Hooks::default(),
    )?;
    Ok(())
}

/// Decodes a stamps payload (counts capped by its length).
fn decode_tree(payload: &[u8]) -> Result<TreeStamps> {
    let mut d = Dec {
        r: Reader::new(payload),
    };
    if d.r.take(8).ok() != Some(&TREE_MAGIC[..]) {
        return Err(d.bad("not a folder stamps payload"));
    }
    let fingerprint = d.u64()?;
    let root = d.str()?;
    let n = d.count(12)?;
    let mut dirs = Vec::with_capacity(n);
    for _ in 0..n {
        dirs.push((d.str()?, d.u64()?));
    }
    let n = d.count(20)?;
    let mut files = Vec::with_capacity(n);
    for _ in 0..n {
        files.push((d.str()?, d.u64()?, d.u64()?));
    }
    if d.r.remaining() != 0 {
        return Err(d.bad("bytes after the last file"));
    }
    Ok(TreeStamps {
        root,
        fingerprint,
        dirs,
        files,
    })
}

/// Examines one of this crate's snapshot payloads (mod cache, folder stamps, game index or memo) for the
/// store's inspect and verify: a structural check, and with `deep` a full check of every record.
/// Returns a JSON summary.
pub fn examine_payload(
    payload: &[u8],
    deep: bool,
    control: &Control<'_>,
) -> Result<serde_json::Value> {
    control.check()?;
    match payload.get(..8) {
        Some(m) if m == MAGIC => {
            let meta = decode(payload)?;
            if deep {
                for (i, it) in meta.items.iter().enumerate() {
                    if i % 4096 == 0 {
                        control.check()?;
                    }
                    if let Source::PackedChunk { entry, .. } = &it.source {
                        if entry.path_hash != it.path_hash {
                            return Err(Error::corrupt(
                                "mod cache payload",
                                None,
                                format!("item {i}: packed chunk hash differs from the item's"),
                            ));
                        }
                    }
                }
            }
            Ok(json!({
                "kind": MOD_KIND,
                "modKind": meta.info.kind.as_str(),
                "name": meta.info.name,
                "fingerprint": format!("{:016x}", meta.fingerprint),
                "layers": meta.info.layers.len(),
                "wadFolders": meta.dirs.len(),
                "items": meta.items.len(),
                "warnings": meta.warnings.len(),
                "files": meta.stamps.len(),
            }))
        }
        Some(m) if m == b"MFOVGIX1" => {
            let s = crate::game::index_structure(payload, deep)?;
            Ok(json!({
                "kind": crate::game::INDEX_KIND,
                "fingerprint": format!("{:016x}", s.fingerprint),
                "wads": s.wads.len(),
                "hashes": s.hash_count,
                "holders": s.holder_count,
            }))
        }
        Some(m) if m == crate::game::SLICE_MAGIC => {
            let s = crate::game::slice_shape(payload, deep)?;
            let index = crate::game::index_structure(&payload[s.index.clone()], false)?;
            Ok(json!({
                "kind": crate::game::SLICE_KIND,
                "fingerprint": format!("{:016x}", s.fingerprint),
                "wads": index.wads.len(),
                "heldHashes": index.hash_count,
                "absentHashes": s.absent.1,
                "prefixes": s.prefixes.1,
            }))
        }
        Some(m) if m == TREE_MAGIC => {
            let stamps = decode_tree(payload)?;
            Ok(json!({
                "kind": TREE_KIND,
                "fingerprint": format!("{:016x}", stamps.fingerprint),
                "root": stamps.root,
                "folders": stamps.dirs.len(),
                "files": stamps.files.len(),
            }))
        }
        Some(m) if m == b"MFOVMEM1" => {
            let (memo, fp) = crate::game::Memo::decode(payload, deep)?;
            Ok(json!({
                "kind": crate::game::MEMO_KIND,
                "fingerprint": format!("{fp:016x}"),
                "entries": memo.len(),
            }))
        }
        _ => Err(Error::corrupt(
            "payload",
            Some(0),
            "not a modforge overlay payload (mod cache, folder stamps, game index, game slice or memo)",
        )),
    }
}

/// The overlay's payload kinds as plug-ins for the store's `inspect` and `verify`
/// ([`examine_payload`], which must also find the payload layout the header's kind names).
#[derive(Debug, Clone, Copy)]
pub struct OverlayPayload(&'static str);

impl OverlayPayload {
    /// Per-mod metadata caches (`modforge.overlay.mod@1`).
    pub const MOD: OverlayPayload = OverlayPayload(MOD_KIND);
    /// Folder mod stamps (`modforge.overlay.tree@1`).
    pub const TREE: OverlayPayload = OverlayPayload(TREE_KIND);
    /// The game index (`modforge.overlay.game@1`).
    pub const GAME_INDEX: OverlayPayload = OverlayPayload(crate::game::INDEX_KIND);
    /// The memo of game content hashes (`modforge.overlay.memo@1`).
    pub const MEMO: OverlayPayload = OverlayPayload(crate::game::MEMO_KIND);
    /// The slice of the game index the last build's mods asked about
    /// (`modforge.overlay.slice@1`).
    pub const GAME_SLICE: OverlayPayload = OverlayPayload(crate::game::SLICE_KIND);
}

impl modforge_store::PayloadKind for OverlayPayload {
    fn kind(&self) -> &'static str {
        self.0
    }

    fn examine(
        &self,
        snapshot: &Snapshot,
        deep: bool,
        control: &Control<'_>,
    ) -> std::result::Result<modforge_store::Examination, modforge_store::Error> {
        let outcome = examine_payload(snapshot.payload(), deep, control).and_then(|details| {
            if details.get("kind").and_then(|k| k.as_str()) == Some(self.0) {
                Ok(details)
            } else {
                Err(Error::corrupt(
                    "payload",
                    Some(0),
                    format!(
                        "the header names {} but the payload holds another layout",
                        self.0
                    ),
                ))
            }
        });
        modforge_store::Examination::of(deep, outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_stamps_round_trip_and_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let stamps = TreeStamps {
            root: "/mods/a".into(),
            fingerprint: 0x1234_5678_9abc_def0,
            dirs: vec![(String::new(), 1), ("content".into(), 2)],
            files: vec![("content/base/A.wad.client/x.bin".into(), 5, 3)],
        };
        save_tree(dir.path(), "a", &stamps).unwrap();
        assert_eq!(load_tree(dir.path(), "a"), Some(stamps.clone()));
        assert_eq!(load_tree(dir.path(), "b"), None);
        // A flipped byte anywhere in the file fails the store's checks.
        let path = tree_id(dir.path(), "a").unwrap().path();
        let good = std::fs::read(&path).unwrap();
        for at in (0..good.len()).step_by(7) {
            let mut bad = good.clone();
            bad[at] ^= 0x20;
            std::fs::write(&path, &bad).unwrap();
            assert_ne!(
                load_tree(dir.path(), "a"),
                Some(stamps.clone()),
                "flip at {at}"
            );
        }
        // Every truncation of the payload is refused by the decoder itself.
        let mut e = Enc::default();
        e.0.extend_from_slice(TREE_MAGIC);
        e.u64(stamps.fingerprint);
        e.str(&stamps.root);
        e.len(1);
        e.str("");
        e.u64(1);
        e.len(0);
        let payload = e.0;
        assert!(decode_tree(&payload).is_ok());
        for cut in 0..payload.len() {
            assert!(decode_tree(&payload[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = payload.clone();
        long.push(0);
        assert!(decode_tree(&long).is_err());
    }
}
