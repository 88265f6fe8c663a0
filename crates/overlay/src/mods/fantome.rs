//! `.fantome` / `.zip` archives (docs/overlay.md, "Fantome"):
//!
//! ```text
//! META/info.json                 Name, Version, Layers (BOM stripped)
//! WAD/<Name>.wad.client/<path>   folder style, one file per override
//! WAD/<Name>.wad.client          packed style: a whole WAD (also .wad, .wad.mobile)
//! RAW/<game asset path>          routed by hash
//! ```
//!
//! Prefixes and `META/info.json` match case-insensitively; `\` separators are accepted. WAD
//! content belongs to the `base` layer. CRC-32 mismatches are reported, not fatal.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::path::Path;

use modforge_core::Control;
use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use super::config::{Declared, parse_fantome_info};
use super::packed;
use super::zipentry::{self, EntryReader, ZipEntryRef};
use super::{
    GameFacts, Item, ModInfo, ModKind, ModMeta, Source, WadDir, finish_layers, sort_items,
};
use crate::error::{Error, Result, label};
use crate::hash::{ContentHasher, chunk_hash_for_rel_path};
use crate::meter::Meter;
use crate::report::{Warning, WarningCode};
use crate::wad::{DecodeError, SubchunkToc, TocEntry, chunk_type, decode_chunk, find_subchunk_toc};

/// What an archive entry is.
enum EntryClass {
    Info,
    Folder { wad: String, inner: String },
    Packed { declared: String, raw: String },
    Raw { inner: String },
}

/// Splits an entry name into components (`\` and `/` separators, empty parts dropped).
fn components(name: &str) -> Vec<&str> {
    name.split(['/', '\\']).filter(|p| !p.is_empty()).collect()
}

/// `<stem>.wad.client` for a packed WAD file name, if it is one.
pub(crate) fn packed_wad_name(file: &str) -> Option<String> {
    let lower = file.to_ascii_lowercase();
    for suffix in [".wad.client", ".wad.mobile", ".wad"] {
        if lower.ends_with(suffix) && lower.len() > suffix.len() {
            let stem = &file[..file.len() - suffix.len()];
            return Some(format!("{stem}.wad.client"));
        }
    }
    None
}

fn classify(
    name: &str,
    warnings: &mut Vec<Warning>,
    ignored: &mut BTreeSet<String>,
) -> Option<EntryClass> {
    let parts = components(name);
    let top = parts.first()?.to_ascii_lowercase();
    match (top.as_str(), parts.len()) {
        ("meta", 2) if parts[1].eq_ignore_ascii_case("info.json") => Some(EntryClass::Info),
        ("meta", _) => None,
        ("wad", 2) => match packed_wad_name(parts[1]) {
            Some(declared) => Some(EntryClass::Packed {
                declared,
                raw: parts[1].to_owned(),
            }),
            None => {
                warnings.push(Warning::new(
                    WarningCode::IgnoredFile,
                    format!("{name} is neither a WAD folder nor a packed WAD"),
                ));
                None
            }
        },
        ("wad", n) if n >= 3 => {
            if parts[1].to_ascii_lowercase().ends_with(".wad.client") {
                Some(EntryClass::Folder {
                    wad: parts[1].to_owned(),
                    inner: parts[2..].join("/"),
                })
            } else {
                ignored.insert(format!("{}/{}", parts[0], parts[1]));
                None
            }
        }
        ("raw", n) if n >= 2 => Some(EntryClass::Raw {
            inner: parts[1..].join("/"),
        }),
        _ => {
            warnings.push(Warning::new(
                WarningCode::IgnoredFile,
                format!("{name} is outside META/, WAD/ and RAW/"),
            ));
            None
        }
    }
}

/// A folder-style or RAW entry: (entry, (declared WAD, raw WAD folder name) or RAW, inner path).
type Loose<'a> = (&'a ZipEntryRef, Option<(String, String)>, String);

/// Hashes one zip entry's uncompressed bytes; returns (content hash, length, CRC matched).
fn hash_entry(
    file: &File,
    entry: &ZipEntryRef,
    name: &str,
    meter: &Meter,
    control: &Control<'_>,
) -> Result<(u64, u64, bool)> {
    let mut reader = EntryReader::open(file, entry, name)?;
    let block = entry.size.min(1 << 20);
    let _held = meter.hold(block);
    let mut buf = vec![0u8; usize::try_from(block).unwrap_or(1 << 20).max(1)];
    let mut hasher = ContentHasher::new();
    while reader.position() < entry.size {
        control.check()?;
        let n = reader.read_some(&mut buf)?;
        hasher.update(&buf[..n]);
        meter.mod_read(n as u64);
    }
    Ok((hasher.finish(), hasher.len(), reader.finish()?))
}

/// Reads a whole (small) entry.
pub(crate) fn read_entry(file: &File, entry: &ZipEntryRef, name: &str) -> Result<(Vec<u8>, bool)> {
    let mut reader = EntryReader::open(file, entry, name)?;
    let bytes = reader.read_vec(entry.size)?;
    Ok((bytes, reader.finish()?))
}

fn crc_warning(entry: &ZipEntryRef) -> Warning {
    Warning::new(
        WarningCode::ZipCrcIgnored,
        format!(
            "zip entry {:?} does not match its CRC-32 {:08x}; its bytes are used as stored",
            entry.name, entry.crc32
        ),
    )
}

/// Collects a fantome archive (pass 1). `game` lets packed chunks identical to the game's take
/// the game's content hash without being decoded.
pub(crate) fn collect(
    path: &Path,
    fingerprint: u64,
    game: Option<&dyn GameFacts>,
    meter: &Meter,
    control: &Control<'_>,
) -> Result<ModMeta> {
    let name = label(path);
    let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let entries = zipentry::list(&file, path, &name)?;
    let mut warnings = Vec::new();
    let mut ignored = BTreeSet::new();
    let mut info = None;
    let mut loose: Vec<Loose<'_>> = Vec::new();
    let mut packs: Vec<(&ZipEntryRef, String, String)> = Vec::new();
    for entry in entries.iter().filter(|e| !e.is_dir) {
        match classify(&entry.name, &mut warnings, &mut ignored) {
            Some(EntryClass::Info) => info = Some(entry),
            Some(EntryClass::Folder { wad, inner }) => {
                loose.push((entry, Some((wad.clone(), wad)), inner))
            }
            Some(EntryClass::Packed { declared, raw }) => packs.push((entry, declared, raw)),
            Some(EntryClass::Raw { inner }) => loose.push((entry, None, inner)),
            None => {}
        }
    }
    for dir in ignored {
        warnings.push(Warning::new(
            WarningCode::IgnoredFolder,
            format!("{dir} does not end in .wad.client and is ignored"),
        ));
    }
    let declared = match info {
        Some(entry) => {
            let (bytes, crc_ok) = read_entry(&file, entry, &name)?;
            meter.mod_read(bytes.len() as u64);
            if !crc_ok {
                warnings.push(crc_warning(entry));
            }
            parse_fantome_info(&bytes, &format!("{name}:{}", entry.name))?
        }
        None => Declared::default(),
    };
    let layers = finish_layers(declared.layers);
    let base = layers
        .iter()
        .position(|l| l.name == crate::BASE_LAYER)
        .unwrap_or(0) as u16;

    let mut dirs: Vec<WadDir> = Vec::new();
    let mut dir_index: HashMap<(String, bool), u32> = HashMap::new();
    let mut dir_of = |declared: &str, raw: &str, packed: bool| -> u32 {
        let next = dirs.len() as u32;
        *dir_index
            .entry((raw.to_owned(), packed))
            .or_insert_with(|| {
                dirs.push(WadDir {
                    layer: base,
                    name: declared.to_owned(),
                    raw_name: raw.to_owned(),
                    packed,
                });
                next
            })
    };
    let loose_dirs: Vec<Option<u32>> = loose
        .iter()
        .map(|(_, wad, _)| {
            wad.as_ref()
                .map(|(declared, raw)| dir_of(declared, raw, false))
        })
        .collect();
    let pack_dirs: Vec<u32> = packs
        .iter()
        .map(|(_, declared, raw)| dir_of(declared, raw, true))
        .collect();

    let hashed: Vec<Result<(Item, bool)>> = loose
        .par_iter()
        .zip(loose_dirs.par_iter())
        .map(|((entry, _, inner), dir)| {
            let (content_hash, size, crc_ok) = hash_entry(&file, entry, &name, meter, control)?;
            crate::plan::check_override_size(size, &entry.name)?;
            Ok((
                Item {
                    path_hash: chunk_hash_for_rel_path(inner),
                    content_hash,
                    size,
                    dir: *dir,
                    rel_path: inner.clone(),
                    source: Source::Zip((*entry).clone()),
                },
                crc_ok,
            ))
        })
        .collect();
    let mut items = Vec::new();
    for r in hashed {
        let (item, crc_ok) = r?;
        if !crc_ok {
            if let Source::Zip(entry) = &item.source {
                warnings.push(crc_warning(entry));
            }
        }
        items.push(item);
    }
    let packed_results: Vec<Result<(Vec<Item>, Vec<Warning>)>> = packs
        .par_iter()
        .zip(pack_dirs.par_iter())
        .map(|((entry, _, _), dir)| collect_packed(&file, entry, *dir, &name, game, meter, control))
        .collect();
    for r in packed_results {
        let (more, w) = r?;
        items.extend(more);
        warnings.extend(w);
    }
    sort_items(&dirs, &mut items);
    let name_default = path
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(ModMeta {
        info: ModInfo {
            kind: ModKind::Fantome,
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

/// Collects the chunks of one packed WAD entry.
fn collect_packed(
    file: &File,
    entry: &ZipEntryRef,
    dir: u32,
    archive: &str,
    game: Option<&dyn GameFacts>,
    meter: &Meter,
    control: &Control<'_>,
) -> Result<(Vec<Item>, Vec<Warning>)> {
    let label = format!("{archive}:{}", entry.name);
    let mut warnings = Vec::new();
    let subchunks = subchunk_toc_of(file, entry, &label, meter)?;
    let mut reader = EntryReader::open(file, entry, &label)?;
    let toc = packed::read_toc(&mut reader, entry.size, &label)?;
    meter.mod_read(reader.position());
    let mut items = Vec::with_capacity(toc.entries.len());
    let mut seen = std::collections::HashSet::new();
    let wanted: Vec<TocEntry> = toc
        .entries
        .iter()
        .filter(|e| seen.insert(e.path_hash))
        .copied()
        .collect();
    packed::stream_chunks(&mut reader, &wanted, &label, |e, bytes| {
        control.check()?;
        meter.mod_read(bytes.len() as u64);
        let _held = meter.hold(bytes.len() as u64);
        let packed_checksum = xxh3_64(bytes);
        let known = game.and_then(|g| g.identical_content(e, packed_checksum));
        let content_hash = match known {
            Some(hash) => hash,
            None => match decode_chunk(e, bytes, subchunks.as_ref(), &label) {
                Ok(plain) => xxh3_64(&plain),
                Err(DecodeError::Undecodable(kind)) => {
                    warnings.push(
                        Warning::new(
                            WarningCode::UndecodableChunk,
                            format!(
                                "{label}: chunk {:016x} has type {kind} and is skipped",
                                e.path_hash
                            ),
                        )
                        .at_hash(e.path_hash),
                    );
                    return Ok(());
                }
                Err(DecodeError::Failed(err)) => return Err(err),
            },
        };
        let records = match (e.chunk_type, &subchunks) {
            (chunk_type::ZSTD_MULTI, Some(toc)) => toc.of(e).map(<[_]>::to_vec).unwrap_or_default(),
            _ => Vec::new(),
        };
        items.push(Item {
            path_hash: e.path_hash,
            content_hash,
            size: u64::from(e.size),
            dir: Some(dir),
            rel_path: format!("{:016x}.bin", e.path_hash),
            source: Source::PackedChunk {
                wad: entry.clone(),
                entry: *e,
                packed_checksum,
                subchunks: records,
            },
        });
        Ok(())
    })?;
    if !reader.finish()? {
        warnings.push(crc_warning(entry));
    }
    Ok((items, warnings))
}

/// The SubChunkTOC of a packed WAD that has type-4 entries (one extra streaming pass over the
/// entries that could be it).
pub(crate) fn subchunk_toc_of(
    file: &File,
    entry: &ZipEntryRef,
    label: &str,
    meter: &Meter,
) -> Result<Option<SubchunkToc>> {
    let mut reader = EntryReader::open(file, entry, label)?;
    let toc = packed::read_toc(&mut reader, entry.size, label)?;
    let Some(used) = toc
        .entries
        .iter()
        .filter(|e| e.chunk_type == chunk_type::ZSTD_MULTI)
        .map(|e| u64::from(e.subchunk_index) + u64::from(e.subchunk_count))
        .max()
    else {
        return Ok(None);
    };
    let candidates: Vec<TocEntry> = toc
        .entries
        .iter()
        .filter(|e| {
            let size = u64::from(e.size);
            size >= used * 16 && size % 16 == 0 && e.chunk_type != chunk_type::ZSTD_MULTI
        })
        .copied()
        .collect();
    let mut decoded: HashMap<u64, Vec<u8>> = HashMap::new();
    packed::stream_chunks(&mut reader, &candidates, label, |e, bytes| {
        meter.mod_read(bytes.len() as u64);
        if let Ok(plain) = decode_chunk(e, bytes, None, label) {
            decoded.insert(e.path_hash, plain);
        }
        Ok(())
    })?;
    Ok(find_subchunk_toc(&toc.entries, None, |e| {
        decoded.get(&e.path_hash).cloned()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_names_and_classes() {
        assert_eq!(
            packed_wad_name("Aatrox.wad").as_deref(),
            Some("Aatrox.wad.client")
        );
        assert_eq!(
            packed_wad_name("Aatrox.WAD.mobile").as_deref(),
            Some("Aatrox.wad.client")
        );
        assert_eq!(
            packed_wad_name("Aatrox.wad.client").as_deref(),
            Some("Aatrox.wad.client")
        );
        assert_eq!(packed_wad_name(".wad"), None);
        assert_eq!(packed_wad_name("x.bin"), None);
        let mut w = Vec::new();
        let mut ignored = BTreeSet::new();
        assert!(matches!(
            classify("wad\\Ahri.WAD.client\\data\\x.bin", &mut w, &mut ignored),
            Some(EntryClass::Folder { ref wad, ref inner }) if wad == "Ahri.WAD.client" && inner == "data/x.bin"
        ));
        assert!(matches!(
            classify("Meta/INFO.json", &mut w, &mut ignored),
            Some(EntryClass::Info)
        ));
        assert!(matches!(
            classify("raw/assets/a.dds", &mut w, &mut ignored),
            Some(EntryClass::Raw { .. })
        ));
        assert!(classify("WAD/notes/x.txt", &mut w, &mut ignored).is_none());
        assert!(classify("readme.txt", &mut w, &mut ignored).is_none());
        assert_eq!(
            ignored.into_iter().collect::<Vec<_>>(),
            vec!["WAD/notes".to_owned()]
        );
        assert_eq!(w.len(), 1);
    }
}
