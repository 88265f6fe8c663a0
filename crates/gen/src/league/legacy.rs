//! WADs for the reader only: versions 1.x and 2.x, and a 3.4 WAD with a gzip chunk (type 1), a
//! redirect (type 2) and an unknown type (5).

use std::io::Write;
use std::path::{Path, PathBuf};

use modforge_overlay::hash::path_hash;
use modforge_overlay::wad::{ComposedEntry, TocEntry, WadImage};
use xxhash_rust::xxh3::xxh3_64;

use super::content::{self, Kind};
use super::io_err;
use crate::error::Error;

fn entry(path: &str, kind: u8, size: usize) -> TocEntry {
    TocEntry {
        path_hash: path_hash(path),
        offset: 0,
        packed_size: 0,
        size: size as u32,
        chunk_type: kind,
        subchunk_count: 0,
        subchunk_index: 0,
        duplicate: false,
        checksum: 0,
    }
}

/// The paths (hash → path) and plain bytes of the legacy WADs' readable chunks.
pub fn legacy_chunk(seed: u64, i: usize) -> (String, Vec<u8>) {
    (
        format!("data/legacy/chunk_{i}.bin"),
        content::bytes(seed ^ i as u64, 100 + 37 * i, Kind::Zstd),
    )
}

pub(crate) fn write(dir: &Path, seed: u64) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir).map_err(|e| io_err("mkdir", dir, e))?;
    let mut out = Vec::new();
    for (major, minor) in [(1u8, 0u8), (1, 1), (2, 0), (2, 1)] {
        let chunks: Vec<ComposedEntry> = (0..4)
            .map(|i| {
                let (path, plain) = legacy_chunk(seed, i);
                let (kind, packed) = if i % 2 == 0 {
                    (0u8, plain.clone())
                } else {
                    (3u8, super::game::zstd1(&plain)?)
                };
                let mut e = entry(&path, kind, plain.len());
                e.checksum = xxh3_64(&packed);
                Ok(ComposedEntry { entry: e, packed })
            })
            .collect::<Result<_, Error>>()?;
        let bytes = WadImage {
            major,
            minor,
            signature: vec![0xAB; 83],
            checksum: Some(0x1234),
            entries: Vec::new(),
            toc_capacity: 0,
        }
        .compose(chunks)
        .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let path = dir.join(format!("v{major}.{minor}.wad.client"));
        std::fs::write(&path, bytes).map_err(|e| io_err("write", &path, e))?;
        out.push(path);
    }
    let (gz_path, gz_plain) = legacy_chunk(seed, 10);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&gz_plain)
        .map_err(|e| io_err("write", dir, e))?;
    let gz_packed = gz.finish().map_err(|e| io_err("write", dir, e))?;
    let mut odd = Vec::new();
    let mut e = entry(&gz_path, 1, gz_plain.len());
    e.checksum = xxh3_64(&gz_packed);
    odd.push(ComposedEntry {
        entry: e,
        packed: gz_packed,
    });
    let redirect = b"\x10\x00\x00\x00data/elsewhere.bin".to_vec();
    let mut e = entry("data/legacy/redirect.bin", 2, redirect.len());
    e.checksum = xxh3_64(&redirect);
    odd.push(ComposedEntry {
        entry: e,
        packed: redirect,
    });
    let unknown = b"????".to_vec();
    let mut e = entry("data/legacy/unknown.bin", 5, 4);
    e.checksum = xxh3_64(&unknown);
    odd.push(ComposedEntry {
        entry: e,
        packed: unknown,
    });
    odd.sort_by_key(|c| c.entry.path_hash);
    let bytes = WadImage {
        major: 3,
        minor: 4,
        signature: vec![1; 256],
        checksum: None,
        entries: Vec::new(),
        toc_capacity: 0,
    }
    .compose(odd)
    .map_err(|e| Error::InvalidArgument(e.to_string()))?;
    let path = dir.join("odd-types.wad.client");
    std::fs::write(&path, bytes).map_err(|e| io_err("write", &path, e))?;
    out.push(path);
    Ok(out)
}
