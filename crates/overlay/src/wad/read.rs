//! Header and TOC parsing for WAD 1.x, 2.x and 3.0–3.4 (docs/overlay.md, "WAD header by
//! version", "TOC entry"). Input is hostile: every read is bounds-checked and the entry count is
//! checked against the file length before anything is allocated.

use std::fs::File;
use std::path::Path;

use modforge_core::Reader;

use super::{V3_ENTRY_LEN, V3_HEADER_LEN, V3_SIGNATURE_LEN};
use crate::error::{Error, Result, label};
use crate::io::read_exact_at;

/// One TOC entry, whatever the version it was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TocEntry {
    /// XXH64 of the chunk's lower-case path.
    pub path_hash: u64,
    /// Absolute offset of the packed bytes.
    pub offset: u32,
    /// Length of the packed bytes.
    pub packed_size: u32,
    /// Length of the uncompressed bytes.
    pub size: u32,
    /// Chunk type (low nibble of byte 20); see [`super::chunk_type`].
    pub chunk_type: u8,
    /// Number of subchunks (high nibble of byte 20; 2.x and 3.x).
    pub subchunk_count: u8,
    /// Index of the first subchunk record (u16 before 3.4, u24 in 3.4).
    pub subchunk_index: u32,
    /// The duplicate flag of 2.x and 3.0–3.3 (always false in 1.x and 3.4).
    pub duplicate: bool,
    /// The entry checksum of 3.x (XXH3_64 of the packed bytes from 3.1; 0 before 3.0).
    pub checksum: u64,
}

impl TocEntry {
    /// End of the packed bytes (`offset + packed_size`), computed without overflow.
    pub fn end(&self) -> u64 {
        u64::from(self.offset) + u64::from(self.packed_size)
    }
}

/// A parsed header and TOC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toc {
    /// Major version (1, 2 or 3).
    pub major: u8,
    /// Minor version.
    pub minor: u8,
    /// The signature bytes: `sig_len` bytes in 2.x, 256 in 3.x, none in 1.x.
    pub signature: Option<Vec<u8>>,
    /// The header checksum of 2.x and 3.x.
    pub checksum: Option<u64>,
    /// Entries in file order.
    pub entries: Vec<TocEntry>,
    /// Where the TOC starts.
    pub toc_offset: u64,
    /// Bytes per TOC entry.
    pub entry_len: u64,
    /// The file's length.
    pub file_len: u64,
}

impl Toc {
    /// `"3.4"`, `"2.1"`, ...
    pub fn version(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    /// End of the TOC (first byte after the last entry slot read).
    pub fn toc_end(&self) -> u64 {
        self.toc_offset + self.entry_len * self.entries.len() as u64
    }

    /// The 256 signature bytes of a 3.x header (zeros for older versions).
    pub fn signature_v3(&self) -> [u8; V3_SIGNATURE_LEN] {
        let mut out = [0u8; V3_SIGNATURE_LEN];
        if let Some(sig) = &self.signature {
            let n = sig.len().min(V3_SIGNATURE_LEN);
            out[..n].copy_from_slice(&sig[..n]);
        }
        out
    }

    /// Checks that every entry's packed bytes lie inside the file.
    pub fn check_bounds(&self, file: &str) -> Result<()> {
        for (i, e) in self.entries.iter().enumerate() {
            if e.end() > self.file_len {
                return Err(Error::format(
                    file,
                    self.toc_offset + self.entry_len * i as u64 + 8,
                    format!(
                        "entry {i} ({:016x}) spans bytes {}..{}, past the end of the {}-byte file",
                        e.path_hash,
                        e.offset,
                        e.end(),
                        self.file_len
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Where the TOC of a version starts and how long its entries are, from the header bytes.
struct Layout {
    signature: Option<Vec<u8>>,
    checksum: Option<u64>,
    toc_offset: u64,
    entry_len: u64,
    count: u64,
}

/// Reads the header (only) of `head`, the first bytes of a file.
fn parse_header(head: &[u8], file: &str) -> Result<(u8, u8, Layout)> {
    let r = Reader::new(head);
    let magic = r
        .slice_at(0, 2)
        .map_err(|e| Error::truncated(file, e, "WAD magic"))?;
    if magic != super::MAGIC {
        return Err(Error::format(
            file,
            0,
            format!(
                "expected the WAD magic \"RW\", found {}",
                modforge_core::hex::bytes(magic)
            ),
        ));
    }
    let major = r
        .u8_at(2)
        .map_err(|e| Error::truncated(file, e, "WAD version"))?;
    let minor = r
        .u8_at(3)
        .map_err(|e| Error::truncated(file, e, "WAD version"))?;
    let header = |e| Error::truncated(file, e, "WAD header");
    let layout = match major {
        1 => Layout {
            signature: None,
            checksum: None,
            toc_offset: u64::from(r.u16_le_at(4).map_err(header)?),
            entry_len: u64::from(r.u16_le_at(6).map_err(header)?),
            count: u64::from(r.u32_le_at(8).map_err(header)?),
        },
        2 => {
            let sig_len = usize::from(r.u8_at(4).map_err(header)?).min(83);
            Layout {
                signature: Some(r.slice_at(5, sig_len).map_err(header)?.to_vec()),
                checksum: Some(r.u64_le_at(88).map_err(header)?),
                toc_offset: u64::from(r.u16_le_at(96).map_err(header)?),
                entry_len: u64::from(r.u16_le_at(98).map_err(header)?),
                count: u64::from(r.u32_le_at(100).map_err(header)?),
            }
        }
        3 if minor <= 4 => Layout {
            signature: Some(r.slice_at(4, V3_SIGNATURE_LEN).map_err(header)?.to_vec()),
            checksum: Some(r.u64_le_at(260).map_err(header)?),
            toc_offset: V3_HEADER_LEN,
            entry_len: V3_ENTRY_LEN,
            count: u64::from(r.u32_le_at(268).map_err(header)?),
        },
        _ => {
            return Err(Error::format(
                file,
                2,
                format!("WAD version {major}.{minor} is not supported (1.x, 2.x, 3.0-3.4 are)"),
            ));
        }
    };
    let header_end = match major {
        1 => 12,
        2 => 104,
        _ => V3_HEADER_LEN,
    };
    if layout.entry_len < 24 {
        return Err(Error::format(
            file,
            if major == 1 { 6 } else { 98 },
            format!("TOC entry size {} (at least 24 expected)", layout.entry_len),
        ));
    }
    if layout.toc_offset < header_end {
        return Err(Error::format(
            file,
            if major == 1 { 4 } else { 96 },
            format!(
                "TOC offset {} lies inside the {header_end}-byte header",
                layout.toc_offset
            ),
        ));
    }
    Ok((major, minor, layout))
}

/// Bytes needed to parse the header of any version.
const HEAD_PROBE: usize = V3_HEADER_LEN as usize;

/// Parses a WAD's header and TOC from `bytes`, which must start at the file's first byte and hold
/// at least the TOC; `file_len` is the whole file's length (entries are checked against it by
/// [`Toc::check_bounds`], not here). `file` labels errors.
pub fn parse_toc(bytes: &[u8], file_len: u64, file: &str) -> Result<Toc> {
    let (major, minor, layout) = parse_header(bytes, file)?;
    let toc_len = toc_len(&layout, file_len, file)?;
    let r = Reader::new(bytes);
    let start = usize::try_from(layout.toc_offset)
        .map_err(|_| Error::format(file, 0, "TOC offset beyond addressable memory"))?;
    let table = r
        .slice_at(start, toc_len)
        .map_err(|e| Error::truncated(file, e, "WAD TOC"))?;
    let entries = parse_entries(table, major, minor, layout.entry_len, layout.count, file)?;
    Ok(Toc {
        major,
        minor,
        signature: layout.signature,
        checksum: layout.checksum,
        entries,
        toc_offset: layout.toc_offset,
        entry_len: layout.entry_len,
        file_len,
    })
}

/// The TOC's byte length, checked against the file length (this caps every allocation).
fn toc_len(layout: &Layout, file_len: u64, file: &str) -> Result<usize> {
    let len = layout
        .count
        .checked_mul(layout.entry_len)
        .filter(|len| layout.toc_offset.saturating_add(*len) <= file_len)
        .ok_or_else(|| {
            Error::format(
                file,
                layout.toc_offset,
                format!(
                    "entry count {} needs {} TOC bytes at offset {}, but the file has {} bytes",
                    layout.count,
                    layout.count.saturating_mul(layout.entry_len),
                    layout.toc_offset,
                    file_len
                ),
            )
        })?;
    usize::try_from(len).map_err(|_| Error::Limit(format!("{file}: TOC of {len} bytes")))
}

fn parse_entries(
    table: &[u8],
    major: u8,
    minor: u8,
    entry_len: u64,
    count: u64,
    file: &str,
) -> Result<Vec<TocEntry>> {
    let stride = usize::try_from(entry_len).map_err(|_| Error::Limit("entry size".into()))?;
    let mut entries = Vec::with_capacity(table.len() / stride.max(1));
    for i in 0..count {
        let at = usize::try_from(i)
            .ok()
            .and_then(|i| i.checked_mul(stride))
            .ok_or_else(|| Error::Limit(format!("{file}: TOC entry {i}")))?;
        let r = Reader::new(table);
        let trunc = |e| Error::truncated(file, e, "TOC entry");
        let path_hash = r.u64_le_at(at).map_err(trunc)?;
        let offset = r.u32_le_at(at + 8).map_err(trunc)?;
        let packed_size = r.u32_le_at(at + 12).map_err(trunc)?;
        let size = r.u32_le_at(at + 16).map_err(trunc)?;
        let b20 = r.u8_at(at + 20).map_err(trunc)?;
        let b21 = r.u8_at(at + 21).map_err(trunc)?;
        let low = u32::from(r.u16_le_at(at + 22).map_err(trunc)?);
        let (subchunk_count, subchunk_index, duplicate, checksum) = match (major, minor) {
            (1, _) => (0, 0, false, 0),
            (2, _) => (b20 >> 4, low, b21 == 1, 0),
            (3, 0..=3) => (
                b20 >> 4,
                low,
                b21 == 1,
                r.u64_le_at(at + 24).map_err(trunc)?,
            ),
            _ => (
                b20 >> 4,
                u32::from(b21) << 16 | low,
                false,
                r.u64_le_at(at + 24).map_err(trunc)?,
            ),
        };
        entries.push(TocEntry {
            path_hash,
            offset,
            packed_size,
            size,
            chunk_type: b20 & 0x0F,
            subchunk_count,
            subchunk_index,
            duplicate,
            checksum,
        });
    }
    Ok(entries)
}

/// How many bytes from the start of a WAD of `file_len` bytes hold its header and TOC, from the
/// first bytes `head` (at least 272, or the whole file when shorter).
pub fn header_and_toc_len(head: &[u8], file_len: u64, file: &str) -> Result<u64> {
    let (_, _, layout) = parse_header(head, file)?;
    let len = toc_len(&layout, file_len, file)?;
    Ok(layout.toc_offset + len as u64)
}

/// Reads the header and TOC of an open file of length `file_len` (two positioned reads).
pub fn read_toc_from(file: &File, file_len: u64, name: &str, path: &Path) -> Result<Toc> {
    let probe = usize::try_from(file_len.min(HEAD_PROBE as u64)).unwrap_or(HEAD_PROBE);
    let mut head = vec![0u8; probe];
    read_exact_at(file, &mut head, 0).map_err(|e| Error::io("read", path, e))?;
    let (_, _, layout) = parse_header(&head, name)?;
    let len = toc_len(&layout, file_len, name)?;
    let end = usize::try_from(layout.toc_offset)
        .ok()
        .and_then(|s| s.checked_add(len))
        .ok_or_else(|| Error::Limit(format!("{name}: TOC end")))?;
    if end > head.len() {
        let old = head.len();
        head.resize(end, 0);
        read_exact_at(file, &mut head[old..], old as u64)
            .map_err(|e| Error::io("read", path, e))?;
    }
    parse_toc(&head, file_len, name)
}

/// Opens `path` and reads its header and TOC.
pub fn read_toc(path: &Path) -> Result<Toc> {
    let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("stat", path, e))?
        .len();
    read_toc_from(&file, len, &label(path), path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v34(entries: &[[u8; 32]]) -> Vec<u8> {
        let mut out = b"RW\x03\x04".to_vec();
        out.extend_from_slice(&[7u8; 256]);
        out.extend_from_slice(&0x1122u64.to_le_bytes());
        out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
        for e in entries {
            out.extend_from_slice(e);
        }
        out
    }

    #[test]
    fn reads_the_3_4_mixed_endian_index() {
        let mut e = [0u8; 32];
        e[..8].copy_from_slice(&5u64.to_le_bytes());
        e[8..12].copy_from_slice(&304u32.to_le_bytes());
        e[20] = 0x34;
        e[21] = 0x01;
        e[22..24].copy_from_slice(&0x0203u16.to_le_bytes());
        e[24..].copy_from_slice(&9u64.to_le_bytes());
        let bytes = v34(&[e]);
        let toc = parse_toc(&bytes, bytes.len() as u64, "t").unwrap();
        let entry = toc.entries[0];
        assert_eq!(entry.chunk_type, 4);
        assert_eq!(entry.subchunk_count, 3);
        assert_eq!(entry.subchunk_index, 0x01_0203);
        assert!(!entry.duplicate);
        assert_eq!(entry.checksum, 9);
        assert_eq!(toc.version(), "3.4");
        assert_eq!(toc.checksum, Some(0x1122));
        assert_eq!(toc.signature_v3(), [7u8; 256]);
    }

    #[test]
    fn an_entry_count_beyond_the_file_is_a_format_error() {
        let mut bytes = v34(&[]);
        bytes[268..272].copy_from_slice(&u32::MAX.to_le_bytes());
        let err = parse_toc(&bytes, bytes.len() as u64, "big").unwrap_err();
        assert!(matches!(err, Error::Format { offset: 272, .. }), "{err}");
        assert!(err.to_string().contains("entry count 4294967295"));
    }

    #[test]
    fn unknown_versions_and_magic_are_rejected_with_offsets() {
        let mut bytes = v34(&[]);
        bytes[2] = 4;
        assert!(matches!(
            parse_toc(&bytes, 272, "v").unwrap_err(),
            Error::Format { offset: 2, .. }
        ));
        bytes[0] = b'X';
        assert!(matches!(
            parse_toc(&bytes, 272, "m").unwrap_err(),
            Error::Format { offset: 0, .. }
        ));
    }
}
