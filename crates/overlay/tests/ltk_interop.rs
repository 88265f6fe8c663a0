//! Interop with LeagueToolkit's crates (docs/overlay.md, "Differences from ltk_overlay 0.21"):
//! ltk_wad reads every WAD modforge writes; modforge reads WADs written by ltk_wad's builder and
//! Riot's own WADs shipped in the ltk_wad package, entry for entry as ltk_wad does; ltk_overlay
//! and modforge build the same winning content from the same install and mods; each deliberate
//! difference is shown with both tools.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use common::{AATROX, Scene, spec, wad_contents};
use ltk_overlay::{EnabledMod, FantomeContent, FsModContent, ModpkgContent, OverlayBuilder};
use ltk_wad::{Wad, WadBuilder, WadChunkBuilder, WadChunkCompression};
use modforge_core::Control;
use modforge_gen::league::{LeagueOptions, ModFormat, generate};
use modforge_overlay::hash::path_hash;
use modforge_overlay::wad::{decode_chunk, find_subchunk_toc, parse_toc, read_toc};
use modforge_overlay::{BuildOptions, BuildRequest, ModSpec, build_overlay, read_wad};
use xxhash_rust::xxh3::xxh3_64;

/// One entry as both readers see it: hash, offset, packed, size, type, count, index, checksum.
type Row = (u64, u64, u64, u64, u8, u8, u32, u64);

fn ltk_rows(bytes: &[u8]) -> (Vec<Row>, BTreeMap<u64, Vec<u8>>) {
    let mut wad = Wad::mount(Cursor::new(bytes.to_vec())).unwrap();
    let chunks: Vec<ltk_wad::WadChunk> = wad.chunks().iter().copied().collect();
    let mut rows: Vec<Row> = chunks
        .iter()
        .map(|c| {
            (
                c.path_hash.0,
                c.data_offset as u64,
                c.compressed_size as u64,
                c.uncompressed_size as u64,
                c.compression_type as u8,
                c.frame_count,
                c.start_frame,
                c.checksum,
            )
        })
        .collect();
    rows.sort();
    let mut plain = BTreeMap::new();
    for c in &chunks {
        if let Ok(bytes) = wad.load_chunk_decompressed(c) {
            plain.insert(c.path_hash.0, bytes.to_vec());
        }
    }
    (rows, plain)
}

fn our_rows(bytes: &[u8]) -> (Vec<Row>, BTreeMap<u64, Vec<u8>>) {
    let toc = parse_toc(bytes, bytes.len() as u64, "t").unwrap();
    let mut rows: Vec<Row> = toc
        .entries
        .iter()
        .map(|e| {
            (
                e.path_hash,
                u64::from(e.offset),
                u64::from(e.packed_size),
                u64::from(e.size),
                e.chunk_type,
                e.subchunk_count,
                e.subchunk_index,
                e.checksum,
            )
        })
        .collect();
    rows.sort();
    let subs = find_subchunk_toc(&toc.entries, None, |e| {
        decode_chunk(
            e,
            bytes.get(e.offset as usize..e.end() as usize)?,
            None,
            "t",
        )
        .ok()
    });
    let plain = toc
        .entries
        .iter()
        .filter_map(|e| {
            let packed = &bytes[e.offset as usize..e.end() as usize];
            decode_chunk(e, packed, subs.as_ref(), "t")
                .ok()
                .map(|p| (e.path_hash, p))
        })
        .collect();
    (rows, plain)
}

fn specs(install: &modforge_gen::league::LeagueInstall, quirky: bool) -> Vec<ModSpec> {
    install
        .mods
        .iter()
        .filter(|m| m.quirky == quirky || !m.quirky)
        .map(|m| ModSpec {
            id: m.id.clone(),
            path: m.path.clone(),
            layers: None,
        })
        .collect()
}

fn build_ours(game: &Path, out: &Path, mods: Vec<ModSpec>) -> modforge_overlay::BuildResult {
    build_overlay(
        &BuildRequest {
            game_dir: game.to_path_buf(),
            overlay_dir: out.join("overlay"),
            state_dir: out.join("state"),
            mods,
            options: BuildOptions::default(),
        },
        &Control::default(),
    )
    .unwrap()
}

fn utf8(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

/// ltk_overlay's provider for a generated mod.
fn ltk_mod(id: &str, path: &Path, format: ModFormat) -> EnabledMod {
    let content: Box<dyn ltk_overlay::ModContentProvider> = match format {
        ModFormat::Folder => Box::new(FsModContent::new(utf8(path).into())),
        ModFormat::Fantome => Box::new(
            FantomeContent::new(File::open(path).unwrap())
                .unwrap()
                .with_archive_path(utf8(path).into()),
        ),
        ModFormat::Modpkg => Box::new(
            ModpkgContent::new(
                ltk_modpkg::Modpkg::mount_from_reader(File::open(path).unwrap()).unwrap(),
            )
            .with_archive_path(utf8(path).into()),
        ),
    };
    EnabledMod {
        id: id.to_owned(),
        content,
        enabled_layers: None,
    }
}

fn build_ltk(game: &Path, out: &Path, mods: Vec<EnabledMod>) -> ltk_overlay::OverlayBuildResult {
    let mut b = OverlayBuilder::new(
        utf8(game).into(),
        utf8(&out.join("overlay")).into(),
        utf8(&out.join("state")).into(),
    );
    b.set_enabled_mods(mods);
    b.build().unwrap()
}

/// Every overlay WAD under `overlay`: key → (hash → uncompressed bytes).
fn overlay_contents(overlay: &Path) -> BTreeMap<String, BTreeMap<u64, Vec<u8>>> {
    common::tree(overlay)
        .into_keys()
        .filter(|k| k.ends_with(".wad.client"))
        .map(|k| {
            let c = wad_contents(&overlay.join(&k))
                .into_iter()
                .map(|(h, (_, _, p))| (h, p))
                .collect();
            (k, c)
        })
        .collect()
}

#[test]
fn ltk_wad_reads_every_wad_modforge_writes() {
    let dir = tempfile::tempdir().unwrap();
    let install = generate(&dir.path().join("gen"), &LeagueOptions::small(11)).unwrap();
    let r = build_ours(&install.game_dir, dir.path(), specs(&install, true));
    assert!(r.built.len() >= 3);
    let mut checked = 0;
    let game_keys: Vec<String> = install.game.wads.iter().map(|w| w.key.clone()).collect();
    let overlay_files: Vec<PathBuf> = r
        .built
        .iter()
        .map(|k| dir.path().join("overlay").join(k))
        .collect();
    let game_files: Vec<PathBuf> = game_keys.iter().map(|k| install.game_dir.join(k)).collect();
    for path in overlay_files.iter().chain(&game_files) {
        let bytes = std::fs::read(path).unwrap();
        let (theirs, their_plain) = ltk_rows(&bytes);
        let (ours, our_plain) = our_rows(&bytes);
        assert_eq!(ours, theirs, "{}", path.display());
        assert_eq!(
            our_plain.len(),
            ours.len(),
            "{}: every entry decodes",
            path.display()
        );
        // ltk_wad finds the SubChunkTOC by its exact size only, which an override of the
        // highest-indexed subchunked entry changes; every chunk it decodes equals ours.
        assert!(their_plain.len() + 8 >= ours.len());
        for (h, plain) in &their_plain {
            assert_eq!(&our_plain[h], plain, "{}: {h:016x}", path.display());
        }
        for row in ours.iter().filter(|_| bytes[3] >= 1) {
            if row.4 == 3 || row.4 == 0 {
                let packed = &bytes[row.1 as usize..(row.1 + row.2) as usize];
                assert_eq!(xxh3_64(packed), row.7);
            }
        }
        checked += 1;
    }
    assert!(checked > 20);
}

#[test]
fn modforge_reads_wads_built_by_ltk_wad() {
    let mut builder = WadBuilder::default();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..40 {
        let path = format!("data/ltk/file_{i}.bin");
        let bytes: Vec<u8> = (0..(100 + i * 53))
            .map(|k| ((k * 7 + i) % 251) as u8)
            .collect();
        let mut chunk = WadChunkBuilder::default().with_path(&path);
        chunk = match i % 3 {
            0 => chunk.with_force_compression(WadChunkCompression::None),
            _ => chunk.with_force_compression(WadChunkCompression::Zstd),
        };
        builder = builder.with_chunk(chunk);
        files.push((path, bytes));
    }
    let mut out = Cursor::new(Vec::new());
    builder
        .build_to_writer(&mut out, |hash, cursor| {
            let (_, bytes) = files.iter().find(|(p, _)| path_hash(p) == hash.0).unwrap();
            cursor.get_mut().extend_from_slice(bytes);
            Ok(())
        })
        .unwrap();
    let bytes = out.into_inner();
    let (theirs, their_plain) = ltk_rows(&bytes);
    let (ours, our_plain) = our_rows(&bytes);
    assert_eq!(ours.len(), 40);
    assert_eq!(ours, theirs);
    assert_eq!(our_plain, their_plain);
    for (path, plain) in &files {
        assert_eq!(&our_plain[&path_hash(path)], plain);
    }
}

/// The `tests/wads` folder of the ltk_wad package, found through `cargo metadata`.
fn ltk_wad_samples() -> PathBuf {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pkg = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "ltk_wad")
        .unwrap();
    PathBuf::from(pkg["manifest_path"].as_str().unwrap())
        .parent()
        .unwrap()
        .join("tests/wads")
}

#[test]
fn riot_wads_read_as_ltk_wad_reads_them() {
    let dir = ltk_wad_samples();
    let online = std::fs::read(dir.join("Online.wad.client")).unwrap();
    let listing = read_wad(&dir.join("Online.wad.client")).unwrap();
    assert_eq!(listing.version, "3.4");
    assert!(listing.entries.is_empty());
    assert_eq!(
        listing.checksum,
        Some(0xef46db3751d8e999),
        "XXH64 of nothing"
    );
    assert_eq!(our_rows(&online).0, ltk_rows(&online).0);

    let ui_path = dir.join("UI.en_US.wad.client");
    let ui = std::fs::read(&ui_path).unwrap();
    let toc = read_toc(&ui_path).unwrap();
    assert_eq!(toc.entries.len(), 6);
    assert!(toc.entries.iter().all(|e| e.chunk_type == 3));
    assert!(
        toc.entries
            .windows(2)
            .all(|w| w[0].path_hash < w[1].path_hash)
    );
    assert_eq!(toc.entries.iter().map(|e| e.offset).min(), Some(464));
    let offsets: Vec<u32> = toc.entries.iter().map(|e| e.offset).collect();
    let mut sorted = offsets.clone();
    sorted.sort_unstable();
    assert_ne!(offsets, sorted, "data is not in hash order");
    for e in &toc.entries {
        assert_eq!(
            xxh3_64(&ui[e.offset as usize..e.end() as usize]),
            e.checksum
        );
    }
    let (ours, our_plain) = our_rows(&ui);
    let (theirs, their_plain) = ltk_rows(&ui);
    assert_eq!(ours, theirs);
    assert_eq!(our_plain.len(), 6);
    assert_eq!(our_plain, their_plain);
    // Riot's signature verifies in ltk_wad; ours is only read and kept.
    assert_eq!(toc.signature.as_ref().map(Vec::len), Some(256));
}

#[test]
fn ltk_overlay_and_modforge_build_the_same_winning_content() {
    let dir = tempfile::tempdir().unwrap();
    let install = generate(&dir.path().join("gen"), &LeagueOptions::small(23)).unwrap();
    let clean: Vec<_> = install.mods.iter().filter(|m| !m.quirky).collect();
    assert!(clean.iter().any(|m| m.format == ModFormat::Folder));
    assert!(clean.iter().any(|m| m.format == ModFormat::Fantome));
    assert!(clean.iter().any(|m| m.format == ModFormat::Modpkg));
    let ours = dir.path().join("ours");
    let theirs = dir.path().join("theirs");
    build_ours(
        &install.game_dir,
        &ours,
        clean
            .iter()
            .map(|m| ModSpec {
                id: m.id.clone(),
                path: m.path.clone(),
                layers: None,
            })
            .collect(),
    );
    build_ltk(
        &install.game_dir,
        &theirs,
        clean
            .iter()
            .map(|m| ltk_mod(&m.id, &m.path, m.format))
            .collect(),
    );
    let a = overlay_contents(&ours.join("overlay"));
    let b = overlay_contents(&theirs.join("overlay"));
    assert!(a.len() >= 4);
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "same WADs patched"
    );
    for (key, ours) in &a {
        let theirs = &b[key];
        let ours_keys: BTreeSet<&u64> = ours.keys().collect();
        let theirs_keys: BTreeSet<&u64> = theirs.keys().collect();
        assert_eq!(ours_keys, theirs_keys, "{key}: same path hashes");
        for (h, bytes) in ours {
            assert!(theirs[h] == *bytes, "{key}: {h:016x} differs");
        }
    }
}

// Deliberate differences, each with both tools on a small scene.

/// A game WAD: key and `(path, bytes, type)` chunks.
type GameWad<'a> = (&'a str, &'a [(&'a str, &'a [u8], u8)]);
/// Contents by path hash.
type Contents = BTreeMap<u64, Vec<u8>>;

struct Both {
    scene: Scene,
}

impl Both {
    fn new(game: &[GameWad<'_>]) -> Both {
        let scene = Scene::new();
        for (key, chunks) in game {
            scene.game_wad(key, chunks);
        }
        Both { scene }
    }

    /// Builds with both tools; returns (ours, theirs) contents of `key`, and our result.
    fn run(
        &self,
        mods: &[(&str, &Path)],
        key: &str,
    ) -> (Contents, Contents, modforge_overlay::BuildResult) {
        let root = self.scene.root();
        let r = build_ours(
            &self.scene.game(),
            &root.join("ours"),
            mods.iter().map(|(id, p)| spec(id, p)).collect(),
        );
        build_ltk(
            &self.scene.game(),
            &root.join("theirs"),
            mods.iter()
                .map(|(id, p)| ltk_mod(id, p, ModFormat::Folder))
                .collect(),
        );
        let read = |d: &str| {
            let p = root.join(d).join("overlay").join(key);
            if p.exists() {
                wad_contents(&p)
                    .into_iter()
                    .map(|(h, (_, _, b))| (h, b))
                    .collect()
            } else {
                BTreeMap::new()
            }
        };
        (read("ours"), read("theirs"), r)
    }
}

#[test]
fn difference_lazy_filter_runs_after_the_merge() {
    let both = Both::new(&[(
        AATROX,
        &[("data/a.bin", b"original", 3), ("data/b.bin", b"other", 3)],
    )]);
    let high = both.scene.folder_mod(
        "high",
        &[("base", 0)],
        &[("base", "Aatrox.wad.client", "data/a.bin", b"original")],
    );
    let low = both.scene.folder_mod(
        "low",
        &[("base", 0)],
        &[(
            "base",
            "Aatrox.wad.client",
            "data/a.bin",
            b"modified by low",
        )],
    );
    let (ours, theirs, r) = both.run(&[("high", &high), ("low", &low)], AATROX);
    assert_eq!(theirs[&path_hash("data/a.bin")], b"modified by low");
    assert!(
        ours.is_empty(),
        "modforge keeps the game original: no WAD to patch"
    );
    assert_eq!(r.conflicts.len(), 1);
    assert!(r.conflicts[0].kept_game_original);
    assert_eq!(r.conflicts[0].winner, 0);
}

#[test]
fn difference_equal_priority_layers_sort_by_bytes() {
    let both = Both::new(&[(AATROX, &[("data/a.bin", b"original", 3)])]);
    let m = both.scene.folder_mod(
        "m",
        &[("base", 0), ("l10", 5), ("l9", 5)],
        &[
            ("l10", "Aatrox.wad.client", "data/a.bin", b"from l10"),
            ("l9", "Aatrox.wad.client", "data/a.bin", b"from l9"),
        ],
    );
    let (ours, theirs, _) = both.run(&[("m", &m)], AATROX);
    assert_eq!(
        ours[&path_hash("data/a.bin")],
        b"from l9",
        "byte order: l10 < l9, l9 applied last"
    );
    assert_eq!(
        theirs[&path_hash("data/a.bin")],
        b"from l10",
        "natural order: l9 < l10"
    );
}

#[test]
fn difference_folder_raw_files() {
    let both = Both::new(&[(AATROX, &[("data/a.bin", b"original", 3)])]);
    let m = both.scene.folder_mod(
        "m",
        &[("base", 0)],
        &[("base", "", "data/a.bin", b"from RAW")],
    );
    let (ours, theirs, _) = both.run(&[("m", &m)], AATROX);
    assert_eq!(ours[&path_hash("data/a.bin")], b"from RAW");
    assert!(
        theirs.is_empty(),
        "ltk_overlay reads RAW only at content/base/raw/"
    );
}

#[test]
fn difference_hex_names_with_two_extensions_and_ltk_names() {
    let target = path_hash("data/a.bin");
    let both = Both::new(&[(
        AATROX,
        &[
            ("data/a.bin", b"original", 3),
            ("data/b", b"no extension", 3),
        ],
    )]);
    let m = both.scene.folder_mod(
        "m",
        &[("base", 0)],
        &[
            (
                "base",
                "Aatrox.wad.client",
                &format!("x/{target:016x}.tex.dds"),
                b"hex named",
            ),
            ("base", "Aatrox.wad.client", "data/b.ltk.bin", b"ltk named"),
        ],
    );
    let (ours, theirs, _) = both.run(&[("m", &m)], AATROX);
    assert_eq!(ours[&target], b"hex named");
    assert_eq!(ours[&path_hash("data/b")], b"ltk named");
    assert_eq!(
        theirs[&target], b"original",
        "ltk_overlay hashes X.tex.dds as a path"
    );
    assert_eq!(
        theirs[&path_hash("data/b")],
        b"no extension",
        "ltk_overlay hashes a.ltk.bin as a.bin"
    );
    assert_eq!(theirs[&path_hash("data/b.bin")], b"ltk named");
}

#[test]
fn difference_same_hash_in_two_wad_folders_of_one_mod() {
    let both = Both::new(&[
        (AATROX, &[("data/a.bin", b"original", 3)]),
        (
            "DATA/FINAL/Champions/Zed.wad.client",
            &[("data/z.bin", b"z", 3)],
        ),
        (
            "DATA/FINAL/Champions/ahri.wad.client",
            &[("data/h.bin", b"h", 3)],
        ),
    ]);
    let m = both.scene.folder_mod(
        "m",
        &[("base", 0)],
        &[
            ("base", "Zed.wad.client", "data/a.bin", b"under Zed"),
            ("base", "ahri.wad.client", "data/a.bin", b"under ahri"),
        ],
    );
    let (ours, theirs, r) = both.run(&[("m", &m)], AATROX);
    assert_eq!(
        ours[&path_hash("data/a.bin")],
        b"under Zed",
        "lower-case order: ahri < zed"
    );
    assert_eq!(
        theirs[&path_hash("data/a.bin")],
        b"under ahri",
        "byte order: Zed < ahri"
    );
    assert_eq!(r.conflicts.len(), 1, "modforge reports it");
}

#[test]
fn difference_header_checksum_and_conflicts() {
    let both = Both::new(&[(AATROX, &[("data/a.bin", b"original", 3)])]);
    let a = both.scene.folder_mod(
        "a",
        &[("base", 0)],
        &[("base", "Aatrox.wad.client", "data/a.bin", b"A")],
    );
    let b = both.scene.folder_mod(
        "b",
        &[("base", 0)],
        &[("base", "Aatrox.wad.client", "data/a.bin", b"B")],
    );
    let (ours, theirs, r) = both.run(&[("a", &a), ("b", &b)], AATROX);
    assert_eq!(ours, theirs, "same winner: index 0");
    let src = read_toc(&both.scene.game().join(AATROX)).unwrap();
    let our_toc = read_toc(&both.scene.root().join("ours/overlay").join(AATROX)).unwrap();
    let their_toc = read_toc(&both.scene.root().join("theirs/overlay").join(AATROX)).unwrap();
    assert_eq!(
        their_toc.checksum, src.checksum,
        "ltk_overlay copies the source's"
    );
    let formula = modforge_overlay::wad::header_checksum(
        our_toc.entries.iter().map(|e| (e.path_hash, e.checksum)),
    );
    assert_eq!(our_toc.checksum, Some(formula));
    assert_ne!(our_toc.checksum, src.checksum);
    assert_eq!(r.conflicts.len(), 1);
    assert!(!r.conflicts[0].same_content);
}

#[test]
fn difference_ambiguous_wad_name() {
    let both = Both::new(&[
        (
            "DATA/FINAL/Champions/Shared.wad.client",
            &[("data/a.bin", b"a", 3)],
        ),
        (
            "DATA/FINAL/Maps/Shared.wad.client",
            &[("data/b.bin", b"b", 3)],
        ),
    ]);
    let m = both.scene.folder_mod(
        "m",
        &[("base", 0)],
        &[
            ("base", "Shared.wad.client", "data/b.bin", b"B2"),
            ("base", "Shared.wad.client", "data/new.bin", b"new"),
        ],
    );
    let r = build_ours(
        &both.scene.game(),
        &both.scene.root().join("ours"),
        vec![spec("m", &m)],
    );
    assert_eq!(
        r.built,
        vec!["DATA/FINAL/Maps/Shared.wad.client".to_owned()]
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.code.as_str() == "WAD_NAME_FALLBACK")
    );
    let mut b = OverlayBuilder::new(
        utf8(&both.scene.game()).into(),
        utf8(&both.scene.root().join("theirs/overlay")).into(),
        utf8(&both.scene.root().join("theirs/state")).into(),
    );
    b.set_enabled_mods(vec![ltk_mod("m", &m, ModFormat::Folder)]);
    assert!(
        b.build().is_err(),
        "ltk_overlay refuses an ambiguous WAD name"
    );
}
