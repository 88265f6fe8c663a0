/**
 * `npm run bench -- rom`: the SNES ROM reader from Node, on generated ROMs and the inhal corpus, warm
 * page cache. In one run: `RomFile.open` of a 4 MiB ROM; HAL decode throughput next to a plain copy
 * of the same output (the floor) and a JavaScript decoder of the reference pseudocode; encode size
 * and time per mode beside inhal's sizes from the corpus manifest; 100 thumbnails (memory cache
 * cold, no disk cache) beside SpritePal's published figure; the 4 MiB step-1 scan; a process per
 * block (`modforge hal decompress` spawned per offset, the way SpritePal runs exhal) against
 * `rom.extract` for the same 100 blocks; a load run of 10 concurrent callers x 1,000 extractions and
 * the resident set over 10 rounds on a 32 MiB ROM.
 *
 * exhal and inhal themselves are not run: they are C programs published only as source on GitHub,
 * and no package registry reachable here ships them. Their sizes come from the corpus manifest
 * (written by inhal); SpritePal's figures are quoted as published.
 *
 * Flags: `--runs N` (timed runs per row, default 15), `--spawn N` (blocks of the process-per-block
 * row, default 100).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

import { generateRom, hal, RomFile, type GeneratedRom } from 'modforge'
import { type Measurement, type TargetResult, machine, measure, printTable, summarize, target, writeResults } from './harness'

const ROOT = resolve(__dirname, '..')
const CORPUS = resolve(ROOT, '../shared/fixtures/rom/hal')
const MAIN = join(ROOT, 'dist/cli/main.js')

/** SpritePal's published figures (claims of its "Phase 4" plan document, not measurements here). */
const SPRITEPAL = { hundredThumbnailsMs: 900, extractMeanMs: 48, extractP99Ms: 125, rss32MiBRomMiB: 3.2 }

/** The reference decoder of docs/rom.md in JavaScript (compatible mode): a peer for throughput. */
function jsDecode(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(65_536)
  let o = 0
  let i = 0
  for (;;) {
    if (i >= src.length) throw new Error('truncated')
    let b = src[i++]
    if (b === 0xff) break
    let cmd: number
    let len: number
    if ((b & 0xe0) === 0xe0) {
      cmd = (b >> 2) & 7
      len = (((b & 3) << 8) | src[i++]) + 1
    } else {
      cmd = b >> 5
      len = (b & 0x1f) + 1
    }
    if (cmd === 7) cmd = 4
    const produced = cmd === 2 ? 2 * len : len
    if (o + produced > 65_536) throw new Error('outputTooLarge')
    switch (cmd) {
      case 0:
        out.set(src.subarray(i, i + len), o)
        i += len
        break
      case 1:
        out.fill(src[i++], o, o + len)
        break
      case 2:
        for (let k = 0; k < len; k += 1) {
          out[o + 2 * k] = src[i]
          out[o + 2 * k + 1] = src[i + 1]
        }
        i += 2
        break
      case 3:
        for (let k = 0; k < len; k += 1) out[o + k] = (src[i] + k) & 0xff
        i += 1
        break
      default: {
        const off = (src[i] << 8) | src[i + 1]
        i += 2
        // Output not yet written reads 0 (the position being written is o + k).
        if (cmd === 4) for (let k = 0; k < len; k += 1) out[o + k] = off + k < o + k ? out[off + k] : 0
        else if (cmd === 5) {
          for (let k = 0; k < len; k += 1) {
            b = off + k < o + k ? out[off + k] : 0
            b = ((b & 0xf0) >> 4) | ((b & 0x0f) << 4)
            b = ((b & 0xcc) >> 2) | ((b & 0x33) << 2)
            out[o + k] = ((b & 0xaa) >> 1) | ((b & 0x55) << 1)
          }
        } else for (let k = 0; k < len; k += 1) out[o + k] = off - k < o + k ? out[off - k] : 0
      }
    }
    o += produced
  }
  return out.slice(0, o)
}

function flag(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(name)
  const value = at >= 0 ? Number(args[at + 1]) : fallback
  return Number.isInteger(value) && value > 0 ? value : fallback
}

const mb = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1e3)

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

interface CorpusEntry {
  file: string
  size: number
  streams: Record<string, { file: string; size: number }>
}

/** Decode throughput: modforge, the JS decoder and the copy floor on the same streams. */
async function decodeRows(streams: { stream: Buffer; size: number }[], runs: number): Promise<Measurement[]> {
  const outBytes = streams.reduce((sum, s) => sum + s.size, 0)
  const inner = Math.max(1, Math.round(2_000_000 / outBytes))
  const outputs = streams.map((s) => hal.decode(s.stream).data)
  const note = (ms: number) => `${(mb(outBytes * inner, ms) | 0).toLocaleString('en-US')} MB/s of output`
  const plan = { warmup: 3, runs }
  const rows = [
    await measure('modforge hal.decode', plan, () => {
      for (let r = 0; r < inner; r += 1) for (const s of streams) hal.decode(s.stream)
    }),
    await measure('plain copy of the same output (floor)', plan, () => {
      for (let r = 0; r < inner; r += 1) for (const out of outputs) Buffer.from(out)
    }),
    await measure('JS reference decoder (docs/rom.md pseudocode)', plan, () => {
      for (let r = 0; r < inner; r += 1) for (const s of streams) jsDecode(s.stream)
    }),
  ]
  return rows.map((row) => ({ ...row, note: `${note(row.median)}; ${inner} x ${streams.length} streams, ${outBytes} B out` }))
}

export async function romBenchmark(args: string[]): Promise<void> {
  const runs = flag(args, '--runs', 15)
  const spawnBlocks = flag(args, '--spawn', 100)
  const work = mkdtempSync(join(tmpdir(), 'modforge-bench-rom-'))
  const targets: TargetResult[] = []
  const results: Record<string, unknown> = {}
  console.log(`\n== rom benchmark: warm page cache (files just written), ${runs} timed runs per row, data in ${work}`)
  console.log('peers: exhal/inhal are not run (C sources on GitHub only; no reachable package registry ships them):')
  console.log("       inhal's sizes come from the corpus manifest; SpritePal's figures are quoted as published (claims).")
  try {
    const rom4 = await generateRom(join(work, 'sa1-4m.sfc'), { layout: 'sa1', size: 4 << 20, blocks: 120, blockTiles: 128, seed: 2026 })
    console.log(`4 MiB SA-1 ROM: ${rom4.blocks.length} HAL blocks (4 KiB decoded each, 3 glyph sheets), pointer table, noise, padding, raw tiles`)

    // 1. Open.
    RomFile.openSync(rom4.path).closeSync()
    const open = await measure('RomFile.openSync 4 MiB (read, header scoring, checksum)', { warmup: 5, runs: runs * 4 }, () => RomFile.openSync(rom4.path).closeSync())
    const openAsync = await measure('RomFile.open 4 MiB (Promise, off the main thread)', { warmup: 5, runs: runs * 4 }, async () => (await RomFile.open(rom4.path)).closeSync())
    printTable('open a 4 MiB ROM', [open, openAsync], open.name)
    targets.push(target('open 4 MiB, ms (sync)', open.median, 1, false))
    results.open = [open, openAsync]

    // 2. Decode throughput.
    const rom = RomFile.openSync(rom4.path)
    const generatedStreams = rom4.blocks.map((b) => ({ stream: rom.read(b.offset, b.compressedSize), size: b.decodedSize }))
    const manifest = JSON.parse(readFileSync(join(CORPUS, 'manifest.json'), 'utf8')) as { inputs: CorpusEntry[] }
    const corpusStreams = manifest.inputs
      .filter((entry) => entry.streams['2'])
      .map((entry) => ({ stream: readFileSync(join(CORPUS, entry.streams['2'].file)), size: entry.size }))
    const decodeGenerated = await decodeRows(generatedStreams, runs)
    printTable('HAL decode: 120 generated sprite blocks (4 KiB each)', decodeGenerated, decodeGenerated[0].name)
    const decodeCorpus = await decodeRows(corpusStreams, runs)
    printTable("HAL decode: inhal's -2 streams of the corpus (19 inputs)", decodeCorpus, decodeCorpus[0].name)
    for (const [label, rows] of [['generated', decodeGenerated], ['corpus', decodeCorpus]] as const) {
      targets.push(target(`decode ${label}: modforge time / plain-copy time`, rows[0].median / rows[1].median, 3, false))
    }
    results.decode = { generated: decodeGenerated, corpus: decodeCorpus }

    // 3. Encode size and time per mode beside inhal's sizes.
    const modes = ['fast', 'greedy', 'optimal'] as const
    const sizeRows: string[][] = []
    const totals = { fast: 0, greedy: 0, optimal: 0, inhal1: 0, inhal2: 0, inhal3: 0, inhal4: 0 }
    const encodeTimes: Record<string, number[]> = { fast: [], greedy: [], optimal: [] }
    let optimalOverInhal = 0
    for (const entry of manifest.inputs) {
      const input = readFileSync(join(CORPUS, entry.file))
      const row = [entry.file, String(entry.size)]
      for (const mode of modes) {
        const started = process.hrtime.bigint()
        let size: number | string
        try {
          size = hal.encodeSync(input, { mode }).length
        } catch (error) {
          size = (error as { code: string }).code === 'ERR_MODFORGE_LIMIT' ? 'limit' : 'error'
        }
        encodeTimes[mode].push(Number(process.hrtime.bigint() - started) / 1e6)
        row.push(String(size))
        if (typeof size === 'number' && entry.streams['4']) totals[mode] += size
      }
      for (const m of ['1', '2', '3', '4'] as const) {
        row.push(entry.streams[m] ? String(entry.streams[m].size) : 'fails')
        if (entry.streams[m]) totals[`inhal${m}`] += entry.streams[m].size
      }
      if (entry.streams['4'] && Number(row[4]) > entry.streams['4'].size) optimalOverInhal += 1
      sizeRows.push(row)
    }
    sizeRows.push(['total (inputs inhal encodes)', '', String(totals.fast), String(totals.greedy), String(totals.optimal), String(totals.inhal1), String(totals.inhal2), String(totals.inhal3), String(totals.inhal4)])
    const header = ['input', 'bytes', 'fast', 'greedy', 'optimal', 'inhal -1', 'inhal -2', 'inhal -3', 'inhal -4']
    const widths = header.map((h, i) => Math.max(h.length, ...sizeRows.map((r) => r[i].length)))
    console.log('\nHAL encode: stream sizes in bytes (modforge modes beside inhal from the corpus manifest)')
    console.log(header.map((h, i) => (i === 0 ? h.padEnd(widths[i]) : h.padStart(widths[i]))).join('  '))
    for (const r of sizeRows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '))
    const encodeRows = modes.map((mode) => summarize(`modforge encode ${mode}`, encodeTimes[mode], 'per input, the 20 corpus inputs'))
    printTable('HAL encode time per input (sync, one run each)', encodeRows, 'modforge encode greedy')
    console.log("inhal's published encode times (font 4 KiB / 64 KiB): -1 1.03 ms / 93.5 ms, -2 1.91 / 240, -3 362 / 8,200, -4 754 / 36,500 (other host)")
    const font = readFileSync(resolve(CORPUS, '../GFX_Font_4BPP_Gradation.bin'))
    const fontOptimal = await measure('modforge encode optimal, font 4 KiB', { warmup: 1, runs }, () => hal.encodeSync(font, { mode: 'optimal' }))
    const mixed = readFileSync(join(CORPUS, '12_mixed_64k.bin'))
    const mixedOptimal = await measure('modforge encode optimal, 64 KiB mixed', { warmup: 1, runs: Math.max(3, runs >> 2) }, () => hal.encodeSync(mixed, { mode: 'optimal' }))
    printTable('HAL encode optimal', [fontOptimal, mixedOptimal], fontOptimal.name)
    targets.push(target('inputs where optimal > inhal -4 (count)', optimalOverInhal, 0, false))
    targets.push(target('optimal total vs inhal -4 total, % smaller', (100 * (totals.inhal4 - totals.optimal)) / totals.inhal4, 1))
    results.encode = { sizes: sizeRows, totals, times: encodeRows, fontOptimal, mixedOptimal }

    // 4. 100 thumbnails, memory cache cold, no disk cache.
    const offsets = rom4.blocks.slice(0, 100).map((b) => b.offset)
    const thumbs = await measure('modforge rom.thumbnails: 100 x 128x128 PNG, L1 cold, no L2', { warmup: 2, runs }, async () => {
      const fresh = RomFile.openSync(rom4.path)
      try {
        const out = await fresh.thumbnails(offsets, { box: 128, format: 'png' })
        if (out.some((o) => o.error)) throw new Error('a thumbnail failed')
      } finally {
        fresh.closeSync()
      }
    })
    const spritepalThumbs: Measurement = { name: 'SpritePal, 100 thumbnails (published claim)', median: SPRITEPAL.hundredThumbnailsMs, min: SPRITEPAL.hundredThumbnailsMs, max: SPRITEPAL.hundredThumbnailsMs, runs: 0, note: 'not measured here' }
    printTable('100 thumbnails', [thumbs, spritepalThumbs], thumbs.name)
    targets.push(target('100 thumbnails, ms', thumbs.median, 50, false))
    results.thumbnails = [thumbs, spritepalThumbs]

    // 5. The 4 MiB step-1 scan.
    let found = 0
    const scan = await measure('modforge rom.scan 4 MiB, step 1', { warmup: 1, runs: Math.max(3, runs >> 2) }, async () => {
      found = (await rom.scan()).length
    })
    scan.note = `${found} blocks found of ${rom4.blocks.length} generated`
    printTable('scan', [scan], scan.name)
    targets.push(target('4 MiB step-1 scan, ms', scan.median, 2000, false))
    results.scan = scan

    // 6. A process per block against one batch.
    const spawnOffsets = offsets.slice(0, spawnBlocks)
    const out = join(work, 'block.bin')
    const spawnStarted = process.hrtime.bigint()
    for (const offset of spawnOffsets) {
      const child = spawnSync(process.execPath, [MAIN, 'hal', 'decompress', rom4.path, String(offset), out], { stdio: 'ignore' })
      if (child.status !== 0) throw new Error(`modforge hal decompress exited ${child.status}`)
    }
    const spawnMs = Number(process.hrtime.bigint() - spawnStarted) / 1e6
    const spawnRow: Measurement = { name: `process per block: ${spawnOffsets.length} x spawn modforge hal decompress`, median: spawnMs, min: spawnMs, max: spawnMs, runs: 1, note: 'one run' }
    const batch = await measure(`modforge rom.extract, the same ${spawnOffsets.length} blocks`, { warmup: 2, runs }, async () => {
      const fresh = RomFile.openSync(rom4.path)
      try {
        await fresh.extract(spawnOffsets)
      } finally {
        fresh.closeSync()
      }
    }, 'open + extract + close, L1 cold')
    printTable('process per block vs one batch', [batch, spawnRow], batch.name)
    console.log(`SpritePal's pattern measured with exhal (published): 0.89-0.94 ms per spawn, 1.09-1.15 ms with the 128 KiB temp window (other host)`)
    targets.push(target('rom.extract vs process per block, x faster', spawnMs / batch.median, 50))
    results.processPerBlock = [batch, spawnRow]
    rom.closeSync()

    // 7. Load run and RSS on a 32 MiB ROM.
    const rom32: GeneratedRom = await generateRom(join(work, 'sa1-32m.sfc'), { layout: 'sa1', size: 32 << 20, blocks: 1000, blockTiles: 128, seed: 2026 })
    const blockOffsets = rom32.blocks.map((b) => b.offset)
    const load = async (label: string, cached: boolean) => {
      const big = RomFile.openSync(rom32.path, cached ? {} : { l1MaxEntries: 0 })
      try {
        const latencies: number[] = []
        let next = 0
        const caller = async () => {
          while (next < 1000) {
            const offset = blockOffsets[next++ % blockOffsets.length]
            const started = process.hrtime.bigint()
            const [result] = await big.extract([offset])
            latencies.push(Number(process.hrtime.bigint() - started) / 1e6)
            if (!result.data) throw new Error(`extract ${offset} failed`)
          }
        }
        if (cached) await big.extract(blockOffsets)
        const started = process.hrtime.bigint()
        await Promise.all(Array.from({ length: 10 }, caller))
        const wall = Number(process.hrtime.bigint() - started) / 1e6
        latencies.sort((a, b) => a - b)
        const mean = latencies.reduce((s, v) => s + v, 0) / latencies.length
        return { label, mean, p99: percentile(latencies, 99), max: latencies[latencies.length - 1], wall }
      } finally {
        big.closeSync()
      }
    }
    const loads = [await load('memory cache off (every extraction decodes)', false), await load('memory cache on, warm', true)]
    console.log('\nload run: 10 concurrent callers, 1,000 single-offset rom.extract calls, 32 MiB SA-1 ROM (1,000 blocks)')
    for (const l of loads) console.log(`  ${l.label}: mean ${l.mean.toFixed(3)} ms, p99 ${l.p99.toFixed(3)} ms, max ${l.max.toFixed(2)} ms, all 1,000 in ${l.wall.toFixed(1)} ms`)
    console.log(`  SpritePal (published claim): mean ${SPRITEPAL.extractMeanMs} ms, p99 ${SPRITEPAL.extractP99Ms} ms; ratio of means ${(SPRITEPAL.extractMeanMs / loads[0].mean).toFixed(0)}x, of p99 ${(SPRITEPAL.extractP99Ms / loads[0].p99).toFixed(0)}x`)
    results.load = loads

    const gc = (globalThis as { gc?: () => void }).gc
    const rss: number[] = []
    for (let round = 0; round < 10; round += 1) {
      const big = await RomFile.open(rom32.path)
      await big.extract(blockOffsets)
      await big.thumbnails(blockOffsets.slice(0, 100), { box: 128 })
      await big.scan({ start: 0, end: 4 << 20 })
      await big.close()
      gc?.()
      rss.push(process.memoryUsage().rss / 2 ** 20)
    }
    console.log(`\nRSS after each of 10 rounds (open 32 MiB, extract 1,000, 100 thumbnails, scan 4 MiB, close${gc ? ', gc' : ''}): ${rss.map((r) => r.toFixed(1)).join(' ')} MiB`)
    const growth = rss[9] - rss[1]
    console.log(`  growth from round 2 to round 10: ${growth.toFixed(1)} MiB; SpritePal (published claim): ${SPRITEPAL.rss32MiBRomMiB} MB for a 32 MB ROM (its process, not comparable: ours is the Node process with the ROM read in while open)`)
    targets.push(target('RSS growth round 2 -> 10, MiB', growth, 8, false))
    results.rss = rss

    const file = writeResults('rom', { machine: machine(), cache: 'warm', runs, results, targets })
    console.log(`\nresults written to ${file}`)
  } finally {
    if (existsSync(work)) rmSync(work, { recursive: true, force: true })
  }
}
