//! The icon cache: warm opens, the view path, serving, contact sheets, memory fallback,
//! incremental rebuilds with exact reuse counts, repairs, persistence of on-demand icons,
//! failures, cancellation and progress.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use modforge_core::{Cancel, Control, Progress, Stage};
use modforge_gen::nwn2::image::{Alpha, icon};
use modforge_gen::nwn2::tga::{self, TgaOptions, TgaPixels};
use modforge_gen::nwn2::{Place, erf, gff};
use modforge_icons::{
    CacheStats, EncodeSettings, FLAG_ON_DEMAND, IconCache, IconCacheOptions, IconScope, Lookup,
    RebuildOptions, SheetFormat, SheetOptions, SourceSpec, Sources, Validate, ValidationState,
    examine_payload, respond,
};

const TGA32: TgaOptions = TgaOptions {
    pixels: TgaPixels::Bgra32,
    rle: false,
    top_down: false,
    footer: false,
};

/// A folder of `n` small TGA icons; returns its path.
fn icon_dir(root: &Path, n: u32, size: u32) -> PathBuf {
    let dir = root.join("icons");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..n {
        let alpha = if i % 2 == 0 {
            Alpha::Soft
        } else {
            Alpha::Opaque
        };
        let p = icon(u64::from(i), size + i % 5, size, alpha);
        std::fs::write(dir.join(format!("is_{i:03}.tga")), tga::write(&p, TGA32)).unwrap();
    }
    dir
}

fn dir_options(icons: &Path, cache_dir: Option<PathBuf>, validate: Validate) -> IconCacheOptions {
    let mut o = IconCacheOptions::new(Sources::List(vec![
        SourceSpec::new(icons)
            .with_icons(IconScope::All)
            .labelled("icons"),
    ]));
    o.cache_dir = cache_dir;
    o.validate = validate;
    o.threads = Some(2);
    o
}

fn open(o: IconCacheOptions) -> IconCache {
    IconCache::open(o, &Control::default()).unwrap()
}

fn all_icons(cache: &IconCache) -> Vec<(String, Vec<u8>)> {
    cache
        .names()
        .into_iter()
        .map(|n| {
            let bytes = cache.get_icon(&n).unwrap().data.to_vec();
            (n, bytes)
        })
        .collect()
}

fn snaps(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn cold_then_warm_open_serves_the_same_mapped_generation() {
    let dir = tempfile::tempdir().unwrap();
    let icons = icon_dir(dir.path(), 12, 16);
    let cache_dir = dir.path().join("cache");
    let first = open(dir_options(
        &icons,
        Some(cache_dir.clone()),
        Validate::Blocking,
    ));
    let s = first.stats();
    assert_eq!(
        (s.generation, s.icons, s.mapped, s.memory_only),
        (1, 12, true, false)
    );
    assert_eq!(s.validation, ValidationState::Fresh);
    let report = s.last_build.unwrap();
    assert_eq!(
        (
            report.icons,
            report.encoded,
            report.reused,
            report.persisted
        ),
        (12, 12, 0, true)
    );
    let want = all_icons(&first);
    drop(first);
    assert_eq!(snaps(&cache_dir), ["nwn2-icons.1.snap"]);

    for validate in [Validate::Blocking, Validate::Background, Validate::None] {
        let warm = open(dir_options(&icons, Some(cache_dir.clone()), validate));
        warm.wait_idle();
        let s = warm.stats();
        assert_eq!((s.generation, s.mapped), (1, true), "{validate:?}");
        assert!(s.last_build.is_none(), "no rebuild on a warm open");
        let expected = match validate {
            Validate::None => ValidationState::Skipped,
            _ => ValidationState::Validated,
        };
        assert_eq!(s.validation, expected);
        assert_eq!(all_icons(&warm), want);
        assert_eq!(
            s.path.as_deref(),
            Some(cache_dir.join("nwn2-icons.1.snap").as_path())
        );
    }
    assert_eq!(snaps(&cache_dir), ["nwn2-icons.1.snap"]);

    // Deferred: nothing runs until it is started; then it validates as Background does.
    let deferred = open(dir_options(
        &icons,
        Some(cache_dir.clone()),
        Validate::Deferred,
    ));
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(deferred.stats().validation, ValidationState::Pending);
    assert_eq!(all_icons(&deferred), want);
    deferred.start_validation();
    deferred.wait_idle();
    assert_eq!(deferred.stats().validation, ValidationState::Validated);
    // Closed before it was started: it never starts.
    let closed = open(dir_options(
        &icons,
        Some(cache_dir.clone()),
        Validate::Deferred,
    ));
    closed.close();
    closed.start_validation();
    closed.wait_idle();
    assert_eq!(closed.stats().validation, ValidationState::Pending);
}

#[test]
fn view_path_matches_get_icon() {
    let dir = tempfile::tempdir().unwrap();
    let icons = icon_dir(dir.path(), 9, 12);
    let cache = open(dir_options(
        &icons,
        Some(dir.path().join("c")),
        Validate::None,
    ));
    let view = cache.view();
    assert!(view.is_mapped());
    assert_eq!(view.entries().len(), 9 * modforge_icons::ENTRY_LEN);
    assert_eq!(
        view.payload().get(view.entries_range()).unwrap(),
        view.entries()
    );
    assert_eq!(
        view.payload().get(view.blobs_range()).unwrap(),
        view.blobs()
    );
    for name in cache.names() {
        let Lookup::Mapped { generation, index } = cache.find(&name.to_uppercase()) else {
            panic!("{name} not mapped");
        };
        assert_eq!(generation, view.generation());
        let e = view.entry(index).unwrap();
        let blob = &view.blobs()[e.blob_off as usize..e.blob_off as usize + e.blob_len as usize];
        let icon = cache.get_icon(&format!("{name}.webp")).unwrap();
        assert_eq!(blob, &icon.data[..]);
        assert_eq!(
            (u32::from(e.width), u32::from(e.height)),
            (icon.width, icon.height)
        );
        assert_eq!(e.blob_hash, icon.blob_hash);
        assert_eq!(view.source_label(e.source_id), Some("icons"));
        assert_eq!(e.flags & FLAG_ON_DEMAND, 0);
        assert_eq!(xxhash_rust::xxh3::xxh3_64(blob), e.blob_hash);
    }
    assert_eq!(cache.find("nope"), Lookup::Missing);
    assert_eq!(cache.find("../x"), Lookup::Missing);

    // Blob windows: from the asked start to 1 MiB further or the end of `blobs`, never short of
    // the asked end, relative to the payload; a range outside `blobs` has none.
    let blobs = view.blobs_range();
    let len = blobs.len() as u64;
    assert!(len < modforge_icons::BLOB_WINDOW);
    assert_eq!(view.blob_window(0, 0), Some(blobs.clone()));
    assert_eq!(view.blob_window(3, 5), Some(blobs.start + 3..blobs.end));
    assert_eq!(view.blob_window(len, len), Some(blobs.end..blobs.end));
    assert_eq!(view.blob_window(0, len + 1), None);
    assert_eq!(view.blob_window(5, 3), None);
    assert_eq!(view.blob_window(u64::MAX, u64::MAX), None);
}

#[test]
fn serve_statuses_and_caching() {
    let dir = tempfile::tempdir().unwrap();
    let icons = icon_dir(dir.path(), 3, 8);
    let cache = open(dir_options(&icons, None, Validate::None));
    let icon = cache.get_icon("is_001").unwrap();
    let first = respond(&cache, "GET", "/icons/is_001.webp", "icons", None);
    assert_eq!(first.status, 200);
    assert_eq!(first.header("content-type"), Some("image/webp"));
    assert_eq!(
        first.header("Content-Length"),
        Some(icon.data.len().to_string().as_str())
    );
    assert_eq!(first.header("ETag"), Some(icon.etag().as_str()));
    assert_eq!(first.header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(first.header("Cache-Control"), Some("no-cache"));
    assert_eq!(&first.body.unwrap()[..], &icon.data[..]);
    let again = respond(
        &cache,
        "GET",
        "/icons/is_001.webp",
        "icons",
        Some(&icon.etag()),
    );
    assert_eq!((again.status, again.body.is_none()), (304, true));
    assert_eq!(
        respond(&cache, "GET", "/icons/is_001", "icons", Some("W/\"0\", *")).status,
        304
    );
    let url = cache.icon_url("is_001", "icons").unwrap();
    assert_eq!(url, format!("/icons/is_001.webp?v={}", icon.version()));
    let versioned = respond(&cache, "GET", &url, "icons", None);
    assert_eq!(
        versioned.header("Cache-Control"),
        Some("public, max-age=31536000, immutable")
    );
    let stale = respond(
        &cache,
        "GET",
        "/icons/is_001.webp?v=00000000",
        "icons",
        None,
    );
    assert_eq!(stale.header("Cache-Control"), Some("no-cache"));
    let head = respond(&cache, "HEAD", "/icons/is_001.webp", "icons", None);
    assert_eq!((head.status, head.body.is_none()), (200, true));
    assert_eq!(
        head.header("Content-Length"),
        Some(icon.data.len().to_string().as_str())
    );
    assert_eq!(
        respond(&cache, "GET", "/icons/../x", "icons", None).status,
        400
    );
    assert_eq!(
        respond(&cache, "GET", "/icons/a%2F..", "icons", None).status,
        400
    );
    let post = respond(&cache, "POST", "/icons/is_001.webp", "icons", None);
    assert_eq!(
        (post.status, post.header("Allow")),
        (405, Some("GET, HEAD"))
    );
    assert_eq!(
        respond(&cache, "GET", "/icons/unknown.webp", "icons", None).status,
        404
    );
    assert_eq!(
        respond(&cache, "GET", "/other/is_001.webp", "icons", None).status,
        404
    );
}

#[test]
fn contact_sheet_decodes_back() {
    let dir = tempfile::tempdir().unwrap();
    let icons = icon_dir(dir.path(), 5, 10);
    let cache = open(dir_options(&icons, None, Validate::None));
    let sheet = cache
        .contact_sheet(&SheetOptions {
            cell: Some(16),
            ..SheetOptions::default()
        })
        .unwrap();
    assert_eq!(sheet.mime, "image/png");
    // 5 icons: 3 columns, 2 rows of 16 px cells with 2 px padding.
    assert_eq!(
        (sheet.width, sheet.height),
        (3 * 16 + 4 * 2, 2 * 16 + 3 * 2)
    );
    assert_eq!(sheet.cells.len(), 5);
    let decoded = image::load_from_memory(&sheet.data).unwrap().to_rgba8();
    assert_eq!(
        (decoded.width(), decoded.height()),
        (sheet.width, sheet.height)
    );
    for cell in &sheet.cells {
        let icon = cache.get_icon(&cell.name).unwrap();
        assert_eq!(
            (cell.w, cell.h),
            (icon.width, icon.height),
            "never enlarged"
        );
        let (w, _, px) = common::decode_webp(&icon.data);
        // The icon's opaque centre is drawn as is.
        let (cx, cy) = (cell.w / 2, cell.h / 2);
        let src = &px[((cy * w + cx) * 4) as usize..((cy * w + cx) * 4 + 4) as usize];
        let dst = decoded.get_pixel(cell.x + cx, cell.y + cy).0;
        assert_eq!(src[3], 255);
        assert_eq!(&dst[..3], &src[..3], "{}", cell.name);
    }
    // The checkerboard shows in the padding.
    assert_eq!(decoded.get_pixel(0, 0).0, [204, 204, 204, 255]);
    assert_eq!(decoded.get_pixel(8, 0).0, [255, 255, 255, 255]);
    let webp = cache
        .contact_sheet(&SheetOptions {
            names: Some(vec!["is_004".into(), "missing".into(), "is_000".into()]),
            format: SheetFormat::WebP,
            columns: Some(1),
            ..SheetOptions::default()
        })
        .unwrap();
    assert_eq!(webp.mime, "image/webp");
    let names: Vec<&str> = webp.cells.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["is_004", "is_000"]);
    let (w, h, _) = common::decode_webp(&webp.data);
    assert_eq!((w, h), (webp.width, webp.height));
    assert_eq!((w, h), (64 + 4, 2 * 64 + 6));
}

#[test]
fn unwritable_cache_folder_falls_back_to_memory() {
    let dir = tempfile::tempdir().unwrap();
    let icons = icon_dir(dir.path(), 4, 8);
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let cache = open(dir_options(
        &icons,
        Some(blocker.join("cache")),
        Validate::Background,
    ));
    let s = cache.stats();
    assert!(s.memory_only && !s.mapped);
    assert_eq!(s.icons, 4);
    assert!(
        s.warnings.iter().any(|w| w.contains("kept in memory")),
        "{:?}",
        s.warnings
    );
    assert!(!s.last_build.unwrap().persisted);
    assert!(cache.get_icon("is_002").is_some());
}

fn touch(path: &Path) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    f.set_modified(later).unwrap();
}

fn report(cache: &IconCache) -> (u64, u64, u64) {
    let r = cache.stats().last_build.unwrap();
    (r.icons, r.encoded, r.reused)
}

#[test]
fn incremental_rebuilds_re_encode_only_what_changed() {
    let (_dir, m) = common::small_install(21);
    let cache_dir = tempfile::tempdir().unwrap();
    let options = || common::cache_options(&m, Some(cache_dir.path().to_path_buf()));
    let cache = IconCache::open(options(), &Control::default()).unwrap();
    let total = m.icons.len() as u64;
    assert_eq!(report(&cache), (total, total, 0));
    let control = Control::default();

    // Nothing changed.
    let r = cache.rebuild(RebuildOptions::default(), &control).unwrap();
    assert_eq!(
        (r.icons, r.encoded, r.reused, r.generation),
        (total, 0, total, 2)
    );

    // Touching one HAK: its icons are read again, their bytes are unchanged: nothing re-encoded.
    touch(&m.user_dir.join("hak/bench_a.hak"));
    let r = cache.rebuild(RebuildOptions::default(), &control).unwrap();
    assert_eq!((r.encoded, r.reused), (0, total));

    // One icon file replaced by another picture: exactly one re-encode.
    let (name, winner) = m
        .icons
        .iter()
        .find(|(_, p)| p.place == Place::UiDefault)
        .unwrap();
    let path = m.game_dir.join("UI/default").join(&winner.entry);
    std::fs::write(&path, tga::write(&icon(999, 20, 20, Alpha::Soft), TGA32)).unwrap();
    let r = cache.rebuild(RebuildOptions::default(), &control).unwrap();
    assert_eq!((r.encoded, r.reused), (1, total - 1));
    assert_eq!(cache.get_icon(name).unwrap().width, 20);

    // Force: everything.
    let r = cache
        .rebuild(RebuildOptions { force: true }, &control)
        .unwrap();
    assert_eq!((r.encoded, r.reused), (total, 0));

    // The HAK list reordered (c, b, a): icons whose winner moves to another HAK are re-encoded.
    let reordered: Vec<String> = m.haks.iter().rev().cloned().collect();
    let rank = |p: &Place| match p {
        Place::Hak(_, h) => (0, reordered.iter().position(|x| x == h).unwrap()),
        _ => (1, 0),
    };
    let mut moved = 0;
    for (n, winner) in &m.icons {
        if let Place::Hak(..) = winner.place {
            let places = &m.placements[n];
            let best = places
                .iter()
                .filter(|p| matches!(p.place, Place::Hak(..)))
                .min_by_key(|p| rank(&p.place))
                .unwrap();
            if best.place != winner.place {
                moved += 1;
            }
        }
    }
    assert!(moved > 0);
    let ifo = gff::module_ifo(&[
        gff::IfoField::Text("Mod_Tag", "bench".into()),
        gff::IfoField::ResRef("Mod_Entry_Area", "area001".into()),
        gff::IfoField::HakList(reordered.clone()),
    ]);
    let module = m.user_dir.join("modules/bench.mod");
    let bytes = std::fs::read(&module).unwrap();
    let parsed = modforge_icons::erf::Erf::parse(bytes.as_slice(), "bench.mod").unwrap();
    let resources: Vec<erf::ErfResource> = parsed
        .entries
        .iter()
        .map(|e| erf::ErfResource {
            name: e.key.resref.as_str().as_bytes().to_vec(),
            res_type: e.key.res_type.0,
            data: if e.key.res_type.0 == 2014 {
                ifo.clone()
            } else {
                parsed.read(bytes.as_slice(), e, "m").unwrap()
            },
        })
        .collect();
    std::fs::write(
        &module,
        erf::write(
            &resources,
            &erf::ErfOptions {
                file_type: *b"MOD ",
                ..erf::ErfOptions::default()
            },
        ),
    )
    .unwrap();
    let r = cache.rebuild(RebuildOptions::default(), &control).unwrap();
    assert_eq!((r.encoded, r.reused), (moved, total - moved));
    assert_eq!(cache.discovery().unwrap().module.unwrap().haks, reordered);
    drop(cache);

    // A settings change (maxSize) opens nothing old: every icon is encoded again, fitted.
    let mut small = options();
    small.encode = EncodeSettings {
        max_size: Some(16),
        ..EncodeSettings::default()
    };
    let resized = IconCache::open(small, &Control::default()).unwrap();
    assert_eq!(report(&resized), (total, total, 0));
    assert!(resized.names().iter().all(|n| {
        let i = resized.get_icon(n).unwrap();
        i.width <= 16 && i.height <= 16
    }));
    let files = snaps(cache_dir.path());
    assert_eq!(files.len(), 1, "older generations removed: {files:?}");
}

#[test]
fn newest_invalid_generation_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let icons = icon_dir(dir.path(), 4, 8);
    let cache_dir = dir.path().join("c");
    let want = all_icons(&open(dir_options(
        &icons,
        Some(cache_dir.clone()),
        Validate::None,
    )));
    // A newer file of another format version (container data version "2"), and a truncated one.
    let fp = modforge_store::fingerprint(&modforge_store::Source::Token("x".into())).unwrap();
    modforge_store::write_snapshot_file(
        &cache_dir.join("nwn2-icons.5.snap"),
        modforge_icons::KIND,
        "2",
        &fp,
        b"payload",
        &Default::default(),
    )
    .unwrap();
    std::fs::write(cache_dir.join("nwn2-icons.4.snap"), b"short").unwrap();
    let cache = open(dir_options(
        &icons,
        Some(cache_dir.clone()),
        Validate::Blocking,
    ));
    assert_eq!(cache.stats().generation, 1);
    assert!(cache.stats().last_build.is_none());
    assert_eq!(all_icons(&cache), want);
}

#[test]
fn damaged_blob_is_repaired_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let icons = icon_dir(dir.path(), 6, 12);
    let cache_dir = dir.path().join("c");
    let pristine = open(dir_options(&icons, Some(cache_dir.clone()), Validate::None));
    let want = all_icons(&pristine);
    let view = pristine.view();
    let e = view.entry(2).unwrap();
    let file_offset = 192 + view.blobs_range().start + e.blob_off as usize + 20;
    drop((view, pristine));
    let path = cache_dir.join("nwn2-icons.1.snap");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[file_offset] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let cache = open(dir_options(&icons, Some(cache_dir.clone()), Validate::None));
    assert_eq!(
        cache.stats().generation,
        1,
        "opened without reading every byte"
    );
    assert_eq!(all_icons(&cache), want);
    assert_eq!(cache.stats().repaired, 1);
    // Blocking validation finds the payload checksum mismatch and rebuilds.
    let cache = open(dir_options(&icons, Some(cache_dir), Validate::Blocking));
    let s = cache.stats();
    assert_eq!(s.validation, ValidationState::Rebuilt);
    assert_eq!(s.generation, 2);
    let r = s.last_build.unwrap();
    assert_eq!((r.encoded, r.reused, r.repaired), (1, 5, 1));
    assert_eq!(all_icons(&cache), want);
}

#[test]
fn on_demand_icons_are_persisted_with_the_next_generation() {
    let dir = tempfile::tempdir().unwrap();
    let icons = icon_dir(dir.path(), 3, 8);
    let extra = dir.path().join("extra");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(
        extra.join("custom.tga"),
        tga::write(&icon(77, 9, 9, Alpha::Soft), TGA32),
    )
    .unwrap();
    std::fs::write(extra.join("broken.tga"), b"\0\0\x02not a tga").unwrap();
    let cache_dir = dir.path().join("c");
    let sources = vec![
        SourceSpec::new(&icons).with_icons(IconScope::All),
        SourceSpec::new(&extra).labelled("extra"),
    ];
    let mut o = IconCacheOptions::new(Sources::List(sources));
    o.cache_dir = Some(cache_dir.clone());
    o.validate = Validate::None;
    let cache = IconCache::open(o.clone(), &Control::default()).unwrap();
    assert_eq!(cache.stats().icons, 3);
    assert!(!cache.has("custom"));
    let custom = cache.get_icon("custom").unwrap();
    assert_eq!((&*custom.source, custom.width), ("extra", 9));
    assert_eq!(cache.find("custom"), Lookup::Memory);
    assert!(cache.get_icon("broken").is_none());
    let failed = cache.stats().failed;
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].name.as_str(), failed[0].code),
        ("broken", "format")
    );
    assert_eq!(failed[0].location.as_ref().unwrap().source, "extra");
    assert_eq!(cache.stats().on_demand, 1);
    let r = cache.persist(&Control::default()).unwrap();
    assert_eq!((r.icons, r.encoded, r.reused), (4, 1, 3));
    drop(cache);
    let warm = IconCache::open(o, &Control::default()).unwrap();
    assert_eq!(warm.stats().generation, 2);
    let Lookup::Mapped { index, .. } = warm.find("custom") else {
        panic!("custom not mapped")
    };
    assert_eq!(
        warm.view().entry(index).unwrap().flags & FLAG_ON_DEMAND,
        FLAG_ON_DEMAND
    );
    assert_eq!(
        warm.get_icon("custom").unwrap().data.to_vec(),
        custom.data.to_vec()
    );
}

#[test]
fn extra_icons_and_missing_names() {
    let dir = tempfile::tempdir().unwrap();
    let icons = icon_dir(dir.path(), 2, 8);
    let extra = dir.path().join("extra");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(
        extra.join("wanted.tga"),
        tga::write(&icon(5, 6, 6, Alpha::Soft), TGA32),
    )
    .unwrap();
    let mut o = IconCacheOptions::new(Sources::List(vec![
        SourceSpec::new(&icons).with_icons(IconScope::All),
        SourceSpec::new(&extra),
    ]));
    o.extra_icons = vec!["Wanted".into(), "nowhere".into()];
    let cache = IconCache::open(o, &Control::default()).unwrap();
    assert!(cache.has("wanted"));
    let r = cache.stats().last_build.unwrap();
    assert_eq!(r.icons, 3);
    assert_eq!(r.failed.len(), 1);
    assert_eq!(
        (r.failed[0].name.as_str(), r.failed[0].code),
        ("nowhere", "missing")
    );
}

#[test]
fn cancelled_rebuild_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let icons = icon_dir(dir.path(), 8, 8);
    let cache_dir = dir.path().join("c");
    let cache = open(dir_options(&icons, Some(cache_dir.clone()), Validate::None));
    let cancel = Cancel::new();
    cancel.cancel();
    let err = cache
        .rebuild(RebuildOptions { force: true }, &Control::cancel(&cancel))
        .unwrap_err();
    assert_eq!(err.code(), "aborted");
    assert_eq!(snaps(&cache_dir), ["nwn2-icons.1.snap"]);
    assert_eq!(cache.stats().generation, 1);
}

#[test]
fn progress_reaches_every_stage_total() {
    let dir = tempfile::tempdir().unwrap();
    let icons = icon_dir(dir.path(), 10, 8);
    let seen: Mutex<Vec<(Stage, u64, Option<u64>)>> = Mutex::new(Vec::new());
    let receiver = |p: &Progress<'_>| seen.lock().unwrap().push((p.stage, p.done, p.total));
    let control = Control {
        cancel: None,
        progress: Some(&receiver),
    };
    let cache = IconCache::open(
        dir_options(&icons, Some(dir.path().join("c")), Validate::None),
        &control,
    )
    .unwrap();
    cache
        .rebuild(RebuildOptions { force: true }, &control)
        .unwrap();
    let seen = seen.into_inner().unwrap();
    for stage in [Stage::Index, Stage::Plan, Stage::Encode, Stage::Write] {
        let last = seen
            .iter()
            .rev()
            .find(|(s, _, _)| *s == stage)
            .unwrap_or_else(|| panic!("{stage}"));
        assert_eq!(Some(last.1), last.2, "{stage} reaches its total");
    }
    assert!(seen.iter().any(|(s, d, _)| *s == Stage::Encode && *d == 10));
}

#[test]
fn background_validation_rebuilds_and_reports_changes() {
    let dir = tempfile::tempdir().unwrap();
    let icons = icon_dir(dir.path(), 5, 8);
    let cache_dir = dir.path().join("c");
    drop(open(dir_options(
        &icons,
        Some(cache_dir.clone()),
        Validate::None,
    )));
    // Deeper changes than the root folder's time: a replaced file and a new one in a sub-folder.
    std::fs::write(
        icons.join("is_001.tga"),
        tga::write(&icon(500, 7, 7, Alpha::Soft), TGA32),
    )
    .unwrap();
    touch(&icons.join("is_001.tga"));
    std::fs::create_dir_all(icons.join("sub")).unwrap();
    std::fs::write(
        icons.join("sub/is_new.tga"),
        tga::write(&icon(501, 7, 7, Alpha::Soft), TGA32),
    )
    .unwrap();
    std::fs::remove_file(icons.join("is_004.tga")).unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let mut o = dir_options(&icons, Some(cache_dir), Validate::Background);
    o.on_update = Some(Arc::new(move |e: &modforge_icons::UpdateEvent| {
        sink.lock().unwrap().push(e.clone())
    }));
    let cache = open(o);
    cache.wait_idle();
    let s: CacheStats = cache.stats();
    assert_eq!(s.validation, ValidationState::Rebuilt);
    assert_eq!(s.generation, 2);
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].changed, ["is_001"]);
    assert_eq!(events[0].added, ["is_new"]);
    assert_eq!(events[0].removed, ["is_004"]);
    assert_eq!(events[0].generation, 2);
    assert_eq!(cache.get_icon("is_001").unwrap().width, 7);
    assert!(cache.get_icon("is_004").is_none());
}

#[test]
fn examine_payload_of_a_real_generation() {
    let dir = tempfile::tempdir().unwrap();
    let icons = icon_dir(dir.path(), 7, 8);
    let cache = open(dir_options(
        &icons,
        Some(dir.path().join("c")),
        Validate::None,
    ));
    let payload = cache.view().payload().to_vec();
    let shallow = examine_payload(&payload, false, &Control::default()).unwrap();
    assert_eq!(shallow["entries"], 7);
    assert_eq!(shallow["kind"], "modforge.icons@1");
    assert_eq!(shallow["generation"], 1);
    assert_eq!(shallow["sources"][0]["label"], "icons");
    assert_eq!(
        shallow["settings"]["typePreference"],
        serde_json::json!(["dds", "tga", "png"])
    );
    let deep = examine_payload(&payload, true, &Control::default()).unwrap();
    assert_eq!(deep["checkedBlobBytes"], deep["blobBytes"]);
    let mut bad = payload.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(
        examine_payload(&bad, false, &Control::default()).is_ok(),
        "blobs are not in the index hash"
    );
    assert_eq!(
        examine_payload(&bad, true, &Control::default())
            .unwrap_err()
            .code(),
        "corrupt"
    );
}

#[test]
fn encoder_id_names_the_locked_versions() {
    let lock =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock"))
            .unwrap();
    let id = modforge_icons::encoder_id();
    for part in id.split("; ") {
        let (name, version) = part.split_once(' ').unwrap();
        if name == "modforge-icons" {
            assert_eq!(version, env!("CARGO_PKG_VERSION"));
            continue;
        }
        let entry = format!("name = \"{name}\"\nversion = \"{version}\"");
        assert!(lock.contains(&entry), "{part} is not the locked version");
    }
}

#[test]
fn cache_types_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<IconCache>();
    send_sync::<modforge_icons::CacheView>();
    send_sync::<modforge_icons::Icon>();
    send_sync::<modforge_icons::ResourceIndex>();
    let dir = tempfile::tempdir().unwrap();
    let icons = icon_dir(dir.path(), 6, 8);
    let cache = open(dir_options(
        &icons,
        Some(dir.path().join("c")),
        Validate::Background,
    ));
    let want = all_icons(&cache);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    assert_eq!(all_icons(&cache), want);
                }
            });
        }
    });
    cache.close();
}
