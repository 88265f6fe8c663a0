//! ZIP archives (`Data/*.zip`) as sources, read through the `zip` crate: its parsed central
//! directory is kept, the file is opened again for every read (docs/icons.md, "ZIP").

use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use xxhash_rust::xxh3::Xxh3;
use zip::read::ZipArchiveMetadata;
use zip::{CompressionMethod, ZipArchive, ZipReadOptions};

use super::{
    Backing, Entry, EntryRef, IndexSettings, Indexed, SkippedName, key_of_name, mtime_ns,
    under_icon_dir,
};
use crate::error::Error;
use crate::io::{FileAt, ReadAt};

/// The parsed central directory of one archive.
pub(crate) struct ZipBacking {
    meta: Arc<ZipArchiveMetadata>,
}

pub(super) fn index(indexed: &mut Indexed, settings: &IndexSettings) -> Result<(), Error> {
    let path = indexed.info.path.clone();
    let label = path.display().to_string();
    let file = FileAt::open(&path)?;
    let meta = file
        .file()
        .metadata()
        .map_err(|e| Error::io("fstat", &path, e))?;
    indexed.info.size = meta.len();
    indexed.info.mtime_ns = mtime_ns(&meta);
    let archive = ZipArchive::new(BufReader::with_capacity(64 * 1024, file.cursor()))
        .map_err(|e| Error::format(&label, 0, format!("a ZIP archive: {e}")))?;
    let start = archive.central_directory_start().min(file.len());
    let directory = file.read_range(start, file.len() - start)?;
    let mut hasher = Xxh3::new();
    hasher.update(&directory);
    indexed.info.hash = hasher.digest();
    let shared = archive.metadata();
    for i in 0..shared.len() {
        let Ok(entry) = shared.entry(i) else {
            continue;
        };
        if entry.is_dir() {
            continue;
        }
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if entry.encrypted() {
            indexed
                .warnings
                .push(format!("{label}: {name}: encrypted entry skipped"));
            continue;
        }
        if !matches!(
            entry.compression(),
            CompressionMethod::Stored | CompressionMethod::Deflated
        ) {
            indexed.warnings.push(format!(
                "{label}: {name}: compression method {} skipped (only 0 and 8 are read)",
                entry.compression()
            ));
            continue;
        }
        let key = match key_of_name(&name) {
            Ok(Some(key)) => key,
            Ok(None) => {
                indexed.unknown_types += 1;
                continue;
            }
            Err(problem) => {
                indexed.skipped_names.push(SkippedName {
                    source: indexed.info.label.clone(),
                    name,
                    problem,
                });
                continue;
            }
        };
        let in_icon_dir = under_icon_dir(&name, &settings.icon_dirs);
        indexed.entries.push(Entry {
            key,
            size: entry.size(),
            mtime_ns: 0,
            at: EntryRef::Zip {
                index: i as u32,
                name: name.into(),
            },
            in_icon_dir,
        });
    }
    indexed.backing = Backing::Zip(Arc::new(ZipBacking { meta: shared }));
    Ok(())
}

impl ZipBacking {
    /// Reads entry `index` (expected to be named `name` and `size` bytes) from the archive at
    /// `path`, checking its CRC-32.
    pub(crate) fn read(
        &self,
        path: &Path,
        index: u32,
        name: &str,
        size: u64,
        label: &str,
    ) -> Result<Vec<u8>, Error> {
        let entry = self
            .meta
            .entry(index as usize)
            .map_err(|e| Error::format(label, 0, format!("ZIP entry {index}: {e}")))?;
        if String::from_utf8_lossy(entry.name_raw()) != name || entry.size() != size {
            return Err(Error::format(
                label,
                entry.central_header_start(),
                "the archive as it was indexed (it changed since)",
            ));
        }
        let file = FileAt::open(path)?;
        let mut cursor = file.cursor();
        let mut reader = entry
            .with_reader(&mut cursor, ZipReadOptions::new())
            .map_err(|e| Error::format(label, 0, format!("a readable ZIP entry: {e}")))?;
        // The declared size is only a hint (it comes from the archive): start small, grow as data comes.
        let mut bytes = Vec::with_capacity(usize::try_from(size.min(1 << 24)).unwrap_or(0));
        (&mut reader)
            .take(size.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| Error::format(label, 0, format!("entry data matching its CRC-32: {e}")))?;
        if bytes.len() as u64 != size {
            return Err(Error::format(
                label,
                0,
                format!("{size} bytes of entry data, found {}", bytes.len()),
            ));
        }
        Ok(bytes)
    }
}
