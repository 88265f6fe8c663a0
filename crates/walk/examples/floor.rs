//! The syscall floor of a profile: a single-threaded recursion doing only `read_dir` and
//! `DirEntry::metadata`, summing allocated bytes; with `--names`, only `read_dir` (the kind comes
//! from `d_type`), the floor of the names-only mode. Prints the entry count and bytes.
//!
//! Usage: `cargo run --release --example floor -- DIR [--names]`

use std::fs;
use std::path::Path;

#[cfg(unix)]
fn allocated(m: &fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    m.blocks() * 512
}

#[cfg(not(unix))]
fn allocated(m: &fs::Metadata) -> u64 {
    m.len()
}

fn walk(dir: &Path, names_only: bool, entries: &mut u64, bytes: &mut u64) {
    let Ok(reader) = fs::read_dir(dir) else {
        return;
    };
    for entry in reader.flatten() {
        *entries += 1;
        let is_dir = if names_only {
            entry.file_type().is_ok_and(|kind| kind.is_dir())
        } else {
            let Ok(meta) = entry.metadata() else { continue };
            *bytes += allocated(&meta);
            meta.is_dir()
        };
        if is_dir {
            walk(&entry.path(), names_only, entries, bytes);
        }
    }
}

fn main() {
    let mut args = std::env::args_os().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: floor DIR [--names]");
        std::process::exit(2);
    };
    let names_only = args.any(|arg| arg == "--names");
    let start = std::time::Instant::now();
    let (mut entries, mut bytes) = (1u64, 0u64);
    if let Ok(meta) = fs::metadata(&dir) {
        bytes += allocated(&meta);
    }
    walk(Path::new(&dir), names_only, &mut entries, &mut bytes);
    println!(
        "entries {entries} allocated {bytes} elapsed_ms {:.1}",
        start.elapsed().as_secs_f64() * 1000.0
    );
}
