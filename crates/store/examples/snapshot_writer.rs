//! A writer and a reader of one blob snapshot, used by the kill-loop test.
//!
//! `snapshot_writer write <dir>` rewrites the snapshot forever, alternating sources A and B.
//! `snapshot_writer read <dir> <stop-file>` loads it until the stop file exists, validating
//! against both fingerprints without rebuilding; it exits with status 1 on anything but A, B or
//! missing, and prints its counts.
//!
//! The kill-loop test compiles this file into its own binary and re-invokes itself, so the test
//! does not depend on examples having been built.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use modforge_store::{Hooks, ReasonCode, SnapshotId, Source, fingerprint, load, put_blob};

/// The payload of source `A` or `B`: 256 KiB derived from the letter (cheap to make, so a
/// writer starts writing at once).
pub fn payload(letter: u8) -> Vec<u8> {
    let mut bytes = vec![letter; 256 * 1024];
    for (i, chunk) in bytes.chunks_mut(4096).enumerate() {
        chunk[0] = i as u8;
    }
    bytes
}

fn id(dir: &Path) -> SnapshotId {
    SnapshotId::blob(dir, "kill", "1").expect("valid id")
}

fn write(dir: &Path) -> u8 {
    let id = id(dir);
    let payloads = [payload(b'A'), payload(b'B')];
    for i in 0usize.. {
        let letter = if i % 2 == 0 { "A" } else { "B" };
        if let Err(e) = put_blob(
            &id,
            &Source::Token(letter.into()),
            &payloads[i % 2],
            &Hooks::default(),
        ) {
            eprintln!("write failed: {e}");
            return 3;
        }
    }
    0
}

fn read(dir: &Path, stop: &Path) -> u8 {
    let id = id(dir);
    let sources = [(b'A', payload(b'A')), (b'B', payload(b'B'))];
    let fps = [
        fingerprint(&Source::Token("A".into())),
        fingerprint(&Source::Token("B".into())),
    ];
    let (Ok(fa), Ok(fb)) = (&fps[0], &fps[1]) else {
        return 4;
    };
    let (mut seen_a, mut seen_b, mut missing, mut races) = (0u64, 0u64, 0u64, 0u64);
    while !stop.exists() {
        let mut stale = 0;
        for (fp, (letter, expected)) in [fa, fb].into_iter().zip(&sources) {
            match load(&id, fp) {
                Ok(snapshot) => {
                    if snapshot.payload() != expected.as_slice() {
                        println!("WRONG payload for {}", char::from(*letter));
                        return 1;
                    }
                    if *letter == b'A' {
                        seen_a += 1
                    } else {
                        seen_b += 1
                    }
                    break;
                }
                Err(r) if r.code == ReasonCode::Missing => {
                    missing += 1;
                    break;
                }
                Err(r) if r.code == ReasonCode::Stale => stale += 1,
                Err(r) => {
                    println!("CORRUPT {r}");
                    return 1;
                }
            }
        }
        // Stale against both: the file changed between the two loads.
        if stale == 2 {
            races += 1;
        }
    }
    println!("A={seen_a} B={seen_b} missing={missing} races={races}");
    0
}

/// Runs one mode; `args` are the arguments after the program name. Returns the exit status.
pub fn run(args: &[String]) -> u8 {
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["write", dir] => write(&PathBuf::from(dir)),
        ["read", dir, stop] => read(&PathBuf::from(dir), &PathBuf::from(stop)),
        _ => {
            eprintln!("usage: snapshot_writer write <dir> | read <dir> <stop-file>");
            2
        }
    }
}

#[allow(dead_code)]
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    ExitCode::from(run(&args))
}
