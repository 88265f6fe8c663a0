//! Datasets: column shapes, rows input, keys, versions, rebuild triggers, determinism, progress
//! and cancellation.

mod common;

use modforge_core::Stage;
use std::collections::BTreeMap;
use std::sync::Mutex;

use common::{inputs, leftovers, opts, snapshots};
use modforge_dataset::{
    DATASET_KIND, DatasetOptions, DatasetPlan, Keys, TableInput, open_dataset, open_dataset_with,
};
use modforge_gen::dataset::{Scale, dalle};
use modforge_store::{Error, FileMode, Hooks, ReasonCode, Source};

fn rows_input(columns: &[&str], rows: &[&[&str]]) -> TableInput {
    TableInput::Rows {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows: rows
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect(),
    }
}

#[test]
fn every_column_shape_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let long = "ä€😀 long text ".repeat(5000);
    let tables = vec![
        (
            "single".to_string(),
            rows_input(&["k"], &[&["a"], &["b"], &["c"]]),
        ),
        ("empty".to_string(), rows_input(&["k", "v"], &[])),
        (
            "cells".to_string(),
            rows_input(
                &["k", "v", "w"],
                &[&["", "", ""], &["x", "", "ü"], &["y", &long, "z"]],
            ),
        ),
        (
            "wide".to_string(),
            TableInput::Rows {
                columns: (0..300).map(|i| format!("c{i}")).collect(),
                rows: (0..20)
                    .map(|r| (0..300).map(|c| format!("{r}.{c}")).collect())
                    .collect(),
            },
        ),
        (
            "csv".to_string(),
            TableInput::CsvBytes(b"id,text\n1,\"multi\nline\"\n2,plain\n".to_vec()),
        ),
    ];
    let opened = open_dataset(
        opts(dir.path(), "shapes", "3", "s1"),
        tables.clone(),
        &Hooks::default(),
    )
    .unwrap();
    assert!(!opened.loaded && opened.persisted);
    let loaded = open_dataset(
        opts(dir.path(), "shapes", "3", "s1"),
        tables,
        &Hooks::default(),
    )
    .unwrap();
    assert!(loaded.loaded);
    for ds in [&opened.value, &loaded.value] {
        assert_eq!(ds.version(), "3");
        assert_eq!(
            ds.table_names(),
            ["single", "empty", "cells", "wide", "csv"]
        );
        let single = ds.table("single").unwrap();
        assert_eq!(
            (single.len(), single.columns(), single.key_column()),
            (3, &["k".to_string()][..], Some(0))
        );
        assert_eq!(single.column_values(0).unwrap(), ["a", "b", "c"]);
        assert_eq!(single.lookup(b"c").unwrap(), Some(2));
        assert_eq!(single.lookup(b"zz").unwrap(), None);
        let empty = ds.table("empty").unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.lookup(b"a").unwrap(), None);
        assert!(matches!(empty.row(0), Err(Error::InvalidArgument(_))));
        let cells = ds.table("cells").unwrap();
        assert_eq!(cells.row(0).unwrap(), ["", "", ""]);
        assert_eq!(cells.row(1).unwrap(), ["x", "", "ü"]);
        assert_eq!(cells.cell(2, 1).unwrap(), long);
        assert_eq!(cells.get(b"y").unwrap().unwrap()[2], "z");
        assert!(matches!(cells.cell(0, 3), Err(Error::InvalidArgument(_))));
        let wide = ds.table("wide").unwrap();
        assert_eq!(wide.columns().len(), 300);
        assert_eq!(wide.cell(19, 299).unwrap(), "19.299");
        assert_eq!(wide.get(b"7.0").unwrap().unwrap()[150], "7.150");
        let csv = ds.table("csv").unwrap();
        assert_eq!(csv.get(b"1").unwrap().unwrap(), ["1", "multi\nline"]);
        assert!(ds.table("nope").is_none());
        let counts = ds.verify_cells().unwrap();
        assert_eq!(counts.tables, 5);
        assert_eq!(counts.cells, 3 + 9 + 6000 + 4);
    }
    // Small snapshot files are read into memory, not mapped (docs/store.md, "Reading files").
    assert!(!loaded.value.snapshot().is_mapped());
    assert!(!opened.value.snapshot().is_mapped());
}

#[test]
fn key_options() {
    let dir = tempfile::tempdir().unwrap();
    let tables = || {
        vec![
            (
                "a".to_string(),
                rows_input(&["id", "name"], &[&["1", "x"], &["2", "y"]]),
            ),
            ("b".to_string(), rows_input(&["name", "id"], &[&["p", "9"]])),
        ]
    };
    let mut o = opts(dir.path(), "keys", "1", "k");
    o.keys = Keys::Column("name".into());
    let ds = open_dataset(o, tables(), &Hooks::default()).unwrap().value;
    assert_eq!(ds.table("a").unwrap().lookup(b"y").unwrap(), Some(1));
    assert_eq!(ds.table("b").unwrap().key_column(), Some(0));
    let mut o = opts(dir.path(), "keys", "1", "k");
    o.keys = Keys::PerTable(BTreeMap::from([("b".to_string(), "id".to_string())]));
    let opened = open_dataset(o, tables(), &Hooks::default()).unwrap();
    assert_eq!(
        opened.rejected.unwrap().code,
        ReasonCode::Stale,
        "the key option is part of the fingerprint"
    );
    let ds = opened.value;
    assert_eq!(ds.table("a").unwrap().lookup(b"2").unwrap(), Some(1));
    assert_eq!(ds.table("b").unwrap().lookup(b"9").unwrap(), Some(0));
    assert_eq!(ds.report().unwrap().tables[1].key.as_deref(), Some("id"));
    let mut o = opts(dir.path(), "keys", "1", "k");
    o.keys = Keys::Column("missing".into());
    assert!(matches!(
        open_dataset(o, tables(), &Hooks::default()),
        Err(Error::InvalidArgument(_))
    ));
    let mut o = opts(dir.path(), "keys", "1", "k");
    o.keys = Keys::PerTable(BTreeMap::from([("zz".to_string(), "id".to_string())]));
    assert!(matches!(
        open_dataset(o, tables(), &Hooks::default()),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn argument_errors() {
    let dir = tempfile::tempdir().unwrap();
    let t = || vec![("t".to_string(), rows_input(&["k"], &[&["a"]]))];
    let mut o = opts(dir.path(), "x", "1", "k");
    o.version = None;
    assert!(matches!(
        open_dataset(o, t(), &Hooks::default()),
        Err(Error::InvalidArgument(_))
    ));
    let mut o = opts(dir.path(), "x", "1", "k");
    o.source = None;
    assert!(matches!(
        open_dataset(o, t(), &Hooks::default()),
        Err(Error::InvalidArgument(_))
    ));
    let twice = vec![
        ("t".to_string(), rows_input(&["k"], &[])),
        ("t".to_string(), rows_input(&["k"], &[])),
    ];
    assert!(matches!(
        open_dataset(opts(dir.path(), "x", "1", "k"), twice, &Hooks::default()),
        Err(Error::InvalidArgument(_))
    ));
    let no_columns = vec![("t".to_string(), rows_input(&[], &[]))];
    assert!(matches!(
        open_dataset(
            opts(dir.path(), "x", "1", "k"),
            no_columns,
            &Hooks::default()
        ),
        Err(Error::InvalidArgument(_))
    ));
    let dup_columns = vec![("t".to_string(), rows_input(&["k", "k"], &[]))];
    assert!(matches!(
        open_dataset(
            opts(dir.path(), "x", "1", "k"),
            dup_columns,
            &Hooks::default()
        ),
        Err(Error::Format { .. })
    ));
    let mut o = DatasetOptions::new(dir.path(), "x");
    o.version_column = Some("version".into());
    assert!(matches!(
        open_dataset_with(o, || Ok(t()), &Hooks::default()),
        Err(Error::InvalidArgument(_))
    ));
    let missing = vec![(
        "t".to_string(),
        TableInput::CsvPath(dir.path().join("absent.csv")),
    )];
    let mut o = DatasetOptions::new(dir.path(), "x");
    o.version = Some("1".into());
    assert!(matches!(
        open_dataset(o, missing, &Hooks::default()),
        Err(Error::Io { op: "open", .. })
    ));
}

#[test]
fn csv_files_are_the_default_source_and_changes_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, "k,v\na,1\n").unwrap();
    let open = || {
        let mut o = DatasetOptions::new(dir.path().join("cache"), "d");
        o.version = Some("1".into());
        open_dataset(
            o,
            vec![("t".into(), TableInput::CsvPath(csv.clone()))],
            &Hooks::default(),
        )
        .unwrap()
    };
    assert!(!open().loaded);
    assert!(open().loaded);
    std::fs::write(&csv, "k,v\na,2\n").unwrap();
    let rebuilt = open();
    assert_eq!(rebuilt.rejected.unwrap().code, ReasonCode::Stale);
    assert_eq!(
        rebuilt
            .value
            .table("t")
            .unwrap()
            .get(b"a")
            .unwrap()
            .unwrap(),
        ["a", "2"]
    );
    assert!(open().loaded);
    // Stat mode as an explicit source.
    let mut o = DatasetOptions::new(dir.path().join("cache"), "d");
    o.version = Some("1".into());
    o.source = Some(Source::Files {
        paths: vec![csv.clone()],
        mode: FileMode::Stat,
    });
    let stat = open_dataset(
        o,
        vec![("t".into(), TableInput::CsvPath(csv.clone()))],
        &Hooks::default(),
    )
    .unwrap();
    assert_eq!(stat.rejected.unwrap().code, ReasonCode::Stale);
}

#[test]
fn version_column_flow() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    let write = |v: &str| {
        std::fs::write(
            &a,
            format!("version,word,definition\n{v},alpha,first\n{v},beta,second\n"),
        )
        .unwrap();
        std::fs::write(&b, format!("version,name\n{v},x\n")).unwrap();
    };
    let open = || {
        let mut o = DatasetOptions::new(&cache, "dalle");
        o.version_column = Some("version".into());
        open_dataset(
            o,
            vec![
                ("a".into(), TableInput::CsvPath(a.clone())),
                ("b".into(), TableInput::CsvPath(b.clone())),
            ],
            &Hooks::default(),
        )
        .unwrap()
    };
    write("v0.1.0");
    let first = open();
    assert!(!first.loaded);
    assert_eq!(first.rejected.unwrap().code, ReasonCode::Missing);
    assert_eq!(first.value.version(), "v0.1.0");
    let t = first.value.table("a").unwrap();
    assert_eq!(t.columns(), ["word", "definition"]);
    assert_eq!(t.get(b"beta").unwrap().unwrap(), ["beta", "second"]);
    assert_eq!(snapshots(&cache), ["dalle_v0.1.0.mfs"]);
    let warm = open();
    assert!(warm.loaded);
    assert_eq!(warm.value.version(), "v0.1.0");

    // Mapped files cannot be removed on Windows while open: release them first.
    drop((first.value, warm.value, t));
    write("v0.2.0");
    let bumped = open();
    assert!(!bumped.loaded);
    assert_eq!(bumped.rejected.unwrap().code, ReasonCode::Stale);
    assert_eq!(bumped.value.version(), "v0.2.0");
    assert_eq!(
        bumped.value.table("a").unwrap().lookup(b"alpha").unwrap(),
        Some(0)
    );
    assert_eq!(
        snapshots(&cache),
        ["dalle_v0.2.0.mfs"],
        "the old version is removed"
    );
    assert!(open().loaded);

    // Both the option and the column: they must agree.
    let mut o = DatasetOptions::new(&cache, "dalle");
    o.version_column = Some("version".into());
    o.version = Some("v9".into());
    let err = open_dataset(
        o,
        vec![("a".into(), TableInput::CsvPath(a.clone()))],
        &Hooks::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Format { .. }), "{err:?}");
    let mut o = DatasetOptions::new(&cache, "dalle");
    o.version_column = Some("version".into());
    o.version = Some("v0.2.0".into());
    let agreed = open_dataset(
        o,
        vec![
            ("a".into(), TableInput::CsvPath(a.clone())),
            ("b".into(), TableInput::CsvPath(b.clone())),
        ],
        &Hooks::default(),
    )
    .unwrap();
    assert!(agreed.loaded);
    // A table without the version column.
    std::fs::write(&b, "name\nx\n").unwrap();
    let mut o = DatasetOptions::new(&cache, "dalle");
    o.version_column = Some("version".into());
    let err = open_dataset(
        o,
        vec![("b".into(), TableInput::CsvPath(b.clone()))],
        &Hooks::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Format { expected, .. } if expected.contains("version column")),
        "{err:?}"
    );
}

#[test]
fn version_option_bump_removes_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let t = || vec![("t".to_string(), rows_input(&["k"], &[&["a"]]))];
    open_dataset(opts(dir.path(), "d", "1", "k"), t(), &Hooks::default()).unwrap();
    let bumped = open_dataset(opts(dir.path(), "d", "2", "k"), t(), &Hooks::default()).unwrap();
    assert_eq!(bumped.rejected.unwrap().code, ReasonCode::Missing);
    assert_eq!(snapshots(dir.path()), ["d_2.mfs"]);
}

#[test]
fn a_blob_under_the_dataset_name_is_kind() {
    let dir = tempfile::tempdir().unwrap();
    let t = || vec![("t".to_string(), rows_input(&["k"], &[&["a"]]))];
    let id = modforge_store::SnapshotId::blob(dir.path(), "d", "1").unwrap();
    let plan = DatasetPlan::new(opts(dir.path(), "d", "1", "k"), Some(&t())).unwrap();
    modforge_store::write(&id, plan.fingerprint(), b"not a dataset", &Hooks::default()).unwrap();
    let reason = plan.load().unwrap_err();
    assert_eq!(reason.code, ReasonCode::Kind);
    let opened = plan.build(t(), Some(reason), &Hooks::default()).unwrap();
    assert_eq!(opened.rejected.unwrap().code, ReasonCode::Kind);
    assert_eq!(plan.load().unwrap().snapshot().header().kind, DATASET_KIND);
}

#[test]
fn lazy_tables_run_only_when_needed() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Mutex::new(0);
    let open = || {
        let mut o = DatasetOptions::new(dir.path(), "lazy");
        o.version = Some("1".into());
        o.source = Some(Source::Token("build-42".into()));
        open_dataset_with(
            o,
            || {
                *calls.lock().unwrap() += 1;
                Ok(vec![(
                    "t".to_string(),
                    rows_input(&["k", "v"], &[&["a", "1"]]),
                )])
            },
            &Hooks::default(),
        )
        .unwrap()
    };
    assert!(!open().loaded);
    let warm = open();
    assert!(warm.loaded);
    assert_eq!(*calls.lock().unwrap(), 1);
    assert_eq!(
        warm.value.table("t").unwrap().get(b"a").unwrap().unwrap(),
        ["a", "1"]
    );
}

#[test]
fn builds_are_deterministic() {
    let gen_dir = tempfile::tempdir().unwrap();
    let set = dalle(gen_dir.path(), 3, Scale::Dalle).unwrap();
    let mut images = Vec::new();
    for created in [1u64, 2] {
        let dir = tempfile::tempdir().unwrap();
        let mut o = DatasetOptions::new(dir.path(), "dalle");
        o.version_column = Some("version".into());
        let hooks = Hooks {
            created_ns: Some(created),
            ..Hooks::default()
        };
        let opened = open_dataset(o, inputs(&set), &hooks).unwrap();
        images.push((
            std::fs::read(&opened.path).unwrap(),
            opened.value.snapshot().header().payload_checksum,
        ));
    }
    assert_eq!(images[0].0[192..], images[1].0[192..]);
    assert_eq!(images[0].1, images[1].1);
    assert_ne!(
        images[0].0[176..184],
        images[1].0[176..184],
        "only `created` differs"
    );
}

#[test]
fn progress_and_cancel() {
    let gen_dir = tempfile::tempdir().unwrap();
    let set = dalle(gen_dir.path(), 5, Scale::Dalle).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let events = Mutex::new(Vec::new());
    let progress = |p: &modforge_core::Progress<'_>| {
        events.lock().unwrap().push((
            p.stage,
            p.done,
            p.total.unwrap_or(0),
            Some(p.current.to_string()).filter(|c| !c.is_empty()),
        ));
    };
    let mut o = DatasetOptions::new(dir.path(), "p");
    o.version_column = Some("version".into());
    let hooks = Hooks {
        control: modforge_core::Control {
            cancel: None,
            progress: Some(&progress),
        },
        ..Hooks::default()
    };
    let opened = open_dataset(o.clone(), inputs(&set), &hooks).unwrap();
    let events = events.into_inner().unwrap();
    // Every stage counts in its documented unit against a total known from its first event, and
    // its last event reaches that total: parse and build in rows, write in bytes of the file.
    let rows = set.rows();
    for (stage, total) in [
        (Stage::Parse, rows),
        (Stage::Build, rows),
        (Stage::Write, std::fs::metadata(&opened.path).unwrap().len()),
    ] {
        let of: Vec<_> = events.iter().filter(|e| e.0 == stage).collect();
        assert!(!of.is_empty(), "{stage}");
        assert!(
            of.iter().all(|e| e.2 == total && e.1 <= e.2),
            "{stage}: {of:?}"
        );
        assert!(of.windows(2).all(|w| w[0].1 <= w[1].1), "{stage}");
        assert_eq!(of.last().unwrap().1, total, "{stage}");
    }
    let parse: Vec<_> = events.iter().filter(|e| e.0 == Stage::Parse).collect();
    assert!(parse.iter().any(|e| e.3.as_deref() == Some("adverbs")));

    // Cancelled mid-parse: an abort, no snapshot and no temp file.
    let other = tempfile::tempdir().unwrap();
    let cancel = modforge_core::Cancel::new();
    let stop = |p: &modforge_core::Progress<'_>| {
        if p.stage == Stage::Parse && p.done > 5_000 {
            cancel.cancel();
        }
    };
    let mut o2 = o.clone();
    o2.dir = other.path().to_path_buf();
    let hooks = Hooks {
        control: modforge_core::Control {
            cancel: Some(&cancel),
            progress: Some(&stop),
        },
        ..Hooks::default()
    };
    assert!(matches!(
        open_dataset(o2, inputs(&set), &hooks),
        Err(Error::Aborted)
    ));
    assert!(snapshots(other.path()).is_empty() && leftovers(other.path()).is_empty());
}

#[test]
fn persist_failure_still_returns_the_dataset() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), b"").unwrap();
    let o = opts(&dir.path().join("file").join("cache"), "d", "1", "k");
    let opened = open_dataset(
        o,
        vec![("t".to_string(), rows_input(&["k"], &[&["a"]]))],
        &Hooks::default(),
    )
    .unwrap();
    assert!(!opened.persisted);
    assert_eq!(
        opened.persist_error.unwrap().raw_os_error(),
        Some(libc::ENOTDIR)
    );
    assert_eq!(
        opened.value.table("t").unwrap().lookup(b"a").unwrap(),
        Some(0)
    );
}

#[test]
fn datasets_are_shared_across_threads() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Vec<String>> = (0..5000)
        .map(|i| vec![format!("key{i}"), format!("value {i}")])
        .collect();
    let ds = open_dataset(
        opts(dir.path(), "mt", "1", "k"),
        vec![(
            "t".to_string(),
            TableInput::Rows {
                columns: vec!["k".into(), "v".into()],
                rows,
            },
        )],
        &Hooks::default(),
    )
    .unwrap()
    .value;
    let table = ds.table("t").unwrap();
    drop(ds);
    std::thread::scope(|s| {
        for part in 0..4 {
            let t = table.clone();
            s.spawn(move || {
                for i in (part..5000).step_by(4) {
                    let row = t.lookup(format!("key{i}").as_bytes()).unwrap().unwrap();
                    assert_eq!(t.cell(row, 1).unwrap(), format!("value {i}"));
                }
            });
        }
    });
}

#[test]
fn cell_sections_give_every_cell_from_one_run_of_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let tables = vec![
        (
            "t".to_string(),
            TableInput::Rows {
                columns: vec!["k".into(), "v".into(), "w".into()],
                rows: vec![
                    vec!["a".into(), "é".into(), "".into()],
                    vec!["bb".into(), "x".into(), "long text".into()],
                ],
            },
        ),
        (
            "empty".to_string(),
            TableInput::Rows {
                columns: vec!["k".into()],
                rows: vec![],
            },
        ),
    ];
    let opened = open_dataset(opts(dir.path(), "s", "1", "s"), tables, &Hooks::default()).unwrap();
    let t = opened.value.table("t").unwrap();
    let section = t.cell_section(&modforge_core::Control::default()).unwrap();
    assert_eq!(section.columns.len(), 3);
    assert!(section.columns.iter().all(|c| c.offsets % 4 == 0));
    assert_eq!(
        section.columns.iter().map(|c| c.ascii).collect::<Vec<_>>(),
        [true, false, true]
    );
    let cell = |r: usize, c: usize| {
        let col = section.columns[c];
        let at = |i: usize| {
            let o = col.offsets + 4 * i;
            u32::from_le_bytes(section.bytes[o..o + 4].try_into().unwrap()) as usize
        };
        std::str::from_utf8(&section.bytes[col.text + at(r)..col.text + at(r + 1)]).unwrap()
    };
    for r in 0..2 {
        for c in 0..3 {
            assert_eq!(cell(r, c), t.cell(r as u32, c).unwrap());
        }
    }
    let empty = opened.value.table("empty").unwrap();
    let section = empty
        .cell_section(&modforge_core::Control::default())
        .unwrap();
    assert_eq!(section.columns.len(), 1);
    assert_eq!(section.bytes.len(), 8, "one offset, padded");
}
