import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { createServer, get, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'

import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { discover, discoverSync, generateInstall, IconCache, ResourceIndex, type GeneratedInstall, type ProgressEvent } from 'modforge'
import { ROOT, removeTree, tempDir } from './helpers'

const execFileAsync = promisify(execFile)
const FIXTURES = join(ROOT, '..', 'shared', 'fixtures', 'icons')

let work: string
let install: GeneratedInstall
beforeAll(async () => {
  work = tempDir('icons')
  install = await generateInstall(join(work, 'install'), { seed: 7 })
})
afterAll(() => removeTree(work))

/** A fresh folder for one test. */
function dir(name: string): string {
  const path = join(work, name)
  mkdirSync(path, { recursive: true })
  return path
}

function discoverSpec() {
  return { gameDir: install.gameDir, userDir: install.userDir, module: install.module, campaign: install.campaign, workshopDirs: [install.workshopRoot] }
}

/** Width, height and RGBA pixels of encoded image bytes, decoded by libvips (sharp). */
async function decodeImage(bytes: Buffer): Promise<{ width: number; height: number; pixels: Buffer }> {
  const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true })
  return { width: info.width, height: info.height, pixels: data }
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

describe('discover', () => {
  it('lists the generated install in the engine precedence and reports the missing HAK', async () => {
    const found = await discover(install.gameDir, install.userDir, { module: install.module, campaign: install.campaign, workshopDirs: [install.workshopRoot] })
    const labels = found.found.map((f) => f.label)
    const presentHaks = install.haks.filter((hak) => !found.missing.some((m) => m.what === `hak ${hak}`))
    expect(presentHaks.length).toBe(install.haks.length - 1)
    // D2: HAKs in list order, user override, Workshop items, install override, campaign, module, Data zips, UI.
    expect(labels.slice(0, presentHaks.length)).toEqual(presentHaks.map((hak) => `hak/${hak}`))
    const order = ['override (user)', 'workshop/', 'override (install)', 'campaign/', 'module/', 'data/', 'ui/upscaled', 'ui/default']
    const firstAt = order.map((prefix) => labels.findIndex((label) => label.startsWith(prefix)))
    expect(firstAt.every((at) => at >= 0)).toBe(true)
    expect([...firstAt].sort((a, b) => a - b)).toEqual(firstAt)
    expect(labels.at(-1)).toBe('ui/default')
    const missingHak = found.missing.find((m) => m.what.startsWith('hak '))
    expect(missingHak?.searched).toHaveLength(2)
    expect(found.module?.haks).toEqual(install.haks)
    expect(found.sources.map((s) => s.label)).toEqual(labels)
    expect(discoverSync(install.gameDir, install.userDir, { module: install.module, campaign: install.campaign, workshopDirs: [install.workshopRoot] })).toEqual(found)
  })

  it('rejects a game folder that is not a folder with ERR_MODFORGE_INVALID_ARG', async () => {
    await expect(discover(join(work, 'nowhere'), work)).rejects.toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
    await expect(discover(install.gameDir, install.userDir, { modul: 'x' } as never)).rejects.toMatchObject({
      code: 'ERR_MODFORGE_INVALID_ARG',
      message: expect.stringContaining("did you mean 'module'?"),
    })
  })
})

describe('ResourceIndex', () => {
  it('resolves every generated image to its expected winner and lists every place in precedence order', async () => {
    const found = await discover(install.gameDir, install.userDir, { module: install.module, campaign: install.campaign, workshopDirs: [install.workshopRoot] })
    const events: ProgressEvent[] = []
    const index = await ResourceIndex.open(found.sources, { onProgress: (event) => events.push(event) })
    expect(events.at(-1)).toMatchObject({ stage: 'index', done: found.sources.length, total: found.sources.length })
    let shadowed = 0
    for (const expected of [...install.icons, ...install.otherImages]) {
      const winner = index.resolve(expected.name)
      expect(winner, expected.name).toMatchObject({ source: expected.source, type: expected.type, winner: true })
      const places = index.whereIs(expected.name)
      expect(places).toHaveLength(expected.places)
      expect(places[0]).toMatchObject({ source: expected.source, type: expected.type, winner: true })
      if (expected.places > 1) shadowed += 1
    }
    expect(shadowed).toBeGreaterThan(20)
    const conflicts = index.conflicts()
    expect(conflicts.length).toBeGreaterThan(0)
    for (const conflict of conflicts) {
      expect(conflict.locations.length).toBeGreaterThan(1)
      expect(conflict.locations[0].winner).toBe(true)
      expect(conflict.locations.slice(1).every((location) => !location.winner)).toBe(true)
    }
    expect(index.stats()).toMatchObject({ sources: found.sources.length, sourceErrors: 0, conflicts: conflicts.length })
    expect(ResourceIndex.openSync(found.sources).conflicts({ type: 'tga' })).toEqual(index.conflicts({ type: 3 }))
    index.close()
    expect(() => index.whereIs('x')).toThrow(expect.objectContaining({ code: 'ERR_MODFORGE_INVALID_ARG', message: 'the resource index is closed' }))
  })

  it('reads the real archives: a V1.0 HAK with a description, a V1.1 HAK and MOD, an NWN1 MOD with padded keys', async () => {
    const index = await ResourceIndex.open([
      { path: join(FIXTURES, 'hak_with_description.hak') },
      { path: join(FIXTURES, 'test.hak'), label: 'test' },
      { path: join(FIXTURES, 'module.mod') },
      { path: join(FIXTURES, 'DockerDemo.mod'), label: 'docker' },
    ])
    expect(index.sources.map((s) => [s.kind, s.entries, s.error])).toEqual([
      ['erf', 1, null],
      ['erf', 2, null],
      ['erf', 8, null],
      ['erf', 14, null],
    ])
    const [build] = index.whereIs('build')
    expect(build).toMatchObject({ entry: 'build.txt', offset: 255, size: 70, type: 10, ext: 'txt', winner: true })
    const text = await index.read('build', 'txt')
    expect(text?.subarray(0, 8).toString('latin1')).toBe('5dba8eca')
    expect(text?.subarray(-9).toString('latin1')).toBe('EDT 2021\n')
    expect(index.whereIs('eye')).toEqual([expect.objectContaining({ source: 'test', type: 3, ext: 'tga', winner: true })])
    const eye = index.readSync('eye', 3)
    // A TGA header: image type 10 (RLE true colour), 256x256, 16 bits per pixel.
    expect([eye?.[2], eye?.readUInt16LE(12), eye?.readUInt16LE(14), eye?.[16]]).toEqual([10, 256, 256, 16])
    expect(index.stats().resources).toBe(1 + 2 + 8 + 14)
    expect(index.resolve('nothing_here')).toBeNull()
  })

  it('reports a damaged archive as ERR_MODFORGE_FORMAT naming the file and the offset, and keeps the other sources', async () => {
    const d = dir('damaged')
    const hak = readFileSync(join(FIXTURES, 'test.hak'))
    writeFileSync(join(d, 'short.hak'), hak.subarray(0, 100))
    const lying = Buffer.from(hak)
    lying.writeUInt32LE(0x7fff_ffff, 16) // EntryCount far beyond the file
    writeFileSync(join(d, 'lying.hak'), lying)
    const index = await ResourceIndex.open([{ path: join(d, 'short.hak') }, { path: join(d, 'lying.hak') }, { path: join(FIXTURES, 'test.hak') }])
    const [short, liar, good] = index.sources
    expect(short.error).toMatchObject({ code: 'ERR_MODFORGE_FORMAT', message: expect.stringMatching(/short\.hak.*offset 100|short\.hak.*100/) })
    expect(liar.error?.code).toBe('ERR_MODFORGE_FORMAT')
    expect(liar.error?.message).toContain('lying.hak')
    expect(good).toMatchObject({ entries: 2, error: null })
    expect(index.resolve('eye')?.source).toBe(good.label)
  })

  it('checks its arguments', async () => {
    await expect(ResourceIndex.open([{ path: 'x', icons: 'all' as never }])).rejects.toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
    expect(() => ResourceIndex.openSync([{ pth: 'x' } as never])).toThrow(expect.objectContaining({ message: expect.stringContaining("did you mean 'path'?") }))
    expect(() => ResourceIndex.openSync([], { signal: new AbortController().signal } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_MODFORGE_INVALID_ARG', message: expect.stringContaining('ResourceIndex.open()') }),
    )
  })
})

describe('IconCache', () => {
  it('builds the generated install cold, serves every icon from its expected source, and starts warm in a fresh process', async () => {
    const cacheDir = dir('cache-install')
    const events: ProgressEvent[] = []
    const cache = await IconCache.open({ discover: discoverSpec(), cacheDir, validate: 'blocking', onProgress: (event) => events.push(event) })
    const stages = [...new Set(events.map((event) => event.stage))]
    expect(stages).toEqual(expect.arrayContaining(['index', 'encode']))
    const encodeEnd = events.filter((event) => event.stage === 'encode').at(-1)
    expect(encodeEnd?.done).toBe(encodeEnd?.total)
    const report = cache.stats().lastBuild
    expect(report).toMatchObject({ icons: install.icons.length, encoded: install.icons.length, reused: 0, failed: [], persisted: true })
    expect(cache.names()).toEqual(install.icons.map((icon) => icon.name).sort())
    const digests: Record<string, string> = {}
    for (const expected of install.icons) {
      const icon = cache.getIcon(expected.name)
      expect(icon, expected.name).toMatchObject({ mime: 'image/webp', source: expected.source, width: expected.width, height: expected.height })
      digests[expected.name] = sha256(icon!.data)
    }
    // The bytes are WebP that an independent decoder reads at the reported size.
    for (const expected of install.icons.filter((_, i) => i % 25 === 0)) {
      const icon = cache.getIcon(expected.name)!
      expect(icon.data.subarray(0, 4).toString('latin1') + icon.data.subarray(8, 12).toString('latin1')).toBe('RIFFWEBP')
      const decoded = await decodeImage(icon.data)
      expect([decoded.width, decoded.height]).toEqual([expected.width, expected.height])
    }
    // Names are case-insensitive and may carry an extension; copies and async forms agree.
    const sample = install.icons[3]
    expect(sha256(cache.getIcon(sample.name.toUpperCase() + '.TGA')!.data)).toBe(digests[sample.name])
    expect((await cache.getIconAsync(sample.name))?.data.equals(cache.getIcon(sample.name)!.data)).toBe(true)
    expect(cache.getIcons([sample.name, 'no_such_icon']).map((icon) => icon?.source ?? null)).toEqual([sample.source, null])
    expect(cache.has(sample.name)).toBe(true)
    expect(cache.has('no_such_icon')).toBe(false)
    expect(cache.whereIs(sample.name)[0]).toMatchObject({ source: sample.source, winner: true })
    const url = cache.iconUrl(sample.name)
    expect(url).toMatch(new RegExp(`^/icons/${sample.name}\\.webp\\?v=[0-9a-f]{8}$`))
    const stats = cache.stats()
    expect(stats).toMatchObject({ generation: report!.generation, icons: install.icons.length, mapped: true, memoryOnly: false, validation: 'fresh' })
    cache.close()

    // Warm start: a fresh process opens the file without building and serves the same bytes.
    const script = `
      const { createHash } = require('node:crypto')
      const { IconCache } = require(${JSON.stringify(join(ROOT, 'dist', 'index.js'))})
      const cache = IconCache.openSync({ discover: ${JSON.stringify(discoverSpec())}, cacheDir: ${JSON.stringify(cacheDir)}, validate: 'blocking' })
      const names = ${JSON.stringify(install.icons.map((icon) => icon.name))}
      const digests = Object.fromEntries(names.map((name) => [name, createHash('sha256').update(cache.getIcon(name).data).digest('hex')]))
      const stats = cache.stats()
      process.stdout.write(JSON.stringify({ digests, lastBuild: stats.lastBuild, validation: stats.validation, generation: stats.generation, mapped: stats.mapped }))
    `
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' })
    expect(child.stderr).toBe('')
    const warm = JSON.parse(child.stdout)
    expect(warm).toMatchObject({ lastBuild: null, validation: 'validated', generation: report!.generation, mapped: true })
    expect(warm.digests).toEqual(digests)

    // Default (background) validation starts by itself once the opening code has returned, without idle().
    const background = `
      const { IconCache } = require(${JSON.stringify(join(ROOT, 'dist', 'index.js'))})
      const cache = IconCache.openSync({ discover: ${JSON.stringify(discoverSpec())}, cacheDir: ${JSON.stringify(cacheDir)} })
      const atOpen = cache.stats().validation
      const served = cache.getIcon(${JSON.stringify(install.icons[0].name)}) !== null
      const started = Date.now()
      const poll = () => {
        const validation = cache.stats().validation
        if (validation === 'pending' && Date.now() - started < 30000) return setTimeout(poll, 5)
        process.stdout.write(JSON.stringify({ atOpen, served, validation }))
        cache.close()
      }
      setTimeout(poll, 0)
    `
    const later = spawnSync(process.execPath, ['-e', background], { encoding: 'utf8' })
    expect(later.stderr).toBe('')
    expect(JSON.parse(later.stdout)).toEqual({ atOpen: 'pending', served: true, validation: 'validated' })
  })

  it('takes its sources from the discovery memo in a fresh process until a place the discovery read changes', async () => {
    const d = dir('memo')
    const own = await generateInstall(join(d, 'install'), { seed: 8 })
    // Every time set well in the past: the stamps are settled (docs/icons.md, "Discovery memo").
    const settle = (path: string) => {
      if (statSync(path).isDirectory()) for (const name of readdirSync(path)) settle(join(path, name))
      utimesSync(path, 1_600_000_000, 1_600_000_000)
    }
    settle(join(d, 'install'))
    const spec = { gameDir: own.gameDir, userDir: own.userDir, module: own.module, campaign: own.campaign, workshopDirs: [own.workshopRoot] }
    const cacheDir = join(d, 'cache')
    const built = await IconCache.open({ discover: spec, cacheDir, validate: 'blocking' })
    expect(built.stats().discoveryReused).toBe(false)
    built.close()
    const script = `
      const { IconCache } = require(${JSON.stringify(join(ROOT, 'dist', 'index.js'))})
      const cache = IconCache.openSync({ discover: ${JSON.stringify(spec)}, cacheDir: ${JSON.stringify(cacheDir)}, validate: 'none' })
      process.stdout.write(JSON.stringify({ reused: cache.stats().discoveryReused, sources: cache.discovery.sources.map((s) => s.path), icon: cache.getIcon(${JSON.stringify(own.icons[0].name)}).source }))
    `
    const warm = () => {
      const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' })
      expect(child.stderr).toBe('')
      return JSON.parse(child.stdout) as { reused: boolean; sources: string[]; icon: string }
    }
    const discovered = () => discoverSync(own.gameDir, own.userDir, { module: own.module, campaign: own.campaign, workshopDirs: [own.workshopRoot] }).sources.map((s) => s.path)
    const before = discovered()
    expect(warm()).toEqual({ reused: true, sources: before, icon: own.icons[0].source })
    copyFileSync(join(own.gameDir, 'Data', '2da.zip'), join(own.gameDir, 'Data', '2da_v300.zip'))
    // A new patch zip in Data. An open that validation follows takes the memo as stored, and
    // validation discovers again, then rebuilds (the sources differ; no icon does).
    const validated = IconCache.openSync({ discover: spec, cacheDir })
    const opened = validated.stats()
    expect(opened.discoveryReused).toBe(true)
    expect(validated.discovery!.sources.map((s) => s.path)).toEqual(before)
    await validated.idle()
    expect(validated.discovery!.sources.map((s) => s.path)).toEqual(discovered())
    expect(validated.stats().validation).toBe('rebuilt')
    expect(validated.stats().generation).toBeGreaterThan(opened.generation)
    validated.close()
    // Without validation the memo no longer holds, and the open sees the zip at once.
    const after = warm()
    expect(after.reused).toBe(false)
    expect(after.sources).toEqual(discovered())
    expect(after.sources).toContain(join(own.gameDir, 'Data', '2da_v300.zip'))
  })

  it('rebuilds incrementally after a source changes and tells onUpdate', async () => {
    const d = dir('incremental')
    const icons = join(d, 'icons')
    mkdirSync(icons)
    for (const name of ['black.tga', 'c_drgshad_wing.tga', 'qfpp_001_L.tga', 'dxtRBG.dds']) copyFileSync(join(FIXTURES, name), join(icons, name))
    const updates: unknown[] = []
    const cache = await IconCache.open({ sources: [{ path: d, icons: true }], cacheDir: join(d, 'cache'), onUpdate: (event) => updates.push(event) })
    await cache.idle()
    expect(cache.names()).toEqual(['black', 'c_drgshad_wing', 'dxtrbg', 'qfpp_001_l'])
    const before = cache.getIcon('black')!
    // The second lookup is served from the remembered entry; both count as served.
    expect(cache.getIcon('black')!.data.equals(before.data)).toBe(true)
    expect(cache.stats().served).toBe(2)
    // A changed picture: the black 8x8 TGA turned white.
    const white = readFileSync(join(FIXTURES, 'black.tga'))
    white.fill(0xff, 18, 18 + 8 * 8 * 3)
    writeFileSync(join(icons, 'black.tga'), white)
    const report = await cache.rebuild()
    expect(report).toMatchObject({ icons: 4, encoded: 1, reused: 3, failed: [] })
    expect(updates).toEqual([expect.objectContaining({ changed: ['black'], removed: [], added: [], generation: report.generation })])
    // The swap ends the remembered lookups: the new generation's icon is served at once.
    const after = cache.getIcon('black')!
    expect(after.data.equals(before.data)).toBe(false)
    expect(cache.getIcon('black')!.data.equals(after.data)).toBe(true)
    const pixels = (await decodeImage(after.data)).pixels
    expect([...pixels.subarray(0, 4)]).toEqual([255, 255, 255, 255])
    // The view handed out before the rebuild still reads its own generation.
    expect([...(await decodeImage(before.data)).pixels.subarray(0, 4)]).toEqual([0, 0, 0, 255])
    expect((await cache.rebuild({ force: true })).encoded).toBe(4)
    cache.close()
  })

  it('decodes the real image files and reports the BioWare DDS variant as ERR_MODFORGE_FORMAT', async () => {
    const cache = await IconCache.open({ sources: [{ path: FIXTURES, icons: true }], cacheDir: false, typePreference: ['tga', 'dds'] })
    const images = ['biorgba', 'black', 'c_drgshad_wing', 'dds_test_grayscale', 'dds_test_rgba', 'dds_test_rgba_dxt5', 'dxtrbg', 'plc_mc_auril', 'qfpp_001_l']
    const sizes = Object.fromEntries(
      images.map((name) => {
        const icon = cache.getIcon(name)
        return [name, icon && [icon.width, icon.height]]
      }),
    )
    expect(cache.names()).toEqual(images.filter((name) => name !== 'biorgba'))
    expect(sizes).toEqual({
      black: [8, 8],
      biorgba: null,
      c_drgshad_wing: [64, 64],
      dds_test_grayscale: [128, 128],
      dds_test_rgba: [128, 128],
      dds_test_rgba_dxt5: [128, 128],
      dxtrbg: [64, 64],
      plc_mc_auril: [512, 512],
      qfpp_001_l: [128, 256],
    })
    const black = await decodeImage(cache.getIcon('black')!.data)
    expect(sha256(black.pixels)).toBe('2c893cd47b6757133987906e00c55e6dcce3c567b9df9e7f91ffecd3604cc6a6')
    const dxt = await decodeImage(cache.getIcon('dxtrbg')!.data)
    expect(sha256(dxt.pixels)).toBe('fe03f4c6d05dafdd2620b788a6dc58100cd37934e1ea300eb3b99fc3fcde739d')
    const bgra = await decodeImage(cache.getIcon('dds_test_rgba')!.data)
    expect([...bgra.pixels.subarray(0, 16)]).toEqual([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255])
    const failed = cache.stats().failed
    expect(failed.map((f) => [f.name, f.code])).toEqual([['biorgba', 'ERR_MODFORGE_FORMAT']])
    expect(failed[0].message).toContain('bioRGBA.dds')
    expect(failed[0].location).toMatchObject({ entry: 'bioRGBA.dds', type: 2033 })
    cache.close()
    // With the default preference (dds first) the BioWare DDS named like the TGA wins, and fails.
    const ddsFirst = IconCache.openSync({ sources: [{ path: FIXTURES, icons: true }], cacheDir: false })
    expect(ddsFirst.getIcon('black')).toBeNull()
    expect(ddsFirst.stats().failed.map((f) => f.name).sort()).toEqual(['biorgba', 'black'])
    ddsFirst.close()
  })

  it('stops a cold build on abort with the reason as cause and leaves no file behind', async () => {
    const cacheDir = dir('cache-abort')
    const controller = new AbortController()
    const reason = new Error('enough')
    const stages: string[] = []
    const opening = IconCache.open({
      discover: discoverSpec(),
      cacheDir,
      threads: 1,
      signal: controller.signal,
      onProgress: (event) => {
        stages.push(event.stage)
        controller.abort(reason)
      },
    })
    await expect(opening).rejects.toMatchObject({ code: 'ABORT_ERR', name: 'AbortError', cause: reason })
    expect(stages.length).toBeGreaterThan(0)
    expect(stages).not.toContain('write')
    expect(readdirSync(cacheDir)).toEqual([])
    await expect(IconCache.open({ discover: discoverSpec(), cacheDir, signal: AbortSignal.abort('early') })).rejects.toMatchObject({ code: 'ABORT_ERR', cause: 'early' })
  })

  it('keeps the file on disk unchanged when JavaScript writes into a served Buffer; copy mode hands out copies', async () => {
    const cacheDir = dir('cache-write')
    const sources = [{ path: join(FIXTURES), icons: true }]
    const cache = await IconCache.open({ sources, cacheDir, validate: 'blocking', typePreference: ['tga', 'dds'] })
    const file = cache.stats().path!
    const onDisk = sha256(readFileSync(file))
    const icon = cache.getIcon('black')!
    const original = Buffer.from(icon.data)
    icon.data.fill(0x55)
    expect(sha256(readFileSync(file))).toBe(onDisk)
    cache.close()
    const copying = await IconCache.open({ sources, cacheDir, copy: true, typePreference: ['tga', 'dds'] })
    const first = copying.getIcon('black')!
    expect(first.data.equals(original)).toBe(true)
    first.data.fill(0)
    expect(copying.getIcon('black')!.data.equals(original)).toBe(true)
    copying.close()
  })

  it('serves every blob from its 1 MiB window, those crossing a window end included, as the copying path does', async () => {
    // 60 opaque 128x128 noise icons: lossless WebP barely shrinks them, so `blobs` spans 3 windows.
    const folder = dir('noise')
    let state = 0x2545f491
    const next = () => {
      state ^= state << 13
      state ^= state >>> 17
      state ^= state << 5
      return state >>> 0
    }
    const pixels: Record<string, Buffer> = {}
    for (let i = 0; i < 60; i += 1) {
      const name = `is_noise${String(i).padStart(2, '0')}`
      const header = Buffer.alloc(18)
      header[2] = 2 // uncompressed true colour
      header.writeUInt16LE(128, 12)
      header.writeUInt16LE(128, 14)
      header[16] = 32
      header[17] = 0x28 // top-left origin, 8 alpha bits
      const bgra = Buffer.alloc(128 * 128 * 4)
      const rgba = Buffer.alloc(bgra.length)
      for (let p = 0; p < bgra.length; p += 4) {
        const value = next()
        const [r, g, b] = [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff]
        bgra.set([b, g, r, 255], p)
        rgba.set([r, g, b, 255], p)
      }
      writeFileSync(join(folder, `${name}.tga`), Buffer.concat([header, bgra]))
      pixels[name] = rgba
    }
    const cacheDir = dir('cache-noise')
    const sources = [{ path: folder, icons: true }]
    const cache = await IconCache.open({ sources, cacheDir, validate: 'blocking' })
    const names = Object.keys(pixels)
    expect(cache.names()).toEqual(names)
    let total = 0
    for (const name of names) {
      const icon = cache.getIcon(name)!
      total += icon.data.length
      const copied = (await cache.getIconAsync(name))!
      expect(icon.data.equals(copied.data), name).toBe(true)
      const decoded = await decodeImage(icon.data)
      expect([decoded.width, decoded.height]).toEqual([128, 128])
      expect(decoded.pixels.equals(pixels[name]), name).toBe(true)
    }
    expect(total).toBeGreaterThan(2 * 2 ** 20)
    cache.close()
    // A fresh open serves the same bytes in the reverse order (windows fetched from the end first),
    // and copy mode hands out equal copies.
    const reopened = IconCache.openSync({ sources, cacheDir, copy: true })
    for (const name of [...names].reverse()) {
      const decoded = await decodeImage(reopened.getIcon(name)!.data)
      expect(decoded.pixels.equals(pixels[name]), name).toBe(true)
    }
    reopened.close()
  })

  it('checks its options', async () => {
    await expect(IconCache.open({ cacheDir: false } as never)).rejects.toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG', message: expect.stringContaining("'sources' and 'discover'") })
    await expect(IconCache.open({ sources: [], maxsize: 4 } as never)).rejects.toMatchObject({ message: expect.stringContaining("did you mean 'maxSize'?") })
    await expect(IconCache.open({ sources: [], resampler: 'bilinear' as never })).rejects.toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
    const cache = IconCache.openSync({ sources: [], cacheDir: false })
    expect(() => cache.getIcon(3 as never)).toThrow(expect.objectContaining({ code: 'ERR_MODFORGE_INVALID_ARG' }))
    expect(cache.getIcon('x'.repeat(40))).toBeNull()
    cache.close()
    expect(() => cache.names()).toThrow(expect.objectContaining({ message: 'the icon cache is closed' }))
  })
})

describe('serve() over loopback HTTP', () => {
  let cache: IconCache
  let server: Server
  let base: string
  let nextCalls = 0
  beforeAll(async () => {
    cache = await IconCache.open({ sources: [{ path: FIXTURES, icons: true }], cacheDir: false, typePreference: ['tga', 'dds'] })
    const handler = cache.serve({ prefix: 'img' })
    server = createServer((req, res) =>
      handler(req, res, req.url?.startsWith('/next/')
        ? () => {
            nextCalls += 1
            res.statusCode = 418
            res.end()
          }
        : undefined),
    )
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((done) => server.close(done))
    cache.close()
  })

  it('answers 200 with the icon, ETag and no-cache, then 304 on If-None-Match; HEAD has no body', async () => {
    const icon = cache.getIcon('black')!
    const first = await fetch(`${base}/img/black.webp`)
    expect(first.status).toBe(200)
    const etag = first.headers.get('etag')!
    expect(etag).toMatch(/^"[0-9a-f]{16}"$/)
    expect(Object.fromEntries(['content-type', 'content-length', 'cache-control', 'x-content-type-options'].map((h) => [h, first.headers.get(h)]))).toEqual({
      'content-type': 'image/webp',
      'content-length': String(icon.data.length),
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    })
    expect(Buffer.from(await first.arrayBuffer()).equals(icon.data)).toBe(true)
    const again = await fetch(`${base}/img/black`, { headers: { 'If-None-Match': etag } })
    expect(again.status).toBe(304)
    expect((await again.arrayBuffer()).byteLength).toBe(0)
    const head = await fetch(`${base}/img/BLACK.webp`, { method: 'HEAD' })
    expect([head.status, head.headers.get('content-length'), (await head.arrayBuffer()).byteLength]).toEqual([200, String(icon.data.length), 0])
  })

  it('caches versioned URLs for a year and stale versions not at all', async () => {
    const url = cache.iconUrl('black', 'img')!
    expect(url).toMatch(/^\/img\/black\.webp\?v=[0-9a-f]{8}$/)
    const versioned = await fetch(base + url)
    expect(versioned.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(versioned.headers.get('etag')!.slice(1, 9)).toBe(url.slice(-8))
    const stale = await fetch(`${base}/img/black.webp?v=00000000`)
    expect([stale.status, stale.headers.get('cache-control')]).toEqual([200, 'no-cache'])
  })

  it('answers 400 for bad names, 405 for other methods, 404 for unknown icons or next() when given', async () => {
    // Sent as written (fetch and URL strings would normalise dot segments before sending).
    const rawStatus = (path: string) =>
      new Promise<number>((done, fail) => get({ host: '127.0.0.1', port: new URL(base).port, path }, (res) => done(res.resume().statusCode ?? 0)).on('error', fail))
    for (const path of ['/img/..%2Fblack', '/img/%2e%2e', '/img/..', '/img/a%5Cb', `/img/${'a'.repeat(33)}`, '/img/', '/img/%zz']) {
      expect(await rawStatus(path), path).toBe(400)
    }
    const post = await fetch(`${base}/img/black.webp`, { method: 'POST' })
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD'])
    expect((await fetch(`${base}/img/no_such_icon.webp`)).status).toBe(404)
    expect((await fetch(`${base}/elsewhere`)).status).toBe(404)
    expect((await fetch(`${base}/next/x`)).status).toBe(418)
    expect(nextCalls).toBe(1)
  })
})

describe('contactSheet()', () => {
  it('draws every icon at its reported cell: opaque pixels match the icon exactly', async () => {
    const cache = await IconCache.open({ sources: [{ path: FIXTURES, icons: true }], cacheDir: false, typePreference: ['tga', 'dds'], maxSize: 48 })
    const names = ['qfpp_001_l', 'black', 'c_drgshad_wing', 'dxtrbg', 'no_such_icon']
    const sheet = await cache.contactSheet({ names, columns: 2 })
    expect(sheet.mime).toBe('image/png')
    expect(sheet.cells.map((cell) => cell.name)).toEqual(names.slice(0, 4))
    // Cells of 48 px (maxSize) with 2 px padding, two columns.
    expect([sheet.width, sheet.height]).toEqual([2 + 2 * 50, 2 + 2 * 50])
    const decoded = await decodeImage(sheet.data)
    expect([decoded.width, decoded.height]).toEqual([sheet.width, sheet.height])
    for (const cell of sheet.cells) {
      const icon = await decodeImage(cache.getIcon(cell.name)!.data)
      expect([cell.w, cell.h]).toEqual([icon.width, icon.height])
      let compared = 0
      for (let y = 0; y < icon.height; y += 3) {
        for (let x = 0; x < icon.width; x += 3) {
          const at = (y * icon.width + x) * 4
          if (icon.pixels[at + 3] !== 255) continue
          const on = ((cell.y + y) * decoded.width + cell.x + x) * 4
          expect([...decoded.pixels.subarray(on, on + 4)], `${cell.name} ${x},${y}`).toEqual([...icon.pixels.subarray(at, at + 4)])
          compared += 1
        }
      }
      expect(compared, cell.name).toBeGreaterThan(0)
    }
    // Around the icons: the checkerboard (two greys), never transparent.
    const corner = [...decoded.pixels.subarray(0, 4)]
    expect(corner[3]).toBe(255)
    const webp = await cache.contactSheet({ names, columns: 2, format: 'webp', background: '#102030' })
    expect(webp.mime).toBe('image/webp')
    expect([...(await decodeImage(webp.data)).pixels.subarray(0, 4)]).toEqual([0x10, 0x20, 0x30, 255])
    cache.close()
  })
})

const MAIN = join(ROOT, 'dist/cli/main.js')

/** Runs `modforge <args>`. */
function modforge(...args: string[]) {
  const result = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

describe('the icons and erf commands', () => {
  const installArgs = () => ['--game', install.gameDir, '--user', install.userDir, '--module', install.module, '--campaign', install.campaign, '--workshop', install.workshopRoot]

  it('discovers, finds, gets, builds and draws from the generated install', async () => {
    const listed = modforge('icons', 'discover', install.gameDir, install.userDir, '--module', install.module, '--campaign', install.campaign, '--workshop', install.workshopRoot, '--json')
    expect(listed.code).toBe(0)
    expect(JSON.parse(listed.stdout)).toEqual(await discover(install.gameDir, install.userDir, { module: install.module, campaign: install.campaign, workshopDirs: [install.workshopRoot] }))
    const text = modforge('icons', 'discover', install.gameDir, install.userDir, '--module', install.module)
    expect(text.stdout).toContain('Sources, highest priority first')
    expect(text.stdout).toContain('Missing')

    const shadowed = install.icons.find((icon) => icon.places > 2)!
    const where = modforge('icons', 'where', shadowed.name, ...installArgs(), '--json')
    expect(where.code).toBe(0)
    const locations = JSON.parse(where.stdout)
    expect(locations).toHaveLength(shadowed.places)
    expect(locations[0]).toMatchObject({ source: shadowed.source, winner: true })
    const missing = modforge('icons', 'where', 'no_such_icon', ...installArgs())
    expect([missing.code, missing.stderr.trim().split('\n').length]).toEqual([1, 1])

    const cacheDir = join(work, 'cli-cache')
    const built = modforge('icons', 'build', ...installArgs(), '--cache-dir', cacheDir, '--json')
    expect(built.code).toBe(0)
    expect(JSON.parse(built.stdout).report).toMatchObject({ icons: install.icons.length, failed: [] })
    const again = modforge('icons', 'build', ...installArgs(), '--cache-dir', cacheDir)
    expect(again.stdout).toContain(`up to date: ${install.icons.length} icons`)

    const out = join(work, 'cli-out', 'icon.webp')
    const got = modforge('icons', 'get', shadowed.name.toUpperCase(), '-o', out, ...installArgs(), '--cache-dir', cacheDir, '--json')
    expect(got.code).toBe(0)
    expect(JSON.parse(got.stdout)).toMatchObject({ path: out, width: shadowed.width, height: shadowed.height, source: shadowed.source })
    const decoded = await decodeImage(readFileSync(out))
    expect([decoded.width, decoded.height]).toEqual([shadowed.width, shadowed.height])
    expect(modforge('icons', 'get', shadowed.name, ...installArgs()).code).toBe(2)

    const sheetPath = join(work, 'cli-out', 'sheet.png')
    const sheet = modforge('icons', 'sheet', '-o', sheetPath, '--limit', '9', '--cell', '32', ...installArgs(), '--cache-dir', cacheDir, '--json')
    expect(sheet.code).toBe(0)
    const drawn = JSON.parse(sheet.stdout)
    expect(drawn.cells).toHaveLength(9)
    const image = await decodeImage(readFileSync(sheetPath))
    expect([image.width, image.height]).toEqual([drawn.width, drawn.height])
    expect(readdirSync(join(work, 'cli-out')).sort()).toEqual(['icon.webp', 'sheet.png'])
  })

  it('lists and extracts archives; a damaged one fails with one line naming the file', () => {
    const listed = modforge('erf', 'ls', join(FIXTURES, 'test.hak'), '--json')
    expect(listed.code).toBe(0)
    const listing = JSON.parse(listed.stdout)
    expect(listing).toMatchObject({ fileType: 'HAK', version: 'V1.1', keyStride: 40, rejected: 0 })
    expect(listing.resources.map((r: { file: string }) => r.file)).toEqual(['eye.tga', 'test.txt'])
    const described = modforge('erf', 'ls', join(FIXTURES, 'hak_with_description.hak'))
    expect(described.stdout).toContain('HAK V1.0, 1 resources (24-byte keys)')
    expect(described.stdout).toContain('This is a description of a hak')

    const out = join(work, 'extracted')
    const extracted = modforge('erf', 'extract', join(FIXTURES, 'test.hak'), out, '--json')
    expect(extracted.code).toBe(0)
    expect(readdirSync(out).sort()).toEqual(['eye.tga', 'test.txt'])
    const index = ResourceIndex.openSync([{ path: join(FIXTURES, 'test.hak') }])
    expect(readFileSync(join(out, 'eye.tga')).equals(index.readSync('eye', 'tga')!)).toBe(true)
    index.close()
    const one = join(work, 'extracted-one')
    expect(modforge('erf', 'extract', join(FIXTURES, 'DockerDemo.mod'), one, '--name', 'module.ifo').code).toBe(0)
    expect(readdirSync(one)).toEqual(['module.ifo'])

    const damaged = join(work, 'damaged.hak')
    writeFileSync(damaged, readFileSync(join(FIXTURES, 'test.hak')).subarray(0, 60))
    const failed = modforge('erf', 'ls', damaged)
    expect(failed.code).toBe(1)
    expect(failed.stderr.trim().split('\n')).toHaveLength(1)
    expect(failed.stderr).toContain('damaged.hak')
  })
})

/** The Chromium binary of this machine (Debian's `chromium` package; `.ci/run` installs it). */
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((path) => existsSync(path))

/** The DOM of `url` after its scripts ran and its images loaded, from headless Chromium. */
async function dumpDom(url: string): Promise<string> {
  if (CHROMIUM === undefined) throw new Error("the gallery test needs Debian's chromium package (apt-get install chromium)")
  const { stdout } = await execFileAsync(
    CHROMIUM,
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--window-size=1200,2000', '--virtual-time-budget=8000', '--dump-dom', url],
    { encoding: 'utf8', maxBuffer: 1 << 26, timeout: 60_000 },
  )
  return stdout
}

describe('the icons serve gallery in headless Chromium', () => {
  let child: ChildProcess
  let base: string
  beforeAll(async () => {
    child = spawn(process.execPath, [MAIN, 'icons', 'serve', '--port', '0', '--source', FIXTURES, '--memory'], { stdio: ['ignore', 'pipe', 'pipe'] })
    base = await new Promise<string>((ready, fail) => {
      let out = ''
      child.stdout!.on('data', (chunk) => {
        out += chunk
        const match = /on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)
        if (match) ready(match[1])
      })
      child.on('exit', (code) => fail(new Error(`icons serve exited with ${code}`)))
    })
  })
  afterAll(async () => {
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)))
    child.kill('SIGINT')
    expect(await exited).toBe(0)
  })

  it('loads the page and renders every icon at its size with its name and source', async () => {
    const names = ['biorgba', 'black', 'c_drgshad_wing', 'dds_test_grayscale', 'dds_test_rgba', 'dds_test_rgba_dxt5', 'dxtrbg', 'plc_mc_auril', 'qfpp_001_l']
    const dom = await dumpDom(`${base}/`)
    const tiles = [...dom.matchAll(/<figure data-name="([^"]+)"[^>]*>.*?<\/figure>/gs)]
    const rendered = Object.fromEntries(
      tiles.map(([html, name]) => [name, { loaded: /data-loaded="([^"]+)"/.exec(html)?.[1], size: /class="size">([^<]+)</.exec(html)?.[1], source: /class="source">([^<]+)</.exec(html)?.[1] }]),
    )
    const cache = IconCache.openSync({ sources: [{ path: FIXTURES, icons: true }], cacheDir: false })
    const expected = Object.fromEntries(
      cache.names().map((name) => {
        const icon = cache.getIcon(name)!
        return [name, { loaded: `${icon.width}x${icon.height}`, size: `${icon.width}x${icon.height}`, source: FIXTURES }]
      }),
    )
    cache.close()
    expect(Object.keys(rendered).every((name) => names.includes(name))).toBe(true)
    expect(rendered).toEqual(expected)
    expect(dom).toContain(`${Object.keys(expected).length} of ${Object.keys(expected).length}`)
  })

  it('filters by the search text and shows whereIs on a click', async () => {
    const filtered = await dumpDom(`${base}/?q=dds_test`)
    const visible = [...filtered.matchAll(/<figure data-name="([^"]+)"(?! hidden)>/g)].map((m) => m[1])
    expect(visible).toEqual(['dds_test_grayscale', 'dds_test_rgba', 'dds_test_rgba_dxt5'])
    expect(filtered).toContain('data-shown="3"')
    const clicked = await dumpDom(`${base}/?click=dxtrbg`)
    expect(clicked).toMatch(/<h3 id="where-title">dxtrbg: 1 place\(s\)<\/h3>/)
    expect(clicked).toMatch(/<td>yes<\/td><td>[^<]*<\/td><td>dxtRBG\.dds<\/td><td>dds<\/td><td>5616<\/td>/)
  })
})
