//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use modforge_gen::nwn2::{InstallSpec, Manifest, generate};
use modforge_icons::{DiscoverOptions, IconCacheOptions, Sources};

/// `../shared/fixtures/icons` next to the repository.
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
