//! Opening and closing ROM files, their header, address conversion, reads and cache counters
//! (docs/rom.md, "ROM file", "Internal header", "Address mapping", "Caches").

use std::path::{Path, PathBuf};
use std::time::Duration;

use modforge_core::hex;
use modforge_rom as rom;
use napi::Env;
use napi::bindgen_prelude::{Buffer, PromiseRaw};
use napi_derive::napi;

use super::{Failure, ROMS, offset_arg, rom_of, rom_sync};
use crate::runtime::convert::{integer_option, size_option};
use crate::runtime::{Call, NodeError, promise};

/// How the cartridge maps ROM into the CPU's address space.
#[napi(string_enum = "lowercase")]
pub enum RomMapping {
    /// 32 KiB banks at `$8000-$FFFF`.
    LoRom,
    /// 64 KiB banks.
    HiRom,
    /// HiROM extended to 8 MiB.
    ExHiRom,
    /// SA-1: four 1 MiB block registers.
    Sa1,
}

impl From<rom::Mapping> for RomMapping {
    fn from(mapping: rom::Mapping) -> Self {
        match mapping {
            rom::Mapping::LoRom => RomMapping::LoRom,
            rom::Mapping::HiRom => RomMapping::HiRom,
            rom::Mapping::ExHiRom => RomMapping::ExHiRom,
            rom::Mapping::Sa1 => RomMapping::Sa1,
        }
    }
}

impl From<RomMapping> for rom::Mapping {
    fn from(mapping: RomMapping) -> Self {
        match mapping {
            RomMapping::LoRom => rom::Mapping::LoRom,
            RomMapping::HiRom => rom::Mapping::HiRom,
            RomMapping::ExHiRom => rom::Mapping::ExHiRom,
            RomMapping::Sa1 => rom::Mapping::Sa1,
        }
    }
}

/// Where a header candidate sits.
#[napi(string_enum = "lowercase")]
pub enum HeaderLocation {
    /// `0x7FC0` (LoROM and SA-1).
    Lo,
    /// `0xFFC0`.
    Hi,
    /// `0x40FFC0`.
    ExHi,
}

impl From<rom::Location> for HeaderLocation {
    fn from(location: rom::Location) -> Self {
        match location {
            rom::Location::Lo => HeaderLocation::Lo,
            rom::Location::Hi => HeaderLocation::Hi,
            rom::Location::ExHi => HeaderLocation::ExHi,
        }
    }
}

/// The coprocessor a chipset byte names.
#[napi(string_enum = "lowercase")]
pub enum Coprocessor {
    /// DSP-n.
    Dsp,
    /// GSU (Super FX).
    Gsu,
    /// OBC1.
    Obc1,
    /// SA-1.
    Sa1,
    /// S-DD1.
    Sdd1,
    /// S-RTC.
    Srtc,
    /// Other (Super Game Boy, Satellaview).
    Other,
    /// Custom (SPC7110, ST01x, CX4).
    Custom,
    /// A high nibble without a documented meaning.
    Unknown,
}

impl From<rom::Coprocessor> for Coprocessor {
    fn from(c: rom::Coprocessor) -> Self {
        match c {
            rom::Coprocessor::Dsp => Coprocessor::Dsp,
            rom::Coprocessor::Gsu => Coprocessor::Gsu,
            rom::Coprocessor::Obc1 => Coprocessor::Obc1,
            rom::Coprocessor::Sa1 => Coprocessor::Sa1,
            rom::Coprocessor::Sdd1 => Coprocessor::Sdd1,
            rom::Coprocessor::Srtc => Coprocessor::Srtc,
            rom::Coprocessor::Other => Coprocessor::Other,
            rom::Coprocessor::Custom => Coprocessor::Custom,
            rom::Coprocessor::Unknown(_) => Coprocessor::Unknown,
        }
    }
}

/// Options of `RomFile.open`; every field optional.
#[napi(object)]
#[derive(Default)]
pub struct RomOpenOptions {
    /// Force a mapping instead of the detected one.
    pub mapping: Option<RomMapping>,
    /// SA-1 block registers CXB, DXB, EXB, FXB (each 0-7); default `[0, 1, 2, 3]`.
    pub sa1_blocks: Option<Vec<f64>>,
    /// Folder of the thumbnail disk cache (L2); default: memory cache only.
    pub cache_dir: Option<String>,
    /// Disk cache entries older than this many milliseconds are not served; default: no limit.
    pub cache_ttl_ms: Option<f64>,
    /// Memory cache (L1) capacity in bytes; default 64 MiB.
    pub l1_max_bytes: Option<f64>,
    /// Memory cache (L1) capacity in entries; default 1,024.
    pub l1_max_entries: Option<f64>,
}

impl RomOpenOptions {
    fn resolve(self) -> Result<rom::OpenOptions, NodeError> {
        let mut options = rom::OpenOptions {
            mapping: self.mapping.map(Into::into),
            cache_dir: self.cache_dir.map(PathBuf::from),
            ..rom::OpenOptions::default()
        };
        if let Some(blocks) = self.sa1_blocks {
            let values: Vec<u8> = blocks
                .iter()
                .map(|&b| {
                    integer_option("sa1Blocks[]", Some(b), 0, 7).map(|v| v.unwrap_or(0) as u8)
                })
                .collect::<Result<_, _>>()?;
            options.sa1_blocks = values.try_into().map_err(|v: Vec<u8>| {
                NodeError::InvalidArg(format!(
                    "option `sa1Blocks` must list 4 block numbers (CXB, DXB, EXB, FXB), got {}",
                    v.len()
                ))
            })?;
        }
        if let Some(ms) = size_option("cacheTtlMs", self.cache_ttl_ms)? {
            options.cache_ttl = Some(Duration::from_millis(ms));
        }
        if let Some(bytes) = size_option("l1MaxBytes", self.l1_max_bytes)? {
            options.l1_max_bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        }
        if let Some(entries) = integer_option("l1MaxEntries", self.l1_max_entries, 0, 1 << 24)? {
            options.l1_max_entries = entries as usize;
        }
        Ok(options)
    }
}

/// The internal header of the winning candidate (docs/rom.md, "Internal header").
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct RomHeader {
    /// Which candidate location won.
    pub location: HeaderLocation,
    /// `T`: the title's offset (`0x7FC0`, `0xFFC0` or `0x40FFC0`).
    pub header_offset: f64,
    /// The title decoded from JIS X 0201, trailing spaces removed.
    pub title: String,
    /// The 21 raw title bytes.
    pub title_bytes: Buffer,
    /// Map mode byte (`$FFD5`).
    pub map_mode: u32,
    /// Bit 4 of the map mode.
    pub fast_rom: bool,
    /// The mapping the header names (SA-1 by map mode `$23` or an SA-1 chipset).
    pub mapping: RomMapping,
    /// Chipset byte (`$FFD6`).
    pub chipset: u32,
    /// The coprocessor the chipset names, or `null`.
    pub coprocessor: Option<Coprocessor>,
    /// ROM size byte (`$FFD7`).
    pub rom_size_byte: u32,
    /// `1 << n` KiB, or `null` when the byte is too large to mean anything.
    #[napi(js_name = "romSizeKiB")]
    pub rom_size_kib: Option<f64>,
    /// SRAM size byte (`$FFD8`).
    pub sram_size_byte: u32,
    /// `1 << n` KiB (0 = none), or `null`.
    #[napi(js_name = "sramSizeKiB")]
    pub sram_size_kib: Option<f64>,
    /// Destination code (`$FFD9`: 0 Japan, 1 North America, 2 Europe, ...).
    pub destination: u32,
    /// Developer ID (`$FFDA`); `0x33` means an extended header.
    pub developer_id: u32,
    /// Maker code (`$FFB0`) as JIS X 0201 text (zero bytes read as spaces, trailing spaces
    /// removed), only when the developer ID is `0x33`.
    pub maker_code: Option<String>,
    /// Game code (`$FFB2`), decoded like the maker code, only when the developer ID is `0x33`.
    pub game_code: Option<String>,
    /// Version (`$FFDB`).
    pub version: u32,
    /// Checksum complement (`$FFDC`).
    pub complement: u32,
    /// Checksum (`$FFDE`).
    pub checksum: u32,
    /// The checksum computed over the ROM (byte sum, mirroring rule, placeholder rule).
    pub computed_checksum: u32,
    /// `complement ^ checksum == 0xFFFF` and `computedChecksum == checksum`.
    pub checksum_valid: bool,
    /// Emulation-mode RESET vector (`$FFFC`).
    pub reset_vector: u32,
    /// The winning score (0-11; at least 5).
    pub score: u32,
}

impl From<&rom::Header> for RomHeader {
    fn from(h: &rom::Header) -> Self {
        RomHeader {
            location: h.location.into(),
            header_offset: h.offset as f64,
            title: h.title.clone(),
            title_bytes: h.title_bytes.to_vec().into(),
            map_mode: u32::from(h.map_mode),
            fast_rom: h.fast_rom,
            mapping: h.mapping.into(),
            chipset: u32::from(h.chipset),
            coprocessor: h.coprocessor.map(Into::into),
            rom_size_byte: u32::from(h.rom_size_byte),
            rom_size_kib: h.rom_size_kib.map(|k| k as f64),
            sram_size_byte: u32::from(h.sram_size_byte),
            sram_size_kib: h.sram_size_kib.map(|k| k as f64),
            destination: u32::from(h.destination),
            developer_id: u32::from(h.developer_id),
            maker_code: h.maker_code.map(|c| rom::decode_title(&c)),
            game_code: h.game_code.map(|c| rom::decode_title(&c)),
            version: u32::from(h.version),
            complement: u32::from(h.complement),
            checksum: u32::from(h.checksum),
            computed_checksum: u32::from(h.computed_checksum),
            checksum_valid: h.checksum_valid,
            reset_vector: u32::from(h.reset_vector),
            score: h.score,
        }
    }
}

/// One scored header location (docs/rom.md, "Header detection").
#[napi(object, object_from_js = false)]
pub struct HeaderCandidate {
    /// The location.
    pub location: HeaderLocation,
    /// `T`.
    pub offset: f64,
    /// The score (0-11).
    pub score: u32,
    /// The rules that scored: `pair`, `mapMode`, `reset`, `opcode`, `title`, `romSize`,
    /// `checksum`.
    pub reasons: Vec<String>,
}

/// What JavaScript keeps of an open ROM (its getters need no native call).
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct RomInfo {
    /// The handle for `rom*` calls.
    pub handle: u32,
    /// The file's path.
    pub path: String,
    /// ROM size in bytes, copier header excluded.
    pub size: f64,
    /// 512 when the file has a copier header, else 0.
    pub copier_header: u32,
    /// The detected header (best score at least 5), or `null`.
    pub header: Option<RomHeader>,
    /// Every scored candidate, LoROM first.
    pub header_candidates: Vec<HeaderCandidate>,
    /// The mapping in use (forced, else the header's), or `null`.
    pub mapping: Option<RomMapping>,
    /// The SA-1 block registers in use.
    pub sa1_blocks: Vec<u32>,
    /// The checksum computed over the ROM: with the placeholder rule at the header, or the plain
    /// mirrored byte sum without a header.
    pub computed_checksum: u32,
    /// Whether the header's checksum pair is valid and equals the computed checksum (false
    /// without a header).
    pub checksum_valid: bool,
}

fn describe(handle: u32, file: &rom::RomFile) -> Result<RomInfo, NodeError> {
    Ok(RomInfo {
        handle,
        path: file.label().to_owned(),
        size: file.size() as f64,
        copier_header: file.copier_header(),
        header: file.header().map(RomHeader::from),
        header_candidates: file
            .header_candidates()
            .iter()
            .map(|c| HeaderCandidate {
                location: c.location.into(),
                offset: c.offset as f64,
                score: c.score,
                reasons: c.reasons.iter().map(|r| (*r).to_owned()).collect(),
            })
            .collect(),
        mapping: file.mapping().map(Into::into),
        sa1_blocks: file.sa1_blocks().iter().map(|&b| u32::from(b)).collect(),
        computed_checksum: u32::from(file.computed_checksum()?),
        checksum_valid: file.header().is_some_and(|h| h.checksum_valid),
    })
}

fn register(env: &Env, file: rom::RomFile) -> Result<RomInfo, NodeError> {
    let bytes = file.size() + u64::from(file.copier_header());
    let file = std::sync::Arc::new(file);
    let handle = ROMS.insert(env, std::sync::Arc::clone(&file), bytes);
    describe(handle, &file).inspect_err(|_| ROMS.remove(env, handle))
}

fn open_now(path: &str, options: Option<RomOpenOptions>) -> Result<rom::RomFile, NodeError> {
    let options = options.unwrap_or_default().resolve()?;
    Ok(rom::RomFile::open(Path::new(path), &options)?)
}

/// Opens a ROM file off the main thread: reads it once into memory, strips a copier header,
/// scores the header candidates and computes the checksum (no content hash).
#[napi(ts_return_type = "Promise<RomInfo>")]
pub fn rom_open<'env>(
    env: &'env Env,
    path: String,
    options: Option<RomOpenOptions>,
) -> napi::Result<PromiseRaw<'env, RomInfo>> {
    promise(
        env,
        "rom",
        Call::new(None, None),
        move |_control| open_now(&path, options),
        register,
    )
}

/// Opens a ROM file on the calling thread.
#[napi]
pub fn rom_open_sync(
    env: &Env,
    path: String,
    options: Option<RomOpenOptions>,
) -> napi::Result<RomInfo> {
    rom_sync(env, || {
        let file = open_now(&path, options)?;
        Ok(register(env, file)?)
    })
}

/// Takes ROM `handle` out of service at once (later calls throw) and releases its memory once
/// every in-flight call finished; the Promise settles then. Closing twice is harmless.
#[napi(ts_return_type = "Promise<void>")]
pub fn rom_close<'env>(env: &'env Env, handle: u32) -> napi::Result<PromiseRaw<'env, ()>> {
    let file = ROMS.get(handle).ok();
    ROMS.remove(env, handle);
    promise(
        env,
        "rom",
        Call::new(None, None),
        move |_control| {
            if let Some(file) = file {
                file.close();
            }
            Ok(())
        },
        |_env, ()| Ok(()),
    )
}

/// [`rom_close`] on the calling thread (blocks while calls on the ROM are running).
#[napi]
pub fn rom_close_sync(env: &Env, handle: u32) {
    let file = ROMS.get(handle).ok();
    ROMS.remove(env, handle);
    if let Some(file) = file {
        file.close();
    }
}

/// Whether the file changed on disk (size, modification time or identity) since it was read.
#[napi]
pub fn rom_is_stale(env: &Env, handle: u32) -> napi::Result<bool> {
    rom_sync(env, || Ok(rom_of(handle)?.is_stale()?))
}

/// XXH3-128 of the ROM bytes without copier header, as 32 hex digits (computed once).
#[napi]
pub fn rom_content_hash(env: &Env, handle: u32) -> napi::Result<String> {
    rom_sync(env, || Ok(hex::u128(rom_of(handle)?.content_hash()?)))
}

/// The ROM offset of a 24-bit CPU address, `null` when it is not ROM.
#[napi]
pub fn rom_cpu_to_offset(env: &Env, handle: u32, address: f64) -> napi::Result<Option<f64>> {
    rom_sync(env, || {
        let address = integer_option("address", Some(address), 0, 0xFF_FFFF)?.unwrap_or(0);
        Ok(rom_of(handle)?
            .cpu_to_offset(address as u32)?
            .map(|o| o as f64))
    })
}

/// The canonical CPU address of a ROM offset, `null` when the mapping does not show it.
#[napi]
pub fn rom_offset_to_cpu(env: &Env, handle: u32, offset: f64) -> napi::Result<Option<u32>> {
    rom_sync(env, || {
        let offset = offset_arg("offset", offset)?;
        Ok(rom_of(handle)?.offset_to_cpu(offset)?)
    })
}

/// A copy of `length` bytes at ROM offset `offset` (a Buffer that owns its bytes).
#[napi]
pub fn rom_read(env: &Env, handle: u32, offset: f64, length: f64) -> napi::Result<Buffer> {
    rom_sync(env, || {
        let offset = offset_arg("offset", offset)?;
        let length = offset_arg("length", length)?;
        Ok(rom_of(handle)?.read(offset, length)?.into())
    })
}

/// The 24-bit little-endian pointer (`lo, hi, bank`) at ROM offset `offset`.
#[napi]
pub fn rom_read_pointer(env: &Env, handle: u32, offset: f64) -> napi::Result<u32> {
    rom_sync(env, || {
        let offset = offset_arg("offset", offset)?;
        Ok(rom_of(handle)?.read_pointer(offset)?)
    })
}

/// Counters of the memory cache.
#[napi(object, object_from_js = false)]
pub struct L1Stats {
    /// Lookups served.
    pub hits: f64,
    /// Lookups not served.
    pub misses: f64,
    /// Entries held.
    pub entries: f64,
    /// Bytes held.
    pub bytes: f64,
    /// Entries evicted to stay within the caps.
    pub evictions: f64,
}

/// Counters of the disk cache.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct L2Stats {
    /// Whether a usable cache folder is configured.
    pub enabled: bool,
    /// Entries served from disk.
    pub hits: f64,
    /// Lookups not served.
    pub misses: f64,
    /// Entries written.
    pub writes: f64,
    /// Failed reads or writes (the call still succeeded).
    pub errors: f64,
    /// Why the disk cache is not used, when it was configured but cannot be used.
    pub degraded: Option<String>,
}

/// `rom.cacheStats()`.
#[napi(object, object_from_js = false)]
pub struct CacheStats {
    /// The memory cache.
    pub l1: L1Stats,
    /// The disk cache.
    pub l2: L2Stats,
}

/// The counters of both cache levels of ROM `handle`.
#[napi]
pub fn rom_cache_stats(env: &Env, handle: u32) -> napi::Result<CacheStats> {
    rom_sync(env, || {
        let s = rom_of(handle)?.cache_stats();
        Ok::<_, Failure>(CacheStats {
            l1: L1Stats {
                hits: s.l1.hits as f64,
                misses: s.l1.misses as f64,
                entries: s.l1.entries as f64,
                bytes: s.l1.bytes as f64,
                evictions: s.l1.evictions as f64,
            },
            l2: L2Stats {
                enabled: s.l2.enabled,
                hits: s.l2.hits as f64,
                misses: s.l2.misses as f64,
                writes: s.l2.writes as f64,
                errors: s.l2.errors as f64,
                degraded: s.l2.degraded,
            },
        })
    })
}
