//! What first users hit with real folders and shipped files: fingerprints that follow content and
//! table names (not path spellings or order), snapshots opened by path without their CSVs,
//! delimiters other than `,`, a key column of duplicates, NUL in names, very wide tables, many
//! tables, FIFOs among the inputs, an empty folder, cancelled loads (docs/store.md, "Datasets").

mod common;

use std::path::{Path, PathBuf};

use common::{opts, snapshots};
use modforge_core::{Cancel, Control};
use modforge_dataset::{
    Dataset, DatasetOptions, DatasetPlan, Keys, TableInput, open_dataset, open_dataset_with,
};
use modforge_store::{Error, Hooks, ReasonCode, Source};

fn csv_paths(pairs: &[(&str, PathBuf)]) -> Vec<(String, TableInput)> {
    pairs
        .iter()
        .map(|(name, path)| (name.to_string(), TableInput::CsvPath(path.clone())))
        .collect()
}

fn write_tables(dir: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let (a, b) = (dir.join("words.csv"), dir.join("tags.csv"));
    std::fs::write(&a, "word,meaning\nsun,star\nmoon,satellite\n").unwrap();
    std::fs::write(&b, "tag,count\nx,1\ny,2\n").unwrap();
    (a, b)
}

#[test]
fn the_same_data_is_not_stale_under_other_paths_order_or_folder() {
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let (words, tags) = write_tables(&work.path().join("csv"));
    let options = || {
        let mut o = DatasetOptions::new(&cache, "db");
        o.version = Some("1".into());
        o
    };
    let first = open_dataset(
        options(),
        csv_paths(&[("words", words.clone()), ("tags", tags.clone())]),
        &Hooks::default(),
    )
    .unwrap();
    assert!(!first.loaded);

    // Relative spellings of the same files.
    std::env::set_current_dir(work.path()).unwrap();
    let relative = csv_paths(&[
        ("words", PathBuf::from("csv/words.csv")),
        ("tags", PathBuf::from("./csv/../csv/tags.csv")),
    ]);
    let again = open_dataset(options(), relative, &Hooks::default()).unwrap();
    assert!(again.loaded, "rejected: {:?}", again.rejected);

    // The tables in another order.
    let reordered = csv_paths(&[("tags", tags.clone()), ("words", words.clone())]);
    let again = open_dataset(options(), reordered, &Hooks::default()).unwrap();
    assert!(again.loaded, "rejected: {:?}", again.rejected);
    assert_eq!(again.value.table_names(), ["words", "tags"], "as built");

    // Copied to another folder.
    let (words2, tags2) = write_tables(&work.path().join("elsewhere"));
    let copied = csv_paths(&[("words", words2.clone()), ("tags", tags2.clone())]);
    let again = open_dataset(options(), copied, &Hooks::default()).unwrap();
    assert!(again.loaded, "rejected: {:?}", again.rejected);

    // What does change it: content, and which file is which table.
    std::fs::write(&tags2, "tag,count\nx,1\ny,3\n").unwrap();
    let changed = open_dataset(
        options(),
        csv_paths(&[("words", words2.clone()), ("tags", tags2.clone())]),
        &Hooks::default(),
    )
    .unwrap();
    assert_eq!(changed.rejected.unwrap().code, ReasonCode::Stale);
    let swapped = open_dataset(
        options(),
        csv_paths(&[("words", tags.clone()), ("tags", words.clone())]),
        &Hooks::default(),
    )
    .unwrap();
    assert_eq!(swapped.rejected.unwrap().code, ReasonCode::Stale);
}

#[test]
fn a_shipped_snapshot_opens_by_path_without_its_csvs() {
    let work = tempfile::tempdir().unwrap();
    let (words, tags) = write_tables(&work.path().join("csv"));
    let mut o = DatasetOptions::new(work.path().join("build"), "db");
    o.version = Some("7".into());
    let built = open_dataset(
        o,
        csv_paths(&[("words", words), ("tags", tags)]),
        &Hooks::default(),
    )
    .unwrap();
    let app = work.path().join("app");
    std::fs::create_dir(&app).unwrap();
    let shipped = app.join("db.mfs");
    std::fs::copy(&built.path, &shipped).unwrap();
    std::fs::remove_dir_all(work.path().join("csv")).unwrap();

    let none = Control::default();
    let ds = Dataset::open_file(&shipped, &none).unwrap();
    assert_eq!(ds.version(), "7");
    assert_eq!(
        ds.table("words").unwrap().get(b"moon").unwrap().unwrap(),
        ["moon", "satellite"]
    );
    assert!(!ds.snapshot().is_mapped());

    // A blob is not a dataset; a damaged file is corrupt; a missing one an IO error.
    let blob = modforge_store::SnapshotId::blob(&app, "b", "1").unwrap();
    modforge_store::put_blob(&blob, &Source::Token("t".into()), b"x", &Hooks::default()).unwrap();
    assert!(matches!(
        Dataset::open_file(&blob.path(), &none),
        Err(Error::Format { offset: 16, .. })
    ));
    let mut bytes = std::fs::read(&shipped).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x20;
    std::fs::write(&shipped, &bytes).unwrap();
    assert!(matches!(
        Dataset::open_file(&shipped, &none),
        Err(Error::Corrupt { .. })
    ));
    assert!(matches!(
        Dataset::open_file(&app.join("none.mfs"), &none),
        Err(Error::Io { .. })
    ));
    let cancel = Cancel::new();
    cancel.cancel();
    assert!(matches!(
        Dataset::open_file(&built.path, &Control::cancel(&cancel)),
        Err(Error::Aborted)
    ));
}

fn one_table(
    dir: &Path,
    csv: &[u8],
    configure: impl FnOnce(&mut DatasetOptions),
) -> Result<Dataset, Error> {
    let mut o = opts(dir, &format!("t{}", fastrand::u32(..)), "1", "tok");
    configure(&mut o);
    open_dataset(
        o,
        vec![("t".into(), TableInput::CsvBytes(csv.to_vec()))],
        &Hooks::default(),
    )
    .map(|opened| opened.value)
}

#[test]
fn delimiters_semicolon_tab_and_pipe() {
    let dir = tempfile::tempdir().unwrap();
    for (delimiter, csv) in [
        (b';', &b"k;v\na;\"x;y\"\nb;1;2\n"[..]),
        (b'\t', b"k\tv\na\t\"x\ty\"\nb\t1\t2\n"),
        (b'|', b"k|v\na|\"x|y\"\nb|1|2\n"),
    ] {
        let ds = one_table(dir.path(), csv, |o| o.delimiter = delimiter).unwrap();
        let t = ds.table("t").unwrap();
        assert_eq!(t.columns(), ["k", "v"]);
        let sep = char::from(delimiter);
        assert_eq!(t.get(b"a").unwrap().unwrap(), ["a", &format!("x{sep}y")]);
        // Extra fields are joined back with the delimiter they were split on.
        assert_eq!(t.get(b"b").unwrap().unwrap(), ["b", &format!("1{sep}2")]);
        assert_eq!(ds.report().unwrap().tables[0].long_rows, 1);
    }
    // An unterminated quote is found with any delimiter.
    assert!(matches!(
        one_table(dir.path(), b"k;v\n1;\"abc", |o| o.delimiter = b';'),
        Err(Error::Format { offset: 6, .. })
    ));
    assert!(matches!(
        one_table(dir.path(), b"k:v\n", |o| o.delimiter = b':'),
        Err(Error::InvalidArgument(m)) if m.contains("delimiter")
    ));
    // The delimiter joins the fingerprint: the same bytes read another way are another build.
    let csv = b"k;v\na;1\n";
    let mut a = opts(dir.path(), "d", "1", "tok");
    a.delimiter = b';';
    let mut b = a.clone();
    b.delimiter = b',';
    let table = || vec![("t".to_string(), TableInput::CsvBytes(csv.to_vec()))];
    assert_ne!(
        DatasetPlan::new(a, Some(&table())).unwrap().fingerprint(),
        DatasetPlan::new(b, Some(&table())).unwrap().fingerprint()
    );
}

#[test]
fn a_key_column_of_duplicates_is_reported_loudly() {
    let dir = tempfile::tempdir().unwrap();
    // The first column holds the same version string on every row, as in dalle's files.
    let csv = b"version,word,meaning\nv0.1.0,sun,star\nv0.1.0,moon,satellite\nv0.1.0,sky,air\n";
    let ds = one_table(dir.path(), csv, |_| {}).unwrap();
    let report = ds.report().unwrap();
    let warnings = &report.tables[0].warnings;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("2 of 3 rows"), "{}", warnings[0]);
    assert!(warnings[0].contains("--key") && warnings[0].contains("--version-column version"));
    // The stored report carries it, so a warm open shows it too.
    assert!(ds.report_json().contains("--version-column"));

    let fixed = one_table(dir.path(), csv, |o| {
        o.version = None;
        o.version_column = Some("version".into());
    })
    .unwrap();
    assert!(fixed.report().unwrap().tables[0].warnings.is_empty());
    let keyed = one_table(dir.path(), csv, |o| o.keys = Keys::Column("word".into())).unwrap();
    assert!(keyed.report().unwrap().tables[0].warnings.is_empty());
    // Ordinary duplicates (a minority) are listed, not warned about.
    let few = one_table(dir.path(), b"k\na\na\nb\nc\n", |_| {}).unwrap();
    assert!(few.report().unwrap().tables[0].warnings.is_empty());
}

#[test]
fn names_with_nul_are_refused_at_build() {
    let dir = tempfile::tempdir().unwrap();
    let rows = |columns: &[&str]| TableInput::Rows {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows: vec![vec!["1".into(); columns.len()]],
    };
    let build = |name: &str, input: TableInput| {
        open_dataset(
            opts(dir.path(), "n", "1", "tok"),
            vec![(name.to_string(), input)],
            &Hooks::default(),
        )
    };
    assert!(matches!(
        build("a\0b", rows(&["k"])),
        Err(Error::InvalidArgument(m)) if m.contains("NUL")
    ));
    assert!(matches!(
        build("t", rows(&["k", "v\0w"])),
        Err(Error::Format { .. })
    ));
    assert!(matches!(
        build("t", TableInput::CsvBytes(b"k,v\0w\n1,2\n".to_vec())),
        Err(Error::Format { .. })
    ));
    assert!(snapshots(dir.path()).is_empty());
}

#[test]
fn a_csv_of_100_000_columns_builds_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let columns = 100_000;
    let header: Vec<String> = (0..columns).map(|c| format!("c{c}")).collect();
    let row: Vec<String> = (0..columns).map(|c| c.to_string()).collect();
    let csv = format!("{}\n{}\n", header.join(","), row.join(","));
    let o = opts(dir.path(), "wide", "1", "wide");
    let table = || {
        vec![(
            "t".to_string(),
            TableInput::CsvBytes(csv.clone().into_bytes()),
        )]
    };
    let built = open_dataset(o.clone(), table(), &Hooks::default()).unwrap();
    assert!(!built.loaded);
    let reopened = open_dataset(o, table(), &Hooks::default()).unwrap();
    assert!(reopened.loaded);
    let t = reopened.value.table("t").unwrap();
    assert_eq!(t.columns().len(), columns);
    assert_eq!(t.cell(0, columns - 1).unwrap(), "99999");
    assert_eq!(t.column_index("c99999"), Some(columns - 1));
    assert_eq!(reopened.value.verify_cells().unwrap().cells, columns as u64);
    // A header naming one column twice among them all is still found.
    let dup = format!("{},c5\n", header.join(","));
    assert!(matches!(
        one_table(dir.path(), dup.as_bytes(), |_| {}),
        Err(Error::Format { .. })
    ));
}

#[test]
fn two_hundred_thousand_table_names_are_checked_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut tables: Vec<(String, TableInput)> = (0..200_000)
        .map(|i| (format!("t{i}"), TableInput::CsvBytes(b"k\n".to_vec())))
        .collect();
    assert!(DatasetPlan::new(opts(dir.path(), "many", "1", "tok"), Some(&tables)).is_ok());
    tables.push(("t123".into(), TableInput::CsvBytes(b"k\n".to_vec())));
    assert!(matches!(
        DatasetPlan::new(opts(dir.path(), "many", "1", "tok"), Some(&tables)),
        Err(Error::InvalidArgument(m)) if m.contains("twice")
    ));
}

#[cfg(unix)]
#[test]
fn a_fifo_given_as_a_csv_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("t.csv");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let cache = dir.path().join("cache");
    std::thread::spawn(move || {
        let mut o = DatasetOptions::new(cache, "f");
        o.version = Some("1".into());
        let _ = tx.send(open_dataset(
            o,
            csv_paths(&[("t", fifo)]),
            &Hooks::default(),
        ));
    });
    let result = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("a FIFO among the CSV inputs blocks the build");
    assert!(matches!(result, Err(Error::InvalidArgument(m)) if m.contains("FIFO")));
}

#[test]
fn an_empty_folder_is_an_invalid_argument() {
    let o = opts(Path::new(""), "n", "1", "tok");
    assert!(matches!(
        DatasetPlan::new(o, None),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn loads_and_builds_stop_when_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path(), "c", "1", "tok");
    let tables = || vec![("t".to_string(), TableInput::CsvBytes(b"k\na\n".to_vec()))];
    open_dataset(o.clone(), tables(), &Hooks::default()).unwrap();
    let plan = DatasetPlan::new(o.clone(), Some(&tables())).unwrap();
    assert!(plan.load_with(&Control::default()).unwrap().is_ok());
    let cancel = Cancel::new();
    cancel.cancel();
    assert!(matches!(
        plan.load_with(&Control::cancel(&cancel)),
        Err(Error::Aborted)
    ));
    let hooks = Hooks {
        control: Control::cancel(&cancel),
        ..Hooks::default()
    };
    assert!(matches!(
        open_dataset_with(o, || Ok(tables()), &hooks),
        Err(Error::Aborted)
    ));
}

const TRUNCATE_CHILD_ENV: &str = "MODFORGE_DATASET_TRUNCATE_CHILD";

fn big_rows() -> Vec<(String, TableInput)> {
    let rows = (0..20_000)
        .map(|i| vec![format!("key{i}"), format!("value {i} {}", "x".repeat(40))])
        .collect();
    vec![(
        "t".to_string(),
        TableInput::Rows {
            columns: vec!["k".into(), "v".into()],
            rows,
        },
    )]
}

/// Runs only when re-invoked by `truncating_an_open_dataset_never_kills_the_process`: opens the
/// dataset from disk, truncates its file in place as another program might, reads every row.
#[test]
fn truncate_child() {
    let Some(dir) = std::env::var_os(TRUNCATE_CHILD_ENV) else {
        return;
    };
    let opened = open_dataset(
        opts(Path::new(&dir), "big", "1", "big"),
        big_rows(),
        &Hooks::default(),
    )
    .unwrap();
    assert!(opened.loaded);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&opened.path)
        .unwrap()
        .set_len(0)
        .unwrap();
    let t = opened.value.table("t").unwrap();
    let mut bytes = 0usize;
    for row in 0..t.len() {
        for cell in t.row(row).unwrap() {
            bytes += cell.len();
        }
    }
    assert_eq!(t.get(b"key19999").unwrap().unwrap()[0], "key19999");
    println!("CHILD-BYTES {bytes}");
}

#[test]
fn truncating_an_open_dataset_never_kills_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let built = open_dataset(
        opts(dir.path(), "big", "1", "big"),
        big_rows(),
        &Hooks::default(),
    )
    .unwrap();
    assert!(built.persisted);
    let expected: usize = big_rows()
        .into_iter()
        .flat_map(|(_, input)| match input {
            TableInput::Rows { rows, .. } => rows,
            _ => Vec::new(),
        })
        .flatten()
        .map(|cell| cell.len())
        .sum();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "truncate_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(TRUNCATE_CHILD_ENV, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the reader died ({:?}): {stdout}",
        output.status
    );
    // The reader kept the rows it opened: the old data, whole.
    assert!(
        stdout.contains(&format!("CHILD-BYTES {expected}")),
        "{stdout}"
    );
}
