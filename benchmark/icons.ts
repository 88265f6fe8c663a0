/**
 * `npm run bench -- icons`: the NWN2 icon cache against a plain JavaScript implementation on the
 * same generated install (docs/icons.md, "Performance"), in one run:
 *
 * - cold build (empty cache folder) at 1, 2, ... N threads; the JS baseline with sharp at effort 4
 *   (its default) and effort 0;
 * - warm start in a fresh child process, from open to the first icon returned (the addon or
 *   module load reported apart), median of 20, modforge and the baseline taking turns;
 * - `getIcon` mean over 100k random cached names;
 * - incremental rebuild after touching one HAK; bytes on disk.
 *
 * The JS baseline: yauzl for the Data zips, a small ERF reader, @lunapaint/tga-codec for TGA,
 * parse-dds + decode-dxt for DDS, sharp for lossless WebP (@jsquash/webp, wasm libwebp, as a second encoder
 * on every 10th icon: one thread at tens of ms per icon), a bounded `Promise.all` over libuv and
 * sharp's threads; its cache is a JSON index plus one blob file read with `fs.readSync` on demand,
 * with the same validation at open as modforge's default (every archive and folder root stat'ed).
 * The compared install stores `UI/upscaled` as legacy DXT5 (the baseline has no BC7 decoder); a
 * modforge-only row builds the BC7 variant.
 *
 * Flags: `--skip-effort4` and `--skip-jsquash` (the slowest baseline rows), `--no-bc7`.
 */
import { spawnSync } from 'node:child_process'
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

import { decodeTga } from '@lunapaint/tga-codec'
// parse-dds and decode-dxt ship no type declarations.
const parseDds = require('parse-dds') as (buffer: ArrayBuffer) => { format: string; shape: [number, number]; images: { offset: number; length: number; shape: [number, number] }[] }
const decodeDxt = require('decode-dxt') as (view: DataView, width: number, height: number, format: string) => Uint8Array
import sharp from 'sharp'
import yauzl from 'yauzl'

import { discover, generateInstall, IconCache, type Discovery, type GeneratedInstall, type SourceSpec } from 'modforge'
import { type Measurement, type TargetResult, machine, measure, printTable, summarize, target, writeResults } from './harness'

const ROOT = resolve(__dirname, '..')
/** The @jsquash/webp row encodes every `JSQUASH_EVERY`-th icon; its target compares its time times this. */
const JSQUASH_EVERY = 10
const JSQUASH_ROW = `js baseline, @jsquash/webp, every ${JSQUASH_EVERY}th icon`
const TYPES: Record<string, number> = { dds: 2033, tga: 3, png: 2110 }
const PREFERENCE = [2033, 3, 2110]

// ---------------------------------------------------------------------------------------------
// The JavaScript baseline
// ---------------------------------------------------------------------------------------------

/** Where one image of the baseline's index lives. */
interface Place {
  source: number
  label: string
  type: number
  depth: number
  order: number
  read: () => Promise<Buffer>
}

/** A `Buffer` of one zip entry. */
function readZipEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise((done, fail) => {
    zip.openReadStream(entry, (error, stream) => {
      if (error || !stream) return fail(error)
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => done(Buffer.concat(chunks)))
      stream.on('error', fail)
    })
  })
}

/** Every entry of a zip (central directory only), the file kept open for reads. */
function listZip(path: string): Promise<{ zip: yauzl.ZipFile; entries: yauzl.Entry[] }> {
  return new Promise((done, fail) => {
    yauzl.open(path, { lazyEntries: true, autoClose: false }, (error, zip) => {
      if (error || !zip) return fail(error)
      const entries: yauzl.Entry[] = []
      zip.on('entry', (entry: yauzl.Entry) => {
        entries.push(entry)
        zip.readEntry()
      })
      zip.on('end', () => done({ zip, entries }))
      zip.on('error', fail)
      zip.readEntry()
    })
  })
}

/** The keys of an ERF/HAK/MOD (V1.0 and V1.1 with the key-stride rule): name, type, offset, size. */
function listErf(path: string): { name: string; type: number; offset: number; size: number }[] {
  const fd = openSync(path, 'r')
  try {
    const head = Buffer.alloc(160)
    readSync(fd, head, 0, 160, 0)
    const count = head.readUInt32LE(16)
    const keys = head.readUInt32LE(24)
    const resources = head.readUInt32LE(28)
    const v11 = head.toString('latin1', 4, 8) === 'V1.1'
    const stride = v11 && count > 0 && (resources - keys) / count >= 40 ? 40 : 24
    const nameLength = stride - 8
    const keyBytes = Buffer.alloc(count * stride)
    readSync(fd, keyBytes, 0, keyBytes.length, keys)
    const resourceBytes = Buffer.alloc(count * 8)
    readSync(fd, resourceBytes, 0, resourceBytes.length, resources)
    const out = []
    for (let i = 0; i < count; i += 1) {
      const raw = keyBytes.subarray(i * stride, i * stride + nameLength)
      const end = raw.indexOf(0)
      out.push({
        name: raw.toString('latin1', 0, end < 0 ? nameLength : end).toLowerCase(),
        type: keyBytes.readUInt16LE(i * stride + nameLength + 4),
        offset: resourceBytes.readUInt32LE(i * 8),
        size: resourceBytes.readUInt32LE(i * 8 + 4),
      })
    }
    return out
  } finally {
    closeSync(fd)
  }
}

/** Files under `dir`, recursively, relative `/`-separated. */
function walk(dir: string, prefix = ''): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name
    if (entry.isDirectory()) out.push(...walk(join(dir, entry.name), rel))
    else if (entry.isFile()) out.push(rel)
  }
  return out
}

/** The name and type of an image file name, or undefined. */
function imageKey(file: string): { name: string; type: number } | undefined {
  const base = file.slice(file.lastIndexOf('/') + 1)
  const dot = base.lastIndexOf('.')
  const type = dot > 0 ? TYPES[base.slice(dot + 1).toLowerCase()] : undefined
  const name = base.slice(0, dot).toLowerCase()
  return type === undefined || name.length === 0 || name.length > 32 ? undefined : { name, type }
}

/** The baseline's index: every image location by name, and the icon set (the same rule as modforge's). */
async function baselineIndex(sources: SourceSpec[]): Promise<{ places: Map<string, Place[]>; icons: Set<string>; close: () => void }> {
  const places = new Map<string, Place[]>()
  const icons = new Set<string>()
  const zips: yauzl.ZipFile[] = []
  const add = (name: string, place: Place) => {
    const list = places.get(name)
    if (list) list.push(place)
    else places.set(name, [place])
  }
  for (const [source, spec] of sources.entries()) {
    const label = spec.label ?? spec.path
    if (spec.kind === 'zip') {
      const { zip, entries } = await listZip(spec.path)
      zips.push(zip)
      entries.forEach((entry, order) => {
        const key = entry.fileName.endsWith('/') ? undefined : imageKey(entry.fileName)
        if (key) add(key.name, { source, label, type: key.type, depth: 0, order, read: () => readZipEntry(zip, entry) })
      })
    } else if (spec.kind === 'erf') {
      listErf(spec.path).forEach((key, order) => {
        if (!PREFERENCE.includes(key.type)) return
        add(key.name, {
          source,
          label,
          type: key.type,
          depth: 0,
          order,
          read: async () => {
            const fd = openSync(spec.path, 'r')
            try {
              const data = Buffer.alloc(key.size)
              readSync(fd, data, 0, key.size, key.offset)
              return data
            } finally {
              closeSync(fd)
            }
          },
        })
      })
    } else {
      walk(spec.path).forEach((rel, order) => {
        const key = imageKey(rel)
        if (!key) return
        const folders = rel.toLowerCase().split('/').slice(0, -1)
        if (spec.icons === true || (spec.icons === 'iconDirs' && folders.includes('icons'))) icons.add(key.name)
        add(key.name, { source, label, type: key.type, depth: folders.length, order, read: () => Promise.resolve(readFileSync(join(spec.path, rel))) })
      })
    }
  }
  return { places, icons, close: () => zips.forEach((zip) => zip.close()) }
}

/** The winner: the highest source, then type preference, then deeper path, then order. */
function winner(list: Place[]): Place {
  return [...list].sort((a, b) => a.source - b.source || PREFERENCE.indexOf(a.type) - PREFERENCE.indexOf(b.type) || b.depth - a.depth || a.order - b.order)[0]
}

/** RGBA pixels of an image file. */
async function decodeImage(data: Buffer, type: number): Promise<{ pixels: Uint8Array; width: number; height: number }> {
  if (type === 3) {
    const { image } = await decodeTga(data)
    return { pixels: image.data, width: image.width, height: image.height }
  }
  if (type === 2033) {
    const buffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer
    const dds = parseDds(buffer)
    const [image] = dds.images
    const [width, height] = image.shape
    return { pixels: decodeDxt(new DataView(buffer, image.offset, image.length), width, height, dds.format), width, height }
  }
  const { data: pixels, info } = await sharp(data).ensureAlpha().raw().toBuffer({ resolveWithObject: true })
  return { pixels, width: info.width, height: info.height }
}

/**
 * The baseline's WebP encoder: sharp (libvips' libwebp) at an effort, or @jsquash/webp (wasm
 * libwebp, one thread, tens of ms per icon) on every `every`-th icon of the sorted set.
 */
type Encoder = { kind: 'sharp'; effort: number } | { kind: 'jsquash'; every: number }

/** @jsquash/webp's lossless encoder, its wasm compiled once (its default loader uses `fetch`, which fails on file URLs). */
let jsquash: ((pixels: Uint8Array, width: number, height: number) => Promise<Buffer>) | undefined
async function jsquashEncoder(): Promise<NonNullable<typeof jsquash>> {
  if (!jsquash) {
    const { default: encode, init } = await import('@jsquash/webp/encode.js')
    // Its types name the DOM's `ImageData` and leave out the compiled-module argument of `init`.
    const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<unknown> } }).WebAssembly
    await (init as (module: unknown) => Promise<unknown>)(await wasm.compile(readFileSync(require.resolve('@jsquash/webp/codec/enc/webp_enc_simd.wasm'))))
    jsquash = async (pixels, width, height) => {
      const data = new Uint8ClampedArray(pixels.buffer, pixels.byteOffset, pixels.byteLength)
      return Buffer.from(await encode({ data, width, height, colorSpace: 'srgb' } as unknown as Parameters<typeof encode>[0], { lossless: 1 }))
    }
  }
  return jsquash
}

/** Lossless WebP of RGBA `pixels` with `encoder`. */
async function encodeWebp(encoder: Encoder, pixels: Uint8Array, width: number, height: number): Promise<Buffer> {
  if (encoder.kind === 'jsquash') return (await jsquashEncoder())(pixels, width, height)
  return sharp(pixels, { raw: { width, height, channels: 4 } }).webp({ lossless: true, effort: encoder.effort }).toBuffer()
}

/** Builds the baseline cache (JSON index + blob file) with `encoder`; returns counts. */
async function baselineBuild(sources: SourceSpec[], dir: string, encoder: Encoder): Promise<{ icons: number; failed: number; bytes: number }> {
  mkdirSync(dir, { recursive: true })
  const { places, icons, close } = await baselineIndex(sources)
  const step = encoder.kind === 'jsquash' ? encoder.every : 1
  const names = [...icons].sort().filter((_, at) => at % step === 0)
  const results: (Buffer | undefined)[] = new Array(names.length)
  const meta: (number[] | undefined)[] = new Array(names.length)
  let failed = 0
  let next = 0
  // As many in flight as libuv and sharp can work on, without decoding everything up front.
  const worker = async () => {
    while (next < names.length) {
      const at = next
      next += 1
      const place = winner(places.get(names[at])!)
      try {
        const image = await decodeImage(await place.read(), place.type)
        results[at] = await encodeWebp(encoder, image.pixels, image.width, image.height)
        meta[at] = [image.width, image.height, place.source]
      } catch {
        failed += 1
      }
    }
  }
  await Promise.all(Array.from({ length: 4 * cpus().length }, worker))
  close()
  const index: Record<string, [number, number, number, number, string]> = {}
  let offset = 0
  const blobs: Buffer[] = []
  names.forEach((name, at) => {
    const blob = results[at]
    const [width, height, source] = meta[at] ?? [0, 0, 0]
    if (!blob) return
    index[name] = [offset, blob.length, width, height, sources[source].label ?? sources[source].path]
    blobs.push(blob)
    offset += blob.length
  })
  writeFileSync(join(dir, 'blobs.bin'), Buffer.concat(blobs))
  const stats = sources.map((s) => [s.path, statSync(s.path).size, statSync(s.path).mtimeMs])
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ sources: stats, icons: index }))
  return { icons: Object.keys(index).length, failed, bytes: offset + statSync(join(dir, 'index.json')).size }
}

/** The baseline's open + first icon, as a child process runs it (validation: stat every source). */
const BASELINE_OPEN = `
  const fs = require('node:fs')
  const started = process.hrtime.bigint()
  const dir = process.argv[2]
  const index = JSON.parse(fs.readFileSync(dir + '/index.json', 'utf8'))
  for (const [path, size, mtime] of index.sources) {
    const stat = fs.statSync(path)
    if (stat.size !== size || stat.mtimeMs !== mtime) throw new Error('stale ' + path)
  }
  const icons = new Map(Object.entries(index.icons))
  const fd = fs.openSync(dir + '/blobs.bin', 'r')
  const [offset, length] = icons.get(process.argv[3])
  const data = Buffer.allocUnsafe(length)
  fs.readSync(fd, data, 0, length, offset)
  process.stdout.write(JSON.stringify({ ms: Number(process.hrtime.bigint() - started) / 1e6 }))
`

/** modforge's open + first icon in a child process; the addon load timed apart. */
const MODFORGE_OPEN = `
  const loadStart = process.hrtime.bigint()
  const { IconCache } = require(${JSON.stringify(join(ROOT, 'dist', 'index.js'))})
  const loaded = process.hrtime.bigint()
  const options = JSON.parse(process.argv[2])
  const started = process.hrtime.bigint()
  const cache = IconCache.openSync(options)
  const icon = cache.getIcon(process.argv[3])
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  if (!icon) throw new Error('no icon')
  const stats = cache.stats()
  process.stdout.write(JSON.stringify({ ms, loadMs: Number(loaded - loadStart) / 1e6, rebuilt: stats.lastBuild !== null, memo: stats.discoveryReused }))
`

/** A warm-start script run in fresh child processes, and what its runs reported. */
interface WarmStart {
  name: string
  /** The script file the child runs. */
  script: string
  args: string[]
  times: number[]
  loads: number[]
  rebuilt: boolean
  memo: number
}

/**
 * A warm start to measure with {@link childRuns}: `source` is written to `file`, which the child
 * runs as an application's entry script. Not `node -e`: Node's handling of an evaluated string
 * runs functions of its own that fill V8's baseline batch queue further, so that the batch
 * compile of docs/startup.md ("First calls") falls inside the measured window, which a script
 * file does not.
 */
function warmStart(name: string, file: string, source: string, args: string[]): WarmStart {
  writeFileSync(file, source)
  return { name, script: file, args, times: [], loads: [], rebuilt: false, memo: 0 }
}

/**
 * Runs each warm-start script `runs` times in fresh processes, the scripts taking turns (the
 * order reversed every other round), so that each sees the same machine; the median of each
 * script's own timings.
 */
function childRuns(starts: WarmStart[], runs = 20): { row: Measurement; load?: Measurement; rebuilt: boolean; memo: number }[] {
  for (let i = 0; i < runs; i += 1) {
    for (const start of i % 2 === 0 ? starts : [...starts].reverse()) {
      const child = spawnSync(process.execPath, [start.script, ...start.args], { encoding: 'utf8' })
      if (child.status !== 0) throw new Error(`${start.name}: ${child.stderr}`)
      const result = JSON.parse(child.stdout) as { ms: number; loadMs?: number; rebuilt?: boolean; memo?: boolean }
      start.times.push(result.ms)
      if (result.loadMs !== undefined) start.loads.push(result.loadMs)
      start.rebuilt ||= result.rebuilt === true
      if (result.memo === true) start.memo += 1
    }
  }
  return starts.map(({ name, times, loads, rebuilt, memo }) => ({
    row: summarize(name, times),
    load: loads.length ? summarize(`${name}: addon load`, loads) : undefined,
    rebuilt,
    memo,
  }))
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

function discoverOf(install: GeneratedInstall) {
  return { gameDir: install.gameDir, userDir: install.userDir, module: install.module, campaign: install.campaign, workshopDirs: [install.workshopRoot] }
}

/** Thread counts 1, 2, 4, ... up to the core count. */
function threadCounts(): number[] {
  const counts = [1]
  while (counts[counts.length - 1] * 2 <= cpus().length) counts.push(counts[counts.length - 1] * 2)
  if (counts[counts.length - 1] !== cpus().length) counts.push(cpus().length)
  return counts
}

export async function iconsBenchmark(args: string[]): Promise<void> {
  const skipEffort4 = args.includes('--skip-effort4')
  const skipJsquash = args.includes('--skip-jsquash')
  const withBc7 = !args.includes('--no-bc7')
  const work = join(tmpdir(), `modforge-bench-icons-${process.pid}`)
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work, { recursive: true })
  try {
    console.log(`\nicons: generating the benchmark install (upscaled as DXT5 for the comparison) in ${work}`)
    const install = await generateInstall(join(work, 'dxt5'), { preset: 'bench', seed: 1, upscaled: 'dxt5' })
    const spec = discoverOf(install)
    const { gameDir, userDir, ...discoverOptions } = spec
    const found: Discovery = await discover(gameDir, userDir, discoverOptions)
    console.log(`  ${install.icons.length} icons, ${install.files} files, ${(install.bytes / 2 ** 20).toFixed(1)} MiB, ${found.sources.length} sources`)

    // Cold builds.
    const cold: Measurement[] = []
    let cacheDir = ''
    for (const threads of threadCounts()) {
      cacheDir = join(work, `cache-${threads}`)
      let report = { icons: 0, failed: [] as unknown[] }
      cold.push(
        await measure(`modforge cold build, ${threads} thread${threads > 1 ? 's' : ''}`, { warmup: 0, runs: 1 }, async () => {
          rmSync(cacheDir, { recursive: true, force: true })
          const cache = await IconCache.open({ discover: spec, cacheDir, threads, validate: 'none' })
          report = cache.stats().lastBuild!
          cache.close()
        }),
      )
      cold[cold.length - 1].note = `${report.icons} icons, ${report.failed.length} failed`
    }
    if (withBc7) {
      const bc7 = await generateInstall(join(work, 'bc7'), { preset: 'bench', seed: 1 })
      const bc7Dir = join(work, 'cache-bc7')
      cold.push(
        await measure(`modforge cold build, BC7 upscaled, ${cpus().length} threads`, { warmup: 0, runs: 1 }, async () => {
          const cache = await IconCache.open({ discover: discoverOf(bc7), cacheDir: bc7Dir, validate: 'none' })
          cache.close()
        }),
      )
    }
    const baselines: [string, Encoder][] = [['js baseline, sharp effort 0', { kind: 'sharp', effort: 0 }]]
    if (!skipEffort4) baselines.push(['js baseline, sharp effort 4', { kind: 'sharp', effort: 4 }])
    if (!skipJsquash) baselines.push([JSQUASH_ROW, { kind: 'jsquash', every: JSQUASH_EVERY }])
    const baselineDir = join(work, 'baseline')
    let baselineBytes = 0
    for (const [name, encoder] of baselines) {
      let counts = { icons: 0, failed: 0, bytes: 0 }
      cold.push(
        await measure(name, { warmup: 0, runs: 1 }, async () => {
          const dir = encoder.kind === 'sharp' ? baselineDir : join(work, 'baseline-jsquash')
          rmSync(dir, { recursive: true, force: true })
          counts = await baselineBuild(found.sources, dir, encoder)
        }),
      )
      cold[cold.length - 1].note = `${counts.icons} icons, ${counts.failed} failed, ${(counts.bytes / 2 ** 20).toFixed(1)} MiB`
      if (encoder.kind === 'sharp') baselineBytes = counts.bytes
    }
    const fastest = cold.filter((row) => row.name.startsWith('modforge cold build,') && !row.name.includes('BC7')).at(-1)!
    printTable('icons: cold build (empty cache folder)', cold, fastest.name)

    // Warm start in fresh processes. A generation built within 2 s of the install's last change
    // carries no discovery memo (docs/icons.md, "Discovery memo"); the next rebuild writes one,
    // as an application's next start after such a build would find it.
    const first = install.icons[Math.floor(install.icons.length / 2)].name
    const options = JSON.stringify({ discover: spec, cacheDir, validate: 'background' })
    const settled = IconCache.openSync({ discover: spec, cacheDir, validate: 'none' })
    if (!settled.stats().discoveryReused) await settled.rebuild()
    settled.close()
    const [mod, base] = childRuns([
      warmStart('modforge open + first getIcon', join(work, 'warm-modforge.cjs'), MODFORGE_OPEN, [options, first]),
      warmStart('js baseline: JSON index + blob file', join(work, 'warm-baseline.cjs'), BASELINE_OPEN, [baselineDir, first]),
    ])
    const warmRows = [mod.row, base.row, ...(mod.load ? [mod.load] : [])]
    printTable('icons: warm start in a fresh process (median of 20; module load excluded)', warmRows, mod.row.name)
    if (mod.rebuilt) console.log('  warning: a warm start rebuilt the cache')
    console.log(`  ${mod.memo} of 20 warm starts took their sources from the discovery memo`)

    // getIcon.
    const cache = await IconCache.open({ discover: spec, cacheDir, validate: 'blocking' })
    // Names both caches hold (the baseline's decoders fail on a few variants, listed in its note).
    const index = new Map(Object.entries(JSON.parse(readFileSync(join(baselineDir, 'index.json'), 'utf8')).icons as Record<string, [number, number]>))
    const names = cache.names().filter((name) => index.has(name))
    const picks = Array.from({ length: 100_000 }, (_, i) => names[(i * 7919 + 13) % names.length])
    const getRows: Measurement[] = []
    getRows.push(
      await measure('modforge getIcon (Buffer view)', { warmup: 1, runs: 5 }, () => {
        for (const name of picks) cache.getIcon(name)
      }),
    )
    const copying = await IconCache.open({ discover: spec, cacheDir, validate: 'none', copy: true })
    getRows.push(
      await measure('modforge getIcon (copy: true, Electron)', { warmup: 1, runs: 5 }, () => {
        for (const name of picks) copying.getIcon(name)
      }),
    )
    copying.close()
    const fd = openSync(join(baselineDir, 'blobs.bin'), 'r')
    getRows.push(
      await measure('js baseline: Map.get + fs.readSync', { warmup: 1, runs: 5 }, () => {
        for (const name of picks) {
          const [offset, length] = index.get(name)!
          const data = Buffer.allocUnsafe(length)
          readSync(fd, data, 0, length, offset)
        }
      }),
    )
    closeSync(fd)
    for (const row of getRows) row.note = `${((row.median * 1000) / picks.length).toFixed(3)} us per call`
    // The rows above repeat names, which a cache serves from its remembered lookups after the
    // first call; this one asks for every name once, on a freshly opened cache (one native `find`
    // per call). Each run opens its cache untimed first.
    const firstTimes: number[] = []
    for (let run = 0; run < 5; run += 1) {
      const fresh = IconCache.openSync({ discover: spec, cacheDir, validate: 'none' })
      const started = process.hrtime.bigint()
      for (const name of names) fresh.getIcon(name)
      firstTimes.push(Number(process.hrtime.bigint() - started) / 1e6)
      fresh.close()
    }
    const firstRow = summarize('modforge getIcon, first lookup of each name', firstTimes)
    firstRow.note = `${((firstRow.median * 1000) / names.length).toFixed(3)} us per call, ${names.length} names`
    getRows.push(firstRow)
    printTable('icons: 100,000 getIcon calls over random cached names', getRows, getRows[0].name)

    // Incremental rebuild after touching one HAK.
    const hak = found.sources.find((source) => source.kind === 'erf' && source.path.toLowerCase().endsWith('.hak'))!
    const now = new Date()
    utimesSync(hak.path, now, now)
    let incremental = { encoded: 0, reused: 0 }
    const rebuildRow = await measure('modforge rebuild after touching one HAK', { warmup: 0, runs: 1 }, async () => {
      incremental = await cache.rebuild()
    })
    rebuildRow.note = `${incremental.encoded} encoded, ${incremental.reused} reused`
    printTable('icons: incremental rebuild', [rebuildRow], rebuildRow.name)
    const bytes = cache.stats().bytes
    cache.close()
    console.log(`\nicons: bytes on disk: modforge ${(bytes / 2 ** 20).toFixed(1)} MiB, js baseline ${(baselineBytes / 2 ** 20).toFixed(1)} MiB`)

    const row = (name: string) => cold.find((r) => r.name === name)
    const targets: TargetResult[] = [
      target('warm start, modforge ms (20k icons)', mod.row.median, 1, false),
      target('warm start, js baseline / modforge', base.row.median / mod.row.median, 100),
      target('getIcon, modforge us per call', (getRows[0].median * 1000) / picks.length, 2, false),
      target('getIcon, js baseline / modforge', getRows[2].median / getRows[0].median, 5),
      target('cold build, js effort 0 / modforge N threads', (row('js baseline, sharp effort 0')?.median ?? 0) / fastest.median, 10),
      ...(row(JSQUASH_ROW) ? [target(`cold build, js @jsquash/webp (time x ${JSQUASH_EVERY}) / modforge N threads`, (row(JSQUASH_ROW)!.median * JSQUASH_EVERY) / fastest.median, 10)] : []),
      ...(row('js baseline, sharp effort 4') ? [target('cold build, js effort 4 / modforge N threads', row('js baseline, sharp effort 4')!.median / fastest.median, 10)] : []),
      target('cold build scaling, 1 thread / N threads', cold[0].median / fastest.median, Math.min(cpus().length, 2) * 0.8),
    ]
    const file = writeResults('icons', {
      machine: machine(),
      install: { icons: install.icons.length, files: install.files, bytes: install.bytes, sources: found.sources.length },
      cold,
      warm: warmRows,
      warmFromMemo: mod.memo,
      getIcon: getRows,
      incremental: rebuildRow,
      bytes: { modforge: bytes, baseline: baselineBytes },
      targets,
    })
    console.log(`\nresults: ${file}`)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
