//! ERF-family archives as sources: the first key of a (resref, type) wins inside the archive.

use super::{Entry, EntryRef, Indexed, mtime_ns};
use crate::erf::Erf;
use crate::error::Error;
use crate::io::FileAt;

pub(super) fn index(indexed: &mut Indexed) -> Result<(), Error> {
    let path = indexed.info.path.clone();
    let file = FileAt::open(&path)?;
    let meta = file
        .file()
        .metadata()
        .map_err(|e| Error::io("fstat", &path, e))?;
    indexed.info.size = meta.len();
    indexed.info.mtime_ns = mtime_ns(&meta);
    let label = path.display().to_string();
    let erf = Erf::parse(&file, &label)?;
    indexed.info.hash = erf.key_list_hash;
    indexed.warnings.extend(erf.warnings);
    indexed.entries = erf
        .entries
        .iter()
        .map(|e| Entry {
            key: e.key,
            size: u64::from(e.size),
            mtime_ns: 0,
            at: EntryRef::Erf {
                index: e.index,
                offset: e.offset,
            },
            in_icon_dir: false,
        })
        .collect();
    Ok(())
}
