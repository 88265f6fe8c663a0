//! Profiles a directory and prints the totals and the time taken.
//!
//! Usage: `cargo run --release --example profile -- DIR [--threads N] [--names-only] [--follow]
//! [--count-links] [--repeat N]`

use std::path::PathBuf;
use std::time::Instant;

use modforge_walk::{Hooks, ProfileOptions, profile};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let mut options = ProfileOptions::default();
    let mut repeat = 1;
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> usize {
            args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
                eprintln!("{name} needs a number");
                std::process::exit(2)
            })
        };
        match arg.as_str() {
            "--threads" => options.threads = number("--threads"),
            "--repeat" => repeat = number("--repeat").max(1),
            "--names-only" => options.stats = false,
            "--follow" => options.follow_symlinks = true,
            "--count-links" => options.count_hard_links = true,
            _ => dir = Some(PathBuf::from(arg)),
        }
    }
    let Some(dir) = dir else {
        eprintln!(
            "usage: profile DIR [--threads N] [--names-only] [--follow] [--count-links] [--repeat N]"
        );
        std::process::exit(2);
    };
    for _ in 0..repeat {
        let start = Instant::now();
        match profile(&dir, &options, &Hooks::default()) {
            Ok(r) => {
                let t = &r.totals;
                println!(
                    "files {} dirs {} symlinks {} other {} apparent {:?} allocated {:?} duplicates {} errors {} \
                     threads {} elapsed_ms {:.1}",
                    t.files,
                    t.dirs,
                    t.symlinks,
                    t.other,
                    t.apparent_bytes,
                    t.allocated_bytes,
                    t.hard_link_duplicates,
                    t.errors,
                    r.timing.threads,
                    start.elapsed().as_secs_f64() * 1000.0
                );
            }
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
    }
}
