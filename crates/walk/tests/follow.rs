//! Following symbolic links (docs/profile.md, "Semantics"): every directory `(dev, ino)` is read
//! once, counts equal what `find -L` lists once each directory's entries are taken once, bytes equal
//! `du -sbL`, loops are reported and left out, and nothing depends on the thread count.
// These tests compare with GNU find/du.
#![cfg(target_os = "linux")]

mod common;

use std::collections::{HashMap, HashSet};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use modforge_gen::tree::{Shape, TreeSpec, generate_tree};
use modforge_walk::{ErrorOp, ProfileReport};

fn follow(threads: usize) -> modforge_walk::ProfileOptions {
    opts(|o| {
        o.follow_symlinks = true;
        o.threads = threads;
    })
}

fn kinds(r: &ProfileReport) -> (u64, u64, u64, u64) {
    let t = &r.totals;
    (t.files, t.dirs, t.symlinks, t.other)
}

/// Counts by kind from `find -L root`, each directory's entries taken once: `find -L` lists a
/// directory again under every path that reaches it; the key of an entry is the identity of the
/// directory holding it plus its name, and keys are counted once. Entries `find` reports as loops
/// are not listed by it.
fn find_l_once(root: &Path) -> (u64, u64, u64, u64) {
    let out = Command::new("find")
        .arg("-L")
        .arg(root)
        .args(["-printf", "%y\\0%D:%i\\0%p\\0"])
        .output()
        .expect("find");
    let fields: Vec<&[u8]> = out.stdout.split(|&b| b == 0).collect();
    let mut ids: HashMap<PathBuf, Vec<u8>> = HashMap::new();
    let mut rows = Vec::new();
    for row in fields.chunks_exact(3) {
        let (kind, id, path) = (
            row[0],
            row[1],
            PathBuf::from(std::ffi::OsStr::from_bytes(row[2])),
        );
        if kind == b"d" {
            ids.insert(path.clone(), id.to_vec());
        }
        rows.push((kind.to_vec(), path));
    }
    let mut seen = HashSet::new();
    let mut counts = (0, 0, 0, 0);
    for (kind, path) in rows {
        let key = if path == root {
            (Vec::new(), Vec::new())
        } else {
            let parent = path.parent().expect("parent");
            let parent_id = ids.get(parent).expect("parent listed").clone();
            (
                parent_id,
                path.file_name().expect("name").as_bytes().to_vec(),
            )
        };
        if !seen.insert(key) {
            continue;
        }
        match kind.as_slice() {
            b"f" => counts.0 += 1,
            b"d" => counts.1 += 1,
            b"l" => counts.2 += 1,
            _ => counts.3 += 1,
        }
    }
    counts
}

/// A link to the parent of the root: the root is reached again through it.
#[test]
fn link_to_the_roots_parent() {
    let tmp = open_tempdir();
    let p2 = tmp.path().join("p2");
    fs::create_dir_all(p2.join("r")).unwrap();
    fs::write(p2.join("r/f"), b"hi\n").unwrap();
    symlink("..", p2.join("r/up")).unwrap();
    let root = p2.join("r");
    let one = run(&root, &follow(1));
    // find -L lists r, r/up and r/f; r/up/r is a loop (it is the root)
    assert_eq!(kinds(&one), (1, 2, 0, 0));
    assert_eq!(kinds(&one), find_l_once(&root));
    assert_eq!(one.totals.apparent_bytes, Some(du(&["-sbL"], &root)));
    assert_eq!(one.totals.allocated_bytes, Some(du(&["-sB1", "-L"], &root)));
    let errors: Vec<(&str, ErrorOp, &str)> = one
        .errors
        .iter()
        .map(|e| (e.path.as_str(), e.op, e.code))
        .collect();
    assert_eq!(errors, [("up/r", ErrorOp::Lstat, "ELOOP")]);
    assert_eq!(one.depth_histogram, [1, 2]);
    for threads in [2, 8] {
        assert_eq!(
            comparable(run(&root, &follow(threads))),
            comparable(one.clone())
        );
    }
}

/// `levels` nested folders `n`, each holding `m -> n`, the deepest one a file: 2^levels paths to
/// the file, `levels + 1` folders.
fn link_dag(root: &Path, levels: usize) {
    let mut dir = root.to_path_buf();
    fs::create_dir(&dir).unwrap();
    for _ in 0..levels {
        fs::create_dir(dir.join("n")).unwrap();
        symlink("n", dir.join("m")).unwrap();
        dir.push("n");
    }
    fs::write(dir.join("f"), b"bottom\n").unwrap();
}

#[test]
fn a_folder_reached_by_many_paths_is_read_once() {
    let tmp = open_tempdir();
    // small enough for find -L, which lists every one of the 2^10 paths
    let small = tmp.path().join("dag10");
    link_dag(&small, 10);
    let r = run(&small, &follow(2));
    assert_eq!(kinds(&r), find_l_once(&small));
    assert_eq!(r.totals.apparent_bytes, Some(du(&["-sbL"], &small)));

    // 2^22 paths; every folder once: 23 read, plus the 22 names `m` counted as folders
    let big = tmp.path().join("dag22");
    link_dag(&big, 22);
    let one = run(&big, &follow(1));
    assert_eq!(kinds(&one), (1, 23 + 22, 0, 0));
    assert_eq!(one.totals.hard_link_duplicates, 22);
    assert_eq!(one.totals.errors, 0);
    assert_eq!(one.totals.apparent_bytes, Some(du(&["-sbL"], &big)));
    assert_eq!(one.totals.allocated_bytes, Some(du(&["-sB1", "-L"], &big)));
    // each folder is read under its own name, not under a link
    assert_eq!(one.depth_histogram.len(), 24);
    assert_eq!(one.largest_files[0].path, format!("{}f", "n/".repeat(22)));
    for threads in [2, 8] {
        assert_eq!(
            comparable(run(&big, &follow(threads))),
            comparable(one.clone())
        );
    }
}

#[test]
fn links_between_folders_outside_the_tree() {
    // Targets outside the root: two links reach `shared`, one reaches `shared/inner` directly.
    // Round 0 reads the root's own folders and meets the three links; round 1 reads `shared` under
    // `s2` (shallower than `x/s1`) and `inner` under `x/y/in` (its own link), so `s2/inner` is
    // another name of a folder read elsewhere.
    let tmp = open_tempdir();
    let outside = tmp.path().join("outside");
    fs::create_dir_all(outside.join("shared/inner/deeper")).unwrap();
    fs::write(outside.join("shared/a.txt"), b"12345").unwrap();
    fs::write(outside.join("shared/inner/b.txt"), b"1234567").unwrap();
    fs::write(outside.join("shared/inner/deeper/c.txt"), b"1").unwrap();
    symlink("../..", outside.join("shared/inner/deeper/back")).unwrap();
    symlink("..", outside.join("shared/inner/deeper/up")).unwrap();
    let root = tmp.path().join("root");
    fs::create_dir_all(root.join("x/y")).unwrap();
    symlink(outside.join("shared"), root.join("x/s1")).unwrap();
    symlink(outside.join("shared"), root.join("s2")).unwrap();
    symlink(outside.join("shared/inner"), root.join("x/y/in")).unwrap();
    let one = run(&root, &follow(1));
    assert_eq!(kinds(&one), find_l_once(&root));
    assert_eq!(one.totals.apparent_bytes, Some(du(&["-sbL"], &root)));
    let mut files: Vec<&str> = one.largest_files.iter().map(|f| f.path.as_str()).collect();
    files.sort_unstable();
    assert_eq!(files, ["s2/a.txt", "x/y/in/b.txt", "x/y/in/deeper/c.txt"]);
    // x/s1 and back are other names of shared, s2/inner of inner
    assert_eq!(one.totals.hard_link_duplicates, 3);
    // `up` leads to inner, an ancestor of the folder holding it
    let errors: Vec<(&str, ErrorOp, &str)> = one
        .errors
        .iter()
        .map(|e| (e.path.as_str(), e.op, e.code))
        .collect();
    assert_eq!(errors, [("x/y/in/deeper/up", ErrorOp::Stat, "ELOOP")]);
    for threads in [2, 3, 8] {
        assert_eq!(
            comparable(run(&root, &follow(threads))),
            comparable(one.clone())
        );
    }
}

#[test]
fn generated_tree_with_every_sort_of_link() {
    let tmp = open_tempdir();
    let root = tmp.path().join("tree");
    let spec = TreeSpec {
        shape: Shape::Mixed,
        entries: 4_000,
        seed: 21,
        extras: true,
        outside: Some(tmp.path().join("outside")),
        ..TreeSpec::default()
    };
    generate_tree(&root, &spec).expect("generate");
    let r = run(&root, &follow(2));
    assert_eq!(kinds(&r), find_l_once(&root));
    // du -L cannot access the dangling link and leaves it out; the profile counts it as a link
    // with its own size
    let dangling = fs::symlink_metadata(root.join("extras/symlinks/dangling"))
        .unwrap()
        .len();
    assert_eq!(
        r.totals.apparent_bytes,
        Some(du(&["-sbL"], &root) + dangling)
    );
    assert!(
        r.errors
            .iter()
            .any(|e| e.path == "extras/symlinks/self" && e.code == "ELOOP")
    );
}
