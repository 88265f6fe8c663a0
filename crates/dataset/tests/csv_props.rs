//! Property tests of the CSV reader: RFC 4180 text written from random cells reads back to the
//! same cells; arbitrary bytes give rows or a format error, never a panic.

mod common;

use common::csv_table;
use modforge_store::Error;
use proptest::prelude::*;

fn quote(cell: &str) -> String {
    if cell.is_empty() || cell.contains([',', '"', '\n', '\r']) || cell.starts_with(' ') {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

fn cell() -> impl Strategy<Value = String> {
    prop::string::string_regex("[a-z ,\"\\n\\r\u{e9}\u{1F600}]{0,12}").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn written_csv_reads_back(
        width in 1usize..5,
        cells in prop::collection::vec(cell(), 0..60),
        crlf in any::<bool>(),
        bom in any::<bool>(),
    ) {
        let header: Vec<String> = (0..width).map(|i| format!("c{i}")).collect();
        let rows: Vec<Vec<String>> = cells.chunks(width).filter(|r| r.len() == width).map(|r| r.to_vec()).collect();
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text = if bom { "\u{feff}".to_string() } else { String::new() };
        text.push_str(&header.join(","));
        for row in &rows {
            text.push_str(eol);
            text.push_str(&row.iter().map(|c| quote(c)).collect::<Vec<_>>().join(","));
        }
        text.push_str(eol);
        let dir = tempfile::tempdir().unwrap();
        let ds = csv_table(dir.path(), text.as_bytes(), |_| {}).unwrap().value;
        let t = ds.table("t").unwrap();
        prop_assert_eq!(t.columns(), header.as_slice());
        prop_assert_eq!(t.len() as usize, rows.len());
        for (r, row) in rows.iter().enumerate() {
            prop_assert_eq!(t.row(r as u32).unwrap(), row.iter().map(String::as_str).collect::<Vec<_>>());
        }
        let report = ds.report().unwrap().tables.remove(0);
        prop_assert_eq!(report.bom_stripped, bom);
        prop_assert_eq!(report.long_rows + report.short_rows, 0);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(prop::sample::select(vec![b'a', b',', b'"', b'\n', b'\r', b' ', 0xC3, 0xA9, 0xFF]), 0..80)) {
        let dir = tempfile::tempdir().unwrap();
        match csv_table(dir.path(), &bytes, |_| {}) {
            Ok(opened) => {
                let counts = opened.value.verify_cells().unwrap();
                prop_assert!(counts.tables == 1);
            }
            Err(Error::Format { offset, .. }) => prop_assert!(offset <= bytes.len() as u64),
            Err(e) => prop_assert!(false, "unexpected error {e:?}"),
        }
    }
}
