//! Generated trees with extras against `find` and GNU `du`, and thread-count independence.
// These tests compare with GNU find/du and use Linux-only facilities (setpriv, prlimit, /proc).
#![cfg(target_os = "linux")]

mod common;

use std::path::Path;

use common::*;
use modforge_gen::tree::{Shape, TreeSpec, TreeSummary, generate_tree};
use modforge_walk::ProfileReport;

fn tree(shape: Shape, entries: u64, extras: bool) -> (tempfile::TempDir, TreeSummary) {
    let tmp = open_tempdir();
    let spec = TreeSpec {
        shape,
        entries,
        seed: 7,
        extras,
        outside: Some(tmp.path().join("outside")),
        ..TreeSpec::default()
    };
    let summary = generate_tree(&tmp.path().join("tree"), &spec).expect("generate");
    (tmp, summary)
}

/// Counts by kind equal `find`, bytes equal `du` (also `-l` with `count_hard_links`), and the
/// generator's own summary.
fn check_against_tools(root: &Path, summary: &TreeSummary) -> ProfileReport {
    let r = run(root, &opts(|_| {}));
    let t = &r.totals;
    assert_eq!(
        (t.files, t.dirs, t.symlinks, t.other),
        find_kinds(root),
        "counts vs find"
    );
    assert_eq!(
        (t.files, t.dirs, t.symlinks, t.other),
        (summary.files, summary.dirs, summary.symlinks, summary.other)
    );
    assert_eq!(t.apparent_bytes, Some(du(&["-sb"], root)), "du -sb");
    assert_eq!(t.allocated_bytes, Some(du(&["-sB1"], root)), "du -sB1");
    assert_eq!(t.file_apparent_bytes, Some(summary.file_bytes));
    assert_eq!(t.hard_link_duplicates, summary.hard_links);
    assert_eq!(t.errors, 0, "{:?}", r.errors);
    let l = run(root, &opts(|o| o.count_hard_links = true));
    assert_eq!(
        l.totals.apparent_bytes,
        Some(du(&["-sbl"], root)),
        "du -sbl"
    );
    assert_eq!(
        l.totals.allocated_bytes,
        Some(du(&["-sB1", "-l"], root)),
        "du -sB1 -l"
    );
    assert_eq!(l.totals.hard_link_duplicates, 0);
    r
}

#[test]
fn wide_tree_matches_find_and_du() {
    let (tmp, summary) = tree(Shape::Wide, 15_000, true);
    let root = tmp.path().join("tree");
    let r = check_against_tools(&root, &summary);
    // the big folder holds two thirds of the entries and tops the file-count table
    assert_eq!(r.top_dirs_by_file_count[0].path, "big");
    assert_eq!(r.top_dirs_by_file_count[0].files, 10_000);
}

#[test]
fn node_tree_matches_find_and_du() {
    let (tmp, summary) = tree(Shape::Node, 15_000, true);
    let root = tmp.path().join("tree");
    let r = check_against_tools(&root, &summary);
    let exts: Vec<&str> = r.extensions.iter().map(|e| e.ext.as_str()).collect();
    for ext in [".js", ".json", ".md", ".ts", ".map", "<none>"] {
        assert!(exts.contains(&ext), "{ext} in {exts:?}");
    }
    assert!(r.depth_histogram.len() >= 5);
}

#[test]
fn game_tree_matches_find_and_du() {
    let (tmp, summary) = tree(Shape::Game, 10_000, true);
    let root = tmp.path().join("tree");
    let r = check_against_tools(&root, &summary);
    // sparse archives: apparent far above allocated
    let t = &r.totals;
    assert!(t.file_apparent_bytes.unwrap() > 10 * t.file_allocated_bytes.unwrap());
    assert_eq!(r.largest_files.len(), 10);
    for f in r.largest_files.iter().take(5) {
        let sparse = f.path.starts_with("Data/archive")
            || f.path.starts_with("Movies/")
            || f.path == "game.exe"
            || f.path == "extras/sizes/sparse";
        assert!(sparse, "{}", f.path);
        assert!(f.allocated_bytes.unwrap() < f.apparent_bytes / 100);
    }
}

#[test]
fn mixed_tree_matches_find_and_du() {
    let (tmp, summary) = tree(Shape::Mixed, 12_000, true);
    check_against_tools(&tmp.path().join("tree"), &summary);
}

#[test]
fn deep_tree_with_a_path_over_the_limit() {
    let (tmp, summary) = tree(Shape::Deep, 12_000, false);
    let root = tmp.path().join("tree");
    // the generator made a path longer than PATH_MAX
    let longest = Command::new("find")
        .arg(&root)
        .args(["-printf", "%p\\0"])
        .output()
        .expect("find")
        .stdout
        .split(|&b| b == 0)
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0);
    assert!(longest > 4096, "{longest}");
    // Directories open relative to their parent (or component by component): nothing fails.
    for threads in [1, 2] {
        let r = run(&root, &opts(|o| o.threads = threads));
        let t = &r.totals;
        assert_eq!(t.errors, 0, "{:?}", r.errors);
        assert_eq!((t.files, t.dirs, t.symlinks, t.other), find_kinds(&root));
        assert_eq!((t.files, t.dirs), (summary.files, summary.dirs));
        assert_eq!(t.apparent_bytes, Some(du(&["-sb"], &root)));
        assert!(r.depth_histogram.len() > 64);
    }
}

use std::process::Command;

#[test]
fn pnpm_tree_counts_bytes_once_without_duplicates() {
    let tmp = open_tempdir();
    let spec = TreeSpec {
        shape: Shape::Node,
        entries: 8_000,
        seed: 3,
        pnpm: true,
        outside: Some(tmp.path().join("outside")),
        ..TreeSpec::default()
    };
    let root = tmp.path().join("tree");
    let summary = generate_tree(&root, &spec).expect("generate");
    let r = run(&root, &opts(|_| {}));
    assert_eq!(r.totals.files, summary.files);
    assert_eq!(r.totals.hard_link_duplicates, 0);
    assert_eq!(r.totals.file_apparent_bytes, Some(summary.file_bytes));
    assert_eq!(r.totals.apparent_bytes, Some(du(&["-sb"], &root)));
    assert_eq!(r.totals.allocated_bytes, Some(du(&["-sB1"], &root)));
}

#[test]
fn reports_do_not_depend_on_thread_count() {
    let (tmp, _) = tree(Shape::Mixed, 12_000, true);
    let root = tmp.path().join("tree");
    for base in [
        opts(|_| {}),
        opts(|o| o.follow_symlinks = true),
        opts(|o| {
            o.stats = false;
            o.exclude = vec!["lib/".into(), "*.md".into()];
        }),
        opts(|o| {
            o.top_n = 3;
            o.error_limit = 1;
            o.empty_dir_limit = 1;
            o.max_depth = Some(4);
        }),
    ] {
        let mut one = base.clone();
        one.threads = 1;
        let one = comparable(run(&root, &one));
        for n in [2, 4] {
            let mut o = base.clone();
            o.threads = n;
            assert_eq!(one, comparable(run(&root, &o)), "threads {n} with {base:?}");
        }
    }
}

#[test]
fn generator_is_reproducible() {
    let listing = |seed: u64| {
        let tmp = open_tempdir();
        let spec = TreeSpec {
            shape: Shape::Mixed,
            entries: 3_000,
            seed,
            ..TreeSpec::default()
        };
        generate_tree(&tmp.path().join("t"), &spec).expect("generate");
        let out = Command::new("find")
            .arg(tmp.path().join("t"))
            .args(["-mindepth", "1", "-printf", "%P %s %y\\n"])
            .output()
            .expect("find");
        let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    };
    let a = listing(11);
    assert!(a.len() >= 3_000);
    assert_eq!(a, listing(11));
    assert_ne!(a, listing(12));
}

#[test]
fn generator_rejects_bad_arguments() {
    let tmp = open_tempdir();
    let spec = TreeSpec {
        pnpm: true,
        outside: None,
        ..TreeSpec::default()
    };
    assert!(matches!(
        generate_tree(&tmp.path().join("x"), &spec),
        Err(modforge_gen::Error::InvalidArgument(_))
    ));
    std::fs::write(tmp.path().join("y-file"), b"").unwrap();
    let spec = TreeSpec {
        entries: 10,
        ..TreeSpec::default()
    };
    assert!(matches!(
        generate_tree(tmp.path(), &spec),
        Err(modforge_gen::Error::InvalidArgument(_))
    ));
    assert_eq!("realistic-node".parse::<Shape>().unwrap(), Shape::Node);
    for s in Shape::ALL {
        assert_eq!(s.name().parse::<Shape>().unwrap(), s);
    }
    assert!("tall".parse::<Shape>().is_err());
}
