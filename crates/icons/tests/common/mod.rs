//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use modforge_gen::nwn2::{InstallSpec, Manifest, generate};
use modforge_icons::{DiscoverOptions, IconCacheOptions, Sources};

/// The interop fixture folder for icons, kept beside the repository (written by other projects).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/icons")
}

/// Reads one interop fixture.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Generates the small install into a fresh temp folder.
pub fn small_install(seed: u64) -> (tempfile::TempDir, Manifest) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("nwn2");
    let manifest = generate(&root, &InstallSpec::small(seed)).unwrap();
    (dir, manifest)
}

/// Discovery options for a generated install.
pub fn discover_options(m: &Manifest) -> DiscoverOptions {
    DiscoverOptions {
        module: Some(m.module.clone()),
        campaign: Some(m.campaign.clone()),
        workshop_dirs: vec![m.workshop_root.clone()],
    }
}

/// Cache options over a generated install.
pub fn cache_options(m: &Manifest, cache_dir: Option<PathBuf>) -> IconCacheOptions {
    let mut o = IconCacheOptions::new(Sources::Discover {
        game_dir: m.game_dir.clone(),
        user_dir: m.user_dir.clone(),
        options: discover_options(m),
    });
    o.cache_dir = cache_dir;
    o.threads = Some(2);
    o
}

/// Decodes a WebP blob to (width, height, RGBA8) with `image-webp`'s decoder.
pub fn decode_webp(data: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut d = image_webp::WebPDecoder::new(std::io::Cursor::new(data)).unwrap();
    let (w, h) = d.dimensions();
    let mut buf = vec![0u8; d.output_buffer_size().unwrap()];
    d.read_image(&mut buf).unwrap();
    if d.has_alpha() {
        (w, h, buf)
    } else {
        (
            w,
            h,
            buf.chunks_exact(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect(),
        )
    }
}

/// A DDS pixel format for [`dds_file`].
pub enum Pf {
    /// A FourCC code.
    FourCc(&'static [u8; 4]),
    /// Uncompressed: flags, bit count, R, G, B, A masks.
    Masks(u32, u32, [u32; 4]),
    /// DX10 extension: DXGI format, resource dimension, misc flag, array size.
    Dx10(u32, u32, u32, u32),
}

/// A DDS header (and DX10 extension) followed by `data`.
pub fn dds_file(width: u32, height: u32, mips: u32, pf: Pf, data: &[u8]) -> Vec<u8> {
    let mut h = [0u32; 31];
    h[0] = 124;
    h[1] = 0x1 | 0x2 | 0x4 | 0x1000 | if mips > 0 { 0x2_0000 } else { 0 };
    h[2] = height;
    h[3] = width;
    h[6] = mips;
    h[18] = 32;
    let mut dx10 = None;
    match pf {
        Pf::FourCc(code) => {
            h[19] = 0x4;
            h[20] = u32::from_le_bytes(*code);
        }
        Pf::Masks(flags, bits, masks) => {
            h[19] = flags;
            h[21] = bits;
            h[22..26].copy_from_slice(&masks);
        }
        Pf::Dx10(format, dim, misc, array) => {
            h[19] = 0x4;
            h[20] = u32::from_le_bytes(*b"DX10");
            dx10 = Some([format, dim, misc, array, 0]);
        }
    }
    h[26] = 0x1000;
    let mut out = b"DDS ".to_vec();
    for v in h {
        out.extend_from_slice(&v.to_le_bytes());
    }
    if let Some(ext) = dx10 {
        for v in ext {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out.extend_from_slice(data);
    out
}

/// Hex text to bytes (spaces ignored).
pub fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// RGBA pixels of a decoded image as 4-byte arrays.
pub fn pixels(img: &modforge_icons::decode::Rgba) -> Vec<[u8; 4]> {
    img.pixels
        .chunks_exact(4)
        .map(|p| [p[0], p[1], p[2], p[3]])
        .collect()
}

/// Asserts two colours are equal within `tol` per channel.
pub fn close(a: [u8; 4], b: [u8; 4], tol: u8, what: &str) {
    for c in 0..4 {
        assert!(a[c].abs_diff(b[c]) <= tol, "{what}: {a:?} vs {b:?}");
    }
}
