//! The SNES ROM checksum (docs/rom.md, "Checksum"): a 16-bit sum of bytes (never words) over
//! the ROM without copier header, with the mirroring rule for sizes that are not a power of two.

/// Sum of `data`'s bytes.
pub(crate) fn byte_sum(data: &[u8]) -> u64 {
    // Chunks keep the inner sum in u32 (2^32 / 255 bytes fit), which vectorises well.
    data.chunks(1 << 22)
        .map(|chunk| u64::from(chunk.iter().map(|&b| u32::from(b)).sum::<u32>()))
        .sum()
}

fn largest_power_of_two_at_most(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        1 << (usize::BITS - 1 - n.leading_zeros())
    }
}

/// The sum of `d` repeated (and recursively mirrored) to fill `target` bytes.
fn sum_repeated(d: &[u8], target: usize) -> u64 {
    if d.is_empty() {
        return 0;
    }
    if d.len().is_power_of_two() {
        return byte_sum(d) * (target / d.len()) as u64;
    }
    let q = largest_power_of_two_at_most(d.len());
    let (head, tail) = d.split_at(q);
    (byte_sum(head) + sum_repeated(tail, q)) * (target / (2 * q)).max(1) as u64
}

/// The checksum of `rom` as stored in the header (16 bits of the mirrored byte sum).
pub fn checksum(rom: &[u8]) -> u16 {
    (mirrored_sum(rom) & 0xFFFF) as u16
}

/// The full mirrored byte sum (before truncation to 16 bits).
pub(crate) fn mirrored_sum(rom: &[u8]) -> u64 {
    if rom.is_empty() || rom.len().is_power_of_two() {
        return byte_sum(rom);
    }
    let p = largest_power_of_two_at_most(rom.len());
    let (head, tail) = rom.split_at(p);
    byte_sum(head) + sum_repeated(tail, p)
}

/// How many times the byte at `pos` of a ROM of `len` bytes counts in [`mirrored_sum`].
pub(crate) fn weight(len: usize, pos: usize) -> u64 {
    if pos >= len {
        return 0;
    }
    if len.is_power_of_two() {
        return 1;
    }
    let p = largest_power_of_two_at_most(len);
    if pos < p {
        return 1;
    }
    repeated_weight(len - p, p, pos - p)
}

fn repeated_weight(d_len: usize, target: usize, pos: usize) -> u64 {
    if d_len.is_power_of_two() {
        return (target / d_len) as u64;
    }
    let q = largest_power_of_two_at_most(d_len);
    let factor = (target / (2 * q)).max(1) as u64;
    if pos < q {
        factor
    } else {
        factor * repeated_weight(d_len - q, q, pos - q)
    }
}

/// The checksum computed with the pair at `pair_at..pair_at + 4` (complement, checksum) replaced
/// by the placeholder `FF FF 00 00`, from the ROM's `raw` mirrored sum: the value a correct
/// header stores, independent of the pair found in the file.
pub(crate) fn with_placeholder(rom: &[u8], raw: u64, pair_at: usize) -> u16 {
    const PLACEHOLDER: [u8; 4] = [0xFF, 0xFF, 0x00, 0x00];
    let mut sum = raw;
    for (k, new) in PLACEHOLDER.iter().enumerate() {
        let pos = pair_at + k;
        let w = weight(rom.len(), pos);
        let old = rom.get(pos).copied().unwrap_or(0);
        sum = sum
            .wrapping_sub(w.wrapping_mul(u64::from(old)))
            .wrapping_add(w.wrapping_mul(u64::from(*new)));
    }
    (sum & 0xFFFF) as u16
}

/// Writes a correct checksum and complement into `rom` for the header at `title_at` (the
/// placeholder rule: set the pair to `FF FF 00 00`, sum, store). Returns (checksum, complement),
/// or `None` when the pair lies outside `rom`.
pub fn fix_checksum(rom: &mut [u8], title_at: usize) -> Option<(u16, u16)> {
    let pair_at = title_at.checked_add(0x1C)?;
    let pair = rom.get_mut(pair_at..pair_at + 4)?;
    pair.copy_from_slice(&[0xFF, 0xFF, 0x00, 0x00]);
    let sum = checksum(rom);
    let complement = sum ^ 0xFFFF;
    let pair = rom.get_mut(pair_at..pair_at + 4)?;
    pair[..2].copy_from_slice(&complement.to_le_bytes());
    pair[2..].copy_from_slice(&sum.to_le_bytes());
    Some((sum, complement))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn mirroring_vectors() {
        const MIB: usize = 1 << 20;
        let cases = [
            (MIB, 0xE251, 0xE251),
            (MIB + MIB / 2, 0xE31D, 0xE2B7),
            (2 * MIB, 0xED46, 0xED46),
            (2 * MIB + MIB / 2, 0x3076, 0xFE12),
            (3 * MIB, 0xE89E, 0xEAF2),
            (3 * MIB + MIB / 2, 0xD904, 0xE1FB),
            (6 * MIB, 0xE03D, 0xE1B5),
        ];
        for (len, mirrored, plain) in cases {
            let rom = pattern(len);
            assert_eq!(checksum(&rom), mirrored, "{len}");
            assert_eq!((byte_sum(&rom) & 0xFFFF) as u16, plain, "{len}");
        }
    }

    #[test]
    fn weights_match_the_sum() {
        for len in [5usize, 6, 7, 12, 13, 100, 1000] {
            let rom = pattern(len);
            let by_weight: u64 = (0..len).map(|i| weight(len, i) * u64::from(rom[i])).sum();
            assert_eq!(by_weight, mirrored_sum(&rom), "{len}");
        }
    }

    #[test]
    fn fixing_makes_a_valid_pair_and_the_placeholder_sum_agrees() {
        let mut rom = pattern(3 << 19);
        let (sum, complement) = fix_checksum(&mut rom, 0x7FC0).unwrap();
        assert_eq!(sum ^ complement, 0xFFFF);
        assert_eq!(checksum(&rom), sum);
        // Garbage in the pair does not change the placeholder checksum.
        rom[0x7FDC..0x7FE0].copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(with_placeholder(&rom, mirrored_sum(&rom), 0x7FDC), sum);
        assert_eq!(fix_checksum(&mut [0u8; 16], 0x7FC0), None);
    }
}
