//! CPU address <-> ROM offset for the four mappings (docs/rom.md, "Address mapping").
//! Offsets are into the ROM without copier header.

/// How the cartridge maps ROM into the CPU's address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mapping {
    /// 32 KiB banks at `$8000-$FFFF`.
    LoRom,
    /// 64 KiB banks.
    HiRom,
    /// HiROM extended to 8 MiB (CPU A23 inverted onto ROM A22).
    ExHiRom,
    /// SA-1: four 1 MiB block registers, LoROM-style and HiROM-style windows.
    Sa1,
}

impl Mapping {
    /// The mapping's name (`lorom`, `hirom`, `exhirom`, `sa1`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mapping::LoRom => "lorom",
            Mapping::HiRom => "hirom",
            Mapping::ExHiRom => "exhirom",
            Mapping::Sa1 => "sa1",
        }
    }

    /// Parses a mapping name.
    pub fn parse(name: &str) -> Option<Mapping> {
        match name {
            "lorom" => Some(Mapping::LoRom),
            "hirom" => Some(Mapping::HiRom),
            "exhirom" => Some(Mapping::ExHiRom),
            "sa1" => Some(Mapping::Sa1),
            _ => None,
        }
    }
}

/// The SA-1 block registers CXB, DXB, EXB, FXB (1 MiB block numbers); power-on `[0, 1, 2, 3]`.
pub type Sa1Blocks = [u8; 4];

const MIB: u64 = 1 << 20;

/// The ROM offset of CPU address `addr` (24 bits), or `None` when it is not ROM or lies past
/// `rom_len`.
pub fn cpu_to_offset(mapping: Mapping, addr: u32, blocks: Sa1Blocks, rom_len: u64) -> Option<u64> {
    let bank = (addr >> 16) & 0xFF;
    let low = u64::from(addr & 0xFFFF);
    if bank == 0x7E || bank == 0x7F || addr > 0xFF_FFFF {
        return None;
    }
    let full_bank = (0x40..=0x7D).contains(&bank) || bank >= 0xC0;
    let offset = match mapping {
        Mapping::LoRom => {
            if low < 0x8000 {
                return None;
            }
            (u64::from(bank & 0x7F) << 15) | (low & 0x7FFF)
        }
        Mapping::HiRom | Mapping::ExHiRom => {
            if !full_bank && low < 0x8000 {
                return None;
            }
            let base = (u64::from(bank & 0x3F) << 16) | low;
            if mapping == Mapping::ExHiRom {
                base | (u64::from((bank & 0x80) ^ 0x80) << 15)
            } else {
                base
            }
        }
        Mapping::Sa1 => {
            if (0x40..=0x7F).contains(&bank) {
                return None;
            }
            if bank >= 0xC0 {
                let block = u64::from(*blocks.get(((bank - 0xC0) >> 4) as usize)?);
                block * MIB + (u64::from(bank & 0x0F) << 16) + low
            } else {
                if low < 0x8000 {
                    return None;
                }
                let register = match bank {
                    0x00..=0x1F => 0,
                    0x20..=0x3F => 1,
                    0x80..=0x9F => 2,
                    _ => 3,
                };
                let block = u64::from(*blocks.get(register)?);
                block * MIB + (u64::from(bank & 0x1F) << 15) + (low & 0x7FFF)
            }
        }
    };
    (offset < rom_len).then_some(offset)
}

/// The canonical CPU address of ROM offset `offset`, or `None` when the mapping does not show
/// it (past 4 MiB in LoROM/HiROM, past 8 MiB in ExHiROM, an SA-1 block no register holds,
/// past `rom_len`).
pub fn offset_to_cpu(
    mapping: Mapping,
    offset: u64,
    blocks: Sa1Blocks,
    rom_len: u64,
) -> Option<u32> {
    if offset >= rom_len {
        return None;
    }
    let off = u32::try_from(offset).ok()?;
    match mapping {
        Mapping::LoRom => {
            (off < 0x40_0000).then_some(((0x80 | (off >> 15)) << 16) | 0x8000 | (off & 0x7FFF))
        }
        Mapping::HiRom => {
            (off < 0x40_0000).then_some(((0xC0 | (off >> 16)) << 16) | (off & 0xFFFF))
        }
        Mapping::ExHiRom => {
            if off < 0x40_0000 {
                Some(((0xC0 | (off >> 16)) << 16) | (off & 0xFFFF))
            } else if off < 0x80_0000 {
                let bank = 0x40 | ((off - 0x40_0000) >> 16);
                if bank < 0x7E {
                    Some((bank << 16) | (off & 0xFFFF))
                } else if off & 0xFFFF >= 0x8000 {
                    // $7E/$7F are WRAM: the upper halves are visible in $3E/$3F instead.
                    Some(((bank - 0x40) << 16) | (off & 0xFFFF))
                } else {
                    None
                }
            } else {
                None
            }
        }
        Mapping::Sa1 => {
            let block = off >> 20;
            let register = blocks.iter().position(|&b| u32::from(b) == block)? as u32;
            Some(((0xC0 + 16 * register + ((off >> 16) & 0xF)) << 16) | (off & 0xFFFF))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIG: u64 = 8 << 20;
    const DEFAULT: Sa1Blocks = [0, 1, 2, 3];

    fn at(mapping: Mapping, addr: u32) -> Option<u64> {
        cpu_to_offset(mapping, addr, DEFAULT, BIG)
    }

    #[test]
    fn lorom_vectors() {
        let m = Mapping::LoRom;
        assert_eq!(at(m, 0x808000), Some(0));
        assert_eq!(at(m, 0x008000), Some(0));
        assert_eq!(at(m, 0x818000), Some(0x8000));
        assert_eq!(at(m, 0x008009), Some(9));
        assert_eq!(at(m, 0x408000), Some(0x200000));
        assert_eq!(at(m, 0xFE8000), Some(0x3F0000));
        assert_eq!(at(m, 0xFFFFFF), Some(0x3FFFFF));
        assert_eq!(at(m, 0x007FFF), None);
        assert_eq!(at(m, 0x7E8000), None);
    }

    #[test]
    fn hirom_vectors() {
        let m = Mapping::HiRom;
        assert_eq!(at(m, 0xC00000), Some(0));
        assert_eq!(at(m, 0xC12345), Some(0x12345));
        assert_eq!(at(m, 0x808000), Some(0x8000));
        assert_eq!(at(m, 0x00FFB0), Some(0xFFB0));
        assert_eq!(at(m, 0x401234), Some(0x1234));
        assert_eq!(at(m, 0x001234), None);
        assert_eq!(at(m, 0x7E0000), None);
    }

    #[test]
    fn exhirom_vectors() {
        let m = Mapping::ExHiRom;
        assert_eq!(at(m, 0xC00000), Some(0));
        assert_eq!(at(m, 0x400000), Some(0x400000));
        assert_eq!(at(m, 0x00FFB0), Some(0x40FFB0));
        assert_eq!(at(m, 0x80FFB0), Some(0xFFB0));
        assert_eq!(at(m, 0x3F8000), Some(0x7F8000));
        assert_eq!(at(m, 0x7DFFFF), Some(0x7DFFFF));
        assert_eq!(at(m, 0xFFFFFF), Some(0x3FFFFF));
        // Past the end of a 6 MiB ROM.
        assert_eq!(cpu_to_offset(m, 0x7DFFFF, DEFAULT, 6 << 20), None);
    }

    #[test]
    fn sa1_vectors() {
        let m = Mapping::Sa1;
        assert_eq!(at(m, 0x008000), Some(0));
        assert_eq!(at(m, 0x018000), Some(0x8000));
        assert_eq!(at(m, 0x1FFFFF), Some(0xFFFFF));
        assert_eq!(at(m, 0x208000), Some(0x100000));
        assert_eq!(at(m, 0x808000), Some(0x200000));
        assert_eq!(at(m, 0xA08000), Some(0x300000));
        assert_eq!(at(m, 0x00FFB0), Some(0x7FB0));
        assert_eq!(at(m, 0xC00000), Some(0));
        assert_eq!(at(m, 0xFF0002), Some(0x3F0002));
        assert_eq!(at(m, 0x408000), None);
        let moved = [4, 5, 6, 7];
        assert_eq!(cpu_to_offset(m, 0x008000, moved, BIG), Some(0x400000));
        assert_eq!(cpu_to_offset(m, 0xC00000, moved, BIG), Some(0x400000));
    }

    #[test]
    fn canonical_addresses_round_trip() {
        for m in [
            Mapping::LoRom,
            Mapping::HiRom,
            Mapping::ExHiRom,
            Mapping::Sa1,
        ] {
            for off in (0..BIG).step_by(0x7FF3) {
                if let Some(addr) = offset_to_cpu(m, off, DEFAULT, BIG) {
                    assert_eq!(
                        cpu_to_offset(m, addr, DEFAULT, BIG),
                        Some(off),
                        "{m:?} {off:#x}"
                    );
                }
            }
        }
        assert_eq!(
            offset_to_cpu(Mapping::LoRom, 0, DEFAULT, BIG),
            Some(0x808000)
        );
        assert_eq!(
            offset_to_cpu(Mapping::HiRom, 0x12345, DEFAULT, BIG),
            Some(0xC12345)
        );
        assert_eq!(
            offset_to_cpu(Mapping::ExHiRom, 0x400000, DEFAULT, BIG),
            Some(0x400000)
        );
        assert_eq!(
            offset_to_cpu(Mapping::ExHiRom, 0x7E8000, DEFAULT, BIG),
            Some(0x3E8000)
        );
        assert_eq!(
            offset_to_cpu(Mapping::ExHiRom, 0x7E0000, DEFAULT, BIG),
            None
        );
        assert_eq!(
            offset_to_cpu(Mapping::Sa1, 0x3F0002, DEFAULT, BIG),
            Some(0xFF0002)
        );
        assert_eq!(offset_to_cpu(Mapping::Sa1, 0x400000, DEFAULT, BIG), None);
        assert_eq!(offset_to_cpu(Mapping::LoRom, 0x400000, DEFAULT, BIG), None);
        assert_eq!(offset_to_cpu(Mapping::LoRom, 5, DEFAULT, 4), None);
    }
}
