//! File names (docs/store.md, "File names"): `<enc(name)>_<enc(version)>.mfs`, temp files and
//! deferred deletions.

use crate::error::Error;

/// Extension of snapshot files.
pub const SNAPSHOT_EXT: &str = "mfs";
const MAX_FILE_NAME: usize = 255;

/// Percent-encodes a name or version: `[a-z0-9.-]` stay (a leading `.` is encoded), every other
/// byte of the UTF-8 string becomes `%XX` (upper-case hex). `_` and capitals are always encoded,
/// so the first `_` of a file name separates name from version and case-insensitive file systems
/// never merge two names.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, b) in text.bytes().enumerate() {
        let keep =
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (b == b'.' && i > 0);
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The snapshot file name of a name and version; an encoded name over 255 bytes is an invalid
/// argument, as is an empty name.
pub fn snapshot_file_name(name: &str, version: &str) -> Result<String, Error> {
    if name.is_empty() {
        return Err(Error::InvalidArgument(
            "snapshot name must not be empty".into(),
        ));
    }
    let file = format!(
        "{}_{}.{SNAPSHOT_EXT}",
        encode_component(name),
        encode_component(version)
    );
    if file.len() > MAX_FILE_NAME {
        return Err(Error::InvalidArgument(format!(
            "encoded file name of {name:?} version {version:?} is {} bytes (at most {MAX_FILE_NAME})",
            file.len()
        )));
    }
    Ok(file)
}

/// `<final>.<pid>.<16 random hex>.tmp`
pub(crate) fn temp_file_name(final_name: &str) -> String {
    format!(
        "{final_name}.{}.{:016x}.tmp",
        std::process::id(),
        fastrand::u64(..)
    )
}

/// `<final>.<16 random hex>.del`
pub(crate) fn deleted_file_name(final_name: &str) -> String {
    format!("{final_name}.{:016x}.del", fastrand::u64(..))
}

/// What a directory entry is, as far as this store is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A snapshot `<name>_<version>.mfs`.
    Snapshot,
    /// A writer's temp file.
    Temp,
    /// A snapshot renamed for deletion.
    Deleted,
}

/// Classifies a file name; returns the kind and the encoded name part (before the first `_`).
pub fn classify(file_name: &str) -> Option<(EntryKind, &str)> {
    let (kind, snapshot) = if let Some(rest) = file_name.strip_suffix(".tmp") {
        // <final>.<pid>.<hex>
        let rest = strip_hex_part(rest)?;
        let (rest, pid) = rest.rsplit_once('.')?;
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        (EntryKind::Temp, rest)
    } else if let Some(rest) = file_name.strip_suffix(".del") {
        (EntryKind::Deleted, strip_hex_part(rest)?)
    } else {
        (EntryKind::Snapshot, file_name)
    };
    let stem = snapshot.strip_suffix(".mfs")?;
    let (name, _version) = stem.split_once('_')?;
    if name.is_empty() {
        return None;
    }
    Some((kind, name))
}

fn strip_hex_part(text: &str) -> Option<&str> {
    let (rest, hex) = text.rsplit_once('.')?;
    (hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors() {
        assert_eq!(
            snapshot_file_name("nouns", "v0.1.0").unwrap(),
            "nouns_v0.1.0.mfs"
        );
        assert_eq!(
            snapshot_file_name("My_Data", "1/2").unwrap(),
            "%4Dy%5F%44ata_1%2F2.mfs"
        );
        assert_eq!(
            snapshot_file_name(".cfg", "é").unwrap(),
            "%2Ecfg_%C3%A9.mfs"
        );
        assert!(snapshot_file_name(&"x".repeat(250), "1").is_err());
        assert!(snapshot_file_name(&"X".repeat(90), "1").is_err());
        assert!(snapshot_file_name("", "1").is_err());
    }

    #[test]
    fn classification() {
        let f = snapshot_file_name("a.b", "v1.mfs.2").unwrap();
        assert_eq!(classify(&f), Some((EntryKind::Snapshot, "a.b")));
        let t = temp_file_name(&f);
        assert_eq!(classify(&t), Some((EntryKind::Temp, "a.b")));
        let d = deleted_file_name(&f);
        assert_eq!(classify(&d), Some((EntryKind::Deleted, "a.b")));
        assert_eq!(classify("readme.txt"), None);
        assert_eq!(classify("noversion.mfs"), None);
        assert_eq!(classify("a_1.mfs.x.tmp"), None);
    }
}
