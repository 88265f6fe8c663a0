//! Dataset build options and inputs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use modforge_store::Source;

/// One table's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableInput {
    /// A CSV file (RFC 4180 as in docs/store.md, "CSV").
    CsvPath(PathBuf),
    /// CSV text in memory.
    CsvBytes(Vec<u8>),
    /// Rows given directly: column names and string cells.
    Rows {
        /// Column names (non-empty, unique).
        columns: Vec<String>,
        /// Rows of cells; rows of another length follow the ragged-row policy.
        rows: Vec<Vec<String>>,
    },
}

/// Which column of each table is the key.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Keys {
    /// The first stored column of every table (after removing a version column).
    #[default]
    First,
    /// The named column in every table.
    Column(String),
    /// Per table name; tables not listed use their first column.
    PerTable(BTreeMap<String, String>),
}

/// What to do when a key occurs on more than one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DuplicatePolicy {
    /// The first row wins the index; duplicates are counted and listed in the report.
    #[default]
    First,
    /// A duplicate key is an [`crate::Error::Format`].
    Error,
}

/// What to do with rows whose field count differs from the header's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RaggedPolicy {
    /// Extra fields are joined into the last column with `,`; missing cells are empty; both are
    /// counted in the report.
    #[default]
    JoinLast,
    /// A row of another length is an [`crate::Error::Format`].
    Error,
}

/// The field delimiters a CSV input may use.
pub const DELIMITERS: &[u8] = b",;\t|";

/// Options of [`crate::open_dataset`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetOptions {
    /// Directory of the snapshot files (created when missing).
    pub dir: PathBuf,
    /// The dataset's name (the file-name stem).
    pub name: String,
    /// The data version. Either this or `version_column` (or both, then they must agree).
    pub version: Option<String>,
    /// A column carrying the data version in every row of every table; it is removed from the
    /// stored tables and its single value becomes the version.
    pub version_column: Option<String>,
    /// What the dataset is built from; defaults to the content of the CSV files when every table
    /// is a [`TableInput::CsvPath`], and is required otherwise.
    pub source: Option<Source>,
    /// Key columns (default: the first column).
    pub keys: Keys,
    /// Duplicate-key policy (default: first wins).
    pub duplicates: DuplicatePolicy,
    /// Ragged-row policy (default: join extra fields into the last column).
    pub ragged: RaggedPolicy,
    /// The CSV field delimiter: one of [`DELIMITERS`] (`,` by default, `;`, tab or `|`). Extra
    /// fields of a long row are joined back with it.
    pub delimiter: u8,
}

impl DatasetOptions {
    /// Options with every default; set `version` or `version_column` before use.
    pub fn new(dir: impl Into<PathBuf>, name: impl Into<String>) -> Self {
        DatasetOptions {
            dir: dir.into(),
            name: name.into(),
            version: None,
            version_column: None,
            source: None,
            keys: Keys::First,
            duplicates: DuplicatePolicy::First,
            ragged: RaggedPolicy::JoinLast,
            delimiter: b',',
        }
    }
}
