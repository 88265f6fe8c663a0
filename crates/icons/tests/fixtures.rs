//! Every interop file of the icon fixture folder (files written by other projects), indexed and
//! decoded, with the facts its README states; pixels compared with independent decoders (`image` for TGA, `dds` for DDS, and small
//! reference decoders written here).

mod common;

use modforge_core::Control;
use modforge_icons::decode::{DdsFormat, dds_info, decode};
use modforge_icons::encode::{EncodeSettings, encode_icon};
use modforge_icons::erf::{Erf, ErfVersion};
use modforge_icons::{IconScope, IndexOptions, ResType, ResourceIndex, SourceSpec};
use sha2::{Digest, Sha256};

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An ERF key list read directly from the bytes (independent of the crate's reader):
/// (name, ResID, type, offset, size).
fn raw_keys(d: &[u8], stride: usize) -> Vec<(String, u32, u16, u32, u32)> {
    let u32_at = |at: usize| u32::from_le_bytes(d[at..at + 4].try_into().unwrap());
    let (count, keys, res) = (
        u32_at(16) as usize,
        u32_at(24) as usize,
        u32_at(28) as usize,
    );
    (0..count)
        .map(|i| {
            let k = &d[keys + i * stride..keys + (i + 1) * stride];
            let n = stride - 8;
            let name = String::from_utf8(k[..n].iter().take_while(|&&b| b != 0).copied().collect())
                .unwrap();
            let id = u32::from_le_bytes(k[n..n + 4].try_into().unwrap());
            let ty = u16::from_le_bytes(k[n + 4..n + 6].try_into().unwrap());
            (name, id, ty, u32_at(res + i * 8), u32_at(res + i * 8 + 4))
        })
        .collect()
}

fn check_erf_against_raw(name: &str, stride: u64) -> Erf {
    let bytes = common::fixture(name);
    let erf = Erf::parse(bytes.as_slice(), name).unwrap();
    assert_eq!(erf.header.key_stride, stride, "{name}");
    let raw = raw_keys(&bytes, stride as usize);
    assert_eq!(erf.entries.len(), raw.len(), "{name}");
    for (e, r) in erf.entries.iter().zip(&raw) {
        assert_eq!(e.key.resref.as_str(), r.0.to_ascii_lowercase());
        assert_eq!(
            (e.res_id, e.key.res_type.0, e.offset, e.size),
            (r.1, r.2, r.3, r.4)
        );
    }
    assert!(erf.warnings.is_empty(), "{name}: {:?}", erf.warnings);
    erf
}

#[test]
fn every_fixture_is_indexed() {
    let dir = common::fixtures();
    let spec = SourceSpec::new(&dir).with_icons(IconScope::All);
    let index =
        ResourceIndex::open(&[spec], &IndexOptions::default(), &Control::default()).unwrap();
    let stats = index.stats();
    // 2 HAKs, 2 modules, 7 DDS, 3 TGA; the two licence files have no NWN2 extension.
    assert_eq!(stats.resources, 14);
    assert_eq!(stats.unknown_types, 2);
    assert_eq!(stats.source_errors, 0);
    assert_eq!(
        index
            .resolve("test", Some(ResType(2061)))
            .unwrap()
            .unwrap()
            .size,
        8974
    );
    assert_eq!(
        index
            .resolve("dockerdemo", Some(ResType(2011)))
            .unwrap()
            .unwrap()
            .entry,
        "DockerDemo.mod"
    );
    // Every ERF fixture as a source of its own.
    let archives: Vec<SourceSpec> = [
        "hak_with_description.hak",
        "test.hak",
        "module.mod",
        "DockerDemo.mod",
    ]
    .iter()
    .map(|n| SourceSpec::new(dir.join(n)))
    .collect();
    let index =
        ResourceIndex::open(&archives, &IndexOptions::default(), &Control::default()).unwrap();
    let counts: Vec<u32> = index.sources().iter().map(|s| s.entries).collect();
    assert_eq!(counts, [1, 2, 8, 14]);
    assert!(index.sources().iter().all(|s| s.error.is_none()));
}

#[test]
fn hak_with_description() {
    let bytes = common::fixture("hak_with_description.hak");
    assert_eq!(bytes.len(), 325);
    assert!(sha256(&bytes).starts_with("a889d97c"));
    let erf = check_erf_against_raw("hak_with_description.hak", 24);
    let h = &erf.header;
    assert_eq!((&h.file_type, h.version), (b"HAK ", ErfVersion::V10));
    assert_eq!(
        (h.language_count, h.localized_string_size, h.entry_count),
        (1, 63, 1)
    );
    assert_eq!(
        (
            h.offset_to_localized,
            h.offset_to_keys,
            h.offset_to_resources
        ),
        (0xA0, 0xDF, 0xF7)
    );
    assert_eq!((h.build_year, h.build_day), (122, 57));
    assert_eq!(h.description_strref.to_le_bytes(), *b"ans ");
    assert_eq!(erf.localized.len(), 1);
    assert_eq!(erf.localized[0].language, 0);
    assert_eq!(erf.localized[0].bytes.len(), 55);
    assert_eq!(
        erf.localized[0].text(),
        "test\nhttp://example.com\nThis is a description of a hak"
    );
    let e = erf.entries[0];
    assert_eq!(
        (
            e.key.resref.as_str(),
            e.res_id,
            e.key.res_type,
            e.offset,
            e.size
        ),
        ("build", 0, ResType::TXT, 255, 70)
    );
    let data = erf.read(bytes.as_slice(), &e, "h").unwrap();
    assert!(data.starts_with(b"5dba8eca"), "{:?}", &data[..8]);
    assert!(data.ends_with(b"EDT 2021\n"));
    assert_eq!(255 + 70, bytes.len());
    let path = common::fixtures().join("hak_with_description.hak");
    let spec = SourceSpec::new(&path).with_icons(IconScope::All);
    let index = ResourceIndex::open(
        std::slice::from_ref(&spec),
        &IndexOptions::default(),
        &Control::default(),
    )
    .unwrap();
    assert_eq!(index.where_is("build").unwrap().len(), 1);
    let mut o = modforge_icons::IconCacheOptions::new(modforge_icons::Sources::List(vec![spec]));
    o.validate = modforge_icons::Validate::None;
    let cache = modforge_icons::IconCache::open(o, &Control::default()).unwrap();
    assert!(cache.names().is_empty(), "no icon in it");
}

/// 16-bit RLE TGA reference: A1R5G5B5 widened, attribute bit ignored when 0 everywhere.
fn reference_tga16_rle(d: &[u8]) -> (u32, u32, Vec<u8>) {
    let w = u16::from_le_bytes([d[12], d[13]]) as usize;
    let h = u16::from_le_bytes([d[14], d[15]]) as usize;
    let mut values = Vec::new();
    let mut at = 18 + d[0] as usize;
    while values.len() < w * h {
        let head = d[at];
        at += 1;
        let n = (head & 0x7F) as usize + 1;
        if head & 0x80 != 0 {
            let v = u16::from_le_bytes([d[at], d[at + 1]]);
            values.extend(std::iter::repeat_n(v, n));
            at += 2;
        } else {
            for k in 0..n {
                values.push(u16::from_le_bytes([d[at + 2 * k], d[at + 2 * k + 1]]));
            }
            at += 2 * n;
        }
    }
    let any_alpha = values.iter().any(|v| v & 0x8000 != 0);
    let widen = |v: u16| ((v << 3) | (v >> 2)) as u8;
    let top_first = d[17] & 0x20 != 0;
    let mut out = vec![0u8; w * h * 4];
    for (i, v) in values.iter().enumerate() {
        let (row, x) = (i / w, i % w);
        let y = if top_first { row } else { h - 1 - row };
        let a = if !any_alpha || v & 0x8000 != 0 {
            255
        } else {
            0
        };
        out[(y * w + x) * 4..(y * w + x) * 4 + 4].copy_from_slice(&[
            widen((v >> 10) & 31),
            widen((v >> 5) & 31),
            widen(v & 31),
            a,
        ]);
    }
    (w as u32, h as u32, out)
}

#[test]
fn nwn2_hak_v11_with_a_16_bit_rle_icon() {
    let bytes = common::fixture("test.hak");
    let erf = check_erf_against_raw("test.hak", 40);
    assert_eq!(erf.header.version, ErfVersion::V11);
    let names: Vec<(&str, u16)> = erf
        .entries
        .iter()
        .map(|e| (e.key.resref.as_str(), e.key.res_type.0))
        .collect();
    assert_eq!(names, [("eye", 3), ("test", 10)]);
    let eye = erf.read(bytes.as_slice(), &erf.entries[0], "eye").unwrap();
    assert!(eye.ends_with(b"TRUEVISION-XFILE.\0"));
    assert_eq!(
        (eye[2], eye[16], eye[17] & 0x0F),
        (10, 16, 1),
        "type 10, 16 bpp, one alpha bit"
    );
    let img = decode(&eye, ResType::TGA, "eye.tga").unwrap();
    let (w, h, reference) = reference_tga16_rle(&eye);
    assert_eq!((img.width, img.height), (256, 256));
    assert_eq!((w, h), (256, 256));
    assert_eq!(img.pixels, reference);
    assert!(img.is_opaque(), "attribute bits all 0: opaque");
}

#[test]
fn nwn2_module_v11() {
    let bytes = common::fixture("module.mod");
    let erf = check_erf_against_raw("module.mod", 40);
    assert_eq!(
        (&erf.header.file_type, erf.header.version),
        (b"MOD ", ErfVersion::V11)
    );
    assert_eq!(erf.localized.len(), 11);
    assert_eq!(erf.header.localized_string_size, 106);
    assert_eq!(erf.localized[0].text(), "module description");
    let languages: Vec<u32> = erf.localized.iter().map(|l| l.language).collect();
    assert_eq!(languages, [0, 1, 2, 3, 4, 5, 6, 128, 129, 130, 131]);
    assert_eq!(erf.entries.len(), 8);
    let zero = erf.entries.iter().find(|e| e.size == 0).unwrap();
    assert_eq!(zero.key.resref.as_str(), "script1");
    let next = erf.entries[zero.index as usize + 1];
    assert_eq!(zero.offset, next.offset);
    assert!(
        erf.entries
            .iter()
            .any(|e| e.key.resref.as_str() == "moduledownloaderresources")
    );
    let path = common::fixtures().join("module.mod");
    let index = ResourceIndex::open(
        &[SourceSpec::new(&path)],
        &IndexOptions::default(),
        &Control::default(),
    )
    .unwrap();
    let module = index.where_is("module").unwrap();
    let types: Vec<(u16, bool)> = module.iter().map(|l| (l.res_type.0, l.winner)).collect();
    assert_eq!(types, [(2014, true), (2056, true)], "ifo and jrl coexist");
    assert_eq!(index.read("script1", ResType(2009)).unwrap().unwrap(), b"");
    let haks = modforge_icons::discover::read_module_haks(&path).unwrap();
    assert!(haks.is_empty(), "{haks:?}");
    assert_eq!(bytes.len(), 26_546);
}

#[test]
fn nwn1_module_with_padded_key_list() {
    let erf = check_erf_against_raw("DockerDemo.mod", 24);
    assert_eq!(erf.header.version, ErfVersion::V10);
    assert_eq!(erf.entries.len(), 14);
    assert_eq!(
        (erf.header.offset_to_resources - erf.header.offset_to_keys) / 14,
        32
    );
    assert!(
        erf.entries
            .iter()
            .any(|e| e.key.resref.as_str() == "repute"),
        "mixed case lower-cased"
    );
    let path = common::fixtures().join("DockerDemo.mod");
    let index = ResourceIndex::open(
        &[SourceSpec::new(&path)],
        &IndexOptions::default(),
        &Control::default(),
    )
    .unwrap();
    let mut start: Vec<u16> = index
        .where_is("START")
        .unwrap()
        .iter()
        .map(|l| l.res_type.0)
        .collect();
    start.sort_unstable();
    assert_eq!(start, [2012, 2023, 2046]);
    assert!(index.resolve("Repute.fac", None).unwrap().is_some());
    let haks = modforge_icons::discover::read_module_haks(&path).unwrap();
    assert!(haks.len() <= 1, "{haks:?}");
}

/// BC2 reference decoder with plain 8-bit interpolation (the README's checksum is of this).
fn reference_dxt3(d: &[u8], w: usize, h: usize) -> Vec<u8> {
    let widen = |c: u16| {
        let (r, g, b) = ((c >> 11) as u32, ((c >> 5) & 63) as u32, (c & 31) as u32);
        [
            (r << 3) | (r >> 2),
            (g << 2) | (g >> 4),
            (b << 3) | (b >> 2),
        ]
    };
    let mut out = vec![0u8; w * h * 4];
    for (i, block) in d[128..128 + (w / 4) * (h / 4) * 16].chunks(16).enumerate() {
        let (bx, by) = (i % (w / 4), i / (w / 4));
        let alpha = u64::from_le_bytes(block[..8].try_into().unwrap());
        let c0 = widen(u16::from_le_bytes([block[8], block[9]]));
        let c1 = widen(u16::from_le_bytes([block[10], block[11]]));
        let idx = u32::from_le_bytes(block[12..16].try_into().unwrap());
        let palette = [
            c0,
            c1,
            [0, 1, 2].map(|c| (2 * c0[c] + c1[c]) / 3),
            [0, 1, 2].map(|c| (c0[c] + 2 * c1[c]) / 3),
        ];
        for t in 0..16 {
            let p = palette[((idx >> (2 * t)) & 3) as usize];
            let a = ((alpha >> (4 * t)) & 15) as u8 * 17;
            let (x, y) = (bx * 4 + t % 4, by * 4 + t / 4);
            out[(y * w + x) * 4..(y * w + x) * 4 + 4]
                .copy_from_slice(&[p[0] as u8, p[1] as u8, p[2] as u8, a]);
        }
    }
    out
}

#[test]
fn dxt3_fixture() {
    let bytes = common::fixture("dxtRBG.dds");
    assert_eq!(bytes.len(), 5_616);
    assert!(sha256(&bytes).starts_with("75c4ad4d"));
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!(
        (u32_at(8), u32_at(20), u32_at(80), u32_at(108)),
        (0x000A_1007, 4096, 0x4, 0x40_1008)
    );
    assert_eq!(&bytes[84..88], b"DXT3");
    let info = dds_info(&bytes, "dxtRBG.dds").unwrap();
    assert_eq!((info.width, info.height, info.mip_count), (64, 64, 7));
    assert_eq!(
        info.format,
        DdsFormat::Bc2 {
            premultiplied: false
        }
    );
    let chain: u64 = (0..7)
        .map(|i| info.format.image_bytes((64 >> i).max(1), (64 >> i).max(1)))
        .sum();
    assert_eq!(chain + 128, 5_616);
    let reference = reference_dxt3(&bytes, 64, 64);
    assert_eq!(
        sha256(&reference),
        "fe03f4c6d05dafdd2620b788a6dc58100cd37934e1ea300eb3b99fc3fcde739d"
    );
    let img = decode(&bytes, ResType::DDS, "dxtRBG.dds").unwrap();
    for (a, b) in img.pixels.chunks_exact(4).zip(reference.chunks_exact(4)) {
        common::close(
            [a[0], a[1], a[2], a[3]],
            [b[0], b[1], b[2], b[3]],
            1,
            "dxtRBG",
        );
    }
    let at = |x, y| img.pixel(x, y).unwrap();
    assert!(
        img.pixels.chunks_exact(4).all(|p| p[3] == 255),
        "all alpha nibbles 15"
    );
    assert_eq!(at(0, 0), [255, 255, 255, 255]);
    assert_eq!(at(31, 31), [255, 255, 255, 255]);
    assert_eq!(at(50, 3), [0, 255, 0, 255]);
    common::close(at(50, 12), [0, 127, 0, 255], 1, "(50,12)");
    assert_eq!(at(5, 40), [255, 0, 255, 255]);
    assert_eq!(at(5, 60), [0, 0, 255, 255]);
    common::close(at(60, 60), [0, 1, 0, 255], 1, "(60,60)");
    assert_eq!(at(40, 40), [0, 0, 0, 255]);
}

fn dds_oracle(bytes: &[u8]) -> Vec<u8> {
    let mut decoder = dds::Decoder::new(std::io::Cursor::new(bytes)).unwrap();
    let size = decoder.main_size();
    let mut data = vec![0u8; size.pixels() as usize * 4];
    let view = dds::ImageViewMut::new(&mut data, size, dds::ColorFormat::RGBA_U8).unwrap();
    decoder.read_surface(view).unwrap();
    data
}

#[test]
fn dds_fixtures_match_the_dds_crate() {
    for (name, w, h, mips, tol) in [
        ("dds_test_rgba.dds", 128, 128, 8, 0),
        ("dds_test_rgba_dxt5.dds", 128, 128, 8, 1),
        ("PLC_MC_Auril.dds", 512, 512, 10, 1),
    ] {
        let bytes = common::fixture(name);
        let info = dds_info(&bytes, name).unwrap();
        assert_eq!(
            (info.width, info.height, info.mip_count),
            (w, h, mips),
            "{name}"
        );
        let ours = decode(&bytes, ResType::DDS, name).unwrap();
        let oracle = dds_oracle(&bytes);
        assert_eq!(ours.pixels.len(), oracle.len());
        for (a, b) in ours.pixels.chunks_exact(4).zip(oracle.chunks_exact(4)) {
            common::close(
                [a[0], a[1], a[2], a[3]],
                [b[0], b[1], b[2], b[3]],
                tol,
                name,
            );
        }
    }
    assert_eq!(common::fixture("PLC_MC_Auril.dds").len(), 174_904);
    assert_eq!(common::fixture("dds_test_rgba_dxt5.dds").len(), 22_000);
    // L8: the oracle decodes luminance as red; ours as grey.
    let bytes = common::fixture("dds_test_grayscale.dds");
    let ours = decode(&bytes, ResType::DDS, "grey").unwrap();
    assert_eq!((ours.width, ours.height), (128, 128));
    let raw = &bytes[128..128 + 128 * 128];
    for (p, &l) in ours.pixels.chunks_exact(4).zip(raw) {
        assert_eq!(p, [l, l, l, 255]);
    }
    let oracle = dds_oracle(&bytes);
    for (p, o) in ours.pixels.chunks_exact(4).zip(oracle.chunks_exact(4)) {
        assert_eq!(p[0], o[0]);
    }
}

fn image_oracle(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Tga)
        .unwrap()
        .to_rgba8();
    (img.width(), img.height(), img.into_raw())
}

#[test]
fn tga_fixtures_match_the_image_crate() {
    let black = common::fixture("black.tga");
    assert_eq!(black.len(), 272);
    assert!(sha256(&black).starts_with("e6b5def5"));
    assert_eq!((black[1], black[2], black[16], black[17]), (0, 2, 24, 0));
    assert_eq!(
        (u16::from_le_bytes([black[3], black[4]]), black[7]),
        (204, 204),
        "garbage map fields"
    );
    assert!(black.ends_with(b"TRUEVISION-XFILE.\0"));
    let img = decode(&black, ResType::TGA, "black.tga").unwrap();
    assert_eq!((img.width, img.height), (8, 8));
    assert!(common::pixels(&img).iter().all(|p| *p == [0, 0, 0, 255]));
    assert_eq!(
        sha256(&img.pixels),
        "2c893cd47b6757133987906e00c55e6dcce3c567b9df9e7f91ffecd3604cc6a6"
    );
    let enc = encode_icon(img.clone(), &EncodeSettings::default(), "black").unwrap();
    let (w, h, back) = common::decode_webp(&enc.webp);
    assert_eq!(
        (w, h, back),
        (8, 8, img.pixels.clone()),
        "lossless round trip"
    );

    for (name, w, h) in [
        ("qfpp_001_L.tga", 128, 256),
        ("c_drgshad_wing.tga", 64, 64),
        ("black.tga", 8, 8),
    ] {
        let bytes = common::fixture(name);
        let ours = decode(&bytes, ResType::TGA, name).unwrap();
        let (ow, oh, oracle) = image_oracle(&bytes);
        assert_eq!((ours.width, ours.height), (w, h), "{name}");
        assert_eq!((ow, oh), (w, h));
        assert_eq!(ours.pixels, oracle, "{name}");
    }
    let wing = decode(&common::fixture("c_drgshad_wing.tga"), ResType::TGA, "w").unwrap();
    let alphas: std::collections::BTreeSet<u8> =
        wing.pixels.chunks_exact(4).map(|p| p[3]).collect();
    assert!(alphas.len() > 10, "graded alpha: {alphas:?}");
    let rle = common::fixture("qfpp_001_L.tga");
    assert_eq!((rle[2], rle[16], rle[17] & 0x20), (10, 24, 0));
    assert!(!rle.ends_with(b"TRUEVISION-XFILE.\0"));
}

#[test]
fn bioware_dds_fixtures_are_refused() {
    for name in ["black.dds", "bioRGBA.dds"] {
        let bytes = common::fixture(name);
        assert_ne!(&bytes[..4], b"DDS ");
        let err = decode(&bytes, ResType::DDS, name).unwrap_err();
        assert!(
            matches!(err, modforge_icons::Error::Format { offset: 0, .. }),
            "{err}"
        );
    }
    let bio = common::fixture("bioRGBA.dds");
    assert_eq!(u32::from_le_bytes(bio[..4].try_into().unwrap()), 64);
    assert_eq!(u32::from_le_bytes(bio[8..12].try_into().unwrap()), 4);
}
