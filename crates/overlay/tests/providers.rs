//! Mod providers, caches, the game index and the reader (docs/overlay.md, "Mod formats", "Mod
//! cache payload", "Game index payload", "readWad and extractWad").

mod common;

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use common::{AATROX, AHRI, Scene, spec, wad_contents};
use modforge_core::{Categorize, Category, Control};
use modforge_gen::league::{LeagueOptions, generate, legacy_chunk};
use modforge_overlay::hash::path_hash;
use modforge_overlay::{
    AnalyzeOptions, BuildMode, ExtractOptions, HashList, ModKind, analyze_mod, build_overlay,
    examine_payload, extract_wad, read_wad,
};

fn game(scene: &Scene) {
    scene.game_wad(
        AATROX,
        &[
            ("data/a.bin", b"aatrox a original", 3),
            ("data/b.bin", b"aatrox b original", 3),
        ],
    );
    scene.game_wad(AHRI, &[("data/h.bin", b"ahri h original", 3)]);
}

fn get(scene: &Scene, key: &str, path: &str) -> Option<Vec<u8>> {
    wad_contents(&scene.overlay_wad(key))
        .remove(&path_hash(path))
        .map(|c| c.2)
}

fn codes(w: &[modforge_overlay::Warning]) -> Vec<&'static str> {
    w.iter().map(|w| w.code.as_str()).collect()
}

fn zip(path: &Path, entries: &[(&str, &[u8])]) -> PathBuf {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in entries {
        z.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
    path.to_path_buf()
}

#[test]
fn folder_mods_without_config_or_with_toml_only() {
    let scene = Scene::new();
    game(&scene);
    let root = scene.mods().join("bare-folder");
    std::fs::create_dir_all(root.join("content/base/Aatrox.wad.client/data")).unwrap();
    std::fs::write(
        root.join("content/base/Aatrox.wad.client/data/a.bin"),
        b"bare",
    )
    .unwrap();
    std::fs::write(root.join("mod.config.toml"), b"name = 'x'").unwrap();
    std::fs::create_dir_all(root.join("raw/deep/er")).unwrap();
    std::fs::write(
        root.join("raw/deep/er/0000000000000000.bin"),
        b"unroutable raw",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("content/other/Ahri.wad.client")).unwrap();
    std::fs::write(
        root.join("content/other/Ahri.wad.client/x.bin"),
        b"undeclared layer",
    )
    .unwrap();
    let a = analyze_mod(&root, &AnalyzeOptions::default(), &Control::default()).unwrap();
    assert_eq!(a.name, "bare-folder");
    assert_eq!(a.layers.len(), 1);
    assert_eq!((a.raw.files, a.wads.len()), (1, 1));
    let w = codes(&a.warnings);
    assert!(
        w.contains(&"CONFIG_TOML_IGNORED") && w.contains(&"IGNORED_FOLDER"),
        "{w:?}"
    );
    let r = scene.build(vec![spec("bare", &root)]);
    assert_eq!(get(&scene, AATROX, "data/a.bin").unwrap(), b"bare");
    assert!(
        r.warnings
            .iter()
            .all(|w| w.code.as_str() != "UNROUTABLE_OVERRIDE")
    );
    let c = wad_contents(&scene.overlay_wad(AATROX));
    assert_eq!(
        c[&0].2, b"unroutable raw",
        "a RAW file no WAD holds goes to the mod's dominant WAD"
    );
}

#[cfg(unix)]
#[test]
fn symlinks_in_folder_mods_are_not_followed() {
    let scene = Scene::new();
    game(&scene);
    let outside = scene.root().join("secret");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("b.bin"), b"secret").unwrap();
    let m = scene.folder_mod(
        "m",
        &[("base", 0)],
        &[("base", "Aatrox.wad.client", "data/a.bin", b"mine")],
    );
    std::os::unix::fs::symlink(
        &outside,
        m.join("content/base/Aatrox.wad.client/data/linked"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        outside.join("b.bin"),
        m.join("content/base/Aatrox.wad.client/data/b.bin"),
    )
    .unwrap();
    let r = scene.build(vec![spec("m", &m)]);
    assert!(codes(&r.warnings).contains(&"IGNORED_SYMLINK"));
    assert_eq!(
        get(&scene, AATROX, "data/b.bin").unwrap(),
        b"aatrox b original"
    );
}

#[test]
fn fantome_prefixes_bom_packed_wads_and_bad_crcs() {
    let scene = Scene::new();
    game(&scene);
    std::fs::create_dir_all(scene.mods()).unwrap();
    let packed = common::wad_bytes(&[
        ("data/h.bin", b"packed h", 3),
        ("data/new.bin", b"packed new", 0),
    ]);
    let f = zip(
        &scene.mods().join("m.zip"),
        &[
            (
                "meta/INFO.JSON",
                b"\xEF\xBB\xBF{\"Name\":\"Quirky\",\"Version\":\"2.0\"}",
            ),
            ("wad\\Aatrox.wad.client\\data\\a.bin", b"from fantome"),
            ("Wad/Ahri.wad", &packed),
            ("raw/data/b.bin", b"raw b"),
            ("README.txt", b"hello"),
        ],
    );
    // Flip the CRC of the first WAD entry (both headers).
    let mut bytes = std::fs::read(&f).unwrap();
    let name = b"wad\\Aatrox.wad.client\\data\\a.bin";
    let mut i = 0;
    while i + 46 < bytes.len() {
        if &bytes[i..i + 4] == b"PK\x03\x04" && bytes[i + 30..].starts_with(name) {
            bytes[i + 14] ^= 0xFF;
        }
        if &bytes[i..i + 4] == b"PK\x01\x02" && bytes[i + 46..].starts_with(name) {
            bytes[i + 16] ^= 0xFF;
        }
        i += 1;
    }
    std::fs::write(&f, &bytes).unwrap();
    let a = analyze_mod(&f, &AnalyzeOptions::default(), &Control::default()).unwrap();
    assert_eq!(
        (a.kind, a.name.as_str(), a.version.as_deref()),
        (ModKind::Fantome, "Quirky", Some("2.0"))
    );
    let r = scene.build(vec![spec("m", &f)]);
    let w = codes(&r.warnings);
    assert!(
        w.contains(&"ZIP_CRC_IGNORED") && w.contains(&"IGNORED_FILE"),
        "{w:?}"
    );
    assert_eq!(get(&scene, AATROX, "data/a.bin").unwrap(), b"from fantome");
    assert_eq!(get(&scene, AATROX, "data/b.bin").unwrap(), b"raw b");
    assert_eq!(get(&scene, AHRI, "data/h.bin").unwrap(), b"packed h");
    assert_eq!(get(&scene, AHRI, "data/new.bin").unwrap(), b"packed new");
    // The packed zstd chunk passed through: same checksum as in the mod's WAD.
    let toc = modforge_overlay::wad::read_toc(&scene.overlay_wad(AHRI)).unwrap();
    let src = modforge_overlay::wad::parse_toc(&packed, packed.len() as u64, "p").unwrap();
    let h = path_hash("data/h.bin");
    assert_eq!(
        toc.entries
            .iter()
            .find(|e| e.path_hash == h)
            .unwrap()
            .checksum,
        src.entries
            .iter()
            .find(|e| e.path_hash == h)
            .unwrap()
            .checksum
    );
    assert_eq!(
        r.stats.overrides_compressed, 2,
        "loose a.bin and raw b.bin; packed chunks pass through"
    );
}

fn ltk_modpkg(path: &Path, chunks: &[(&str, &str, &str, &[u8])]) {
    use ltk_modpkg::builder::{ModpkgBuilder, ModpkgChunkBuilder, ModpkgLayerBuilder};
    let mut b = ModpkgBuilder::default()
        .with_layer(ModpkgLayerBuilder::base())
        .with_layer(ModpkgLayerBuilder::new("chroma").unwrap().with_priority(3));
    for (p, layer, wad, _) in chunks {
        let c = match p.strip_prefix("hex:") {
            Some(name) => ModpkgChunkBuilder::new()
                .with_hashed_chunk_name(name)
                .unwrap(),
            None => ModpkgChunkBuilder::new().with_path(p),
        };
        b = b.with_chunk(c.with_layer(layer).with_wad(wad));
    }
    let mut out = Cursor::new(Vec::new());
    b.build_to_writer(&mut out, |c| {
        let (_, _, _, bytes) = chunks
            .iter()
            .find(|(p, l, w, _)| {
                (c.path() == p.trim_start_matches("hex:").to_lowercase() || c.path() == *p)
                    && c.layer() == *l
                    && c.wad().eq_ignore_ascii_case(w)
            })
            .unwrap();
        Ok(bytes.to_vec())
    })
    .unwrap();
    std::fs::write(path, out.into_inner()).unwrap();
}

#[test]
fn modpkg_layers_hex_chunks_and_corruption() {
    let scene = Scene::new();
    game(&scene);
    std::fs::create_dir_all(scene.mods()).unwrap();
    let p = scene.mods().join("m.modpkg");
    let hex = format!("hex:{:016x}.bin", path_hash("data/b.bin"));
    let big = vec![b'x'; 5000];
    ltk_modpkg(
        &p,
        &[
            ("data/a.bin", "base", "Aatrox.wad.client", b"modpkg base"),
            (
                "data/a.bin",
                "chroma",
                "Aatrox.wad.client",
                b"modpkg chroma",
            ),
            (&hex, "base", "Aatrox.wad.client", &big),
        ],
    );
    let a = analyze_mod(&p, &AnalyzeOptions::default(), &Control::default()).unwrap();
    assert_eq!(a.kind, ModKind::Modpkg);
    assert_eq!(
        a.layers
            .iter()
            .map(|l| (l.name.as_str(), l.priority))
            .collect::<Vec<_>>(),
        vec![("base", 0), ("chroma", 3)]
    );
    let r = scene.build(vec![spec("m", &p)]);
    assert_eq!(get(&scene, AATROX, "data/a.bin").unwrap(), b"modpkg chroma");
    assert_eq!(
        get(&scene, AATROX, "data/b.bin").unwrap(),
        big,
        "hex-named chunk found by path_index"
    );
    assert!(
        r.stats.mod_bytes_read < 20_000,
        "{}",
        r.stats.mod_bytes_read
    );
    // A flipped byte in a chunk's stored data: pass 2 fails with CORRUPT naming the mod.
    let mut bytes = std::fs::read(&p).unwrap();
    let at = bytes
        .windows(b"modpkg chroma".len())
        .position(|w| w == b"modpkg chroma");
    let last = bytes.len() - 1;
    match at {
        Some(i) => bytes[i] ^= 1,
        None => bytes[last] ^= 1,
    }
    std::fs::write(&p, &bytes).unwrap();
    common::touch_later(&p, 3);
    let unchanged = scene.build(vec![spec("m", &p)]);
    assert!(
        unchanged.built.is_empty(),
        "the recorded checksums did not change: nothing to read"
    );
    let mut forced = scene.request(vec![spec("m", &p)]);
    forced.options.force = true;
    let err = build_overlay(&forced, &Control::default()).unwrap_err();
    assert_eq!(err.mod_id(), Some("m"));
    assert!(matches!(err.category(), Category::Corrupt { .. }), "{err}");
}

#[test]
fn caches_reconstruct_unchanged_mods_without_reading_them() {
    let scene = Scene::new();
    game(&scene);
    let a = scene.folder_mod(
        "a",
        &[("base", 0)],
        &[("base", "Aatrox.wad.client", "data/a.bin", &[1u8; 4096])],
    );
    std::fs::create_dir_all(scene.mods()).unwrap();
    let f = zip(
        &scene.mods().join("f.fantome"),
        &[("WAD/Ahri.wad.client/data/h.bin", &[2u8; 8192])],
    );
    let mods = vec![spec("a", &a), spec("f", &f)];
    scene.build(mods.clone());
    let cache = scene.state().join("cache");
    let mut names: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "game-index_1.mfs",
            "game-slice_1.mfs",
            "mod-a_1.mfs",
            "mod-f_1.mfs"
        ],
        "no same-size override: no memo"
    );
    for name in &names {
        let image = std::fs::read(cache.join(name)).unwrap();
        let payload = &image[modforge_store::HEADER_LEN..];
        let v = examine_payload(payload, true, &Control::default()).unwrap();
        assert!(
            v["kind"].as_str().unwrap().starts_with("modforge.overlay."),
            "{v}"
        );
        let mut bad = payload.to_vec();
        bad.truncate(bad.len() / 2);
        assert!(examine_payload(&bad, false, &Control::default()).is_err());
    }
    // Only the fantome changes: mod a comes from its cache.
    let f = zip(
        &scene.mods().join("f.fantome"),
        &[("WAD/Ahri.wad.client/data/h.bin", &[3u8; 8192])],
    );
    common::touch_later(&f, 2);
    let r = scene.build(mods.clone());
    assert_eq!(r.built, vec![AHRI.to_owned()]);
    assert!(
        r.stats.mod_bytes_read < 8192 * 3,
        "{}",
        r.stats.mod_bytes_read
    );
    // Dropping a mod prunes its cache.
    scene.build(vec![spec("f", &f)]);
    let left = std::fs::read_dir(&cache)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("mod-a")
        })
        .count();
    assert_eq!(left, 0);
}

/// Whether the state holds a saved game index.
fn has_index(scene: &Scene) -> bool {
    scene.state().join("cache/game-index_1.mfs").is_file()
}

/// Builds the same mods in a fresh state and overlay folder with `force` and compares every
/// overlay file byte for byte.
fn assert_same_as_clean_build(scene: &Scene, mods: Vec<modforge_overlay::ModSpec>) {
    let clean = Scene::new();
    let mut r = scene.request(mods);
    r.overlay_dir = clean.overlay();
    r.state_dir = clean.state();
    r.options.force = true;
    build_overlay(&r, &Control::default()).unwrap();
    assert_eq!(
        common::tree(&scene.overlay()),
        common::tree(&clean.overlay())
    );
}

#[test]
fn the_game_slice_stands_in_for_the_index_until_a_mod_asks_what_it_cannot_answer() {
    let scene = Scene::new();
    game(&scene);
    let files =
        |a: &'static [u8]| -> Vec<(&'static str, &'static str, &'static str, &'static [u8])> {
            vec![
                ("base", "Aatrox.wad.client", "data/a.bin", a),
                (
                    "base",
                    "Aatrox.wad.client",
                    "data/new.bin",
                    b"not in the game",
                ),
            ]
        };
    let a = scene.folder_mod("a", &[("base", 0)], &files(b"first override of a"));
    let mods = vec![spec("a", &a)];
    scene.build(mods.clone());
    let image = std::fs::read(scene.state().join("cache/game-slice_1.mfs")).unwrap();
    let v = examine_payload(
        &image[modforge_store::HEADER_LEN..],
        true,
        &Control::default(),
    )
    .unwrap();
    assert_eq!(v["kind"], "modforge.overlay.slice@1");
    assert_eq!(
        (
            v["wads"].as_u64(),
            v["heldHashes"].as_u64(),
            v["absentHashes"].as_u64()
        ),
        (Some(2), Some(1), Some(1)),
        "{v}"
    );
    assert_eq!(v["prefixes"].as_u64(), Some(3), "{v}");

    // Without the index, an edit of a path the slice answers for builds from the slice alone.
    std::fs::remove_file(scene.state().join("cache/game-index_1.mfs")).unwrap();
    scene.folder_mod("a", &[("base", 0)], &files(b"second override of a!"));
    let r = scene.build(mods.clone());
    assert_eq!(r.mode, BuildMode::Incremental);
    assert_eq!(r.built, vec![AATROX.to_owned()]);
    assert!(!has_index(&scene), "the index was not needed");
    assert_eq!(
        get(&scene, AATROX, "data/a.bin").unwrap(),
        b"second override of a!"
    );
    assert_eq!(
        get(&scene, AATROX, "data/b.bin").unwrap(),
        b"aatrox b original"
    );
    assert_same_as_clean_build(&scene, mods.clone());

    // A new path no game WAD holds: the prefixes tell, still no index.
    let mut more = files(b"second override of a!");
    more.push(("base", "Aatrox.wad.client", "data/added.bin", b"added"));
    scene.folder_mod("a", &[("base", 0)], &more);
    let r = scene.build(mods.clone());
    assert_eq!(r.built, vec![AATROX.to_owned()]);
    assert!(!has_index(&scene), "the prefixes answered for the new path");
    assert_eq!(get(&scene, AATROX, "data/added.bin").unwrap(), b"added");
    assert_same_as_clean_build(&scene, mods.clone());

    // A new path the game holds (in Ahri): only the index knows its holders. It is built again,
    // the override reaches Ahri too, and the new slice answers for the path.
    more.push(("base", "Aatrox.wad.client", "data/h.bin", b"h for both"));
    scene.folder_mod("a", &[("base", 0)], &more);
    let r = scene.build(mods.clone());
    assert!(has_index(&scene));
    assert_eq!(r.built, vec![AATROX.to_owned(), AHRI.to_owned()]);
    assert_eq!(get(&scene, AHRI, "data/h.bin").unwrap(), b"h for both");
    assert_eq!(get(&scene, AATROX, "data/h.bin").unwrap(), b"h for both");
    assert_same_as_clean_build(&scene, mods.clone());
    std::fs::remove_file(scene.state().join("cache/game-index_1.mfs")).unwrap();
    std::fs::write(
        a.join("content/base/Aatrox.wad.client/data/h.bin"),
        b"h for both, again",
    )
    .unwrap();
    let r = scene.build(mods.clone());
    assert_eq!(r.built, vec![AATROX.to_owned(), AHRI.to_owned()]);
    assert!(!has_index(&scene), "the new slice answered for data/h.bin");
    assert_same_as_clean_build(&scene, mods);
}

#[test]
fn the_game_index_and_content_memo_persist() {
    let scene = Scene::new();
    game(&scene);
    let a = scene.folder_mod(
        "a",
        &[("base", 0)],
        &[(
            "base",
            "Aatrox.wad.client",
            "data/a.bin",
            b"same size 17 byte",
        )],
    );
    let r = scene.build(vec![spec("a", &a)]);
    assert_eq!(
        get(&scene, AATROX, "data/a.bin").unwrap(),
        b"same size 17 byte"
    );
    let memo = std::fs::read_dir(scene.state().join("cache"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("game-memo")
        })
        .count();
    assert_eq!(
        memo, 1,
        "a same-size override needed the game's content hash"
    );
    let first_game_reads = r.stats.game_bytes_read;
    std::fs::write(
        a.join("content/base/Aatrox.wad.client/data/a.bin"),
        b"same size 17 b!!!",
    )
    .unwrap();
    common::touch_later(&a.join("content/base/Aatrox.wad.client/data/a.bin"), 3);
    let r = scene.build(vec![spec("a", &a)]);
    assert_eq!(r.mode, BuildMode::Incremental);
    assert!(
        r.stats.game_bytes_read < first_game_reads,
        "index and memo loaded, not rebuilt"
    );
}

#[test]
fn reader_lists_every_version_and_extracts_for_reimport() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = LeagueOptions::small(5);
    o.mods = 0;
    o.quirks = false;
    let install = generate(&dir.path().join("gen"), &o).unwrap();
    for (i, path) in install.legacy.iter().enumerate().take(4) {
        let l = read_wad(path).unwrap();
        let v = ["1.0", "1.1", "2.0", "2.1"][i];
        assert_eq!(l.version, v);
        assert_eq!(l.entries.len(), 4);
        if v.starts_with('2') {
            assert_eq!(l.signature.as_deref(), Some(&[0xABu8; 83][..]));
            assert_eq!(l.checksum, Some(0x1234));
        } else {
            assert_eq!((l.signature.as_ref(), l.checksum), (None, None));
        }
        let out = dir.path().join(format!("x{i}"));
        let rep = extract_wad(path, &out, &ExtractOptions::default(), &Control::default()).unwrap();
        assert_eq!(rep.written, 4);
        for k in 0..4 {
            let (p, plain) = legacy_chunk(o.seed, k);
            assert_eq!(
                std::fs::read(out.join(format!("{:016x}.bin", path_hash(&p)))).unwrap(),
                plain
            );
        }
    }
    let odd = install.legacy.last().unwrap();
    let rep = extract_wad(
        odd,
        &dir.path().join("odd"),
        &ExtractOptions::default(),
        &Control::default(),
    )
    .unwrap();
    assert_eq!(
        (rep.written, rep.skipped),
        (1, 2),
        "gzip decoded; types 2 and 5 skipped"
    );
    assert_eq!(
        codes(&rep.warnings),
        vec!["UNDECODABLE_CHUNK", "UNDECODABLE_CHUNK"]
    );
    let minors: Vec<u8> = install.game.wads.iter().map(|w| w.minor).collect();
    assert!([0, 1, 2, 3, 4].iter().all(|m| minors.contains(m)));
    for w in &install.game.wads {
        let l = read_wad(&install.game_dir.join(&w.key)).unwrap();
        assert_eq!(l.version, format!("3.{}", w.minor));
    }
    // Extract a 3.4 WAD with subchunks using the hash list, re-import it as a folder mod.
    let w = install
        .game
        .wads
        .iter()
        .find(|w| w.minor == 4 && w.has_subchunk_toc())
        .unwrap();
    let list = HashList::load(&install.hash_list).unwrap();
    let name = w.key.rsplit('/').next().unwrap();
    let modroot = dir.path().join("reimport");
    let out = modroot.join("content/base").join(name);
    let rep = extract_wad(
        &install.game_dir.join(&w.key),
        &out,
        &ExtractOptions {
            hashes: Some(list),
            verify: true,
        },
        &Control::default(),
    )
    .unwrap();
    assert_eq!(rep.written as usize, w.chunks.len() + 1);
    for c in w.chunks.iter().filter(|c| c.alias_of.is_none()) {
        assert_eq!(
            std::fs::read(out.join(&c.path)).unwrap(),
            c.bytes(),
            "{}",
            c.path
        );
    }
    let request = modforge_overlay::BuildRequest {
        game_dir: install.game_dir.clone(),
        overlay_dir: dir.path().join("overlay"),
        state_dir: dir.path().join("state"),
        mods: vec![spec("re", &modroot)],
        options: modforge_overlay::BuildOptions::default(),
    };
    let r = build_overlay(&request, &Control::default()).unwrap();
    assert!(
        r.built.is_empty(),
        "every extracted chunk equals the game's: nothing to patch"
    );
    assert!(codes(&r.warnings).contains(&"SUBCHUNKTOC_OVERRIDE_DROPPED"));
}

#[test]
fn extraction_never_leaves_the_output_folder() {
    let dir = tempfile::tempdir().unwrap();
    let wad = dir.path().join("w.wad.client");
    std::fs::write(
        &wad,
        common::wad_bytes(&[
            ("a", b"AAAA", 0),
            ("b", b"BBBB", 3),
            ("c", b"CCCC", 0),
            ("d", b"DDDD", 0),
        ]),
    )
    .unwrap();
    let list = HashList::parse(&format!(
        "{:016x} ../../escape.bin\n{:016x} /etc/abs.bin\n{:016x} sub/ok.bin\n{:016x} sub/ok.bin/inner.bin\n",
        path_hash("a"),
        path_hash("b"),
        path_hash("c"),
        path_hash("d")
    ));
    let out = dir.path().join("out");
    #[cfg(unix)]
    {
        std::fs::create_dir_all(&out).unwrap();
        std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), out.join("sub")).unwrap();
    }
    let rep = extract_wad(
        &wad,
        &out,
        &ExtractOptions {
            hashes: Some(list),
            verify: true,
        },
        &Control::default(),
    )
    .unwrap();
    assert_eq!(rep.written, 4);
    let w = codes(&rep.warnings);
    assert_eq!(w.iter().filter(|c| **c == "UNSAFE_PATH").count(), 2);
    assert!(w.contains(&"PATH_COLLISION"));
    assert!(!dir.path().join("escape.bin").exists());
    assert!(
        std::fs::read_dir(dir.path().join("elsewhere"))
            .unwrap()
            .next()
            .is_none(),
        "no write through a link"
    );
    for h in ["a", "b"] {
        assert!(out.join(format!("{:016x}.bin", path_hash(h))).exists());
    }
}

#[test]
fn traversal_names_in_mods_never_write_outside_the_overlay() {
    let scene = Scene::new();
    game(&scene);
    std::fs::create_dir_all(scene.mods()).unwrap();
    let f = zip(
        &scene.mods().join("evil.fantome"),
        &[
            ("WAD/../../../../escape.wad.client/x.bin", b"zip slip"),
            (
                "WAD/Aatrox.wad.client/../../../../escape2.bin",
                b"zip slip 2",
            ),
            ("/abs/WAD/Aatrox.wad.client/data/a.bin", b"absolute"),
            ("RAW/../../escape3.bin", b"raw slip"),
            ("WAD/..\\..\\Ahri.wad.client/data/h.bin", b"backslash slip"),
        ],
    );
    let m = scene.folder_mod(
        "dots",
        &[("base", 0)],
        &[("base", "Aatrox.wad.client", "data/a.bin", b"fine")],
    );
    let before: Vec<PathBuf> = walk(scene.root());
    let mut r = scene.request(vec![spec("evil", &f), spec("dots", &m)]);
    r.state_dir = scene.root().join("state");
    let _ = build_overlay(&r, &Control::default()).unwrap();
    let after: Vec<PathBuf> = walk(scene.root());
    for p in after.iter().filter(|p| !before.contains(p)) {
        assert!(
            *p == scene.overlay()
                || p.starts_with(scene.overlay().join("DATA"))
                || p.starts_with(scene.state()),
            "{} written",
            p.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.path().to_path_buf())
        .collect()
}
