//! The discovery memo (docs/icons.md, "Discovery memo"): a warm open takes its sources from the
//! generation's memo while every place the discovery consulted keeps its stamp, and discovers
//! again after any change that could alter the sources.

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime};

use modforge_core::Control;
use modforge_gen::nwn2::Manifest;
use modforge_icons::{IconCache, Validate, ValidationState, discover};

/// Sets every file and folder under `root` to `then`.
fn set_times(root: &Path, then: SystemTime) {
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

/// One fixed time for every file and folder of the install: long settled, and the same each
/// time, so only a place changed after it differs from the memo's stamps.
fn settle(root: &Path) {
    set_times(
        root,
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000),
    );
}

/// Every place of the install changed "just now" as far as any discovery of the test can tell:
/// an hour ahead, so no stamp is older than a discovery by the settling margin however slowly
/// the test runs.
fn unsettle(root: &Path) {
    set_times(root, SystemTime::now() + Duration::from_secs(3600));
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
    unsettle(root);

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

/// The one generation file in `cache_dir`.
fn generation_file(cache_dir: &Path) -> std::path::PathBuf {
    let files: Vec<_> = std::fs::read_dir(cache_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one generation in {}", cache_dir.display());
    files.into_iter().next().unwrap()
}

#[test]
fn a_damaged_memo_in_the_cache_file_is_dropped_and_the_right_icons_are_served() {
    let (dir, m) = common::small_install(22);
    let cache_dir = tempfile::tempdir().unwrap();
    settle(dir.path());
    drop(open(&m, cache_dir.path(), Validate::Blocking));
    let (cache, reused) = open(&m, cache_dir.path(), Validate::None);
    assert!(reused);
    let names: Vec<String> = cache.names().into_iter().step_by(7).take(4).collect();
    let wanted: Vec<Vec<u8>> = names
        .iter()
        .map(|n| cache.get_icon(n).unwrap().data.to_vec())
        .collect();
    drop(cache);

    let path = generation_file(cache_dir.path());
    let good = std::fs::read(&path).unwrap();
    // The memo is the JSON value that starts with its question (docs/icons.md, "Discovery memo").
    let start = good
        .windows(12)
        .position(|w| w == b"{\"game_dir\":")
        .expect("the memo is stored");
    let mut values =
        serde_json::Deserializer::from_slice(&good[start..]).into_iter::<serde_json::Value>();
    values.next().unwrap().unwrap();
    let end = start + values.byte_offset();

    // Every damage below is either refused (the memo dropped, or the file rejected and rebuilt)
    // or harmless; the sources are always the ones a discovery finds now, and the icons the
    // same bytes.
    let mut damaged: Vec<(String, Vec<u8>)> = Vec::new();
    let flips = (start..end).step_by(53).chain([start, end - 1]);
    for at in flips {
        let mut b = good.clone();
        b[at] ^= 0x01;
        damaged.push((format!("bit 0 of memo byte {}", at - start), b));
    }
    for cut in [start, start + 1, (start + end) / 2, end - 1] {
        damaged.push((
            format!("cut at memo byte {}", cut - start),
            good[..cut].to_vec(),
        ));
    }
    // `meta` starts 64 bytes before the encoder id; its memo length is at 4, the memo's hash at
    // 56 (crates/icons/src/cache/layout.rs).
    let meta = good
        .windows(11)
        .position(|w| w == b"image-webp ")
        .expect("the encoder id is stored")
        - 64;
    let len = end - start;
    assert_eq!(
        u32::from_le_bytes(good[meta + 4..meta + 8].try_into().unwrap()) as usize,
        len
    );
    for lie in [0u32, 1, len as u32 - 1, len as u32 + 1, u32::MAX] {
        let mut b = good.clone();
        b[meta + 4..meta + 8].copy_from_slice(&lie.to_le_bytes());
        damaged.push((format!("memo length {lie}"), b));
    }
    let mut b = good.clone();
    b[meta + 56] ^= 0x80;
    damaged.push(("memo hash".into(), b));
    // A memo that lies with a valid hash: one stamp's time moved by a second.
    let text = std::str::from_utf8(&good[start..end]).unwrap();
    let watched = text.find("\"watched\":").expect("the stamps are stored");
    // The digit of whole seconds (the install was settled at 1,600,000,000 s).
    let at = start
        + watched
        + text[watched..]
            .find("\"mtime_ns\":")
            .expect("a stamp with a time")
        + 11
        + 9;
    let mut b = good.clone();
    b[at] = if b[at] == b'9' { b'8' } else { b[at] + 1 };
    let hash = xxhash_rust::xxh3::xxh3_64(&b[start..end]);
    b[meta + 56..meta + 64].copy_from_slice(&hash.to_le_bytes());
    damaged.push(("a stamp's time, hash recomputed".into(), b));
    for (what, bytes) in damaged {
        std::fs::write(&path, &bytes).unwrap();
        let (cache, reused) = open(&m, cache_dir.path(), Validate::None);
        assert!(!reused, "{what}: a damaged memo is not taken");
        assert_eq!(cache_sources(&cache), discovered_now(&m), "{what}");
        for (name, data) in names.iter().zip(&wanted) {
            assert_eq!(
                &cache.get_icon(name).unwrap().data[..],
                &data[..],
                "{what}: {name}"
            );
        }
        drop(cache);
        // Back to the good file (a rejected one was replaced by a rebuilt generation).
        for e in std::fs::read_dir(cache_dir.path()).unwrap() {
            std::fs::remove_file(e.unwrap().path()).unwrap();
        }
        std::fs::write(&path, &good).unwrap();
    }
    let (_cache, reused) = open(&m, cache_dir.path(), Validate::None);
    assert!(reused, "the good file is taken again");
}

/// An open that validation follows takes the memo as stored, without its stamps: validation
/// discovers again, rebuilds what changed and then works from what it discovered.
#[test]
fn an_open_with_validation_takes_the_memo_as_stored_and_validation_discovers_again() {
    let (dir, m) = common::small_install(23);
    let root = dir.path();
    let cache_dir = tempfile::tempdir().unwrap();
    let data = m.game_dir.join("Data");
    let patch = data.join("2da_v200.zip");
    for validate in [Validate::Deferred, Validate::Blocking] {
        rebuild_settled(root, &m, cache_dir.path());
        let stored = discovered_now(&m);
        let generation = open(&m, cache_dir.path(), Validate::None)
            .0
            .stats()
            .generation;
        // A new patch zip in Data: a fresh discovery lists it.
        std::fs::copy(data.join("2da.zip"), &patch).unwrap();
        let (cache, reused) = open(&m, cache_dir.path(), validate);
        assert!(reused, "{validate:?}: the memo is taken without its stamps");
        if validate == Validate::Deferred {
            assert_eq!(
                cache_sources(&cache),
                stored,
                "the memo's sources until validation"
            );
            assert_eq!(cache.stats().generation, generation);
            cache.wait_idle();
        }
        let sources = cache_sources(&cache);
        assert_eq!(sources, discovered_now(&m), "{validate:?}");
        assert!(sources.contains(&patch.display().to_string()));
        assert!(
            cache.stats().generation > generation,
            "{validate:?}: rebuilt"
        );
        assert_eq!(cache.stats().validation, ValidationState::Rebuilt);
        drop(cache);
        std::fs::remove_file(&patch).unwrap();
    }
}
