//! Snapshots at caller-chosen paths: `write_snapshot_file`, `load_file` with a deferred payload check and
//! with a private (copy-on-write) mapping.

use modforge_core::Control;
use modforge_store::{
    Expect, Fingerprint, Hooks, LoadOptions, Reason, ReasonCode, Snapshot, Source, fingerprint,
    write_snapshot_file,
};

const KIND: &str = "test.paths@1";

fn fp(token: &str) -> Fingerprint {
    fingerprint(&Source::Token(token.into())).unwrap()
}

fn load_file(
    path: &std::path::Path,
    kind: &str,
    version: &str,
    fingerprint: &Fingerprint,
    options: LoadOptions,
) -> Result<Snapshot, Reason> {
    let expect = Expect {
        kind,
        version: Some(version),
        fingerprint,
    };
    modforge_store::load_file(path, &expect, options)
}

#[test]
fn write_then_load_at_any_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.7.snap");
    let written =
        write_snapshot_file(&path, KIND, "1", &fp("a"), b"payload", &Hooks::default()).unwrap();
    assert_eq!(written, path);
    let snap = load_file(&path, KIND, "1", &fp("a"), LoadOptions::default()).unwrap();
    assert_eq!(snap.payload(), b"payload");
    // A small file is read whole by default: neither mapped nor private.
    assert!(!snap.is_mapped());
    assert!(!snap.is_private());
    assert_eq!(
        load_file(&path, KIND, "2", &fp("a"), LoadOptions::default())
            .unwrap_err()
            .code,
        ReasonCode::Version
    );
    assert_eq!(
        load_file(&path, KIND, "1", &fp("b"), LoadOptions::default())
            .unwrap_err()
            .code,
        ReasonCode::Stale
    );
    // Only the snapshot itself is in the folder: no temp file left, nothing swept.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["cache.7.snap".to_string()]);
}

#[test]
fn named_snapshot_file_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = write_snapshot_file(
        &dir.path().join("x_1.mfs"),
        KIND,
        "1",
        &fp("a"),
        b"p",
        &Hooks::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("x_1.mfs"), "{err}");
    assert!(write_snapshot_file(dir.path(), KIND, "1", &fp("a"), b"p", &Hooks::default()).is_err());
}

#[test]
fn deferred_payload_check_runs_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.snap");
    write_snapshot_file(&path, KIND, "1", &fp("a"), b"0123456789", &Hooks::default()).unwrap();
    let mut image = std::fs::read(&path).unwrap();
    let last = image.len() - 1;
    image[last] ^= 1;
    std::fs::write(&path, &image).unwrap();
    let full = load_file(&path, KIND, "1", &fp("a"), LoadOptions::default()).unwrap_err();
    assert_eq!(full.code, ReasonCode::Corrupt);
    assert_eq!(full.offset, Some(192));
    let deferred = LoadOptions {
        defer_payload_check: true,
        ..LoadOptions::default()
    };
    let snap = load_file(&path, KIND, "1", &fp("a"), deferred).unwrap();
    assert_eq!(snap.payload(), b"012345678\x38");
    assert_eq!(
        snap.verify_payload(&Control::default())
            .unwrap()
            .unwrap_err()
            .code,
        ReasonCode::Corrupt
    );
    // A header flip is still caught at once.
    image[last] ^= 1;
    image[100] ^= 1;
    std::fs::write(&path, &image).unwrap();
    assert!(load_file(&path, KIND, "1", &fp("a"), deferred).is_err());
}

#[test]
fn private_mapping_is_copy_on_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.snap");
    write_snapshot_file(&path, KIND, "1", &fp("a"), b"abc", &Hooks::default()).unwrap();
    let options = LoadOptions {
        copy_on_write: true,
        ..LoadOptions::default()
    };
    let snap = load_file(&path, KIND, "1", &fp("a"), options).unwrap();
    assert!(snap.is_private() && snap.is_mapped());
    assert_eq!(snap.payload(), b"abc");
    assert!(snap.verify_payload(&Control::default()).unwrap().is_ok());
}
