//! Writing one overlay WAD (docs/overlay.md, "Output layout", "Crash safety"): plan the tail
//! layout, then fill `<W>.tmp` (header and TOC, the source region by block copy, the tail),
//! fsync it and, once the caller allows it, rename it over `<W>`. Nothing is edited in place.
//! When the previous overlay WAD was written from the same source with the same capacity, its
//! region is reused: a whole-file clone (`FICLONE`) where the file system shares blocks,
//! truncated before the old tail. On an error the temp file and the previous `<W>` are removed;
//! when the caller refuses the rename, only the temp file.

pub mod layout;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use modforge_core::Control;
use xxhash_rust::xxh3::Xxh3;

use crate::copy::{CopyMethod, Writeback, clone_file, copy_range};
use crate::error::{Error, Result, label};
use crate::io::{read_exact_at, start_writeback, write_all_at};
use crate::meter::Meter;
use crate::mods::{Packed, Prepared};
use crate::wad::{Toc, encode_toc_entry_v34, read_toc_from};
use layout::{Layout, PlannedOverride, plan};

/// What identifies the source a layout was copied from: its length, mtime and the hash of its
/// TOC re-encoded as 3.4 in hash order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceIdentity {
    /// Length of the game WAD.
    pub len: u64,
    /// Its modification time, ns.
    pub mtime_ns: u64,
    /// XXH3_64 of its entries encoded as 3.4, ascending path hash.
    pub toc_hash: u64,
}

/// The previous overlay WAD, when its region may be reused.
#[derive(Clone, Debug)]
pub(crate) struct Previous {
    /// The identity of the source it was copied from.
    pub source: SourceIdentity,
    /// Its TOC capacity.
    pub toc_capacity: u32,
    /// Its region.
    pub region: (u64, u64),
    /// Its data region offset.
    pub data_region_offset: u64,
}

/// The result of writing one WAD.
#[derive(Clone, Debug)]
pub(crate) struct Written {
    pub layout: Layout,
    pub source: SourceIdentity,
    pub method: CopyMethod,
}

/// The TOC hash of a source identity.
pub(crate) fn toc_hash(toc: &Toc) -> u64 {
    let mut entries = toc.entries.clone();
    entries.sort_by_key(|e| e.path_hash);
    let mut state = Xxh3::new();
    for e in &entries {
        state.update(&encode_toc_entry_v34(e));
    }
    state.digest()
}

/// The temp file beside `dest`.
pub(crate) fn temp_path(dest: &Path) -> PathBuf {
    let mut name = dest
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    dest.with_file_name(name)
}

/// Writes the overlay WAD `dest` from the game WAD `source_path` and `overrides` (sorted by
/// path hash, one per hash). `previous` enables the region reuse. `before_rename` runs once the
/// temp file is synced; its error stops the write with the previous `dest` untouched (the dirty
/// marks that must be durable before any rename could not be saved).
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_wad(
    source_path: &Path,
    dest: &Path,
    overrides: &[(u64, &Prepared)],
    slack: u32,
    previous: Option<&Previous>,
    meter: &Meter,
    control: &Control<'_>,
    before_rename: &dyn Fn() -> Result<()>,
) -> Result<Written> {
    let tmp = temp_path(dest);
    let filled = fill_temp(
        source_path,
        dest,
        &tmp,
        overrides,
        slack,
        previous,
        meter,
        control,
    );
    let written = match filled {
        Ok(written) => written,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            let _ = std::fs::remove_file(dest);
            return Err(e);
        }
    };
    if let Err(e) = before_rename() {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if let Err(e) = std::fs::rename(&tmp, dest) {
        let _ = std::fs::remove_file(&tmp);
        let _ = std::fs::remove_file(dest);
        return Err(Error::io("rename", dest, e));
    }
    Ok(written)
}

/// Writes `tmp` whole (header and TOC, region, tail) and syncs it.
#[allow(clippy::too_many_arguments)]
fn fill_temp(
    source_path: &Path,
    dest: &Path,
    tmp: &Path,
    overrides: &[(u64, &Prepared)],
    slack: u32,
    previous: Option<&Previous>,
    meter: &Meter,
    control: &Control<'_>,
) -> Result<Written> {
    control.check()?;
    let src = File::open(source_path).map_err(|e| Error::io("open", source_path, e))?;
    let meta = src
        .metadata()
        .map_err(|e| Error::io("stat", source_path, e))?;
    let (src_len, src_mtime) = crate::io::size_and_mtime(&meta);
    let name = label(source_path);
    let toc = read_toc_from(&src, src_len, &name, source_path)?;
    meter.game_read(toc.toc_end());
    if toc.major != 3 {
        return Err(Error::format(
            &name,
            2,
            format!(
                "WAD {} cannot be an overlay source; 3.0-3.4 required",
                toc.version()
            ),
        ));
    }
    toc.check_bounds(&name)?;
    let identity = SourceIdentity {
        len: src_len,
        mtime_ns: src_mtime,
        toc_hash: toc_hash(&toc),
    };
    let mut reps: Vec<&Prepared> = Vec::new();
    let mut rep_ids: std::collections::HashMap<*const Prepared, usize> = Default::default();
    let planned: Vec<PlannedOverride> = overrides
        .iter()
        .map(|(hash, p)| {
            let id = *rep_ids.entry(std::ptr::from_ref(*p)).or_insert_with(|| {
                reps.push(p);
                reps.len() - 1
            });
            PlannedOverride {
                path_hash: *hash,
                rep: id,
                chunk_type: p.chunk_type,
                packed_len: p.packed.len(),
                size: u64::from(p.size),
                checksum: p.checksum,
            }
        })
        .collect();
    let layout = plan(&toc.entries, toc.minor, &planned, slack, |e| {
        let mut buf = vec![0u8; e.packed_size as usize];
        read_exact_at(&src, &mut buf, u64::from(e.offset))
            .map_err(|err| Error::io("read", source_path, err))?;
        meter.game_read(buf.len() as u64);
        Ok(buf)
    })?;
    let header = layout.header_bytes(&toc.signature_v3())?;

    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("mkdir", parent, e))?;
    }
    let _ = std::fs::remove_file(tmp);
    let out = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(tmp)
        .map_err(|e| Error::io("open", tmp, e))?;
    let region_len = layout.region_end - layout.region_start;
    let reusable = previous.is_some_and(|p| {
        p.source == identity
            && p.toc_capacity == layout.toc_capacity
            && p.region == (layout.region_start, layout.region_end)
            && p.data_region_offset == layout.data_region_offset
    });
    let mut method = None;
    if reusable && region_len > 0 {
        if let Ok(old) = File::open(dest) {
            if clone_file(&old, &out) {
                out.set_len(layout.tail_offset)
                    .map_err(|e| Error::io("truncate", tmp, e))?;
                method = Some(CopyMethod::Clone);
            }
        }
    }
    let method = match method {
        Some(m) => m,
        None => {
            let m = copy_range(
                &src,
                layout.region_start,
                &out,
                layout.data_region_offset,
                region_len,
                Writeback::EachStep,
                control,
            )
            .map_err(|e| e.into_error(source_path, tmp))?;
            meter.game_read(region_len);
            meter.written(region_len);
            m
        }
    };
    for (offset, rep) in &layout.tail {
        control.check()?;
        let packed = &reps
            .get(*rep)
            .ok_or_else(|| Error::Internal("tail rep out of range".into()))?
            .packed;
        match packed {
            Packed::Bytes(bytes) => {
                write_all_at(&out, bytes, *offset).map_err(|e| Error::io("write", tmp, e))?;
            }
            Packed::InFile {
                wad,
                offset: from,
                len,
            } => {
                copy_range(
                    &wad.file,
                    *from,
                    &out,
                    *offset,
                    *len,
                    Writeback::ByCaller,
                    control,
                )
                .map_err(|e| e.into_error(&wad.path, tmp))?;
            }
        }
        meter.written(packed.len());
    }
    start_writeback(
        &out,
        layout.tail_offset,
        layout.len.saturating_sub(layout.tail_offset),
    );
    write_all_at(&out, &header, 0).map_err(|e| Error::io("write", tmp, e))?;
    meter.written(header.len() as u64);
    if method == CopyMethod::Clone {
        out.set_len(layout.len)
            .map_err(|e| Error::io("truncate", tmp, e))?;
    }
    control.check()?;
    out.sync_data()
        .map_err(|e| Error::io("fdatasync", tmp, e))?;
    drop(out);
    Ok(Written {
        layout,
        source: identity,
        method,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_name_is_beside_the_target() {
        assert_eq!(
            temp_path(Path::new("/o/DATA/FINAL/A.wad.client")),
            PathBuf::from("/o/DATA/FINAL/A.wad.client.tmp")
        );
    }
}
