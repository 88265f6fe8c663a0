//! A bounds-checked cursor over bytes for the fixed little-endian layouts of binary formats
//! (archive headers, image headers, tables of contents). Every read either returns a value or an
//! [`OutOfBounds`] naming the offset and what was wanted; nothing panics on short input.

/// A read past the end of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("needed {wanted} bytes at offset {offset}, the input has {len}")]
pub struct OutOfBounds {
    /// Where the read started.
    pub offset: u64,
    /// How many bytes it needed.
    pub wanted: u64,
    /// The input's length.
    pub len: u64,
}

/// A cursor over a byte slice. Offsets are relative to the slice's start.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

macro_rules! read_int {
    ($(#[$doc:meta] $name:ident, $at:ident: $ty:ty, $from:ident;)*) => {
        $(
            #[$doc]
            pub fn $name(&mut self) -> Result<$ty, OutOfBounds> {
                let value = self.$at(self.pos)?;
                self.pos += std::mem::size_of::<$ty>();
                Ok(value)
            }

            #[$doc]
            /// Read at absolute `offset`; the cursor does not move.
            pub fn $at(&self, offset: usize) -> Result<$ty, OutOfBounds> {
                let bytes = self.slice_at(offset, std::mem::size_of::<$ty>())?;
                let mut array = [0u8; std::mem::size_of::<$ty>()];
                array.copy_from_slice(bytes);
                Ok(<$ty>::$from(array))
            }
        )*
    };
}

impl<'a> Reader<'a> {
    /// A cursor at offset 0 of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    /// The whole input.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The input's length.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the input is empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The cursor's offset.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes after the cursor.
    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// Moves the cursor to `offset` (which may equal the length, not exceed it).
    pub fn seek(&mut self, offset: usize) -> Result<(), OutOfBounds> {
        if offset > self.data.len() {
            return Err(self.out_of_bounds(offset, 0));
        }
        self.pos = offset;
        Ok(())
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) -> Result<(), OutOfBounds> {
        self.take(n).map(|_| ())
    }

    /// The next `n` bytes; the cursor moves past them.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], OutOfBounds> {
        let bytes = self.slice_at(self.pos, n)?;
        self.pos += n;
        Ok(bytes)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], OutOfBounds> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    /// `n` bytes at absolute `offset`; the cursor does not move.
    pub fn slice_at(&self, offset: usize, n: usize) -> Result<&'a [u8], OutOfBounds> {
        offset
            .checked_add(n)
            .and_then(|end| self.data.get(offset..end))
            .ok_or_else(|| self.out_of_bounds(offset, n))
    }

    /// `n` bytes at an absolute offset and length given as file fields (`u64`), checked for
    /// overflow on every platform.
    pub fn range(&self, offset: u64, n: u64) -> Result<&'a [u8], OutOfBounds> {
        let bad = || OutOfBounds {
            offset,
            wanted: n,
            len: self.data.len() as u64,
        };
        let start = usize::try_from(offset).map_err(|_| bad())?;
        let count = usize::try_from(n).map_err(|_| bad())?;
        self.slice_at(start, count).map_err(|_| bad())
    }

    fn out_of_bounds(&self, offset: usize, wanted: usize) -> OutOfBounds {
        OutOfBounds {
            offset: offset as u64,
            wanted: wanted as u64,
            len: self.data.len() as u64,
        }
    }

    read_int! {
        /// A `u8`.
        u8, u8_at: u8, from_le_bytes;
        /// A little-endian `u16`.
        u16_le, u16_le_at: u16, from_le_bytes;
        /// A little-endian `u32`.
        u32_le, u32_le_at: u32, from_le_bytes;
        /// A little-endian `u64`.
        u64_le, u64_le_at: u64, from_le_bytes;
        /// A little-endian `i32`.
        i32_le, i32_le_at: i32, from_le_bytes;
        /// A little-endian `i64`.
        i64_le, i64_le_at: i64, from_le_bytes;
        /// A big-endian `u16`.
        u16_be, u16_be_at: u16, from_be_bytes;
        /// A big-endian `u32`.
        u32_be, u32_be_at: u32, from_be_bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_and_big_endian() {
        let data = [1, 0, 2, 0, 0, 0, 0xFF, 0xFE];
        let mut r = Reader::new(&data);
        assert_eq!(r.u16_le(), Ok(1));
        assert_eq!(r.u32_le(), Ok(2));
        assert_eq!(r.u16_be(), Ok(0xFFFE));
        assert_eq!(r.remaining(), 0);
        assert_eq!(r.u32_le_at(2), Ok(2));
        assert_eq!(r.pos(), 8);
    }

    #[test]
    fn short_input_is_an_error_naming_the_offset() {
        let data = [0u8; 3];
        let mut r = Reader::new(&data);
        r.skip(2).unwrap();
        assert_eq!(
            r.u16_le(),
            Err(OutOfBounds {
                offset: 2,
                wanted: 2,
                len: 3
            })
        );
        assert_eq!(r.pos(), 2, "a failed read does not move the cursor");
        assert!(r.slice_at(usize::MAX, 2).is_err());
        assert!(r.range(u64::MAX, 1).is_err());
        assert!(r.range(1, u64::MAX).is_err());
        assert_eq!(r.range(1, 2), Ok(&data[1..3]));
        assert!(r.seek(4).is_err());
        assert!(r.seek(3).is_ok());
    }
}
