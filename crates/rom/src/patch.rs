//! Writing edits into a copy of a ROM (docs/rom.md, "Patching"): the open image never changes;
//! the patched copy gets a fixed checksum and complement and is written atomically (temp file
//! in the destination folder, fsync, rename, folder fsync).

use std::path::{Path, PathBuf};

use modforge_core::{Control, Progress, Stage};
use modforge_store::Hooks;

use crate::error::Error;
use crate::rom::{RomFile, fix_checksum};

/// A patched image and, when the ROM has a header, its new (checksum, complement).
pub type Patched = (Vec<u8>, Option<(u16, u16)>);

/// Applies `edits` (ROM offset, bytes) to `rom`; an edit outside the ROM is an InvalidArgument
/// error and nothing is applied.
pub fn apply(rom: &mut [u8], edits: &[(u64, &[u8])]) -> Result<(), Error> {
    for (offset, bytes) in edits {
        let end = offset.checked_add(bytes.len() as u64);
        if end.is_none_or(|e| e > rom.len() as u64) {
            return Err(Error::InvalidArgument(format!(
                "a {}-byte edit at {offset} is outside the {}-byte ROM",
                bytes.len(),
                rom.len()
            )));
        }
    }
    for (offset, bytes) in edits {
        let start = usize::try_from(*offset).unwrap_or(usize::MAX);
        if let Some(slot) = rom.get_mut(start..start.saturating_add(bytes.len())) {
            slot.copy_from_slice(bytes);
        }
    }
    Ok(())
}

/// What [`RomFile::patch_to`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchReport {
    /// The file written.
    pub path: PathBuf,
    /// Bytes written (the whole image, copier header included).
    pub bytes: u64,
    /// The new checksum and complement, when the ROM has a detected header.
    pub checksum: Option<(u16, u16)>,
}

/// Writes `bytes` as `dest` atomically through the store's plain-file write (a temp file beside
/// it, fsync, rename over `dest`, fsync of the folder; docs/store.md, "Writes"), reporting
/// `write` progress in bytes. On any failure the temp file is removed and `dest` is untouched.
pub fn write_atomic(dest: &Path, bytes: &[u8], control: &Control<'_>) -> Result<(), Error> {
    let hooks = Hooks {
        control: *control,
        ..Hooks::default()
    };
    modforge_store::write_file(dest, bytes, &hooks).map_err(|e| match e {
        modforge_store::Error::Io { op, path, source } => Error::io(op, path, source),
        modforge_store::Error::Aborted => Error::Aborted,
        other => Error::InvalidArgument(other.to_string()),
    })
}

impl RomFile {
    /// The ROM image with `edits` applied (a copy; the open image never changes) and, when a
    /// header was detected, its checksum and complement fixed. The copier header is kept.
    pub fn patched_image(&self, edits: &[(u64, &[u8])]) -> Result<Patched, Error> {
        let lease = self.lease()?;
        let mut image = lease.image().to_vec();
        let rom = image
            .get_mut(self.copier_header() as usize..)
            .unwrap_or_default();
        apply(rom, edits)?;
        let fixed = match self.header() {
            Some(h) => usize::try_from(h.offset)
                .ok()
                .and_then(|t| fix_checksum(rom, t)),
            None => None,
        };
        Ok((image, fixed))
    }

    /// Writes a copy of the ROM with `edits` applied and the header checksum fixed to `dest`,
    /// atomically. The open image is never modified (`dest` may be the ROM's own path: the file
    /// is replaced, [`RomFile::is_stale`] then reports it).
    pub fn patch_to(
        &self,
        edits: &[(u64, &[u8])],
        dest: &Path,
        control: &Control<'_>,
    ) -> Result<PatchReport, Error> {
        let (image, checksum) = self.patched_image(edits)?;
        control.report(Progress::of(Stage::Patch, 0, 1).at(self.label()));
        write_atomic(dest, &image, control)?;
        control.report(Progress::of(Stage::Patch, 1, 1).at(self.label()));
        Ok(PatchReport {
            path: dest.to_path_buf(),
            bytes: image.len() as u64,
            checksum,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_are_bounds_checked_before_any_is_applied() {
        let mut rom = vec![0u8; 16];
        apply(&mut rom, &[(2, &[1, 2]), (15, &[9])]).unwrap();
        assert_eq!(&rom[..4], &[0, 0, 1, 2]);
        assert_eq!(rom[15], 9);
        let err = apply(&mut rom, &[(0, &[7]), (15, &[1, 2])]).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)));
        assert_eq!(rom[0], 0, "nothing applied");
        assert!(apply(&mut rom, &[(u64::MAX, &[1])]).is_err());
    }

    #[test]
    fn atomic_write_replaces_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.sfc");
        std::fs::write(&dest, b"old").unwrap();
        write_atomic(&dest, b"new bytes", &Control::default()).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"new bytes");
        let cancel = modforge_core::Cancel::new();
        cancel.cancel();
        let err = write_atomic(&dest, b"never", &Control::cancel(&cancel)).unwrap_err();
        assert!(matches!(err, Error::Aborted));
        assert_eq!(std::fs::read(&dest).unwrap(), b"new bytes");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temp file left");
    }
}
