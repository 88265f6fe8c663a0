//! The payload of a cache generation, inside the store's snapshot container: a section table,
//! then `meta`, `sources`, `names`, `entries`, `table` and `blobs` (docs/icons.md,
//! "Cache file"). All integers little-endian; every read is bounds-checked, so a lying file gives
//! an error or a miss, never a panic.

use std::ops::Range;

use modforge_core::Reader;
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

use super::table;
use crate::error::Error;
use crate::key::ResRef;
use crate::source::{IconScope, SourceKind, SourceSpec};

/// Payload kind in the container header (`@1` = this layout).
pub const KIND: &str = "modforge.icons@1";
/// Cache format version (in `meta` and as the container's data version).
pub const FORMAT_VERSION: u32 = 1;
/// Number of sections.
const SECTIONS: usize = 6;
/// Payload header: u32 section count, u32 reserved, then (u64 offset, u64 length) per section.
const HEAD_LEN: usize = 8 + SECTIONS * 16;
/// Fixed part of `meta`.
const META_FIXED: usize = 64;
/// One `sources` record.
pub const SOURCE_LEN: usize = 48;
/// One `entries` record.
pub const ENTRY_LEN: usize = 56;
/// Most sources stored.
const MAX_STORED_SOURCES: usize = 65_535;

/// Section positions in the section table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Section {
    Meta = 0,
    Sources = 1,
    Names = 2,
    Entries = 3,
    Table = 4,
    Blobs = 5,
}

/// Entry flag: every pixel opaque (encoded as `Rgb8`).
pub const FLAG_OPAQUE: u8 = 1;
/// Entry flag: shrunk to fit `maxSize`.
pub const FLAG_RESIZED: u8 = 2;
/// Entry flag: not in the icon set; encoded because it was asked for.
pub const FLAG_ON_DEMAND: u8 = 4;

/// The `meta` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Meta {
    pub format_version: u32,
    pub settings_hash: u64,
    /// XXH3-64 of the `sources` section bytes.
    pub fingerprint_hash: u64,
    pub generation: u64,
    /// XXH3-64 over the `names`, `entries` and `table` section bytes.
    pub index_hash: u64,
    pub entry_count: u32,
    pub source_count: u32,
    pub table_slots: u32,
    pub encoder_id: String,
    pub settings_json: String,
    /// The discovery memo (JSON; empty: none), docs/icons.md "Discovery memo".
    pub discovery_memo: String,
}

/// One stored source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SourceRecord {
    pub id: u16,
    pub kind: SourceKind,
    pub icons: IconScope,
    pub priority: i32,
    pub size: u64,
    pub mtime_ns: i64,
    pub hash: u64,
    pub path: String,
    pub label: String,
}

impl SourceRecord {
    /// Whether this record stores `spec`: the same path, kind, icon scope and label (size, time
    /// and hash aside). Builds no string when the path is UTF-8.
    pub fn describes(&self, spec: &SourceSpec) -> bool {
        spec.path.to_str().map_or_else(
            || spec.path.to_string_lossy() == self.path,
            |path| path == self.path,
        ) && self.kind == spec.resolved_kind()
            && self.icons == spec.icons
            && spec.has_label(&self.label)
    }
}

/// One stored entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct EntryRecord {
    /// Offset of the resref in `names`.
    pub name_off: u32,
    /// Resref length.
    pub name_len: u8,
    /// `FLAG_*` bits.
    pub flags: u8,
    /// Type id of the source image.
    pub res_type: u16,
    /// Source id (position in `sources`).
    pub source_id: u16,
    /// Encoded width.
    pub width: u16,
    /// Encoded height.
    pub height: u16,
    /// Source image width.
    pub src_width: u16,
    /// Source image height.
    pub src_height: u16,
    /// ERF sources: key index; folder and ZIP sources: offset of the path record in `names`.
    pub entry_ref: u32,
    /// Blob offset inside `blobs`.
    pub blob_off: u64,
    /// Blob length.
    pub blob_len: u32,
    /// Low 32 bits of XXH3-64 over the record (without this field) and the resref bytes.
    pub entry_check: u32,
    /// XXH3-64 of the blob (the HTTP ETag).
    pub blob_hash: u64,
    /// XXH3-64 of the raw source bytes.
    pub src_hash: u64,
}

impl EntryRecord {
    fn encode(&self) -> [u8; ENTRY_LEN] {
        let mut b = [0u8; ENTRY_LEN];
        b[0..4].copy_from_slice(&self.name_off.to_le_bytes());
        b[4] = self.name_len;
        b[5] = self.flags;
        b[6..8].copy_from_slice(&self.res_type.to_le_bytes());
        b[8..10].copy_from_slice(&self.source_id.to_le_bytes());
        b[10..12].copy_from_slice(&self.width.to_le_bytes());
        b[12..14].copy_from_slice(&self.height.to_le_bytes());
        b[14..16].copy_from_slice(&self.src_width.to_le_bytes());
        b[16..18].copy_from_slice(&self.src_height.to_le_bytes());
        b[20..24].copy_from_slice(&self.entry_ref.to_le_bytes());
        b[24..32].copy_from_slice(&self.blob_off.to_le_bytes());
        b[32..36].copy_from_slice(&self.blob_len.to_le_bytes());
        b[36..40].copy_from_slice(&self.entry_check.to_le_bytes());
        b[40..48].copy_from_slice(&self.blob_hash.to_le_bytes());
        b[48..56].copy_from_slice(&self.src_hash.to_le_bytes());
        b
    }

    fn decode(b: &[u8]) -> Option<EntryRecord> {
        let r = Reader::new(b);
        Some(EntryRecord {
            name_off: r.u32_le_at(0).ok()?,
            name_len: r.u8_at(4).ok()?,
            flags: r.u8_at(5).ok()?,
            res_type: r.u16_le_at(6).ok()?,
            source_id: r.u16_le_at(8).ok()?,
            width: r.u16_le_at(10).ok()?,
            height: r.u16_le_at(12).ok()?,
            src_width: r.u16_le_at(14).ok()?,
            src_height: r.u16_le_at(16).ok()?,
            entry_ref: r.u32_le_at(20).ok()?,
            blob_off: r.u64_le_at(24).ok()?,
            blob_len: r.u32_le_at(32).ok()?,
            entry_check: r.u32_le_at(36).ok()?,
            blob_hash: r.u64_le_at(40).ok()?,
            src_hash: r.u64_le_at(48).ok()?,
        })
    }

    /// The check value of a record for its resref.
    pub(crate) fn check_of(&self, name: &[u8]) -> u32 {
        let bytes = self.encode();
        let mut h = Xxh3::new();
        h.update(bytes.get(..36).unwrap_or_default());
        h.update(bytes.get(40..).unwrap_or_default());
        h.update(name);
        h.digest() as u32
    }
}

/// A file's path and stat as stored in `names` for folder and ZIP entries:
/// u16 length, UTF-8 path, u64 size, i64 mtime_ns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PathRecord {
    pub path: String,
    pub size: u64,
    pub mtime_ns: i64,
}

/// An entry to write: its record (offsets filled in by the writer), resref, path and blob.
pub(crate) struct NewEntry<'a> {
    pub resref: ResRef,
    pub record: EntryRecord,
    pub path: Option<PathRecord>,
    pub blob: &'a [u8],
}

/// Writes a payload. `entries` must be sorted by resref without duplicates.
pub(crate) fn write(
    meta: &Meta,
    sources: &[SourceRecord],
    entries: &mut [NewEntry<'_>],
) -> Result<Vec<u8>, Error> {
    // sources
    let mut src = Vec::new();
    src.extend_from_slice(&(sources.len() as u32).to_le_bytes());
    src.extend_from_slice(&0u32.to_le_bytes());
    let mut strings = Vec::new();
    let strings_base = 8 + sources.len() * SOURCE_LEN;
    for s in sources {
        let path_off = strings_base + strings.len();
        strings.extend_from_slice(s.path.as_bytes());
        let label_off = strings_base + strings.len();
        strings.extend_from_slice(s.label.as_bytes());
        src.extend_from_slice(&s.id.to_le_bytes());
        src.push(s.kind.code());
        src.push(s.icons.code());
        src.extend_from_slice(&s.priority.to_le_bytes());
        src.extend_from_slice(&s.size.to_le_bytes());
        src.extend_from_slice(&s.mtime_ns.to_le_bytes());
        src.extend_from_slice(&s.hash.to_le_bytes());
        src.extend_from_slice(&to_u32(path_off)?.to_le_bytes());
        src.extend_from_slice(&to_u32(s.path.len())?.to_le_bytes());
        src.extend_from_slice(&to_u32(label_off)?.to_le_bytes());
        src.extend_from_slice(&to_u32(s.label.len())?.to_le_bytes());
    }
    src.extend_from_slice(&strings);

    // names (resrefs and path records) and entries; blob offsets are assigned here and the blobs
    // are copied once, straight into the payload.
    let mut names = Vec::new();
    let mut blob_len = 0u64;
    let mut records = Vec::with_capacity(entries.len() * ENTRY_LEN);
    for e in entries.iter_mut() {
        let name = e.resref.as_bytes();
        e.record.name_off = to_u32(names.len())?;
        e.record.name_len = name.len() as u8;
        names.extend_from_slice(name);
        if let Some(p) = &e.path {
            e.record.entry_ref = to_u32(names.len())?;
            let len = u16::try_from(p.path.len())
                .map_err(|_| Error::limit(&p.path, "path longer than 65,535 bytes"))?;
            names.extend_from_slice(&len.to_le_bytes());
            names.extend_from_slice(p.path.as_bytes());
            names.extend_from_slice(&p.size.to_le_bytes());
            names.extend_from_slice(&p.mtime_ns.to_le_bytes());
        }
        e.record.blob_off = blob_len;
        e.record.blob_len = to_u32(e.blob.len())?;
        e.record.blob_hash = xxh3_64(e.blob);
        blob_len += e.blob.len() as u64;
        e.record.entry_check = e.record.check_of(name);
        records.extend_from_slice(&e.record.encode());
    }
    let table = table::build(entries.iter().map(|e| e.resref.as_bytes()));
    let table_bytes: Vec<u8> = table.iter().flat_map(|v| v.to_le_bytes()).collect();

    let mut index = Xxh3::new();
    index.update(&names);
    index.update(&records);
    index.update(&table_bytes);
    let mut meta = meta.clone();
    meta.fingerprint_hash = xxh3_64(&src);
    meta.index_hash = index.digest();
    meta.entry_count = to_u32(entries.len())?;
    meta.source_count = to_u32(sources.len())?;
    meta.table_slots = to_u32(table.len())?;
    let meta_bytes = encode_meta(&meta)?;

    let blob_len = usize::try_from(blob_len)
        .map_err(|_| Error::limit("icon cache", "blobs larger than memory"))?;
    let parts: [&[u8]; SECTIONS - 1] = [&meta_bytes, &src, &names, &records, &table_bytes];
    let total: usize = HEAD_LEN + parts.iter().map(|p| p.len() + 8).sum::<usize>() + blob_len + 8;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(SECTIONS as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    let mut at = HEAD_LEN;
    for len in parts.iter().map(|p| p.len()).chain([blob_len]) {
        at = at.next_multiple_of(8);
        out.extend_from_slice(&(at as u64).to_le_bytes());
        out.extend_from_slice(&(len as u64).to_le_bytes());
        at += len;
    }
    for p in parts {
        out.resize(out.len().next_multiple_of(8), 0);
        out.extend_from_slice(p);
    }
    out.resize(out.len().next_multiple_of(8), 0);
    for e in entries.iter() {
        out.extend_from_slice(e.blob);
    }
    Ok(out)
}

fn to_u32(v: usize) -> Result<u32, Error> {
    u32::try_from(v)
        .map_err(|_| Error::limit("icon cache", format!("{v} above the 4 GiB section limit")))
}

fn encode_meta(m: &Meta) -> Result<Vec<u8>, Error> {
    let memo = m.discovery_memo.as_bytes();
    let mut b =
        Vec::with_capacity(META_FIXED + m.encoder_id.len() + m.settings_json.len() + memo.len());
    b.extend_from_slice(&m.format_version.to_le_bytes());
    b.extend_from_slice(&to_u32(memo.len())?.to_le_bytes());
    b.extend_from_slice(&m.settings_hash.to_le_bytes());
    b.extend_from_slice(&m.fingerprint_hash.to_le_bytes());
    b.extend_from_slice(&m.generation.to_le_bytes());
    b.extend_from_slice(&m.index_hash.to_le_bytes());
    b.extend_from_slice(&m.entry_count.to_le_bytes());
    b.extend_from_slice(&m.source_count.to_le_bytes());
    b.extend_from_slice(&m.table_slots.to_le_bytes());
    let id_len = u16::try_from(m.encoder_id.len())
        .map_err(|_| Error::Internal("encoder id too long".into()))?;
    let json_len = u16::try_from(m.settings_json.len()).map_err(|_| {
        Error::InvalidArg("settings (icon list) longer than 65,535 bytes of JSON".into())
    })?;
    b.extend_from_slice(&id_len.to_le_bytes());
    b.extend_from_slice(&json_len.to_le_bytes());
    b.extend_from_slice(&xxh3_64(memo).to_le_bytes());
    b.extend_from_slice(m.encoder_id.as_bytes());
    b.extend_from_slice(m.settings_json.as_bytes());
    b.extend_from_slice(memo);
    Ok(b)
}

/// The checked structure of a payload: section ranges, meta and sources. Parsing is
/// O(sources); entries are checked when used.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    sections: [Range<usize>; SECTIONS],
    pub meta: Meta,
    pub sources: Vec<SourceRecord>,
}

/// A structural problem: byte offset in the payload and what was wrong.
pub(crate) type Problem = (u64, String);

impl Layout {
    /// Checks the section table, `meta`, the `sources` records and the sizes of `entries` and
    /// `table` against the counts in `meta`.
    pub(crate) fn parse(payload: &[u8]) -> Result<Layout, Problem> {
        let r = Reader::new(payload);
        let count = r.u32_le_at(0).map_err(|e| (e.offset, e.to_string()))?;
        if count as usize != SECTIONS {
            return Err((0, format!("{SECTIONS} sections, found {count}")));
        }
        let mut sections: [Range<usize>; SECTIONS] = Default::default();
        for (i, s) in sections.iter_mut().enumerate() {
            let at = 8 + i * 16;
            let off = r.u64_le_at(at).map_err(|e| (e.offset, e.to_string()))?;
            let len = r.u64_le_at(at + 8).map_err(|e| (e.offset, e.to_string()))?;
            let end = off.checked_add(len).filter(|&e| e <= payload.len() as u64);
            match end {
                Some(end) if off >= HEAD_LEN as u64 => *s = off as usize..end as usize,
                _ => {
                    return Err((
                        at as u64,
                        format!(
                            "section {i} of {len} bytes at {off} inside the {}-byte payload",
                            payload.len()
                        ),
                    ));
                }
            }
        }
        let at = |s: Section| sections.get(s as usize).cloned().unwrap_or_default();
        let meta = decode_meta(payload.get(at(Section::Meta)).unwrap_or_default())
            .map_err(|(o, m)| (at(Section::Meta).start as u64 + o, m))?;
        let src = payload.get(at(Section::Sources)).unwrap_or_default();
        if xxh3_64(src) != meta.fingerprint_hash {
            return Err((
                at(Section::Sources).start as u64,
                "sources section hash mismatch".into(),
            ));
        }
        let sources = decode_sources(src, meta.source_count)
            .map_err(|(o, m)| (at(Section::Sources).start as u64 + o, m))?;
        let entries_len = at(Section::Entries).len();
        if entries_len != meta.entry_count as usize * ENTRY_LEN {
            return Err((
                at(Section::Entries).start as u64,
                format!(
                    "{} entries of {ENTRY_LEN} bytes, section has {entries_len}",
                    meta.entry_count
                ),
            ));
        }
        let slots = meta.table_slots as usize;
        let table_len = at(Section::Table).len();
        if !slots.is_power_of_two()
            || slots < table::slots_for(meta.entry_count as usize)
            || table_len != slots * 4
        {
            return Err((
                at(Section::Table).start as u64,
                format!(
                    "a power-of-two table of at least {} slots for {} entries, found {} slots in {} bytes",
                    table::slots_for(meta.entry_count as usize),
                    meta.entry_count,
                    slots,
                    table_len
                ),
            ));
        }
        Ok(Layout {
            sections,
            meta,
            sources,
        })
    }

    pub(crate) fn section<'a>(&self, payload: &'a [u8], s: Section) -> &'a [u8] {
        self.sections
            .get(s as usize)
            .and_then(|r| payload.get(r.clone()))
            .unwrap_or_default()
    }

    /// Byte range of a section inside the payload.
    pub(crate) fn range(&self, s: Section) -> Range<usize> {
        self.sections.get(s as usize).cloned().unwrap_or_default()
    }

    /// Entry count.
    pub(crate) fn len(&self) -> usize {
        self.meta.entry_count as usize
    }

    /// Entry `i`'s record.
    pub(crate) fn entry(&self, payload: &[u8], i: u32) -> Option<EntryRecord> {
        let at = (i as usize).checked_mul(ENTRY_LEN)?;
        let bytes = self
            .section(payload, Section::Entries)
            .get(at..at.checked_add(ENTRY_LEN)?)?;
        EntryRecord::decode(bytes)
    }

    /// The resref bytes of entry `i`, read without decoding the whole record.
    pub(crate) fn name_of<'a>(&self, payload: &'a [u8], i: u32) -> Option<&'a [u8]> {
        let at = (i as usize).checked_mul(ENTRY_LEN)?;
        let entries = self.section(payload, Section::Entries);
        let r = Reader::new(entries);
        let off = r.u32_le_at(at).ok()? as usize;
        let len = usize::from(r.u8_at(at + 4).ok()?);
        if at + ENTRY_LEN > entries.len() {
            return None;
        }
        self.section(payload, Section::Names)
            .get(off..off.checked_add(len)?)
    }

    /// The resref bytes of a record.
    pub(crate) fn name<'a>(&self, payload: &'a [u8], e: &EntryRecord) -> Option<&'a [u8]> {
        let start = e.name_off as usize;
        self.section(payload, Section::Names)
            .get(start..start.checked_add(usize::from(e.name_len))?)
    }

    /// The blob of a record, when it lies inside `blobs`.
    pub(crate) fn blob<'a>(&self, payload: &'a [u8], e: &EntryRecord) -> Option<&'a [u8]> {
        let start = usize::try_from(e.blob_off).ok()?;
        self.section(payload, Section::Blobs)
            .get(start..start.checked_add(e.blob_len as usize)?)
    }

    /// Byte range of a record's blob inside the payload.
    pub(crate) fn blob_range(&self, e: &EntryRecord) -> Option<Range<usize>> {
        let blobs = self.range(Section::Blobs);
        let start = blobs.start.checked_add(usize::try_from(e.blob_off).ok()?)?;
        let end = start.checked_add(e.blob_len as usize)?;
        (end <= blobs.end).then_some(start..end)
    }

    /// The path record at `off` in `names`.
    pub(crate) fn path_record(&self, payload: &[u8], off: u32) -> Option<PathRecord> {
        let names = self.section(payload, Section::Names);
        let r = Reader::new(names);
        let at = off as usize;
        let len = usize::from(r.u16_le_at(at).ok()?);
        let path = std::str::from_utf8(r.slice_at(at + 2, len).ok()?).ok()?;
        Some(PathRecord {
            path: path.to_string(),
            size: r.u64_le_at(at + 2 + len).ok()?,
            mtime_ns: r.i64_le_at(at + 10 + len).ok()?,
        })
    }

    /// The entry whose resref is `resref`, by probing the table.
    pub(crate) fn find(&self, payload: &[u8], resref: &[u8]) -> Option<u32> {
        let table = self.section(payload, Section::Table);
        let slots = self.meta.table_slots as usize;
        let r = Reader::new(table);
        table::probe(
            slots,
            |s| r.u32_le_at(s.checked_mul(4)?).ok(),
            resref,
            |i| self.name_of(payload, i).is_some_and(|n| n == resref),
        )
    }

    /// Whether entry `i` is intact: its check value matches, its blob lies inside `blobs`, and
    /// the blob hashes to its `blobHash`.
    pub(crate) fn entry_intact(&self, payload: &[u8], i: u32) -> bool {
        let Some(e) = self.entry(payload, i) else {
            return false;
        };
        let Some(name) = self.name(payload, &e) else {
            return false;
        };
        e.check_of(name) == e.entry_check
            && self
                .blob(payload, &e)
                .is_some_and(|b| xxh3_64(b) == e.blob_hash)
    }

    /// XXH3-64 of `names`, `entries` and `table`.
    pub(crate) fn compute_index_hash(&self, payload: &[u8]) -> u64 {
        let mut h = Xxh3::new();
        h.update(self.section(payload, Section::Names));
        h.update(self.section(payload, Section::Entries));
        h.update(self.section(payload, Section::Table));
        h.digest()
    }
}

fn decode_meta(b: &[u8]) -> Result<Meta, Problem> {
    let r = Reader::new(b);
    let e = |e: modforge_core::OutOfBounds| (e.offset, e.to_string());
    let id_len = usize::from(r.u16_le_at(52).map_err(e)?);
    let json_len = usize::from(r.u16_le_at(54).map_err(e)?);
    let id = r.slice_at(META_FIXED, id_len).map_err(e)?;
    let json = r.slice_at(META_FIXED + id_len, json_len).map_err(e)?;
    // The memo only spares an open a discovery: one that is cut short, damaged or not UTF-8 is
    // dropped, never an error.
    let memo = r
        .u32_le_at(4)
        .ok()
        .and_then(|len| {
            r.slice_at(META_FIXED + id_len + json_len, len as usize)
                .ok()
        })
        .filter(|memo| r.u64_le_at(56).is_ok_and(|hash| hash == xxh3_64(memo)))
        .and_then(|memo| std::str::from_utf8(memo).ok())
        .unwrap_or_default()
        .to_string();
    let text = |bytes: &[u8], at: usize| {
        std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|_| (at as u64, "text that is UTF-8".to_string()))
    };
    Ok(Meta {
        format_version: r.u32_le_at(0).map_err(e)?,
        settings_hash: r.u64_le_at(8).map_err(e)?,
        fingerprint_hash: r.u64_le_at(16).map_err(e)?,
        generation: r.u64_le_at(24).map_err(e)?,
        index_hash: r.u64_le_at(32).map_err(e)?,
        entry_count: r.u32_le_at(40).map_err(e)?,
        source_count: r.u32_le_at(44).map_err(e)?,
        table_slots: r.u32_le_at(48).map_err(e)?,
        encoder_id: text(id, META_FIXED)?,
        settings_json: text(json, META_FIXED + id_len)?,
        discovery_memo: memo,
    })
}

fn decode_sources(b: &[u8], expected: u32) -> Result<Vec<SourceRecord>, Problem> {
    let r = Reader::new(b);
    let e = |e: modforge_core::OutOfBounds| (e.offset, e.to_string());
    let count = r.u32_le_at(0).map_err(e)?;
    if count != expected
        || count as usize > MAX_STORED_SOURCES
        || 8 + count as usize * SOURCE_LEN > b.len()
    {
        return Err((
            0,
            format!(
                "{expected} source records inside the {}-byte section, found {count}",
                b.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(count as usize);
    for i in 0..count as usize {
        let at = 8 + i * SOURCE_LEN;
        let string = |off_at: usize, len_at: usize| -> Result<String, Problem> {
            let off = r.u32_le_at(at + off_at).map_err(e)? as usize;
            let len = r.u32_le_at(at + len_at).map_err(e)? as usize;
            let bytes = r.slice_at(off, len).map_err(e)?;
            std::str::from_utf8(bytes)
                .map(str::to_string)
                .map_err(|_| (off as u64, "a UTF-8 source path or label".to_string()))
        };
        let kind = SourceKind::from_code(r.u8_at(at + 2).map_err(e)?)
            .ok_or_else(|| ((at + 2) as u64, "a source kind 0-2".to_string()))?;
        let icons = IconScope::from_code(r.u8_at(at + 3).map_err(e)?)
            .ok_or_else(|| ((at + 3) as u64, "an icon scope 0-2".to_string()))?;
        out.push(SourceRecord {
            id: r.u16_le_at(at).map_err(e)?,
            kind,
            icons,
            priority: r.i32_le_at(at + 4).map_err(e)?,
            size: r.u64_le_at(at + 8).map_err(e)?,
            mtime_ns: r.i64_le_at(at + 16).map_err(e)?,
            hash: r.u64_le_at(at + 24).map_err(e)?,
            path: string(32, 36)?,
            label: string(40, 44)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod source_record_tests {
    use super::*;

    fn record(path: &str, kind: SourceKind, label: &str) -> SourceRecord {
        SourceRecord {
            id: 0,
            kind,
            icons: IconScope::None,
            priority: 0,
            size: 0,
            mtime_ns: 0,
            hash: 0,
            path: path.to_owned(),
            label: label.to_owned(),
        }
    }

    #[test]
    fn a_record_describes_its_source_by_path_kind_scope_and_label() {
        let hak = SourceSpec::new("/game/hak/a.hak");
        assert!(record("/game/hak/a.hak", SourceKind::Erf, "/game/hak/a.hak").describes(&hak));
        let labelled = hak.clone().labelled("hak/a");
        assert!(record("/game/hak/a.hak", SourceKind::Erf, "hak/a").describes(&labelled));
        assert!(
            !record("/game/hak/a.hak", SourceKind::Erf, "/game/hak/a.hak").describes(&labelled)
        );
        assert!(!record("/game/hak/b.hak", SourceKind::Erf, "/game/hak/a.hak").describes(&hak));
        assert!(!record("/game/hak/a.hak", SourceKind::Zip, "/game/hak/a.hak").describes(&hak));
        let scoped = hak.clone().with_icons(IconScope::All);
        assert!(!record("/game/hak/a.hak", SourceKind::Erf, "/game/hak/a.hak").describes(&scoped));
    }

    #[cfg(unix)]
    #[test]
    fn a_path_that_is_not_utf8_compares_as_its_lossy_text() {
        use std::os::unix::ffi::OsStrExt;
        let path = std::path::Path::new(std::ffi::OsStr::from_bytes(b"/game/ov\xffer"));
        let spec = SourceSpec::new(path);
        let text = path.to_string_lossy().into_owned();
        assert!(record(&text, SourceKind::Dir, &path.display().to_string()).describes(&spec));
        assert!(!record("/game/over", SourceKind::Dir, &text).describes(&spec));
    }
}
