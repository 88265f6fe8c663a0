//! Unreadable folders, error limits and strict mode. The machine runs tests as root, which reads
//! everything, so each case re-runs itself in a child process as user nobody (`setpriv`) and prints
//! the values the parent asserts.
// These tests compare with GNU find/du and use Linux-only facilities (setpriv, prlimit, /proc).
#![cfg(target_os = "linux")]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use modforge_gen::tree::{Shape, TreeSpec, generate_tree};
use modforge_walk::{Error, Hooks, ProfileOptions, profile};

fn child_root() -> Option<std::path::PathBuf> {
    std::env::var_os(CHILD_ENV).map(Into::into)
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Child half: profile and print totals and error rows.
fn emit_report(root: &Path, options: &ProfileOptions) {
    let r = run(root, options);
    let t = &r.totals;
    emit("files", t.files);
    emit("dirs", t.dirs);
    emit("apparent", t.apparent_bytes.map_or(-1, |b| b as i64));
    emit("errors", t.errors);
    emit("empty", t.empty_dirs);
    for e in &r.errors {
        emit(
            "error",
            format!("{}|{}|{}|{}", e.path, e.op, e.code, e.errno),
        );
    }
}

fn rows(results: &[(String, String)]) -> Vec<String> {
    results
        .iter()
        .filter(|(k, _)| k == "error")
        .map(|(_, v)| v.clone())
        .collect()
}

fn unreadable_tree() -> tempfile::TempDir {
    let tmp = open_tempdir();
    let r = tmp.path().join("tree");
    fs::create_dir_all(r.join("ok")).unwrap();
    write(&r.join("ok/a.txt"), 100);
    write(&r.join("ok/b.txt"), 200);
    fs::create_dir(r.join("locked")).unwrap();
    write(&r.join("locked/s1"), 10);
    write(&r.join("locked/s2"), 10);
    fs::create_dir(r.join("nosearch")).unwrap();
    for n in ["n1", "n2", "n3"] {
        write(&r.join("nosearch").join(n), 50);
    }
    chmod(&r.join("locked"), 0o000);
    chmod(&r.join("nosearch"), 0o644);
    tmp
}

#[test]
fn unreadable_folders_as_unprivileged_user() {
    if let Some(root) = child_root() {
        let names_only = std::env::var("MODE").is_ok_and(|m| m == "names");
        emit_report(&root, &opts(|o| o.stats = !names_only));
        return;
    }
    let tmp = unreadable_tree();
    let root = tmp.path().join("tree");
    let name = "unreadable_folders_as_unprivileged_user";
    let res = run_child(NOBODY, name, &root, &[]);
    // The names of the 644 folder are listed but cannot be stat'ed: counted with their listed
    // kind and no bytes, as find lists them (du leaves them out: bytes still equal du's).
    assert_eq!(value(&res, "files"), "5");
    assert_eq!(value(&res, "dirs"), "4");
    assert_eq!(value(&res, "errors"), "4");
    assert_eq!(
        value(&res, "files"),
        find_as(NOBODY, &root, &["-type", "f"]).to_string()
    );
    let all: u64 = ["files", "dirs"]
        .iter()
        .map(|k| value(&res, k).parse::<u64>().unwrap())
        .sum();
    assert_eq!(all, find_as(NOBODY, &root, &[]));
    assert_eq!(value(&res, "empty"), "0");
    assert_eq!(
        rows(&res),
        [
            "locked|opendir|EACCES|13",
            "nosearch/n1|lstat|EACCES|13",
            "nosearch/n2|lstat|EACCES|13",
            "nosearch/n3|lstat|EACCES|13"
        ]
    );
    // du as the same user: the unreadable folders count with their own size, the rest is summed
    let apparent: u64 = value(&res, "apparent").parse().unwrap();
    assert_eq!(apparent, du_as(NOBODY, &["-sb"], &root));
    // as root everything is readable
    let all = run(&root, &opts(|_| {}));
    assert_eq!((all.totals.files, all.totals.errors), (7, 0));

    // names only: the 644 folder's names are listed without any stat; same counts
    let res = run_child(NOBODY, name, &root, &[("MODE", "names")]);
    assert_eq!(value(&res, "files"), "5");
    assert_eq!(value(&res, "dirs"), "4");
    assert_eq!(rows(&res), ["locked|opendir|EACCES|13"]);
}

#[test]
fn generated_extras_as_unprivileged_user() {
    if let Some(root) = child_root() {
        emit_report(&root, &ProfileOptions::default());
        return;
    }
    let tmp = open_tempdir();
    let root = tmp.path().join("tree");
    let spec = TreeSpec {
        shape: Shape::Node,
        entries: 3_000,
        extras: true,
        ..TreeSpec::default()
    };
    let summary = generate_tree(&root, &spec).unwrap();
    let res = run_child(NOBODY, "generated_extras_as_unprivileged_user", &root, &[]);
    assert_eq!(
        rows(&res),
        [
            "extras/locked-000|opendir|EACCES|13",
            "extras/nosearch-644/n1|lstat|EACCES|13",
            "extras/nosearch-644/n2|lstat|EACCES|13",
            "extras/nosearch-644/n3|lstat|EACCES|13"
        ]
    );
    // only the two files of the unreadable folder are missing
    assert_eq!(
        value(&res, "files").parse::<u64>().unwrap(),
        summary.files - 2
    );
    assert_eq!(
        value(&res, "apparent").parse::<u64>().unwrap(),
        du_as(NOBODY, &["-sb"], &root)
    );
}

#[test]
fn error_limit_lists_the_smallest_paths() {
    if let Some(root) = child_root() {
        emit_report(&root, &opts(|o| o.error_limit = 100));
        return;
    }
    let tmp = open_tempdir();
    let root = tmp.path().join("tree");
    fs::create_dir(&root).unwrap();
    // created in reverse order so directory order differs from path order
    for i in (0..150).rev() {
        let d = root.join(format!("u{i:03}"));
        fs::create_dir(&d).unwrap();
        write(&d.join("f"), 1);
        chmod(&d, 0o000);
    }
    let res = run_child(NOBODY, "error_limit_lists_the_smallest_paths", &root, &[]);
    assert_eq!(value(&res, "errors"), "150");
    assert_eq!(value(&res, "dirs"), "151");
    let expected: Vec<String> = (0..100)
        .map(|i| format!("u{i:03}|opendir|EACCES|13"))
        .collect();
    assert_eq!(rows(&res), expected);
}

#[test]
fn strict_rejects_the_first_error() {
    if let Some(root) = child_root() {
        match profile(&root, &opts(|o| o.strict = true), &Hooks::default()) {
            Err(Error::Io { path, op, source }) => {
                emit("path", path.display());
                emit("op", op);
                emit("errno", source.raw_os_error().unwrap_or(0));
            }
            other => emit("unexpected", format!("{other:?}").replace(' ', "_")),
        }
        return;
    }
    let tmp = unreadable_tree();
    let root = tmp.path().join("tree");
    let res = run_child(NOBODY, "strict_rejects_the_first_error", &root, &[]);
    let path = value(&res, "path");
    let op = value(&res, "op");
    // which error comes first depends on scheduling; both are EACCES with an absolute path
    assert!(
        (path == root.join("locked").display().to_string() && op == "opendir")
            || (path.starts_with(&root.join("nosearch/n").display().to_string()) && op == "lstat"),
        "{path} {op}"
    );
    assert_eq!(value(&res, "errno"), "13");
    // As root, who may read every folder, the same tree completes even with strict.
    assert_eq!(run(&root, &opts(|o| o.strict = true)).totals.errors, 0);
}
