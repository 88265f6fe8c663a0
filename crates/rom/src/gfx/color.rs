//! BGR555 colour words (docs/rom.md, "Colour and CGRAM").

/// 5-bit to 8-bit: `(c << 3) | (c >> 2)` (31 -> 255, 0 -> 0).
pub fn expand5(c: u8) -> u8 {
    let c = c & 31;
    (c << 3) | (c >> 2)
}

/// A little-endian BGR555 word `0bbbbbgggggrrrrr` (bit 15 ignored) as 8-bit RGB.
pub fn bgr555_to_rgb(word: u16) -> [u8; 3] {
    [
        expand5((word & 31) as u8),
        expand5(((word >> 5) & 31) as u8),
        expand5(((word >> 10) & 31) as u8),
    ]
}

/// 8-bit RGB to a BGR555 word (`c5 = c8 >> 3`; every 5-bit value round-trips).
pub fn rgb_to_bgr555(rgb: [u8; 3]) -> u16 {
    let [r, g, b] = rgb.map(|c| u16::from(c >> 3));
    r | (g << 5) | (b << 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(bgr555_to_rgb(0x7FFF), [255, 255, 255]);
        assert_eq!(bgr555_to_rgb(0x4210), [132, 132, 132]);
        assert_eq!(bgr555_to_rgb(0x7F95), [173, 231, 255]);
        assert_eq!(bgr555_to_rgb(0x7B2A), [82, 206, 247]);
        assert_eq!(bgr555_to_rgb(0x76A0), [0, 173, 239]);
        assert_eq!(bgr555_to_rgb(0xFFFF), [255, 255, 255], "bit 15 ignored");
        for w in 0..0x8000u16 {
            assert_eq!(rgb_to_bgr555(bgr555_to_rgb(w)), w);
        }
    }
}
