//! `RomFile`: one ROM image in memory, its header, checksum and address mapping
//! (docs/rom.md, "ROM file").

mod checksum;
mod header;
mod mapping;
mod source;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use memmap2::Mmap;

pub use checksum::{checksum, fix_checksum};
pub use header::{Candidate, Coprocessor, Header, Location, MIN_SCORE, decode_title};
pub use mapping::{Mapping, Sa1Blocks, cpu_to_offset, offset_to_cpu};
pub use source::MAX_FILE_SIZE;

use crate::cache::{CacheConfig, Caches};
use crate::error::Error;
use crate::hal;
use crate::thumbnail::queue::ThumbQueue;

/// Size of a copier header.
pub const COPIER_HEADER: usize = 512;

/// How a ROM is opened. `OpenOptions::default()` detects the mapping, uses the power-on SA-1
/// blocks, keeps a 64 MiB / 1,024-entry memory cache and no disk cache.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// Force a mapping instead of the detected one.
    pub mapping: Option<Mapping>,
    /// SA-1 block registers CXB, DXB, EXB, FXB (each 0-7).
    pub sa1_blocks: Sa1Blocks,
    /// Folder of the disk cache (L2); `None` keeps the memory cache only.
    pub cache_dir: Option<PathBuf>,
    /// Disk cache entries older than this (by file modification time) are not served.
    pub cache_ttl: Option<Duration>,
    /// Memory cache (L1) capacity in bytes.
    pub l1_max_bytes: usize,
    /// Memory cache (L1) capacity in entries.
    pub l1_max_entries: usize,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            mapping: None,
            sa1_blocks: header::DEFAULT_BLOCKS,
            cache_dir: None,
            cache_ttl: None,
            l1_max_bytes: 64 << 20,
            l1_max_entries: 1024,
        }
    }
}

/// Where the image bytes live.
enum Backing {
    /// A read-only anonymous mapping filled from the file.
    Mapped(Mmap),
    /// Bytes handed over by the caller.
    Owned(Vec<u8>),
}

impl Backing {
    fn bytes(&self) -> &[u8] {
        match self {
            Backing::Mapped(map) => map,
            Backing::Owned(vec) => vec,
        }
    }
}

/// An open ROM. `Send + Sync`: share it behind an `Arc`; every call borrows the one in-memory
/// image. [`RomFile::close`] releases the image once in-flight calls finish.
pub struct RomFile {
    path: Option<PathBuf>,
    label: String,
    stamp: Option<source::Stamp>,
    data: Mutex<Option<Arc<Backing>>>,
    released: Condvar,
    copier_header: usize,
    size: u64,
    candidates: Vec<Candidate>,
    header: Option<Header>,
    mapping: Option<Mapping>,
    blocks: Sa1Blocks,
    content_hash: OnceLock<u128>,
    pub(crate) caches: Caches,
    pub(crate) queue: ThumbQueue,
}

impl std::fmt::Debug for RomFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RomFile")
            .field("label", &self.label)
            .field("size", &self.size)
            .field("mapping", &self.mapping)
            .finish()
    }
}

/// A borrow of the image for the duration of one call; [`RomFile::close`] waits for it.
pub(crate) struct Lease<'a> {
    data: Option<Arc<Backing>>,
    owner: &'a RomFile,
}

impl Lease<'_> {
    /// The ROM without copier header.
    pub(crate) fn rom(&self) -> &[u8] {
        self.data
            .as_ref()
            .map(|d| d.bytes())
            .and_then(|b| b.get(self.owner.copier_header..))
            .unwrap_or_default()
    }

    /// The whole file image (copier header included).
    pub(crate) fn image(&self) -> &[u8] {
        self.data.as_ref().map(|d| d.bytes()).unwrap_or_default()
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        // Release the reference before notifying, so a waiting `close` sees the new count.
        drop(self.data.take());
        let _guard = self.owner.lock_data();
        self.owner.released.notify_all();
    }
}

fn check_blocks(blocks: Sa1Blocks) -> Result<(), Error> {
    if blocks.iter().any(|&b| b > 7) {
        return Err(Error::InvalidArgument(format!(
            "SA-1 block registers {blocks:?}: each must be 0-7"
        )));
    }
    Ok(())
}

impl RomFile {
    /// Opens `path`: reads it into one read-only in-memory mapping, strips a copier header by
    /// slicing, scores the header candidates and computes the checksum. An empty file (or one
    /// holding only a copier header) is a Format error; a file over [`MAX_FILE_SIZE`] a Limit
    /// error. An unusable cache folder is not an error (see [`RomFile::cache_stats`]).
    pub fn open(path: &Path, options: &OpenOptions) -> Result<RomFile, Error> {
        check_blocks(options.sa1_blocks)?;
        let (map, stamp) = source::load(path)?;
        let label = path.display().to_string();
        Self::build(
            Some(path.to_path_buf()),
            label,
            Some(stamp),
            Backing::Mapped(map),
            options,
        )
    }

    /// Wraps an image held in memory (a generated ROM, a download), labelled `label` in errors.
    pub fn from_bytes(
        label: &str,
        image: Vec<u8>,
        options: &OpenOptions,
    ) -> Result<RomFile, Error> {
        check_blocks(options.sa1_blocks)?;
        if image.is_empty() {
            return Err(Error::Format {
                file: label.into(),
                offset: 0,
                expected: "a ROM image (the input is empty)".into(),
            });
        }
        if image.len() as u64 > MAX_FILE_SIZE {
            return Err(Error::Limit(format!(
                "{label}: {} bytes is larger than the {MAX_FILE_SIZE}-byte ROM limit",
                image.len()
            )));
        }
        Self::build(None, label.into(), None, Backing::Owned(image), options)
    }

    fn build(
        path: Option<PathBuf>,
        label: String,
        stamp: Option<source::Stamp>,
        backing: Backing,
        options: &OpenOptions,
    ) -> Result<RomFile, Error> {
        let image = backing.bytes();
        let copier_header = if image.len() % 1024 == COPIER_HEADER {
            COPIER_HEADER
        } else {
            0
        };
        let rom = image.get(copier_header..).unwrap_or_default();
        if rom.is_empty() {
            return Err(Error::Format {
                file: label,
                offset: 0,
                expected: "ROM data after the 512-byte copier header".into(),
            });
        }
        let raw_sum = checksum::mirrored_sum(rom);
        let candidates = header::score_all(rom, raw_sum);
        let header = header::best(&candidates)
            .and_then(|best| header::parse(rom, raw_sum, best.location, best.score));
        let mapping = options.mapping.or(header.as_ref().map(|h| h.mapping));
        let size = rom.len() as u64;
        let caches = Caches::new(CacheConfig {
            dir: options.cache_dir.clone(),
            ttl: options.cache_ttl,
            l1_max_bytes: options.l1_max_bytes,
            l1_max_entries: options.l1_max_entries,
        });
        Ok(RomFile {
            path,
            label,
            stamp,
            data: Mutex::new(Some(Arc::new(backing))),
            released: Condvar::new(),
            copier_header,
            size,
            candidates,
            header,
            mapping,
            blocks: options.sa1_blocks,
            content_hash: OnceLock::new(),
            caches,
            queue: ThumbQueue::default(),
        })
    }

    fn lock_data(&self) -> MutexGuard<'_, Option<Arc<Backing>>> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Borrows the image, or fails when the ROM is closed.
    pub(crate) fn lease(&self) -> Result<Lease<'_>, Error> {
        let data = self.lock_data().clone().ok_or_else(|| {
            Error::InvalidArgument(format!("{}: the ROM file is closed", self.label))
        })?;
        Ok(Lease {
            data: Some(data),
            owner: self,
        })
    }

    /// The file's path (`None` for an image from memory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The label used in errors (the path, or the caller's label).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// ROM size in bytes, copier header excluded.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// 512 when the file has a copier header, else 0.
    pub fn copier_header(&self) -> u32 {
        self.copier_header as u32
    }

    /// The detected header (best score >= 5), or `None`.
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// Every scored candidate location.
    pub fn header_candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    /// The mapping in use: the forced one, else the header's.
    pub fn mapping(&self) -> Option<Mapping> {
        self.mapping
    }

    /// The SA-1 block registers in use.
    pub fn sa1_blocks(&self) -> Sa1Blocks {
        self.blocks
    }

    /// The checksum computed over the ROM (placeholder rule at the header's location, or the
    /// plain mirrored sum without a header).
    pub fn computed_checksum(&self) -> Result<u16, Error> {
        match &self.header {
            Some(h) => Ok(h.computed_checksum),
            None => Ok(checksum(self.lease()?.rom())),
        }
    }

    fn require_mapping(&self) -> Result<Mapping, Error> {
        self.mapping.ok_or_else(|| Error::Format {
            file: self.label.clone(),
            offset: 0,
            expected: "a detected internal header or a forced mapping to convert addresses".into(),
        })
    }

    /// The ROM offset of a 24-bit CPU address, `None` when it is not ROM.
    pub fn cpu_to_offset(&self, addr: u32) -> Result<Option<u64>, Error> {
        if addr > 0xFF_FFFF {
            return Err(Error::InvalidArgument(format!(
                "CPU address {addr:#x} is wider than 24 bits"
            )));
        }
        let mapping = self.require_mapping()?;
        Ok(cpu_to_offset(mapping, addr, self.blocks, self.size))
    }

    /// The canonical CPU address of a ROM offset, `None` when the mapping does not show it.
    pub fn offset_to_cpu(&self, offset: u64) -> Result<Option<u32>, Error> {
        let mapping = self.require_mapping()?;
        Ok(offset_to_cpu(mapping, offset, self.blocks, self.size))
    }

    /// A copy of `len` bytes at ROM offset `offset`.
    pub fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>, Error> {
        let lease = self.lease()?;
        let end = offset
            .checked_add(len)
            .filter(|&e| e <= self.size)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "read of {len} bytes at {offset} is outside the {}-byte ROM",
                    self.size
                ))
            })?;
        let range = usize::try_from(offset).ok().zip(usize::try_from(end).ok());
        range
            .and_then(|(a, b)| lease.rom().get(a..b))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| Error::InvalidArgument(format!("read at {offset} out of range")))
    }

    /// Reads a 24-bit little-endian pointer (`lo, hi, bank`) at ROM offset `offset`.
    pub fn read_pointer(&self, offset: u64) -> Result<u32, Error> {
        let b = self.read(offset, 3)?;
        Ok(b.iter()
            .rev()
            .fold(0u32, |acc, &x| (acc << 8) | u32::from(x)))
    }

    /// XXH3-128 of the ROM bytes without copier header (headered and clean copies share cache
    /// entries); computed on first use and remembered.
    pub fn content_hash(&self) -> Result<u128, Error> {
        if let Some(hash) = self.content_hash.get() {
            return Ok(*hash);
        }
        let lease = self.lease()?;
        let hash = xxhash_rust::xxh3::xxh3_128(lease.rom());
        Ok(*self.content_hash.get_or_init(|| hash))
    }

    /// Whether the file on disk changed (size, modification time or identity) since it was
    /// read; always false for an image from memory.
    pub fn is_stale(&self) -> Result<bool, Error> {
        match (&self.path, &self.stamp) {
            (Some(path), Some(stamp)) => stamp.changed(path),
            _ => Ok(false),
        }
    }

    /// Whether [`RomFile::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.lock_data().is_none()
    }

    /// Releases the image once every in-flight call has finished; later calls fail with
    /// InvalidArgument. Calling it again does nothing.
    pub fn close(&self) {
        let Some(data) = self.lock_data().take() else {
            return;
        };
        let mut guard = self.lock_data();
        while Arc::strong_count(&data) > 1 {
            guard = self.released.wait(guard).unwrap_or_else(|e| e.into_inner());
        }
        drop(guard);
        drop(data);
        self.caches.clear_memory();
    }

    /// Decodes the HAL stream at ROM offset `offset` (errors name the ROM and the absolute
    /// offset of the failing command).
    pub fn decode_at(&self, offset: u64, strict: bool) -> Result<hal::Decoded, Error> {
        let lease = self.lease()?;
        self.decode_leased(&lease, offset, strict)
    }

    pub(crate) fn decode_leased(
        &self,
        lease: &Lease<'_>,
        offset: u64,
        strict: bool,
    ) -> Result<hal::Decoded, Error> {
        let src = usize::try_from(offset)
            .ok()
            .and_then(|o| lease.rom().get(o..))
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "offset {offset} is outside the {}-byte ROM",
                    self.size
                ))
            })?;
        hal::decode_raw(src, strict).map_err(|e| Error::hal(&self.label, offset, e))
    }
}
