//! Turning CSV text (docs/store.md, "CSV") or given rows into column-wise tables.

use std::collections::HashSet;

use csv::{ByteRecord, ReaderBuilder};

use crate::options::RaggedPolicy;
use crate::report::{TableReport, push_capped};
use modforge_core::{Progress, Stage};
use modforge_store::Error;

use modforge_store::Hooks;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
/// Cancellation and progress are checked every this many rows.
const ROW_BATCH: u32 = 4096;
/// The largest row count: row numbers are `u32` and `u32::MAX` marks an empty index slot.
const MAX_ROWS: u32 = u32::MAX - 1;

/// One stored column: the cells' UTF-8 text back to back and `rows + 1` offsets into it.
pub(crate) struct Column {
    pub name: String,
    pub offsets: Vec<u32>,
    pub blob: Vec<u8>,
}

impl Column {
    /// Cell `row`'s bytes (empty past the end: the builder's own offsets are always consistent).
    pub fn cell(&self, row: usize) -> &[u8] {
        match (self.offsets.get(row), self.offsets.get(row + 1)) {
            (Some(&start), Some(&end)) => self
                .blob
                .get(start as usize..end as usize)
                .unwrap_or_default(),
            _ => &[],
        }
    }
}

/// A parsed table, before indexing and encoding.
pub(crate) struct ParsedTable {
    pub name: String,
    /// The input's name in error messages (file path or `<rows of table "x">`).
    pub label: String,
    pub columns: Vec<Column>,
    pub rows: u32,
    /// 1-based source line of every row (kept only when an error may need to cite it).
    pub lines: Vec<u64>,
    pub report: TableReport,
}

/// The data version taken from a version column, with where it was first seen.
pub(crate) struct VersionSeen {
    pub value: String,
    pub table: String,
    pub row: u32,
}

/// State shared by the tables of one build.
pub(crate) struct ParseContext<'a, 'h> {
    pub version_column: Option<&'a str>,
    pub ragged: RaggedPolicy,
    pub keep_lines: bool,
    /// The CSV field delimiter (also joins the extra fields of long rows).
    pub delimiter: u8,
    pub hooks: &'a Hooks<'h>,
    pub version: Option<VersionSeen>,
    /// Data rows parsed before the current table, and in all (progress stage `parse`).
    pub done: u64,
    pub total: u64,
}

/// Where a record starts in its input.
#[derive(Clone, Copy)]
struct Pos {
    offset: u64,
    line: Option<u64>,
}

/// A record's fields, from the CSV reader or from given rows.
trait Fields {
    fn count(&self) -> usize;
    fn field(&self, i: usize) -> Option<&[u8]>;
}

impl Fields for ByteRecord {
    fn count(&self) -> usize {
        self.len()
    }
    fn field(&self, i: usize) -> Option<&[u8]> {
        self.get(i)
    }
}

impl Fields for [String] {
    fn count(&self) -> usize {
        self.len()
    }
    fn field(&self, i: usize) -> Option<&[u8]> {
        self.get(i).map(String::as_bytes)
    }
}

struct TableBuilder<'a> {
    table: &'a str,
    label: &'a str,
    delimiter: u8,
    width: usize,
    version_at: Option<usize>,
    columns: Vec<Column>,
    rows: u32,
    lines: Vec<u64>,
    report: TableReport,
    joined: Vec<u8>,
}

fn format_error(label: &str, pos: Pos, expected: String) -> Error {
    Error::Format {
        file: label.to_string(),
        offset: pos.offset,
        line: pos.line,
        expected,
    }
}

impl<'a> TableBuilder<'a> {
    fn new(
        table: &'a str,
        label: &'a str,
        header: Vec<String>,
        ctx: &ParseContext<'_, '_>,
        pos: Pos,
    ) -> Result<Self, Error> {
        let mut seen = HashSet::with_capacity(header.len());
        for (i, name) in header.iter().enumerate() {
            if name.is_empty() {
                return Err(format_error(
                    label,
                    pos,
                    format!("a non-empty name for column {i} of table {table:?}"),
                ));
            }
            if name.contains('\0') {
                return Err(format_error(
                    label,
                    pos,
                    format!(
                        "a column name without NUL for column {i} of table {table:?}, found {name:?}"
                    ),
                ));
            }
            if !seen.insert(name.as_str()) {
                return Err(format_error(
                    label,
                    pos,
                    format!("unique column names in table {table:?}, found {name:?} twice"),
                ));
            }
        }
        drop(seen);
        let version_at = match ctx.version_column {
            Some(v) => Some(header.iter().position(|h| h == v).ok_or_else(|| {
                format_error(
                    label,
                    pos,
                    format!("a version column {v:?} in table {table:?}"),
                )
            })?),
            None => None,
        };
        let width = header.len();
        let columns = header
            .into_iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != version_at)
            .map(|(_, name)| Column {
                name,
                offsets: vec![0],
                blob: Vec::new(),
            })
            .collect();
        let report = TableReport {
            name: table.to_string(),
            ..TableReport::default()
        };
        Ok(TableBuilder {
            table,
            label,
            delimiter: ctx.delimiter,
            width,
            version_at,
            columns,
            rows: 0,
            lines: Vec::new(),
            report,
            joined: Vec::new(),
        })
    }

    fn push<F: Fields + ?Sized>(
        &mut self,
        fields: &F,
        pos: Pos,
        ctx: &mut ParseContext<'_, '_>,
    ) -> Result<(), Error> {
        let row = self.rows;
        if row >= MAX_ROWS {
            return Err(Error::Limit(format!(
                "table {:?} has more than {MAX_ROWS} rows",
                self.table
            )));
        }
        let n = fields.count();
        if n != self.width {
            if ctx.ragged == RaggedPolicy::Error {
                return Err(format_error(
                    self.label,
                    pos,
                    format!(
                        "{} fields in row {row} of table {:?}, found {n}",
                        self.width, self.table
                    ),
                ));
            }
            if n > self.width {
                self.report.long_rows += 1;
                push_capped(&mut self.report.long_row_numbers, row);
            } else {
                self.report.short_rows += 1;
                push_capped(&mut self.report.short_row_numbers, row);
            }
        }
        let last = self.width.saturating_sub(1);
        let mut stored = 0;
        for i in 0..self.width {
            let cell: &[u8] = if i == last && n > self.width {
                self.joined.clear();
                for j in last..n {
                    if j > last {
                        self.joined.push(self.delimiter);
                    }
                    self.joined
                        .extend_from_slice(fields.field(j).unwrap_or_default());
                }
                &self.joined
            } else {
                fields.field(i).unwrap_or_default()
            };
            if Some(i) == self.version_at {
                check_version(ctx, self.table, self.label, row, cell, pos)?;
                continue;
            }
            let Some(column) = self.columns.get_mut(stored) else {
                break;
            };
            stored += 1;
            let end = column.blob.len() as u64 + cell.len() as u64;
            let end = u32::try_from(end).map_err(|_| {
                Error::Limit(format!(
                    "column {:?} of table {:?} exceeds 4 GiB of text",
                    column.name, self.table
                ))
            })?;
            column.blob.extend_from_slice(cell);
            column.offsets.push(end);
        }
        if ctx.keep_lines {
            self.lines.push(pos.line.unwrap_or(0));
        }
        self.rows += 1;
        Ok(())
    }

    fn finish(self, bom_stripped: bool) -> ParsedTable {
        let mut report = self.report;
        report.rows = self.rows;
        report.bom_stripped = bom_stripped;
        ParsedTable {
            name: self.table.to_string(),
            label: self.label.to_string(),
            columns: self.columns,
            rows: self.rows,
            lines: self.lines,
            report,
        }
    }
}

fn check_version(
    ctx: &mut ParseContext<'_, '_>,
    table: &str,
    label: &str,
    row: u32,
    cell: &[u8],
    pos: Pos,
) -> Result<(), Error> {
    match &ctx.version {
        None => {
            let value = String::from_utf8_lossy(cell).into_owned();
            ctx.version = Some(VersionSeen {
                value,
                table: table.to_string(),
                row,
            });
        }
        Some(seen) if seen.value.as_bytes() != cell => {
            return Err(format_error(
                label,
                pos,
                format!(
                    "one data version: table {table:?} row {row} has {:?} but table {:?} row {} has {:?}",
                    String::from_utf8_lossy(cell),
                    seen.table,
                    seen.row,
                    seen.value
                ),
            ));
        }
        Some(_) => {}
    }
    Ok(())
}

fn line_at(bytes: &[u8], offset: usize) -> u64 {
    bytes
        .get(..offset)
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count() as u64)
        + 1
}

/// Parses one CSV input. `label` names it in errors.
pub(crate) fn parse_csv(
    table: &str,
    label: &str,
    bytes: &[u8],
    ctx: &mut ParseContext<'_, '_>,
) -> Result<ParsedTable, Error> {
    let (body, bom) = match bytes.strip_prefix(UTF8_BOM) {
        Some(rest) => (rest, UTF8_BOM.len()),
        None => (bytes, 0),
    };
    if let Err(e) = std::str::from_utf8(body) {
        let offset = bom + e.valid_up_to();
        return Err(Error::Format {
            file: label.to_string(),
            offset: offset as u64,
            line: Some(line_at(bytes, offset)),
            expected: "UTF-8 text".into(),
        });
    }
    // `has_headers(false)`: the header is read like any record so its position is known;
    // `flexible(true)`: ragged rows reach the ragged-row policy instead of aborting the reader.
    let mut reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(ctx.delimiter)
        .from_reader(body);
    let mut record = ByteRecord::new();
    let csv_error = |e: csv::Error| {
        let offset = e.position().map_or(0, |p| p.byte()) + bom as u64;
        Error::Format {
            file: label.to_string(),
            offset,
            line: e.position().map(|p| p.line()),
            expected: e.to_string(),
        }
    };
    let pos_of = |record: &ByteRecord| match record.position() {
        Some(p) => Pos {
            offset: p.byte() + bom as u64,
            line: Some(p.line()),
        },
        None => Pos {
            offset: bom as u64,
            line: None,
        },
    };
    if !reader.read_byte_record(&mut record).map_err(csv_error)? {
        return Err(Error::Format {
            file: label.to_string(),
            offset: bom as u64,
            line: Some(1),
            expected: "a header row".into(),
        });
    }
    let header_pos = pos_of(&record);
    let mut last_start = header_pos.offset as usize - bom;
    let header = record
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let mut builder = TableBuilder::new(table, label, header, ctx, header_pos)?;
    while reader.read_byte_record(&mut record).map_err(csv_error)? {
        let pos = pos_of(&record);
        last_start = pos.offset as usize - bom;
        builder.push(&record, pos, ctx)?;
        if builder.rows % ROW_BATCH == 0 {
            ctx.hooks.control.check()?;
            let done = ctx.done + u64::from(builder.rows);
            ctx.hooks
                .control
                .report(Progress::of(Stage::Parse, done, ctx.total).at(table));
        }
    }
    if let Some(open) = unterminated_quote(body, last_start, ctx.delimiter) {
        let offset = open + bom;
        return Err(Error::Format {
            file: label.to_string(),
            offset: offset as u64,
            line: Some(line_at(bytes, offset)),
            expected: "a closing quote before the end of the input (truncated file?)".into(),
        });
    }
    Ok(builder.finish(bom > 0))
}

/// The data rows of a CSV input (records after the header), counted with the same record rules
/// as the parser but without storing fields, so that progress can count rows against a known
/// total. A leading byte-order mark is skipped like the parser skips it.
pub(crate) fn count_rows(bytes: &[u8], delimiter: u8) -> u64 {
    let mut input = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let mut reader = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
    // Fields are written here and discarded: only record ends matter.
    let mut scratch = vec![0u8; 16 << 10];
    let mut ends = vec![0usize; 256];
    let mut records = 0u64;
    loop {
        let (result, read, _, _) = reader.read_record(input, &mut scratch, &mut ends);
        input = input.get(read..).unwrap_or_default();
        match result {
            csv_core::ReadRecordResult::Record => records += 1,
            csv_core::ReadRecordResult::End => break,
            // More input (none left means end of input on the next call), or more room for a
            // long record: go on.
            csv_core::ReadRecordResult::InputEmpty
            | csv_core::ReadRecordResult::OutputFull
            | csv_core::ReadRecordResult::OutputEndsFull => {}
        }
    }
    records.saturating_sub(1)
}

/// The `csv` crate accepts end of input inside a quoted field; modforge makes it an error
/// (docs/store.md, "CSV"). Scans the last record (from `start`) with the same field rules and
/// returns the offending quote's offset.
fn unterminated_quote(body: &[u8], start: usize, delimiter: u8) -> Option<usize> {
    let mut i = start;
    while matches!(body.get(i), Some(b'\r' | b'\n')) {
        i += 1;
    }
    loop {
        if body.get(i) == Some(&b'"') {
            let open = i;
            i += 1;
            loop {
                let Some(quote) = body
                    .get(i..)
                    .and_then(|rest| rest.iter().position(|&b| b == b'"'))
                    .map(|p| i + p)
                else {
                    return Some(open);
                };
                if body.get(quote + 1) == Some(&b'"') {
                    i = quote + 2;
                } else {
                    i = quote + 1;
                    break;
                }
            }
        }
        while let Some(&b) = body.get(i) {
            if b == delimiter || matches!(b, b'\r' | b'\n') {
                break;
            }
            i += 1;
        }
        match body.get(i) {
            Some(&b) if b == delimiter => i += 1,
            _ => return None,
        }
    }
}

/// Parses rows given directly.
pub(crate) fn parse_rows(
    table: &str,
    columns: &[String],
    rows: &[Vec<String>],
    ctx: &mut ParseContext<'_, '_>,
) -> Result<ParsedTable, Error> {
    let label = format!("<rows of table {table:?}>");
    let pos = Pos {
        offset: 0,
        line: None,
    };
    if columns.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "table {table:?} has no columns"
        )));
    }
    let mut builder = TableBuilder::new(table, &label, columns.to_vec(), ctx, pos)?;
    for row in rows {
        builder.push(row.as_slice(), pos, ctx)?;
        if builder.rows % ROW_BATCH == 0 {
            ctx.hooks.control.check()?;
            let done = ctx.done + u64::from(builder.rows);
            ctx.hooks
                .control
                .report(Progress::of(Stage::Parse, done, ctx.total).at(table));
        }
    }
    Ok(builder.finish(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unterminated_quote_scan() {
        assert_eq!(unterminated_quote(b"k,v\n1,\"abc", 4, b','), Some(6));
        assert_eq!(unterminated_quote(b"1,\"a\"\"b\"", 0, b','), None);
        assert_eq!(unterminated_quote(b"1,\"a\"\"", 0, b','), Some(2));
        assert_eq!(unterminated_quote(b"1,\"a\"x\"y", 0, b','), None);
        assert_eq!(unterminated_quote(b"\n\n\"x", 0, b','), Some(2));
        assert_eq!(unterminated_quote(b"a,b\n", 0, b','), None);
        assert_eq!(unterminated_quote(b"", 0, b','), None);
        assert_eq!(unterminated_quote(b"1;\"abc", 0, b';'), Some(2));
        assert_eq!(unterminated_quote(b"1,\"abc", 0, b';'), None);
    }

    #[test]
    fn rows_are_counted_like_the_parser_counts_them() {
        for (csv, rows) in [
            (&b"k,v\n1,2\n3,4\n"[..], 2),
            (b"k,v\r\n1,\"a\nb\"\r\n2,3", 2),
            (b"k\n\n\n1\n\n", 1),
            (b"\xEF\xBB\xBFk\n1\n", 1),
            (b"k", 0),
            (b"", 0),
            (b"k,v\n1,\"unterminated", 1),
        ] {
            assert_eq!(
                count_rows(csv, b','),
                rows,
                "{:?}",
                String::from_utf8_lossy(csv)
            );
        }
        let long: Vec<u8> = [&b"k,v\n"[..], &vec![b'x'; 100_000], b",1\n2,2\n"].concat();
        assert_eq!(count_rows(&long, b','), 2);
        let wide = format!(
            "{}\n{}\n",
            vec!["c"; 1000].join(";"),
            vec!["1"; 1000].join(";")
        );
        assert_eq!(count_rows(wide.as_bytes(), b';'), 1);
    }
}
