//! Benchmark of the icon cache on the generated ~20k-icon install (docs/icons.md, "Benchmark").
//!
//! `cargo run --release -p modforge-icons --example icons_bench -- [--root DIR] [--seed N]
//! [--upscaled bc7|dxt5] [--json FILE]`
//!
//! Generates the install under DIR (kept and reused when its manifest exists), then measures:
//! cold builds at 1 and 2 threads, warm start (open to first icon) in fresh child processes and
//! in process, `get_icon` and `find` + view reads over 100k random names, an incremental rebuild
//! after touching one HAK, and bytes on disk. Prints a table and optionally writes JSON.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use modforge_core::Control;
use modforge_gen::SplitMix64;
use modforge_gen::nwn2::{InstallSpec, Upscaled, generate};
use modforge_icons::{
    DiscoverOptions, IconCache, IconCacheOptions, Lookup, RebuildOptions, Sources, Validate,
};

struct Args {
    root: PathBuf,
    seed: u64,
    upscaled: Upscaled,
    json: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        root: std::env::temp_dir().join("modforge-icons-bench"),
        seed: 1,
        upscaled: Upscaled::Bc7,
        json: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--root" => args.root = PathBuf::from(value()?),
            "--seed" => args.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--upscaled" => {
                args.upscaled = match value()?.as_str() {
                    "bc7" => Upscaled::Bc7,
                    "dxt5" => Upscaled::Dxt5,
                    other => return Err(format!("--upscaled bc7|dxt5, not {other}")),
                }
            }
            "--json" => args.json = Some(PathBuf::from(value()?)),
            "--warm-child" => {}
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn options(
    install: &Path,
    cache_dir: &Path,
    threads: Option<usize>,
    validate: Validate,
) -> IconCacheOptions {
    let game = install.join("game");
    let user = install.join("user");
    let mut o = IconCacheOptions::new(Sources::Discover {
        game_dir: game,
        user_dir: user,
        options: DiscoverOptions {
            module: Some("bench".into()),
            campaign: Some("bench_campaign".into()),
            workshop_dirs: vec![
                install
                    .join("workshop/content")
                    .join(modforge_gen::nwn2::WORKSHOP_APP_ID),
            ],
        },
    });
    o.cache_dir = Some(cache_dir.to_path_buf());
    o.threads = threads;
    o.validate = validate;
    o
}

/// In a fresh process: open the warm cache and fetch one icon; prints microseconds.
fn warm_child() -> Result<(), String> {
    let install = PathBuf::from(std::env::var("BENCH_INSTALL").map_err(|e| e.to_string())?);
    let cache_dir = PathBuf::from(std::env::var("BENCH_CACHE").map_err(|e| e.to_string())?);
    let name = std::env::var("BENCH_NAME").map_err(|e| e.to_string())?;
    let validate = match std::env::var("BENCH_VALIDATE").as_deref() {
        Ok("none") => Validate::None,
        _ => Validate::Background,
    };
    let start = Instant::now();
    let cpu = thread_cpu_ns();
    let cache = IconCache::open(
        options(&install, &cache_dir, None, validate),
        &Control::default(),
    )
    .map_err(|e| e.to_string())?;
    let icon = cache.get_icon(&name).ok_or("no icon")?;
    let elapsed = start.elapsed();
    let cpu = thread_cpu_ns() - cpu;
    if cache.stats().last_build.is_some() {
        return Err("the warm open rebuilt".into());
    }
    println!("{} {} {}", elapsed.as_nanos(), cpu, icon.data.len());
    // Leave without waiting for background validation: only the start-up path is measured.
    std::process::exit(0);
}

/// CPU time (user + system) of this process so far, in ms (0 where no CPU clock is read).
fn process_cpu_ms() -> f64 {
    cpu_clock(true) / 1e6
}

/// CPU time of the calling thread so far, in ns (0 where no CPU clock is read).
fn thread_cpu_ns() -> f64 {
    cpu_clock(false)
}

#[cfg(unix)]
fn cpu_clock(process: bool) -> f64 {
    use rustix::time::{ClockId, clock_gettime};
    let t = clock_gettime(if process {
        ClockId::ProcessCPUTime
    } else {
        ClockId::ThreadCPUTime
    });
    t.tv_sec as f64 * 1e9 + t.tv_nsec as f64
}

#[cfg(not(unix))]
fn cpu_clock(_process: bool) -> f64 {
    0.0
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--warm-child") {
        if let Err(e) = warm_child() {
            eprintln!("warm child: {e}");
            std::process::exit(1);
        }
        return;
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("icons_bench: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let install = args.root.join(match args.upscaled {
        Upscaled::Bc7 => format!("install-bc7-{}", args.seed),
        Upscaled::Dxt5 => format!("install-dxt5-{}", args.seed),
    });
    let mut spec = InstallSpec::bench(args.seed);
    spec.upscaled = args.upscaled;
    if !install.join("manifest.json").exists() {
        let _ = std::fs::remove_dir_all(&install);
        let t = Instant::now();
        let m = generate(&install, &spec)?;
        println!(
            "generated {} files, {:.1} MB in {:.1} s",
            m.files,
            m.bytes as f64 / 1e6,
            t.elapsed().as_secs_f64()
        );
    }
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "machine: {cpu}, {cores} cores, load average {} (other work shares the cores: CPU times are given beside wall times); install {}; page cache warm",
        load_average(),
        install.display()
    );

    let mut results = serde_json::Map::new();
    let cache_root = args.root.join(format!("caches-{}", args.seed));
    let _ = std::fs::remove_dir_all(&cache_root);

    // Cold builds.
    let mut icons = 0;
    for threads in [1usize, 2] {
        let dir = cache_root.join(format!("cold-{threads}"));
        let t = Instant::now();
        let cpu = process_cpu_ms();
        let cache = IconCache::open(
            options(&install, &dir, Some(threads), Validate::None),
            &Control::default(),
        )?;
        let secs = t.elapsed().as_secs_f64();
        let cpu = process_cpu_ms() - cpu;
        let r = cache.stats().last_build.ok_or("no build")?;
        icons = r.icons;
        println!(
            "cold build, {threads} thread(s): {secs:.2} s wall for {} icons ({:.0} icons/s), {:.2} s CPU ({:.0} us CPU per icon), {} failed",
            r.icons,
            r.icons as f64 / secs,
            cpu / 1e3,
            cpu * 1e3 / r.icons as f64,
            r.failed.len()
        );
        results.insert(format!("coldBuild{threads}Threads_s"), secs.into());
        results.insert(
            format!("coldBuild{threads}ThreadsCpu_s"),
            (cpu / 1e3).into(),
        );
    }
    results.insert("icons".into(), icons.into());

    // The cache used from here on.
    let dir = cache_root.join("cold-2");
    let cache = IconCache::open(
        options(&install, &dir, None, Validate::Blocking),
        &Control::default(),
    )?;
    let stats = cache.stats();
    let names = cache.names();
    println!(
        "bytes on disk: {:.1} MB file ({:.1} MB WebP, {:.0} B per icon on average)",
        stats.bytes as f64 / 1e6,
        stats.blob_bytes as f64 / 1e6,
        stats.blob_bytes as f64 / names.len() as f64
    );
    results.insert("bytesOnDisk".into(), stats.bytes.into());
    results.insert("blobBytes".into(), stats.blob_bytes.into());

    // Warm start in fresh child processes.
    let exe = std::env::current_exe()?;
    for validate in ["background", "none"] {
        let mut samples = Vec::new();
        let mut cpu_samples = Vec::new();
        for i in 0..20 {
            let name = &names[(i * 7919) % names.len()];
            let out = Command::new(&exe)
                .arg("--warm-child")
                .env("BENCH_INSTALL", &install)
                .env("BENCH_CACHE", &dir)
                .env("BENCH_NAME", name)
                .env("BENCH_VALIDATE", validate)
                .output()?;
            if !out.status.success() {
                return Err(format!(
                    "warm child failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                )
                .into());
            }
            let text = String::from_utf8(out.stdout)?;
            let mut words = text.split_whitespace();
            let ns: f64 = words.next().ok_or("no output")?.parse()?;
            let cpu: f64 = words.next().ok_or("no output")?.parse()?;
            samples.push(ns / 1e3);
            cpu_samples.push(cpu / 1e3);
        }
        let min = samples.iter().copied().fold(f64::MAX, f64::min);
        let max = samples.iter().copied().fold(0.0, f64::max);
        let med = median(&mut samples);
        let cpu_med = median(&mut cpu_samples);
        println!(
            "warm start (fresh process, validate {validate}): median {med:.0} us wall (min {min:.0}, max {max:.0}), {cpu_med:.0} us CPU of the calling thread (open to first icon, 20 runs)"
        );
        results.insert(format!("warmStartChild_{validate}_us"), med.into());
        results.insert(format!("warmStartChild_{validate}_cpu_us"), cpu_med.into());
    }
    // Warm start in process (page cache and code warm), and the part of it spent discovering.
    let mut samples = Vec::new();
    let mut cpu_samples = Vec::new();
    for i in 0..50 {
        let t = Instant::now();
        let cpu = thread_cpu_ns();
        let c = IconCache::open(
            options(&install, &dir, None, Validate::None),
            &Control::default(),
        )?;
        let icon = c
            .get_icon(&names[(i * 31) % names.len()])
            .ok_or("missing")?;
        cpu_samples.push((thread_cpu_ns() - cpu) / 1e3);
        samples.push(t.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(icon.data.len());
    }
    let med = median(&mut samples);
    let cpu_med = median(&mut cpu_samples);
    let mut discover_samples = Vec::new();
    let Sources::Discover {
        game_dir,
        user_dir,
        options: discover_options,
    } = options(&install, &dir, None, Validate::None).sources
    else {
        return Err("not a discovered install".into());
    };
    for _ in 0..50 {
        let cpu = thread_cpu_ns();
        std::hint::black_box(modforge_icons::discover(
            &game_dir,
            &user_dir,
            &discover_options,
        )?);
        discover_samples.push((thread_cpu_ns() - cpu) / 1e3);
    }
    let discover_med = median(&mut discover_samples);
    println!(
        "warm start (in process, validate none): median {med:.0} us wall, {cpu_med:.0} us CPU over 50 opens (of which discover(): {discover_med:.0} us CPU)"
    );
    results.insert("warmStartInProcess_us".into(), med.into());
    results.insert("warmStartInProcessCpu_us".into(), cpu_med.into());
    results.insert("discoverCpu_us".into(), discover_med.into());

    // Retrieval over 100k random names.
    let mut rng = SplitMix64::new(5);
    let queries: Vec<&String> = (0..100_000)
        .map(|_| &names[rng.below(names.len() as u64) as usize])
        .collect();
    for q in queries.iter().take(names.len()) {
        std::hint::black_box(cache.get_icon(q));
    }
    let t = Instant::now();
    let cpu = thread_cpu_ns();
    let mut bytes = 0usize;
    for q in &queries {
        bytes += cache.get_icon(q).map_or(0, |i| i.data.len());
    }
    let get_cpu = (thread_cpu_ns() - cpu) / queries.len() as f64;
    let get_ns = t.elapsed().as_nanos() as f64 / queries.len() as f64;
    let view = cache.view();
    let t = Instant::now();
    let cpu = thread_cpu_ns();
    let mut view_bytes = 0usize;
    for q in &queries {
        if let Lookup::Mapped { index, .. } = cache.find(q) {
            if let Some(e) = view.entry(index) {
                let start = e.blob_off as usize;
                view_bytes += view
                    .blobs()
                    .get(start..start + e.blob_len as usize)
                    .map_or(0, |b| b.len());
            }
        }
    }
    let find_cpu = (thread_cpu_ns() - cpu) / queries.len() as f64;
    let find_ns = t.elapsed().as_nanos() as f64 / queries.len() as f64;
    assert_eq!(bytes, view_bytes);
    println!(
        "get_icon: {get_ns:.0} ns wall, {get_cpu:.0} ns CPU mean; find + view read: {find_ns:.0} ns wall, {find_cpu:.0} ns CPU mean (100k random names)"
    );
    results.insert("getIcon_ns".into(), get_ns.into());
    results.insert("getIconCpu_ns".into(), get_cpu.into());
    results.insert("findView_ns".into(), find_ns.into());
    results.insert("findViewCpu_ns".into(), find_cpu.into());

    // Incremental rebuild after touching one HAK.
    let hak = install.join("user/hak/bench_a.hak");
    let f = std::fs::OpenOptions::new().write(true).open(&hak)?;
    f.set_modified(std::time::SystemTime::now() + Duration::from_secs(1))?;
    drop(f);
    let t = Instant::now();
    let cpu = process_cpu_ms();
    let r = cache.rebuild(RebuildOptions::default(), &Control::default())?;
    let secs = t.elapsed().as_secs_f64();
    let cpu = process_cpu_ms() - cpu;
    println!(
        "incremental rebuild after touching one HAK: {:.0} ms wall, {cpu:.0} ms CPU ({} re-encoded, {} reused; re-index, read and hash the HAK's entries, copy the blobs, write and fsync the new file)",
        secs * 1e3,
        r.encoded,
        r.reused
    );
    results.insert("incrementalRebuild_ms".into(), (secs * 1e3).into());
    results.insert("incrementalEncoded".into(), r.encoded.into());

    if let Some(path) = &args.json {
        results.insert("machine".into(), format!("{cpu}, {cores} cores").into());
        std::fs::write(
            path,
            serde_json::to_string_pretty(&serde_json::Value::Object(results))?,
        )?;
    }
    Ok(())
}
