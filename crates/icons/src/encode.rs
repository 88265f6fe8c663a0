//! The icon pipeline after decoding: fit inside `maxSize` (premultiplied Lanczos3 through
//! `fast_image_resize`, never enlarging), zero the colour of fully transparent pixels, and encode
//! lossless WebP through `image-webp`, as `Rgb8` when every pixel is opaque
//! (docs/icons.md, "Pipeline").

use std::cell::RefCell;

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image_webp::{ColorType, WebPEncoder};

use crate::decode::Rgba;
use crate::error::Error;

/// The resampling filter used when an icon is shrunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Resampler {
    /// Lanczos3 (default).
    #[default]
    Lanczos3,
    /// Catmull-Rom.
    CatmullRom,
    /// Box.
    Box,
}

impl Resampler {
    /// `lanczos3`, `catmullrom` or `box`.
    pub fn as_str(self) -> &'static str {
        match self {
            Resampler::Lanczos3 => "lanczos3",
            Resampler::CatmullRom => "catmullrom",
            Resampler::Box => "box",
        }
    }

    /// The resampler named by [`Resampler::as_str`].
    pub fn parse(name: &str) -> Option<Resampler> {
        match name {
            "lanczos3" => Some(Resampler::Lanczos3),
            "catmullrom" => Some(Resampler::CatmullRom),
            "box" => Some(Resampler::Box),
            _ => None,
        }
    }

    fn filter(self) -> FilterType {
        match self {
            Resampler::Lanczos3 => FilterType::Lanczos3,
            Resampler::CatmullRom => FilterType::CatmullRom,
            Resampler::Box => FilterType::Box,
        }
    }
}

/// How icons are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct EncodeSettings {
    /// Fit inside `max_size x max_size` (keeping the aspect ratio, never enlarging); `None` keeps
    /// the size.
    pub max_size: Option<u32>,
    /// The resampling filter.
    pub resampler: Resampler,
    /// Keep the colour of fully transparent pixels (by default it is set to 0, as libwebp does
    /// with `exact = 0`: smaller files, same look).
    pub exact_transparent: bool,
}

/// An encoded icon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    /// The WebP file (lossless VP8L).
    pub webp: Vec<u8>,
    /// Width after fitting.
    pub width: u32,
    /// Height after fitting.
    pub height: u32,
    /// Width of the decoded source.
    pub src_width: u32,
    /// Height of the decoded source.
    pub src_height: u32,
    /// Every pixel had alpha 255 (encoded as `Rgb8`).
    pub opaque: bool,
    /// The icon was shrunk.
    pub resized: bool,
}

/// The size that fits `width x height` inside `max x max` keeping the aspect ratio, each side
/// rounded and at least 1; the size itself when it already fits.
pub fn fit(width: u32, height: u32, max: Option<u32>) -> (u32, u32) {
    let Some(max) = max.filter(|&m| m > 0) else {
        return (width, height);
    };
    if width <= max && height <= max {
        return (width, height);
    }
    let scale = f64::from(max) / f64::from(width.max(height));
    let side = |v: u32| ((f64::from(v) * scale).round() as u32).clamp(1, max);
    (side(width), side(height))
}

thread_local! {
    static RESIZER: RefCell<Resizer> = RefCell::new(Resizer::new());
}

/// Runs the pipeline on a decoded image.
pub fn encode_icon(image: Rgba, settings: &EncodeSettings, label: &str) -> Result<Encoded, Error> {
    let (src_width, src_height) = (image.width, image.height);
    let (width, height) = fit(src_width, src_height, settings.max_size);
    let resized = (width, height) != (src_width, src_height);
    let mut pixels = if resized {
        resize(image, width, height, settings.resampler, label)?
    } else {
        image.pixels
    };
    if !settings.exact_transparent {
        for p in pixels.chunks_exact_mut(4) {
            if p[3] == 0 {
                p[..3].fill(0);
            }
        }
    }
    let opaque = pixels.chunks_exact(4).all(|p| p[3] == 255);
    let webp = if opaque {
        let mut rgb = vec![0u8; pixels.len() / 4 * 3];
        for (d, s) in rgb.chunks_exact_mut(3).zip(pixels.chunks_exact(4)) {
            d.copy_from_slice(&s[..3]);
        }
        webp(&rgb, width, height, ColorType::Rgb8, label)?
    } else {
        webp(&pixels, width, height, ColorType::Rgba8, label)?
    };
    Ok(Encoded {
        webp,
        width,
        height,
        src_width,
        src_height,
        opaque,
        resized,
    })
}

/// Resizes with premultiplied alpha (`fast_image_resize`, `mul_div_alpha`).
pub(crate) fn resize(
    image: Rgba,
    width: u32,
    height: u32,
    resampler: Resampler,
    label: &str,
) -> Result<Vec<u8>, Error> {
    let src = Image::from_vec_u8(image.width, image.height, image.pixels, PixelType::U8x4)
        .map_err(|e| Error::Internal(format!("{label}: resize source: {e}")))?;
    let mut dst = Image::new(width, height, PixelType::U8x4);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(resampler.filter()))
        .use_alpha(true);
    RESIZER
        .with(|r| r.borrow_mut().resize(&src, &mut dst, &options))
        .map_err(|e| Error::Internal(format!("{label}: resize: {e}")))?;
    Ok(dst.into_vec())
}

/// Encodes lossless WebP; the buffer length is checked first (`image-webp` panics otherwise).
fn webp(
    data: &[u8],
    width: u32,
    height: u32,
    color: ColorType,
    label: &str,
) -> Result<Vec<u8>, Error> {
    let bpp: u64 = match color {
        ColorType::L8 => 1,
        ColorType::La8 => 2,
        ColorType::Rgb8 => 3,
        ColorType::Rgba8 => 4,
    };
    if u64::from(width) * u64::from(height) * bpp != data.len() as u64 {
        return Err(Error::Internal(format!(
            "{label}: {} bytes of pixels for {width}x{height}",
            data.len()
        )));
    }
    let mut out = Vec::with_capacity(data.len() / 4 + 64);
    WebPEncoder::new(&mut out)
        .encode(data, width, height, color)
        .map_err(|e| Error::limit(label, format!("WebP encoding of {width}x{height}: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_keeps_aspect_and_never_enlarges() {
        assert_eq!(fit(128, 128, Some(64)), (64, 64));
        assert_eq!(fit(78, 71, Some(64)), (64, 58));
        assert_eq!(fit(32, 40, Some(64)), (32, 40));
        assert_eq!(fit(1000, 1, Some(64)), (64, 1));
        assert_eq!(fit(200, 100, None), (200, 100));
        assert_eq!(fit(200, 100, Some(0)), (200, 100));
    }
}
