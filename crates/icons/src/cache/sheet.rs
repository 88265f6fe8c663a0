//! Contact sheets: a grid of icons on a checkerboard (so transparency shows), icons centred in
//! their cells and never enlarged, encoded as PNG (`png`) or WebP (`image-webp`)
//! (docs/icons.md, "Contact sheet").

use std::io::Cursor;

use super::IconCache;
use crate::decode::{MAX_PIXELS, MAX_SIDE, Rgba};
use crate::encode::{Resampler, fit, resize};
use crate::error::Error;

/// The background of a sheet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Background {
    /// 8-pixel light and white squares.
    #[default]
    Checker,
    /// One opaque colour (alpha is ignored).
    Color([u8; 4]),
}

/// The file format of a sheet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SheetFormat {
    /// PNG.
    #[default]
    Png,
    /// Lossless WebP.
    WebP,
}

/// Options of [`IconCache::contact_sheet`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SheetOptions {
    /// Icons in this order; `None`: every cached icon by name.
    pub names: Option<Vec<String>>,
    /// At most this many icons.
    pub limit: Option<usize>,
    /// Columns (default `ceil(sqrt(n))`).
    pub columns: Option<u32>,
    /// Cell size in pixels (default the cache's `maxSize`, else 64).
    pub cell: Option<u32>,
    /// Space around cells in pixels (default 2).
    pub padding: u32,
    /// Background.
    pub background: Background,
    /// File format.
    pub format: SheetFormat,
}

impl Default for SheetOptions {
    fn default() -> Self {
        SheetOptions {
            names: None,
            limit: None,
            columns: None,
            cell: None,
            padding: 2,
            background: Background::Checker,
            format: SheetFormat::Png,
        }
    }
}

/// Where one icon was drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    /// The icon's name.
    pub name: String,
    /// Left edge of the drawn icon.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Drawn width.
    pub w: u32,
    /// Drawn height.
    pub h: u32,
}

/// A rendered sheet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sheet {
    /// The encoded image.
    pub data: Vec<u8>,
    /// `image/png` or `image/webp`.
    pub mime: &'static str,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Icons drawn, in order (names without an icon are left out).
    pub cells: Vec<Cell>,
}

pub(super) fn render(cache: &IconCache, o: &SheetOptions) -> Result<Sheet, Error> {
    let mut names = o.names.clone().unwrap_or_else(|| cache.names());
    if let Some(limit) = o.limit {
        names.truncate(limit);
    }
    let icons: Vec<(String, Rgba)> = names
        .into_iter()
        .filter_map(|n| {
            let icon = cache.get_icon(&n)?;
            let img = decode_webp(&icon.data)?;
            Some((n, img))
        })
        .collect();
    let cell = o.cell.or(cache.max_size()).unwrap_or(64).max(1);
    let n = icons.len() as u32;
    let columns = o
        .columns
        .filter(|&c| c > 0)
        .unwrap_or_else(|| (f64::from(n).sqrt().ceil() as u32).max(1));
    let rows = n.div_ceil(columns).max(1);
    let pad = o.padding;
    let side =
        |count: u32| u64::from(count) * u64::from(cell) + u64::from(count + 1) * u64::from(pad);
    let (width, height) = (side(columns), side(rows));
    if width > u64::from(MAX_SIDE) || height > u64::from(MAX_SIDE) || width * height > MAX_PIXELS {
        return Err(Error::limit(
            "contact sheet",
            format!(
                "{width}x{height} pixels (at most {MAX_SIDE} per side and {MAX_PIXELS} pixels)"
            ),
        ));
    }
    let (width, height) = (width as u32, height as u32);
    let mut canvas = vec![0u8; width as usize * height as usize * 4];
    for (i, px) in canvas.chunks_exact_mut(4).enumerate() {
        let (x, y) = (i as u32 % width, i as u32 / width);
        let c = match o.background {
            Background::Checker => {
                if (x / 8 + y / 8) % 2 == 0 {
                    204
                } else {
                    255
                }
            }
            Background::Color(_) => 0,
        };
        let rgb = match o.background {
            Background::Checker => [c, c, c],
            Background::Color([r, g, b, _]) => [r, g, b],
        };
        px.copy_from_slice(&[rgb[0], rgb[1], rgb[2], 255]);
    }
    let mut cells = Vec::with_capacity(icons.len());
    for (i, (name, img)) in icons.into_iter().enumerate() {
        let (col, row) = (i as u32 % columns, i as u32 / columns);
        let (w, h) = fit(img.width, img.height, Some(cell));
        let pixels = if (w, h) == (img.width, img.height) {
            img.pixels
        } else {
            resize(img, w, h, Resampler::Lanczos3, &name)?
        };
        let x0 = pad + col * (cell + pad) + (cell - w) / 2;
        let y0 = pad + row * (cell + pad) + (cell - h) / 2;
        for y in 0..h {
            for x in 0..w {
                let s = ((y * w + x) * 4) as usize;
                let d = (((y0 + y) * width + x0 + x) * 4) as usize;
                if let (Some(src), Some(dst)) = (pixels.get(s..s + 4), canvas.get_mut(d..d + 4)) {
                    let a = u32::from(src[3]);
                    for c in 0..3 {
                        dst[c] = ((u32::from(src[c]) * a + u32::from(dst[c]) * (255 - a) + 127)
                            / 255) as u8;
                    }
                }
            }
        }
        cells.push(Cell {
            name,
            x: x0,
            y: y0,
            w,
            h,
        });
    }
    let (data, mime) = match o.format {
        SheetFormat::Png => (encode_png(&canvas, width, height)?, "image/png"),
        SheetFormat::WebP => {
            let rgb: Vec<u8> = canvas
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect();
            let mut out = Vec::new();
            image_webp::WebPEncoder::new(&mut out)
                .encode(&rgb, width, height, image_webp::ColorType::Rgb8)
                .map_err(|e| Error::limit("contact sheet", format!("WebP encoding: {e}")))?;
            (out, "image/webp")
        }
    };
    Ok(Sheet {
        data,
        mime,
        width,
        height,
        cells,
    })
}

fn encode_png(rgba: &[u8], width: u32, height: u32) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .map_err(|e| Error::Internal(format!("contact sheet PNG header: {e}")))?;
    writer
        .write_image_data(rgba)
        .map_err(|e| Error::Internal(format!("contact sheet PNG data: {e}")))?;
    writer
        .finish()
        .map_err(|e| Error::Internal(format!("contact sheet PNG end: {e}")))?;
    Ok(out)
}

/// Decodes a cached WebP blob back to RGBA8 (the blob was checked against its hash).
pub(crate) fn decode_webp(data: &[u8]) -> Option<Rgba> {
    let mut decoder = image_webp::WebPDecoder::new(Cursor::new(data)).ok()?;
    let (width, height) = decoder.dimensions();
    let len = decoder.output_buffer_size()?;
    let mut buf = vec![0u8; len];
    decoder.read_image(&mut buf).ok()?;
    let pixels = if decoder.has_alpha() {
        buf
    } else {
        buf.chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect()
    };
    Some(Rgba {
        width,
        height,
        pixels,
    })
}
