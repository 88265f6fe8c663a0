//! Generation writers killed with SIGKILL at random moments, two at a time: the next open always
//! finds a valid generation (old or new), serves the right icons, and removes the dead writers'
//! temp files.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use modforge_core::Control;
use modforge_gen::SplitMix64;
use modforge_gen::nwn2::image::{Alpha, icon};
use modforge_gen::nwn2::tga::{self, TgaOptions, TgaPixels};
use modforge_icons::{
    IconCache, IconCacheOptions, IconScope, RebuildOptions, SourceSpec, Sources, Validate,
};

const CHILD_ENV: &str = "MODFORGE_ICONS_KILL_LOOP";

fn options(icons: &Path, cache_dir: &Path) -> IconCacheOptions {
    let mut o = IconCacheOptions::new(Sources::List(vec![
        SourceSpec::new(icons).with_icons(IconScope::All),
    ]));
    o.cache_dir = Some(cache_dir.to_path_buf());
    o.validate = Validate::None;
    o.threads = Some(1);
    o
}

/// The writer: this test binary re-invoked; rebuilds (forced) forever.
#[test]
fn kill_loop_child() {
    let Ok(args) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (icons, cache_dir) = args.split_once('\u{1f}').unwrap();
    let cache = IconCache::open(
        options(Path::new(icons), Path::new(cache_dir)),
        &Control::default(),
    )
    .unwrap();
    loop {
        cache
            .rebuild(RebuildOptions { force: true }, &Control::default())
            .unwrap();
    }
}

fn spawn(icons: &Path, cache_dir: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kill_loop_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            CHILD_ENV,
            format!("{}\u{1f}{}", icons.display(), cache_dir.display()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn temp_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tmp"))
        .collect()
}

#[test]
fn killed_writers_leave_a_valid_generation() {
    let dir = tempfile::tempdir().unwrap();
    let icons = dir.path().join("icons");
    std::fs::create_dir_all(&icons).unwrap();
    // Noisy pictures: large blobs, so a generation takes a while to write and writers are often
    // killed in the middle of it.
    let mut noise = SplitMix64::new(7);
    for i in 0..24u64 {
        let mut p = icon(i, 160, 160, Alpha::Soft);
        for b in p.rgba.iter_mut() {
            *b ^= noise.next_u64() as u8 & 0x3F;
        }
        let o = TgaOptions {
            pixels: TgaPixels::Bgra32,
            rle: false,
            top_down: false,
            footer: false,
        };
        std::fs::write(icons.join(format!("is_{i:02}.tga")), tga::write(&p, o)).unwrap();
    }
    let cache_dir = dir.path().join("cache");
    let pristine = IconCache::open(options(&icons, &cache_dir), &Control::default()).unwrap();
    let want: Vec<Vec<u8>> = pristine
        .names()
        .iter()
        .map(|n| pristine.get_icon(n).unwrap().data.to_vec())
        .collect();
    assert_eq!(want.len(), 24);
    drop(pristine);

    let mut rng = SplitMix64::new(99);
    let mut left_temps = 0;
    for round in 0..16 {
        let mut a = spawn(&icons, &cache_dir);
        let mut b = spawn(&icons, &cache_dir);
        if round % 2 == 0 {
            // Random moments.
            std::thread::sleep(Duration::from_millis(200 + rng.below(600)));
        } else {
            // The moment a temp file appears: a writer is in the middle of a generation.
            let start = std::time::Instant::now();
            while temp_files(&cache_dir).is_empty() && start.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        a.kill().unwrap();
        b.kill().unwrap();
        a.wait().unwrap();
        b.wait().unwrap();
        if !temp_files(&cache_dir).is_empty() {
            left_temps += 1;
        }
        let mut o = options(&icons, &cache_dir);
        o.validate = Validate::Blocking;
        let cache = IconCache::open(o, &Control::default())
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let got: Vec<Vec<u8>> = cache
            .names()
            .iter()
            .map(|n| cache.get_icon(n).unwrap().data.to_vec())
            .collect();
        assert_eq!(got, want, "round {round}");
        assert!(
            cache.stats().mapped,
            "round {round}: a generation file is served"
        );
        assert!(
            temp_files(&cache_dir).is_empty(),
            "round {round}: dead writers' temp files removed"
        );
        let snaps = std::fs::read_dir(&cache_dir).unwrap().count();
        assert!(snaps <= 3, "round {round}: {snaps} files left");
    }
    assert!(
        left_temps > 0,
        "writers were killed mid-write at least once"
    );
}
