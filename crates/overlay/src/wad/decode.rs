//! Chunk decoding (docs/overlay.md, "Chunk types", "Decoding") and the override encoder.
//!
//! Types: 0 copy, 1 gunzip, 3 one zstd frame (concatenated frames are accepted), 4 subchunks via
//! the SubChunkTOC (each record's XXH3_64 is checked), or, when the WAD has no SubChunkTOC, the
//! raw bytes before the first zstd magic followed by a multi-frame zstd stream. Types 2 and 5–15
//! are not decodable. Output never exceeds the entry's declared size, itself capped by
//! [`MAX_DECODED_CHUNK`]; buffers grow with the data actually decoded, so a lying size field
//! costs no allocation.

use std::cell::RefCell;
use std::io::Read;

use xxhash_rust::xxh3::xxh3_64;

use super::{SubchunkToc, TocEntry, chunk_type};
use crate::error::Error;

/// The largest uncompressed chunk decoded (1 GiB; larger declared sizes fail with a Limit error).
pub const MAX_DECODED_CHUNK: u64 = 1 << 30;

/// The zstd frame magic `28 B5 2F FD`.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// Why a chunk was not decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The chunk's type has no defined decoding (2 = redirect, 5–15 unknown).
    #[error("chunk type {0} is not decodable")]
    Undecodable(u8),
    /// The bytes did not decode as their type says.
    #[error(transparent)]
    Failed(#[from] Error),
}

/// Whether uncompressed bytes are a Wwise sound bank (`BKHD` at 0) or a Wwise package (`r3d2`
/// followed by u32 LE 1): such overrides are stored uncompressed (type 0).
pub fn is_wwise(bytes: &[u8]) -> bool {
    bytes.starts_with(b"BKHD") || bytes.starts_with(b"r3d2\x01\x00\x00\x00")
}

/// Decodes `packed` (the chunk's packed bytes, exactly `entry.packed_size` long) to its
/// uncompressed bytes. `subchunks` is the WAD's SubChunkTOC, when it has one. `file` labels
/// errors.
pub fn decode_chunk(
    entry: &TocEntry,
    packed: &[u8],
    subchunks: Option<&SubchunkToc>,
    file: &str,
) -> Result<Vec<u8>, DecodeError> {
    let what = |detail: String| {
        Error::corrupt(
            file,
            Some(u64::from(entry.offset)),
            format!("chunk {:016x}: {detail}", entry.path_hash),
        )
    };
    if packed.len() as u64 != u64::from(entry.packed_size) {
        return Err(what(format!(
            "{} packed bytes given, the entry declares {}",
            packed.len(),
            entry.packed_size
        ))
        .into());
    }
    let size = u64::from(entry.size);
    if size > MAX_DECODED_CHUNK {
        return Err(Error::Limit(format!(
            "{file}: chunk {:016x} declares {size} uncompressed bytes (at most {MAX_DECODED_CHUNK} are decoded)",
            entry.path_hash
        ))
        .into());
    }
    let out = match entry.chunk_type {
        chunk_type::RAW => packed.to_vec(),
        chunk_type::GZIP => bounded_read(flate2::read::GzDecoder::new(packed), size, packed.len())
            .map_err(|e| what(format!("gzip stream: {e}")))?,
        chunk_type::ZSTD => zstd_decode_frames(packed, size).map_err(|e| what(e.to_string()))?,
        chunk_type::ZSTD_MULTI => match subchunks.and_then(|t| t.of(entry)) {
            Some(records) => decode_subchunks(entry, packed, records, file)?,
            None if subchunks.is_some() => {
                return Err(what(format!(
                    "subchunk records {}..{} are not in the SubChunkTOC",
                    entry.subchunk_index,
                    u64::from(entry.subchunk_index) + u64::from(entry.subchunk_count)
                ))
                .into());
            }
            None => decode_prefixed(packed, size).map_err(|e| what(e.to_string()))?,
        },
        other => return Err(DecodeError::Undecodable(other)),
    };
    if out.len() as u64 != size {
        return Err(what(format!(
            "decoded to {} bytes, the entry declares {size}",
            out.len()
        ))
        .into());
    }
    Ok(out)
}

fn decode_subchunks(
    entry: &TocEntry,
    packed: &[u8],
    records: &[super::SubchunkRecord],
    file: &str,
) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(initial_capacity(u64::from(entry.size), packed.len()));
    let mut at = 0usize;
    for (i, rec) in records.iter().enumerate() {
        let len = rec.packed_size as usize;
        let Some(bytes) = at.checked_add(len).and_then(|end| packed.get(at..end)) else {
            return Err(Error::corrupt(
                file,
                Some(u64::from(entry.offset) + at as u64),
                format!(
                    "chunk {:016x}: subchunk {i} needs {len} bytes, {} remain",
                    entry.path_hash,
                    packed.len() - at
                ),
            )
            .into());
        };
        if xxh3_64(bytes) != rec.checksum {
            return Err(Error::corrupt(
                file,
                Some(u64::from(entry.offset) + at as u64),
                format!(
                    "chunk {:016x}: subchunk {i} hashes to {:016x}, the SubChunkTOC records {:016x}",
                    entry.path_hash,
                    xxh3_64(bytes),
                    rec.checksum
                ),
            )
            .into());
        }
        if rec.packed_size == rec.size {
            out.extend_from_slice(bytes);
        } else {
            let part = zstd_decode_frames(bytes, u64::from(rec.size)).map_err(|e| {
                Error::corrupt(
                    file,
                    Some(u64::from(entry.offset) + at as u64),
                    format!("chunk {:016x}: subchunk {i}: {e}", entry.path_hash),
                )
            })?;
            if part.len() != rec.size as usize {
                return Err(Error::corrupt(
                    file,
                    Some(u64::from(entry.offset) + at as u64),
                    format!(
                        "chunk {:016x}: subchunk {i} decoded to {} bytes, its record says {}",
                        entry.path_hash,
                        part.len(),
                        rec.size
                    ),
                )
                .into());
            }
            out.extend_from_slice(&part);
        }
        at += len;
    }
    if at != packed.len() {
        return Err(Error::corrupt(
            file,
            Some(u64::from(entry.offset)),
            format!(
                "chunk {:016x}: subchunks cover {at} of {} packed bytes",
                entry.path_hash,
                packed.len()
            ),
        )
        .into());
    }
    Ok(out)
}

/// Decodes a type-4 chunk without a SubChunkTOC: bytes before the first zstd magic are raw, the
/// rest is a multi-frame zstd stream.
fn decode_prefixed(packed: &[u8], size: u64) -> std::io::Result<Vec<u8>> {
    let split = packed
        .windows(4)
        .position(|w| w == ZSTD_MAGIC)
        .unwrap_or(packed.len());
    let (raw, frames) = packed.split_at(split);
    let mut out = raw.to_vec();
    if !frames.is_empty() {
        let rest = size.saturating_sub(raw.len() as u64);
        out.extend_from_slice(&zstd_decode_frames(frames, rest)?);
    }
    Ok(out)
}

/// A starting capacity: the declared size, but never more than the packed bytes could
/// plausibly expand to, so that a lying size field allocates nothing up front.
fn initial_capacity(size: u64, packed_len: usize) -> usize {
    let plausible = (packed_len as u64).saturating_mul(32).max(64 * 1024);
    usize::try_from(size.min(plausible)).unwrap_or(0)
}

/// Reads at most `size + 1` bytes from `reader` (one more than declared, so an overlong stream
/// shows up as a length mismatch rather than being silently cut).
fn bounded_read(reader: impl Read, size: u64, packed_len: usize) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(initial_capacity(size, packed_len));
    reader.take(size.saturating_add(1)).read_to_end(&mut out)?;
    Ok(out)
}

/// Decodes one or more concatenated zstd frames, reading at most `size + 1` bytes of output.
pub fn zstd_decode_frames(frames: &[u8], size: u64) -> std::io::Result<Vec<u8>> {
    let decoder = zstd::stream::read::Decoder::with_buffer(frames)?;
    bounded_read(decoder, size, frames.len())
}

thread_local! {
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
}

/// The zstd level of overrides.
pub const OVERRIDE_ZSTD_LEVEL: i32 = 3;

/// Compresses `data` into one zstd frame at level 3, single-threaded (the output is a function
/// of the input and the zstd version only), with the content size in the frame header.
pub fn zstd_compress(data: &[u8]) -> std::io::Result<Vec<u8>> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Compressor::new(OVERRIDE_ZSTD_LEVEL)?);
        }
        match slot.as_mut() {
            Some(compressor) => compressor.compress(data),
            None => Err(std::io::Error::other("zstd compressor unavailable")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wad::SubchunkRecord;

    fn entry(kind: u8, packed: usize, size: usize) -> TocEntry {
        TocEntry {
            path_hash: 1,
            offset: 0,
            packed_size: packed as u32,
            size: size as u32,
            chunk_type: kind,
            subchunk_count: 0,
            subchunk_index: 0,
            duplicate: false,
            checksum: 0,
        }
    }

    #[test]
    fn zstd_round_trip_and_size_check() {
        let data = b"abcabcabcabcabcabcabc".repeat(50);
        let packed = zstd_compress(&data).unwrap();
        let e = entry(chunk_type::ZSTD, packed.len(), data.len());
        assert_eq!(decode_chunk(&e, &packed, None, "t").unwrap(), data);
        let lying = entry(chunk_type::ZSTD, packed.len(), data.len() - 1);
        assert!(matches!(
            decode_chunk(&lying, &packed, None, "t"),
            Err(DecodeError::Failed(Error::Corrupt { .. }))
        ));
    }

    #[test]
    fn gzip_and_raw_and_undecodable() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"gzipped text").unwrap();
        let packed = gz.finish().unwrap();
        let e = entry(chunk_type::GZIP, packed.len(), 12);
        assert_eq!(
            decode_chunk(&e, &packed, None, "t").unwrap(),
            b"gzipped text"
        );
        let raw = entry(chunk_type::RAW, 3, 3);
        assert_eq!(decode_chunk(&raw, b"abc", None, "t").unwrap(), b"abc");
        for kind in [2u8, 5, 15] {
            assert!(matches!(
                decode_chunk(&entry(kind, 3, 3), b"abc", None, "t"),
                Err(DecodeError::Undecodable(k)) if k == kind
            ));
        }
    }

    #[test]
    fn subchunks_raw_not_only_first_and_hash_checked() {
        let a = b"RAWPART1".to_vec();
        let b_plain = b"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz".to_vec();
        let b = zstd_compress(&b_plain).unwrap();
        let c = b"RAW2".to_vec();
        let records = vec![
            SubchunkRecord {
                packed_size: b.len() as u32,
                size: b_plain.len() as u32,
                checksum: xxh3_64(&b),
            },
            SubchunkRecord {
                packed_size: a.len() as u32,
                size: a.len() as u32,
                checksum: xxh3_64(&a),
            },
            SubchunkRecord {
                packed_size: c.len() as u32,
                size: c.len() as u32,
                checksum: xxh3_64(&c),
            },
        ];
        let toc = SubchunkToc::parse(&SubchunkToc::encode(&records)).unwrap();
        let packed = [b.clone(), a.clone(), c.clone()].concat();
        let mut e = entry(chunk_type::ZSTD_MULTI, packed.len(), b_plain.len() + 12);
        e.subchunk_count = 3;
        let out = decode_chunk(&e, &packed, Some(&toc), "t").unwrap();
        assert_eq!(out, [b_plain.clone(), a.clone(), c.clone()].concat());
        let mut bad = packed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let err = decode_chunk(&e, &bad, Some(&toc), "t").unwrap_err();
        assert!(err.to_string().contains("subchunk 2 hashes to"), "{err}");
        // Without a SubChunkTOC: raw prefix, then frames (right only when raw comes first).
        let prefixed = [a.clone(), b.clone()].concat();
        let e2 = entry(
            chunk_type::ZSTD_MULTI,
            prefixed.len(),
            a.len() + b_plain.len(),
        );
        assert_eq!(
            decode_chunk(&e2, &prefixed, None, "t").unwrap(),
            [a, b_plain].concat()
        );
    }

    #[test]
    fn lying_sizes_are_limits_or_mismatches_without_big_allocations() {
        let e = entry(chunk_type::ZSTD, 4, u32::MAX as usize);
        assert!(matches!(
            decode_chunk(&e, b"\x28\xb5\x2f\xfd", None, "t"),
            Err(DecodeError::Failed(Error::Limit(_)))
        ));
        let e = entry(chunk_type::ZSTD, 4, 1 << 29);
        assert!(matches!(
            decode_chunk(&e, b"abcd", None, "t"),
            Err(DecodeError::Failed(Error::Corrupt { .. }))
        ));
        assert!(is_wwise(b"BKHD\x04\x00\x00\x00"));
        assert!(is_wwise(b"r3d2\x01\x00\x00\x00rest"));
        assert!(!is_wwise(b"r3d2\x02\x00\x00\x00"));
    }
}
