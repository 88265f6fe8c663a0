//! Fifty concurrent profiles, each with the highest thread count (docs/profile.md, "Engine"): every
//! one completes with the same report as a single-threaded run, and idle workers sleep instead of
//! polling. The work the machine did is measured in context switches of this process (its own test
//! binary, so no other test runs beside it): a worker that sleeps until it is woken switches a few
//! times per job it takes, one that polls a timer or spins switches without bound for as long as
//! the walks take.
// getrusage's context-switch counters are Linux-specific in their meaning here.
#![cfg(target_os = "linux")]

mod common;

use common::*;
use modforge_gen::tree::{Shape, TreeSpec, generate_tree};

/// Context switches (voluntary + involuntary) of this process so far, those of threads that ended
/// included (`getrusage(RUSAGE_SELF)`; rustix has no wrapper for it).
fn context_switches() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes one `rusage` into the pointed-to, properly aligned local.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage");
    // SAFETY: the struct was zeroed and getrusage returned 0, so every field is initialised.
    #[allow(unsafe_code)]
    let usage = unsafe { usage.assume_init() };
    (usage.ru_nvcsw + usage.ru_nivcsw) as u64
}

#[test]
fn fifty_concurrent_profiles_with_512_threads_complete_without_polling() {
    const PROFILES: usize = 50;
    let tmp = open_tempdir();
    let root = tmp.path().join("tree");
    let spec = TreeSpec {
        shape: Shape::Node,
        entries: 1_500,
        seed: 9,
        ..TreeSpec::default()
    };
    generate_tree(&root, &spec).expect("generate");
    let expected = comparable(run(&root, &opts(|o| o.threads = 1)));
    let t = &expected.totals;
    let entries = t.files + t.dirs + t.symlinks + t.other;

    let before = context_switches();
    let reports: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..PROFILES)
            .map(|_| scope.spawn(|| run(&root, &opts(|o| o.threads = 512))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("profile thread"))
            .collect()
    });
    let switches = context_switches() - before;

    for report in reports {
        assert_eq!(report.timing.threads, 512);
        assert_eq!(comparable(report), expected);
    }
    // A parked worker is woken once per job queued while it sleeps, and every job handles at least
    // one entry; each profile starts at most 512 workers. So one switch per entry and per worker
    // is generous (measured: about a seventh of it), while workers that poll a timer or spin
    // exceed it several times over (measured: about five times, growing with the machine's load).
    let bound = PROFILES as u64 * (entries + 512);
    assert!(
        switches <= bound,
        "{switches} context switches for {PROFILES} profiles of {entries} entries (bound {bound})"
    );
}
