//! The tree shapes of the benchmark: wide, deep, realistic-node, realistic-game, source, and a mix
//! of them (docs/profile.md, "Generated trees" and "Benchmark").

use super::plan::{Plan, ROOT, age, word};
use crate::rng::SplitMix64;

/// Wide: 10 directories sharing a third of the entries and one directory with two thirds (at 300,000
/// entries: 10 x 10,000 + 200,000, the benchmark's tree).
pub(crate) fn wide(plan: &mut Plan, parent: u32, entries: u64, rng: &mut SplitMix64) {
    const EXTS: [&str; 6] = ["txt", "dat", "bin", "json", "log", "png"];
    let big = entries * 2 / 3;
    let each = entries.saturating_sub(big) / 10;
    let fill = |plan: &mut Plan, dir: u32, count: u64, rng: &mut SplitMix64| {
        for i in 0..count {
            if plan.cancelled() {
                break;
            }
            let ext = rng.pick(&EXTS).copied().unwrap_or("dat");
            let size = rng.log_normal(1024.0, 1.2, 64 << 10);
            plan.file(dir, format!("f{i:06}.{ext}"), size, age(rng), false);
        }
    };
    for d in 0..10 {
        let dir = plan.dir(parent, &format!("d{d:02}"));
        fill(plan, dir, each, rng);
    }
    let dir = plan.dir(parent, "big");
    fill(plan, dir, big, rng);
}

/// Deep: chains of depth 64-256 with one-letter directory names and 0-3 small files per level.
pub(crate) fn deep(plan: &mut Plan, parent: u32, entries: u64, rng: &mut SplitMix64) {
    let start = plan.entries();
    let mut chain = 0u64;
    while !plan.filled(start, entries) {
        let mut dir = plan.dir(parent, &format!("c{chain:04}"));
        chain += 1;
        let depth = rng.range(64, 256);
        for level in 0..depth {
            for f in 0..rng.below(4) {
                plan.file(
                    dir,
                    format!("f{f}"),
                    rng.log_normal(512.0, 1.0, 16 << 10),
                    age(rng),
                    false,
                );
            }
            if plan.filled(start, entries) {
                break;
            }
            dir = plan.dir(dir, if level % 2 == 0 { "d" } else { "e" });
        }
    }
}

/// Realistic node: a `node_modules` with packages (some scoped) holding `package.json`, `README.md`,
/// `LICENSE`, `index.js`, `lib/*.js`, `*.d.ts`, `*.map`, and nested `node_modules` 1-3 levels deep;
/// log-normal sizes with a median of about 1 KiB.
pub(crate) fn node(plan: &mut Plan, parent: u32, entries: u64, rng: &mut SplitMix64) {
    let start = plan.entries();
    let modules = plan.dir(parent, "node_modules");
    let mut index = 0u64;
    while !plan.filled(start, entries) {
        package(plan, modules, rng, &mut index, 0);
    }
}

fn package(plan: &mut Plan, modules: u32, rng: &mut SplitMix64, index: &mut u64, nesting: u32) {
    *index += 1;
    let name = format!("{}-{}", word(rng), index);
    let dir = if rng.chance(0.15) {
        let scope = plan.dir(modules, &format!("@{}{}", word(rng), index));
        plan.dir(scope, &name)
    } else {
        plan.dir(modules, &name)
    };
    let size = |rng: &mut SplitMix64| rng.log_normal(1024.0, 1.7, 4 << 20);
    let a = age(rng);
    plan.file(
        dir,
        "package.json".into(),
        rng.log_normal(900.0, 0.8, 64 << 10),
        a,
        false,
    );
    plan.file(dir, "README.md".into(), size(rng), a, false);
    if rng.chance(0.8) {
        plan.file(dir, "LICENSE".into(), rng.range(1000, 1200), a, false);
    }
    plan.file(dir, "index.js".into(), size(rng), a, false);
    if rng.chance(0.5) {
        plan.file(dir, "index.d.ts".into(), size(rng), a, false);
    }
    let lib = plan.dir(dir, if rng.chance(0.5) { "lib" } else { "dist" });
    for i in 0..rng.range(1, 12) {
        let base = format!("{}{i}", word(rng));
        plan.file(lib, format!("{base}.js"), size(rng), a, false);
        if rng.chance(0.4) {
            plan.file(
                lib,
                format!("{base}.js.map"),
                size(rng).saturating_mul(2),
                a,
                false,
            );
        }
        if rng.chance(0.3) {
            plan.file(lib, format!("{base}.d.ts"), size(rng) / 2, a, false);
        }
    }
    if nesting < 3 && rng.chance(0.12) {
        let nested = plan.dir(dir, "node_modules");
        for _ in 0..rng.range(1, 3) {
            package(plan, nested, rng, index, nesting + 1);
        }
    }
}

/// Realistic game: an install with a few directories, large archives as sparse files (`.pak`,
/// `.bif`, `.wad`), movies, and many small data files in override and module folders.
pub(crate) fn game(plan: &mut Plan, parent: u32, entries: u64, rng: &mut SplitMix64) {
    const DATA_EXTS: [&str; 8] = ["2da", "tga", "mdl", "dds", "txt", "xml", "uti", "dlg"];
    const ARCHIVE_EXTS: [&str; 3] = ["pak", "bif", "wad"];
    let start = plan.entries();
    let data = plan.dir(parent, "Data");
    let archives = (entries / 5_000).clamp(3, 40);
    for i in 0..archives {
        let ext = rng.pick(&ARCHIVE_EXTS).copied().unwrap_or("pak");
        let size = rng.range(64 << 20, 2 << 30);
        plan.file(data, format!("archive{i:03}.{ext}"), size, age(rng), true);
    }
    let movies = plan.dir(parent, "Movies");
    for i in 0..(archives / 3).max(1) {
        plan.file(
            movies,
            format!("intro{i:02}.bik"),
            rng.range(16 << 20, 512 << 20),
            age(rng),
            true,
        );
    }
    plan.file(
        parent,
        "game.exe".into(),
        rng.range(8 << 20, 64 << 20),
        age(rng),
        true,
    );
    plan.file(
        parent,
        "settings.ini".into(),
        rng.range(500, 4000),
        0,
        false,
    );
    let top = ["Override", "Modules", "Saves", "Music"].map(|name| plan.dir(parent, name));
    let mut folder = 0u64;
    while !plan.filled(start, entries) {
        let Some(&base) = rng.pick(&top) else { break };
        let dir = plan.dir(base, &format!("{}{folder:03}", word(rng)));
        folder += 1;
        for i in 0..rng.range(50, 400) {
            let ext = rng.pick(&DATA_EXTS).copied().unwrap_or("dat");
            let size = rng.log_normal(2048.0, 1.8, 8 << 20);
            plan.file(
                dir,
                format!("{}_{i:04}.{ext}", word(rng)),
                size,
                age(rng),
                false,
            );
            if plan.filled(start, entries) {
                break;
            }
        }
    }
}

/// Deepest folder level of the `source` shape (the root's own files are level 0).
pub(crate) const SOURCE_MAX_DEPTH: u64 = 20;

/// Source: a source repository's shape, 2-10 files per folder (about six) and folders nested up to
/// [`SOURCE_MAX_DEPTH`] levels, most of them 3-8 deep. Each step draws a target depth (the smaller
/// of two uniform draws, so shallow folders are common and deep ones rare) and descends from the
/// root to it, entering an existing subfolder with probability `k / (k + 2)` for a folder with `k`
/// subfolders, else creating one with its files; so a folder has a few subfolders, not hundreds.
pub(crate) fn source(plan: &mut Plan, parent: u32, entries: u64, rng: &mut SplitMix64) {
    const EXTS: [&str; 12] = [
        "rs", "ts", "js", "c", "h", "py", "go", "md", "json", "toml", "txt", "yml",
    ];
    let start = plan.entries();
    // subfolders of each folder of this shape, by index into `subfolders` (0 = `parent`)
    let mut subfolders: Vec<Vec<usize>> = vec![Vec::new()];
    let mut plan_index: Vec<u32> = vec![parent];
    let files = |plan: &mut Plan, dir: u32, rng: &mut SplitMix64| {
        for i in 0..rng.range(2, 10) {
            let ext = rng.pick(&EXTS).copied().unwrap_or("txt");
            let size = rng.log_normal(3000.0, 1.5, 1 << 20);
            plan.file(
                dir,
                format!("{}{i}.{ext}", word(rng)),
                size,
                age(rng),
                false,
            );
        }
    };
    files(plan, parent, rng);
    while !plan.filled(start, entries) {
        let depth = rng
            .range(1, SOURCE_MAX_DEPTH)
            .min(rng.range(1, SOURCE_MAX_DEPTH));
        let mut at = 0usize;
        for _ in 0..depth {
            let existing = subfolders.get(at).map_or(0, Vec::len) as u64;
            if existing > 0 && rng.below(existing + 2) < existing {
                let pick = rng.below(existing) as usize;
                at = subfolders
                    .get(at)
                    .and_then(|s| s.get(pick))
                    .copied()
                    .unwrap_or(at);
                continue;
            }
            let parent_dir = plan_index.get(at).copied().unwrap_or(parent);
            let dir = plan.dir(parent_dir, &format!("{}{existing}", word(rng)));
            files(plan, dir, rng);
            let new = subfolders.len();
            subfolders.push(Vec::new());
            plan_index.push(dir);
            if let Some(s) = subfolders.get_mut(at) {
                s.push(new);
            }
            at = new;
            if plan.filled(start, entries) {
                break;
            }
        }
    }
}

/// Mixed: a node project (half), a game install (a third) and a few deep chains.
pub(crate) fn mixed(plan: &mut Plan, entries: u64, rng: &mut SplitMix64) {
    let project = plan.dir(ROOT, "project");
    node(plan, project, entries / 2, rng);
    let install = plan.dir(ROOT, "game");
    game(plan, install, entries / 3, rng);
    let chains = plan.dir(ROOT, "deep");
    deep(plan, chains, entries.saturating_sub(plan.entries()), rng);
}

#[cfg(test)]
mod tests {
    use super::*;
    use modforge_core::Cancel;

    #[test]
    fn every_shape_stops_planning_once_cancelled() {
        let cancel = Cancel::new();
        cancel.cancel();
        let shapes: [fn(&mut Plan<'_>, u32, u64, &mut SplitMix64); 5] =
            [wide, deep, node, game, source];
        for (index, shape) in shapes.into_iter().enumerate() {
            let mut plan = Plan::new(Some(&cancel));
            shape(&mut plan, ROOT, 2_000_000, &mut SplitMix64::new(7));
            // At most the fixed folders and files a shape lays down before its first check.
            assert!(
                plan.entries() < 200,
                "shape {index}: {} entries",
                plan.entries()
            );
        }
        let mut plan = Plan::new(Some(&cancel));
        mixed(&mut plan, 2_000_000, &mut SplitMix64::new(7));
        assert!(plan.entries() < 400, "mixed: {} entries", plan.entries());
        // Not cancelled: the same call plans every entry.
        let mut plan = Plan::new(None);
        mixed(&mut plan, 20_000, &mut SplitMix64::new(7));
        assert!(plan.entries() >= 20_000);
    }

    #[test]
    fn source_has_about_six_files_per_folder_and_depth_up_to_twenty() {
        let mut plan = Plan::new(None);
        let mut rng = SplitMix64::new(2024);
        source(&mut plan, ROOT, 100_000, &mut rng);
        let dirs = plan.dirs.len() as u64;
        let files = plan.files.len() as u64;
        assert!(plan.entries() >= 100_000 && plan.entries() < 100_020);
        let per_folder = files as f64 / dirs as f64;
        assert!(
            (5.5..=6.5).contains(&per_folder),
            "{per_folder} files per folder"
        );
        let depth = |path: &str| path.matches('/').count() as u64 + 1;
        let deepest = plan.dirs.iter().skip(1).map(|p| depth(p)).max();
        assert_eq!(deepest, Some(SOURCE_MAX_DEPTH));
        // most folders lie 3-8 levels down
        let middle = plan
            .dirs
            .iter()
            .skip(1)
            .filter(|p| (3..=8).contains(&depth(p)))
            .count() as u64;
        assert!(middle * 2 > dirs, "{middle} of {dirs} folders 3-8 deep");
        // names are unique within their folder
        let mut paths: Vec<String> = plan.dirs.clone();
        paths.extend(
            plan.files
                .iter()
                .map(|f| format!("{}/{}", plan.dir_path(f.dir), f.name)),
        );
        let before = paths.len();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), before);
        // every folder holds 2-10 files
        let mut counts = vec![0u64; plan.dirs.len()];
        for f in &plan.files {
            counts[f.dir as usize] += 1;
        }
        assert!(counts.iter().all(|&n| (2..=10).contains(&n)), "{counts:?}");
    }
}
