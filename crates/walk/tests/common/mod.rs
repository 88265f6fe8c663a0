//! Helpers shared by the integration tests: the T1 tree, system tools, child processes.
#![allow(dead_code)]

use std::fs::{self, File, FileTimes};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use modforge_walk::{Hooks, ProfileOptions, ProfileReport, profile};
use tempfile::TempDir;

pub const DAY: u64 = 86_400;

/// A temporary directory readable by every user (the unprivileged child processes walk it).
pub fn open_tempdir() -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix("modforge-walk-")
        .tempdir()
        .expect("tempdir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod tempdir");
    dir
}

pub fn write(path: &Path, len: usize) {
    fs::write(path, vec![b'x'; len]).expect("write");
}

pub fn set_age(path: &Path, days: u64) {
    let t = SystemTime::now() - Duration::from_secs(days * DAY);
    File::options()
        .write(true)
        .open(path)
        .expect("open")
        .set_times(FileTimes::new().set_modified(t))
        .expect("utimes");
}

/// The tree T1 (docs/profile.md, "Test tree T1"): returns the tempdir holding it at `<tmp>/t1`.
pub fn t1() -> TempDir {
    let tmp = open_tempdir();
    let r = tmp.path().join("t1");
    fs::create_dir(&r).unwrap();
    write(&r.join("a.txt"), 100);
    set_age(&r.join("a.txt"), 2);
    write(&r.join("b.TXT"), 200);
    set_age(&r.join("b.TXT"), 10);
    write(&r.join(".hidden"), 10);
    write(&r.join("noext"), 0);
    set_age(&r.join("noext"), 400);
    write(&r.join("archive.tar.gz"), 1000);
    set_age(&r.join("archive.tar.gz"), 100);
    fs::create_dir(r.join("dir1")).unwrap();
    write(&r.join("dir1/c.js"), 300);
    write(&r.join("dir1/hl1"), 4096);
    fs::create_dir(r.join("dir2")).unwrap();
    fs::hard_link(r.join("dir1/hl1"), r.join("dir2/hl2")).unwrap();
    fs::create_dir(r.join("empty")).unwrap();
    symlink("a.txt", r.join("link-file")).unwrap();
    symlink("dir1", r.join("link-dir")).unwrap();
    symlink(".", r.join("loop")).unwrap();
    tmp
}

pub fn run(root: &Path, options: &ProfileOptions) -> ProfileReport {
    profile(root, options, &Hooks::default())
        .unwrap_or_else(|e| panic!("profile {}: {e}", root.display()))
}

pub fn opts(f: impl FnOnce(&mut ProfileOptions)) -> ProfileOptions {
    let mut o = ProfileOptions::default();
    f(&mut o);
    o
}

/// The report without the fields allowed to differ between runs.
pub fn comparable(mut r: ProfileReport) -> ProfileReport {
    r.timing.elapsed_ms = 0.0;
    r.timing.entries_per_second = 0.0;
    r.timing.threads = 0;
    r.options.threads = 0;
    r
}

fn output(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `du <args> root` (first field), as the given user prefix (`&[]` = this process's user).
pub fn du_as(prefix: &[&str], args: &[&str], root: &Path) -> u64 {
    let mut cmd = match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg("du");
            c
        }
        None => Command::new("du"),
    };
    cmd.args(args).arg(root);
    let text = output(&mut cmd);
    text.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("du output {text:?}"))
}

pub fn du(args: &[&str], root: &Path) -> u64 {
    du_as(&[], args, root)
}

/// Entries `find root <filter>` lists (counted with `-printf .`, safe for names with newlines).
pub fn find_count(root: &Path, filter: &[&str]) -> u64 {
    find_as(&[], root, filter)
}

/// [`find_count`] as the given user prefix (`&[]` = this process's user).
pub fn find_as(prefix: &[&str], root: &Path, filter: &[&str]) -> u64 {
    let mut cmd = match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg("find");
            c
        }
        None => Command::new("find"),
    };
    cmd.arg(root).args(filter).args(["-printf", "."]);
    output(&mut cmd).len() as u64
}

/// Counts by kind as `find` sees them: (files, dirs, symlinks, other).
pub fn find_kinds(root: &Path) -> (u64, u64, u64, u64) {
    let all = find_count(root, &[]);
    let f = find_count(root, &["-type", "f"]);
    let d = find_count(root, &["-type", "d"]);
    let l = find_count(root, &["-type", "l"]);
    (f, d, l, all - f - d - l)
}

pub const NOBODY: &[&str] = &[
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
];

/// Name of the environment variable that turns a test into its child-process half.
pub const CHILD_ENV: &str = "MODFORGE_WALK_CHILD_ROOT";

/// Re-runs test `name` of this test binary as user nobody (or under `prefix`), with `CHILD_ENV` set
/// to `root`; returns the `KEY value` lines the child printed after `RESULT`.
pub fn run_child(
    prefix: &[&str],
    name: &str,
    root: &Path,
    extra_env: &[(&str, &str)],
) -> Vec<(String, String)> {
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    cmd.args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, root);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("spawn child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter_map(|l| {
            l.find("RESULT ")
                .and_then(|at| l.get(at + "RESULT ".len()..))
        })
        .filter_map(|l| {
            l.split_once(' ')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

pub fn value<'a>(results: &'a [(String, String)], key: &str) -> &'a str {
    results
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {key} in {results:?}"))
}

/// Prints one result line for the parent.
pub fn emit(key: &str, value: impl std::fmt::Display) {
    println!("RESULT {key} {value}");
}
