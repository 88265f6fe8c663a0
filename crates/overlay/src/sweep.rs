//! The orphan sweep (docs/overlay.md, "Crash safety"): on every build, the skip included, every
//! file under `<overlayDir>/DATA` whose path is not a key of the new WAD set is removed (stray
//! `.tmp` files of a killed build included), then every emptied folder. Links are removed, never
//! followed; nothing outside `<overlayDir>/DATA` is touched.

use std::collections::HashSet;
use std::path::Path;

use modforge_core::{Control, Progress, Stage};

use crate::error::{Error, Result};
use crate::game::key_of;

/// Removes orphans under `overlay_dir/DATA`; `keep` holds lower-case keys (`DATA/…`, `/`).
/// Returns the number of files removed.
pub(crate) fn sweep(
    overlay_dir: &Path,
    keep: &HashSet<String>,
    control: &Control<'_>,
) -> Result<u64> {
    let data = overlay_dir.join("DATA");
    match std::fs::symlink_metadata(&data) {
        Ok(meta) if meta.file_type().is_symlink() || meta.is_file() => {
            std::fs::remove_file(&data).map_err(|e| Error::io("unlink", &data, e))?;
            return Ok(1);
        }
        Ok(_) => {}
        Err(_) => return Ok(0),
    }
    let mut removed = 0u64;
    for entry in walkdir::WalkDir::new(&data)
        .follow_links(false)
        .contents_first(true)
    {
        let Ok(entry) = entry else { continue };
        control.check()?;
        let path = entry.path();
        if entry.file_type().is_dir() {
            // Fails (and is left alone) while the folder still holds something.
            let _ = std::fs::remove_dir(path);
            continue;
        }
        let Ok(rel) = path.strip_prefix(overlay_dir) else {
            continue;
        };
        if !keep.contains(&key_of(rel).to_lowercase()) {
            std::fs::remove_file(path).map_err(|e| Error::io("unlink", path, e))?;
            removed += 1;
            control.report(Progress::of(Stage::Sweep, removed, removed));
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_strays_and_empty_folders_only_under_data() {
        let dir = tempfile::tempdir().unwrap();
        let o = dir.path();
        std::fs::create_dir_all(o.join("DATA/FINAL/Champions")).unwrap();
        std::fs::create_dir_all(o.join("DATA/FINAL/Maps/Empty")).unwrap();
        std::fs::write(o.join("DATA/FINAL/Champions/Aatrox.wad.client"), b"k").unwrap();
        std::fs::write(o.join("DATA/FINAL/Champions/Aatrox.wad.client.tmp"), b"t").unwrap();
        std::fs::write(o.join("DATA/FINAL/Maps/x.wad.client"), b"x").unwrap();
        std::fs::write(o.join("outside.txt"), b"o").unwrap();
        let keep: HashSet<String> = ["data/final/champions/aatrox.wad.client".to_owned()].into();
        let n = sweep(o, &keep, &Control::default()).unwrap();
        assert_eq!(n, 2);
        assert!(o.join("DATA/FINAL/Champions/Aatrox.wad.client").exists());
        assert!(!o.join("DATA/FINAL/Maps").exists());
        assert!(o.join("outside.txt").exists());
        let n = sweep(o, &HashSet::new(), &Control::default()).unwrap();
        assert_eq!(n, 1);
        assert!(!o.join("DATA").exists());
        assert!(o.join("outside.txt").exists());
    }
}
