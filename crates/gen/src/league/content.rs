//! Names, paths and chunk bytes of the generated League install. Every chunk's bytes are a
//! function of its own seed, so mods can regenerate a game chunk (to ship an identical copy or
//! a modified one) without the generator keeping the install in memory.

use crate::SplitMix64;

/// Champion names that appear in the install first (real-looking keys and paths); more WADs get
/// numbered names.
pub(crate) const CHAMPIONS: [&str; 40] = [
    "Aatrox",
    "Ahri",
    "Akali",
    "Akshan",
    "Alistar",
    "Amumu",
    "Anivia",
    "Annie",
    "Aphelios",
    "Ashe",
    "AurelionSol",
    "Azir",
    "Bard",
    "Belveth",
    "Blitzcrank",
    "Brand",
    "Braum",
    "Briar",
    "Caitlyn",
    "Camille",
    "Cassiopeia",
    "Chogath",
    "Corki",
    "Darius",
    "Diana",
    "DrMundo",
    "Draven",
    "Ekko",
    "Elise",
    "Evelynn",
    "Ezreal",
    "Fiddlesticks",
    "Fiora",
    "Fizz",
    "Galio",
    "Gangplank",
    "Garen",
    "Gnar",
    "Gragas",
    "Graves",
];

/// The kind of a generated chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Stored raw (type 0).
    Raw,
    /// One zstd frame (type 3).
    Zstd,
    /// Subchunked (type 4), raw and zstd subchunks mixed.
    Multi,
    /// A Wwise bank or package (type 0).
    Wwise,
}

/// The name of champion `i`.
pub(crate) fn champion(i: usize) -> String {
    match CHAMPIONS.get(i) {
        Some(name) => (*name).to_owned(),
        None => format!("Champion{i:03}"),
    }
}

/// Fills `size` bytes from `seed`: 8-byte words drawn mostly from a small table (so zstd
/// compresses them about 3:1), the rest random. Wwise chunks start with their magic.
pub(crate) fn bytes(seed: u64, size: usize, kind: Kind) -> Vec<u8> {
    let mut rng = SplitMix64::new(seed);
    let table: Vec<u64> = (0..32).map(|_| rng.next_u64()).collect();
    let mut out = Vec::with_capacity(size + 8);
    while out.len() < size {
        let word = if rng.below(10) < 3 {
            rng.next_u64()
        } else {
            table[rng.below(32) as usize]
        };
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.truncate(size);
    if kind == Kind::Wwise {
        let magic: &[u8] = if seed % 2 == 0 {
            b"BKHD\x04\x00\x00\x00"
        } else {
            b"r3d2\x01\x00\x00\x00"
        };
        let n = magic.len().min(out.len());
        out[..n].copy_from_slice(&magic[..n]);
    }
    out
}

/// A path inside a champion WAD and its kind.
pub(crate) fn champion_path(rng: &mut SplitMix64, lname: &str, i: usize) -> (String, Kind) {
    let skin = rng.below(40);
    match rng.below(20) {
        0 => (
            format!(
                "assets/sounds/wwise2016/sfx/characters/{lname}/skins/skin{skin:02}/{lname}_skin{skin:02}_sfx_{i}.bnk"
            ),
            Kind::Wwise,
        ),
        1 => (
            format!(
                "assets/sounds/wwise2016/sfx/characters/{lname}/skins/skin{skin:02}/{lname}_skin{skin:02}_sfx_audio_{i}.wpk"
            ),
            Kind::Wwise,
        ),
        2..=5 => (
            format!(
                "assets/characters/{lname}/skins/skin{skin:02}/particles/{lname}_skin{skin:02}_{i}.tex"
            ),
            Kind::Multi,
        ),
        6..=9 => (
            format!(
                "assets/characters/{lname}/skins/skin{skin:02}/{lname}_skin{skin:02}_tx_{i}.dds"
            ),
            Kind::Zstd,
        ),
        10 => (
            format!("data/characters/{lname}/animations/skin{skin}_{i}.bin"),
            Kind::Raw,
        ),
        11..=14 => (
            format!("data/characters/{lname}/skins/skin{skin}_{i}.bin"),
            Kind::Zstd,
        ),
        _ => (
            format!("assets/characters/{lname}/skins/skin{skin:02}/{lname}_skin{skin:02}_{i}.skn"),
            Kind::Zstd,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_reproducible_and_wwise_marked() {
        assert_eq!(bytes(5, 100, Kind::Zstd), bytes(5, 100, Kind::Zstd));
        assert_ne!(bytes(5, 100, Kind::Zstd), bytes(6, 100, Kind::Zstd));
        assert!(bytes(4, 64, Kind::Wwise).starts_with(b"BKHD"));
        assert!(bytes(3, 64, Kind::Wwise).starts_with(b"r3d2\x01\x00\x00\x00"));
        assert_eq!(bytes(1, 13, Kind::Raw).len(), 13);
        assert_eq!(champion(0), "Aatrox");
        assert_eq!(champion(45), "Champion045");
    }
}
