//! `decodeTiles` and `encodeTiles`: SNES tile formats to an index sheet and back, with palettes
//! (docs/rom.md, "Tiles", "Colour and CGRAM", "Palettes").

use modforge_rom::gfx::{self, Palette, PaletteSource, TileFormat};
use napi::Env;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use super::{Failure, offset_arg, rom_sync};
use crate::runtime::NodeError;
use crate::runtime::convert::integer_option;

/// How bytes are read as 8×8 tiles.
#[napi(string_enum)]
pub enum TileFormatName {
    /// 1 bit per pixel, 8 bytes a tile.
    #[napi(value = "1bpp")]
    Bpp1,
    /// 2 planes interleaved by row, 16 bytes.
    #[napi(value = "2bpp")]
    Bpp2,
    /// Planes 0/1 then 2/3, 32 bytes (all OBJ graphics; the default).
    #[napi(value = "4bpp")]
    Bpp4,
    /// Four 2bpp blocks, 64 bytes.
    #[napi(value = "8bpp")]
    Bpp8,
    /// Linear, one byte per pixel, 64 bytes.
    #[napi(value = "mode7")]
    Mode7,
    /// SA-1 packed 4bpp: 4 bytes a row, high nibble = left pixel, 32 bytes.
    #[napi(value = "sa1-4bpp")]
    Sa1Bpp4,
}

impl From<TileFormatName> for TileFormat {
    fn from(format: TileFormatName) -> Self {
        match format {
            TileFormatName::Bpp1 => TileFormat::Bpp1,
            TileFormatName::Bpp2 => TileFormat::Bpp2,
            TileFormatName::Bpp4 => TileFormat::Bpp4,
            TileFormatName::Bpp8 => TileFormat::Bpp8,
            TileFormatName::Mode7 => TileFormat::Mode7,
            TileFormatName::Sa1Bpp4 => TileFormat::Sa1Bpp4,
        }
    }
}

/// Where a palette comes from.
#[napi(string_enum = "lowercase")]
pub enum PaletteKind {
    /// `i·255 / (2^bpp - 1)` for each index (4bpp: `i·17`).
    Greyscale,
    /// Sub-palette `index` of a 512-byte CGRAM dump in `bytes`.
    Cgram,
    /// Raw BGR555 words in `bytes`.
    Bgr555,
    /// Raw BGR555 words at ROM offset `offset` (thumbnails of a ROM only).
    Rom,
}

/// A palette source: `kind` and the field it needs.
#[napi(object)]
pub struct PaletteSpec {
    /// The kind of source.
    pub kind: PaletteKind,
    /// The CGRAM dump (`cgram`, 512 bytes) or the BGR555 words (`bgr555`, 2-512 bytes).
    pub bytes: Option<Buffer>,
    /// The CGRAM sub-palette (`cgram`); default 8 for 4bpp (the first OBJ palette), else 0.
    pub index: Option<f64>,
    /// The ROM offset of the words (`rom`).
    pub offset: Option<f64>,
}

impl PaletteSpec {
    /// The palette for `format` from a source that needs no ROM.
    pub fn palette(&self, format: TileFormat) -> Result<Palette, NodeError> {
        let bits = format.bits();
        match self.kind {
            PaletteKind::Greyscale => Ok(Palette::greyscale(bits)),
            PaletteKind::Cgram => Ok(Palette::from_cgram(
                self.required_bytes("cgram")?,
                self.cgram_index(format)?,
                bits,
            )?),
            PaletteKind::Bgr555 => {
                let bytes = self.required_bytes("bgr555")?;
                if bytes.is_empty() || bytes.len() % 2 != 0 || bytes.len() > 512 {
                    return Err(NodeError::InvalidArg(format!(
                        "a BGR555 palette is 1 to 256 two-byte words, got {} bytes",
                        bytes.len()
                    )));
                }
                Ok(Palette::from_bgr555(bytes, 1usize << bits))
            }
            PaletteKind::Rom => Err(NodeError::InvalidArg(
                "a palette at a ROM offset needs a ROM: use rom.thumbnail(), or pass the words \
                 read with rom.read(offset, 2 << bpp) as { bgr555 }"
                    .to_owned(),
            )),
        }
    }

    /// The source as the thumbnail pipeline takes it (greyscale, CGRAM or ROM words).
    pub fn source(&self, format: TileFormat) -> Result<PaletteSource, NodeError> {
        match self.kind {
            PaletteKind::Greyscale => Ok(PaletteSource::Greyscale),
            PaletteKind::Cgram => Ok(PaletteSource::Cgram {
                bytes: self.required_bytes("cgram")?.to_vec(),
                index: self.cgram_index(format)?,
            }),
            PaletteKind::Rom => Ok(PaletteSource::Rom {
                offset: offset_arg(
                    "palette.rom",
                    self.offset.ok_or_else(|| {
                        NodeError::InvalidArg("palette { rom } needs an offset".to_owned())
                    })?,
                )?,
            }),
            PaletteKind::Bgr555 => Err(NodeError::InvalidArg(
                "thumbnails take a palette from the ROM ({ rom: offset }), a CGRAM dump \
                 ({ cgram, index }) or 'greyscale'"
                    .to_owned(),
            )),
        }
    }

    fn required_bytes(&self, kind: &str) -> Result<&[u8], NodeError> {
        self.bytes
            .as_deref()
            .ok_or_else(|| NodeError::InvalidArg(format!("palette {{ {kind} }} needs its bytes")))
    }

    fn cgram_index(&self, format: TileFormat) -> Result<u32, NodeError> {
        let default = if format.bits() == 4 {
            PaletteSource::DEFAULT_CGRAM_INDEX
        } else {
            0
        };
        Ok(integer_option("palette.index", self.index, 0, 255)?.map_or(default, |i| i as u32))
    }
}

/// Options of `decodeTiles`.
#[napi(object)]
#[derive(Default)]
pub struct DecodeTilesOptions {
    /// The tile format; default `4bpp`.
    pub format: Option<TileFormatName>,
    /// Tiles per sheet row, 1-256; default 16.
    pub columns: Option<f64>,
    /// Also render RGBA with this palette.
    pub palette: Option<PaletteSpec>,
    /// Colour 0 as `(0, 0, 0, 0)` in the RGBA; default true.
    pub transparent: Option<bool>,
}

/// A decoded tile sheet.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct TileSheet {
    /// Width in pixels (`columns · 8`).
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// One palette index per pixel, row-major; unused cells index 0.
    pub indices: Buffer,
    /// Tiles decoded (a trailing partial tile counts).
    pub tiles: u32,
    /// True when the bytes ended inside a tile (zero-padded).
    pub partial_tile: bool,
    /// RGBA pixels, row-major, when a palette was given.
    pub rgba: Option<Buffer>,
}

/// Decodes `bytes` as tiles into a sheet `columns` tiles wide; with a palette, also as RGBA.
#[napi]
pub fn decode_tiles(
    env: &Env,
    bytes: &[u8],
    options: Option<DecodeTilesOptions>,
) -> napi::Result<TileSheet> {
    rom_sync(env, || {
        let options = options.unwrap_or_default();
        let format: TileFormat = options.format.map_or(TileFormat::Bpp4, Into::into);
        let columns = integer_option("columns", options.columns, 1, u64::from(gfx::MAX_COLUMNS))?
            .map_or(16, |c| c as u32);
        let sheet = gfx::decode_tiles(bytes, format, columns)?;
        let rgba = match &options.palette {
            Some(spec) => {
                let palette = spec
                    .palette(format)?
                    .with_transparency(options.transparent.unwrap_or(true));
                Some(gfx::sheet_to_rgba(&sheet, &palette).into())
            }
            None => None,
        };
        Ok::<_, Failure>(TileSheet {
            width: sheet.width,
            height: sheet.height,
            tiles: sheet.tiles,
            partial_tile: sheet.partial_tile,
            indices: sheet.indices.into(),
            rgba,
        })
    })
}

/// What the pixels of `encodeTiles` are.
#[napi(string_enum = "lowercase")]
pub enum PixelKind {
    /// One palette index per pixel.
    Indices,
    /// Four bytes (R, G, B, A) per pixel, mapped to indices through `palette`.
    Rgba,
}

/// How an RGBA colour finds its index.
#[napi(string_enum = "lowercase")]
pub enum ColorMatch {
    /// Equal at 5-bit precision, else an error naming the pixel.
    Exact,
    /// The nearest palette colour.
    Nearest,
}

/// Options of `encodeTiles`.
#[napi(object)]
pub struct EncodeTilesOptions {
    /// Sheet width in pixels (a multiple of 8).
    pub width: f64,
    /// Sheet height in pixels (a multiple of 8).
    pub height: f64,
    /// The tile format; default `4bpp`.
    pub format: Option<TileFormatName>,
    /// Tiles to write (row-major from the top left); default every cell.
    pub tiles: Option<f64>,
    /// What the pixels are; default `indices`.
    pub pixels: Option<PixelKind>,
    /// The palette RGBA pixels are matched against (required for `rgba`).
    pub palette: Option<PaletteSpec>,
    /// Colour 0 is transparent (alpha 0 pixels become index 0); default true.
    pub transparent: Option<bool>,
    /// How RGBA colours find their index; default `exact`.
    #[napi(js_name = "match")]
    pub matching: Option<ColorMatch>,
}

/// Encodes a sheet of indices (or RGBA through a palette) as tiles.
#[napi]
pub fn encode_tiles(env: &Env, pixels: &[u8], options: EncodeTilesOptions) -> napi::Result<Buffer> {
    rom_sync(env, || {
        let format: TileFormat = options.format.map_or(TileFormat::Bpp4, Into::into);
        let width = integer_option("width", Some(options.width), 8, 1 << 16)?.unwrap_or(8) as u32;
        let height =
            integer_option("height", Some(options.height), 8, 1 << 16)?.unwrap_or(8) as u32;
        let tiles = integer_option("tiles", options.tiles, 0, 1 << 24)?.map(|t| t as u32);
        let indices: Vec<u8>;
        let source = match options.pixels.unwrap_or(PixelKind::Indices) {
            PixelKind::Indices => pixels,
            PixelKind::Rgba => {
                let spec = options.palette.as_ref().ok_or_else(|| {
                    NodeError::InvalidArg("RGBA pixels need a palette to find their indices".into())
                })?;
                let palette = spec
                    .palette(format)?
                    .with_transparency(options.transparent.unwrap_or(true));
                let matching = match options.matching.unwrap_or(ColorMatch::Exact) {
                    ColorMatch::Exact => gfx::Match::Exact,
                    ColorMatch::Nearest => gfx::Match::Nearest,
                };
                indices = gfx::indices_from_rgba(pixels, &palette, matching)?;
                &indices
            }
        };
        Ok::<_, Failure>(gfx::encode_tiles(source, width, height, format, tiles)?.into())
    })
}

/// An 8-bit RGBA PNG of `width`×`height` pixels (`rgba` row-major, 4 bytes per pixel).
#[napi]
pub fn rgba_to_png(env: &Env, rgba: &[u8], width: f64, height: f64) -> napi::Result<Buffer> {
    rom_sync(env, || {
        let width = integer_option("width", Some(width), 1, 65_535)?.unwrap_or(1) as u32;
        let height = integer_option("height", Some(height), 1, 65_535)?.unwrap_or(1) as u32;
        Ok::<_, Failure>(modforge_rom::png_rgba(rgba, width, height)?.into())
    })
}
