//! The build decision and crash safety (docs/overlay.md, "State file", "Crash safety",
//! "Two-pass pipeline"): skip, edits, orphans, failures and dirty marks, every skip field,
//! incremental rebuilds and what they read, shared chunks, conflicts.

mod common;

use std::path::Path;

use common::{
    AATROX, AHRI, MAP, Scene, age_tree, has_stamps, spec, touch_later, tree, wad_contents,
};
use modforge_core::{Categorize, Category, Control};
use modforge_overlay::hash::path_hash;
use modforge_overlay::wad::read_toc;
use modforge_overlay::{BuildMode, BuildOptions, ModSpec, State, build_overlay};

/// A small game: Aatrox and Ahri share `data/s.bin`.
fn game(scene: &Scene) {
    scene.game_wad(
        AATROX,
        &[
            ("data/a.bin", b"aatrox a original", 3),
            ("data/b.bin", b"aatrox b original", 3),
            ("data/s.bin", b"shared chunk bytes", 3),
        ],
    );
    scene.game_wad(
        AHRI,
        &[
            ("data/h.bin", b"ahri h original", 3),
            ("data/s.bin", b"shared chunk bytes", 3),
            ("data/w.bnk", b"BKHD\x04\x00\x00\x00bank", 0),
        ],
    );
    scene.game_wad(MAP, &[("data/m.bin", b"map original", 3)]);
}

fn state_of(scene: &Scene) -> State {
    serde_json::from_slice(&std::fs::read(scene.state().join("overlay-state.json")).unwrap())
        .unwrap()
}

fn save_state(scene: &Scene, state: &State) {
    std::fs::write(
        scene.state().join("overlay-state.json"),
        serde_json::to_vec_pretty(state).unwrap(),
    )
    .unwrap();
}

fn content(scene: &Scene, key: &str, path: &str) -> Vec<u8> {
    wad_contents(&scene.overlay_wad(key))
        .remove(&path_hash(path))
        .unwrap()
        .2
}

fn mtimes(dir: &Path) -> Vec<(String, std::time::SystemTime)> {
    tree(dir)
        .into_keys()
        .map(|k| {
            let t = std::fs::metadata(dir.join(&k)).unwrap().modified().unwrap();
            (k, t)
        })
        .collect()
}

#[test]
fn a_no_op_build_is_skipped_reads_no_mod_bytes_and_touches_nothing() {
    let scene = Scene::new();
    game(&scene);
    let a = scene.folder_mod(
        "a",
        &[("base", 0)],
        &[("base", "Aatrox.wad.client", "data/a.bin", b"A from mod a")],
    );
    let b = scene.folder_mod(
        "b",
        &[("base", 0)],
        &[("base", "Aatrox.wad.client", "data/a.bin", b"A from mod b")],
    );
    let mods = vec![spec("a", &a), spec("b", &b)];
    let first = scene.build(mods.clone());
    assert_eq!(first.mode, BuildMode::Full);
    assert_eq!(first.built, vec![AATROX.to_owned()]);
    assert_eq!(first.conflicts.len(), 1);
    let files = tree(&scene.overlay());
    let times = mtimes(&scene.overlay());
    let second = scene.build(mods);
    assert!(second.skipped);
    assert_eq!(second.mode, BuildMode::Skip);
    assert_eq!(second.stats.mod_bytes_read, 0);
    assert_eq!(second.stats.bytes_written, 0);
    assert_eq!(second.peak_bytes_read, 0);
    assert_eq!(second.reused, vec![AATROX.to_owned()]);
    assert_eq!(
        second.conflicts, first.conflicts,
        "conflicts are returned on a skip"
    );
    assert_eq!(tree(&scene.overlay()), files);
    assert_eq!(mtimes(&scene.overlay()), times);
}

#[test]
fn edits_invalidate_the_skip_including_same_size_edits() {
    let scene = Scene::new();
    game(&scene);
    let a = scene.folder_mod(
        "a",
        &[("base", 0)],
        &[("base", "Ahri.wad.client", "data/h.bin", b"version one")],
    );
    let mods = vec![spec("a", &a)];
    scene.build(mods.clone());
    let file = a.join("content/base/Ahri.wad.client/data/h.bin");
    std::fs::write(&file, b"version two, longer").unwrap();
    let r = scene.build(mods.clone());
    assert_eq!(
        (r.mode, r.built.clone()),
        (BuildMode::Incremental, vec![AHRI.to_owned()])
    );
    assert_eq!(content(&scene, AHRI, "data/h.bin"), b"version two, longer");
    std::fs::write(&file, b"version 3!, longer").unwrap();
    touch_later(&file, 5);
    let r = scene.build(mods);
    assert_eq!(
        r.built,
        vec![AHRI.to_owned()],
        "same size, later mtime (ns) is seen"
    );
    assert_eq!(content(&scene, AHRI, "data/h.bin"), b"version 3!, longer");
}

#[test]
fn folder_stamps_prove_a_skip_and_miss_no_edit_addition_or_removal() {
    let scene = Scene::new();
    game(&scene);
    let a = scene.folder_mod(
        "a",
        &[("base", 0)],
        &[
            ("base", "Ahri.wad.client", "data/h.bin", b"h from a"),
            ("base", "Aatrox.wad.client", "data/a.bin", b"a from a"),
        ],
    );
    let mods = vec![spec("a", &a)];
    // Fresh folders are too recent to trust: no stamps, the next build scans again.
    scene.build(mods.clone());
    assert!(!has_stamps(&scene.state(), "a"));
    let ahri = a.join("content/base/Ahri.wad.client");
    type Change<'a> = (&'a str, Box<dyn Fn() + 'a>);
    let changes: Vec<Change<'_>> = vec![
        (
            "a file added to a WAD folder",
            Box::new(|| std::fs::write(ahri.join("data/new.bin"), b"new file").unwrap()),
        ),
        (
            "a same-size edit with a later time",
            Box::new(|| {
                std::fs::write(ahri.join("data/h.bin"), b"h from A").unwrap();
                touch_later(&ahri.join("data/h.bin"), 5);
            }),
        ),
        (
            "a file removed",
            Box::new(|| std::fs::remove_file(ahri.join("data/new.bin")).unwrap()),
        ),
        (
            "a file renamed",
            Box::new(|| std::fs::rename(ahri.join("data/h.bin"), ahri.join("data/g.bin")).unwrap()),
        ),
    ];
    for (what, change) in changes {
        age_tree(&a);
        let rescanned = scene.build(mods.clone());
        assert_eq!(rescanned.mode, BuildMode::Incremental, "{what}: new times");
        assert!(has_stamps(&scene.state(), "a"), "{what}: stamps saved");
        let skipped = scene.build(mods.clone());
        assert_eq!(skipped.mode, BuildMode::Skip, "{what}: stamps hold");
        change();
        let r = scene.build(mods.clone());
        assert_eq!(
            (r.mode, r.built.clone()),
            (BuildMode::Incremental, vec![AHRI.to_owned()]),
            "{what}"
        );
    }
    let wad = wad_contents(&scene.overlay_wad(AHRI));
    assert_eq!(wad[&path_hash("data/g.bin")].2, b"h from A");
    assert!(!wad.contains_key(&path_hash("data/new.bin")));
    // The stamps of a mod no longer listed are pruned with its cache.
    let b = scene.folder_mod(
        "b",
        &[("base", 0)],
        &[("base", "Ahri.wad.client", "data/h.bin", b"h from b")],
    );
    scene.build(vec![spec("b", &b)]);
    assert!(!has_stamps(&scene.state(), "a"));
}

#[test]
fn orphans_and_temp_files_are_swept_on_skip_and_incremental_builds() {
    let scene = Scene::new();
    game(&scene);
    let a = scene.folder_mod(
        "a",
        &[("base", 0)],
        &[("base", "Ahri.wad.client", "data/h.bin", b"new h")],
    );
    let b = scene.folder_mod(
        "b",
        &[("base", 0)],
        &[("base", "Map11.wad.client", "data/m.bin", b"new m")],
    );
    scene.build(vec![spec("a", &a), spec("b", &b)]);
    let o = scene.overlay();
    std::fs::create_dir_all(o.join("DATA/FINAL/Stray/Deep")).unwrap();
    std::fs::write(o.join("DATA/FINAL/Stray/Deep/x.wad.client"), b"x").unwrap();
    std::fs::write(
        o.join("DATA/FINAL/Champions/Ahri.wad.client.tmp"),
        b"killed build",
    )
    .unwrap();
    std::fs::write(o.join("outside.txt"), b"not ours").unwrap();
    let r = scene.build(vec![spec("a", &a), spec("b", &b)]);
    assert!(r.skipped);
    assert!(
        !o.join("DATA/FINAL/Stray").exists(),
        "emptied folders go too"
    );
    assert!(!o.join("DATA/FINAL/Champions/Ahri.wad.client.tmp").exists());
    assert!(
        o.join("outside.txt").exists(),
        "nothing outside DATA is touched"
    );
    std::fs::write(o.join("DATA/FINAL/junk.bin"), b"junk").unwrap();
    let r = scene.build(vec![spec("a", &a)]);
    assert_eq!(r.mode, BuildMode::Incremental);
    assert!(!o.join("DATA/FINAL/junk.bin").exists());
    assert!(
        !o.join(MAP).exists(),
        "a WAD no mod touches any more is removed"
    );
    assert!(!o.join("DATA/FINAL/Maps").exists());
    assert!(o.join(AHRI).exists());
    let r = scene.build(Vec::new());
    assert_eq!(r.mode, BuildMode::Empty);
    assert!(!o.join("DATA").exists());
    assert!(state_of(&scene).mods.is_empty());
}

#[test]
fn a_failing_wad_leaves_no_file_and_stays_dirty() {
    let scene = Scene::new();
    game(&scene);
    let a = scene.folder_mod(
        "a",
        &[("base", 0)],
        &[("base", "Ahri.wad.client", "data/h.bin", b"new h")],
    );
    scene.build(vec![spec("a", &a)]);
    assert!(scene.overlay_wad(AHRI).exists());
    // The game WAD's first entry now points past its end: indexed (TOC only), but not copyable.
    let mut old = std::fs::read(scene.game().join(AHRI)).unwrap();
    old[280..284].copy_from_slice(&0xFFFF_0000u32.to_le_bytes());
    std::fs::write(scene.game().join(AHRI), &old).unwrap();
    let err = build_overlay(&scene.request(vec![spec("a", &a)]), &Control::default()).unwrap_err();
    assert!(matches!(err.category(), Category::Format { .. }), "{err}");
    assert!(!scene.overlay_wad(AHRI).exists());
    assert!(!scene.overlay().join(format!("{AHRI}.tmp")).exists());
    assert!(state_of(&scene).dirty_wads.contains(&AHRI.to_owned()));
}

#[test]
fn a_dirty_wad_is_rebuilt_even_with_an_equal_fingerprint() {
    let scene = Scene::new();
    game(&scene);
    let a = scene.folder_mod(
        "a",
        &[("base", 0)],
        &[
            ("base", "Ahri.wad.client", "data/h.bin", b"new h"),
            ("base", "Aatrox.wad.client", "data/a.bin", b"new a"),
        ],
    );
    scene.build(vec![spec("a", &a)]);
    let mut st = state_of(&scene);
    st.dirty_wads.push(AHRI.into());
    save_state(&scene, &st);
    let r = scene.build(vec![spec("a", &a)]);
    assert_eq!(r.mode, BuildMode::Incremental);
    assert_eq!(r.built, vec![AHRI.to_owned()]);
    assert_eq!(r.reused, vec![AATROX.to_owned()]);
    assert!(state_of(&scene).dirty_wads.is_empty());
}

#[test]
fn every_skip_field_breaks_the_skip() {
    let scene = Scene::new();
    game(&scene);
    let a = scene.folder_mod(
        "a",
        &[("base", 0), ("chroma", 5)],
        &[
            ("base", "Ahri.wad.client", "data/h.bin", b"h base"),
            ("chroma", "Ahri.wad.client", "data/h.bin", b"h chroma"),
        ],
    );
    let b = scene.folder_mod(
        "b",
        &[("base", 0)],
        &[("base", "Map11.wad.client", "data/m.bin", b"new m")],
    );
    let ab = vec![spec("a", &a), spec("b", &b)];
    scene.build(ab.clone());
    assert!(scene.build(ab.clone()).skipped);
    // Order of ids.
    let r = scene.build(vec![spec("b", &b), spec("a", &a)]);
    assert_eq!(r.mode, BuildMode::Incremental);
    assert!(r.built.is_empty(), "same override sets: nothing to rewrite");
    assert!(scene.build(vec![spec("b", &b), spec("a", &a)]).skipped);
    // A mod key (layers).
    let base_only = ModSpec {
        layers: Some(vec![]),
        ..spec("a", &a)
    };
    let r = scene.build(vec![spec("b", &b), base_only.clone()]);
    assert_eq!(
        (r.mode, r.built.clone()),
        (BuildMode::Incremental, vec![AHRI.to_owned()])
    );
    assert_eq!(
        content(&scene, AHRI, "data/h.bin"),
        b"h base",
        "inactive layer excluded, base on"
    );
    let keys = state_of(&scene).mod_fingerprints;
    let r = scene.build(vec![spec("b", &b), spec("a", &a)]);
    assert_eq!(r.built, vec![AHRI.to_owned()]);
    assert_ne!(
        state_of(&scene).mod_fingerprints["a"],
        keys["a"],
        "a layer change changes the mod key"
    );
    // Options.
    let r = scene.build_with(
        ab.clone(),
        BuildOptions {
            blocked_wads: vec!["MAP11.wad.client".into()],
            ..BuildOptions::default()
        },
    );
    assert_eq!(r.mode, BuildMode::Incremental);
    assert!(!scene.overlay_wad(MAP).exists(), "blocked after routing");
    assert_eq!(
        state_of(&scene).options.blocked_wads,
        vec!["map11.wad.client".to_owned()]
    );
    scene.build(ab.clone());
    assert!(scene.build(ab.clone()).skipped);
    // Builder.
    let mut st = state_of(&scene);
    st.builder = "another builder".into();
    save_state(&scene, &st);
    assert_eq!(scene.build(ab.clone()).mode, BuildMode::Full);
    // Version.
    let mut st = state_of(&scene);
    st.version = 99;
    save_state(&scene, &st);
    assert_eq!(scene.build(ab.clone()).mode, BuildMode::Full);
    // Dirty marks.
    let mut st = state_of(&scene);
    st.dirty_wads = vec![MAP.into()];
    save_state(&scene, &st);
    assert_eq!(scene.build(ab.clone()).mode, BuildMode::Incremental);
    // The game fingerprint.
    touch_later(&scene.game().join(MAP), 7);
    assert_eq!(scene.build(ab.clone()).mode, BuildMode::Full);
    // A missing WAD file.
    std::fs::remove_file(scene.overlay_wad(MAP)).unwrap();
    let r = scene.build(ab.clone());
    assert_eq!(
        (r.mode, r.built.clone()),
        (BuildMode::Incremental, vec![MAP.to_owned()])
    );
    // Force.
    assert_eq!(
        scene
            .build_with(
                ab.clone(),
                BuildOptions {
                    force: true,
                    ..BuildOptions::default()
                }
            )
            .mode,
        BuildMode::Full
    );
    // Unreadable state.
    std::fs::write(scene.state().join("overlay-state.json"), b"{not json").unwrap();
    assert_eq!(scene.build(ab).mode, BuildMode::Full);
}

#[test]
fn windows_backslash_keys_in_the_state_match() {
    let scene = Scene::new();
    game(&scene);
    let a = scene.folder_mod(
        "a",
        &[("base", 0)],
        &[("base", "Ahri.wad.client", "data/h.bin", b"new h")],
    );
    scene.build(vec![spec("a", &a)]);
    let text = String::from_utf8(std::fs::read(scene.state().join("overlay-state.json")).unwrap())
        .unwrap();
    let windows = text.replace(
        "DATA/FINAL/Champions/Ahri.wad.client",
        "DATA\\\\FINAL\\\\Champions\\\\Ahri.wad.client",
    );
    assert_ne!(windows, text);
    std::fs::write(scene.state().join("overlay-state.json"), windows).unwrap();
    assert!(scene.build(vec![spec("a", &a)]).skipped);
}

#[test]
fn one_changed_mod_rebuilds_only_its_wad_and_reads_only_its_bytes() {
    let scene = Scene::new();
    game(&scene);
    let big = vec![7u8; 200_000];
    let a = scene.folder_mod(
        "a",
        &[("base", 0)],
        &[
            ("base", "Aatrox.wad.client", "data/a.bin", &big),
            ("base", "Ahri.wad.client", "data/h.bin", b"from a"),
        ],
    );
    let b = scene.folder_mod(
        "b",
        &[("base", 0)],
        &[("base", "Map11.wad.client", "data/m.bin", b"map v1")],
    );
    let mods = vec![spec("a", &a), spec("b", &b)];
    scene.build(mods.clone());
    let before_aatrox = std::fs::read(scene.overlay_wad(AATROX)).unwrap();
    let file = b.join("content/base/Map11.wad.client/data/m.bin");
    std::fs::write(&file, b"map version two").unwrap();
    let r = scene.build(mods.clone());
    assert_eq!(r.built, vec![MAP.to_owned()]);
    assert_eq!(r.reused, vec![AATROX.to_owned(), AHRI.to_owned()]);
    let len = std::fs::metadata(&file).unwrap().len();
    let config = std::fs::metadata(b.join("mod.config.json")).unwrap().len();
    assert_eq!(
        r.stats.mod_bytes_read,
        2 * len + config,
        "the edited file (hashed, then packed) and the config"
    );
    // At most the file's bytes and their packed form (a zstd frame of 15 bytes is a little larger).
    assert!(
        r.peak_bytes_read >= len && r.peak_bytes_read <= 2 * len + 32,
        "peak {}",
        r.peak_bytes_read
    );
    assert_eq!(
        std::fs::read(scene.overlay_wad(AATROX)).unwrap(),
        before_aatrox
    );
    // Adding an entry keeps the data region in place.
    let before = state_of(&scene).wad_layouts[MAP].clone();
    std::fs::write(
        b.join("content/base/Map11.wad.client/data/new.bin"),
        b"brand new",
    )
    .unwrap();
    let r = scene.build(mods);
    assert_eq!(r.built, vec![MAP.to_owned()]);
    let after = state_of(&scene).wad_layouts[MAP].clone();
    assert_eq!(
        (after.toc_capacity, after.data_region_offset),
        (before.toc_capacity, before.data_region_offset)
    );
    assert_eq!(content(&scene, MAP, "data/new.bin"), b"brand new");
    assert_eq!(
        r.stats.mod_bytes_read,
        2 * 9 + config,
        "only the new file is read (hashed, then packed)"
    );
}

#[test]
fn unchanged_overrides_of_a_rebuilt_wad_are_lifted_from_the_previous_file() {
    let scene = Scene::new();
    game(&scene);
    // Bytes zstd cannot shrink: the packed override is as large as the file.
    let mut rng = modforge_gen::SplitMix64::new(5);
    let big: Vec<u8> = (0..300_000u32).map(|_| rng.next_u64() as u8).collect();
    let a = scene.folder_mod(
        "a",
        &[("base", 0)],
        &[("base", "Aatrox.wad.client", "data/a.bin", &big)],
    );
    let b = scene.folder_mod(
        "b",
        &[("base", 0)],
        &[("base", "Aatrox.wad.client", "data/b.bin", b"b v1")],
    );
    let mods = vec![spec("a", &a), spec("b", &b)];
    scene.build(mods.clone());
    std::fs::write(
        b.join("content/base/Aatrox.wad.client/data/b.bin"),
        b"b version 2",
    )
    .unwrap();
    let r = scene.build(mods);
    assert_eq!(r.built, vec![AATROX.to_owned()]);
    let config = std::fs::metadata(b.join("mod.config.json")).unwrap().len();
    assert_eq!(
        r.stats.mod_bytes_read,
        2 * 11 + config,
        "mod a's 300 kB override is lifted, not read"
    );
    assert_eq!(r.stats.overrides_compressed, 1);
    assert!(
        r.peak_bytes_read < 100_000,
        "lifted bytes are copied file to file, not held: {}",
        r.peak_bytes_read
    );
    assert_eq!(content(&scene, AATROX, "data/a.bin"), big);

    // Damaged lifted bytes in the previous file are not trusted: the override is read from mod a.
    let wad = scene.overlay_wad(AATROX);
    let entry = read_toc(&wad)
        .unwrap()
        .entries
        .into_iter()
        .find(|e| e.path_hash == path_hash("data/a.bin"))
        .unwrap();
    let mut bytes = std::fs::read(&wad).unwrap();
    bytes[entry.offset as usize + 10] ^= 0x40;
    std::fs::write(&wad, &bytes).unwrap();
    std::fs::write(
        b.join("content/base/Aatrox.wad.client/data/b.bin"),
        b"b version 3!",
    )
    .unwrap();
    let r = scene.build(vec![spec("a", &a), spec("b", &b)]);
    assert_eq!(r.built, vec![AATROX.to_owned()]);
    assert!(
        r.stats.mod_bytes_read >= 300_000,
        "{}",
        r.stats.mod_bytes_read
    );
    assert_eq!(content(&scene, AATROX, "data/a.bin"), big);
}

#[test]
fn shared_and_cross_wad_overrides_land_identically_in_every_holder() {
    let scene = Scene::new();
    game(&scene);
    let a = scene.folder_mod(
        "a",
        &[("base", 0)],
        &[
            (
                "base",
                "Aatrox.wad.client",
                "data/s.bin",
                b"modified shared chunk",
            ),
            (
                "base",
                "Aatrox.wad.client",
                "data/h.bin",
                b"ahri's chunk, modified, shipped under Aatrox",
            ),
        ],
    );
    let b = scene.folder_mod(
        "b",
        &[("base", 0)],
        &[(
            "base",
            "Ahri.wad.client",
            "data/w.bnk",
            b"BKHD\x04\x00\x00\x00bank v1",
        )],
    );
    let mods = vec![spec("a", &a), spec("b", &b)];
    let r = scene.build(mods.clone());
    assert_eq!(r.built, vec![AATROX.to_owned(), AHRI.to_owned()]);
    let same = |scene: &Scene, path: &str| {
        let x = wad_contents(&scene.overlay_wad(AATROX))
            .remove(&path_hash(path))
            .unwrap();
        let y = wad_contents(&scene.overlay_wad(AHRI))
            .remove(&path_hash(path))
            .unwrap();
        assert_eq!(x, y, "{path}: same type, checksum and bytes in both WADs");
        x
    };
    assert_eq!(same(&scene, "data/s.bin").2, b"modified shared chunk");
    assert_eq!(
        same(&scene, "data/h.bin").2,
        b"ahri's chunk, modified, shipped under Aatrox"
    );
    let bank = wad_contents(&scene.overlay_wad(AHRI))
        .remove(&path_hash("data/w.bnk"))
        .unwrap();
    assert_eq!(bank.0, 0, "Wwise stays raw");
    // Rebuild one of the two holders: both still hold identical packed bytes.
    std::fs::write(
        b.join("content/base/Ahri.wad.client/data/w.bnk"),
        b"BKHD\x04\x00\x00\x00bank v2",
    )
    .unwrap();
    let r = scene.build(mods);
    assert_eq!(r.built, vec![AHRI.to_owned()]);
    same(&scene, "data/s.bin");
    same(&scene, "data/h.bin");
}

#[test]
fn conflicts_record_contributors_winner_and_same_content() {
    let scene = Scene::new();
    game(&scene);
    let a = scene.folder_mod(
        "a",
        &[("base", 0), ("chroma", 3)],
        &[
            ("base", "Aatrox.wad.client", "data/a.bin", b"a base"),
            ("chroma", "Aatrox.wad.client", "data/a.bin", b"a chroma"),
            ("base", "Aatrox.wad.client", "data/b.bin", b"same"),
        ],
    );
    let b = scene.folder_mod(
        "b",
        &[("base", 0)],
        &[
            ("base", "Aatrox.wad.client", "data/a.bin", b"b base"),
            ("base", "Aatrox.wad.client", "data/b.bin", b"same"),
        ],
    );
    let r = scene.build(vec![spec("a", &a), spec("b", &b)]);
    assert_eq!(r.conflicts.len(), 2);
    let ca = r
        .conflicts
        .iter()
        .find(|c| c.path_hash == path_hash("data/a.bin"))
        .unwrap();
    assert_eq!(ca.path.as_deref(), Some("data/a.bin"));
    assert_eq!(ca.wads, vec![AATROX.to_owned()]);
    let who: Vec<(&str, Option<&str>)> = ca
        .contributors
        .iter()
        .map(|c| (c.mod_id.as_str(), c.layer.as_deref()))
        .collect();
    assert_eq!(
        who,
        vec![
            ("a", Some("base")),
            ("a", Some("chroma")),
            ("b", Some("base"))
        ]
    );
    assert_eq!(ca.winner, 1, "mod a's chroma layer");
    assert!(!ca.same_content && !ca.kept_game_original);
    assert_eq!(ca.contributors[0].wad.as_deref(), Some("Aatrox.wad.client"));
    let cb = r
        .conflicts
        .iter()
        .find(|c| c.path_hash == path_hash("data/b.bin"))
        .unwrap();
    assert!(cb.same_content);
    assert_eq!(content(&scene, AATROX, "data/a.bin"), b"a chroma");
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(scene.state().join("conflicts.json")).unwrap())
            .unwrap();
    assert_eq!(saved["conflicts"].as_array().unwrap().len(), 2);
    assert_eq!(saved["conflicts"][0]["contributors"][0]["modId"], "a");
}

#[test]
fn invalid_arguments() {
    let scene = Scene::new();
    game(&scene);
    let a = scene.folder_mod("a", &[("base", 0)], &[]);
    let err = build_overlay(
        &scene.request(vec![spec("x", &a), spec("x", &a)]),
        &Control::default(),
    )
    .unwrap_err();
    assert!(matches!(err.category(), Category::InvalidArg));
    let mut r = scene.request(vec![spec("a", &a)]);
    r.overlay_dir = scene.game();
    assert!(matches!(
        build_overlay(&r, &Control::default())
            .unwrap_err()
            .category(),
        Category::InvalidArg
    ));
    let mut r = scene.request(vec![spec("a", &a)]);
    r.state_dir = scene.overlay().join("DATA/state");
    assert!(matches!(
        build_overlay(&r, &Control::default())
            .unwrap_err()
            .category(),
        Category::InvalidArg
    ));
    let mut r = scene.request(vec![spec("a", &a)]);
    r.game_dir = scene.root().join("nowhere");
    assert!(matches!(
        build_overlay(&r, &Control::default())
            .unwrap_err()
            .category(),
        Category::InvalidArg
    ));
    let err = build_overlay(
        &scene.request(vec![spec("missing", &scene.root().join("no-such-mod"))]),
        &Control::default(),
    )
    .unwrap_err();
    assert_eq!(err.mod_id(), Some("missing"));
    assert!(matches!(err.category(), Category::Io { .. }));
}

#[test]
fn cancellation_leaves_no_temp_and_nothing_marked_clean_that_is_not() {
    let scene = Scene::new();
    game(&scene);
    let a = scene.folder_mod(
        "a",
        &[("base", 0)],
        &[
            ("base", "Ahri.wad.client", "data/h.bin", b"h"),
            ("base", "Aatrox.wad.client", "data/a.bin", b"a"),
        ],
    );
    let cancel = modforge_core::Cancel::new();
    let hit = std::sync::atomic::AtomicBool::new(false);
    let on = |p: &modforge_core::Progress<'_>| {
        if p.stage == modforge_core::Stage::Patch && p.done >= 1 {
            hit.store(true, std::sync::atomic::Ordering::Relaxed);
            cancel.cancel();
        }
    };
    let control = Control {
        cancel: Some(&cancel),
        progress: Some(&on),
    };
    let r = scene.request(vec![spec("a", &a)]);
    let err = modforge_overlay::build_overlay(&BuildRequestThreads::one(r), &control).unwrap_err();
    assert!(matches!(err.category(), Category::Aborted));
    assert!(hit.load(std::sync::atomic::Ordering::Relaxed));
    let files = tree(&scene.overlay());
    assert!(files.keys().all(|k| !k.ends_with(".tmp")));
    let st = state_of(&scene);
    assert_eq!(
        files.len() + st.dirty_wads.len(),
        2,
        "every WAD is either written or dirty"
    );
    for k in &st.dirty_wads {
        assert!(!files.contains_key(k));
    }
    let r = scene.build(vec![spec("a", &a)]);
    assert!(!r.skipped);
    assert_eq!(r.built, st.dirty_wads);
    assert!(scene.build(vec![spec("a", &a)]).skipped);
}

/// A request on one thread (so cancellation after the first WAD leaves the second unstarted).
struct BuildRequestThreads;

impl BuildRequestThreads {
    fn one(mut r: modforge_overlay::BuildRequest) -> modforge_overlay::BuildRequest {
        r.options.threads = Some(1);
        r
    }
}

#[test]
fn type4_entries_pass_through_and_overrides_become_type3() {
    use modforge_gen::league::{LeagueOptions, generate};
    let dir = tempfile::tempdir().unwrap();
    let mut options = LeagueOptions::small(3);
    options.mods = 0;
    options.quirks = false;
    let install = generate(&dir.path().join("gen"), &options).unwrap();
    let wad = install
        .game
        .wads
        .iter()
        .find(|w| {
            w.has_subchunk_toc() && w.chunks.iter().filter(|c| c.subchunked(w.minor)).count() >= 2
        })
        .unwrap();
    let subbed: Vec<_> = wad
        .chunks
        .iter()
        .filter(|c| c.subchunked(wad.minor) && c.alias_of.is_none())
        .collect();
    let target = subbed[0];
    let toc_path = format!("{}.subchunktoc", wad.key.trim_end_matches(".client")).to_lowercase();
    let dir_name = wad.key.rsplit('/').next().unwrap();
    let scene_mods = dir.path().join("mods/t4");
    std::fs::create_dir_all(scene_mods.join("content/base").join(dir_name).join("x")).unwrap();
    let wad_dir = scene_mods.join("content/base").join(dir_name);
    std::fs::create_dir_all(wad_dir.join(Path::new(&target.path).parent().unwrap())).unwrap();
    std::fs::write(wad_dir.join(&target.path), b"a texture, now plain").unwrap();
    std::fs::create_dir_all(wad_dir.join(Path::new(&toc_path).parent().unwrap())).unwrap();
    std::fs::write(wad_dir.join(&toc_path), b"not a subchunk toc").unwrap();
    let request = modforge_overlay::BuildRequest {
        game_dir: install.game_dir.clone(),
        overlay_dir: dir.path().join("overlay"),
        state_dir: dir.path().join("state"),
        mods: vec![spec("t4", &scene_mods)],
        options: BuildOptions::default(),
    };
    let r = build_overlay(&request, &Control::default()).unwrap();
    let codes: Vec<&str> = r.warnings.iter().map(|w| w.code.as_str()).collect();
    assert!(codes.contains(&"SUBCHUNKED_OVERRIDE"), "{codes:?}");
    assert!(codes.contains(&"SUBCHUNKTOC_OVERRIDE_DROPPED"), "{codes:?}");
    let out = request.overlay_dir.join(&wad.key);
    let src = install.game_dir.join(&wad.key);
    let (otoc, stoc) = (read_toc(&out).unwrap(), read_toc(&src).unwrap());
    let (obytes, sbytes) = (std::fs::read(&out).unwrap(), std::fs::read(&src).unwrap());
    let find = |t: &modforge_overlay::wad::Toc, h: u64| {
        *t.entries.iter().find(|e| e.path_hash == h).unwrap()
    };
    let o = find(&otoc, target.hash);
    assert_eq!(
        (o.chunk_type, o.subchunk_count, o.subchunk_index),
        (3, 0, 0)
    );
    for c in &subbed[1..] {
        let (o, s) = (find(&otoc, c.hash), find(&stoc, c.hash));
        assert_eq!(
            (
                o.chunk_type,
                o.subchunk_count,
                o.subchunk_index,
                o.checksum,
                o.size,
                o.packed_size
            ),
            (
                s.chunk_type,
                s.subchunk_count,
                s.subchunk_index,
                s.checksum,
                s.size,
                s.packed_size
            )
        );
        assert_eq!(
            &obytes[o.offset as usize..o.end() as usize],
            &sbytes[s.offset as usize..s.end() as usize]
        );
    }
    let th = modforge_overlay::hash::subchunk_toc_hash(&wad.key);
    let (o, s) = (find(&otoc, th), find(&stoc, th));
    assert_eq!(
        &obytes[o.offset as usize..o.end() as usize],
        &sbytes[s.offset as usize..s.end() as usize],
        "SubChunkTOC unchanged"
    );
    let contents = wad_contents(&out);
    assert_eq!(contents[&target.hash].2, b"a texture, now plain");
    assert_eq!(contents[&subbed[1].hash].2, subbed[1].bytes());
}
