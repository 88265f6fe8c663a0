//! The discovery memo (docs/icons.md, "Discovery memo"): a warm open takes its sources from the
//! generation's memo while every place the discovery consulted keeps its stamp, and discovers
//! again after any change that could alter the sources.

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime};

use modforge_core::Control;
use modforge_gen::nwn2::Manifest;
use modforge_icons::{IconCache, Validate, discover};

/// One fixed time for every file and folder of the install: long settled, and the same each
/// time, so only a place changed after it differs from the memo's stamps.
fn settle(root: &Path) {
    let then = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    let mut stack = vec![root.to_path_buf()];
    let mut all = Vec::new();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
        all.push(path);
    }
    for path in all {
        std::fs::File::open(&path)
            .unwrap()
            .set_modified(then)
            .unwrap();
    }
}

/// Opens the cache with `validate`; returns it with whether the memo was reused.
fn open(m: &Manifest, cache_dir: &Path, validate: Validate) -> (IconCache, bool) {
    let mut o = common::cache_options(m, Some(cache_dir.to_path_buf()));
    o.validate = validate;
    let cache = IconCache::open(o, &Control::default()).unwrap();
    let reused = cache.stats().discovery_reused;
    (cache, reused)
}

/// The sources of a discovery run now.
fn discovered_now(m: &Manifest) -> Vec<String> {
    let d = discover(&m.game_dir, &m.user_dir, &common::discover_options(m)).unwrap();
    d.sources
        .iter()
        .map(|s| s.path.display().to_string())
        .collect()
}

fn cache_sources(cache: &IconCache) -> Vec<String> {
    let d = cache.discovery().unwrap();
    d.sources
        .iter()
        .map(|s| s.path.display().to_string())
        .collect()
}

/// Settles the install, rebuilds (a blocking open) and checks that the next open reuses the memo.
fn rebuild_settled(root: &Path, m: &Manifest, cache_dir: &Path) {
    settle(root);
    let (cache, _) = open(m, cache_dir, Validate::Blocking);
    drop(cache);
    let (cache, reused) = open(m, cache_dir, Validate::None);
    assert!(reused, "a settled install reuses the memo");
    assert_eq!(
        cache.discovery(),
        Some(discover(&m.game_dir, &m.user_dir, &common::discover_options(m)).unwrap())
    );
}

#[test]
fn a_warm_open_reuses_the_discovery_until_a_place_it_consulted_changes() {
    let (dir, m) = common::small_install(21);
    let root = dir.path();
    let cache_dir = tempfile::tempdir().unwrap();

    // Places younger than the settling margin prove nothing: no memo is stored.
    let (cache, reused) = open(&m, cache_dir.path(), Validate::Blocking);
    assert!(!reused, "no generation existed");
    drop(cache);
    let (cache, reused) = open(&m, cache_dir.path(), Validate::None);
    assert!(!reused, "a just-written install is not settled");
    drop(cache);

    rebuild_settled(root, &m, cache_dir.path());
    let (cache, reused) = open(&m, cache_dir.path(), Validate::None);
    assert!(reused);
    assert_eq!(cache.stats().last_build, None, "nothing rebuilt");
    drop(cache);

    // A new patch zip in Data: listed by a fresh discovery, ranked first among the zips.
    let data = m.game_dir.join("Data");
    std::fs::copy(data.join("2da.zip"), data.join("2da_v200.zip")).unwrap();
    let (cache, reused) = open(&m, cache_dir.path(), Validate::None);
    assert!(!reused, "the Data folder changed");
    let sources = cache_sources(&cache);
    assert_eq!(sources, discovered_now(&m));
    assert!(sources.iter().any(|s| s.ends_with("2da_v200.zip")));
    drop(cache);
    rebuild_settled(root, &m, cache_dir.path());

    // A HAK of the module's list dropped into the user's hak folder now wins over the install's.
    let game_hak = m.game_dir.join("hak/bench_c.hak");
    std::fs::copy(&game_hak, m.user_dir.join("hak/bench_c.hak")).unwrap();
    let (cache, reused) = open(&m, cache_dir.path(), Validate::None);
    assert!(!reused, "the user's hak folder changed");
    let sources = cache_sources(&cache);
    assert_eq!(sources, discovered_now(&m));
    assert!(sources.contains(&m.user_dir.join("hak/bench_c.hak").display().to_string()));
    drop(cache);
    rebuild_settled(root, &m, cache_dir.path());

    // A new Workshop item.
    let item = m.workshop_root.join("1000/override");
    std::fs::create_dir_all(&item).unwrap();
    let (cache, reused) = open(&m, cache_dir.path(), Validate::None);
    assert!(!reused, "the Workshop folder changed");
    assert_eq!(cache_sources(&cache), discovered_now(&m));
    drop(cache);
    rebuild_settled(root, &m, cache_dir.path());

    // The module file rewritten (its HAK list may differ): read again.
    let module = m.user_dir.join("modules/bench.mod");
    std::fs::File::options()
        .write(true)
        .open(&module)
        .unwrap()
        .set_modified(SystemTime::now())
        .unwrap();
    let (cache, reused) = open(&m, cache_dir.path(), Validate::None);
    assert!(!reused, "the module changed");
    assert_eq!(cache_sources(&cache), discovered_now(&m));
    drop(cache);

    // A memo for other discovery options is not taken.
    settle(root);
    let (cache, _) = open(&m, cache_dir.path(), Validate::Blocking);
    drop(cache);
    let mut o = common::cache_options(&m, Some(cache_dir.path().to_path_buf()));
    if let modforge_icons::Sources::Discover { options, .. } = &mut o.sources {
        options.campaign = None;
    }
    o.validate = Validate::None;
    let cache = IconCache::open(o, &Control::default()).unwrap();
    assert!(!cache.stats().discovery_reused, "another question");
    assert!(
        !cache_sources(&cache)
            .iter()
            .any(|s| s.contains("bench_campaign"))
    );
}
