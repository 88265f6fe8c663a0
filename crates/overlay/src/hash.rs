//! Path hashes, chunk names, content hashes and fingerprints (docs/overlay.md, "Hashing and
//! names").
//!
//! - A chunk's **path hash** is XXH64 (seed 0) of its path with `\` turned into `/` and Unicode
//!   lower case.
//! - A mod file named after its hash (the last component's text before its first `.` is exactly 16
//!   hex digits) stands for that hash, at any depth; `name.ltk` and `name.ltk.<ext>` hash as `name`.
//! - A **content hash** is XXH3_64 (seed 0) of a chunk's uncompressed bytes.
//! - Fingerprints are XXH3_64 over fixed little-endian framings, never over seconds or absolute
//!   paths, so they survive a move of the install and see a same-size edit within one second.

use std::time::SystemTime;

use xxhash_rust::xxh3::{Xxh3, xxh3_64};
use xxhash_rust::xxh64::xxh64;

/// The path hash of a chunk path: XXH64 of the path with `\` → `/`, Unicode lower case.
pub fn path_hash(path: &str) -> u64 {
    xxh64(normalise_path(path).as_bytes(), 0)
}

/// `path` with `\` → `/`, Unicode lower case, empty and `.` components dropped (so `a//./b` and
/// `a/b` name the same chunk).
pub fn normalise_path(path: &str) -> String {
    let lower = path.replace('\\', "/").to_lowercase();
    let mut out = String::with_capacity(lower.len());
    for part in lower.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(part);
    }
    out
}

/// The value of a hex name: `Some(hash)` when the last component's text before its first `.` is
/// exactly 16 hex digits (either case, no `0x`).
pub fn hex_name(rel_path: &str) -> Option<u64> {
    let last = rel_path.rsplit(['/', '\\']).next().unwrap_or(rel_path);
    let stem = last.split('.').next().unwrap_or(last);
    if stem.len() != 16 || !stem.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(stem, 16).ok()
}

/// The path hash a mod file at `rel_path` (relative to its WAD folder, RAW folder or archive
/// prefix) stands for: its hex name, else the path with a trailing `.ltk` / `.ltk.<ext>` removed
/// from the last component, else the path itself.
pub fn chunk_hash_for_rel_path(rel_path: &str) -> u64 {
    if let Some(hash) = hex_name(rel_path) {
        return hash;
    }
    path_hash(&strip_ltk(&normalise_path(rel_path)))
}

/// The chunk path a mod file's relative path names, when it is not a hex name: the normalised
/// path without the `.ltk` marker. `None` for hex names (they carry no path).
pub fn chunk_path_for_rel_path(rel_path: &str) -> Option<String> {
    if hex_name(rel_path).is_some() {
        return None;
    }
    Some(strip_ltk(&normalise_path(rel_path)))
}

/// Removes `.ltk` (and one extension after it) from the last component of a normalised path:
/// `dir/a.ltk.bin` → `dir/a`, `a.ltk` → `a`. Other paths are returned unchanged.
fn strip_ltk(path: &str) -> String {
    let (dir, last) = match path.rfind('/') {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => ("", path),
    };
    let parts: Vec<&str> = last.split('.').collect();
    let keep = match parts.as_slice() {
        [.., name_end, "ltk"] if !name_end.is_empty() => parts.len() - 1,
        [.., name_end, "ltk", _ext] if !name_end.is_empty() => parts.len() - 2,
        _ => return path.to_owned(),
    };
    let name = parts[..keep].join(".");
    if name.is_empty() {
        return path.to_owned();
    }
    format!("{dir}{name}")
}

/// The content hash of uncompressed chunk bytes.
pub fn content_hash(bytes: &[u8]) -> u64 {
    xxh3_64(bytes)
}

/// A streaming content hasher (files are hashed in 1 MiB blocks).
#[derive(Clone)]
pub struct ContentHasher {
    state: Xxh3,
    len: u64,
}

impl Default for ContentHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl ContentHasher {
    /// A hasher with nothing fed yet.
    pub fn new() -> Self {
        ContentHasher {
            state: Xxh3::new(),
            len: 0,
        }
    }

    /// Feeds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        self.state.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The content hash of everything fed.
    pub fn finish(&self) -> u64 {
        self.state.digest()
    }
}

/// The hash of the `.SubChunkTOC` chunk of a game WAD, from its path relative to the game
/// folder: `.client` → `.subchunktoc`, `\` → `/`, lower case, XXH64.
pub fn subchunk_toc_hash(wad_key: &str) -> u64 {
    let lower = wad_key.replace('\\', "/").to_lowercase();
    let stem = lower.strip_suffix(".client").unwrap_or(&lower);
    xxh64(format!("{stem}.subchunktoc").as_bytes(), 0)
}

/// The fingerprint of one overlay WAD's override set: 0 when empty, else XXH3_64 of
/// `path_hash u64 LE ‖ content_hash u64 LE` for every override in ascending path-hash order.
/// `overrides` must be sorted by path hash.
pub fn wad_fingerprint(overrides: &[(u64, u64)]) -> u64 {
    if overrides.is_empty() {
        return 0;
    }
    let mut state = Xxh3::new();
    for (path, content) in overrides {
        state.update(&path.to_le_bytes());
        state.update(&content.to_le_bytes());
    }
    state.digest()
}

/// One file of a stat fingerprint: its key (a `/`-separated relative path), size and
/// modification time in nanoseconds since the Unix epoch.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StatRecord {
    /// Path relative to the fingerprinted root, `/`-separated, original case.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time in ns since the Unix epoch; 0 if earlier or unavailable.
    pub mtime_ns: u64,
}

/// The fingerprint of a set of files (the game's WADs, a folder mod's files): XXH3_64 of
/// `key UTF-8 ‖ 00 ‖ size u64 LE ‖ mtime_ns u64 LE` for each file in ascending key-byte order.
/// Sorts `records` in place.
pub fn stat_fingerprint(records: &mut [StatRecord]) -> u64 {
    records.sort_unstable_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
    let mut state = Xxh3::new();
    for r in records.iter() {
        state.update(r.key.as_bytes());
        state.update(&[0]);
        state.update(&r.size.to_le_bytes());
        state.update(&r.mtime_ns.to_le_bytes());
    }
    state.digest()
}

/// The fingerprint of an archive mod (fantome, zip, modpkg): XXH3_64(size u64 LE ‖ mtime_ns u64 LE).
pub fn archive_fingerprint(size: u64, mtime_ns: u64) -> u64 {
    let mut buf = [0u8; 16];
    buf[..8].copy_from_slice(&size.to_le_bytes());
    buf[8..].copy_from_slice(&mtime_ns.to_le_bytes());
    xxh3_64(&buf)
}

/// A mod's key in the state file: XXH3_64(mod fingerprint u64 LE ‖ L), where L is `*` when no
/// layer selection was given, else the active layer names other than `base`, sorted by bytes,
/// deduplicated and joined by a 00 byte.
pub fn mod_key(mod_fingerprint: u64, layers: Option<&[String]>) -> u64 {
    let mut buf = mod_fingerprint.to_le_bytes().to_vec();
    match layers {
        None => buf.push(b'*'),
        Some(names) => {
            let mut names: Vec<&str> = names
                .iter()
                .map(String::as_str)
                .filter(|n| *n != crate::BASE_LAYER)
                .collect();
            names.sort_unstable();
            names.dedup();
            buf.extend_from_slice(names.join("\0").as_bytes());
        }
    }
    xxh3_64(&buf)
}

/// A modification time as ns since the Unix epoch; 0 if earlier, unavailable or beyond u64.
pub fn mtime_ns(time: std::io::Result<SystemTime>) -> u64 {
    time.ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .and_then(|d| u64::try_from(d.as_nanos()).ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_of_docs() {
        assert_eq!(xxh64(b"", 0), 0xef46db3751d8e999);
        assert_eq!(content_hash(b""), 0x2d06800538d394c2);
        assert_eq!(
            path_hash("assets/characters/aatrox/skins/base/aatrox.dds"),
            0xf716de620eda77c1
        );
        assert_eq!(
            path_hash("ASSETS\\Characters\\Aatrox\\Skins\\Base\\Aatrox.dds"),
            0xf716de620eda77c1
        );
        assert_eq!(
            subchunk_toc_hash("DATA\\FINAL\\Champions\\Aatrox.wad.client"),
            0x2985839a5e9401ea
        );
        assert_eq!(
            subchunk_toc_hash("DATA/FINAL/Champions/Aatrox.wad.client"),
            0x2985839a5e9401ea
        );
        assert_eq!(
            chunk_hash_for_rel_path("data/foo/0123456789abcdef.bin"),
            0x0123456789abcdef
        );
        assert_eq!(
            path_hash("data/foo/0123456789abcdef.bin"),
            0x62e3f8d6d0b79329
        );
        assert_eq!(chunk_hash_for_rel_path("a.ltk.bin"), 0xd24ec4f1a98c6e5b);
        assert_eq!(chunk_hash_for_rel_path("a.ltk"), 0xd24ec4f1a98c6e5b);
        assert_eq!(path_hash("a"), 0xd24ec4f1a98c6e5b);
        assert_eq!(path_hash("a.bin"), 0x887f604301dae4aa);
        assert_eq!(path_hash("data/a.bin"), 0xb15dea5ecb650b0b);
        assert_eq!(path_hash("assets/sounds/x.bnk"), 0x152d887203df4615);
        assert_eq!(content_hash(b"hello"), 0x9555e8555c62dcfd);
        let b = b"BKHD\x04\x00\x00\x00wxyz";
        assert_eq!(content_hash(b), 0x1596eaf52536a7a4);
    }

    #[test]
    fn wad_fingerprint_vectors() {
        let b = content_hash(b"BKHD\x04\x00\x00\x00wxyz");
        let hello = content_hash(b"hello");
        let x = path_hash("assets/sounds/x.bnk");
        let a = path_hash("data/a.bin");
        assert_eq!(wad_fingerprint(&[(x, b)]), 0x2fad9a6ddba962f1);
        assert_eq!(wad_fingerprint(&[(a, b)]), 0x2be7cb0651bd2aa2);
        let mut both = vec![(a, hello), (x, b)];
        both.sort_unstable();
        assert_eq!(wad_fingerprint(&both), 0x7d147d6616afc8fc);
        assert_eq!(wad_fingerprint(&[]), 0);
    }

    #[test]
    fn game_and_mod_fingerprint_vectors() {
        let mut records = vec![
            StatRecord {
                key: "DATA/FINAL/Champions/Ahri.wad.client".into(),
                size: 2048,
                mtime_ns: 1_700_000_000_987_654_321,
            },
            StatRecord {
                key: "DATA/FINAL/Champions/Aatrox.wad.client".into(),
                size: 1000,
                mtime_ns: 1_700_000_000_123_456_789,
            },
        ];
        assert_eq!(stat_fingerprint(&mut records), 0x43969f81a36c9912);
        assert_eq!(records[0].key, "DATA/FINAL/Champions/Aatrox.wad.client");
        let fp = archive_fingerprint(123_456, 1_700_000_000_123_456_789);
        assert_eq!(fp, 0x84bad31f43264997);
        assert_eq!(mod_key(fp, None), 0x9d2491ed9c425bb7);
        let layers = ["chroma", "base", "alt"].map(String::from);
        assert_eq!(mod_key(fp, Some(&layers)), 0xe7c564c2d863d3a0);
        assert_eq!(mod_key(fp, Some(&[])), 0xc0e9a531affa9c2b);
        let base_only = ["base".to_owned()];
        assert_eq!(mod_key(fp, Some(&base_only)), mod_key(fp, Some(&[])));
    }

    #[test]
    fn hex_names_at_any_depth_and_ltk_rules() {
        assert_eq!(hex_name("0123456789ABCDEF.bin"), Some(0x0123456789abcdef));
        assert_eq!(
            hex_name("dir/0123456789abcdef.tex.dds"),
            Some(0x0123456789abcdef)
        );
        assert_eq!(hex_name("0123456789abcdef"), Some(0x0123456789abcdef));
        assert_eq!(hex_name("0x23456789abcdef.bin"), None);
        assert_eq!(hex_name("0123456789abcde.bin"), None);
        assert_eq!(hex_name("0123456789abcdef0.bin"), None);
        assert_eq!(hex_name("0123456789abcdeg.bin"), None);
        assert_eq!(
            chunk_hash_for_rel_path("Dir\\A.LTK.bin"),
            path_hash("dir/a")
        );
        assert_eq!(chunk_hash_for_rel_path("x/.ltk"), path_hash("x/.ltk"));
        assert_eq!(chunk_hash_for_rel_path("a.ltk.b.c"), path_hash("a.ltk.b.c"));
        assert_eq!(chunk_path_for_rel_path("a.ltk.bin").as_deref(), Some("a"));
        assert_eq!(chunk_path_for_rel_path("0123456789abcdef.bin"), None);
        assert_eq!(normalise_path("A//./B\\c"), "a/b/c");
    }
}
