//! `inspect`, `verify` and `verify_all` of the store with the dataset plug-in.

mod common;

use common::opts;
use modforge_core::Control;
use modforge_dataset::{DatasetPayload, TableInput, open_dataset};
use modforge_store::{
    Error, Hooks, Inspection, PayloadKind, ReasonCode, SnapshotId, Source, put_blob,
};

const KINDS: &[&dyn PayloadKind] = &[&DatasetPayload];

fn inspect(path: &std::path::Path) -> Result<Inspection, Error> {
    modforge_store::inspect(path, KINDS, &Control::default())
}

fn verify(path: &std::path::Path) -> Result<Inspection, Error> {
    modforge_store::verify(path, KINDS, &Control::default())
}

fn verify_dir(path: &std::path::Path) -> Result<Vec<Inspection>, Error> {
    modforge_store::verify_all(path, KINDS, &Control::default())
}

#[test]
fn inspect_blob_and_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let blob = SnapshotId::blob(dir.path(), "golden", "1").unwrap();
    put_blob(
        &blob,
        &Source::Token("t".into()),
        b"hello",
        &Hooks {
            created_ns: Some(0),
            ..Hooks::default()
        },
    )
    .unwrap();
    let i = inspect(&blob.path()).unwrap();
    assert!(i.ok());
    assert_eq!(i.file_size, 197);
    let h = i.header.as_ref().unwrap();
    assert_eq!(
        (
            h.kind.as_str(),
            h.version.as_str(),
            h.payload_len,
            h.fingerprint_algorithm
        ),
        ("blob", "1", 5, 3)
    );
    assert_eq!(
        h.fingerprint().unwrap().to_hex(),
        "2f5d2c756b49a20ee7edc6ffea95309d"
    );
    assert_eq!(
        i.checks.iter().map(|c| c.name).collect::<Vec<_>>(),
        [
            "size",
            "magic",
            "container version",
            "fingerprint algorithm",
            "integrity"
        ]
    );
    assert!(i.details.is_none(), "a blob has no payload plug-in");

    let tables = vec![
        (
            "words".to_string(),
            TableInput::CsvBytes(b"word,meaning\nsun,star\nmoon,satellite\nsun,again\n".to_vec()),
        ),
        (
            "tags".to_string(),
            TableInput::Rows {
                columns: vec!["tag".into()],
                rows: vec![vec!["x".into()]],
            },
        ),
    ];
    let ds = open_dataset(
        opts(dir.path(), "data", "2", "tok"),
        tables,
        &Hooks::default(),
    )
    .unwrap();
    let i = inspect(&ds.path).unwrap();
    assert!(i.ok());
    assert_eq!(i.checks.last().unwrap().name, "structure");
    let details = i.details.as_ref().unwrap();
    assert_eq!(details["tables"].as_array().unwrap().len(), 2);
    let words = &details["tables"][0];
    assert_eq!(
        (
            words["name"].as_str(),
            words["rows"].as_u64(),
            words["key"].as_str(),
            words["indexSlots"].as_u64()
        ),
        (Some("words"), Some(3), Some("word"), Some(8))
    );
    assert_eq!(words["columns"], serde_json::json!(["word", "meaning"]));
    assert_eq!(details["report"]["tables"][0]["duplicateRows"], 1);
    assert!(details.get("cells").is_none());
    let v = verify(&ds.path).unwrap();
    assert!(v.ok());
    assert_eq!(v.checks.last().unwrap().name, "cells");
    assert_eq!(v.details.as_ref().unwrap()["cells"], 7);

    let all = verify_dir(dir.path()).unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|i| i.ok()));
}

#[test]
fn damaged_files_fail_their_checks() {
    let dir = tempfile::tempdir().unwrap();
    let id = SnapshotId::blob(dir.path(), "b", "1").unwrap();
    put_blob(
        &id,
        &Source::Token("t".into()),
        b"payload bytes",
        &Hooks::default(),
    )
    .unwrap();
    let mut bytes = std::fs::read(id.path()).unwrap();
    bytes[200] ^= 1;
    std::fs::write(id.path(), &bytes).unwrap();
    let i = inspect(&id.path()).unwrap();
    assert!(!i.ok());
    let failed = i.checks.iter().find(|c| c.result.is_err()).unwrap();
    assert_eq!(failed.name, "integrity");
    assert_eq!(
        failed.result.as_ref().unwrap_err().code,
        ReasonCode::Corrupt
    );

    std::fs::write(id.path(), &bytes[..100]).unwrap();
    let i = inspect(&id.path()).unwrap();
    assert!(i.header.is_none());
    assert_eq!(i.checks[0].name, "size");
    assert!(i.checks[0].result.is_err());

    std::fs::write(id.path(), vec![b'x'; 300]).unwrap();
    let i = inspect(&id.path()).unwrap();
    assert_eq!(
        i.checks.iter().find(|c| c.result.is_err()).unwrap().name,
        "magic"
    );

    assert!(matches!(
        inspect(&dir.path().join("absent.mfs")),
        Err(Error::Io { .. })
    ));
    assert_eq!(verify_dir(dir.path()).unwrap().len(), 1);
}
