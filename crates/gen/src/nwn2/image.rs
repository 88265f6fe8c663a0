//! Procedural icon pictures: a soft radial glow, a rune-like shape and transparent corners, so
//! encoded sizes and alpha edges resemble real icons. Deterministic for a seed and a tint.

use crate::rng::SplitMix64;

/// An RGBA8 picture, top-down rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 4` bytes.
    pub rgba: Vec<u8>,
}

impl Picture {
    /// The pixel at (x, y).
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let at = ((y * self.width + x) * 4) as usize;
        let p = &self.rgba[at..at + 4];
        [p[0], p[1], p[2], p[3]]
    }

    /// Whether every pixel is opaque.
    pub fn is_opaque(&self) -> bool {
        self.rgba.chunks_exact(4).all(|p| p[3] == 255)
    }
}

/// How a picture uses alpha.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alpha {
    /// Every pixel opaque.
    Opaque,
    /// Corners fully transparent, a one-pixel soft edge.
    Soft,
    /// Corners fully transparent, hard edge (1-bit alpha).
    Hard,
}

/// Draws a `width x height` icon from `seed`.
pub fn icon(seed: u64, width: u32, height: u32, alpha: Alpha) -> Picture {
    let mut rng = SplitMix64::new(seed);
    let base = [
        rng.below(200) as f64 + 30.0,
        rng.below(200) as f64 + 30.0,
        rng.below(200) as f64 + 30.0,
    ];
    let glow = [
        rng.below(256) as f64,
        rng.below(256) as f64,
        rng.below(256) as f64,
    ];
    let spokes = 3.0 + rng.below(5) as f64;
    let phase = rng.unit() * std::f64::consts::TAU;
    let (w, h) = (f64::from(width), f64::from(height));
    let radius = w.min(h) * 0.5;
    let mut rgba = Vec::with_capacity((width * height * 4) as usize);
    for y in 0..height {
        for x in 0..width {
            let dx = (f64::from(x) + 0.5 - w / 2.0) / radius;
            let dy = (f64::from(y) + 0.5 - h / 2.0) / radius;
            let r = (dx * dx + dy * dy).sqrt();
            let angle = dy.atan2(dx);
            let rune = ((angle * spokes + phase).sin() * 0.5 + 0.5) * (1.0 - r).max(0.0);
            let t = (1.0 - r).clamp(0.0, 1.0);
            let mut px = [0u8; 4];
            for c in 0..3 {
                let v = base[c] * (0.35 + 0.65 * t) + glow[c] * rune * 0.8;
                px[c] = v.clamp(0.0, 255.0) as u8;
            }
            // Rounded-square mask: corners outside radius 1.25 of the half-size.
            let corner = (dx.abs().powi(4) + dy.abs().powi(4)).powf(0.25);
            px[3] = match alpha {
                Alpha::Opaque => 255,
                Alpha::Hard => {
                    if corner < 0.95 {
                        255
                    } else {
                        0
                    }
                }
                Alpha::Soft => ((1.0 - corner) * 8.0 * 255.0).clamp(0.0, 255.0) as u8,
            };
            rgba.extend_from_slice(&px);
        }
    }
    Picture {
        width,
        height,
        rgba,
    }
}

/// Converts a picture to 8-bit grey (BT.601 weights), alpha kept.
pub fn grey(p: &Picture) -> Picture {
    let rgba = p
        .rgba
        .chunks_exact(4)
        .flat_map(|c| {
            let g = ((u32::from(c[0]) * 299 + u32::from(c[1]) * 587 + u32::from(c[2]) * 114 + 500)
                / 1000) as u8;
            [g, g, g, c[3]]
        })
        .collect();
    Picture {
        width: p.width,
        height: p.height,
        rgba,
    }
}

/// Quantises a picture's colours to at most 256 by keeping the top 3-3-2 bits, returning the
/// palette (RGB) and the index of every pixel; alpha is dropped (mapped icons are opaque).
pub fn palettize(p: &Picture) -> (Vec<[u8; 3]>, Vec<u8>) {
    let mut palette: Vec<[u8; 3]> = Vec::new();
    let mut slot = [None::<u8>; 256];
    let mut indices = Vec::with_capacity((p.width * p.height) as usize);
    for c in p.rgba.chunks_exact(4) {
        let key = (c[0] & 0xE0) | ((c[1] & 0xE0) >> 3) | (c[2] >> 6);
        let idx = match slot[usize::from(key)] {
            Some(i) => i,
            None => {
                let i = palette.len() as u8;
                palette.push([
                    (c[0] & 0xE0) | 0x10,
                    (c[1] & 0xE0) | 0x10,
                    (c[2] & 0xC0) | 0x20,
                ]);
                slot[usize::from(key)] = Some(i);
                i
            }
        };
        indices.push(idx);
    }
    (palette, indices)
}

/// The colour a palettized pixel decodes to (opaque).
pub fn palette_colour(palette: &[[u8; 3]], index: u8) -> [u8; 4] {
    let c = palette[usize::from(index)];
    [c[0], c[1], c[2], 255]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icons_are_deterministic_and_shaped() {
        let a = icon(7, 32, 32, Alpha::Soft);
        assert_eq!(a, icon(7, 32, 32, Alpha::Soft));
        assert_ne!(a, icon(8, 32, 32, Alpha::Soft));
        assert_eq!(a.pixel(0, 0)[3], 0, "corners are transparent");
        assert_eq!(a.pixel(16, 16)[3], 255, "the centre is opaque");
        assert!(icon(7, 78, 71, Alpha::Opaque).is_opaque());
        let (palette, idx) = palettize(&a);
        assert!(palette.len() <= 256);
        assert_eq!(idx.len(), 32 * 32);
        let g = grey(&a);
        assert!(g.rgba.chunks_exact(4).all(|p| p[0] == p[1] && p[1] == p[2]));
    }
}
