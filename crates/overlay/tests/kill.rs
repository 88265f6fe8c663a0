//! Crash safety (docs/overlay.md, "Crash safety"): a build in a child process is killed with
//! SIGKILL at random progress points, then a build runs to the end; the overlay must equal,
//! byte for byte, a clean full build of the same mods, with no temp file left.

#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::tree;
use modforge_core::{Control, Progress};
use modforge_gen::SplitMix64;
use modforge_gen::league::{LeagueOptions, generate};
use modforge_overlay::{BuildOptions, BuildRequest, ModSpec, build_overlay};

fn request(game: &Path, work: &Path, mods: &[(String, PathBuf)]) -> BuildRequest {
    BuildRequest {
        game_dir: game.to_path_buf(),
        overlay_dir: work.join("overlay"),
        state_dir: work.join("state"),
        mods: mods
            .iter()
            .map(|(id, p)| ModSpec {
                id: id.clone(),
                path: p.clone(),
                layers: None,
            })
            .collect(),
        options: BuildOptions::default(),
    }
}

/// Run inside the child: build, printing one line per progress event.
#[test]
fn child_entry() {
    let Ok(config) = std::env::var("MODFORGE_KILL_CHILD") else {
        return;
    };
    let v: serde_json::Value = serde_json::from_str(&config).unwrap();
    let mods: Vec<(String, PathBuf)> = v["mods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m[0].as_str().unwrap().to_owned(),
                PathBuf::from(m[1].as_str().unwrap()),
            )
        })
        .collect();
    let r = request(
        Path::new(v["game"].as_str().unwrap()),
        Path::new(v["work"].as_str().unwrap()),
        &mods,
    );
    let out = std::sync::Mutex::new(std::io::stdout());
    let on = |p: &Progress<'_>| {
        if let Ok(mut o) = out.lock() {
            let _ = writeln!(o, "EVENT {} {}", p.stage, p.done);
            let _ = o.flush();
        }
    };
    build_overlay(
        &r,
        &Control {
            cancel: None,
            progress: Some(&on),
        },
    )
    .unwrap();
    if let Ok(mut o) = out.lock() {
        let _ = writeln!(o, "FINISHED");
    }
}

/// Starts a child build and kills it after `after` progress events (or lets it finish).
fn killed_build(game: &Path, work: &Path, mods: &[(String, PathBuf)], after: usize) -> bool {
    let config = serde_json::json!({
        "game": game, "work": work,
        "mods": mods.iter().map(|(i, p)| serde_json::json!([i, p])).collect::<Vec<_>>(),
    });
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_entry",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("MODFORGE_KILL_CHILD", config.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut seen = 0;
    let mut killed = false;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if line.starts_with("EVENT") {
            seen += 1;
            if seen == after {
                child.kill().unwrap();
                killed = true;
                break;
            }
        }
    }
    let _ = child.wait();
    killed
}

#[test]
fn builds_killed_at_random_points_then_rebuilt_equal_a_clean_build() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = LeagueOptions::small(31);
    o.mods = 5;
    let install = generate(&dir.path().join("gen"), &o).unwrap();
    let all: Vec<(String, PathBuf)> = install
        .mods
        .iter()
        .map(|m| (m.id.clone(), m.path.clone()))
        .collect();
    let some: Vec<(String, PathBuf)> = all.iter().rev().take(3).cloned().collect();
    let clean = dir.path().join("clean");
    build_overlay(
        &request(&install.game_dir, &clean, &all),
        &Control::default(),
    )
    .unwrap();
    let reference = tree(&clean.join("overlay"));
    assert!(reference.len() >= 4);
    // How many events a whole build reports.
    let probe = dir.path().join("probe");
    assert!(!killed_build(&install.game_dir, &probe, &all, usize::MAX));
    let events = {
        let config = serde_json::json!({"game": install.game_dir, "work": dir.path().join("probe2"),
            "mods": all.iter().map(|(i, p)| serde_json::json!([i, p])).collect::<Vec<_>>()});
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_entry",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("MODFORGE_KILL_CHILD", config.to_string())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("EVENT"))
            .count()
    };
    assert!(events > 10, "{events} events");
    let mut rng = SplitMix64::new(99);
    let mut kills = 0;
    for round in 0..8 {
        let work = dir.path().join(format!("work{round}"));
        if round % 2 == 1 {
            // Start from an overlay of other mods, so the killed build is incremental.
            build_overlay(
                &request(&install.game_dir, &work, &some),
                &Control::default(),
            )
            .unwrap();
        }
        let at = 1 + rng.below(events as u64) as usize;
        if killed_build(&install.game_dir, &work, &all, at) {
            kills += 1;
        }
        if rng.chance(0.5) {
            // Sometimes a second kill lands on the recovery build.
            let at = 1 + rng.below(events as u64) as usize;
            killed_build(&install.game_dir, &work, &all, at);
        }
        build_overlay(
            &request(&install.game_dir, &work, &all),
            &Control::default(),
        )
        .unwrap();
        let got = tree(&work.join("overlay"));
        assert!(
            got.keys().all(|k| !k.ends_with(".tmp")),
            "round {round}: temp file left"
        );
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            reference.keys().collect::<Vec<_>>(),
            "round {round}"
        );
        for (k, v) in &got {
            assert!(
                reference[k] == *v,
                "round {round}: {k} differs from the clean build"
            );
        }
        let again = build_overlay(
            &request(&install.game_dir, &work, &all),
            &Control::default(),
        )
        .unwrap();
        assert!(
            again.skipped,
            "round {round}: the recovered overlay is clean"
        );
    }
    assert!(kills >= 6, "only {kills} builds were killed");
}
