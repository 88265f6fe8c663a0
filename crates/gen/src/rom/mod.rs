//! Seeded SNES ROM images for tests, the demo and benchmarks (docs/rom.md, "Generated ROMs"):
//! LoROM, FastROM LoROM with a mirrored checksum, HiROM with a decoy header, ExHiROM, SA-1, a
//! copier-headered image and a header-less noise file. Each holds HAL blocks at known offsets
//! (a glyph sheet in every encoder mode, sprite sheets), a 24-bit pointer table to them, noise,
//! `00`/`FF` padding and uncompressed tiles, with correct header and checksum, and is described
//! by a JSON manifest.

mod art;

use std::path::Path;

use modforge_rom::hal::{self, Mode};
use modforge_rom::{Mapping, fix_checksum, offset_to_cpu};
use serde::Serialize;
use sha2::Digest;

use crate::error::Error;
use crate::rng::SplitMix64;

pub use art::{glyph_sheet, raw_tiles, sprite_sheet};

/// The kind of image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// LoROM, SlowROM (`$20`).
    LoRom,
    /// LoROM, FastROM (`$30`).
    LoRomFast,
    /// HiROM (`$21`) with a decoy header at `0x7FC0` (valid pair, printable title, score 5).
    HiRom,
    /// ExHiROM (`$35`), header at `0x40FFC0`.
    ExHiRom,
    /// SA-1 (`$23`, chipset `$35`).
    Sa1,
    /// No header: noise, blocks, and a last block whose `FF` is cut off by the end of the file.
    Noise,
}

/// One image to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RomSpec {
    /// File name.
    pub file: String,
    /// The layout.
    pub layout: Layout,
    /// ROM size in bytes (copier header excluded).
    pub size: usize,
    /// Prepend a 512-byte copier header.
    pub copier_header: bool,
    /// HAL blocks to place.
    pub blocks: usize,
    /// Tiles per sprite block: `None` varies them (4 to 256), `Some(n)` fixes them (128 = 4 KiB).
    pub block_tiles: Option<usize>,
}

impl RomSpec {
    /// A spec with `blocks` blocks of varied size.
    pub fn new(file: &str, layout: Layout, size: usize, blocks: usize) -> RomSpec {
        RomSpec {
            file: file.into(),
            layout,
            size,
            copier_header: false,
            blocks,
            block_tiles: None,
        }
    }
}

/// The default set: LoROM 1 MiB, LoROM 3 MiB FastROM, HiROM 2 MiB, ExHiROM 6 MiB, SA-1 4 MiB,
/// the LoROM image with a copier header, and a 256 KiB noise file.
pub fn default_set() -> Vec<RomSpec> {
    const MIB: usize = 1 << 20;
    let mut headered = RomSpec::new("lorom-1m-copier.smc", Layout::LoRom, MIB, 12);
    headered.copier_header = true;
    vec![
        RomSpec::new("lorom-1m.sfc", Layout::LoRom, MIB, 12),
        RomSpec::new("lorom-3m-fast.sfc", Layout::LoRomFast, 3 * MIB, 12),
        RomSpec::new("hirom-2m.sfc", Layout::HiRom, 2 * MIB, 12),
        RomSpec::new("exhirom-6m.sfc", Layout::ExHiRom, 6 * MIB, 12),
        RomSpec::new("sa1-4m.sfc", Layout::Sa1, 4 * MIB, 16),
        headered,
        RomSpec::new("noise-256k.bin", Layout::Noise, 256 * 1024, 4),
    ]
}

/// Where a block's table entry points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PointerTable {
    /// ROM offset of the table.
    pub offset: u64,
    /// Entries (3 bytes each, `lo hi bank`), in block order.
    pub count: usize,
}

/// One HAL block of an image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockInfo {
    /// ROM offset of the stream.
    pub offset: u64,
    /// Canonical CPU address, when the mapping shows the offset.
    pub cpu: Option<u32>,
    /// Stream bytes including `FF` (for a truncated block: the bytes present).
    pub compressed_size: usize,
    /// Decoded bytes.
    pub decoded_size: usize,
    /// SHA-256 of the decoded bytes.
    pub decoded_sha256: String,
    /// What the block holds (`glyphs`, `sprites`).
    pub source: String,
    /// Encoder mode (`fast`, `greedy`, `optimal`).
    pub mode: String,
    /// True for the noise file's last block, whose `FF` is cut off.
    pub truncated: bool,
    /// Whether the block is listed in the pointer table.
    pub in_table: bool,
}

/// What a generated image holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// The seed.
    pub seed: u64,
    /// File name.
    pub file: String,
    /// ROM size (copier header excluded).
    pub size: usize,
    /// 512 or 0.
    pub copier_header: usize,
    /// SHA-256 of the file.
    pub sha256: String,
    /// XXH3-128 of the ROM bytes without copier header (the cache's content hash), hex.
    pub xxh3: String,
    /// `lorom`, `hirom`, `exhirom`, `sa1`, or none.
    pub mapping: Option<String>,
    /// Map mode byte.
    pub map_mode: Option<u8>,
    /// Chipset byte.
    pub chipset: Option<u8>,
    /// `T`.
    pub header_offset: Option<u64>,
    /// Stored checksum.
    pub checksum: Option<u16>,
    /// Stored complement.
    pub complement: Option<u16>,
    /// RESET vector.
    pub reset_vector: Option<u16>,
    /// The pointer table.
    pub pointer_table: Option<PointerTable>,
    /// The blocks, by offset.
    pub blocks: Vec<BlockInfo>,
}

/// A generated image and its manifest.
#[derive(Clone, Debug)]
pub struct GeneratedRom {
    /// The file bytes (copier header included).
    pub image: Vec<u8>,
    /// The description.
    pub manifest: Manifest,
}

struct HeaderPlan {
    t: usize,
    map_mode: u8,
    chipset: u8,
    mapping: Mapping,
    reset: u16,
    reset_at: usize,
    table_at: usize,
}

fn header_plan(layout: Layout) -> Option<HeaderPlan> {
    let (t, map_mode, chipset, mapping, reset_at) = match layout {
        Layout::LoRom => (0x7FC0, 0x20, 0x00, Mapping::LoRom, 0),
        Layout::LoRomFast => (0x7FC0, 0x30, 0x02, Mapping::LoRom, 0),
        Layout::HiRom => (0xFFC0, 0x21, 0x00, Mapping::HiRom, 0x8000),
        Layout::ExHiRom => (0x40_FFC0, 0x35, 0x00, Mapping::ExHiRom, 0x40_8000),
        Layout::Sa1 => (0x7FC0, 0x23, 0x35, Mapping::Sa1, 0),
        Layout::Noise => return None,
    };
    Some(HeaderPlan {
        t,
        map_mode,
        chipset,
        mapping,
        reset: 0x8000,
        reset_at,
        table_at: t - 0x3C0,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn size_byte(size: usize) -> u8 {
    let kib = size.div_ceil(1024).max(1);
    let mut n = 0u8;
    while (1usize << n) < kib {
        n += 1;
    }
    n
}

/// Fills `rom` with 64 KiB regions of noise, `00`, `FF` or uncompressed tiles.
fn background(rom: &mut [u8], rng: &mut SplitMix64) {
    for region in rom.chunks_mut(1 << 16) {
        let roll = rng.below(100);
        if roll < 40 {
            for b in region.iter_mut() {
                *b = rng.next_u64() as u8;
            }
        } else if roll < 65 {
            region.fill(0);
        } else if roll < 80 {
            region.fill(0xFF);
        } else {
            let tiles = raw_tiles(rng, region.len());
            region.copy_from_slice(&tiles);
        }
    }
}

/// `FF` bytes before each block. A stream that runs into them meets an `FF` command byte within
/// 1,027 bytes (a long raw command copies at most 1,024, a fill or reference takes 2 more), so no
/// candidate starting before the guard can span the block (docs/rom.md, "Generated ROMs").
const GUARD: usize = 1100;

struct Placed {
    offset: usize,
    stream: Vec<u8>,
    decoded: Vec<u8>,
    source: &'static str,
    mode: Mode,
    truncated: bool,
}

/// Generates one image.
pub fn generate(spec: &RomSpec, seed: u64) -> Result<GeneratedRom, Error> {
    if spec.size < 0x20000 || spec.size > 64 << 20 {
        return Err(Error::InvalidArgument(format!(
            "ROM size {} must be 128 KiB to 64 MiB",
            spec.size
        )));
    }
    if spec.layout == Layout::ExHiRom && spec.size <= 0x41_0000 {
        return Err(Error::InvalidArgument(
            "an ExHiROM image needs more than 4 MiB".into(),
        ));
    }
    let mut rng = SplitMix64::stream(seed, xxhash_rust::xxh3::xxh3_64(spec.file.as_bytes()));
    let mut rom = vec![0u8; spec.size];
    background(&mut rom, &mut rng);
    let plan = header_plan(spec.layout);
    // Reserved: the header page and the reset code.
    let mut occupied: Vec<(usize, usize)> = Vec::new();
    if let Some(p) = &plan {
        occupied.push((p.table_at - 0x40, p.t + 0x40));
        occupied.push((p.reset_at, p.reset_at + 0x100));
        if spec.layout == Layout::HiRom {
            occupied.push((0x7F00, 0x8000));
        }
    }
    // Block contents.
    let modes = [Mode::Fast, Mode::Greedy, Mode::Optimal];
    let glyphs = glyph_sheet(&mut rng);
    let mut contents: Vec<(Vec<u8>, &'static str, Mode)> = Vec::new();
    for k in 0..spec.blocks {
        let mode = modes[k % 3];
        if k < 3 {
            contents.push((glyphs.clone(), "glyphs", mode));
        } else {
            let tiles = spec
                .block_tiles
                .unwrap_or_else(|| 4 * rng.range(1, 64) as usize);
            contents.push((sprite_sheet(&mut rng, tiles), "sprites", mode));
        }
    }
    let mut streams = Vec::new();
    for (data, source, mode) in contents {
        let stream = hal::encode(&data, mode)
            .map_err(|e| Error::InvalidArgument(format!("encoding a generated block: {e}")))?;
        streams.push((data, stream, source, mode));
    }
    // Placement: evenly spread, the first at an odd offset, the second across a 32 KiB bank
    // boundary, the last ending exactly at the end of the ROM.
    let n = streams.len();
    let spacing = spec.size / (n + 1);
    let mut placed: Vec<Placed> = Vec::new();
    for (k, (decoded, stream, source, mode)) in streams.into_iter().enumerate() {
        let len = stream.len();
        let truncated = spec.layout == Layout::Noise && k + 1 == n;
        let stored = if truncated { len - 1 } else { len };
        let mut at = if k + 1 == n {
            spec.size - stored
        } else {
            let base = 0x10000 + k * spacing.saturating_sub(0x10000 / (n + 1));
            let jitter = rng.below((spacing / 4).max(1) as u64) as usize;
            let mut at = base + jitter;
            if k == 0 {
                at |= 1;
            } else if k == 1 {
                at = (at | 0x7FFF) + 1 - len / 2;
            } else {
                at &= !1;
            }
            at
        };
        // Keep clear of reserved ranges and earlier blocks, with the FF guard before each block.
        let clash = |a: usize, occ: &[(usize, usize)]| {
            a < GUARD || occ.iter().any(|&(s, e)| a < e + GUARD && s < a + stored)
        };
        while k + 1 != n && clash(at, &occupied) {
            at += 0x100;
        }
        if at + stored > spec.size || clash(at, &occupied) {
            return Err(Error::InvalidArgument(format!(
                "{} blocks do not fit a {}-byte ROM",
                n, spec.size
            )));
        }
        if let Some(guard) = rom.get_mut(at.saturating_sub(GUARD)..at) {
            guard.fill(0xFF);
        }
        if let Some(slot) = rom.get_mut(at..at + stored) {
            slot.copy_from_slice(&stream[..stored]);
        }
        occupied.push((at, at + stored));
        placed.push(Placed {
            offset: at,
            stream,
            decoded,
            source,
            mode,
            truncated,
        });
    }
    placed.sort_by_key(|p| p.offset);
    // Header, pointer table, reset code, checksum.
    let mut table = None;
    if let Some(p) = &plan {
        let t = p.t;
        let title = format!(
            "MODFORGE {:<12}",
            spec.file.to_uppercase().replace(['.', '-'], " ")
        );
        let mut title_bytes = [b' '; 21];
        for (slot, b) in title_bytes.iter_mut().zip(title.bytes()) {
            *slot = if (0x20..0x7F).contains(&b) { b } else { b' ' };
        }
        rom[t..t + 21].copy_from_slice(&title_bytes);
        rom[t + 0x15] = p.map_mode;
        rom[t + 0x16] = p.chipset;
        rom[t + 0x17] = size_byte(spec.size);
        rom[t + 0x18] = 0;
        rom[t + 0x19] = 1;
        rom[t + 0x1A] = 0x33;
        rom[t + 0x1B] = 0;
        rom[t - 0x10..t - 0x0A].copy_from_slice(b"MFMODF");
        rom[t - 0x0A..t - 0x03].fill(0);
        rom[t + 0x20..t + 0x40].fill(0);
        rom[t + 0x3C..t + 0x3E].copy_from_slice(&p.reset.to_le_bytes());
        rom[t + 0x2A..t + 0x2C].copy_from_slice(&p.reset.to_le_bytes());
        // SEI, CLC, XCE, REP #$30, JML $808000.
        rom[p.reset_at..p.reset_at + 9]
            .copy_from_slice(&[0x78, 0x18, 0xFB, 0xC2, 0x30, 0x5C, 0x00, 0x80, 0x80]);
        if spec.layout == Layout::HiRom {
            // The decoy: printable title, valid pair EDCB/1234, map mode $21, RESET 0, size 0.
            rom[0x7FC0..0x7FD5].copy_from_slice(b"DECOY HEADER         ");
            rom[0x7FD5] = 0x21;
            rom[0x7FD7] = 0;
            rom[0x7FDC..0x7FE0].copy_from_slice(&[0xCB, 0xED, 0x34, 0x12]);
            rom[0x7FFC..0x7FFE].copy_from_slice(&[0, 0]);
        }
        let entries: Vec<(usize, u32)> = placed
            .iter()
            .filter(|b| !b.truncated)
            .filter_map(|b| {
                offset_to_cpu(p.mapping, b.offset as u64, [0, 1, 2, 3], spec.size as u64)
                    .map(|cpu| (b.offset, cpu))
            })
            .take(0x300 / 3)
            .collect();
        for (i, (_, cpu)) in entries.iter().enumerate() {
            let at = p.table_at + 3 * i;
            rom[at..at + 3].copy_from_slice(&cpu.to_le_bytes()[..3]);
        }
        table = Some((p.table_at, entries.iter().map(|e| e.0).collect::<Vec<_>>()));
        fix_checksum(&mut rom, t);
    }
    let mut image = Vec::with_capacity(spec.size + 512);
    if spec.copier_header {
        image.resize(512, 0);
    }
    image.extend_from_slice(&rom);
    let read16 = |at: usize| u16::from_le_bytes([rom[at], rom[at + 1]]);
    let manifest = Manifest {
        seed,
        file: spec.file.clone(),
        size: spec.size,
        copier_header: if spec.copier_header { 512 } else { 0 },
        sha256: hex(&sha2::Sha256::digest(&image)),
        xxh3: format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&rom)),
        mapping: plan.as_ref().map(|p| p.mapping.as_str().to_string()),
        map_mode: plan.as_ref().map(|p| p.map_mode),
        chipset: plan.as_ref().map(|p| p.chipset),
        header_offset: plan.as_ref().map(|p| p.t as u64),
        checksum: plan.as_ref().map(|p| read16(p.t + 0x1E)),
        complement: plan.as_ref().map(|p| read16(p.t + 0x1C)),
        reset_vector: plan.as_ref().map(|p| p.reset),
        pointer_table: table.as_ref().map(|(at, e)| PointerTable {
            offset: *at as u64,
            count: e.len(),
        }),
        blocks: placed
            .iter()
            .map(|b| BlockInfo {
                offset: b.offset as u64,
                cpu: plan.as_ref().and_then(|p| {
                    offset_to_cpu(p.mapping, b.offset as u64, [0, 1, 2, 3], spec.size as u64)
                }),
                compressed_size: if b.truncated {
                    b.stream.len() - 1
                } else {
                    b.stream.len()
                },
                decoded_size: b.decoded.len(),
                decoded_sha256: hex(&sha2::Sha256::digest(&b.decoded)),
                source: b.source.into(),
                mode: b.mode.as_str().into(),
                truncated: b.truncated,
                in_table: table.as_ref().is_some_and(|(_, e)| e.contains(&b.offset)),
            })
            .collect(),
    };
    Ok(GeneratedRom { image, manifest })
}

/// Writes every image of `specs` into `dir` (which must exist) with `manifest.json` (an array of
/// manifests); returns the manifests.
pub fn write_set(dir: &Path, specs: &[RomSpec], seed: u64) -> Result<Vec<Manifest>, Error> {
    let mut manifests = Vec::new();
    for spec in specs {
        let generated = generate(spec, seed)?;
        let path = dir.join(&spec.file);
        std::fs::write(&path, &generated.image).map_err(|e| Error::io("write", &path, e))?;
        manifests.push(generated.manifest);
    }
    let path = dir.join("manifest.json");
    let json = serde_json::to_string_pretty(&manifests)
        .map_err(|e| Error::InvalidArgument(format!("manifest: {e}")))?;
    std::fs::write(&path, json).map_err(|e| Error::io("write", &path, e))?;
    Ok(manifests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_reproducible_and_blocks_decode() {
        let spec = RomSpec::new("t.sfc", Layout::LoRom, 1 << 20, 6);
        let a = generate(&spec, 7).unwrap();
        let b = generate(&spec, 7).unwrap();
        assert_eq!(a.image, b.image);
        assert_ne!(generate(&spec, 8).unwrap().image, a.image);
        assert_eq!(a.manifest.blocks.len(), 6);
        for block in &a.manifest.blocks {
            let at = block.offset as usize;
            let d = hal::decode(&a.image[at..], true).unwrap();
            assert_eq!(d.consumed, block.compressed_size);
            assert_eq!(d.data.len(), block.decoded_size);
        }
        assert!(a.manifest.blocks.iter().any(|b| b.offset % 2 == 1));
        assert!(
            a.manifest.blocks.iter().any(|b| {
                b.offset / 0x8000 != (b.offset + b.compressed_size as u64 - 1) / 0x8000
            })
        );
        let last = a.manifest.blocks.last().unwrap();
        assert_eq!(last.offset as usize + last.compressed_size, 1 << 20);
        assert!(generate(&RomSpec::new("x", Layout::LoRom, 1000, 1), 1).is_err());
    }
}
