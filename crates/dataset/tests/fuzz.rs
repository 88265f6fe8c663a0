//! Structure-aware fuzzing of the `modforge.dataset@1` payload (docs/store.md, "Datasets") with
//! modforge-fuzzkit: real payloads have their fields (counts, offsets, lengths, key columns, index
//! slots), names, cell text and report mutated, are resealed with correct checksums, then opened,
//! inspected and verified through the payload plug-in, and every cell and key is read.
//!
//! For every case: a value or an error of the `corrupt` category (never a panic, never another
//! category); open and verify agree (verify never passes what open refuses, and what verify passes
//! serves every cell and key); peak allocation and work stay within a fixed multiple of the file.

mod common;

use std::path::PathBuf;

use common::{opts, reseal};
use modforge_core::Control;
use modforge_dataset::{DATASET_KIND, Dataset, DatasetPayload, DatasetPlan, TableInput};
use modforge_fuzzkit::{Field, Limits, Outcome, Region, Role, Runner, Seed, Shape, Width};
use modforge_gen::SplitMix64;
use modforge_store::{Error, Expect, Fingerprint, Hooks, PayloadKind, Snapshot};

#[global_allocator]
static ALLOCATOR: modforge_fuzzkit::CountingAllocator = modforge_fuzzkit::CountingAllocator;

/// Peak heap bytes a case may hold, per byte of its file (plus a fixed 64 KiB).
const ALLOC_MULTIPLE: f64 = 12.0;
/// Work units a case may do, per byte of its file (plus a fixed 4 Ki units).
const WORK_MULTIPLE: f64 = 8.0;

const P: usize = 192;

fn u32_at(image: &[u8], at: usize) -> usize {
    image
        .get(at..at + 4)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

fn u64_at(image: &[u8], at: usize) -> usize {
    image.get(at..at + 8).map_or(0, |b| {
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        u64::from_le_bytes(a) as usize
    })
}

/// Where a valid dataset image keeps its fields and regions, from its own layout.
fn shape_of(image: &[u8]) -> Shape {
    let mut shape = Shape::default().protect(P);
    let mut field = |name: String, at: usize, width: Width, role: Role| {
        shape.fields.push(Field::new(name, P + at, width, role));
    };
    field("tableCount".into(), 0, Width::U32, Role::Count);
    field("flags".into(), 4, Width::U32, Role::Flags);
    field("namesOff".into(), 8, Width::U64, Role::Offset);
    field("namesLen".into(), 16, Width::U64, Role::Length);
    field("tablesOff".into(), 24, Width::U64, Role::Offset);
    field("reportOff".into(), 32, Width::U64, Role::Offset);
    field("reportLen".into(), 40, Width::U64, Role::Length);
    let tables = u32_at(image, P);
    let tables_off = u64_at(image, P + 24);
    let mut regions = Vec::new();
    for t in 0..tables {
        let at = tables_off + 48 * t;
        let name = |f: &str| format!("tables[{t}].{f}");
        field(name("nameOff"), at, Width::U32, Role::Offset);
        field(name("nameLen"), at + 4, Width::U32, Role::Length);
        field(name("rows"), at + 8, Width::U32, Role::Count);
        field(name("columns"), at + 12, Width::U32, Role::Count);
        field(name("keyColumn"), at + 16, Width::U32, Role::Index);
        field(name("indexSlots"), at + 20, Width::U32, Role::Count);
        field(name("columnsOff"), at + 24, Width::U64, Role::Offset);
        field(name("indexOff"), at + 32, Width::U64, Role::Offset);
        field(name("reserved"), at + 40, Width::U64, Role::Flags);
        let rows = u32_at(image, P + at + 8);
        let columns = u32_at(image, P + at + 12);
        let slots = u32_at(image, P + at + 20);
        let columns_off = u64_at(image, P + at + 24);
        let index_off = u64_at(image, P + at + 32);
        for c in 0..columns {
            let at = columns_off + 32 * c;
            let name = |f: &str| format!("tables[{t}].columns[{c}].{f}");
            field(name("nameOff"), at, Width::U32, Role::Offset);
            field(name("nameLen"), at + 4, Width::U32, Role::Length);
            field(name("offsetsOff"), at + 8, Width::U64, Role::Offset);
            field(name("blobOff"), at + 16, Width::U64, Role::Offset);
            field(name("blobLen"), at + 24, Width::U64, Role::Length);
            let offsets_off = u64_at(image, P + at + 8);
            for r in 0..=rows {
                field(
                    name(&format!("offsets[{r}]")),
                    offsets_off + 4 * r,
                    Width::U32,
                    Role::Offset,
                );
            }
            let (blob_off, blob_len) = (u64_at(image, P + at + 16), u64_at(image, P + at + 24));
            regions.push(Region::new(name("text"), P + blob_off, blob_len, true));
        }
        for s in 0..slots {
            field(
                format!("tables[{t}].index[{s}]"),
                index_off + 4 * s,
                Width::U32,
                Role::Index,
            );
        }
    }
    let (names_off, names_len) = (u64_at(image, P + 8), u64_at(image, P + 16));
    let (report_off, report_len) = (u64_at(image, P + 32), u64_at(image, P + 40));
    shape.regions.extend(regions);
    shape
        .region(Region::new("names", P + names_off, names_len, true))
        .region(Region::new("report", P + report_off, report_len, true))
}

/// A valid dataset image built by the real encoder, with what it expects of a header.
struct Built {
    image: Vec<u8>,
    fingerprint: Fingerprint,
}

fn build(name: &str, tables: Vec<(String, TableInput)>) -> Built {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path(), name, "1", "fuzz");
    let plan = DatasetPlan::new(o, Some(&tables)).unwrap();
    let opened = plan.build(tables, None, &Hooks::default()).unwrap();
    Built {
        image: std::fs::read(&opened.path).unwrap(),
        fingerprint: *plan.fingerprint(),
    }
}

fn rows(columns: &[&str], rows: &[&[&str]]) -> TableInput {
    TableInput::Rows {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows: rows
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect(),
    }
}

/// Seeds of several shapes: small tables, an empty table, duplicates and empty keys, ragged
/// rows, non-ASCII text, `__proto__`, quoted CSV, a wider table.
fn seeds() -> (Vec<Seed>, Vec<Fingerprint>) {
    let medium: Vec<Vec<String>> = (0..400)
        .map(|r| {
            vec![
                format!("word{}", r * 7919 % 1000),
                format!("a longer description of entry {r}"),
                (r % 13).to_string(),
            ]
        })
        .collect();
    let wide: Vec<String> = (0..12).map(|c| format!("col{c}")).collect();
    let wide_rows: Vec<Vec<String>> = (0..16)
        .map(|r| (0..12).map(|c| format!("{r}.{c}")).collect())
        .collect();
    let built = [
        build(
            "small",
            vec![
                (
                    "a".into(),
                    rows(
                        &["k", "v"],
                        &[&["alpha", "1"], &["beta", "2"], &["gamma", "3"]],
                    ),
                ),
                ("b".into(), rows(&["x"], &[&["p"], &["q"]])),
            ],
        ),
        build(
            "edges",
            vec![
                ("empty".into(), rows(&["k", "v"], &[])),
                (
                    "dups".into(),
                    rows(
                        &["key", "n"],
                        &[
                            &["a", "1"],
                            &["", "2"],
                            &["a", "3"],
                            &["b", "4"],
                            &["", "5"],
                        ],
                    ),
                ),
                (
                    "text".into(),
                    rows(&["__proto__", "é"], &[&["ünï", "日本"], &["x", ""]]),
                ),
            ],
        ),
        build(
            "csv",
            vec![(
                "c".into(),
                TableInput::CsvBytes(
                    b"\xEF\xBB\xBFk,v\r\n1,\"x,y\"\r\n2,\"say \"\"hi\"\"\"\r\n3,a\nb,4,5\n6\n"
                        .to_vec(),
                ),
            )],
        ),
        build(
            "wide",
            vec![(
                "w".into(),
                TableInput::Rows {
                    columns: wide,
                    rows: wide_rows,
                },
            )],
        ),
        build(
            "medium",
            vec![
                (
                    "m".into(),
                    TableInput::Rows {
                        columns: vec!["word".into(), "description".into(), "group".into()],
                        rows: medium,
                    },
                ),
                ("tiny".into(), rows(&["k"], &[&["x"]])),
            ],
        ),
    ];
    let seeds = built
        .iter()
        .zip(["small", "edges", "csv", "wide", "medium"])
        .map(|(b, name)| Seed::new(name, b.image.clone(), shape_of(&b.image)))
        .collect();
    (seeds, built.iter().map(|b| b.fingerprint).collect())
}

/// Replaces the report with a variant of its JSON: types changed, fields dropped or renamed,
/// numbers out of range, deep nesting, strings with escapes and lone surrogates.
fn mutate_report(image: &mut Vec<u8>, rng: &mut SplitMix64) {
    let (off, len) = (u64_at(image, P + 32), u64_at(image, P + 40));
    let Some(start) = off.checked_add(P) else {
        return;
    };
    let Some(end) = start.checked_add(len) else {
        return;
    };
    let Some(report) = image.get(start..end) else {
        return;
    };
    let mut text = String::from_utf8_lossy(report).into_owned();
    let edits: [(&str, &str); 10] = [
        ("\"rows\":", "\"rows\":-"),
        ("\"tables\":[", "\"tables\":[[],"),
        ("\"name\":", "\"nam\":"),
        (":0", ":\"0\""),
        (":false", ":null"),
        (
            "[]",
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
        ),
        ("\"a\"", "\"\\ud800\""),
        (":1", ":4294967296"),
        ("}", ",\"extra\":{\"x\":[1,2,3]}}"),
        ("\"", "\\\""),
    ];
    let (from, to) = edits[rng.below(edits.len() as u64) as usize];
    if rng.chance(0.5) {
        text = text.replacen(from, to, 1);
    } else {
        text = text.replace(from, to);
    }
    let new = text.into_bytes();
    image.splice(start..end, new.iter().copied());
    let delta = new.len() as i64 - len as i64;
    // Keep the header's report length consistent, so the change reaches the report parser.
    let new_len = (len as i64 + delta).max(0) as u64;
    if let Some(field) = image.get_mut(P + 40..P + 48) {
        field.copy_from_slice(&new_len.to_le_bytes());
    }
}

/// One mutant: open, inspect and verify through the plug-in, read every cell and some keys.
fn check_case(image: &[u8], fingerprints: &[Fingerprint]) -> Result<(Outcome, u64), String> {
    // Seeds differ in their fingerprint; accept whichever header this image carries.
    let header = modforge_store::Header::decode(image).ok_or("image lost its header")?;
    let fingerprint = fingerprints
        .iter()
        .find(|f| header.fingerprint().as_ref() == Some(*f))
        .ok_or("image lost its fingerprint")?;
    let expect = Expect {
        kind: DATASET_KIND,
        version: Some("1"),
        fingerprint,
    };
    let snapshot =
        match Snapshot::from_image_expect(PathBuf::from("fuzz.mfs"), image.to_vec(), &expect) {
            Ok(snapshot) => snapshot,
            Err(reason) => return Ok((Outcome::Rejected(reason.code.as_str()), 1)),
        };
    let examined = DatasetPayload
        .examine(&snapshot, true, &Control::default())
        .map_err(|e| format!("examine failed instead of reporting a check: {e}"))?;
    let structure_ok = examined.checks.first().is_some_and(|c| c.result.is_ok());
    let verified = examined.checks.iter().all(|c| c.result.is_ok());
    let dataset = match Dataset::from_snapshot(snapshot) {
        Ok(dataset) => dataset,
        Err(reason) => {
            if structure_ok {
                return Err(format!("open refused ({reason}) what inspect accepted"));
            }
            if reason.code.as_str() != "corrupt" {
                return Err(format!("open refused with {reason}, not corrupt"));
            }
            return Ok((Outcome::Rejected("corrupt"), 1));
        }
    };
    if !structure_ok {
        return Err("inspect refused what open accepted".into());
    }
    dataset
        .report()
        .map_err(|e| format!("the report failed after a successful open: {e}"))?;
    let counts = dataset.verify_cells();
    if counts.is_ok() != verified {
        return Err("verify_cells and the plug-in's verify disagree".into());
    }
    let mut work = 1 + counts.as_ref().map_or(0, |c| c.steps);
    let corrupt_only = |e: Error, what: &str| match e {
        Error::Corrupt { .. } if !verified => Ok(()),
        other => Err(format!("{what}: {other} (verified: {verified})")),
    };
    for table in dataset.tables() {
        work += 1 + table.columns().len() as u64;
        for row in 0..table.len() {
            for col in 0..table.columns().len() {
                work += 1;
                match table.cell(row, col) {
                    Ok(cell) => work += cell.len() as u64,
                    Err(e) => corrupt_only(e, "cell")?,
                }
            }
        }
        // The run of bytes the JavaScript facade decodes rows from: checked like verify.
        match table.cell_section(&Control::default()) {
            Ok(section) => {
                work += section.bytes.len() as u64 / 4;
                if section.columns.len() != table.columns().len() {
                    return Err("a cell section lost columns".into());
                }
            }
            Err(e) => corrupt_only(e, "cell section")?,
        }
        let Some(key_col) = table.key_column() else {
            continue;
        };
        for row in 0..table.len().min(16) {
            let Ok(key) = table.cell(row, key_col) else {
                continue;
            };
            work += 1 + key.len() as u64;
            match table.lookup(key.as_bytes()) {
                Ok(Some(found)) if verified => {
                    if found > row || table.cell(found, key_col).ok() != Some(key) {
                        return Err(format!("key of row {row} found at row {found}"));
                    }
                }
                Ok(None) if verified && !key.is_empty() => {
                    return Err(format!("key of row {row} not found after verify passed"));
                }
                Ok(_) => {}
                Err(e) => corrupt_only(e, "lookup")?,
            }
        }
        match table.lookup(b"\xFFno such key") {
            Ok(None) => {}
            Ok(Some(row)) => return Err(format!("a key that is not there found row {row}")),
            Err(e) => corrupt_only(e, "lookup of a missing key")?,
        }
    }
    Ok((
        if verified {
            Outcome::Accepted
        } else {
            Outcome::Rejected("corrupt on verify")
        },
        work,
    ))
}

fn runner(seed: u64, cases: u64) -> Runner {
    Runner::new(seed, cases)
        .max_mutations(4)
        .limits(Limits {
            alloc_multiple: ALLOC_MULTIPLE,
            alloc_slack: 64 << 10,
            work_multiple: WORK_MULTIPLE,
            work_slack: 4 << 10,
        })
        .custom("report json", mutate_report)
}

/// 100,000 cases, always on.
#[test]
fn mutated_payloads_open_verify_and_read_within_bounds() {
    let (seeds, fingerprints) = seeds();
    let report = runner(0x5eed_da7a, 100_000).run(
        &seeds,
        |image| reseal(image),
        |image| check_case(image, &fingerprints),
    );
    println!("dataset payload fuzz: {report}");
    report.assert_clean();
    assert_eq!(report.cases, 100_000);
    // Both sides are exercised: mutants that still open and read, and mutants refused.
    assert!(report.accepted > 1_000, "{report}");
    assert!(
        report.rejected.get("corrupt").copied().unwrap_or(0) > 10_000,
        "{report}"
    );
    assert!(report.allocation_measured);
}

/// A sample of the same cases through real files: `store::verify` (container and payload) and
/// `Dataset::open_file` agree with each other.
#[test]
fn mutated_files_verify_like_they_open() {
    let (seeds, fingerprints) = seeds();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.mfs");
    let none = Control::default();
    let report = runner(0xf11e, 2_000).run(
        &seeds,
        |image| reseal(image),
        |image| {
            std::fs::write(&path, image).map_err(|e| e.to_string())?;
            let verified = modforge_store::verify(&path, &[&DatasetPayload], &none)
                .map_err(|e| format!("verify errored: {e}"))?;
            let structure_ok = verified
                .checks
                .iter()
                .take_while(|c| c.name != "cells")
                .all(|c| c.result.is_ok());
            match (Dataset::open_file(&path, &none), structure_ok) {
                (Ok(_), true) => {}
                (Err(Error::Corrupt { .. } | Error::Format { .. }), false) => {}
                (opened, _) => {
                    return Err(format!(
                        "open_file {:?} but verify checks {:?}",
                        opened.map(|_| ()),
                        verified.checks
                    ));
                }
            }
            check_case(image, &fingerprints)
        },
    );
    println!("dataset files fuzz: {report}");
    report.assert_clean();
}
