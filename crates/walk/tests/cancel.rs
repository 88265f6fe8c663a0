//! Cancellation from another thread and from a progress callback: the call returns `Aborted`, every
//! worker thread is gone when it returns, and the next call works. (Its own test binary, so no other
//! test's walker threads are alive meanwhile.)
// These tests compare with GNU find/du and use Linux-only facilities (setpriv, prlimit, /proc).
#![cfg(target_os = "linux")]

mod common;

use std::fs;
use std::time::Duration;

use common::*;
use modforge_core::{Cancel, Control, Progress};
use modforge_gen::tree::{Shape, TreeSpec, generate_tree};
use modforge_walk::{Error, Hooks, profile};

/// Threads of this process whose name starts with `modforge-walk`.
fn walker_threads() -> usize {
    fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("modforge-walk"))
        .count()
}

/// [`walker_threads`] once the joined workers have left `/proc`: the kernel wakes `pthread_join`
/// when it clears the thread id, slightly before it removes the task, so a joined thread can stay
/// listed for a moment. A thread still running (leaked, parked) stays listed and is counted.
fn walker_threads_after_join() -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let left = walker_threads();
        if left == 0 || std::time::Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn cancel_stops_the_walk_and_leaves_no_threads() {
    let tmp = open_tempdir();
    let root = tmp.path().join("tree");
    generate_tree(
        &root,
        &TreeSpec {
            shape: Shape::Deep,
            entries: 40_000,
            ..TreeSpec::default()
        },
    )
    .unwrap();
    let full = run(&root, &opts(|_| {}));
    let entries = full.totals.files + full.totals.dirs;

    // from another thread, while the walk runs
    for threads in [1, 2, 8] {
        let cancel = Cancel::new();
        let hooks = Hooks {
            control: Control {
                cancel: Some(&cancel),
                progress: None,
            },
            ..Hooks::default()
        };
        let result = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(5));
                cancel.cancel();
            });
            profile(&root, &opts(|o| o.threads = threads), &hooks)
        });
        assert!(
            matches!(result, Err(Error::Aborted)),
            "threads {threads}: {result:?}"
        );
        assert_eq!(walker_threads_after_join(), 0);
    }

    // from the first progress event; the walk stops before counting everything
    let cancel = Cancel::new();
    let seen = std::sync::Mutex::new(Vec::new());
    let on_progress = |p: &Progress<'_>| {
        seen.lock().unwrap().push(p.done);
        cancel.cancel();
    };
    let hooks = Hooks {
        control: Control {
            cancel: Some(&cancel),
            progress: Some(&on_progress),
        },
        ..Hooks::default()
    };
    let result = profile(&root, &opts(|o| o.threads = 1), &hooks);
    assert!(matches!(result, Err(Error::Aborted)), "{result:?}");
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), 1, "no final event after an abort");
    assert!(seen[0] < entries);
    assert_eq!(walker_threads_after_join(), 0);

    // the next call succeeds with the same report
    assert_eq!(comparable(run(&root, &opts(|_| {}))), comparable(full));
}
