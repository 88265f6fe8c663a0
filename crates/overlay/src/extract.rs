//! Listing and extracting WADs (docs/overlay.md, "readWad and extractWad"). Extracted files are
//! named from a CommunityDragon-style hash list (`<16 hex> <path>` per line) or
//! `<hash:016x>.bin`, so an extracted folder re-imports as a mod WAD folder. A listed path that
//! would leave the output folder (`..`, absolute, drive letters) or collide with another is
//! replaced by the hex name; no link inside the output folder is followed.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use modforge_core::{Control, Progress, Stage};
use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Error, Result, label};
use crate::io::read_exact_at;
use crate::report::{Warning, WarningCode};
use crate::wad::{
    DecodeError, Toc, TocEntry, decode_chunk, find_subchunk_toc, parse_toc, read_toc_from,
};

/// A WAD's header and TOC as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WadListing {
    /// `"3.4"`, `"2.1"`, ...
    pub version: String,
    /// The signature bytes (none in 1.x).
    pub signature: Option<Vec<u8>>,
    /// The header checksum (2.x, 3.x).
    pub checksum: Option<u64>,
    /// Entries in TOC order.
    pub entries: Vec<TocEntry>,
}

impl From<Toc> for WadListing {
    fn from(toc: Toc) -> Self {
        WadListing {
            version: toc.version(),
            signature: toc.signature,
            checksum: toc.checksum,
            entries: toc.entries,
        }
    }
}

/// Reads a WAD file's header and TOC (1.x, 2.x, 3.0–3.4).
pub fn read_wad(path: &Path) -> Result<WadListing> {
    let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("stat", path, e))?
        .len();
    let toc = read_toc_from(&file, len, &label(path), path)?;
    toc.check_bounds(&label(path))?;
    Ok(toc.into())
}

/// [`read_wad`] over bytes in memory (the whole file).
pub fn read_wad_bytes(bytes: &[u8], name: &str) -> Result<WadListing> {
    let toc = parse_toc(bytes, bytes.len() as u64, name)?;
    toc.check_bounds(name)?;
    Ok(toc.into())
}

/// Paths by path hash, from hash-list lines `<16 hex digits> <path>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HashList {
    paths: HashMap<u64, String>,
}

impl HashList {
    /// Parses hash-list text; lines that do not start with 16 hex digits and a space are skipped.
    pub fn parse(text: &str) -> HashList {
        let mut paths = HashMap::new();
        for line in text.lines() {
            let Some((hex, path)) = line.split_once(' ') else {
                continue;
            };
            let path = path.trim_end_matches(['\r', '\n']);
            if let Some(hash) = crate::report::hex64::parse(hex) {
                if !path.is_empty() {
                    paths.insert(hash, path.to_owned());
                }
            }
        }
        HashList { paths }
    }

    /// Reads and parses a hash-list file.
    pub fn load(path: &Path) -> Result<HashList> {
        let bytes = modforge_store::read_source(path, &Control::default())?;
        Ok(HashList::parse(&String::from_utf8_lossy(&bytes)))
    }

    /// The path of `hash`.
    pub fn get(&self, hash: u64) -> Option<&str> {
        self.paths.get(&hash).map(String::as_str)
    }

    /// Entries.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

/// Options of [`extract_wad`].
#[derive(Clone, Debug, Default)]
pub struct ExtractOptions {
    /// Names for the chunks; others are written as `<hash:016x>.bin`.
    pub hashes: Option<HashList>,
    /// Check every entry's checksum (3.1+) before writing; a mismatch is a Corrupt error.
    pub verify: bool,
}

/// What [`extract_wad`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtractReport {
    /// Files written.
    pub written: u64,
    /// Chunks skipped (undecodable types).
    pub skipped: u64,
    /// Warnings.
    pub warnings: Vec<Warning>,
}

/// The components of a hash-list path if it stays inside the output folder.
fn safe_components(path: &str) -> Option<Vec<&str>> {
    if path.starts_with(['/', '\\']) {
        return None;
    }
    let parts: Vec<&str> = path.split(['/', '\\']).collect();
    let ok = parts
        .iter()
        .all(|p| !p.is_empty() && *p != "." && *p != ".." && !p.contains([':', '\0']));
    ok.then_some(parts)
}

/// Creates the folders of `parts[..len-1]` under `root`, refusing links and files in the way.
/// Returns the folder to write into, or `None` on a collision.
fn make_parents(root: &Path, parts: &[&str]) -> Result<Option<PathBuf>> {
    let mut dir = root.to_path_buf();
    for part in &parts[..parts.len().saturating_sub(1)] {
        dir.push(part);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Ok(None),
            Err(_) => match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if !std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
                        return Ok(None);
                    }
                }
                Err(e) => return Err(Error::io("mkdir", &dir, e)),
            },
        }
    }
    Ok(Some(dir))
}

/// Extracts every chunk of the WAD at `path` into `out_dir` (created if missing).
pub fn extract_wad(
    path: &Path,
    out_dir: &Path,
    options: &ExtractOptions,
    control: &Control<'_>,
) -> Result<ExtractReport> {
    let name = label(path);
    let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("stat", path, e))?
        .len();
    let toc = read_toc_from(&file, len, &name, path)?;
    toc.check_bounds(&name)?;
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io("mkdir", out_dir, e))?;
    if std::fs::symlink_metadata(out_dir).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::InvalidArg(format!(
            "{} is a symbolic link",
            out_dir.display()
        )));
    }
    let read = |e: &TocEntry| -> Result<Vec<u8>> {
        let mut buf = vec![0u8; e.packed_size as usize];
        read_exact_at(&file, &mut buf, u64::from(e.offset))
            .map_err(|err| Error::io("read", path, err))?;
        Ok(buf)
    };
    let subchunks = find_subchunk_toc(&toc.entries, None, |e| {
        decode_chunk(e, &read(e).ok()?, None, &name).ok()
    });
    let mut report = ExtractReport::default();
    let mut seen = std::collections::HashSet::new();
    let total = toc.entries.len() as u64;
    let hooks = modforge_store::Hooks::default();
    for (i, e) in toc.entries.iter().enumerate() {
        control.check()?;
        control.report(Progress::of(Stage::Extract, i as u64, total));
        if !seen.insert(e.path_hash) {
            continue;
        }
        let packed = read(e)?;
        if options.verify && toc.major == 3 && toc.minor >= 1 && xxh3_64(&packed) != e.checksum {
            return Err(Error::corrupt(
                &name,
                Some(u64::from(e.offset)),
                format!(
                    "chunk {:016x} hashes to {:016x}, its entry records {:016x}",
                    e.path_hash,
                    xxh3_64(&packed),
                    e.checksum
                ),
            ));
        }
        let plain = match decode_chunk(e, &packed, subchunks.as_ref(), &name) {
            Ok(p) => p,
            Err(DecodeError::Undecodable(kind)) => {
                report.skipped += 1;
                report.warnings.push(
                    Warning::new(
                        WarningCode::UndecodableChunk,
                        format!("chunk {:016x} has type {kind}; not extracted", e.path_hash),
                    )
                    .at_hash(e.path_hash),
                );
                continue;
            }
            Err(DecodeError::Failed(err)) => return Err(err),
        };
        let hex = format!("{:016x}.bin", e.path_hash);
        let mut target: Option<(PathBuf, String)> = None;
        if let Some(listed) = options.hashes.as_ref().and_then(|h| h.get(e.path_hash)) {
            match safe_components(listed) {
                None => report.warnings.push(
                    Warning::new(
                        WarningCode::UnsafePath,
                        format!("{listed:?} would leave the output folder; written as {hex}"),
                    )
                    .at_hash(e.path_hash),
                ),
                Some(parts) => {
                    match make_parents(out_dir, &parts)? {
                        Some(dir) => {
                            let file_name = parts.last().copied().unwrap_or_default().to_owned();
                            let at = dir.join(&file_name);
                            if std::fs::symlink_metadata(&at).is_ok_and(|m| !m.is_file()) {
                                report.warnings.push(
                                Warning::new(WarningCode::PathCollision, format!("{listed:?} is taken by a folder or link; written as {hex}"))
                                    .at_hash(e.path_hash),
                            );
                            } else {
                                target = Some((dir, file_name));
                            }
                        }
                        None => report.warnings.push(
                            Warning::new(
                                WarningCode::PathCollision,
                                format!(
                                    "{listed:?} needs a folder where a file is; written as {hex}"
                                ),
                            )
                            .at_hash(e.path_hash),
                        ),
                    }
                }
            }
        }
        let (dir, file_name) = target.unwrap_or_else(|| (out_dir.to_path_buf(), hex));
        modforge_store::write_file(&dir.join(&file_name), &plain, &hooks)?;
        report.written += 1;
    }
    control.report(Progress::of(Stage::Extract, total, total));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_list_and_safe_paths() {
        let list = HashList::parse(
            "f716de620eda77c1 assets/characters/aatrox/skins/base/aatrox.dds\r\nnot a line\n0000000000000001 ../x\n",
        );
        assert_eq!(list.len(), 2);
        assert_eq!(
            list.get(0xf716de620eda77c1),
            Some("assets/characters/aatrox/skins/base/aatrox.dds")
        );
        assert!(safe_components("a/b.bin").is_some());
        for bad in [
            "../x",
            "/etc/passwd",
            "a/../../x",
            "C:/x",
            "a//b",
            "\\\\server\\x",
            "a/./b",
            "a\0b",
        ] {
            assert!(safe_components(bad).is_none(), "{bad}");
        }
    }
}
