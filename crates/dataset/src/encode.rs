//! Indexing parsed tables and encoding them as a `modforge.dataset@1` payload, deterministically.

use std::collections::HashMap;

use zerocopy::IntoBytes;
use zerocopy::little_endian::{U32, U64};

use crate::layout::{
    ALIGN, COLUMN_ENTRY_LEN, ColumnEntry, DATASET_HEADER_LEN, DatasetHeader, EMPTY_SLOT, NO_KEY,
    TABLE_ENTRY_LEN, TableEntry, home_slot, index_slots_for,
};
use crate::options::DuplicatePolicy;
use crate::parse::ParsedTable;
use crate::report::{DatasetReport, DuplicateKey, REPORT_LIST_LIMIT, key_warnings, push_capped};
use modforge_core::{Progress, Stage};
use modforge_store::Error;
use modforge_store::HEADER_LEN;
use modforge_store::Hooks;

/// A parsed table with its key column chosen.
pub(crate) struct KeyedTable {
    pub table: ParsedTable,
    pub key: Option<usize>,
}

/// Builds the open-addressing index of one table (first row wins) and fills the duplicate and
/// empty-key parts of its report.
fn build_index(keyed: &mut KeyedTable, duplicates: DuplicatePolicy) -> Result<Vec<u32>, Error> {
    let table = &mut keyed.table;
    let Some(key) = keyed.key else {
        return Ok(Vec::new());
    };
    let slots = index_slots_for(table.rows).ok_or_else(|| {
        Error::Limit(format!(
            "table {:?} has too many rows to index ({})",
            table.name, table.rows
        ))
    })?;
    let mut index = vec![EMPTY_SLOT; slots as usize];
    let Some(column) = table.columns.get(key) else {
        return Ok(index);
    };
    let mask = slots - 1;
    let mut listed: HashMap<u32, usize> = HashMap::new();
    let report = &mut table.report;
    for row in 0..table.rows {
        let cell = column.cell(row as usize);
        if cell.is_empty() {
            report.empty_keys += 1;
            push_capped(&mut report.empty_key_rows, row);
            continue;
        }
        let mut slot = home_slot(cell, slots);
        while let Some(entry) = index.get_mut(slot as usize) {
            if *entry == EMPTY_SLOT {
                *entry = row;
                break;
            }
            let first = *entry;
            if column.cell(first as usize) == cell {
                if duplicates == DuplicatePolicy::Error {
                    let line = |r| table.lines.get(r as usize).copied().filter(|&l| l > 0);
                    return Err(Error::Format {
                        file: table.label.clone(),
                        offset: 0,
                        line: line(row),
                        expected: format!(
                            "unique keys in table {:?}: key {:?} on row {first}{} and row {row}{}",
                            table.name,
                            String::from_utf8_lossy(cell),
                            line(first)
                                .map(|l| format!(" (line {l})"))
                                .unwrap_or_default(),
                            line(row)
                                .map(|l| format!(" (line {l})"))
                                .unwrap_or_default(),
                        ),
                    });
                }
                report.duplicate_rows += 1;
                match listed.get(&first) {
                    Some(&at) => {
                        if let Some(dup) = report.duplicates.get_mut(at) {
                            push_capped(&mut dup.rows, row);
                        }
                    }
                    None if report.duplicates.len() < REPORT_LIST_LIMIT => {
                        listed.insert(first, report.duplicates.len());
                        let key = String::from_utf8_lossy(cell).into_owned();
                        report.duplicates.push(DuplicateKey {
                            key,
                            rows: vec![first, row],
                        });
                    }
                    None => {}
                }
                break;
            }
            slot = (slot + 1) & mask;
        }
    }
    Ok(index)
}

fn pad(buf: &mut Vec<u8>) {
    while (buf.len() - HEADER_LEN) % ALIGN != 0 {
        buf.push(0);
    }
}

/// Position relative to the payload start (the buffer begins with the 192-byte header space).
fn here(buf: &[u8]) -> u64 {
    (buf.len() - HEADER_LEN) as u64
}

fn put<T: IntoBytes + zerocopy::Immutable>(buf: &mut [u8], payload_off: u64, value: &T) {
    let at = HEADER_LEN + payload_off as usize;
    if let Some(dst) = buf.get_mut(at..at + size_of::<T>()) {
        dst.copy_from_slice(value.as_bytes());
    }
}

fn extend_u32s(buf: &mut Vec<u8>, values: &[u32]) {
    if cfg!(target_endian = "little") {
        buf.extend_from_slice(values.as_bytes());
    } else {
        for v in values {
            buf.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// Adds a name to the names blob and returns its (offset, length).
fn add_name(names: &mut Vec<u8>, name: &str) -> Result<(U32, U32), Error> {
    let off = u32::try_from(names.len())
        .map_err(|_| Error::Limit("table and column names exceed 4 GiB".into()))?;
    let len = u32::try_from(name.len()).map_err(|_| Error::Limit("a name exceeds 4 GiB".into()))?;
    names.extend_from_slice(name.as_bytes());
    Ok((U32::new(off), U32::new(len)))
}

/// Indexes the tables, completes the report and encodes the payload after 192 zero bytes (the
/// header's space, filled in by the caller). Returns the image and the report.
pub(crate) fn encode(
    mut tables: Vec<KeyedTable>,
    duplicates: DuplicatePolicy,
    hooks: &Hooks<'_>,
) -> Result<(Vec<u8>, DatasetReport), Error> {
    let mut indexes = Vec::with_capacity(tables.len());
    let total: u64 = tables.iter().map(|k| u64::from(k.table.rows)).sum();
    let mut done = 0u64;
    for keyed in &mut tables {
        hooks.control.check()?;
        indexes.push(build_index(keyed, duplicates)?);
        done += u64::from(keyed.table.rows);
        hooks
            .control
            .report(Progress::of(Stage::Build, done, total).at(&keyed.table.name));
    }
    let report = DatasetReport {
        tables: tables
            .iter()
            .map(|k| {
                let mut r = k.table.report.clone();
                r.key = k
                    .key
                    .and_then(|c| k.table.columns.get(c))
                    .map(|c| c.name.clone());
                r.warnings = key_warnings(&r);
                r
            })
            .collect(),
    };
    let report_json = serde_json::to_vec(&report)
        .map_err(|e| Error::InvalidArgument(format!("report not serialisable: {e}")))?;

    let table_count = u32::try_from(tables.len())
        .map_err(|_| Error::Limit("more than 4 billion tables".into()))?;
    let estimate = HEADER_LEN
        + DATASET_HEADER_LEN
        + tables.len() * TABLE_ENTRY_LEN
        + report_json.len()
        + tables
            .iter()
            .zip(&indexes)
            .map(|(k, ix)| {
                ix.len() * 4
                    + k.table
                        .columns
                        .iter()
                        .map(|c| COLUMN_ENTRY_LEN + c.offsets.len() * 4 + c.blob.len() + 2 * ALIGN)
                        .sum::<usize>()
            })
            .sum::<usize>();
    let mut buf = Vec::with_capacity(estimate + 64);
    buf.resize(
        HEADER_LEN + DATASET_HEADER_LEN + tables.len() * TABLE_ENTRY_LEN,
        0,
    );
    let tables_off = DATASET_HEADER_LEN as u64;
    let mut names = Vec::new();
    for (t, (keyed, index)) in tables.iter().zip(&indexes).enumerate() {
        hooks.control.check()?;
        let table = &keyed.table;
        let (name_off, name_len) = add_name(&mut names, &table.name)?;
        pad(&mut buf);
        let columns_off = here(&buf);
        buf.resize(buf.len() + table.columns.len() * COLUMN_ENTRY_LEN, 0);
        for (c, column) in table.columns.iter().enumerate() {
            let (col_name_off, col_name_len) = add_name(&mut names, &column.name)?;
            pad(&mut buf);
            let offsets_off = here(&buf);
            extend_u32s(&mut buf, &column.offsets);
            pad(&mut buf);
            let blob_off = here(&buf);
            buf.extend_from_slice(&column.blob);
            let entry = ColumnEntry {
                name_off: col_name_off,
                name_len: col_name_len,
                offsets_off: U64::new(offsets_off),
                blob_off: U64::new(blob_off),
                blob_len: U64::new(column.blob.len() as u64),
            };
            put(
                &mut buf,
                columns_off + (c * COLUMN_ENTRY_LEN) as u64,
                &entry,
            );
        }
        pad(&mut buf);
        let index_off = if index.is_empty() { 0 } else { here(&buf) };
        extend_u32s(&mut buf, index);
        let key_column = match keyed.key {
            Some(k) => u32::try_from(k).map_err(|_| Error::Limit("too many columns".into()))?,
            None => NO_KEY,
        };
        let entry = TableEntry {
            name_off,
            name_len,
            row_count: U32::new(table.rows),
            column_count: U32::new(
                u32::try_from(table.columns.len())
                    .map_err(|_| Error::Limit("too many columns".into()))?,
            ),
            key_column: U32::new(key_column),
            index_slots: U32::new(
                u32::try_from(index.len()).map_err(|_| Error::Limit("index too large".into()))?,
            ),
            columns_off: U64::new(columns_off),
            index_off: U64::new(index_off),
            reserved: U64::new(0),
        };
        put(&mut buf, tables_off + (t * TABLE_ENTRY_LEN) as u64, &entry);
    }
    pad(&mut buf);
    let names_off = here(&buf);
    buf.extend_from_slice(&names);
    pad(&mut buf);
    let report_off = here(&buf);
    buf.extend_from_slice(&report_json);
    let head = DatasetHeader {
        table_count: U32::new(table_count),
        flags: U32::new(0),
        names_off: U64::new(names_off),
        names_len: U64::new(names.len() as u64),
        tables_off: U64::new(tables_off),
        report_off: U64::new(report_off),
        report_len: U64::new(report_json.len() as u64),
    };
    put(&mut buf, 0, &head);
    Ok((buf, report))
}
