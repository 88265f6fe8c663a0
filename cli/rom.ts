/** `modforge rom info|extract|scan|sheet|generate`: SNES ROM files on the command line. */
import { mkdirSync, readFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'

import type { Palette, RomFile, RomHeader, ThumbnailOptions } from '../src/rom'
import { formatBytes, formatCount, formatDuration, table } from './format'
import { command, CommandError, flag, group, integer, text, UsageError } from './framework'
import { cpuAddress, hexOffset, parseOffset } from './offset'
import { formatProgress, ProgressLine } from './progress'

type Rom = typeof import('../src/rom')

function rom(): Rom {
  return require('../src/rom') as Rom
}

const TILE_FORMATS = ['1bpp', '2bpp', '4bpp', '8bpp', 'mode7', 'sa1-4bpp'] as const
const BYTES_PER_TILE: Record<(typeof TILE_FORMATS)[number], number> = { '1bpp': 8, '2bpp': 16, '4bpp': 32, '8bpp': 64, mode7: 64, 'sa1-4bpp': 32 }
const MAPPINGS = ['lorom', 'hirom', 'exhirom', 'sa1'] as const

const MAP_MODES: Record<number, string> = { 0: 'LoROM', 1: 'HiROM', 2: 'LoROM + S-DD1', 3: 'LoROM + SA-1', 5: 'ExHiROM', 0xa: 'HiROM + SPC7110' }
const CHIPSET_PARTS = ['ROM', 'ROM + RAM', 'ROM + RAM + battery', 'ROM + coprocessor', 'ROM + coprocessor + RAM', 'ROM + coprocessor + RAM + battery', 'ROM + coprocessor + battery']
const DESTINATIONS: Record<number, string> = { 0: 'Japan', 1: 'North America', 2: 'Europe' }

function hex(value: number, digits: number, prefix = '0x'): string {
  return `${prefix}${value.toString(16).toUpperCase().padStart(digits, '0')}`
}

/** The readable lines of a header. */
function headerRows(file: RomFile, h: RomHeader): string[][] {
  const reset = file.mapping ? file.cpuToOffset(h.resetVector) : null
  const chipset = CHIPSET_PARTS[h.chipset & 0x0f] ?? 'unknown'
  const rows = [
    ['title', h.title],
    ['map mode', `${hex(h.mapMode, 2, '$')} (${MAP_MODES[h.mapMode & 0x0f] ?? 'unknown'}, ${h.fastRom ? 'FastROM' : 'SlowROM'})`],
    ['mapping', h.mapping],
    ['chipset', `${hex(h.chipset, 2, '$')} (${chipset}${h.coprocessor ? `, ${h.coprocessor}` : ''})`],
    ['ROM size', `${hex(h.romSizeByte, 2, '$')} (${h.romSizeKiB === null ? 'invalid' : `${formatCount(h.romSizeKiB)} KiB`})`],
    ['SRAM size', `${hex(h.sramSizeByte, 2, '$')} (${h.sramSizeKiB === null ? 'invalid' : h.sramSizeKiB === 0 ? 'none' : `${formatCount(h.sramSizeKiB)} KiB`})`],
    ['destination', `${h.destination}${DESTINATIONS[h.destination] ? ` (${DESTINATIONS[h.destination]})` : ''}`],
    ['developer ID', `${hex(h.developerId, 2, '$')}${h.developerId === 0x33 ? ' (extended header)' : ''}`],
  ]
  if (h.makerCode !== null) rows.push(['maker code', JSON.stringify(h.makerCode)])
  if (h.gameCode !== null) rows.push(['game code', JSON.stringify(h.gameCode)])
  rows.push(
    ['version', String(h.version)],
    ['complement', hex(h.complement, 4)],
    ['checksum', hex(h.checksum, 4)],
    ['computed checksum', hex(h.computedChecksum, 4)],
    ['checksum valid', h.checksumValid ? 'yes' : 'no'],
    ['RESET vector', `${hex(h.resetVector, 4, '$')}${reset === null ? '' : ` (offset ${hexOffset(reset)})`}`],
  )
  return rows
}

/** `rom info --json`: the ROM with its title bytes as hex. */
function infoJson(file: RomFile): Record<string, unknown> {
  const header = file.header && { ...file.header, titleBytes: file.header.titleBytes.toString('hex') }
  return {
    path: file.path,
    size: file.size,
    copierHeader: file.copierHeader,
    mapping: file.mapping,
    sa1Blocks: file.sa1Blocks,
    computedChecksum: file.computedChecksum,
    checksumValid: file.checksumValid,
    header,
    headerCandidates: file.headerCandidates,
  }
}

const info = command({
  summary: 'header fields, every header candidate with its score, checksum validity',
  description:
    'Reads a ROM (.sfc/.smc; a 512-byte copier header is detected and removed) and prints its internal\n' +
    'header: title, map mode, chipset, sizes, destination, checksum and complement with the computed\n' +
    'checksum, RESET vector; then every candidate location (LoROM, HiROM, ExHiROM) with its score.',
  args: [{ name: 'file', description: 'the ROM file', required: true }],
  options: {
    json: flag('print JSON'),
    mapping: text('force a mapping instead of the detected one', { choices: MAPPINGS }),
  },
  footer: 'Exit codes: 0 read (with or without a valid header), 1 failed, 2 bad usage.',
  async run({ args, options }, context) {
    const file = await rom().RomFile.open(resolve(args.file), { mapping: options.mapping })
    try {
      if (options.json) {
        context.out(JSON.stringify(infoJson(file), null, 2))
        return 0
      }
      const copier = file.copierHeader ? 'a 512-byte copier header (removed from every offset)' : 'no copier header'
      context.out(`${file.path}: ${formatCount(file.size)} bytes of ROM, ${copier}`)
      const h = file.header
      context.out(h ? `header at ${hexOffset(h.headerOffset)} (${h.location}, score ${h.score})` : 'no valid header (every candidate scores below 5)')
      if (h) context.out(table([['field', 'value'], ...headerRows(file, h)]))
      else context.out(`computed checksum ${hex(file.computedChecksum, 4)}`)
      const candidates = file.headerCandidates.map((c) => [c.location, hexOffset(c.offset), String(c.score), c.reasons.join(', ') || '-'])
      context.out(`\ncandidates\n${table([['location', 'offset', 'score', 'rules that scored'], ...candidates], [2])}`)
      return 0
    } finally {
      await file.close()
    }
  },
})

/** The palette options of `sheet` and `extract`. */
const PALETTE_OPTIONS = {
  cgram: text('colours from a 512-byte CGRAM dump', { placeholder: 'FILE' }),
  paletteIndex: integer('CGRAM sub-palette (default 8 for 4bpp, the first OBJ palette)', { placeholder: 'N', max: 255 }),
  paletteOffset: text('colours from BGR555 words at this ROM offset', { placeholder: 'OFFSET' }),
  opaque: flag('colour 0 opaque (default: transparent)'),
} as const

function paletteOf(options: { cgram?: string; paletteIndex?: number; paletteOffset?: string }, path: readonly string[]): Palette {
  if (options.cgram && options.paletteOffset) throw new UsageError('give --cgram or --palette-offset, not both', path)
  if (options.cgram) return { cgram: readFileSync(resolve(options.cgram)), index: options.paletteIndex }
  if (options.paletteOffset) return { rom: parseOffset(options.paletteOffset, '--palette-offset', path) }
  return 'greyscale'
}

/** Thumbnail options that render a block at `scale` times its natural size, `columns` tiles wide. */
function sheetOptions(decodedSize: number, format: (typeof TILE_FORMATS)[number], columns: number, scale: number): ThumbnailOptions {
  const tiles = Math.max(1, Math.ceil(decodedSize / BYTES_PER_TILE[format]))
  const rows = Math.ceil(tiles / columns)
  const width = Math.min(4096, columns * 8 * scale)
  const height = Math.min(4096, rows * 8 * scale)
  return { box: { width, height }, tileFormat: format, columns, format: 'png' }
}

const extract = command({
  summary: 'decode HAL blocks to raw files and PNG tile sheets',
  description:
    'Decodes the HAL blocks at the given offsets (in parallel, from one read of the ROM) and writes\n' +
    '<dir>/<offset>.bin (the decoded bytes) and <dir>/<offset>.png (the bytes as a tile sheet, 16 tiles\n' +
    'wide). A block that does not decode is reported and the others are still written.',
  args: [
    { name: 'file', description: 'the ROM file', required: true },
    { name: 'offset', description: 'ROM offsets (0x1F000, $1F000 or decimal)', required: true, variadic: true },
  ],
  options: {
    out: text('output folder (required)', { short: 'o', placeholder: 'DIR' }),
    strict: flag('strict decoding (refuse FC-FE and references to unwritten output)'),
    tileFormat: text('how the PNG reads the bytes (default 4bpp)', { choices: TILE_FORMATS }),
    noPng: flag('write the raw files only'),
    ...PALETTE_OPTIONS,
    json: flag('print JSON'),
  },
  footer: 'Exit codes: 0 every block written, 1 a block failed, 2 bad usage.',
  async run({ args, options }, context) {
    const path = ['rom', 'extract']
    if (!options.out) throw new UsageError('missing -o <dir>', path)
    const offsets = args.offset.map((o) => parseOffset(o, '<offset>', path))
    const format = options.tileFormat ?? '4bpp'
    const palette = paletteOf(options, path)
    const { RomFile, writeFileAtomic } = rom()
    const file = await RomFile.open(resolve(args.file))
    const dir = resolve(options.out)
    mkdirSync(dir, { recursive: true })
    try {
      const started = performance.now()
      const blocks = await file.extract(offsets, { strict: options.strict, signal: context.signal })
      const results = []
      for (const block of blocks) {
        const name = hexOffset(block.offset)
        if (!block.data) {
          results.push({ offset: block.offset, error: block.error })
          continue
        }
        const raw = join(dir, `${name}.bin`)
        writeFileAtomic(raw, block.data)
        let png: string | null = null
        if (!options.noPng && block.data.length > 0) {
          const sheet = await file.thumbnail(block.offset, {
            ...sheetOptions(block.data.length, format, 16, 1),
            strict: options.strict,
            palette,
            transparent: !options.opaque,
            signal: context.signal,
          })
          png = join(dir, `${name}.png`)
          writeFileAtomic(png, sheet.image)
        }
        results.push({ offset: block.offset, consumed: block.consumed, size: block.data.length, timeMs: block.timeMs, raw, png })
      }
      const elapsed = performance.now() - started
      const failed = results.filter((r) => 'error' in r)
      if (options.json) context.out(JSON.stringify(results, null, 2))
      else {
        const rows = results.map((r) =>
          'error' in r
            ? [hexOffset(r.offset), '-', '-', '-', `FAILED: ${r.error?.reason}: ${r.error?.message}`]
            : [hexOffset(r.offset), formatCount(r.consumed), formatCount(r.size), formatDuration(r.timeMs), r.png ? `${basename(r.raw)}, ${basename(r.png)}` : basename(r.raw)],
        )
        context.out(table([['offset', 'stream', 'decoded', 'decode', 'files'], ...rows], [1, 2, 3]))
        context.out(`\n${results.length - failed.length} of ${results.length} blocks written to ${dir} in ${formatDuration(elapsed)}`)
      }
      return failed.length === 0 ? 0 : 1
    } finally {
      await file.close()
    }
  },
})

const scan = command({
  summary: 'find HAL blocks that decode to tile-like data',
  description:
    'Tries a strict HAL decode at every offset (or every --step bytes) and keeps the streams whose output\n' +
    'looks like 4bpp tiles (score 0-1: coherent pixels, distinct tiles, few empty tiles, no single\n' +
    'command making most of it). Overlapping candidates keep the best. Progress goes to stderr.',
  args: [{ name: 'file', description: 'the ROM file', required: true }],
  options: {
    start: text('first offset (default 0)', { placeholder: 'OFFSET' }),
    end: text('end offset, exclusive (default: the end)', { placeholder: 'OFFSET' }),
    step: integer('distance between candidate offsets (default 1)', { placeholder: 'N', min: 1 }),
    minScore: text('smallest score accepted, 0-1 (default 0.75)', { placeholder: 'S' }),
    minTiles: integer('smallest decoded size in 32-byte tiles (default 4)', { placeholder: 'N', max: 2048 }),
    threads: integer('worker threads (default: number of cores)', { short: 't', placeholder: 'N', min: 1, max: 256 }),
    json: flag('print JSON'),
    noProgress: flag('no progress line'),
  },
  footer: 'Exit codes: 0 scanned, 1 failed, 2 bad usage, 130 interrupted.',
  async run({ args, options }, context) {
    const path = ['rom', 'scan']
    const minScore = options.minScore === undefined ? undefined : Number(options.minScore)
    if (minScore !== undefined && !(minScore >= 0 && minScore <= 1)) throw new UsageError(`--min-score expects a number from 0 to 1, got '${options.minScore}'`, path)
    const file = await rom().RomFile.open(resolve(args.file))
    const line = new ProgressLine(!options.noProgress)
    try {
      const started = performance.now()
      let hits
      try {
        hits = await file.scan({
          start: options.start === undefined ? undefined : parseOffset(options.start, '--start', path),
          end: options.end === undefined ? undefined : parseOffset(options.end, '--end', path),
          step: options.step,
          minScore,
          minTiles: options.minTiles,
          threads: options.threads,
          signal: context.signal,
          onProgress: (event) => line.update(() => formatProgress(event, ' bytes')),
        })
      } finally {
        line.clear()
      }
      const elapsed = performance.now() - started
      const cpu = (offset: number) => (file.mapping ? file.offsetToCpu(offset) : null)
      if (options.json) {
        context.out(JSON.stringify(hits.map((hit) => ({ ...hit, cpu: cpu(hit.offset) })), null, 2))
      } else {
        const rows = hits.map((hit) => {
          const address = cpu(hit.offset)
          return [hexOffset(hit.offset), address === null ? '-' : cpuAddress(address), formatCount(hit.consumed), formatCount(hit.size), formatCount(Math.ceil(hit.size / 32)), hit.score.toFixed(3)]
        })
        context.out(table([['offset', 'CPU', 'stream', 'decoded', 'tiles', 'score'], ...rows], [2, 3, 4, 5]))
        context.out(`\n${hits.length} blocks in ${formatBytes(file.size)} in ${formatDuration(elapsed)}`)
      }
      return 0
    } finally {
      await file.close()
    }
  },
})

const sheet = command({
  summary: 'write the HAL block at an offset as a PNG tile sheet',
  description:
    'Decodes the HAL block at <offset> and writes it as a PNG tile sheet (--columns tiles wide, each\n' +
    'pixel --scale times), greyscale or with a palette from a CGRAM dump or the ROM.',
  args: [
    { name: 'file', description: 'the ROM file', required: true },
    { name: 'offset', description: 'ROM offset of the stream (0x1F000, $1F000 or decimal)', required: true },
  ],
  options: {
    out: text('the PNG file (required)', { short: 'o', placeholder: 'FILE' }),
    tileFormat: text('how the bytes are read (default 4bpp)', { choices: TILE_FORMATS }),
    columns: integer('tiles per row (default 16)', { placeholder: 'N', min: 1, max: 256 }),
    scale: integer('pixel size (default 2)', { placeholder: 'N', min: 1, max: 16 }),
    strict: flag('strict decoding'),
    ...PALETTE_OPTIONS,
  },
  footer: 'Exit codes: 0 written, 1 failed (the block does not decode), 2 bad usage.',
  async run({ args, options }, context) {
    const path = ['rom', 'sheet']
    if (!options.out) throw new UsageError('missing -o <file.png>', path)
    const offset = parseOffset(args.offset, '<offset>', path)
    const format = options.tileFormat ?? '4bpp'
    const { RomFile, writeFileAtomic } = rom()
    const file = await RomFile.open(resolve(args.file))
    try {
      const [block] = await file.extract([offset], { strict: options.strict, signal: context.signal })
      if (!block.data) throw new CommandError(`${hexOffset(offset)}: ${block.error?.message ?? 'does not decode'}`)
      const image = await file.thumbnail(offset, {
        ...sheetOptions(block.data.length, format, options.columns ?? 16, options.scale ?? 2),
        strict: options.strict,
        palette: paletteOf(options, path),
        transparent: !options.opaque,
        signal: context.signal,
      })
      const out = resolve(options.out)
      writeFileAtomic(out, image.image)
      context.out(
        `${out}: ${image.width}x${image.height} PNG, ${formatCount(image.tiles)} ${format} tiles${image.partialTile ? ' (the last one partial)' : ''} ` +
          `from ${formatCount(block.consumed)} bytes of stream at ${hexOffset(offset)}`,
      )
      return 0
    } finally {
      await file.close()
    }
  },
})

const LAYOUTS = ['lorom', 'loromFast', 'hirom', 'exhirom', 'sa1', 'noise'] as const

const generate = command({
  summary: 'write a seeded test ROM with HAL blocks at known offsets, and its manifest',
  description:
    'Writes a seeded SNES ROM image (correct header and checksum, HAL blocks at known offsets, a 24-bit\n' +
    'pointer table, noise, padding and raw tiles). --json prints the manifest: header fields and each\n' +
    "block's offset, stream and decoded sizes and the SHA-256 of its decoded bytes.",
  args: [{ name: 'file', description: 'the ROM file to write', required: true }],
  options: {
    layout: text('image kind (default sa1)', { choices: LAYOUTS }),
    size: text('ROM size in bytes, K/M suffixes allowed (default 4M)', { placeholder: 'SIZE' }),
    blocks: integer('HAL blocks (default 16)', { placeholder: 'N', min: 1, max: 4096 }),
    blockTiles: integer('tiles per sprite block (default: varied)', { placeholder: 'N', min: 1, max: 2048 }),
    copierHeader: flag('prepend a 512-byte copier header'),
    seed: integer('seed of every random choice (default 1)', { placeholder: 'N' }),
    json: flag('print the manifest as JSON'),
  },
  footer: 'Exit codes: 0 written, 1 failed, 2 bad usage.',
  async run({ args, options }, context) {
    const path = ['rom', 'generate']
    const { parseSize } = require('./framework') as typeof import('./framework')
    const size = options.size === undefined ? undefined : parseSize(options.size)
    if (options.size !== undefined && size === undefined) throw new UsageError(`--size expects a size such as 4M or 1048576, got '${options.size}'`, path)
    const manifest = await rom().generateRom(resolve(args.file), {
      layout: options.layout,
      size,
      blocks: options.blocks,
      blockTiles: options.blockTiles,
      copierHeader: options.copierHeader,
      seed: options.seed,
      signal: context.signal,
    })
    if (options.json) context.out(JSON.stringify(manifest, null, 2))
    else {
      context.out(
        `${manifest.path}: ${formatBytes(manifest.size)} ${manifest.mapping ?? 'header-less'} ROM, ${manifest.blocks.length} HAL blocks` +
          `${manifest.checksum === null ? '' : `, checksum ${hex(manifest.checksum, 4)}`}`,
      )
    }
    return 0
  },
})

/** `modforge rom <command>`. */
export const romCommands = group({
  description: 'SNES ROM files: header, HAL blocks, tile sheets. Offsets are into the ROM without a copier header.',
  commands: { info, extract, scan, sheet, generate },
})
