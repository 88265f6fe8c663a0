//! Folder sources, walked recursively with `walkdir`. Inside one folder tree deeper paths win,
//! then path order (docs/icons.md, "Precedence").

use std::io::Read;
use std::path::Path;

use xxhash_rust::xxh3::Xxh3;

use super::{
    Entry, EntryRef, IndexSettings, Indexed, SkippedName, key_of_name, mtime_ns, under_icon_dir,
};
use crate::error::Error;

/// Most skipped names listed per source (all are counted).
const SKIPPED_LIST_MAX: usize = 1000;

pub(super) fn index(indexed: &mut Indexed, settings: &IndexSettings) -> Result<(), Error> {
    let root = indexed.info.path.clone();
    let meta = std::fs::metadata(&root).map_err(|e| Error::io("stat", &root, e))?;
    if !meta.is_dir() {
        return Err(Error::io(
            "opendir",
            &root,
            std::io::Error::from(std::io::ErrorKind::NotADirectory),
        ));
    }
    indexed.info.mtime_ns = mtime_ns(&meta);
    let label = indexed.info.label.clone();
    let mut found: Vec<(usize, String, Entry)> = Vec::new();
    let mut skipped = 0u64;
    for item in walkdir::WalkDir::new(&root).follow_links(true).min_depth(1) {
        let item = match item {
            Ok(item) => item,
            Err(e) => {
                indexed.warnings.push(format!("{label}: {e}"));
                continue;
            }
        };
        if !item.file_type().is_file() {
            continue;
        }
        let Ok(rel_path) = item.path().strip_prefix(&root) else {
            continue;
        };
        let rel: String = rel_path
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let key = match key_of_name(&rel) {
            Ok(Some(key)) => key,
            Ok(None) => {
                indexed.unknown_types += 1;
                continue;
            }
            Err(problem) => {
                skipped += 1;
                if indexed.skipped_names.len() < SKIPPED_LIST_MAX {
                    indexed.skipped_names.push(SkippedName {
                        source: label.clone(),
                        name: rel,
                        problem,
                    });
                }
                continue;
            }
        };
        let meta = match item.metadata() {
            Ok(m) => m,
            Err(e) => {
                indexed.warnings.push(format!("{label}: {rel}: {e}"));
                continue;
            }
        };
        let in_icon_dir = under_icon_dir(&rel, &settings.icon_dirs);
        found.push((
            item.depth(),
            rel.to_ascii_lowercase(),
            Entry {
                key,
                size: meta.len(),
                mtime_ns: mtime_ns(&meta),
                at: EntryRef::File { rel: rel.into() },
                in_icon_dir,
            },
        ));
    }
    if skipped > SKIPPED_LIST_MAX as u64 {
        indexed.warnings.push(format!(
            "{label}: {skipped} names skipped, the first {SKIPPED_LIST_MAX} are listed"
        ));
    }
    // Tree hash over the lower-cased relative paths in byte order.
    found.sort_by(|a, b| a.1.cmp(&b.1));
    let mut hasher = Xxh3::new();
    for (_, lower, entry) in &found {
        hasher.update(&(lower.len() as u32).to_le_bytes());
        hasher.update(lower.as_bytes());
        hasher.update(&entry.size.to_le_bytes());
        hasher.update(&entry.mtime_ns.to_le_bytes());
    }
    indexed.info.hash = hasher.digest();
    // Precedence inside the tree: deeper first, then path order.
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    indexed.entries = found.into_iter().map(|(_, _, e)| e).collect();
    Ok(())
}

/// Reads `rel` under `root`, at most `max` bytes.
pub(super) fn read(root: &Path, rel: &str, max: u64) -> Result<Vec<u8>, Error> {
    if rel.split('/').any(|part| part == ".." || part.is_empty()) {
        return Err(Error::InvalidArg(format!(
            "{rel}: not a relative path inside {}",
            root.display()
        )));
    }
    let path = root.join(rel);
    let file = std::fs::File::open(&path).map_err(|e| Error::io("open", &path, e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("fstat", &path, e))?
        .len();
    if len > max {
        return Err(Error::limit(
            &path.display().to_string(),
            format!("file of {len} bytes (at most {max})"),
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(max)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("read", &path, e))?;
    Ok(bytes)
}
