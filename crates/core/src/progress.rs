//! The progress event every long call reports, whatever the capability.

/// What a long call is doing when it reports progress. The Node binding exposes the same names
/// as a string union (`'walk' | 'parse' | ...`); each stage documents its unit of `done`/`total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Profiling a tree; `done` = entries counted, `bytes` = apparent bytes so far, no `total`.
    Walk,
    /// Writing generated test data; `done`/`total` = entries (files, folders, tables) created.
    Generate,
    /// Reading and parsing source tables; `done`/`total` = rows.
    Parse,
    /// Building an index or payload in memory; `done`/`total` = items (rows, entries).
    Build,
    /// Writing a file; `done`/`total` = bytes.
    Write,
    /// Verifying stored files; `done`/`total` = bytes checked.
    Verify,
    /// Indexing sources (archives, folders); `done`/`total` = sources.
    Index,
    /// Deciding what to rebuild; `done`/`total` = items.
    Plan,
    /// Decoding and encoding images; `done`/`total` = images.
    Encode,
    /// Extracting blocks or entries; `done`/`total` = items.
    Extract,
    /// Rendering thumbnails; `done`/`total` = thumbnails.
    Thumbnail,
    /// Scanning for data; `done`/`total` = bytes scanned.
    Scan,
    /// Fingerprinting inputs; `done`/`total` = items.
    Fingerprint,
    /// Collecting overrides; `done`/`total` = items.
    Collect,
    /// Routing overrides to their targets; `done`/`total` = items.
    Route,
    /// Patching outputs; `done`/`total` = outputs.
    Patch,
    /// Removing stale outputs; `done`/`total` = files.
    Sweep,
    /// The last event of a call; `done` equals `total`.
    Done,
}

impl Stage {
    /// Every stage, in declaration order.
    pub const ALL: [Stage; 18] = [
        Stage::Walk,
        Stage::Generate,
        Stage::Parse,
        Stage::Build,
        Stage::Write,
        Stage::Verify,
        Stage::Index,
        Stage::Plan,
        Stage::Encode,
        Stage::Extract,
        Stage::Thumbnail,
        Stage::Scan,
        Stage::Fingerprint,
        Stage::Collect,
        Stage::Route,
        Stage::Patch,
        Stage::Sweep,
        Stage::Done,
    ];

    /// The stage's name as reported to callers (`walk`, `parse`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Walk => "walk",
            Stage::Generate => "generate",
            Stage::Parse => "parse",
            Stage::Build => "build",
            Stage::Write => "write",
            Stage::Verify => "verify",
            Stage::Index => "index",
            Stage::Plan => "plan",
            Stage::Encode => "encode",
            Stage::Extract => "extract",
            Stage::Thumbnail => "thumbnail",
            Stage::Scan => "scan",
            Stage::Fingerprint => "fingerprint",
            Stage::Collect => "collect",
            Stage::Route => "route",
            Stage::Patch => "patch",
            Stage::Sweep => "sweep",
            Stage::Done => "done",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One progress event. Sources report at coarse steps; throttling for display is the receiver's
/// job (the Node binding forwards about ten a second and always the last one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress<'a> {
    /// What is running.
    pub stage: Stage,
    /// Units done so far, in the unit [`Stage`] documents.
    pub done: u64,
    /// Units in all, when known in advance.
    pub total: Option<u64>,
    /// Bytes seen so far, for stages that count bytes besides their unit.
    pub bytes: Option<u64>,
    /// What is being worked on now (a relative folder, a table, a file), or `""`.
    pub current: &'a str,
}

impl<'a> Progress<'a> {
    /// An event of `stage` with `done` of `total` units.
    pub fn of(stage: Stage, done: u64, total: u64) -> Self {
        Progress {
            stage,
            done,
            total: Some(total),
            bytes: None,
            current: "",
        }
    }

    /// The same event naming what is being worked on.
    pub fn at(self, current: &'a str) -> Self {
        Progress { current, ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_names_are_unique_and_lower_case() {
        let mut names: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_lowercase()))
        );
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Stage::ALL.len());
    }

    #[test]
    fn builders_fill_the_event() {
        let event = Progress::of(Stage::Encode, 3, 10).at("is_fireball");
        assert_eq!(event.total, Some(10));
        assert_eq!(event.current, "is_fireball");
        assert_eq!(event.stage.to_string(), "encode");
    }
}
