//! The SNES ROM reader of modforge (docs/rom.md): a ROM image held once in memory with its
//! header detected by scoring (LoROM, HiROM, ExHiROM, SA-1), the checksum with the mirroring
//! rule and CPU address conversion; the HAL Laboratory compression format (exhal-compatible
//! decoding, a strict mode, three encoder modes); SNES tile formats and palettes both ways;
//! patching into a copy; parallel extraction, thumbnails behind a priority queue, a scanner
//! whose results do not depend on the thread count, and two cache levels.
//!
//! Every long call takes a [`modforge_core::Control`]; results are plain structs, and
//! [`RomFile`] is `Send + Sync` for sharing behind an `Arc`.

mod cache;
mod error;
mod extract;
pub mod gfx;
pub mod hal;
mod image;
mod patch;
mod rom;
mod scan;
mod thumbnail;

pub use cache::{
    BLOB_KIND, CacheStats, L1Stats, L2Stats, RomCachePayload, THUMB_KIND, examine_payload,
};
pub use error::{Error, HalError, HalReason};
pub use extract::{ExtractOptions, Extracted};
pub use image::{ImageFormat, MAX_BOX, Thumbnail, png_rgba};
pub use patch::{PatchReport, Patched, apply as apply_patches, write_atomic};
pub use rom::{
    COPIER_HEADER, Candidate, Coprocessor, Header, Location, MAX_FILE_SIZE, MIN_SCORE, Mapping,
    OpenOptions, RomFile, Sa1Blocks, checksum, cpu_to_offset, decode_title, fix_checksum,
    offset_to_cpu,
};
pub use scan::{REPLACE_MARGIN, ScanHit, ScanOptions, ScoreParts, scan_bytes, score};
pub use thumbnail::{ThumbnailOptions, ThumbnailRequest, Ticket};
