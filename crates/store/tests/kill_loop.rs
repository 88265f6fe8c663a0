//! Writers killed at random moments while readers validate: readers only ever see A, B or
//! missing, never a damaged file; afterwards `clean` leaves no temp file.
#![cfg(unix)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use modforge_store::{Hooks, put_blob};
use modforge_store::{SnapshotId, Source, clean, fingerprint, load};

#[path = "../examples/snapshot_writer.rs"]
mod snapshot_writer;

const HELPER_ENV: &str = "MODFORGE_STORE_KILL_LOOP_ARGS";

/// The writer/reader processes: this test binary re-invoked with the helper's arguments.
#[test]
fn kill_loop_helper() {
    let Ok(args) = std::env::var(HELPER_ENV) else {
        return;
    };
    let args: Vec<String> = args.split('\u{1f}').map(String::from).collect();
    std::process::exit(i32::from(snapshot_writer::run(&args)));
}

fn helper(args: &[&std::ffi::OsStr]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "kill_loop_helper",
        "--nocapture",
        "--test-threads=1",
    ]);
    let joined: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    cmd.env(HELPER_ENV, joined.join("\u{1f}"));
    cmd
}

#[test]
fn killed_writers_never_expose_a_damaged_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    let stop = dir.path().join("stop");
    // One complete snapshot first, so readers validate from the start.
    let id = SnapshotId::blob(&cache, "kill", "1").unwrap();
    put_blob(
        &id,
        &Source::Token("A".into()),
        &snapshot_writer::payload(b'A'),
        &Hooks::default(),
    )
    .unwrap();
    let readers: Vec<Child> = (0..2)
        .map(|_| {
            helper(&["read".as_ref(), cache.as_os_str(), stop.as_os_str()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut rng = fastrand::Rng::with_seed(0xdead);
    let mut kills = 0;
    for round in 0..1000 {
        let writers = if round % 3 == 0 { 2 } else { 1 };
        let mut children: Vec<Child> = (0..writers)
            .map(|_| {
                helper(&["write".as_ref(), cache.as_os_str()])
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        std::thread::sleep(Duration::from_micros(rng.u64(200..15_000)));
        for child in &mut children {
            child.kill().unwrap();
            let status = child.wait().unwrap();
            assert!(
                status.code().is_none() || status.success(),
                "writer failed: {status:?}"
            );
            kills += 1;
        }
    }
    std::fs::write(&stop, b"").unwrap();
    for reader in readers {
        let out = reader.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "reader saw a damaged snapshot: {text}"
        );
        let seen: u64 = text
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .filter(|(k, _)| *k == "A" || *k == "B")
            .map(|(_, v)| v.parse::<u64>().unwrap())
            .sum();
        assert!(
            seen > 0,
            "reader validated no snapshot: {text} / {:?} / {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "reader: {}",
            text.lines()
                .find_map(|l| l.find("A=").map(|at| &l[at..]))
                .unwrap_or_default()
        );
    }
    assert!(kills >= 1000);
    let cleaned = clean(&cache).unwrap();
    eprintln!(
        "{kills} kills; clean removed {} leftover temp files",
        cleaned.removed
    );
    let names: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n == "kill_1.mfs"), "{names:?}");
    if !names.is_empty() {
        let a = load(&id, &fingerprint(&Source::Token("A".into())).unwrap());
        let b = load(&id, &fingerprint(&Source::Token("B".into())).unwrap());
        assert!(a.is_ok() || b.is_ok());
    }
}
