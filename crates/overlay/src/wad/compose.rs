//! Encoding WAD headers and TOCs of every version (docs/overlay.md, "WAD header by version",
//! "TOC entry"). The overlay writer uses the 3.4 encoding; generators of test data use the older
//! ones to exercise the reader.

use super::{TocEntry, V3_ENTRY_LEN, V3_HEADER_LEN, V3_SIGNATURE_LEN, header_checksum};
use crate::error::{Error, Result};

/// A WAD header and TOC to encode. Data placement is the caller's: each entry's offset must
/// point where the caller writes its packed bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WadImage {
    /// Major version: 1, 2 or 3.
    pub major: u8,
    /// Minor version (3.x: 0–4).
    pub minor: u8,
    /// Signature bytes: up to 83 in 2.x, up to 256 in 3.x (zero-padded); ignored in 1.x.
    pub signature: Vec<u8>,
    /// The header checksum (2.x, 3.x); `None` computes the 3.4 formula over the entries as given.
    pub checksum: Option<u64>,
    /// Entries in TOC order.
    pub entries: Vec<TocEntry>,
    /// TOC slots to reserve (3.x); slots past the entries are zeros. At least the entry count.
    pub toc_capacity: u32,
}

impl WadImage {
    /// Where the TOC starts.
    pub fn toc_offset(&self) -> u64 {
        match self.major {
            1 => 12,
            2 => 104,
            _ => V3_HEADER_LEN,
        }
    }

    /// Bytes per entry.
    pub fn entry_len(&self) -> u64 {
        if self.major == 3 { V3_ENTRY_LEN } else { 24 }
    }

    /// The first byte after the TOC (and its reserved slots): where data may start.
    pub fn data_start(&self) -> u64 {
        let slots = u64::from(self.toc_capacity).max(self.entries.len() as u64);
        self.toc_offset() + slots * self.entry_len()
    }

    /// The header checksum this image writes.
    pub fn effective_checksum(&self) -> u64 {
        self.checksum.unwrap_or_else(|| {
            header_checksum(self.entries.iter().map(|e| (e.path_hash, e.checksum)))
        })
    }

    /// The encoded header and TOC, `data_start()` bytes long.
    pub fn header_and_toc(&self) -> Result<Vec<u8>> {
        let count = u32::try_from(self.entries.len())
            .map_err(|_| Error::Limit(format!("{} WAD entries", self.entries.len())))?;
        if self.major == 3 && self.minor > 4 || !(1..=3).contains(&self.major) {
            return Err(Error::InvalidArg(format!(
                "WAD version {}.{} cannot be written",
                self.major, self.minor
            )));
        }
        let len =
            usize::try_from(self.data_start()).map_err(|_| Error::Limit("WAD TOC size".into()))?;
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&super::MAGIC);
        out.push(self.major);
        out.push(self.minor);
        match self.major {
            1 => {
                out.extend_from_slice(&12u16.to_le_bytes());
                out.extend_from_slice(&24u16.to_le_bytes());
                out.extend_from_slice(&count.to_le_bytes());
            }
            2 => {
                let sig = &self.signature[..self.signature.len().min(83)];
                out.push(sig.len() as u8);
                let mut field = [0u8; 83];
                field[..sig.len()].copy_from_slice(sig);
                out.extend_from_slice(&field);
                out.extend_from_slice(&self.effective_checksum().to_le_bytes());
                out.extend_from_slice(&104u16.to_le_bytes());
                out.extend_from_slice(&24u16.to_le_bytes());
                out.extend_from_slice(&count.to_le_bytes());
            }
            _ => {
                let mut field = [0u8; V3_SIGNATURE_LEN];
                let n = self.signature.len().min(V3_SIGNATURE_LEN);
                field[..n].copy_from_slice(&self.signature[..n]);
                out.extend_from_slice(&field);
                out.extend_from_slice(&self.effective_checksum().to_le_bytes());
                out.extend_from_slice(&count.to_le_bytes());
            }
        }
        for e in &self.entries {
            match (self.major, self.minor) {
                (1, _) => {
                    out.extend_from_slice(&common_fields(e));
                    out.push(e.chunk_type);
                    out.extend_from_slice(&[0, 0, 0]);
                }
                (2, _) => {
                    out.extend_from_slice(&common_fields(e));
                    out.push(e.chunk_type & 0x0F | e.subchunk_count << 4);
                    out.push(u8::from(e.duplicate));
                    out.extend_from_slice(&(e.subchunk_index as u16).to_le_bytes());
                }
                (3, 0..=3) => {
                    out.extend_from_slice(&common_fields(e));
                    out.push(e.chunk_type & 0x0F | e.subchunk_count << 4);
                    out.push(u8::from(e.duplicate));
                    out.extend_from_slice(&(e.subchunk_index as u16).to_le_bytes());
                    out.extend_from_slice(&e.checksum.to_le_bytes());
                }
                _ => out.extend_from_slice(&encode_toc_entry_v34(e)),
            }
        }
        out.resize(len, 0);
        Ok(out)
    }
}

fn common_fields(e: &TocEntry) -> [u8; 20] {
    let mut out = [0u8; 20];
    out[..8].copy_from_slice(&e.path_hash.to_le_bytes());
    out[8..12].copy_from_slice(&e.offset.to_le_bytes());
    out[12..16].copy_from_slice(&e.packed_size.to_le_bytes());
    out[16..20].copy_from_slice(&e.size.to_le_bytes());
    out
}

/// One 32-byte WAD 3.4 TOC entry: the first-subchunk index is a u24 split as byte 21 = bits
/// 16–23 and bytes 22..24 = bits 0–15 (u16 LE); no duplicate flag.
pub fn encode_toc_entry_v34(e: &TocEntry) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..20].copy_from_slice(&common_fields(e));
    out[20] = e.chunk_type & 0x0F | e.subchunk_count << 4;
    out[21] = (e.subchunk_index >> 16) as u8;
    out[22..24].copy_from_slice(&(e.subchunk_index as u16).to_le_bytes());
    out[24..].copy_from_slice(&e.checksum.to_le_bytes());
    out
}

/// A composed entry: a TOC entry with the packed bytes it points at, for writers that lay out
/// small archives in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComposedEntry {
    /// The entry (its offset is filled by [`WadImage::compose`]).
    pub entry: TocEntry,
    /// The packed bytes.
    pub packed: Vec<u8>,
}

impl WadImage {
    /// Lays out `chunks` right after the TOC in the given order and returns the whole file:
    /// header, TOC and data. Entries (offsets set) replace `self.entries` in TOC order.
    pub fn compose(mut self, chunks: Vec<ComposedEntry>) -> Result<Vec<u8>> {
        self.entries = chunks.iter().map(|c| c.entry).collect();
        self.toc_capacity = self.toc_capacity.max(self.entries.len() as u32);
        let mut at = self.data_start();
        for (slot, c) in self.entries.iter_mut().zip(&chunks) {
            slot.offset = u32::try_from(at)
                .map_err(|_| Error::Limit(format!("WAD offset {at} beyond u32")))?;
            slot.packed_size = u32::try_from(c.packed.len())
                .map_err(|_| Error::Limit("WAD chunk beyond u32".into()))?;
            at += c.packed.len() as u64;
        }
        if at > u64::from(u32::MAX) {
            return Err(Error::Limit(format!(
                "WAD of {at} bytes beyond u32 offsets"
            )));
        }
        let mut out = self.header_and_toc()?;
        for c in chunks {
            out.extend_from_slice(&c.packed);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wad::parse_toc;

    fn e(hash: u64, kind: u8) -> TocEntry {
        TocEntry {
            path_hash: hash,
            offset: 0,
            packed_size: 0,
            size: 3,
            chunk_type: kind,
            subchunk_count: 2,
            subchunk_index: 0x1_0005,
            duplicate: true,
            checksum: 77,
        }
    }

    #[test]
    fn every_version_reads_back() {
        for (major, minor) in [
            (1, 0),
            (1, 1),
            (2, 0),
            (2, 1),
            (3, 0),
            (3, 1),
            (3, 3),
            (3, 4),
        ] {
            let image = WadImage {
                major,
                minor,
                signature: vec![9; 300],
                checksum: Some(5),
                entries: Vec::new(),
                toc_capacity: 0,
            };
            let bytes = image
                .compose(vec![
                    ComposedEntry {
                        entry: e(2, 0),
                        packed: b"abc".to_vec(),
                    },
                    ComposedEntry {
                        entry: e(1, 0),
                        packed: b"def".to_vec(),
                    },
                ])
                .unwrap();
            let toc = parse_toc(&bytes, bytes.len() as u64, "t").unwrap();
            assert_eq!((toc.major, toc.minor), (major, minor));
            assert_eq!(toc.entries.len(), 2);
            let first = toc.entries[0];
            assert_eq!(first.path_hash, 2);
            let at = first.offset as usize;
            assert_eq!(&bytes[at..at + 3], b"abc");
            match major {
                1 => {
                    assert_eq!(toc.signature, None);
                    assert_eq!(toc.checksum, None);
                    assert_eq!(first.subchunk_count, 0);
                }
                2 => {
                    assert_eq!(toc.signature.as_deref(), Some(&[9u8; 83][..]));
                    assert!(first.duplicate);
                    assert_eq!(first.subchunk_index, 5);
                    assert_eq!(first.checksum, 0);
                }
                _ => {
                    assert_eq!(toc.checksum, Some(5));
                    assert_eq!(first.checksum, 77);
                    assert_eq!(first.subchunk_count, 2);
                    if minor == 4 {
                        assert_eq!(first.subchunk_index, 0x1_0005);
                        assert!(!first.duplicate);
                    } else {
                        assert_eq!(first.subchunk_index, 5);
                        assert!(first.duplicate);
                    }
                }
            }
        }
    }
}
