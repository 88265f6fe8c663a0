//! Positional reads. Source archives are read with `pread`-style calls on a file opened for the
//! duration of one operation, never memory-mapped and never kept open after a build: on Windows a
//! mapped or open file cannot be replaced, and the toolset could not save a HAK
//! (docs/icons.md, "Reading sources").

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Something that can be read at absolute offsets from several threads at once.
pub trait ReadAt: Sync {
    /// Total length in bytes.
    fn len(&self) -> u64;
    /// Whether the input is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fills `buf` from `offset`; fails when the input ends first.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Reads `len` bytes at `offset` into a new vector; `len` must have been checked against
    /// [`ReadAt::len`] by the caller (it is checked again here before allocating).
    fn read_vec(&self, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        let end = offset.checked_add(len);
        if end.is_none_or(|end| end > self.len()) {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{len} bytes at offset {offset} lie past the end ({} bytes)",
                    self.len()
                ),
            ));
        }
        let n = usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
        let mut buf = vec![0u8; n];
        self.read_exact_at(&mut buf, offset)?;
        Ok(buf)
    }
}

impl ReadAt for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset).ok();
        let slice = start
            .and_then(|s| s.checked_add(buf.len()).map(|e| (s, e)))
            .and_then(|(s, e)| self.get(s..e));
        match slice {
            Some(bytes) => {
                buf.copy_from_slice(bytes);
                Ok(())
            }
            None => Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
        }
    }
}

/// A file opened for positional reads, with its length at open time.
#[derive(Debug)]
pub struct FileAt {
    file: File,
    len: u64,
    path: PathBuf,
}

impl FileAt {
    /// Opens `path` for reading.
    pub fn open(path: &Path) -> Result<FileAt, Error> {
        let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("fstat", path, e))?
            .len();
        Ok(FileAt {
            file,
            len,
            path: path.to_path_buf(),
        })
    }

    /// The path it was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// A `Read + Seek` cursor over the file that reads positionally (several cursors may share
    /// one file across threads).
    pub fn cursor(&self) -> Cursor<'_> {
        Cursor {
            file: &self.file,
            pos: 0,
            len: self.len,
        }
    }

    /// Reads `len` bytes at `offset`, as an [`Error`] naming the file.
    pub fn read_range(&self, offset: u64, len: u64) -> Result<Vec<u8>, Error> {
        self.read_vec(offset, len)
            .map_err(|e| Error::io("read", &self.path, e))
    }
}

impl ReadAt for FileAt {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        read_exact_at(&self.file, buf, offset)
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A `Read + Seek` view of a file that reads with positional calls (see [`FileAt::cursor`]).
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    file: &'a File,
    pos: u64,
    len: u64,
}

impl Read for Cursor<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        let n = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
        if n == 0 {
            return Ok(0);
        }
        let dst = buf.get_mut(..n).unwrap_or_default();
        read_exact_at(self.file, dst, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Cursor<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match target {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_and_files_read_at_offsets() {
        let data: &[u8] = b"0123456789";
        let mut buf = [0u8; 3];
        data.read_exact_at(&mut buf, 7).unwrap();
        assert_eq!(&buf, b"789");
        assert!(data.read_exact_at(&mut buf, 8).is_err());
        assert!(data.read_exact_at(&mut buf, u64::MAX).is_err());
        assert!(data.read_vec(5, u64::MAX).is_err());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, data).unwrap();
        let file = FileAt::open(&path).unwrap();
        assert_eq!(file.len(), 10);
        assert_eq!(file.read_range(2, 3).unwrap(), b"234");
        assert!(file.read_range(9, 2).is_err());
        let mut cursor = file.cursor();
        cursor.seek(SeekFrom::End(-4)).unwrap();
        let mut rest = Vec::new();
        cursor.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"6789");
        assert!(cursor.seek(SeekFrom::Current(-20)).is_err());
    }
}
