//! Edge cases of names, sizes, ages, empty folders and special files.
// These tests compare with GNU find/du and use Linux-only facilities (setpriv, prlimit, /proc).
#![cfg(target_os = "linux")]

mod common;

use std::fs::{self, File, FileTimes};
use std::os::unix::fs::symlink;
use std::time::{Duration, SystemTime};

use common::*;
use modforge_walk::AgeBucket;

#[test]
fn extension_edge_names() {
    let tmp = open_tempdir();
    let r = tmp.path().join("t");
    fs::create_dir(&r).unwrap();
    for name in [
        ".bashrc", "a.", "A.TAR.GZ", "x.<none>", "b.Gz", "..foo", "noext",
    ] {
        write(&r.join(name), 1);
    }
    let rows: Vec<(String, u64)> = run(&r, &opts(|_| {}))
        .extensions
        .into_iter()
        .map(|e| (e.ext, e.count))
        .collect();
    let s = |x: &str| x.to_string();
    assert_eq!(
        rows,
        [
            (s("<none>"), 3),
            (s(".gz"), 2),
            (s(".<none>"), 1),
            (s(".foo"), 1)
        ]
    );
    // the extensions option: "" selects files without extension, case and dot do not matter
    let r2 = run(&r, &opts(|o| o.extensions = vec!["".into(), ".GZ".into()]));
    assert_eq!((r2.totals.files, r2.totals.skipped), (5, 2));
}

#[test]
fn empty_folders() {
    let tmp = open_tempdir();
    let r = tmp.path().join("t");
    fs::create_dir_all(r.join("e/f")).unwrap();
    fs::create_dir_all(r.join("only-hidden")).unwrap();
    write(&r.join("only-hidden/.dot"), 1);
    fs::create_dir_all(r.join("z/empty2")).unwrap();
    let rep = run(&r, &opts(|o| o.include_hidden = false));
    assert_eq!(rep.empty_dirs, ["e/f", "z/empty2"]);
    assert_eq!(rep.totals.empty_dirs, 2);
    let limited = run(&r, &opts(|o| o.empty_dir_limit = 1));
    assert_eq!(
        (limited.empty_dirs.len(), limited.totals.empty_dirs),
        (1, 2)
    );
    assert_eq!(limited.empty_dirs, ["e/f"]);
    // an empty root is itself an empty folder
    let rep = run(&r.join("e/f"), &opts(|_| {}));
    assert_eq!(rep.empty_dirs, ["."]);
}

#[test]
fn future_mtime_is_less_than_a_day() {
    let tmp = open_tempdir();
    let r = tmp.path().join("t");
    fs::create_dir(&r).unwrap();
    let f = r.join("future");
    write(&f, 5);
    let t = SystemTime::now() + Duration::from_secs(5 * DAY);
    File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_times(FileTimes::new().set_modified(t))
        .unwrap();
    write(&r.join("exactly-a-day"), 7);
    set_age(&r.join("exactly-a-day"), 1);
    let ages = run(&r, &opts(|_| {})).ages.unwrap();
    assert_eq!(
        (ages[0].bucket, ages[0].count, ages[0].apparent_bytes),
        (AgeBucket::Day, 1, 5)
    );
    assert_eq!(
        (ages[1].bucket, ages[1].count, ages[1].apparent_bytes),
        (AgeBucket::Week, 1, 7)
    );
}

#[test]
fn hard_link_pair_split_by_exclude() {
    let tmp = open_tempdir();
    let r = tmp.path().join("t");
    fs::create_dir_all(r.join("a")).unwrap();
    fs::create_dir_all(r.join("b")).unwrap();
    write(&r.join("b/y"), 700);
    fs::hard_link(r.join("b/y"), r.join("a/x")).unwrap();
    let rep = run(&r, &opts(|o| o.exclude = vec!["a".into()]));
    assert_eq!((rep.totals.files, rep.totals.hard_link_duplicates), (1, 0));
    assert_eq!(rep.totals.file_apparent_bytes, Some(700));
    assert_eq!(rep.largest_files[0].path, "b/y");
    let both = run(&r, &opts(|_| {}));
    assert_eq!(
        (both.totals.files, both.totals.hard_link_duplicates),
        (2, 1)
    );
    // the smallest path wins and carries the bytes, also in the folder table
    assert_eq!(
        both.largest_files
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>(),
        ["a/x"]
    );
    let a = both
        .top_dirs_by_size
        .iter()
        .find(|d| d.path == "a")
        .unwrap();
    let b = both
        .top_dirs_by_size
        .iter()
        .find(|d| d.path == "b")
        .unwrap();
    assert_eq!(a.apparent_bytes - b.apparent_bytes, 700);
}

#[test]
fn dangling_symlink_followed_is_a_symlink() {
    let tmp = open_tempdir();
    let r = tmp.path().join("t");
    fs::create_dir(&r).unwrap();
    symlink("nowhere", r.join("dangling")).unwrap();
    symlink("dangling", r.join("to-dangling")).unwrap();
    let rep = run(&r, &opts(|o| o.follow_symlinks = true));
    assert_eq!((rep.totals.symlinks, rep.totals.errors), (2, 0));
}

#[test]
fn sparse_file_sizes() {
    let tmp = open_tempdir();
    let r = tmp.path().join("t");
    fs::create_dir(&r).unwrap();
    File::create(r.join("sparse"))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let rep = run(&r, &opts(|_| {}));
    assert_eq!(rep.totals.file_apparent_bytes, Some(1_073_741_824));
    assert!(rep.totals.file_allocated_bytes.unwrap() < 1 << 20);
    assert_eq!(rep.totals.allocated_bytes, Some(du(&["-sB1"], &r)));
}

#[test]
fn byte_sums_saturate() {
    // tmpfs allows files of i64::MAX bytes: three of them sum past u64::MAX
    let shm = std::path::Path::new("/dev/shm");
    assert!(shm.is_dir(), "the test needs tmpfs at /dev/shm");
    let tmp = tempfile::Builder::new()
        .prefix("modforge-walk-")
        .tempdir_in(shm)
        .unwrap();
    for name in ["a.big", "b.big", "c.big"] {
        File::create(tmp.path().join(name))
            .unwrap()
            .set_len(i64::MAX as u64)
            .unwrap();
    }
    let rep = run(tmp.path(), &opts(|_| {}));
    assert_eq!(rep.totals.apparent_bytes, Some(u64::MAX));
    assert_eq!(rep.totals.file_apparent_bytes, Some(u64::MAX));
    assert_eq!(rep.extensions[0].apparent_bytes, Some(u64::MAX));
    assert_eq!(rep.top_dirs_by_size[0].apparent_bytes, u64::MAX);
    assert_eq!(rep.largest_files[0].apparent_bytes, i64::MAX as u64);
    assert_eq!(rep.ages.unwrap()[0].apparent_bytes, u64::MAX);
}

#[test]
fn fifo_and_socket_are_other_and_never_opened() {
    let tmp = open_tempdir();
    let r = tmp.path().join("t");
    fs::create_dir(&r).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(r.join("fifo"))
        .status()
        .unwrap();
    assert!(status.success());
    drop(std::os::unix::net::UnixListener::bind(r.join("socket")).unwrap());
    for options in [
        opts(|_| {}),
        opts(|o| o.stats = false),
        opts(|o| o.follow_symlinks = true),
    ] {
        let rep = run(&r, &options);
        assert_eq!((rep.totals.other, rep.totals.files), (2, 0));
    }
}

#[test]
fn awkward_names_are_counted() {
    let tmp = open_tempdir();
    let r = tmp.path().join("t");
    fs::create_dir(&r).unwrap();
    use std::os::unix::ffi::OsStrExt;
    for name in ["caf\u{e9}", "cafe\u{301}", "new\nline", "\u{1F3AE}"] {
        write(&r.join(name), 3);
    }
    write(&r.join(std::ffi::OsStr::from_bytes(b"bad\xff")), 3);
    let rep = run(&r, &opts(|_| {}));
    assert_eq!(rep.totals.files, 5);
    assert!(rep.largest_files.iter().any(|f| f.path == "bad\u{FFFD}"));
    assert!(rep.largest_files.iter().any(|f| f.path == "new\nline"));
}
