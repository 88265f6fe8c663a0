/** `modforge overlay build|analyze` and `modforge wad ls|extract`: League of Legends WAD overlays on the command line. */
import { basename, resolve } from 'node:path'

import type { OverlayBuildResult, OverlayMod } from '../src/overlay'
import { formatBytes, formatCount, formatDuration, table } from './format'
import { command, flag, group, integer, repeat, text, UsageError } from './framework'
import { formatProgress, ProgressLine } from './progress'

/** `[id=]path` -> a mod; the id defaults to the file or folder name. */
export function parseMod(value: string): OverlayMod {
  const at = value.indexOf('=')
  if (at > 0) return { id: value.slice(0, at), path: resolve(value.slice(at + 1)) }
  return { id: basename(value), path: resolve(value) }
}

/** `id=a,b` -> [id, [a, b]]. */
function parseLayers(value: string): [string, string[]] {
  const at = value.indexOf('=')
  if (at <= 0) throw new UsageError(`--layers takes id=layer,layer; got '${value}'`, ['overlay', 'build'])
  return [value.slice(0, at), value.slice(at + 1).split(',').filter((name) => name.length > 0)]
}

/** The human summary of a build: mode, counts, bytes, conflicts and warnings. */
export function renderBuild(result: OverlayBuildResult): string {
  const s = result.stats
  const lines = [
    `${result.mode}: ${formatCount(result.built.length)} built, ${formatCount(result.reused.length)} reused in ${formatDuration(result.timeMs)}` +
      ` (mod bytes read ${formatBytes(s.modBytesRead)}, peak ${formatBytes(result.peakBytesRead)}, written ${formatBytes(s.bytesWritten)},` +
      ` ${formatCount(s.overridesCompressed)} overrides compressed)`,
  ]
  if (result.built.length > 0 && result.built.length <= 20) lines.push(...result.built.map((key) => `  built ${key}`))
  if (result.conflicts.length > 0) {
    const same = result.conflicts.filter((c) => c.sameContent).length
    const kept = result.conflicts.filter((c) => c.keptGameOriginal).length
    lines.push(`${formatCount(result.conflicts.length)} conflicts (${formatCount(same)} with equal content, ${formatCount(kept)} kept the game original)`)
    for (const c of result.conflicts.slice(0, 10)) {
      const winner = c.contributors[c.winner]
      lines.push(`  ${c.path ?? c.pathHash}: ${c.contributors.map((m) => m.modId).join(', ')} -> ${winner ? winner.modId : '?'} wins`)
    }
    if (result.conflicts.length > 10) lines.push(`  ... ${formatCount(result.conflicts.length - 10)} more (--json lists all)`)
  }
  if (result.warnings.length > 0) {
    lines.push(`${formatCount(result.warnings.length)} warnings`)
    for (const w of result.warnings.slice(0, 10)) lines.push(`  ${w.code}${w.modId ? ` [${w.modId}]` : ''}: ${w.message}`)
    if (result.warnings.length > 10) lines.push(`  ... ${formatCount(result.warnings.length - 10)} more (--json lists all)`)
  }
  return lines.join('\n')
}

const build = command({
  summary: 'patch the game WADs the mods touch (skip, incremental or full)',
  description:
    'Builds <overlay>/DATA/FINAL/... from the game and the mods (first --mod wins). Skips when nothing\n' +
    'changed (no mod byte read), rebuilds only the WADs whose override set changed, reports conflicts.',
  options: {
    game: text('the game folder holding DATA/FINAL', { placeholder: 'DIR' }),
    overlay: text('the overlay folder', { placeholder: 'DIR' }),
    state: text('the folder of the state file, conflicts.json and caches', { placeholder: 'DIR' }),
    mod: repeat('a mod, [id=]path (folder, .fantome, .zip or .modpkg); first wins', { placeholder: 'MOD' }),
    layers: repeat('active layers of a mod, id=a,b (default: all)', { placeholder: 'ID=LAYERS' }),
    block: repeat('a WAD file name never patched (scripts.wad.client, map22.wad.client)', { placeholder: 'WAD' }),
    force: flag('ignore the state and rebuild every WAD'),
    threads: integer('worker threads (default: one per core)', { placeholder: 'N', min: 1 }),
    json: flag('print the result as JSON'),
    noProgress: flag('no progress line'),
  },
  footer: 'Exit codes: 0 built or skipped, 1 failed, 2 bad usage, 130 interrupted.',
  async run({ options }, context) {
    const { buildOverlay } = require('../src/overlay') as typeof import('../src/overlay')
    for (const name of ['game', 'overlay', 'state'] as const) {
      if (!options[name]) throw new UsageError(`--${name} is required`, ['overlay', 'build'])
    }
    const mods = (options.mod ?? []).map(parseMod)
    for (const value of options.layers ?? []) {
      const [id, layers] = parseLayers(value)
      const mod = mods.find((m) => m.id === id)
      if (!mod) throw new UsageError(`--layers names '${id}', which is no --mod id`, ['overlay', 'build'])
      mod.layers = layers
    }
    const line = new ProgressLine(!options.noProgress)
    let result
    try {
      result = await buildOverlay({
        gameDir: resolve(options.game as string),
        overlayDir: resolve(options.overlay as string),
        stateDir: resolve(options.state as string),
        mods,
        options: { blockedWads: options.block, force: options.force, threads: options.threads },
        signal: context.signal,
        onProgress: (event) => line.update(() => formatProgress(event)),
      })
    } finally {
      line.clear()
    }
    context.out(options.json ? JSON.stringify(result, null, 2) : renderBuild(result))
    return 0
  },
})

const analyze = command({
  summary: 'layers, WAD folders, RAW files and routing of one mod',
  description: 'Reads a mod (folder, .fantome, .zip or .modpkg) and lists what it overrides; writes nothing.',
  args: [{ name: 'mod', description: 'the mod', required: true }],
  options: {
    game: text('a game folder to route the WAD folders against', { placeholder: 'DIR' }),
    json: flag('print JSON'),
  },
  async run({ args, options }, context) {
    const { analyzeMod } = require('../src/overlay') as typeof import('../src/overlay')
    const a = await analyzeMod(resolve(args.mod), { gameDir: options.game ? resolve(options.game) : undefined, signal: context.signal })
    if (options.json) {
      context.out(JSON.stringify(a, null, 2))
      return 0
    }
    context.out(`${a.name}${a.version ? ` ${a.version}` : ''} (${a.kind}), layers ${a.layers.map((l) => `${l.name}:${l.priority}`).join(', ')}`)
    context.out(
      table(
        [
          ['WAD', 'layer', 'files', 'bytes', 'routed to'],
          ...a.wads.map((w) => [w.name, w.layer, formatCount(w.files), formatBytes(w.bytes), w.routedTo ? `${w.routedTo} (${w.routing})` : '-']),
        ],
        [2, 3],
      ),
    )
    context.out(`RAW: ${formatCount(a.raw.files)} files, ${formatBytes(a.raw.bytes)}; fingerprint ${a.fingerprint}`)
    for (const w of a.warnings) context.out(`warning ${w.code}: ${w.message}`)
    return 0
  },
})

/** `modforge overlay <command>`. */
export const overlayCommands = group({
  description: 'League of Legends WAD overlays: patched copies of exactly the game WADs the mods touch.',
  commands: { build, analyze },
})

/** Paths by hash from a hash-list file (`<16 hex> <path>` lines). */
function loadHashes(file: string | undefined): Map<string, string> {
  const names = new Map<string, string>()
  if (!file) return names
  const { readFileSync } = require('node:fs') as typeof import('node:fs')
  for (const row of readFileSync(resolve(file), 'utf8').split('\n')) {
    const match = /^([0-9a-fA-F]{16}) (.+?)\r?$/.exec(row)
    if (match) names.set(match[1].toLowerCase(), match[2])
  }
  return names
}

const CHUNK_TYPES = ['raw', 'gzip', 'redirect', 'zstd', 'zstd-multi']

const ls = command({
  summary: 'the header and every TOC entry of a WAD',
  description: 'Lists a WAD (1.x, 2.x, 3.0-3.4): version, checksum and every entry (hash or path, type, sizes, offset).',
  args: [{ name: 'file', description: 'the .wad.client file', required: true }],
  options: {
    hashes: text('a hash list naming the entries', { placeholder: 'FILE' }),
    json: flag('print JSON'),
  },
  async run({ args, options }, context) {
    const { readWad } = require('../src/overlay') as typeof import('../src/overlay')
    const listing = await readWad(resolve(args.file), { signal: context.signal })
    const names = loadHashes(options.hashes)
    if (options.json) {
      const entries = listing.entries.map((e) => ({ ...e, path: names.get(e.pathHash) ?? null }))
      context.out(JSON.stringify({ ...listing, signature: listing.signature?.toString('hex') ?? null, entries }, null, 2))
      return 0
    }
    context.out(`WAD ${listing.version}, ${formatCount(listing.entries.length)} entries, checksum ${listing.checksum ?? '-'}`)
    context.out(
      table(
        [
          ['entry', 'type', 'packed', 'size', 'offset'],
          ...listing.entries.map((e) => [names.get(e.pathHash) ?? e.pathHash, CHUNK_TYPES[e.type] ?? String(e.type), formatCount(e.packedSize), formatCount(e.size), formatCount(e.offset)]),
        ],
        [2, 3, 4],
      ),
    )
    return 0
  },
})

const extract = command({
  summary: 'write every chunk of a WAD into a folder',
  description: 'Decodes every chunk into <dir>, named from --hashes or <hash>.bin, so the folder re-imports as a mod.',
  args: [
    { name: 'file', description: 'the .wad.client file', required: true },
    { name: 'dir', description: 'the output folder', required: true },
  ],
  options: {
    hashes: text('a hash list naming the chunks', { placeholder: 'FILE' }),
    verify: flag('check every entry checksum first'),
    json: flag('print JSON'),
    noProgress: flag('no progress line'),
  },
  async run({ args, options }, context) {
    const { extractWad } = require('../src/overlay') as typeof import('../src/overlay')
    const line = new ProgressLine(!options.noProgress)
    const started = performance.now()
    let report
    try {
      report = await extractWad(resolve(args.file), resolve(args.dir), {
        hashes: options.hashes ? resolve(options.hashes) : undefined,
        verify: options.verify,
        signal: context.signal,
        onProgress: (event) => line.update(() => formatProgress(event, ' entries')),
      })
    } finally {
      line.clear()
    }
    if (options.json) context.out(JSON.stringify(report, null, 2))
    else {
      context.out(`${formatCount(report.written)} files written, ${formatCount(report.skipped)} skipped in ${formatDuration(performance.now() - started)}`)
      for (const w of report.warnings) context.out(`warning ${w.code}: ${w.message}`)
    }
    return 0
  },
})

/** `modforge wad <command>`. */
export const wadCommands = group({
  description: 'League of Legends WAD archives: list and extract.',
  commands: { ls, extract },
})
