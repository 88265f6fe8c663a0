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
        "466102769b858adb76f919eb57499f2a15d1a970a025668ab431f8eaeedee3ca"
    );
    assert_eq!(&bytes[..8], b"\x89MFS\r\n\x1a\n");
    assert_eq!(
        &bytes[120..136],
        &[
            0x2d, 0xf9, 0xac, 0xf0, 0x85, 0x3e, 0x03, 0x76, 0x7c, 0xbb, 0x45, 0xd6, 0xcd, 0x8f,
            0x0e, 0x19
        ]
    );
    assert_eq!(&bytes[192..], b"hello");

    let snap = get_blob(&id, &source).unwrap().unwrap();
    assert_eq!(snap.payload(), b"hello");
    assert!(snap.is_mapped());
    let h = snap.header();
    assert_eq!(
        (h.kind.as_str(), h.version.as_str(), h.created_ns),
        ("blob", "1", 0)
    );
    assert_eq!(
        format!("{:032x}", h.payload_checksum),
        "b5e9c1ad071b3e7fc779cfaa5e523818"
    );
    assert_eq!(format!("{:016x}", h.header_checksum), "92e27e2f461d7920");
    let fp = h.fingerprint().unwrap();
    assert_eq!(fp.algorithm(), FingerprintAlgorithm::Token);
    assert_eq!(fp.to_hex(), "190e8fcdd645bb7c76033e85f0acf92d");
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
        "e22eb3a21af2e1e3191230403feae166"
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
        "%4Dy%5F%44ata_1%2F2.mfs"
    );
    assert_eq!(
        SnapshotId::blob(dir, ".cfg", "é").unwrap().path(),
        dir.join("%2Ecfg_%C3%A9.mfs")
    );
    assert!(matches!(
        SnapshotId::blob(dir, &"N".repeat(100), "1"),
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
}
