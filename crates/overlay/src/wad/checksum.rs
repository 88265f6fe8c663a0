//! The WAD 3.4 header checksum modforge writes (docs/overlay.md, "Header checksum"): XXH3_64 of
//! `"RW" 03 04` followed, for each entry in ascending path-hash order, by the path hash and the
//! entry checksum (u64 LE each). This is the formula of cslol-manager's writer, which macOS mount
//! validation accepts; Riot's own value is unknown.

use xxhash_rust::xxh3::Xxh3;

/// The header checksum over `(path_hash, entry_checksum)` pairs already sorted by path hash.
pub fn header_checksum(pairs: impl IntoIterator<Item = (u64, u64)>) -> u64 {
    let mut state = Xxh3::new();
    state.update(b"RW\x03\x04");
    for (hash, checksum) in pairs {
        state.update(&hash.to_le_bytes());
        state.update(&checksum.to_le_bytes());
    }
    state.digest()
}

#[cfg(test)]
mod tests {
    #[test]
    fn empty_table_vector() {
        assert_eq!(super::header_checksum([]), 0x89538eb8a2a63061);
    }
}
