//! File fingerprints (docs/store.md, "Fingerprints"). The test changes the working directory
//! (to spell the same files by relative and absolute paths), so this binary holds a single test.

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
    assert_eq!(content.to_hex(), "9a4bcef5f375394eee1f6db5ec22f269");
    assert_eq!(content.algorithm(), FingerprintAlgorithm::Content);
    // Neither the order of the list nor the spelling of the paths nor their folder matters.
    assert_eq!(
        fingerprint(&files(&["a.csv", "b.csv"], FileMode::Content)).unwrap(),
        content
    );
    let here = std::env::current_dir().unwrap();
    let absolute = [here.join("a.csv"), here.join("./b.csv")];
    assert_eq!(
        fingerprint(&Source::Files {
            paths: absolute.to_vec(),
            mode: FileMode::Content
        })
        .unwrap(),
        content
    );
    std::fs::create_dir("copy").unwrap();
    std::fs::copy("a.csv", "copy/a.csv").unwrap();
    std::fs::copy("b.csv", "copy/b.csv").unwrap();
    assert_eq!(
        fingerprint(&files(&["copy/b.csv", "copy/a.csv"], FileMode::Content)).unwrap(),
        content
    );
    // The file names are part of it: the same contents under other names differ.
    std::fs::rename("copy/a.csv", "copy/c.csv").unwrap();
    assert_ne!(
        fingerprint(&files(&["copy/b.csv", "copy/c.csv"], FileMode::Content)).unwrap(),
        content
    );
    // Named sources use the caller's names, not the paths.
    let named = |pairs: &[(&str, &str)]| Source::NamedFiles {
        files: pairs
            .iter()
            .map(|(n, p)| (n.to_string(), PathBuf::from(p)))
            .collect(),
        mode: FileMode::Content,
    };
    let tables = fingerprint(&named(&[("nouns", "a.csv"), ("verbs", "b.csv")])).unwrap();
    assert_eq!(
        fingerprint(&named(&[("verbs", "copy/b.csv"), ("nouns", "copy/c.csv")])).unwrap(),
        tables
    );
    assert_ne!(
        fingerprint(&named(&[("nouns", "b.csv"), ("verbs", "a.csv")])).unwrap(),
        tables
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
    assert_eq!(stat.to_hex(), "09fce5ea87128bac9622b90cd713e2e3");
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
        "47048ccf247b88f2f94a3f1fe1dfbb75"
    );
    std::fs::write("x", "a").unwrap();
    std::fs::write("y", "bc").unwrap();
    assert_eq!(
        fingerprint(&files(&["x", "y"], FileMode::Content))
            .unwrap()
            .to_hex(),
        "c1b47143dbf8c551c3c5d4903c5e13aa"
    );

    let sha = fingerprint(&files(&["x", "y"], FileMode::ContentSha256)).unwrap();
    assert_eq!(sha.algorithm(), FingerprintAlgorithm::ContentSha256);
    assert_eq!(sha.to_hex().len(), 64);

    // A FIFO among the sources is refused at once instead of blocking the open forever.
    #[cfg(unix)]
    {
        let status = std::process::Command::new("mkfifo")
            .arg("pipe.csv")
            .status()
            .unwrap();
        assert!(status.success());
        for mode in [FileMode::Content, FileMode::ContentSha256] {
            assert!(matches!(
                fingerprint(&files(&["pipe.csv"], mode)),
                Err(modforge_store::Error::InvalidArgument(m)) if m.contains("FIFO")
            ));
        }
    }
}
