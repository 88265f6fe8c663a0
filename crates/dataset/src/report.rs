//! The build report stored in every dataset payload (as UTF-8 JSON).

use serde::{Deserialize, Serialize};

/// Lists in the report (duplicate keys, rows per duplicate key, row numbers) keep at most this
/// many entries; the counts are always complete.
pub const REPORT_LIST_LIMIT: usize = 100;

/// What building a dataset found, per table in source order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetReport {
    /// One entry per table, in input order.
    pub tables: Vec<TableReport>,
}

/// What building one table found. Row numbers are 0-based data-row indices.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableReport {
    /// The table name.
    pub name: String,
    /// Data rows stored.
    pub rows: u32,
    /// The key column's name (`None` when the table has no columns).
    pub key: Option<String>,
    /// Duplicated keys with the rows that carry them (first row first; the first row is the one
    /// indexed); at most [`REPORT_LIST_LIMIT`] keys, each with at most that many rows.
    pub duplicates: Vec<DuplicateKey>,
    /// Rows not indexed because an earlier row has the same key.
    pub duplicate_rows: u64,
    /// Rows with an empty key (kept, not indexed).
    pub empty_keys: u64,
    /// The first empty-key rows.
    pub empty_key_rows: Vec<u32>,
    /// Rows with more fields than the header (extra fields joined into the last column).
    pub long_rows: u64,
    /// The first long rows.
    pub long_row_numbers: Vec<u32>,
    /// Rows with fewer fields than the header (padded with empty cells).
    pub short_rows: u64,
    /// The first short rows.
    pub short_row_numbers: Vec<u32>,
    /// True when a leading UTF-8 byte-order mark was removed.
    pub bom_stripped: bool,
    /// What looks wrong with the table as built (most rows repeating a key, most keys empty), each
    /// with what to do about it. Empty for a table that looks right.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// A key found on more than one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateKey {
    /// The key.
    pub key: String,
    /// The rows carrying it, ascending.
    pub rows: Vec<u32>,
}

/// The warnings of a built table: a key column under which most rows are duplicates or empty is
/// almost always the wrong column (a version column left in the table, a category), so lookups
/// would find almost nothing.
pub(crate) fn key_warnings(report: &TableReport) -> Vec<String> {
    let rows = u64::from(report.rows);
    let key = report.key.as_deref().unwrap_or_default();
    let mut warnings = Vec::new();
    if rows >= 2 && report.duplicate_rows * 2 > rows {
        let distinct = rows - report.duplicate_rows - report.empty_keys;
        warnings.push(format!(
            "{} of {rows} rows of table {:?} repeat an earlier key of column {key:?} ({distinct} distinct {}) and cannot be looked up: choose the key column (option key, --key <column>), or if {key:?} holds the data version, take the version from it (option versionColumn, --version-column {key})",
            report.duplicate_rows,
            report.name,
            if distinct == 1 { "key" } else { "keys" },
        ));
    }
    if rows >= 2 && report.empty_keys * 2 > rows {
        warnings.push(format!(
            "{} of {rows} rows of table {:?} have an empty key in column {key:?} and cannot be looked up: choose the key column (option key, --key <column>)",
            report.empty_keys, report.name,
        ));
    }
    warnings
}

/// Pushes `row` when the list is below the limit.
pub(crate) fn push_capped(list: &mut Vec<u32>, row: u32) {
    if list.len() < REPORT_LIST_LIMIT {
        list.push(row);
    }
}
