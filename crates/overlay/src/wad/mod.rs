//! The WAD archive format of League of Legends (docs/overlay.md, "WAD format"): reading versions
//! 1.x, 2.x and 3.0–3.4, decoding chunks, composing whole archives, and the 3.4 header checksum.
//!
//! All integers are little-endian and all offsets absolute. A reader always follows the offsets
//! of the table of contents (TOC): data need not be in hash order, may have gaps and may be
//! shared by several entries.

mod checksum;
mod compose;
mod decode;
mod read;
mod subchunk;

pub use checksum::header_checksum;
pub use compose::{ComposedEntry, WadImage, encode_toc_entry_v34};
pub use decode::{
    DecodeError, MAX_DECODED_CHUNK, OVERRIDE_ZSTD_LEVEL, decode_chunk, is_wwise, zstd_compress,
    zstd_decode_frames,
};
pub use read::{Toc, TocEntry, header_and_toc_len, parse_toc, read_toc, read_toc_from};
pub use subchunk::{SubchunkRecord, SubchunkToc, find_subchunk_toc};

/// `"RW"`, the first two bytes of every WAD.
pub const MAGIC: [u8; 2] = *b"RW";
/// Size of the WAD 3.x header; the TOC starts here.
pub const V3_HEADER_LEN: u64 = 272;
/// Size of one WAD 3.x TOC entry.
pub const V3_ENTRY_LEN: u64 = 32;
/// Size of the signature field of a WAD 3.x header.
pub const V3_SIGNATURE_LEN: usize = 256;

/// Chunk types (low nibble of TOC byte 20), as CommunityDragon and ltk_wad number them.
pub mod chunk_type {
    /// Stored as is.
    pub const RAW: u8 = 0;
    /// One gzip stream.
    pub const GZIP: u8 = 1;
    /// A redirect (`u32 len ‖ path`) to another chunk; not decodable.
    pub const SATELLITE: u8 = 2;
    /// One zstd frame.
    pub const ZSTD: u8 = 3;
    /// Concatenated subchunks described by the WAD's `.SubChunkTOC` chunk.
    pub const ZSTD_MULTI: u8 = 4;
}
