//! The golden blob snapshot and file names (docs/store.md, "Test vectors" and "File names").

use modforge_store::{
    FingerprintAlgorithm, Hooks, ReasonCode, Snapshot, SnapshotId, Source, fingerprint, get_blob,
    put_blob,
};
use sha2::{Digest, Sha256};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn golden_blob_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let id = SnapshotId::blob(dir.path(), "golden", "1").unwrap();
    let source = Source::Token("t".into());
    let hooks = Hooks {
        created_ns: Some(0),
        ..Hooks::default()
    };
    let put = put_blob(&id, &source, b"hello", &hooks).unwrap();
    assert!(put.persisted);
    assert_eq!(put.path, dir.path().join("golden_1.mfs"));
    let bytes = std::fs::read(&put.path).unwrap();
    assert_eq!(bytes.len(), 197);
    assert_eq!(
        hex(&Sha256::digest(&bytes)),
        "e1da29cd839642fbf83ad21d694c2a4631fe48d5b2893664143ef59bcf11bb48"
    );
    assert_eq!(&bytes[..8], b"\x89MFS\r\n\x1a\n");
    assert_eq!(
        &bytes[120..136],
        &[
            0x9d, 0x30, 0x95, 0xea, 0xff, 0xc6, 0xed, 0xe7, 0x0e, 0xa2, 0x49, 0x6b, 0x75, 0x2c,
            0x5d, 0x2f
        ]
    );
    assert_eq!(&bytes[192..], b"hello");

    let snap = get_blob(&id, &source).unwrap().unwrap();
    assert_eq!(snap.payload(), b"hello");
    // Files up to 64 MiB are read into memory, never mapped (docs/store.md, "Reading files").
    assert!(!snap.is_mapped());
    let h = snap.header();
    assert_eq!(
        (h.kind.as_str(), h.version.as_str(), h.created_ns),
        ("blob", "1", 0)
    );
    assert_eq!(
        format!("{:032x}", h.payload_checksum),
        "b5e9c1ad071b3e7fc779cfaa5e523818"
    );
    assert_eq!(format!("{:016x}", h.header_checksum), "650c519cda846ff1");
    let fp = h.fingerprint().unwrap();
    assert_eq!(fp.algorithm(), FingerprintAlgorithm::Token);
    assert_eq!(fp.to_hex(), "2f5d2c756b49a20ee7edc6ffea95309d");
    assert_eq!(fp, fingerprint(&source).unwrap());

    // The same image validates in memory.
    let mem = Snapshot::from_image("mem", bytes.clone(), &id, &fp).unwrap();
    assert_eq!(mem.payload(), b"hello");
    assert!(!mem.is_mapped());
    let other = SnapshotId::new(dir.path(), "golden", "1", "other").unwrap();
    assert_eq!(
        Snapshot::from_image("mem", bytes, &other, &fp)
            .unwrap_err()
            .code,
        ReasonCode::Kind
    );
}

#[test]
fn bytes_fingerprint() {
    assert_eq!(
        fingerprint(&Source::Bytes(b"hello".to_vec()))
            .unwrap()
            .to_hex(),
        "9d3a322080fa08f2b21e2e0f77cf540d"
    );
}

#[test]
fn file_names() {
    let dir = std::path::Path::new("cache");
    assert_eq!(
        SnapshotId::blob(dir, "nouns", "v0.1.0")
            .unwrap()
            .file_name(),
        "nouns_v0.1.0.mfs"
    );
    assert_eq!(
        SnapshotId::blob(dir, "My_Data", "1/2").unwrap().file_name(),
        "+My%5F+Data_1%2F2.mfs"
    );
    assert_eq!(
        SnapshotId::blob(dir, ".cfg", "é").unwrap().path(),
        dir.join("%2Ecfg_%C3%A9.mfs")
    );
    assert!(matches!(
        SnapshotId::blob(dir, &"N".repeat(130), "1"),
        Err(modforge_store::Error::InvalidArgument(_))
    ));
    assert!(matches!(
        SnapshotId::new(dir, "n", "1", "Bad Kind"),
        Err(modforge_store::Error::InvalidArgument(_))
    ));
    assert!(matches!(
        SnapshotId::blob(dir, "n", ""),
        Err(modforge_store::Error::InvalidArgument(_))
    ));
    // An empty folder is refused rather than taken as the working directory.
    assert!(matches!(
        SnapshotId::blob("", "n", "1"),
        Err(modforge_store::Error::InvalidArgument(_))
    ));
    // Lone surrogates of JavaScript strings arrive as U+FFFD: refused, never merged.
    for (name, version) in [("\u{FFFD}", "1"), ("n", "\u{FFFD}")] {
        assert!(matches!(
            SnapshotId::blob(dir, name, version),
            Err(modforge_store::Error::InvalidArgument(_))
        ));
    }
    // Names differing only in case get different files, readable ones.
    assert_eq!(
        SnapshotId::blob(dir, "Nouns", "v1").unwrap().file_name(),
        "+Nouns_v1.mfs"
    );
    assert_eq!(
        SnapshotId::blob(dir, "nouns", "V1").unwrap().file_name(),
        "nouns_+V1.mfs"
    );
}
