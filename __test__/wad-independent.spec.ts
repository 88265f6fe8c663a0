/**
 * Overlay WADs read back by an independent WAD 3.x reader (`wad-parser.ts`, written from
 * docs/overlay.md; `fzstd` decodes, `@node-rs/xxhash` hashes) instead of modforge's: every header
 * field, the TOC, the tail layout, every entry checksum, pass-through entries against the game
 * WAD, and overrides against the mods' own bytes, read straight from the mod folders, the fantome
 * zips (yauzl) and the modpkg files. The reader itself is checked against the published vectors,
 * against modforge's `readWad`/`extractWad`, and on broken input.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import yauzl from 'yauzl'

import { buildOverlaySync, extractWadSync, generateLeague, readWadSync, type GeneratedLeague, type OverlayBuildResult, type WadListing } from 'modforge'
import { removeTree, scratchDir } from './helpers'
import {
  decodeEntry,
  decodeZstd,
  ENTRY_LEN,
  entryChecksum,
  HEADER_LEN,
  headerChecksum,
  hex64,
  parseWad,
  pathHash,
  storedBytes,
  subchunkRecords,
  subchunkTocHash,
  WadFormatError,
  type ParsedWad,
  type SubchunkRecord,
  type TocEntry,
  zstdFrame,
} from './wad-parser'

/** TOC slots reserved per step (docs/overlay.md, "Output layout": `slack` defaults to 2048). */
const SLACK = 2048

// ---------------------------------------------------------------------------------------------
// Mods, read without modforge (docs/overlay.md, "Mod formats", "Hashing and names", "Precedence")
// ---------------------------------------------------------------------------------------------

/** One override a mod ships. */
interface ModItem {
  /** The path hash it stands for. */
  hash: bigint
  /** Its uncompressed bytes. */
  content: Uint8Array
  /**
   * Apply order inside the mod (docs/overlay.md, "Precedence"; later wins): layer rank (RAW after
   * every layer), WAD folder by lower-case then raw name, relative path normalised then raw.
   */
  key: [number, string, string, string, string]
  /** The packed form modforge copies without re-encoding ("Output layout", pass-through of packed mod chunks). */
  packed?: { type: number; bytes: Uint8Array }
  /** Where it comes from, for messages. */
  origin: string
}

/** `\` → `/`, lower case, empty and `.` components dropped. */
function normalise(path: string): string {
  return path
    .replace(/\\/g, '/')
    .toLowerCase()
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/')
}

/** The hash a mod file stands for: its 16-hex-digit name, else its path without a `.ltk` marker. */
function chunkHash(rel: string): bigint {
  const last = rel.split(/[\\/]/).at(-1) ?? rel
  const stem = last.split('.')[0]
  if (/^[0-9a-fA-F]{16}$/.test(stem)) return BigInt(`0x${stem}`)
  const normal = normalise(rel)
  const slash = normal.lastIndexOf('/')
  const parts = normal.slice(slash + 1).split('.')
  let keep = -1
  if (parts.length >= 2 && parts.at(-1) === 'ltk' && parts.at(-2) !== '') keep = parts.length - 1
  else if (parts.length >= 3 && parts.at(-2) === 'ltk' && parts.at(-3) !== '') keep = parts.length - 2
  const name = keep < 0 ? '' : parts.slice(0, keep).join('.')
  return pathHash(name === '' ? normal : normal.slice(0, slash + 1) + name)
}

/** Wwise content (`BKHD` at 0, or `r3d2` and u32 1): overlay writers store it raw. */
function isWwise(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 8))
  return head.subarray(0, 4).toString('latin1') === 'BKHD' || head.equals(Buffer.from('r3d2\x01\x00\x00\x00', 'latin1'))
}

/** Layer ranks in apply order: priority ascending, then name bytes; `base` (priority 0) always exists. */
function layerRanks(layers: { name: string; priority: number }[]): Map<string, number> {
  const all = layers.some((l) => l.name === 'base') ? [...layers] : [...layers, { name: 'base', priority: 0 }]
  all.sort((a, b) => a.priority - b.priority || Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
  return new Map(all.map((l, rank) => [l.name, rank]))
}

/** Every file under `dir`, relative with `/`. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  const out: string[] = []
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) out.push(relative(dir, p).split(sep).join('/'))
    }
  }
  walk(dir)
  return out.sort()
}

/** A folder project: `mod.config.json` layers, `content/<layer>/<Name>.wad.client/<path>`, `RAW/<path>`. */
function readFolderMod(id: string, root: string): ModItem[] {
  const config = JSON.parse(readFileSync(join(root, 'mod.config.json'), 'utf8').replace(/^\uFEFF/, '')) as { layers?: { name: string; priority: number }[] }
  const ranks = layerRanks(config.layers ?? [])
  const items: ModItem[] = []
  const content = join(root, 'content')
  for (const layer of readdirSync(content, { withFileTypes: true })) {
    const rank = ranks.get(layer.name)
    if (!layer.isDirectory() || rank === undefined) continue
    for (const wad of readdirSync(join(content, layer.name), { withFileTypes: true })) {
      if (!wad.isDirectory() || !wad.name.toLowerCase().endsWith('.wad.client')) continue
      for (const rel of filesUnder(join(content, layer.name, wad.name))) {
        const file = join(content, layer.name, wad.name, rel)
        items.push({ hash: chunkHash(rel), content: readFileSync(file), key: [rank, wad.name.toLowerCase(), wad.name, normalise(rel), rel], origin: file })
      }
    }
  }
  const raw = readdirSync(root, { withFileTypes: true }).find((e) => e.isDirectory() && e.name.toLowerCase() === 'raw')
  const rawDir = raw ? join(root, raw.name) : undefined
  for (const rel of rawDir ? filesUnder(rawDir) : []) {
    const file = join(rawDir!, rel)
    items.push({ hash: chunkHash(rel), content: readFileSync(file), key: [Infinity, '', '', normalise(rel), rel], origin: file })
  }
  return items.map((item) => ({ ...item, origin: `${id}: ${item.origin}` }))
}

/** Every file entry of a zip with its bytes (yauzl; directory entries left out). */
async function zipFiles(path: string): Promise<{ name: string; bytes: Buffer }[]> {
  const zip = await yauzl.fromBufferPromise(readFileSync(path), { lazyEntries: true })
  const out: { name: string; bytes: Buffer }[] = []
  await new Promise<void>((done, fail) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      if (entry.fileName.endsWith('/')) return zip.readEntry()
      zip.openReadStream(entry, (error, stream) => {
        if (error || !stream) return fail(error)
        const chunks: Buffer[] = []
        stream.on('data', (chunk: Buffer) => chunks.push(chunk))
        stream.on('error', fail)
        stream.on('end', () => {
          out.push({ name: entry.fileName, bytes: Buffer.concat(chunks) })
          zip.readEntry()
        })
      })
    })
    zip.on('end', () => done())
    zip.on('error', fail)
    zip.readEntry()
  })
  return out
}

/**
 * A fantome: `WAD/<Name>.wad.client/<path>` files, packed `WAD/<Name>.wad.client` (`.wad`,
 * `.wad.mobile`) whose chunks each become an override, `RAW/<path>`; prefixes case-insensitive;
 * WAD content belongs to `base`.
 */
async function readFantome(id: string, path: string, gameKeys: string[]): Promise<ModItem[]> {
  const items: ModItem[] = []
  for (const { name, bytes } of await zipFiles(path)) {
    const n = name.replace(/\\/g, '/')
    const lower = n.toLowerCase()
    if (lower.startsWith('raw/')) {
      const rel = n.slice(4)
      items.push({ hash: chunkHash(rel), content: bytes, key: [Infinity, '', '', normalise(rel), rel], origin: `${id}: ${name}` })
      continue
    }
    if (!lower.startsWith('wad/')) continue
    const rest = n.slice(4)
    const slash = rest.indexOf('/')
    if (slash >= 0) {
      const dir = rest.slice(0, slash)
      const rel = rest.slice(slash + 1)
      if (!dir.toLowerCase().endsWith('.wad.client')) continue
      items.push({ hash: chunkHash(rel), content: bytes, key: [0, dir.toLowerCase(), dir, normalise(rel), rel], origin: `${id}: ${name}` })
      continue
    }
    const stem = /^(.*)\.(wad\.client|wad|wad\.mobile)$/i.exec(rest)
    if (!stem) continue
    const dir = `${stem[1]}.wad.client`
    const wad = parseWad(bytes, `${path}!${name}`)
    // A whole game WAD carries the SubChunkTOC of the game WAD it was copied from.
    const origin = gameKeys.find((key) => wad.entries.some((e) => e.pathHash === subchunkTocHash(key)))
    const records = origin === undefined ? undefined : subchunkRecords(wad, origin)
    for (const e of wad.entries) {
      const rel = `${hex64(e.pathHash)}.bin`
      const packed = e.type === 0 || e.type === 3 ? { type: e.type, bytes: storedBytes(wad, e) } : undefined
      items.push({ hash: e.pathHash, content: decodeEntry(wad, e, records), key: [0, dir.toLowerCase(), rest, rel, rel], packed, origin: `${id}: ${name} ${rel}` })
    }
  }
  return items
}

/**
 * A modpkg (format version 1, docs/overlay.md "modpkg"): header, layer, path and WAD tables,
 * padding to 8 bytes, 61-byte chunk records. Chunks naming no WAD are left out; the record's path
 * hash is the chunk's; zstd chunks whose content is not Wwise are copied packed.
 */
function readModpkg(id: string, path: string): ModItem[] {
  const b = readFileSync(path)
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength)
  expect(b.subarray(0, 8).toString('latin1')).toBe('_modpkg_')
  expect(v.getUint32(8, true)).toBe(1)
  const count = v.getUint32(16, true)
  let at = 20 + v.getUint32(12, true)
  const u32 = (): number => {
    at += 4
    return v.getUint32(at - 4, true)
  }
  const cstr = (): string => {
    const end = b.indexOf(0, at)
    expect(end).toBeGreaterThanOrEqual(at)
    const text = b.subarray(at, end).toString('utf8')
    at = end + 1
    return text
  }
  const layers: { name: string; priority: number }[] = []
  for (let i = 0, n = u32(); i < n; i++) {
    const len = u32()
    const name = b.subarray(at, at + len).toString('utf8')
    at += len
    layers.push({ name, priority: u32() | 0 })
  }
  const paths: string[] = []
  for (let i = 0, n = u32(); i < n; i++) paths.push(cstr())
  const wads: string[] = []
  for (let i = 0, n = u32(); i < n; i++) wads.push(cstr())
  at = Math.ceil(at / 8) * 8
  const ranks = layerRanks(layers)
  const NONE = 0xffffffff
  const items: ModItem[] = []
  for (let i = 0; i < count; i++) {
    const r = at + 61 * i
    const wadIndex = v.getUint32(r + 57, true)
    if (wadIndex === NONE) continue
    const offset = Number(v.getBigUint64(r + 8, true))
    const compression = v.getUint8(r + 16)
    const stored = b.subarray(offset, offset + Number(v.getBigUint64(r + 17, true)))
    const size = Number(v.getBigUint64(r + 25, true))
    expect(entryChecksum(stored)).toBe(v.getBigUint64(r + 33, true))
    const content = compression === 1 ? decodeZstd(stored, size, path, offset) : stored
    expect(entryChecksum(content)).toBe(v.getBigUint64(r + 41, true))
    const layerIndex = v.getUint32(r + 53, true)
    const layer = layerIndex === NONE ? 'base' : layers[layerIndex].name
    const wad = wads[wadIndex]
    const rel = paths[v.getUint32(r + 49, true)]
    const packed = compression === 1 && !isWwise(content) ? { type: 3, bytes: stored } : undefined
    items.push({ hash: v.getBigUint64(r, true), content, key: [ranks.get(layer)!, wad.toLowerCase(), wad, normalise(rel), rel], packed, origin: `${id}: ${layer}/${wad}/${rel}` })
  }
  return items
}

/** Compares apply-order keys: numbers, then strings by bytes. */
function byKey(a: ModItem, b: ModItem): number {
  for (let i = 0; i < a.key.length; i++) {
    const x = a.key[i]
    const y = b.key[i]
    const c = typeof x === 'number' ? Math.sign(x - (y as number)) || 0 : Buffer.compare(Buffer.from(x), Buffer.from(y as string))
    if (c !== 0) return c
  }
  return 0
}

/** The winner per path hash: inside a mod the last in apply order, between mods index 0; `dropped` hashes never win. */
function winners(mods: ModItem[][], dropped: Set<bigint>): Map<bigint, ModItem> {
  const out = new Map<bigint, ModItem>()
  for (const items of mods) {
    const own = new Map<bigint, ModItem>()
    for (const item of [...items].sort(byKey)) own.set(item.hash, item)
    for (const [hash, item] of own) if (!out.has(hash) && !dropped.has(hash)) out.set(hash, item)
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Game and overlay WADs
// ---------------------------------------------------------------------------------------------

/** A game WAD, parsed. */
interface GameWad {
  /** Its path relative to the game folder. */
  key: string
  /** Header and TOC. */
  wad: ParsedWad
  /** Entries by path hash. */
  byHash: Map<bigint, TocEntry>
  /** Its SubChunkTOC records, when it has one. */
  records?: SubchunkRecord[]
}

/** Parses the game WAD `key` of `gameDir`. */
function loadGameWad(gameDir: string, key: string): GameWad {
  const wad = parseWad(readFileSync(join(gameDir, key)), key)
  return { key, wad, byHash: new Map(wad.entries.map((e) => [e.pathHash, e])), records: subchunkRecords(wad, key) }
}

/** An overlay WAD beside its source, with the layout docs/overlay.md ("Output layout") promises for them. */
interface OverlayView {
  /** The WAD's key (the same under the game and the overlay folder). */
  key: string
  /** The game WAD it was built from. */
  src: GameWad
  /** The overlay WAD. */
  out: ParsedWad
  /** The overlay WAD's SubChunkTOC records, when it has one. */
  records?: SubchunkRecord[]
  /** TOC slots: source entries + SLACK × (⌊added / SLACK⌋ + 1). */
  capacity: number
  /** Lowest offset over the source's entries with data. */
  s0: number
  /** Highest end over the source's entries with data. */
  s1: number
  /** `D = 272 + 32 × capacity`, where the source region goes. */
  d: number
  /** `T = D + (s1 − s0)`, where the tail starts. */
  t: number
}

/** The overlay WAD built from `game`, with its expected layout for TOC steps of `slack` slots. */
function viewOf(game: GameWad, overlayDir: string, slack: number): OverlayView {
  const out = parseWad(readFileSync(join(overlayDir, game.key)), `overlay ${game.key}`)
  const withData = game.wad.entries.filter((e) => e.packedSize > 0)
  const s0 = withData.length ? Math.min(...withData.map((e) => e.offset)) : 0
  const s1 = withData.length ? Math.max(...withData.map((e) => e.offset + e.packedSize)) : 0
  const added = out.entries.length - game.byHash.size
  const capacity = game.byHash.size + slack * (Math.floor(added / slack) + 1)
  const d = HEADER_LEN + ENTRY_LEN * capacity
  return { key: game.key, src: game, out, records: subchunkRecords(out, game.key), capacity, s0, s1, d, t: d + (s1 - s0) }
}

/** Whether `entry` of an overlay WAD lies in the tail (an override) rather than in the copied region. */
function inTail(view: OverlayView, entry: TocEntry): boolean {
  return entry.packedSize > 0 && entry.offset >= view.t
}

/** Byte equality. */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
}

/** The entry fields modforge's `readWad` reports, from the independent reader. */
function asListing(wad: ParsedWad): WadListing {
  return {
    version: `${wad.major}.${wad.minor}`,
    signature: Buffer.from(wad.signature),
    checksum: hex64(wad.checksum),
    entries: wad.entries.map((e) => ({
      pathHash: hex64(e.pathHash),
      offset: e.offset,
      packedSize: e.packedSize,
      size: e.size,
      type: e.type,
      subchunkCount: e.subchunkCount,
      subchunkIndex: e.subchunkIndex,
      duplicate: e.duplicate,
      checksum: hex64(e.checksum),
    })),
  }
}

let work: string
let league: GeneratedLeague
beforeAll(async () => {
  work = scratchDir('wad-independent')
  league = await generateLeague(join(work, 'league'), { seed: 7 })
})
afterAll(() => removeTree(work))

describe('overlay WADs of the generated install and mods, read independently', () => {
  let result: OverlayBuildResult
  let overlayDir: string
  let game: Map<string, GameWad>
  let holders: Map<bigint, string[]>
  let expected: Map<bigint, ModItem>
  let crossImports: Set<bigint>
  /** The id of the mod each winner comes from. */
  let winnerMod: Map<bigint, string>
  let views: OverlayView[]

  beforeAll(async () => {
    game = new Map(league.wads.map((key) => [key, loadGameWad(league.gameDir, key)]))
    holders = new Map()
    for (const g of game.values()) for (const hash of g.byHash.keys()) holders.set(hash, [...(holders.get(hash) ?? []), g.key])
    // Every generated mod (the quirky ones too), then a folder mod changing one chunk of each
    // 3.0-3.3 game WAD, so sources of every minor version are rewritten.
    const older = join(work, 'older-versions')
    for (const g of game.values()) {
      if (g.wad.minor === 4) continue
      const entry = g.wad.entries.find((e) => e.type === 3 && !e.duplicate)
      if (!entry) throw new Error(`${g.key} has no zstd entry to replace`)
      const file = join(older, 'content', 'base', g.key.split('/').at(-1)!, `${hex64(entry.pathHash)}.bin`)
      mkdirSync(join(file, '..'), { recursive: true })
      writeFileSync(file, `a replacement from a mod for ${g.key}`)
    }
    writeFileSync(join(older, 'mod.config.json'), JSON.stringify({ name: 'older-versions', version: '1.0.0', layers: [{ name: 'base', priority: 0 }] }))
    const mods = [...league.mods, { id: 'older-versions', path: older, format: 'folder' }]
    expect(mods.map((m) => m.format).sort()).toEqual(['fantome', 'fantome', 'folder', 'folder', 'folder', 'folder', 'modpkg'])
    const items: ModItem[][] = []
    for (const mod of mods) {
      if (mod.format === 'folder') items.push(readFolderMod(mod.id, mod.path))
      else if (mod.format === 'fantome') items.push(await readFantome(mod.id, mod.path, league.wads))
      else items.push(readModpkg(mod.id, mod.path))
    }
    // SubChunkTOC overrides are dropped before the merge (docs/overlay.md, "Precedence").
    expected = winners(items, new Set(league.wads.map(subchunkTocHash)))
    // Cross-WAD imports (docs/overlay.md, "Routing"): a winner whose mod declares it in a WAD
    // folder naming a game WAD that does not hold it. The lazy filter never drops them.
    const byName = new Map<string, string[]>()
    for (const key of league.wads) {
      const name = key.split('/').at(-1)!.toLowerCase()
      byName.set(name, [...(byName.get(name) ?? []), key])
    }
    crossImports = new Set()
    winnerMod = new Map()
    for (const [hash, item] of expected) {
      const own = items.find((list) => list.includes(item))!
      winnerMod.set(hash, mods[items.indexOf(own)].id)
      for (const other of own) {
        const named = other.hash === hash && other.key[0] !== Infinity ? byName.get(other.key[1]) : undefined
        if (named?.length === 1 && !(holders.get(hash) ?? []).includes(named[0])) crossImports.add(hash)
      }
    }
    overlayDir = join(work, 'build', 'overlay')
    result = buildOverlaySync({ gameDir: league.gameDir, overlayDir, stateDir: join(work, 'build', 'state'), mods: mods.map((m) => ({ id: m.id, path: m.path })) })
    views = filesUnder(overlayDir).map((key) => {
      const source = game.get(key)
      if (!source) throw new Error(`overlay file ${key} is no game WAD`)
      return viewOf(source, overlayDir, SLACK)
    })
  })

  /** The game's content of `hash` in WAD `key`. */
  const gameContent = (key: string, hash: bigint): Uint8Array => {
    const g = game.get(key)!
    return decodeEntry(g.wad, g.byHash.get(hash)!, g.records)
  }

  it('writes the WADs holding a changed chunk, nothing else, each a game WAD', () => {
    expect(result.mode).toBe('full')
    const keys = views.map((v) => v.key)
    expect(keys).toEqual([...result.built].sort())
    expect(keys.length).toBeGreaterThan(2)
    for (const key of keys) expect(league.wads).toContain(key)
    // Every WAD written holds at least one override in its tail.
    for (const v of views) expect(v.out.entries.some((e) => inTail(v, e)), v.key).toBe(true)
    let changed = 0
    let added = 0
    for (const [hash, item] of expected) {
      const held = holders.get(hash) ?? []
      for (const key of held) {
        if (same(gameContent(key, hash), item.content)) continue
        changed++
        expect(keys, `${item.origin} changes ${hex64(hash)} of ${key}`).toContain(key)
      }
      if (held.length === 0) {
        added++
        // A chunk no game WAD holds goes to the WAD its folder declares (or the mod's dominant WAD).
        expect(views.some((v) => v.out.entries.some((e) => e.pathHash === hash)), `${item.origin} (${hex64(hash)}) is in no overlay WAD`).toBe(true)
      }
    }
    expect(changed).toBeGreaterThan(10)
    expect(added).toBeGreaterThan(0)
  })

  it('writes the magic "RW", version 3.4, the source signature and the computed header checksum', () => {
    for (const v of views) {
      expect([...v.out.bytes.subarray(0, 4)]).toEqual([0x52, 0x57, 3, 4])
      expect([v.out.major, v.out.minor]).toEqual([3, 4])
      expect(v.out.signature.length).toBe(256)
      expect(same(v.out.signature, v.src.wad.signature), `${v.key} signature`).toBe(true)
      expect(hex64(v.out.checksum), `${v.key} header checksum`).toBe(hex64(headerChecksum(v.out.entries)))
    }
  })

  it('keeps a TOC sorted by path hash without duplicates, holding every source entry, with zeroed reserved slots', () => {
    for (const v of views) {
      const hashes = v.out.entries.map((e) => e.pathHash)
      for (let i = 1; i < hashes.length; i++) expect(hashes[i - 1] < hashes[i], `${v.key} slot ${i}`).toBe(true)
      const present = new Set(hashes)
      for (const hash of v.src.byHash.keys()) expect(present.has(hash), `${v.key} lost ${hex64(hash)}`).toBe(true)
      const added = hashes.filter((h) => !v.src.byHash.has(h))
      for (const hash of added) expect(expected.has(hash), `${v.key} gained ${hex64(hash)} from no mod`).toBe(true)
      expect(v.out.entries.length).toBe(v.src.byHash.size + added.length)
      // Slots past the entry count up to D are zero (docs/overlay.md, "Output layout", capacity).
      const reserved = v.out.bytes.subarray(HEADER_LEN + ENTRY_LEN * v.out.entries.length, v.d)
      expect(reserved.length).toBe(ENTRY_LEN * (v.capacity - v.out.entries.length))
      expect(reserved.every((b) => b === 0)).toBe(true)
    }
  })

  it('lays data out as documented: the source region verbatim at D, the tail back to back from T to the end', () => {
    let tails = 0
    for (const v of views) {
      const len = v.out.bytes.length
      expect(same(v.out.bytes.subarray(v.d, v.t), v.src.wad.bytes.subarray(v.s0, v.s1)), `${v.key} region`).toBe(true)
      // Distinct data ranges lie after the reserved TOC, inside the file, and never overlap.
      const ranges = [...new Map(v.out.entries.filter((e) => e.packedSize > 0).map((e) => [`${e.offset}:${e.packedSize}`, e])).values()]
      ranges.sort((a, b) => a.offset - b.offset)
      for (const [i, e] of ranges.entries()) {
        expect(e.offset).toBeGreaterThanOrEqual(v.d)
        expect(e.offset + e.packedSize).toBeLessThanOrEqual(len)
        if (i > 0) expect(e.offset, `${v.key} ${hex64(e.pathHash)} overlaps`).toBeGreaterThanOrEqual(ranges[i - 1].offset + ranges[i - 1].packedSize)
      }
      // Tail ranges in ascending path hash order, each distinct packed form once, no gap, ending the file.
      let at = v.t
      const seen = new Map<number, TocEntry>()
      for (const e of v.out.entries.filter((x) => inTail(v, x))) {
        const shared = seen.get(e.offset)
        if (shared) {
          expect(e.packedSize).toBe(shared.packedSize)
          continue
        }
        expect(e.offset, `${v.key} ${hex64(e.pathHash)} tail offset`).toBe(at)
        seen.set(e.offset, e)
        at += e.packedSize
      }
      expect(len, `${v.key} ends with its tail`).toBe(at)
      tails += seen.size
      const forms = [...seen.values()].map((e) => Buffer.from(storedBytes(v.out, e)).toString('base64'))
      expect(new Set(forms).size, `${v.key}: equal packed bytes share one tail range`).toBe(forms.length)
    }
    expect(tails).toBeGreaterThan(10)
  })

  it('stores XXH3_64 of the packed bytes as every entry checksum', () => {
    for (const v of views) for (const e of v.out.entries) expect(hex64(e.checksum), `${v.key} ${hex64(e.pathHash)}`).toBe(hex64(entryChecksum(storedBytes(v.out, e))))
  })

  it('passes every entry no mod changed through with the source fields and bytes, moved by D − s0', () => {
    let passed = 0
    let kept = 0
    let recomputed = 0
    let undeduplicated = 0
    for (const v of views) {
      const delta = v.d - v.s0
      for (const e of v.out.entries) {
        const s = v.src.byHash.get(e.pathHash)
        const item = expected.get(e.pathHash)
        const overridden = item !== undefined && (s === undefined || crossImports.has(e.pathHash) || !same(decodeEntry(v.src.wad, s, v.src.records), item.content))
        if (overridden) continue
        expect(s, `${v.key} ${hex64(e.pathHash)} comes from neither the source nor a mod`).toBeDefined()
        expect(inTail(v, e), `${v.key} ${hex64(e.pathHash)} is not the source's`).toBe(false)
        const src = s!
        expect([e.type, e.size, e.packedSize, e.subchunkCount, e.subchunkIndex, e.duplicate]).toEqual([src.type, src.size, src.packedSize, src.subchunkCount, src.subchunkIndex, false])
        const inRegion = src.offset >= v.s0 && src.offset <= v.s1
        expect(e.offset).toBe(src.packedSize > 0 || inRegion ? src.offset + delta : v.d)
        expect(same(storedBytes(v.out, e), storedBytes(v.src.wad, src))).toBe(true)
        // A 3.0 source's checksum field is a SHA-256 prefix; the overlay recomputes it.
        expect(e.checksum).toBe(v.src.wad.minor === 0 ? entryChecksum(storedBytes(v.src.wad, src)) : src.checksum)
        passed++
        if (item) kept++
        if (v.src.wad.minor === 0) recomputed++
        if (src.duplicate) undeduplicated++
      }
    }
    expect(passed).toBeGreaterThan(100)
    // Winners equal to the game chunk keep the game original (docs/overlay.md, "Precedence", lazy filter).
    expect(kept).toBeGreaterThan(0)
    // 3.0 sources get XXH3 checksums, 3.1-3.3 sources lose the duplicate flag (3.4 has none).
    expect(recomputed).toBeGreaterThan(10)
    expect(undeduplicated).toBeGreaterThan(2)
  })

  it('writes a cross-WAD import into every holder too, with the same packed bytes everywhere', () => {
    const inOverlay = new Map(views.map((v) => [v.key, v]))
    let shared = 0
    for (const v of views) {
      for (const e of v.out.entries.filter((x) => inTail(v, x))) {
        const forms = new Set<string>()
        for (const key of [...(holders.get(e.pathHash) ?? []), v.key]) {
          const other = inOverlay.get(key)
          expect(other, `${key} holds the overridden ${hex64(e.pathHash)} but was not rewritten`).toBeDefined()
          const entry = other!.out.entries.find((x) => x.pathHash === e.pathHash)!
          expect(inTail(other!, entry)).toBe(true)
          forms.add(`${entry.type} ${entry.size} ${Buffer.from(storedBytes(other!.out, entry)).toString('base64')}`)
        }
        expect(forms.size, `${hex64(e.pathHash)}: one packed form in every WAD`).toBe(1)
        if ((holders.get(e.pathHash) ?? []).length > 1) shared++
      }
    }
    expect(shared).toBeGreaterThan(0)
    const equalToGame = [...crossImports].filter((hash) => (holders.get(hash) ?? []).some((key) => same(gameContent(key, hash), expected.get(hash)!.content)))
    expect(equalToGame.length).toBeGreaterThan(0)
  })

  it('stores each changed chunk in the tail as type 0 or 3, subchunk count and index 0, decoding to the winning mod bytes', () => {
    const seen = { raw: 0, zstd: 0, copiedPacked: 0, oneFrame: 0, wwise: 0, olderSource: 0 }
    const subchunked = new Set<bigint>()
    for (const v of views) {
      for (const e of v.out.entries) {
        if (!inTail(v, e)) continue
        const item = expected.get(e.pathHash)
        expect(item, `${v.key} ${hex64(e.pathHash)} comes from no mod`).toBeDefined()
        const want = item!.content
        expect([0, 3]).toContain(e.type)
        expect([e.subchunkCount, e.subchunkIndex, e.duplicate]).toEqual([0, 0, false])
        expect(e.size, item!.origin).toBe(want.length)
        const got = decodeEntry(v.out, e)
        expect(same(got, want), `${v.key} ${hex64(e.pathHash)} = ${item!.origin}`).toBe(true)
        if (item!.packed) {
          // Packed mod chunks are copied without re-encoding.
          expect(e.type).toBe(item!.packed.type)
          expect(same(storedBytes(v.out, e), item!.packed.bytes), `${item!.origin} copied packed`).toBe(true)
          seen.copiedPacked++
        } else {
          // Wwise content is stored raw, everything else as one zstd frame carrying its content size.
          expect(e.type, item!.origin).toBe(isWwise(want) ? 0 : 3)
          if (e.type === 3) {
            expect(zstdFrame(storedBytes(v.out, e), v.out.file, e.offset)).toEqual({ contentSize: want.length, length: e.packedSize })
            seen.oneFrame++
          }
        }
        // A replaced subchunked entry becomes an ordinary one and is reported.
        if (v.src.byHash.get(e.pathHash)?.type === 4) subchunked.add(e.pathHash)
        if (v.src.wad.minor < 4) seen.olderSource++
        if (isWwise(want)) seen.wwise++
        if (e.type === 0) seen.raw++
        else seen.zstd++
      }
    }
    for (const [what, n] of Object.entries(seen)) expect(n, what).toBeGreaterThan(0)
    // One warning per winning mod, naming its first such chunk and counting the others.
    expect(subchunked.size).toBeGreaterThan(1)
    const warned = result.warnings.filter((w) => w.code === 'SUBCHUNKED_OVERRIDE')
    expect(warned.map((w) => w.modId).sort()).toEqual([...new Set([...subchunked].map((hash) => winnerMod.get(hash)))].sort())
    let counted = 0
    for (const w of warned) {
      expect(subchunked.has(BigInt(`0x${w.pathHash}`))).toBe(true)
      expect(winnerMod.get(BigInt(`0x${w.pathHash}`))).toBe(w.modId)
      counted += 1 + Number(/ and (\d+) more /.exec(w.message)?.[1] ?? 0)
    }
    expect(counted).toBe(subchunked.size)
  })

  it('gives every chunk of every touched WAD its winning content (overridden or kept)', () => {
    for (const v of views) {
      for (const e of v.out.entries) {
        const item = expected.get(e.pathHash)
        if (item) expect(same(decodeEntry(v.out, e, v.records), item.content), `${v.key} ${hex64(e.pathHash)}`).toBe(true)
      }
    }
  })

  it('reads every overlay and game WAD as modforge readWad does', () => {
    for (const v of views) expect(asListing(v.out)).toEqual(readWadSync(join(overlayDir, v.key)))
    for (const g of game.values()) expect(asListing(g.wad)).toEqual(readWadSync(join(league.gameDir, g.key)))
    expect(new Set([...game.values()].map((g) => g.wad.minor))).toEqual(new Set([0, 1, 2, 3, 4]))
  })

  it('decodes every chunk type as modforge extractWad does (0, 1, 3 and 4 through the SubChunkTOC)', () => {
    const odd = parseWad(readFileSync(league.legacy.find((p) => p.endsWith('odd-types.wad.client'))!), 'odd-types')
    const subject: { wad: ParsedWad; path: string; records?: SubchunkRecord[] }[] = [{ wad: odd, path: league.legacy.find((p) => p.endsWith('odd-types.wad.client'))! }]
    for (const g of game.values()) if (g.wad.entries.some((e) => e.type === 4)) subject.push({ wad: g.wad, path: join(league.gameDir, g.key), records: g.records })
    for (const v of views) subject.push({ wad: v.out, path: join(overlayDir, v.key), records: v.records })
    const types = new Set<number>()
    for (const [i, s] of subject.entries()) {
      const out = join(work, 'extract', String(i))
      extractWadSync(s.path, out, { verify: true })
      for (const e of s.wad.entries) {
        const file = join(out, `${hex64(e.pathHash)}.bin`)
        if (e.type === 2 || e.type > 4) {
          expect(existsSync(file)).toBe(false)
          expect(() => decodeEntry(s.wad, e, s.records)).toThrow(WadFormatError)
          continue
        }
        expect(same(decodeEntry(s.wad, e, s.records), readFileSync(file)), `${s.path} ${hex64(e.pathHash)}`).toBe(true)
        types.add(e.type)
      }
    }
    expect([...types].sort()).toEqual([0, 1, 3, 4])
  })
})

describe('the independent reader', () => {
  /** The source WAD S of the writer vectors (docs/overlay.md, "Hashing and names", "State file"): 3.4, signature 00..ff, one entry `data/a.bin` = "hello" (type 0) at 304. */
  function sourceS(): Buffer {
    const s = Buffer.alloc(309)
    s.write('RW', 0, 'latin1')
    s[2] = 3
    s[3] = 4
    for (let i = 0; i < 256; i++) s[4 + i] = i
    s.writeUInt32LE(1, 268)
    s.writeBigUInt64LE(pathHash('data/a.bin'), 272)
    s.writeUInt32LE(304, 280)
    s.writeUInt32LE(5, 284)
    s.writeUInt32LE(5, 288)
    s.writeBigUInt64LE(entryChecksum(Buffer.from('hello')), 296)
    s.write('hello', 304, 'latin1')
    s.writeBigUInt64LE(headerChecksum(parseWad(s, 'S').entries), 260)
    return s
  }

  it('computes the vectors of docs/overlay.md', () => {
    expect(hex64(headerChecksum([]))).toBe('89538eb8a2a63061')
    expect(hex64(pathHash('assets/characters/aatrox/skins/base/aatrox.dds'))).toBe('f716de620eda77c1')
    expect(hex64(pathHash('data/a.bin'))).toBe('b15dea5ecb650b0b')
    expect(hex64(pathHash('assets/sounds/x.bnk'))).toBe('152d887203df4615')
    expect(hex64(subchunkTocHash('DATA/FINAL/Champions/Aatrox.wad.client'))).toBe('2985839a5e9401ea')
    expect(hex64(subchunkTocHash('DATA\\FINAL\\Champions\\Aatrox.wad.client'))).toBe('2985839a5e9401ea')
    expect(hex64(entryChecksum(Buffer.from('hello')))).toBe('9555e8555c62dcfd')
    expect(hex64(chunkHash('data/foo/0123456789abcdef.bin'))).toBe('0123456789abcdef')
    expect(hex64(chunkHash('a.ltk.bin'))).toBe('d24ec4f1a98c6e5b')
    const s = sourceS()
    expect(hex64(s.readBigUInt64LE(260))).toBe('073d1d007fae68f5')
    expect(createHash('sha256').update(s).digest('hex')).toBe('b9bd6f9ccc35ff04bc93969e3d384d8c48b132fac3627cd2c81b4312a5e7f78f')
  })

  describe('on the format vectors built by modforge (slack 2048)', () => {
    const B = Buffer.from('BKHD\x04\x00\x00\x00wxyz', 'latin1')
    let a: ParsedWad
    let b: ParsedWad

    /** Builds S with a folder mod adding `rel` = B to it; returns the parsed overlay WAD. */
    function build(name: string, rel: string): ParsedWad {
      const root = join(work, 'vectors', name)
      const key = 'DATA/FINAL/Champions/Aatrox.wad.client'
      mkdirSync(join(root, 'Game', 'DATA', 'FINAL', 'Champions'), { recursive: true })
      writeFileSync(join(root, 'Game', key), sourceS())
      const file = join(root, 'mod', 'content', 'base', 'Aatrox.wad.client', ...rel.split('/'))
      mkdirSync(join(file, '..'), { recursive: true })
      writeFileSync(file, B)
      writeFileSync(join(root, 'mod', 'mod.config.json'), JSON.stringify({ name, version: '1.0.0', layers: [{ name: 'base', priority: 0 }] }))
      const r = buildOverlaySync({ gameDir: join(root, 'Game'), overlayDir: join(root, 'overlay'), stateDir: join(root, 'state'), mods: [{ id: name, path: join(root, 'mod') }] })
      expect(r.built).toEqual([key])
      return parseWad(readFileSync(join(root, 'overlay', key)), `${name} overlay`)
    }

    beforeAll(() => {
      a = build('vector-a', 'assets/sounds/x.bnk')
      b = build('vector-b', 'data/a.bin')
    })

    it('A: S plus a new Wwise chunk, stored raw in the tail after the copied region', () => {
      expect(hex64(a.checksum)).toBe('67414c4984bf70ca')
      expect(hex64(headerChecksum(a.entries))).toBe('67414c4984bf70ca')
      // Capacity 1 + 2048 × (⌊1 / 2048⌋ + 1) = 2049: D = 272 + 32 × 2049 = 65840, T = D + 5.
      expect(a.entries.map((e) => [hex64(e.pathHash), e.offset, e.packedSize, e.size, e.type])).toEqual([
        ['152d887203df4615', 65845, 12, 12, 0],
        ['b15dea5ecb650b0b', 65840, 5, 5, 0],
      ])
      expect(a.bytes.length).toBe(65857)
      expect(Buffer.from(storedBytes(a, a.entries[0])).equals(B)).toBe(true)
      expect(Buffer.from(decodeEntry(a, a.entries[1])).toString('latin1')).toBe('hello')
      expect([...a.signature]).toEqual([...Array(256).keys()])
    })

    it("B': S with data/a.bin replaced, the original left unreferenced in the region", () => {
      expect(hex64(b.checksum)).toBe('10e733bf530ceead')
      expect(b.entries.map((e) => [hex64(e.pathHash), e.offset, e.packedSize, e.type, hex64(e.checksum)])).toEqual([
        ['b15dea5ecb650b0b', 65845, 12, 0, '1596eaf52536a7a4'],
      ])
      expect(Buffer.from(b.bytes.subarray(65840, 65845)).toString('latin1')).toBe('hello')
      expect(b.bytes.length).toBe(65857)
    })

    it('rejects every truncation of an overlay WAD with an error naming the file and an offset inside it', () => {
      const wrong: string[] = []
      for (let cut = 0; cut < a.bytes.length; cut++) {
        try {
          parseWad(a.bytes.subarray(0, cut), 'cut.wad.client')
          wrong.push(`cut at ${cut}: parsed`)
        } catch (err) {
          const ok = err instanceof WadFormatError && err.offset <= cut && /^cut\.wad\.client: at byte \d+: expected /.test(err.message)
          if (!ok) wrong.push(`cut at ${cut}: ${String(err)}`)
        }
      }
      expect(wrong).toEqual([])
      expect(() => parseWad(a.bytes.subarray(0, 300), 'cut')).toThrow('cut: at byte 272: expected a TOC of 2 entries (64 bytes), the file ends at 300')
      expect(() => parseWad(a.bytes.subarray(0, 65850), 'cut')).toThrow('cut: at byte 280: expected the 12 packed bytes of entry 0 (152d887203df4615) at 65845 inside the file, which ends at 65850')
    })

    it('rejects a bad magic, another version, a lying count and lying offsets and sizes', () => {
      const bad = Buffer.from(a.bytes)
      bad[0] = 0x50
      expect(() => parseWad(bad, 'bad')).toThrow('bad: at byte 0: expected the magic "RW" (52 57), found 50 57')
      const v2 = Buffer.from(a.bytes)
      v2[2] = 2
      expect(() => parseWad(v2, 'v2')).toThrow('v2: at byte 2: expected major version 3, found 2')
      const v35 = Buffer.from(a.bytes)
      v35[3] = 5
      expect(() => parseWad(v35, 'v35')).toThrow('v35: at byte 3: expected minor version 0-4, found 5')
      const count = Buffer.from(a.bytes)
      count.writeUInt32LE(0xffffffff, 268)
      expect(() => parseWad(count, 'count')).toThrow(`count: at byte 272: expected a TOC of 4294967295 entries (${0xffffffff * 32} bytes)`)
      const offset = Buffer.from(a.bytes)
      offset.writeUInt32LE(a.bytes.length - 4, 280)
      expect(() => parseWad(offset, 'offset')).toThrow(`offset: at byte 280: expected the 12 packed bytes of entry 0 (152d887203df4615) at ${a.bytes.length - 4} inside`)
      const legacy = readFileSync(league.legacy.find((p) => p.endsWith('v2.1.wad.client'))!)
      expect(() => parseWad(legacy, 'v2.1')).toThrow('v2.1: at byte 2: expected major version 3, found 2')
      // A raw entry whose size disagrees with its packed size, and a zstd entry that decodes to another size.
      const raw = parseWad(Buffer.from(a.bytes), 'raw')
      expect(() => decodeEntry(raw, { ...raw.entries[0], size: 13 })).toThrow('expected a raw chunk of 13 bytes, found 12 packed bytes')
      const g = loadGameWad(league.gameDir, league.wads.find((k) => loadGameWad(league.gameDir, k).wad.entries.some((e) => e.type === 3))!)
      const z = g.wad.entries.find((e) => e.type === 3)!
      expect(decodeEntry(g.wad, z).length).toBe(z.size)
      const frame = storedBytes(g.wad, z)
      expect(zstdFrame(frame, 'z', 0).length).toBe(z.packedSize)
      expect(() => zstdFrame(frame.subarray(0, frame.length - 1), 'z', 0)).toThrow(WadFormatError)
      expect(() => zstdFrame(Buffer.from('hello world'), 'z', 0)).toThrow('z: at byte 0: expected the zstd magic 28 b5 2f fd')
      expect(() => decodeEntry(g.wad, { ...z, size: z.size - 1 })).toThrow('it decodes to more')
      expect(() => decodeEntry(g.wad, { ...z, size: z.size + 1 })).toThrow(`expected zstd data of ${z.size + 1} bytes, it decodes to ${z.size}`)
      expect(() => decodeEntry(g.wad, { ...z, packedSize: z.packedSize - 1 })).toThrow(WadFormatError)
      expect(() => decodeEntry(g.wad, { ...z, size: 2 ** 31 })).toThrow('expected a size of at most 1073741824')
    })
  })
})
