//! File fingerprints (docs/store.md, "Test vectors"). The vectors hash relative path strings, so
//! this binary holds a single test that changes the working directory.

use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use modforge_store::{FileMode, FingerprintAlgorithm, Source, fingerprint};

fn files(names: &[&str], mode: FileMode) -> Source {
    Source::Files {
        paths: names.iter().map(PathBuf::from).collect(),
        mode,
    }
}

#[test]
fn file_fingerprint_vectors() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    std::fs::write("b.csv", "x\n").unwrap();
    std::fs::write("a.csv", "k,v\n1,2\n").unwrap();

    let content = fingerprint(&files(&["b.csv", "a.csv"], FileMode::Content)).unwrap();
    assert_eq!(content.to_hex(), "d93ea443138f6aca3a2c0ad0894468e7");
    assert_eq!(content.algorithm(), FingerprintAlgorithm::Content);
    // Order of the list does not matter.
    assert_eq!(
        fingerprint(&files(&["a.csv", "b.csv"], FileMode::Content)).unwrap(),
        content
    );

    let set = |name: &str, ns: u64| {
        File::options()
            .write(true)
            .open(name)
            .unwrap()
            .set_modified(UNIX_EPOCH + Duration::from_nanos(ns))
            .unwrap();
    };
    set("b.csv", 1_700_000_000_000_000_000);
    set("a.csv", 1_700_000_000_123_456_789);
    let stat = fingerprint(&files(&["b.csv", "a.csv"], FileMode::Stat)).unwrap();
    assert_eq!(stat.to_hex(), "77c67148b9b5acf5f69c4d7bacd369dd");
    assert_eq!(stat.algorithm(), FingerprintAlgorithm::Stat);

    // Stat mode is blind to a same-size rewrite with the same mtime; content mode is not.
    std::fs::write("a.csv", "k,v\n1,3\n").unwrap();
    set("a.csv", 1_700_000_000_123_456_789);
    assert_eq!(
        fingerprint(&files(&["b.csv", "a.csv"], FileMode::Stat)).unwrap(),
        stat
    );
    assert_ne!(
        fingerprint(&files(&["b.csv", "a.csv"], FileMode::Content)).unwrap(),
        content
    );

    // A missing file hashes as size u64::MAX, mtime 0 in stat mode; it is an IO error in content mode.
    let missing = fingerprint(&files(&["b.csv", "nope.csv"], FileMode::Stat)).unwrap();
    assert_ne!(missing, stat);
    assert!(matches!(
        fingerprint(&files(&["nope.csv"], FileMode::Content)),
        Err(modforge_store::Error::Io { op: "open", .. })
    ));

    // Framing: ["ab","c"] and ["a","bc"] differ.
    std::fs::write("x", "ab").unwrap();
    std::fs::write("y", "c").unwrap();
    assert_eq!(
        fingerprint(&files(&["x", "y"], FileMode::Content))
            .unwrap()
            .to_hex(),
        "410f75a5b8d95a9b55018892e8beee68"
    );
    std::fs::write("x", "a").unwrap();
    std::fs::write("y", "bc").unwrap();
    assert_eq!(
        fingerprint(&files(&["x", "y"], FileMode::Content))
            .unwrap()
            .to_hex(),
        "46df52d654b8ca2d7f6bfa2fa938e79c"
    );

    let sha = fingerprint(&files(&["x", "y"], FileMode::ContentSha256)).unwrap();
    assert_eq!(sha.algorithm(), FingerprintAlgorithm::ContentSha256);
    assert_eq!(sha.to_hex().len(), 64);
}
