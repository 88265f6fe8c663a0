//! Listing directories and reading entry metadata relative to the open directory
//! (docs/profile.md, "Engine").
//!
//! Two backends with the same interface: on Linux and Apple systems `rustix` (`openat`,
//! `getdents64` through `RawDir` on Linux, `readdir` on Apple systems, `fstatat(dirfd, name,
//! AT_SYMLINK_NOFOLLOW)`; names are borrowed from the stream, the kind comes from `d_type`, and a
//! `DT_UNKNOWN` entry costs one `fstatat` whose result is kept); elsewhere std's `fs::read_dir` and
//! `DirEntry::metadata()`, which on Windows come from the enumeration itself.

#[cfg(any(target_os = "linux", target_os = "android"))]
mod getdents;
#[cfg(target_vendor = "apple")]
#[allow(unsafe_code)] // fdopendir / readdir / closedir; see the module's SAFETY comments
mod readdir;
#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
mod unix;
#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
pub(crate) use unix::{DirHandle, DirReader, Listed, NameChunk};

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
mod std_dir;
#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
pub(crate) use std_dir::{DirHandle, DirReader, Listed, NameChunk};
