//! Image decoders: TGA and DDS (header and masks hand-written, BC blocks through `bcdec_rs`) and
//! PNG (through `png`), all to top-down RGBA8 (docs/icons.md, "Decoders").
//!
//! Caps: width and height at most [`MAX_SIDE`], at most [`MAX_PIXELS`] pixels, else
//! [`Error::Limit`]. Before the output is allocated, the input is checked to be long enough to
//! hold the pixels it declares, so a decoder never allocates more than a fixed multiple of its
//! input.

mod dds;
mod png_image;
mod tga;

pub use dds::{DdsFormat, DdsInfo, dds_info};

use crate::error::Error;
use crate::key::ResType;

/// Widest or tallest image decoded (the VP8L limit).
pub const MAX_SIDE: u32 = 16384;
/// Most pixels decoded (64 Mpx).
pub const MAX_PIXELS: u64 = 64 << 20;

/// A decoded image: top-down rows of RGBA8 pixels, straight (not premultiplied) alpha.
#[derive(Clone, PartialEq, Eq)]
pub struct Rgba {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 4` bytes.
    pub pixels: Vec<u8>,
}

impl std::fmt::Debug for Rgba {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rgba({}x{})", self.width, self.height)
    }
}

impl Rgba {
    /// The pixel at (`x`, `y`), if inside.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let at = (y as usize * self.width as usize + x as usize) * 4;
        let p = self.pixels.get(at..at + 4)?;
        Some([p[0], p[1], p[2], p[3]])
    }

    /// Whether every pixel has alpha 255.
    pub fn is_opaque(&self) -> bool {
        self.pixels.chunks_exact(4).all(|p| p[3] == 255)
    }
}

/// Decodes `data` of type `res_type` (TGA, DDS or PNG). `label` names the input in errors.
pub fn decode(data: &[u8], res_type: ResType, label: &str) -> Result<Rgba, Error> {
    match res_type {
        ResType::TGA => tga::decode(data, label),
        ResType::DDS => dds::decode(data, label),
        ResType::PNG => png_image::decode(data, label),
        other => Err(Error::format(
            label,
            0,
            format!("an image type (tga, dds or png), found {other}"),
        )),
    }
}

/// Checks the caps and returns the pixel count.
pub(crate) fn check_size(width: u32, height: u32, label: &str, at: u64) -> Result<usize, Error> {
    if width == 0 || height == 0 {
        return Err(Error::format(
            label,
            at,
            format!("a non-zero width and height, found {width}x{height}"),
        ));
    }
    let pixels = u64::from(width) * u64::from(height);
    if width > MAX_SIDE || height > MAX_SIDE || pixels > MAX_PIXELS {
        return Err(Error::limit(
            label,
            format!(
                "{width}x{height} pixels (at most {MAX_SIDE} per side and {MAX_PIXELS} pixels)"
            ),
        ));
    }
    usize::try_from(pixels).map_err(|_| Error::limit(label, "image larger than memory"))
}
