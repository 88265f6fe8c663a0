//! The discovery memo: the discovery a generation's sources came from, stored in its `meta` as
//! JSON with the stamps of every place the discovery consulted. A warm open takes the sources
//! from the memo instead of discovering them again: without validation only when every place
//! keeps its stamp (one `stat` per place instead of folder listings and file reads), with
//! validation, which discovers again in any case, as stored (docs/icons.md, "Discovery memo").

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Sources;
use super::layout::SourceRecord;
use crate::discover::{DiscoverOptions, Discovery, Watched, discover_watched};
use crate::error::Error;
use crate::source::SourceSpec;

/// The sources an open or a rebuild works from, with the discovery they came from and its memo.
#[derive(Clone, Debug, Default)]
pub(crate) struct Resolved {
    /// The sources, highest priority first.
    pub specs: Vec<SourceSpec>,
    /// The discovery, when the sources were discovered.
    pub discovery: Option<Discovery>,
    /// The memo to store with a generation built from these sources (empty: none).
    pub memo: String,
}

/// What the memo holds: the question, its answer and the stamps that prove the answer.
#[derive(Serialize, Deserialize)]
struct Memo {
    game_dir: PathBuf,
    user_dir: PathBuf,
    options: DiscoverOptions,
    discovery: Discovery,
    watched: Watched,
}

/// The sources of `sources`: the list itself, or a discovery with its memo. No memo is made for a
/// cache kept in memory only (`cache_dir` is `None`: no generation is stored to reuse it), when a
/// stamp is younger than the settling margin (it proves nothing) or when the discovery watches
/// `cache_dir` (every generation written there would undo the memo).
pub(crate) fn resolve(sources: &Sources, cache_dir: Option<&Path>) -> Result<Resolved, Error> {
    match sources {
        Sources::List(list) => Ok(Resolved {
            specs: list.clone(),
            ..Resolved::default()
        }),
        Sources::Discover {
            game_dir,
            user_dir,
            options,
        } => {
            let (discovery, watched) = discover_watched(game_dir, user_dir, options)?;
            // Stored only with a generation in a cache folder the discovery does not watch.
            let storable = cache_dir.is_some_and(|dir| watched.stamp(dir).is_none());
            let memo = if storable && watched.settled() {
                serde_json::to_string(&Memo {
                    game_dir: game_dir.clone(),
                    user_dir: user_dir.clone(),
                    options: options.clone(),
                    discovery: discovery.clone(),
                    watched,
                })
                .unwrap_or_default()
            } else {
                String::new()
            };
            Ok(Resolved {
                specs: discovery.sources.clone(),
                discovery: Some(discovery),
                memo,
            })
        }
    }
}

/// The question and answer of a memo, read without its stamps (`watched` is passed over).
#[derive(Deserialize)]
struct Answer {
    game_dir: PathBuf,
    user_dir: PathBuf,
    options: DiscoverOptions,
    discovery: Discovery,
}

/// Whether a memo's question is the one `sources` asks and its answer lists the generation's
/// `stored` sources.
fn answers(
    (game_dir, user_dir, options): (&Path, &Path, &DiscoverOptions),
    discovery: &Discovery,
    sources: &Sources,
    stored: &[SourceRecord],
) -> bool {
    let Sources::Discover {
        game_dir: asked_game,
        user_dir: asked_user,
        options: asked_options,
    } = sources
    else {
        return false;
    };
    game_dir == asked_game.as_path()
        && user_dir == asked_user.as_path()
        && options == asked_options
        && discovery.sources.len() == stored.len()
        && discovery
            .sources
            .iter()
            .zip(stored)
            .all(|(spec, s)| s.describes(spec))
}

/// The sources `memo` stands for, with the stamps it checked, when it answers the same question
/// as `sources`, lists the generation's `stored` sources, and every place it consulted keeps its
/// stamp. `None` sends the open to a fresh discovery.
pub(crate) fn reuse(
    memo: &str,
    sources: &Sources,
    stored: &[SourceRecord],
) -> Option<(Resolved, Watched)> {
    if memo.is_empty() {
        return None;
    }
    let m: Memo = serde_json::from_str(memo).ok()?;
    let question = (m.game_dir.as_path(), m.user_dir.as_path(), &m.options);
    if !(answers(question, &m.discovery, sources, stored)
        && m.watched.settled()
        && m.watched.unchanged())
    {
        return None;
    }
    let resolved = Resolved {
        specs: m.discovery.sources.clone(),
        discovery: Some(m.discovery),
        memo: memo.to_string(),
    };
    Some((resolved, m.watched))
}

/// The sources `memo` stands for when it answers the same question as `sources` and lists the
/// generation's `stored` sources, its stamps left unchecked: the sources of an open whose
/// validation discovers again on its own thread (docs/icons.md, "Discovery memo").
pub(crate) fn provisional(
    memo: &str,
    sources: &Sources,
    stored: &[SourceRecord],
) -> Option<Resolved> {
    if memo.is_empty() {
        return None;
    }
    let a: Answer = serde_json::from_str(memo).ok()?;
    let question = (a.game_dir.as_path(), a.user_dir.as_path(), &a.options);
    if !answers(question, &a.discovery, sources, stored) {
        return None;
    }
    Some(Resolved {
        specs: a.discovery.sources.clone(),
        discovery: Some(a.discovery),
        memo: memo.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use modforge_gen::nwn2::{InstallSpec, generate};

    use super::*;

    /// Sets every file and folder under `root` to one time long past (settled stamps).
    fn settle(root: &Path) {
        let then = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
        let mut stack = vec![root.to_path_buf()];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            }
            std::fs::File::open(&path)
                .unwrap()
                .set_modified(then)
                .unwrap();
        }
    }

    fn stored_of(specs: &[SourceSpec]) -> Vec<SourceRecord> {
        specs
            .iter()
            .enumerate()
            .map(|(id, spec)| SourceRecord {
                id: id as u16,
                kind: spec.resolved_kind(),
                icons: spec.icons,
                priority: id as i32,
                size: 0,
                mtime_ns: 0,
                hash: 0,
                path: spec.path.display().to_string(),
                label: spec.resolved_label(),
            })
            .collect()
    }

    /// A memo is taken only for its own question, its generation's sources and (unless
    /// validation follows) unchanged, settled stamps; damaged or lying JSON (every byte flipped,
    /// every truncation, each field changed) is refused or, when it still parses to the same
    /// answer, gives exactly the stored sources. Nothing panics.
    #[test]
    fn lying_or_damaged_memos_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let m = generate(&dir.path().join("nwn2"), &InstallSpec::small(5)).unwrap();
        settle(dir.path());
        let sources = Sources::Discover {
            game_dir: m.game_dir.clone(),
            user_dir: m.user_dir.clone(),
            options: DiscoverOptions {
                module: Some(m.module.clone()),
                campaign: Some(m.campaign.clone()),
                workshop_dirs: vec![m.workshop_root.clone()],
            },
        };
        let cache_dir = dir.path().join("cache");
        let resolved = resolve(&sources, Some(&cache_dir)).unwrap();
        assert!(!resolved.memo.is_empty(), "a settled discovery has a memo");
        let in_memory = resolve(&sources, None).unwrap();
        assert!(
            in_memory.memo.is_empty(),
            "no memo where no generation is stored"
        );
        assert_eq!(in_memory.specs, resolved.specs);
        let stored = stored_of(&resolved.specs);
        let (again, watched) = reuse(&resolved.memo, &sources, &stored).expect("reused");
        assert_eq!(again.specs, resolved.specs);
        assert_eq!(again.discovery, resolved.discovery);
        assert!(watched.places.len() > resolved.specs.len());

        // Not for another question, other stored sources, or a list.
        let mut other = sources.clone();
        if let Sources::Discover { options, .. } = &mut other {
            options.campaign = None;
        }
        assert!(reuse(&resolved.memo, &other, &stored).is_none());
        assert!(reuse(&resolved.memo, &sources, &stored[1..]).is_none());
        let mut relabelled = stored.clone();
        relabelled[0].label.push('x');
        assert!(reuse(&resolved.memo, &sources, &relabelled).is_none());
        assert!(
            reuse(
                &resolved.memo,
                &Sources::List(resolved.specs.clone()),
                &stored
            )
            .is_none()
        );
        assert!(reuse("", &sources, &stored).is_none());

        // Each stamp changed, each place moved, the start moved to now: refused.
        let value: serde_json::Value = serde_json::from_str(&resolved.memo).unwrap();
        let places = value["watched"]["places"].as_array().unwrap().len();
        let mut lies = Vec::new();
        for i in 0..places {
            let mut v = value.clone();
            let stamp = &mut v["watched"]["places"][i][1];
            match stamp["is"].as_str().unwrap() {
                "missing" => *stamp = serde_json::json!({"is": "dir", "mtime_ns": 1}),
                _ => stamp["mtime_ns"] = serde_json::json!(stamp["mtime_ns"].as_i64().unwrap() + 1),
            }
            lies.push(v);
            let mut v = value.clone();
            v["watched"]["places"][i][0] = serde_json::json!(dir.path().join("nowhere"));
            lies.push(v);
        }
        let mut v = value.clone();
        v["watched"]["started_ns"] = serde_json::json!(1_600_000_001_000_000_000i64);
        lies.push(v);
        for lie in lies {
            assert!(
                reuse(&lie.to_string(), &sources, &stored).is_none(),
                "{lie}"
            );
            // Taken as it stands by an open that validation follows: the same sources.
            let taken = provisional(&lie.to_string(), &sources, &stored).expect("provisional");
            assert_eq!(taken.specs, resolved.specs);
        }
        assert!(provisional(&resolved.memo, &other, &stored).is_none());
        assert!(provisional(&resolved.memo, &sources, &stored[1..]).is_none());
        assert!(provisional(&resolved.memo, &sources, &relabelled).is_none());
        assert!(provisional("", &sources, &stored).is_none());

        // Every byte flipped and every truncation: never a panic, and an accepted memo is the
        // stored sources with current stamps.
        let bytes = resolved.memo.as_bytes();
        let mut cases = Vec::new();
        for at in 0..bytes.len() {
            let mut flipped = bytes.to_vec();
            flipped[at] ^= 1 << (at % 8);
            cases.push(flipped);
            cases.push(bytes[..at].to_vec());
        }
        for case in cases {
            let Ok(text) = std::str::from_utf8(&case) else {
                continue;
            };
            if let Some((taken, watched)) = reuse(text, &sources, &stored) {
                assert_eq!(stored_of(&taken.specs), stored);
                assert!(watched.settled() && watched.unchanged());
            }
            if let Some(taken) = provisional(text, &sources, &stored) {
                assert_eq!(stored_of(&taken.specs), stored);
            }
        }
    }
}
