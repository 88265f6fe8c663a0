//! The generated League install (docs/overlay.md, "Generated install"): reproducible, and holding
//! every case it promises.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use modforge_gen::league::{LeagueOptions, ModFormat, generate};
use modforge_overlay::hash::subchunk_toc_hash;
use modforge_overlay::wad::read_toc;

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let a = generate(&dir.path().join("a"), &LeagueOptions::small(1)).unwrap();
    let b = generate(&dir.path().join("b"), &LeagueOptions::small(1)).unwrap();
    let c = generate(&dir.path().join("c"), &LeagueOptions::small(2)).unwrap();
    let (fa, fb, fc) = (files(&a.root), files(&b.root), files(&c.root));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (k, v) in &fa {
        assert!(*v == fb[k], "{k} differs between runs");
    }
    assert_ne!(fa, fc);
    assert!(
        generate(&a.root, &LeagueOptions::small(1)).is_err(),
        "refuses a non-empty folder"
    );
}

#[test]
fn the_install_holds_every_promised_case() {
    let dir = tempfile::tempdir().unwrap();
    let install = generate(&dir.path().join("g"), &LeagueOptions::small(4)).unwrap();
    let mut types = HashMap::new();
    let mut minors = HashMap::new();
    let mut gaps = 0;
    let mut out_of_order = 0;
    let mut shared_ranges = 0;
    let mut empty = 0;
    for w in &install.game.wads {
        let path = install.game_dir.join(&w.key);
        let toc = read_toc(&path).unwrap();
        *minors.entry(toc.minor).or_insert(0) += 1;
        if toc.entries.is_empty() {
            empty += 1;
            continue;
        }
        for e in &toc.entries {
            *types.entry(e.chunk_type).or_insert(0) += 1;
        }
        let mut by_offset = toc.entries.clone();
        by_offset.sort_by_key(|e| e.offset);
        if by_offset.iter().map(|e| e.path_hash).collect::<Vec<_>>()
            != toc.entries.iter().map(|e| e.path_hash).collect::<Vec<_>>()
        {
            out_of_order += 1;
        }
        gaps += by_offset
            .windows(2)
            .filter(|p| p[1].offset > p[0].offset && u64::from(p[1].offset) > p[0].end())
            .count();
        shared_ranges += by_offset
            .windows(2)
            .filter(|p| p[0].offset == p[1].offset)
            .count();
        if w.has_subchunk_toc() {
            assert!(
                toc.entries
                    .iter()
                    .any(|e| e.path_hash == subchunk_toc_hash(&w.key))
            );
        }
    }
    for t in [0u8, 3, 4] {
        assert!(types.get(&t).copied().unwrap_or(0) > 0, "type {t} present");
    }
    for m in 0..=4u8 {
        assert!(minors.contains_key(&m), "version 3.{m} present");
    }
    assert!(gaps > 0 && out_of_order > 0 && shared_ranges > 0 && empty >= 2);
    let shared: Vec<_> = install
        .game
        .wads
        .iter()
        .flat_map(|w| w.chunks.iter().filter(|c| c.shared))
        .collect();
    assert!(
        shared
            .iter()
            .any(|c| install.game.holders(c.hash).len() >= 2),
        "chunks shared across WADs"
    );
    assert!(
        install.game.wads.iter().any(|w| w.key.contains(".en_US.")),
        "localized WADs"
    );
    let kinds: Vec<ModFormat> = install.mods.iter().map(|m| m.format).collect();
    for f in [ModFormat::Folder, ModFormat::Fantome, ModFormat::Modpkg] {
        assert!(kinds.contains(&f));
    }
    assert!(install.mods.iter().any(|m| m.quirky));
    assert!(
        install.mods.iter().any(|m| m.edit.is_some()),
        "a folder mod touching one WAD, for edits"
    );
    let list = std::fs::read_to_string(&install.hash_list).unwrap();
    assert!(list.lines().count() > 500);
    assert!(
        list.lines()
            .all(|l| l.len() > 17 && l.as_bytes()[16] == b' ')
    );
    assert_eq!(install.legacy.len(), 5);
}
