/**
 * What first users and hostile files did to the store, through the public API: a snapshot
 * truncated while open, FIFOs in a snapshot's place, unclosed datasets, shipped snapshots, path
 * spellings and table order, delimiters, progress units, key warnings, lookups, names.
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, linkSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import {
  Dataset,
  cleanStore,
  generateDataset,
  getBlob,
  inspectSnapshot,
  invalidate,
  openDataset,
  openDatasetFile,
  openDatasetFileSync,
  openDatasetSync,
  openOrBuild,
  putBlob,
  putBlobSync,
  readBlobFile,
  readBlobFileSync,
  verifySnapshots,
  type GeneratedDataset,
} from 'modforge'
import { ROOT, onPosix, removeTree, tempDir } from './helpers'

let work: string
beforeAll(() => {
  work = tempDir('hardening')
})
afterAll(() => removeTree(work))

/** A fresh folder for one test. */
function dir(name: string): string {
  const path = join(work, name)
  mkdirSync(path, { recursive: true })
  return path
}

/** Runs `script` (CommonJS, `modforge` as `m`) in a Node child with `args`; its status, signal and output. */
function child(script: string, args: string[] = [], timeout = 60_000) {
  const program = `const m = require(${JSON.stringify(ROOT)});\n${script}`
  const result = spawnSync(process.execPath, [...args, '-e', program], { encoding: 'utf8', timeout, maxBuffer: 1 << 24 })
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr }
}

/** The payload kind of datasets: a blob of this kind is opened, inspected and verified as a dataset. */
const DATASET_KIND = 'modforge.dataset@1'

/**
 * A dataset payload laid out by hand (docs/store.md, "Payload layout"): sections at explicit
 * offsets, shared when a test says so, as a crafted file can have them and the encoder never writes.
 */
class RawPayload {
  readonly bytes: Buffer
  constructor(length: number) {
    this.bytes = Buffer.alloc(length)
  }
  header(tables: number, names: [number, number], report: [number, number]): void {
    this.bytes.writeUInt32LE(tables, 0)
    this.bytes.writeBigUInt64LE(BigInt(names[0]), 8)
    this.bytes.writeBigUInt64LE(BigInt(names[1]), 16)
    this.bytes.writeBigUInt64LE(48n, 24)
    this.bytes.writeBigUInt64LE(BigInt(report[0]), 32)
    this.bytes.writeBigUInt64LE(BigInt(report[1]), 40)
  }
  table(at: number, name: [number, number], rows: number, columns: number, columnsAt: number, slots: number, indexAt: number): void {
    const b = this.bytes
    b.writeUInt32LE(name[0], at)
    b.writeUInt32LE(name[1], at + 4)
    b.writeUInt32LE(rows, at + 8)
    b.writeUInt32LE(columns, at + 12)
    b.writeUInt32LE(0, at + 16)
    b.writeUInt32LE(slots, at + 20)
    b.writeBigUInt64LE(BigInt(columnsAt), at + 24)
    b.writeBigUInt64LE(BigInt(indexAt), at + 32)
  }
  column(at: number, name: [number, number], offsetsAt: number, blob: [number, number]): void {
    const b = this.bytes
    b.writeUInt32LE(name[0], at)
    b.writeUInt32LE(name[1], at + 4)
    b.writeBigUInt64LE(BigInt(offsetsAt), at + 8)
    b.writeBigUInt64LE(BigInt(blob[0]), at + 16)
    b.writeBigUInt64LE(BigInt(blob[1]), at + 24)
  }
}

/** Letters drawn from a fixed sequence, so overlapping runs of them are all different names. */
function nameBytes(length: number): Buffer {
  let state = 77
  return Buffer.from(Array.from({ length }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31
    return 97 + (state % 26)
  }))
}

const roundUp8 = (n: number) => Math.ceil(n / 8) * 8
const REPORT = Buffer.from('{"tables":[]}')

/**
 * The file of issue 7.1: 2,000 tables sharing one array of 2,040 columns whose names are 1,000
 * bytes long (overlapping runs of one names blob). Opening it copied every column name once per
 * table: about 4 GB for this 165 KB file.
 */
function sharedColumnArray(): Buffer {
  const [tables, columns, long] = [2000, 2040, 1000]
  const columnsAt = 48 + tables * 48
  const offsetsAt = columnsAt + columns * 32
  const blobAt = offsetsAt + 8
  const indexAt = blobAt + 8
  const namesAt = indexAt + 8
  const names = nameBytes(columns + long + 64)
  const reportAt = namesAt + roundUp8(names.length)
  const raw = new RawPayload(reportAt + REPORT.length)
  raw.header(tables, [namesAt, names.length], [reportAt, REPORT.length])
  for (let t = 0; t < tables; t += 1) raw.table(48 + t * 48, [t, 64], 1, columns, columnsAt, 2, indexAt)
  for (let c = 0; c < columns; c += 1) raw.column(columnsAt + c * 32, [c, long], offsetsAt, [blobAt, 1])
  raw.bytes.writeUInt32LE(1, offsetsAt + 4)
  raw.bytes.write('x', blobAt)
  raw.bytes.writeUInt32LE(0, indexAt)
  raw.bytes.writeUInt32LE(0xffffffff, indexAt + 4)
  names.copy(raw.bytes, namesAt)
  REPORT.copy(raw.bytes, reportAt)
  return raw.bytes
}

/**
 * Issue 7.2: 100 tables x 50 columns, every column pointing at one offsets array of 30,000 rows
 * and one text: `verify` walked 1.5 x 10^8 cells for a file of about half a MB (10^11 and more
 * at other sizes).
 */
function sharedOffsetsArrays(): Buffer {
  const [tables, columns, rows] = [100, 50, 30_000]
  const columnsAt = 48 + tables * 48
  const offsetsAt = columnsAt + tables * columns * 32
  const blobAt = roundUp8(offsetsAt + (rows + 1) * 4)
  const indexAt = roundUp8(blobAt + rows)
  const slots = 2 ** Math.ceil(Math.log2(rows * 2))
  const namesAt = indexAt + slots * 4
  const names = nameBytes(tables + columns + 8)
  const reportAt = namesAt + roundUp8(names.length)
  const raw = new RawPayload(reportAt + REPORT.length)
  raw.header(tables, [namesAt, names.length], [reportAt, REPORT.length])
  for (let t = 0; t < tables; t += 1) {
    const own = columnsAt + t * columns * 32
    raw.table(48 + t * 48, [t, 4], rows, columns, own, slots, indexAt)
    for (let c = 0; c < columns; c += 1) raw.column(own + c * 32, [c, 12], offsetsAt, [blobAt, rows])
  }
  for (let r = 0; r <= rows; r += 1) raw.bytes.writeUInt32LE(r, offsetsAt + r * 4)
  raw.bytes.fill('k', blobAt, blobAt + rows)
  raw.bytes.fill(0xff, indexAt, indexAt + slots * 4)
  names.copy(raw.bytes, namesAt)
  REPORT.copy(raw.bytes, reportAt)
  return raw.bytes
}

/**
 * Issue 7.2: 4,000 tables sharing one array of 10,000 columns: the duplicate-column check was
 * quadratic and ran once per table (minutes for this half-MB file).
 */
function sharedWideColumnArray(): Buffer {
  const [tables, columns] = [4000, 10_000]
  const columnsAt = 48 + tables * 48
  const offsetsAt = columnsAt + columns * 32
  const indexAt = offsetsAt + 8
  const namesAt = indexAt + 8
  const names = nameBytes(columns + tables + 16)
  const reportAt = namesAt + roundUp8(names.length)
  const raw = new RawPayload(reportAt + REPORT.length)
  raw.header(tables, [namesAt, names.length], [reportAt, REPORT.length])
  for (let t = 0; t < tables; t += 1) raw.table(48 + t * 48, [t, 8], 0, columns, columnsAt, 2, indexAt)
  for (let c = 0; c < columns; c += 1) raw.column(columnsAt + c * 32, [c, 8], offsetsAt, [indexAt, 0])
  raw.bytes.fill(0xff, indexAt, indexAt + 8)
  names.copy(raw.bytes, namesAt)
  REPORT.copy(raw.bytes, reportAt)
  return raw.bytes
}

/** Writes `payload` as a dataset snapshot with correct checksums (through the blob API) and returns its path. */
function sealedDataset(d: string, name: string, payload: Buffer): string {
  return putBlobSync({ dir: d, name, version: '1', kind: DATASET_KIND, source: { token: name } }, payload).path
}

/** The payload of a small dataset built by the encoder, and the offset of its report and names. */
function builtPayload(d: string): Buffer {
  const built = openDatasetSync({
    dir: d,
    name: 'real',
    version: '1',
    source: { token: 'real' },
    tables: { a: { columns: ['k', 'v'], rows: [['1', 'one'], ['2', 'two']] }, b: Buffer.from('x,y\n3,4\n') },
  })
  built.value.close()
  return readFileSync(built.path).subarray(192)
}

describe('crafted dataset payloads with correct checksums', () => {
  it('refuses the 165 KB shared-column file at once, with Corrupt and bounded memory (open, inspect, verify)', () => {
    const payload = sharedColumnArray()
    expect(payload.length + 192).toBeGreaterThan(164_000)
    expect(payload.length + 192).toBeLessThan(166_000)
    const path = sealedDataset(dir('crafted-columns'), 'c', payload)
    // In a child, whose peak resident memory is its own: before, this took about 4 GB or aborted.
    const run = child(`
      const out = {}
      try { m.openDatasetFileSync(${JSON.stringify(path)}); out.open = 'opened' } catch (e) { out.open = e.code }
      out.inspect = m.inspectSnapshotSync(${JSON.stringify(path)}).checks.filter((c) => !c.ok).map((c) => [c.name, c.reason.code])
      out.verify = m.verifySnapshotsSync(${JSON.stringify(path)}).map((v) => v.ok)
      out.peak = process.resourceUsage().maxRSS * 1024
      process.stdout.write(JSON.stringify(out))
    `)
    expect(run.signal).toBeNull()
    const out = JSON.parse(run.stdout) as { open: string; inspect: string[][]; verify: boolean[]; peak: number }
    expect(out.open).toBe('ERR_MODFORGE_CORRUPT')
    expect(out.inspect).toEqual([['structure', 'corrupt']])
    expect(out.verify).toEqual([false])
    expect(out.peak).toBeLessThan(400e6)
  })

  it('refuses shared offsets arrays and a shared wide column array at open and in verify, so verify never walks them', async () => {
    const d = dir('crafted-shared')
    for (const [name, payload] of [['offsets', sharedOffsetsArrays()], ['wide', sharedWideColumnArray()]] as const) {
      const path = sealedDataset(d, name, payload)
      expect(() => openDatasetFileSync(path)).toThrow(expect.objectContaining({ code: 'ERR_MODFORGE_CORRUPT' }))
      const [verified] = await verifySnapshots(path)
      expect(verified.ok).toBe(false)
      expect(verified.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['structure'])
      // No cell was walked: the full walk runs only on a structure that passed.
      expect(verified.details?.cells).toBeUndefined()
    }
  })

  it('refuses a broken report at open, so dataset.report never throws a plain SyntaxError or TypeError', () => {
    const d = dir('crafted-report')
    const original = builtPayload(d)
    const reportAt = Number(original.readBigUInt64LE(32))
    const reportLength = Number(original.readBigUInt64LE(40))
    const report = original.subarray(reportAt, reportAt + reportLength).toString()
    for (const [index, variant] of ['#', '{"tables":{}}', '[]', 'null', report.replace('"a"', '"z"')].entries()) {
      const payload = Buffer.from(original)
      payload.fill(' ', reportAt, reportAt + reportLength)
      payload.write(variant, reportAt)
      const path = sealedDataset(d, `report${index}`, payload)
      expect(() => openDatasetFileSync(path), variant).toThrow(
        expect.objectContaining({ code: 'ERR_MODFORGE_CORRUPT', offset: 192 + reportAt }),
      )
    }
    // The report as built opens and reads.
    const intact = openDatasetFileSync(sealedDataset(d, 'intact', original))
    expect(Object.keys(intact.report)).toEqual(['a', 'b'])
    expect(intact.report.a.rows).toBe(2)
    intact.close()
  })

  it('refuses a NUL in a stored table or column name at open and in verify', async () => {
    const d = dir('crafted-nul')
    const original = builtPayload(d)
    const namesAt = Number(original.readBigUInt64LE(8))
    // The names blob holds each table's name, then its columns' names: "a", "k", "v", "b", "x", "y".
    expect(original.subarray(namesAt, namesAt + 6).toString()).toBe('akvbxy')
    for (const at of [0, 1, 5]) {
      const payload = Buffer.from(original)
      payload[namesAt + at] = 0
      const path = sealedDataset(d, `nul${at}`, payload)
      expect(() => openDatasetFileSync(path)).toThrow(expect.objectContaining({ code: 'ERR_MODFORGE_CORRUPT' }))
      expect((await verifySnapshots(path)).map((v) => v.ok)).toEqual([false])
    }
  })
})

describe('files that change or are not files', () => {
  it('serves the rows it opened when another program truncates the snapshot file (no SIGBUS)', () => {
    const d = dir('truncate')
    const rows = Array.from({ length: 20_000 }, (_, i) => [`key${i}`, `value ${i} ${'x'.repeat(40)}`])
    const options = { dir: d, name: 'big', version: '1', source: { token: 'big' } }
    expect(openDatasetSync({ ...options, tables: { t: { columns: ['k', 'v'], rows } } }).persisted).toBe(true)
    // The child opens the same snapshot from disk (its tables are given only for the plan).
    const run = child(`
      const fs = require('fs')
      const opened = m.openDatasetSync({ ...${JSON.stringify(options)}, tables: { t: { columns: ['k', 'v'], rows: [] } } })
      fs.truncateSync(opened.path, 0)
      const t = opened.value.table('t')
      let bytes = 0
      for (const row of t.rows()) bytes += row.k.length + row.v.length
      process.stdout.write(JSON.stringify({ loaded: opened.loaded, bytes, last: t.get('key19999').v }))
    `)
    expect(run.signal).toBeNull()
    expect(run.status).toBe(0)
    const expected = rows.reduce((sum, [k, v]) => sum + k.length + v.length, 0)
    expect(JSON.parse(run.stdout)).toEqual({ loaded: true, bytes: expected, last: rows[19_999][1] })
  })

  it.runIf(onPosix)('answers at once when a FIFO is named like a snapshot, also with an aborted signal', () => {
    const d = dir('fifo')
    for (const file of ['b_1.mfs', 'd_1.mfs']) expect(spawnSync('mkfifo', [join(d, file)]).status).toBe(0)
    // In a child with a time limit: before, every one of these calls blocked in open(2) forever.
    const run = child(`
      (async () => {
        const spec = { dir: ${JSON.stringify(d)}, name: 'b', version: '1', source: { token: 't' } }
        const out = {}
        out.getBlob = (await m.getBlob(spec)).reason.code
        out.getBlobSync = m.getBlobSync(spec).reason.code
        out.aborted = await m.openOrBuild({ ...spec, build: () => Buffer.from('x'), signal: AbortSignal.abort() }).catch((e) => e.code)
        const inspected = await m.inspectSnapshot(${JSON.stringify(join(d, 'b_1.mfs'))})
        out.inspect = [inspected.ok, inspected.checks[0].name]
        out.verify = (await m.verifySnapshots(${JSON.stringify(d)})).map((v) => v.ok)
        out.file = await m.readBlobFile(${JSON.stringify(join(d, 'b_1.mfs'))}).catch((e) => e.code)
        out.datasetFile = await m.openDatasetFile(${JSON.stringify(join(d, 'd_1.mfs'))}).catch((e) => e.code)
        const dataset = await m.openDataset({ ...spec, name: 'd', tables: { t: Buffer.from('k\\n1\\n') } })
        out.dataset = [dataset.loaded, dataset.rejected.code, dataset.persisted, dataset.value.table('t').get('1')]
        // Without a signal the snapshot is built and renamed over the FIFO.
        const built = await m.openOrBuild({ ...spec, build: () => Buffer.from('x') })
        out.built = [built.loaded, built.rejected.code, built.persisted, (await m.getBlob(spec)).bytes.toString()]
        process.stdout.write(JSON.stringify(out))
      })()
    `, [], 30_000)
    expect(run.signal).toBeNull()
    expect(JSON.parse(run.stdout)).toEqual({
      getBlob: 'missing',
      getBlobSync: 'missing',
      aborted: 'ABORT_ERR',
      inspect: [false, 'file'],
      verify: [false, false],
      file: 'ERR_MODFORGE_INVALID_ARG',
      datasetFile: 'ERR_MODFORGE_INVALID_ARG',
      dataset: [false, 'missing', true, { k: '1' }],
      built: [false, 'missing', true, 'x'],
    })
  })

  it('finalises datasets that are never closed: 70,000 opens complete with bounded memory', () => {
    const d = dir('unclosed')
    const rows = Array.from({ length: 2_000 }, (_, i) => [`k${i}`, 'v'.repeat(24)])
    const { path } = openDatasetSync({ dir: d, name: 'u', version: '1', source: { token: 'u' }, tables: { t: { columns: ['k', 'v'], rows } } })
    const size = readFileSync(path).length
    // 70,000 x ~60 KB would be about 4 GB if nothing were released.
    // The program yields now and then, as any program does: finalizers run between tasks.
    const run = child(`
      (async () => {
        let found = 0
        for (let i = 0; i < 70000; i += 1) {
          const ds = m.openDatasetFileSync(${JSON.stringify(path)})
          if (ds.table('t').length === 2000) found += 1
          if (i % 500 === 499) await new Promise((resolve) => setImmediate(resolve))
        }
        process.stdout.write(JSON.stringify({ found, rss: process.memoryUsage().rss }))
      })()
    `, [], 600_000)
    expect(run.signal).toBeNull()
    const { found, rss } = JSON.parse(run.stdout) as { found: number; rss: number }
    expect(found).toBe(70_000)
    expect(size * 70_000).toBeGreaterThan(4e9)
    expect(rss).toBeLessThan(1.5e9)
  })

  it('closes the native side of datasets collected unclosed (under --expose-gc)', () => {
    const d = dir('collected')
    const { path } = openDatasetSync({ dir: d, name: 'c', version: '1', source: { token: 'c' }, tables: { t: Buffer.from('k,v\na,1\n') } })
    // Handles are numbered from 1 in a fresh process; the binding answers for a handle until it is closed.
    const run = child(`
      (async () => {
        const binding = require(${JSON.stringify(join(ROOT, 'dist/binding.js'))})
        const report = (handle) => { try { return JSON.parse(binding.datasetReport(handle)).tables.length } catch (e) { return e.code + ': ' + e.message } }
        let dropped = Array.from({ length: 100 }, () => m.openDatasetFileSync(${JSON.stringify(path)}))
        const kept = m.openDatasetFileSync(${JSON.stringify(path)})
        const before = [report(1), report(100), report(101)]
        dropped = null
        for (let i = 0; i < 4; i += 1) {
          gc()
          await new Promise((resolve) => setImmediate(resolve))
        }
        const closed = Array.from({ length: 100 }, (_, i) => report(i + 1)).filter((r) => r === 'ERR_MODFORGE_INVALID_ARG: the dataset is closed').length
        process.stdout.write(JSON.stringify({ before, closed, kept: [report(101), kept.table('t').get('a')] }))
      })()
    `, ['--expose-gc'])
    expect(run.signal).toBeNull()
    expect(JSON.parse(run.stdout)).toEqual({ before: [1, 1, 1], closed: 100, kept: [1, { k: 'a', v: '1' }] })
  })

  it('reports the bytes of open datasets to V8, so unclosed ones are collected though they hold little JavaScript', () => {
    const d = dir('external')
    // About 28 MB read into memory per open, and a few objects of JavaScript: without the bytes
    // reported as external memory nothing would make V8 collect, and 100 opens would hold 2.8 GB.
    const rows = Array.from({ length: 300_000 }, (_, i) => [`key${i}`, `${i}`.padStart(64, '.')])
    const { path } = openDatasetSync({ dir: d, name: 'x', version: '1', source: { token: 'x' }, tables: { t: { columns: ['k', 'v'], rows } } })
    const size = readFileSync(path).length
    expect(size).toBeGreaterThan(20e6)
    const run = child(`
      (async () => {
        let found = 0
        for (let i = 0; i < 100; i += 1) {
          if (m.openDatasetFileSync(${JSON.stringify(path)}).table('t').length === 300000) found += 1
          if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve))
        }
        process.stdout.write(JSON.stringify({ found, peak: process.resourceUsage().maxRSS * 1024 }))
      })()
    `)
    expect(run.signal).toBeNull()
    const { found, peak } = JSON.parse(run.stdout) as { found: number; peak: number }
    expect(found).toBe(100)
    expect(size * 100).toBeGreaterThan(2.5e9)
    expect(peak).toBeLessThan(1e9)
  }, 300_000)

  it("refuses '' as a folder everywhere instead of writing into the working directory", async () => {
    const snapshot = { dir: '', name: 'n', version: '1', source: { token: 't' } }
    const invalid = { code: 'ERR_MODFORGE_INVALID_ARG' }
    await expect(openOrBuild({ ...snapshot, build: () => Buffer.from('x') })).rejects.toMatchObject(invalid)
    await expect(putBlob(snapshot, Buffer.from('x'))).rejects.toMatchObject(invalid)
    await expect(getBlob(snapshot)).rejects.toMatchObject(invalid)
    await expect(invalidate({ dir: '', name: 'n' })).rejects.toMatchObject(invalid)
    await expect(cleanStore('')).rejects.toMatchObject(invalid)
    await expect(openDataset({ ...snapshot, tables: { t: Buffer.from('k\n1\n') } })).rejects.toMatchObject(invalid)
  })

  it('never lets two names with lone surrogates share a file or a token share a fingerprint', async () => {
    const d = dir('surrogates')
    for (const name of ['\ud800', '\udfff', 'a\ud800b']) {
      await expect(putBlob({ dir: d, name, version: '1', source: { token: 't' } }, Buffer.from('x'))).rejects.toMatchObject({
        code: 'ERR_MODFORGE_INVALID_ARG',
      })
    }
    await expect(getBlob({ dir: d, name: 'n', version: '1', source: { token: '\udfff' } })).rejects.toMatchObject({
      code: 'ERR_MODFORGE_INVALID_ARG',
    })
    // A well-formed pair is fine, and readable in the file name.
    const put = putBlobSync({ dir: d, name: 'Emoji😀', version: '1', source: { token: 't' } }, Buffer.from('x'))
    expect(relative(d, put.path)).toBe('+Emoji%F0%9F%98%80_1.mfs')
  })
})

describe('shipped snapshots', () => {
  it('open by path without their CSVs or source: datasets and blobs, read-only', async () => {
    const build = dir('ship-build')
    const csv = join(build, 'words.csv')
    writeFileSync(csv, 'word,meaning\nsun,star\nmoon,satellite\n')
    const built = openDatasetSync({ dir: build, name: 'db', version: '7', tables: { words: csv } })
    const app = dir('ship-app')
    const shipped = join(app, 'db.mfs')
    copyFileSync(built.path, shipped)
    built.value.close()
    rmSync(csv)

    const ds = await openDatasetFile(shipped)
    expect(ds.version).toBe('7')
    expect(ds.table('words')!.get('moon')).toEqual({ word: 'moon', meaning: 'satellite' })
    ds.close()
    expect((await Dataset.open(shipped)).tables).toEqual(['words'])
    expect(Dataset.openSync(shipped).table('words')!.length).toBe(2)

    const blob = putBlobSync({ dir: build, name: 'icons', version: '3', kind: 'icons@1', source: { token: 'gone' } }, Buffer.from('payload'))
    const file = await readBlobFile(blob.path, { kind: 'icons@1' })
    expect([file.bytes.toString(), file.version]).toEqual(['payload', '3'])
    expect(readBlobFileSync(blob.path, { kind: 'icons@1' }).bytes.toString()).toBe('payload')
    await expect(readBlobFile(blob.path)).rejects.toMatchObject({ code: 'ERR_MODFORGE_FORMAT', offset: 16 })
    expect(() => openDatasetFileSync(blob.path)).toThrow(expect.objectContaining({ code: 'ERR_MODFORGE_FORMAT' }))
    await expect(openDatasetFile(join(app, 'none.mfs'))).rejects.toMatchObject({ code: 'ERR_MODFORGE_IO' })
    const damaged = readFileSync(shipped)
    damaged[damaged.length - 1] ^= 0x20
    writeFileSync(shipped, damaged)
    await expect(openDatasetFile(shipped)).rejects.toMatchObject({ code: 'ERR_MODFORGE_CORRUPT' })
    await expect(openDatasetFile(shipped, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORT_ERR' })
  })
})

describe('datasets from real folders', () => {
  let set: GeneratedDataset
  let tables: Record<string, string>
  beforeAll(async () => {
    set = await generateDataset(dir('dalle-csv'), { seed: 5 })
    tables = Object.fromEntries(set.tables.map((table) => [table.name, table.path]))
  })

  it('are not stale when the CSVs are named by other paths, listed in another order or copied elsewhere', async () => {
    const cache = dir('not-stale')
    const options = { dir: cache, name: 'db', versionColumn: 'version' }
    expect((await openDataset({ ...options, tables })).loaded).toBe(false)
    const reversed = Object.fromEntries(Object.entries(tables).reverse().map(([name, path]) => [name, relative(process.cwd(), path)]))
    const again = await openDataset({ ...options, tables: reversed })
    expect(again.rejected).toBeUndefined()
    expect(again.loaded).toBe(true)
    again.value.close()
    const copy = dir('dalle-copy')
    const copied = Object.fromEntries(Object.entries(tables).map(([name]) => [name, join(copy, `${name}.csv`)]))
    for (const [name, path] of Object.entries(tables)) copyFileSync(path, copied[name])
    const moved = await openDataset({ ...options, tables: copied })
    expect(moved.loaded).toBe(true)
    moved.value.close()
  })

  it('report progress in rows, rows and bytes, each reaching its total', async () => {
    const last = new Map<string, { done: number; total: number | null }>()
    const totals = new Map<string, Set<number | null>>()
    const built = await openDataset({
      dir: dir('progress'),
      name: 'db',
      versionColumn: 'version',
      tables,
      onProgress: (event) => {
        last.set(event.stage, { done: event.done, total: event.total })
        totals.set(event.stage, (totals.get(event.stage) ?? new Set()).add(event.total))
      },
    })
    const size = readFileSync(built.path).length
    expect(last.get('parse')).toEqual({ done: set.rows, total: set.rows })
    expect(last.get('build')).toEqual({ done: set.rows, total: set.rows })
    expect(last.get('write')).toEqual({ done: size, total: size })
    for (const stage of ['parse', 'build', 'write']) expect(totals.get(stage)!.size).toBe(1)
    built.value.close()
  })

  it('warn in the report when the key column holds the version on every row', () => {
    const { value } = openDatasetSync({ dir: dir('warn'), name: 'db', version: 'v0.1.0', tables: { nouns: tables.nouns } })
    const report = value.report.nouns
    expect(report.warnings).toHaveLength(1)
    expect(report.warnings[0]).toContain('--version-column version')
    expect(report.duplicateRows).toBe(report.rows - 1)
    value.close()
  })
})

describe('datasets', () => {
  it('read CSV with a delimiter of ; or tab, joining extra fields with it', () => {
    const d = dir('delimiters')
    for (const [delimiter, csv] of [[';', 'k;v\na;"x;y"\nb;1;2\n'], ['\t', 'k\tv\na\t"x\ty"\nb\t1\t2\n']] as const) {
      const { value } = openDatasetSync({ dir: d, name: `d${delimiter.charCodeAt(0)}`, version: '1', source: { token: csv }, delimiter, tables: { t: Buffer.from(csv) } })
      const t = value.table('t')!
      expect(t.get('a')).toEqual({ k: 'a', v: `x${delimiter}y` })
      expect(t.get('b')).toEqual({ k: 'b', v: `1${delimiter}2` })
      value.close()
    }
    expect(() =>
      openDatasetSync({ dir: d, name: 'bad', version: '1', source: { token: 'x' }, delimiter: ':' as never, tables: { t: Buffer.from('k\n') } }),
    ).toThrow(expect.objectContaining({ code: 'ERR_MODFORGE_INVALID_ARG' }))
  })

  it("refuse tables given as a string, 0, true, NaN or null before any work, and write nothing", async () => {
    const d = dir('tables-type')
    for (const tables of ['abc', 'x'.repeat(1 << 20), 0, true, Number.NaN, null, 42n, Symbol('t'), ['a.csv']]) {
      const options = { dir: d, name: 'n', version: '1', source: { token: 't' }, tables: tables as never }
      const invalid = expect.objectContaining({ code: 'ERR_MODFORGE_INVALID_ARG', message: expect.stringContaining('tables') })
      expect(() => openDatasetSync(options)).toThrow(invalid)
      await expect(openDataset(options)).rejects.toEqual(invalid)
      await expect(openDataset({ ...options, tables: () => tables as never })).rejects.toEqual(invalid)
    }
    expect(readdirSync(d)).toEqual([])
  })

  it('build and reopen a CSV of 100,000 columns, reading its wide row', () => {
    const d = dir('wide')
    const columns = 100_000
    const header = Array.from({ length: columns }, (_, c) => `c${c}`).join(',')
    const row = Array.from({ length: columns }, (_, c) => String(c)).join(',')
    const csv = join(d, 'wide.csv')
    writeFileSync(csv, `${header}\n${row}\n`)
    const options = { dir: d, name: 'wide', version: '1', tables: { wide: csv } }
    const built = openDatasetSync(options)
    expect(built.loaded).toBe(false)
    built.value.close()
    const reopened = openDatasetSync(options)
    expect(reopened.loaded).toBe(true)
    const table = reopened.value.table('wide')!
    expect(table.columns).toHaveLength(columns)
    expect(table.columns[columns - 1]).toBe('c99999')
    const first = table.get('0')!
    expect(Object.keys(first)).toHaveLength(columns)
    expect(first.c99999).toBe('99999')
    expect(table.column('c54321')).toEqual(['54321'])
    reopened.value.close()
  })

  it('refuse a NUL in a table or column name at build', () => {
    const d = dir('nul')
    const open = (tables: object) => () => openDatasetSync({ dir: d, name: 'n', version: '1', source: { token: 'n' }, tables: tables as never })
    expect(open({ 'a\0b': { columns: ['k'], rows: [['1']] } })).toThrow(expect.objectContaining({ code: 'ERR_MODFORGE_INVALID_ARG' }))
    expect(open({ t: { columns: ['k', 'v\0w'], rows: [['1', '2']] } })).toThrow(expect.objectContaining({ code: 'ERR_MODFORGE_FORMAT' }))
    expect(open({ t: Buffer.from('k,v\0w\n1,2\n') })).toThrow(expect.objectContaining({ code: 'ERR_MODFORGE_FORMAT' }))
  })

  it('serve fresh row objects from lookups, first and repeated, numbers as keys, and stop after close', () => {
    const d = dir('lookups')
    const { value } = openDatasetSync({
      dir: d,
      name: 'l',
      version: '1',
      source: { token: 'l' },
      tables: {
        t: { columns: ['id', 'name', 'note'], rows: [[7, 'seven', 'é'], [8.5, 'eight and a half', ''], ['x', 'ex', '日本']] },
        proto: Buffer.from('__proto__,v\nx,1\n'),
      },
    })
    const t = value.table('t')!
    const first = t.get(7)
    expect(first).toEqual({ id: '7', name: 'seven', note: 'é' })
    const again = t.get('7')!
    expect(again).toEqual(first)
    expect(again).not.toBe(first)
    again.name = 'changed'
    expect(t.get(7)!.name).toBe('seven')
    expect(t.get(8.5)).toEqual({ id: '8.5', name: 'eight and a half', note: '' })
    expect(t.get('missing')).toBeUndefined()
    expect(t.get('missing')).toBeUndefined()
    expect(t.has('x')).toBe(true)
    expect(t.row(2)).toEqual({ id: 'x', name: 'ex', note: '日本' })
    expect(Object.keys(t.row(0)!)).toEqual(['id', 'name', 'note'])
    expect(t.row(3)).toBeUndefined()
    expect(t.row(-1)).toBeUndefined()
    expect(t.row(0.5)).toBeUndefined()
    expect(t.column('note')).toEqual(['é', '', '日本'])
    const proto = value.table('proto')!.get('x')!
    expect(Object.getOwnPropertyNames(proto)).toEqual(['__proto__', 'v'])
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype)
    value.close()
    for (const call of [() => t.get(7), () => t.get('never looked up'), () => t.has('x'), () => t.row(0), () => t.column('id')]) {
      expect(call).toThrow(expect.objectContaining({ code: 'ERR_MODFORGE_INVALID_ARG', message: 'the dataset is closed' }))
    }
  })
})

describe('aborts', () => {
  it('stop verifySnapshots, inspectSnapshot and loads of openOrBuild, getBlob and openDataset with an aborted signal', async () => {
    const d = dir('abort')
    const spec = { dir: d, name: 'n', version: '1', source: { token: 't' } }
    putBlobSync(spec, Buffer.alloc(1 << 20))
    const aborted = { code: 'ABORT_ERR' }
    await expect(openOrBuild({ ...spec, build: () => Buffer.from('x'), signal: AbortSignal.abort() })).rejects.toMatchObject(aborted)
    await expect(getBlob({ ...spec, signal: AbortSignal.abort() })).rejects.toMatchObject(aborted)
    await expect(verifySnapshots(d, { signal: AbortSignal.abort() })).rejects.toMatchObject(aborted)
    await expect(inspectSnapshot(join(d, 'n_1.mfs'), { signal: AbortSignal.abort() })).rejects.toMatchObject(aborted)
    await expect(
      openDataset({ dir: d, name: 'ds', version: '1', source: { token: 't' }, tables: { t: Buffer.from('k\n1\n') }, signal: AbortSignal.abort() }),
    ).rejects.toMatchObject(aborted)
    // Nothing was rebuilt or removed, and without a signal both calls pass.
    expect((await inspectSnapshot(join(d, 'n_1.mfs'))).ok).toBe(true)
    expect((await verifySnapshots(d)).map((v) => v.ok)).toEqual([true])
  })

  it('stop verifySnapshots in the middle of a long folder', async () => {
    const d = dir('abort-verify')
    const rows = Array.from({ length: 100_000 }, (_, i) => [`key${i}`, `value ${i}`])
    const built = openDatasetSync({ dir: d, name: 'big', version: '1', source: { token: 'big' }, tables: { t: { columns: ['k', 'v'], rows } } })
    built.value.close()
    // One snapshot under 2,000 names (hard links): a walk of about 2 x 10^8 cells.
    for (let i = 0; i < 2000; i += 1) linkSync(built.path, join(d, `copy${i}_1.mfs`))
    const controller = new AbortController()
    const pending = verifySnapshots(d, { signal: controller.signal })
    setTimeout(() => controller.abort(new Error('enough')), 200)
    await expect(pending).rejects.toMatchObject({ code: 'ABORT_ERR', cause: new Error('enough') })
  }, 120_000)
})
