//! Blob snapshots: open-or-build, reasons, rebuilds, removal, unwritable directories, injected
//! write errors and cancellation.

mod common;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use common::{leftovers, snapshots};
use modforge_store::{
    Error, FileLayer, Hooks, LayerFile, OsLayer, ReasonCode, SnapshotId, Source, clean, get_blob,
    invalidate, open_or_build_blob, open_or_build_checked, put_blob,
};

fn token(t: &str) -> Source {
    Source::Token(t.into())
}

fn build_ok(bytes: &[u8]) -> impl FnOnce() -> Result<Vec<u8>, Error> + '_ {
    move || Ok(bytes.to_vec())
}

#[test]
fn build_then_load() {
    let dir = tempfile::tempdir().unwrap();
    let id = SnapshotId::blob(dir.path(), "thumbs", "1").unwrap();
    let first =
        open_or_build_blob(&id, &token("a"), &Hooks::default(), build_ok(b"payload A")).unwrap();
    assert!(!first.loaded && first.persisted && first.persist_error.is_none());
    assert_eq!(first.rejected.as_ref().unwrap().code, ReasonCode::Missing);
    assert!(
        first
            .rejected
            .as_ref()
            .unwrap()
            .detail
            .contains(&format!("os error {}", libc::ENOENT))
    );
    assert_eq!(first.value.payload(), b"payload A");
    assert_eq!(first.path, dir.path().join("thumbs_1.mfs"));

    let second = open_or_build_blob(
        &id,
        &token("a"),
        &Hooks::default(),
        || -> Result<Vec<u8>, Error> { panic!("must not build") },
    )
    .unwrap();
    assert!(second.loaded && second.persisted && second.rejected.is_none());
    assert_eq!(second.value.payload(), b"payload A");
    assert!(
        !second.value.is_mapped(),
        "small files are read into memory"
    );
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

#[test]
fn empty_and_large_payloads_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for (name, payload) in [
        ("empty", Vec::new()),
        (
            "large",
            (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect(),
        ),
    ] {
        let id = SnapshotId::blob(dir.path(), name, "1").unwrap();
        let built = open_or_build_blob(&id, &token(name), &Hooks::default(), || {
            Ok::<_, Error>(payload.clone())
        })
        .unwrap();
        assert_eq!(built.value.payload(), payload.as_slice());
        let got = get_blob(&id, &token(name)).unwrap().unwrap();
        assert_eq!(got.payload(), payload.as_slice());
        assert_eq!(
            std::fs::metadata(&built.path).unwrap().len(),
            192 + payload.len() as u64
        );
    }
}

#[test]
fn stale_source_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let id = SnapshotId::blob(dir.path(), "s", "1").unwrap();
    open_or_build_blob(&id, &token("a"), &Hooks::default(), build_ok(b"A")).unwrap();
    let rebuilt = open_or_build_blob(&id, &token("b"), &Hooks::default(), build_ok(b"B")).unwrap();
    assert!(!rebuilt.loaded && rebuilt.persisted);
    let reason = rebuilt.rejected.unwrap();
    assert_eq!(reason.code, ReasonCode::Stale);
    assert_eq!(reason.offset, Some(120));
    assert_eq!(get_blob(&id, &token("b")).unwrap().unwrap().payload(), b"B");
    assert_eq!(
        get_blob(&id, &token("a")).unwrap().unwrap_err().code,
        ReasonCode::Stale
    );
    // Another fingerprint algorithm is stale too.
    assert_eq!(
        get_blob(&id, &Source::Bytes(b"b".to_vec()))
            .unwrap()
            .unwrap_err()
            .code,
        ReasonCode::Stale
    );
}

#[test]
fn version_bump_writes_new_file_and_removes_old() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = SnapshotId::blob(dir.path(), "cfg", "1").unwrap();
    let v2 = SnapshotId::blob(dir.path(), "cfg", "2").unwrap();
    let other = SnapshotId::blob(dir.path(), "cfg2", "1").unwrap();
    open_or_build_blob(&v1, &token("a"), &Hooks::default(), build_ok(b"one")).unwrap();
    open_or_build_blob(&other, &token("a"), &Hooks::default(), build_ok(b"other")).unwrap();
    assert_eq!(snapshots(dir.path()), ["cfg2_1.mfs", "cfg_1.mfs"]);
    let bumped = open_or_build_blob(&v2, &token("a"), &Hooks::default(), build_ok(b"two")).unwrap();
    assert_eq!(bumped.rejected.unwrap().code, ReasonCode::Missing);
    assert_eq!(snapshots(dir.path()), ["cfg2_1.mfs", "cfg_2.mfs"]);
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    // A file of another data version under this version's name is rejected as `version`.
    std::fs::copy(dir.path().join("cfg_2.mfs"), dir.path().join("cfg_1.mfs")).unwrap();
    assert_eq!(
        get_blob(&v1, &token("a")).unwrap().unwrap_err().code,
        ReasonCode::Version
    );
}

#[test]
fn kind_change_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let blob = SnapshotId::blob(dir.path(), "k", "1").unwrap();
    let icons = SnapshotId::new(dir.path(), "k", "1", "modforge.icons@1").unwrap();
    put_blob(&blob, &token("a"), b"blob", &Hooks::default()).unwrap();
    let reason = get_blob(&icons, &token("a")).unwrap().unwrap_err();
    assert_eq!((reason.code, reason.offset), (ReasonCode::Kind, Some(16)));
    let rebuilt =
        open_or_build_blob(&icons, &token("a"), &Hooks::default(), build_ok(b"icons")).unwrap();
    assert_eq!(rebuilt.rejected.unwrap().code, ReasonCode::Kind);
    assert_eq!(
        get_blob(&icons, &token("a")).unwrap().unwrap().payload(),
        b"icons"
    );
    assert_eq!(
        get_blob(&blob, &token("a")).unwrap().unwrap_err().code,
        ReasonCode::Kind
    );
}

#[test]
fn damaged_files_are_corrupt_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let id = SnapshotId::blob(dir.path(), "d", "1").unwrap();
    let good = {
        put_blob(&id, &token("a"), b"some payload", &Hooks::default()).unwrap();
        std::fs::read(id.path()).unwrap()
    };
    let mut trailing = good.clone();
    trailing.push(0);
    let mut v2 = good.clone();
    v2[8] = 2;
    let cases: Vec<(&str, Vec<u8>, ReasonCode)> = vec![
        ("zero-length", Vec::new(), ReasonCode::Corrupt),
        ("header only", good[..192].to_vec(), ReasonCode::Corrupt),
        ("short", good[..100].to_vec(), ReasonCode::Corrupt),
        (
            "garbage",
            (0..500u32).map(|i| (i * 31 % 256) as u8).collect(),
            ReasonCode::Corrupt,
        ),
        ("trailing byte", trailing, ReasonCode::Corrupt),
        ("container version 2", v2, ReasonCode::Version),
    ];
    for (what, bytes, code) in cases {
        std::fs::write(id.path(), &bytes).unwrap();
        let reason = get_blob(&id, &token("a")).unwrap().unwrap_err();
        assert_eq!(reason.code, code, "{what}: {reason}");
        let rebuilt = open_or_build_blob(
            &id,
            &token("a"),
            &Hooks::default(),
            build_ok(b"some payload"),
        )
        .unwrap();
        assert_eq!(rebuilt.rejected.unwrap().code, code, "{what}");
        assert!(rebuilt.persisted);
        assert_eq!(
            std::fs::read(id.path()).unwrap().len(),
            good.len(),
            "{what}"
        );
        assert_eq!(
            get_blob(&id, &token("a")).unwrap().unwrap().payload(),
            b"some payload"
        );
    }
}

#[test]
fn caller_validation_failure_rebuilds() {
    let dir = tempfile::tempdir().unwrap();
    let id = SnapshotId::blob(dir.path(), "v", "1").unwrap();
    put_blob(&id, &token("a"), b"old layout", &Hooks::default()).unwrap();
    let validate = |p: &[u8]| {
        if p.starts_with(b"new") {
            Ok(())
        } else {
            Err("unknown layout".to_string())
        }
    };
    let opened = open_or_build_checked(
        &id,
        &token("a"),
        &Hooks::default(),
        validate,
        build_ok(b"new layout"),
    )
    .unwrap();
    let reason = opened.rejected.unwrap();
    assert_eq!(
        (reason.code, reason.offset, reason.detail.as_str()),
        (ReasonCode::Corrupt, Some(192), "unknown layout")
    );
    let again = open_or_build_checked(
        &id,
        &token("a"),
        &Hooks::default(),
        validate,
        build_ok(b"x"),
    )
    .unwrap();
    assert!(again.loaded);
}

#[test]
fn build_error_propagates_and_writes_nothing() {
    #[derive(Debug)]
    enum MyError {
        Store(Error),
        Build(&'static str),
    }
    impl From<Error> for MyError {
        fn from(e: Error) -> Self {
            MyError::Store(e)
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let id = SnapshotId::blob(dir.path(), "b", "1").unwrap();
    let err = open_or_build_blob(&id, &token("a"), &Hooks::default(), || {
        Err(MyError::Build("no"))
    })
    .unwrap_err();
    assert!(matches!(err, MyError::Build("no")));
    assert!(snapshots(dir.path()).is_empty() && leftovers(dir.path()).is_empty());
    let err = open_or_build_blob(
        &id,
        &Source::Files {
            paths: vec![dir.path().join("missing.csv")],
            mode: Default::default(),
        },
        &Hooks::default(),
        || Ok::<_, MyError>(b"x".to_vec()),
    )
    .unwrap_err();
    assert!(matches!(err, MyError::Store(Error::Io { op: "open", .. })));
}

#[test]
fn directory_in_place_of_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let id = SnapshotId::blob(dir.path(), "isdir", "1").unwrap();
    std::fs::create_dir(id.path()).unwrap();
    let reason = get_blob(&id, &token("a")).unwrap().unwrap_err();
    assert_eq!(reason.code, ReasonCode::Missing);
    assert!(reason.detail.starts_with("EISDIR"), "{}", reason.detail);
    let opened =
        open_or_build_blob(&id, &token("a"), &Hooks::default(), build_ok(b"value")).unwrap();
    assert_eq!(opened.value.payload(), b"value");
    assert!(!opened.persisted);
    let err = opened.persist_error.unwrap();
    assert!(matches!(err, Error::Io { op: "rename", .. }), "{err:?}");
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn unwritable_path_under_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), b"x").unwrap();
    let id = SnapshotId::blob(dir.path().join("file").join("cache"), "n", "1").unwrap();
    let opened =
        open_or_build_blob(&id, &token("a"), &Hooks::default(), build_ok(b"value")).unwrap();
    assert_eq!(opened.value.payload(), b"value");
    assert!(!opened.persisted && !opened.loaded);
    let err = opened.persist_error.unwrap();
    assert!(matches!(err, Error::Io { op: "mkdir", .. }));
    let put = put_blob(&id, &token("a"), b"v", &Hooks::default()).unwrap();
    assert!(!put.persisted);
    #[cfg(unix)]
    {
        assert_eq!(err.raw_os_error(), Some(libc::ENOTDIR));
        assert_eq!(
            put.persist_error.unwrap().raw_os_error(),
            Some(libc::ENOTDIR)
        );
    }
}

const CHILD_ENV: &str = "MODFORGE_STORE_READONLY_CHILD";

/// Runs only when re-invoked by `unwritable_directory_for_unprivileged_user`.
#[test]
fn readonly_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let id = SnapshotId::blob(PathBuf::from(dir), "n", "1").unwrap();
    let opened =
        open_or_build_blob(&id, &token("a"), &Hooks::default(), build_ok(b"value")).unwrap();
    assert_eq!(opened.value.payload(), b"value");
    assert!(!opened.persisted);
    let err = opened.persist_error.unwrap();
    assert_eq!(err.raw_os_error(), Some(libc::EACCES), "{err:?}");
    assert!(matches!(err, Error::Io { op: "open", .. }));
    println!("CHILD-OK");
}

#[cfg(unix)]
#[test]
fn unwritable_directory_for_unprivileged_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&exe)
        .args([
            "--exact",
            "readonly_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &ro)
        .output()
        .expect("setpriv runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read_dir(&ro).unwrap().next().is_none());
}

#[test]
fn another_kind_under_the_same_name() {
    let dir = tempfile::tempdir().unwrap();
    let a = SnapshotId::new(dir.path(), "n", "1", "a.kind@1").unwrap();
    let b = SnapshotId::new(dir.path(), "n", "1", "a.kind@2").unwrap();
    put_blob(&a, &token("t"), b"x", &Hooks::default()).unwrap();
    assert_eq!(
        get_blob(&b, &token("t")).unwrap().unwrap_err().code,
        ReasonCode::Kind
    );
}

#[test]
fn two_builders_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let id = SnapshotId::blob(dir.path(), "race", "1").unwrap();
    let payload: Vec<u8> = (0..2_000_000u32).map(|i| (i % 253) as u8).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    open_or_build_blob(&id, &token("a"), &Hooks::default(), || {
                        Ok::<_, Error>(payload.clone())
                    })
                    .unwrap()
                })
            })
            .collect();
        for h in handles {
            let opened = h.join().unwrap();
            assert_eq!(opened.value.payload(), payload.as_slice());
        }
    });
    assert_eq!(snapshots(dir.path()), ["race_1.mfs"]);
    assert!(leftovers(dir.path()).is_empty());
    assert_eq!(
        get_blob(&id, &token("a")).unwrap().unwrap().payload(),
        payload.as_slice()
    );
}

#[test]
fn invalidate_and_clean() {
    let dir = tempfile::tempdir().unwrap();
    for v in ["1", "2"] {
        // Written with another name first so both versions survive.
        std::fs::write(dir.path().join(format!("n_{v}.mfs")), b"old").unwrap();
    }
    let keep = SnapshotId::blob(dir.path(), "keep", "1").unwrap();
    put_blob(&keep, &token("a"), b"kept", &Hooks::default()).unwrap();
    std::fs::write(dir.path().join("n_1.mfs.123.0123456789abcdef.tmp"), b"t").unwrap();
    std::fs::write(dir.path().join("keep_1.mfs.0123456789abcdef.del"), b"d").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"unrelated").unwrap();
    let removed = invalidate(dir.path(), "n").unwrap();
    assert_eq!((removed.removed, removed.deferred), (3, 0));
    assert_eq!(snapshots(dir.path()), ["keep_1.mfs"]);
    assert_eq!(leftovers(dir.path()), ["keep_1.mfs.0123456789abcdef.del"]);
    let cleaned = clean(dir.path()).unwrap();
    assert_eq!((cleaned.removed, cleaned.deferred), (1, 0));
    assert!(leftovers(dir.path()).is_empty());
    assert!(dir.path().join("notes.txt").exists());
    assert_eq!(
        get_blob(&keep, &token("a")).unwrap().unwrap().payload(),
        b"kept"
    );
    assert_eq!(
        invalidate(&dir.path().join("absent"), "n").unwrap().removed,
        0
    );
    assert!(clean(&dir.path().join("absent")).is_err());
}

#[test]
fn stale_temp_files_are_swept_after_ten_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let id = SnapshotId::blob(dir.path(), "sw", "1").unwrap();
    let old = dir.path().join("sw_1.mfs.999.00000000000000aa.tmp");
    let young = dir.path().join("sw_1.mfs.999.00000000000000bb.tmp");
    let old_del = dir.path().join("sw_0.mfs.00000000000000cc.del");
    let other_name = dir.path().join("zz_1.mfs.999.00000000000000dd.tmp");
    for p in [&old, &young, &old_del, &other_name] {
        std::fs::write(p, b"partial").unwrap();
    }
    let eleven_minutes_ago = SystemTime::now() - Duration::from_secs(11 * 60);
    for p in [&old, &old_del, &other_name] {
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(eleven_minutes_ago)
            .unwrap();
    }
    put_blob(&id, &token("a"), b"x", &Hooks::default()).unwrap();
    assert!(!old.exists() && !old_del.exists());
    assert!(young.exists(), "a young temp may belong to a live writer");
    assert!(
        other_name.exists(),
        "other names are not swept by this write"
    );
}

/// Which call of the write protocol fails, and how.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fail {
    Create,
    Write,
    Sync,
    Rename,
    SyncDir,
}

struct FailingLayer {
    fail: Fail,
    errno: i32,
    temps: Mutex<Vec<PathBuf>>,
}

struct FailingFile {
    inner: Box<dyn LayerFile>,
    fail: Fail,
    errno: i32,
}

impl LayerFile for FailingFile {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        if self.fail == Fail::Write {
            // Part of the data reaches the file before the error, as with a real ENOSPC.
            self.inner.write_all(&data[..data.len() / 2])?;
            return Err(io::Error::from_raw_os_error(self.errno));
        }
        self.inner.write_all(data)
    }
    fn sync_all(&mut self) -> io::Result<()> {
        if self.fail == Fail::Sync {
            return Err(io::Error::from_raw_os_error(self.errno));
        }
        self.inner.sync_all()
    }
}

impl FileLayer for FailingLayer {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn LayerFile>> {
        self.temps.lock().unwrap().push(path.to_path_buf());
        if self.fail == Fail::Create {
            return Err(io::Error::from_raw_os_error(self.errno));
        }
        Ok(Box::new(FailingFile {
            inner: OsLayer.create_new(path)?,
            fail: self.fail,
            errno: self.errno,
        }))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        if self.fail == Fail::Rename {
            return Err(io::Error::from_raw_os_error(self.errno));
        }
        OsLayer.rename(from, to)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        if self.fail == Fail::SyncDir {
            return Err(io::Error::from_raw_os_error(self.errno));
        }
        OsLayer.sync_dir(dir)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        OsLayer.remove_file(path)
    }
}

#[cfg(unix)]
#[test]
fn injected_write_errors() {
    let cases = [
        (Fail::Create, libc::EROFS, "open"),
        (Fail::Write, libc::ENOSPC, "write"),
        (Fail::Write, libc::EIO, "write"),
        (Fail::Sync, libc::EIO, "fsync"),
        (Fail::Sync, libc::ENOSPC, "fsync"),
        (Fail::Rename, libc::EIO, "rename"),
        (Fail::Rename, libc::EXDEV, "rename"),
    ];
    let payload: Vec<u8> = (0..2_500_000u32).map(|i| (i % 241) as u8).collect();
    for (fail, errno, op) in cases {
        let dir = tempfile::tempdir().unwrap();
        let id = SnapshotId::blob(dir.path(), "w", "1").unwrap();
        put_blob(&id, &token("old"), b"old snapshot", &Hooks::default()).unwrap();
        let before = std::fs::read(id.path()).unwrap();
        let layer = FailingLayer {
            fail,
            errno,
            temps: Mutex::new(Vec::new()),
        };
        let hooks = Hooks {
            file_layer: Some(&layer),
            ..Hooks::default()
        };
        let opened = open_or_build_blob(&id, &token("new"), &hooks, || {
            Ok::<_, Error>(payload.clone())
        })
        .unwrap();
        assert_eq!(opened.value.payload(), payload.as_slice(), "{fail:?}");
        assert!(!opened.persisted && !opened.loaded, "{fail:?}");
        let err = opened.persist_error.unwrap();
        assert_eq!(err.raw_os_error(), Some(errno), "{fail:?}: {err:?}");
        assert!(
            matches!(&err, Error::Io { op: o, .. } if *o == op),
            "{fail:?}: {err:?}"
        );
        assert_eq!(
            std::fs::read(id.path()).unwrap(),
            before,
            "{fail:?}: old snapshot untouched"
        );
        assert_eq!(layer.temps.lock().unwrap().len(), 1);
        assert!(leftovers(dir.path()).is_empty(), "{fail:?}: temp removed");
        assert_eq!(
            get_blob(&id, &token("old")).unwrap().unwrap().payload(),
            b"old snapshot"
        );
        let put = put_blob(&id, &token("new"), &payload, &hooks).unwrap();
        assert!(!put.persisted && put.persist_error.is_some());
    }
    // A directory fsync failure comes after the rename: the new file is complete but its
    // durability is unknown, so the write is reported as not persisted.
    let dir = tempfile::tempdir().unwrap();
    let id = SnapshotId::blob(dir.path(), "w", "1").unwrap();
    let layer = FailingLayer {
        fail: Fail::SyncDir,
        errno: libc::EIO,
        temps: Mutex::new(Vec::new()),
    };
    let hooks = Hooks {
        file_layer: Some(&layer),
        ..Hooks::default()
    };
    let opened = open_or_build_blob(&id, &token("new"), &hooks, build_ok(b"v")).unwrap();
    assert!(!opened.persisted);
    assert_eq!(
        opened.persist_error.unwrap().raw_os_error(),
        Some(libc::EIO)
    );
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn cancel_during_write_removes_the_temp() {
    let dir = tempfile::tempdir().unwrap();
    let id = SnapshotId::blob(dir.path(), "c", "1").unwrap();
    put_blob(&id, &token("old"), b"old", &Hooks::default()).unwrap();
    let before = std::fs::read(id.path()).unwrap();
    let cancel = modforge_core::Cancel::new();
    let events = Mutex::new(Vec::new());
    let progress = |p: &modforge_core::Progress<'_>| {
        events.lock().unwrap().push((p.stage, p.done, p.total));
        cancel.cancel();
    };
    let hooks = Hooks {
        control: modforge_core::Control {
            cancel: Some(&cancel),
            progress: Some(&progress),
        },
        ..Hooks::default()
    };
    let payload = vec![7u8; 3 << 20];
    let err = open_or_build_blob(&id, &token("new"), &hooks, || {
        Ok::<_, Error>(payload.clone())
    })
    .unwrap_err();
    assert!(matches!(err, Error::Aborted));
    assert_eq!(
        *events.lock().unwrap(),
        [(modforge_core::Stage::Write, 1 << 20, Some((3 << 20) + 192))]
    );
    assert!(leftovers(dir.path()).is_empty());
    assert_eq!(std::fs::read(id.path()).unwrap(), before);
    // Cancelled before building: the build never runs.
    let err = open_or_build_blob(&id, &token("new"), &hooks, || -> Result<Vec<u8>, Error> {
        panic!("must not build")
    })
    .unwrap_err();
    assert!(matches!(err, Error::Aborted));
    assert!(matches!(
        put_blob(&id, &token("new"), b"x", &hooks),
        Err(Error::Aborted)
    ));
}
