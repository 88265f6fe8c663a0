//! Writing edits into a copy of a ROM (docs/rom.md, "Patching"): the open image never changes;
//! the patched copy gets a fixed checksum and complement and is written atomically (temp file
//! in the destination folder, fsync, rename, folder fsync).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use modforge_core::{Control, Progress, Stage};

use crate::error::Error;
use crate::rom::RomFile;

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

/// Writes `bytes` as `dest` atomically: a temp file beside it, fsync, rename over `dest`,
/// fsync of the folder. On any failure the temp file is removed and `dest` is untouched.
///
/// The store crate keeps the same protocol for snapshot files only (it writes its container
/// header); this is the equivalent for a plain file.
pub fn write_atomic(dest: &Path, bytes: &[u8], control: &Control<'_>) -> Result<(), Error> {
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dest
        .file_name()
        .ok_or_else(|| Error::InvalidArgument(format!("{} names no file", dest.display())))?;
    let nonce = xxhash_rust::xxh3::xxh3_64(
        format!(
            "{:?}{:?}{}",
            std::time::SystemTime::now(),
            std::thread::current().id(),
            std::process::id()
        )
        .as_bytes(),
    );
    let temp = dir.join(format!(
        ".{}.{}.{nonce:016x}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = write_temp(&temp, bytes, control)
        .and_then(|()| std::fs::rename(&temp, dest).map_err(|e| Error::io("rename", dest, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
        return result;
    }
    #[cfg(unix)]
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync", &dir, e))?;
    Ok(())
}

fn write_temp(temp: &Path, bytes: &[u8], control: &Control<'_>) -> Result<(), Error> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temp)
        .map_err(|e| Error::io("open", temp, e))?;
    let total = bytes.len() as u64;
    let mut done = 0u64;
    for chunk in bytes.chunks(1 << 20) {
        control.check()?;
        file.write_all(chunk)
            .map_err(|e| Error::io("write", temp, e))?;
        done += chunk.len() as u64;
        control.report(Progress::of(Stage::Write, done, total));
    }
    control.check()?;
    file.sync_all().map_err(|e| Error::io("fsync", temp, e))
}

impl RomFile {
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
