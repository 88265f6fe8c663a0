//! Seeded mutations of a byte buffer that know where its fields and regions are.

use modforge_gen::SplitMix64;

/// The width of a little-endian integer field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// One byte.
    U8,
    /// Two bytes.
    U16,
    /// Four bytes.
    U32,
    /// Eight bytes.
    U64,
}

impl Width {
    /// Bytes the field spans.
    pub fn bytes(self) -> usize {
        match self {
            Width::U8 => 1,
            Width::U16 => 2,
            Width::U32 => 4,
            Width::U64 => 8,
        }
    }

    /// The largest value it holds.
    pub fn max(self) -> u64 {
        match self {
            Width::U8 => u64::from(u8::MAX),
            Width::U16 => u64::from(u16::MAX),
            Width::U32 => u64::from(u32::MAX),
            Width::U64 => u64::MAX,
        }
    }
}

/// What a field means, which decides the values tried on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A position in the input (tried: 0, the input's length and around it, other fields' values,
    /// unaligned values).
    Offset,
    /// A byte length.
    Length,
    /// A count of records (tried: 0, 1, huge values that overflow `count × size`).
    Count,
    /// An index into a table or a record number.
    Index,
    /// Flags or reserved bits.
    Flags,
    /// Anything else.
    Other,
}

/// A fixed-width little-endian integer of a valid input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// A name for reports (`tables[2].columnsOff`).
    pub name: String,
    /// Byte offset in the input.
    pub offset: usize,
    /// Width.
    pub width: Width,
    /// Meaning.
    pub role: Role,
}

impl Field {
    /// A field named `name` at `offset`.
    pub fn new(name: impl Into<String>, offset: usize, width: Width, role: Role) -> Self {
        Field {
            name: name.into(),
            offset,
            width,
            role,
        }
    }
}

/// A run of bytes of a valid input that is not a field: text (names, JSON), an array, a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// A name for reports.
    pub name: String,
    /// Byte offset in the input.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
    /// True for text: splats then favour quotes, brackets, NUL and broken UTF-8.
    pub text: bool,
}

impl Region {
    /// A region named `name`.
    pub fn new(name: impl Into<String>, offset: usize, len: usize, text: bool) -> Self {
        Region {
            name: name.into(),
            offset,
            len,
            text,
        }
    }
}

/// Where a valid input keeps its fields and regions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    /// Integer fields.
    pub fields: Vec<Field>,
    /// Byte regions.
    pub regions: Vec<Region>,
    /// Mutations never touch bytes before this offset (a container header that the reseal step
    /// rewrites anyway, for example).
    pub protected: usize,
}

impl Shape {
    /// Adds a field.
    pub fn field(mut self, field: Field) -> Self {
        self.fields.push(field);
        self
    }

    /// Adds a region.
    pub fn region(mut self, region: Region) -> Self {
        self.regions.push(region);
        self
    }

    /// Protects the first `len` bytes from mutation.
    pub fn protect(mut self, len: usize) -> Self {
        self.protected = len;
        self
    }
}

/// One mutation applied to an input, as reported for a failed case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// A field set to a value.
    SetField {
        /// The field's name.
        field: String,
        /// The value written.
        value: u64,
    },
    /// A field's bytes copied onto another field (structures made to share or overlap).
    CopyField {
        /// The source field.
        from: String,
        /// The field overwritten.
        to: String,
    },
    /// Bytes written at an offset.
    Splat {
        /// Where.
        at: usize,
        /// What.
        bytes: Vec<u8>,
    },
    /// A range copied over another of the same length.
    CopyRange {
        /// Source offset.
        from: usize,
        /// Destination offset.
        to: usize,
        /// Length.
        len: usize,
    },
    /// One bit flipped.
    FlipBit {
        /// Bit number (byte × 8 + bit).
        bit: usize,
    },
    /// The input cut to a length.
    Truncate {
        /// The new length.
        len: usize,
    },
    /// Bytes appended.
    Extend {
        /// How many.
        len: usize,
    },
    /// Zero bytes inserted (everything after moves).
    Insert {
        /// Where.
        at: usize,
        /// How many.
        len: usize,
    },
    /// Bytes removed (everything after moves).
    Remove {
        /// Where.
        at: usize,
        /// How many.
        len: usize,
    },
    /// A caller-supplied mutation.
    Custom {
        /// Its name.
        name: &'static str,
    },
}

/// A caller-supplied mutation: rewrites the input using the generator.
pub type CustomMutation = Box<dyn Fn(&mut Vec<u8>, &mut SplitMix64) + Send + Sync>;

/// Applies seeded mutations that respect a [`Shape`].
pub struct Mutator {
    rng: SplitMix64,
    custom: Vec<(&'static str, std::sync::Arc<CustomMutation>)>,
}

/// Bytes that break text formats: NUL, quotes, brackets, escapes, broken and overlong UTF-8.
const TEXT_BYTES: &[u8] = b"\0\"'{}[]:,\\\n\r\t \xff\xfe\xc0\x80\xed\xa0\xef\xbb\xbf0-9e.";
/// Bytes that break binary formats.
const BINARY_BYTES: &[u8] = &[0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

impl Mutator {
    /// A mutator drawing from `rng`.
    pub fn new(rng: SplitMix64) -> Self {
        Mutator {
            rng,
            custom: Vec::new(),
        }
    }

    /// Adds caller-supplied mutations, drawn like the built-in ones.
    pub fn with_custom(
        mut self,
        custom: &[(&'static str, std::sync::Arc<CustomMutation>)],
    ) -> Self {
        self.custom.extend(custom.iter().cloned());
        self
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.rng.below(items.len() as u64) as usize)
    }

    /// Applies `count` mutations to `bytes` and returns what was done.
    pub fn mutate(&mut self, bytes: &mut Vec<u8>, shape: &Shape, count: usize) -> Vec<Mutation> {
        (0..count).filter_map(|_| self.one(bytes, shape)).collect()
    }

    fn one(&mut self, bytes: &mut Vec<u8>, shape: &Shape) -> Option<Mutation> {
        // Field mutations dominate: they are what gets past the outer checks and lies.
        let custom = self.custom.len() as u64;
        let choice = self.rng.below(100 + custom * 4);
        match choice {
            0..=44 => self.set_field(bytes, shape),
            45..=59 => self.copy_field(bytes, shape),
            60..=71 => self.splat(bytes, shape),
            72..=77 => self.copy_range(bytes, shape),
            78..=85 => self.flip_bit(bytes, shape),
            86..=89 => self.truncate(bytes, shape),
            90..=92 => self.extend(bytes),
            93..=96 => self.insert(bytes, shape),
            97..=99 => self.remove(bytes, shape),
            other => {
                let index = ((other - 100) / 4) as usize;
                let (name, f) = self.custom.get(index).cloned()?;
                f(bytes, &mut self.rng);
                Some(Mutation::Custom { name })
            }
        }
    }

    fn read(bytes: &[u8], at: usize, width: Width) -> Option<u64> {
        let field = bytes.get(at..at.checked_add(width.bytes())?)?;
        let mut wide = [0u8; 8];
        wide.get_mut(..field.len())?.copy_from_slice(field);
        Some(u64::from_le_bytes(wide))
    }

    fn write(bytes: &mut [u8], at: usize, width: Width, value: u64) -> bool {
        let Some(end) = at.checked_add(width.bytes()) else {
            return false;
        };
        match (
            bytes.get_mut(at..end),
            value.to_le_bytes().get(..width.bytes()),
        ) {
            (Some(dst), Some(src)) => {
                dst.copy_from_slice(src);
                true
            }
            _ => false,
        }
    }

    /// A value worth trying in `field` of an input of `len` bytes.
    fn interesting(&mut self, field: &Field, bytes: &[u8], shape: &Shape) -> u64 {
        let len = bytes.len() as u64;
        let max = field.width.max();
        let current = Self::read(bytes, field.offset, field.width).unwrap_or(0);
        let other = self
            .pick(&shape.fields)
            .and_then(|f| Self::read(bytes, f.offset, f.width))
            .unwrap_or(0);
        let value = match (field.role, self.rng.below(16)) {
            (_, 0) => 0,
            (_, 1) => 1,
            (_, 2) => max,
            (_, 3) => max / 2 + 1,
            (_, 4) => current.wrapping_add(1),
            (_, 5) => current.wrapping_sub(1),
            (_, 6) => other,
            (Role::Offset | Role::Length, 7) => len,
            (Role::Offset | Role::Length, 8) => len.wrapping_sub(self.rng.range(1, 16)),
            (Role::Offset | Role::Length, 9) => other.wrapping_add(self.rng.range(1, 64)),
            (Role::Offset, 10) => current.wrapping_add(self.rng.range(1, 7)),
            (Role::Count | Role::Index, 7) => max - self.rng.below(4),
            (Role::Count, 8) => len / self.rng.range(1, 64),
            (Role::Count, 9) => (max / self.rng.range(2, 64)).wrapping_add(1),
            (_, 10 | 11) => self.rng.below(len.max(1) * 2),
            (_, 12) => 1u64 << self.rng.below(field.width.bytes() as u64 * 8),
            (_, 13) => current.wrapping_mul(2),
            (_, 14) => current / 2,
            _ => self.rng.next_u64(),
        };
        value & max
    }

    fn set_field(&mut self, bytes: &mut [u8], shape: &Shape) -> Option<Mutation> {
        let field = self.pick(&shape.fields)?.clone();
        let value = self.interesting(&field, bytes, shape);
        Self::write(bytes, field.offset, field.width, value).then_some(Mutation::SetField {
            field: field.name,
            value,
        })
    }

    fn copy_field(&mut self, bytes: &mut [u8], shape: &Shape) -> Option<Mutation> {
        let from = self.pick(&shape.fields)?.clone();
        // Prefer a field of the same role: an offset onto an offset makes two structures share.
        let same: Vec<&Field> = shape
            .fields
            .iter()
            .filter(|f| f.role == from.role && f.width == from.width)
            .collect();
        let to = (*self.pick(&same)?).clone();
        let value = Self::read(bytes, from.offset, from.width)?;
        Self::write(bytes, to.offset, to.width, value).then_some(Mutation::CopyField {
            from: from.name,
            to: to.name,
        })
    }

    fn splat(&mut self, bytes: &mut [u8], shape: &Shape) -> Option<Mutation> {
        let (start, len, text) = match self.pick(&shape.regions) {
            Some(region) if self.rng.chance(0.8) => (region.offset, region.len, region.text),
            _ => (
                shape.protected,
                bytes.len().saturating_sub(shape.protected),
                false,
            ),
        };
        if len == 0 {
            return None;
        }
        let at = start + self.rng.below(len as u64) as usize;
        let n = self.rng.range(1, 8) as usize;
        let palette = if text { TEXT_BYTES } else { BINARY_BYTES };
        let splat: Vec<u8> = (0..n)
            .map(|_| {
                if self.rng.chance(0.2) {
                    self.rng.next_u64() as u8
                } else {
                    *self.pick(palette).unwrap_or(&0)
                }
            })
            .collect();
        let end = (at + n).min(bytes.len());
        let dst = bytes.get_mut(at..end)?;
        let written = dst.len();
        dst.copy_from_slice(splat.get(..written)?);
        Some(Mutation::Splat {
            at,
            bytes: splat.get(..written)?.to_vec(),
        })
    }

    fn copy_range(&mut self, bytes: &mut [u8], shape: &Shape) -> Option<Mutation> {
        let span = bytes.len().checked_sub(shape.protected)?;
        if span < 2 {
            return None;
        }
        let len = self.rng.range(1, (span as u64 / 2).clamp(1, 256)) as usize;
        let from = shape.protected + self.rng.below((span - len) as u64 + 1) as usize;
        let to = shape.protected + self.rng.below((span - len) as u64 + 1) as usize;
        bytes.copy_within(from..from + len, to);
        Some(Mutation::CopyRange { from, to, len })
    }

    fn flip_bit(&mut self, bytes: &mut [u8], shape: &Shape) -> Option<Mutation> {
        let span = bytes.len().checked_sub(shape.protected)?;
        if span == 0 {
            return None;
        }
        let bit = shape.protected * 8 + self.rng.below(span as u64 * 8) as usize;
        *bytes.get_mut(bit / 8)? ^= 1 << (bit % 8);
        Some(Mutation::FlipBit { bit })
    }

    fn truncate(&mut self, bytes: &mut Vec<u8>, shape: &Shape) -> Option<Mutation> {
        let span = bytes.len().checked_sub(shape.protected)?;
        let len = shape.protected + self.rng.below(span as u64) as usize;
        bytes.truncate(len);
        Some(Mutation::Truncate { len })
    }

    fn extend(&mut self, bytes: &mut Vec<u8>) -> Option<Mutation> {
        let len = self.rng.range(1, 64) as usize;
        for _ in 0..len {
            bytes.push(self.rng.next_u64() as u8);
        }
        Some(Mutation::Extend { len })
    }

    fn insert(&mut self, bytes: &mut Vec<u8>, shape: &Shape) -> Option<Mutation> {
        let span = bytes.len().checked_sub(shape.protected)?;
        let at = shape.protected + self.rng.below(span as u64 + 1) as usize;
        let len = self.rng.range(1, 16) as usize;
        bytes.splice(at..at, std::iter::repeat_n(0u8, len));
        Some(Mutation::Insert { at, len })
    }

    fn remove(&mut self, bytes: &mut Vec<u8>, shape: &Shape) -> Option<Mutation> {
        let span = bytes.len().checked_sub(shape.protected)?;
        if span == 0 {
            return None;
        }
        let at = shape.protected + self.rng.below(span as u64) as usize;
        let len = (self.rng.range(1, 16) as usize).min(bytes.len() - at);
        bytes.drain(at..at + len);
        Some(Mutation::Remove { at, len })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> Shape {
        Shape::default()
            .protect(4)
            .field(Field::new("count", 4, Width::U32, Role::Count))
            .field(Field::new("offset", 8, Width::U64, Role::Offset))
            .region(Region::new("text", 16, 8, true))
    }

    #[test]
    fn mutations_are_reproducible_and_spare_the_protected_bytes() {
        let input: Vec<u8> = (0..24).collect();
        let run = |seed| {
            let mut bytes = input.clone();
            let log = Mutator::new(SplitMix64::new(seed)).mutate(&mut bytes, &shape(), 6);
            (bytes, log)
        };
        assert_eq!(run(5), run(5));
        for seed in 0..500 {
            let (bytes, log) = run(seed);
            assert!(!log.is_empty());
            assert_eq!(bytes.get(..4), Some(&input[..4]), "seed {seed}: {log:?}");
        }
    }

    #[test]
    fn every_strategy_is_drawn() {
        let mut kinds = std::collections::BTreeSet::new();
        let mut mutator = Mutator::new(SplitMix64::new(1)).with_custom(&[(
            "zero",
            std::sync::Arc::new(
                Box::new(|b: &mut Vec<u8>, _: &mut SplitMix64| b.fill(0)) as CustomMutation
            ),
        )]);
        for _ in 0..2000 {
            let mut bytes: Vec<u8> = (0..24).collect();
            for m in mutator.mutate(&mut bytes, &shape(), 1) {
                kinds.insert(
                    format!("{m:?}")
                        .split([' ', '{'])
                        .next()
                        .unwrap_or("")
                        .to_string(),
                );
            }
        }
        assert_eq!(kinds.len(), 10, "{kinds:?}");
    }

    #[test]
    fn field_values_fit_their_width() {
        let mut mutator = Mutator::new(SplitMix64::new(9));
        let shape = Shape::default().field(Field::new("b", 0, Width::U8, Role::Count));
        for _ in 0..1000 {
            let mut bytes = vec![0u8; 1];
            if let Some(Mutation::SetField { value, .. }) = mutator.set_field(&mut bytes, &shape) {
                assert!(value <= 255);
                assert_eq!(u64::from(bytes[0]), value);
            }
        }
    }
}
