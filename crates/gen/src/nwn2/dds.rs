//! A DDS writer for generated test data with its own simple block encoders: two-endpoint BC1
//! and BC3 (bounding-box endpoints, nearest index) and BC7 mode 6. Decode cost does not depend on
//! encoder quality, and the tests decode with independent decoders, so simple encoders suffice.

use super::image::Picture;

/// The pixel format of a written DDS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DdsPixels {
    /// Legacy FourCC `DXT1`.
    Dxt1,
    /// Legacy FourCC `DXT5`.
    Dxt5,
    /// DX10 header, DXGI 98 (BC7).
    Bc7,
    /// Legacy uncompressed 32-bit BGRA masks.
    Bgra8,
}

/// Encodes `p` as a DDS file with mip 0 and, when `mips`, the full chain down to 1x1 (each mip a
/// box-filtered half of the previous one).
pub fn write(p: &Picture, pixels: DdsPixels, mips: bool) -> Vec<u8> {
    let mut levels = vec![p.clone()];
    if mips {
        while levels.last().is_some_and(|l| l.width > 1 || l.height > 1) {
            let last = levels.last().cloned().unwrap_or_else(|| p.clone());
            levels.push(half(&last));
        }
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"DDS ");
    let mut h = [0u32; 31];
    h[0] = 124;
    let linear = matches!(pixels, DdsPixels::Dxt1 | DdsPixels::Dxt5 | DdsPixels::Bc7);
    h[1] = 0x1
        | 0x2
        | 0x4
        | 0x1000
        | if mips { 0x2_0000 } else { 0 }
        | if linear { 0x8_0000 } else { 0x8 };
    h[2] = p.height;
    h[3] = p.width;
    h[4] = match pixels {
        DdsPixels::Dxt1 => p.width.div_ceil(4).max(1) * p.height.div_ceil(4).max(1) * 8,
        DdsPixels::Dxt5 | DdsPixels::Bc7 => {
            p.width.div_ceil(4).max(1) * p.height.div_ceil(4).max(1) * 16
        }
        DdsPixels::Bgra8 => p.width * 4,
    };
    h[6] = levels.len() as u32;
    // Pixel format at header word 18 (file offset 76).
    h[18] = 32;
    match pixels {
        DdsPixels::Dxt1 | DdsPixels::Dxt5 | DdsPixels::Bc7 => {
            h[19] = 0x4;
            h[20] = u32::from_le_bytes(match pixels {
                DdsPixels::Dxt1 => *b"DXT1",
                DdsPixels::Dxt5 => *b"DXT5",
                _ => *b"DX10",
            });
        }
        DdsPixels::Bgra8 => {
            h[19] = 0x41;
            h[21] = 32;
            h[22] = 0x00FF_0000;
            h[23] = 0x0000_FF00;
            h[24] = 0x0000_00FF;
            h[25] = 0xFF00_0000;
        }
    }
    h[26] = 0x1000 | if mips { 0x40_0008 } else { 0 };
    for v in h {
        out.extend_from_slice(&v.to_le_bytes());
    }
    if pixels == DdsPixels::Bc7 {
        for v in [98u32, 3, 0, 1, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    for level in &levels {
        match pixels {
            DdsPixels::Bgra8 => {
                for c in level.rgba.chunks_exact(4) {
                    out.extend_from_slice(&[c[2], c[1], c[0], c[3]]);
                }
            }
            _ => {
                for block in blocks(level) {
                    match pixels {
                        DdsPixels::Dxt1 => out.extend_from_slice(&bc1(&block)),
                        DdsPixels::Dxt5 => {
                            out.extend_from_slice(&bc3_alpha(&block));
                            out.extend_from_slice(&bc1(&block));
                        }
                        _ => out.extend_from_slice(&bc7_mode6(&block)),
                    }
                }
            }
        }
    }
    out
}

/// 4x4 blocks row-major from the top-left; texels outside the picture repeat the edge.
fn blocks(p: &Picture) -> Vec<[[u8; 4]; 16]> {
    let (bw, bh) = (p.width.div_ceil(4), p.height.div_ceil(4));
    let mut out = Vec::with_capacity((bw * bh) as usize);
    for by in 0..bh {
        for bx in 0..bw {
            let mut block = [[0u8; 4]; 16];
            for (i, t) in block.iter_mut().enumerate() {
                let x = (bx * 4 + i as u32 % 4).min(p.width - 1);
                let y = (by * 4 + i as u32 / 4).min(p.height - 1);
                *t = p.pixel(x, y);
            }
            out.push(block);
        }
    }
    out
}

fn half(p: &Picture) -> Picture {
    let (w, h) = ((p.width / 2).max(1), (p.height / 2).max(1));
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let mut sum = [0u32; 4];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let px = p.pixel(
                    (x * 2 + dx).min(p.width - 1),
                    (y * 2 + dy).min(p.height - 1),
                );
                for c in 0..4 {
                    sum[c] += u32::from(px[c]);
                }
            }
            rgba.extend(sum.iter().map(|s| (s / 4) as u8));
        }
    }
    Picture {
        width: w,
        height: h,
        rgba,
    }
}

fn to565(c: [u8; 4]) -> u16 {
    (u16::from(c[0] >> 3) << 11) | (u16::from(c[1] >> 2) << 5) | u16::from(c[2] >> 3)
}

fn from565(v: u16) -> [i32; 3] {
    let (r, g, b) = (
        i32::from(v >> 11),
        i32::from((v >> 5) & 0x3F),
        i32::from(v & 0x1F),
    );
    [
        (r << 3) | (r >> 2),
        (g << 2) | (g >> 4),
        (b << 3) | (b >> 2),
    ]
}

/// BC1 in 4-colour mode: endpoints at the luminance extremes, nearest of the four colours.
fn bc1(block: &[[u8; 4]; 16]) -> [u8; 8] {
    let lum = |c: &[u8; 4]| u32::from(c[0]) * 2 + u32::from(c[1]) * 4 + u32::from(c[2]);
    let hi = block
        .iter()
        .max_by_key(|c| lum(c))
        .copied()
        .unwrap_or_default();
    let lo = block
        .iter()
        .min_by_key(|c| lum(c))
        .copied()
        .unwrap_or_default();
    let (mut c0, mut c1) = (to565(hi), to565(lo));
    if c0 < c1 {
        std::mem::swap(&mut c0, &mut c1);
    }
    let mut out = [0u8; 8];
    out[0..2].copy_from_slice(&c0.to_le_bytes());
    out[2..4].copy_from_slice(&c1.to_le_bytes());
    if c0 == c1 {
        return out;
    }
    let (a, b) = (from565(c0), from565(c1));
    let palette = [
        a,
        b,
        [
            (2 * a[0] + b[0]) / 3,
            (2 * a[1] + b[1]) / 3,
            (2 * a[2] + b[2]) / 3,
        ],
        [
            (a[0] + 2 * b[0]) / 3,
            (a[1] + 2 * b[1]) / 3,
            (a[2] + 2 * b[2]) / 3,
        ],
    ];
    let mut bits = 0u32;
    for (i, t) in block.iter().enumerate() {
        let best = (0..4)
            .min_by_key(|&k| {
                (0..3)
                    .map(|c| (palette[k][c] - i32::from(t[c])).pow(2))
                    .sum::<i32>()
            })
            .unwrap_or(0) as u32;
        bits |= best << (2 * i);
    }
    out[4..8].copy_from_slice(&bits.to_le_bytes());
    out
}

/// The BC3 alpha block in 8-level mode (a0 > a1), or all index 0 for a flat block.
fn bc3_alpha(block: &[[u8; 4]; 16]) -> [u8; 8] {
    let a0 = block.iter().map(|t| t[3]).max().unwrap_or(255);
    let a1 = block.iter().map(|t| t[3]).min().unwrap_or(255);
    let mut out = [0u8; 8];
    out[0] = a0;
    out[1] = a1;
    if a0 == a1 {
        return out;
    }
    let mut bits = 0u64;
    for (i, t) in block.iter().enumerate() {
        let j = ((f64::from(a0 - t[3]) / f64::from(a0 - a1)) * 7.0).round() as u64;
        let index = match j {
            0 => 0,
            7 => 1,
            j => j + 1,
        };
        bits |= index << (3 * i);
    }
    out[2..8].copy_from_slice(&bits.to_le_bytes()[..6]);
    out
}

/// BC7 mode 6: one subset, 7-bit RGBA endpoints with a p-bit each, 4-bit indices.
fn bc7_mode6(block: &[[u8; 4]; 16]) -> [u8; 16] {
    let mut lo = [255u8; 4];
    let mut hi = [0u8; 4];
    for t in block {
        for c in 0..4 {
            lo[c] = lo[c].min(t[c]);
            hi[c] = hi[c].max(t[c]);
        }
    }
    // p-bit: the majority low bit of each endpoint's channels.
    let pbit = |e: &[u8; 4]| u8::from(e.iter().filter(|&&v| v & 1 == 1).count() >= 2);
    let (mut p0, mut p1) = (pbit(&lo), pbit(&hi));
    let mut e0 = lo.map(|v| v >> 1);
    let mut e1 = hi.map(|v| v >> 1);
    let full = |e: &[u8; 4], p: u8| e.map(|v| (v << 1) | p);
    let (mut f0, mut f1) = (full(&e0, p0), full(&e1, p1));
    const WEIGHTS: [u32; 16] = [0, 4, 9, 13, 17, 21, 26, 30, 34, 38, 43, 47, 51, 55, 60, 64];
    let pick = |t: &[u8; 4], f0: &[u8; 4], f1: &[u8; 4]| -> u8 {
        (0..16u8)
            .min_by_key(|&k| {
                let w = WEIGHTS[usize::from(k)];
                (0..4)
                    .map(|c| {
                        let v = ((64 - w) * u32::from(f0[c]) + w * u32::from(f1[c]) + 32) >> 6;
                        (v as i32 - i32::from(t[c])).pow(2)
                    })
                    .sum::<i32>()
            })
            .unwrap_or(0)
    };
    let mut idx: Vec<u8> = block.iter().map(|t| pick(t, &f0, &f1)).collect();
    if idx[0] >= 8 {
        std::mem::swap(&mut e0, &mut e1);
        std::mem::swap(&mut p0, &mut p1);
        std::mem::swap(&mut f0, &mut f1);
        idx = idx.iter().map(|i| 15 - i).collect();
    }
    let mut bits: u128 = 1 << 6; // mode 6
    let mut at = 7;
    let mut put = |value: u128, n: u32| {
        bits |= value << at;
        at += n;
    };
    for c in 0..4 {
        put(u128::from(e0[c]), 7);
        put(u128::from(e1[c]), 7);
    }
    put(u128::from(p0), 1);
    put(u128::from(p1), 1);
    for (i, &v) in idx.iter().enumerate() {
        put(u128::from(v), if i == 0 { 3 } else { 4 });
    }
    bits.to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bc7_mode6_matches_the_reference_vector() {
        let block = [[200u8, 100, 50, 254]; 16];
        assert_eq!(
            bc7_mode6(&block),
            [
                0x40, 0x32, 0x59, 0x26, 0xcb, 0x64, 0xfe, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0
            ]
        );
    }

    #[test]
    fn sizes_follow_the_mip_chain() {
        let p = super::super::image::icon(1, 128, 128, super::super::image::Alpha::Soft);
        assert_eq!(write(&p, DdsPixels::Dxt5, true).len(), 22_000);
        assert_eq!(write(&p, DdsPixels::Bgra8, true).len(), 87_508);
        assert_eq!(write(&p, DdsPixels::Bc7, false).len(), 148 + 32 * 32 * 16);
    }
}
