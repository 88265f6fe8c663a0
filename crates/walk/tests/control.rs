//! Callbacks, argument errors, root handling, symlink following, depth and exclude semantics.
// These tests compare with GNU find/du and use Linux-only facilities (setpriv, prlimit, /proc).
#![cfg(target_os = "linux")]

mod common;

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use common::*;
use modforge_core::{Cancel, Control, Progress, Stage};
use modforge_gen::tree::{Shape, TreeSpec, generate_tree};
use modforge_walk::{Error, ErrorOp, Hooks, PATH_BATCH_MAX, PathBatch, profile};

fn generated(shape: Shape, entries: u64) -> tempfile::TempDir {
    let tmp = open_tempdir();
    let spec = TreeSpec {
        shape,
        entries,
        seed: 5,
        extras: true,
        ..TreeSpec::default()
    };
    generate_tree(&tmp.path().join("tree"), &spec).expect("generate");
    tmp
}

/// Every entry below `root` (not following links), with its `lstat` size, by an independent walk.
fn std_walk(root: &Path) -> HashMap<String, u64> {
    fn go(dir: &Path, rel: &str, out: &mut HashMap<String, u64>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta = fs::symlink_metadata(entry.path()).unwrap();
            out.insert(path.clone(), meta.len());
            if meta.is_dir() {
                go(&entry.path(), &path, out);
            }
        }
    }
    let mut out = HashMap::new();
    out.insert(".".to_string(), fs::metadata(root).unwrap().len());
    go(root, "", &mut out);
    out
}

#[test]
fn collect_paths_returns_every_counted_entry_once() {
    let tmp = generated(Shape::Mixed, 12_000);
    let root = tmp.path().join("tree");
    let batches: Mutex<Vec<PathBatch>> = Mutex::new(Vec::new());
    let consumer = |b: PathBatch| {
        batches.lock().unwrap().push(b);
        true
    };
    let hooks = Hooks {
        paths: Some(&consumer),
        ..Hooks::default()
    };
    let r = profile(&root, &opts(|o| o.threads = 2), &hooks).unwrap();
    let batches = batches.into_inner().unwrap();
    let mut seen: HashMap<String, (u8, u64)> = HashMap::new();
    for b in &batches {
        assert!(!b.paths.is_empty() && b.paths.len() <= PATH_BATCH_MAX);
        let sizes = b.apparent_bytes.as_ref().unwrap();
        assert_eq!((b.kinds.len(), sizes.len()), (b.paths.len(), b.paths.len()));
        for ((p, k), s) in b.paths.iter().zip(&b.kinds).zip(sizes) {
            assert!(seen.insert(p.clone(), (*k, *s)).is_none(), "{p} twice");
        }
    }
    let t = &r.totals;
    assert_eq!(seen.len() as u64, t.files + t.dirs + t.symlinks + t.other);
    let expected = std_walk(&root);
    assert_eq!(seen.len(), expected.len());
    for (path, size) in &expected {
        assert_eq!(seen.get(path).map(|v| v.1), Some(*size), "{path}");
    }
    let kinds = |k: u8| seen.values().filter(|v| v.0 == k).count() as u64;
    assert_eq!(
        (kinds(0), kinds(1), kinds(2), kinds(3)),
        (t.files, t.dirs, t.symlinks, t.other)
    );
    assert_eq!(
        seen.get("."),
        Some(&(1, fs::metadata(&root).unwrap().len()))
    );
    assert!(
        seen.keys().any(|p| p.contains('\u{FFFD}')),
        "invalid UTF-8 name converted lossily"
    );
    assert!(seen.keys().any(|p| p.contains('\n')));

    // names only: no sizes; an exclude removes entries from the batches too
    let batches: Mutex<Vec<PathBatch>> = Mutex::new(Vec::new());
    let consumer = |b: PathBatch| {
        batches.lock().unwrap().push(b);
        true
    };
    let hooks = Hooks {
        paths: Some(&consumer),
        ..Hooks::default()
    };
    let r = profile(
        &root,
        &opts(|o| {
            o.stats = false;
            o.exclude = vec!["*.md".into()];
        }),
        &hooks,
    )
    .unwrap();
    let batches = batches.into_inner().unwrap();
    assert!(batches.iter().all(|b| b.apparent_bytes.is_none()));
    let paths: Vec<&String> = batches.iter().flat_map(|b| &b.paths).collect();
    assert!(paths.iter().all(|p| !p.ends_with(".md")));
    let md = expected.keys().filter(|p| p.ends_with(".md")).count() as u64;
    assert_eq!(paths.len() as u64, expected.len() as u64 - md);
    assert_eq!(r.totals.skipped, md);
}

#[test]
fn big_batches_are_split_at_the_cap() {
    let tmp = open_tempdir();
    let root = tmp.path().join("flat");
    fs::create_dir(&root).unwrap();
    for i in 0..20_000 {
        fs::File::create(root.join(format!("{i}"))).unwrap();
    }
    let sizes: Mutex<Vec<usize>> = Mutex::new(Vec::new());
    let consumer = |b: PathBatch| {
        sizes.lock().unwrap().push(b.paths.len());
        true
    };
    // Batches are also handed over when they are older than the interval, which on a loaded
    // machine happens before one fills up: with an interval longer than any walk, the sizes depend
    // on the tree alone. One worker never runs out of work before the end, so every batch but the
    // last is full.
    let hooks = Hooks {
        paths: Some(&consumer),
        path_interval: Some(std::time::Duration::from_secs(24 * 3600)),
        ..Hooks::default()
    };
    profile(&root, &opts(|o| o.threads = 1), &hooks).unwrap();
    let sizes = sizes.into_inner().unwrap();
    assert_eq!(
        sizes,
        [PATH_BATCH_MAX, PATH_BATCH_MAX, 20_001 - 2 * PATH_BATCH_MAX]
    );
}

#[test]
fn progress_ends_with_the_totals() {
    let tmp = generated(Shape::Node, 15_000);
    let root = tmp.path().join("tree");
    let events: Mutex<Vec<(u64, Option<u64>, String)>> = Mutex::new(Vec::new());
    let callback = |p: &Progress<'_>| {
        assert_eq!(p.stage, Stage::Walk);
        events
            .lock()
            .unwrap()
            .push((p.done, p.bytes, p.current.to_string()))
    };
    let hooks = Hooks {
        control: Control {
            cancel: None,
            progress: Some(&callback),
        },
        ..Hooks::default()
    };
    let r = profile(&root, &opts(|_| {}), &hooks).unwrap();
    let events = events.into_inner().unwrap();
    let last = events.last().unwrap();
    let t = &r.totals;
    assert_eq!(last.0, t.files + t.dirs + t.symlinks + t.other);
    assert_eq!(last.1, t.apparent_bytes);
    assert_eq!(last.2, ".");
    for pair in events.windows(2) {
        assert!(pair[0].0 <= pair[1].0);
    }
}

#[test]
fn callbacks_can_stop_the_walk() {
    let tmp = generated(Shape::Wide, 6_000);
    let root = tmp.path().join("tree");
    // a path consumer that refuses
    let refuse = |_: PathBatch| false;
    let hooks = Hooks {
        paths: Some(&refuse),
        ..Hooks::default()
    };
    assert!(matches!(
        profile(&root, &opts(|_| {}), &hooks),
        Err(Error::Aborted)
    ));
    // panicking callbacks become internal errors
    let panicking = |_: PathBatch| -> bool { panic!("consumer bug") };
    let hooks = Hooks {
        paths: Some(&panicking),
        ..Hooks::default()
    };
    match profile(&root, &opts(|_| {}), &hooks) {
        Err(Error::Internal(m)) => assert!(m.contains("consumer bug"), "{m}"),
        other => panic!("{other:?}"),
    }
    let panicking = |_: &Progress<'_>| panic!("progress bug");
    let hooks = Hooks {
        control: Control {
            cancel: None,
            progress: Some(&panicking),
        },
        ..Hooks::default()
    };
    match profile(&root, &opts(|_| {}), &hooks) {
        Err(Error::Internal(m)) => assert!(m.contains("progress bug"), "{m}"),
        other => panic!("{other:?}"),
    }
    // a pre-set cancel flag rejects without walking
    let cancel = Cancel::new();
    cancel.cancel();
    let hooks = Hooks {
        control: Control {
            cancel: Some(&cancel),
            progress: None,
        },
        ..Hooks::default()
    };
    assert!(matches!(
        profile(Path::new("/nonexistent/x"), &opts(|_| {}), &hooks),
        Err(Error::Aborted)
    ));
    // and the next call succeeds
    assert_eq!(run(&root, &opts(|_| {})).totals.errors, 0);
}

#[test]
fn invalid_arguments_are_rejected() {
    let tmp = t1();
    let root = tmp.path().join("t1");
    let invalid = |o: modforge_walk::ProfileOptions| match profile(&root, &o, &Hooks::default()) {
        Err(Error::InvalidArgument(m)) => m,
        other => panic!("{other:?}"),
    };
    assert!(invalid(opts(|o| o.exclude = vec!["[".into()])).contains("\"[\""));
    assert!(invalid(opts(|o| o.include = vec!["a/[z-a]".into()])).contains("a/[z-a]"));
    invalid(opts(|o| {
        o.min_size = 1;
        o.stats = false;
    }));
    invalid(opts(|o| o.threads = 513));
    assert_eq!(run(&root, &opts(|o| o.threads = 512)).totals.files, 8);
}

#[test]
fn a_nul_byte_in_the_root_is_an_invalid_argument() {
    // No system call takes such a path: the argument is wrong, nothing was tried on the disk.
    let tmp = t1();
    let mut bad = tmp.path().join("t1").into_os_string();
    bad.push("\0x");
    for options in [
        opts(|_| {}),
        opts(|o| o.strict = true),
        opts(|o| o.stats = false),
    ] {
        match profile(Path::new(&bad), &options, &Hooks::default()) {
            Err(Error::InvalidArgument(message)) => assert!(message.contains("NUL"), "{message}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn root_errors_and_root_forms() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return dot_root_child();
    }
    let tmp = t1();
    let root = tmp.path().join("t1");
    match profile(&root.join("missing"), &opts(|_| {}), &Hooks::default()) {
        Err(e @ Error::Io { .. }) => {
            assert_eq!((e.code(), e.errno()), (Some("ENOENT"), Some(2)));
            assert!(
                matches!(&e, Error::Io { path, op: ErrorOp::Stat, .. } if path.ends_with("missing"))
            );
        }
        other => panic!("{other:?}"),
    }
    match profile(
        &root.join("a.txt"),
        &opts(|o| o.strict = false),
        &Hooks::default(),
    ) {
        Err(e @ Error::Io { .. }) => assert_eq!((e.code(), e.errno()), (Some("ENOTDIR"), Some(20))),
        other => panic!("{other:?}"),
    }
    let base = comparable(run(&root, &opts(|_| {})));
    let same = |mut r: modforge_walk::ProfileReport| {
        r = comparable(r);
        r.root = base.root.clone();
        assert_eq!(r, base);
    };
    // trailing slash
    let mut slash = root.as_os_str().to_owned();
    slash.push("/");
    same(run(Path::new(&slash), &opts(|_| {})));
    // a symlink to the root is resolved
    std::os::unix::fs::symlink(&root, tmp.path().join("via-link")).unwrap();
    same(run(&tmp.path().join("via-link"), &opts(|_| {})));
    // a hidden root is walked with include_hidden false (the rule never applies to the root)
    fs::rename(&root, tmp.path().join(".t1")).unwrap();
    let hidden = run(&tmp.path().join(".t1"), &opts(|o| o.include_hidden = false));
    assert_eq!((hidden.totals.files, hidden.totals.skipped), (7, 1));
    fs::rename(tmp.path().join(".t1"), &root).unwrap();
    // "." from inside the root (child process with that working directory)
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "root_errors_and_root_forms", "--nocapture"])
        .env(CHILD_ENV, ".")
        .current_dir(&root)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let line = text
        .lines()
        .find_map(|l| l.find("RESULT ").map(|i| &l[i + 7..]))
        .unwrap();
    let t = &base.totals;
    assert_eq!(
        line,
        format!(
            "dot {} {} {} {:?} {}",
            t.files, t.dirs, t.symlinks, t.apparent_bytes, base.root
        )
    );
}

/// Child half of `root_errors_and_root_forms`: profiles "." in its working directory.
fn dot_root_child() {
    let r = run(Path::new("."), &opts(|_| {}));
    let t = &r.totals;
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(r.root, cwd.to_string_lossy());
    emit(
        "dot",
        format!(
            "{} {} {} {:?} {}",
            t.files, t.dirs, t.symlinks, t.apparent_bytes, r.root
        ),
    );
}

#[test]
fn follow_symlinks_terminates_on_loops() {
    let tmp = generated(Shape::Node, 2_000);
    let root = tmp.path().join("tree");
    let r = run(&root, &opts(|o| o.follow_symlinks = true));
    // `self -> .` leads to the folder holding it: a loop. The 2-link cycle `a/b -> ../c`,
    // `c/d -> ../a` is no loop of the walk: `a` and `c` are read under their own names, so `a/b`
    // and `c/d` are further names of folders read elsewhere.
    let loops: Vec<(&str, ErrorOp, &str)> = r
        .errors
        .iter()
        .map(|e| (e.path.as_str(), e.op, e.code))
        .collect();
    assert_eq!(loops, [("extras/symlinks/self", ErrorOp::Stat, "ELOOP")]);
    // the one remaining link is the dangling one
    assert_eq!(r.totals.symlinks, 1);
    // du -L agrees on bytes, apart from the dangling link, which du cannot access ("cannot
    // access") and the profile counts as a link with its own size
    let dangling = fs::symlink_metadata(root.join("extras/symlinks/dangling"))
        .unwrap()
        .len();
    assert_eq!(
        r.totals.apparent_bytes,
        Some(du(&["-sbL"], &root) + dangling)
    );
}

#[test]
fn max_depth_matches_find_maxdepth() {
    let tmp = generated(Shape::Mixed, 6_000);
    let root = tmp.path().join("tree");
    for depth in [0u32, 1, 2, 5] {
        let r = run(&root, &opts(|o| o.max_depth = Some(depth)));
        let t = &r.totals;
        assert_eq!(
            t.files + t.dirs + t.symlinks + t.other,
            find_count(&root, &["-maxdepth", &depth.to_string()])
        );
        assert_eq!(r.depth_histogram.len() as u32, depth + 1);
        assert_eq!(t.max_depth, depth);
        assert_eq!(t.errors, 0);
    }
}

#[test]
fn exclude_prunes_like_find() {
    let tmp = generated(Shape::Mixed, 6_000);
    let root = tmp.path().join("tree");
    // a name pattern, directories only: every node_modules folder is pruned at its first level
    let r = run(&root, &opts(|o| o.exclude = vec!["node_modules/".into()]));
    let t = &r.totals;
    let kept = find_count(
        &root,
        &["-name", "node_modules", "-type", "d", "-prune", "-o"],
    );
    let pruned = find_count(&root, &["-name", "node_modules", "-type", "d", "-prune"]);
    assert!(pruned >= 1);
    assert_eq!(t.files + t.dirs + t.symlinks + t.other, kept);
    assert_eq!(t.skipped, pruned);
    // an anchored pattern only matches at that path
    let r = run(
        &root,
        &opts(|o| o.exclude = vec!["/project/node_modules".into()]),
    );
    assert_eq!(r.totals.skipped, 1);
    // `*` does not cross `/`, `**` does
    let one = run(&root, &opts(|o| o.exclude = vec!["game/*/*.txt".into()]))
        .totals
        .skipped;
    let any = run(&root, &opts(|o| o.exclude = vec!["game/**/*.txt".into()]))
        .totals
        .skipped;
    let direct = find_count(
        &root.join("game"),
        &["-mindepth", "2", "-maxdepth", "2", "-name", "*.txt"],
    );
    let all = find_count(&root.join("game"), &["-name", "*.txt"]);
    assert_eq!((one, any), (direct, all));
    assert!(all > direct);
    // include: regular files only, any pattern
    let r = run(
        &root,
        &opts(|o| o.include = vec!["*.js".into(), "*.json".into()]),
    );
    let js = find_count(
        &root,
        &[
            "-type", "f", "(", "-name", "*.js", "-o", "-name", "*.json", ")",
        ],
    );
    assert_eq!(r.totals.files, js);
    assert_eq!(r.totals.dirs, find_count(&root, &["-type", "d"]));
    let listed: HashSet<&str> = r.extensions.iter().map(|e| e.ext.as_str()).collect();
    assert_eq!(listed, HashSet::from([".js", ".json"]));
}

#[test]
fn one_file_system_does_not_enter_other_devices() {
    use std::os::unix::fs::MetadataExt;
    // /dev/shm is a tmpfs mounted inside /dev
    let dev = Path::new("/dev");
    let shm = dev.join("shm");
    let (Ok(d), Ok(s)) = (fs::metadata(dev), fs::metadata(&shm)) else {
        panic!("needs /dev and /dev/shm")
    };
    assert_ne!(
        d.dev(),
        s.dev(),
        "the test needs /dev/shm on its own file system"
    );
    let marker = tempfile::Builder::new()
        .prefix("modforge-walk-")
        .tempdir_in(&shm)
        .unwrap();
    let marker_rel = format!(
        "shm/{}",
        marker.path().file_name().unwrap().to_string_lossy()
    );
    let collect = |one_file_system: bool| {
        let paths: Mutex<HashSet<String>> = Mutex::new(HashSet::new());
        let consumer = |b: PathBatch| {
            paths.lock().unwrap().extend(b.paths);
            true
        };
        let hooks = Hooks {
            paths: Some(&consumer),
            ..Hooks::default()
        };
        let options = opts(|o| {
            o.one_file_system = one_file_system;
            o.max_depth = Some(2);
            o.stats = false;
        });
        profile(dev, &options, &hooks).unwrap();
        paths.into_inner().unwrap()
    };
    let inside = collect(true);
    assert!(inside.contains("shm"), "the mount point itself is counted");
    assert!(!inside.iter().any(|p| p.starts_with("shm/")));
    let across = collect(false);
    assert!(across.contains(&marker_rel));
}
