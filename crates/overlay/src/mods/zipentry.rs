//! Zip entries of fantome archives: the central directory is read with the `zip` crate; entry
//! bytes are then read by positioned reads from the recorded data offset, so pass 2 needs no
//! directory parse and entries can be read in parallel. CRC-32 mismatches are tolerated (mod tools
//! in the wild write wrong CRCs; docs/overlay.md, "Fantome") and reported; output is capped at the
//! declared size.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::error::{Error, Result};
use crate::io::RangeReader;

/// Zip compression method: stored.
const STORED: u16 = 0;
/// Zip compression method: deflate.
const DEFLATED: u16 = 8;

/// Where a zip entry's bytes are and how to read them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZipEntryRef {
    /// Position in the central directory.
    pub index: u32,
    /// The entry's name as stored (decoded to UTF-8).
    pub name: String,
    /// Absolute offset of the entry's data.
    pub data_start: u64,
    /// Stored length.
    pub compressed_size: u64,
    /// Declared uncompressed length.
    pub size: u64,
    /// Compression method (0 stored, 8 deflate).
    pub method: u16,
    /// Declared CRC-32.
    pub crc32: u32,
    /// Whether the entry is a directory.
    pub is_dir: bool,
}

/// Lists every entry of the zip archive `file`.
pub(crate) fn list(file: &File, path: &Path, label: &str) -> Result<Vec<ZipEntryRef>> {
    let zip_err = |e: zip::result::ZipError| match e {
        zip::result::ZipError::Io(io) => Error::io("read", path, io),
        other => Error::format(label, 0, format!("zip archive: {other}")),
    };
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(zip_err)?;
    let mut out = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(zip_err)?;
        let name = match entry.name() {
            Ok(name) => name.into_owned(),
            Err(_) => String::from_utf8_lossy(entry.name_raw()).into_owned(),
        };
        let method = match entry.compression() {
            zip::CompressionMethod::Stored => STORED,
            zip::CompressionMethod::Deflated => DEFLATED,
            _ => u16::MAX,
        };
        out.push(ZipEntryRef {
            index: u32::try_from(i).map_err(|_| Error::Limit("zip entries".into()))?,
            data_start: entry.data_start().ok_or_else(|| {
                Error::format(
                    label,
                    entry.header_start(),
                    format!("zip entry {name:?}: no data offset"),
                )
            })?,
            compressed_size: entry.compressed_size(),
            size: entry.size(),
            method,
            crc32: entry.crc32(),
            is_dir: entry.is_dir(),
            name,
        });
    }
    Ok(out)
}

/// A reader of one entry's uncompressed bytes, capped at the declared size, computing the CRC.
pub(crate) struct EntryReader<'a> {
    inner: Box<dyn Read + 'a>,
    crc: crc32fast::Hasher,
    read: u64,
    entry: &'a ZipEntryRef,
    label: &'a str,
}

impl<'a> EntryReader<'a> {
    /// Opens `entry` of the archive `file` (`label` names it in errors).
    pub(crate) fn open(file: &'a File, entry: &'a ZipEntryRef, label: &'a str) -> Result<Self> {
        let raw = RangeReader::new(file, entry.data_start, entry.compressed_size);
        let inner: Box<dyn Read + 'a> = match entry.method {
            STORED => Box::new(raw.take(entry.size)),
            DEFLATED => Box::new(
                flate2::read::DeflateDecoder::new(BufReader::with_capacity(64 * 1024, raw))
                    .take(entry.size),
            ),
            _ => {
                return Err(Error::format(
                    label,
                    entry.data_start,
                    format!(
                        "zip entry {:?}: only stored and deflated entries are supported",
                        entry.name
                    ),
                ));
            }
        };
        Ok(EntryReader {
            inner,
            crc: crc32fast::Hasher::new(),
            read: 0,
            entry,
            label,
        })
    }

    /// Reads into `buf`; an entry ending before its declared size is a format error.
    pub(crate) fn read_some(&mut self, buf: &mut [u8]) -> Result<usize> {
        let n = loop {
            match self.inner.read(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(Error::format(
                        self.label,
                        self.entry.data_start,
                        format!("zip entry {:?}: {e}", self.entry.name),
                    ));
                }
            }
        };
        if n == 0 && !buf.is_empty() && self.read < self.entry.size {
            return Err(Error::format(
                self.label,
                self.entry.data_start,
                format!(
                    "zip entry {:?} ended after {} of its {} declared bytes",
                    self.entry.name, self.read, self.entry.size
                ),
            ));
        }
        self.crc.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }

    /// Fills `buf` completely.
    pub(crate) fn read_exact(&mut self, mut buf: &mut [u8]) -> Result<()> {
        while !buf.is_empty() {
            let n = self.read_some(buf)?;
            buf = &mut buf[n..];
        }
        Ok(())
    }

    /// Reads exactly `len` bytes into a new buffer that grows with the data actually read (a
    /// lying length costs no allocation beyond the real data).
    pub(crate) fn read_vec(&mut self, len: u64) -> Result<Vec<u8>> {
        const STEP: u64 = 1 << 20;
        let mut out = Vec::new();
        let mut left = len;
        while left > 0 {
            let step = left.min(STEP);
            let old = out.len();
            out.resize(old + step as usize, 0);
            self.read_exact(&mut out[old..])?;
            left -= step;
        }
        Ok(out)
    }

    /// Skips `n` bytes.
    pub(crate) fn skip(&mut self, mut n: u64) -> Result<()> {
        let mut scratch = vec![0u8; 64 * 1024];
        while n > 0 {
            let step = usize::try_from(n.min(scratch.len() as u64)).unwrap_or(scratch.len());
            self.read_exact(&mut scratch[..step])?;
            n -= step as u64;
        }
        Ok(())
    }

    /// Bytes read so far.
    pub(crate) fn position(&self) -> u64 {
        self.read
    }

    /// Reads the rest and says whether the CRC-32 matched.
    pub(crate) fn finish(mut self) -> Result<bool> {
        let left = self.entry.size.saturating_sub(self.read);
        self.skip(left)?;
        Ok(self.crc.clone().finalize() == self.entry.crc32)
    }
}
