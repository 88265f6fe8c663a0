//! PNG decoding through the `png` crate: palette, transparency and grey expanded, 16-bit samples
//! stripped to 8 (`normalize_to_color8`); for an APNG the default image (docs/icons.md, "PNG").

use std::io::Cursor;

use super::{MAX_PIXELS, Rgba, check_size};
use crate::error::Error;

/// Deflate expands at most 1032:1; with the PNG framing a file of `n` bytes cannot describe
/// more than about `n * DEFLATE_RATIO` bytes of filtered image data.
const DEFLATE_RATIO: u64 = 1040;
/// The RGBA8 output may be at most this many times the file (deflate's ratio times 4): a PNG that
/// claims more pixels than that is refused before anything is allocated. Icons are far below it
/// (a blank 256x256 RGBA icon is about 800 times its file).
pub(crate) const MAX_OUTPUT_RATIO: u64 = 4 * DEFLATE_RATIO;

pub(super) fn decode(data: &[u8], label: &str) -> Result<Rgba, Error> {
    // The decoder's own buffers are capped in proportion to the input as well.
    let budget = (data.len() as u64)
        .saturating_mul(2 * MAX_OUTPUT_RATIO)
        .clamp(1 << 20, MAX_PIXELS * 8);
    let mut decoder = png::Decoder::new_with_limits(
        Cursor::new(data),
        png::Limits {
            bytes: usize::try_from(budget).unwrap_or(usize::MAX),
        },
    );
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    let mut reader = decoder.read_info().map_err(|e| png_error(label, e))?;
    let (width, height) = {
        let info = reader.info();
        (info.width, info.height)
    };
    let pixels = check_size(width, height, label, 16)?;
    let need = reader
        .output_buffer_size()
        .ok_or_else(|| Error::limit(label, "output buffer larger than memory"))?;
    let raw_rows = {
        let info = reader.info();
        let bits = u64::from(info.bits_per_pixel() as u32);
        (u64::from(width) * bits).div_ceil(8).saturating_add(1) * u64::from(height)
    };
    let rgba = pixels as u64 * 4;
    if raw_rows > (data.len() as u64).saturating_mul(DEFLATE_RATIO)
        || rgba > (data.len() as u64).saturating_mul(MAX_OUTPUT_RATIO)
    {
        return Err(Error::format(
            label,
            0,
            format!(
                "image data for {width}x{height} pixels ({raw_rows} bytes unpacked), the file has only {} bytes",
                data.len()
            ),
        ));
    }
    let mut buf = vec![0u8; need];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| png_error(label, e))?;
    let (color, _) = reader.output_color_type();
    let samples = buf.get(..frame.buffer_size()).unwrap_or_default();
    let mut out = Vec::with_capacity(pixels * 4);
    match color {
        png::ColorType::Rgba => out.extend_from_slice(samples),
        png::ColorType::Rgb => {
            for p in samples.chunks_exact(3) {
                out.extend_from_slice(&[p[0], p[1], p[2], 255]);
            }
        }
        png::ColorType::GrayscaleAlpha => {
            for p in samples.chunks_exact(2) {
                out.extend_from_slice(&[p[0], p[0], p[0], p[1]]);
            }
        }
        png::ColorType::Grayscale => {
            for &g in samples {
                out.extend_from_slice(&[g, g, g, 255]);
            }
        }
        png::ColorType::Indexed => {
            return Err(Error::format(
                label,
                25,
                "a palette expanded by the decoder (internal transformation failed)",
            ));
        }
    }
    if out.len() != pixels * 4 {
        return Err(Error::format(
            label,
            0,
            format!("{} bytes of pixels, decoded {}", pixels * 4, out.len()),
        ));
    }
    Ok(Rgba {
        width,
        height,
        pixels: out,
    })
}

fn png_error(label: &str, e: png::DecodingError) -> Error {
    match e {
        png::DecodingError::LimitsExceeded => Error::limit(label, "PNG decoder memory limit"),
        png::DecodingError::IoError(io) => Error::format(label, 0, format!("a complete PNG: {io}")),
        other => Error::format(label, 0, format!("a valid PNG: {other}")),
    }
}
