//! Precedence, the lazy filter and routing (docs/overlay.md, "Precedence", "Routing").

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::{AATROX, AHRI, MAP, Scene, spec, wad_contents};
use modforge_core::Control;
use modforge_overlay::hash::path_hash;
use modforge_overlay::{AnalyzeOptions, BuildOptions, ModKind, ModSpec, Resolution, analyze_mod};

fn game(scene: &Scene) {
    scene.game_wad(
        AATROX,
        &[
            ("data/a.bin", b"aatrox a original", 3),
            ("data/b.bin", b"aatrox b original", 3),
            ("data/c.bin", b"c", 3),
        ],
    );
    scene.game_wad(
        AHRI,
        &[
            ("data/h.bin", b"ahri h original", 3),
            ("data/a.bin", b"aatrox a original", 3),
        ],
    );
    scene.game_wad(
        MAP,
        &[
            ("data/m1.bin", b"m1", 3),
            ("data/m2.bin", b"m2", 3),
            ("data/m3.bin", b"m3", 3),
        ],
    );
    scene.game_wad(
        "DATA/FINAL/Champions/Graves.wad.client",
        &[("data/g.bin", b"g", 3)],
    );
    scene.game_wad(
        "DATA/FINAL/Champions/Graves.en_US.wad.client",
        &[("data/gvo.bin", b"vo", 3)],
    );
}

fn get(scene: &Scene, key: &str, path: &str) -> Option<Vec<u8>> {
    let p = scene.overlay_wad(key);
    if !p.exists() {
        return None;
    }
    wad_contents(&p).remove(&path_hash(path)).map(|c| c.2)
}

fn codes(r: &modforge_overlay::BuildResult) -> Vec<&'static str> {
    r.warnings.iter().map(|w| w.code.as_str()).collect()
}

#[test]
fn index_0_beats_index_1_and_raw_beats_layers() {
    let scene = Scene::new();
    game(&scene);
    let a = scene.folder_mod(
        "a",
        &[("base", 0), ("top", 99)],
        &[
            ("top", "Aatrox.wad.client", "data/b.bin", b"layer top"),
            ("base", "", "data/b.bin", b"raw wins in its mod"),
        ],
    );
    let b = scene.folder_mod(
        "b",
        &[("base", 0)],
        &[("base", "Aatrox.wad.client", "data/b.bin", b"mod b")],
    );
    scene.build(vec![spec("a", &a), spec("b", &b)]);
    assert_eq!(
        get(&scene, AATROX, "data/b.bin").unwrap(),
        b"raw wins in its mod"
    );
    let scene2 = Scene::new();
    game(&scene2);
    let a = scene2.folder_mod(
        "a",
        &[("base", 0)],
        &[("base", "Aatrox.wad.client", "data/b.bin", b"mod a")],
    );
    let b = scene2.folder_mod(
        "b",
        &[("base", 0)],
        &[("base", "Aatrox.wad.client", "data/b.bin", b"mod b")],
    );
    scene2.build(vec![spec("b", &b), spec("a", &a)]);
    assert_eq!(get(&scene2, AATROX, "data/b.bin").unwrap(), b"mod b");
}

#[test]
fn names_normalising_to_one_hash_have_one_deterministic_winner() {
    for _ in 0..3 {
        let scene = Scene::new();
        game(&scene);
        let a = scene.folder_mod(
            "a",
            &[("base", 0)],
            &[
                ("base", "Aatrox.wad.client", "DATA/B.BIN", b"upper"),
                ("base", "Aatrox.wad.client", "data/b.bin", b"lower"),
                ("base", "Aatrox.wad.client", "Data\\b.bin.x/../b", b"other"),
            ],
        );
        let r = scene.build(vec![spec("a", &a)]);
        assert_eq!(
            get(&scene, AATROX, "data/b.bin").unwrap(),
            b"lower",
            "raw bytes break the tie: 'd' > 'D'"
        );
        assert_eq!(r.conflicts.len(), 1);
        assert_eq!(r.conflicts[0].contributors.len(), 2);
    }
}

fn fantome(path: &Path, entries: &[(&str, &[u8])]) -> PathBuf {
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let o = zip::write::SimpleFileOptions::default();
    for (name, bytes) in entries {
        z.start_file(*name, o).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
    path.to_path_buf()
}

#[test]
fn archive_order_does_not_change_the_winner() {
    let mut winners = Vec::new();
    for reversed in [false, true] {
        let scene = Scene::new();
        game(&scene);
        std::fs::create_dir_all(scene.mods()).unwrap();
        let mut entries: Vec<(&str, &[u8])> = vec![
            ("WAD/Aatrox.wad.client/data/b.bin", b"first"),
            ("WAD/aatrox.wad.client/data/b.bin", b"second"),
            ("wad/Aatrox.wad.client/DATA/b.bin", b"third"),
        ];
        if reversed {
            entries.reverse();
        }
        let f = fantome(&scene.mods().join("m.fantome"), &entries);
        scene.build(vec![spec("m", &f)]);
        winners.push(get(&scene, AATROX, "data/b.bin").unwrap());
    }
    assert_eq!(winners[0], winners[1]);
}

#[test]
fn lazy_filter_drops_identical_overrides_but_keeps_cross_wad_imports() {
    let scene = Scene::new();
    game(&scene);
    let m = scene.folder_mod(
        "m",
        &[("base", 0)],
        &[
            (
                "base",
                "Aatrox.wad.client",
                "data/b.bin",
                b"aatrox b original",
            ),
            (
                "base",
                "Aatrox.wad.client",
                "data/h.bin",
                b"ahri h original",
            ),
        ],
    );
    let r = scene.build(vec![spec("m", &m)]);
    assert_eq!(
        r.built,
        vec![AATROX.to_owned(), AHRI.to_owned()],
        "the identical import reaches its declared WAD and the holder"
    );
    let a = wad_contents(&scene.overlay_wad(AATROX));
    assert_eq!(a[&path_hash("data/h.bin")].2, b"ahri h original");
    let src = modforge_overlay::wad::read_toc(&scene.game().join(AATROX)).unwrap();
    let ours = modforge_overlay::wad::read_toc(&scene.overlay_wad(AATROX)).unwrap();
    let b = path_hash("data/b.bin");
    let (s, o) = (
        src.entries.iter().find(|e| e.path_hash == b).unwrap(),
        ours.entries.iter().find(|e| e.path_hash == b).unwrap(),
    );
    assert_eq!(
        (s.checksum, s.packed_size),
        (o.checksum, o.packed_size),
        "the identical override was dropped: game entry kept"
    );
    // Only identical: nothing to build.
    let scene = Scene::new();
    game(&scene);
    let m = scene.folder_mod(
        "m",
        &[("base", 0)],
        &[(
            "base",
            "Aatrox.wad.client",
            "data/b.bin",
            b"aatrox b original",
        )],
    );
    let r = scene.build(vec![spec("m", &m)]);
    assert!(r.built.is_empty());
    assert!(!scene.overlay().join("DATA").exists());
}

#[test]
fn routing_by_name_overlap_dominant_and_unroutable() {
    let scene = Scene::new();
    game(&scene);
    let m = scene.folder_mod(
        "m",
        &[("base", 0)],
        &[
            ("base", "Spirit.wad.client", "data/m1.bin", b"m1 new"),
            ("base", "Spirit.wad.client", "data/m2.bin", b"m2 new"),
            (
                "base",
                "Spirit.wad.client",
                "data/brand_new.bin",
                b"new entry",
            ),
            ("base", "Nowhere.wad.client", "data/only_new.bin", b"lonely"),
        ],
    );
    let r = scene.build(vec![spec("m", &m)]);
    assert_eq!(r.built, vec![MAP.to_owned()]);
    assert_eq!(
        get(&scene, MAP, "data/brand_new.bin").unwrap(),
        b"new entry",
        "overlap fallback"
    );
    assert_eq!(
        get(&scene, MAP, "data/only_new.bin").unwrap(),
        b"lonely",
        "no overlap: the mod's dominant WAD"
    );
    assert_eq!(
        codes(&r)
            .iter()
            .filter(|c| **c == "WAD_NAME_FALLBACK")
            .count(),
        2
    );
    // Ties go to the smaller key; nothing overlapping at all is dropped with a warning.
    let scene = Scene::new();
    game(&scene);
    let m = scene.folder_mod(
        "m",
        &[("base", 0)],
        &[
            ("base", "X.wad.client", "data/a.bin", b"tie"),
            ("base", "X.wad.client", "data/n.bin", b"n"),
        ],
    );
    scene.build(vec![spec("m", &m)]);
    assert_eq!(
        get(&scene, AATROX, "data/n.bin").unwrap(),
        b"n",
        "Aatrox < Ahri"
    );
    assert!(get(&scene, AHRI, "data/n.bin").is_none());
    let scene = Scene::new();
    game(&scene);
    let m = scene.folder_mod(
        "m",
        &[("base", 0)],
        &[("base", "X.wad.client", "data/zz.bin", b"zz")],
    );
    let r = scene.build(vec![spec("m", &m)]);
    assert!(r.built.is_empty());
    assert!(codes(&r).contains(&"UNROUTABLE_OVERRIDE"));
}

#[test]
fn a_localized_declaration_also_reaches_its_sibling() {
    let scene = Scene::new();
    game(&scene);
    let m = scene.folder_mod(
        "m",
        &[("base", 0)],
        &[
            ("base", "Graves.en_US.wad.client", "data/new_vo.bin", b"vo"),
            ("base", "Graves.en_US.wad.client", "data/gvo.bin", b"vo 2"),
        ],
    );
    let r = scene.build(vec![spec("m", &m)]);
    assert_eq!(
        r.built,
        vec![
            "DATA/FINAL/Champions/Graves.en_US.wad.client".to_owned(),
            "DATA/FINAL/Champions/Graves.wad.client".to_owned()
        ]
    );
    assert_eq!(
        get(
            &scene,
            "DATA/FINAL/Champions/Graves.wad.client",
            "data/new_vo.bin"
        )
        .unwrap(),
        b"vo"
    );
    assert!(
        get(
            &scene,
            "DATA/FINAL/Champions/Graves.wad.client",
            "data/gvo.bin"
        )
        .is_none(),
        "held content stays in its WAD"
    );
}

#[test]
fn the_blocklist_applies_after_routing() {
    let scene = Scene::new();
    game(&scene);
    let m = scene.folder_mod(
        "m",
        &[("base", 0)],
        &[(
            "base",
            "Aatrox.wad.client",
            "data/a.bin",
            b"shared, modified",
        )],
    );
    let r = scene.build_with(
        vec![spec("m", &m)],
        BuildOptions {
            blocked_wads: vec!["ahri.WAD.client".into()],
            ..BuildOptions::default()
        },
    );
    assert_eq!(r.built, vec![AATROX.to_owned()]);
    assert!(codes(&r).contains(&"BLOCKED_SHARED_CHUNK"));
    assert!(!scene.overlay_wad(AHRI).exists());
}

#[test]
fn inactive_layers_are_excluded_and_unknown_ones_reported() {
    let scene = Scene::new();
    game(&scene);
    let m = scene.folder_mod(
        "m",
        &[("base", 0), ("chroma", 1)],
        &[
            ("base", "Aatrox.wad.client", "data/b.bin", b"base"),
            ("chroma", "Aatrox.wad.client", "data/c.bin", b"chroma"),
        ],
    );
    let r = scene.build(vec![ModSpec {
        layers: Some(vec!["nope".into()]),
        ..spec("m", &m)
    }]);
    assert_eq!(get(&scene, AATROX, "data/b.bin").unwrap(), b"base");
    assert_eq!(get(&scene, AATROX, "data/c.bin").unwrap(), b"c");
    assert!(codes(&r).contains(&"UNKNOWN_LAYER"));
}

#[test]
fn analyze_mod_counts_folders_and_routes_them() {
    let scene = Scene::new();
    game(&scene);
    let m = scene.folder_mod(
        "analysed",
        &[("base", 0), ("chroma", 4)],
        &[
            ("base", "Aatrox.wad.client", "data/b.bin", b"12345"),
            ("base", "Aatrox.wad.client", "data/new.bin", b"123"),
            ("chroma", "Mystery.wad.client", "data/m1.bin", b"1"),
            ("base", "", "data/h.bin", b"raw!"),
        ],
    );
    let a = analyze_mod(
        &m,
        &AnalyzeOptions {
            game_dir: Some(scene.game()),
            layers: None,
        },
        &Control::default(),
    )
    .unwrap();
    assert_eq!(a.kind, ModKind::Folder);
    assert_eq!(a.name, "analysed");
    assert_eq!(a.version.as_deref(), Some("1.0.0"));
    assert_eq!(
        a.layers
            .iter()
            .map(|l| (l.name.as_str(), l.priority))
            .collect::<Vec<_>>(),
        vec![("base", 0), ("chroma", 4)]
    );
    type Row<'a> = (
        &'a str,
        &'a str,
        u64,
        u64,
        Option<&'a str>,
        Option<Resolution>,
    );
    let rows: Vec<Row<'_>> = a
        .wads
        .iter()
        .map(|w| {
            (
                w.name.as_str(),
                w.layer.as_str(),
                w.files,
                w.bytes,
                w.routed_to.as_deref(),
                w.routing,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                "Aatrox.wad.client",
                "base",
                2,
                8,
                Some(AATROX),
                Some(Resolution::Name)
            ),
            (
                "Mystery.wad.client",
                "chroma",
                1,
                1,
                Some(MAP),
                Some(Resolution::Overlap)
            ),
        ]
    );
    assert_eq!((a.raw.files, a.raw.bytes), (1, 4));
    let only_base = analyze_mod(
        &m,
        &AnalyzeOptions {
            game_dir: None,
            layers: Some(vec![]),
        },
        &Control::default(),
    )
    .unwrap();
    assert_eq!(only_base.wads.len(), 1);
    assert_eq!(only_base.wads[0].routed_to, None);
    assert_ne!(only_base.key, a.key);
    assert_eq!(only_base.fingerprint, a.fingerprint);
}
