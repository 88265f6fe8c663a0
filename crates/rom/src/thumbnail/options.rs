//! What a thumbnail request asks for (docs/rom.md, "Thumbnails"): the options that shape the
//! image and the queue priority.

use xxhash_rust::xxh3::Xxh3;

use crate::gfx::{PaletteSource, TileFormat};
use crate::image::ImageFormat;

/// How a thumbnail is made. `ThumbnailOptions::default()`: a 128x128 box, PNG, 4bpp tiles 16 to a
/// row, greyscale, colour 0 transparent, exhal-compatible decoding, priority 0.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ThumbnailOptions {
    /// Box width in pixels.
    pub box_width: u32,
    /// Box height in pixels.
    pub box_height: u32,
    /// Output encoding.
    pub format: ImageFormat,
    /// How the decoded bytes are read as tiles.
    pub tile_format: TileFormat,
    /// Tiles per sheet row.
    pub columns: u32,
    /// Colours.
    pub palette: PaletteSource,
    /// Colour 0 as `(0, 0, 0, 0)`.
    pub transparent: bool,
    /// Strict HAL decoding.
    pub strict: bool,
    /// Queue priority: lower runs first.
    pub priority: i32,
}

impl Default for ThumbnailOptions {
    fn default() -> Self {
        ThumbnailOptions {
            box_width: 128,
            box_height: 128,
            format: ImageFormat::Png,
            tile_format: TileFormat::Bpp4,
            columns: 16,
            palette: PaletteSource::Greyscale,
            transparent: true,
            strict: false,
            priority: 0,
        }
    }
}

impl ThumbnailOptions {
    /// A hash of everything that shapes the image (not the priority): the cache key's options
    /// part (palette bytes included, so a new CGRAM dump is a new entry).
    pub(crate) fn key_hash(&self) -> u64 {
        let mut h = Xxh3::new();
        h.update(&self.box_width.to_le_bytes());
        h.update(&self.box_height.to_le_bytes());
        h.update(self.format.as_str().as_bytes());
        h.update(self.tile_format.as_str().as_bytes());
        h.update(&self.columns.to_le_bytes());
        h.update(&self.palette.key_bytes());
        h.update(&[u8::from(self.transparent), u8::from(self.strict)]);
        h.digest()
    }
}

/// One request of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThumbnailRequest {
    /// ROM offset of the HAL stream.
    pub offset: u64,
    /// How to render it.
    pub options: ThumbnailOptions,
}
