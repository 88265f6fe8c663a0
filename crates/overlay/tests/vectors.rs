//! The writer vectors of docs/overlay.md ("Output layout", "State file"): source S and overlays
//! A and B' byte for byte, through the whole builder with no TOC slack.

mod common;

use common::{Scene, spec};
use modforge_overlay::hash::path_hash;
use modforge_overlay::wad::{WadImage, read_toc};
use modforge_overlay::{BuildOptions, State};
use sha2::{Digest, Sha256};

const KEY: &str = "DATA/FINAL/Champions/Aatrox.wad.client";
const B: &[u8] = b"BKHD\x04\x00\x00\x00wxyz";

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn source(scene: &Scene) {
    let path = scene.game_wad(KEY, &[("data/a.bin", b"hello", 0)]);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 309);
    assert_eq!(
        u64::from_le_bytes(bytes[260..268].try_into().unwrap()),
        0x073d1d007fae68f5
    );
    assert_eq!(&bytes[304..309], b"hello");
    assert_eq!(
        sha(&bytes),
        "b9bd6f9ccc35ff04bc93969e3d384d8c48b132fac3627cd2c81b4312a5e7f78f"
    );
}

fn no_slack() -> BuildOptions {
    BuildOptions {
        toc_slack: 0,
        ..BuildOptions::default()
    }
}

#[test]
fn vector_a_new_wwise_override() {
    let scene = Scene::new();
    source(&scene);
    let m = scene.folder_mod(
        "a",
        &[("base", 0)],
        &[("base", "Aatrox.wad.client", "assets/sounds/x.bnk", B)],
    );
    let r = scene.build_with(vec![spec("mod-a", &m)], no_slack());
    assert_eq!(r.built, vec![KEY.to_owned()]);
    let out = std::fs::read(scene.overlay_wad(KEY)).unwrap();
    assert_eq!(out.len(), 353);
    let toc = read_toc(&scene.overlay_wad(KEY)).unwrap();
    let rows: Vec<(u64, u32, u32, u8)> = toc
        .entries
        .iter()
        .map(|e| (e.path_hash, e.offset, e.packed_size, e.chunk_type))
        .collect();
    assert_eq!(
        rows,
        vec![
            (0x152d887203df4615, 341, 12, 0),
            (0xb15dea5ecb650b0b, 336, 5, 0)
        ]
    );
    assert_eq!(&out[336..341], b"hello");
    assert_eq!(&out[341..353], B);
    assert_eq!(toc.checksum, Some(0x67414c4984bf70ca));
    assert_eq!(
        toc.signature.as_deref(),
        Some(&(0..=255u8).collect::<Vec<_>>()[..])
    );
    assert_eq!(
        sha(&out),
        "1d7b484881aa2bd94e9999b0e513616391f2d647b9694a6679e7e456c528556a"
    );

    let state: State =
        serde_json::from_slice(&std::fs::read(scene.state().join("overlay-state.json")).unwrap())
            .unwrap();
    let layout = &state.wad_layouts[KEY];
    assert_eq!(
        (
            layout.region_start,
            layout.region_end,
            layout.data_region_offset,
            layout.offset_delta,
            layout.tail_offset,
            layout.toc_capacity,
            layout.len
        ),
        (304, 309, 336, 32, 341, 2, 353)
    );
    assert_eq!(layout.source.len, 309);
    let rec = layout.overrides["152d887203df4615"];
    assert_eq!(
        (rec.content, rec.checksum),
        (0x1596eaf52536a7a4, 0x1596eaf52536a7a4)
    );
    assert_eq!(state.wad_fingerprints[KEY].0, 0x2fad9a6ddba962f1);
    assert!(state.dirty_wads.is_empty());
    let text = String::from_utf8(std::fs::read(scene.state().join("overlay-state.json")).unwrap())
        .unwrap();
    assert!(
        text.contains("\"2fad9a6ddba962f1\""),
        "u64 values are hex strings"
    );
    assert!(text.starts_with("{\n"), "pretty JSON");
}

#[test]
fn vector_b_prime_replaced_entry() {
    let scene = Scene::new();
    source(&scene);
    let m = scene.folder_mod(
        "b",
        &[("base", 0)],
        &[("base", "Aatrox.wad.client", "data/a.bin", B)],
    );
    scene.build_with(vec![spec("mod-b", &m)], no_slack());
    let out = std::fs::read(scene.overlay_wad(KEY)).unwrap();
    assert_eq!(out.len(), 321);
    let toc = read_toc(&scene.overlay_wad(KEY)).unwrap();
    assert_eq!(toc.entries.len(), 1);
    let e = toc.entries[0];
    assert_eq!(
        (e.path_hash, e.offset, e.packed_size, e.size, e.chunk_type),
        (path_hash("data/a.bin"), 309, 12, 12, 0)
    );
    assert_eq!(
        &out[304..309],
        b"hello",
        "the replaced original stays in the region, unreferenced"
    );
    assert_eq!(toc.checksum, Some(0x10e733bf530ceead));
    assert_eq!(
        sha(&out),
        "e1026923fbcb096f72373d6bd773503f89906d3cab206fb226e85f0c2742a540"
    );
}

#[test]
fn empty_table_header_checksum() {
    let bytes = WadImage {
        major: 3,
        minor: 4,
        signature: Vec::new(),
        checksum: None,
        entries: Vec::new(),
        toc_capacity: 0,
    }
    .header_and_toc()
    .unwrap();
    assert_eq!(
        u64::from_le_bytes(bytes[260..268].try_into().unwrap()),
        0x89538eb8a2a63061
    );
}
