//! A TGA writer for generated test data: types 1, 2, 3, 9, 10 and 11 at 8/16/24/32 bits,
//! bottom-up (the usual NWN case) or top-down, RLE packets crossing scan lines, optional
//! TGA 2.0 footer.

use super::image::{Picture, palettize};

/// Pixel layout of a written TGA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TgaPixels {
    /// 32-bit BGRA, 8 declared alpha bits.
    Bgra32,
    /// 24-bit BGR.
    Bgr24,
    /// 16-bit A1R5G5B5 with one declared alpha bit. With `attribute_all_zero` every bit 15 is 0
    /// (as in real NWN2 HAK icons: the image must decode opaque); otherwise bit 15 carries the
    /// picture's alpha (>= 128).
    Argb16 {
        /// Write bit 15 as 0 everywhere.
        attribute_all_zero: bool,
    },
    /// 8-bit grey (type 3/11).
    Grey8,
    /// 8-bit indices into a 24-bit colour map (type 1/9).
    Mapped8,
}

/// How to write a TGA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TgaOptions {
    /// Pixel layout.
    pub pixels: TgaPixels,
    /// Run-length encoded (types 9/10/11).
    pub rle: bool,
    /// Top row first (descriptor bit 5); `false` writes bottom-up.
    pub top_down: bool,
    /// Append a TGA 2.0 footer (with 8 bytes of padding before it).
    pub footer: bool,
}

/// The picture as it will decode from the TGA (after the format's precision loss).
pub fn expected(p: &Picture, pixels: TgaPixels) -> Picture {
    let rgba = match pixels {
        TgaPixels::Bgra32 => p.rgba.clone(),
        TgaPixels::Bgr24 => p
            .rgba
            .chunks_exact(4)
            .flat_map(|c| [c[0], c[1], c[2], 255])
            .collect(),
        TgaPixels::Argb16 { attribute_all_zero } => {
            // A declared alpha bit that is 0 in every pixel makes the image opaque
            // (docs/icons.md, "TGA"), whether the writer cleared the bits or the picture had no
            // pixel of alpha >= 128.
            let opaque = attribute_all_zero || p.rgba.chunks_exact(4).all(|c| c[3] < 128);
            p.rgba
                .chunks_exact(4)
                .flat_map(|c| {
                    let w = |v: u8| {
                        let v5 = v >> 3;
                        (v5 << 3) | (v5 >> 2)
                    };
                    let a = if opaque || c[3] >= 128 { 255 } else { 0 };
                    [w(c[0]), w(c[1]), w(c[2]), a]
                })
                .collect()
        }
        TgaPixels::Grey8 => p
            .rgba
            .chunks_exact(4)
            .flat_map(|c| [c[0], c[0], c[0], 255])
            .collect(),
        TgaPixels::Mapped8 => {
            let (palette, idx) = palettize(p);
            idx.iter()
                .flat_map(|&i| super::image::palette_colour(&palette, i))
                .collect()
        }
    };
    Picture {
        width: p.width,
        height: p.height,
        rgba,
    }
}

/// Encodes `p` as a TGA file.
pub fn write(p: &Picture, o: TgaOptions) -> Vec<u8> {
    let (w, h) = (p.width as usize, p.height as usize);
    let (image_type, depth, alpha_bits) = match o.pixels {
        TgaPixels::Bgra32 => (2u8, 32u8, 8u8),
        TgaPixels::Bgr24 => (2, 24, 0),
        TgaPixels::Argb16 { .. } => (2, 16, 1),
        TgaPixels::Grey8 => (3, 8, 0),
        TgaPixels::Mapped8 => (1, 8, 0),
    };
    let mut out = Vec::new();
    let mut palette = Vec::new();
    let mut indices = Vec::new();
    if o.pixels == TgaPixels::Mapped8 {
        (palette, indices) = palettize(p);
    }
    out.push(0); // ID length
    out.push(u8::from(o.pixels == TgaPixels::Mapped8));
    out.push(image_type + if o.rle { 8 } else { 0 });
    if o.pixels == TgaPixels::Mapped8 {
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&(palette.len() as u16).to_le_bytes());
        out.push(24);
    } else {
        out.extend_from_slice(&[0; 5]);
    }
    out.extend_from_slice(&[0; 4]); // origin
    out.extend_from_slice(&(w as u16).to_le_bytes());
    out.extend_from_slice(&(h as u16).to_le_bytes());
    out.push(depth);
    out.push(alpha_bits | if o.top_down { 0x20 } else { 0 });
    for c in &palette {
        out.extend_from_slice(&[c[2], c[1], c[0]]);
    }
    // Pixel values in file order.
    let mut values: Vec<Vec<u8>> = Vec::with_capacity(w * h);
    for row in 0..h {
        let y = if o.top_down { row } else { h - 1 - row };
        for x in 0..w {
            let i = y * w + x;
            let c = &p.rgba[i * 4..i * 4 + 4];
            values.push(match o.pixels {
                TgaPixels::Bgra32 => vec![c[2], c[1], c[0], c[3]],
                TgaPixels::Bgr24 => vec![c[2], c[1], c[0]],
                TgaPixels::Argb16 { attribute_all_zero } => {
                    let a = u16::from(!attribute_all_zero && c[3] >= 128);
                    let v = (a << 15)
                        | (u16::from(c[0] >> 3) << 10)
                        | (u16::from(c[1] >> 3) << 5)
                        | u16::from(c[2] >> 3);
                    v.to_le_bytes().to_vec()
                }
                TgaPixels::Grey8 => vec![c[0]],
                TgaPixels::Mapped8 => vec![indices[i]],
            });
        }
    }
    if o.rle {
        rle(&values, &mut out);
    } else {
        for v in &values {
            out.extend_from_slice(v);
        }
    }
    if o.footer {
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(b"TRUEVISION-XFILE.\0");
    }
    out
}

/// RLE over the whole pixel stream: runs of 2+ equal values become repeat packets, the rest raw
/// packets, at most 128 pixels each, crossing scan lines freely.
fn rle(values: &[Vec<u8>], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < values.len() {
        let mut run = 1;
        while i + run < values.len() && run < 128 && values[i + run] == values[i] {
            run += 1;
        }
        if run >= 2 {
            out.push(0x80 | (run as u8 - 1));
            out.extend_from_slice(&values[i]);
            i += run;
            continue;
        }
        let start = i;
        while i < values.len() && i - start < 128 {
            if i + 1 < values.len() && values[i + 1] == values[i] {
                break;
            }
            i += 1;
        }
        if i == start {
            i += 1;
        }
        out.push((i - start - 1) as u8);
        for v in &values[start..i] {
            out.extend_from_slice(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nwn2::image::{Alpha, icon};

    #[test]
    fn rle_crosses_scan_lines_and_is_shorter_on_flat_images() {
        let flat = Picture {
            width: 3,
            height: 2,
            rgba: [255, 0, 0, 255].repeat(6),
        };
        let bytes = write(
            &flat,
            TgaOptions {
                pixels: TgaPixels::Bgr24,
                rle: true,
                top_down: false,
                footer: false,
            },
        );
        // One repeat packet of 6 pixels covers both rows.
        assert_eq!(&bytes[18..], &[0x85, 0, 0, 255]);
        let p = icon(3, 40, 40, Alpha::Hard);
        let raw = write(
            &p,
            TgaOptions {
                pixels: TgaPixels::Bgra32,
                rle: false,
                top_down: false,
                footer: true,
            },
        );
        assert_eq!(raw.len(), 18 + 40 * 40 * 4 + 34);
        assert_eq!(&raw[raw.len() - 18..], b"TRUEVISION-XFILE.\0");
    }
}
