//! How the store reads files (docs/store.md, "Reading files" and "Shipped snapshots"): FIFOs and
//! devices in a snapshot's place never block, a snapshot truncated by another program while open
//! never kills the process, loads stop when cancelled, and a shipped file opens by path.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use modforge_core::{Cancel, Control};
use modforge_store::{
    BLOB_KIND, Error, Expect, Hooks, ReasonCode, SnapshotId, Source, fingerprint, get_blob,
    inspect, load_path_with, load_with, open_file, open_or_build_blob, put_blob, verify_all,
};

fn token(t: &str) -> Source {
    Source::Token(t.into())
}

/// Runs `f` on a thread and fails the test if it has not returned within 20 s (a blocked `open`
/// would otherwise hang the test run instead of failing it).
fn within_time<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{what} did not return: it blocks"))
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn a_fifo_named_like_a_snapshot_never_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let id = SnapshotId::blob(dir.path(), "b", "1").unwrap();
    mkfifo(&id.path());
    let path = id.path();

    let (id2, path2) = (id.clone(), path.clone());
    let reason = within_time("get_blob", move || {
        get_blob(&id2, &token("t")).unwrap().unwrap_err()
    });
    assert_eq!(reason.code, ReasonCode::Missing);
    assert!(reason.detail.contains("FIFO"), "{}", reason.detail);

    let opened = within_time("open_or_build_blob", move || {
        open_or_build_blob(&id, &token("t"), &Hooks::default(), || {
            Ok::<_, Error>(b"v".to_vec())
        })
        .unwrap()
    });
    assert_eq!(opened.value.payload(), b"v");
    assert_eq!(opened.rejected.unwrap().code, ReasonCode::Missing);

    // The build above replaced the FIFO by a snapshot; put another one in place for inspection.
    std::fs::remove_file(&path2).unwrap();
    mkfifo(&path2);
    let p = path2.clone();
    let inspection = within_time("inspect", move || {
        inspect(&p, &[], &Control::default()).unwrap()
    });
    assert!(!inspection.ok());
    assert_eq!(inspection.checks[0].name, "file");
    let d = dir.path().to_path_buf();
    let verified = within_time("verify_all", move || {
        verify_all(&d, &[], &Control::default()).unwrap()
    });
    assert_eq!(verified.len(), 1);
    assert!(!verified[0].ok());
    let p = path2.clone();
    let err = within_time("open_file", move || {
        open_file(&p, BLOB_KIND, &Control::default())
    });
    assert!(matches!(err, Err(Error::InvalidArgument(m)) if m.contains("FIFO")));
}

#[cfg(unix)]
#[test]
fn a_device_in_a_snapshots_place_is_refused() {
    // /dev/zero opens and never ends: reading it whole would never return.
    let reason = within_time("load of /dev/zero", || {
        let fp = fingerprint(&token("t")).unwrap();
        let expect = Expect {
            kind: BLOB_KIND,
            version: Some("1"),
            fingerprint: &fp,
        };
        load_path_with(Path::new("/dev/zero"), &expect, &Control::default())
            .unwrap()
            .unwrap_err()
    });
    assert_eq!(reason.code, ReasonCode::Missing);
    assert!(
        reason.detail.contains("character device"),
        "{}",
        reason.detail
    );
}

const TRUNCATE_CHILD_ENV: &str = "MODFORGE_STORE_TRUNCATE_CHILD";

/// Runs only when re-invoked by `truncating_an_open_snapshot_never_kills_the_process`: opens a
/// snapshot, truncates the file in place as another program might, then reads every byte.
#[test]
fn truncate_child() {
    let Some(dir) = std::env::var_os(TRUNCATE_CHILD_ENV) else {
        return;
    };
    let id = SnapshotId::blob(PathBuf::from(dir), "t", "1").unwrap();
    let snap = get_blob(&id, &token("t")).unwrap().unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(id.path())
        .unwrap()
        .set_len(0)
        .unwrap();
    let sum: u64 = snap.payload().iter().map(|&b| u64::from(b)).sum();
    println!("CHILD-SUM {sum}");
}

#[test]
fn truncating_an_open_snapshot_never_kills_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let id = SnapshotId::blob(dir.path(), "t", "1").unwrap();
    let payload: Vec<u8> = (0..(3 << 20)).map(|i| (i % 251) as u8).collect();
    let expected: u64 = payload.iter().map(|&b| u64::from(b)).sum();
    assert!(
        put_blob(&id, &token("t"), &payload, &Hooks::default())
            .unwrap()
            .persisted
    );
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
    // The reader was served the copy it opened: the old data, whole.
    assert!(
        stdout.contains(&format!("CHILD-SUM {expected}")),
        "{stdout}"
    );
}

#[test]
fn loads_stop_when_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let id = SnapshotId::blob(dir.path(), "c", "1").unwrap();
    let payload = vec![7u8; 9 << 20];
    put_blob(&id, &token("t"), &payload, &Hooks::default()).unwrap();
    let fp = fingerprint(&token("t")).unwrap();
    let cancel = Cancel::new();
    assert!(
        load_with(&id, &fp, &Control::cancel(&cancel))
            .unwrap()
            .is_ok()
    );
    cancel.cancel();
    assert!(matches!(
        load_with(&id, &fp, &Control::cancel(&cancel)),
        Err(Error::Aborted)
    ));
    assert!(matches!(
        open_file(&id.path(), BLOB_KIND, &Control::cancel(&cancel)),
        Err(Error::Aborted)
    ));
    assert!(matches!(
        inspect(&id.path(), &[], &Control::cancel(&cancel)),
        Err(Error::Aborted)
    ));
}

#[test]
fn a_shipped_snapshot_opens_by_path_without_its_source() {
    let build = tempfile::tempdir().unwrap();
    let id = SnapshotId::new(build.path(), "icons", "3", "icons@1").unwrap();
    put_blob(
        &id,
        &token("the build machine's source"),
        b"payload",
        &Hooks::default(),
    )
    .unwrap();
    // Shipped: copied into an application folder, its source long gone.
    let app = tempfile::tempdir().unwrap();
    let shipped = app.path().join("icons.mfs");
    std::fs::copy(id.path(), &shipped).unwrap();
    let none = Control::default();
    let snap = open_file(&shipped, "icons@1", &none).unwrap();
    assert_eq!(snap.payload(), b"payload");
    assert_eq!(snap.header().version, "3");

    assert!(matches!(
        open_file(&shipped, "other@1", &none),
        Err(Error::Format { offset: 16, .. })
    ));
    assert!(matches!(
        open_file(&shipped, "Bad Kind", &none),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        open_file(&app.path().join("nope.mfs"), "icons@1", &none),
        Err(Error::Io { op: "open", .. })
    ));
    assert!(matches!(
        open_file(app.path(), "icons@1", &none),
        Err(Error::Io { op: "open", .. })
    ));
    let mut damaged = std::fs::read(&shipped).unwrap();
    *damaged.last_mut().unwrap() ^= 1;
    std::fs::write(&shipped, &damaged).unwrap();
    assert!(matches!(
        open_file(&shipped, "icons@1", &none),
        Err(Error::Corrupt { offset: 192, .. })
    ));
    std::fs::write(&shipped, b"short").unwrap();
    assert!(matches!(
        open_file(&shipped, "icons@1", &none),
        Err(Error::Corrupt { .. })
    ));
}

#[test]
fn an_empty_folder_is_an_invalid_argument_everywhere() {
    assert!(matches!(
        SnapshotId::blob("", "n", "1"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        modforge_store::invalidate(Path::new(""), "n"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        modforge_store::clean(Path::new("")),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn files_of_the_former_name_encoding_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    // Written by an earlier release, when capitals were percent-encoded.
    let former = dir.path().join("%4Eouns_1.mfs");
    std::fs::write(&former, b"an earlier release's snapshot").unwrap();
    let unrelated = dir.path().join("nouns_1.mfs");
    std::fs::write(&unrelated, b"another name's file").unwrap();
    let id = SnapshotId::blob(dir.path(), "Nouns", "2").unwrap();
    assert_eq!(id.file_name(), "+Nouns_2.mfs");
    assert!(
        put_blob(&id, &token("t"), b"v", &Hooks::default())
            .unwrap()
            .persisted
    );
    assert!(!former.exists(), "the superseded file stays");
    assert!(unrelated.exists() && id.path().exists());

    std::fs::write(&former, b"again").unwrap();
    let removed = modforge_store::invalidate(dir.path(), "Nouns").unwrap();
    assert_eq!(removed.removed, 2);
    assert!(!former.exists() && !id.path().exists() && unrelated.exists());
}
