//! Generates a seeded tree (for benchmarks and manual checks).
//!
//! Usage: `cargo run --release --example generate -- SHAPE DIR [--entries N] [--seed N] [--extras]
//! [--outside DIR] [--pnpm]` with SHAPE one of wide, deep, node, game, source, mixed.

use std::path::PathBuf;
use std::time::Instant;

use modforge_gen::tree::{Shape, TreeSpec, generate_tree};

fn usage() -> ! {
    eprintln!(
        "usage: generate SHAPE DIR [--entries N] [--seed N] [--extras] [--outside DIR] [--pnpm]"
    );
    std::process::exit(2)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let shape: Shape = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| usage());
    let dir = PathBuf::from(args.next().unwrap_or_else(|| usage()));
    let mut spec = TreeSpec {
        shape,
        entries: shape.default_entries(),
        ..TreeSpec::default()
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--entries" => {
                spec.entries = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--seed" => {
                spec.seed = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--extras" => spec.extras = true,
            "--pnpm" => spec.pnpm = true,
            "--outside" => {
                spec.outside = Some(PathBuf::from(args.next().unwrap_or_else(|| usage())))
            }
            _ => usage(),
        }
    }
    let start = Instant::now();
    match generate_tree(&dir, &spec) {
        Ok(s) => println!(
            "{s:?} elapsed_ms {:.0}",
            start.elapsed().as_secs_f64() * 1000.0
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1)
        }
    }
}
