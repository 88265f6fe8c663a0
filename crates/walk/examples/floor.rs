//! The syscall floor of a full profile: a single-threaded recursion doing only `read_dir` and
//! `DirEntry::metadata`, summing allocated bytes. Prints the entry count and bytes.
//!
//! Usage: `cargo run --release --example floor -- DIR`

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

fn walk(dir: &Path, entries: &mut u64, bytes: &mut u64) {
    let Ok(reader) = fs::read_dir(dir) else {
        return;
    };
    for entry in reader.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        *entries += 1;
        *bytes += allocated(&meta);
        if meta.is_dir() {
            walk(&entry.path(), entries, bytes);
        }
    }
}

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: floor DIR");
        std::process::exit(2);
    };
    let start = std::time::Instant::now();
    let (mut entries, mut bytes) = (1u64, 0u64);
    if let Ok(meta) = fs::metadata(&dir) {
        bytes += allocated(&meta);
    }
    walk(Path::new(&dir), &mut entries, &mut bytes);
    println!(
        "entries {entries} allocated {bytes} elapsed_ms {:.1}",
        start.elapsed().as_secs_f64() * 1000.0
    );
}
