//! Reading a dataset payload: structural validation at open (O(tables + columns)) and
//! bounds- and UTF-8-checked access per cell.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use modforge_core::Control;
use zerocopy::FromBytes;
use zerocopy::little_endian::U32;

use crate::layout::{
    ALIGN, COLUMN_ENTRY_LEN, ColumnEntry, DATASET_HEADER_LEN, DATASET_KIND, DatasetHeader,
    EMPTY_SLOT, NO_KEY, TABLE_ENTRY_LEN, TableEntry, home_slot,
};
use crate::report::DatasetReport;
use modforge_store::{Error, HEADER_LEN, Reason, ReasonCode, Snapshot};

/// Rows checked by [`Dataset::verify_cells`] between two polls of the cancellation flag.
const VERIFY_POLL: u32 = 1 << 16;

/// An opened dataset: verified header and structure over a memory map (or over the bytes just
/// built). Cheap to clone; `Send + Sync`; the mapping is released when the last `Dataset` or
/// [`Table`] clone is dropped.
#[derive(Clone)]
pub struct Dataset {
    inner: Arc<Inner>,
}

struct Inner {
    snapshot: Snapshot,
    /// One per 48-byte table entry of the payload (the canonical layout makes each entry's bytes
    /// its own, so this list grows with the file's size only).
    tables: Vec<TableMeta>,
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

/// Where the canonical layout puts the next section: `pos` rounded up to 8 bytes.
fn aligned(pos: usize) -> Option<usize> {
    pos.checked_add(ALIGN - 1).map(|p| p & !(ALIGN - 1))
}

/// A corrupt reason at a payload offset.
fn corrupt_at(payload_off: u64, detail: impl Into<String>) -> Reason {
    Reason::corrupt(HEADER_LEN as u64 + payload_off, detail)
}

/// Walks the payload in the order the encoder writes it (docs/store.md, "Datasets"): every
/// section must start exactly where the previous one ended (rounded up to 8 bytes) and lie inside
/// the payload. Sections therefore never overlap or share bytes, every count is paid for by the
/// bytes it spans, and validation work and allocation stay linear in the file's size.
struct Cursor {
    pos: usize,
    len: usize,
}

impl Cursor {
    /// Takes the next section of `count × size` bytes, which the entry at `field_at` says starts
    /// at `off`; returns its start.
    fn take(
        &mut self,
        off: u64,
        count: u64,
        size: u64,
        field_at: u64,
        what: &str,
    ) -> Result<usize, Reason> {
        let expected = aligned(self.pos)
            .ok_or_else(|| corrupt_at(field_at, format!("{what}: offset overflows")))?;
        if usize::try_from(off).ok() != Some(expected) {
            return Err(corrupt_at(
                field_at,
                format!(
                    "{what} at offset {off}, expected {expected} (sections must follow each other)"
                ),
            ));
        }
        let bytes = count
            .checked_mul(size)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                corrupt_at(field_at, format!("{what}: size {count} x {size} overflows"))
            })?;
        let end = expected
            .checked_add(bytes)
            .filter(|&end| end <= self.len)
            .ok_or_else(|| {
                corrupt_at(
                    field_at,
                    format!("{what} of {bytes} bytes at {expected} lies outside the payload of {} bytes", self.len),
                )
            })?;
        self.pos = end;
        Ok(expected)
    }
}

/// The names blob: table and column names back to back, in the order the encoder adds them.
struct Names<'a> {
    blob: &'a str,
    /// Payload offset of the blob.
    at: usize,
    /// Where the next name must start.
    next: usize,
}

impl<'a> Names<'a> {
    /// Checks the whole blob once: UTF-8 and free of NUL (a name with NUL cannot become a
    /// JavaScript property name, so the encoder never writes one).
    fn new(payload: &'a [u8], at: usize, len: usize) -> Result<Self, Reason> {
        let bytes = payload.get(at..at + len).unwrap_or_default();
        let blob = std::str::from_utf8(bytes)
            .map_err(|e| corrupt_at((at + e.valid_up_to()) as u64, "names are not UTF-8"))?;
        if let Some(nul) = bytes.iter().position(|&b| b == 0) {
            return Err(corrupt_at((at + nul) as u64, "a name contains NUL"));
        }
        Ok(Names { blob, at, next: 0 })
    }

    /// The next name, which the entry at `field_at` says is `len` bytes at `off`: it must start
    /// where the previous one ended, be non-empty and end on a character boundary.
    fn next(&mut self, off: U32, len: U32, field_at: u64, what: &str) -> Result<&'a str, Reason> {
        let (off, len) = (off.get() as usize, len.get() as usize);
        if off != self.next {
            return Err(corrupt_at(
                field_at,
                format!(
                    "{what} name at {off} in the names blob, expected {}",
                    self.next
                ),
            ));
        }
        let name = off
            .checked_add(len)
            .and_then(|end| self.blob.get(off..end))
            .ok_or_else(|| {
                corrupt_at(
                    (self.at + off) as u64,
                    format!("{what} name lies outside the names blob or splits a character"),
                )
            })?;
        if name.is_empty() {
            return Err(corrupt_at(field_at, format!("{what} name is empty")));
        }
        self.next = off + len;
        Ok(name)
    }
}

fn u32_at(bytes: &[u8], pos: usize) -> Option<u32> {
    let end = pos.checked_add(4)?;
    U32::read_from_bytes(bytes.get(pos..end)?)
        .ok()
        .map(U32::get)
}

/// Tables and columns validated between two polls of the cancellation flag.
const POLL_EVERY: usize = 4096;

/// Room to reserve for `count` items of `T` whose records were read from a payload of `plen`
/// bytes: the count is checked against the records on disk, which are smaller than `T` in memory,
/// so the reservation is also held to the payload's size (a lying count cannot allocate beyond
/// the file; the items that do validate still fit, by growing).
fn capacity_for<T>(count: u32, plen: usize) -> usize {
    (count as usize).min(plen / std::mem::size_of::<T>().max(1))
}

impl Dataset {
    /// Validates a dataset snapshot's payload structure (check 8; docs/store.md, "Dataset
    /// structure"): the canonical layout (every section exactly where the encoder puts it, so
    /// nothing overlaps), names UTF-8 without NUL and unique, first and last offsets of every
    /// column, key column and index size, and the build report. Linear in the payload.
    pub fn from_snapshot(snapshot: Snapshot) -> Result<Dataset, Reason> {
        match Self::from_snapshot_with(snapshot, &Control::default()) {
            Ok(result) => result,
            // Without a cancellation flag nothing can abort.
            Err(_) => Err(Reason::new(ReasonCode::Missing, "the load was aborted")),
        }
    }

    /// [`Dataset::from_snapshot`] polling `control` between tables and columns: the outer error
    /// is [`Error::Aborted`], the inner one why the payload cannot be used.
    pub fn from_snapshot_with(
        snapshot: Snapshot,
        control: &Control<'_>,
    ) -> Result<Result<Dataset, Reason>, Error> {
        let validated = match validate(snapshot.payload(), control)? {
            Ok(validated) => validated,
            Err(reason) => return Ok(Err(reason)),
        };
        Ok(Ok(Dataset {
            inner: Arc::new(Inner {
                snapshot,
                tables: validated.tables,
                by_name: validated.by_name,
                report: validated.report,
            }),
        }))
    }

    /// Opens a dataset snapshot shipped with an application, by path: every container check and
    /// the kind `modforge.dataset@1`, no data version and no source fingerprint (there is no
    /// source to compare; docs/store.md, "Shipped snapshots"), then the structural checks.
    /// Errors: [`Error::Io`] when the file cannot be opened, [`Error::Format`] for another kind,
    /// [`Error::Corrupt`] for a failed checksum or structure, [`Error::Aborted`].
    pub fn open_file(path: &Path, control: &Control<'_>) -> Result<Dataset, Error> {
        let snapshot = modforge_store::open_file(path, DATASET_KIND, control)?;
        Self::from_snapshot_with(snapshot, control)?
            .map_err(|reason| modforge_store::reason_error(path, reason))
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

    /// The build report as stored (UTF-8 JSON, validated at open).
    pub fn report_json(&self) -> &str {
        let (at, len) = self.inner.report;
        self.inner
            .snapshot
            .payload()
            .get(at..at + len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }

    /// The build report, parsed (it was validated at open, so this fails only on a bug).
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
            .binary_search_by(|&i| {
                tables
                    .get(i as usize)
                    .map_or("", |t| t.name.as_str())
                    .cmp(name)
            })
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

    /// The full walk of `modforge store verify`, linear in the payload: every offset (ascending,
    /// inside the column text), every cell's UTF-8, every index slot, and the index's agreement
    /// with the key column (each non-empty key indexed once, at its first row, reachable from its
    /// home slot). Polls `control` between columns and every 64 Ki rows. Returns the counts seen.
    pub fn verify_cells(&self) -> Result<CellCounts, Error> {
        self.verify_cells_with(&Control::default())
    }

    /// [`Dataset::verify_cells`] polling `control`.
    pub fn verify_cells_with(&self, control: &Control<'_>) -> Result<CellCounts, Error> {
        let mut counts = CellCounts::default();
        for table in self.tables() {
            control.check()?;
            counts.tables += 1;
            counts.rows += u64::from(table.len());
            counts.steps += 1;
            for col in 0..table.columns().len() {
                control.check()?;
                counts.steps += table.verify_column(col, control)?;
                counts.cells += u64::from(table.len());
            }
            let (indexed, steps) = table.verify_index(control)?;
            counts.indexed += indexed;
            counts.steps += steps;
        }
        Ok(counts)
    }
}

/// A table's cells as one run of bytes ([`Table::cell_section`]). Cell `(r, c)` is the text
/// from `text + o[r]` to `text + o[r + 1]` of column `c`, where `o` are the little-endian `u32`
/// values starting at byte `offsets`; all positions are relative to `bytes` and 4-byte aligned
/// for the offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellSection<'a> {
    /// Every column's offsets and text, back to back as in the payload.
    pub bytes: &'a [u8],
    /// Where each column's offsets and text start in `bytes`, in column order.
    pub columns: Vec<SectionColumn>,
}

/// One column of a [`CellSection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionColumn {
    /// Byte position of the column's `rowCount + 1` offsets.
    pub offsets: usize,
    /// Byte position of the column's text.
    pub text: usize,
    /// True when every byte of the text is ASCII (cells can be decoded as Latin-1).
    pub ascii: bool,
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
    /// Units of work done: offsets and cell bytes checked, index slots scanned, key bytes hashed.
    /// Bounded by a small multiple of the payload's size whatever the file holds.
    pub steps: u64,
}

/// What structural validation keeps.
struct Validated {
    tables: Vec<TableMeta>,
    by_name: Vec<u32>,
    report: (usize, usize),
}

/// The structural validation of [`Dataset::from_snapshot`].
fn validate(payload: &[u8], control: &Control<'_>) -> Result<Result<Validated, Reason>, Error> {
    let plen = payload.len();
    let Ok((head, _)) = DatasetHeader::read_from_prefix(payload) else {
        return Ok(Err(corrupt_at(
            0,
            "payload shorter than the dataset header",
        )));
    };
    if head.flags.get() != 0 {
        return Ok(Err(corrupt_at(4, "dataset flags are not zero")));
    }
    let table_count = head.table_count.get();
    let mut cursor = Cursor {
        pos: DATASET_HEADER_LEN,
        len: plen,
    };
    let tables_at = match cursor.take(
        head.tables_off.get(),
        u64::from(table_count),
        TABLE_ENTRY_LEN as u64,
        24,
        "table entries",
    ) {
        Ok(at) => at,
        Err(reason) => return Ok(Err(reason)),
    };
    // The names and the report follow every table's sections; their place is checked once the
    // tables are walked, their content first (names are needed while walking).
    let names_at = match usize::try_from(head.names_off.get())
        .ok()
        .zip(usize::try_from(head.names_len.get()).ok())
    {
        Some((at, len)) if at.checked_add(len).is_some_and(|end| end <= plen) => (at, len),
        _ => return Ok(Err(corrupt_at(8, "names blob lies outside the payload"))),
    };
    let mut names = match Names::new(payload, names_at.0, names_at.1) {
        Ok(names) => names,
        Err(reason) => return Ok(Err(reason)),
    };
    let mut tables = Vec::with_capacity(capacity_for::<TableMeta>(table_count, plen));
    let mut table_names: HashSet<&str> = HashSet::with_capacity(table_count as usize);
    let mut column_names: HashSet<&str> = HashSet::new();
    for t in 0..table_count as usize {
        if t % POLL_EVERY == 0 {
            control.check()?;
        }
        let entry_at = tables_at + t * TABLE_ENTRY_LEN;
        let Some(entry) = payload
            .get(entry_at..)
            .and_then(|b| TableEntry::read_from_prefix(b).ok())
            .map(|(e, _)| e)
        else {
            return Ok(Err(corrupt_at(
                entry_at as u64,
                "table entry outside the payload",
            )));
        };
        let seen = Seen {
            tables: &mut table_names,
            columns: &mut column_names,
        };
        let table = validate_table(
            payload,
            &entry,
            entry_at as u64,
            &mut cursor,
            &mut names,
            seen,
            control,
        )?;
        match table {
            Ok(table) => tables.push(table),
            Err(reason) => return Ok(Err(reason)),
        }
    }
    drop(table_names);
    drop(column_names);
    if let Err(reason) = cursor.take(
        head.names_off.get(),
        head.names_len.get(),
        1,
        8,
        "names blob",
    ) {
        return Ok(Err(reason));
    }
    if names.next != names_at.1 {
        return Ok(Err(corrupt_at(
            (names_at.0 + names.next) as u64,
            "names blob holds bytes no table or column names",
        )));
    }
    let report_at = match cursor.take(
        head.report_off.get(),
        head.report_len.get(),
        1,
        32,
        "report",
    ) {
        Ok(at) => at,
        Err(reason) => return Ok(Err(reason)),
    };
    if cursor.pos != plen {
        return Ok(Err(corrupt_at(
            cursor.pos as u64,
            format!("{} bytes follow the report", plen - cursor.pos),
        )));
    }
    let report_len = plen - report_at;
    control.check()?;
    if let Err(reason) = validate_report(payload, report_at, report_len, &tables) {
        return Ok(Err(reason));
    }
    let mut by_name: Vec<u32> = (0..table_count).collect();
    by_name.sort_unstable_by(|&a, &b| {
        let name = |i: u32| tables.get(i as usize).map_or("", |t| t.name.as_str());
        name(a).cmp(name(b))
    });
    Ok(Ok(Validated {
        tables,
        by_name,
        report: (report_at, report_len),
    }))
}

/// The report must be the JSON the encoder writes: a [`DatasetReport`] with one entry per table,
/// in table order, naming the table and its row count.
fn validate_report(
    payload: &[u8],
    at: usize,
    len: usize,
    tables: &[TableMeta],
) -> Result<(), Reason> {
    let bytes = payload.get(at..at + len).unwrap_or_default();
    let report: DatasetReport = serde_json::from_slice(bytes).map_err(|e| {
        corrupt_at(
            at as u64,
            format!("report is not the build report's JSON: {e}"),
        )
    })?;
    if report.tables.len() != tables.len() {
        return Err(corrupt_at(
            at as u64,
            format!(
                "report describes {} tables, the payload holds {}",
                report.tables.len(),
                tables.len()
            ),
        ));
    }
    for (entry, table) in report.tables.iter().zip(tables) {
        if entry.name != table.name || entry.rows != table.rows {
            return Err(corrupt_at(
                at as u64,
                format!(
                    "report entry {:?} with {} rows does not describe table {:?} with {} rows",
                    entry.name, entry.rows, table.name, table.rows
                ),
            ));
        }
    }
    Ok(())
}

/// The names seen so far: every table's, and the current table's columns (hash sets, so the
/// duplicate checks are linear).
struct Seen<'s, 'a> {
    tables: &'s mut HashSet<&'a str>,
    columns: &'s mut HashSet<&'a str>,
}

fn validate_table<'a>(
    payload: &'a [u8],
    entry: &TableEntry,
    entry_at: u64,
    cursor: &mut Cursor,
    names: &mut Names<'a>,
    seen: Seen<'_, 'a>,
    control: &Control<'_>,
) -> Result<Result<TableMeta, Reason>, Error> {
    match validate_table_inner(payload, entry, entry_at, cursor, names, seen, control) {
        Ok(meta) => Ok(Ok(meta)),
        Err(Refusal::Rejected(reason)) => Ok(Err(reason)),
        Err(Refusal::Aborted) => Err(Error::Aborted),
    }
}

/// A reason or a cancellation, inside validation.
enum Refusal {
    Rejected(Reason),
    Aborted,
}

impl From<Reason> for Refusal {
    fn from(reason: Reason) -> Self {
        Refusal::Rejected(reason)
    }
}

fn validate_table_inner<'a>(
    payload: &'a [u8],
    entry: &TableEntry,
    entry_at: u64,
    cursor: &mut Cursor,
    names: &mut Names<'a>,
    seen: Seen<'_, 'a>,
    control: &Control<'_>,
) -> Result<TableMeta, Refusal> {
    let name = names.next(entry.name_off, entry.name_len, entry_at, "table")?;
    if !seen.tables.insert(name) {
        return Err(corrupt_at(entry_at, format!("table name {name:?} occurs twice")).into());
    }
    let column_names = seen.columns;
    let rows = entry.row_count.get();
    if rows == u32::MAX {
        return Err(corrupt_at(entry_at + 8, "row count out of range").into());
    }
    let column_count = entry.column_count.get();
    let columns_at = cursor.take(
        entry.columns_off.get(),
        u64::from(column_count),
        COLUMN_ENTRY_LEN as u64,
        entry_at + 24,
        "column entries",
    )?;
    let key = match entry.key_column.get() {
        NO_KEY => None,
        k if k < column_count => Some(k as usize),
        k => {
            return Err(corrupt_at(
                entry_at + 16,
                format!("key column {k} of table {name:?} is not below {column_count}"),
            )
            .into());
        }
    };
    if key.is_none() && column_count > 0 {
        return Err(corrupt_at(entry_at + 16, "a table with columns has no key column").into());
    }
    let slots = entry.index_slots.get();
    match key {
        None if slots != 0 || entry.index_off.get() != 0 => {
            return Err(corrupt_at(entry_at + 20, "index without a key column").into());
        }
        Some(_) if !slots.is_power_of_two() || u64::from(slots) <= u64::from(rows) => {
            return Err(corrupt_at(
                entry_at + 20,
                format!("index of {slots} slots for {rows} rows"),
            )
            .into());
        }
        _ => {}
    }
    if entry.reserved.get() != 0 {
        return Err(corrupt_at(entry_at + 40, "reserved table field is not zero").into());
    }
    column_names.clear();
    let mut columns = Vec::with_capacity(capacity_for::<String>(column_count, payload.len()));
    let mut column_meta =
        Vec::with_capacity(capacity_for::<ColumnMeta>(column_count, payload.len()));
    for c in 0..column_count as usize {
        if c % POLL_EVERY == 0 && control.check().is_err() {
            return Err(Refusal::Aborted);
        }
        let at = columns_at + c * COLUMN_ENTRY_LEN;
        let ce = payload
            .get(at..)
            .and_then(|b| ColumnEntry::read_from_prefix(b).ok())
            .map(|(e, _)| e)
            .ok_or_else(|| corrupt_at(at as u64, "column entry outside the payload"))?;
        let col_name = names.next(ce.name_off, ce.name_len, at as u64, "column")?;
        if !column_names.insert(col_name) {
            return Err(corrupt_at(
                at as u64,
                format!("column {col_name:?} occurs twice in table {name:?}"),
            )
            .into());
        }
        let offsets_at = cursor.take(
            ce.offsets_off.get(),
            u64::from(rows) + 1,
            4,
            at as u64 + 8,
            "column offsets",
        )?;
        let blob_at = cursor.take(
            ce.blob_off.get(),
            ce.blob_len.get(),
            1,
            at as u64 + 16,
            "column text",
        )?;
        let blob_len = usize::try_from(ce.blob_len.get()).unwrap_or(usize::MAX);
        if blob_len > u32::MAX as usize {
            return Err(corrupt_at(at as u64 + 24, "column text longer than 4 GiB").into());
        }
        let first = u32_at(payload, offsets_at);
        let last = u32_at(payload, offsets_at + rows as usize * 4);
        if first != Some(0) || last.map(|l| l as usize) != Some(blob_len) {
            return Err(corrupt_at(
                offsets_at as u64,
                format!("offsets of column {col_name:?} in table {name:?} do not span its text"),
            )
            .into());
        }
        columns.push(col_name.to_owned());
        column_meta.push(ColumnMeta {
            offsets_off: offsets_at,
            blob_off: blob_at,
            blob_len,
        });
    }
    let index_off = match key {
        Some(_) => cursor.take(
            entry.index_off.get(),
            u64::from(slots),
            4,
            entry_at + 32,
            "index",
        )?,
        None => 0,
    };
    Ok(TableMeta {
        name: name.to_owned(),
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

    /// The table's cells as one run of the payload for readers that decode cells themselves
    /// (the JavaScript facade reads rows from a copy of it): every column's offsets and text,
    /// checked first like [`Dataset::verify_cells`] checks them (offsets ascending inside the
    /// text, every cell UTF-8), so a reader may decode cells without further checks. Linear in
    /// the table's size; polls `control` between columns.
    pub fn cell_section(&self, control: &Control<'_>) -> Result<CellSection<'_>, Error> {
        let m = self.meta();
        let payload = self.payload();
        for col in 0..m.column_meta.len() {
            control.check()?;
            self.verify_column(col, control)?;
        }
        let start = m.column_meta.first().map_or(0, |c| c.offsets_off);
        let end = m
            .column_meta
            .last()
            .map_or(start, |c| c.blob_off + c.blob_len);
        let bytes = payload
            .get(start..end)
            .ok_or_else(|| self.corrupt(start, "table cells outside the payload".into()))?;
        let columns = m
            .column_meta
            .iter()
            .map(|c| {
                let text = payload
                    .get(c.blob_off..c.blob_off + c.blob_len)
                    .unwrap_or_default();
                SectionColumn {
                    offsets: c.offsets_off - start,
                    text: c.blob_off - start,
                    ascii: text.is_ascii(),
                }
            })
            .collect();
        Ok(CellSection { bytes, columns })
    }

    /// Checks every offset of column `col` (ascending, inside its text) and every cell's UTF-8;
    /// returns the steps done (offsets plus cell bytes: at most the column's share of the file).
    fn verify_column(&self, col: usize, control: &Control<'_>) -> Result<u64, Error> {
        let m = self.meta();
        let Some(c) = m.column_meta.get(col) else {
            return Ok(0);
        };
        let payload = self.payload();
        let mut steps = 0u64;
        let mut previous = 0usize;
        for row in 0..m.rows {
            if row % VERIFY_POLL == 0 {
                control.check()?;
            }
            let at = c.offsets_off + row as usize * 4 + 4;
            let end = u32_at(payload, at)
                .ok_or_else(|| self.corrupt(at, "cell offsets outside the payload".into()))?
                as usize;
            if end < previous || end > c.blob_len {
                return Err(self.corrupt(
                    at,
                    format!(
                        "cell offsets {previous}..{end} outside the column text of {} bytes",
                        c.blob_len
                    ),
                ));
            }
            let bytes = payload
                .get(c.blob_off + previous..c.blob_off + end)
                .ok_or_else(|| {
                    self.corrupt(c.blob_off + previous, "cell outside the payload".into())
                })?;
            if let Err(e) = std::str::from_utf8(bytes) {
                return Err(self.corrupt(
                    c.blob_off + previous + e.valid_up_to(),
                    "cell is not UTF-8".into(),
                ));
            }
            steps += 1 + bytes.len() as u64;
            previous = end;
        }
        Ok(steps)
    }

    /// Full index check in linear time: every slot holds no row or a valid one; an empty slot
    /// exists; the indexed rows are exactly the first rows of each non-empty key, each once (found
    /// with a hash map over the key column and a bit per row); and every indexed row is reachable
    /// from its key's home slot
    /// without crossing an empty slot (checked with the run of occupied slots before each slot,
    /// not by probing, which a crafted index could make quadratic). Returns the occupied slots
    /// and the steps done.
    fn verify_index(&self, control: &Control<'_>) -> Result<(u64, u64), Error> {
        let m = self.meta();
        let Some(key_col) = m.key else {
            return Ok((0, 0));
        };
        let payload = self.payload();
        let slots = m.slots as usize;
        let slot_row = |slot: usize| -> Result<u32, Error> {
            let at = m.index_off + slot * 4;
            match u32_at(payload, at) {
                Some(EMPTY_SLOT) => Ok(EMPTY_SLOT),
                Some(row) if row < m.rows => Ok(row),
                _ => Err(self.corrupt(at, "index slot holds no valid row".into())),
            }
        };
        // The first row of every non-empty key.
        let mut first: HashMap<&[u8], u32> = HashMap::new();
        let mut steps = 0u64;
        for row in 0..m.rows {
            if row % VERIFY_POLL == 0 {
                control.check()?;
            }
            let key = self.cell_bytes(row, key_col)?;
            steps += 1 + key.len() as u64;
            if !key.is_empty() {
                first.entry(key).or_insert(row);
            }
        }
        // Runs of occupied slots: walk the ring once starting just after an empty slot.
        let Some(empty) = (0..slots)
            .map(|slot| slot_row(slot).map(|row| (slot, row)))
            .find(|found| !matches!(found, Ok((_, row)) if *row != EMPTY_SLOT))
            .transpose()?
            .map(|(slot, _)| slot)
        else {
            return Err(self.corrupt(m.index_off, "index has no empty slot".into()));
        };
        let mut indexed = 0u64;
        // Rows met in the index, one bit each: a row indexed twice hides another key.
        let mut met = vec![0u64; (m.rows as usize).div_ceil(64)];
        let mut run = 0usize;
        for step in 1..=slots {
            if step % VERIFY_POLL as usize == 0 {
                control.check()?;
            }
            let slot = (empty + step) & (slots - 1);
            let row = slot_row(slot)?;
            steps += 1;
            if row == EMPTY_SLOT {
                run = 0;
                continue;
            }
            run += 1;
            indexed += 1;
            let key = self.cell_bytes(row, key_col)?;
            steps += 1 + key.len() as u64;
            let at = m.index_off + slot * 4;
            let (word, bit) = (row as usize / 64, 1u64 << (row % 64));
            match met.get_mut(word) {
                Some(bits) if *bits & bit == 0 => *bits |= bit,
                _ => {
                    return Err(self.corrupt(
                        at,
                        format!("index of table {:?} holds row {row} twice", m.name),
                    ));
                }
            }
            if first.get(key) != Some(&row) {
                return Err(self.corrupt(
                    at,
                    format!(
                        "index slot holds row {row} of table {:?}, which is not the first row of its key",
                        m.name
                    ),
                ));
            }
            let home = home_slot(key, m.slots) as usize;
            let distance = (slot + slots - home) & (slots - 1);
            if distance >= run {
                return Err(self.corrupt(
                    at,
                    format!(
                        "index slot holds row {row} of table {:?} beyond an empty slot after its home slot",
                        m.name
                    ),
                ));
            }
        }
        if indexed != first.len() as u64 {
            return Err(self.corrupt(
                m.index_off,
                format!(
                    "index of table {:?} holds {indexed} rows for {} distinct keys",
                    m.name,
                    first.len()
                ),
            ));
        }
        Ok((indexed, steps))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_must_follow_each_other() {
        let mut cursor = Cursor { pos: 48, len: 200 };
        assert_eq!(cursor.take(48, 2, 48, 0, "x").unwrap(), 48);
        assert_eq!(cursor.pos, 144);
        // The next section starts at 144 exactly; 150 is not aligned, 152 leaves a gap.
        assert!(cursor.clone_at(144).take(152, 1, 1, 0, "x").is_err());
        assert!(cursor.clone_at(145).take(152, 1, 1, 0, "x").is_ok());
        assert!(
            cursor
                .clone_at(144)
                .take(144, u64::MAX, 48, 0, "x")
                .is_err()
        );
        assert!(cursor.clone_at(144).take(144, 57, 1, 0, "x").is_err());
        assert!(cursor.clone_at(144).take(u64::MAX, 1, 1, 0, "x").is_err());
    }

    impl Cursor {
        fn clone_at(&self, pos: usize) -> Cursor {
            Cursor { pos, len: self.len }
        }
    }

    #[test]
    fn dataset_is_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Dataset>();
        check::<Table>();
        check::<Snapshot>();
    }
}
