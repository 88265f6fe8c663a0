//! DDS decoder (docs/icons.md, "DDS").
//!
//! The header and the uncompressed mask formats are decoded here: `dds` matches legacy masks
//! against an exact table (A8L8 becomes R8G8, X1R5G5B5 and X4R4G4B4 are refused) and older
//! `ddsfile` versions report no format for a plain `DXT1/3/5` header without a DX10 extension.
//! BC1/2/3/7 blocks are decoded by `bcdec_rs`. Only mip 0 of face/slice 0 is decoded.

use modforge_core::Reader;

use super::{Rgba, check_size};
use crate::error::Error;

const MAGIC: &[u8; 4] = b"DDS ";
const DATA_OFFSET: u64 = 128;
const DX10_DATA_OFFSET: u64 = 148;

// Pixel-format flags.
const DDPF_ALPHAPIXELS: u32 = 0x1;
const DDPF_ALPHA: u32 = 0x2;
const DDPF_FOURCC: u32 = 0x4;
const DDPF_LUMINANCE: u32 = 0x2_0000;
// Header flags and caps.
const DDSD_DEPTH: u32 = 0x80_0000;
const DDSCAPS2_VOLUME: u32 = 0x20_0000;
const DX10_DIMENSION_3D: u32 = 4;

/// How the pixels of mip 0 are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DdsFormat {
    /// BC1 (DXT1).
    Bc1,
    /// BC2 (DXT3; DXT2 when `premultiplied`).
    Bc2 {
        /// Colours are premultiplied by alpha (DXT2).
        premultiplied: bool,
    },
    /// BC3 (DXT5; DXT4 when `premultiplied`).
    Bc3 {
        /// Colours are premultiplied by alpha (DXT4).
        premultiplied: bool,
    },
    /// BC7.
    Bc7,
    /// Uncompressed pixels of `bits` bits, channels selected by masks.
    Masks {
        /// Bits per pixel: 8, 16, 24 or 32.
        bits: u32,
        /// Red mask (the luminance mask when `luminance`).
        r: u32,
        /// Green mask.
        g: u32,
        /// Blue mask.
        b: u32,
        /// Alpha mask (0: opaque).
        a: u32,
        /// R = G = B = the value under the red mask.
        luminance: bool,
    },
}

impl DdsFormat {
    /// Bytes per 4x4 block of a block format.
    fn block_bytes(self) -> Option<u64> {
        match self {
            DdsFormat::Bc1 => Some(8),
            DdsFormat::Bc2 { .. } | DdsFormat::Bc3 { .. } | DdsFormat::Bc7 => Some(16),
            DdsFormat::Masks { .. } => None,
        }
    }

    /// Bytes of one `width` x `height` image in this format.
    pub fn image_bytes(self, width: u32, height: u32) -> u64 {
        match (self.block_bytes(), self) {
            (Some(block), _) => {
                u64::from(width.div_ceil(4).max(1)) * u64::from(height.div_ceil(4).max(1)) * block
            }
            (None, DdsFormat::Masks { bits, .. }) => {
                u64::from(width) * u64::from(height) * u64::from(bits / 8)
            }
            (None, _) => 0,
        }
    }
}

/// What the header of a DDS file says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DdsInfo {
    /// Width of mip 0.
    pub width: u32,
    /// Height of mip 0.
    pub height: u32,
    /// Mip levels (a stored 0 counts as 1).
    pub mip_count: u32,
    /// Pixel format.
    pub format: DdsFormat,
    /// Where the pixel data starts (128, or 148 with a DX10 header).
    pub data_offset: u64,
}

/// Reads and checks a DDS header.
pub fn dds_info(data: &[u8], label: &str) -> Result<DdsInfo, Error> {
    let r = Reader::new(data);
    let short = |e| Error::short(label, e);
    if data.get(..4) != Some(MAGIC.as_slice()) {
        if looks_like_bioware_dds(data) {
            return Err(Error::format(
                label,
                0,
                "the \"DDS \" magic; this is an NWN1 BioWare DDS (width, height, channel count and size without magic), which NWN2 does not use",
            ));
        }
        return Err(Error::format(label, 0, "the \"DDS \" magic"));
    }
    let flags = r.u32_le_at(8).map_err(short)?;
    let height = r.u32_le_at(12).map_err(short)?;
    let width = r.u32_le_at(16).map_err(short)?;
    let depth = r.u32_le_at(24).map_err(short)?;
    let mip_count = r.u32_le_at(28).map_err(short)?.max(1);
    let pf_flags = r.u32_le_at(80).map_err(short)?;
    let four_cc = r.slice_at(84, 4).map_err(short)?;
    let bits = r.u32_le_at(88).map_err(short)?;
    let masks = [
        r.u32_le_at(92).map_err(short)?,
        r.u32_le_at(96).map_err(short)?,
        r.u32_le_at(100).map_err(short)?,
        r.u32_le_at(104).map_err(short)?,
    ];
    let caps2 = r.u32_le_at(112).map_err(short)?;
    if caps2 & DDSCAPS2_VOLUME != 0 || (flags & DDSD_DEPTH != 0 && depth > 1) {
        return Err(Error::format(
            label,
            112,
            "a 2D texture or cube map, found a volume texture",
        ));
    }
    let mut data_offset = DATA_OFFSET;
    let format = if pf_flags & DDPF_FOURCC != 0 {
        match four_cc {
            b"DXT1" => DdsFormat::Bc1,
            b"DXT2" => DdsFormat::Bc2 {
                premultiplied: true,
            },
            b"DXT3" => DdsFormat::Bc2 {
                premultiplied: false,
            },
            b"DXT4" => DdsFormat::Bc3 {
                premultiplied: true,
            },
            b"DXT5" => DdsFormat::Bc3 {
                premultiplied: false,
            },
            b"DX10" => {
                data_offset = DX10_DATA_OFFSET;
                let dxgi = r.u32_le_at(128).map_err(short)?;
                let dimension = r.u32_le_at(132).map_err(short)?;
                if dimension == DX10_DIMENSION_3D {
                    return Err(Error::format(
                        label,
                        132,
                        "a 2D texture or cube map, found a volume texture (DX10 dimension 4)",
                    ));
                }
                dxgi_format(dxgi).ok_or_else(|| {
                    Error::format(
                        label,
                        128,
                        format!("a supported DXGI format (BC1/2/3/7, 8-bit RGBA/BGRA/BGRX, 565, 5551, 4444, R8, A8), found {dxgi}"),
                    )
                })?
            }
            other => {
                return Err(Error::format(
                    label,
                    84,
                    format!(
                        "FourCC DXT1-DXT5 or DX10, found {:?}",
                        String::from_utf8_lossy(other)
                    ),
                ));
            }
        }
    } else {
        if !matches!(bits, 8 | 16 | 24 | 32) {
            return Err(Error::format(
                label,
                88,
                format!("8, 16, 24 or 32 bits per pixel, found {bits}"),
            ));
        }
        let has_alpha = pf_flags & (DDPF_ALPHAPIXELS | DDPF_ALPHA) != 0;
        let only_alpha = pf_flags & DDPF_ALPHA != 0 && masks[..3] == [0, 0, 0];
        DdsFormat::Masks {
            bits,
            r: if only_alpha { 0 } else { masks[0] },
            g: masks[1],
            b: masks[2],
            a: if has_alpha { masks[3] } else { 0 },
            luminance: pf_flags & DDPF_LUMINANCE != 0,
        }
    };
    check_size(width, height, label, 12)?;
    Ok(DdsInfo {
        width,
        height,
        mip_count,
        format,
        data_offset,
    })
}

/// The formats of the DXGI table in docs/icons.md (sRGB variants: same bytes, no conversion).
fn dxgi_format(dxgi: u32) -> Option<DdsFormat> {
    let masks = |bits, r, g, b, a| DdsFormat::Masks {
        bits,
        r,
        g,
        b,
        a,
        luminance: false,
    };
    Some(match dxgi {
        28 | 29 => masks(32, 0xFF, 0xFF00, 0xFF_0000, 0xFF00_0000),
        87 | 91 => masks(32, 0xFF_0000, 0xFF00, 0xFF, 0xFF00_0000),
        88 | 93 => masks(32, 0xFF_0000, 0xFF00, 0xFF, 0),
        85 => masks(16, 0xF800, 0x07E0, 0x001F, 0),
        86 => masks(16, 0x7C00, 0x03E0, 0x001F, 0x8000),
        115 => masks(16, 0x0F00, 0x00F0, 0x000F, 0xF000),
        61 => masks(8, 0xFF, 0, 0, 0),
        65 => masks(8, 0, 0, 0, 0xFF),
        71 | 72 => DdsFormat::Bc1,
        74 | 75 => DdsFormat::Bc2 {
            premultiplied: false,
        },
        77 | 78 => DdsFormat::Bc3 {
            premultiplied: false,
        },
        98 | 99 => DdsFormat::Bc7,
        _ => return None,
    })
}

/// The NWN1 "BioWare DDS" header: u32 width, height, channels (3 or 4), data size, f32.
fn looks_like_bioware_dds(data: &[u8]) -> bool {
    let r = Reader::new(data);
    let (Ok(w), Ok(h), Ok(c), Ok(size)) = (
        r.u32_le_at(0),
        r.u32_le_at(4),
        r.u32_le_at(8),
        r.u32_le_at(12),
    ) else {
        return false;
    };
    (1..=MAX_BIOWARE_SIDE).contains(&w)
        && (1..=MAX_BIOWARE_SIDE).contains(&h)
        && matches!(c, 3 | 4)
        && u64::from(size) <= data.len() as u64
}

const MAX_BIOWARE_SIDE: u32 = 16384;

/// Decodes mip 0 of face 0 to top-down RGBA8.
pub(super) fn decode(data: &[u8], label: &str) -> Result<Rgba, Error> {
    let info = dds_info(data, label)?;
    let (width, height) = (info.width, info.height);
    let pixels = check_size(width, height, label, 12)?;
    let size = info.format.image_bytes(width, height);
    let end = info.data_offset + size;
    if end > data.len() as u64 {
        return Err(Error::format(
            label,
            info.data_offset,
            format!(
                "{size} bytes of mip 0 ({width}x{height}) at {}, the file has {} bytes",
                info.data_offset,
                data.len()
            ),
        ));
    }
    let body = data
        .get(info.data_offset as usize..end as usize)
        .unwrap_or_default();
    let mut out = vec![0u8; pixels * 4];
    match info.format {
        DdsFormat::Masks {
            bits,
            r,
            g,
            b,
            a,
            luminance,
        } => {
            let bpp = (bits / 8) as usize;
            let channels = [
                Channel::new(r),
                Channel::new(g),
                Channel::new(b),
                Channel::new(a),
            ];
            for (px, dst) in body.chunks_exact(bpp).zip(out.chunks_exact_mut(4)) {
                let v = px
                    .iter()
                    .rev()
                    .fold(0u32, |acc, &byte| (acc << 8) | u32::from(byte));
                let red = channels[0].get(v, 0);
                let (green, blue) = if luminance {
                    (red, red)
                } else {
                    (channels[1].get(v, 0), channels[2].get(v, 0))
                };
                dst.copy_from_slice(&[red, green, blue, channels[3].get(v, 255)]);
            }
        }
        format => decode_blocks(body, format, width, height, &mut out),
    }
    Ok(Rgba {
        width,
        height,
        pixels: out,
    })
}

/// One mask-selected channel: `t = trailing_zeros(mask)`, `m = mask >> t`,
/// `v8 = (((px >> t) & m) * 255 + m / 2) / m`.
#[derive(Clone, Copy)]
struct Channel {
    shift: u32,
    max: u32,
}

impl Channel {
    fn new(mask: u32) -> Channel {
        if mask == 0 {
            return Channel { shift: 0, max: 0 };
        }
        let shift = mask.trailing_zeros();
        Channel {
            shift,
            max: mask >> shift,
        }
    }

    fn get(self, px: u32, absent: u8) -> u8 {
        if self.max == 0 {
            return absent;
        }
        let v = u64::from((px >> self.shift) & self.max);
        let m = u64::from(self.max);
        ((v * 255 + m / 2) / m) as u8
    }
}

/// Decodes whole 4x4 blocks row-major from the top-left and crops to the image.
fn decode_blocks(body: &[u8], format: DdsFormat, width: u32, height: u32, out: &mut [u8]) {
    let block_bytes = format.block_bytes().unwrap_or(16) as usize;
    let blocks_x = width.div_ceil(4) as usize;
    let (w, h) = (width as usize, height as usize);
    let mut texels = [0u8; 64];
    for (i, block) in body.chunks_exact(block_bytes).enumerate() {
        let (bx, by) = (i % blocks_x, i / blocks_x);
        match format {
            DdsFormat::Bc1 => bcdec_rs::bc1(block, &mut texels, 16),
            DdsFormat::Bc2 { .. } => bcdec_rs::bc2(block, &mut texels, 16),
            DdsFormat::Bc3 { .. } => bcdec_rs::bc3(block, &mut texels, 16),
            DdsFormat::Bc7 => bcdec_rs::bc7(block, &mut texels, 16),
            DdsFormat::Masks { .. } => {}
        }
        if matches!(
            format,
            DdsFormat::Bc2 {
                premultiplied: true
            } | DdsFormat::Bc3 {
                premultiplied: true
            }
        ) {
            for t in texels.chunks_exact_mut(4) {
                unpremultiply(t);
            }
        }
        let x0 = bx * 4;
        let n = 4.min(w.saturating_sub(x0));
        for (ty, row) in texels.chunks_exact(16).enumerate() {
            let y = by * 4 + ty;
            if y >= h {
                break;
            }
            let at = (y * w + x0) * 4;
            if n == 4 {
                // The common case: a whole block row, a fixed-size copy.
                if let (Some(dst), Ok(src)) = (out.get_mut(at..at + 16), <&[u8; 16]>::try_from(row))
                {
                    let dst: &mut [u8; 16] = match dst.try_into() {
                        Ok(d) => d,
                        Err(_) => continue,
                    };
                    *dst = *src;
                }
            } else if let (Some(dst), Some(src)) = (out.get_mut(at..at + n * 4), row.get(..n * 4)) {
                dst.copy_from_slice(src);
            }
        }
    }
}

fn unpremultiply(t: &mut [u8]) {
    let a = u32::from(t[3]);
    if a == 0 || a == 255 {
        return;
    }
    for c in t.iter_mut().take(3) {
        *c = ((u32::from(*c) * 255 + a / 2) / a).min(255) as u8;
    }
}
