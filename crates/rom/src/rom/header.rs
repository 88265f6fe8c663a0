//! The internal header and its detection by scoring (docs/rom.md, "Internal header" and
//! "Header detection"). Every field read is bounds-checked; "no valid header" is a result.

use modforge_core::Reader;

use super::checksum;
use super::mapping::{Mapping, Sa1Blocks, cpu_to_offset};

/// Where a header candidate sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Location {
    /// `T = 0x7FC0` (LoROM and SA-1).
    Lo,
    /// `T = 0xFFC0`.
    Hi,
    /// `T = 0x40FFC0`.
    ExHi,
}

impl Location {
    /// The title's offset `T`.
    pub fn title_offset(self) -> u64 {
        match self {
            Location::Lo => 0x7FC0,
            Location::Hi => 0xFFC0,
            Location::ExHi => 0x40_FFC0,
        }
    }

    /// The location's name (`lo`, `hi`, `exhi`).
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Lo => "lo",
            Location::Hi => "hi",
            Location::ExHi => "exhi",
        }
    }

    fn mapping(self) -> Mapping {
        match self {
            Location::Lo => Mapping::LoRom,
            Location::Hi => Mapping::HiRom,
            Location::ExHi => Mapping::ExHiRom,
        }
    }
}

/// A coprocessor named by the chipset byte's high nibble (when its low nibble is 3-6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Coprocessor {
    /// 0: DSP-n.
    Dsp,
    /// 1: GSU (Super FX).
    Gsu,
    /// 2: OBC1.
    Obc1,
    /// 3: SA-1.
    Sa1,
    /// 4: S-DD1.
    Sdd1,
    /// 5: S-RTC.
    Srtc,
    /// E: other (Super Game Boy, Satellaview).
    Other,
    /// F: custom (SPC7110, ST010/ST011, ST018, CX4).
    Custom,
    /// A high nibble without a documented meaning.
    Unknown(u8),
}

impl Coprocessor {
    /// From the chipset byte, when it names a coprocessor.
    pub fn from_chipset(chipset: u8) -> Option<Coprocessor> {
        if !(3..=6).contains(&(chipset & 0x0F)) {
            return None;
        }
        Some(match chipset >> 4 {
            0 => Coprocessor::Dsp,
            1 => Coprocessor::Gsu,
            2 => Coprocessor::Obc1,
            3 => Coprocessor::Sa1,
            4 => Coprocessor::Sdd1,
            5 => Coprocessor::Srtc,
            0xE => Coprocessor::Other,
            0xF => Coprocessor::Custom,
            n => Coprocessor::Unknown(n),
        })
    }

    /// The coprocessor's name (`dsp`, `gsu`, `obc1`, `sa1`, `sdd1`, `srtc`, `other`, `custom`,
    /// `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            Coprocessor::Dsp => "dsp",
            Coprocessor::Gsu => "gsu",
            Coprocessor::Obc1 => "obc1",
            Coprocessor::Sa1 => "sa1",
            Coprocessor::Sdd1 => "sdd1",
            Coprocessor::Srtc => "srtc",
            Coprocessor::Other => "other",
            Coprocessor::Custom => "custom",
            Coprocessor::Unknown(_) => "unknown",
        }
    }
}

/// One scored header location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The location.
    pub location: Location,
    /// `T`.
    pub offset: u64,
    /// The score (0-11).
    pub score: u32,
    /// Which rules scored, by name (`pair`, `mapMode`, `reset`, `opcode`, `title`, `romSize`,
    /// `checksum`).
    pub reasons: Vec<&'static str>,
}

/// The parsed internal header of the winning candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// `T`: offset of the title.
    pub offset: u64,
    /// Which candidate location won.
    pub location: Location,
    /// The title decoded from JIS X 0201 (trailing spaces removed).
    pub title: String,
    /// The 21 raw title bytes.
    pub title_bytes: [u8; 21],
    /// Map mode byte (`$FFD5`).
    pub map_mode: u8,
    /// Bit 4 of the map mode.
    pub fast_rom: bool,
    /// The mapping: SA-1 when the map mode's low nibble is 3 or the chipset names SA-1,
    /// otherwise the location's mapping.
    pub mapping: Mapping,
    /// Chipset byte (`$FFD6`).
    pub chipset: u8,
    /// The coprocessor the chipset names.
    pub coprocessor: Option<Coprocessor>,
    /// ROM size byte (`$FFD7`).
    pub rom_size_byte: u8,
    /// `1 << n` KiB, when `n` is small enough to mean anything (n < 24).
    pub rom_size_kib: Option<u64>,
    /// SRAM size byte (`$FFD8`).
    pub sram_size_byte: u8,
    /// `1 << n` KiB, 0 for none (n < 24).
    pub sram_size_kib: Option<u64>,
    /// Destination code (`$FFD9`).
    pub destination: u8,
    /// Developer ID (`$FFDA`); `0x33` means an extended header.
    pub developer_id: u8,
    /// Maker code (`$FFB0`), when the developer ID is `0x33`.
    pub maker_code: Option<[u8; 2]>,
    /// Game code (`$FFB2`), when the developer ID is `0x33`.
    pub game_code: Option<[u8; 4]>,
    /// Version (`$FFDB`).
    pub version: u8,
    /// Checksum complement (`$FFDC`).
    pub complement: u16,
    /// Checksum (`$FFDE`).
    pub checksum: u16,
    /// The checksum computed over the ROM with the placeholder rule.
    pub computed_checksum: u16,
    /// `complement ^ checksum == 0xFFFF` and `computed == checksum`.
    pub checksum_valid: bool,
    /// Emulation-mode RESET vector (`$FFFC`).
    pub reset_vector: u16,
    /// The winning score.
    pub score: u32,
}

/// The best score a header must reach to be accepted.
pub const MIN_SCORE: u32 = 5;

/// Opcodes a reset handler plausibly starts with (SEI, CLC, SEP, REP, JMP, JML, STZ).
const RESET_OPCODES: [u8; 7] = [0x78, 0x18, 0xE2, 0xC2, 0x4C, 0x5C, 0x9C];

/// The raw fields of one location, read with bounds checks.
struct Fields {
    title: [u8; 21],
    map_mode: u8,
    chipset: u8,
    rom_size: u8,
    sram_size: u8,
    destination: u8,
    developer: u8,
    version: u8,
    complement: u16,
    checksum: u16,
    reset: u16,
    maker: [u8; 2],
    game: [u8; 4],
}

fn read_fields(rom: &[u8], t: usize) -> Option<Fields> {
    let r = Reader::new(rom);
    // A candidate needs T - 0x10 .. T + 0x40 in range.
    r.slice_at(t.checked_sub(0x10)?, 0x50).ok()?;
    let mut title = [0u8; 21];
    title.copy_from_slice(r.slice_at(t, 21).ok()?);
    let mut maker = [0u8; 2];
    maker.copy_from_slice(r.slice_at(t - 0x10, 2).ok()?);
    let mut game = [0u8; 4];
    game.copy_from_slice(r.slice_at(t - 0x0E, 4).ok()?);
    Some(Fields {
        title,
        map_mode: r.u8_at(t + 0x15).ok()?,
        chipset: r.u8_at(t + 0x16).ok()?,
        rom_size: r.u8_at(t + 0x17).ok()?,
        sram_size: r.u8_at(t + 0x18).ok()?,
        destination: r.u8_at(t + 0x19).ok()?,
        developer: r.u8_at(t + 0x1A).ok()?,
        version: r.u8_at(t + 0x1B).ok()?,
        complement: r.u16_le_at(t + 0x1C).ok()?,
        checksum: r.u16_le_at(t + 0x1E).ok()?,
        reset: r.u16_le_at(t + 0x3C).ok()?,
        maker,
        game,
    })
}

fn title_is_printable(title: &[u8]) -> bool {
    title
        .iter()
        .all(|&b| (0x20..=0x7E).contains(&b) || (0xA1..=0xDF).contains(&b))
}

/// Decodes a JIS X 0201 title: ASCII stays, half-width katakana `A1-DF` become U+FF61-U+FF9F,
/// NUL (used as padding by some tools) reads as a space, anything else is U+FFFD; trailing
/// spaces are removed.
pub fn decode_title(bytes: &[u8]) -> String {
    let text: String = bytes
        .iter()
        .map(|&b| match b {
            0x00 => ' ',
            0x20..=0x7E => char::from(b),
            0xA1..=0xDF => char::from_u32(0xFF61 + u32::from(b - 0xA1)).unwrap_or('\u{FFFD}'),
            _ => '\u{FFFD}',
        })
        .collect();
    text.trim_end_matches(' ').to_string()
}

fn is_sa1(fields: &Fields) -> bool {
    fields.map_mode & 0x0F == 3
        || Coprocessor::from_chipset(fields.chipset) == Some(Coprocessor::Sa1)
}

fn size_kib(n: u8) -> Option<u64> {
    (n < 24).then(|| 1u64 << n)
}

/// Scores every candidate location of `rom` (copier header already removed); `raw_sum` is the
/// ROM's mirrored byte sum.
pub(crate) fn score_all(rom: &[u8], raw_sum: u64) -> Vec<Candidate> {
    let mut locations = vec![Location::Lo, Location::Hi];
    if rom.len() > 0x40_0000 {
        locations.push(Location::ExHi);
    }
    locations
        .into_iter()
        .filter_map(|location| {
            let t = usize::try_from(location.title_offset()).ok()?;
            let fields = read_fields(rom, t)?;
            let mut reasons = Vec::new();
            let mut score = 0;
            let mut add = |points: u32, name: &'static str| {
                score += points;
                reasons.push(name);
            };
            if fields.complement ^ fields.checksum == 0xFFFF {
                add(4, "pair");
            }
            let low = fields.map_mode & 0x0F;
            let fits = match location {
                Location::Lo => matches!(low, 0 | 2 | 3),
                Location::Hi => matches!(low, 1 | 0xA),
                Location::ExHi => low == 5,
            };
            if fields.map_mode & 0xE0 == 0x20 && fits {
                add(2, "mapMode");
            }
            if fields.reset >= 0x8000 {
                add(1, "reset");
                let opcode = cpu_to_offset(
                    location.mapping(),
                    u32::from(fields.reset),
                    [0, 1, 2, 3],
                    rom.len() as u64,
                )
                .and_then(|off| usize::try_from(off).ok())
                .and_then(|off| rom.get(off).copied());
                if opcode.is_some_and(|op| RESET_OPCODES.contains(&op)) {
                    add(1, "opcode");
                }
            }
            if title_is_printable(&fields.title) {
                add(1, "title");
            }
            if let Some(kib) = size_kib(fields.rom_size) {
                let declared = kib * 1024;
                let file = rom.len() as u64;
                if file <= declared && declared <= 2 * file {
                    add(1, "romSize");
                }
            }
            if checksum::with_placeholder(rom, raw_sum, t + 0x1C) == fields.checksum {
                add(1, "checksum");
            }
            Some(Candidate {
                location,
                offset: location.title_offset(),
                score,
                reasons,
            })
        })
        .collect()
}

/// The winning candidate (highest score, ties to Lo then Hi) if it reaches [`MIN_SCORE`].
pub(crate) fn best(candidates: &[Candidate]) -> Option<&Candidate> {
    let mut best: Option<&Candidate> = None;
    for c in candidates {
        if best.is_none_or(|b| c.score > b.score) {
            best = Some(c);
        }
    }
    best.filter(|b| b.score >= MIN_SCORE)
}

/// Parses the header at `location` (whatever its score), with the mapping it implies.
pub(crate) fn parse(rom: &[u8], raw_sum: u64, location: Location, score: u32) -> Option<Header> {
    let t = usize::try_from(location.title_offset()).ok()?;
    let f = read_fields(rom, t)?;
    let computed = checksum::with_placeholder(rom, raw_sum, t + 0x1C);
    let mapping = if is_sa1(&f) {
        Mapping::Sa1
    } else {
        location.mapping()
    };
    let extended = f.developer == 0x33;
    Some(Header {
        offset: location.title_offset(),
        location,
        title: decode_title(&f.title),
        title_bytes: f.title,
        map_mode: f.map_mode,
        fast_rom: f.map_mode & 0x10 != 0,
        mapping,
        chipset: f.chipset,
        coprocessor: Coprocessor::from_chipset(f.chipset),
        rom_size_byte: f.rom_size,
        rom_size_kib: size_kib(f.rom_size),
        sram_size_byte: f.sram_size,
        sram_size_kib: if f.sram_size == 0 {
            Some(0)
        } else {
            size_kib(f.sram_size)
        },
        destination: f.destination,
        developer_id: f.developer,
        maker_code: extended.then_some(f.maker),
        game_code: extended.then_some(f.game),
        version: f.version,
        complement: f.complement,
        checksum: f.checksum,
        computed_checksum: computed,
        checksum_valid: f.complement ^ f.checksum == 0xFFFF && computed == f.checksum,
        reset_vector: f.reset,
        score,
    })
}

/// Default SA-1 block registers (power-on state).
pub(crate) const DEFAULT_BLOCKS: Sa1Blocks = [0, 1, 2, 3];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_decode_ascii_and_katakana() {
        assert_eq!(
            decode_title(b"PINO'S LOROM TEMPLATE"),
            "PINO'S LOROM TEMPLATE"
        );
        assert_eq!(
            decode_title(&[0xB6, 0xB0, 0xBB, 0x20, 0x20]),
            "\u{FF76}\u{FF70}\u{FF7B}"
        );
        assert_eq!(decode_title(&[0x41, 0x00, 0x42, 0x01, 0, 0]), "A B\u{FFFD}");
    }

    #[test]
    fn coprocessors_follow_the_chipset() {
        assert_eq!(Coprocessor::from_chipset(0x35), Some(Coprocessor::Sa1));
        assert_eq!(Coprocessor::from_chipset(0x34), Some(Coprocessor::Sa1));
        assert_eq!(Coprocessor::from_chipset(0x02), None);
        assert_eq!(Coprocessor::from_chipset(0x13), Some(Coprocessor::Gsu));
        assert_eq!(
            Coprocessor::from_chipset(0x93).map(Coprocessor::as_str),
            Some("unknown")
        );
    }

    #[test]
    fn tiny_roms_have_no_candidates() {
        assert!(score_all(&[0u8; 100], 0).is_empty());
        assert!(best(&[]).is_none());
    }
}
