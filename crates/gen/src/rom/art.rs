//! Tile art for generated ROMs: a glyph sheet shaped like a font (empty control range, shaded
//! strokes) and sprite sheets of shaded blobs in OBJ order, as 4bpp tiles (docs/rom.md,
//! "Generated ROMs").

use modforge_rom::gfx::{TileFormat, encode_tiles};

use crate::rng::SplitMix64;

/// A `w` x `h` index canvas.
struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: usize, h: usize) -> Canvas {
        Canvas {
            w,
            h,
            px: vec![0; w * h],
        }
    }

    fn get(&self, x: i64, y: i64) -> u8 {
        if x < 0 || y < 0 || x >= self.w as i64 || y >= self.h as i64 {
            return 0;
        }
        self.px
            .get(y as usize * self.w + x as usize)
            .copied()
            .unwrap_or(0)
    }

    fn set(&mut self, x: usize, y: usize, v: u8) {
        if let Some(p) = self.px.get_mut(y * self.w + x) {
            *p = v;
        }
    }

    fn tiles(&self, count: usize) -> Vec<u8> {
        encode_tiles(
            &self.px,
            self.w as u32,
            self.h as u32,
            TileFormat::Bpp4,
            Some(count as u32),
        )
        .unwrap_or_default()
    }
}

/// Marks every empty pixel next to a filled one inside each 8x8 (or `cell`) area with `edge`.
fn outline(canvas: &mut Canvas, edge: u8) {
    let mut marks = Vec::new();
    for y in 0..canvas.h as i64 {
        for x in 0..canvas.w as i64 {
            if canvas.get(x, y) != 0 {
                continue;
            }
            let near = [(-1, 0), (1, 0), (0, -1), (0, 1)].iter().any(|(dx, dy)| {
                let v = canvas.get(x + dx, y + dy);
                v != 0 && v != edge
            });
            if near {
                marks.push((x as usize, y as usize));
            }
        }
    }
    for (x, y) in marks {
        canvas.set(x, y, edge);
    }
}

/// A 128-tile font-like sheet (4,096 bytes): tiles 0x00-0x20 and 0x7F empty, the others a glyph
/// of 2-4 strokes shaded by row (2 at the top, 4 in the middle, 5 at the bottom) with an
/// outline of colour 1.
pub fn glyph_sheet(rng: &mut SplitMix64) -> Vec<u8> {
    let mut canvas = Canvas::new(128, 64);
    for tile in 0x21..0x7F {
        let (tx, ty) = ((tile % 16) * 8, (tile / 16) * 8);
        let strokes = rng.range(2, 4);
        for _ in 0..strokes {
            let vertical = rng.chance(0.5);
            let a = rng.range(1, 5) as usize;
            let b = rng.range(1, 5) as usize;
            let len = rng.range(3, 6) as usize;
            for k in 0..len {
                let (x, y) = if vertical { (a, b + k) } else { (a + k, b) };
                let (x, y) = (x.min(6), y.min(6));
                let shade = match y {
                    0..=3 => 2,
                    4..=5 => 4,
                    _ => 5,
                };
                canvas.set(tx + x, ty + y, shade);
                canvas.set(
                    tx + x + usize::from(!vertical),
                    ty + y + usize::from(vertical),
                    shade,
                );
            }
        }
    }
    outline(&mut canvas, 1);
    canvas.tiles(128)
}

/// `tiles` 4bpp tiles (a multiple of 4) of 16x16 sprites in OBJ order (tiles n, n+1, n+16,
/// n+17): shaded ellipses with an outline, a highlight and an eye-like detail.
pub fn sprite_sheet(rng: &mut SplitMix64, tiles: usize) -> Vec<u8> {
    let tiles = tiles.max(4).div_ceil(4) * 4;
    let rows = tiles.div_ceil(16).div_ceil(2) * 2;
    let mut canvas = Canvas::new(128, rows * 8);
    let sprites = tiles / 4;
    for s in 0..sprites {
        let (cx, cy) = ((s % 8) * 16, (s / 8) * 16);
        let rx = rng.range(4, 7) as f64;
        let ry = rng.range(4, 7) as f64;
        let base = rng.range(2, 12) as u8;
        for y in 0..16usize {
            for x in 0..16usize {
                let dx = (x as f64 - 7.5) / rx;
                let dy = (y as f64 - 7.5) / ry;
                let d = dx * dx + dy * dy;
                if d <= 1.0 {
                    let band = if d < 0.3 {
                        0
                    } else if d < 0.7 {
                        1
                    } else {
                        2
                    };
                    canvas.set(cx + x, cy + y, base + band);
                }
            }
        }
        let (ex, ey) = (rng.range(5, 9) as usize, rng.range(5, 8) as usize);
        canvas.set(cx + ex, cy + ey, 15);
        canvas.set(cx + ex + 1, cy + ey, 15);
        canvas.set(cx + ex, cy + ey + 1, 14);
    }
    outline(&mut canvas, 1);
    canvas.tiles(tiles)
}

/// Uncompressed tile data: `bytes` bytes of [`sprite_sheet`] tiles.
pub fn raw_tiles(rng: &mut SplitMix64, bytes: usize) -> Vec<u8> {
    let mut out = sprite_sheet(rng, bytes.div_ceil(32));
    out.resize(bytes, 0);
    out
}
