//! Generation files `<cacheDir>/nwn2-icons.<generation>.snap`: naming, listing, writing through
//! the store's atomic protocol, loading, and removing leftovers (docs/icons.md, "Cache file").

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use modforge_store::{Expect, Fingerprint, Hooks, LoadOptions, Reason, Snapshot, Source};

use super::layout::{FORMAT_VERSION, KIND};
use crate::error::Error;

const PREFIX: &str = "nwn2-icons.";
const SUFFIX: &str = ".snap";
/// Temp files of a live writer younger than this are left alone even when its pid is unknown.
const STALE_TEMP_AGE: Duration = Duration::from_secs(10 * 60);

/// The file name of a generation.
pub(crate) fn file_name(generation: u64) -> String {
    format!("{PREFIX}{generation}{SUFFIX}")
}

/// The generation of a file name, if it is one.
pub(crate) fn generation_of(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Lists `dir` once: removes the temp files of writers that are gone (see [`clean_temps`]) and
/// returns the generation files, newest first. `None` when `dir` cannot be listed.
pub(crate) fn scan(dir: &Path) -> Option<Vec<(u64, PathBuf)>> {
    let entries = std::fs::read_dir(dir).ok()?;
    let now = SystemTime::now();
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if let Some(generation) = generation_of(&name) {
            out.push((generation, entry.path()));
        } else if let Some(pid) = temp_pid(&name) {
            remove_if_stale(&entry, pid, now);
        }
    }
    out.sort_by_key(|g| std::cmp::Reverse(g.0));
    Some(out)
}

/// Generation files of `dir`, newest first.
pub(crate) fn list(dir: &Path) -> Vec<(u64, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(u64, PathBuf)> = entries
        .flatten()
        .filter_map(|e| Some((generation_of(e.file_name().to_str()?)?, e.path())))
        .collect();
    out.sort_by_key(|g| std::cmp::Reverse(g.0));
    out
}

/// The container fingerprint: a token naming the cache format, the encoder and the settings,
/// so a file made with other settings is `stale` at load (source changes are checked against
/// the `sources` section instead, in O(sources)).
pub(crate) fn fingerprint(settings_hash: u64) -> Result<Fingerprint, Error> {
    modforge_store::fingerprint(&Source::Token(format!(
        "{KIND} format {FORMAT_VERSION} encoder {} settings {settings_hash:016x}",
        super::encoder_id()
    )))
    .map_err(|e| Error::Internal(format!("fingerprint: {e}")))
}

/// Writes generation `generation` atomically; returns its path.
pub(crate) fn write(
    dir: &Path,
    generation: u64,
    fingerprint: &Fingerprint,
    payload: &[u8],
    hooks: &Hooks<'_>,
) -> Result<PathBuf, Error> {
    let path = dir.join(file_name(generation));
    modforge_store::write_snapshot_file(
        &path,
        KIND,
        &FORMAT_VERSION.to_string(),
        fingerprint,
        payload,
        hooks,
    )
    .map_err(|e| match e {
        modforge_store::Error::Io { path, op, source } => Error::io(op, path, source),
        modforge_store::Error::Aborted => Error::Aborted,
        other => Error::Internal(other.to_string()),
    })
}

/// Maps a generation file privately (copy-on-write) with every header check but the payload
/// checksum, which validation runs later (`payload_checksum`, with ordinary reads).
pub(crate) fn load(path: &Path, fingerprint: &Fingerprint) -> Result<Snapshot, Reason> {
    let version = FORMAT_VERSION.to_string();
    let expect = Expect {
        kind: KIND,
        version: Some(&version),
        fingerprint,
    };
    modforge_store::load_file(
        path,
        &expect,
        LoadOptions {
            defer_payload_check: true,
            copy_on_write: true,
        },
    )
}

/// Removes the temp file of a generation write whose writer is gone (its pid is not running) or
/// that is older than ten minutes.
fn remove_if_stale(entry: &std::fs::DirEntry, pid: u32, now: SystemTime) {
    let old = entry
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| now.duration_since(t).ok())
        .is_some_and(|age| age >= STALE_TEMP_AGE);
    if old || !process_alive(pid) {
        let _ = std::fs::remove_file(entry.path());
    }
}

/// XXH3-128 of the payload of the snapshot file at `path` (everything after the header), read
/// with ordinary reads so that checking does not fault the whole mapping in.
pub(crate) fn payload_checksum(path: &Path) -> std::io::Result<(u64, u128)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut header = [0u8; modforge_store::HEADER_LEN];
    file.read_exact(&mut header)?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
        len += n as u64;
    }
    Ok((len, hasher.digest128()))
}

/// The writer's pid of a temp file name `nwn2-icons.<g>.snap.<pid>.<16 hex>.tmp`.
fn temp_pid(name: &str) -> Option<u32> {
    let rest = name.strip_suffix(".tmp")?;
    let (rest, hex) = rest.rsplit_once('.')?;
    if hex.len() != 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let (snap, pid) = rest.rsplit_once('.')?;
    generation_of(snap)?;
    pid.parse().ok()
}

#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    // Without a cheap liveness check, only the age rule removes temp files.
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(file_name(7), "nwn2-icons.7.snap");
        assert_eq!(generation_of("nwn2-icons.7.snap"), Some(7));
        assert_eq!(generation_of("nwn2-icons..snap"), None);
        assert_eq!(generation_of("nwn2-icons.7x.snap"), None);
        assert_eq!(
            temp_pid("nwn2-icons.7.snap.123.00112233aabbccdd.tmp"),
            Some(123)
        );
        assert_eq!(temp_pid("nwn2-icons.7.snap.123.0011.tmp"), None);
        assert_eq!(temp_pid("other.7.snap.123.00112233aabbccdd.tmp"), None);
    }
}
