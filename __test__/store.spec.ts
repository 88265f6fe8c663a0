import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import {
  Dataset,
  generateDataset,
  getBlob,
  getBlobSync,
  invalidate,
  openDataset,
  openDatasetSync,
  openOrBuild,
  openOrBuildSync,
  putBlob,
  type GeneratedDataset,
} from 'modforge'
import { ROOT, onLinux, onPosix, removeTree, runUnprivileged, tempDir } from './helpers'

let work: string
beforeAll(() => {
  work = tempDir('store')
})
afterAll(() => removeTree(work))

/** A fresh folder for one test. */
function dir(name: string): string {
  const path = join(work, name)
  mkdirSync(path, { recursive: true })
  return path
}

describe('blob snapshots', () => {
  it('builds once, then serves from disk; rebuilds on a new source, version or kind', async () => {
    const d = dir('blob-cycle')
    let builds = 0
    const options = (token: string, version = '1', kind?: string) => ({
      dir: d,
      name: 'icons',
      version,
      kind,
      source: { token },
      build: async () => {
        builds += 1
        return Buffer.from(`payload for ${token}`)
      },
    })
    const first = await openOrBuild(options('a'))
    expect(first).toMatchObject({ loaded: false, persisted: true, rejected: { code: 'missing' } })
    expect(first.value.toString()).toBe('payload for a')
    expect(first.path).toBe(join(d, 'icons_1.mfs'))

    const second = await openOrBuild(options('a'))
    expect(second).toMatchObject({ loaded: true, persisted: true })
    expect(second.value.toString()).toBe('payload for a')
    expect(second.rejected).toBeUndefined()
    expect(builds).toBe(1)

    const stale = await openOrBuild(options('b'))
    expect(stale).toMatchObject({ loaded: false, rejected: { code: 'stale' } })
    expect(stale.value.toString()).toBe('payload for b')

    const kind = await openOrBuild(options('b', '1', 'icons@2'))
    expect(kind.rejected?.code).toBe('kind')

    const bumped = await openOrBuild(options('b', '2', 'icons@2'))
    expect(bumped).toMatchObject({ loaded: false, persisted: true, rejected: { code: 'missing' } })
    expect(readdirSync(d)).toEqual(['icons_2.mfs'])
    expect(builds).toBe(4)
  })

  it('rejects a damaged file and rebuilds it', async () => {
    const d = dir('blob-damage')
    const options = { dir: d, name: 'n', version: 'v', source: { bytes: new Uint8Array([1, 2, 3]) } }
    const put = await putBlob(options, Buffer.alloc(4096, 7))
    expect(put.persisted).toBe(true)
    const file = readFileSync(put.path)
    file[192 + 100] ^= 0x10
    writeFileSync(put.path, file)
    const damaged = await getBlob(options)
    expect(damaged).toMatchObject({ bytes: null, reason: { code: 'corrupt' } })
    const rebuilt = await openOrBuild({ ...options, build: () => Buffer.alloc(4096, 7) })
    expect(rebuilt.rejected?.code).toBe('corrupt')
    expect(getBlobSync(options).bytes?.equals(Buffer.alloc(4096, 7))).toBe(true)
    const truncated = readFileSync(put.path).subarray(0, 1000)
    writeFileSync(put.path, truncated)
    expect((await getBlob(options)).bytes).toBeNull()
  })

  it('returns the value with persisted: false when the folder cannot be written', async () => {
    const file = join(dir('blob-ro'), 'plain-file')
    writeFileSync(file, 'x')
    // A path below a regular file cannot be created, even by root (ENOTDIR).
    const opened = await openOrBuild({ dir: join(file, 'cache'), name: 'n', version: '1', source: { token: 't' }, build: () => Buffer.from('value') })
    expect(opened.value.toString()).toBe('value')
    expect(opened.persisted).toBe(false)
    expect(opened.persistError).toMatchObject({ code: 'ERR_MODFORGE_IO', errno: onPosix ? 20 : expect.any(Number) })
  })

  it.runIf(onLinux)('reports persisted: false in a read-only folder for an unprivileged user', () => {
    const ro = dir('blob-ro-unprivileged')
    chmodSync(ro, 0o555)
    const result = runUnprivileged<{ value: string; persisted: boolean; code: string; errno: number }>(`
      const { openOrBuildSync } = require(MODFORGE)
      const o = openOrBuildSync({ dir: ${JSON.stringify(ro)}, name: 'n', version: '1', source: { token: 't' }, build: () => Buffer.from('v') })
      process.stdout.write(JSON.stringify({ value: o.value.toString(), persisted: o.persisted, code: o.persistError.code, errno: o.persistError.errno }))
    `)
    expect(result).toEqual({ value: 'v', persisted: false, code: 'ERR_MODFORGE_IO', errno: 13 })
  })

  it('rejects with the error build throws and writes nothing; aborts with ABORT_ERR', async () => {
    const d = dir('blob-errors')
    const failure = new Error('no source')
    await expect(openOrBuild({ dir: d, name: 'n', version: '1', source: { token: 't' }, build: () => { throw failure } })).rejects.toBe(failure)
    expect(readdirSync(d)).toEqual([])
    await expect(
      openOrBuild({ dir: d, name: 'n', version: '1', source: { token: 't' }, build: () => Buffer.from('x'), signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' })
    expect(() => openOrBuildSync({ dir: d, name: 'n', version: '1', source: { token: 't' }, build: () => 'text' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_MODFORGE_INVALID_ARG' }),
    )
    await expect(getBlob({ dir: d, name: 'N_', version: '1', source: {} as never })).rejects.toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG' })
    const removed = await invalidate({ dir: d, name: 'n' })
    expect(removed).toEqual({ removed: 0, deferred: 0 })
  })

  it('fingerprints source files by content', async () => {
    const d = dir('blob-files')
    const source = join(d, 'source.txt')
    writeFileSync(source, 'one')
    const options = { dir: join(d, 'cache'), name: 'n', version: '1', source: { files: [source] }, build: () => readFileSync(source) }
    expect((await openOrBuild(options)).loaded).toBe(false)
    expect((await openOrBuild(options)).loaded).toBe(true)
    writeFileSync(source, 'two')
    const changed = await openOrBuild(options)
    expect(changed).toMatchObject({ loaded: false, rejected: { code: 'stale' } })
    expect(changed.value.toString()).toBe('two')
  })
})

describe('datasets', () => {
  it('reads the CSV test vectors', () => {
    const d = dir('csv-vectors')
    const open = (csv: string, extra: object = {}) =>
      openDatasetSync({ dir: d, name: `t${Math.random().toString(36).slice(2)}`, version: '1', source: { token: csv }, tables: { t: Buffer.from(csv) }, ...extra }).value.table('t')!
    expect(open('k,v\r\n1,"x,y"\r\n').row(0)).toEqual({ k: '1', v: 'x,y' })
    expect(open('k,v\n1,"say ""hi"""\n').row(0)).toEqual({ k: '1', v: 'say "hi"' })
    const multiline = open('k,v\n1,"a\nb"\n')
    expect(multiline.length).toBe(1)
    expect(multiline.row(0)).toEqual({ k: '1', v: 'a\nb' })
    expect(open('\uFEFFk,v\n1,2').columns).toEqual(['k', 'v'])
    expect(open('k,v\n1,,\n').row(0)).toEqual({ k: '1', v: ',' })
    expect(open('k,v,w\n1\n').row(0)).toEqual({ k: '1', v: '', w: '' })
    const dup = open('k,v\na,1\na,2\n')
    expect(dup.get('a')).toEqual({ k: 'a', v: '1' })
    expect(open('k,v\n1,a"b\n').row(0)).toEqual({ k: '1', v: 'a"b' })
    const proto = open('__proto__,v\nx,1\n').row(0)!
    expect(Object.getOwnPropertyNames(proto)).toEqual(['__proto__', 'v'])
    expect(Object.getOwnPropertyDescriptor(proto, '__proto__')?.value).toBe('x')
    expect(() => open('k,v\n1,"abc')).toThrow(expect.objectContaining({ code: 'ERR_MODFORGE_FORMAT', offset: 6 }))
    expect(() => open('k,k\n1,2\n')).toThrow(expect.objectContaining({ code: 'ERR_MODFORGE_FORMAT' }))
    expect(() =>
      openDatasetSync({ dir: d, name: 'vc', versionColumn: 'version', source: { token: 'x' }, tables: { t: Buffer.from('version,k\nv1,a\nv2,b\n') } }),
    ).toThrow(expect.objectContaining({ code: 'ERR_MODFORGE_FORMAT' }))
  })

  it('reports duplicates, empty keys and ragged rows with their row numbers', () => {
    const d = dir('report')
    const csv = 'k,v\na,1\n,2\na,3\nb,4,extra\nc\n'
    const { value } = openDatasetSync({ dir: d, name: 'r', version: '1', source: { token: 'r' }, tables: { t: Buffer.from(csv) } })
    expect(value.report.t).toMatchObject({
      rows: 5,
      duplicates: [{ key: 'a', rows: [0, 2] }],
      emptyKeys: 1,
      longRows: 1,
      longRowNumbers: [3],
      shortRows: 1,
      shortRowNumbers: [4],
      bomStripped: false,
    })
    expect(value.table('t')!.row(3)).toEqual({ k: 'b', v: '4,extra' })
    expect(() =>
      openDatasetSync({ dir: d, name: 'strict', version: '1', source: { token: 'r' }, ragged: 'error', tables: { t: Buffer.from(csv) } }),
    ).toThrow(expect.objectContaining({ code: 'ERR_MODFORGE_FORMAT' }))
  })

  it('takes rows from JS, stringifies numbers and names a bad cell', async () => {
    const d = dir('rows')
    const { value } = await openDataset({
      dir: d,
      name: 'rows',
      version: '3',
      source: { token: 'rows' },
      key: { people: 'id' },
      tables: {
        people: { rows: [{ name: 'Ann', id: 7 }, { name: 'Bo', id: 8.5 }] },
        pairs: { columns: ['a', 'b'], rows: [['x', 'y'], ['z', 'w']] },
      },
    })
    expect(value.tables).toEqual(['people', 'pairs'])
    const people = value.table('people')!
    expect(people.key).toBe('id')
    expect(people.get('8.5')).toEqual({ name: 'Bo', id: '8.5' })
    expect([...value.table('pairs')!.rows()]).toEqual([{ a: 'x', b: 'y' }, { a: 'z', b: 'w' }])
    expect(value.table('missing')).toBeUndefined()
    await expect(
      openDataset({ dir: d, name: 'bad', version: '1', source: { token: 'b' }, tables: { t: { columns: ['a'], rows: [[{}]] } } }),
    ).rejects.toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG', message: expect.stringContaining("table 't', row 0, column 'a'") })
    await expect(
      openDataset({ dir: d, name: 'bad', version: '1', source: { token: 'b' }, tables: { t: { columns: 'a' as never, rows: [] } } }),
    ).rejects.toMatchObject({ code: 'ERR_MODFORGE_INVALID_ARG', message: expect.stringContaining('options.tables.t.columns must be an array of strings') })
    await expect(getBlob({ dir: d, name: 'n', version: '1', source: { token: 5 as never } })).rejects.toMatchObject({
      code: 'ERR_MODFORGE_INVALID_ARG',
    })
  })

  it('closes: later reads throw, closing twice is harmless', async () => {
    const d = dir('close')
    const options = { dir: d, name: 'c', version: '1', source: { token: 'c' }, tables: { t: Buffer.from('k\na\n') } }
    const { value } = await Dataset.open(options)
    expect(Dataset.openSync(options).loaded).toBe(true)
    const t = value.table('t')!
    value.close()
    for (const call of [() => t.get('a'), () => t.row(0), () => t.column('k'), () => value.report]) {
      expect(call).toThrow(expect.objectContaining({ code: 'ERR_MODFORGE_INVALID_ARG', message: 'the dataset is closed' }))
    }
    value.close()
    // The metadata read at open stays available.
    expect(value.version).toBe('1')
    expect(t.length).toBe(1)
  })

  describe('on the generated dalle-shaped data', () => {
    let set: GeneratedDataset
    let tables: Record<string, string>
    let cache: string
    beforeAll(async () => {
      set = await generateDataset(dir('dalle-csv'), { seed: 3 })
      tables = Object.fromEntries(set.tables.map((table) => [table.name, table.path]))
      cache = dir('dalle-cache')
    })

    it('builds with progress, reopens from disk, looks up and joins', async () => {
      const events: string[] = []
      const built = await openDataset({ dir: cache, name: 'db', versionColumn: 'version', tables, onProgress: (e) => events.push(e.stage) })
      expect(built).toMatchObject({ loaded: false, persisted: true })
      expect(events).toContain('parse')
      built.value.close()
      const warm = await openDataset({ dir: cache, name: 'db', versionColumn: 'version', tables })
      expect(warm.loaded).toBe(true)
      const db = warm.value
      expect(db.version).toBe(set.version)
      expect(db.tables).toEqual(set.tables.map((table) => table.name))
      for (const table of set.tables) expect(db.table(table.name)!.length).toBe(table.rows)
      const nouns = db.table('nouns')!
      expect(nouns.columns).not.toContain('version')
      let joined = 0
      for (const noun of nouns.rows()) {
        const family = db.table('families')!.get(noun.family)
        const order = family && db.table('orders')!.get(family.order)
        const cls = order && db.table('classes')!.get(order.class)
        const phylum = cls && db.table('phyla')!.get(cls.phylum)
        if (phylum) joined += 1
      }
      expect(joined).toBe(nouns.length)
      expect(db.report.places.duplicates.length).toBeGreaterThan(0)
      expect(nouns.column('family')).toHaveLength(nouns.length)
      expect(() => nouns.column('nope')).toThrow(expect.objectContaining({ code: 'ERR_MODFORGE_INVALID_ARG' }))
      db.close()
    })

    it('calls a tables function only when the snapshot cannot be used', async () => {
      let calls = 0
      const options = {
        dir: join(cache, 'lazy'),
        name: 'lazy',
        version: '1',
        source: { files: Object.values(tables) },
        tables: () => {
          calls += 1
          return tables
        },
      }
      expect((await openDataset(options)).loaded).toBe(false)
      expect((await openDataset(options)).loaded).toBe(true)
      expect(openDatasetSync(options).loaded).toBe(true)
      expect(calls).toBe(1)
    })
  })
})

describe.runIf(onPosix)('crash safety across processes', () => {
  it('readers only ever see the old or the new snapshot while writers are killed mid-write', async () => {
    const d = dir('kill')
    // Both child scripts share these definitions: a snapshot per source token, 3 MiB of that letter.
    const common = `
      const modforge = require(${JSON.stringify(ROOT)})
      const spec = (token) => ({ dir: ${JSON.stringify(d)}, name: 'k', version: '1', source: { token } })
      const payload = (token) => Buffer.alloc(3 << 20, token)
    `
    const writer = `${common}
      for (let i = 0; ; i++) { const t = i % 2 ? 'A' : 'B'; modforge.putBlobSync(spec(t), payload(t)) }
    `
    const reader = `${common}
      const seen = { A: 0, B: 0, other: 0 }
      const until = Date.now() + 3000
      while (Date.now() < until) {
        for (const t of ['A', 'B']) {
          const got = modforge.getBlobSync(spec(t))
          if (got.bytes) got.bytes.equals(payload(t)) ? seen[t]++ : seen.other++
          else if (got.reason.code === 'corrupt') seen.other++
        }
      }
      process.stdout.write(JSON.stringify(seen))
    `
    // A complete snapshot exists before the first writer starts, so every read finds A or B.
    spawnSync(process.execPath, ['-e', `${common} modforge.putBlobSync(spec('A'), payload('A'))`])
    const readers = [0, 1].map(() => spawn(process.execPath, ['-e', reader]))
    const outputs = readers.map(
      (child) =>
        new Promise<string>((resolveOutput) => {
          let text = ''
          child.stdout.on('data', (chunk) => (text += chunk))
          child.on('close', () => resolveOutput(text))
        }),
    )
    let kills = 0
    const until = Date.now() + 2500
    while (Date.now() < until) {
      const child = spawn(process.execPath, ['-e', writer])
      await new Promise((wait) => setTimeout(wait, 40 + Math.random() * 120))
      child.kill('SIGKILL')
      await new Promise((wait) => child.on('close', wait))
      kills += 1
    }
    const seen = (await Promise.all(outputs)).map((text) => JSON.parse(text) as Record<string, number>)
    for (const counts of seen) {
      expect(counts.other).toBe(0)
      expect(counts.A + counts.B).toBeGreaterThan(0)
    }
    expect(kills).toBeGreaterThan(5)
    const after = spawnSync(process.execPath, ['-e', `${common}
      const o = modforge.openOrBuildSync({ ...spec('A'), build: () => payload('A') })
      modforge.cleanStoreSync(${JSON.stringify(d)})
      process.stdout.write(JSON.stringify({ ok: o.value.equals(payload('A')) }))
    `], { encoding: 'utf8' })
    expect(JSON.parse(after.stdout)).toEqual({ ok: true })
    expect(readdirSync(d).filter((name) => name.endsWith('.tmp'))).toEqual([])
  })
})
