//! SNES graphics (docs/rom.md, "Tiles" and "Colour and CGRAM"): planar and linear tile formats to an
//! index sheet and back, BGR555 colours and palettes.

mod color;
mod palette;
mod tiles;

pub use color::{bgr555_to_rgb, expand5, rgb_to_bgr555};
pub use palette::{Palette, PaletteSource};
pub use tiles::{
    MAX_COLUMNS, Match, Sheet, TileFormat, decode_tiles, encode_tiles, indices_from_rgba,
    sheet_to_rgba,
};
