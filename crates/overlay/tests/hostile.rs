//! Hostile input for every parser (docs/overlay.md, "Mod formats", "WAD format", "Folder
//! stamps", "Game slice"): WAD files of every version, fantome/zip archives (with packed WADs
//! inside), modpkg packages, the folder stamps payload and the game slice payload get random
//! bytes, truncation at every offset, bit flips, and structure-aware mutation (valid framing with
//! lying fields). Every input gives a value or an error, never a panic, and allocates at most a
//! bounded multiple of its length (a counting global allocator watches every allocation).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use modforge_core::Control;
use modforge_gen::SplitMix64;
use modforge_overlay::hash::path_hash;
use modforge_overlay::wad::{
    ComposedEntry, SubchunkRecord, SubchunkToc, TocEntry, WadImage, decode_chunk,
    find_subchunk_toc, parse_toc,
};
use modforge_overlay::{AnalyzeOptions, analyze_mod, examine_payload, read_wad_bytes};
use xxhash_rust::xxh3::xxh3_64;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts sizes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: the caller's layout is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was returned by `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let now = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                - layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        // SAFETY: as for `alloc`; `ptr` and `layout` come from a previous allocation.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Tests of this file run one at a time so the allocation peak belongs to one input.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `f` on `input`, asserting the allocation peak above the baseline stays under
/// `64 × len + 16 MiB`.
fn bounded<T>(input: &[u8], what: &str, f: impl FnOnce(&[u8]) -> T) -> T {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f(input);
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    let limit = input.len() * 64 + (16 << 20);
    assert!(
        peak <= limit,
        "{what}: {peak} bytes allocated for a {}-byte input",
        input.len()
    );
    out
}

/// Parses a WAD and decodes every chunk, as `extract_wad` does in memory.
fn wad_all(bytes: &[u8]) -> usize {
    let Ok(listing) = read_wad_bytes(bytes, "hostile") else {
        return 0;
    };
    let Ok(toc) = parse_toc(bytes, bytes.len() as u64, "hostile") else {
        return 0;
    };
    let slice = |e: &TocEntry| bytes.get(e.offset as usize..e.end() as usize);
    let subs = find_subchunk_toc(&toc.entries, None, |e| {
        decode_chunk(e, slice(e)?, None, "h").ok()
    });
    listing
        .entries
        .iter()
        .filter_map(|e| decode_chunk(e, slice(e)?, subs.as_ref(), "h").ok())
        .count()
}

/// A valid 3.4 WAD with raw, zstd and subchunked entries and a SubChunkTOC.
fn sample_wad() -> Vec<u8> {
    let mut records = Vec::new();
    let mut chunks = Vec::new();
    for i in 0..6u64 {
        let plain: Vec<u8> = (0..300 + i * 40)
            .map(|k| (k * (i + 3) % 17) as u8)
            .collect();
        let path = format!("data/h/{i}.bin");
        let (kind, packed, count, index) = match i % 3 {
            0 => (0u8, plain.clone(), 0u8, 0u32),
            1 => (3, zstd::bulk::compress(&plain, 1).unwrap(), 0, 0),
            _ => {
                let index = records.len() as u32;
                let (a, b) = plain.split_at(plain.len() / 2);
                let za = zstd::bulk::compress(a, 1).unwrap();
                records.push(SubchunkRecord {
                    packed_size: b.len() as u32,
                    size: b.len() as u32,
                    checksum: xxh3_64(b),
                });
                records.push(SubchunkRecord {
                    packed_size: za.len() as u32,
                    size: a.len() as u32,
                    checksum: xxh3_64(&za),
                });
                // Raw subchunk first here is deliberate: the reader follows the records.
                let packed = [b.to_vec(), za].concat();
                let plain = [b.to_vec(), a.to_vec()].concat();
                let e = TocEntry {
                    path_hash: path_hash(&path),
                    offset: 0,
                    packed_size: 0,
                    size: plain.len() as u32,
                    chunk_type: 4,
                    subchunk_count: 2,
                    subchunk_index: index,
                    duplicate: false,
                    checksum: xxh3_64(&packed),
                };
                chunks.push(ComposedEntry { entry: e, packed });
                continue;
            }
        };
        let e = TocEntry {
            path_hash: path_hash(&path),
            offset: 0,
            packed_size: 0,
            size: plain.len() as u32,
            chunk_type: kind,
            subchunk_count: count,
            subchunk_index: index,
            duplicate: false,
            checksum: xxh3_64(&packed),
        };
        chunks.push(ComposedEntry { entry: e, packed });
    }
    let toc = SubchunkToc::encode(&records);
    let ztoc = zstd::bulk::compress(&toc, 1).unwrap();
    chunks.push(ComposedEntry {
        entry: TocEntry {
            path_hash: 77,
            offset: 0,
            packed_size: 0,
            size: toc.len() as u32,
            chunk_type: 3,
            subchunk_count: 0,
            subchunk_index: 0,
            duplicate: false,
            checksum: xxh3_64(&ztoc),
        },
        packed: ztoc,
    });
    chunks.sort_by_key(|c| c.entry.path_hash);
    WadImage {
        major: 3,
        minor: 4,
        signature: vec![5; 256],
        checksum: None,
        entries: Vec::new(),
        toc_capacity: 0,
    }
    .compose(chunks)
    .unwrap()
}

fn legacy_wad(major: u8, minor: u8) -> Vec<u8> {
    let chunks = (0..3u64)
        .map(|i| ComposedEntry {
            entry: TocEntry {
                path_hash: i,
                offset: 0,
                packed_size: 0,
                size: 20,
                chunk_type: 0,
                subchunk_count: 0,
                subchunk_index: 0,
                duplicate: false,
                checksum: 0,
            },
            packed: vec![i as u8; 20],
        })
        .collect();
    WadImage {
        major,
        minor,
        signature: vec![1; 83],
        checksum: Some(3),
        entries: Vec::new(),
        toc_capacity: 0,
    }
    .compose(chunks)
    .unwrap()
}

/// The classic mutations: random bytes, every truncation, bit flips.
fn classic(seed: u64, valid: &[u8], mut check: impl FnMut(&[u8], &str)) {
    let mut rng = SplitMix64::new(seed);
    for n in [0usize, 1, 3, 16, 300, 4096] {
        let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
        check(&bytes, "random");
        let mut with_magic = bytes.clone();
        for (i, b) in valid.iter().take(8).enumerate() {
            if let Some(slot) = with_magic.get_mut(i) {
                *slot = *b;
            }
        }
        check(&with_magic, "random with magic");
    }
    for cut in 0..valid.len() {
        check(&valid[..cut], "truncated");
    }
    for _ in 0..300 {
        let mut b = valid.to_vec();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(b.len() as u64) as usize;
            b[i] ^= 1 << rng.below(8);
        }
        check(&b, "bit flip");
    }
}

/// Values a lying field takes.
fn lies(rng: &mut SplitMix64, len: usize) -> u32 {
    let choices = [
        0u32,
        1,
        2,
        15,
        16,
        255,
        256,
        0x7FFF_FFFF,
        0xFFFF_FFFF,
        len as u32,
        len as u32 + 1,
        len as u32 - 1,
        rng.next_u64() as u32,
    ];
    choices[rng.below(choices.len() as u64) as usize]
}

#[test]
fn wad_parser_survives_hostile_input() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let valid = sample_wad();
    assert_eq!(wad_all(&valid), 7, "the sample decodes fully");
    classic(1, &valid, |b, what| {
        bounded(b, what, wad_all);
    });
    for (major, minor) in [(1, 0), (2, 1), (3, 1)] {
        let v = legacy_wad(major, minor);
        assert_eq!(wad_all(&v), 3);
        classic(2, &v, |b, what| {
            bounded(b, what, wad_all);
        });
    }
    // Structure-aware: valid header and framing, lying count and entry fields.
    let mut rng = SplitMix64::new(3);
    let entries = (valid.len() - 272) / 32;
    for _ in 0..3000 {
        let mut b = valid.clone();
        match rng.below(8) {
            0 => b[268..272].copy_from_slice(&lies(&mut rng, valid.len()).to_le_bytes()),
            1..=5 => {
                let e = 272 + 32 * rng.below(entries.min(7) as u64) as usize;
                let field = [8usize, 12, 16, 20, 21, 22][rng.below(6) as usize];
                let v = lies(&mut rng, valid.len());
                match field {
                    20 | 21 => b[e + field] = v as u8,
                    22 => b[e + 22..e + 24].copy_from_slice(&(v as u16).to_le_bytes()),
                    _ => b[e + field..e + field + 4].copy_from_slice(&v.to_le_bytes()),
                }
            }
            6 => {
                b[3] = rng.below(6) as u8;
            }
            _ => {
                let e = 272 + 32 * rng.below(entries.min(7) as u64) as usize;
                b[e + 20] = (rng.below(16) as u8) | ((rng.below(16) as u8) << 4);
            }
        }
        bounded(&b, "lying WAD field", wad_all);
    }
    // 1.x/2.x: lying TOC offset and entry size.
    for (major, at) in [(1u8, 4usize), (2, 96)] {
        let v = legacy_wad(major, 0);
        for _ in 0..300 {
            let mut b = v.clone();
            let value = lies(&mut rng, v.len()) as u16;
            let field = at + 2 * rng.below(2) as usize;
            b[field..field + 2].copy_from_slice(&value.to_le_bytes());
            bounded(&b, "lying legacy field", wad_all);
        }
    }
}

fn with_file<T>(dir: &Path, name: &str, bytes: &[u8], f: impl FnOnce(&Path) -> T) -> T {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    f(&p)
}

fn analyze(path: &Path) -> bool {
    analyze_mod(path, &AnalyzeOptions::default(), &Control::default()).is_ok()
}

fn sample_fantome(inner_wad: &[u8]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflate = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    z.start_file("META/info.json", deflate).unwrap();
    z.write_all(b"{\"Name\":\"h\",\"Version\":\"1\",\"Layers\":{\"x\":{\"Priority\":2}}}")
        .unwrap();
    z.start_file("WAD/Aatrox.wad.client/data/a.bin", deflate)
        .unwrap();
    z.write_all(&[7u8; 500]).unwrap();
    z.start_file("WAD/Ahri.wad.client", stored).unwrap();
    z.write_all(inner_wad).unwrap();
    z.start_file("WAD/Annie.wad", deflate).unwrap();
    z.write_all(inner_wad).unwrap();
    z.start_file("RAW/data/r.bin", stored).unwrap();
    z.write_all(b"raw").unwrap();
    z.finish().unwrap().into_inner()
}

#[test]
fn fantome_parser_survives_hostile_input() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let valid = sample_fantome(&sample_wad());
    assert!(with_file(dir.path(), "v.fantome", &valid, analyze));
    classic(4, &valid, |b, what| {
        bounded(b, what, |b| with_file(dir.path(), "h.fantome", b, analyze));
    });
    // Structure-aware: the zip is rebuilt around a lying inner WAD (valid framing, CRCs right).
    let mut rng = SplitMix64::new(5);
    let inner = sample_wad();
    for _ in 0..300 {
        let mut w = inner.clone();
        let e = 272 + 32 * rng.below(7) as usize;
        let field = [8usize, 12, 16][rng.below(3) as usize];
        w[e + field..e + field + 4].copy_from_slice(&lies(&mut rng, inner.len()).to_le_bytes());
        if rng.chance(0.3) {
            w[268..272].copy_from_slice(&lies(&mut rng, inner.len()).to_le_bytes());
        }
        let z = sample_fantome(&w);
        bounded(&z, "fantome with a lying WAD", |b| {
            with_file(dir.path(), "s.fantome", b, analyze)
        });
    }
    // Lying zip fields: sizes, counts and offsets in the local and central headers.
    for _ in 0..600 {
        let mut b = valid.clone();
        let sigs: Vec<usize> = (0..b.len() - 4)
            .filter(|&i| b[i..i + 2] == *b"PK")
            .collect();
        let at = sigs[rng.below(sigs.len() as u64) as usize];
        let off = at + [10usize, 14, 18, 20, 22, 24, 26, 28, 30, 42][rng.below(10) as usize];
        if off + 4 <= b.len() {
            let v = lies(&mut rng, valid.len());
            b[off..off + 4].copy_from_slice(&v.to_le_bytes());
        }
        bounded(&b, "lying zip field", |b| {
            with_file(dir.path(), "z.fantome", b, analyze)
        });
    }
}

fn sample_modpkg() -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    out.extend_from_slice(b"_modpkg_");
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&2u32.to_le_bytes());
    for (n, p) in [("base", 0i32), ("chroma", 4)] {
        out.extend_from_slice(&(n.len() as u32).to_le_bytes());
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(&p.to_le_bytes());
    }
    let paths = ["_meta_/info.msgpack", "data/a.bin", "0123456789abcdef.bin"];
    out.extend_from_slice(&(paths.len() as u32).to_le_bytes());
    for p in paths {
        out.extend_from_slice(p.as_bytes());
        out.push(0);
    }
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(b"Aatrox.wad.client\0");
    while out.len() % 8 != 0 {
        out.push(0);
    }
    let info = rmp_serde::to_vec_named(&serde_json::json!({"name": "h", "version": "1.0.0", "layers": [{"name": "chroma", "priority": 4}]})).unwrap();
    let a = vec![9u8; 400];
    let za = zstd::bulk::compress(&a, 3).unwrap();
    let records_at = out.len();
    let mut data_at = (out.len() + 3 * 61) as u64;
    let mut data = Vec::new();
    for (hash, stored, plain, comp, pi, li, wi) in [
        (
            path_hash("_meta_/info.msgpack"),
            info.clone(),
            info.clone(),
            0u8,
            0u32,
            u32::MAX,
            u32::MAX,
        ),
        (path_hash("data/a.bin"), za.clone(), a.clone(), 1, 1, 1, 0),
        (
            0x0123456789abcdef,
            b"hex".to_vec(),
            b"hex".to_vec(),
            0,
            2,
            0,
            0,
        ),
    ] {
        out.extend_from_slice(&hash.to_le_bytes());
        out.extend_from_slice(&data_at.to_le_bytes());
        out.push(comp);
        out.extend_from_slice(&(stored.len() as u64).to_le_bytes());
        out.extend_from_slice(&(plain.len() as u64).to_le_bytes());
        out.extend_from_slice(&xxh3_64(&stored).to_le_bytes());
        out.extend_from_slice(&xxh3_64(&plain).to_le_bytes());
        out.extend_from_slice(&pi.to_le_bytes());
        out.extend_from_slice(&li.to_le_bytes());
        out.extend_from_slice(&wi.to_le_bytes());
        data_at += stored.len() as u64;
        data.extend_from_slice(&stored);
    }
    out.extend_from_slice(&data);
    (out, records_at)
}

#[test]
fn modpkg_parser_survives_hostile_input() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let (valid, records_at) = sample_modpkg();
    let a = with_file(dir.path(), "v.modpkg", &valid, |p| {
        analyze_mod(p, &AnalyzeOptions::default(), &Control::default()).unwrap()
    });
    assert_eq!((a.name.as_str(), a.wads.len(), a.layers.len()), ("h", 2, 2));
    classic(6, &valid, |b, what| {
        bounded(b, what, |b| with_file(dir.path(), "h.modpkg", b, analyze));
    });
    let mut rng = SplitMix64::new(7);
    for _ in 0..2000 {
        let mut b = valid.clone();
        let off = match rng.below(3) {
            0 => [12usize, 16, 20][rng.below(3) as usize],
            1 => 20 + rng.below(60) as usize,
            _ => records_at + rng.below(3 * 61) as usize,
        };
        let v = lies(&mut rng, valid.len());
        if off + 4 <= b.len() {
            b[off..off + 4].copy_from_slice(&v.to_le_bytes());
        }
        bounded(&b, "lying modpkg field", |b| {
            with_file(dir.path(), "l.modpkg", b, analyze)
        });
    }
}

/// A folder stamps payload (docs/overlay.md, "Folder stamps") and the offsets of its count and
/// string-length fields.
fn sample_stamps() -> (Vec<u8>, Vec<usize>) {
    let mut out = b"MFOVTRE1".to_vec();
    let mut fields = Vec::new();
    let text = |out: &mut Vec<u8>, fields: &mut Vec<usize>, s: &str| {
        fields.push(out.len());
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    out.extend_from_slice(&0x1234_5678_9abc_def0u64.to_le_bytes());
    text(&mut out, &mut fields, "/mods/a");
    let dirs = [
        "",
        "content",
        "content/base",
        "content/base/Aatrox.wad.client",
    ];
    fields.push(out.len());
    out.extend_from_slice(&(dirs.len() as u32).to_le_bytes());
    for (i, d) in dirs.iter().enumerate() {
        text(&mut out, &mut fields, d);
        out.extend_from_slice(&(1_700_000_000_000_000_000u64 + i as u64).to_le_bytes());
    }
    let files = [
        "mod.config.json",
        "content/base/Aatrox.wad.client/data/a.bin",
    ];
    fields.push(out.len());
    out.extend_from_slice(&(files.len() as u32).to_le_bytes());
    for f in files {
        text(&mut out, &mut fields, f);
        out.extend_from_slice(&17u64.to_le_bytes());
        out.extend_from_slice(&1_700_000_000_000_000_000u64.to_le_bytes());
    }
    (out, fields)
}

fn examine(bytes: &[u8]) -> bool {
    examine_payload(bytes, true, &Control::default()).is_ok()
}

#[test]
fn folder_stamps_parser_survives_hostile_input() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (valid, fields) = sample_stamps();
    let summary = examine_payload(&valid, true, &Control::default()).unwrap();
    assert_eq!(summary["kind"], "modforge.overlay.tree@1");
    assert_eq!(
        (summary["folders"].as_u64(), summary["files"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(summary["root"], "/mods/a");
    classic(7, &valid, |b, what| {
        bounded(b, what, examine);
    });
    // Structure-aware: the framing is right and a count or a string length lies (the store's
    // checksum would pass, since the payload is what it covers).
    let mut rng = SplitMix64::new(8);
    for _ in 0..2000 {
        let mut b = valid.clone();
        let at = fields[rng.below(fields.len() as u64) as usize];
        b[at..at + 4].copy_from_slice(&lies(&mut rng, valid.len()).to_le_bytes());
        bounded(&b, "lying stamps field", examine);
    }
}

/// A game slice payload written by a real build of a small install, the store fingerprint it
/// was saved under, and the scene (install, mod, state) of that build.
fn sample_slice() -> (Vec<u8>, modforge_store::Fingerprint, common::Scene) {
    let scene = common::Scene::new();
    scene.game_wad(
        common::AATROX,
        &[
            ("data/a.bin", b"aatrox a original", 3),
            ("data/b.bin", b"aatrox b original", 3),
        ],
    );
    scene.game_wad(common::AHRI, &[("data/h.bin", b"ahri h original", 3)]);
    let a = scene.folder_mod(
        "a",
        &[("base", 0)],
        &[
            ("base", "Aatrox.wad.client", "data/a.bin", b"override"),
            ("base", "Aatrox.wad.client", "data/h.bin", b"shared"),
            ("base", "Aatrox.wad.client", "data/new.bin", b"new"),
        ],
    );
    scene.build(vec![common::spec("a", &a)]);
    let path = scene.state().join("cache/game-slice_1.mfs");
    let image = std::fs::read(&path).unwrap();
    let payload = image[modforge_store::HEADER_LEN..].to_vec();
    let mut value = [0u8; 32];
    value[..8].copy_from_slice(&payload[8..16]);
    let fp =
        modforge_store::Fingerprint::from_parts(modforge_store::FingerprintAlgorithm::Stat, value);
    (payload, fp, scene)
}

#[test]
fn game_slice_parser_survives_hostile_input() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (valid, fp, scene) = sample_slice();
    let summary = examine_payload(&valid, true, &Control::default()).unwrap();
    assert_eq!(summary["kind"], "modforge.overlay.slice@1");
    assert_eq!(
        (
            summary["heldHashes"].as_u64(),
            summary["absentHashes"].as_u64()
        ),
        (Some(2), Some(1)),
        "{summary}"
    );
    classic(9, &valid, |b, what| {
        bounded(b, what, examine);
    });
    // The count and offset fields: the slice's own, the embedded index's header and its first
    // WAD record's key offset and length.
    let fields = [
        16usize,
        20,
        24,
        32 + 8,
        32 + 12,
        32 + 16,
        32 + 20,
        32 + 32,
        32 + 36,
    ];
    let mut rng = SplitMix64::new(10);
    let mut lying = Vec::new();
    for _ in 0..2000 {
        let mut b = valid.clone();
        let at = fields[rng.below(fields.len() as u64) as usize];
        b[at..at + 4].copy_from_slice(&lies(&mut rng, valid.len()).to_le_bytes());
        bounded(&b, "lying slice field", examine);
        lying.push(b);
    }
    // A build trusts a slice that passes the store's checks (its checksum covers what a hostile
    // writer wrote): lying framing, flipped bytes and arrays out of order give a result or an
    // error, never a panic.
    let id = modforge_store::SnapshotId::new(
        scene.state().join("cache"),
        "game-slice",
        "1",
        "modforge.overlay.slice@1",
    )
    .unwrap();
    let a = scene.mods().join("a");
    let file = a.join("content/base/Aatrox.wad.client/data/a.bin");
    for round in 0..120u32 {
        let mut b = if round % 2 == 0 {
            lying[round as usize].clone()
        } else {
            valid.clone()
        };
        if round % 2 == 1 {
            for _ in 0..1 + rng.below(6) {
                let i = 32 + rng.below(b.len() as u64 - 32) as usize;
                b[i] ^= 1 << rng.below(8);
            }
        }
        modforge_store::write(&id, &fp, &b, &modforge_store::Hooks::default()).unwrap();
        std::fs::write(&file, format!("override {round}")).unwrap();
        let _ = modforge_overlay::build_overlay(
            &scene.request(vec![common::spec("a", &a)]),
            &Control::default(),
        );
    }
}
