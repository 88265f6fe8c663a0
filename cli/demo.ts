/**
 * `modforge demo`: every capability on generated sample data in a temporary folder, with what it
 * did and how long it took. Needs no arguments and no external data.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { formatBytes, formatCount, formatDuration } from './format'
import { command, flag, integer, type CommandContext } from './framework'
import { formatProgress, ProgressLine } from './progress'

/** Runs `step`, prints its title and duration, and returns its result. */
async function timed<T>(context: CommandContext, title: string, step: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now()
  const result = await step()
  const ms = performance.now() - started
  context.out(`  ${title.padEnd(44)} ${formatDuration(ms).padStart(10)}`)
  return { result, ms }
}

async function profileStep(context: CommandContext, root: string, entries: number): Promise<void> {
  const { generateTree } = require('../src/generate') as typeof import('../src/generate')
  const { profile } = require('../src/profile') as typeof import('../src/profile')
  const { signal } = context
  context.out('\n1. Directory profiler')
  const tree = join(root, 'tree')
  const line = new ProgressLine()
  const generated = await timed(context, `generate a ${formatCount(entries)}-entry tree (seed 1)`, async () => {
    try {
      // The extras (symbolic links, FIFOs, permissions) need a POSIX system.
      return await generateTree(tree, {
        shape: 'mixed',
        entries,
        seed: 1,
        extras: process.platform !== 'win32',
        signal,
        onProgress: (event) => line.update(() => formatProgress(event, ' entries')),
      })
    } finally {
      line.clear()
    }
  })
  const full = await timed(context, 'profile (full: sizes, hard links, ages)', () => profile(tree, { signal }))
  const names = await timed(context, 'profile (names only)', () => profile(tree, { stats: false, signal }))
  const t = full.result.totals
  context.out(
    `  -> ${formatCount(t.files)} files, ${formatCount(t.dirs)} folders, ${formatCount(t.symlinks)} symlinks, ` +
      `${formatCount(t.other)} other; ${formatBytes(t.apparentBytes)} apparent, ${formatBytes(t.allocatedBytes)} on disk`,
  )
  context.out(
    `  -> ${formatCount(t.hardLinkDuplicates)} hard-link duplicates counted once, ${formatCount(t.emptyDirs)} empty folders, ` +
      `max depth ${t.maxDepth}, ${formatCount(t.errors)} unreadable entries reported`,
  )
  const top = full.result.extensions.slice(0, 5).map((row) => `${row.ext} ${formatCount(row.count)}`).join(', ')
  context.out(`  -> top extensions: ${top}`)
  context.out(
    `  -> ${formatCount(full.result.timing.entriesPerSecond)} entries/s full, ` +
      `${formatCount(names.result.timing.entriesPerSecond)} entries/s names-only, ${full.result.timing.threads} threads`,
  )
  if (generated.result.files !== names.result.totals.files) {
    throw new Error(`profile counted ${names.result.totals.files} files, the generator wrote ${generated.result.files}`)
  }
}

async function storeStep(context: CommandContext, root: string): Promise<void> {
  const { generateDataset } = require('../src/generate') as typeof import('../src/generate')
  const { openDataset } = require('../src/dataset') as typeof import('../src/dataset')
  const { signal } = context
  context.out('\n2. Snapshot store (datasets)')
  const csvDir = join(root, 'csv')
  const cache = join(root, 'cache')
  const set = await timed(context, 'generate 19 CSV tables (dalle shape)', () => generateDataset(csvDir, { seed: 1, signal }))
  const tables = Object.fromEntries(set.result.tables.map((table) => [table.name, table.path]))
  const options = { dir: cache, name: 'databases', versionColumn: 'version', tables, signal }
  const built = await timed(context, 'open: parse CSV, build and write snapshot', () => openDataset(options))
  built.result.value.close()
  const warm = await timed(context, 'open again: verified snapshot from disk', () => openDataset(options))
  const dataset = warm.result.value
  const nouns = dataset.table('nouns')!
  const keys = [...nouns.keys()]
  const rounds = 100_000
  const lookups = await timed(context, `${formatCount(rounds)} key lookups`, async () => {
    let found = 0
    for (let i = 0; i < rounds; i += 1) if (nouns.get(keys[(i * 7919) % keys.length])) found += 1
    return found
  })
  const noun = nouns.get(keys[0])!
  const family = dataset.table('families')!.get(noun.family)
  const order = family && dataset.table('orders')!.get(family.order)
  context.out(
    `  -> ${set.result.tables.length} tables, ${formatCount(set.result.rows)} rows, ${formatBytes(set.result.bytes)} of CSV; ` +
      `snapshot ${warm.result.path}`,
  )
  context.out(
    `  -> cold build ${formatDuration(built.ms)}, warm open ${formatDuration(warm.ms)} ` +
      `(${(built.ms / warm.ms).toFixed(0)}x faster, loaded from disk: ${warm.result.loaded})`,
  )
  context.out(`  -> ${formatDuration((lookups.ms / rounds))} per lookup, ${formatCount(lookups.result)} hits`)
  context.out(`  -> nouns.get(${JSON.stringify(keys[0])}) = ${JSON.stringify(noun)}; its family's order: ${JSON.stringify(order?.order)}`)
  dataset.close()
}

async function overlayStep(context: CommandContext, root: string): Promise<void> {
  const { generateLeague } = require('../src/generate') as typeof import('../src/generate')
  const { buildOverlay } = require('../src/overlay') as typeof import('../src/overlay')
  const { appendFileSync } = require('node:fs') as typeof import('node:fs')
  const { signal } = context
  context.out('\n3. League of Legends WAD overlay')
  const league = await timed(context, 'generate an install with mods (seed 1)', () => generateLeague(join(root, 'league'), { seed: 1, signal }))
  const install = league.result
  const mods = install.mods.map((mod) => ({ id: mod.id, path: mod.path }))
  const spec = { gameDir: install.gameDir, overlayDir: join(root, 'overlay'), stateDir: join(root, 'overlay-state'), mods, signal }
  const full = await timed(context, 'full build', () => buildOverlay(spec))
  const noop = await timed(context, 'no-op build (nothing changed)', () => buildOverlay(spec))
  const edited = install.mods.find((mod) => mod.editFile)
  if (!edited?.editFile) throw new Error('the generated install has no editable folder mod')
  appendFileSync(edited.editFile, 'edited by the demo')
  const incremental = await timed(context, `incremental build after editing mod ${edited.id}`, () => buildOverlay(spec))
  const describe = (r: typeof full.result) =>
    `${r.mode}: ${formatCount(r.built.length)} built, ${formatCount(r.reused.length)} reused, mod bytes read ${formatBytes(r.stats.modBytesRead)}, ` +
    `written ${formatBytes(r.stats.bytesWritten)}`
  context.out(`  -> ${formatCount(install.wads.length)} game WADs, ${formatCount(mods.length)} mods (folder, fantome, modpkg)`)
  context.out(`  -> ${describe(full.result)}`)
  context.out(`  -> ${describe(noop.result)}`)
  context.out(`  -> ${describe(incremental.result)} (${incremental.result.built.join(', ')})`)
  const same = full.result.conflicts.filter((c) => c.sameContent).length
  const kept = full.result.conflicts.filter((c) => c.keptGameOriginal).length
  context.out(
    `  -> ${formatCount(full.result.conflicts.length)} conflicts (${formatCount(same)} with equal content, ${formatCount(kept)} kept the game original), ` +
      `${formatCount(full.result.warnings.length)} warnings`,
  )
  if (!noop.result.skipped || noop.result.stats.modBytesRead !== 0) throw new Error('the no-op build was not skipped')
}

async function romStep(context: CommandContext, root: string): Promise<void> {
  const { generateRom, rgbaToPng, RomFile, writeFileAtomic } = require('../src/rom') as typeof import('../src/rom')
  const { signal } = context
  context.out('\n4. SNES ROM reader')
  const path = join(root, 'rom', 'demo-sa1-4m.sfc')
  mkdirSync(join(root, 'rom'))
  const generated = await timed(context, 'generate a 4 MiB SA-1 ROM, 120 HAL blocks', () =>
    generateRom(path, { layout: 'sa1', size: 4 << 20, blocks: 120, blockTiles: 128, seed: 1, signal }),
  )
  const opened = await timed(context, 'open: read, score headers, checksum', () => RomFile.open(path))
  const rom = opened.result
  try {
    const line = new ProgressLine()
    const scanned = await timed(context, 'scan 4 MiB at every offset (step 1)', async () => {
      try {
        return await rom.scan({ signal, onProgress: (event) => line.update(() => formatProgress(event, ' bytes')) })
      } finally {
        line.clear()
      }
    })
    const offsets = generated.result.blocks.slice(0, 100).map((block) => block.offset)
    const cell = 64
    const thumbs = await timed(context, '100 thumbnails (64x64, memory cache cold)', () => rom.thumbnails(offsets, { box: cell, format: 'rgba', signal }))
    const sheetPath = join(root, 'rom', 'thumbnails.png')
    const sheet = await timed(context, 'write the 100 thumbnails as one PNG sheet', async () => {
      const columns = 10
      const width = columns * cell
      const height = Math.ceil(thumbs.result.length / columns) * cell
      const canvas = Buffer.alloc(width * height * 4)
      thumbs.result.forEach((outcome, index) => {
        const t = outcome.thumbnail
        if (!t) throw new Error(`thumbnail of ${outcome.offset}: ${outcome.error?.message}`)
        const x0 = (index % columns) * cell
        const y0 = Math.floor(index / columns) * cell
        for (let y = 0; y < t.height; y += 1) t.image.copy(canvas, ((y0 + y) * width + x0) * 4, y * t.width * 4, (y + 1) * t.width * 4)
      })
      const png = rgbaToPng(canvas, { width, height })
      writeFileAtomic(sheetPath, png)
      return png.length
    })
    const h = rom.header
    const found = new Set(scanned.result.map((hit) => `${hit.offset}:${hit.consumed}`))
    const exact = generated.result.blocks.filter((block) => found.has(`${block.offset}:${block.compressedSize}`)).length
    const scores = rom.headerCandidates.map((c) => `${c.location} ${c.score}`).join(', ')
    context.out(
      `  -> header ${JSON.stringify(h?.title)}: ${h?.mapping}, map mode $${h?.mapMode.toString(16).toUpperCase()}, chipset $${h?.chipset.toString(16).toUpperCase()}, ` +
        `checksum 0x${h?.checksum.toString(16).toUpperCase().padStart(4, '0')} ${rom.checksumValid ? 'valid' : 'INVALID'}; candidate scores: ${scores}`,
    )
    context.out(`  -> scan: ${scanned.result.length} blocks found, ${exact} of ${generated.result.blocks.length} generated blocks at their exact offset and length`)
    context.out(`  -> thumbnails: ${formatDuration(thumbs.ms / 100)} each; sheet ${sheetPath} (${formatBytes(sheet.result)})`)
    if (exact !== generated.result.blocks.length) throw new Error(`the scan found ${exact} of ${generated.result.blocks.length} generated blocks`)
  } finally {
    await rom.close()
  }
}

async function iconsStep(context: CommandContext, root: string): Promise<void> {
  const { generateInstall } = require('../src/generate') as typeof import('../src/generate')
  const { IconCache } = require('../src/icons') as typeof import('../src/icons')
  const { native } = require('../src/internal/native') as typeof import('../src/internal/native')
  const { signal } = context
  context.out('\n5. NWN2 icons (resource index and WebP icon cache)')
  const install = await timed(context, 'generate a small NWN2 install (seed 1)', () => generateInstall(join(root, 'nwn2'), { seed: 1, signal }))
  const g = install.result
  const discover = { gameDir: g.gameDir, userDir: g.userDir, module: g.module, campaign: g.campaign, workshopDirs: [g.workshopRoot] }
  const cacheDir = join(root, 'icon-cache')
  const line = new ProgressLine()
  const cold = await timed(context, 'cold build: index, decode, encode, write', async () => {
    try {
      return await IconCache.open({ discover, cacheDir, signal, onProgress: (event) => line.update(() => formatProgress(event)) })
    } finally {
      line.clear()
    }
  })
  const cache = cold.result
  const report = cache.stats().lastBuild!
  context.out(
    `  -> ${formatCount(report.icons)} icons from ${formatCount(cache.discovery?.sources.length ?? 0)} sources, ` +
      `${formatCount(report.failed.length)} failed; ${formatBytes(cache.stats().bytes)} in ${cache.stats().path}`,
  )
  // Warm start in a fresh process: open the file and serve the first icon.
  const script = `
    const { IconCache } = require(${JSON.stringify(join(__dirname, '..', 'index.js'))})
    const started = process.hrtime.bigint()
    const cache = IconCache.openSync({ discover: ${JSON.stringify(discover)}, cacheDir: ${JSON.stringify(cacheDir)} })
    const icon = cache.getIcon(${JSON.stringify(g.icons[0].name)})
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    process.stdout.write(JSON.stringify({ ms, built: cache.stats().lastBuild !== null, bytes: icon.data.length }))
  `
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' })
  if (child.status !== 0) throw new Error(`the warm-start process failed: ${child.stderr.trim()}`)
  const warm = JSON.parse(child.stdout) as { ms: number; built: boolean; bytes: number }
  context.out(`  -> warm start in a fresh process: open + first icon ${formatDuration(warm.ms)} (rebuilt: ${warm.built})`)
  const shadowed = g.icons.filter((icon) => icon.places > 1).slice(0, 4)
  for (const expected of shadowed) {
    const places = cache.whereIs(expected.name)
    const icon = cache.getIcon(expected.name)!
    context.out(
      `  -> ${expected.name}: ${icon.width}x${icon.height} from ${icon.source} (${places[0].entry}); ` +
        `shadows ${places.slice(1).map((p) => `${p.source}:${p.entry}`).join(', ')}`,
    )
  }
  const rounds = 100_000
  const names = g.icons.map((icon) => icon.name)
  const lookups = await timed(context, `${formatCount(rounds)} getIcon calls`, async () => {
    let bytes = 0
    for (let i = 0; i < rounds; i += 1) bytes += cache.getIcon(names[(i * 7919) % names.length])!.data.length
    return bytes
  })
  context.out(`  -> ${formatDuration(lookups.ms / rounds)} per getIcon (a Buffer view of the mapped file)`)
  const sheet = await cache.contactSheet({ limit: 64 })
  const sheetPath = join(root, 'icons-sheet.png')
  native.writeFileAtomic(sheetPath, sheet.data)
  context.out(`  -> contact sheet of ${sheet.cells.length} icons (${sheet.width}x${sheet.height} PNG) written to ${sheetPath}`)
  cache.close()
}

/** `modforge demo`. */
export const demoCommand = command({
  summary: 'run every capability on generated sample data and show the timings',
  description:
    'Runs every capability on generated data in a temporary folder and prints what it did and how\n' +
    'long each step took:\n' +
    '  1. profile: generates a seeded folder tree (with hard links, symlink loops, unreadable folders,\n' +
    '     awkward names) and profiles it, full and names-only\n' +
    '  2. store: generates a CSV data set (19 tables, ~12.5k rows), builds its snapshot, reopens it\n' +
    '     from disk and looks keys up\n' +
    '  3. overlay: generates a League install with folder, fantome and modpkg mods, builds the\n' +
    '     overlay, rebuilds with nothing changed, edits one mod and rebuilds incrementally\n' +
    '  4. rom: generates a 4 MiB SA-1 ROM, detects its header, scans it and writes 100 thumbnails as\n' +
    '     one PNG sheet\n' +
    '  5. icons: generates a small NWN2 install, builds the icon cache cold, starts warm in a fresh\n' +
    '     process, looks icons up with their sources and writes a contact sheet',
  options: {
    keep: flag('keep the temporary folder'),
    entries: integer('entries of the generated tree (default 20000)', { placeholder: 'N', min: 1 }),
  },
  async run({ options }, context) {
    const entries = options.entries ?? 20_000
    const root = mkdtempSync(join(tmpdir(), 'modforge-demo-'))
    const started = performance.now()
    context.out(`modforge demo in ${root}`)
    try {
      await profileStep(context, root, entries)
      await storeStep(context, root)
      await overlayStep(context, root)
      await romStep(context, root)
      await iconsStep(context, root)
    } finally {
      if (!options.keep) {
        // The generated tree contains folders without permissions; make them removable first.
        spawnSync('chmod', ['-R', 'u+rwx', root])
        rmSync(root, { recursive: true, force: true })
      }
    }
    context.out(`\ndone in ${formatDuration(performance.now() - started)}${options.keep ? `; data kept in ${root}` : ''}`)
    return 0
  },
})
