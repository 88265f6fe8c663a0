//! 8x8 tiles (docs/rom.md, "Tiles"): pixel `x = 0` is bit 7 of each plane byte.

use super::palette::Palette;
use crate::error::Error;

/// A tile format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TileFormat {
    /// 1 bit per pixel, 8 bytes a tile.
    Bpp1,
    /// 2 planes interleaved by row, 16 bytes.
    Bpp2,
    /// Planes 0/1 then 2/3 as 2bpp blocks, 32 bytes (all OBJ graphics).
    #[default]
    Bpp4,
    /// Four 2bpp blocks, 64 bytes.
    Bpp8,
    /// Linear, one byte per pixel, 64 bytes.
    Mode7,
    /// SA-1 character conversion "bitmap": 4 bytes a row, high nibble = left pixel, 32 bytes.
    Sa1Bpp4,
}

impl TileFormat {
    /// Bytes per tile.
    pub fn bytes_per_tile(self) -> usize {
        match self {
            TileFormat::Bpp1 => 8,
            TileFormat::Bpp2 => 16,
            TileFormat::Bpp4 | TileFormat::Sa1Bpp4 => 32,
            TileFormat::Bpp8 | TileFormat::Mode7 => 64,
        }
    }

    /// Bits per pixel.
    pub fn bits(self) -> u32 {
        match self {
            TileFormat::Bpp1 => 1,
            TileFormat::Bpp2 => 2,
            TileFormat::Bpp4 | TileFormat::Sa1Bpp4 => 4,
            TileFormat::Bpp8 | TileFormat::Mode7 => 8,
        }
    }

    /// The format's name (`1bpp`, `2bpp`, `4bpp`, `8bpp`, `mode7`, `sa1-4bpp`).
    pub fn as_str(self) -> &'static str {
        match self {
            TileFormat::Bpp1 => "1bpp",
            TileFormat::Bpp2 => "2bpp",
            TileFormat::Bpp4 => "4bpp",
            TileFormat::Bpp8 => "8bpp",
            TileFormat::Mode7 => "mode7",
            TileFormat::Sa1Bpp4 => "sa1-4bpp",
        }
    }

    /// Parses a format name.
    pub fn parse(name: &str) -> Option<TileFormat> {
        [
            TileFormat::Bpp1,
            TileFormat::Bpp2,
            TileFormat::Bpp4,
            TileFormat::Bpp8,
            TileFormat::Mode7,
            TileFormat::Sa1Bpp4,
        ]
        .into_iter()
        .find(|f| f.as_str() == name)
    }

    fn planes(self) -> usize {
        match self {
            TileFormat::Bpp2 => 2,
            TileFormat::Bpp4 => 4,
            _ => 8,
        }
    }
}

/// Decodes one tile (`bytes` at least `bytes_per_tile` long; missing bytes read 0) into 64
/// row-major indices.
fn decode_tile(format: TileFormat, bytes: &[u8], out: &mut [u8; 64]) {
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    for y in 0..8 {
        for x in 0..8 {
            let bit = 7 - x;
            let value = match format {
                TileFormat::Bpp1 => (at(y) >> bit) & 1,
                TileFormat::Mode7 => at(y * 8 + x),
                TileFormat::Sa1Bpp4 => {
                    let b = at(y * 4 + x / 2);
                    if x % 2 == 0 { b >> 4 } else { b & 0x0F }
                }
                _ => {
                    let mut v = 0u8;
                    for plane in 0..format.planes() {
                        let byte = at(16 * (plane / 2) + 2 * y + plane % 2);
                        v |= ((byte >> bit) & 1) << plane;
                    }
                    v
                }
            };
            out[y * 8 + x] = value;
        }
    }
}

/// Encodes 64 row-major indices as one tile into `out` (`bytes_per_tile` long).
fn encode_tile(format: TileFormat, pixels: &[u8; 64], out: &mut [u8]) {
    out.fill(0);
    let mut set = |i: usize, v: u8| {
        if let Some(b) = out.get_mut(i) {
            *b |= v;
        }
    };
    for y in 0..8 {
        for x in 0..8 {
            let p = pixels[y * 8 + x];
            let bit = 7 - x;
            match format {
                TileFormat::Bpp1 => set(y, (p & 1) << bit),
                TileFormat::Mode7 => set(y * 8 + x, p),
                TileFormat::Sa1Bpp4 => {
                    let v = if x % 2 == 0 {
                        (p & 0x0F) << 4
                    } else {
                        p & 0x0F
                    };
                    set(y * 4 + x / 2, v);
                }
                _ => {
                    for plane in 0..format.planes() {
                        set(
                            16 * (plane / 2) + 2 * y + plane % 2,
                            ((p >> plane) & 1) << bit,
                        );
                    }
                }
            }
        }
    }
}

/// Tiles laid out as an index sheet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sheet {
    /// Width in pixels (`columns * 8`).
    pub width: u32,
    /// Height in pixels (`rows * 8`).
    pub height: u32,
    /// One index per pixel, row-major.
    pub indices: Vec<u8>,
    /// Tiles decoded (a trailing partial tile included).
    pub tiles: u32,
    /// True when the data ended inside a tile (zero-padded).
    pub partial_tile: bool,
    /// The format decoded.
    pub format: TileFormat,
}

/// Largest number of columns a sheet may have.
pub const MAX_COLUMNS: u32 = 256;

/// Decodes `bytes` as tiles of `format` into a sheet `columns` tiles wide (unused cells 0).
pub fn decode_tiles(bytes: &[u8], format: TileFormat, columns: u32) -> Result<Sheet, Error> {
    if columns == 0 || columns > MAX_COLUMNS {
        return Err(Error::InvalidArgument(format!(
            "columns must be 1-{MAX_COLUMNS}, got {columns}"
        )));
    }
    let per = format.bytes_per_tile();
    let partial = bytes.len() % per != 0;
    let tiles = bytes.len().div_ceil(per);
    let cols = columns as usize;
    let rows = tiles.div_ceil(cols);
    let width = cols * 8;
    let height = rows * 8;
    let mut indices = vec![0u8; width * height];
    let mut tile = [0u8; 64];
    for (n, chunk) in bytes.chunks(per).enumerate() {
        decode_tile(format, chunk, &mut tile);
        let (tx, ty) = ((n % cols) * 8, (n / cols) * 8);
        for y in 0..8 {
            let start = (ty + y) * width + tx;
            if let Some(row) = indices.get_mut(start..start + 8) {
                row.copy_from_slice(&tile[y * 8..y * 8 + 8]);
            }
        }
    }
    Ok(Sheet {
        width: width as u32,
        height: height as u32,
        indices,
        tiles: tiles as u32,
        partial_tile: partial,
        format,
    })
}

/// Encodes an index sheet (`width` and `height` multiples of 8) back into tiles of `format`,
/// tile by tile in reading order; `tiles` limits how many cells are written (default: all).
/// An index that does not fit the format's bits is an InvalidArgument error naming the pixel.
pub fn encode_tiles(
    indices: &[u8],
    width: u32,
    height: u32,
    format: TileFormat,
    tiles: Option<u32>,
) -> Result<Vec<u8>, Error> {
    let (w, h) = (width as usize, height as usize);
    if w % 8 != 0 || h % 8 != 0 || w == 0 || indices.len() != w * h {
        return Err(Error::InvalidArgument(format!(
            "a {width}x{height} sheet needs dimensions that are multiples of 8 and {} indices, got {}",
            w * h,
            indices.len()
        )));
    }
    let cols = w / 8;
    let cells = cols * (h / 8);
    let count = tiles.map_or(cells, |t| t as usize);
    if count > cells {
        return Err(Error::InvalidArgument(format!(
            "{count} tiles requested from a sheet of {cells}"
        )));
    }
    let max = if format.bits() >= 8 {
        255
    } else {
        (1u8 << format.bits()) - 1
    };
    if let Some(pos) = indices.iter().position(|&i| i > max) {
        return Err(Error::InvalidArgument(format!(
            "index {} at pixel ({}, {}) does not fit {}",
            indices.get(pos).copied().unwrap_or(0),
            pos % w,
            pos / w,
            format.as_str()
        )));
    }
    let per = format.bytes_per_tile();
    let mut out = vec![0u8; count * per];
    let mut tile = [0u8; 64];
    for (n, slot) in out.chunks_mut(per).enumerate() {
        let (tx, ty) = ((n % cols) * 8, (n / cols) * 8);
        for y in 0..8 {
            let start = (ty + y) * w + tx;
            if let Some(row) = indices.get(start..start + 8) {
                tile[y * 8..y * 8 + 8].copy_from_slice(row);
            }
        }
        encode_tile(format, &tile, slot);
    }
    Ok(out)
}

/// How [`indices_from_rgba`] maps colours that are not in the palette.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Match {
    /// Every opaque pixel must equal a palette colour at 5-bit precision.
    Exact,
    /// The nearest palette colour (squared distance at 5-bit precision).
    Nearest,
}

/// Maps RGBA pixels to palette indices (the inverse of rendering): fully transparent pixels
/// become index 0; opaque pixels the palette entry with the same BGR555 colour (a transparent
/// colour 0 is never matched by an opaque pixel).
pub fn indices_from_rgba(
    rgba: &[u8],
    palette: &Palette,
    matching: Match,
) -> Result<Vec<u8>, Error> {
    if rgba.len() % 4 != 0 {
        return Err(Error::InvalidArgument(format!(
            "RGBA data of {} bytes is not whole pixels",
            rgba.len()
        )));
    }
    let five = |c: [u8; 4]| [c[0] >> 3, c[1] >> 3, c[2] >> 3];
    let choices: Vec<(u8, [u8; 3])> = palette
        .colors
        .iter()
        .enumerate()
        .filter(|(_, c)| c[3] != 0)
        .take(256)
        .map(|(i, c)| (i as u8, five(*c)))
        .collect();
    let mut out = Vec::with_capacity(rgba.len() / 4);
    for (n, px) in rgba.chunks_exact(4).enumerate() {
        if px[3] == 0 {
            out.push(0);
            continue;
        }
        let want = five([px[0], px[1], px[2], px[3]]);
        let exact = choices.iter().find(|(_, c)| *c == want).map(|(i, _)| *i);
        let index = match (exact, matching) {
            (Some(i), _) => i,
            (None, Match::Nearest) => choices
                .iter()
                .min_by_key(|(_, c)| {
                    c.iter()
                        .zip(want)
                        .map(|(&a, b)| (i32::from(a) - i32::from(b)).pow(2))
                        .sum::<i32>()
                })
                .map(|(i, _)| *i)
                .unwrap_or(0),
            (None, Match::Exact) => {
                return Err(Error::InvalidArgument(format!(
                    "pixel {n} colour ({}, {}, {}) is not in the palette",
                    px[0], px[1], px[2]
                )));
            }
        };
        out.push(index);
    }
    Ok(out)
}

/// Renders a sheet with a palette as RGBA, row-major.
pub fn sheet_to_rgba(sheet: &Sheet, palette: &Palette) -> Vec<u8> {
    let mut out = Vec::with_capacity(sheet.indices.len() * 4);
    for &i in &sheet.indices {
        out.extend_from_slice(&palette.get(i));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORMATS: [TileFormat; 6] = [
        TileFormat::Bpp1,
        TileFormat::Bpp2,
        TileFormat::Bpp4,
        TileFormat::Bpp8,
        TileFormat::Mode7,
        TileFormat::Sa1Bpp4,
    ];

    #[test]
    fn every_format_round_trips() {
        for format in FORMATS {
            let bytes: Vec<u8> = (0..format.bytes_per_tile() * 19)
                .map(|i| (i * 37 % 256) as u8)
                .collect();
            let sheet = decode_tiles(&bytes, format, 16).unwrap();
            assert_eq!((sheet.width, sheet.height, sheet.tiles), (128, 16, 19));
            assert!(!sheet.partial_tile);
            let back = encode_tiles(&sheet.indices, 128, 16, format, Some(19)).unwrap();
            assert_eq!(back, bytes, "{format:?}");
            assert_eq!(TileFormat::parse(format.as_str()), Some(format));
        }
    }

    #[test]
    fn planar_layouts() {
        // 2bpp: row 0 plane 0 = 0x80, plane 1 = 0x80 -> pixel 0 = 3.
        let mut t = [0u8; 16];
        t[0] = 0x80;
        t[1] = 0x80;
        t[3] = 0x01;
        let s = decode_tiles(&t, TileFormat::Bpp2, 1).unwrap();
        assert_eq!(s.indices[0], 3);
        assert_eq!(s.indices[8 + 7], 2, "row 1 plane 1 bit 0");
        // 4bpp plane 2 lives at byte 16 + 2r.
        let mut t = [0u8; 32];
        t[16] = 0x40;
        let s = decode_tiles(&t, TileFormat::Bpp4, 1).unwrap();
        assert_eq!(s.indices[1], 4);
        // SA-1 packed: high nibble left.
        let s = decode_tiles(&[0xAB; 32], TileFormat::Sa1Bpp4, 1).unwrap();
        assert_eq!(&s.indices[..2], &[0xA, 0xB]);
    }

    #[test]
    fn partial_tiles_are_padded_and_flagged() {
        let s = decode_tiles(&[0xFF; 40], TileFormat::Bpp4, 16).unwrap();
        assert_eq!(s.tiles, 2);
        assert!(s.partial_tile);
        assert_eq!(s.width, 128);
        assert!(decode_tiles(&[], TileFormat::Bpp4, 0).is_err());
        assert_eq!(decode_tiles(&[], TileFormat::Bpp4, 16).unwrap().height, 0);
    }

    #[test]
    fn encoding_checks_its_input() {
        assert!(encode_tiles(&[0; 64], 8, 8, TileFormat::Bpp2, None).is_ok());
        let err = encode_tiles(&[4; 64], 8, 8, TileFormat::Bpp2, None).unwrap_err();
        assert!(err.to_string().contains("pixel (0, 0)"));
        assert!(encode_tiles(&[0; 60], 8, 8, TileFormat::Bpp2, None).is_err());
        assert!(encode_tiles(&[0; 64], 8, 8, TileFormat::Bpp2, Some(2)).is_err());
    }

    #[test]
    fn rgba_maps_back_to_indices() {
        let palette =
            Palette::from_bgr555(&[0, 0, 0xFF, 0x7F, 0x10, 0x42], 3).with_transparency(true);
        let rgba = [
            0, 0, 0, 0, 255, 255, 255, 255, 132, 132, 132, 255, 130, 135, 130, 255,
        ];
        assert_eq!(
            indices_from_rgba(&rgba, &palette, Match::Exact).unwrap(),
            [0, 1, 2, 2]
        );
        let off = [10, 200, 10, 255];
        assert!(indices_from_rgba(&off, &palette, Match::Exact).is_err());
        assert_eq!(
            indices_from_rgba(&off, &palette, Match::Nearest).unwrap(),
            [2]
        );
    }
}
