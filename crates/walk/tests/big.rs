//! A 200,000-file folder shared by the workers, and a walk under a lowered open-file limit.
// These tests compare with GNU find/du and use Linux-only facilities (setpriv, prlimit, /proc).
#![cfg(target_os = "linux")]

mod common;

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::Path;
use std::sync::Mutex;

use common::*;
use modforge_gen::tree::{Shape, TreeSpec, generate_tree};
use modforge_walk::{Hooks, PathBatch, profile};

#[test]
fn two_hundred_thousand_files_in_one_folder() {
    // tmpfs when available: creating 200,000 files on a journaled disk takes most of a minute
    let shm = Path::new("/dev/shm");
    let tmp = if shm.is_dir() {
        tempfile::Builder::new()
            .prefix("modforge-walk-")
            .tempdir_in(shm)
            .unwrap()
    } else {
        open_tempdir()
    };
    let root = tmp.path().join("flat");
    let big = root.join("big");
    fs::create_dir_all(&big).unwrap();
    std::thread::scope(|s| {
        for part in 0..4 {
            let big = &big;
            s.spawn(move || {
                for i in (part..200_000).step_by(4) {
                    let f = File::create(big.join(format!("f{i:06}.dat"))).unwrap();
                    if i % 1000 == 0 {
                        f.set_len(i as u64).unwrap();
                    }
                }
            });
        }
    });
    // paths arrive from both workers: the stat chunks of the one folder were shared
    let workers = Mutex::new(HashSet::new());
    let consumer = |_: PathBatch| {
        workers
            .lock()
            .unwrap()
            .insert(std::thread::current().name().map(str::to_string));
        true
    };
    let hooks = Hooks {
        paths: Some(&consumer),
        ..Hooks::default()
    };
    let two = profile(&root, &opts(|o| o.threads = 2), &hooks).unwrap();
    assert_eq!(workers.into_inner().unwrap().len(), 2);
    assert_eq!((two.totals.files, two.totals.dirs), (200_000, 2));
    assert_eq!(
        two.totals.file_apparent_bytes,
        Some((0..200).map(|k| k * 1000).sum())
    );
    assert_eq!(two.totals.apparent_bytes, Some(du(&["-sb"], &root)));
    assert_eq!(two.largest_files[0].path, "big/f199000.dat");
    assert_eq!(two.top_dirs_by_file_count[0].files, 200_000);
    let one = run(&root, &opts(|o| o.threads = 1));
    assert_eq!(comparable(one), comparable(two));
}

#[test]
fn wide_tree_under_a_64_file_limit() {
    if let Some(root) = std::env::var_os(CHILD_ENV) {
        for threads in [2, 16] {
            let r = run(Path::new(&root), &opts(|o| o.threads = threads));
            emit(
                &format!("t{threads}"),
                format!("{}|{}|{}", r.totals.files, r.totals.dirs, r.totals.errors),
            );
        }
        return;
    }
    let tmp = open_tempdir();
    let root = tmp.path().join("wide");
    generate_tree(
        &root,
        &TreeSpec {
            shape: Shape::Wide,
            entries: 30_000,
            ..TreeSpec::default()
        },
    )
    .unwrap();
    let res = run_child(
        &["prlimit", "--nofile=64"],
        "wide_tree_under_a_64_file_limit",
        &root,
        &[],
    );
    let (files, dirs, _, _) = find_kinds(&root);
    for threads in [2, 16] {
        assert_eq!(
            value(&res, &format!("t{threads}")),
            format!("{files}|{dirs}|0")
        );
    }
}
