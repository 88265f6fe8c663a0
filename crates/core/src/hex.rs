//! Lower-case hexadecimal text of bytes and integers, as reports and file names show them.

use std::fmt::Write;

/// `bytes` as lower-case hex, two digits per byte, in order.
pub fn bytes(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing into a String cannot fail.
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// A `u64` as 16 lower-case hex digits.
pub fn u64(value: u64) -> String {
    format!("{value:016x}")
}

/// A `u128` as 32 lower-case hex digits.
pub fn u128(value: u128) -> String {
    format!("{value:032x}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_with_leading_zeros() {
        assert_eq!(super::bytes(&[0, 0xAB, 7]), "00ab07");
        assert_eq!(super::u64(0xABC), "0000000000000abc");
        assert_eq!(super::u128(1).len(), 32);
    }
}
