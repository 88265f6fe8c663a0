//! Removing snapshots and leftovers: `invalidate` and `clean` (docs/store.md, "Writes": removal).

use std::path::Path;

use crate::error::Error;
use crate::layer::OsLayer;
use crate::names;
use crate::write::{self, Sweep};

/// Counts of files removed by [`invalidate`] or [`clean`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    /// Files deleted.
    pub removed: u64,
    /// Files that could not be deleted now (held open elsewhere, e.g. mapped on Windows); they are
    /// renamed out of the way where possible and swept later.
    pub deferred: u64,
}

/// Removes `name`'s snapshots of every version and all its temp and `.del` files from `dir`
/// (rename to `.del`, then delete), also those under the name's former encoding. A missing
/// directory removes nothing.
pub fn invalidate(dir: &Path, name: &str) -> Result<Removed, Error> {
    names::validate_dir(dir)?;
    names::validate_name(name)?;
    let mut swept = write::sweep(
        &OsLayer,
        dir,
        &names::encode_component(name),
        Sweep::Invalidate,
    );
    // Files of this name under its former encoding (docs/store.md, "File names").
    if let Some(former) = names::former_encoding(name) {
        let old = write::sweep(&OsLayer, dir, &former, Sweep::Invalidate);
        swept.removed += old.removed;
        swept.deferred += old.deferred;
    }
    Ok(Removed {
        removed: swept.removed,
        deferred: swept.deferred,
    })
}

/// Removes every temp (`.tmp`) and deferred-deletion (`.del`) file of every name in `dir`,
/// whatever its age. Run it when no writer is active: a live writer's temp file would be removed
/// and its write reported as not persisted.
pub fn clean(dir: &Path) -> Result<Removed, Error> {
    names::validate_dir(dir)?;
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(Error::InvalidArgument(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        Err(e) => return Err(Error::io("stat", dir, e)),
    }
    let swept = write::sweep(&OsLayer, dir, "", Sweep::TempFiles);
    Ok(Removed {
        removed: swept.removed,
        deferred: swept.deferred,
    })
}
