//! The CSV vectors (docs/store.md, "CSV"), through the dataset builder.

mod common;

use common::csv_table;
use modforge_dataset::{DuplicateKey, DuplicatePolicy, RaggedPolicy};
use modforge_store::Error;

fn rows_of(csv: &[u8]) -> (Vec<String>, Vec<Vec<String>>, modforge_dataset::TableReport) {
    let dir = tempfile::tempdir().unwrap();
    let ds = csv_table(dir.path(), csv, |_| {}).unwrap().value;
    let t = ds.table("t").unwrap();
    let rows = (0..t.len())
        .map(|r| t.row(r).unwrap().into_iter().map(String::from).collect())
        .collect();
    (
        t.columns().to_vec(),
        rows,
        ds.report().unwrap().tables.remove(0),
    )
}

fn format_error(
    csv: &[u8],
    configure: impl FnOnce(&mut modforge_dataset::DatasetOptions),
) -> (u64, Option<u64>, String) {
    let dir = tempfile::tempdir().unwrap();
    match csv_table(dir.path(), csv, configure) {
        Err(Error::Format {
            offset,
            line,
            expected,
            ..
        }) => (offset, line, expected),
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn quoted_comma_with_crlf() {
    let (cols, rows, _) = rows_of(b"k,v\r\n1,\"x,y\"\r\n");
    assert_eq!(cols, ["k", "v"]);
    assert_eq!(rows, [["1", "x,y"]]);
}

#[test]
fn doubled_quotes() {
    let (_, rows, _) = rows_of(b"k,v\n1,\"say \"\"hi\"\"\"\n");
    assert_eq!(rows, [["1", "say \"hi\""]]);
}

#[test]
fn newline_inside_quotes_is_one_row() {
    let (_, rows, _) = rows_of(b"k,v\n1,\"a\nb\"\n");
    assert_eq!(rows, [["1", "a\nb"]]);
}

#[test]
fn bom_without_final_newline() {
    let (cols, rows, report) = rows_of(b"\xEF\xBB\xBFk,v\n1,2");
    assert_eq!(cols, ["k", "v"]);
    assert_eq!(rows, [["1", "2"]]);
    assert!(report.bom_stripped);
    let (_, _, plain) = rows_of(b"k,v\n1,2");
    assert!(!plain.bom_stripped);
}

#[test]
fn lone_cr_and_trailing_empty_line() {
    let (_, rows, _) = rows_of(b"k,v\r1,2\r3,4\n\n");
    assert_eq!(rows, [["1", "2"], ["3", "4"]]);
}

#[test]
fn long_row_joins_into_last_column() {
    let (_, rows, report) = rows_of(b"k,v\n1,,\n");
    assert_eq!(rows, [["1", ","]]);
    assert_eq!(report.long_rows, 1);
    assert_eq!(report.long_row_numbers, [0]);
    let (offset, line, expected) = format_error(b"k,v\n1,,\n", |o| o.ragged = RaggedPolicy::Error);
    assert_eq!((offset, line), (4, Some(2)));
    assert!(expected.contains("row 0"), "{expected}");
}

#[test]
fn short_row_is_padded() {
    let (cols, rows, report) = rows_of(b"k,v,w\n1\n");
    assert_eq!(cols, ["k", "v", "w"]);
    assert_eq!(rows, [["1", "", ""]]);
    assert_eq!(report.short_rows, 1);
    assert_eq!(report.short_row_numbers, [0]);
}

#[test]
fn duplicate_keys_first_wins() {
    let dir = tempfile::tempdir().unwrap();
    let ds = csv_table(dir.path(), b"k,v\na,1\na,2\n", |_| {})
        .unwrap()
        .value;
    let t = ds.table("t").unwrap();
    assert_eq!(t.get(b"a").unwrap().unwrap(), ["a", "1"]);
    let report = ds.report().unwrap().tables.remove(0);
    assert_eq!(
        report.duplicates,
        [DuplicateKey {
            key: "a".into(),
            rows: vec![0, 1]
        }]
    );
    assert_eq!(report.duplicate_rows, 1);
    let (_, line, expected) = format_error(b"k,v\na,1\na,2\n", |o| {
        o.duplicates = DuplicatePolicy::Error
    });
    assert_eq!(line, Some(3));
    assert!(
        expected.contains("\"a\"") && expected.contains("row 0") && expected.contains("row 1"),
        "{expected}"
    );
}

#[test]
fn empty_key_kept_not_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let ds = csv_table(dir.path(), b"k,v\n,1\n", |_| {}).unwrap().value;
    let t = ds.table("t").unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t.row(0).unwrap(), ["", "1"]);
    assert_eq!(t.lookup(b"").unwrap(), None);
    let report = ds.report().unwrap().tables.remove(0);
    assert_eq!(report.empty_keys, 1);
    assert_eq!(report.empty_key_rows, [0]);
}

#[test]
fn quote_inside_unquoted_field_is_literal() {
    let (_, rows, _) = rows_of(b"k,v\n1,a\"b\n");
    assert_eq!(rows, [["1", "a\"b"]]);
}

#[test]
fn unterminated_quote_at_eof() {
    let (offset, line, expected) = format_error(b"k,v\n1,\"abc", |_| {});
    assert_eq!(offset, 6);
    assert_eq!(line, Some(2));
    assert!(expected.contains("closing quote"));
    // Also when the open quote swallows later lines, and after a BOM.
    assert_eq!(format_error(b"k,v\n1,\"abc\n2,3\n", |_| {}).0, 6);
    assert_eq!(format_error(b"\xEF\xBB\xBFk,v\n1,\"abc", |_| {}).0, 9);
}

#[test]
fn duplicate_and_empty_column_names() {
    let (_, _, expected) = format_error(b"k,k\n1,2\n", |_| {});
    assert!(expected.contains("unique column names"), "{expected}");
    let (_, _, expected) = format_error(b"k,\n1,2\n", |_| {});
    assert!(expected.contains("non-empty name"), "{expected}");
    let (offset, _, expected) = format_error(b"", |_| {});
    assert_eq!(offset, 0);
    assert!(expected.contains("header"));
}

#[test]
fn proto_column_is_an_ordinary_column() {
    let (cols, rows, _) = rows_of(b"__proto__,v\nx,1\n");
    assert_eq!(cols, ["__proto__", "v"]);
    assert_eq!(rows, [["x", "1"]]);
}

#[test]
fn version_column_must_hold_one_value() {
    let (offset, line, expected) = format_error(b"version,k\nv1,a\nv2,b\n", |o| {
        o.version = None;
        o.version_column = Some("version".into());
    });
    assert_eq!((offset, line), (15, Some(3)));
    assert!(
        expected.contains("row 1") && expected.contains("\"v2\"") && expected.contains("\"v1\""),
        "{expected}"
    );
}

#[test]
fn invalid_utf8_names_the_offset() {
    let (offset, line, expected) = format_error(b"k,v\n1,ab\xFFc\n", |_| {});
    assert_eq!((offset, line), (8, Some(2)));
    assert!(expected.contains("UTF-8"));
}

#[test]
fn spaces_belong_to_fields() {
    let (cols, rows, _) = rows_of(b" k , v \n 1 ,\" 2 \"\n");
    assert_eq!(cols, [" k ", " v "]);
    assert_eq!(rows, [[" 1 ", " 2 "]]);
}
