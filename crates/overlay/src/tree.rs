//! Stat-only listings of folders (the game's `DATA/FINAL`, folder mods), with modforge-walk's
//! parallel walker: metadata is read relative to each open directory, never through a full path,
//! which is what keeps the fingerprint stage (run on every build, the skip included) cheap.
//! Symbolic links are reported, never followed.

use std::path::Path;

use modforge_walk::engine::{
    Candidate, Entry, EntryKind, Visit, Visitor, VisitorFactory, WalkConfig, WalkControl,
    WalkError, walk,
};

use crate::error::{Error, Result};

/// One listed entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Listed {
    /// Path relative to the root, `/`-separated.
    pub rel: String,
    /// File, directory or link.
    pub kind: EntryKind,
    /// Size.
    pub size: u64,
    /// Modification time, ns since the Unix epoch (0 if earlier).
    pub mtime_ns: u64,
}

struct Lister<F> {
    keep: F,
    out: Vec<Listed>,
}

impl<F: Fn(&str, bool) -> bool> Visitor for Lister<F> {
    type Output = Vec<Listed>;

    fn admit(&mut self, c: &Candidate<'_>) -> bool {
        let mut rel = String::new();
        c.write_rel_path(&mut rel);
        (self.keep)(&rel, c.kind() == EntryKind::Dir)
    }

    fn visit(&mut self, entry: &Entry<'_>) -> std::result::Result<Visit, modforge_walk::Error> {
        if entry.is_root() {
            return Ok(Visit::Enter);
        }
        let mut rel = String::new();
        entry.write_rel_path(&mut rel);
        let (size, mtime_ns) = entry.meta().map_or((0, 0), |m| {
            (m.apparent, u64::try_from(m.mtime_ns).unwrap_or(0))
        });
        self.out.push(Listed {
            rel,
            kind: entry.kind(),
            size,
            mtime_ns,
        });
        Ok(Visit::Enter)
    }

    fn error(&mut self, error: &WalkError<'_>) -> std::result::Result<(), modforge_walk::Error> {
        Err(error.to_error())
    }

    fn finish(self) -> std::result::Result<Self::Output, modforge_walk::Error> {
        Ok(self.out)
    }
}

struct Factory<F>(F);

impl<F: Fn(&str, bool) -> bool + Clone + Sync> VisitorFactory for Factory<F> {
    type Visitor = Lister<F>;

    fn make(&self, _worker: usize) -> Lister<F> {
        Lister {
            keep: self.0.clone(),
            out: Vec::new(),
        }
    }
}

/// Lists everything under `root` that `keep(rel, is_dir)` admits (a refused folder is not read),
/// sorted by relative path bytes.
pub(crate) fn list(
    root: &Path,
    keep: impl Fn(&str, bool) -> bool + Clone + Sync,
) -> Result<Vec<Listed>> {
    let config = WalkConfig {
        threads: 2,
        ..WalkConfig::default()
    };
    let parts = walk(root, &config, &Factory(keep), &WalkControl::default()).map_err(walk_error)?;
    let mut out: Vec<Listed> = parts.into_iter().flatten().collect();
    out.sort_unstable_by(|a, b| a.rel.as_bytes().cmp(b.rel.as_bytes()));
    Ok(out)
}

fn walk_error(e: modforge_walk::Error) -> Error {
    match e {
        modforge_walk::Error::Io { path, op, source } => Error::io(op.as_str(), path, source),
        modforge_walk::Error::Aborted => Error::Aborted,
        other => Error::Internal(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_admitted_entries_sorted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::create_dir_all(dir.path().join("skip/me")).unwrap();
        std::fs::write(dir.path().join("a/b/f.bin"), b"12345").unwrap();
        std::fs::write(dir.path().join("skip/me/g.bin"), b"1").unwrap();
        std::fs::write(dir.path().join("z.bin"), b"1").unwrap();
        let got = list(dir.path(), |rel, _| !rel.starts_with("skip")).unwrap();
        let rels: Vec<&str> = got.iter().map(|l| l.rel.as_str()).collect();
        assert_eq!(rels, vec!["a", "a/b", "a/b/f.bin", "z.bin"]);
        assert_eq!(got[2].size, 5);
        assert!(got[2].mtime_ns > 1_600_000_000_000_000_000);
        assert_eq!(got[2].kind, EntryKind::File);
        assert!(matches!(
            list(&dir.path().join("nope"), |_, _| true),
            Err(Error::Io { .. })
        ));
    }
}
