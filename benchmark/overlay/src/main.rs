//! `overlay-bench`: the overlay builder against its peers on one generated League install
//! (docs/overlay.md, "Performance anchors"). Every measurement runs in its own child process so
//! its peak RSS (`VmHWM`) is its own; the wall time is taken inside the child around the build
//! call (for ltk_overlay, from provider construction, as its own benchmark does; `ltk_overlay+fsync`
//! adds flushing its output to disk, which modforge does and ltk_overlay does not). Cases, in order,
//! on a warm page cache with no dirty page left by the case before (`sync` first): full build from
//! nothing, no-op, one edited mod touching one WAD, the same mod gaining one entry.
//!
//! ```text
//! cargo run --release -p modforge-bench-overlay -- [--runs 3] [--seed 1] [--scale benchmark|small]
//!     [--data target/overlay-bench]
//!     [--tools modforge,ltk_overlay,ltk_overlay+fsync,cslol-model,single-pass-model]
//!     [--out benchmark/results/overlay.json]
//! ```

mod models;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ltk_overlay::{EnabledMod, FantomeContent, FsModContent, ModpkgContent, OverlayBuilder};
use modforge_core::Control;
use modforge_gen::league::{LeagueInstall, LeagueOptions, ModFormat, generate};
use modforge_overlay::{BuildOptions, BuildRequest, ModSpec, build_overlay};
use serde_json::{Value, json};

const CASES: [&str; 4] = ["full", "no-op", "edit", "add-entry"];

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        child(&args[2..]);
        return;
    }
    if let Err(e) = parent(&args[1..]) {
        eprintln!("overlay-bench: {e}");
        std::process::exit(1);
    }
}

/// What a child needs: the install's game folder and its mods.
fn mods_of(install: &Value) -> Vec<(String, PathBuf, ModFormat)> {
    install["mods"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| {
                    let format = match m["format"].as_str() {
                        Some("folder") => ModFormat::Folder,
                        Some("fantome") => ModFormat::Fantome,
                        _ => ModFormat::Modpkg,
                    };
                    (
                        m["id"].as_str().unwrap_or_default().to_owned(),
                        PathBuf::from(m["path"].as_str().unwrap_or_default()),
                        format,
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Peak resident set of this process, KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn utf8(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `child <tool> <install.json> <work>`: one build, one JSON line on stdout.
fn child(args: &[String]) {
    let (Some(tool), Some(manifest), Some(work)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("usage: child <tool> <install.json> <work>");
        std::process::exit(2);
    };
    let install: Value =
        serde_json::from_slice(&std::fs::read(manifest).unwrap_or_default()).unwrap_or(Value::Null);
    let game = PathBuf::from(install["game"].as_str().unwrap_or_default());
    let work = PathBuf::from(work);
    let mods = mods_of(&install);
    let start = Instant::now();
    let mut out = json!({});
    match tool.as_str() {
        "modforge" => {
            let request = BuildRequest {
                game_dir: game,
                overlay_dir: work.join("overlay"),
                state_dir: work.join("state"),
                mods: mods
                    .iter()
                    .map(|(id, p, _)| ModSpec {
                        id: id.clone(),
                        path: p.clone(),
                        layers: None,
                    })
                    .collect(),
                options: BuildOptions::default(),
            };
            match build_overlay(&request, &Control::default()) {
                Ok(r) => {
                    out = json!({
                        "modBytesRead": r.stats.mod_bytes_read, "peakBytesRead": r.peak_bytes_read,
                        "bytesWritten": r.stats.bytes_written, "gameBytesRead": r.stats.game_bytes_read,
                        "built": r.built.len(), "reused": r.reused.len(), "skipped": r.skipped, "mode": r.mode.as_str(),
                        "conflicts": r.conflicts.len(), "overridesCompressed": r.stats.overrides_compressed,
                    })
                }
                Err(e) => out = json!({"error": e.to_string()}),
            }
        }
        "ltk_overlay" | "ltk_overlay+fsync" => {
            let enabled: Vec<EnabledMod> = mods
                .iter()
                .filter_map(|(id, p, f)| {
                    let content: Box<dyn ltk_overlay::ModContentProvider> = match f {
                        ModFormat::Folder => Box::new(FsModContent::new(utf8(p).into())),
                        ModFormat::Fantome => Box::new(
                            FantomeContent::new(std::fs::File::open(p).ok()?)
                                .ok()?
                                .with_archive_path(utf8(p).into()),
                        ),
                        ModFormat::Modpkg => Box::new(
                            ModpkgContent::new(
                                ltk_modpkg::Modpkg::mount_from_reader(std::fs::File::open(p).ok()?)
                                    .ok()?,
                            )
                            .with_archive_path(utf8(p).into()),
                        ),
                    };
                    Some(EnabledMod {
                        id: id.clone(),
                        content,
                        enabled_layers: None,
                    })
                })
                .collect();
            let mut b = OverlayBuilder::new(
                utf8(&game).into(),
                utf8(&work.join("overlay")).into(),
                utf8(&work.join("state")).into(),
            );
            b.set_enabled_mods(enabled);
            match b.build() {
                Ok(r) => out = json!({"built": r.wads_built.len(), "reused": r.wads_reused.len()}),
                Err(e) => out = json!({"error": e.to_string()}),
            }
            if tool == "ltk_overlay+fsync" {
                sync_tree(&work);
            }
        }
        "cslol-model" | "single-pass-model" => {
            let c = models::Counters::default();
            let overlay = work.join("overlay");
            if tool == "cslol-model" {
                models::cslol(&game, &overlay, &mods, &c);
            } else {
                models::single_pass(&game, &overlay, &mods, &c);
            }
            use std::sync::atomic::Ordering::Relaxed;
            out = json!({"modBytesRead": c.mod_read.load(Relaxed), "gameBytesRead": c.game_read.load(Relaxed), "bytesWritten": c.written.load(Relaxed)});
        }
        other => out = json!({"error": format!("unknown tool {other}")}),
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    out["ms"] = json!(ms);
    out["peakRssKiB"] = json!(peak_rss_kib());
    println!("{out}");
}

/// Writes every dirty page of the machine back before a measurement, so that no tool pays for
/// the writeback of the one before it: ltk_overlay and the models never flush (up to 1.1 GB per
/// full build), and a later fsync on ext4 waits for the journal to take their data first.
fn settle() {
    rustix::fs::sync();
}

/// Flushes every file and folder under `dir` to disk, so ltk_overlay's output (it never syncs)
/// is as durable as modforge's (temp file, fsync, rename; docs/overlay.md, "Crash safety"):
/// files it did not write this time have no dirty pages and flush at once.
fn sync_tree(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => sync_tree(&path),
            Ok(t) if t.is_file() => {
                let _ = std::fs::File::open(&path).and_then(|f| f.sync_all());
            }
            _ => {}
        }
    }
    let _ = std::fs::File::open(dir).and_then(|f| f.sync_all());
}

fn run_child(exe: &Path, tool: &str, manifest: &Path, work: &Path) -> Result<Value, String> {
    let out = Command::new(exe)
        .args(["child", tool, &utf8(manifest), &utf8(work)])
        .output()
        .map_err(|e| format!("spawn: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or_default();
    let v: Value = serde_json::from_str(line).map_err(|e| {
        format!(
            "{tool}: {e}: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    if let Some(err) = v.get("error") {
        return Err(format!("{tool}: {err}"));
    }
    Ok(v)
}

/// Reads every file under `dir` once (warm page cache).
fn warm(dir: &Path) -> u64 {
    let mut n = 0;
    for e in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        if e.file_type().is_file() {
            if let Ok(mut f) = std::fs::File::open(e.path()) {
                n += std::io::copy(&mut f, &mut std::io::sink()).unwrap_or(0);
            }
        }
    }
    n
}

fn install_manifest(install: &LeagueInstall) -> Value {
    json!({
        "game": install.game_dir,
        "mods": install.mods.iter().filter(|m| !m.quirky).map(|m| json!({
            "id": m.id, "path": m.path, "format": match m.format { ModFormat::Folder => "folder", ModFormat::Fantome => "fantome", ModFormat::Modpkg => "modpkg" },
            "overrideBytes": m.override_bytes, "touched": m.touched_wads,
            "edit": m.edit.as_ref().map(|(f, d)| json!([f, d])),
        })).collect::<Vec<_>>(),
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn parent(args: &[String]) -> Result<(), String> {
    let runs: usize = arg(args, "--runs", "3")
        .parse()
        .map_err(|_| "--runs takes a number")?;
    let seed: u64 = arg(args, "--seed", "1")
        .parse()
        .map_err(|_| "--seed takes a number")?;
    let scale = arg(args, "--scale", "benchmark");
    let data = PathBuf::from(arg(args, "--data", "target/overlay-bench"));
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    let data = std::fs::canonicalize(&data).map_err(|e| e.to_string())?;
    let out_file = PathBuf::from(arg(args, "--out", "benchmark/results/overlay.json"));
    let tools: Vec<String> = arg(
        args,
        "--tools",
        "modforge,ltk_overlay,ltk_overlay+fsync,cslol-model,single-pass-model",
    )
    .split(',')
    .map(str::to_owned)
    .collect();
    let options = match scale.as_str() {
        "small" => LeagueOptions {
            quirks: false,
            ..LeagueOptions::small(seed)
        },
        _ => LeagueOptions::benchmark(seed),
    };
    let root = data.join(format!("{scale}-{seed}"));
    let manifest_path = root.join("install.json");
    if !manifest_path.exists() {
        let _ = std::fs::remove_dir_all(&root);
        eprintln!(
            "generating the {scale} install under {} ...",
            root.display()
        );
        let t = Instant::now();
        let install = generate(&root.join("data"), &options).map_err(|e| e.to_string())?;
        std::fs::write(&manifest_path, install_manifest(&install).to_string())
            .map_err(|e| e.to_string())?;
        eprintln!("generated in {:.1} s", t.elapsed().as_secs_f64());
    }
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let game = PathBuf::from(manifest["game"].as_str().unwrap_or_default());
    let editable = manifest["mods"]
        .as_array()
        .and_then(|a| a.iter().find_map(|m| m["edit"].as_array().cloned()))
        .ok_or("no single-WAD folder mod to edit")?;
    let edit_file = PathBuf::from(editable[0].as_str().unwrap_or_default());
    let edit_dir = PathBuf::from(editable[1].as_str().unwrap_or_default());
    let original = std::fs::read(&edit_file).map_err(|e| e.to_string())?;
    let edit_bytes: u64 = original.len() as u64;
    let game_files: Vec<_> = walkdir::WalkDir::new(game.join("DATA/FINAL"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .collect();
    let game_bytes: u64 = game_files
        .iter()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    let chunks: u64 = game_files
        .iter()
        .filter_map(|e| modforge_overlay::wad::read_toc(e.path()).ok())
        .map(|t| t.entries.len() as u64)
        .sum();
    let biggest = game_files
        .iter()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0);
    let override_bytes: u64 = manifest["mods"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["overrideBytes"].as_u64()).sum())
        .unwrap_or(0);
    let mods_count = manifest["mods"].as_array().map_or(0, Vec::len);
    let machine = format!(
        "{} cores, {}, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| m.lines().next().map(|l| l
                .split_whitespace()
                .nth(1)
                .unwrap_or("?")
                .to_owned()
                + " KiB RAM"))
            .unwrap_or_default(),
        std::env::consts::OS
    );
    println!("machine: {machine}; warm page cache");
    println!(
        "data: {} game WADs, {chunks} chunks, {:.2} GB (largest WAD {:.0} MiB); {mods_count} mods, {:.0} MB of overrides; edit: {} ({} bytes)",
        game_files.len(),
        game_bytes as f64 / 1e9,
        biggest as f64 / 1048576.0,
        override_bytes as f64 / 1e6,
        edit_file.display(),
        edit_bytes
    );
    warm(&root.join("data"));
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut results: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    let added = edit_dir.join("assets/bench/added_entry.bin");
    for run in 0..runs {
        for tool in &tools {
            let work = data.join("work").join(tool);
            let _ = std::fs::remove_dir_all(&work);
            std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
            let cases: &[&str] = if tool == "single-pass-model" {
                &CASES[..1]
            } else {
                &CASES
            };
            for case in cases {
                match *case {
                    "edit" => {
                        let mut edited = original.clone();
                        edited.extend_from_slice(format!("edit {run}").as_bytes());
                        std::fs::write(&edit_file, edited).map_err(|e| e.to_string())?;
                    }
                    "add-entry" => {
                        std::fs::create_dir_all(added.parent().unwrap_or(&edit_dir))
                            .map_err(|e| e.to_string())?;
                        std::fs::write(&added, vec![run as u8; 4096]).map_err(|e| e.to_string())?;
                    }
                    _ => {}
                }
                settle();
                let v = run_child(&exe, tool, &manifest_path, &work)?;
                eprintln!(
                    "run {run} {tool:>17} {case:>9}: {:>9.1} ms {}",
                    v["ms"].as_f64().unwrap_or(0.0),
                    v
                );
                results
                    .entry((tool.clone(), (*case).to_owned()))
                    .or_default()
                    .push(v);
            }
            std::fs::write(&edit_file, &original).map_err(|e| e.to_string())?;
            let _ = std::fs::remove_file(&added);
            let _ = std::fs::remove_dir(added.parent().unwrap_or(&edit_dir));
        }
    }
    let _ = std::fs::remove_dir_all(data.join("work"));
    // Table.
    println!(
        "\n{:<18} {:<9} {:>10} {:>10} {:>10} {:>8} {:>12} {:>12} {:>12} {:>10}",
        "tool",
        "case",
        "median ms",
        "min ms",
        "max ms",
        "ratio",
        "mod read",
        "peak read",
        "written",
        "peak RSS"
    );
    let mut rows = Vec::new();
    for case in CASES {
        let ours = results
            .get(&("modforge".to_owned(), case.to_owned()))
            .map(|v| {
                median(
                    &mut v
                        .iter()
                        .filter_map(|x| x["ms"].as_f64())
                        .collect::<Vec<_>>(),
                )
            });
        for tool in &tools {
            let Some(list) = results.get(&(tool.clone(), case.to_owned())) else {
                continue;
            };
            let mut ms: Vec<f64> = list.iter().filter_map(|x| x["ms"].as_f64()).collect();
            let med = median(&mut ms);
            let min = ms.first().copied().unwrap_or(0.0);
            let max = ms.last().copied().unwrap_or(0.0);
            let last = list.last().cloned().unwrap_or(Value::Null);
            let rss = list
                .iter()
                .filter_map(|x| x["peakRssKiB"].as_u64())
                .max()
                .unwrap_or(0);
            let ratio = ours
                .map(|o| if o > 0.0 { med / o } else { 0.0 })
                .unwrap_or(0.0);
            let num = |k: &str| {
                last.get(k)
                    .and_then(Value::as_u64)
                    .map_or("n/a".to_owned(), |v| format!("{v}"))
            };
            println!(
                "{:<18} {:<9} {:>10.1} {:>10.1} {:>10.1} {:>7.2}x {:>12} {:>12} {:>12} {:>7.0} MiB",
                tool,
                case,
                med,
                min,
                max,
                ratio,
                num("modBytesRead"),
                num("peakBytesRead"),
                num("bytesWritten"),
                rss as f64 / 1024.0
            );
            rows.push(json!({
                "tool": tool, "case": case, "median": med, "min": min, "max": max, "runs": ms.len(),
                "ratioToModforge": ratio, "modBytesRead": last.get("modBytesRead"), "peakBytesRead": last.get("peakBytesRead"),
                "bytesWritten": last.get("bytesWritten"), "peakRssKiB": rss, "detail": last,
            }));
        }
    }
    let report = json!({
        "machine": machine, "cache": "warm", "unit": "ms",
        "data": {"scale": scale, "seed": seed, "wads": game_files.len(), "chunks": chunks, "gameBytes": game_bytes, "largestWad": biggest, "mods": mods_count, "overrideBytes": override_bytes, "editedFileBytes": edit_bytes},
        "plan": {"runs": runs, "cases": CASES, "note": "each measurement in its own process; ltk_overlay timed from provider construction"},
        "results": rows,
    });
    if let Some(parent) = out_file.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(
        &out_file,
        serde_json::to_vec_pretty(&report).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    println!("\nwritten {}", out_file.display());
    Ok(())
}
