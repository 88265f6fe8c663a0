//! Windows-1252 text, as NWN archives store Western-language strings (docs/icons.md, "ERF family").

/// Code points of bytes 0x80-0x9F in Windows-1252 (undefined bytes map to U+FFFD).
const HIGH: [char; 32] = [
    '\u{20AC}', '\u{FFFD}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{FFFD}', '\u{017D}', '\u{FFFD}',
    '\u{FFFD}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{FFFD}', '\u{017E}', '\u{0178}',
];

/// Decodes Windows-1252 bytes (bytes 0xA0-0xFF equal their Latin-1 code points).
pub fn windows_1252(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH
                .get(usize::from(b - 0x80))
                .copied()
                .unwrap_or('\u{FFFD}'),
            _ => char::from(b),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn decodes_the_high_range() {
        assert_eq!(super::windows_1252(b"a\x80\x93x\x94\xe9"), "a€“x”é");
        assert_eq!(super::windows_1252(b"\x81"), "\u{FFFD}");
    }
}
