//! Thumbnail images (docs/rom.md, "Thumbnails"): their formats, scaling an index sheet into a
//! box and writing it as PNG (indexed), WebP (lossless) or raw RGBA, and reading an encoded
//! one's size back.

use crate::error::Error;
use crate::gfx::Palette;

/// Largest box side, in pixels.
pub const MAX_BOX: u32 = 4096;

/// The encoded form of a thumbnail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// 8-bit indexed PNG with PLTE and tRNS.
    #[default]
    Png,
    /// Lossless WebP (VP8L), RGBA.
    Webp,
    /// Raw RGBA, row-major.
    Rgba,
}

impl ImageFormat {
    /// The format's name (`png`, `webp`, `rgba`).
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Webp => "webp",
            ImageFormat::Rgba => "rgba",
        }
    }

    /// Parses a format name.
    pub fn parse(name: &str) -> Option<ImageFormat> {
        match name {
            "png" => Some(ImageFormat::Png),
            "webp" => Some(ImageFormat::Webp),
            "rgba" => Some(ImageFormat::Rgba),
            _ => None,
        }
    }
}

/// A rendered thumbnail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thumbnail {
    /// The encoded image.
    pub image: Vec<u8>,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Tiles in the decoded data.
    pub tiles: u32,
    /// True when the data ended inside a tile.
    pub partial_tile: bool,
    /// The encoding of `image`.
    pub format: ImageFormat,
}

/// Width and height of an encoded thumbnail, by decoding it (images larger than [`MAX_BOX`] are
/// refused before any pixel buffer is allocated).
pub(crate) fn image_dimensions(t: &Thumbnail) -> Result<(u32, u32), String> {
    match t.format {
        ImageFormat::Rgba => Ok((t.width, t.height)),
        ImageFormat::Png => {
            let decoder = png::Decoder::new(std::io::Cursor::new(&t.image));
            let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
            let (w, h) = (reader.info().width, reader.info().height);
            if w > MAX_BOX || h > MAX_BOX {
                return Err(format!("PNG of {w}x{h} is larger than any thumbnail"));
            }
            let mut buf = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
            let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
            Ok((info.width, info.height))
        }
        ImageFormat::Webp => {
            let mut decoder = image_webp::WebPDecoder::new(std::io::Cursor::new(&t.image))
                .map_err(|e| e.to_string())?;
            let (w, h) = decoder.dimensions();
            if w > MAX_BOX || h > MAX_BOX {
                return Err(format!("WebP of {w}x{h} is larger than any thumbnail"));
            }
            let size = decoder.output_buffer_size().ok_or("WebP too large")?;
            let mut buf = vec![0; size];
            decoder.read_image(&mut buf).map_err(|e| e.to_string())?;
            Ok((w, h))
        }
    }
}

/// Nearest-neighbour scale of a `w`x`h` index image into a `bw`x`bh` box: by the integer factor
/// `floor(min(bw/w, bh/h))` when it is at least 1, otherwise down by the exact ratio
/// `s = min(bw/w, bh/h)` with `src = floor(dst / s)`. Returns (indices, width, height).
pub(crate) fn scale(indices: &[u8], w: u32, h: u32, bw: u32, bh: u32) -> (Vec<u8>, u32, u32) {
    if w == 0 || h == 0 || bw == 0 || bh == 0 {
        return (Vec::new(), 0, 0);
    }
    // s = num / den, the smaller of bw/w and bh/h.
    let (num, den) = if u64::from(bw) * u64::from(h) <= u64::from(bh) * u64::from(w) {
        (u64::from(bw), u64::from(w))
    } else {
        (u64::from(bh), u64::from(h))
    };
    let (ow, oh, src_of): (u32, u32, Box<dyn Fn(u64) -> u64>) = if num >= den {
        let k = num / den;
        (w * k as u32, h * k as u32, Box::new(move |d| d / k))
    } else {
        let ow = ((u64::from(w) * num) / den).max(1) as u32;
        let oh = ((u64::from(h) * num) / den).max(1) as u32;
        (ow, oh, Box::new(move |d| d * den / num))
    };
    let mut out = Vec::with_capacity(ow as usize * oh as usize);
    let cols: Vec<usize> = (0..u64::from(ow))
        .map(|x| src_of(x).min(u64::from(w) - 1) as usize)
        .collect();
    for y in 0..u64::from(oh) {
        let sy = src_of(y).min(u64::from(h) - 1) as usize;
        let row = indices
            .get(sy * w as usize..(sy + 1) * w as usize)
            .unwrap_or_default();
        out.extend(cols.iter().map(|&x| row.get(x).copied().unwrap_or(0)));
    }
    (out, ow, oh)
}

/// An 8-bit indexed PNG with PLTE and tRNS.
pub(crate) fn png_indexed(
    indices: &[u8],
    w: u32,
    h: u32,
    palette: &Palette,
) -> Result<Vec<u8>, Error> {
    let colors = &palette.colors[..palette.colors.len().min(256)];
    let plte: Vec<u8> = colors.iter().flat_map(|c| [c[0], c[1], c[2]]).collect();
    let trns: Vec<u8> = colors.iter().map(|c| c[3]).collect();
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Indexed);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        encoder.set_palette(plte);
        if trns.iter().any(|&a| a != 255) {
            encoder.set_trns(trns);
        }
        let mut writer = encoder
            .write_header()
            .map_err(|e| Error::Internal(format!("PNG header: {e}")))?;
        writer
            .write_image_data(indices)
            .map_err(|e| Error::Internal(format!("PNG data: {e}")))?;
        writer
            .finish()
            .map_err(|e| Error::Internal(format!("PNG end: {e}")))?;
    }
    Ok(out)
}

/// An 8-bit RGBA PNG of `w`×`h` pixels, row-major (a contact sheet of thumbnails, an edited
/// sprite). `rgba` must hold exactly `4·w·h` bytes; each side is 1 to 65,535 pixels.
pub fn png_rgba(rgba: &[u8], w: u32, h: u32) -> Result<Vec<u8>, Error> {
    let expected = (w as usize)
        .checked_mul(h as usize)
        .and_then(|p| p.checked_mul(4));
    if w == 0 || h == 0 || w > 65_535 || h > 65_535 || expected != Some(rgba.len()) {
        return Err(Error::InvalidArgument(format!(
            "a {w}x{h} RGBA image needs sides of 1-65535 pixels and 4 bytes per pixel, got {} bytes",
            rgba.len()
        )));
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder
            .write_header()
            .map_err(|e| Error::Internal(format!("PNG header: {e}")))?;
        writer
            .write_image_data(rgba)
            .map_err(|e| Error::Internal(format!("PNG data: {e}")))?;
        writer
            .finish()
            .map_err(|e| Error::Internal(format!("PNG end: {e}")))?;
    }
    Ok(out)
}

/// Indices through a palette to RGBA.
pub(crate) fn rgba(indices: &[u8], palette: &Palette) -> Vec<u8> {
    let mut out = Vec::with_capacity(indices.len() * 4);
    for &i in indices {
        out.extend_from_slice(&palette.get(i));
    }
    out
}

/// A lossless WebP (VP8L) of RGBA pixels.
pub(crate) fn webp(rgba: &[u8], w: u32, h: u32) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    image_webp::WebPEncoder::new(&mut out)
        .encode(rgba, w, h, image_webp::ColorType::Rgba8)
        .map_err(|e| Error::Internal(format!("WebP: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_up_by_whole_factors_and_down_by_ratio() {
        let img = [1, 2, 3, 4];
        let (out, w, h) = scale(&img, 2, 2, 5, 9);
        assert_eq!((w, h), (4, 4));
        assert_eq!(&out[..8], &[1, 1, 2, 2, 1, 1, 2, 2]);
        let big: Vec<u8> = (0..64).collect();
        let (out, w, h) = scale(&big, 8, 8, 4, 100);
        assert_eq!((w, h), (4, 4));
        assert_eq!(&out[..4], &[0, 2, 4, 6]);
        assert_eq!(scale(&big, 8, 8, 0, 10).1, 0);
    }

    #[test]
    fn rgba_png_decodes_back_and_checks_its_size() {
        let rgba: Vec<u8> = (0..3 * 2 * 4).map(|i| (i * 11) as u8).collect();
        let png_bytes = png_rgba(&rgba, 3, 2).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(
            (info.width, info.height, info.color_type),
            (3, 2, png::ColorType::Rgba)
        );
        assert_eq!(&buf[..info.buffer_size()], &rgba[..]);
        assert!(png_rgba(&rgba, 3, 3).is_err());
        assert!(png_rgba(&[], 0, 0).is_err());
    }
}
