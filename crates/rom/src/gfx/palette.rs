//! Palettes: from ROM bytes, a CGRAM dump, or greyscale (docs/rom.md, "Palettes").

use super::color::bgr555_to_rgb;
use crate::error::Error;

/// RGBA colours by index.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Palette {
    /// Colour `i` as `[r, g, b, a]`.
    pub colors: Vec<[u8; 4]>,
}

/// Where a palette comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum PaletteSource {
    /// `i * 255 / (2^bpp - 1)` for each index.
    #[default]
    Greyscale,
    /// Raw BGR555 words at a ROM offset (2^bpp words, 256 for 8bpp/Mode 7).
    Rom {
        /// ROM offset of the first word.
        offset: u64,
    },
    /// A 512-byte CGRAM dump and a sub-palette index (entries `index * 2^bpp ..`).
    Cgram {
        /// The 512 bytes.
        bytes: Vec<u8>,
        /// The sub-palette.
        index: u32,
    },
}

impl PaletteSource {
    /// The first OBJ palette for 4bpp (CGRAM palette 8), the default `index` of a CGRAM source.
    pub const DEFAULT_CGRAM_INDEX: u32 = 8;

    /// Bytes identifying this source in cache keys.
    pub(crate) fn key_bytes(&self) -> Vec<u8> {
        match self {
            PaletteSource::Greyscale => vec![0],
            PaletteSource::Rom { offset } => {
                let mut v = vec![1];
                v.extend_from_slice(&offset.to_le_bytes());
                v
            }
            PaletteSource::Cgram { bytes, index } => {
                let mut v = vec![2];
                v.extend_from_slice(&index.to_le_bytes());
                v.extend_from_slice(bytes);
                v
            }
        }
    }
}

impl Palette {
    /// Greyscale for `bits` bits per pixel (4bpp: `i * 17`).
    pub fn greyscale(bits: u32) -> Palette {
        let max = (1u32 << bits.clamp(1, 8)) - 1;
        Palette {
            colors: (0..=max)
                .map(|i| {
                    let v = (i * 255 / max) as u8;
                    [v, v, v, 255]
                })
                .collect(),
        }
    }

    /// `count` BGR555 words from `bytes` (missing words read as black).
    pub fn from_bgr555(bytes: &[u8], count: usize) -> Palette {
        Palette {
            colors: (0..count)
                .map(|i| {
                    let lo = bytes.get(2 * i).copied().unwrap_or(0);
                    let hi = bytes.get(2 * i + 1).copied().unwrap_or(0);
                    let [r, g, b] = bgr555_to_rgb(u16::from_le_bytes([lo, hi]));
                    [r, g, b, 255]
                })
                .collect(),
        }
    }

    /// Sub-palette `index` of a 512-byte CGRAM dump for `bits` bits per pixel.
    pub fn from_cgram(cgram: &[u8], index: u32, bits: u32) -> Result<Palette, Error> {
        if cgram.len() != 512 {
            return Err(Error::InvalidArgument(format!(
                "a CGRAM dump is 512 bytes, got {}",
                cgram.len()
            )));
        }
        let count = 1usize << bits.clamp(1, 8);
        let start = (index as usize)
            .checked_mul(count)
            .filter(|s| s + count <= 256);
        let Some(start) = start else {
            return Err(Error::InvalidArgument(format!(
                "CGRAM sub-palette {index} of {count} colours is past entry 255"
            )));
        };
        Ok(Palette::from_bgr555(
            cgram.get(2 * start..).unwrap_or_default(),
            count,
        ))
    }

    /// This palette with colour 0 transparent (`(0, 0, 0, 0)`) when `transparent`.
    pub fn with_transparency(mut self, transparent: bool) -> Palette {
        if transparent {
            if let Some(c) = self.colors.first_mut() {
                *c = [0, 0, 0, 0];
            }
        }
        self
    }

    /// Colour `i`, black when the palette is shorter.
    pub fn get(&self, i: u8) -> [u8; 4] {
        self.colors
            .get(usize::from(i))
            .copied()
            .unwrap_or([0, 0, 0, 255])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greyscale_ramps() {
        let p = Palette::greyscale(4);
        assert_eq!(p.colors.len(), 16);
        assert_eq!(p.get(1), [17, 17, 17, 255]);
        assert_eq!(p.get(15), [255, 255, 255, 255]);
        assert_eq!(Palette::greyscale(1).get(1), [255, 255, 255, 255]);
        assert_eq!(Palette::greyscale(8).colors.len(), 256);
    }

    #[test]
    fn cgram_sub_palettes() {
        let mut cgram = vec![0u8; 512];
        cgram[8 * 32..8 * 32 + 2].copy_from_slice(&0x7FFFu16.to_le_bytes());
        let p = Palette::from_cgram(&cgram, 8, 4).unwrap();
        assert_eq!(p.get(0), [255, 255, 255, 255]);
        assert_eq!(p.with_transparency(true).get(0), [0, 0, 0, 0]);
        assert!(Palette::from_cgram(&cgram, 16, 4).is_err());
        assert!(Palette::from_cgram(&cgram, 1, 8).is_err());
        assert!(Palette::from_cgram(&cgram[..10], 0, 4).is_err());
    }
}
