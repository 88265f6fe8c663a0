//! A generated install with every mod format and quirk: the overlay's invariants (docs/overlay.md,
//! "Output layout"), and the skip that follows.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::{tree, wad_contents};
use modforge_core::Control;
use modforge_gen::league::{LeagueOptions, generate};
use modforge_overlay::wad::{header_checksum, read_toc};
use modforge_overlay::{BuildOptions, BuildRequest, ModSpec, build_overlay};

#[test]
fn overlay_of_a_generated_install_keeps_every_invariant_and_then_skips() {
    let dir = tempfile::tempdir().unwrap();
    let install = generate(&dir.path().join("gen"), &LeagueOptions::small(7)).unwrap();
    let mods: Vec<ModSpec> = install
        .mods
        .iter()
        .map(|m| ModSpec {
            id: m.id.clone(),
            path: m.path.clone(),
            layers: None,
        })
        .collect();
    let request = BuildRequest {
        game_dir: install.game_dir.clone(),
        overlay_dir: dir.path().join("overlay"),
        state_dir: dir.path().join("state"),
        mods,
        options: BuildOptions::default(),
    };
    let r = build_overlay(&request, &Control::default()).unwrap();
    assert!(!r.skipped);
    assert!(!r.built.is_empty());
    assert!(r.stats.mod_bytes_read > 0);
    assert!(r.peak_bytes_read > 0);
    let codes: Vec<&str> = r.warnings.iter().map(|w| w.code.as_str()).collect();
    for code in [
        "ZIP_CRC_IGNORED",
        "WAD_NAME_FALLBACK",
        "IGNORED_FOLDER",
        "SUBCHUNKTOC_OVERRIDE_DROPPED",
    ] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    assert!(!r.conflicts.is_empty());

    for key in &r.built {
        let out = request.overlay_dir.join(key);
        let src = install.game_dir.join(key);
        let toc = read_toc(&out).unwrap();
        let stoc = read_toc(&src).unwrap();
        assert_eq!((toc.major, toc.minor), (3, 4));
        assert_eq!(
            toc.signature_v3(),
            stoc.signature_v3(),
            "{key}: signature is the source's"
        );
        assert!(
            toc.entries
                .windows(2)
                .all(|w| w[0].path_hash < w[1].path_hash),
            "{key}: sorted unique TOC"
        );
        let expect = header_checksum(toc.entries.iter().map(|e| (e.path_hash, e.checksum)));
        assert_eq!(
            toc.checksum,
            Some(expect),
            "{key}: computed header checksum"
        );
        let bytes = std::fs::read(&out).unwrap();
        let sbytes = std::fs::read(&src).unwrap();
        let ours: HashMap<u64, _> = toc.entries.iter().map(|e| (e.path_hash, *e)).collect();
        let overridden: Vec<u64> = {
            let state: modforge_overlay::State = serde_json::from_slice(
                &std::fs::read(request.state_dir.join("overlay-state.json")).unwrap(),
            )
            .unwrap();
            state.wad_layouts[key]
                .overrides
                .keys()
                .map(|h| u64::from_str_radix(h, 16).unwrap())
                .collect()
        };
        for se in &stoc.entries {
            let e = ours[&se.path_hash];
            if overridden.contains(&se.path_hash) {
                assert_eq!((e.subchunk_count, e.subchunk_index), (0, 0));
                assert!(matches!(e.chunk_type, 0 | 3));
                continue;
            }
            assert_eq!(
                (
                    e.chunk_type,
                    e.size,
                    e.packed_size,
                    e.subchunk_count,
                    e.subchunk_index
                ),
                (
                    se.chunk_type,
                    se.size,
                    se.packed_size,
                    se.subchunk_count,
                    se.subchunk_index
                ),
                "{key}"
            );
            if stoc.minor >= 1 {
                assert_eq!(e.checksum, se.checksum);
            }
            assert_eq!(
                &bytes[e.offset as usize..e.end() as usize],
                &sbytes[se.offset as usize..se.end() as usize],
                "{key}: pass-through bytes"
            );
        }
        for e in &toc.entries {
            assert!(e.end() <= bytes.len() as u64);
            assert_eq!(
                xxhash_rust::xxh3::xxh3_64(&bytes[e.offset as usize..e.end() as usize]),
                e.checksum,
                "{key}: {:016x}",
                e.path_hash
            );
        }
        // Every entry decodes.
        let contents = wad_contents(&out);
        assert_eq!(contents.len(), toc.entries.len());
    }

    let before: BTreeMap<String, Vec<u8>> = tree(&request.overlay_dir);
    let again = build_overlay(&request, &Control::default()).unwrap();
    assert!(again.skipped);
    assert_eq!(again.stats.mod_bytes_read, 0);
    assert_eq!(again.peak_bytes_read, 0);
    assert!(again.built.is_empty());
    assert_eq!(again.reused.len(), r.built.len() + r.reused.len());
    assert_eq!(again.conflicts, r.conflicts);
    assert_eq!(tree(&request.overlay_dir), before);
}
