//! The edge cases and test vectors of docs/icons.md ("Test vectors"): ERF, ZIP, folder, GFF,
//! precedence, DDS, TGA and BC-block cases, with values asserted.

mod common;

use std::io::Write;
use std::path::Path;

use common::{Pf, close, dds_file, hex, pixels};
use modforge_core::Control;
use modforge_gen::nwn2::erf::{ErfOptions, ErfResource, write as erf};
use modforge_gen::nwn2::gff::{IfoField, module_ifo};
use modforge_icons::decode::{DdsFormat, dds_info, decode};
use modforge_icons::erf::Erf;
use modforge_icons::{
    DiscoverOptions, IconCache, IconCacheOptions, IconScope, IndexOptions, NameProblem, ResType,
    ResourceIndex, SourceSpec, Sources, Validate, discover,
};

fn res(name: &str, ty: u16, data: &[u8]) -> ErfResource {
    ErfResource {
        name: name.as_bytes().to_vec(),
        res_type: ty,
        data: data.to_vec(),
    }
}

fn parse(bytes: &[u8]) -> Result<Erf, modforge_icons::Error> {
    Erf::parse(bytes, "t.hak")
}

// ----- ERF -----

#[test]
fn erf_v11_full_32_byte_resref_is_read_whole() {
    let name = "ModuleDownloaderResources_ABCDEF";
    assert_eq!(name.len(), 32);
    let bytes = erf(&[res(name, 3, b"x")], &ErfOptions::default());
    let e = parse(&bytes).unwrap();
    assert_eq!(e.header.key_stride, 40);
    assert_eq!(e.entries[0].key.resref.as_str(), name.to_ascii_lowercase());
}

#[test]
fn erf_v11_premium_modules_keep_24_byte_keys() {
    let options = ErfOptions {
        v11_short_keys: true,
        ..ErfOptions::default()
    };
    let bytes = erf(
        &[res("Sixteen_Chars_Ab", 3, b"ab"), res("b", 10, b"c")],
        &options,
    );
    let e = parse(&bytes).unwrap();
    assert_eq!(e.header.key_stride, 24);
    let names: Vec<&str> = e.entries.iter().map(|x| x.key.resref.as_str()).collect();
    assert_eq!(names, ["sixteen_chars_ab", "b"]);
}

#[test]
fn erf_gap_of_32_per_entry_means_24_byte_keys_and_counts_are_capped() {
    let options = ErfOptions {
        v11_short_keys: true,
        key_padding: 2 * 8,
        ..ErfOptions::default()
    };
    let mut bytes = erf(&[res("a", 3, b"1"), res("b", 3, b"2")], &options);
    let e = parse(&bytes).unwrap();
    assert_eq!(e.header.key_stride, 24);
    assert_eq!(
        (e.header.offset_to_resources - e.header.offset_to_keys) / 2,
        32
    );
    assert_eq!(e.entries.len(), 2);
    bytes[16..20].copy_from_slice(&1_000_000u32.to_le_bytes());
    let err = parse(&bytes).unwrap_err();
    assert_eq!(err.code(), "format");
    assert!(
        matches!(err, modforge_icons::Error::Format { offset: 16, .. }),
        "{err}"
    );
}

#[test]
fn erf_tables_anywhere() {
    let description = b"test\nhttp://example.com\nThis is a description of a hak\0".to_vec();
    assert_eq!(description.len(), 55);
    let options = ErfOptions {
        v11: false,
        localized: vec![(0, description)],
        key_padding: 5,
        ..ErfOptions::default()
    };
    let bytes = erf(&[res("a", 10, b"one"), res("b", 10, b"two")], &options);
    let e = parse(&bytes).unwrap();
    assert_eq!(e.header.offset_to_keys, 0xDF);
    assert_eq!(
        e.localized[0].text(),
        "test\nhttp://example.com\nThis is a description of a hak"
    );
    assert_eq!(e.erf_read(&bytes, 1), b"two");
    let after = erf(
        &[res("a", 10, b"one"), res("b", 10, b"two")],
        &ErfOptions {
            tables_after_data: true,
            ..ErfOptions::default()
        },
    );
    let e = parse(&after).unwrap();
    assert_eq!(e.header.offset_to_keys, 160 + 6);
    assert_eq!(e.erf_read(&after, 0), b"one");
}

trait ReadBack {
    fn erf_read(&self, bytes: &[u8], i: usize) -> Vec<u8>;
}

impl ReadBack for Erf {
    fn erf_read(&self, bytes: &[u8], i: usize) -> Vec<u8> {
        self.read(bytes, &self.entries[i], "t").unwrap()
    }
}

#[test]
fn erf_wrapping_or_past_eof_entries_are_rejected_alone() {
    let mut bytes = erf(
        &[
            res("a", 10, b"one"),
            res("b", 10, b"two"),
            res("c", 10, b"three"),
        ],
        &ErfOptions::default(),
    );
    let res_list = u32::from_le_bytes(bytes[28..32].try_into().unwrap()) as usize;
    // Entry 0: offset + size wraps in u32.
    bytes[res_list..res_list + 4].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    bytes[res_list + 4..res_list + 8].copy_from_slice(&0x20u32.to_le_bytes());
    // Entry 2: ends one byte past the end.
    let len = bytes.len() as u32;
    let off = u32::from_le_bytes(bytes[res_list + 16..res_list + 20].try_into().unwrap());
    bytes[res_list + 20..res_list + 24].copy_from_slice(&(len - off + 1).to_le_bytes());
    let e = parse(&bytes).unwrap();
    assert_eq!(e.entries.len(), 1);
    assert_eq!(e.entries[0].key.resref.as_str(), "b");
    assert_eq!(e.rejected, 2);
    assert_eq!(e.warnings.len(), 2, "{:?}", e.warnings);
    assert!(e.warnings[0].contains("key 0") && e.warnings[1].contains("key 2"));
}

#[test]
fn erf_res_ids_zero_bytes_garbage_strref_and_wrong_loc_size() {
    let options = ErfOptions {
        res_ids: Some(vec![7, 1]),
        description_strref: u32::from_le_bytes(*b"ans "),
        localized: vec![(0, b"x".to_vec())],
        ..ErfOptions::default()
    };
    let mut bytes = erf(&[res("script1", 2009, b""), res("b", 10, b"2")], &options);
    bytes[12..16].copy_from_slice(&9999u32.to_le_bytes());
    let e = parse(&bytes).unwrap();
    assert_eq!(e.entries.len(), 2);
    assert_eq!(
        (e.entries[0].index, e.entries[0].res_id, e.entries[0].size),
        (0, 7, 0)
    );
    assert_eq!(e.header.description_strref, 0x2073_6E61);
    assert_eq!(e.header.localized_string_size, 9999);
    assert_eq!(e.localized[0].bytes, b"x");
    assert!(
        e.warnings.iter().any(|w| w.contains("ResID")),
        "{:?}",
        e.warnings
    );
    assert_eq!(e.erf_read(&bytes, 0), b"");
}

#[test]
fn erf_duplicate_keys_first_wins_both_listed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dup.hak");
    std::fs::write(
        &path,
        erf(
            &[res("Is_X", 3, b"first"), res("is_x", 3, b"second")],
            &ErfOptions::default(),
        ),
    )
    .unwrap();
    let index = ResourceIndex::open(
        &[SourceSpec::new(&path)],
        &IndexOptions::default(),
        &Control::default(),
    )
    .unwrap();
    assert_eq!(index.read("is_x", ResType::TGA).unwrap().unwrap(), b"first");
    let all = index.where_is("is_x").unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[0].winner && !all[1].winner);
    assert_eq!(index.read_location(&all[1]).unwrap(), b"second");
    assert_eq!(index.conflicts(None).len(), 1);
}

// ----- ZIP -----

fn patch_central(zip: &mut [u8], name: &str, flags: Option<u16>, method: Option<u16>) {
    let sig = [0x50, 0x4b, 0x01, 0x02];
    let mut at = 0;
    while let Some(pos) = zip[at..].windows(4).position(|w| w == sig) {
        let h = at + pos;
        let name_len = u16::from_le_bytes([zip[h + 28], zip[h + 29]]) as usize;
        if &zip[h + 46..h + 46 + name_len] == name.as_bytes() {
            if let Some(f) = flags {
                zip[h + 8..h + 10].copy_from_slice(&f.to_le_bytes());
            }
            if let Some(m) = method {
                zip[h + 10..h + 12].copy_from_slice(&m.to_le_bytes());
            }
            return;
        }
        at = h + 4;
    }
    panic!("{name} not in the central directory");
}

#[test]
fn zip_entries_folders_encryption_and_methods() {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.add_directory("Icons/", stored).unwrap();
    w.start_file("Icons/Sub/Foo.TGA", deflated).unwrap();
    w.write_all(b"tga bytes").unwrap();
    w.start_file("enc.tga", stored).unwrap();
    w.write_all(b"secret").unwrap();
    w.start_file("m12.tga", stored).unwrap();
    w.write_all(b"bzip").unwrap();
    w.start_file("readme.psd", stored).unwrap();
    w.write_all(b"?").unwrap();
    let mut bytes = w.finish().unwrap().into_inner();
    patch_central(&mut bytes, "enc.tga", Some(1), None);
    patch_central(&mut bytes, "m12.tga", None, Some(12));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.zip");
    std::fs::write(&path, &bytes).unwrap();
    let index = ResourceIndex::open(
        &[SourceSpec::new(&path)],
        &IndexOptions::default(),
        &Control::default(),
    )
    .unwrap();
    let stats = index.stats();
    assert_eq!(stats.resources, 1);
    assert_eq!(stats.unknown_types, 1);
    let foo = index.resolve("FOO", Some(ResType::TGA)).unwrap().unwrap();
    assert_eq!(
        (foo.resref.as_str(), foo.res_type, foo.entry.as_str()),
        ("foo", ResType(3), "Icons/Sub/Foo.TGA")
    );
    assert_eq!(
        index.read("foo", ResType::TGA).unwrap().unwrap(),
        b"tga bytes"
    );
    let w = index.warnings();
    assert!(
        w.iter()
            .any(|m| m.contains("enc.tga") && m.contains("encrypted")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|m| m.contains("m12.tga") && m.contains("method")),
        "{w:?}"
    );
    assert_eq!(w.len(), 2, "{w:?}");
}

// ----- folders -----

#[test]
fn folder_types_depth_and_bad_names() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let tga = modforge_gen::nwn2::tga::write(
        &modforge_gen::nwn2::image::icon(1, 8, 8, modforge_gen::nwn2::image::Alpha::Opaque),
        modforge_gen::nwn2::tga::TgaOptions {
            pixels: modforge_gen::nwn2::tga::TgaPixels::Bgr24,
            rle: false,
            top_down: false,
            footer: false,
        },
    );
    let dds = modforge_gen::nwn2::dds::write(
        &modforge_gen::nwn2::image::icon(2, 8, 8, modforge_gen::nwn2::image::Alpha::Opaque),
        modforge_gen::nwn2::dds::DdsPixels::Dxt1,
        false,
    );
    std::fs::write(root.join("IS_X.TGA"), &tga).unwrap();
    std::fs::write(root.join("is_x.dds"), &dds).unwrap();
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    std::fs::write(root.join("a/b/is_y.tga"), &tga).unwrap();
    std::fs::write(root.join("a/is_y.tga"), &tga).unwrap();
    std::fs::write(root.join(format!("{}.tga", "x".repeat(33))), &tga).unwrap();
    std::fs::write(root.join("é_x.tga"), &tga).unwrap();
    let spec = SourceSpec::new(root)
        .with_icons(IconScope::All)
        .labelled("dir");
    let index = ResourceIndex::open(
        std::slice::from_ref(&spec),
        &IndexOptions::default(),
        &Control::default(),
    )
    .unwrap();
    let x = index.where_is("is_x").unwrap();
    assert_eq!(x.len(), 2);
    assert!(x.iter().all(|l| l.winner), "one key per type");
    assert_eq!(
        index.resolve("is_x", None).unwrap().unwrap().res_type,
        ResType::DDS
    );
    assert_eq!(
        index
            .resolve("is_y", Some(ResType::TGA))
            .unwrap()
            .unwrap()
            .entry,
        "a/b/is_y.tga"
    );
    let skipped: Vec<(String, NameProblem)> = index
        .skipped_names()
        .iter()
        .map(|s| (s.name.clone(), s.problem))
        .collect();
    assert!(
        skipped.contains(&(format!("{}.tga", "x".repeat(33)), NameProblem::TooLong(33))),
        "{skipped:?}"
    );
    assert!(
        skipped.contains(&("é_x.tga".to_string(), NameProblem::NotAscii)),
        "{skipped:?}"
    );
    // The icon is the DDS (type preference inside one source).
    let cache = memory_cache(vec![spec]);
    let icon = cache.get_icon("is_x").unwrap();
    assert_eq!(icon.res_type, ResType::DDS);
    let report = cache.stats().last_build.unwrap();
    assert_eq!(report.icons, 2);
    assert_eq!(report.skipped_names.len(), 2);
}

fn memory_cache(sources: Vec<SourceSpec>) -> IconCache {
    let mut o = IconCacheOptions::new(Sources::List(sources));
    o.validate = Validate::None;
    IconCache::open(o, &Control::default()).unwrap()
}

// ----- GFF and discovery -----

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn hak_list_resolution_and_missing_haks() {
    let dir = tempfile::tempdir().unwrap();
    let (game, user) = (dir.path().join("game"), dir.path().join("user"));
    let hak = |name: &str| {
        erf(
            &[res(&format!("{name}_txt"), 10, b"x")],
            &ErfOptions::default(),
        )
    };
    write(&game.join("hak/a.hak"), &hak("a"));
    write(&user.join("hak/b.hak"), &hak("b"));
    let ifo = module_ifo(&[
        IfoField::Text("Mod_Tag", "m".into()),
        IfoField::HakList(vec!["a".into(), "".into(), "b".into(), "c".into()]),
    ]);
    assert_eq!(
        modforge_icons::gff::hak_list(&ifo, "module.ifo").unwrap(),
        ["a", "b", "c"]
    );
    write(
        &user.join("modules/m.mod"),
        &erf(
            &[res("module", 2014, &ifo)],
            &ErfOptions {
                file_type: *b"MOD ",
                ..ErfOptions::default()
            },
        ),
    );
    let d = discover(
        &game,
        &user,
        &DiscoverOptions {
            module: Some("m".into()),
            ..DiscoverOptions::default()
        },
    )
    .unwrap();
    let labels: Vec<&str> = d.found.iter().map(|f| f.label.as_str()).collect();
    assert_eq!(labels, ["hak/a", "hak/b", "module/m.mod"]);
    assert_eq!(d.found[0].path, game.join("hak/a.hak"));
    assert_eq!(d.found[0].entries, Some(1));
    assert_eq!(d.missing.len(), 1);
    assert_eq!(d.missing[0].what, "hak c");
    assert_eq!(
        d.missing[0].searched,
        [user.join("hak/c.hak"), game.join("hak/c.hak")]
    );
    assert!(
        d.warnings.iter().any(|w| w.contains("Data")),
        "{:?}",
        d.warnings
    );
    // Older NWN1 modules: one root Mod_Hak string.
    let old = module_ifo(&[IfoField::Text("Mod_Hak", "legacy".into())]);
    assert_eq!(
        modforge_icons::gff::hak_list(&old, "old.ifo").unwrap(),
        ["legacy"]
    );
    let none = module_ifo(&[IfoField::HakList(Vec::new())]);
    assert!(
        modforge_icons::gff::hak_list(&none, "none.ifo")
            .unwrap()
            .is_empty()
    );
}

// ----- precedence -----

fn tga_of(seed: u64) -> Vec<u8> {
    use modforge_gen::nwn2::{image, tga};
    tga::write(
        &image::icon(seed, 16, 16, image::Alpha::Opaque),
        tga::TgaOptions {
            pixels: tga::TgaPixels::Argb16 {
                attribute_all_zero: true,
            },
            rle: true,
            top_down: false,
            footer: false,
        },
    )
}

fn dds_of(seed: u64) -> Vec<u8> {
    use modforge_gen::nwn2::{dds, image};
    dds::write(
        &image::icon(seed, 32, 32, image::Alpha::Soft),
        dds::DdsPixels::Bc7,
        true,
    )
}

#[test]
fn precedence_cases() {
    let dir = tempfile::tempdir().unwrap();
    let (game, user) = (dir.path().join("game"), dir.path().join("user"));
    // Same icon in HAK b and HAK a: a (listed first) wins. A HAK TGA shadows a UI DDS.
    let hak = |seed| {
        erf(
            &[
                res("is_hak", 3, &tga_of(seed)),
                res("is_up", 3, &tga_of(seed + 10)),
            ],
            &ErfOptions::default(),
        )
    };
    write(&user.join("hak/a.hak"), &hak(1));
    write(&user.join("hak/b.hak"), &hak(2));
    let ifo = module_ifo(&[IfoField::HakList(vec!["a".into(), "b".into()])]);
    // DDS in the module vs TGA in the campaign: the campaign wins.
    write(
        &user.join("modules/m.mod"),
        &erf(
            &[res("module", 2014, &ifo), res("is_camp", 2033, &dds_of(3))],
            &ErfOptions {
                file_type: *b"MOD ",
                ..ErfOptions::default()
            },
        ),
    );
    write(&user.join("campaigns/c/is_camp.tga"), &tga_of(4));
    // TGA in the install override vs DDS in UI/default/icons: the TGA wins (source first, type second).
    write(&game.join("override/is_over.tga"), &tga_of(5));
    for name in ["is_over", "is_hak", "is_camp", "is_up", "is_plain"] {
        write(
            &game.join(format!("UI/default/icons/{name}.dds")),
            &dds_of(6),
        );
    }
    write(&game.join("UI/UPSCALED/Icons/is_up.dds"), &dds_of(7));
    let options = DiscoverOptions {
        module: Some("m".into()),
        campaign: Some("c".into()),
        workshop_dirs: Vec::new(),
    };
    let mut o = IconCacheOptions::new(Sources::Discover {
        game_dir: game.clone(),
        user_dir: user.clone(),
        options,
    });
    o.validate = Validate::Blocking;
    let cache = IconCache::open(o, &Control::default()).unwrap();
    let source = |n: &str| {
        let icon = cache.get_icon(n).unwrap();
        (icon.source, icon.res_type)
    };
    assert_eq!(source("is_hak"), ("hak/a".into(), ResType::TGA));
    assert_eq!(source("is_up"), ("hak/a".into(), ResType::TGA));
    assert_eq!(source("is_camp"), ("campaign/c".into(), ResType::TGA));
    assert_eq!(
        source("is_over"),
        ("override (install)".into(), ResType::TGA)
    );
    assert_eq!(source("is_plain"), ("ui/default".into(), ResType::DDS));
    let locations = cache.where_is("is_up").unwrap();
    let order: Vec<(&str, bool)> = locations
        .iter()
        .map(|l| (l.source.as_str(), l.winner))
        .collect();
    assert_eq!(
        order,
        [
            ("hak/a", true),
            ("hak/b", false),
            ("ui/upscaled", true),
            ("ui/default", false)
        ]
    );
    // Its pixels are the HAK's: a 16x16 16-bit TGA with all attribute bits 0, decoded opaque.
    let (w, h, rgba) = common::decode_webp(&cache.get_icon("is_up").unwrap().data);
    assert_eq!((w, h), (16, 16));
    assert!(rgba.chunks_exact(4).all(|p| p[3] == 255));
}

// ----- DDS -----

#[test]
fn dds_cube_volume_mip_count_and_pitch() {
    let face = |c: [u8; 4]| c.repeat(16);
    let mut data = Vec::new();
    for c in [
        [255, 0, 0, 255],
        [0, 255, 0, 255],
        [0, 0, 255, 255],
        [9, 9, 9, 255],
        [8, 8, 8, 255],
        [7, 7, 7, 255],
    ] {
        data.extend(face(c));
    }
    let cube = dds_file(4, 4, 1, Pf::Dx10(28, 3, 0x4, 6), &data);
    let img = decode(&cube, ResType::DDS, "cube.dds").unwrap();
    assert!(pixels(&img).iter().all(|p| *p == [255, 0, 0, 255]));
    let volume = dds_file(4, 4, 1, Pf::Dx10(28, 4, 0, 1), &data);
    assert_eq!(
        decode(&volume, ResType::DDS, "v.dds").unwrap_err().code(),
        "format"
    );
    let mut legacy_volume = dds_file(4, 4, 1, Pf::Dx10(28, 3, 0, 1), &data);
    legacy_volume[112..116].copy_from_slice(&0x20_0000u32.to_le_bytes());
    assert_eq!(
        decode(&legacy_volume, ResType::DDS, "v.dds")
            .unwrap_err()
            .code(),
        "format"
    );
    let mut zero_mips = dds_file(4, 4, 0, Pf::Dx10(28, 3, 0, 1), &face([1, 2, 3, 4]));
    zero_mips[8..12].copy_from_slice(&(0x1007u32 | 0x2_0000).to_le_bytes());
    assert_eq!(dds_info(&zero_mips, "z").unwrap().mip_count, 1);
    zero_mips[20..24].copy_from_slice(&12_345u32.to_le_bytes());
    assert_eq!(
        pixels(&decode(&zero_mips, ResType::DDS, "z").unwrap())[0],
        [1, 2, 3, 4]
    );
}

#[test]
fn dds_bgra8_first_row_channel_order() {
    let bytes = common::fixture("dds_test_rgba.dds");
    assert_eq!(bytes.len(), 87_508);
    let img = decode(&bytes, ResType::DDS, "dds_test_rgba.dds").unwrap();
    assert_eq!((img.width, img.height), (128, 128));
    let row: Vec<[u8; 4]> = pixels(&img)[..128].to_vec();
    assert_eq!(
        &row[..4],
        &[
            [255, 0, 0, 255],
            [0, 255, 0, 255],
            [0, 0, 255, 255],
            [255, 255, 255, 255]
        ]
    );
    assert_eq!(row[4], [255, 255, 255, 0], "then alpha 0");
    // The same channel order from a generated BGRA8 file.
    let picture = modforge_gen::nwn2::image::Picture {
        width: 2,
        height: 1,
        rgba: vec![255, 0, 0, 255, 0, 0, 255, 128],
    };
    let generated =
        modforge_gen::nwn2::dds::write(&picture, modforge_gen::nwn2::dds::DdsPixels::Bgra8, false);
    assert_eq!(
        pixels(&decode(&generated, ResType::DDS, "g").unwrap()),
        [[255, 0, 0, 255], [0, 0, 255, 128]]
    );
}

#[test]
fn dds_dxt5_and_bgra8_of_one_picture_agree() {
    let exact = decode(&common::fixture("dds_test_rgba.dds"), ResType::DDS, "a").unwrap();
    let dxt5 = decode(
        &common::fixture("dds_test_rgba_dxt5.dds"),
        ResType::DDS,
        "b",
    )
    .unwrap();
    let mut sum = [0u64; 3];
    for (a, b) in exact
        .pixels
        .chunks_exact(4)
        .zip(dxt5.pixels.chunks_exact(4))
    {
        for c in 0..3 {
            sum[c] += u64::from(a[c].abs_diff(b[c]));
        }
        assert_eq!(a[3], b[3], "alpha is equal");
    }
    for s in sum {
        let mean = s as f64 / (128.0 * 128.0);
        assert!((2.0..3.0).contains(&mean), "mean abs error {mean}");
    }
}

#[test]
fn dds_truncation_inside_mip0_fails_inside_mip3_decodes() {
    let bytes = common::fixture("dds_test_rgba_dxt5.dds");
    let mip0_end = 128 + 32 * 32 * 16;
    let err = decode(&bytes[..mip0_end - 1], ResType::DDS, "t").unwrap_err();
    assert_eq!(err.code(), "format");
    let mip3_inside = mip0_end + 4096 + 1024 + 100;
    let full = decode(&bytes, ResType::DDS, "t").unwrap();
    assert_eq!(
        decode(&bytes[..mip3_inside], ResType::DDS, "t").unwrap(),
        full
    );
}

#[test]
fn dds_sizes_of_the_format_table() {
    assert_eq!(
        DdsFormat::Bc3 {
            premultiplied: false
        }
        .image_bytes(128, 128),
        16_384
    );
    let chain = |f: DdsFormat, w: u32, n: u32| {
        (0..n)
            .map(|i| f.image_bytes((w >> i).max(1), (w >> i).max(1)))
            .sum::<u64>()
    };
    assert_eq!(
        chain(
            DdsFormat::Bc3 {
                premultiplied: false
            },
            128,
            8
        ),
        21_872
    );
    assert_eq!(chain(DdsFormat::Bc1, 512, 10), 174_776);
    assert_eq!(
        chain(
            DdsFormat::Bc2 {
                premultiplied: false
            },
            64,
            7
        ),
        5_488
    );
}

#[test]
fn nwn1_bioware_dds_is_refused_clearly() {
    for name in ["black.dds", "bioRGBA.dds"] {
        let err = decode(&common::fixture(name), ResType::DDS, name).unwrap_err();
        assert_eq!(err.code(), "format");
        assert!(err.to_string().contains("BioWare"), "{err}");
    }
}

// ----- TGA -----

#[test]
fn tga_vectors() {
    let red = [255, 0, 0, 255];
    let green = [0, 255, 0, 255];
    let blue = [0, 0, 255, 255];
    let v1 = hex("00 00 0a 00 00 00 00 00 00 00 00 00 03 00 02 00 10 01 83 00 7c 01 e0 03 1f 00");
    let img = decode(&v1, ResType::TGA, "v1").unwrap();
    assert_eq!((img.width, img.height), (3, 2));
    assert_eq!(pixels(&img), [red, green, blue, red, red, red]);
    let v2 = hex("00 00 0a 00 00 00 00 00 00 00 00 00 03 00 02 00 10 01 83 00 7c 01 e0 83 1f 00");
    let t = |c: [u8; 4]| [c[0], c[1], c[2], 0];
    assert_eq!(
        pixels(&decode(&v2, ResType::TGA, "v2").unwrap()),
        [t(red), green, t(blue), t(red), t(red), t(red)]
    );
    let v3 = hex("00 00 02 00 00 00 00 00 00 00 00 00 02 00 01 00 20 28 00 00 ff 80 ff 00 00 ff");
    assert_eq!(
        pixels(&decode(&v3, ResType::TGA, "v3").unwrap()),
        [[255, 0, 0, 128], [0, 0, 255, 255]]
    );
    let v4 = hex("00 01 01 00 00 02 00 18 00 00 00 00 02 00 01 00 08 20 ff 00 00 00 00 ff 01 00");
    assert_eq!(
        pixels(&decode(&v4, ResType::TGA, "v4").unwrap()),
        [red, [0, 0, 255, 255]]
    );
}

#[test]
fn tga_refusals() {
    let ok = hex("00 00 02 00 00 00 00 00 00 00 00 00 01 00 01 00 18 00 01 02 03");
    assert!(decode(&ok, ResType::TGA, "ok").is_ok());
    let mut no_image = ok.clone();
    no_image[2] = 0;
    assert!(
        decode(&no_image, ResType::TGA, "t")
            .unwrap_err()
            .to_string()
            .contains("image type 0")
    );
    let mut zero_width = ok.clone();
    zero_width[12] = 0;
    assert_eq!(
        decode(&zero_width, ResType::TGA, "t").unwrap_err().code(),
        "format"
    );
    let mut interleaved = ok.clone();
    interleaved[17] = 0x40;
    assert_eq!(
        decode(&interleaved, ResType::TGA, "t").unwrap_err().code(),
        "format"
    );
    // A packet running past the last pixel.
    let over = hex("00 00 0a 00 00 00 00 00 00 00 00 00 01 00 01 00 18 00 81 01 02 03");
    assert!(
        decode(&over, ResType::TGA, "t")
            .unwrap_err()
            .to_string()
            .contains("packet")
    );
    // Too large: Limit.
    let mut huge = ok.clone();
    huge[12..14].copy_from_slice(&20_000u16.to_le_bytes());
    assert_eq!(
        decode(&huge, ResType::TGA, "t").unwrap_err().code(),
        "limit"
    );
    // Garbage colour-map fields with map type 0 are ignored.
    let mut garbage = ok.clone();
    garbage[3..8].copy_from_slice(&[204, 0, 204, 0, 204]);
    assert!(decode(&garbage, ResType::TGA, "t").is_ok());
}

// ----- BC blocks and masks -----

fn block_image(pf: Pf, w: u32, h: u32, data: &str) -> Vec<[u8; 4]> {
    pixels(&decode(&dds_file(w, h, 1, pf, &hex(data)), ResType::DDS, "block").unwrap())
}

#[test]
fn bc1_four_and_three_colour_blocks() {
    let four = block_image(Pf::FourCc(b"DXT1"), 4, 4, "00 f8 1f 00 e4 e4 e4 e4");
    for row in four.chunks(4) {
        close(row[0], [255, 0, 0, 255], 1, "p0");
        close(row[1], [0, 0, 255, 255], 1, "p1");
        close(row[2], [170, 0, 85, 255], 1, "p2");
        close(row[3], [85, 0, 170, 255], 1, "p3");
    }
    let three = block_image(Pf::FourCc(b"DXT1"), 4, 4, "1f 00 00 f8 e4 e4 e4 e4");
    for row in three.chunks(4) {
        assert_eq!(row[0], [0, 0, 255, 255]);
        assert_eq!(row[1], [255, 0, 0, 255]);
        assert!(
            matches!(row[2], [127 | 128, 0, 127 | 128, 255]),
            "{:?}",
            row[2]
        );
        assert_eq!(row[3], [0, 0, 0, 0]);
    }
}

#[test]
fn bc3_alpha_levels() {
    let img = block_image(
        Pf::FourCc(b"DXT5"),
        4,
        4,
        "ff 00 88 c6 fa 00 00 00 ff ff 00 00 00 00 00 00",
    );
    let alpha: Vec<u8> = img.iter().map(|p| p[3]).collect();
    let want = [
        255, 0, 218, 182, 145, 109, 72, 36, 255, 255, 255, 255, 255, 255, 255, 255,
    ];
    for (a, w) in alpha.iter().zip(want) {
        assert!(a.abs_diff(w) <= 1, "{alpha:?}");
    }
}

#[test]
fn bc1_cropped_to_five_by_three() {
    let img = decode(
        &dds_file(
            5,
            3,
            1,
            Pf::FourCc(b"DXT1"),
            &hex("00 f8 1f 00 e4 e4 e4 e4 e0 07 00 00 00 00 00 00"),
        ),
        ResType::DDS,
        "b",
    )
    .unwrap();
    assert_eq!((img.width, img.height, img.pixels.len()), (5, 3, 60));
    assert_eq!(img.pixel(4, 0), Some([0, 255, 0, 255]));
    close(img.pixel(0, 2).unwrap(), [255, 0, 0, 255], 1, "(0,2)");
}

#[test]
fn bc7_mode6_block() {
    let img = block_image(
        Pf::Dx10(98, 3, 0, 1),
        4,
        4,
        "40 32 59 26 cb 64 fe 7f 00 00 00 00 00 00 00 00",
    );
    assert!(img.iter().all(|p| *p == [200, 100, 50, 254]), "{img:?}");
}

#[test]
fn uncompressed_masks() {
    let one = |flags, bits, masks, data| block_image(Pf::Masks(flags, bits, masks), 1, 1, data)[0];
    assert_eq!(
        one(0x40, 16, [0xF800, 0x07E0, 0x001F, 0], "1f f8"),
        [255, 0, 255, 255]
    );
    assert_eq!(
        one(0x41, 16, [0x7C00, 0x03E0, 0x001F, 0x8000], "ff 7f"),
        [255, 255, 255, 0]
    );
    assert_eq!(
        one(0x41, 16, [0x0F00, 0x00F0, 0x000F, 0xF000], "0f 8f"),
        [255, 0, 255, 136]
    );
    assert_eq!(
        one(0x2_0000, 8, [0xFF, 0, 0, 0], "80"),
        [128, 128, 128, 255]
    );
    assert_eq!(
        one(
            0x41,
            32,
            [0xFF_0000, 0xFF00, 0xFF, 0xFF00_0000],
            "00 00 ff 80"
        ),
        [255, 0, 0, 128]
    );
    // X1R5G5B5 and X4R4G4B4 (no alpha flag), A8L8, A8, 24-bit BGR.
    assert_eq!(
        one(0x40, 16, [0x7C00, 0x03E0, 0x001F, 0], "1f 80"),
        [0, 0, 255, 255]
    );
    assert_eq!(
        one(0x40, 16, [0x0F00, 0x00F0, 0x000F, 0], "f0 0f"),
        [255, 255, 0, 255]
    );
    assert_eq!(
        one(0x2_0001, 16, [0xFF, 0, 0, 0xFF00], "40 80"),
        [64, 64, 64, 128]
    );
    assert_eq!(one(0x2, 8, [0, 0, 0, 0xFF], "33"), [0, 0, 0, 0x33]);
    assert_eq!(
        one(0x40, 24, [0xFF_0000, 0xFF00, 0xFF, 0], "01 02 03"),
        [3, 2, 1, 255]
    );
}
