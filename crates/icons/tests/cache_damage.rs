//! A small cache file truncated at every offset and with a bit flipped at every byte: each is
//! rejected (and rebuilt) or repaired on serve; the icons served are always the right ones.

mod common;

use std::path::{Path, PathBuf};

use modforge_core::Control;
use modforge_gen::nwn2::image::{Alpha, icon};
use modforge_gen::nwn2::tga::{self, TgaOptions, TgaPixels};
use modforge_icons::{
    IconCache, IconCacheOptions, IconScope, Lookup, SourceSpec, Sources, Validate,
};

fn setup(root: &Path) -> PathBuf {
    let dir = root.join("icons");
    std::fs::create_dir_all(&dir).unwrap();
    // Names one bit apart, so a flipped name byte could alias another icon.
    for (i, name) in ["icon_0", "icon_1", "icon_2", "icon_3"].iter().enumerate() {
        let p = icon(i as u64 + 100, 3 + i as u32, 2, Alpha::Soft);
        let o = TgaOptions {
            pixels: TgaPixels::Bgra32,
            rle: false,
            top_down: false,
            footer: false,
        };
        std::fs::write(dir.join(format!("{name}.tga")), tga::write(&p, o)).unwrap();
    }
    dir
}

fn options(icons: &Path, cache_dir: &Path, validate: Validate) -> IconCacheOptions {
    let mut o = IconCacheOptions::new(Sources::List(vec![
        SourceSpec::new(icons).with_icons(IconScope::All),
    ]));
    o.cache_dir = Some(cache_dir.to_path_buf());
    o.validate = validate;
    o.threads = Some(1);
    o
}

const NAMES: [&str; 4] = ["icon_0", "icon_1", "icon_2", "icon_3"];

fn served(cache: &IconCache) -> Vec<Vec<u8>> {
    NAMES
        .iter()
        .map(|n| {
            // The view path must agree with the copy path.
            let icon = cache
                .get_icon(n)
                .unwrap_or_else(|| panic!("{n} not served"));
            if let Lookup::Mapped { index, .. } = cache.find(n) {
                let view = cache.view();
                let e = view.entry(index).unwrap();
                let blob =
                    &view.blobs()[e.blob_off as usize..e.blob_off as usize + e.blob_len as usize];
                assert_eq!(blob, &icon.data[..], "{n}: view and copy differ");
            }
            icon.data.to_vec()
        })
        .collect()
}

/// Runs the cases on two threads; returns how many were repaired on serve and how many were
/// rejected or rebuilt at open (a generation other than the damaged one is served).
fn run_cases(
    image: &[u8],
    icons: &Path,
    want: &[Vec<u8>],
    cases: impl Iterator<Item = (String, Vec<u8>, Validate)> + Send,
) -> (u64, u64) {
    let work: Vec<(String, Vec<u8>, Validate)> = cases.collect();
    let half = work.len() / 2;
    let (a, b) = work.split_at(half);
    let repaired = std::sync::atomic::AtomicU64::new(0);
    let rebuilt = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for part in [a, b] {
            let (repaired, rebuilt) = (&repaired, &rebuilt);
            s.spawn(move || {
                for (what, bytes, validate) in part {
                    let dir = tempfile::tempdir().unwrap();
                    std::fs::write(dir.path().join("nwn2-icons.1.snap"), bytes).unwrap();
                    let cache =
                        IconCache::open(options(icons, dir.path(), *validate), &Control::default())
                            .unwrap_or_else(|e| panic!("{what}: {e}"));
                    assert_eq!(served(&cache), want, "{what}: a wrong icon was served");
                    let stats = cache.stats();
                    if stats.repaired > 0 {
                        repaired.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    if stats.generation != 1 {
                        rebuilt.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    cache.close();
                }
            });
        }
    });
    assert!(!image.is_empty());
    (repaired.into_inner(), rebuilt.into_inner())
}

#[test]
fn truncation_and_bit_flips_never_serve_a_wrong_icon() {
    let dir = tempfile::tempdir().unwrap();
    let icons = setup(dir.path());
    let cache_dir = dir.path().join("pristine");
    let pristine = IconCache::open(
        options(&icons, &cache_dir, Validate::None),
        &Control::default(),
    )
    .unwrap();
    let want = served(&pristine);
    drop(pristine);
    let image = std::fs::read(cache_dir.join("nwn2-icons.1.snap")).unwrap();
    assert!(image.len() < 4096, "a small cache: {} bytes", image.len());

    let truncations = (0..image.len()).map(|cut| {
        (
            format!("truncated at {cut}"),
            image[..cut].to_vec(),
            Validate::Blocking,
        )
    });
    let (_, rebuilt) = run_cases(&image, &icons, &want, truncations);
    assert_eq!(
        rebuilt,
        image.len() as u64,
        "every truncated file is rejected"
    );

    // Flips checked on serve only (no validation), then with full validation.
    let flips = (0..image.len()).flat_map(|at| {
        let mut b = image.clone();
        b[at] ^= 1 << (at % 8);
        [
            (
                format!("bit {} of byte {at}, unvalidated", at % 8),
                b.clone(),
                Validate::None,
            ),
            (
                format!("bit {} of byte {at}, validated", at % 8),
                b,
                Validate::Blocking,
            ),
        ]
    });
    let (repaired, rebuilt) = run_cases(&image, &icons, &want, flips);
    assert!(
        repaired > 0 && rebuilt > 0,
        "repaired {repaired}, rebuilt {rebuilt}"
    );
}
