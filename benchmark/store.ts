/**
 * `npm run bench -- store`: opening and querying parsed CSV data, modforge datasets against the
 * ways Node programs cache the same data: parsing the CSV again (the dalle cold path), JSON.parse,
 * v8.deserialize, msgpackr and lmdb-js, on the generated dalle-shaped set (19 tables, ~12.5k rows)
 * and its 1M-row variant, warm page cache. Flags: `--runs N`, `--no-large`.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import * as v8 from 'node:v8'

import { open as openLmdb } from 'lmdb'
import { pack, unpack } from 'msgpackr'

import { generateDataset, invalidateSync, openDataset, openDatasetSync, type Dataset, type GeneratedDataset } from 'modforge'
import { type Measurement, type RunPlan, type TargetResult, machine, measure, printTable, summarize, target, writeResults } from './harness'

const ROOT = resolve(__dirname, '..')

/** Tables parsed the way a program would cache them: columns plus rows of cells. */
type Parsed = Record<string, { columns: string[]; rows: string[][] }>

/** The dalle cold path: read every CSV, strip the version column, naive comma split, key map. */
function parseNaive(set: GeneratedDataset): Map<string, Map<string, string[]>> {
  const tables = new Map<string, Map<string, string[]>>()
  for (const table of set.tables) {
    const lines = readFileSync(table.path, 'utf8').split('\n')
    const records = new Map<string, string[]>()
    for (let i = 1; i < lines.length; i += 1) {
      const line = lines[i].replace(`${set.version},`, '')
      if (line === '') continue
      const values = line.split(',')
      records.set(values[0].trim(), values)
    }
    tables.set(table.name, records)
  }
  return tables
}

/** The parsed form the serializer rows store and reload (from modforge's own parse, so identical data). */
function parsedForm(dataset: Dataset): Parsed {
  const parsed: Parsed = {}
  for (const name of dataset.tables) {
    const table = dataset.table(name)!
    const columns = table.columns
    parsed[name] = { columns, rows: [...table.rows()].map((row) => columns.map((column) => row[column])) }
  }
  return parsed
}

/** Key maps over a reloaded parsed form, as the serializer rows must build them to look up. */
function keyMaps(parsed: Parsed): Map<string, Map<string, string[]>> {
  const maps = new Map<string, Map<string, string[]>>()
  for (const [name, { rows }] of Object.entries(parsed)) {
    const map = new Map<string, string[]>()
    for (const row of rows) if (!map.has(row[0])) map.set(row[0], row)
    maps.set(name, map)
  }
  return maps
}

/** A seeded PRNG (SplitMix32-like) so every run draws the same keys. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x9e3779b9) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32
  }
}

/** `count` (table, key) pairs drawn from all tables; `missRate` of them are keys that do not exist. */
function drawKeys(parsed: Parsed, count: number, missRate: number): [string, string][] {
  const next = random(42)
  const names = Object.keys(parsed).filter((name) => parsed[name].rows.length > 0)
  return Array.from({ length: count }, () => {
    const name = names[Math.floor(next() * names.length)]
    const rows = parsed[name].rows
    const key = next() < missRate ? `missing-${Math.floor(next() * 1e9)}` : rows[Math.floor(next() * rows.length)][0]
    return [name, key]
  })
}

/** Runs the store benchmark on one data set. */
async function benchSet(label: string, set: GeneratedDataset, work: string, plan: RunPlan, lookups: number) {
  const tables = Object.fromEntries(set.tables.map((table) => [table.name, table.path]))
  const cache = join(work, 'cache')
  const options = { dir: cache, name: 'db', versionColumn: 'version', tables }
  const tokenOptions = { ...options, name: 'db-token', source: { token: `${label}-${set.bytes}` } }
  const statOptions = { ...options, name: 'db-stat', source: { files: Object.values(tables), mode: 'stat' as const } }
  const rows: Measurement[] = []

  // Build (cold): parse CSV, encode, write with fsync.
  rows.push(
    await measure('modforge build (parse + encode + fsync write)', { warmup: 1, runs: Math.min(plan.runs, 5) }, () => {
      invalidateSync({ dir: cache, name: 'db' })
      openDatasetSync(options).value.close()
    }),
  )
  for (const o of [tokenOptions, statOptions]) openDatasetSync(o).value.close()

  const reference = openDatasetSync(options).value
  const parsed = parsedForm(reference)
  const jsonFile = join(work, 'parsed.json')
  const v8File = join(work, 'parsed.v8')
  const msgpackFile = join(work, 'parsed.msgpack')
  const lmdbPath = join(work, 'lmdb')
  /** Stores every row of the dataset as `<table>\0<key>` entries of a fresh LMDB environment. */
  const writeLmdb = async () => {
    rmSync(lmdbPath, { recursive: true, force: true })
    const lmdbWrite = openLmdb({ path: lmdbPath, compression: false })
    await lmdbWrite.transaction(() => {
      for (const name of reference.tables) {
        const table = reference.table(name)!
        for (const row of table.rows()) lmdbWrite.put(`${name}\0${row[table.key!]}`, row)
      }
    })
    await lmdbWrite.close()
  }
  const buildPlan = { warmup: 1, runs: Math.min(plan.runs, 5) }
  rows.push(await measure('JSON.stringify + writeFile (parsed form)', buildPlan, () => writeFileSync(jsonFile, JSON.stringify(parsed))))
  rows.push(await measure('v8.serialize + writeFile', buildPlan, () => writeFileSync(v8File, v8.serialize(parsed))))
  rows.push(await measure('msgpackr pack + writeFile', buildPlan, () => writeFileSync(msgpackFile, pack(parsed))))
  rows.push(await measure('lmdb-js put every row (one transaction)', buildPlan, writeLmdb))
  printTable(`${label}: build (the others start from rows already parsed)`, rows, 'modforge build (parse + encode + fsync write)')

  // Open (warm page cache): everything needed before the first lookup.
  const openRows: Measurement[] = []
  openRows.push(await measure('CSV from scratch (naive split, dalle cold path)', plan, () => parseNaive(set)))
  openRows.push(await measure('JSON.parse + key maps', plan, () => keyMaps(JSON.parse(readFileSync(jsonFile, 'utf8')))))
  openRows.push(await measure('v8.deserialize + key maps', plan, () => keyMaps(v8.deserialize(readFileSync(v8File)))))
  openRows.push(await measure('msgpackr unpack + key maps', plan, () => keyMaps(unpack(readFileSync(msgpackFile)))))
  openRows.push(
    await measure('lmdb-js open', plan, async () => {
      const db = openLmdb({ path: lmdbPath, compression: false, readOnly: true })
      db.get('nouns\0x')
      await db.close()
    }),
  )
  openRows.push(await measure('modforge open, token source', plan, () => openDatasetSync(tokenOptions).value.close()))
  openRows.push(await measure('modforge open, stat source', plan, () => openDatasetSync(statOptions).value.close()))
  openRows.push(await measure('modforge open, content source (hashes the CSVs)', plan, () => openDatasetSync(options).value.close()))
  openRows.push(await measure('modforge open async, token source', plan, async () => (await openDataset(tokenOptions)).value.close()))
  printTable(`${label}: open (warm cache)`, openRows, 'modforge open, token source')

  // Cold process: a new Node process loads the module, opens and looks one key up.
  const coldRows = coldProcess(label, work, tokenOptions, jsonFile, lmdbPath, Math.min(plan.runs, 5))
  printTable(`${label}: open in a new process (require + open + 1 lookup, in-process time)`, coldRows, 'modforge')

  // Lookups.
  const lookupRows: Measurement[] = []
  const maps = keyMaps(parsed)
  const lmdb = openLmdb({ path: lmdbPath, compression: false, readOnly: true })
  const dataset = openDatasetSync(tokenOptions).value
  const tableOf = new Map(dataset.tables.map((name) => [name, dataset.table(name)!]))
  for (const [what, missRate] of [['hits', 0], ['10% misses', 0.1]] as const) {
    const keys = drawKeys(parsed, lookups, missRate)
    const perLookup = (name: string, fn: () => unknown) =>
      measure(name, plan, fn).then((m) => ({ ...m, median: (m.median * 1e6) / lookups, min: (m.min * 1e6) / lookups, max: (m.max * 1e6) / lookups, note: 'ns per lookup' }))
    lookupRows.push(await perLookup(`modforge table.get, ${what}`, () => { for (const [t, k] of keys) tableOf.get(t)!.get(k) }))
    lookupRows.push(await perLookup(`lmdb-js get, ${what}`, () => { for (const [t, k] of keys) lmdb.get(`${t}\0${k}`) }))
    lookupRows.push(await perLookup(`JS Map (data already in memory), ${what}`, () => { for (const [t, k] of keys) maps.get(t)!.get(k) }))
  }
  lookupRows.push(...firstAndRepeated(drawKeys(parsed, lookups, 0), tokenOptions, lmdb, maps, plan))
  const nouns = tableOf.get('nouns')!
  const nounKeys = nouns.column(nouns.key!)
  const joins = (get: (table: string, key: string) => Record<string, string> | undefined) => () => {
    for (const key of nounKeys) {
      const family = get('families', get('nouns', key)!.family)
      const order = family && get('orders', family.order)
      const cls = order && get('classes', order.class)
      if (cls) get('phyla', cls.phylum)
    }
  }
  const joinNote = `${nounKeys.length} nouns, 5 lookups each`
  lookupRows.push({ ...(await measure('modforge 4-step taxonomy join', plan, joins((t, k) => tableOf.get(t)!.get(k)))), note: joinNote })
  lookupRows.push({ ...(await measure('lmdb-js 4-step taxonomy join', plan, joins((t, k) => lmdb.get(`${t}\0${k}`)))), note: joinNote })
  printTable(`${label}: lookups (${lookups} keys, seeded)`, lookupRows, 'modforge table.get, hits')

  // Full scan.
  const scanRows: Measurement[] = []
  scanRows.push(await measure('modforge: every row of every table', plan, () => { for (const table of tableOf.values()) for (const row of table.rows()) void row }))
  scanRows.push(await measure('lmdb-js getRange over everything', plan, () => { for (const entry of lmdb.getRange()) void entry.value }))
  printTable(`${label}: full scan`, scanRows, 'modforge: every row of every table')
  dataset.close()
  reference.close()
  await lmdb.close()

  const median = (list: Measurement[], name: string) => list.find((row) => row.name === name)?.median ?? NaN
  const warmOpen = median(openRows, 'modforge open, token source')
  const targets: TargetResult[] = []
  if (label === 'dalle') targets.push(target(`${label}: warm open from JS, ms (token source, checksum included)`, warmOpen, 2, false))
  targets.push(target(`${label}: JSON.parse + maps / modforge warm open`, median(openRows, 'JSON.parse + key maps') / warmOpen, 20))
  targets.push(target(`${label}: lmdb-js get / modforge get (hits)`, median(lookupRows, 'lmdb-js get, hits') / median(lookupRows, 'modforge table.get, hits'), 1))
  if (label === 'dalle') targets.push(target(`${label}: modforge table.get median on the seeded key mix, ns`, median(lookupRows, 'modforge table.get, hits'), 500, false))
  return { label, rows: set.rows, csvBytes: set.bytes, build: rows, open: openRows, coldProcess: coldRows, lookups: lookupRows, scan: scanRows, targets }
}

/**
 * Lookups of each distinct key of the seeded mix, timed apart: the first lookup of a key in a
 * freshly opened dataset (one native call for the row number, then the cells decoded in
 * JavaScript) and a repeated one (served from the table's cache of decoded rows), next to lmdb-js
 * and a JS Map on the same keys. The first read of each table (its cells checked and copied into
 * JavaScript, once per table) is untimed in the lookups and reported as a row of its own.
 */
function firstAndRepeated(
  keys: [string, string][],
  options: Parameters<typeof openDatasetSync>[0],
  lmdb: ReturnType<typeof openLmdb>,
  maps: Map<string, Map<string, string[]>>,
  plan: RunPlan,
): Measurement[] {
  const distinct = [...new Map(keys.map(([t, k]) => [`${t}\0${k}`, [t, k] as [string, string]])).values()]
  const times = { first: [] as number[], repeated: [] as number[], tables: [] as number[], lmdb: [] as number[], map: [] as number[] }
  const timed = (fn: () => void) => {
    const start = process.hrtime.bigint()
    fn()
    return Number(process.hrtime.bigint() - start)
  }
  for (let run = 0; run < plan.warmup + plan.runs; run += 1) {
    const dataset = openDatasetSync(options).value
    const tables = new Map(dataset.tables.map((name) => [name, dataset.table(name)!]))
    const tablesNs = timed(() => { for (const table of tables.values()) table.row(0) })
    const firstNs = timed(() => { for (const [t, k] of distinct) tables.get(t)!.get(k) })
    const repeatedNs = timed(() => { for (const [t, k] of distinct) tables.get(t)!.get(k) })
    const lmdbNs = timed(() => { for (const [t, k] of distinct) lmdb.get(`${t}\0${k}`) })
    const mapNs = timed(() => { for (const [t, k] of distinct) maps.get(t)!.get(k) })
    dataset.close()
    if (run < plan.warmup) continue
    times.first.push(firstNs / distinct.length)
    times.repeated.push(repeatedNs / distinct.length)
    times.tables.push(tablesNs / 1e6)
    times.lmdb.push(lmdbNs / distinct.length)
    times.map.push(mapNs / distinct.length)
  }
  const note = `ns per lookup, ${distinct.length} distinct keys`
  return [
    summarize('modforge table.get, first lookup of each key (fresh dataset)', times.first, note),
    summarize('modforge table.get, repeated lookup (cached rows)', times.repeated, note),
    summarize('lmdb-js get, the same distinct keys', times.lmdb, note),
    summarize('JS Map, the same distinct keys', times.map, note),
    summarize('modforge first read of every table (cells checked + copied)', times.tables, 'ms, once per table and open'),
  ]
}

/** Times require + open + one lookup in fresh processes (Node start-up excluded). */
function coldProcess(label: string, work: string, options: object, jsonFile: string, lmdbPath: string, runs: number): Measurement[] {
  const scripts: Record<string, string> = {
    modforge: `const m = require(${JSON.stringify(ROOT)}); const db = m.openDatasetSync(${JSON.stringify(options)}).value; db.table('nouns').get('x')`,
    'JSON.parse + key maps': `const fs = require('fs'); const p = JSON.parse(fs.readFileSync(${JSON.stringify(jsonFile)}, 'utf8')); const m = new Map(p.nouns.rows.map((r) => [r[0], r])); m.get('x')`,
    'lmdb-js': `const { open } = require(${JSON.stringify(join(ROOT, 'node_modules/lmdb'))}); const db = open({ path: ${JSON.stringify(lmdbPath)}, compression: false, readOnly: true }); db.get('nouns\\0x')`,
  }
  return Object.entries(scripts).map(([name, body]) => {
    const times: number[] = []
    for (let i = 0; i < runs; i += 1) {
      const program = `const t0 = process.hrtime.bigint(); ${body}; process.stdout.write(String(Number(process.hrtime.bigint() - t0) / 1e6))`
      const result = spawnSync(process.execPath, ['-e', program], { encoding: 'utf8', cwd: work })
      if (result.status !== 0) throw new Error(`${label} cold ${name}: ${result.stderr}`)
      times.push(Number(result.stdout))
    }
    return summarize(name, times)
  })
}

/** Runs the whole store benchmark. */
export async function storeBenchmark(args: string[]): Promise<void> {
  const runsIndex = args.indexOf('--runs')
  const plan: RunPlan = { warmup: 3, runs: runsIndex >= 0 ? Number(args[runsIndex + 1]) : 20 }
  const base = join(process.env.MODFORGE_BENCH_DIR ?? tmpdir(), 'modforge-bench-store')
  rmSync(base, { recursive: true, force: true })
  mkdirSync(base, { recursive: true })
  console.log(`\n== store benchmark: warm page cache, ${plan.runs} timed runs after ${plan.warmup} warm-up runs, data in ${base}`)
  const results = []
  const dalle = await generateDataset(join(base, 'dalle/csv'), { seed: 1 })
  console.log(`dalle-shaped set: ${dalle.tables.length} tables, ${dalle.rows} rows, ${dalle.bytes} bytes of CSV`)
  results.push(await benchSet('dalle', dalle, join(base, 'dalle'), plan, 100_000))
  if (!args.includes('--no-large')) {
    const large = await generateDataset(join(base, 'large/csv'), { seed: 1, scale: 'large' })
    console.log(`\nlarge set: ${large.tables.length} tables, ${large.rows} rows, ${large.bytes} bytes of CSV`)
    results.push(await benchSet('large', large, join(base, 'large'), { warmup: 1, runs: Math.max(3, Math.floor(plan.runs / 4)) }, 100_000))
  }
  const file = writeResults('store', { machine: machine(), cache: 'warm', plan, results })
  console.log(`\nresults written to ${file}`)
  rmSync(base, { recursive: true, force: true })
}
