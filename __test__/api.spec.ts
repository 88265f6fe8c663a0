import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import * as modforge from 'modforge'
import {
  cleanStore,
  cleanStoreSync,
  ErrorCode,
  inspectSnapshot,
  inspectSnapshotSync,
  openDataset,
  openDatasetSync,
  openOrBuild,
  openOrBuildSync,
  profile,
  profileSync,
  putBlobSync,
  verifySnapshots,
  verifySnapshotsSync,
  walkPaths,
  type Dataset,
  type PathBatch,
} from 'modforge'
import * as profileEntry from 'modforge/profile'

import { removeTree, scratchDir, tempDir } from './helpers'

let work: string
beforeAll(() => {
  work = tempDir('api')
})
afterAll(() => removeTree(work))

/** A fresh folder for one test. */
function dir(name: string): string {
  const path = join(work, name)
  mkdirSync(path, { recursive: true })
  return path
}

/** The error `run` throws or rejects with. */
async function failure(run: () => unknown): Promise<{ code?: string; message: string; cause?: unknown; name: string }> {
  try {
    await run()
  } catch (error) {
    return error as { code?: string; message: string; name: string }
  }
  throw new Error('expected a failure')
}

const INVALID = ErrorCode.InvalidArg

describe('argument checks before any work', () => {
  const throwing = new Proxy(
    {},
    {
      get: () => {
        throw new Error('get trap')
      },
      ownKeys: () => {
        throw new Error('ownKeys trap')
      },
    },
  )

  it('name the argument and what was expected, with ERR_MODFORGE_INVALID_ARG', async () => {
    const d = dir('args')
    const snapshot = { dir: d, name: 'n', version: '1', source: { token: 't' } }
    const cases: [() => unknown, string][] = [
      [() => openOrBuild(undefined as never), 'openOrBuild(): options must be an object, got undefined'],
      [() => openOrBuild(null as never), 'openOrBuild(): options must be an object, got null'],
      [() => openOrBuild({ ...snapshot, build: 'bytes' as never }), 'openOrBuild(): options.build must be a function, got "bytes"'],
      [() => profile(d, { onProgress: 5 as never }), 'profile(): options.onProgress must be a function, got 5'],
      [() => profile(d, { signal: { aborted: false } as never }), 'profile(): options.signal must be an AbortSignal, got an object'],
      [() => profile(d, throwing as never), 'profile(): options could not be read: ownKeys trap'],
      [() => openDataset({ ...snapshot, tables: 'a.csv' as never }), 'openDataset(): options.tables must be an object of tables'],
      [() => openDataset({ ...snapshot, tables: 0 as never }), 'openDataset(): options.tables must be an object of tables'],
      [() => openDataset({ ...snapshot, tables: true as never }), 'openDataset(): options.tables must be an object of tables'],
      [() => openDataset({ ...snapshot, tables: Number.NaN as never }), 'got NaN'],
      [() => openDataset({ ...snapshot, tables: { t: { rows: [throwing] } } }), 'openDataset(): options.tables.t.rows[0] could not be read: ownKeys trap'],
      [() => profile(d, { threads: 'many' as never }), 'profile(): options.threads must be an integer from 0 to 512, got "many"'],
      [() => profileSync(42 as never), 'profileSync(): path must be a string, got 42'],
      [() => openOrBuildSync({ ...snapshot, source: { token: 't', files: [] } as never, build: () => Buffer.alloc(1) }), 'exactly one of bytes, files, token'],
    ]
    for (const [run, message] of cases) {
      const error = await failure(run)
      expect(error.code).toBe(INVALID)
      expect(error.message).toContain(message)
      expect(error.message).not.toContain('Failed to convert')
    }
    // Nothing was written by any of them.
    expect(readdirSync(d)).toEqual([])
  })

  it('refuse an unknown option key, naming the closest known one', async () => {
    await expect(profile(work, { maxdepth: 2 } as never)).rejects.toMatchObject({
      code: INVALID,
      message: "profile(): options has no key 'maxdepth'; did you mean 'maxDepth'?",
    })
    expect(() => openDatasetSync({ dir: work, name: 'n', version: '1', tables: {}, versionColum: 'v' } as never)).toThrow(
      expect.objectContaining({ code: INVALID, message: expect.stringContaining("did you mean 'versionColumn'?") }),
    )
    // The misspelt key is refused before any getter of the caller runs.
    let read = 0
    const options = {
      get threads() {
        read += 1
        return 1
      },
      maxdepth: 2,
    }
    await expect(profile(work, options as never)).rejects.toMatchObject({ code: INVALID })
    expect(read).toBe(0)
  })

  it('reject from Promise forms instead of throwing', () => {
    for (const run of [() => profile(1 as never), () => openOrBuild(1 as never), () => cleanStore(1 as never), () => verifySnapshots(1 as never)]) {
      const result = run()
      expect(result).toBeInstanceOf(Promise)
      result.catch(() => undefined)
    }
  })
})

describe('Table reads like a Map', () => {
  let dataset: Dataset
  beforeAll(() => {
    const csv = 'id,name\n7,seven\n8,eight\n7,again\n,nameless\n9.5,nine and a half\n'
    dataset = openDatasetSync({ dir: dir('map'), name: 'm', version: '1', source: { token: 'm' }, tables: { t: Buffer.from(csv) } }).value
  })
  afterAll(() => dataset.close())

  it('has size, has, get, keys, values, entries, forEach and [key, row] iteration over the indexed rows', () => {
    const table = dataset.table<{ id: string; name: string }>('t')!
    expect(table.length).toBe(5)
    expect(table.size).toBe(3)
    expect([...table.keys()]).toEqual(['7', '8', '9.5'])
    expect([...table.values()].map((row) => row.name)).toEqual(['seven', 'eight', 'nine and a half'])
    expect([...table]).toEqual([...table.entries()])
    expect(new Map(table).get('7')).toEqual({ id: '7', name: 'seven' })
    expect(table.has('8')).toBe(true)
    expect(table.has('again')).toBe(false)
    const seen: string[] = []
    table.forEach((row, key, self) => seen.push(`${key}=${row.name}:${self === table}`))
    expect(seen).toEqual(['7=seven:true', '8=eight:true', '9.5=nine and a half:true'])
    expect([...table.rows()].map((row) => row.name)).toEqual(['seven', 'eight', 'again', 'nameless', 'nine and a half'])
  })

  it('accepts numbers as keys, as JavaScript stringifies them', () => {
    const table = dataset.table('t')!
    expect(table.get(7)).toEqual({ id: '7', name: 'seven' })
    expect(table.get(9.5)?.name).toBe('nine and a half')
    expect(table.has(8)).toBe(true)
    expect(() => table.get({} as never)).toThrow(expect.objectContaining({ code: INVALID, message: 'table.get(): key must be a string or a number, got an object' }))
  })
})

describe('signals', () => {
  it('hand the call signal to build() and tables(), and abort it with the call', async () => {
    const d = dir('build-signal')
    const controller = new AbortController()
    let seen: AbortSignal | undefined
    const reason = new Error('user cancelled')
    const error = await failure(() =>
      openOrBuild({
        dir: d,
        name: 'n',
        version: '1',
        source: { token: 't' },
        signal: controller.signal,
        build: async ({ signal }) => {
          seen = signal
          controller.abort(reason)
          signal.throwIfAborted()
          return Buffer.from('never')
        },
      }),
    )
    expect(seen).toBeInstanceOf(AbortSignal)
    expect(seen?.aborted).toBe(true)
    expect(error).toMatchObject({ code: 'ABORT_ERR', name: 'AbortError' })
    expect(error.cause).toBe(reason)
    expect(readdirSync(d)).toEqual([])

    let tablesSignal: AbortSignal | undefined
    const opened = await openDataset({
      dir: d,
      name: 'lazy',
      version: '1',
      source: { token: 'x' },
      tables: ({ signal }) => {
        tablesSignal = signal
        return { t: Buffer.from('k\na\n') }
      },
    })
    expect(tablesSignal).toBeInstanceOf(AbortSignal)
    expect(tablesSignal?.aborted).toBe(false)
    opened.value.close()
    let syncSignal: AbortSignal | undefined
    openOrBuildSync({ dir: d, name: 's', version: '1', source: { token: 's' }, build: ({ signal }) => ((syncSignal = signal), Buffer.from('s')) })
    expect(syncSignal?.aborted).toBe(false)
  })

  it('attach the abort reason as cause, also when the signal is aborted before the call', async () => {
    const reason = new Error('shutting down')
    const early = await failure(() => profile('/nonexistent/never-read', { signal: AbortSignal.abort(reason) }))
    expect(early).toMatchObject({ code: 'ABORT_ERR', name: 'AbortError' })
    expect(early.cause).toBe(reason)
    const d = dir('cause-walk')
    for (let i = 0; i < 50; i += 1) mkdirSync(join(d, `sub${i}`))
    const controller = new AbortController()
    const late = await failure(() =>
      profile(d, { threads: 1, signal: controller.signal, collectPaths: () => controller.abort('timeout') }),
    )
    expect(late).toMatchObject({ code: 'ABORT_ERR' })
    expect(late.cause).toBe('timeout')
    const verify = await failure(() => verifySnapshots(d, { signal: AbortSignal.abort(reason) }))
    expect(verify).toMatchObject({ code: 'ABORT_ERR', cause: reason })
  })
})

describe('walkPaths: the paths of a profile as an async iterator', () => {
  let root: string
  beforeAll(() => {
    root = scratchDir('walk-paths')
    for (let d = 0; d < 20; d += 1) {
      mkdirSync(join(root, `d${d}`))
      for (let f = 0; f < 1000; f += 1) writeFileSync(join(root, `d${d}`, `f${f}`), '')
    }
  })
  afterAll(() => removeTree(root))

  it('yields every path once and returns the report', async () => {
    const seen = new Set<string>()
    const iterator = walkPaths(root, { threads: 2, stats: false })
    let next = await iterator.next()
    while (!next.done) {
      for (const path of next.value.paths) seen.add(path)
      next = await iterator.next()
    }
    const report = next.value
    expect(seen.size).toBe(20 * 1000 + 20 + 1)
    expect(report.totals.files + report.totals.dirs).toBe(seen.size)
  })

  it('works with for await, through a slow consumer, and stops the walk when the loop ends early', async () => {
    let paths = 0
    for await (const batch of walkPaths(root, { threads: 2 })) {
      paths += batch.paths.length
      await new Promise((wait) => setTimeout(wait, 1))
    }
    expect(paths).toBe(20 * 1000 + 20 + 1)
    let first: PathBatch | undefined
    for await (const batch of profileEntry.walkPaths(root, { threads: 1 })) {
      first = batch
      break
    }
    expect(first?.paths.length).toBeGreaterThan(0)
    // The walk stopped; a new one runs normally.
    expect(profileSync(root, { stats: false }).totals.files).toBe(20 * 1000)
  })

  it('checks its arguments at once and rejects from the loop with the walk error', async () => {
    expect(() => walkPaths(root, { collectPaths: () => undefined } as never)).toThrow(
      expect.objectContaining({ code: INVALID, message: expect.stringContaining("has no key 'collectPaths'") }),
    )
    const loop = async () => {
      for await (const batch of walkPaths(join(root, 'missing'))) void batch
    }
    await expect(loop()).rejects.toMatchObject({ code: 'ERR_MODFORGE_IO', message: expect.stringContaining('ENOENT') })
  })
})

describe('Sync suffix', () => {
  it('is consistent: every Promise form has a Sync twin and no Sync form lacks its suffix', () => {
    const names = Object.keys(modforge).filter((name) => typeof (modforge as Record<string, unknown>)[name] === 'function')
    const syncForms = names.filter((name) => name.endsWith('Sync'))
    expect(syncForms.sort()).toEqual(
      [
        'analyzeModSync',
        'buildOverlaySync',
        'cleanStoreSync',
        'extractWadSync',
        'generateDatasetSync',
        'generateLeagueSync',
        'discoverSync',
        'extractErfSync',
        'generateInstallSync',
        'generateRomSync',
        'generateTreeSync',
        'getBlobSync',
        'inspectSnapshotSync',
        'invalidateSync',
        'openDatasetFileSync',
        'listErfSync',
        'openDatasetSync',
        'openOrBuildSync',
        'profileSync',
        'putBlobSync',
        'readWadSync',
        'readBlobFileSync',
        'verifySnapshotsSync',
      ].sort(),
    )
    for (const sync of syncForms) expect(names).toContain(sync.slice(0, -4))
    const d = dir('sync-suffix')
    const pending = cleanStore(d)
    expect(pending).toBeInstanceOf(Promise)
    pending.catch(() => undefined)
    expect(cleanStoreSync(d)).toEqual({ removed: 0, deferred: 0 })
  })

  it('inspects and verifies on the calling thread as the Promise forms do', async () => {
      const d = dir('sync-inspect')
      const { path } = putBlobSync({ dir: d, name: 'n', version: '1', source: { token: 't' } }, Buffer.from('payload'))
      expect(inspectSnapshotSync(path)).toEqual(await inspectSnapshot(path))
      expect(verifySnapshotsSync(d)).toEqual(await verifySnapshots(d))
      expect(await cleanStore(d)).toEqual({ removed: 0, deferred: 0 })
  })
})
