//! File names (docs/store.md, "File names"): `<enc(name)>_<enc(version)>.mfs`, temp files and
//! deferred deletions.

use crate::error::Error;

/// Extension of snapshot files.
pub const SNAPSHOT_EXT: &str = "mfs";
const MAX_FILE_NAME: usize = 255;

/// Encodes a name or version for a file name (docs/store.md, "File names"): `[a-z0-9.-]` stay
/// (a leading `.` is encoded, so no snapshot is a hidden file), a capital letter `A`–`Z` is written
/// as `+` followed by the letter, every other byte of the UTF-8 string as `%XX` (upper-case hex).
///
/// The encoding is injective even on case-insensitive file systems: a literal `+`, `_` or `%` is
/// always encoded, so after folding case every `+x` still marks a capital and every `%XX` a byte.
/// `_` never appears, so the first `_` of a file name separates name from version.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, b) in text.bytes().enumerate() {
        let keep =
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (b == b'.' && i > 0);
        if keep {
            out.push(char::from(b));
        } else if b.is_ascii_uppercase() {
            out.push('+');
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The encoding of `text` before capitals were written as `+` and the letter (each capital was
/// `%XX`), when it differs from the current one: the name part of this name's files written by
/// earlier releases, which sweeps remove (docs/store.md, "File names").
pub(crate) fn former_encoding(text: &str) -> Option<String> {
    if !text.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut out = String::with_capacity(text.len() * 3);
    for (i, b) in text.bytes().enumerate() {
        let keep =
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (b == b'.' && i > 0);
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Some(out)
}

/// Checks a snapshot name: not empty, and free of U+FFFD, the replacement character a lone
/// surrogate of a JavaScript string turns into (two different such names would share a file).
pub fn validate_name(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::InvalidArgument(
            "snapshot name must not be empty".into(),
        ));
    }
    if name.contains(char::REPLACEMENT_CHARACTER) {
        return Err(Error::InvalidArgument(format!(
            "snapshot name {name:?} contains U+FFFD (a lone surrogate in a JavaScript string becomes U+FFFD, so such names are not unique)"
        )));
    }
    Ok(())
}

/// Checks a snapshot directory: an empty path is refused (it would silently mean the working
/// directory, usually by mistake, e.g. an unset environment variable); `.` names the working
/// directory explicitly.
pub fn validate_dir(dir: &std::path::Path) -> Result<(), Error> {
    if dir.as_os_str().is_empty() {
        return Err(Error::InvalidArgument(
            "snapshot directory must not be empty (use \".\" for the working directory)".into(),
        ));
    }
    Ok(())
}

/// The snapshot file name of a name and version; an encoded name over 255 bytes is an invalid
/// argument, as is a name [`validate_name`] refuses.
pub fn snapshot_file_name(name: &str, version: &str) -> Result<String, Error> {
    validate_name(name)?;
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
            "+My%5F+Data_1%2F2.mfs"
        );
        assert_eq!(
            snapshot_file_name("Nouns", "V1.0+build").unwrap(),
            "+Nouns_+V1.0%2Bbuild.mfs"
        );
        assert_eq!(
            snapshot_file_name(".cfg", "é").unwrap(),
            "%2Ecfg_%C3%A9.mfs"
        );
        assert!(snapshot_file_name(&"x".repeat(250), "1").is_err());
        assert!(snapshot_file_name(&"X".repeat(130), "1").is_err());
        assert!(snapshot_file_name("", "1").is_err());
        assert!(snapshot_file_name("\u{FFFD}", "1").is_err());
    }

    /// Folds ASCII case, as a case-insensitive file system compares names.
    fn folded(name: &str) -> String {
        name.to_ascii_lowercase()
    }

    #[test]
    fn names_differing_in_case_or_markers_never_share_a_file() {
        let names = [
            "nouns", "Nouns", "NOUNS", "nOuns", "+nouns", "+Nouns", "%4Eouns", "n+ouns", "N", "n",
            "+n", "+N", "%2BN", "_", "%", "+", "a_b", "a%5Fb", "A_B",
        ];
        let mut seen = std::collections::HashMap::new();
        for name in names {
            let file = folded(&encode_component(name));
            if let Some(other) = seen.insert(file.clone(), name) {
                panic!("{name:?} and {other:?} both map to {file}");
            }
        }
    }

    #[test]
    fn the_former_encoding_is_known_for_names_with_capitals() {
        assert_eq!(former_encoding("My_Data").as_deref(), Some("%4Dy%5F%44ata"));
        assert_eq!(former_encoding("nouns"), None);
        // It can never be a current encoding: capitals are never percent-encoded now.
        assert_ne!(former_encoding("Nouns").unwrap(), encode_component("Nouns"));
    }

    #[test]
    fn empty_dirs_are_refused() {
        assert!(validate_dir(std::path::Path::new("")).is_err());
        assert!(validate_dir(std::path::Path::new(".")).is_ok());
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
