//! The T1 test vectors (docs/profile.md, "Test tree T1"), every variant, exact values.
// These tests compare with GNU find/du and use Linux-only facilities (setpriv, prlimit, /proc).
#![cfg(target_os = "linux")]

mod common;

use common::*;
use modforge_walk::{AgeBucket, ErrorOp, ProfileReport};

fn ext_table(r: &ProfileReport) -> Vec<(String, u64, Option<u64>)> {
    r.extensions
        .iter()
        .map(|e| (e.ext.clone(), e.count, e.apparent_bytes))
        .collect()
}

fn counts(r: &ProfileReport) -> (u64, u64, u64, u64) {
    (
        r.totals.files,
        r.totals.dirs,
        r.totals.symlinks,
        r.totals.other,
    )
}

#[test]
fn defaults() {
    let tmp = t1();
    let root = tmp.path().join("t1");
    let r = run(&root, &opts(|_| {}));
    assert_eq!(counts(&r), (8, 4, 3, 0));
    assert_eq!(r.totals.file_apparent_bytes, Some(5706));
    assert_eq!(r.totals.hard_link_duplicates, 1);
    assert_eq!(r.totals.skipped, 0);
    assert_eq!(r.totals.errors, 0);
    assert_eq!(r.totals.empty_dirs, 1);
    assert_eq!(r.empty_dirs, ["empty"]);
    assert_eq!(r.depth_histogram, [1, 11, 3]);
    assert_eq!(r.totals.max_depth, 2);
    let s = |x: &str| x.to_string();
    assert_eq!(
        ext_table(&r),
        [
            (s("<none>"), 4, Some(4106)),
            (s(".txt"), 2, Some(300)),
            (s(".gz"), 1, Some(1000)),
            (s(".js"), 1, Some(300))
        ]
    );
    let largest: Vec<(&str, u64)> = r
        .largest_files
        .iter()
        .map(|f| (f.path.as_str(), f.apparent_bytes))
        .collect();
    assert_eq!(
        largest,
        [
            ("dir1/hl1", 4096),
            ("archive.tar.gz", 1000),
            ("dir1/c.js", 300),
            ("b.TXT", 200),
            ("a.txt", 100),
            (".hidden", 10),
            ("noext", 0)
        ]
    );
    let by_count: Vec<(&str, u64)> = r
        .top_dirs_by_file_count
        .iter()
        .map(|d| (d.path.as_str(), d.files))
        .collect();
    assert_eq!(by_count, [(".", 5), ("dir1", 2), ("dir2", 1), ("empty", 0)]);
    assert_eq!(r.top_dirs_by_size[0].path, ".");
    assert_eq!(r.top_dirs_by_size[1].path, "dir1");
    assert_eq!(
        r.top_dirs_by_size[0].apparent_bytes,
        r.totals.apparent_bytes.unwrap()
    );
    assert_eq!(
        r.top_dirs_by_size[0].allocated_bytes,
        r.totals.allocated_bytes
    );
    assert_eq!(r.top_dirs_by_size[0].files, 8);
    let ages: Vec<(AgeBucket, u64, u64)> = r
        .ages
        .as_ref()
        .unwrap()
        .iter()
        .map(|a| (a.bucket, a.count, a.apparent_bytes))
        .collect();
    assert_eq!(
        ages,
        [
            (AgeBucket::Day, 4, 4406),
            (AgeBucket::Week, 1, 100),
            (AgeBucket::Month, 1, 200),
            (AgeBucket::Year, 1, 1000),
            (AgeBucket::Older, 1, 0)
        ]
    );
    assert_eq!(
        r.ages
            .as_ref()
            .unwrap()
            .iter()
            .map(|a| a.bucket.label())
            .collect::<Vec<_>>(),
        ["<1d", "<1w", "<1mo", "<1y", "older"]
    );
    assert_eq!(r.totals.apparent_bytes, Some(du(&["-sb"], &root)));
    assert_eq!(r.totals.allocated_bytes, Some(du(&["-sB1"], &root)));
    // apparent = lstat sizes of root, dirs, symlinks and files (hl once)
    let lstat = |p: &str| std::fs::symlink_metadata(root.join(p)).unwrap().len();
    let expected: u64 = ["", "dir1", "dir2", "empty", "link-file", "link-dir", "loop"]
        .iter()
        .map(|p| lstat(p))
        .sum::<u64>()
        + 5706;
    assert_eq!(r.totals.apparent_bytes, Some(expected));
    assert!(r.errors.is_empty());
    assert_eq!(r.options.threads, r.timing.threads);
    assert!(r.options.threads >= 1);
}

#[test]
fn without_hidden() {
    let tmp = t1();
    let r = run(&tmp.path().join("t1"), &opts(|o| o.include_hidden = false));
    assert_eq!(r.totals.files, 7);
    assert_eq!(r.totals.file_apparent_bytes, Some(5696));
    assert_eq!(r.totals.skipped, 1);
    assert_eq!(r.extensions[0].ext, "<none>");
    assert_eq!(
        (r.extensions[0].count, r.extensions[0].apparent_bytes),
        (3, Some(4096))
    );
    assert_eq!(r.depth_histogram, [1, 10, 3]);
}

#[test]
fn max_depth_one() {
    let tmp = t1();
    let r = run(&tmp.path().join("t1"), &opts(|o| o.max_depth = Some(1)));
    assert_eq!(counts(&r), (5, 4, 3, 0));
    assert_eq!(r.totals.file_apparent_bytes, Some(1310));
    assert_eq!(r.totals.hard_link_duplicates, 0);
    assert_eq!(r.totals.empty_dirs, 0);
    assert!(r.empty_dirs.is_empty());
    assert_eq!(r.depth_histogram, [1, 11]);
    assert_eq!(r.totals.max_depth, 1);
}

#[test]
fn max_depth_zero() {
    let tmp = t1();
    let r = run(&tmp.path().join("t1"), &opts(|o| o.max_depth = Some(0)));
    assert_eq!(counts(&r), (0, 1, 0, 0));
    assert_eq!(r.depth_histogram, [1]);
    assert_eq!(r.totals.empty_dirs, 0);
}

#[test]
fn exclude_dir2() {
    let tmp = t1();
    let r = run(
        &tmp.path().join("t1"),
        &opts(|o| o.exclude = vec!["dir2".into()]),
    );
    assert_eq!(r.totals.files, 7);
    assert_eq!(r.totals.dirs, 3);
    assert_eq!(r.totals.file_apparent_bytes, Some(5706));
    assert_eq!(r.totals.hard_link_duplicates, 0);
    assert_eq!(r.totals.skipped, 1);
}

#[test]
fn exclude_glob_is_case_sensitive() {
    let tmp = t1();
    let r = run(
        &tmp.path().join("t1"),
        &opts(|o| o.exclude = vec!["*.txt".into()]),
    );
    assert_eq!(r.totals.files, 7);
    assert_eq!(r.totals.skipped, 1);
    assert!(r.largest_files.iter().all(|f| f.path != "a.txt"));
    assert!(r.largest_files.iter().any(|f| f.path == "b.TXT"));
}

#[test]
fn extensions_filter() {
    let tmp = t1();
    let r = run(
        &tmp.path().join("t1"),
        &opts(|o| o.extensions = vec!["TXT".into()]),
    );
    assert_eq!(counts(&r), (2, 4, 3, 0));
    assert_eq!(r.totals.file_apparent_bytes, Some(300));
    assert_eq!(r.totals.skipped, 6);
    assert_eq!(r.totals.hard_link_duplicates, 0);
}

#[test]
fn min_size() {
    let tmp = t1();
    let r = run(&tmp.path().join("t1"), &opts(|o| o.min_size = 300));
    assert_eq!(r.totals.files, 4);
    assert_eq!(r.totals.file_apparent_bytes, Some(5396));
    assert_eq!(r.totals.hard_link_duplicates, 1);
    assert_eq!(r.totals.skipped, 4);
}

#[test]
fn count_hard_links() {
    let tmp = t1();
    let root = tmp.path().join("t1");
    let r = run(&root, &opts(|o| o.count_hard_links = true));
    assert_eq!(r.totals.file_apparent_bytes, Some(9802));
    assert_eq!(r.totals.hard_link_duplicates, 0);
    assert_eq!(r.largest_files[0].path, "dir1/hl1");
    assert_eq!(r.largest_files[1].path, "dir2/hl2");
    assert_eq!(r.totals.apparent_bytes, Some(du(&["-sbl"], &root)));
    assert_eq!(r.totals.allocated_bytes, Some(du(&["-sB1", "-l"], &root)));
}

#[test]
fn follow_symlinks() {
    let tmp = t1();
    let root = tmp.path().join("t1");
    let r = run(&root, &opts(|o| o.follow_symlinks = true));
    // `link-file` counts as a file and `link-dir` as a folder (further names of `a.txt` and
    // `dir1`: no bytes of their own); `dir1` is read once, under its own name; `loop` leads to the
    // root: not counted, one error.
    assert_eq!(counts(&r), (9, 5, 0, 0));
    assert_eq!(r.totals.file_apparent_bytes, Some(5706));
    assert_eq!(r.totals.hard_link_duplicates, 3);
    assert_eq!(r.totals.errors, 1);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].path, "loop");
    assert_eq!(r.errors[0].op, ErrorOp::Stat);
    assert_eq!(r.errors[0].code, "ELOOP");
    assert_eq!(r.errors[0].errno, 40); // ELOOP on Linux
    assert_eq!(r.depth_histogram, [1, 10, 3]);
    // du -L counts every (dev, ino) once and leaves the cycle `loop` out, as the profile does
    assert_eq!(r.totals.apparent_bytes, Some(du(&["-sbL"], &root)));
    assert_eq!(r.totals.allocated_bytes, Some(du(&["-sB1", "-L"], &root)));
}

#[test]
fn names_only() {
    let tmp = t1();
    let r = run(&tmp.path().join("t1"), &opts(|o| o.stats = false));
    assert_eq!(counts(&r), (8, 4, 3, 0));
    assert_eq!(r.totals.apparent_bytes, None);
    assert_eq!(r.totals.allocated_bytes, None);
    assert_eq!(r.totals.file_apparent_bytes, None);
    assert_eq!(r.totals.file_allocated_bytes, None);
    assert_eq!(r.totals.hard_link_duplicates, 0);
    assert!(r.largest_files.is_empty());
    assert!(r.top_dirs_by_size.is_empty());
    assert_eq!(r.ages, None);
    assert!(r.extensions.iter().all(|e| e.apparent_bytes.is_none()));
    assert_eq!(r.empty_dirs, ["empty"]);
}

#[test]
fn thread_counts_give_identical_reports() {
    let tmp = t1();
    let root = tmp.path().join("t1");
    for base in [
        opts(|_| {}),
        opts(|o| o.follow_symlinks = true),
        opts(|o| o.stats = false),
    ] {
        let one = comparable(run(&root, &ProfileOptionsExt::threads(&base, 1)));
        for n in [2, 3, 8] {
            assert_eq!(
                one,
                comparable(run(&root, &ProfileOptionsExt::threads(&base, n))),
                "threads {n}"
            );
        }
    }
}

trait ProfileOptionsExt {
    fn threads(&self, n: usize) -> Self;
}

impl ProfileOptionsExt for modforge_walk::ProfileOptions {
    fn threads(&self, n: usize) -> Self {
        let mut o = self.clone();
        o.threads = n;
        o
    }
}
