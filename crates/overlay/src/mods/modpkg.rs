//! `.modpkg` packages, format version 1 (docs/overlay.md, "modpkg"): a header, layer, path and
//! WAD tables, 8-byte padding, 61-byte chunk records, then data. Pass 1 reads the tables and the
//! `_meta_/info.msgpack` chunk only: a chunk's uncompressed checksum is its content hash. Paths
//! come from `path_index` and are never re-hashed. Layers come from the header.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use modforge_core::{OutOfBounds, Reader};
use xxhash_rust::xxh3::xxh3_64;

use super::config::{Declared, parse_modpkg_info};
use super::{
    Item, LayerInfo, ModInfo, ModKind, ModMeta, Source, WadDir, finish_layers, sort_items,
};
use crate::error::{Error, Result, label};
use crate::io::read_exact_at;
use crate::meter::Meter;
use crate::report::{Warning, WarningCode};

/// `_modpkg_`.
pub(crate) const MAGIC: &[u8; 8] = b"_modpkg_";
/// Bytes of one chunk record.
const RECORD: usize = 61;
/// "No layer" / "no WAD" index.
const NONE: u32 = u32::MAX;
/// The metadata chunk read in pass 1.
const INFO_PATH: &str = "_meta_/info.msgpack";
/// Largest metadata chunk read (the info chunk holds names and a few strings).
const MAX_INFO: u64 = 16 << 20;

/// One chunk record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    pub path_hash: u64,
    pub offset: u64,
    pub compression: u8,
    pub stored_size: u64,
    pub size: u64,
    pub stored_checksum: u64,
    pub content_hash: u64,
    pub path_index: u32,
    pub layer_index: u32,
    pub wad_index: u32,
}

/// The parsed tables of a package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tables {
    pub layers: Vec<(String, i32)>,
    pub paths: Vec<String>,
    pub wads: Vec<String>,
    pub records: Vec<Record>,
}

/// Parses the tables from `bytes`, the package's first bytes. `Err(Ok(oob))` means the tables
/// continue past `bytes` (read more and retry); `Err(Err(e))` is a format error.
fn parse_tables(
    bytes: &[u8],
    file_len: u64,
    file: &str,
) -> std::result::Result<Tables, std::result::Result<OutOfBounds, Error>> {
    let mut r = Reader::new(bytes);
    let magic = r.take(8).map_err(Ok)?;
    if magic != MAGIC {
        return Err(Err(Error::format(
            file,
            0,
            "expected the modpkg magic \"_modpkg_\"",
        )));
    }
    let version = r.u32_le().map_err(Ok)?;
    if version != 1 {
        return Err(Err(Error::format(
            file,
            8,
            format!("modpkg format version {version} (only 1 is supported)"),
        )));
    }
    let sig_len = r.u32_le().map_err(Ok)?;
    let chunk_count = r.u32_le().map_err(Ok)?;
    // Every table below is bounded by the file: a count needs at least one byte per item.
    let fits = |count: u64,
                per: u64,
                at: usize|
     -> std::result::Result<(), std::result::Result<OutOfBounds, Error>> {
        if count.saturating_mul(per) > file_len.saturating_sub(at as u64) {
            return Err(Err(Error::format(
                file,
                at as u64,
                format!(
                    "count {count} needs {} bytes, the file has {file_len}",
                    count.saturating_mul(per)
                ),
            )));
        }
        Ok(())
    };
    fits(u64::from(sig_len), 1, r.pos())?;
    r.skip(sig_len as usize).map_err(Ok)?;
    let layer_count = r.u32_le().map_err(Ok)?;
    fits(u64::from(layer_count), 8, r.pos())?;
    let mut layers = Vec::new();
    for _ in 0..layer_count {
        let at = r.pos();
        let len = r.u32_le().map_err(Ok)?;
        fits(u64::from(len), 1, r.pos())?;
        let name = r.take(len as usize).map_err(Ok)?;
        let name = std::str::from_utf8(name)
            .map_err(|_| Err(Error::format(file, at as u64, "layer name is not UTF-8")))?;
        let priority = r.i32_le().map_err(Ok)?;
        layers.push((name.to_owned(), priority));
    }
    let paths = strings(&mut r, file, file_len)?;
    let wads = strings(&mut r, file, file_len)?;
    let pad = (8 - r.pos() % 8) % 8;
    r.skip(pad).map_err(Ok)?;
    fits(u64::from(chunk_count), RECORD as u64, r.pos())?;
    let mut records = Vec::new();
    for _ in 0..chunk_count {
        let rec = r.take(RECORD).map_err(Ok)?;
        let c = Reader::new(rec);
        let field = |e: OutOfBounds| Err(Error::format(file, e.offset, "chunk record"));
        records.push(Record {
            path_hash: c.u64_le_at(0).map_err(field)?,
            offset: c.u64_le_at(8).map_err(field)?,
            compression: c.u8_at(16).map_err(field)?,
            stored_size: c.u64_le_at(17).map_err(field)?,
            size: c.u64_le_at(25).map_err(field)?,
            stored_checksum: c.u64_le_at(33).map_err(field)?,
            content_hash: c.u64_le_at(41).map_err(field)?,
            path_index: c.u32_le_at(49).map_err(field)?,
            layer_index: c.u32_le_at(53).map_err(field)?,
            wad_index: c.u32_le_at(57).map_err(field)?,
        });
    }
    Ok(Tables {
        layers,
        paths,
        wads,
        records,
    })
}

/// A `u32` count followed by NUL-terminated UTF-8 strings.
fn strings(
    r: &mut Reader<'_>,
    file: &str,
    file_len: u64,
) -> std::result::Result<Vec<String>, std::result::Result<OutOfBounds, Error>> {
    let count = r.u32_le().map_err(Ok)?;
    if u64::from(count) > file_len.saturating_sub(r.pos() as u64) {
        return Err(Err(Error::format(
            file,
            r.pos() as u64,
            format!("string count {count} exceeds the file"),
        )));
    }
    let mut out = Vec::new();
    for _ in 0..count {
        let at = r.pos();
        let rest = r.data().get(at..).unwrap_or_default();
        let Some(nul) = rest.iter().position(|b| *b == 0) else {
            return Err(Ok(OutOfBounds {
                offset: at as u64,
                wanted: rest.len() as u64 + 1,
                len: r.len() as u64,
            }));
        };
        let text = std::str::from_utf8(&rest[..nul])
            .map_err(|_| Err(Error::format(file, at as u64, "string is not UTF-8")))?;
        out.push(text.to_owned());
        r.skip(nul + 1).map_err(Ok)?;
    }
    Ok(out)
}

/// Reads the tables of the package `file`, growing the read until they fit.
pub(crate) fn read_tables(file: &File, file_len: u64, path: &Path, name: &str) -> Result<Tables> {
    let mut want = file_len.min(64 * 1024);
    loop {
        let mut buf =
            vec![0u8; usize::try_from(want).map_err(|_| Error::Limit("modpkg tables".into()))?];
        read_exact_at(file, &mut buf, 0).map_err(|e| Error::io("read", path, e))?;
        match parse_tables(&buf, file_len, name) {
            Ok(t) => return Ok(t),
            Err(Err(e)) => return Err(e),
            Err(Ok(oob)) => {
                if want >= file_len {
                    return Err(Error::truncated(name, oob, "modpkg tables"));
                }
                want = want.saturating_mul(4).min(file_len);
            }
        }
    }
}

/// Collects a modpkg (pass 1): tables and the info chunk; no override bytes are read.
pub(crate) fn collect(path: &Path, fingerprint: u64, meter: &Meter) -> Result<ModMeta> {
    let name = label(path);
    let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let file_len = file
        .metadata()
        .map_err(|e| Error::io("stat", path, e))?
        .len();
    let tables = read_tables(&file, file_len, path, &name)?;
    let mut warnings = Vec::new();
    let mut declared = Declared::default();
    for rec in &tables.records {
        let path_text = path_of(&tables, rec, &name)?;
        if path_text.eq_ignore_ascii_case(INFO_PATH) {
            let bytes = read_stored(&file, path, &name, rec, MAX_INFO)?;
            meter.mod_read(bytes.len() as u64);
            let plain = plain_bytes(rec, &bytes, &name)?;
            declared = parse_modpkg_info(&plain, &format!("{name}:{INFO_PATH}"))?;
        }
    }
    let display: HashMap<String, Option<String>> = declared
        .layers
        .iter()
        .map(|l| (l.name.clone(), l.display_name.clone()))
        .collect();
    let header_layers: Vec<LayerInfo> = tables
        .layers
        .iter()
        .map(|(n, p)| LayerInfo {
            name: n.clone(),
            display_name: display.get(n).cloned().flatten(),
            priority: *p,
        })
        .collect();
    let layers = finish_layers(header_layers);
    let mut dirs: Vec<WadDir> = Vec::new();
    let mut dir_index: HashMap<(u16, u32), u32> = HashMap::new();
    let mut items = Vec::new();
    let mut by_key: HashMap<(u64, u16, u32), (u64, u64)> = HashMap::new();
    for rec in &tables.records {
        let rel = path_of(&tables, rec, &name)?;
        if rel.starts_with("_meta_/") {
            continue;
        }
        if rec.wad_index == NONE {
            warnings.push(Warning::new(
                WarningCode::IgnoredFile,
                format!("{rel} names no WAD; modpkg has no RAW files"),
            ));
            continue;
        }
        let wad = tables.wads.get(rec.wad_index as usize).ok_or_else(|| {
            Error::format(
                &name,
                rec.offset,
                format!("chunk {rel:?}: WAD index {} out of range", rec.wad_index),
            )
        })?;
        let layer_name = if rec.layer_index == NONE {
            crate::BASE_LAYER
        } else {
            tables
                .layers
                .get(rec.layer_index as usize)
                .map(|(n, _)| n.as_str())
                .ok_or_else(|| {
                    Error::format(
                        &name,
                        rec.offset,
                        format!(
                            "chunk {rel:?}: layer index {} out of range",
                            rec.layer_index
                        ),
                    )
                })?
        };
        let layer = layers
            .iter()
            .position(|l| l.name == layer_name)
            .ok_or_else(|| Error::Internal(format!("layer {layer_name} lost")))?
            as u16;
        if let Some(prev) = by_key.insert(
            (rec.path_hash, layer, rec.wad_index),
            (rec.content_hash, rec.size),
        ) {
            if prev != (rec.content_hash, rec.size) {
                return Err(Error::format(
                    &name,
                    rec.offset,
                    format!(
                        "chunk {rel:?} appears twice in layer {layer_name} with different content"
                    ),
                ));
            }
            continue;
        }
        if rec.compression > 1 {
            return Err(Error::format(
                &name,
                rec.offset,
                format!(
                    "chunk {rel:?}: compression {} (0 or 1 expected)",
                    rec.compression
                ),
            ));
        }
        crate::plan::check_override_size(rec.size, rel)?;
        let next = dirs.len() as u32;
        let dir = *dir_index.entry((layer, rec.wad_index)).or_insert_with(|| {
            dirs.push(WadDir {
                layer,
                name: wad.clone(),
                raw_name: wad.clone(),
                packed: false,
            });
            next
        });
        items.push(Item {
            path_hash: rec.path_hash,
            content_hash: rec.content_hash,
            size: rec.size,
            dir: Some(dir),
            rel_path: rel.to_owned(),
            source: Source::Modpkg {
                offset: rec.offset,
                stored_size: rec.stored_size,
                compression: rec.compression,
                stored_checksum: rec.stored_checksum,
            },
        });
    }
    sort_items(&dirs, &mut items);
    let name_default = path
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(ModMeta {
        info: ModInfo {
            kind: ModKind::Modpkg,
            name: declared.name.unwrap_or(name_default),
            version: declared.version,
            layers,
        },
        fingerprint,
        dirs,
        items,
        warnings,
        stamps: Vec::new(),
    })
}

fn path_of<'t>(tables: &'t Tables, rec: &Record, file: &str) -> Result<&'t str> {
    tables
        .paths
        .get(rec.path_index as usize)
        .map(String::as_str)
        .ok_or_else(|| {
            Error::format(
                file,
                rec.offset,
                format!(
                    "chunk {:016x}: path index {} out of range",
                    rec.path_hash, rec.path_index
                ),
            )
        })
}

/// Reads a chunk's stored bytes (at most `cap`), checking their recorded XXH3.
pub(crate) fn read_stored(
    file: &File,
    path: &Path,
    name: &str,
    rec: &Record,
    cap: u64,
) -> Result<Vec<u8>> {
    read_stored_at(
        file,
        path,
        name,
        rec.offset,
        rec.stored_size,
        rec.stored_checksum,
        cap,
    )
}

/// Reads stored bytes at `offset` and checks them against `checksum` (Corrupt on mismatch).
pub(crate) fn read_stored_at(
    file: &File,
    path: &Path,
    name: &str,
    offset: u64,
    stored_size: u64,
    checksum: u64,
    cap: u64,
) -> Result<Vec<u8>> {
    let file_len = file
        .metadata()
        .map_err(|e| Error::io("stat", path, e))?
        .len();
    if offset
        .checked_add(stored_size)
        .is_none_or(|end| end > file_len)
    {
        return Err(Error::format(
            name,
            offset,
            format!(
                "chunk of {stored_size} bytes at {offset} passes the end of the {file_len}-byte file"
            ),
        ));
    }
    if stored_size > cap {
        return Err(Error::Limit(format!(
            "{name}: chunk of {stored_size} bytes at {offset}"
        )));
    }
    let mut buf =
        vec![0u8; usize::try_from(stored_size).map_err(|_| Error::Limit("chunk".into()))?];
    read_exact_at(file, &mut buf, offset).map_err(|e| Error::io("read", path, e))?;
    if xxh3_64(&buf) != checksum {
        return Err(Error::corrupt(
            name,
            Some(offset),
            format!(
                "stored bytes hash to {:016x}, the record says {checksum:016x}",
                xxh3_64(&buf)
            ),
        ));
    }
    Ok(buf)
}

/// Decodes stored bytes (compression 0 none, 1 zstd), checking size and content hash.
pub(crate) fn plain_bytes(rec: &Record, stored: &[u8], name: &str) -> Result<Vec<u8>> {
    decode_stored(
        stored,
        rec.compression,
        rec.size,
        rec.content_hash,
        rec.offset,
        name,
    )
}

/// Decodes stored bytes and checks them against the record (Corrupt on mismatch).
pub(crate) fn decode_stored(
    stored: &[u8],
    compression: u8,
    size: u64,
    content_hash: u64,
    offset: u64,
    name: &str,
) -> Result<Vec<u8>> {
    let plain = match compression {
        0 => stored.to_vec(),
        1 => {
            if size > crate::wad::MAX_DECODED_CHUNK {
                return Err(Error::Limit(format!(
                    "{name}: chunk at {offset} declares {size} bytes"
                )));
            }
            crate::wad::zstd_decode_frames(stored, size)
                .map_err(|e| Error::corrupt(name, Some(offset), format!("zstd: {e}")))?
        }
        other => {
            return Err(Error::format(
                name,
                offset,
                format!("compression {other} (0 or 1 expected)"),
            ));
        }
    };
    if plain.len() as u64 != size || xxh3_64(&plain) != content_hash {
        return Err(Error::corrupt(
            name,
            Some(offset),
            format!(
                "chunk decodes to {} bytes hashing to {:016x}; the record says {size} bytes, {content_hash:016x}",
                plain.len(),
                xxh3_64(&plain)
            ),
        ));
    }
    Ok(plain)
}
