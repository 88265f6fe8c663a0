/**
 * The overlay builder through the public API: builds over a generated League install and its
 * mods (skip, incremental, full), the overlay read back, the real Riot WADs shipped with the
 * ltk_wad crate, hostile mods, path traversal from mods and aborts.
 */
import { execFileSync } from 'node:child_process'
import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import {
  analyzeMod,
  analyzeModSync,
  buildOverlay,
  buildOverlaySync,
  extractWad,
  generateLeague,
  readWad,
  readWadSync,
  verifySnapshots,
  type GeneratedLeague,
  type OverlayBuildResult,
} from 'modforge'
import * as overlaySubpath from 'modforge/overlay'
import { ROOT, isRoot, removeTree, runUnprivileged, tempDir } from './helpers'

let work: string
let league: GeneratedLeague
beforeAll(async () => {
  work = tempDir('overlay')
  league = await generateLeague(join(work, 'league'), { seed: 7 })
})
afterAll(() => removeTree(work))

/** Every file under `dir`, relative, with `/` separators. */
function files(dir: string): string[] {
  if (!existsSync(dir)) return []
  const out: string[] = []
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out.push(relative(dir, p).split(sep).join('/'))
    }
  }
  walk(dir)
  return out.sort()
}

/** A build spec over the generated install with its clean mods. */
function spec(name: string) {
  return {
    gameDir: league.gameDir,
    overlayDir: join(work, name, 'overlay'),
    stateDir: join(work, name, 'state'),
    mods: league.mods.map((m) => ({ id: m.id, path: m.path })),
  }
}

/** The path hash of a game path, from the generated hash list. */
function hashOf(path: string): string {
  const wanted = path.toLowerCase()
  for (const line of readFileSync(league.hashList, 'utf8').split('\n')) {
    const at = line.indexOf(' ')
    if (line.slice(at + 1).toLowerCase() === wanted) return line.slice(0, at)
  }
  throw new Error(`${path} is not in the hash list`)
}

/** A zip of stored entries (CRC 0: the fantome reader tolerates and reports bad CRCs). */
function storedZip(entries: [string, Buffer][]): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const [name, data] of entries) {
    const n = Buffer.from(name)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt32LE(data.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(n.length, 26)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(20, 4)
    central.writeUInt16LE(20, 6)
    central.writeUInt32LE(data.length, 20)
    central.writeUInt32LE(data.length, 24)
    central.writeUInt16LE(n.length, 28)
    central.writeUInt32LE(offset, 42)
    locals.push(local, n, data)
    centrals.push(central, n)
    offset += 30 + n.length + data.length
  }
  const cd = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(entries.length, 8)
  end.writeUInt16LE(entries.length, 10)
  end.writeUInt32LE(cd.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, cd, end])
}

describe('generated install', () => {
  it('lists every generated game WAD, with the versions the generator wrote', () => {
    expect(league.wads.length).toBe(24)
    const versions = new Set(league.wads.map((key) => readWadSync(join(league.gameDir, key)).version))
    // Four WADs are written as 3.0-3.3 for the reader, the rest as 3.4.
    expect([...versions].sort()).toEqual(['3.0', '3.1', '3.2', '3.3', '3.4'])
    expect(Object.keys(overlaySubpath).sort()).toEqual(
      ['analyzeMod', 'analyzeModSync', 'buildOverlay', 'buildOverlaySync', 'extractWad', 'extractWadSync', 'readWad', 'readWadSync'].sort(),
    )
  })

  it('analyses a folder mod: layers, WAD folders routed by name', async () => {
    const folder = league.mods.find((m) => m.format === 'folder' && !m.quirky)!
    const a = await analyzeMod(folder.path, { gameDir: league.gameDir })
    expect(a.kind).toBe('folder')
    expect(a.name).toBe(folder.id)
    expect(a.layers.map((l) => [l.name, l.priority])).toEqual([
      ['base', 0],
      ['chroma', 10],
    ])
    expect(a.wads.length).toBeGreaterThan(0)
    const routed = new Set(a.wads.map((w) => w.routedTo))
    for (const key of folder.touchedWads) expect(routed.has(key)).toBe(true)
    expect(a.wads.reduce((sum, w) => sum + w.bytes, 0) + a.raw.bytes).toBe(folder.overrideBytes)
    expect(analyzeModSync(folder.path).fingerprint).toBe(a.fingerprint)
  })
})

describe('buildOverlay', () => {
  let first: OverlayBuildResult
  let second: OverlayBuildResult
  let third: OverlayBuildResult
  let edited: GeneratedLeague['mods'][number]
  let editedHash: string
  let editedRel: string
  let editedBytes: Buffer
  const events: string[] = []

  beforeAll(async () => {
    const s = spec('cycle')
    first = await buildOverlay({ ...s, onProgress: (event) => events.push(event.stage) })
    second = await buildOverlay(s)
    edited = league.mods.find((m) => m.editFile)!
    const wadDir = edited.editFile!.split(sep).findIndex((part) => part.toLowerCase().endsWith('.wad.client'))
    editedRel = edited.editFile!.split(sep).slice(wadDir + 1).join('/')
    editedHash = hashOf(editedRel)
    appendFileSync(edited.editFile!, 'one more line')
    editedBytes = readFileSync(edited.editFile!)
    third = await buildOverlay(s)
  })

  it('builds every touched WAD first, reporting each stage', () => {
    expect(first.mode).toBe('full')
    expect(first.skipped).toBe(false)
    expect(first.reused).toEqual([])
    const touched = new Set(league.mods.flatMap((m) => m.touchedWads))
    for (const key of touched) expect(first.built).toContain(key)
    expect(files(spec('cycle').overlayDir)).toEqual([...first.built].sort())
    expect(first.stats.modBytesRead).toBeGreaterThan(0)
    expect(first.stats.bytesWritten).toBeGreaterThan(first.stats.modBytesRead / 10)
    // Events are throttled to about ten a second: the first and the last always arrive.
    expect(events[0]).toBe('fingerprint')
    expect(events.at(-1)).toBe('done')
    for (const stage of events) expect(['fingerprint', 'index', 'collect', 'route', 'patch', 'sweep', 'done']).toContain(stage)
  })

  it('skips the second build without reading a mod byte', () => {
    expect(second.mode).toBe('skip')
    expect(second.skipped).toBe(true)
    expect(second.built).toEqual([])
    expect([...second.reused].sort()).toEqual([...first.built].sort())
    expect(second.stats.modBytesRead).toBe(0)
    expect(second.peakBytesRead).toBe(0)
    expect(second.stats.bytesWritten).toBe(0)
    // The conflicts of the build that wrote the overlay come back on a skip.
    expect(second.conflicts).toEqual(first.conflicts)
  })

  it('rebuilds only the WADs holding the edited chunk after one mod changed', async () => {
    expect(third.mode).toBe('incremental')
    expect(third.built.length).toBeGreaterThan(0)
    expect(third.built.length).toBeLessThan(first.built.length)
    expect(third.built).toContain(edited.touchedWads[0])
    expect([...third.built, ...third.reused].sort()).toEqual([...first.built].sort())
    for (const key of third.built) {
      const listing = await readWad(join(spec('cycle').overlayDir, key))
      expect(listing.entries.map((e) => e.pathHash)).toContain(editedHash)
    }
    expect(third.stats.modBytesRead).toBeGreaterThan(0)
    expect(third.stats.modBytesRead).toBeLessThan(first.stats.modBytesRead)
    expect(third.peakBytesRead).toBeGreaterThan(0)
    // The files on disk are the third build's: its byte count is exactly what it rewrote.
    expect(third.stats.bytesWritten).toBe(third.built.reduce((sum, key) => sum + statSync(join(spec('cycle').overlayDir, key)).size, 0))
  })

  it('leaves caches that verify, the slice of the game index for the mods among them', async () => {
    const report = await verifySnapshots(join(spec('cycle').stateDir, 'cache'))
    for (const file of report) expect(file.ok).toBe(true)
    const slice = report.find((file) => file.header?.kind === 'modforge.overlay.slice@1')
    const index = report.find((file) => file.header?.kind === 'modforge.overlay.game@1')
    expect(index?.details).toMatchObject({ wads: league.wads.length })
    expect(slice?.details).toMatchObject({ wads: league.wads.length, prefixes: expect.any(Number) })
    // The mods' hashes the game holds, a fraction of the index; one prefix per game hash but for
    // the rare pair sharing their high 32 bits.
    const details = slice!.details as { heldHashes: number; absentHashes: number; prefixes: number }
    const hashes = (index!.details as { hashes: number }).hashes
    expect(details.heldHashes).toBeGreaterThan(0)
    expect(details.heldHashes).toBeLessThan(hashes)
    expect(details.prefixes).toBeLessThanOrEqual(hashes)
    expect(details.prefixes).toBeGreaterThan(hashes * 0.99)
    expect(slice!.fileSize).toBeLessThan(index!.fileSize)
  })

  it('writes WADs that read back: 3.4, sorted unique TOC, in bounds, the edited bytes inside', async () => {
    const key = edited.touchedWads[0]
    const path = join(spec('cycle').overlayDir, key)
    const listing = readWadSync(path)
    const game = readWadSync(join(league.gameDir, key))
    expect(listing.version).toBe('3.4')
    expect(listing.signature?.equals(game.signature!)).toBe(true)
    const hashes = listing.entries.map((e) => e.pathHash)
    expect(hashes).toEqual([...hashes].sort())
    expect(new Set(hashes).size).toBe(hashes.length)
    const firstData = Math.min(...listing.entries.map((e) => e.offset))
    // The TOC keeps reserved slots before the data (docs/overlay.md, "Output layout").
    expect(firstData).toBeGreaterThanOrEqual(272 + 32 * listing.entries.length)
    for (const e of game.entries) expect(hashes).toContain(e.pathHash)
    const size = statSync(path).size
    for (const e of listing.entries) expect(e.offset + e.packedSize).toBeLessThanOrEqual(size)
    const out = join(work, 'extract-edited')
    const report = await extractWad(path, out, { hashes: league.hashList, verify: true })
    expect(report.written).toBe(listing.entries.length - report.skipped)
    expect(readFileSync(join(out, ...editedRel.split('/'))).equals(editedBytes)).toBe(true)
  })

  it('gives the same bytes as a clean full build of the same mods', () => {
    const fresh = buildOverlaySync(spec('fresh'))
    expect(fresh.mode).toBe('full')
    expect([...fresh.built].sort()).toEqual([...first.built].sort())
    for (const key of fresh.built) {
      const a = readFileSync(join(spec('fresh').overlayDir, key))
      const b = readFileSync(join(spec('cycle').overlayDir, key))
      expect(a.equals(b)).toBe(true)
    }
  })

  it('reports conflicts with their contributors and winner', () => {
    expect(first.conflicts.length).toBeGreaterThan(0)
    for (const c of first.conflicts) {
      expect(c.pathHash).toMatch(/^[0-9a-f]{16}$/)
      expect(c.contributors.length).toBeGreaterThanOrEqual(2)
      expect(c.winner).toBeLessThan(c.contributors.length)
      expect(c.sameContent).toBe(new Set(c.contributors.map((m) => m.contentHash)).size === 1)
    }
    const conflicts = JSON.parse(readFileSync(join(spec('cycle').stateDir, 'conflicts.json'), 'utf8'))
    expect(conflicts.conflicts.length).toBe(third.conflicts.length)
  })
})

describe('aborting a build', () => {
  it('rejects with ABORT_ERR carrying the reason and leaves the previous good state', async () => {
    const s = spec('abort')
    const good = await buildOverlay(s)
    const before = new Map(good.built.map((key) => [key, readFileSync(join(s.overlayDir, key))]))
    const edited = league.mods.find((m) => m.editFile)!
    appendFileSync(edited.editFile!, 'edited before an aborted build')
    const controller = new AbortController()
    const reason = new Error('user closed the launcher')
    const err = await buildOverlay({
      ...s,
      signal: controller.signal,
      onProgress: (event) => {
        if (event.stage === 'collect' || event.stage === 'patch') controller.abort(reason)
      },
    }).catch((e: unknown) => e)
    expect((err as { code?: string }).code).toBe('ABORT_ERR')
    expect((err as Error).name).toBe('AbortError')
    expect((err as Error).cause).toBe(reason)
    const left = files(s.overlayDir)
    expect(left.filter((f) => f.endsWith('.tmp'))).toEqual([])
    const leftBytes = new Map(left.map((key) => [key, readFileSync(join(s.overlayDir, key))]))
    // The next build finishes what the aborted one left and equals a clean build of the same mods.
    const after = await buildOverlay(s)
    // An abort that arrives after the last WAD was written still rejects; the build it stopped may be complete.
    expect(['incremental', 'skip']).toContain(after.mode)
    const clean = buildOverlaySync(spec('abort-clean'))
    expect(files(s.overlayDir)).toEqual(files(spec('abort-clean').overlayDir))
    for (const key of clean.built) {
      const now = readFileSync(join(s.overlayDir, key))
      expect(now.equals(readFileSync(join(spec('abort-clean').overlayDir, key)))).toBe(true)
    }
    // Every WAD left by the aborted build was whole: its previous bytes or its finished new ones.
    for (const [key, bytes] of leftBytes) {
      const finished = readFileSync(join(spec('abort-clean').overlayDir, key))
      expect(bytes.equals(before.get(key)!) || bytes.equals(finished)).toBe(true)
    }
  })

  it('keeps the previous overlay and state when the dirty marks cannot be saved', () => {
    const s = spec('marks')
    const good = buildOverlaySync(s)
    const before = new Map(good.built.map((key) => [key, readFileSync(join(s.overlayDir, key))]))
    const stateFile = join(s.stateDir, 'overlay-state.json')
    const stateBefore = readFileSync(stateFile)
    const edited = league.mods.find((m) => m.editFile)!
    appendFileSync(edited.editFile!, 'edited before a build that cannot save its state')
    // The build may write the overlay folder but not the state folder.
    if (isRoot) execFileSync('chown', ['-R', '65534:65534', s.overlayDir])
    chmodSync(s.stateDir, 0o555)
    const failed = runUnprivileged<{ code?: string; syscall?: string; path?: string }>(`
      const { buildOverlaySync } = require(MODFORGE)
      try {
        buildOverlaySync(${JSON.stringify(s)})
        process.stdout.write('{}')
      } catch (e) {
        process.stdout.write(JSON.stringify({ code: e.code, syscall: e.syscall, path: e.path }))
      }`)
    chmodSync(s.stateDir, 0o755)
    expect(failed.code).toBe('ERR_MODFORGE_IO')
    expect(failed.path!.startsWith(s.stateDir)).toBe(true)
    // No WAD was replaced and no temp file is left; the state is the last good build's.
    expect(files(s.overlayDir)).toEqual([...before.keys()].sort())
    for (const [key, bytes] of before) expect(readFileSync(join(s.overlayDir, key)).equals(bytes)).toBe(true)
    expect(readFileSync(stateFile).equals(stateBefore)).toBe(true)
    const after = buildOverlaySync(s)
    expect(after.mode).toBe('incremental')
    expect(after.built).toContain(edited.touchedWads[0])
  })

  it('rejects at once for an already aborted signal and touches nothing', async () => {
    const s = spec('aborted-early')
    const err = await buildOverlay({ ...s, signal: AbortSignal.abort('no') }).catch((e: unknown) => e)
    expect((err as { code?: string }).code).toBe('ABORT_ERR')
    expect(existsSync(s.overlayDir)).toBe(false)
    expect(existsSync(s.stateDir)).toBe(false)
  })
})

describe('hostile mods', () => {
  it('refuses a mod that is neither folder, zip nor modpkg, naming the file and offset 0', async () => {
    const bad = join(work, 'bad.fantome')
    writeFileSync(bad, 'not a mod at all')
    const err = (await buildOverlay({ ...spec('hostile-a'), mods: [{ id: 'bad', path: bad }] }).catch((e: unknown) => e)) as Record<string, unknown>
    expect(err.code).toBe('ERR_MODFORGE_FORMAT')
    expect(err.offset).toBe(0)
    expect(String(err.message)).toContain('bad.fantome')
  })

  it('refuses a truncated fantome and a modpkg of another format version with ERR_MODFORGE_FORMAT', async () => {
    const zip = storedZip([['META/info.json', Buffer.from('{"Name":"x"}')], ['WAD/Aatrox.wad.client/data/a.bin', Buffer.from('hello')]])
    const truncated = join(work, 'truncated.fantome')
    writeFileSync(truncated, zip.subarray(0, zip.length - 10))
    const a = (await analyzeMod(truncated).catch((e: unknown) => e)) as Record<string, unknown>
    expect(a.code).toBe('ERR_MODFORGE_FORMAT')
    expect(String(a.message)).toContain('truncated.fantome')
    const pkg = Buffer.alloc(64)
    pkg.write('_modpkg_', 0)
    pkg.writeUInt32LE(2, 8)
    const modpkg = join(work, 'v2.modpkg')
    writeFileSync(modpkg, pkg)
    const b = (await analyzeMod(modpkg).catch((e: unknown) => e)) as Record<string, unknown>
    expect(b.code).toBe('ERR_MODFORGE_FORMAT')
    expect(b.offset).toBe(8)
    expect(String(b.message)).toContain('v2.modpkg')
  })

  it('refuses a truncated WAD naming the offset where the TOC runs out', async () => {
    const key = league.wads.find((k) => readWadSync(join(league.gameDir, k)).entries.length > 2)!
    const bytes = readFileSync(join(league.gameDir, key))
    const cut = join(work, 'cut.wad.client')
    writeFileSync(cut, bytes.subarray(0, 272 + 32))
    const err = (await readWad(cut).catch((e: unknown) => e)) as Record<string, unknown>
    expect(err.code).toBe('ERR_MODFORGE_FORMAT')
    expect(String(err.message)).toContain('cut.wad.client')
    expect(typeof err.offset).toBe('number')
  })

  it('never writes outside the overlay folder: traversal names, absolute names, symlinks', async () => {
    const outside = join(work, 'outside-target')
    mkdirSync(outside, { recursive: true })
    writeFileSync(join(outside, 'secret.bin'), 'outside bytes')
    const wad = league.wads.find((k) => k.includes('/Champions/') && !k.includes('_'))!
    const wadName = wad.split('/').at(-1)!
    const zip = storedZip([
      ['META/info.json', Buffer.from('{"Name":"traversal"}')],
      [`WAD/${wadName}/../../../../escape-1.bin`, Buffer.from('escape 1')],
      ['WAD/../../escape-2.wad.client/data/x.bin', Buffer.from('escape 2')],
      ['RAW/../../../escape-3.bin', Buffer.from('escape 3')],
      ['/abs/escape-4.bin', Buffer.from('escape 4')],
      [`WAD/${wadName}/data/inside.bin`, Buffer.from('inside')],
    ])
    const fantome = join(work, 'traversal.fantome')
    writeFileSync(fantome, zip)
    const folder = join(work, 'traversal-folder')
    mkdirSync(join(folder, 'content', 'base', wadName, 'data'), { recursive: true })
    writeFileSync(join(folder, 'mod.config.json'), JSON.stringify({ name: 'traversal-folder', layers: [{ name: 'base', priority: 0 }] }))
    writeFileSync(join(folder, 'content', 'base', wadName, 'data', 'ok.bin'), 'ok')
    symlinkSync(join(outside, 'secret.bin'), join(folder, 'content', 'base', wadName, 'data', 'link.bin'))
    symlinkSync(outside, join(folder, 'content', 'base', wadName, 'linkdir'))
    const s = { ...spec('escape'), mods: [{ id: 'zip', path: fantome }, { id: 'folder', path: folder }] }
    const result = await buildOverlay(s)
    expect(result.built).toEqual([wad])
    expect(files(s.overlayDir)).toEqual([wad])
    expect(result.warnings.map((w) => w.code)).toContain('IGNORED_SYMLINK')
    const found = execFileSync('find', [work, '-name', 'escape-*'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean)
    expect(found).toEqual([])
    expect(readFileSync(join(outside, 'secret.bin'), 'utf8')).toBe('outside bytes')
    expect(files(outside)).toEqual(['secret.bin'])
  })

  it('extracts with a hash list whose paths leave the folder under their hex names', async () => {
    const key = league.wads.find((k) => readWadSync(join(league.gameDir, k)).entries.length > 1)!
    const listing = readWadSync(join(league.gameDir, key))
    const [a, b] = listing.entries
    const list = join(work, 'evil-hashes.txt')
    writeFileSync(list, `${a.pathHash} ../../evil-a.bin\n${b.pathHash} /tmp/evil-b.bin\n`)
    const out = join(work, 'extract-evil')
    const report = await extractWad(join(league.gameDir, key), out, { hashes: list })
    expect(report.warnings.filter((w) => w.code === 'UNSAFE_PATH').length).toBe(2)
    expect(existsSync(join(out, `${a.pathHash}.bin`))).toBe(true)
    expect(existsSync(join(out, `${b.pathHash}.bin`))).toBe(true)
    expect(existsSync(join(work, 'evil-a.bin'))).toBe(false)
    expect(existsSync('/tmp/evil-b.bin')).toBe(false)
  })
})

describe('real Riot WADs (shipped in the ltk_wad crate package)', () => {
  /** `tests/wads/` of the ltk_wad package in the Cargo registry. */
  function riotWads(): string {
    const metadata = JSON.parse(execFileSync('cargo', ['metadata', '--format-version', '1', '--offline'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 }))
    const pkg = metadata.packages.find((p: { name: string }) => p.name === 'ltk_wad')
    return join(pkg.manifest_path, '..', 'tests', 'wads')
  }

  it('reads UI.en_US.wad.client and the empty Online.wad.client as LeagueToolkit documents them', async () => {
    const dir = riotWads()
    const ui = await readWad(join(dir, 'UI.en_US.wad.client'))
    expect(ui.version).toBe('3.4')
    expect(ui.signature?.length).toBe(256)
    expect(ui.entries.length).toBe(6)
    expect(ui.entries.every((e) => e.type === 3)).toBe(true)
    const hashes = ui.entries.map((e) => e.pathHash)
    expect(hashes).toEqual([...hashes].sort())
    expect(Math.min(...ui.entries.map((e) => e.offset))).toBe(464)
    // Data is not in hash order.
    const offsets = ui.entries.map((e) => e.offset)
    expect(offsets).not.toEqual([...offsets].sort((x, y) => x - y))
    const online = readWadSync(join(dir, 'Online.wad.client'))
    expect(online.version).toBe('3.4')
    expect(online.entries).toEqual([])
    expect(online.checksum).toBe('ef46db3751d8e999')
    const out = join(work, 'riot')
    const report = await extractWad(join(dir, 'UI.en_US.wad.client'), out, { verify: true })
    expect(report.written).toBe(6)
    for (const e of ui.entries) expect(statSync(join(out, `${e.pathHash}.bin`)).size).toBe(e.size)
  })
})
