//! Following symbolic links: each directory `(dev, ino)` is read once (docs/profile.md,
//! "Semantics").
//!
//! A walk that follows links reads in rounds. Round 0 reads the root's own tree; every link to a
//! directory that nobody has read yet is put aside. When a round has no job left, the links put
//! aside are grouped by their target, and each target not read meanwhile is read in the next round
//! under the link with the smallest `(depth, path)`; the other names of a target are visited but
//! not read. So the name a directory is read under depends only on the tree, not on the
//! scheduling, and the report is the same for any thread count. A name whose target is one of its
//! own ancestors (or its own folder) is a loop: it is reported as `ELOOP` and not counted, as
//! `find -L` and `du -L` leave it out.

use std::collections::HashSet;
use std::ffi::OsString;
use std::hash::BuildHasher;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use super::entry::{DirNode, FileId, Meta};

/// Shards of the claim set (directories are claimed once per read, so contention is low).
const SHARDS: usize = 64;

/// What a directory met during the walk is, for a walk that follows links.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Not read by anyone yet.
    New,
    /// Read (or about to be read) under another name.
    Duplicate,
    /// The directory holding the name or one of its ancestors: a loop.
    Loop,
}

/// A link to a directory nobody had read when the link was listed.
pub(crate) struct PutAside {
    /// The directory holding the link.
    pub(crate) parent: Arc<DirNode>,
    /// The link's name.
    pub(crate) name: OsString,
    /// The link's full path (its components order the candidates of one target).
    pub(crate) path: PathBuf,
    /// The target's metadata.
    pub(crate) meta: Meta,
    /// The target's identity.
    pub(crate) id: FileId,
}

/// The shared state of a walk that follows links: directories claimed for reading and links put
/// aside for the next round.
pub(crate) struct Follow {
    claimed: [Mutex<HashSet<FileId>>; SHARDS],
    hasher: std::collections::hash_map::RandomState,
    aside: Mutex<Vec<PutAside>>,
}

impl Follow {
    pub(crate) fn new() -> Self {
        Follow {
            claimed: std::array::from_fn(|_| Mutex::new(HashSet::new())),
            hasher: std::collections::hash_map::RandomState::new(),
            aside: Mutex::new(Vec::new()),
        }
    }

    fn shard(&self, id: FileId) -> &Mutex<HashSet<FileId>> {
        let index = (self.hasher.hash_one(id) as usize) % SHARDS;
        &self.claimed[index]
    }

    /// Claims directory `id` for reading; `false` when it was claimed already.
    pub(crate) fn claim(&self, id: FileId) -> bool {
        self.shard(id)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id)
    }

    /// Classifies a directory with identity `id` met inside `dir`.
    pub(crate) fn seen(&self, dir: &DirNode, id: FileId) -> Seen {
        let claimed = self
            .shard(id)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&id);
        match claimed {
            false => Seen::New,
            // Every ancestor was claimed before anything inside it was listed.
            true if dir.has_ancestor_or_self(id) => Seen::Loop,
            true => Seen::Duplicate,
        }
    }

    /// Puts a link aside for the next round.
    pub(crate) fn put_aside(&self, link: PutAside) {
        self.aside
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(link);
    }

    /// Whether links wait for the next round.
    pub(crate) fn has_put_aside(&self) -> bool {
        !self
            .aside
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }

    /// The links put aside, grouped by target identity and, within a group, in `(depth, path)`
    /// order: the first of a group is the one to read its target under.
    pub(crate) fn take_round(&self) -> Vec<PutAside> {
        let mut links =
            std::mem::take(&mut *self.aside.lock().unwrap_or_else(PoisonError::into_inner));
        links.sort_by(|a, b| {
            a.id.cmp(&b.id)
                .then_with(|| a.parent.depth.cmp(&b.parent.depth))
                .then_with(|| a.path.cmp(&b.path))
        });
        links
    }
}
