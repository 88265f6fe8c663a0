//! The discovery memo: the discovery a generation's sources came from, stored in its `meta` as
//! JSON with the stamps of every place the discovery consulted. A warm open whose places all
//! keep their stamps takes the sources from the memo instead of discovering them again: one
//! `stat` per place instead of folder listings and file reads (docs/icons.md, "Discovery memo").

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

/// The sources of `sources`: the list itself, or a discovery with its memo. No memo is made when
/// a stamp is younger than the settling margin (it proves nothing) or when the discovery watches
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
            let watches_cache = cache_dir.is_some_and(|dir| watched.stamp(dir).is_some());
            let memo = if watched.settled() && !watches_cache {
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

/// The sources `memo` stands for, with the stamps it checked, when it answers the same question
/// as `sources`, lists the generation's `stored` sources, and every place it consulted keeps its
/// stamp. `None` sends the open to a fresh discovery.
pub(crate) fn reuse(
    memo: &str,
    sources: &Sources,
    stored: &[SourceRecord],
) -> Option<(Resolved, Watched)> {
    let Sources::Discover {
        game_dir,
        user_dir,
        options,
    } = sources
    else {
        return None;
    };
    if memo.is_empty() {
        return None;
    }
    let m: Memo = serde_json::from_str(memo).ok()?;
    let same_question = m.game_dir == *game_dir && m.user_dir == *user_dir && m.options == *options;
    let same_sources = m.discovery.sources.len() == stored.len()
        && m.discovery.sources.iter().zip(stored).all(|(spec, s)| {
            Path::new(&s.path) == spec.path
                && s.kind == spec.resolved_kind()
                && s.icons == spec.icons
                && s.label == spec.resolved_label()
        });
    if !(same_question && same_sources && m.watched.settled() && m.watched.unchanged()) {
        return None;
    }
    let resolved = Resolved {
        specs: m.discovery.sources.clone(),
        discovery: Some(m.discovery),
        memo: memo.to_string(),
    };
    Some((resolved, m.watched))
}
