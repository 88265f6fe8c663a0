/// <reference types="node" preserve="true" />
/**
 * SNES ROMs (docs/rom.md): a ROM file read once into memory with its header detected by scoring
 * (LoROM, HiROM, ExHiROM, SA-1), CPU address conversion and the checksum; the HAL Laboratory
 * compression format (`hal`); SNES tiles and palettes (`decodeTiles`, `encodeTiles`); parallel
 * extraction, thumbnails behind a priority queue, a scanner, two cache levels and patching into a
 * copy; and the seeded ROM generator of the tests, the demo and the benchmarks.
 *
 * Every offset is into the ROM without its 512-byte copier header.
 */
import type * as binding from '../binding'
import type { ModforgeError } from './errors'
import { cancellable } from './internal/call'
import { native } from './internal/native'
import { abortError, invalidArg } from './internal/raise'
import {
  boolean,
  buffer,
  entries,
  expected,
  func,
  integer,
  object,
  oneOf,
  optional,
  options as optionsOf,
  promiseOnly,
  reading,
  signal,
  string,
  type Check,
  type Schema,
} from './internal/validate'
import type { ProgressListener } from './progress'

export type {
  CacheStats,
  Coprocessor,
  ExtractedBlock,
  GeneratedBlock,
  GeneratedPointerTable,
  GeneratedRom,
  HalDecoded,
  HalMode,
  HeaderCandidate,
  HeaderLocation,
  ImageFormatName as ImageFormat,
  L1Stats,
  L2Stats,
  PatchResult,
  RomHeader,
  RomItemError,
  RomLayout,
  RomMapping,
  ScanHit,
  Thumbnail,
  ThumbnailOutcome,
  TileFormatName as TileFormat,
  TileSheet,
} from '../binding'

/** An `ERR_MODFORGE_FORMAT` of a HAL stream that does not decode. */
export interface HalError extends ModforgeError {
  /** Why: `truncated`, `badCommand`, `refToUnwritten`, `badRef` or `outputTooLarge`. */
  reason: 'truncated' | 'badCommand' | 'refToUnwritten' | 'badRef' | 'outputTooLarge'
}

/**
 * Where colours come from: `'greyscale'` (`i·255 / (2^bpp - 1)`), sub-palette `index` of a
 * 512-byte CGRAM dump (default 8 for 4bpp, the first OBJ palette, else 0), raw BGR555 words at a
 * ROM offset (thumbnails), or raw BGR555 words given as bytes (`decodeTiles`, `encodeTiles`).
 */
export type Palette = 'greyscale' | { cgram: Uint8Array; index?: number } | { rom: number } | { bgr555: Uint8Array }

/** Options of {@link RomFile.open}; every field optional. */
export interface RomOpenOptions {
  /** Force a mapping instead of the detected one. */
  mapping?: binding.RomMapping
  /** SA-1 block registers CXB, DXB, EXB, FXB (each 0-7); default `[0, 1, 2, 3]`. */
  sa1Blocks?: number[]
  /** Folder of the thumbnail disk cache (L2); default: memory cache only. An unusable folder degrades to memory only (see `cacheStats().l2.degraded`). */
  cacheDir?: string
  /** Disk cache entries older than this (by modification time) are not served; default: no limit. */
  cacheTtlMs?: number
  /** Memory cache (L1) capacity in bytes; default 64 MiB. */
  l1MaxBytes?: number
  /** Memory cache (L1) capacity in entries; default 1,024. */
  l1MaxEntries?: number
}

/** Options of {@link RomFile.extract}. */
export interface ExtractOptions {
  /** Strict HAL decoding (refuses `FC`-`FE` and references to unwritten output); default false. */
  strict?: boolean
  /** Worker threads, 1-256; default one per core. */
  threads?: number
  /** Stops the batch between blocks; it rejects with `ABORT_ERR`. */
  signal?: AbortSignal
  /** `{ stage: 'extract', done, total }`: distinct offsets decoded. */
  onProgress?: ProgressListener<'extract'>
}

/** How a thumbnail is made; every field optional. */
export interface ThumbnailOptions {
  /** The box the image is scaled into (nearest neighbour): a side, or `{ width, height }`; default 128. */
  box?: number | { width: number; height: number }
  /** Output encoding: 8-bit indexed `png` (default), lossless `webp`, or raw `rgba`. */
  format?: binding.ImageFormatName
  /** How the decoded bytes are read as tiles; default `4bpp`. */
  tileFormat?: binding.TileFormatName
  /** Tiles per sheet row, 1-256; default 16. */
  columns?: number
  /** Colours; default `'greyscale'`. */
  palette?: Palette
  /** Colour 0 as `(0, 0, 0, 0)`; default true. */
  transparent?: boolean
  /** Strict HAL decoding; default false. */
  strict?: boolean
  /** Queue priority: lower runs first, arrival order within a priority; default 0. */
  priority?: number
}

/** Options of {@link RomFile.thumbnail}. */
export interface ThumbnailCallOptions extends ThumbnailOptions {
  /** Withdraws the request: it rejects with `ABORT_ERR`; a pending job nobody else wants is dropped unrun. */
  signal?: AbortSignal
}

/** One request of {@link RomFile.thumbnails}: an offset, or an offset with its own options. */
export type ThumbnailRequest = number | ({ offset: number } & ThumbnailOptions)

/** Options of {@link RomFile.thumbnails}: defaults for every request, a signal and progress. */
export interface ThumbnailsOptions extends ThumbnailOptions {
  /** Stops the batch; it rejects with `ABORT_ERR`. */
  signal?: AbortSignal
  /** `{ stage: 'thumbnail', done, total }`: thumbnails rendered. */
  onProgress?: ProgressListener<'thumbnail'>
}

/** Options of {@link RomFile.scan}; every field optional. */
export interface ScanOptions {
  /** First offset; default 0. */
  start?: number
  /** End offset (exclusive); default the ROM's size. */
  end?: number
  /** Distance between candidate offsets; default 1. */
  step?: number
  /** Strict HAL decoding; default true. */
  strict?: boolean
  /** Smallest decoded size in 32-byte tiles; default 4. */
  minTiles?: number
  /** Smallest score accepted, 0-1; default 0.75. */
  minScore?: number
  /** Worker threads, 1-256; default one per core. */
  threads?: number
  /** Stops the scan between chunks of candidates; it rejects with `ABORT_ERR`. */
  signal?: AbortSignal
  /** `{ stage: 'scan', done, total }`: bytes of the range scanned. */
  onProgress?: ProgressListener<'scan'>
}

/** One edit of {@link RomFile.patch}. */
export interface RomEdit {
  /** ROM offset of the first byte. */
  offset: number
  /** The bytes written there. */
  bytes: Uint8Array
}

/** Options of {@link RomFile.patch}. */
export interface PatchOptions {
  /** Stops the write; nothing is left behind (no temp file, `dest` untouched). */
  signal?: AbortSignal
  /** `{ stage: 'patch', done: 0, total: 1 }`, `{ stage: 'write', done, total }` in bytes (per MiB written), then `{ stage: 'patch', done: 1, total: 1 }`; throttled, so a small ROM may show only the `patch` events. */
  onProgress?: ProgressListener<'write' | 'patch'>
}

/** Options of {@link hal.encode}. */
export interface HalEncodeOptions {
  /** `fast`, `greedy` (default) or `optimal` (the minimum-size stream). */
  mode?: binding.HalMode
  /** Stops the encoder between its phases; it rejects with `ABORT_ERR`. */
  signal?: AbortSignal
}

/** Options of {@link hal.decode} and {@link hal.compressedLength}. */
export interface HalDecodeOptions {
  /** Refuse `FC`-`FE` (`badCommand`) and references to unwritten output (`refToUnwritten`); default false (exhal-compatible). */
  strict?: boolean
}

/** Options of {@link decodeTiles}. */
export interface DecodeTilesOptions {
  /** The tile format; default `4bpp`. */
  format?: binding.TileFormatName
  /** Tiles per sheet row, 1-256; default 16. */
  columns?: number
  /** Also render `rgba` with this palette (`'greyscale'`, `{ cgram, index? }` or `{ bgr555 }`). */
  palette?: Palette
  /** Colour 0 as `(0, 0, 0, 0)` in the RGBA; default true. */
  transparent?: boolean
}

/** A sheet for {@link encodeTiles}: indices (as {@link decodeTiles} returns them), or RGBA pixels. */
export type TileSheetInput = {
  width: number
  height: number
  /** One palette index per pixel (as {@link decodeTiles} returns them). */
  indices?: Uint8Array | null
  /** RGBA pixels, matched to indices through `options.palette`. */
  rgba?: Uint8Array | null
  /** Ignored (a {@link decodeTiles} result can be passed back as it is). */
  tiles?: number
  /** Ignored. */
  partialTile?: boolean
}

/** Options of {@link encodeTiles}. */
export interface EncodeTilesOptions {
  /** The tile format; default `4bpp`. */
  format?: binding.TileFormatName
  /** Tiles to write, row-major from the top left; default every cell of the sheet. */
  tiles?: number
  /** The palette RGBA pixels are matched against (required for `rgba`). */
  palette?: Palette
  /** Alpha-0 pixels are colour 0; default true. */
  transparent?: boolean
  /** `exact` (default: equal at 5-bit precision, else an error naming the pixel) or `nearest`. */
  match?: 'exact' | 'nearest'
}

/** Options of {@link generateRom}; every field optional. */
export interface GenerateRomOptions {
  /** `lorom`, `loromFast`, `hirom`, `exhirom` (more than 4 MiB), `sa1` (default) or `noise`. */
  layout?: binding.RomLayout
  /** ROM size in bytes (copier header excluded), 128 KiB to 64 MiB; default 4 MiB. */
  size?: number
  /** HAL blocks to place; default 16. */
  blocks?: number
  /** Tiles per sprite block (128 = 4 KiB); default varied, 4 to 256. */
  blockTiles?: number
  /** Prepend a 512-byte copier header; default false. */
  copierHeader?: boolean
  /** Seed of every random choice; default 1. */
  seed?: number
  /** Stops the generation; it rejects with `ABORT_ERR`. */
  signal?: AbortSignal
}

// ---------------------------------------------------------------------------------------------
// Argument checks
// ---------------------------------------------------------------------------------------------

const MAX_OFFSET = 2 ** 40
const offset = integer(0, MAX_OFFSET)
const threads = integer(1, 256)

const PALETTE_FORMS = "'greyscale', { cgram, index? }, { rom } or { bgr555 }"
const CGRAM_PALETTE = object<{ cgram: Buffer; index?: number }>({ cgram: buffer, index: optional(integer(0, 255)) }, PALETTE_FORMS)
const ROM_PALETTE = object<{ rom: number }>({ rom: offset }, PALETTE_FORMS)
const BGR_PALETTE = object<{ bgr555: Buffer }>({ bgr555: buffer }, PALETTE_FORMS)

/** A palette in its native form. */
const palette: Check<binding.PaletteSpec> = (value, label) => {
  if (value === 'greyscale') return { kind: 'greyscale' }
  const keys = entries(value, label, PALETTE_FORMS).map(([key]) => key)
  if (keys.includes('cgram')) {
    const { cgram, index } = CGRAM_PALETTE(value, label)
    if (cgram.length !== 512) throw invalidArg(`${label}.cgram must be a 512-byte CGRAM dump, got ${cgram.length} bytes`)
    return { kind: 'cgram', bytes: cgram, index }
  }
  if (keys.includes('rom')) return { kind: 'rom', offset: ROM_PALETTE(value, label).rom }
  if (keys.includes('bgr555')) return { kind: 'bgr555', bytes: BGR_PALETTE(value, label).bgr555 }
  return expected(label, PALETTE_FORMS, value)
}

const boxSide = integer(1, 4096)
const box: Check<{ width: number; height: number }> = (value, label) => {
  if (typeof value === 'number') {
    const side = boxSide(value, label)
    return { width: side, height: side }
  }
  return object<{ width: number; height: number }>({ width: boxSide, height: boxSide }, 'a side in pixels or { width, height }')(value, label)
}

const TILE_FORMATS = ['1bpp', '2bpp', '4bpp', '8bpp', 'mode7', 'sa1-4bpp'] as const
const tileFormat = oneOf<binding.TileFormatName>(...TILE_FORMATS)

const THUMBNAIL_FIELDS: Schema<Omit<ThumbnailOptions, 'palette' | 'box'>> & {
  palette: Check<binding.PaletteSpec | undefined>
  box: Check<{ width: number; height: number } | undefined>
} = {
  box: optional(box),
  format: optional(oneOf<binding.ImageFormatName>('png', 'webp', 'rgba')),
  tileFormat: optional(tileFormat),
  columns: optional(integer(1, 256)),
  palette: optional(palette),
  transparent: optional(boolean),
  strict: optional(boolean),
  priority: optional(integer(-(2 ** 31), 2 ** 31 - 1)),
}

type CheckedThumbnail = Omit<ThumbnailOptions, 'palette' | 'box'> & { palette?: binding.PaletteSpec; box?: { width: number; height: number } }

function nativeThumbnail(checked: CheckedThumbnail): binding.ThumbnailOptions {
  const { box: size, format, tileFormat: tiles, columns, palette: colours, transparent, strict, priority } = checked
  return { boxWidth: size?.width, boxHeight: size?.height, format, tileFormat: tiles, columns, palette: colours, transparent, strict, priority }
}

const THUMBNAIL = object<CheckedThumbnail & { signal?: AbortSignal }>({ ...THUMBNAIL_FIELDS, signal: optional(signal) } as Schema<CheckedThumbnail & { signal?: AbortSignal }>)
const THUMBNAIL_SYNC = object<CheckedThumbnail & { signal?: undefined }>({ ...THUMBNAIL_FIELDS, signal: promiseOnly('rom.thumbnail') } as Schema<CheckedThumbnail & { signal?: undefined }>)
const THUMBNAILS = object<CheckedThumbnail & { signal?: AbortSignal; onProgress?: ProgressListener<'thumbnail'> }>({
  ...THUMBNAIL_FIELDS,
  signal: optional(signal),
  onProgress: optional(func<ProgressListener<'thumbnail'>>()),
} as Schema<CheckedThumbnail & { signal?: AbortSignal; onProgress?: ProgressListener<'thumbnail'> }>)
const THUMBNAILS_SYNC = object<CheckedThumbnail & { signal?: undefined; onProgress?: undefined }>({
  ...THUMBNAIL_FIELDS,
  signal: promiseOnly('rom.thumbnails'),
  onProgress: promiseOnly('rom.thumbnails'),
} as Schema<CheckedThumbnail & { signal?: undefined; onProgress?: undefined }>)
const REQUEST = object<CheckedThumbnail & { offset: number }>({ ...THUMBNAIL_FIELDS, offset } as Schema<CheckedThumbnail & { offset: number }>, 'an offset or { offset, ...options }')

/** The requests of a batch, each merged over the batch's defaults. */
function requestsOf(value: unknown, label: string, defaults: CheckedThumbnail): binding.ThumbnailRequest[] {
  if (!Array.isArray(value)) return expected(label, 'an array of offsets or { offset, ...options }', value)
  const list = reading(label, () => Array.prototype.slice.call(value) as unknown[])
  return list.map((item, index) => {
    const itemLabel = `${label}[${index}]`
    if (typeof item === 'number') return { offset: offset(item, itemLabel), options: nativeThumbnail(defaults) }
    const { offset: at, ...own } = REQUEST(item, itemLabel)
    return { offset: at, options: nativeThumbnail({ ...defaults, ...own }) }
  })
}

/** An array of offsets (copied). */
function offsetsOf(value: unknown, label: string): number[] {
  if (!Array.isArray(value)) return expected(label, 'an array of ROM offsets', value)
  const list = reading(label, () => Array.prototype.slice.call(value) as unknown[])
  return list.map((item, index) => offset(item, `${label}[${index}]`))
}

const OPEN: Schema<RomOpenOptions> = {
  mapping: optional(oneOf<binding.RomMapping>('lorom', 'hirom', 'exhirom', 'sa1')),
  sa1Blocks: optional((value, label) => {
    if (!Array.isArray(value) || value.length !== 4) return expected(label, 'an array of 4 block numbers (CXB, DXB, EXB, FXB)', value)
    return (Array.prototype.slice.call(value) as unknown[]).map((item, index) => integer(0, 7)(item, `${label}[${index}]`))
  }),
  cacheDir: optional(string),
  cacheTtlMs: optional(integer(0)),
  l1MaxBytes: optional(integer(0)),
  l1MaxEntries: optional(integer(0, 1 << 24)),
}
const OPEN_OPTIONS = optionsOf<RomOpenOptions>(OPEN)

const EXTRACT_FIELDS = { strict: optional(boolean), threads: optional(threads) }
const EXTRACT = optionsOf<ExtractOptions>({ ...EXTRACT_FIELDS, signal: optional(signal), onProgress: optional(func<ProgressListener<'extract'>>()) })
const EXTRACT_SYNC = optionsOf<ExtractOptions>({ ...EXTRACT_FIELDS, signal: promiseOnly('rom.extract'), onProgress: promiseOnly('rom.extract') } as Schema<ExtractOptions>)

const SCAN_FIELDS = {
  start: optional(offset),
  end: optional(offset),
  step: optional(integer(1, 2 ** 32)),
  strict: optional(boolean),
  minTiles: optional(integer(0, 2048)),
  minScore: optional((value: unknown, label: string) =>
    typeof value === 'number' && value >= 0 && value <= 1 ? value : expected(label, 'a number from 0 to 1', value),
  ),
  threads: optional(threads),
}
const SCAN = optionsOf<ScanOptions>({ ...SCAN_FIELDS, signal: optional(signal), onProgress: optional(func<ProgressListener<'scan'>>()) })
const SCAN_SYNC = optionsOf<ScanOptions>({ ...SCAN_FIELDS, signal: promiseOnly('rom.scan'), onProgress: promiseOnly('rom.scan') } as Schema<ScanOptions>)

const PATCH = optionsOf<PatchOptions>({ signal: optional(signal), onProgress: optional(func<ProgressListener<'write' | 'patch'>>()) })
const EDIT = object<{ offset: number; bytes: Buffer }>({ offset, bytes: buffer }, '{ offset, bytes }')

function editsOf(value: unknown, label: string): binding.RomEdit[] {
  if (!Array.isArray(value)) return expected(label, 'an array of { offset, bytes }', value)
  const list = reading(label, () => Array.prototype.slice.call(value) as unknown[])
  return list.map((item, index) => EDIT(item, `${label}[${index}]`))
}

const HAL_DECODE = optionsOf<HalDecodeOptions>({ strict: optional(boolean) })
const HAL_MODE = optional(oneOf<binding.HalMode>('fast', 'greedy', 'optimal'))
const HAL_ENCODE = optionsOf<HalEncodeOptions>({ mode: HAL_MODE, signal: optional(signal) })
const HAL_ENCODE_SYNC = optionsOf<HalEncodeOptions>({ mode: HAL_MODE, signal: promiseOnly('hal.encode') } as Schema<HalEncodeOptions>)

const DECODE_TILES = optionsOf<Omit<DecodeTilesOptions, 'palette'> & { palette?: binding.PaletteSpec }>({
  format: optional(tileFormat),
  columns: optional(integer(1, 256)),
  palette: optional(palette),
  transparent: optional(boolean),
})
const ENCODE_TILES = optionsOf<Omit<EncodeTilesOptions, 'palette'> & { palette?: binding.PaletteSpec }>({
  format: optional(tileFormat),
  tiles: optional(integer(0, 1 << 24)),
  palette: optional(palette),
  transparent: optional(boolean),
  match: optional(oneOf('exact', 'nearest')),
})
const sheetSide = integer(8, 1 << 16)
const SHEET = object<{ width: number; height: number; indices?: Buffer; rgba?: Buffer; tiles?: number; partialTile?: boolean }>(
  { width: sheetSide, height: sheetSide, indices: optional(buffer), rgba: optional(buffer), tiles: optional(integer(0)), partialTile: optional(boolean) },
  '{ width, height, indices } or { width, height, rgba }',
)

const GENERATE_FIELDS = {
  layout: optional(oneOf<binding.RomLayout>('lorom', 'loromFast', 'hirom', 'exhirom', 'sa1', 'noise')),
  size: optional(integer(128 * 1024, 64 * 1024 * 1024)),
  blocks: optional(integer(1, 4096)),
  blockTiles: optional(integer(1, 2048)),
  copierHeader: optional(boolean),
  seed: optional(integer(0, 2 ** 32 - 1)),
}
const GENERATE = optionsOf<GenerateRomOptions>({ ...GENERATE_FIELDS, signal: optional(signal) })
const GENERATE_SYNC = optionsOf<GenerateRomOptions>({ ...GENERATE_FIELDS, signal: promiseOnly('generateRom') } as Schema<GenerateRomOptions>)

// ---------------------------------------------------------------------------------------------
// RomFile
// ---------------------------------------------------------------------------------------------

/** Releases the native side of ROM files that were garbage-collected without `close()`. */
const unclosedRoms = new FinalizationRegistry<number>((handle) => native.romCloseSync(handle))

/**
 * An open SNES ROM: read once into memory (a later change of the file does not affect it; see
 * {@link RomFile.isStale}), its header detected, every read, decode, scan and extraction served
 * from that one image. Obtained from {@link RomFile.open}.
 */
export class RomFile {
  /** The file's path. */
  readonly path: string
  /** ROM size in bytes, copier header excluded. */
  readonly size: number
  /** 512 when the file has a copier header (removed from every offset), else 0. */
  readonly copierHeader: number
  /** The detected internal header (best candidate scoring at least 5), or `null`. */
  readonly header: binding.RomHeader | null
  /** Every scored header candidate (LoROM, HiROM, and ExHiROM for ROMs over 4 MiB). */
  readonly headerCandidates: binding.HeaderCandidate[]
  /** The mapping in use: the forced one, else the header's; `null` without either. */
  readonly mapping: binding.RomMapping | null
  /** The SA-1 block registers in use. */
  readonly sa1Blocks: number[]
  /** The checksum computed over the ROM (byte sum with the mirroring rule). */
  readonly computedChecksum: number
  /** Whether the header's checksum and complement are a valid pair equal to the computed checksum (false without a header). */
  readonly checksumValid: boolean
  readonly #handle: number

  /** @internal Wraps a ROM the native side opened. */
  constructor(info: binding.RomInfo) {
    this.#handle = info.handle
    this.path = info.path
    this.size = info.size
    this.copierHeader = info.copierHeader
    this.header = info.header
    this.headerCandidates = info.headerCandidates
    this.mapping = info.mapping
    this.sa1Blocks = info.sa1Blocks
    this.computedChecksum = info.computedChecksum
    this.checksumValid = info.checksumValid
    unclosedRoms.register(this, info.handle, this)
  }

  /**
   * Opens a ROM file off the main thread: reads it once, strips a copier header, scores the
   * header candidates and computes the checksum. A zero-length file is `ERR_MODFORGE_FORMAT`;
   * files over 64 MiB (+ 512) are `ERR_MODFORGE_LIMIT`.
   */
  static async open(path: string, options?: RomOpenOptions): Promise<RomFile> {
    const file = string(path, 'RomFile.open(): path')
    return new RomFile(await native.romOpen(file, OPEN_OPTIONS(options, 'RomFile.open(): options')))
  }

  /** {@link RomFile.open} on the calling thread. */
  static openSync(path: string, options?: RomOpenOptions): RomFile {
    const file = string(path, 'RomFile.openSync(): path')
    return new RomFile(native.romOpenSync(file, OPEN_OPTIONS(options, 'RomFile.openSync(): options')))
  }

  /** The ROM offset of a 24-bit CPU address (`0xFF0002` is `$FF:0002`), or `null` when it is not ROM. Without a header or forced mapping: `ERR_MODFORGE_FORMAT`. */
  cpuToOffset(address: number): number | null {
    return native.romCpuToOffset(this.#handle, integer(0, 0xffffff)(address, 'rom.cpuToOffset(): address'))
  }

  /** The canonical CPU address of a ROM offset, or `null` when the mapping does not show it. */
  offsetToCpu(romOffset: number): number | null {
    return native.romOffsetToCpu(this.#handle, offset(romOffset, 'rom.offsetToCpu(): offset'))
  }

  /** A copy of `length` bytes at `offset` (a Buffer that owns its bytes); `offset + length` must not pass the end. */
  read(romOffset: number, length: number): Buffer {
    return native.romRead(this.#handle, offset(romOffset, 'rom.read(): offset'), integer(0, 64 << 20)(length, 'rom.read(): length'))
  }

  /** The 24-bit little-endian pointer (`lo, hi, bank`) at `offset`, as a CPU address. */
  readPointer(romOffset: number): number {
    return native.romReadPointer(this.#handle, offset(romOffset, 'rom.readPointer(): offset'))
  }

  /** XXH3-128 of the ROM bytes without copier header (32 hex digits), computed on first use. */
  contentHash(): string {
    return native.romContentHash(this.#handle)
  }

  /** Whether the file on disk changed (size, modification time, identity) since it was read. */
  isStale(): boolean {
    return native.romIsStale(this.#handle)
  }

  /** The counters of the memory (L1) and disk (L2) caches. */
  cacheStats(): binding.CacheStats {
    return native.romCacheStats(this.#handle)
  }

  /**
   * Decodes the HAL blocks at `offsets` in parallel, off the main thread. Results keep the input
   * order (duplicates decoded once); a block that does not decode has `error` (`code`, `reason`,
   * `message`, `offset`) instead of `data`: the batch never rejects for it.
   */
  async extract(offsets: number[], options?: ExtractOptions): Promise<binding.ExtractedBlock[]> {
    const list = offsetsOf(offsets, 'rom.extract(): offsets')
    const { signal: abort, onProgress, ...rest } = EXTRACT(options, 'rom.extract(): options')
    return cancellable(abort, (call) =>
      native.romExtract(this.#handle, list, rest, call.cancel, call.guard(onProgress as ((event: binding.ProgressEvent) => void) | undefined)),
    )
  }

  /** {@link RomFile.extract} on the calling thread (the blocks are still decoded in parallel). */
  extractSync(offsets: number[], options?: Omit<ExtractOptions, 'signal' | 'onProgress'>): binding.ExtractedBlock[] {
    const list = offsetsOf(offsets, 'rom.extractSync(): offsets')
    const { strict, threads: count } = EXTRACT_SYNC(options, 'rom.extractSync(): options')
    return native.romExtractSync(this.#handle, list, { strict, threads: count })
  }

  /**
   * A thumbnail of the HAL block at `offset`: decode (memory cache) → tiles → palette → scale into
   * the box → PNG, WebP or RGBA (disk cache when `cacheDir` is set). Requests wait in the ROM's
   * queue (lower `priority` first, identical requests share one job) and run on the thread pool;
   * aborting `signal` withdraws the request (a pending job nobody else wants never runs).
   */
  async thumbnail(romOffset: number, options?: ThumbnailCallOptions): Promise<binding.Thumbnail> {
    const at = offset(romOffset, 'rom.thumbnail(): offset')
    const { signal: abort, ...rest } = options === undefined || options === null ? {} : THUMBNAIL(options, 'rom.thumbnail(): options')
    return cancellable(abort, (call) => {
      const { request, promise } = native.romThumbnail(this.#handle, at, nativeThumbnail(rest))
      call.signal.addEventListener('abort', () => native.romThumbnailWithdraw(request), { once: true })
      return promise
    })
  }

  /** {@link RomFile.thumbnail} on the calling thread (it runs queued jobs while it waits for its own). */
  thumbnailSync(romOffset: number, options?: ThumbnailOptions): binding.Thumbnail {
    const at = offset(romOffset, 'rom.thumbnailSync(): offset')
    const checked = options === undefined || options === null ? {} : THUMBNAIL_SYNC(options, 'rom.thumbnailSync(): options')
    return native.romThumbnailSync(this.#handle, at, nativeThumbnail(checked))
  }

  /**
   * Many thumbnails in parallel off the main thread, in request order, each its own thumbnail or
   * error. The options other than `signal` and `onProgress` are defaults for every request.
   */
  async thumbnails(requests: ThumbnailRequest[], options?: ThumbnailsOptions): Promise<binding.ThumbnailOutcome[]> {
    const { signal: abort, onProgress, ...defaults } = options === undefined || options === null ? {} : THUMBNAILS(options, 'rom.thumbnails(): options')
    const list = requestsOf(requests, 'rom.thumbnails(): requests', defaults)
    return cancellable(abort, (call) =>
      native.romThumbnails(this.#handle, list, call.cancel, call.guard(onProgress as ((event: binding.ProgressEvent) => void) | undefined)),
    )
  }

  /** {@link RomFile.thumbnails} on the calling thread (the jobs still run in parallel). */
  thumbnailsSync(requests: ThumbnailRequest[], options?: ThumbnailOptions): binding.ThumbnailOutcome[] {
    const defaults = options === undefined || options === null ? {} : THUMBNAILS_SYNC(options, 'rom.thumbnailsSync(): options')
    return native.romThumbnailsSync(this.#handle, requestsOf(requests, 'rom.thumbnailsSync(): requests', defaults))
  }

  /**
   * The thumbnails of `requests` as each one is ready (completion order, not request order): for a
   * grid that fills in while the user scrolls. Every request is queued at once (lower `priority`
   * first); each yielded outcome carries its `offset` and its thumbnail or error. Leaving the loop
   * early (`break`) or aborting `signal` withdraws the requests not yet delivered (an abort then
   * rejects the iteration with `ABORT_ERR`).
   */
  async *thumbnailsAsReady(requests: ThumbnailRequest[], options?: Omit<ThumbnailsOptions, 'onProgress'>): AsyncGenerator<binding.ThumbnailOutcome, void, undefined> {
    const { signal: abort, ...defaults } = options === undefined || options === null ? {} : THUMBNAIL(options, 'rom.thumbnailsAsReady(): options')
    const list = requestsOf(requests, 'rom.thumbnailsAsReady(): requests', defaults)
    if (abort?.aborted) throw abortError(abort.reason)
    const open = new Map<number, Promise<{ request: number; outcome: binding.ThumbnailOutcome }>>()
    for (const { offset: at, options: own } of list) {
      const { request, promise } = native.romThumbnail(this.#handle, at, own ?? {})
      open.set(
        request,
        promise.then(
          (thumbnail) => ({ request, outcome: { offset: at, thumbnail, error: null } }),
          (error: ModforgeError & { reason?: string }) => ({
            request,
            outcome: { offset: at, thumbnail: null, error: { code: error.code, reason: error.reason ?? error.code, message: error.message, offset: error.offset ?? at } },
          }),
        ),
      )
    }
    let aborted: Promise<never> | undefined
    let onAbort: (() => void) | undefined
    if (abort) {
      aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(abortError(abort.reason))
        abort.addEventListener('abort', onAbort, { once: true })
      })
      // The rejection is observed through the race below; never unhandled.
      aborted.catch(() => undefined)
    }
    try {
      while (open.size > 0) {
        const next = await (aborted ? Promise.race([aborted, ...open.values()]) : Promise.race(open.values()))
        open.delete(next.request)
        yield next.outcome
      }
    } finally {
      if (onAbort) abort?.removeEventListener('abort', onAbort)
      for (const request of open.keys()) native.romThumbnailWithdraw(request)
    }
  }

  /**
   * Scans for HAL blocks that decode to tile-like data, off the main thread: strict decoding at
   * every `step`, scored as 4bpp tiles (docs/rom.md, "Scanner"); hits sorted by offset and
   * identical for every thread count.
   */
  async scan(options?: ScanOptions): Promise<binding.ScanHit[]> {
    const { signal: abort, onProgress, ...rest } = SCAN(options, 'rom.scan(): options')
    return cancellable(abort, (call) =>
      native.romScan(this.#handle, rest, call.cancel, call.guard(onProgress as ((event: binding.ProgressEvent) => void) | undefined)),
    )
  }

  /** {@link RomFile.scan} on the calling thread (candidates are still evaluated in parallel). */
  scanSync(options?: Omit<ScanOptions, 'signal' | 'onProgress'>): binding.ScanHit[] {
    const { signal: _signal, onProgress: _progress, ...rest } = SCAN_SYNC(options, 'rom.scanSync(): options')
    return native.romScanSync(this.#handle, rest)
  }

  /**
   * Writes a copy of the ROM with `edits` applied to `dest`, checksum and complement fixed when a
   * header was detected (copier header kept), through a temp file in the same folder, fsync and
   * rename. The open image never changes; `dest` may be the ROM's own path (close it first on
   * Windows).
   */
  async patch(dest: string, edits: RomEdit[], options?: PatchOptions): Promise<binding.PatchResult> {
    const target = string(dest, 'rom.patch(): dest')
    const list = editsOf(edits, 'rom.patch(): edits')
    const { signal: abort, onProgress } = PATCH(options, 'rom.patch(): options')
    return cancellable(abort, (call) =>
      native.romPatch(this.#handle, target, list, call.cancel, call.guard(onProgress as ((event: binding.ProgressEvent) => void) | undefined)),
    )
  }

  /** {@link RomFile.patch} on the calling thread. */
  patchSync(dest: string, edits: RomEdit[]): binding.PatchResult {
    return native.romPatchSync(this.#handle, string(dest, 'rom.patchSync(): dest'), editsOf(edits, 'rom.patchSync(): edits'))
  }

  /**
   * Takes the ROM out of service at once (later calls throw `ERR_MODFORGE_INVALID_ARG`) and
   * releases its memory once the calls already running finish; resolves then. Pending thumbnail
   * requests reject. Closing twice is harmless.
   */
  async close(): Promise<void> {
    unclosedRoms.unregister(this)
    await native.romClose(this.#handle)
  }

  /** {@link RomFile.close} on the calling thread (blocks while calls on the ROM are running). */
  closeSync(): void {
    unclosedRoms.unregister(this)
    native.romCloseSync(this.#handle)
  }
}

// ---------------------------------------------------------------------------------------------
// HAL codec, tiles, generator
// ---------------------------------------------------------------------------------------------

/**
 * The HAL Laboratory compression format (docs/rom.md, "HAL stream"): `command [args]` blocks
 * ending in `FF`, at most 65,536 bytes of output.
 */
export const hal = {
  /** Largest output of a stream, in bytes (exactly 65,536 is allowed). */
  MAX_OUTPUT: 65_536,

  /**
   * Decodes the stream at the start of `bytes` (µs: synchronous). Default exhal-compatible
   * (`FC`-`FE` are forward references, references to unwritten output read 0); `strict` refuses
   * both. Input that ends before `FF` is `truncated`. A failure is `ERR_MODFORGE_FORMAT` with
   * `reason` and `offset` (see {@link HalError}).
   */
  decode(bytes: Uint8Array, options?: HalDecodeOptions): binding.HalDecoded {
    const input = buffer(bytes, 'hal.decode(): bytes')
    return native.halDecode(input, HAL_DECODE(options, 'hal.decode(): options').strict)
  },

  /** The stream's length, `FF` included, without producing output; equal to `decode(...).consumed` and failing the same way. */
  compressedLength(bytes: Uint8Array, options?: HalDecodeOptions): number {
    const input = buffer(bytes, 'hal.compressedLength(): bytes')
    return native.halCompressedLength(input, HAL_DECODE(options, 'hal.compressedLength(): options').strict)
  },

  /**
   * Encodes up to 65,536 bytes off the main thread; every exhal-compatible decoder and the strict
   * decoder read the stream back. `ERR_MODFORGE_LIMIT` for a larger input or a stream that would
   * reach 65,536 bytes; empty input gives `FF`.
   */
  async encode(bytes: Uint8Array, options?: HalEncodeOptions): Promise<Buffer> {
    const input = buffer(bytes, 'hal.encode(): bytes')
    const { mode, signal: abort } = HAL_ENCODE(options, 'hal.encode(): options')
    return cancellable(abort, (call) => native.halEncode(input, mode, call.cancel))
  },

  /** {@link hal.encode} on the calling thread. */
  encodeSync(bytes: Uint8Array, options?: Omit<HalEncodeOptions, 'signal'>): Buffer {
    const input = buffer(bytes, 'hal.encodeSync(): bytes')
    return native.halEncodeSync(input, HAL_ENCODE_SYNC(options, 'hal.encodeSync(): options').mode)
  },
}

/**
 * Decodes bytes as SNES tiles into a sheet `columns` tiles wide (a 16×16 OBJ is tiles `n, n+1,
 * n+16, n+17`), one palette index per pixel; with a palette also as RGBA (`(c << 3) | (c >> 2)`
 * per channel, colour 0 transparent unless `transparent: false`).
 */
export function decodeTiles(bytes: Uint8Array, options?: DecodeTilesOptions): binding.TileSheet {
  const input = buffer(bytes, 'decodeTiles(): bytes')
  return native.decodeTiles(input, DECODE_TILES(options, 'decodeTiles(): options'))
}

/**
 * Encodes a sheet as SNES tiles: indices as {@link decodeTiles} returns them, or RGBA pixels
 * mapped to indices through `palette` (`exact` at 5-bit precision, or `nearest`). A sheet with
 * both (a {@link decodeTiles} result rendered with a palette) is read from `rgba` when
 * `options.palette` is given (an edited picture), else from `indices`.
 */
export function encodeTiles(sheet: TileSheetInput, options?: EncodeTilesOptions): Buffer {
  const { width, height, indices, rgba } = SHEET(sheet, 'encodeTiles(): sheet')
  const { format, tiles, palette: colours, transparent, match } = ENCODE_TILES(options, 'encodeTiles(): options')
  if (rgba && (colours || !indices)) {
    if (!colours) throw invalidArg('encodeTiles(): options.palette is required for RGBA pixels')
    return native.encodeTiles(rgba, { width, height, format, tiles, pixels: 'rgba', palette: colours, transparent, match })
  }
  if (!indices) throw invalidArg('encodeTiles(): sheet needs indices or rgba pixels')
  return native.encodeTiles(indices, { width, height, format, tiles, pixels: 'indices' })
}

/**
 * Writes a seeded SNES ROM image to `path` (atomically) off the main thread and returns its
 * manifest: header fields, checksum, pointer table and every HAL block with its offset, sizes and
 * the SHA-256 of its decoded bytes (docs/rom.md, "Generated ROMs").
 */
export async function generateRom(path: string, options?: GenerateRomOptions): Promise<binding.GeneratedRom> {
  const file = string(path, 'generateRom(): path')
  const { signal: abort, ...rest } = GENERATE(options, 'generateRom(): options')
  return cancellable(abort, (call) => native.generateRom(file, rest, call.cancel))
}

/** {@link generateRom} on the calling thread. */
export function generateRomSync(path: string, options?: Omit<GenerateRomOptions, 'signal'>): binding.GeneratedRom {
  const file = string(path, 'generateRomSync(): path')
  const { signal: _signal, ...rest } = GENERATE_SYNC(options, 'generateRomSync(): options')
  return native.generateRomSync(file, rest)
}

/** An 8-bit RGBA PNG of `width`×`height` pixels (`rgba` row-major, 4 bytes per pixel): a contact sheet of `rgba` thumbnails, an edited sprite. */
export function rgbaToPng(rgba: Uint8Array, size: { width: number; height: number }): Buffer {
  const pixels = buffer(rgba, 'rgbaToPng(): rgba')
  const { width, height } = object<{ width: number; height: number }>({ width: integer(1, 65_535), height: integer(1, 65_535) })(size, 'rgbaToPng(): size')
  return native.rgbaToPng(pixels, width, height)
}

/**
 * Writes `bytes` as the file `path` atomically (a temp file in the same folder, fsync, rename,
 * folder fsync): a reader never sees a partial file, and on failure `path` is untouched. For
 * re-compressed graphics or a patched image written by the caller.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  native.writeFileAtomic(string(path, 'writeFileAtomic(): path'), buffer(bytes, 'writeFileAtomic(): bytes'))
}
