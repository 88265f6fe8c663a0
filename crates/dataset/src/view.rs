//! Reading a dataset payload: structural validation at open (O(tables + columns)) and
//! bounds- and UTF-8-checked access per cell.

use std::path::Path;
use std::sync::Arc;

use zerocopy::FromBytes;
use zerocopy::little_endian::U32;

use crate::layout::{
    ALIGN, COLUMN_ENTRY_LEN, ColumnEntry, DatasetHeader, EMPTY_SLOT, NO_KEY, TABLE_ENTRY_LEN,
    TableEntry, home_slot,
};
use crate::report::DatasetReport;
use modforge_store::Error;
use modforge_store::HEADER_LEN;
use modforge_store::Reason;
use modforge_store::Snapshot;

/// An opened dataset: verified header and structure over a memory map (or over the bytes just
/// built). Cheap to clone; `Send + Sync`; the mapping is released when the last `Dataset` or
/// [`Table`] clone is dropped.
#[derive(Clone)]
pub struct Dataset {
    inner: Arc<Inner>,
}

struct Inner {
    snapshot: Snapshot,
    /// Boxed so that the list costs 8 bytes per table, less than the 48-byte table entry it
    /// comes from: no allocation grows beyond the file's size, whatever the table count.
    #[allow(clippy::vec_box)]
    tables: Vec<Box<TableMeta>>,
    /// Table positions sorted by name, for binary search.
    by_name: Vec<u32>,
    report: (usize, usize),
}

struct TableMeta {
    name: String,
    rows: u32,
    key: Option<usize>,
    slots: u32,
    index_off: usize,
    columns: Vec<String>,
    column_meta: Vec<ColumnMeta>,
}

struct ColumnMeta {
    offsets_off: usize,
    blob_off: usize,
    blob_len: usize,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("path", &self.path())
            .field("version", &self.version())
            .field("tables", &self.table_names())
            .finish()
    }
}

/// A section `[off, off + len)` of the payload, checked to lie inside it.
fn section(payload_len: usize, off: u64, len: u64, what: &str) -> Result<(usize, usize), Reason> {
    let fail = || {
        Reason::corrupt(
            HEADER_LEN as u64 + off.min(payload_len as u64),
            format!("{what} lies outside the payload"),
        )
    };
    let start = usize::try_from(off).map_err(|_| fail())?;
    let len = usize::try_from(len).map_err(|_| fail())?;
    let end = start.checked_add(len).ok_or_else(fail)?;
    if end > payload_len {
        return Err(fail());
    }
    if start % ALIGN != 0 {
        return Err(Reason::corrupt(
            HEADER_LEN as u64 + off,
            format!("{what} is not 8-byte aligned"),
        ));
    }
    Ok((start, len))
}

/// `count × size` bytes at `off`, checked before anything of that count is allocated.
fn array(
    payload_len: usize,
    off: u64,
    count: u64,
    size: u64,
    what: &str,
) -> Result<(usize, usize), Reason> {
    let len = count.checked_mul(size).ok_or_else(|| {
        Reason::corrupt(
            HEADER_LEN as u64 + off,
            format!("{what}: count {count} overflows"),
        )
    })?;
    section(payload_len, off, len, what)
}

fn name_at(
    names: &[u8],
    names_base: usize,
    off: U32,
    len: U32,
    what: &str,
) -> Result<String, Reason> {
    let (off, len) = (off.get() as usize, len.get() as usize);
    let at = (HEADER_LEN + names_base + off) as u64;
    let bytes = off
        .checked_add(len)
        .and_then(|end| names.get(off..end))
        .ok_or_else(|| Reason::corrupt(at, format!("{what} name lies outside the names blob")))?;
    let name = std::str::from_utf8(bytes)
        .map_err(|_| Reason::corrupt(at, format!("{what} name is not UTF-8")))?;
    Ok(name.to_string())
}

fn u32_at(bytes: &[u8], pos: usize) -> Option<u32> {
    let end = pos.checked_add(4)?;
    U32::read_from_bytes(bytes.get(pos..end)?)
        .ok()
        .map(U32::get)
}

impl Dataset {
    /// Validates a dataset snapshot's payload structure (check 8; docs/store.md, "Dataset
    /// structure"): every section inside the payload with checked arithmetic, counts capped by the
    /// payload length before allocation, names UTF-8 and unique, first and last offsets of every
    /// column, key column and index size.
    pub fn from_snapshot(snapshot: Snapshot) -> Result<Dataset, Reason> {
        let payload = snapshot.payload();
        let plen = payload.len();
        let head = DatasetHeader::read_from_prefix(payload)
            .map(|(h, _)| h)
            .map_err(|_| {
                Reason::corrupt(HEADER_LEN as u64, "payload shorter than the dataset header")
            })?;
        if head.flags.get() != 0 {
            return Err(Reason::corrupt(
                HEADER_LEN as u64 + 4,
                "dataset flags are not zero",
            ));
        }
        let table_count = head.table_count.get();
        let (tables_at, _) = array(
            plen,
            head.tables_off.get(),
            u64::from(table_count),
            TABLE_ENTRY_LEN as u64,
            "table entries",
        )?;
        let (names_at, names_len) = section(
            plen,
            head.names_off.get(),
            head.names_len.get(),
            "names blob",
        )?;
        let names = payload
            .get(names_at..names_at + names_len)
            .unwrap_or_default();
        let (report_at, report_len) =
            section(plen, head.report_off.get(), head.report_len.get(), "report")?;
        if std::str::from_utf8(
            payload
                .get(report_at..report_at + report_len)
                .unwrap_or_default(),
        )
        .is_err()
        {
            return Err(Reason::corrupt(
                (HEADER_LEN + report_at) as u64,
                "report is not UTF-8",
            ));
        }
        let mut tables = Vec::with_capacity(table_count as usize);
        for t in 0..table_count as usize {
            let entry_at = tables_at + t * TABLE_ENTRY_LEN;
            let file_at = (HEADER_LEN + entry_at) as u64;
            let entry = payload
                .get(entry_at..)
                .and_then(|b| TableEntry::read_from_prefix(b).ok())
                .map(|(e, _)| e)
                .ok_or_else(|| Reason::corrupt(file_at, "table entry outside the payload"))?;
            tables.push(Box::new(validate_table(
                payload, names, names_at, &entry, file_at,
            )?));
        }
        let mut by_name: Vec<u32> = (0..table_count).collect();
        by_name.sort_unstable_by(|&a, &b| tables[a as usize].name.cmp(&tables[b as usize].name));
        if let Some(pair) = by_name
            .windows(2)
            .find(|p| tables[p[0] as usize].name == tables[p[1] as usize].name)
        {
            let name = &tables[pair[1] as usize].name;
            let at = head.tables_off.get() + u64::from(pair[1]) * TABLE_ENTRY_LEN as u64;
            return Err(Reason::corrupt(
                HEADER_LEN as u64 + at,
                format!("table name {name:?} occurs twice"),
            ));
        }
        Ok(Dataset {
            inner: Arc::new(Inner {
                snapshot,
                tables,
                by_name,
                report: (report_at, report_len),
            }),
        })
    }

    /// The data version (from the header).
    pub fn version(&self) -> &str {
        &self.inner.snapshot.header().version
    }

    /// The snapshot underneath (header, path, raw payload).
    pub fn snapshot(&self) -> &Snapshot {
        &self.inner.snapshot
    }

    /// The snapshot file's path.
    pub fn path(&self) -> &Path {
        self.inner.snapshot.path()
    }

    /// The build report as stored (UTF-8 JSON, checked at open).
    pub fn report_json(&self) -> &str {
        let (at, len) = self.inner.report;
        self.inner
            .snapshot
            .payload()
            .get(at..at + len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }

    /// The build report, parsed.
    pub fn report(&self) -> Result<DatasetReport, Error> {
        serde_json::from_str(self.report_json()).map_err(|e| Error::Corrupt {
            file: self.path().display().to_string(),
            offset: (HEADER_LEN + self.inner.report.0) as u64,
            detail: format!("report is not valid JSON: {e}"),
        })
    }

    /// Table names in input order.
    pub fn table_names(&self) -> Vec<&str> {
        self.inner.tables.iter().map(|t| t.name.as_str()).collect()
    }

    /// The number of tables.
    pub fn table_count(&self) -> usize {
        self.inner.tables.len()
    }

    /// The table of that name.
    pub fn table(&self, name: &str) -> Option<Table> {
        let tables = &self.inner.tables;
        let at = self
            .inner
            .by_name
            .binary_search_by(|&i| tables[i as usize].name.as_str().cmp(name))
            .ok()?;
        let index = *self.inner.by_name.get(at)? as usize;
        Some(Table {
            dataset: self.clone(),
            index,
        })
    }

    /// The tables in input order.
    pub fn tables(&self) -> Vec<Table> {
        (0..self.inner.tables.len())
            .map(|index| Table {
                dataset: self.clone(),
                index,
            })
            .collect()
    }

    /// The full O(cells) walk of `modforge store verify`: every offset, every cell's UTF-8,
    /// every index slot and every key's lookup, and the report's JSON. Returns the counts seen.
    pub fn verify_cells(&self) -> Result<CellCounts, Error> {
        let mut counts = CellCounts::default();
        self.report()?;
        for table in self.tables() {
            counts.tables += 1;
            counts.rows += u64::from(table.len());
            for col in 0..table.columns().len() {
                for row in 0..table.len() {
                    table.cell(row, col)?;
                    counts.cells += 1;
                }
            }
            counts.indexed += table.verify_index()?;
        }
        Ok(counts)
    }
}

/// What [`Dataset::verify_cells`] walked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CellCounts {
    /// Tables.
    pub tables: u64,
    /// Rows of all tables.
    pub rows: u64,
    /// Cells of all tables.
    pub cells: u64,
    /// Occupied index slots of all tables.
    pub indexed: u64,
}

fn validate_table(
    payload: &[u8],
    names: &[u8],
    names_at: usize,
    entry: &TableEntry,
    file_at: u64,
) -> Result<TableMeta, Reason> {
    let plen = payload.len();
    let name = name_at(names, names_at, entry.name_off, entry.name_len, "table")?;
    let rows = entry.row_count.get();
    if rows == u32::MAX {
        return Err(Reason::corrupt(file_at + 8, "row count out of range"));
    }
    let column_count = entry.column_count.get();
    let (columns_at, _) = array(
        plen,
        entry.columns_off.get(),
        u64::from(column_count),
        COLUMN_ENTRY_LEN as u64,
        "column entries",
    )?;
    let key = match entry.key_column.get() {
        NO_KEY => None,
        k if k < column_count => Some(k as usize),
        k => {
            return Err(Reason::corrupt(
                file_at + 16,
                format!("key column {k} of table {name:?} is not below {column_count}"),
            ));
        }
    };
    let slots = entry.index_slots.get();
    let index_off = match key {
        None if slots != 0 => {
            return Err(Reason::corrupt(file_at + 20, "index without a key column"));
        }
        None => 0,
        Some(_) => {
            if !slots.is_power_of_two() || u64::from(slots) <= u64::from(rows) {
                return Err(Reason::corrupt(
                    file_at + 20,
                    format!("index of {slots} slots for {rows} rows"),
                ));
            }
            array(plen, entry.index_off.get(), u64::from(slots), 4, "index")?.0
        }
    };
    if entry.reserved.get() != 0 {
        return Err(Reason::corrupt(
            file_at + 40,
            "reserved table field is not zero",
        ));
    }
    let mut columns = Vec::with_capacity(column_count as usize);
    let mut column_meta = Vec::with_capacity(column_count as usize);
    for c in 0..column_count as usize {
        let at = columns_at + c * COLUMN_ENTRY_LEN;
        let col_file_at = (HEADER_LEN + at) as u64;
        let ce = payload
            .get(at..)
            .and_then(|b| ColumnEntry::read_from_prefix(b).ok())
            .map(|(e, _)| e)
            .ok_or_else(|| Reason::corrupt(col_file_at, "column entry outside the payload"))?;
        let col_name = name_at(names, names_at, ce.name_off, ce.name_len, "column")?;
        if columns.contains(&col_name) {
            return Err(Reason::corrupt(
                col_file_at,
                format!("column {col_name:?} occurs twice in table {name:?}"),
            ));
        }
        let (offsets_at, _) = array(
            plen,
            ce.offsets_off.get(),
            u64::from(rows) + 1,
            4,
            "column offsets",
        )?;
        let (blob_at, blob_len) =
            section(plen, ce.blob_off.get(), ce.blob_len.get(), "column text")?;
        if blob_len > u32::MAX as usize {
            return Err(Reason::corrupt(
                col_file_at + 24,
                "column text longer than 4 GiB",
            ));
        }
        let first = u32_at(payload, offsets_at);
        let last = u32_at(payload, offsets_at + rows as usize * 4);
        if first != Some(0) || last.map(|l| l as usize) != Some(blob_len) {
            return Err(Reason::corrupt(
                (HEADER_LEN + offsets_at) as u64,
                format!("offsets of column {col_name:?} in table {name:?} do not span its text"),
            ));
        }
        columns.push(col_name);
        column_meta.push(ColumnMeta {
            offsets_off: offsets_at,
            blob_off: blob_at,
            blob_len,
        });
    }
    Ok(TableMeta {
        name,
        rows,
        key,
        slots,
        index_off,
        columns,
        column_meta,
    })
}

/// One table of a [`Dataset`]. Cheap to clone; keeps the dataset (and its mapping) alive.
/// Cells borrow from the table; every access checks bounds and UTF-8 and reports damage as
/// [`Error::Corrupt`] with the file offset.
#[derive(Clone)]
pub struct Table {
    dataset: Dataset,
    index: usize,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("name", &self.name())
            .field("rows", &self.len())
            .field("columns", &self.columns())
            .finish()
    }
}

impl Table {
    fn meta(&self) -> &TableMeta {
        // `index` comes from this dataset's own table list.
        &self.dataset.inner.tables[self.index]
    }

    fn payload(&self) -> &[u8] {
        self.dataset.inner.snapshot.payload()
    }

    fn corrupt(&self, payload_off: usize, detail: String) -> Error {
        Error::Corrupt {
            file: self.dataset.path().display().to_string(),
            offset: (HEADER_LEN + payload_off) as u64,
            detail,
        }
    }

    /// The table name.
    pub fn name(&self) -> &str {
        &self.meta().name
    }

    /// The number of rows.
    pub fn len(&self) -> u32 {
        self.meta().rows
    }

    /// True when the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Column names in order.
    pub fn columns(&self) -> &[String] {
        &self.meta().columns
    }

    /// The position of a column by name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.meta().columns.iter().position(|c| c == name)
    }

    /// The key column's position (`None` for a table without columns).
    pub fn key_column(&self) -> Option<usize> {
        self.meta().key
    }

    /// The number of index slots (0 without a key).
    pub fn index_slots(&self) -> u32 {
        self.meta().slots
    }

    /// Bytes of column text, offsets and index in the payload.
    pub fn byte_size(&self) -> u64 {
        let m = self.meta();
        let columns: u64 = m
            .column_meta
            .iter()
            .map(|c| c.blob_len as u64 + (u64::from(m.rows) + 1) * 4)
            .sum();
        columns + u64::from(m.slots) * 4
    }

    fn cell_bytes(&self, row: u32, col: usize) -> Result<&[u8], Error> {
        let m = self.meta();
        if row >= m.rows {
            return Err(Error::InvalidArgument(format!(
                "row {row} of table {:?} is out of range (0..{})",
                m.name, m.rows
            )));
        }
        let c = m.column_meta.get(col).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "column {col} of table {:?} is out of range (0..{})",
                m.name,
                m.columns.len()
            ))
        })?;
        let payload = self.payload();
        let at = c.offsets_off + row as usize * 4;
        let (Some(start), Some(end)) = (u32_at(payload, at), u32_at(payload, at + 4)) else {
            return Err(self.corrupt(at, "cell offsets outside the payload".into()));
        };
        let (start, end) = (start as usize, end as usize);
        if start > end || end > c.blob_len {
            return Err(self.corrupt(
                at,
                format!(
                    "cell offsets {start}..{end} outside the column text of {} bytes",
                    c.blob_len
                ),
            ));
        }
        payload
            .get(c.blob_off + start..c.blob_off + end)
            .ok_or_else(|| self.corrupt(c.blob_off + start, "cell outside the payload".into()))
    }

    /// The cell at `row`, `col` (checked: an index out of range is [`Error::InvalidArgument`],
    /// damage is [`Error::Corrupt`]).
    pub fn cell(&self, row: u32, col: usize) -> Result<&str, Error> {
        let bytes = self.cell_bytes(row, col)?;
        std::str::from_utf8(bytes).map_err(|e| {
            let c = &self.meta().column_meta[col];
            let start =
                u32_at(self.payload(), c.offsets_off + row as usize * 4).unwrap_or(0) as usize;
            self.corrupt(
                c.blob_off + start + e.valid_up_to(),
                "cell is not UTF-8".into(),
            )
        })
    }

    /// All cells of a row, in column order.
    pub fn row(&self, row: u32) -> Result<Vec<&str>, Error> {
        (0..self.columns().len())
            .map(|c| self.cell(row, c))
            .collect()
    }

    /// All cells of a column, in row order.
    pub fn column_values(&self, col: usize) -> Result<Vec<&str>, Error> {
        if col >= self.columns().len() {
            return Err(Error::InvalidArgument(format!(
                "column {col} of table {:?} is out of range",
                self.name()
            )));
        }
        (0..self.len()).map(|r| self.cell(r, col)).collect()
    }

    /// The row whose key cell equals `key` (the first such row), through the hash index. Empty
    /// keys are never indexed. Probing stops after `index_slots` steps.
    pub fn lookup(&self, key: &[u8]) -> Result<Option<u32>, Error> {
        let m = self.meta();
        let Some(key_col) = m.key else {
            return Ok(None);
        };
        if key.is_empty() || m.slots == 0 {
            return Ok(None);
        }
        let mask = m.slots - 1;
        let mut slot = home_slot(key, m.slots);
        let payload = self.payload();
        for _ in 0..m.slots {
            let at = m.index_off + slot as usize * 4;
            let row = u32_at(payload, at)
                .ok_or_else(|| self.corrupt(at, "index slot outside the payload".into()))?;
            if row == EMPTY_SLOT {
                return Ok(None);
            }
            if row >= m.rows {
                return Err(self.corrupt(at, format!("index slot holds row {row} of {}", m.rows)));
            }
            if self.cell_bytes(row, key_col)? == key {
                return Ok(Some(row));
            }
            slot = (slot + 1) & mask;
        }
        Err(self.corrupt(m.index_off, "index has no empty slot".into()))
    }

    /// [`Table::lookup`] followed by [`Table::row`].
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<&str>>, Error> {
        match self.lookup(key)? {
            Some(row) => self.row(row).map(Some),
            None => Ok(None),
        }
    }

    /// Full index check: every slot, an empty slot exists, every non-empty key is found at its
    /// first row. Returns the number of occupied slots.
    fn verify_index(&self) -> Result<u64, Error> {
        let m = self.meta();
        let Some(key_col) = m.key else { return Ok(0) };
        let payload = self.payload();
        let mut occupied = 0u64;
        for slot in 0..m.slots as usize {
            let at = m.index_off + slot * 4;
            match u32_at(payload, at) {
                Some(EMPTY_SLOT) => {}
                Some(row) if row < m.rows => occupied += 1,
                _ => return Err(self.corrupt(at, "index slot holds no valid row".into())),
            }
        }
        if occupied >= u64::from(m.slots) {
            return Err(self.corrupt(m.index_off, "index has no empty slot".into()));
        }
        for row in 0..m.rows {
            let key = self.cell_bytes(row, key_col)?;
            if key.is_empty() {
                continue;
            }
            match self.lookup(key)? {
                Some(found) if found <= row && self.cell_bytes(found, key_col)? == key => {}
                _ => {
                    return Err(self.corrupt(
                        m.index_off,
                        format!(
                            "key of row {row} in table {:?} is not found by the index",
                            m.name
                        ),
                    ));
                }
            }
        }
        Ok(occupied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_checked() {
        assert!(section(100, 8, 8, "x").is_ok());
        assert!(section(100, 96, 8, "x").is_err());
        assert!(section(100, u64::MAX, 8, "x").is_err());
        assert!(section(100, 4, 8, "x").is_err());
        assert!(array(100, 8, u64::MAX, 48, "x").is_err());
        assert!(array(104, 8, 2, 48, "x").is_ok());
    }

    #[test]
    fn dataset_is_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Dataset>();
        check::<Table>();
        check::<Snapshot>();
    }
}
