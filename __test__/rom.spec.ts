import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { decodeTiles, encodeTiles, generateRom, generateRomSync, hal, RomFile, rgbaToPng, writeFileAtomic, type GeneratedRom } from 'modforge'
import { ROOT, onLinux, removeTree, runUnprivileged, tempDir } from './helpers'
import { decodePng } from './png'

/** The interop files written by other projects (shared/fixtures/rom beside the repository). */
const FIXTURES = resolve(ROOT, '../shared/fixtures/rom')
const MAIN = join(ROOT, 'dist/cli/main.js')

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex')
const fixture = (name: string) => readFileSync(join(FIXTURES, name))

/** The error a call throws or rejects with. */
async function failure(run: () => unknown): Promise<Record<string, unknown> & { message: string }> {
  try {
    await run()
  } catch (error) {
    return error as Record<string, unknown> & { message: string }
  }
  throw new Error('expected a failure')
}

/** Runs `modforge <args>`. */
function modforge(...args: string[]) {
  const result = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** A seeded byte source (SplitMix32-like), so every run draws the same bytes. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x9e3779b9) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

function randomBytes(seed: number, length: number): Buffer {
  const next = random(seed)
  const out = Buffer.alloc(length)
  for (let i = 0; i < length; i += 1) out[i] = next() & 0xff
  return out
}

let work: string
const generated: Record<string, GeneratedRom> = {}

beforeAll(async () => {
  work = tempDir('rom')
  const layouts = [
    ['lorom', { layout: 'lorom', size: 1 << 20, blocks: 12 }],
    ['loromFast', { layout: 'loromFast', size: 3 << 20, blocks: 12 }],
    ['hirom', { layout: 'hirom', size: 2 << 20, blocks: 12 }],
    ['exhirom', { layout: 'exhirom', size: 6 << 20, blocks: 12 }],
    ['sa1', { layout: 'sa1', size: 4 << 20, blocks: 16 }],
    ['copier', { layout: 'lorom', size: 1 << 20, blocks: 12, copierHeader: true }],
    ['noise', { layout: 'noise', size: 256 << 10, blocks: 4 }],
  ] as const
  for (const [name, options] of layouts) {
    generated[name] = await generateRom(join(work, `${name}.sfc`), { ...options, seed: 7 })
  }
})
afterAll(() => removeTree(work))

describe('hal.decode: the vectors of docs/rom.md, compatible and strict', () => {
  const raw = Buffer.concat([Buffer.from([0x1f]), Buffer.from(Array.from({ length: 32 }, (_, i) => i)), Buffer.from([0xff])])
  const vectors: [string, Buffer, Buffer | string, number, string | null][] = [
    ['raw', hex('03 01 03 03 07 FF'), hex('01 03 03 07'), 6, null],
    ['byte fill', hex('21 01 FF'), hex('01 01'), 3, null],
    ['word fill', hex('41 01 02 FF'), hex('01 02 01 02'), 4, null],
    ['sequence', hex('63 00 FF'), hex('00 01 02 03'), 3, null],
    ['sequence wraps', hex('62 FE FF'), hex('FE FF 00'), 3, null],
    ['forward ref', hex('61 01 80 00 00 FF'), hex('01 02 01'), 6, null],
    ['bit-reversed ref', hex('61 01 A0 00 00 FF'), hex('01 02 80'), 6, null],
    ['backwards ref', hex('61 01 C1 00 01 FF'), hex('01 02 02 01'), 6, null],
    ['long byte fill', hex('E6 00 01 FF'), Buffer.alloc(513, 1), 4, null],
    ['long raw', hex('E0 00 41 FF'), hex('41'), 4, null],
    ['word order', hex('44 34 12 FF'), Buffer.from(Array.from({ length: 5 }, () => [0x34, 0x12]).flat()), 4, null],
    ['overlapping copy', hex('02 AA BB CC 83 00 00 FF'), hex('AA BB CC AA BB CC AA'), 8, null],
    ['FC', hex('02 AA BB CC FC 03 00 00 FF'), hex('AA BB CC AA BB CC AA'), 9, 'badCommand'],
    ['max long length', hex('E7 FF 00 E4 00 01 FF'), Buffer.concat([Buffer.alloc(1024), hex('01')]), 7, null],
    ['empty', hex('FF'), Buffer.alloc(0), 1, null],
    ['ref to unwritten', hex('80 FF 00 FF'), hex('00'), 4, 'refToUnwritten'],
    ['backwards into unwritten', hex('00 11 C0 00 01 FF'), hex('11 00'), 6, 'refToUnwritten'],
    ['max short raw', raw, Buffer.from(Array.from({ length: 32 }, (_, i) => i)), 34, null],
  ]
  for (const [name, stream, output, consumed, strictReason] of vectors) {
    it(name, async () => {
      const decoded = hal.decode(stream)
      expect(decoded.data.equals(output as Buffer)).toBe(true)
      expect(decoded.consumed).toBe(consumed)
      expect(hal.compressedLength(stream)).toBe(consumed)
      if (strictReason === null) {
        expect(hal.decode(stream, { strict: true }).data.equals(output as Buffer)).toBe(true)
      } else {
        const error = await failure(() => hal.decode(stream, { strict: true }))
        expect(error).toMatchObject({ code: 'ERR_MODFORGE_FORMAT', reason: strictReason })
        expect(await failure(() => hal.compressedLength(stream, { strict: true }))).toMatchObject({ reason: strictReason, offset: error.offset })
      }
    })
  }

  it('long command 7 copies 257 bytes from offset 1 and counts as command 7', () => {
    const decoded = hal.decode(hex('02 AA BB CC FD 00 00 01 FF'))
    expect(decoded.data.length).toBe(260)
    expect([...decoded.data.subarray(0, 8)]).toEqual([0xaa, 0xbb, 0xcc, 0xbb, 0xcc, 0xbb, 0xcc, 0xbb])
    expect(decoded.commandCounts).toEqual([1, 0, 0, 0, 0, 0, 0, 1])
  })

  it('counts commands by raw number', () => {
    expect(hal.decode(hex('02 AA BB CC 83 00 00 FF')).commandCounts).toEqual([1, 0, 0, 0, 1, 0, 0, 0])
    expect(hal.decode(hex('02 AA BB CC FC 03 00 00 FF')).commandCounts).toEqual([1, 0, 0, 0, 0, 0, 0, 1])
    expect(hal.decode(hex('E7 FF 00 E4 00 01 FF')).commandCounts).toEqual([0, 2, 0, 0, 0, 0, 0, 0])
    expect(hal.decode(hex('00 11 C0 00 01 FF')).commandCounts).toEqual([1, 0, 0, 0, 0, 0, 1, 0])
  })

  it('reports the reason and the failing command offset: badRef, truncated, outputTooLarge', async () => {
    expect(await failure(() => hal.decode(hex('00 11 C2 00 00 FF')))).toMatchObject({ code: 'ERR_MODFORGE_FORMAT', reason: 'badRef', offset: 2 })
    expect(await failure(() => hal.decode(hex('E3 FF 00')))).toMatchObject({ code: 'ERR_MODFORGE_FORMAT', reason: 'truncated' })
    const exact = Buffer.concat([Buffer.from(Array.from({ length: 64 }, () => [0xe7, 0xff, 0x00]).flat()), hex('FF')])
    expect(hal.decode(exact).data.length).toBe(65_536)
    const over = Buffer.concat([exact.subarray(0, exact.length - 1), hex('00 00 FF')])
    expect(await failure(() => hal.decode(over))).toMatchObject({ reason: 'outputTooLarge', offset: 192 })
    const message = (await failure(() => hal.decode(hex('21')))).message
    expect(message).toContain('<hal stream>')
    expect(message).toMatch(/offset 0|offset 1/)
  })

  it('never throws anything but a format error on random bytes, truncations and bit flips', () => {
    const font = fixture('GFX_Font_4BPP_Gradation.bin')
    const stream = hal.encodeSync(font, { mode: 'greedy' })
    const inputs: Buffer[] = []
    for (let seed = 0; seed < 300; seed += 1) inputs.push(randomBytes(seed, 1 + (seed * 37) % 700))
    for (let cut = 0; cut < stream.length; cut += 7) inputs.push(stream.subarray(0, cut))
    for (let bit = 0; bit < 400; bit += 1) {
      const flipped = Buffer.from(stream)
      flipped[(bit * 13) % flipped.length] ^= 1 << bit % 8
      inputs.push(flipped)
    }
    let decoded = 0
    for (const input of inputs) {
      for (const strict of [false, true]) {
        try {
          const out = hal.decode(input, { strict })
          expect(out.data.length).toBeLessThanOrEqual(65_536)
          expect(hal.compressedLength(input, { strict })).toBe(out.consumed)
          decoded += 1
        } catch (error) {
          const e = error as { code: string; reason: string; offset: number }
          expect(e.code).toBe('ERR_MODFORGE_FORMAT')
          expect(['truncated', 'badCommand', 'refToUnwritten', 'badRef', 'outputTooLarge']).toContain(e.reason)
          expect(e.offset).toBeLessThanOrEqual(input.length)
          expect(() => hal.compressedLength(input, { strict })).toThrow(expect.objectContaining({ reason: e.reason, offset: e.offset }))
        }
      }
    }
    // Truncated prefixes end before FF; the whole stream and most bit flips still decode.
    expect(decoded).toBeGreaterThan(100)
  })
})

describe('hal.encode', () => {
  const inhalGreedy: [string, Buffer, string][] = [
    ['empty', Buffer.alloc(0), 'FF'],
    ['15 x 01', Buffer.alloc(15, 1), '2E 01 FF'],
    ['7 x 01 02', Buffer.from(Array.from({ length: 7 }, () => [1, 2]).flat()), '46 01 02 FF'],
    ['01..0F', Buffer.from(Array.from({ length: 15 }, (_, i) => i + 1)), '6E 01 FF'],
    ['513 x 01', Buffer.alloc(513, 1), 'E6 00 01 FF'],
    ['00..27', Buffer.from(Array.from({ length: 40 }, (_, i) => i)), 'EC 27 00 FF'],
    ['pattern x 3', Buffer.from(Array.from({ length: 3 }, () => [1, 3, 3, 3, 3, 3, 7]).flat()), '00 01 24 03 00 07 8D 00 00 FF'],
    ['bit-reversed', hex('01 03 03 03 03 03 07 80 C0 C0 C0 C0 C0 E0 80 C0 C0 C0 C0 C0 E0'), '00 01 24 03 00 07 A6 00 00 86 00 07 FF'],
    ['reversed', hex('01 03 03 03 03 03 07 07 03 03 03 03 03 01 07 03 03 03 03 03 01'), '00 01 24 03 00 07 C6 00 06 86 00 07 FF'],
    ['64 KiB of zeros', Buffer.alloc(65_536), `${'EB FF 00 00 '.repeat(32)}FF`],
  ]
  for (const [name, input, stream] of inhalGreedy) {
    it(`round-trips ${name} in every mode; optimal no longer than inhal -2 (${hex(stream).length} B)`, async () => {
      for (const mode of ['fast', 'greedy', 'optimal'] as const) {
        const encoded = await hal.encode(input, { mode })
        const back = hal.decode(encoded, { strict: true })
        expect(back.data.equals(input)).toBe(true)
        expect(back.consumed).toBe(encoded.length)
        expect(hal.encodeSync(input, { mode }).equals(encoded)).toBe(true)
        if (mode === 'optimal') expect(encoded.length).toBeLessThanOrEqual(hex(stream).length)
      }
    })
  }

  it('encodes the font sheet in every mode, optimal within inhal -4 (1,248 B)', () => {
    const font = fixture('GFX_Font_4BPP_Gradation.bin')
    expect(sha256(font)).toBe('9255abaacbd0495e3306aa7deb30677138e40ae795112e2cd53bddc61d3f01a1')
    const sizes: Record<string, number> = {}
    for (const mode of ['fast', 'greedy', 'optimal'] as const) {
      const stream = hal.encodeSync(font, { mode })
      expect(hal.decode(stream, { strict: true }).data.equals(font)).toBe(true)
      sizes[mode] = stream.length
    }
    expect(sizes.optimal).toBeLessThanOrEqual(1248)
    expect(sizes.optimal).toBeLessThanOrEqual(sizes.greedy)
    expect(sizes.greedy).toBeLessThanOrEqual(sizes.fast)
  })

  it('refuses input over 64 KiB and incompressible 64 KiB with ERR_MODFORGE_LIMIT', async () => {
    expect(await failure(() => hal.encode(Buffer.alloc(65_537)))).toMatchObject({ code: 'ERR_MODFORGE_LIMIT' })
    expect(await failure(() => hal.encodeSync(randomBytes(5, 65_536), { mode: 'fast' }))).toMatchObject({ code: 'ERR_MODFORGE_LIMIT' })
  })

  it('checks its arguments and stops on an aborted signal with the reason as cause', async () => {
    expect(await failure(() => hal.encode(Buffer.alloc(4), { mode: 'best' as never }))).toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
    expect(await failure(() => hal.encodeSync(Buffer.alloc(4), { mdoe: 'fast' } as never))).toMatchObject({
      code: 'ERR_MODFORGE_INVALID_ARG',
      message: expect.stringContaining('mode'),
    })
    expect(await failure(() => hal.decode('FF' as never))).toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
    const reason = new Error('user left')
    const controller = new AbortController()
    controller.abort(reason)
    const aborted = await failure(() => hal.encode(Buffer.alloc(4096, 3), { mode: 'optimal', signal: controller.signal }))
    expect(aborted).toMatchObject({ code: 'ABORT_ERR', name: 'AbortError' })
    expect(aborted.cause).toBe(reason)
  })
})

describe('the inhal corpus (shared/fixtures/rom/hal)', () => {
  const dir = join(FIXTURES, 'hal')
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    inputs: { file: string; size: number; sha256: string; streams: Record<string, { file: string; size: number }> }[]
  }

  it('lists 20 inputs', () => {
    expect(manifest.inputs.length).toBe(20)
  })

  for (const entry of manifest.inputs) {
    it(`${entry.file}: every inhal stream decodes to it; every mode round-trips; optimal <= inhal -4`, async () => {
      const input = readFileSync(join(dir, entry.file))
      expect(sha256(input)).toBe(entry.sha256)
      for (const [mode, stream] of Object.entries(entry.streams)) {
        const bytes = readFileSync(join(dir, stream.file))
        expect(bytes.length, `mode ${mode}`).toBe(stream.size)
        for (const strict of [false, true]) {
          const decoded = hal.decode(bytes, { strict })
          expect(decoded.data.equals(input), `mode ${mode}`).toBe(true)
          expect(decoded.consumed).toBe(bytes.length)
        }
      }
      if (Object.keys(entry.streams).length === 0) {
        // inhal fails here (modes 1, 2) or writes a lone FF and reports success (3, 4).
        for (const mode of ['fast', 'greedy', 'optimal'] as const) {
          expect(await failure(() => hal.encode(input, { mode })), mode).toMatchObject({ code: 'ERR_MODFORGE_LIMIT' })
        }
        return
      }
      for (const mode of ['fast', 'greedy', 'optimal'] as const) {
        const encoded = await hal.encode(input, { mode })
        const back = hal.decode(encoded, { strict: true })
        expect(back.data.equals(input), mode).toBe(true)
        expect(back.consumed).toBe(encoded.length)
        if (mode === 'optimal') expect(encoded.length).toBeLessThanOrEqual(entry.streams['4'].size)
      }
    })
  }
})

describe('tiles and palettes on the real font sheet and CGRAM dump', () => {
  it('decodes 128 4bpp tiles to the published index sheet', () => {
    const sheet = decodeTiles(fixture('GFX_Font_4BPP_Gradation.bin'))
    expect([sheet.width, sheet.height, sheet.tiles, sheet.partialTile]).toEqual([128, 64, 128, false])
    expect(sha256(sheet.indices)).toBe('da23bc309bc0fcea18ce0e74487d7a61b90a4bb629cb0d4021ad4abe5ab44baf')
    const histogram: Record<number, number> = {}
    for (const index of sheet.indices) histogram[index] = (histogram[index] ?? 0) + 1
    expect(histogram).toEqual({ 0: 3862, 1: 2816, 2: 741, 4: 505, 5: 268 })
    // Tile 0x41 ('A') sits at column 1, row 4: its rows 0 and 4.
    const row = (y: number) => [...sheet.indices.subarray((32 + y) * 128 + 8, (32 + y) * 128 + 16)].join('')
    expect(row(0)).toBe('01111110')
    expect(row(4)).toBe('14444441')
    expect(row(7)).toBe('11111111')
  })

  it('renders the sheet with CGRAM palette 0 to the published RGBA', () => {
    const cgram = fixture('Palette_Main.bin')
    const sheet = decodeTiles(fixture('GFX_Font_4BPP_Gradation.bin'), { palette: { cgram, index: 0 } })
    expect(sha256(sheet.rgba!)).toBe('643647766d7d36b2a3014b4789600d46fb5e9baf56e6db01e5cf600a5e72df70')
    // Row 0 of this tile is index 1 (black, opaque), row 1 index 0 (transparent).
    const one = decodeTiles(Buffer.from([0xff, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...Array(16).fill(0)]), { columns: 1, palette: { cgram, index: 0 } })
    expect([...one.rgba!.subarray(0, 4)]).toEqual([0, 0, 0, 255])
    expect([...one.rgba!.subarray(32, 36)]).toEqual([0, 0, 0, 0])
    const opaque = decodeTiles(Buffer.alloc(32), { columns: 1, palette: { cgram, index: 0 }, transparent: false })
    expect([...opaque.rgba!.subarray(0, 4)]).toEqual([0, 0, 0, 255])
    const words = decodeTiles(Buffer.from([0x00, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...Array(16).fill(0)]), { columns: 1, palette: { bgr555: cgram.subarray(0, 32) } })
    // Pixels of row 0 have plane 1 set: index 2 -> white.
    expect([...words.rgba!.subarray(0, 4)]).toEqual([255, 255, 255, 255])
  })

  it('encodes the index sheet back to the same bytes, in every format', () => {
    const font = fixture('GFX_Font_4BPP_Gradation.bin')
    const sheet = decodeTiles(font)
    expect(encodeTiles(sheet).equals(font)).toBe(true)
    for (const format of ['1bpp', '2bpp', '8bpp', 'mode7', 'sa1-4bpp'] as const) {
      const decoded = decodeTiles(font, { format })
      expect(encodeTiles(decoded, { format }).equals(font), format).toBe(true)
    }
  })

  it('maps edited RGBA back to indices through the palette (exact and nearest)', async () => {
    const cgram = fixture('Palette_Main.bin')
    const font = fixture('GFX_Font_4BPP_Gradation.bin')
    const sheet = decodeTiles(font, { palette: { cgram, index: 0 } })
    // Indices 0 and 1 are both black in palette 0 (and 0 is transparent): exact matching keeps the
    // transparent pixels 0 and the opaque black ones 1.
    const back = encodeTiles({ width: sheet.width, height: sheet.height, rgba: sheet.rgba! }, { palette: { cgram, index: 0 } })
    expect(back.equals(font)).toBe(true)
    const off = Buffer.from(sheet.rgba!)
    // A white pixel of 'A' (row 1 of the tile is 11222211) becomes (240, 240, 240): not white at
    // 5-bit precision, white is still the nearest colour.
    off.set([240, 240, 240], 33 * 128 * 4 + 10 * 4)
    expect(await failure(() => encodeTiles({ width: 128, height: 64, rgba: off }, { palette: { cgram, index: 0 } }))).toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
    expect(encodeTiles({ width: 128, height: 64, rgba: off }, { palette: { cgram, index: 0 }, match: 'nearest' }).equals(font)).toBe(true)
  })

  it('refuses bad sheets and palettes naming the argument', async () => {
    expect(await failure(() => decodeTiles(Buffer.alloc(32), { format: '3bpp' as never }))).toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG', message: expect.stringContaining('format') })
    expect(await failure(() => decodeTiles(Buffer.alloc(32), { palette: { cgram: Buffer.alloc(10) } }))).toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG', message: expect.stringContaining('512') })
    expect(await failure(() => encodeTiles({ width: 8, height: 8, indices: Buffer.alloc(64, 16) }))).toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
  })
})

describe('RomFile on the real ROMs of shared/fixtures/rom', () => {
  it('reads the header of lorom-template.sfc', async () => {
    const rom = await RomFile.open(join(FIXTURES, 'lorom-template.sfc'))
    try {
      expect(rom.size).toBe(262_144)
      expect(rom.copierHeader).toBe(0)
      expect(rom.mapping).toBe('lorom')
      expect(rom.header).toMatchObject({
        location: 'lo',
        headerOffset: 0x7fc0,
        title: "PINO'S LOROM TEMPLATE",
        mapMode: 0x20,
        fastRom: false,
        chipset: 0,
        romSizeByte: 8,
        romSizeKiB: 256,
        sramSizeKiB: 0,
        destination: 1,
        developerId: 0x33,
        makerCode: '',
        gameCode: '',
        version: 0,
        complement: 0xbda4,
        checksum: 0x425b,
        computedChecksum: 0x425b,
        checksumValid: true,
        resetVector: 0x8009,
        score: 11,
      })
      expect(rom.checksumValid).toBe(true)
      expect(rom.headerCandidates.map((c) => [c.location, c.score])).toEqual([
        ['lo', 11],
        ['hi', 0],
      ])
      expect(rom.cpuToOffset(0x008009)).toBe(9)
      expect([...rom.read(9, 8)]).toEqual([0x78, 0x18, 0xfb, 0xd8, 0x5c, 0x00, 0x80, 0x87])
      expect(rom.offsetToCpu(0x7fc0)).toBe(0x80ffc0)
      // The word sum is the classic mistake: 0xA786.
      const bytes = fixture('lorom-template.sfc')
      let words = 0
      for (let i = 0; i < bytes.length; i += 2) words = (words + bytes.readUInt16LE(i)) & 0xffff
      expect(words).toBe(0xa786)
      expect(rom.contentHash()).toMatch(/^[0-9a-f]{32}$/)
    } finally {
      await rom.close()
    }
  })

  it('reads the same fields, offsets and content hash through a copier header', () => {
    const path = join(work, 'lorom-template-copier.smc')
    writeFileSync(path, Buffer.concat([Buffer.alloc(512, 0xaa), fixture('lorom-template.sfc')]))
    const plain = RomFile.openSync(join(FIXTURES, 'lorom-template.sfc'))
    const headered = RomFile.openSync(path)
    try {
      expect(headered.copierHeader).toBe(512)
      expect(headered.size).toBe(262_144)
      expect(headered.header).toEqual(plain.header)
      expect(headered.read(9, 8).equals(plain.read(9, 8))).toBe(true)
      expect(headered.contentHash()).toBe(plain.contentHash())
    } finally {
      headered.closeSync()
      plain.closeSync()
    }
  })

  // Expected values read from the files with plain byte offsets, independent of the reader.
  for (const [name, offset, mapping] of [
    ['pvsneslib_hello_world.sfc', 0x7fc0, 'lorom'],
    ['dizworld.sfc', 0xffc0, 'hirom'],
  ] as const) {
    it(`reads ${name} as ${mapping}`, () => {
      const bytes = fixture(name)
      const rom = RomFile.openSync(join(FIXTURES, name))
      try {
        const h = rom.header!
        expect(h.headerOffset).toBe(offset)
        expect(h.mapping).toBe(mapping)
        expect(h.titleBytes.equals(bytes.subarray(offset, offset + 21))).toBe(true)
        expect(h.title).toBe(bytes.toString('latin1', offset, offset + 21).trimEnd())
        expect(h.mapMode).toBe(bytes[offset + 0x15])
        expect(h.fastRom).toBe((bytes[offset + 0x15] & 0x10) !== 0)
        expect(h.complement).toBe(bytes.readUInt16LE(offset + 0x1c))
        expect(h.checksum).toBe(bytes.readUInt16LE(offset + 0x1e))
        expect(h.resetVector).toBe(bytes.readUInt16LE(offset + 0x3c))
        let sum = 0
        for (const byte of bytes) sum = (sum + byte) & 0xffff
        // A valid pair's four bytes always add 0x1FE, so the placeholder rule changes nothing then.
        if ((h.checksum ^ h.complement) === 0xffff) expect(h.computedChecksum).toBe(sum)
        expect(h.checksumValid).toBe(h.checksum === sum && (h.checksum ^ h.complement) === 0xffff)
      } finally {
        rom.closeSync()
      }
    })
  }

  it('reads dizworld.sfc as HiROM + FastROM', () => {
    const rom = RomFile.openSync(join(FIXTURES, 'dizworld.sfc'))
    try {
      expect(rom.header).toMatchObject({ location: 'hi', mapping: 'hirom', fastRom: true })
      expect(rom.header!.mapMode & 0x0f).toBe(1)
      expect(rom.cpuToOffset(0xc00000)).toBe(0)
      expect(rom.cpuToOffset(0x001234)).toBeNull()
    } finally {
      rom.closeSync()
    }
  })
})

describe('RomFile on generated ROMs (every layout)', () => {
  const headers: [string, string, number, number][] = [
    ['lorom', 'lorom', 0x7fc0, 0x20],
    ['loromFast', 'lorom', 0x7fc0, 0x30],
    ['hirom', 'hirom', 0xffc0, 0x21],
    ['exhirom', 'exhirom', 0x40ffc0, 0x35],
    ['sa1', 'sa1', 0x7fc0, 0x23],
    ['copier', 'lorom', 0x7fc0, 0x20],
  ]
  for (const [name, mapping, headerOffset, mapMode] of headers) {
    it(`${name}: header, checksum, pointer table and every block (extract and scan) match the manifest`, async () => {
      const manifest = generated[name]
      expect(manifest).toMatchObject({ mapping, headerOffset, mapMode })
      const rom = await RomFile.open(manifest.path)
      try {
        expect(rom.size).toBe(manifest.size)
        expect(rom.copierHeader).toBe(manifest.copierHeader)
        expect(rom.contentHash()).toBe(manifest.xxh3)
        expect(rom.header).toMatchObject({
          mapping,
          headerOffset,
          mapMode,
          chipset: manifest.chipset,
          checksum: manifest.checksum,
          complement: manifest.complement,
          resetVector: manifest.resetVector,
          checksumValid: true,
        })
        expect(rom.header!.score).toBeGreaterThanOrEqual(5)
        if (name === 'hirom') {
          // The decoy at 0x7FC0 scores 5 (title + pair); the real header wins.
          expect(rom.headerCandidates.find((c) => c.location === 'lo')?.score).toBe(5)
          expect(rom.header!.score).toBe(11)
        }
        if (name === 'sa1') expect(rom.header!.coprocessor).toBe('sa1')

        const table = manifest.pointerTable!
        const listed = manifest.blocks.filter((b) => b.inTable)
        expect(listed.length).toBe(table.count)
        listed.forEach((block, i) => {
          const pointer = rom.readPointer(table.offset + 3 * i)
          expect(pointer).toBe(block.cpu)
          expect(rom.cpuToOffset(pointer)).toBe(block.offset)
          expect(rom.offsetToCpu(block.offset)).toBe(block.cpu)
        })

        const extracted = await rom.extract(manifest.blocks.map((b) => b.offset))
        extracted.forEach((result, i) => {
          const block = manifest.blocks[i]
          expect(result.offset).toBe(block.offset)
          expect(result.error).toBeNull()
          expect(result.consumed).toBe(block.compressedSize)
          expect(result.data!.length).toBe(block.decodedSize)
          expect(sha256(result.data!)).toBe(block.decodedSha256)
          expect(result.timeMs).toBeGreaterThanOrEqual(0)
        })

        const hits = await rom.scan()
        const found = new Map(hits.map((hit) => [hit.offset, hit]))
        for (const block of manifest.blocks) {
          const hit = found.get(block.offset)
          expect(hit, `block at ${block.offset}`).toBeDefined()
          expect([hit!.consumed, hit!.size]).toEqual([block.compressedSize, block.decodedSize])
          expect(hit!.score).toBeGreaterThanOrEqual(0.75)
        }
        expect(hits.map((h) => h.offset)).toEqual([...hits.map((h) => h.offset)].sort((a, b) => a - b))
      } finally {
        await rom.close()
      }
    })
  }

  it('noise: no header, the blocks decode, the last one is cut off before its FF', async () => {
    const manifest = generated.noise
    expect(manifest.mapping).toBeNull()
    const rom = await RomFile.open(manifest.path)
    try {
      expect(rom.header).toBeNull()
      expect(rom.mapping).toBeNull()
      expect(rom.checksumValid).toBe(false)
      expect(rom.headerCandidates.every((c) => c.score < 5)).toBe(true)
      expect(await failure(() => rom.cpuToOffset(0x808000))).toMatchObject({ code: 'ERR_MODFORGE_FORMAT' })
      const results = await rom.extract(manifest.blocks.map((b) => b.offset))
      const last = manifest.blocks.length - 1
      expect(manifest.blocks[last].truncated).toBe(true)
      results.forEach((result, i) => {
        if (i === last) {
          expect(result.data).toBeNull()
          expect(result.error).toMatchObject({ code: 'ERR_MODFORGE_FORMAT', reason: 'truncated' })
          expect(result.error!.message).toContain('noise.sfc')
        } else expect(sha256(result.data!)).toBe(manifest.blocks[i].decodedSha256)
      })
    } finally {
      await rom.close()
    }
  })

  it('scans with identical results at 1, 2 and 8 threads and any step grid', async () => {
    const rom = await RomFile.open(generated.lorom.path)
    try {
      const one = await rom.scan({ threads: 1 })
      expect(await rom.scan({ threads: 2 })).toEqual(one)
      expect(rom.scanSync({ threads: 8 })).toEqual(one)
      const range = await rom.scan({ start: 0x10000, end: 0x80000, threads: 2 })
      expect(range).toEqual(one.filter((hit) => hit.offset >= 0x10000 && hit.offset < 0x80000))
    } finally {
      await rom.close()
    }
  })

  it('reports scan progress in bytes up to the range size, and stops on abort with the reason as cause', async () => {
    const rom = await RomFile.open(generated.sa1.path)
    try {
      const events: { stage: string; done: number; total: number | null }[] = []
      await rom.scan({ onProgress: (event) => events.push({ stage: event.stage, done: event.done, total: event.total }) })
      expect(events.length).toBeGreaterThan(0)
      expect(events.every((e) => e.stage === 'scan' && e.total === rom.size)).toBe(true)
      expect(events[events.length - 1].done).toBe(rom.size)
      for (let i = 1; i < events.length; i += 1) expect(events[i].done).toBeGreaterThanOrEqual(events[i - 1].done)

      const controller = new AbortController()
      const reason = new Error('scrolled away')
      let seen = 0
      const aborted = await failure(() =>
        rom.scan({
          signal: controller.signal,
          onProgress: (event) => {
            seen = event.done
            controller.abort(reason)
          },
        }),
      )
      expect(aborted).toMatchObject({ code: 'ABORT_ERR', name: 'AbortError' })
      expect(aborted.cause).toBe(reason)
      expect(seen).toBeLessThan(rom.size)
    } finally {
      await rom.close()
    }
  })

  it('extracts with per-offset errors (past the end, no stream) and progress per distinct offset', async () => {
    const manifest = generated.lorom
    const rom = await RomFile.open(manifest.path)
    try {
      const good = manifest.blocks[3].offset
      const events: number[] = []
      const results = await rom.extract([good, rom.size + 10, good, 0x20000 - 1], { strict: true, onProgress: (e) => events.push(e.done) })
      expect(results.map((r) => r.offset)).toEqual([good, rom.size + 10, good, 0x20000 - 1])
      expect(results[0].data!.equals(results[2].data!)).toBe(true)
      expect(results[1].error).toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
      expect(events[events.length - 1]).toBe(3)
      expect(rom.extractSync([good])[0].data!.equals(results[0].data!)).toBe(true)
      expect(await failure(() => rom.extract([-1]))).toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG', message: expect.stringContaining('offsets[0]') })
      expect(await failure(() => rom.extractSync([good], { signal: new AbortController().signal } as never))).toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
    } finally {
      await rom.close()
    }
  })

  it('reads copies within bounds and refuses reads past the end', async () => {
    const rom = RomFile.openSync(generated.sa1.path)
    try {
      const bytes = readFileSync(generated.sa1.path)
      expect(rom.read(0x7fc0, 21).equals(bytes.subarray(0x7fc0, 0x7fc0 + 21))).toBe(true)
      const copy = rom.read(0, 4)
      copy[0] ^= 0xff
      expect(rom.read(0, 4)[0]).toBe(bytes[0])
      expect(await failure(() => rom.read(rom.size - 2, 4))).toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
      expect(rom.cpuToOffset(0xff0002)).toBe(0x3f0002)
      expect(rom.cpuToOffset(0x7e8000)).toBeNull()
      expect(rom.isStale()).toBe(false)
    } finally {
      rom.closeSync()
    }
  })

  it('closes: later calls are ERR_MODFORGE_INVALID_ARG, closing twice is harmless', async () => {
    const rom = await RomFile.open(generated.lorom.path)
    await rom.close()
    await rom.close()
    expect(await failure(() => rom.read(0, 1))).toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
    expect(await failure(() => rom.scan())).toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
    expect(await failure(() => rom.thumbnail(0))).toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
  })

  it('generates the same image from the same seed, sync and async', async () => {
    // The file name is part of the seed: the same name in another folder.
    mkdirSync(join(work, 'again'))
    const again = generateRomSync(join(work, 'again', 'lorom.sfc'), { layout: 'lorom', size: 1 << 20, blocks: 12, seed: 7 })
    expect(again.sha256).toBe(generated.lorom.sha256)
    expect(sha256(readFileSync(generated.lorom.path))).toBe(generated.lorom.sha256)
    expect(await failure(() => generateRom(join(work, 'x.sfc'), { layout: 'exhirom', size: 1 << 20 }))).toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
    expect(await failure(() => generateRom(join(work, 'x.sfc'), { layot: 'lorom' } as never))).toMatchObject({
      code: 'ERR_MODFORGE_INVALID_ARG',
      message: expect.stringContaining('layout'),
    })
  })
})

describe('thumbnails', () => {
  /** Greyscale RGBA of a 4bpp index sheet scaled by an integer factor, computed here. */
  function expectedRgba(indices: Buffer, width: number, height: number, factor: number): Buffer {
    const out = Buffer.alloc(width * factor * height * factor * 4)
    for (let y = 0; y < height * factor; y += 1) {
      for (let x = 0; x < width * factor; x += 1) {
        const index = indices[Math.floor(y / factor) * width + Math.floor(x / factor)]
        const at = (y * width * factor + x) * 4
        out[at] = out[at + 1] = out[at + 2] = index * 17
        out[at + 3] = index === 0 ? 0 : 255
      }
    }
    return out
  }

  it('PNG, WebP and RGBA thumbnails decode back to the tiles, pixel for pixel', async () => {
    const manifest = generated.sa1
    const rom = await RomFile.open(manifest.path)
    try {
      const block = manifest.blocks[0] // the glyph sheet: 128 tiles, 128x64 pixels
      const [decoded] = await rom.extract([block.offset])
      const sheet = decodeTiles(decoded.data!)
      const rgba = await rom.thumbnail(block.offset, { format: 'rgba', box: 256 })
      expect([rgba.width, rgba.height, rgba.tiles, rgba.format]).toEqual([256, 128, 128, 'rgba'])
      expect(rgba.image.equals(expectedRgba(sheet.indices, 128, 64, 2))).toBe(true)

      const png = await rom.thumbnail(block.offset, { box: 256 })
      const read = decodePng(png.image)
      expect([read.width, read.height, read.colorType]).toEqual([256, 128, 3])
      expect(read.rgba.equals(rgba.image)).toBe(true)

      const webp = await rom.thumbnail(block.offset, { format: 'webp', box: 256 })
      expect(webp.image.toString('latin1', 0, 4)).toBe('RIFF')
      expect(webp.image.toString('latin1', 8, 16)).toBe('WEBPVP8L')
      expect([webp.width, webp.height]).toEqual([256, 128])

      // Down-scaling into a smaller box samples src = floor(dst / s).
      const small = rom.thumbnailSync(block.offset, { format: 'rgba', box: { width: 64, height: 64 } })
      expect([small.width, small.height]).toEqual([64, 32])
      const expected = Buffer.alloc(64 * 32 * 4)
      for (let y = 0; y < 32; y += 1) {
        for (let x = 0; x < 64; x += 1) {
          const index = sheet.indices[y * 2 * 128 + x * 2]
          expected.set([index * 17, index * 17, index * 17, index === 0 ? 0 : 255], (y * 64 + x) * 4)
        }
      }
      expect(small.image.equals(expected)).toBe(true)

      // A CGRAM palette: the PNG's palette holds the converted colours.
      const cgram = fixture('Palette_Main.bin')
      const coloured = await rom.thumbnail(block.offset, { format: 'rgba', palette: { cgram, index: 0 }, box: 128 })
      const reference = decodeTiles(decoded.data!, { palette: { cgram, index: 0 } })
      expect(coloured.image.equals(reference.rgba!)).toBe(true)
    } finally {
      await rom.close()
    }
  })

  it('batches in request order with per-request errors, progress, and L1 cache hits', async () => {
    const manifest = generated.sa1
    const rom = await RomFile.open(manifest.path, { l1MaxEntries: 1000 })
    try {
      const offsets = manifest.blocks.map((b) => b.offset)
      const events: number[] = []
      const first = await rom.thumbnails([...offsets, 3], { box: 64, onProgress: (e) => events.push(e.done) })
      expect(first.map((o) => o.offset)).toEqual([...offsets, 3])
      expect(first.slice(0, -1).every((o) => o.thumbnail !== null && o.error === null)).toBe(true)
      expect(first[first.length - 1].error).toMatchObject({ code: 'ERR_MODFORGE_FORMAT' })
      expect(events[events.length - 1]).toBe(offsets.length + 1)
      const before = rom.cacheStats()
      const second = rom.thumbnailsSync(offsets, { box: 64 })
      second.forEach((o, i) => expect(o.thumbnail!.image.equals(first[i].thumbnail!.image)).toBe(true))
      const after = rom.cacheStats()
      expect(after.l1.hits - before.l1.hits).toBeGreaterThanOrEqual(offsets.length)
      expect(after.l1.entries).toBeGreaterThan(0)
      expect(after.l2).toMatchObject({ enabled: false, hits: 0, writes: 0 })
      // Per-request options override the batch defaults.
      const mixed = await rom.thumbnails([{ offset: offsets[0], box: 32 }, offsets[0]], { box: 16 })
      expect(mixed.map((o) => o.thumbnail!.width)).toEqual([32, 16])
    } finally {
      await rom.close()
    }
  })

  it('yields thumbnails as they are ready; breaking out withdraws the rest', async () => {
    const manifest = generated.sa1
    const rom = await RomFile.open(manifest.path)
    try {
      const offsets = manifest.blocks.map((b) => b.offset)
      const seen = new Map<number, number>()
      for await (const outcome of rom.thumbnailsAsReady([...offsets, 5], { box: 32 })) seen.set(outcome.offset, outcome.thumbnail?.width ?? -1)
      expect([...seen.keys()].sort((a, b) => a - b)).toEqual([5, ...offsets].sort((a, b) => a - b))
      expect(seen.get(5)).toBe(-1)
      expect(offsets.every((o) => seen.get(o) === 32)).toBe(true)
      let taken = 0
      for await (const outcome of rom.thumbnailsAsReady(offsets, { box: 48 })) {
        expect(outcome.thumbnail!.width).toBe(48)
        taken += 1
        if (taken === 2) break
      }
      expect(taken).toBe(2)
      const reason = new Error('closed the grid')
      const controller = new AbortController()
      const iteration = (async () => {
        for await (const _ of rom.thumbnailsAsReady(offsets, { box: 640, signal: controller.signal })) controller.abort(reason)
      })()
      const error = await failure(() => iteration)
      expect(error).toMatchObject({ code: 'ABORT_ERR', cause: reason })
    } finally {
      await rom.close()
    }
  })

  it('a withdrawn request rejects with ABORT_ERR and its reason; others still settle', async () => {
    const manifest = generated.sa1
    const rom = await RomFile.open(manifest.path)
    try {
      const controller = new AbortController()
      const reason = new Error('row scrolled out')
      const requests = manifest.blocks.map((b, i) => rom.thumbnail(b.offset, { priority: i, box: 512, signal: i === 5 ? controller.signal : undefined }))
      controller.abort(reason)
      const settled = await Promise.allSettled(requests)
      settled.forEach((s, i) => {
        if (i === 5 && s.status === 'rejected') {
          expect(s.reason).toMatchObject({ code: 'ABORT_ERR', name: 'AbortError' })
          expect((s.reason as Error).cause).toBe(reason)
        } else expect(s.status).toBe('fulfilled')
      })
      const early = await failure(() => rom.thumbnail(manifest.blocks[0].offset, { signal: AbortSignal.abort('gone') }))
      expect(early).toMatchObject({ code: 'ABORT_ERR', cause: 'gone' })
    } finally {
      await rom.close()
    }
  })

  it('L2: a second open serves from disk; bit-flipped or truncated entries are never served', async () => {
    const manifest = generated.lorom
    const cacheDir = join(work, 'l2')
    const offsets = manifest.blocks.slice(0, 4).map((b) => b.offset)
    const render = async () => {
      const rom = await RomFile.open(manifest.path, { cacheDir })
      try {
        const out = await rom.thumbnails(offsets, { box: 64 })
        return { images: out.map((o) => o.thumbnail!.image), stats: rom.cacheStats() }
      } finally {
        await rom.close()
      }
    }
    const cold = await render()
    expect(cold.stats.l2).toMatchObject({ enabled: true, hits: 0, degraded: null })
    expect(cold.stats.l2.writes).toBeGreaterThanOrEqual(4)
    const warm = await render()
    expect(warm.stats.l2.hits).toBeGreaterThanOrEqual(4)
    warm.images.forEach((image, i) => expect(image.equals(cold.images[i])).toBe(true))

    const files: string[] = []
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) walk(path)
        else files.push(path)
      }
    }
    walk(cacheDir)
    expect(files.length).toBeGreaterThanOrEqual(4)
    for (const [i, file] of files.entries()) {
      const bytes = readFileSync(file)
      if (i % 2 === 0) bytes[bytes.length - 5] ^= 0x40
      writeFileSync(file, i % 2 === 0 ? bytes : bytes.subarray(0, bytes.length - 7))
    }
    const damaged = await render()
    expect(damaged.stats.l2.hits).toBe(0)
    damaged.images.forEach((image, i) => expect(image.equals(cold.images[i])).toBe(true))
  })

  it.runIf(onLinux)('an unwritable cache folder degrades to memory only and says so (unprivileged)', () => {
    const cacheDir = join(work, 'readonly-cache')
    mkdirSync(cacheDir)
    chmodSync(cacheDir, 0o555)
    const result = runUnprivileged<{ degraded: unknown; width: number; files: string[] }>(`
      const { readdirSync } = require('node:fs')
      const { RomFile } = require(MODFORGE)
      const rom = RomFile.openSync(${JSON.stringify(generated.lorom.path)}, { cacheDir: ${JSON.stringify(cacheDir)} })
      const thumbnail = rom.thumbnailSync(${generated.lorom.blocks[0].offset})
      const degraded = rom.cacheStats().l2.degraded
      rom.closeSync()
      process.stdout.write(JSON.stringify({ degraded, width: thumbnail.width, files: readdirSync(${JSON.stringify(cacheDir)}) }))
    `)
    // The thumbnail is still made (from memory), the reason is reported and nothing is written.
    expect(result.degraded).toEqual(expect.stringContaining(cacheDir))
    expect(result.width).toBeGreaterThan(0)
    expect(result.files).toEqual([])
  })

  it('a cache folder that is a file degrades to memory only and says so', async () => {
    const cacheDir = join(work, 'cache-is-a-file')
    writeFileSync(cacheDir, 'not a folder')
    const rom = await RomFile.open(generated.lorom.path, { cacheDir })
    try {
      const t = await rom.thumbnail(generated.lorom.blocks[0].offset)
      expect(t.width).toBeGreaterThan(0)
      const stats = rom.cacheStats()
      expect(stats.l2.degraded).toEqual(expect.any(String))
      expect(stats.l2.hits).toBe(0)
    } finally {
      await rom.close()
    }
  })
})

describe('patching into a copy', () => {
  it('writes edits with checksum and complement fixed; the open image never changes', async () => {
    const manifest = generated.lorom
    const rom = await RomFile.open(manifest.path)
    const dest = join(work, 'patched.sfc')
    try {
      const sprite = Buffer.alloc(4096, 0x11)
      const stream = await hal.encode(sprite, { mode: 'optimal' })
      const at = manifest.blocks[4].offset
      const events: { stage: string; done: number; total: number | null }[] = []
      const result = await rom.patch(dest, [{ offset: at, bytes: stream }], { onProgress: ({ stage, done, total }) => events.push({ stage, done, total }) })
      expect(result.path).toBe(dest)
      expect(result.bytes).toBe(rom.size)
      expect(events[events.length - 1]).toEqual({ stage: 'patch', done: 1, total: 1 })
      expect(events.every((e) => e.stage === 'patch' || (e.stage === 'write' && e.total === rom.size))).toBe(true)
      expect(rom.read(at, stream.length).equals(stream)).toBe(false)
      const patched = RomFile.openSync(dest)
      try {
        expect(patched.checksumValid).toBe(true)
        expect(patched.header!.checksum).toBe(result.checksum)
        expect(patched.header!.complement).toBe(result.checksum! ^ 0xffff)
        expect((await patched.extract([at]))[0].data!.equals(sprite)).toBe(true)
      } finally {
        patched.closeSync()
      }
      expect(await failure(() => rom.patch(dest, [{ offset: rom.size - 1, bytes: Buffer.alloc(2) }]))).toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
      expect(readdirSync(work).filter((n) => n.includes('.tmp'))).toEqual([])
    } finally {
      await rom.close()
    }
  })

  it('writeFileAtomic and rgbaToPng write a sheet that decodes back', () => {
    const rgba = Buffer.from(Array.from({ length: 3 * 2 * 4 }, (_, i) => (i * 29) & 0xff))
    const png = rgbaToPng(rgba, { width: 3, height: 2 })
    const path = join(work, 'sheet.png')
    writeFileAtomic(path, png)
    const read = decodePng(readFileSync(path))
    expect([read.width, read.height, read.colorType]).toEqual([3, 2, 6])
    expect(read.rgba.equals(rgba)).toBe(true)
    expect(() => rgbaToPng(rgba, { width: 4, height: 2 })).toThrow(expect.objectContaining({ code: 'ERR_MODFORGE_INVALID_ARG' }))
  })
})

describe('hostile ROM files through the API', () => {
  it('an empty file, a copier header alone and a missing file fail with codes and the file', async () => {
    const empty = join(work, 'empty.sfc')
    writeFileSync(empty, Buffer.alloc(0))
    expect(await failure(() => RomFile.open(empty))).toMatchObject({ code: 'ERR_MODFORGE_FORMAT', file: expect.stringContaining('empty.sfc'), offset: 0 })
    const onlyCopier = join(work, 'copier-only.smc')
    writeFileSync(onlyCopier, Buffer.alloc(512))
    expect(await failure(() => RomFile.open(onlyCopier))).toMatchObject({ code: 'ERR_MODFORGE_FORMAT', file: expect.stringContaining('copier-only.smc') })
    expect(await failure(() => RomFile.open(join(work, 'missing.sfc')))).toMatchObject({ code: 'ERR_MODFORGE_IO', syscall: 'open' })
    expect(await failure(() => RomFile.open(work))).toMatchObject({ code: expect.stringMatching(/^ERR_MODFORGE_(IO|FORMAT|INVALID_ARG)$/) })
    expect(await failure(() => RomFile.open(empty, { mapping: 'snes' as never }))).toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG', message: expect.stringContaining('mapping') })
    expect(await failure(() => RomFile.open(empty, { sa1Blocks: [0, 1, 2] }))).toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
  })

  it('random bytes, truncations and bit flips of a real ROM open, scan and extract without a crash', async () => {
    const original = readFileSync(generated.lorom.path)
    const cases: [string, Buffer][] = [
      ['random', randomBytes(11, 256 << 10)],
      ['random-odd', randomBytes(12, 1000)],
      ['one-byte', Buffer.from([0x20])],
    ]
    for (const cut of [1, 0x7fc0, 0x7fd5, 0x8000, 0x8001, original.length - 1]) cases.push([`cut-${cut}`, original.subarray(0, cut)])
    for (let i = 0; i < 8; i += 1) {
      const flipped = Buffer.from(original)
      for (let k = 0; k < 64; k += 1) flipped[(i * 7919 + k * 104_729) % flipped.length] ^= 1 << (k % 8)
      // Lying header fields: a valid-looking pair and map mode over garbage.
      flipped.writeUInt16LE(0x1234 ^ 0xffff, 0x7fdc)
      flipped.writeUInt16LE(0x1234, 0x7fde)
      cases.push([`flip-${i}`, flipped])
    }
    for (const [name, bytes] of cases) {
      const path = join(work, `hostile-${name}.sfc`)
      writeFileSync(path, bytes)
      const rom = await RomFile.open(path)
      try {
        expect(rom.size).toBe(bytes.length % 1024 === 512 ? bytes.length - 512 : bytes.length)
        for (const c of rom.headerCandidates) expect(c.score).toBeLessThanOrEqual(11)
        const hits = await rom.scan({ step: 3 })
        for (const hit of hits) expect(hit.offset + hit.consumed).toBeLessThanOrEqual(rom.size)
        const offsets = generated.lorom.blocks.map((b) => b.offset).filter((o) => o < rom.size)
        for (const result of await rom.extract(offsets)) {
          if (result.error) {
            expect(result.error.code).toMatch(/^ERR_MODFORGE_(FORMAT|INVALID_ARG)$/)
            expect(result.error.offset).toBeGreaterThanOrEqual(result.offset)
            expect(result.error.message).toContain(`hostile-${name}.sfc`)
          } else expect(result.data!.length).toBeLessThanOrEqual(65_536)
        }
        const thumbs = await rom.thumbnails(offsets.slice(0, 3), { box: 32 })
        for (const t of thumbs) expect(t.thumbnail !== null || t.error !== null).toBe(true)
      } finally {
        await rom.close()
      }
    }
  })

  it('a ROM over the 64 MiB cap is ERR_MODFORGE_LIMIT before it is read', async () => {
    const big = join(work, 'too-big.sfc')
    writeFileSync(big, Buffer.alloc(0))
    // A sparse file: no disk space used.
    spawnSync('truncate', ['-s', String(64 * 1024 * 1024 + 4096), big])
    if (statSync(big).size > 64 << 20) expect(await failure(() => RomFile.open(big))).toMatchObject({ code: 'ERR_MODFORGE_LIMIT' })
  })

  it('isStale notices a replaced file; the open image keeps its bytes', async () => {
    const path = join(work, 'stale.sfc')
    copyFileSync(generated.lorom.path, path)
    const rom = await RomFile.open(path)
    try {
      const before = rom.read(0x8000, 16)
      expect(rom.isStale()).toBe(false)
      writeFileSync(path, Buffer.alloc(1024))
      expect(rom.isStale()).toBe(true)
      expect(rom.read(0x8000, 16).equals(before)).toBe(true)
    } finally {
      await rom.close()
    }
  })
})

describe('the rom and hal commands', () => {
  it('rom info prints the real header of lorom-template.sfc, as a table and as JSON', () => {
    const file = join(FIXTURES, 'lorom-template.sfc')
    const text = modforge('rom', 'info', file)
    expect(text.code).toBe(0)
    expect(text.stdout).toContain("PINO'S LOROM TEMPLATE")
    expect(text.stdout).toContain('0x425B')
    expect(text.stdout).toContain('0xBDA4')
    expect(text.stdout).toMatch(/checksum valid\s+yes/)
    const json = JSON.parse(modforge('rom', 'info', file, '--json').stdout)
    expect(json.header).toMatchObject({ title: "PINO'S LOROM TEMPLATE", mapMode: 0x20, checksum: 0x425b, complement: 0xbda4, resetVector: 0x8009, score: 11 })
    expect(json.headerCandidates).toEqual([
      expect.objectContaining({ location: 'lo', score: 11 }),
      expect.objectContaining({ location: 'hi', score: 0 }),
    ])
  })

  it('every command has --help', () => {
    for (const args of [['rom'], ['hal'], ['rom', 'info'], ['rom', 'extract'], ['rom', 'scan'], ['rom', 'sheet'], ['rom', 'generate'], ['hal', 'decompress'], ['hal', 'compress']]) {
      const help = modforge(...args, '--help')
      expect(help.code, args.join(' ')).toBe(0)
      expect(help.stdout.length).toBeGreaterThan(50)
    }
    expect(modforge('rom', 'info').code).toBe(2)
  })

  it('rom scan and rom extract match the generated manifest', () => {
    const manifest = generated.hirom
    const scan = modforge('rom', 'scan', manifest.path, '--json', '--no-progress')
    expect(scan.code).toBe(0)
    const hits = JSON.parse(scan.stdout) as { offset: number; consumed: number; cpu: number | null }[]
    for (const block of manifest.blocks) expect(hits).toContainEqual(expect.objectContaining({ offset: block.offset, consumed: block.compressedSize, cpu: block.cpu }))
    const out = join(work, 'extracted')
    const offsets = manifest.blocks.slice(0, 3).map((b) => `0x${b.offset.toString(16)}`)
    const extracted = modforge('rom', 'extract', manifest.path, ...offsets, '-o', out, '--json')
    expect(extracted.code).toBe(0)
    const results = JSON.parse(extracted.stdout) as { raw: string; png: string }[]
    results.forEach((r, i) => {
      expect(sha256(readFileSync(r.raw))).toBe(manifest.blocks[i].decodedSha256)
      expect(decodePng(readFileSync(r.png)).width).toBe(128)
    })
    const sheet = join(work, 'sheet-cli.png')
    expect(modforge('rom', 'sheet', manifest.path, offsets[0], '-o', sheet).code).toBe(0)
    expect(decodePng(readFileSync(sheet))).toMatchObject({ width: 256, height: 128 })
    const bad = modforge('rom', 'extract', manifest.path, '0x10', '-o', out)
    expect(bad.code).toBe(1)
    expect(bad.stdout).toContain('FAILED')
  })

  it('hal compress and decompress round-trip like inhal/exhal, also into a ROM', () => {
    const font = join(FIXTURES, 'GFX_Font_4BPP_Gradation.bin')
    const stream = join(work, 'font.hal')
    const compressed = modforge('hal', 'compress', font, stream, '--mode', 'optimal', '--json')
    expect(compressed.code).toBe(0)
    expect(JSON.parse(compressed.stdout)).toMatchObject({ mode: 'optimal', uncompressedSize: 4096 })
    expect(readFileSync(stream).length).toBeLessThanOrEqual(1248)
    const back = join(work, 'font.bin')
    const decompressed = modforge('hal', 'decompress', stream, '0', back, '--raw', '--json')
    expect(decompressed.code).toBe(0)
    expect(JSON.parse(decompressed.stdout)).toMatchObject({ uncompressedSize: 4096, compressedSize: readFileSync(stream).length })
    expect(readFileSync(back).equals(readFileSync(font))).toBe(true)

    const rom = join(work, 'inject.sfc')
    copyFileSync(generated.lorom.path, rom)
    const at = generated.lorom.blocks[5].offset
    expect(modforge('hal', 'compress', font, rom, `0x${at.toString(16)}`, '--json').code).toBe(0)
    const out = join(work, 'injected.bin')
    expect(modforge('hal', 'decompress', rom, String(at), '-o', out).code).toBe(0)
    expect(readFileSync(out).equals(readFileSync(font))).toBe(true)
    expect(JSON.parse(modforge('rom', 'info', rom, '--json').stdout).checksumValid).toBe(true)

    const bad = join(work, 'bad.hal')
    writeFileSync(bad, hex('00 00 21 05 E3'))
    const failed = modforge('hal', 'decompress', bad, '2', join(work, 'nothing.bin'), '--raw')
    expect(failed.code).toBe(1)
    expect(failed.stderr).toContain('truncated')
    expect(failed.stderr).toContain('0x000004')
    expect(existsSync(join(work, 'nothing.bin'))).toBe(false)
  })
})
