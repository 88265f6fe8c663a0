//! The ERF family reader: ERF, HAK, MOD, SAV and NWM archives, versions V1.0 and V1.1
//! (docs/icons.md, "ERF family").
//!
//! Only the 160-byte header, the localized strings, the key list and the resource list are read
//! (positionally); resource data is read on demand. Every count and offset comes from the file
//! and is checked against its length before anything is allocated.

use xxhash_rust::xxh3::Xxh3;

use crate::error::Error;
use crate::io::ReadAt;
use crate::key::{ResKey, ResRef, ResType};

/// Header length.
pub const HEADER_LEN: u64 = 160;
/// Key entry length of V1.0 (16-byte resrefs).
pub const KEY_STRIDE_V10: u64 = 24;
/// Key entry length of NWN2 V1.1 (32-byte resrefs).
pub const KEY_STRIDE_V11: u64 = 40;
/// Resource-list entry length.
pub const RES_STRIDE: u64 = 8;
/// Most localized strings kept (a real module has 11); more are counted in a warning.
pub const MAX_LANGUAGES: u32 = 64;
/// Longest localized string kept, in bytes.
pub const MAX_DESCRIPTION: u32 = 1 << 20;

/// The archive's version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErfVersion {
    /// `V1.0` (NWN1, and NWN2 files written by NWN1 tools).
    V10,
    /// `V1.1` (NWN2).
    V11,
}

/// The decoded header fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErfHeader {
    /// FileType, e.g. `HAK ` (advisory).
    pub file_type: [u8; 4],
    /// Version.
    pub version: ErfVersion,
    /// LanguageCount.
    pub language_count: u32,
    /// LocalizedStringSize (often wrong in shipped files; never used).
    pub localized_string_size: u32,
    /// EntryCount.
    pub entry_count: u32,
    /// OffsetToLocalizedString.
    pub offset_to_localized: u32,
    /// OffsetToKeyList.
    pub offset_to_keys: u32,
    /// OffsetToResourceList.
    pub offset_to_resources: u32,
    /// BuildYear (years since 1900).
    pub build_year: u32,
    /// BuildDay (0-based day of the year).
    pub build_day: u32,
    /// DescriptionStrRef (0xFFFFFFFF or garbage; never validated).
    pub description_strref: u32,
    /// Key entry length used: 24 or 40 (the key-stride rule).
    pub key_stride: u64,
}

/// One localized description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalizedString {
    /// Language id (0 English, 1 French, 2 German, ...).
    pub language: u32,
    /// Raw bytes as stored (terminator included when present).
    pub bytes: Vec<u8>,
}

impl LocalizedString {
    /// The text decoded as Windows-1252, trailing NULs removed.
    pub fn text(&self) -> String {
        let end = self
            .bytes
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |i| i + 1);
        crate::text::windows_1252(self.bytes.get(..end).unwrap_or_default())
    }
}

/// One accepted resource of the archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErfEntry {
    /// The key.
    pub key: ResKey,
    /// Position in the key list (the resource-list entry it uses).
    pub index: u32,
    /// ResID as stored (equals `index` in every known writer).
    pub res_id: u32,
    /// Absolute data offset.
    pub offset: u32,
    /// Data size (0 is legal).
    pub size: u32,
}

/// A parsed archive table of contents.
#[derive(Clone, Debug)]
pub struct Erf {
    /// The header.
    pub header: ErfHeader,
    /// Localized descriptions.
    pub localized: Vec<LocalizedString>,
    /// Accepted entries in key-list order (rejected ones are described in `warnings`).
    pub entries: Vec<ErfEntry>,
    /// Keys that were rejected (bad name, unknown type is kept; data range outside the file).
    pub rejected: u32,
    /// What was odd but readable.
    pub warnings: Vec<String>,
    /// XXH3-64 over the key-list bytes then the resource-list bytes.
    pub key_list_hash: u64,
    /// The file length the table was checked against.
    pub file_len: u64,
}

impl Erf {
    /// Reads the table of contents of an archive. `label` names it in errors and warnings.
    pub fn parse(input: &(impl ReadAt + ?Sized), label: &str) -> Result<Erf, Error> {
        let file_len = input.len();
        let mut head = [0u8; HEADER_LEN as usize];
        if file_len < HEADER_LEN {
            return Err(Error::format(
                label,
                file_len,
                format!("a {HEADER_LEN}-byte ERF header (the file has {file_len} bytes)"),
            ));
        }
        input
            .read_exact_at(&mut head, 0)
            .map_err(|e| Error::io("read", label, e))?;
        let r = modforge_core::Reader::new(&head);
        let u32_at = |off: usize| r.u32_le_at(off).map_err(|e| Error::short(label, e));
        let mut warnings = Vec::new();
        let mut file_type = [0u8; 4];
        file_type.copy_from_slice(head.get(..4).unwrap_or(&[0; 4]));
        if !matches!(&file_type, b"ERF " | b"HAK " | b"MOD " | b"SAV " | b"NWM ") {
            warnings.push(format!(
                "{label}: unknown file type {:?} (read as an ERF)",
                String::from_utf8_lossy(&file_type)
            ));
        }
        let version = match head.get(4..8) {
            Some(b"V1.0") => ErfVersion::V10,
            Some(b"V1.1") => ErfVersion::V11,
            other => {
                return Err(Error::format(
                    label,
                    4,
                    format!(
                        "version V1.0 or V1.1, found {:?}",
                        String::from_utf8_lossy(other.unwrap_or_default())
                    ),
                ));
            }
        };
        let entry_count = u32_at(16)?;
        let offset_to_keys = u32_at(24)?;
        let offset_to_resources = u32_at(28)?;
        let key_stride = key_stride(version, entry_count, offset_to_keys, offset_to_resources);
        let header = ErfHeader {
            file_type,
            version,
            language_count: u32_at(8)?,
            localized_string_size: u32_at(12)?,
            entry_count,
            offset_to_localized: u32_at(20)?,
            offset_to_keys,
            offset_to_resources,
            build_year: u32_at(32)?,
            build_day: u32_at(36)?,
            description_strref: u32_at(40)?,
            key_stride,
        };
        let cap = (file_len - HEADER_LEN) / (key_stride + RES_STRIDE);
        if u64::from(entry_count) > cap {
            return Err(Error::format(
                label,
                16,
                format!(
                    "an entry count of at most {cap} for a {file_len}-byte file with {key_stride}-byte keys, found {entry_count}"
                ),
            ));
        }
        let count = u64::from(entry_count);
        let keys = read_table(
            input,
            label,
            offset_to_keys,
            count * key_stride,
            "key list",
            24,
        )?;
        let resources = read_table(
            input,
            label,
            offset_to_resources,
            count * RES_STRIDE,
            "resource list",
            28,
        )?;
        let mut hasher = Xxh3::new();
        hasher.update(&keys);
        hasher.update(&resources);
        let key_list_hash = hasher.digest();

        let localized = read_localized(input, label, &header, &mut warnings);
        let mut entries = Vec::with_capacity(keys.len() / key_stride as usize);
        let name_len = if key_stride == KEY_STRIDE_V11 { 32 } else { 16 };
        let (mut rejected, mut id_mismatch) = (0u32, None::<(u32, u32)>);
        let kr = modforge_core::Reader::new(&keys);
        let rr = modforge_core::Reader::new(&resources);
        for i in 0..entry_count {
            let at = (u64::from(i) * key_stride) as usize;
            let field = kr
                .slice_at(at, name_len)
                .map_err(|e| Error::short(label, e))?;
            let res_id = kr
                .u32_le_at(at + name_len)
                .map_err(|e| Error::short(label, e))?;
            let res_type = kr
                .u16_le_at(at + name_len + 4)
                .map_err(|e| Error::short(label, e))?;
            let ra = (u64::from(i) * RES_STRIDE) as usize;
            let offset = rr.u32_le_at(ra).map_err(|e| Error::short(label, e))?;
            let size = rr.u32_le_at(ra + 4).map_err(|e| Error::short(label, e))?;
            let key_offset = u64::from(offset_to_keys) + at as u64;
            let resref = match ResRef::from_padded(field) {
                Ok(r) => r,
                Err(problem) => {
                    rejected += 1;
                    warnings.push(format!(
                        "{label}: key {i} at byte offset {key_offset} rejected: {problem}"
                    ));
                    continue;
                }
            };
            if u64::from(offset) + u64::from(size) > file_len {
                rejected += 1;
                warnings.push(format!(
                    "{label}: key {i} ({resref}) rejected: data at {offset} + {size} bytes ends past the end of the file ({file_len} bytes)"
                ));
                continue;
            }
            if res_id != i && id_mismatch.is_none() {
                id_mismatch = Some((i, res_id));
            }
            entries.push(ErfEntry {
                key: ResKey {
                    resref,
                    res_type: ResType(res_type),
                },
                index: i,
                res_id,
                offset,
                size,
            });
        }
        if let Some((i, id)) = id_mismatch {
            let n = entries.iter().filter(|e| e.res_id != e.index).count();
            warnings.push(format!(
                "{label}: {n} keys have a ResID other than their position (first: key {i} has ResID {id}); positions are used"
            ));
        }
        Ok(Erf {
            header,
            localized,
            entries,
            rejected,
            warnings,
            key_list_hash,
            file_len,
        })
    }

    /// Reads entry `entry`'s bytes from the same input the table was parsed from.
    pub fn read(
        &self,
        input: &(impl ReadAt + ?Sized),
        entry: &ErfEntry,
        label: &str,
    ) -> Result<Vec<u8>, Error> {
        input
            .read_vec(u64::from(entry.offset), u64::from(entry.size))
            .map_err(|e| Error::io("read", label, e))
    }
}

/// The key-stride rule: V1.0 uses 24-byte keys; V1.1 uses 24 when the gap between the key list
/// and the resource list gives less than 40 bytes per entry (NWN1 premium modules say V1.1 but
/// keep 16-character names), else 40. A resource list placed before the key list gives 40.
pub fn key_stride(version: ErfVersion, count: u32, keys: u32, resources: u32) -> u64 {
    match version {
        ErfVersion::V10 => KEY_STRIDE_V10,
        ErfVersion::V11 => {
            let gap = i64::from(resources) - i64::from(keys);
            if count > 0 && gap >= 0 && gap / i64::from(count) < KEY_STRIDE_V11 as i64 {
                KEY_STRIDE_V10
            } else {
                KEY_STRIDE_V11
            }
        }
    }
}

fn read_table(
    input: &(impl ReadAt + ?Sized),
    label: &str,
    offset: u32,
    len: u64,
    what: &str,
    field: u64,
) -> Result<Vec<u8>, Error> {
    let file_len = input.len();
    if u64::from(offset) + len > file_len {
        return Err(Error::format(
            label,
            field,
            format!("a {what} of {len} bytes at {offset} inside the {file_len}-byte file"),
        ));
    }
    input
        .read_vec(u64::from(offset), len)
        .map_err(|e| Error::io("read", label, e))
}

/// Reads the localized strings; problems are warnings (the strings are informational).
fn read_localized(
    input: &(impl ReadAt + ?Sized),
    label: &str,
    header: &ErfHeader,
    warnings: &mut Vec<String>,
) -> Vec<LocalizedString> {
    let file_len = input.len();
    let mut out = Vec::new();
    let mut at = u64::from(header.offset_to_localized);
    let count = header.language_count.min(MAX_LANGUAGES);
    if header.language_count > MAX_LANGUAGES {
        warnings.push(format!(
            "{label}: {} localized strings, only the first {MAX_LANGUAGES} are read",
            header.language_count
        ));
    }
    for i in 0..count {
        let mut pair = [0u8; 8];
        if at + 8 > file_len || input.read_exact_at(&mut pair, at).is_err() {
            warnings.push(format!(
                "{label}: localized string {i} at byte offset {at} lies past the end of the file"
            ));
            break;
        }
        let language = u32::from_le_bytes([pair[0], pair[1], pair[2], pair[3]]);
        let size = u32::from_le_bytes([pair[4], pair[5], pair[6], pair[7]]);
        if size > MAX_DESCRIPTION || at + 8 + u64::from(size) > file_len {
            warnings.push(format!(
                "{label}: localized string {i} at byte offset {at} claims {size} bytes past the end of the file or above {MAX_DESCRIPTION}"
            ));
            break;
        }
        match input.read_vec(at + 8, u64::from(size)) {
            Ok(bytes) => out.push(LocalizedString { language, bytes }),
            Err(_) => break,
        }
        at += 8 + u64::from(size);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stride_rule() {
        assert_eq!(key_stride(ErfVersion::V10, 3, 160, 1000), 24);
        assert_eq!(key_stride(ErfVersion::V11, 2, 160, 160 + 80), 40);
        assert_eq!(key_stride(ErfVersion::V11, 2, 160, 160 + 64), 24);
        assert_eq!(key_stride(ErfVersion::V11, 0, 160, 160), 40);
        assert_eq!(key_stride(ErfVersion::V11, 2, 400, 160), 40);
    }
}
