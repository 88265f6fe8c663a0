import { chmodSync, linkSync, mkdirSync, symlinkSync, utimesSync, writeFileSync, lstatSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { generateTree, profile, profileSync, type ProfileReport } from 'modforge'
import { du, findCount, onLinux, onPosix, removeTree, runUnprivileged, scratchDir, tempDir } from './helpers'

const DAY = 86_400

/** Builds the tree T1 (docs/profile.md, "Test tree T1"; sizes are apparent bytes). */
function buildT1(root: string): void {
  const now = Date.now() / 1000
  const file = (path: string, size: number, ageDays?: number) => {
    writeFileSync(join(root, path), Buffer.alloc(size, 0x61))
    if (ageDays !== undefined) utimesSync(join(root, path), now - ageDays * DAY, now - ageDays * DAY)
  }
  mkdirSync(join(root, 'dir1'))
  mkdirSync(join(root, 'dir2'))
  mkdirSync(join(root, 'empty'))
  file('a.txt', 100, 2)
  file('b.TXT', 200, 10)
  file('.hidden', 10)
  file('noext', 0, 400)
  file('archive.tar.gz', 1000, 100)
  file('dir1/c.js', 300)
  file('dir1/hl1', 4096)
  linkSync(join(root, 'dir1/hl1'), join(root, 'dir2/hl2'))
  symlinkSync('a.txt', join(root, 'link-file'))
  symlinkSync('dir1', join(root, 'link-dir'))
  symlinkSync('.', join(root, 'loop'))
}

/** A report without the fields that legitimately differ between runs. */
function stable(report: ProfileReport) {
  const { timing: _timing, options, ...rest } = report
  const { threads: _threads, ...otherOptions } = options
  return { ...rest, options: otherOptions }
}

describe.runIf(onPosix)('profile on the test tree T1', () => {
  let root: string
  beforeAll(() => {
    root = tempDir('t1')
    buildT1(root)
  })
  afterAll(() => removeTree(root))

  it('reports the default profile', async () => {
    const report = await profile(root)
    expect(report.root).toBe(root)
    expect(report.totals).toMatchObject({
      files: 8,
      dirs: 4,
      symlinks: 3,
      other: 0,
      fileApparentBytes: 5706,
      hardLinkDuplicates: 1,
      skipped: 0,
      errors: 0,
      emptyDirs: 1,
      maxDepth: 2,
    })
    if (onLinux) {
      expect(report.totals.apparentBytes).toBe(du('-sb', root))
      expect(report.totals.allocatedBytes).toBe(du('-sB1', root))
    }
    expect(report.emptyDirs).toEqual(['empty'])
    expect(report.depthHistogram).toEqual([1, 11, 3])
    expect(report.extensions.map((row) => [row.ext, row.count, row.apparentBytes])).toEqual([
      ['<none>', 4, 4106],
      ['.txt', 2, 300],
      ['.gz', 1, 1000],
      ['.js', 1, 300],
    ])
    expect(report.largestFiles.map((row) => [row.path, row.apparentBytes])).toEqual([
      ['dir1/hl1', 4096],
      ['archive.tar.gz', 1000],
      ['dir1/c.js', 300],
      ['b.TXT', 200],
      ['a.txt', 100],
      ['.hidden', 10],
      ['noext', 0],
    ])
    expect(report.topDirsByFileCount).toEqual([
      { path: '.', files: 5 },
      { path: 'dir1', files: 2 },
      { path: 'dir2', files: 1 },
      { path: 'empty', files: 0 },
    ])
    expect(report.topDirsBySize.slice(0, 2).map((row) => row.path)).toEqual(['.', 'dir1'])
    expect(report.ages).toEqual([
      { bucket: '<1d', count: 4, apparentBytes: 4406 },
      { bucket: '<1w', count: 1, apparentBytes: 100 },
      { bucket: '<1mo', count: 1, apparentBytes: 200 },
      { bucket: '<1y', count: 1, apparentBytes: 1000 },
      { bucket: 'older', count: 1, apparentBytes: 0 },
    ])
    expect(report.errors).toEqual([])
    expect(report.options).toMatchObject({ includeHidden: true, stats: true, topN: 10, maxDepth: null })
  })

  it('applies the option variants of T1', async () => {
    const hidden = await profile(root, { includeHidden: false })
    expect(hidden.totals).toMatchObject({ files: 7, fileApparentBytes: 5696, skipped: 1 })
    expect(hidden.depthHistogram).toEqual([1, 10, 3])

    const depth1 = await profile(root, { maxDepth: 1 })
    expect(depth1.totals).toMatchObject({ files: 5, dirs: 4, symlinks: 3, fileApparentBytes: 1310, hardLinkDuplicates: 0, emptyDirs: 0, maxDepth: 1 })
    expect(depth1.depthHistogram).toEqual([1, 11])

    const depth0 = await profile(root, { maxDepth: 0 })
    expect(depth0.totals).toMatchObject({ files: 0, dirs: 1, symlinks: 0 })
    expect(depth0.depthHistogram).toEqual([1])

    const excludeDir = await profile(root, { exclude: ['dir2'] })
    expect(excludeDir.totals).toMatchObject({ files: 7, dirs: 3, fileApparentBytes: 5706, hardLinkDuplicates: 0, skipped: 1 })

    const excludeTxt = await profile(root, { exclude: ['*.txt'] })
    expect(excludeTxt.totals).toMatchObject({ files: 7, skipped: 1 })

    const ext = await profile(root, { extensions: ['TXT'] })
    expect(ext.totals).toMatchObject({ files: 2, fileApparentBytes: 300, dirs: 4, symlinks: 3, skipped: 6, hardLinkDuplicates: 0 })

    const minSize = await profile(root, { minSize: 300 })
    expect(minSize.totals).toMatchObject({ files: 4, fileApparentBytes: 5396, hardLinkDuplicates: 1, skipped: 4 })

    const links = await profile(root, { countHardLinks: true })
    expect(links.totals).toMatchObject({ fileApparentBytes: 9802, hardLinkDuplicates: 0 })
    expect(links.largestFiles.slice(0, 2).map((row) => row.path)).toEqual(['dir1/hl1', 'dir2/hl2'])
    if (onLinux) expect(links.totals.apparentBytes).toBe(du('-sbl', root))
  })

  it('follows symbolic links with loop detection', async () => {
    const report = await profile(root, { followSymlinks: true })
    // link-file and link-dir are further names of a.txt and dir1 (dir1 is read once, under its own
    // name); loop leads to the root: reported, not counted
    expect(report.totals).toMatchObject({ files: 9, dirs: 5, symlinks: 0, fileApparentBytes: 5706, hardLinkDuplicates: 3, errors: 1 })
    expect(report.errors).toEqual([{ path: 'loop', op: 'stat', code: 'ELOOP', errno: onLinux ? 40 : expect.any(Number) }])
    expect(report.depthHistogram).toEqual([1, 10, 3])
    if (onLinux) expect(report.totals.apparentBytes).toBe(du('-sbL', root))
  })

  it('has a names-only mode without sizes', async () => {
    const report = await profile(root, { stats: false })
    expect(report.totals).toMatchObject({
      files: 8,
      dirs: 4,
      symlinks: 3,
      apparentBytes: null,
      allocatedBytes: null,
      fileApparentBytes: null,
      hardLinkDuplicates: 0,
    })
    expect(report.largestFiles).toEqual([])
    expect(report.topDirsBySize).toEqual([])
    expect(report.ages).toBeNull()
  })

  it('gives the same report with 1 thread, N threads and the Sync form', async () => {
    const one = await profile(root, { threads: 1 })
    const many = await profile(root, { threads: 8 })
    expect(one.options.threads).toBe(1)
    expect(many.options.threads).toBe(8)
    expect(stable(many)).toEqual(stable(one))
    expect(stable(profileSync(root, { threads: 3 }))).toEqual(stable(one))
  })
})

describe.runIf(onLinux)('profile on generated trees', () => {
  let root: string
  beforeAll(async () => {
    root = tempDir('gen')
    await generateTree(root, { shape: 'node', entries: 30_000, seed: 7, extras: true })
  })
  afterAll(() => removeTree(root))

  it('counts and sizes equal find and GNU du', async () => {
    const report = await profile(root)
    expect(report.totals.files).toBe(findCount(root, 'f'))
    expect(report.totals.dirs).toBe(findCount(root, 'd'))
    expect(report.totals.symlinks).toBe(findCount(root, 'l'))
    expect(report.totals.apparentBytes).toBe(du('-sb', root))
    expect(report.totals.allocatedBytes).toBe(du('-sB1', root))
    expect(report.totals.hardLinkDuplicates).toBeGreaterThan(0)
    const links = await profile(root, { countHardLinks: true })
    expect(links.totals.apparentBytes).toBe(du('-sbl', root))
    expect(links.totals.allocatedBytes).toBe(du('-sB1 -l', root))
  })

  it('is identical for 1 and N threads', async () => {
    const one = await profile(root, { threads: 1 })
    const two = await profile(root, { threads: 2 })
    const many = await profile(root, { threads: 7 })
    expect(stable(two)).toEqual(stable(one))
    expect(stable(many)).toEqual(stable(one))
  })

  it('streams every counted path exactly once with collectPaths', async () => {
    const seen = new Map<string, number>()
    let largestBatch = 0
    const report = await profile(root, {
      collectPaths(batch) {
        largestBatch = Math.max(largestBatch, batch.paths.length)
        expect(batch.kinds.length).toBe(batch.paths.length)
        expect(batch.apparentBytes?.length).toBe(batch.paths.length)
        for (const path of batch.paths) seen.set(path, (seen.get(path) ?? 0) + 1)
      },
    })
    const expected = listTree(root)
    const totals = report.totals
    expect(seen.size).toBe(totals.files + totals.dirs + totals.symlinks + totals.other)
    expect([...seen.values()].every((count) => count === 1)).toBe(true)
    expect(new Set(seen.keys())).toEqual(expected)
    expect(largestBatch).toBeLessThanOrEqual(8192)
  })

  it('reports progress before it settles and honours an abort from a listener, then works again', async () => {
    const events: number[] = []
    const report = await profile(root, { onProgress: (event) => events.push(event.done) })
    const t = report.totals
    // The last event carries the totals and arrives before the Promise settles.
    expect(events.at(-1)).toBe(t.files + t.dirs + t.symlinks + t.other)

    const fromProgress = new AbortController()
    await expect(
      profile(root, { signal: fromProgress.signal, onProgress: () => fromProgress.abort() }),
    ).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' })

    const fromBatch = new AbortController()
    let batches = 0
    await expect(
      profile(root, {
        signal: fromBatch.signal,
        collectPaths() {
          batches += 1
          fromBatch.abort()
        },
      }),
    ).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' })
    expect(batches).toBeGreaterThan(0)

    const after = await profile(root, { stats: false })
    expect(after.totals.files).toBe(t.files)
  })

  it('rejects with the error a callback throws', async () => {
    const failure = new Error('listener failed')
    await expect(
      profile(root, {
        collectPaths() {
          throw failure
        },
      }),
    ).rejects.toBe(failure)
  })
})

/** Every path below `root` (relative, `/`-separated), as an independent JS walk sees it. */
function listTree(root: string): Set<string> {
  const paths = new Set<string>(['.'])
  const visit = (relative: string) => {
    let names: string[]
    try {
      names = readdirSync(join(root, relative))
    } catch {
      return
    }
    for (const name of names) {
      const path = relative === '' ? name : `${relative}/${name}`
      paths.add(path)
      // A name that is not valid UTF-8 cannot be reached through its (lossy) JS string.
      let isDirectory = false
      try {
        isDirectory = lstatSync(join(root, path)).isDirectory()
      } catch {
        continue
      }
      if (isDirectory) visit(path)
    }
  }
  visit('')
  return paths
}

describe.runIf(onLinux)('profile on a real system folder (/usr)', () => {
  it('matches find and GNU du', async () => {
    const report = await profile('/usr', { threads: 2 })
    expect(report.totals.files).toBe(findCount('/usr', 'f'))
    expect(report.totals.dirs).toBe(findCount('/usr', 'd'))
    expect(report.totals.symlinks).toBe(findCount('/usr', 'l'))
    expect(report.totals.apparentBytes).toBe(du('-sb', '/usr'))
    expect(report.totals.allocatedBytes).toBe(du('-sB1', '/usr'))
    expect(report.errors).toEqual([])
  })

  it('streams every path through a slow listener without losing a batch (back-pressure)', async () => {
    // Far more batches than the queue holds, from two workers, to a listener slower than the walk.
    let paths = 0
    let batches = 0
    const report = await profile('/usr', {
      threads: 2,
      stats: false,
      collectPaths(batch) {
        batches += 1
        paths += batch.paths.length
        const until = Date.now() + 2
        while (Date.now() < until);
      },
    })
    const t = report.totals
    expect(paths).toBe(t.files + t.dirs + t.symlinks + t.other)
    expect(batches).toBeGreaterThan(8)
  })
})

describe.runIf(onLinux)('collectPaths from several workers at once', () => {
  let root: string
  beforeAll(() => {
    // Four large folders, so that both workers fill batches at the same time.
    root = scratchDir('flat')
    for (let d = 0; d < 4; d += 1) {
      mkdirSync(join(root, `d${d}`))
      for (let f = 0; f < 50_000; f += 1) writeFileSync(join(root, `d${d}`, `f${f}`), '')
    }
  })
  afterAll(() => removeTree(root))

  it('never stalls when both workers wait for a full queue (nodejs/node#58723)', async () => {
    for (let round = 0; round < 30; round += 1) {
      let paths = 0
      const report = await profile(root, { threads: 2, stats: false, collectPaths: (batch) => void (paths += batch.paths.length) })
      expect(paths).toBe(report.totals.files + report.totals.dirs)
    }
  }, 60_000)
})

describe('profile errors and edge cases', () => {
  it('rejects a missing root and a root that is a file, also when not strict', async () => {
    await expect(profile('/nonexistent/modforge-root')).rejects.toMatchObject({
      code: 'ERR_MODFORGE_IO',
      message: expect.stringContaining('ENOENT'),
      path: '/nonexistent/modforge-root',
    })
    await expect(profile(__filename)).rejects.toMatchObject({ code: 'ERR_MODFORGE_IO', message: expect.stringContaining('ENOTDIR') })
    if (onPosix) await expect(profile(__filename)).rejects.toMatchObject({ errno: 20, syscall: 'stat' })
  })

  it('rejects invalid options with ERR_MODFORGE_INVALID_ARG', async () => {
    const dir = __dirname
    await expect(profile(dir, { exclude: ['['] })).rejects.toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
    await expect(profile(dir, { threads: -1 })).rejects.toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
    await expect(profile(dir, { stats: false, minSize: 10 })).rejects.toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
    // Values of the wrong type are invalid arguments too, not conversion failures.
    await expect(profile(dir, { threads: 'many' as never })).rejects.toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
    await expect(profile(dir, { exclude: '*.tmp' as never })).rejects.toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
    expect(() => profileSync(42 as never)).toThrow(expect.objectContaining({ code: 'ERR_MODFORGE_INVALID_ARG' }))
    expect(() => profileSync(dir, { signal: new AbortController().signal } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_MODFORGE_INVALID_ARG' }),
    )
  })

  it('rejects at once when the signal is already aborted, without touching the file system', async () => {
    await expect(profile('/nonexistent/never-read', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
      code: 'ABORT_ERR',
    })
  })

  it.runIf(onLinux)('reports an unreadable folder with its path and errno while counting the rest (unprivileged)', () => {
    const root = tempDir('unreadable')
    try {
      mkdirSync(join(root, 'open'))
      writeFileSync(join(root, 'open/a.txt'), 'hello')
      mkdirSync(join(root, 'locked'))
      writeFileSync(join(root, 'locked/secret.txt'), 'secret')
      mkdirSync(join(root, 'listonly'))
      writeFileSync(join(root, 'listonly/x'), 'x')
      chmodTree(root)
      const result = runUnprivileged<{ totals: Record<string, number>; errors: unknown[]; du: number; files: number }>(`
        const { profileSync } = require(MODFORGE)
        const { spawnSync } = require('node:child_process')
        const report = profileSync(${JSON.stringify(root)})
        const du = Number(spawnSync('du', ['-sb', ${JSON.stringify(root)}], { encoding: 'utf8' }).stdout.split('\\t')[0])
        const files = spawnSync('find', [${JSON.stringify(root)}, '-type', 'f', '-printf', '.'], { encoding: 'utf8' }).stdout.length
        process.stdout.write(JSON.stringify({ totals: report.totals, errors: report.errors, du, files }))
      `)
      // listonly/x is listed but cannot be stat'ed: counted with its listed kind and no bytes, as
      // find lists it (du leaves it out, so the bytes still equal du's)
      expect(result.totals).toMatchObject({ files: 2, dirs: 4, errors: 2 })
      expect(result.totals.files).toBe(result.files)
      expect(result.errors).toEqual([
        { path: 'listonly/x', op: 'lstat', code: 'EACCES', errno: 13 },
        { path: 'locked', op: 'opendir', code: 'EACCES', errno: 13 },
      ])
      expect(result.totals.apparentBytes).toBe(result.du)
    } finally {
      removeTree(root)
    }
  })
})

describe.runIf(onLinux)('followSymlinks reads each folder (dev, ino) once, as find -L and du -sbL count', () => {
  let root: string
  beforeAll(() => {
    root = tempDir('follow')
  })
  afterAll(() => removeTree(root))

  it('does not count the root again through a link to its parent', async () => {
    // mkdir -p p2/r; echo hi > p2/r/f; ln -s .. p2/r/up
    mkdirSync(join(root, 'p2/r'), { recursive: true })
    writeFileSync(join(root, 'p2/r/f'), 'hi\n')
    symlinkSync('..', join(root, 'p2/r/up'))
    const dir = join(root, 'p2/r')
    const report = await profile(dir, { followSymlinks: true })
    // find -L lists r, r/f and r/up (p2); r/up/r is the root again, a loop
    expect(report.totals).toMatchObject({ files: 1, dirs: 2, symlinks: 0, other: 0, fileApparentBytes: 3 })
    expect(report.totals.apparentBytes).toBe(du('-sbL', dir))
    expect(report.totals.allocatedBytes).toBe(du('-sB1 -L', dir))
    expect(report.errors).toEqual([{ path: 'up/r', op: 'lstat', code: 'ELOOP', errno: 40 }])
    expect(stable(profileSync(dir, { followSymlinks: true, threads: 8 }))).toEqual(stable(report))
  })

  it('counts a folder reached by 2^22 paths once', async () => {
    // 22 nested folders n, each holding m -> n; the deepest holds a file
    let dir = join(root, 'dag')
    mkdirSync(dir)
    for (let level = 0; level < 22; level += 1) {
      mkdirSync(join(dir, 'n'))
      symlinkSync('n', join(dir, 'm'))
      dir = join(dir, 'n')
    }
    writeFileSync(join(dir, 'f'), 'bottom\n')
    const dag = join(root, 'dag')
    const report = await profile(dag, { followSymlinks: true, threads: 2 })
    // 23 folders read once each, the 22 names m counted as other names of a folder read elsewhere
    expect(report.totals).toMatchObject({ files: 1, dirs: 45, symlinks: 0, errors: 0, hardLinkDuplicates: 22, fileApparentBytes: 7 })
    expect(report.totals.apparentBytes).toBe(du('-sbL', dag))
    expect(report.depthHistogram).toHaveLength(24)
    expect(report.largestFiles.map((row) => row.path)).toEqual([`${'n/'.repeat(22)}f`])
  })
})

describe('profile arguments checked before any work', () => {
  it('rejects a NUL byte in the root as an invalid argument', async () => {
    await expect(profile(`${__dirname}\0x`)).rejects.toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
    expect(() => profileSync(`${__dirname}\0x`)).toThrow(expect.objectContaining({ code: 'ERR_MODFORGE_INVALID_ARG' }))
  })
})

describe('many concurrent profiles', () => {
  let root: string
  beforeAll(async () => {
    root = scratchDir('concurrent')
    await generateTree(join(root, 'tree'), { shape: 'source', entries: 1_500, seed: 9 })
  })
  afterAll(() => removeTree(root))

  it('completes 50 profiles with 512 threads each, every report equal to a single-threaded one', async () => {
    const dir = join(root, 'tree')
    const expected = stable(await profile(dir, { threads: 1 }))
    const reports = await Promise.all(Array.from({ length: 50 }, () => profile(dir, { threads: 512 })))
    expect(reports).toHaveLength(50)
    for (const report of reports) {
      expect(report.timing.threads).toBe(512)
      expect(stable(report)).toEqual(expected)
    }
    expect(expected.totals.files + expected.totals.dirs).toBeGreaterThanOrEqual(1_500)
  }, 120_000)
})

/** Makes `locked` unreadable (000) and `listonly` listable but not searchable (644). */
function chmodTree(root: string): void {
  chmodSync(join(root, 'locked'), 0o000)
  chmodSync(join(root, 'listonly'), 0o644)
}
