//! Inspection and verification of snapshot files (`modforge store inspect|verify`).
//!
//! The container checks (size, magic, versions, integrity) are this crate's; what a payload holds
//! is checked by a [`PayloadKind`] plug-in for its `kind`, so the container never knows payload
//! layouts (docs/store.md, "Inspection").

use std::path::{Path, PathBuf};

use modforge_core::{Categorize, Category, Control};

use crate::error::Error;
use crate::file::{self, OpenFailure, ReadFailure};
use crate::header::{self, HEADER_LEN, Header};
use crate::names::{self, EntryKind};
use crate::reason::{Reason, ReasonCode};
use crate::snapshot::Snapshot;

/// One check and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The check's name: `file` (a regular file that can be read), `size`, `magic`,
    /// `container version`, `fingerprint algorithm`,
    /// `integrity` (length and both checksums), then the payload plug-in's checks
    /// (`structure`, and for [`verify`] a full walk such as `cells`).
    pub name: &'static str,
    /// `Ok` or why it failed.
    pub result: Result<(), Reason>,
}

impl Check {
    /// A check named `name` with its outcome.
    pub fn new(name: &'static str, result: Result<(), Reason>) -> Self {
        Check { name, result }
    }
}

/// What a payload plug-in found.
#[derive(Debug, Clone, PartialEq)]
pub struct Examination {
    /// The checks run, in order (a failed check ends the list).
    pub checks: Vec<Check>,
    /// What the payload holds, for display (tables and their columns, entry counts, ...).
    pub details: serde_json::Value,
}

impl Examination {
    /// The examination of a payload checker that answers with a description of the payload or
    /// its first failure (byte offsets relative to the payload): a failure becomes a failed check
    /// (`structure`, or `contents` for a deep check) at its file offset; an abort stays an error.
    pub fn of<E: Categorize>(
        deep: bool,
        outcome: Result<serde_json::Value, E>,
    ) -> Result<Examination, Error> {
        let name = if deep { "contents" } else { "structure" };
        match outcome {
            Ok(details) => Ok(Examination {
                checks: vec![Check::new(name, Ok(()))],
                details,
            }),
            Err(err) => {
                let offset = match err.category() {
                    Category::Aborted => return Err(Error::Aborted),
                    Category::Format { offset, .. } => Some(offset),
                    Category::Corrupt { offset, .. } => offset,
                    _ => None,
                };
                let reason = match offset {
                    Some(offset) => Reason::corrupt(HEADER_LEN as u64 + offset, err.to_string()),
                    None => Reason::new(ReasonCode::Corrupt, err.to_string()),
                };
                Ok(Examination {
                    checks: vec![Check::new(name, Err(reason))],
                    details: serde_json::Value::Null,
                })
            }
        }
    }
}

/// A payload kind that [`inspect`] and [`verify`] can check beyond the container.
pub trait PayloadKind: Sync {
    /// The header `kind` this plug-in reads (`modforge.dataset@1`, ...).
    fn kind(&self) -> &'static str;

    /// Checks the payload of a snapshot that passed every container check: its structure, and
    /// with `deep` every record (the full walk of `verify`). Polls `control` for cancellation;
    /// a damaged payload is a failed check, not an error.
    fn examine(
        &self,
        snapshot: &Snapshot,
        deep: bool,
        control: &Control<'_>,
    ) -> Result<Examination, Error>;
}

/// What inspecting (or verifying) a snapshot file found.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub file_size: u64,
    /// The decoded header fields (present when the file holds a whole header with the right magic).
    pub header: Option<Header>,
    /// The checks run, in order; checks after a failed one are not run.
    pub checks: Vec<Check>,
    /// What the payload plug-in reported, when the kind has one and the container checks passed.
    pub details: Option<serde_json::Value>,
}

impl Inspection {
    /// True when every check run passed.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.result.is_ok())
    }
}

/// Reads a snapshot's header and runs the checks that need no expectation (everything but
/// kind, data version and fingerprint), plus the structural check of the payload's plug-in among
/// `kinds`. A missing or unreadable path, or a directory, is an error; a FIFO, socket or device
/// (never opened for long: reading one could block forever) is an inspection whose `file` check
/// failed, and a damaged file one whose later checks failed.
pub fn inspect(
    path: &Path,
    kinds: &[&dyn PayloadKind],
    control: &Control<'_>,
) -> Result<Inspection, Error> {
    examine(path, kinds, false, control)
}

/// [`inspect`] plus the plug-in's full walk of the payload.
pub fn verify(
    path: &Path,
    kinds: &[&dyn PayloadKind],
    control: &Control<'_>,
) -> Result<Inspection, Error> {
    examine(path, kinds, true, control)
}

/// [`verify`] of one file, or of every snapshot file (`*.mfs`) of a directory in name order.
pub fn verify_all(
    path: &Path,
    kinds: &[&dyn PayloadKind],
    control: &Control<'_>,
) -> Result<Vec<Inspection>, Error> {
    if !path.is_dir() {
        return Ok(vec![verify(path, kinds, control)?]);
    }
    let entries = std::fs::read_dir(path).map_err(|e| Error::io("opendir", path, e))?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .and_then(names::classify)
                .is_some_and(|(kind, _)| kind == EntryKind::Snapshot)
        })
        .map(|e| e.path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|file| {
            control.check()?;
            match verify(file, kinds, control) {
                Err(Error::Aborted) => Err(Error::Aborted),
                // A file removed or replaced by a directory after the listing is reported, not fatal.
                Err(error @ Error::Io { .. }) => Ok(Inspection {
                    path: file.clone(),
                    file_size: 0,
                    header: None,
                    checks: vec![Check::new(
                        "file",
                        Err(Reason::new(ReasonCode::Missing, error.to_string())),
                    )],
                    details: None,
                }),
                other => other,
            }
        })
        .collect()
}

fn examine(
    path: &Path,
    kinds: &[&dyn PayloadKind],
    deep: bool,
    control: &Control<'_>,
) -> Result<Inspection, Error> {
    control.check()?;
    let mut out = Inspection {
        path: path.to_path_buf(),
        file_size: 0,
        header: None,
        checks: Vec::new(),
        details: None,
    };
    let (file, size) = match file::open_regular(path) {
        Ok(opened) => opened,
        Err(failure @ OpenFailure::NotRegular(_)) => {
            let detail = failure.describe("snapshot");
            out.checks.push(Check::new(
                "file",
                Err(Reason::new(ReasonCode::Missing, detail)),
            ));
            return Ok(out);
        }
        Err(failure) => return Err(failure.into_error(path)),
    };
    out.file_size = size;
    let contents = match file::contents(&file, size, control) {
        Ok(contents) => contents,
        Err(ReadFailure::Aborted) => return Err(Error::Aborted),
        Err(ReadFailure::Io(e)) => return Err(Error::io("read", path, e)),
    };
    drop(file);
    let image = contents.bytes();
    out.file_size = image.len() as u64;
    for (name, result) in header::check_standalone(image, control)? {
        out.checks.push(Check { name, result });
    }
    // Header fields are shown only for a file that is a snapshot at all.
    out.header = Header::decode(image).filter(|_| image.starts_with(&header::MAGIC));
    let Some(head) = out.header.clone().filter(|_| out.ok()) else {
        return Ok(out);
    };
    let Some(plugin) = kinds.iter().find(|plugin| plugin.kind() == head.kind) else {
        return Ok(out);
    };
    let examined = plugin.examine(
        &Snapshot::from_contents(path.to_path_buf(), contents, head),
        deep,
        control,
    )?;
    out.checks.extend(examined.checks);
    out.details = Some(examined.details);
    Ok(out)
}
