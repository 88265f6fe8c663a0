//! TGA decoder (docs/icons.md, "TGA").
//!
//! Hand-written: the `image` crate rejects 15/16-bit pixels up to 0.25.9 and, from 0.25.10,
//! decodes them without their attribute (alpha) bit; neither version applies the rule that an
//! attribute bit which is 0 in every pixel means "opaque", which real NWN2 HAK icons need
//! (16-bit RLE files declaring one alpha bit, all 0, would otherwise be fully transparent).

use modforge_core::Reader;

use super::{Rgba, check_size};
use crate::error::Error;

const HEADER_LEN: usize = 18;

/// How stored pixel values become colours.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Type 1/9: 8-bit indices into the colour map.
    Mapped,
    /// Type 2/10: 15/16/24/32-bit BGR(A).
    TrueColour,
    /// Type 3/11: 8-bit grey.
    Grey,
}

/// Decodes a TGA file to top-down RGBA8.
pub(super) fn decode(data: &[u8], label: &str) -> Result<Rgba, Error> {
    let r = Reader::new(data);
    let short = |e| Error::short(label, e);
    let id_len = usize::from(r.u8_at(0).map_err(short)?);
    let map_type = r.u8_at(1).map_err(short)?;
    let image_type = r.u8_at(2).map_err(short)?;
    let width = u32::from(r.u16_le_at(12).map_err(short)?);
    let height = u32::from(r.u16_le_at(14).map_err(short)?);
    let depth = r.u8_at(16).map_err(short)?;
    let descriptor = r.u8_at(17).map_err(short)?;
    let (kind, rle) = match image_type {
        1 => (Kind::Mapped, false),
        2 => (Kind::TrueColour, false),
        3 => (Kind::Grey, false),
        9 => (Kind::Mapped, true),
        10 => (Kind::TrueColour, true),
        11 => (Kind::Grey, true),
        0 => {
            return Err(Error::format(
                label,
                2,
                "an image (image type 0 holds none)",
            ));
        }
        other => {
            return Err(Error::format(
                label,
                2,
                format!("image type 1, 2, 3, 9, 10 or 11, found {other}"),
            ));
        }
    };
    if map_type > 1 {
        return Err(Error::format(
            label,
            1,
            format!("colour-map type 0 or 1, found {map_type}"),
        ));
    }
    if descriptor & 0xC0 != 0 {
        return Err(Error::format(
            label,
            17,
            format!(
                "no interleaving (descriptor bits 6-7 zero), found descriptor {descriptor:#04x}"
            ),
        ));
    }
    let depth_ok = match kind {
        Kind::Mapped | Kind::Grey => depth == 8,
        Kind::TrueColour => matches!(depth, 15 | 16 | 24 | 32),
    };
    if !depth_ok {
        return Err(Error::format(
            label,
            16,
            format!(
                "a pixel depth of {} for image type {image_type}, found {depth}",
                if kind == Kind::TrueColour {
                    "15, 16, 24 or 32"
                } else {
                    "8"
                }
            ),
        ));
    }
    let pixels = check_size(width, height, label, 12)?;
    let alpha_bits = descriptor & 0x0F;

    // Colour map: only read when the map type says one is present (bytes 3-7 are garbage otherwise).
    let mut at = HEADER_LEN + id_len;
    let mut palette: Vec<[u8; 4]> = Vec::new();
    let mut first_index = 0usize;
    if map_type == 1 {
        first_index = usize::from(r.u16_le_at(3).map_err(short)?);
        let length = usize::from(r.u16_le_at(5).map_err(short)?);
        let bits = r.u8_at(7).map_err(short)?;
        if !matches!(bits, 15 | 16 | 24 | 32) {
            return Err(Error::format(
                label,
                7,
                format!("colour-map entries of 15, 16, 24 or 32 bits, found {bits}"),
            ));
        }
        let entry = usize::from(bits).div_ceil(8);
        let bytes = r.slice_at(at, length * entry).map_err(short)?;
        if kind == Kind::Mapped {
            let values: Vec<u32> = bytes.chunks_exact(entry).map(value_of).collect();
            let rule = AlphaRule::of(&values, bits, alpha_bits);
            palette = values.iter().map(|&v| rule.colour(v, bits)).collect();
        }
        at += length * entry;
    } else if kind == Kind::Mapped {
        return Err(Error::format(
            label,
            1,
            "a colour map (colour-map type 1) for a colour-mapped image",
        ));
    }

    let bpp = usize::from(depth).div_ceil(8);
    let body = data.get(at..).unwrap_or_default();
    let values = if rle {
        unpack_rle(body, bpp, pixels, label, at as u64)?
    } else {
        let need = pixels * bpp;
        let bytes = body.get(..need).ok_or_else(|| {
            Error::format(
                label,
                at as u64,
                format!(
                    "{need} bytes of pixel data for {width}x{height} at {depth} bits, found {}",
                    body.len()
                ),
            )
        })?;
        let mut values = Vec::with_capacity(pixels);
        push_values(&mut values, bytes, bpp);
        values
    };

    // Mapped indices are checked once, so the conversion below cannot fail.
    if kind == Kind::Mapped {
        if let Some((i, &v)) = values.iter().enumerate().find(|(_, v)| {
            (**v as usize)
                .checked_sub(first_index)
                .is_none_or(|e| e >= palette.len())
        }) {
            return Err(Error::format(
                label,
                at as u64,
                format!(
                    "colour index {v} of pixel {i} inside the map ({} entries from {first_index})",
                    palette.len()
                ),
            ));
        }
    }
    let rule = AlphaRule::of(&values, depth, alpha_bits);
    let colour = |v: u32| -> [u8; 4] {
        match kind {
            Kind::Grey => {
                let g = v as u8;
                [g, g, g, 255]
            }
            Kind::TrueColour => rule.colour(v, depth),
            Kind::Mapped => palette
                .get((v as usize).wrapping_sub(first_index))
                .copied()
                .unwrap_or([0, 0, 0, 255]),
        }
    };

    let top_first = descriptor & 0x20 != 0;
    let right_to_left = descriptor & 0x10 != 0;
    let (w, h) = (width as usize, height as usize);
    let mut rgba = vec![0u8; pixels * 4];
    for (row, src) in values.chunks_exact(w).enumerate() {
        let y = if top_first { row } else { h - 1 - row };
        let dst_row = rgba.get_mut(y * w * 4..(y + 1) * w * 4).unwrap_or_default();
        if right_to_left {
            for (d, &v) in dst_row.chunks_exact_mut(4).rev().zip(src) {
                d.copy_from_slice(&colour(v));
            }
        } else {
            for (d, &v) in dst_row.chunks_exact_mut(4).zip(src) {
                d.copy_from_slice(&colour(v));
            }
        }
    }
    Ok(Rgba {
        width,
        height,
        pixels: rgba,
    })
}

/// A little-endian pixel value of 1 to 4 bytes.
fn value_of(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .rev()
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
}

/// Appends the little-endian values of `bytes` (`bpp` bytes each), with a loop per width so each
/// is compiled without a per-pixel length dispatch.
fn push_values(out: &mut Vec<u32>, bytes: &[u8], bpp: usize) {
    match bpp {
        1 => out.extend(bytes.iter().map(|&b| u32::from(b))),
        2 => out.extend(
            bytes
                .chunks_exact(2)
                .map(|c| u32::from(u16::from_le_bytes([c[0], c[1]]))),
        ),
        3 => out.extend(
            bytes
                .chunks_exact(3)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], 0])),
        ),
        _ => out.extend(
            bytes
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        ),
    }
}

/// Expands RLE packets over the whole `pixels` stream (packets cross scan lines); a packet that
/// runs past the last pixel is an error.
fn unpack_rle(
    body: &[u8],
    bpp: usize,
    pixels: usize,
    label: &str,
    base: u64,
) -> Result<Vec<u32>, Error> {
    // Each packet holds at most 128 pixels in at least 1 + bpp bytes: a shorter body cannot hold
    // the declared image, so the output is never allocated beyond a fixed multiple of the input.
    let most = body.len() / (1 + bpp) * 128 + 128;
    if pixels > most {
        return Err(Error::format(
            label,
            base,
            format!(
                "RLE data for {pixels} pixels, found only {} bytes",
                body.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(pixels);
    let mut at = 0usize;
    while out.len() < pixels {
        let head = *body.get(at).ok_or_else(|| {
            Error::format(
                label,
                base + at as u64,
                format!("an RLE packet ({} of {pixels} pixels decoded)", out.len()),
            )
        })?;
        let count = usize::from(head & 0x7F) + 1;
        if out.len() + count > pixels {
            return Err(Error::format(
                label,
                base + at as u64,
                format!(
                    "a packet of at most {} pixels, found {count}",
                    pixels - out.len()
                ),
            ));
        }
        at += 1;
        let take = if head & 0x80 != 0 { bpp } else { bpp * count };
        let bytes = body.get(at..at + take).ok_or_else(|| {
            Error::format(
                label,
                base + at as u64,
                format!(
                    "{take} bytes of packet data, found {}",
                    body.len().saturating_sub(at)
                ),
            )
        })?;
        if head & 0x80 != 0 {
            let v = value_of(bytes);
            out.extend(std::iter::repeat_n(v, count));
        } else {
            push_values(&mut out, bytes, bpp);
        }
        at += take;
    }
    Ok(out)
}

/// The alpha rules of docs/icons.md ("TGA") for a whole image: 16-bit values honour bit 15 when
/// the descriptor declares alpha bits, unless it is 0 in every value (then opaque); 15-bit values
/// and 16-bit values without declared bits are opaque; 32-bit values carry alpha in their top
/// byte, and when no alpha bits are declared and it is 0 everywhere the image is opaque.
#[derive(Clone, Copy)]
struct AlphaRule {
    honour16: bool,
    opaque32: bool,
}

impl AlphaRule {
    fn of(values: &[u32], depth: u8, alpha_bits: u8) -> AlphaRule {
        AlphaRule {
            honour16: depth == 16 && alpha_bits > 0 && values.iter().any(|&v| v & 0x8000 != 0),
            opaque32: depth == 32 && alpha_bits == 0 && values.iter().all(|&v| v >> 24 == 0),
        }
    }

    /// The colour of a 15/16/24/32-bit value (colour-map entries use the same layouts).
    fn colour(self, v: u32, depth: u8) -> [u8; 4] {
        match depth {
            15 | 16 => {
                let a = if !self.honour16 || v & 0x8000 != 0 {
                    255
                } else {
                    0
                };
                [
                    widen5((v >> 10) & 0x1F),
                    widen5((v >> 5) & 0x1F),
                    widen5(v & 0x1F),
                    a,
                ]
            }
            24 => [(v >> 16) as u8, (v >> 8) as u8, v as u8, 255],
            _ => {
                let a = if self.opaque32 { 255 } else { (v >> 24) as u8 };
                [(v >> 16) as u8, (v >> 8) as u8, v as u8, a]
            }
        }
    }
}

/// Widens a 5-bit channel to 8 bits: `(v << 3) | (v >> 2)`.
fn widen5(v: u32) -> u8 {
    ((v << 3) | (v >> 2)) as u8
}
