//! `generateRom`: the seeded SNES ROM images of modforge-gen with their manifest (docs/rom.md,
//! "Generated ROMs"), for tests, the demo and the benchmarks.

use std::path::Path;

use modforge_core::{Control, Progress, Stage};
use modforge_gen::rom::{self as gen_rom, Layout};
use napi::Env;
use napi::bindgen_prelude::PromiseRaw;
use napi_derive::napi;

use super::{Failure, rom_sync};
use crate::runtime::convert::{integer_option, size_option};
use crate::runtime::{Call, CancelFlag, NodeError, promise};

/// The kind of generated image.
#[napi(string_enum = "camelCase")]
pub enum RomLayout {
    /// LoROM, SlowROM (`$20`).
    Lorom,
    /// LoROM, FastROM (`$30`).
    LoromFast,
    /// HiROM (`$21`) with a decoy header at `0x7FC0`.
    Hirom,
    /// ExHiROM (`$35`), header at `0x40FFC0`; more than 4 MiB.
    Exhirom,
    /// SA-1 (`$23`, chipset `$35`).
    Sa1,
    /// No header: noise and blocks, the last one cut off by the end of the file.
    Noise,
}

impl From<RomLayout> for Layout {
    fn from(layout: RomLayout) -> Self {
        match layout {
            RomLayout::Lorom => Layout::LoRom,
            RomLayout::LoromFast => Layout::LoRomFast,
            RomLayout::Hirom => Layout::HiRom,
            RomLayout::Exhirom => Layout::ExHiRom,
            RomLayout::Sa1 => Layout::Sa1,
            RomLayout::Noise => Layout::Noise,
        }
    }
}

/// Options of `generateRom`; every field optional.
#[napi(object)]
#[derive(Default)]
pub struct RomGeneratorOptions {
    /// The layout; default `sa1`.
    pub layout: Option<RomLayout>,
    /// ROM size in bytes (copier header excluded), 128 KiB to 64 MiB; default 4 MiB.
    pub size: Option<f64>,
    /// HAL blocks to place; default 16.
    pub blocks: Option<f64>,
    /// Tiles per sprite block (128 = 4 KiB); default: varied, 4 to 256.
    pub block_tiles: Option<f64>,
    /// Prepend a 512-byte copier header; default false.
    pub copier_header: Option<bool>,
    /// Seed of every random choice; default 1.
    pub seed: Option<f64>,
}

/// One HAL block of a generated image.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct GeneratedBlock {
    /// ROM offset of the stream.
    pub offset: f64,
    /// Canonical CPU address, when the mapping shows the offset.
    pub cpu: Option<u32>,
    /// Stream bytes including `FF` (for the truncated block: the bytes present).
    pub compressed_size: u32,
    /// Decoded bytes.
    pub decoded_size: u32,
    /// SHA-256 of the decoded bytes, hex.
    pub decoded_sha256: String,
    /// What the block holds (`glyphs`, `sprites`).
    pub source: String,
    /// Encoder mode (`fast`, `greedy`, `optimal`).
    pub mode: String,
    /// True for the noise image's last block, whose `FF` is cut off.
    pub truncated: bool,
    /// Whether the block is listed in the pointer table.
    pub in_table: bool,
}

/// The 24-bit pointer table of a generated image.
#[napi(object, object_from_js = false)]
pub struct GeneratedPointerTable {
    /// ROM offset of the table.
    pub offset: f64,
    /// Entries (3 bytes each, `lo hi bank`), in block order.
    pub count: u32,
}

/// What a generated image holds.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct GeneratedRom {
    /// The file written.
    pub path: String,
    /// The seed.
    pub seed: f64,
    /// ROM size (copier header excluded).
    pub size: f64,
    /// 512 or 0.
    pub copier_header: u32,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// XXH3-128 of the ROM bytes without copier header (`rom.contentHash()`), hex.
    pub xxh3: String,
    /// `lorom`, `hirom`, `exhirom`, `sa1`, or `null` (noise).
    pub mapping: Option<String>,
    /// Map mode byte.
    pub map_mode: Option<u32>,
    /// Chipset byte.
    pub chipset: Option<u32>,
    /// The header's title offset `T`.
    pub header_offset: Option<f64>,
    /// Stored checksum.
    pub checksum: Option<u32>,
    /// Stored complement.
    pub complement: Option<u32>,
    /// RESET vector.
    pub reset_vector: Option<u32>,
    /// The pointer table.
    pub pointer_table: Option<GeneratedPointerTable>,
    /// The blocks, by offset.
    pub blocks: Vec<GeneratedBlock>,
}

fn generate_now(
    path: &str,
    options: RomGeneratorOptions,
    control: &Control<'_>,
) -> Result<GeneratedRom, Failure> {
    control.check()?;
    let file = Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| NodeError::InvalidArg(format!("{path} names no file")))?;
    let layout = options.layout.map_or(Layout::Sa1, Into::into);
    let size = size_option("size", options.size)?.unwrap_or(4 << 20);
    let blocks = integer_option("blocks", options.blocks, 1, 4096)?.unwrap_or(16);
    let mut spec = gen_rom::RomSpec::new(
        &file,
        layout,
        usize::try_from(size).unwrap_or(usize::MAX),
        blocks as usize,
    );
    spec.copier_header = options.copier_header.unwrap_or(false);
    spec.block_tiles =
        integer_option("blockTiles", options.block_tiles, 1, 2048)?.map(|t| t as usize);
    let seed = integer_option("seed", options.seed, 0, u32::MAX as u64)?.unwrap_or(1);
    control.report(Progress::of(Stage::Generate, 0, 1).at(&file));
    let generated = gen_rom::generate(&spec, seed).map_err(NodeError::from)?;
    modforge_rom::write_atomic(Path::new(path), &generated.image, control)?;
    control.report(Progress::of(Stage::Generate, 1, 1).at(&file));
    let m = generated.manifest;
    Ok(GeneratedRom {
        path: path.to_owned(),
        seed: m.seed as f64,
        size: m.size as f64,
        copier_header: m.copier_header as u32,
        sha256: m.sha256,
        xxh3: m.xxh3,
        mapping: m.mapping,
        map_mode: m.map_mode.map(u32::from),
        chipset: m.chipset.map(u32::from),
        header_offset: m.header_offset.map(|o| o as f64),
        checksum: m.checksum.map(u32::from),
        complement: m.complement.map(u32::from),
        reset_vector: m.reset_vector.map(u32::from),
        pointer_table: m.pointer_table.map(|t| GeneratedPointerTable {
            offset: t.offset as f64,
            count: t.count as u32,
        }),
        blocks: m
            .blocks
            .into_iter()
            .map(|b| GeneratedBlock {
                offset: b.offset as f64,
                cpu: b.cpu,
                compressed_size: b.compressed_size as u32,
                decoded_size: b.decoded_size as u32,
                decoded_sha256: b.decoded_sha256,
                source: b.source,
                mode: b.mode,
                truncated: b.truncated,
                in_table: b.in_table,
            })
            .collect(),
    })
}

/// Writes a seeded SNES ROM image to `path` (atomically) off the main thread and returns its
/// manifest. Progress: stage `generate` (`done`/`total` = 1 image), with `write` (bytes) between.
#[napi(ts_return_type = "Promise<GeneratedRom>")]
pub fn generate_rom<'env>(
    env: &'env Env,
    path: String,
    options: Option<RomGeneratorOptions>,
    cancel: Option<&CancelFlag>,
) -> napi::Result<PromiseRaw<'env, GeneratedRom>> {
    let options = options.unwrap_or_default();
    promise(
        env,
        "generate",
        Call::new(cancel, None),
        move |control| generate_now(&path, options, control).map_err(NodeError::from),
        |_env, generated| Ok(generated),
    )
}

/// [`generate_rom`] on the calling thread.
#[napi]
pub fn generate_rom_sync(
    env: &Env,
    path: String,
    options: Option<RomGeneratorOptions>,
) -> napi::Result<GeneratedRom> {
    rom_sync(env, || {
        generate_now(&path, options.unwrap_or_default(), &Control::default())
    })
}
