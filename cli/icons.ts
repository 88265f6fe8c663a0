/**
 * `modforge icons discover|where|get|build|sheet|serve`: NWN2 resources and the icon cache on the
 * command line.
 */
import { mkdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'

import type { IconCache, IconCacheOptions, SourceSpec } from '../src/icons'
import { formatBytes, formatCount, formatDuration, section, table } from './format'
import { CommandError, command, flag, group, integer, repeat, text, UsageError, type CommandContext } from './framework'
import { formatProgress, ProgressLine } from './progress'

/** The options every command that reads an install takes. */
const SOURCE_OPTIONS = {
  game: text('the install folder (with Data/, UI/, hak/, modules/)', { placeholder: 'DIR' }),
  user: text('the user folder (default ~/Documents/Neverwinter Nights 2)', { placeholder: 'DIR' }),
  module: text('the module: a name in modules/ or a path', { placeholder: 'NAME' }),
  campaign: text('the campaign: a name in Campaigns/ or a path', { placeholder: 'NAME' }),
  workshop: repeat('a Steam Workshop content root (repeatable)', { placeholder: 'DIR' }),
  source: repeat('a source instead of --game: folder, .zip or ERF archive, highest priority first (repeatable)', { placeholder: 'PATH' }),
}

const CACHE_OPTIONS = {
  cacheDir: text('the cache folder (default: under the platform cache folder)', { placeholder: 'DIR' }),
  memory: flag('keep the cache in memory only'),
  maxSize: integer('fit icons inside N x N pixels (default: keep the size)', { placeholder: 'N', min: 0, max: 16384 }),
}

interface SourceValues {
  game?: string
  user?: string
  module?: string
  campaign?: string
  workshop?: string[]
  source?: string[]
}

interface CacheValues extends SourceValues {
  cacheDir?: string
  memory?: boolean
  maxSize?: number
}

const DEFAULT_USER = join(homedir(), 'Documents', 'Neverwinter Nights 2')

/** The sources of the command line: discovered from --game, or the --source list. */
function sourcesOf(values: SourceValues, path: string[]): Pick<IconCacheOptions, 'sources' | 'discover'> {
  if (values.source && values.source.length > 0) {
    if (values.game) throw new UsageError('give --game or --source, not both', path)
    const sources: SourceSpec[] = values.source.map((source) => ({ path: resolve(source), icons: true }))
    return { sources }
  }
  if (!values.game) throw new UsageError('give the install folder with --game DIR (or sources with --source)', path)
  return {
    discover: {
      gameDir: resolve(values.game),
      userDir: resolve(values.user ?? DEFAULT_USER),
      module: values.module,
      campaign: values.campaign,
      workshopDirs: values.workshop?.map((dir) => resolve(dir)),
    },
  }
}

/** Opens the icon cache of the command line with a progress line. */
async function openCache(values: CacheValues, path: string[], context: CommandContext, validate: 'blocking' | 'none' = 'blocking'): Promise<IconCache> {
  const { IconCache } = require('../src/icons') as typeof import('../src/icons')
  const line = new ProgressLine()
  try {
    return await IconCache.open({
      ...sourcesOf(values, path),
      cacheDir: values.memory ? false : values.cacheDir && resolve(values.cacheDir),
      maxSize: values.maxSize,
      validate,
      signal: context.signal,
      onProgress: (event) => line.update(() => formatProgress(event)),
    })
  } finally {
    line.clear()
  }
}

function writeOutput(path: string, data: Buffer): string {
  const { native } = require('../src/internal/native') as typeof import('../src/internal/native')
  const target = resolve(path)
  // The atomic write (temp file, fsync, rename) needs the folder; create it as the command promises.
  mkdirSync(dirname(target), { recursive: true })
  native.writeFileAtomic(target, data)
  return target
}

const discoverCommand = command({
  summary: 'list the sources of an install in engine precedence, and what is missing',
  description:
    'Lists the places an NWN2 install and user folder provide, highest priority first: module HAKs in\n' +
    'Mod_HakList order, user override, Workshop items, install override, campaign, module, Data zips\n' +
    '(patch > x2 > x1 > base), UI/upscaled, UI/default. Missing HAKs are listed with the paths searched.',
  args: [
    { name: 'gameDir', description: 'the install folder', required: true },
    { name: 'userDir', description: 'the user folder (default ~/Documents/Neverwinter Nights 2)' },
  ],
  options: {
    module: SOURCE_OPTIONS.module,
    campaign: SOURCE_OPTIONS.campaign,
    workshop: SOURCE_OPTIONS.workshop,
    json: flag('print the discovery as JSON'),
  },
  footer: 'Exit codes: 0 listed, 1 failed, 2 bad usage.',
  async run({ args, options }, context) {
    const { discover } = require('../src/icons') as typeof import('../src/icons')
    const found = await discover(resolve(args.gameDir), resolve(args.userDir ?? DEFAULT_USER), {
      module: options.module,
      campaign: options.campaign,
      workshopDirs: options.workshop?.map((dir) => resolve(dir)),
    })
    if (options.json) {
      context.out(JSON.stringify(found, null, 2))
      return 0
    }
    const rows = found.found.map((f, i) => [String(i + 1), f.label, f.kind, f.entries === null ? '' : formatCount(f.entries), f.path])
    context.out(section('Sources, highest priority first', table([['#', 'label', 'kind', 'entries', 'path'], ...rows], [0, 3])))
    if (found.module) context.out(`Module ${found.module.path}: HAKs ${found.module.haks.join(', ') || '(none)'}\n`)
    if (found.missing.length > 0) {
      context.out(section('Missing', found.missing.map((m) => `  ${m.what}: searched ${m.searched.join(', ')}`).join('\n')))
    }
    for (const warning of found.warnings) context.out(`warning: ${warning}`)
    return 0
  },
})

const whereCommand = command({
  summary: 'every place a resource is stored, the winner first',
  description: "Lists every location of a resource ('is_fireball', or 'is_fireball.tga' for one type) in precedence order.",
  args: [{ name: 'name', description: 'the resref, optionally with an extension', required: true }],
  options: { ...SOURCE_OPTIONS, json: flag('print the locations as JSON') },
  footer: 'Exit codes: 0 found, 1 not found or failed, 2 bad usage.',
  async run({ args, options }, context) {
    const { ResourceIndex, discover } = require('../src/icons') as typeof import('../src/icons')
    const chosen = sourcesOf(options, ['icons', 'where'])
    const sources =
      chosen.sources ??
      (await discover(chosen.discover!.gameDir, chosen.discover!.userDir, {
        module: chosen.discover!.module,
        campaign: chosen.discover!.campaign,
        workshopDirs: chosen.discover!.workshopDirs,
      })).sources
    const index = await ResourceIndex.open(sources, { signal: context.signal })
    const locations = index.whereIs(args.name)
    index.close()
    if (options.json) context.out(JSON.stringify(locations, null, 2))
    else if (locations.length > 0) {
      const rows = locations.map((l) => [l.winner ? '*' : '', l.source, l.entry, l.ext, formatBytes(l.size), l.path])
      context.out(table([['win', 'source', 'entry', 'type', 'size', 'path'], ...rows], [4]))
    }
    if (locations.length === 0) throw new CommandError(`${args.name}: not found in ${sources.length} sources`)
    return 0
  },
})

const getCommand = command({
  summary: 'write one icon as WebP',
  description: 'Writes the icon the game would use for a resref as lossless WebP (building the icon cache if needed).',
  args: [{ name: 'name', description: 'the resref', required: true }],
  options: {
    output: text('the file to write (required)', { short: 'o', placeholder: 'FILE' }),
    ...SOURCE_OPTIONS,
    ...CACHE_OPTIONS,
    json: flag('print the result as JSON'),
  },
  footer: 'Exit codes: 0 written, 1 no such icon or failed, 2 bad usage.',
  async run({ args, options }, context) {
    if (!options.output) throw new UsageError('give the output file with -o FILE', ['icons', 'get'])
    const cache = await openCache(options, ['icons', 'get'], context, 'none')
    try {
      const icon = cache.getIcon(args.name)
      if (!icon) throw new CommandError(`${args.name}: no such icon`)
      const path = writeOutput(options.output, icon.data)
      const result = { name: args.name, path, bytes: icon.data.length, width: icon.width, height: icon.height, source: icon.source }
      if (options.json) context.out(JSON.stringify(result, null, 2))
      else context.out(`${path}: ${icon.width}x${icon.height} WebP, ${formatBytes(icon.data.length)}, from ${icon.source}`)
      return 0
    } finally {
      cache.close()
    }
  },
})

const buildCommand = command({
  summary: 'build or refresh the icon cache of an install',
  description:
    'Opens the icon cache (checking it against every source) and builds what changed; --force re-encodes\n' +
    'every icon. Prints the build report.',
  options: { ...SOURCE_OPTIONS, ...CACHE_OPTIONS, force: flag('re-encode every icon'), json: flag('print the report as JSON') },
  footer: 'Exit codes: 0 built, 1 failed, 2 bad usage, 130 interrupted.',
  async run({ options }, context) {
    const started = performance.now()
    const cache = await openCache(options, ['icons', 'build'], context)
    try {
      let report = cache.stats().lastBuild
      if (options.force) {
        const line = new ProgressLine()
        try {
          report = await cache.rebuild({ force: true, signal: context.signal, onProgress: (event) => line.update(() => formatProgress(event)) })
        } finally {
          line.clear()
        }
      }
      const stats = cache.stats()
      if (options.json) {
        context.out(JSON.stringify({ report, stats }, null, 2))
        return 0
      }
      if (report) {
        context.out(
          `${formatCount(report.icons)} icons: ${formatCount(report.encoded)} encoded, ${formatCount(report.reused)} reused, ` +
            `${formatCount(report.failed.length)} failed in ${formatDuration(report.durationMs)}`,
        )
        for (const failure of report.failed.slice(0, 20)) context.out(`  failed ${failure.name}: ${failure.code} ${failure.message}`)
        if (report.skippedNames.length > 0) context.out(`  ${formatCount(report.skippedNames.length)} names skipped (too long or not ASCII)`)
      } else {
        context.out(`up to date: ${formatCount(stats.icons)} icons (validation: ${stats.validation})`)
      }
      context.out(`generation ${stats.generation}, ${formatBytes(stats.bytes)}${stats.path ? ` in ${stats.path}` : ' in memory'}; ${formatDuration(performance.now() - started)}`)
      for (const warning of stats.warnings) context.out(`warning: ${warning}`)
      return 0
    } finally {
      cache.close()
    }
  },
})

const sheetCommand = command({
  summary: 'write a contact sheet of the icons (PNG or WebP)',
  description: 'Draws icons in a grid on a checkerboard (so transparency shows), by name, and writes it as PNG or WebP.',
  options: {
    output: text('the file to write (required; .webp writes WebP)', { short: 'o', placeholder: 'FILE' }),
    limit: integer('at most N icons (default all)', { placeholder: 'N', min: 1 }),
    columns: integer('columns (default: a square grid)', { placeholder: 'N', min: 1 }),
    cell: integer('cell size in pixels (default --max-size or 64)', { placeholder: 'PX', min: 1 }),
    ...SOURCE_OPTIONS,
    ...CACHE_OPTIONS,
    json: flag('print the cell positions as JSON'),
  },
  footer: 'Exit codes: 0 written, 1 failed, 2 bad usage.',
  async run({ options }, context) {
    if (!options.output) throw new UsageError('give the output file with -o FILE', ['icons', 'sheet'])
    const cache = await openCache(options, ['icons', 'sheet'], context, 'none')
    try {
      const format = options.output.toLowerCase().endsWith('.webp') ? 'webp' : 'png'
      const sheet = await cache.contactSheet({ limit: options.limit, columns: options.columns, cell: options.cell, format })
      const path = writeOutput(options.output, sheet.data)
      if (options.json) context.out(JSON.stringify({ path, width: sheet.width, height: sheet.height, cells: sheet.cells }, null, 2))
      else context.out(`${path}: ${sheet.width}x${sheet.height} ${format.toUpperCase()}, ${formatCount(sheet.cells.length)} icons, ${formatBytes(sheet.data.length)}`)
      return 0
    } finally {
      cache.close()
    }
  },
})

const serveCommand = command({
  summary: 'serve the icons over HTTP with a searchable gallery',
  description:
    'Starts a local HTTP server: / is a gallery of every icon with its name, size and winning source\n' +
    '(a click shows every place it is stored), /icons/<name>.webp serves one icon with ETag and\n' +
    'versioned caching. Runs until interrupted.',
  options: {
    port: integer('the port (default 8080; 0 picks a free one)', { placeholder: 'N', min: 0, max: 65535 }),
    host: text('the address to listen on (default 127.0.0.1)', { placeholder: 'ADDR' }),
    ...SOURCE_OPTIONS,
    ...CACHE_OPTIONS,
  },
  footer: 'Exit codes: 0 stopped, 1 failed, 2 bad usage.',
  async run({ options }, context) {
    const { startGallery } = require('./gallery') as typeof import('./gallery')
    const cache = await openCache(options, ['icons', 'serve'], context, 'none')
    const server = await startGallery(cache, options.port ?? 8080, options.host ?? '127.0.0.1')
    const address = server.address()
    const port = typeof address === 'object' && address ? address.port : options.port
    context.out(`serving ${formatCount(cache.names().length)} icons on http://${options.host ?? '127.0.0.1'}:${port}/ (Ctrl-C stops)`)
    await new Promise<void>((done) => {
      if (context.signal.aborted) done()
      else context.signal.addEventListener('abort', () => done(), { once: true })
    })
    const closed = new Promise<void>((done) => server.close(() => done()))
    server.closeAllConnections()
    await closed
    cache.close()
    return 0
  },
})

/** `modforge icons <command>`. */
export const iconsCommands = group({
  description: 'NWN2 resources with engine precedence and the WebP icon cache.',
  commands: {
    discover: discoverCommand,
    where: whereCommand,
    get: getCommand,
    build: buildCommand,
    sheet: sheetCommand,
    serve: serveCommand,
  },
})
