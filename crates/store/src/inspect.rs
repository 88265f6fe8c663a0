//! Inspection and verification of snapshot files, for `modforge store inspect|verify`.

use std::path::{Path, PathBuf};

use crate::dataset::{CellCounts, DATASET_KIND, Dataset};
use crate::error::Error;
use crate::header::{self, Header};
use crate::names::{self, EntryKind};
use crate::reason::Reason;
use crate::snapshot::{self, Snapshot};

/// One check and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The check's name: `size`, `magic`, `container version`, `fingerprint algorithm`,
    /// `integrity` (length and both checksums), `structure` (datasets), `cells` (verify only).
    pub name: &'static str,
    /// `Ok` or why it failed.
    pub result: Result<(), Reason>,
}

/// One table of an inspected dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    /// The table name.
    pub name: String,
    /// Rows.
    pub rows: u32,
    /// Column names.
    pub columns: Vec<String>,
    /// The key column's name.
    pub key: Option<String>,
    /// Index slots.
    pub index_slots: u32,
    /// Bytes of text, offsets and index.
    pub bytes: u64,
}

/// What inspecting (or verifying) a snapshot file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub file_size: u64,
    /// The decoded header fields (present when the file holds at least 192 bytes).
    pub header: Option<Header>,
    /// The checks run, in order; checks after a failed one are not run.
    pub checks: Vec<Check>,
    /// Tables of a dataset that passed its structural check.
    pub tables: Vec<TableSummary>,
    /// The dataset's stored build report (JSON).
    pub report_json: Option<String>,
    /// Counts of the full walk ([`verify`] only).
    pub cells: Option<CellCounts>,
}

impl Inspection {
    /// True when every check run passed.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.result.is_ok())
    }
}

/// Reads a snapshot's header and runs the checks that need no expectation (everything but
/// kind, data version and fingerprint), plus the structural check of datasets. An unreadable
/// file is an error; a damaged one is an inspection with failed checks.
pub fn inspect(path: &Path) -> Result<Inspection, Error> {
    examine(path, false)
}

/// [`inspect`] plus the full O(cells) walk of datasets (every offset, cell and index slot).
pub fn verify(path: &Path) -> Result<Inspection, Error> {
    examine(path, true)
}

/// [`verify`] for every snapshot file (`*.mfs`) of a directory, by file name.
pub fn verify_dir(dir: &Path) -> Result<Vec<Inspection>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("opendir", dir, e))?;
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
    files.iter().map(|f| verify(f)).collect()
}

fn examine(path: &Path, walk: bool) -> Result<Inspection, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io("stat", path, e))?;
    if meta.is_dir() {
        return Err(Error::io(
            "open",
            path,
            std::io::Error::from(std::io::ErrorKind::IsADirectory),
        ));
    }
    let mut out = Inspection {
        path: path.to_path_buf(),
        file_size: meta.len(),
        header: None,
        checks: Vec::new(),
        tables: Vec::new(),
        report_json: None,
        cells: None,
    };
    let map = match snapshot::map_file(path) {
        Ok(map) => map,
        Err(reason) => {
            out.checks.push(Check {
                name: "size",
                result: Err(reason),
            });
            return Ok(out);
        }
    };
    out.file_size = map.len() as u64;
    out.header = Header::decode(&map);
    for (name, result) in header::check_standalone(&map) {
        out.checks.push(Check { name, result });
    }
    let Some(head) = out
        .header
        .clone()
        .filter(|h| out.ok() && h.kind == DATASET_KIND)
    else {
        return Ok(out);
    };
    let dataset = match Dataset::from_snapshot(Snapshot::from_map(path.to_path_buf(), map, head)) {
        Ok(d) => d,
        Err(reason) => {
            out.checks.push(Check {
                name: "structure",
                result: Err(reason),
            });
            return Ok(out);
        }
    };
    out.checks.push(Check {
        name: "structure",
        result: Ok(()),
    });
    out.report_json = Some(dataset.report_json().to_string());
    out.tables = dataset
        .tables()
        .iter()
        .map(|t| TableSummary {
            name: t.name().to_string(),
            rows: t.len(),
            columns: t.columns().to_vec(),
            key: t.key_column().and_then(|k| t.columns().get(k)).cloned(),
            index_slots: t.index_slots(),
            bytes: t.byte_size(),
        })
        .collect();
    if walk {
        let result = match dataset.verify_cells() {
            Ok(counts) => {
                out.cells = Some(counts);
                Ok(())
            }
            Err(Error::Corrupt { offset, detail, .. }) => Err(Reason::corrupt(offset, detail)),
            Err(other) => Err(Reason::new(
                crate::reason::ReasonCode::Corrupt,
                other.to_string(),
            )),
        };
        out.checks.push(Check {
            name: "cells",
            result,
        });
    }
    Ok(out)
}
