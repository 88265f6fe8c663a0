//! Pass 2 (docs/overlay.md, "Two-pass pipeline"): reading the bytes of winning overrides and
//! preparing them as the packed bytes a WAD receives. Bytes a mod already holds packed the way a
//! WAD stores them pass through unencoded (type 0 and 3 chunks of packed WADs, zstd chunks of
//! modpkgs); everything else is Wwise → type 0, or one zstd frame at level 3. Every read is
//! checked against what pass 1 recorded, so a mod changed between the passes fails the build
//! instead of writing bytes that disagree with the state.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use modforge_core::Control;
use xxhash_rust::xxh3::xxh3_64;

use super::fantome::read_entry;
use super::modpkg::{decode_stored, read_stored_at};
use super::packed;
use super::zipentry::{EntryReader, ZipEntryRef};
use super::{Item, ModKind, Source};
use crate::error::{Error, Result, label};
use crate::meter::Meter;
use crate::report::{Warning, WarningCode};
use crate::wad::{
    DecodeError, SubchunkToc, TocEntry, chunk_type, decode_chunk, is_wwise, zstd_compress,
};

/// A file kept open with the path it was opened at (for messages).
#[derive(Debug)]
pub(crate) struct OpenFile {
    /// The open file.
    pub file: File,
    /// Its path.
    pub path: PathBuf,
}

/// Where an override's packed bytes are.
#[derive(Clone, Debug)]
pub(crate) enum Packed {
    /// Held in memory.
    Bytes(Vec<u8>),
    /// A range of an earlier overlay WAD whose bytes hashed to the recorded checksum when they
    /// were lifted (docs/overlay.md, "Lifting"): copied file to file, never held in memory.
    InFile {
        /// The earlier WAD, open since the lift (a rename over its path keeps this file).
        wad: std::sync::Arc<OpenFile>,
        /// Where the bytes start.
        offset: u64,
        /// How many.
        len: u64,
    },
}

impl Packed {
    /// The number of packed bytes.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Packed::Bytes(b) => b.len() as u64,
            Packed::InFile { len, .. } => *len,
        }
    }

    /// The bytes of them held in memory.
    pub(crate) fn held(&self) -> u64 {
        match self {
            Packed::Bytes(b) => b.len() as u64,
            Packed::InFile { .. } => 0,
        }
    }
}

/// An override ready to be written: its packed bytes and TOC fields.
#[derive(Clone, Debug)]
pub(crate) struct Prepared {
    /// 0 (raw) or 3 (zstd).
    pub chunk_type: u8,
    /// The packed bytes.
    pub packed: Packed,
    /// Uncompressed length.
    pub size: u32,
    /// XXH3_64 of `packed`.
    pub checksum: u64,
    /// Whether this build ran the compressor for it.
    pub compressed_here: bool,
}

impl Prepared {
    /// Encodes uncompressed bytes: Wwise → type 0, else one zstd frame (level 3).
    pub(crate) fn encode(plain: Vec<u8>, what: &str) -> Result<Prepared> {
        let size = u32::try_from(plain.len()).map_err(|_| {
            Error::Limit(format!(
                "{what}: override of {} bytes beyond u32",
                plain.len()
            ))
        })?;
        if is_wwise(&plain) {
            let checksum = xxh3_64(&plain);
            return Ok(Prepared {
                chunk_type: chunk_type::RAW,
                packed: Packed::Bytes(plain),
                size,
                checksum,
                compressed_here: false,
            });
        }
        let packed = zstd_compress(&plain)
            .map_err(|e| Error::Internal(format!("zstd compression of {what}: {e}")))?;
        Ok(Prepared {
            chunk_type: chunk_type::ZSTD,
            checksum: xxh3_64(&packed),
            packed: Packed::Bytes(packed),
            size,
            compressed_here: true,
        })
    }

    /// Adopts packed bytes as they are.
    fn pass_through(kind: u8, packed: Vec<u8>, size: u64, what: &str) -> Result<Prepared> {
        let size = u32::try_from(size)
            .map_err(|_| Error::Limit(format!("{what}: override of {size} bytes beyond u32")))?;
        Ok(Prepared {
            chunk_type: kind,
            checksum: xxh3_64(&packed),
            packed: Packed::Bytes(packed),
            size,
            compressed_here: false,
        })
    }
}

/// Reads one mod's overrides in pass 2.
pub(crate) struct SourceReader<'a> {
    kind: ModKind,
    path: PathBuf,
    name: String,
    file: Option<File>,
    meter: &'a Meter,
}

impl<'a> SourceReader<'a> {
    /// Opens the mod at `path` (an archive is opened once and read by positioned reads).
    pub(crate) fn open(kind: ModKind, path: &Path, meter: &'a Meter) -> Result<Self> {
        let file = match kind {
            ModKind::Folder => None,
            _ => Some(File::open(path).map_err(|e| Error::io("open", path, e))?),
        };
        Ok(SourceReader {
            kind,
            path: path.to_path_buf(),
            name: label(path),
            file,
            meter,
        })
    }

    fn archive(&self) -> Result<&File> {
        self.file.as_ref().ok_or_else(|| {
            Error::Internal(format!(
                "{} is a {} mod, not an archive",
                self.name,
                self.kind.as_str()
            ))
        })
    }

    /// Checks bytes read now against pass 1's content hash.
    fn check(&self, item: &Item, plain: &[u8]) -> Result<()> {
        if plain.len() as u64 != item.size || xxh3_64(plain) != item.content_hash {
            return Err(Error::corrupt(
                &self.name,
                None,
                format!(
                    "{} changed during the build: {} bytes hashing to {:016x}, {} bytes hashing to {:016x} when collected",
                    item.rel_path,
                    plain.len(),
                    xxh3_64(plain),
                    item.size,
                    item.content_hash
                ),
            ));
        }
        Ok(())
    }

    /// Reads the uncompressed bytes of an override (folder file or zip entry, or a modpkg chunk).
    pub(crate) fn read_plain(&self, item: &Item) -> Result<Vec<u8>> {
        let plain = match &item.source {
            Source::File { rel } => {
                let path = self.path.join(rel);
                let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
                self.meter.mod_read(bytes.len() as u64);
                bytes
            }
            Source::Zip(entry) => {
                let (bytes, _) = read_entry(self.archive()?, entry, &self.name)?;
                self.meter.mod_read(entry.compressed_size);
                bytes
            }
            Source::Modpkg {
                offset,
                stored_size,
                compression,
                stored_checksum,
            } => {
                let stored = read_stored_at(
                    self.archive()?,
                    &self.path,
                    &self.name,
                    *offset,
                    *stored_size,
                    *stored_checksum,
                    crate::wad::MAX_DECODED_CHUNK,
                )?;
                self.meter.mod_read(stored.len() as u64);
                decode_stored(
                    &stored,
                    *compression,
                    item.size,
                    item.content_hash,
                    *offset,
                    &self.name,
                )?
            }
            Source::PackedChunk { .. } => {
                return Err(Error::Internal("packed chunks are read by WAD".into()));
            }
        };
        self.check(item, &plain)?;
        Ok(plain)
    }

    /// Prepares one override that is not a packed-WAD chunk.
    pub(crate) fn prepare_one(&self, item: &Item) -> Result<Prepared> {
        if let Source::Modpkg {
            offset,
            stored_size,
            compression: 1,
            stored_checksum,
        } = &item.source
        {
            let stored = read_stored_at(
                self.archive()?,
                &self.path,
                &self.name,
                *offset,
                *stored_size,
                *stored_checksum,
                crate::wad::MAX_DECODED_CHUNK,
            )?;
            self.meter.mod_read(stored.len() as u64);
            let _held = self.meter.hold(stored.len() as u64 + item.size);
            let plain = decode_stored(
                &stored,
                1,
                item.size,
                item.content_hash,
                *offset,
                &self.name,
            )?;
            return if is_wwise(&plain) {
                Prepared::encode(plain, &item.rel_path)
            } else {
                Prepared::pass_through(chunk_type::ZSTD, stored, item.size, &item.rel_path)
            };
        }
        let plain = self.read_plain(item)?;
        let _held = self.meter.hold(plain.len() as u64);
        Prepared::encode(plain, &item.rel_path)
    }

    /// Prepares packed-WAD chunks, grouped by the zip entry holding their WAD (each WAD is
    /// streamed once). Returns one result per item, in input order, and warnings about checksums
    /// the WAD recorded wrongly.
    pub(crate) fn prepare_packed(
        &self,
        items: &[&Item],
        control: &Control<'_>,
    ) -> Result<(Vec<Prepared>, Vec<Warning>)> {
        let file = self.archive()?;
        let mut groups: BTreeMap<u64, (ZipEntryRef, Vec<usize>)> = BTreeMap::new();
        for (i, item) in items.iter().enumerate() {
            let Source::PackedChunk { wad, .. } = &item.source else {
                return Err(Error::Internal("not a packed chunk".into()));
            };
            groups
                .entry(wad.data_start)
                .or_insert_with(|| (wad.clone(), Vec::new()))
                .1
                .push(i);
        }
        let mut out: Vec<Option<Prepared>> = vec![None; items.len()];
        let mut warnings = Vec::new();
        for (wad, members) in groups.values() {
            let label = format!("{}:{}", self.name, wad.name);
            let mut reader = EntryReader::open(file, wad, &label)?;
            let toc = packed::read_toc(&mut reader, wad.size, &label)?;
            self.meter.mod_read(reader.position());
            let mut wanted: Vec<TocEntry> = Vec::with_capacity(members.len());
            let mut by_hash: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
            for &i in members {
                if let Source::PackedChunk { entry, .. } = &items[i].source {
                    if !by_hash.contains_key(&entry.path_hash) {
                        wanted.push(*entry);
                    }
                    by_hash.entry(entry.path_hash).or_default().push(i);
                }
            }
            packed::stream_chunks(&mut reader, &wanted, &label, |e, bytes| {
                control.check()?;
                self.meter.mod_read(bytes.len() as u64);
                let Some(indices) = by_hash.get(&e.path_hash) else {
                    return Ok(());
                };
                for &i in indices {
                    let item = items[i];
                    let prepared = self.prepare_chunk(
                        item,
                        e,
                        bytes,
                        &label,
                        toc.major,
                        toc.minor,
                        &mut warnings,
                    )?;
                    out[i] = Some(prepared);
                }
                Ok(())
            })?;
        }
        let prepared = out
            .into_iter()
            .zip(items)
            .map(|(p, item)| {
                p.ok_or_else(|| {
                    Error::corrupt(
                        &self.name,
                        None,
                        format!("{} was not found again in its WAD", item.rel_path),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((prepared, warnings))
    }

    #[allow(clippy::too_many_arguments)]
    fn prepare_chunk(
        &self,
        item: &Item,
        e: &TocEntry,
        bytes: &[u8],
        label: &str,
        major: u8,
        minor: u8,
        warnings: &mut Vec<Warning>,
    ) -> Result<Prepared> {
        let Source::PackedChunk {
            entry,
            packed_checksum,
            subchunks,
            ..
        } = &item.source
        else {
            return Err(Error::Internal("not a packed chunk".into()));
        };
        let computed = xxh3_64(bytes);
        if computed != *packed_checksum || e != entry {
            return Err(Error::corrupt(
                label,
                Some(u64::from(e.offset)),
                format!("chunk {:016x} changed during the build", e.path_hash),
            ));
        }
        if major == 3 && minor >= 1 && e.checksum != computed {
            warnings.push(
                Warning::new(
                    WarningCode::ChecksumMismatch,
                    format!(
                        "{label}: chunk {:016x} records checksum {:016x}, its bytes hash to {computed:016x}; the computed value is written",
                        e.path_hash, e.checksum
                    ),
                )
                .at_hash(e.path_hash),
            );
        }
        let _held = self.meter.hold(bytes.len() as u64);
        let passes = match e.chunk_type {
            chunk_type::ZSTD => true,
            chunk_type::RAW => e.packed_size == e.size,
            _ => false,
        };
        if passes {
            return Prepared::pass_through(
                e.chunk_type,
                bytes.to_vec(),
                u64::from(e.size),
                &item.rel_path,
            );
        }
        let own = SubchunkToc::parse(&SubchunkToc::encode(subchunks)).unwrap_or_default();
        let mut local = *e;
        local.subchunk_index = 0;
        let toc = (e.chunk_type == chunk_type::ZSTD_MULTI && !subchunks.is_empty()).then_some(&own);
        let plain = match decode_chunk(&local, bytes, toc, label) {
            Ok(plain) => plain,
            Err(DecodeError::Undecodable(kind)) => {
                return Err(Error::format(
                    label,
                    u64::from(e.offset),
                    format!("chunk type {kind} cannot be decoded"),
                ));
            }
            Err(DecodeError::Failed(err)) => return Err(err),
        };
        self.check(item, &plain)?;
        let _plain_held = self.meter.hold(plain.len() as u64);
        Prepared::encode(plain, &item.rel_path)
    }
}
