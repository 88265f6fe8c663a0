//! Block copies between files (docs/overlay.md, "Output layout"): on Linux `copy_file_range`
//! (the kernel clones or copies in place where the file system can) and whole-file clones with
//! `FICLONE`; elsewhere, or when the kernel refuses (`EXDEV`, `EOPNOTSUPP`, `ENOSYS`, `EINVAL`),
//! a buffered copy in 8 MiB steps. Cancellation is checked between steps, and each step of a
//! region copied is handed to the device at once ([`start_writeback`]), so the copy and the disk
//! work together; small pieces leave that to the caller.

use std::fs::File;
use std::io;

use modforge_core::Control;

use crate::error::Error;
use crate::io::{read_exact_at, start_writeback, write_all_at};

/// Bytes moved per step.
const STEP: u64 = 8 << 20;

/// How a copy was done (reported by tests and benchmarks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyMethod {
    /// `copy_file_range`.
    Kernel,
    /// Read and write through a buffer.
    Buffered,
    /// A whole-file clone (`FICLONE`).
    Clone,
}

/// When the bytes copied are handed to the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Writeback {
    /// After each step: a region, so the disk writes while the copy goes on.
    EachStep,
    /// Left to the caller, which starts it once over many small pieces (a tail).
    ByCaller,
}

/// Copies `len` bytes from `src` at `src_off` to `dst` at `dst_off`.
pub(crate) fn copy_range(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: u64,
    writeback: Writeback,
    control: &Control<'_>,
) -> Result<CopyMethod, CopyError> {
    if len == 0 {
        return Ok(CopyMethod::Kernel);
    }
    #[cfg(target_os = "linux")]
    {
        match kernel_copy(src, src_off, dst, dst_off, len, writeback, control) {
            Ok(()) => return Ok(CopyMethod::Kernel),
            Err(CopyError::Unsupported) => {}
            Err(e) => return Err(e),
        }
    }
    buffered_copy(src, src_off, dst, dst_off, len, writeback, control)?;
    Ok(CopyMethod::Buffered)
}

/// Why a copy failed.
#[derive(Debug)]
pub(crate) enum CopyError {
    /// The kernel path is unavailable here (fall back).
    Unsupported,
    /// Reading the source failed.
    Read(io::Error),
    /// Writing the destination failed.
    Write(io::Error),
    /// The copy was cancelled.
    Aborted,
}

impl From<modforge_core::Aborted> for CopyError {
    fn from(_: modforge_core::Aborted) -> Self {
        CopyError::Aborted
    }
}

impl CopyError {
    /// As the crate error, naming the source and destination paths.
    pub(crate) fn into_error(self, src: &std::path::Path, dst: &std::path::Path) -> Error {
        match self {
            CopyError::Unsupported => Error::Internal("copy fallback not taken".into()),
            CopyError::Read(e) => Error::io("read", src, e),
            CopyError::Write(e) => Error::io("write", dst, e),
            CopyError::Aborted => Error::Aborted,
        }
    }
}

#[cfg(target_os = "linux")]
fn kernel_copy(
    src: &File,
    mut src_off: u64,
    dst: &File,
    mut dst_off: u64,
    len: u64,
    writeback: Writeback,
    control: &Control<'_>,
) -> Result<(), CopyError> {
    let mut left = len;
    let mut first = true;
    while left > 0 {
        control.check()?;
        let step = usize::try_from(left.min(STEP)).unwrap_or(STEP as usize);
        let step_start = dst_off;
        match rustix::fs::copy_file_range(src, Some(&mut src_off), dst, Some(&mut dst_off), step) {
            Ok(0) => {
                return Err(CopyError::Read(io::Error::from(
                    io::ErrorKind::UnexpectedEof,
                )));
            }
            Ok(n) => {
                left -= n as u64;
                if writeback == Writeback::EachStep {
                    start_writeback(dst, step_start, n as u64);
                }
            }
            Err(e) if first && fallback_errno(e) => return Err(CopyError::Unsupported),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(CopyError::Write(io::Error::from(e))),
        }
        first = false;
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn fallback_errno(e: rustix::io::Errno) -> bool {
    use rustix::io::Errno;
    matches!(
        e,
        Errno::XDEV | Errno::OPNOTSUPP | Errno::NOSYS | Errno::INVAL | Errno::PERM
    )
}

fn buffered_copy(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: u64,
    writeback: Writeback,
    control: &Control<'_>,
) -> Result<(), CopyError> {
    let mut buf = vec![0u8; usize::try_from(len.min(STEP)).unwrap_or(STEP as usize)];
    let mut done = 0u64;
    while done < len {
        control.check()?;
        let step = usize::try_from((len - done).min(STEP)).unwrap_or(buf.len());
        read_exact_at(src, &mut buf[..step], src_off + done).map_err(CopyError::Read)?;
        write_all_at(dst, &buf[..step], dst_off + done).map_err(CopyError::Write)?;
        if writeback == Writeback::EachStep {
            start_writeback(dst, dst_off + done, step as u64);
        }
        done += step as u64;
    }
    Ok(())
}

/// Clones all of `src` into the empty file `dst` sharing blocks (`FICLONE`); `false` when the
/// file system cannot (the caller then copies).
pub(crate) fn clone_file(src: &File, dst: &File) -> bool {
    #[cfg(target_os = "linux")]
    {
        rustix::fs::ioctl_ficlone(dst, src).is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (src, dst);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_ranges_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7) as u8).collect();
        std::fs::write(dir.path().join("s"), &data).unwrap();
        let src = File::open(dir.path().join("s")).unwrap();
        let dst = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.path().join("d"))
            .unwrap();
        let c = Control::default();
        copy_range(&src, 100, &dst, 10, 5000, Writeback::EachStep, &c).unwrap();
        buffered_copy(&src, 9000, &dst, 5010, 3000, Writeback::ByCaller, &c).unwrap();
        let out = std::fs::read(dir.path().join("d")).unwrap();
        assert_eq!(out.len(), 8010);
        assert_eq!(&out[10..5010], &data[100..5100]);
        assert_eq!(&out[5010..8010], &data[9000..12000]);
        assert!(matches!(
            copy_range(&src, 19_000, &dst, 0, 5000, Writeback::ByCaller, &c),
            Err(CopyError::Read(_))
        ));
        let cancel = modforge_core::Cancel::new();
        cancel.cancel();
        assert!(matches!(
            copy_range(
                &src,
                0,
                &dst,
                0,
                10,
                Writeback::EachStep,
                &Control::cancel(&cancel)
            ),
            Err(CopyError::Aborted)
        ));
    }
}
