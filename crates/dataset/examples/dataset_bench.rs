//! Rough timings of the dataset store on the generated dalle-shaped set (and the large variant
//! with `--large`): cold build, warm open (header checks, checksum, structure), key lookups.
//! Run with `cargo run --release -p modforge-dataset --example dataset_bench [-- --large]`.

use std::time::{Duration, Instant};

use modforge_dataset::{DatasetOptions, DatasetPlan, TableInput, open_dataset};
use modforge_gen::dataset::{GeneratedSet, Scale, dalle};
use modforge_store::{Hooks, Source};

/// The generated tables as dataset inputs (CSV paths).
fn inputs(set: &GeneratedSet) -> Vec<(String, TableInput)> {
    set.tables
        .iter()
        .map(|t| (t.name.clone(), TableInput::CsvPath(t.path.clone())))
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let large = std::env::args().any(|a| a == "--large");
    let scale = if large { Scale::Large } else { Scale::Dalle };
    let work = tempfile::tempdir().expect("temp dir");
    let set = dalle(&work.path().join("csv"), 1, scale).expect("generate");
    println!(
        "data: {:?}, {} tables, {} rows, {} CSV bytes; warm page cache",
        scale,
        set.tables.len(),
        set.rows(),
        set.bytes
    );
    let cache = work.path().join("cache");
    let options = |source: Option<Source>| {
        let mut o = DatasetOptions::new(&cache, "dalle");
        o.version_column = Some("version".into());
        o.source = source;
        o
    };
    let rounds = if large { 3 } else { 20 };

    let mut builds = Vec::new();
    for _ in 0..rounds {
        let _ = std::fs::remove_dir_all(&cache);
        let t = Instant::now();
        let opened = open_dataset(options(None), inputs(&set), &Hooks::default()).expect("build");
        builds.push(t.elapsed());
        assert!(!opened.loaded && opened.persisted);
    }
    let file = std::fs::read_dir(&cache)
        .expect("cache")
        .flatten()
        .next()
        .expect("snapshot")
        .path();
    let file_len = std::fs::metadata(&file).expect("stat").len();
    println!(
        "cold build (read + parse + index + encode + fsync'd write): median {:?} -> {} bytes",
        median(builds),
        file_len
    );

    // Warm open with a token source: header checks, XXH3-128 of the payload, structure.
    let token = Some(Source::Token("generated-1".into()));
    let _ = std::fs::remove_dir_all(&cache);
    open_dataset(options(token.clone()), inputs(&set), &Hooks::default()).expect("build");
    let plan = DatasetPlan::new(options(token), Some(&inputs(&set))).expect("plan");
    let mut opens = Vec::new();
    for _ in 0..rounds * 10 {
        let t = Instant::now();
        let ds = plan.load().expect("warm open");
        opens.push(t.elapsed());
        drop(ds);
    }
    println!(
        "warm open, Rust (mmap + checks + checksum + structure, token source): median {:?}",
        median(opens)
    );

    // Warm open with the default source: the 19 CSV files are read and hashed.
    let _ = std::fs::remove_dir_all(&cache);
    open_dataset(options(None), inputs(&set), &Hooks::default()).expect("build");
    let mut content = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let opened = open_dataset(options(None), inputs(&set), &Hooks::default()).expect("open");
        content.push(t.elapsed());
        assert!(opened.loaded);
    }
    println!(
        "warm open incl. content fingerprint of the CSV files: median {:?}",
        median(content)
    );

    let ds = open_dataset(options(None), inputs(&set), &Hooks::default())
        .expect("open")
        .value;
    let tables = ds.tables();
    let mut rng = fastrand::Rng::with_seed(42);
    let mut keys: Vec<(usize, String)> = Vec::with_capacity(100_000);
    for _ in 0..100_000 {
        let ti = rng.usize(..tables.len());
        let t = &tables[ti];
        let row = rng.u32(..t.len());
        keys.push((ti, t.cell(row, 0).expect("cell").to_string()));
    }
    let t = Instant::now();
    let mut found = 0u32;
    for (ti, key) in &keys {
        if tables[*ti]
            .lookup(key.as_bytes())
            .expect("lookup")
            .is_some()
        {
            found += 1;
        }
    }
    let lookup = t.elapsed();
    let t = Instant::now();
    let mut cells = 0usize;
    for (ti, key) in &keys {
        if let Some(row) = tables[*ti].get(key.as_bytes()).expect("get") {
            cells += row.len();
        }
    }
    let get = t.elapsed();
    println!(
        "lookup: {:.0} ns per key ({} of 100,000 hits); lookup + row (all cells, UTF-8 checked): {:.0} ns ({} cells)",
        lookup.as_nanos() as f64 / 1e5,
        found,
        get.as_nanos() as f64 / 1e5,
        cells
    );
    let t = Instant::now();
    let counts = ds.verify_cells().expect("verify");
    println!(
        "full verify walk: {:?} ({} cells)",
        t.elapsed(),
        counts.cells
    );
}
