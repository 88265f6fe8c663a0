/// <reference types="node" preserve="true" />
/**
 * Datasets: CSV tables (or rows from JavaScript) stored column-wise in a snapshot with a hash
 * index on a key column, opened lazily from the snapshot's bytes (docs/store.md).
 */
import { types } from 'node:util'

import type * as binding from '../binding'
import { cancellable, neverAborted } from './internal/call'
import { native } from './internal/native'
import { invalidArg } from './internal/raise'
import { openedFromBuild, sourceCheck } from './internal/snapshot'
import {
  buffer,
  expected,
  func,
  object,
  oneOf,
  optional,
  promiseOnly,
  reading,
  record,
  signal,
  string,
  strings,
  text,
  type Check,
  type Schema,
} from './internal/validate'
import type { ProgressListener } from './progress'
import type { BuildContext, Opened, Source } from './store'

/**
 * One table's input: a CSV file path, CSV bytes (RFC 4180: quotes, embedded commas and newlines,
 * BOM), or rows given directly (arrays of cells with `columns`, or objects whose keys are the
 * columns). Numbers are stringified; any other non-string cell is `ERR_MODFORGE_INVALID_ARG`.
 */
export type TableInput = string | Uint8Array | { columns?: string[]; rows: unknown[] }

/** The tables of a dataset by name. */
export type TableInputs = Record<string, TableInput>

/**
 * The stages of a dataset build, each counted against a total known from its first event and
 * reaching it at its last: `parse` (`done` of `total` data rows of all tables, `current` = the
 * table), `build` (rows indexed), then `write` (bytes of the snapshot file).
 */
export type DatasetStage = 'parse' | 'build' | 'write'

/** Options of {@link openDataset}. */
export interface DatasetOptions extends Omit<binding.DatasetOptions, 'source'> {
  /**
   * The tables by name, or a function producing them, called only when the snapshot on disk cannot
   * be used (then `source` is required). The function receives `{ signal }`, aborted when the
   * call is cancelled.
   */
  tables: TableInputs | ((context: BuildContext) => TableInputs | Promise<TableInputs>)
  /** What the dataset is built from; default: the content of the CSV files given as paths. */
  source?: Source
  /**
   * Build progress: `{ stage: 'parse' | 'build' | 'write', done, total, current }` (rows, rows,
   * bytes), about ten times a second; the last event of each stage has `done === total`.
   */
  onProgress?: ProgressListener<DatasetStage>
  /** Stops the call; it rejects with `ABORT_ERR` and leaves no temp file. */
  signal?: AbortSignal
}

/** Options of {@link openDatasetSync}. */
export interface DatasetSyncOptions extends Omit<DatasetOptions, 'tables' | 'onProgress' | 'signal'> {
  /** The tables by name, or a function producing them synchronously. */
  tables: TableInputs | ((context: BuildContext) => TableInputs)
}

/**
 * The build report of one table (stored in the snapshot). Row numbers are 0-based data-row
 * indices, the `i` of `table.row(i)`.
 */
export interface TableReport {
  /** Data rows stored. */
  rows: number
  /** The key column. */
  key: string | null
  /** Keys found on more than one row (first 100), with their rows; the first row is indexed. */
  duplicates: { key: string; rows: number[] }[]
  /** Rows not indexed because an earlier row has the same key. */
  duplicateRows: number
  /** Rows with an empty key (kept, not indexed). */
  emptyKeys: number
  /** Rows with more fields than the header (extra fields joined into the last column). */
  longRows: number
  /** Rows with fewer fields than the header (padded with empty cells). */
  shortRows: number
  /** The first long rows. */
  longRowNumbers: number[]
  /** The first short rows. */
  shortRowNumbers: number[]
  /** The first rows with an empty key. */
  emptyKeyRows: number[]
  /** True when a UTF-8 byte-order mark was removed. */
  bomStripped: boolean
  /**
   * What looks wrong with the table as built, with what to do about it: most rows repeating a key
   * or holding an empty one (the key column is probably the wrong one; choose it with `key`, or
   * take the data version from it with `versionColumn`). Empty for a table that looks right.
   */
  warnings: string[]
}

/** A row as JavaScript sees it: the columns as own properties, in column order. */
export type Row = Record<string, string>

// ---------------------------------------------------------------------------------------------
// Argument checks
// ---------------------------------------------------------------------------------------------

const TABLE_FORMS = 'a CSV path, CSV bytes or { columns?, rows }'
const TABLES_FORMS = 'an object of tables ({ name: CSV path, CSV bytes or { columns?, rows } })'

/** Rows copied one by one (arrays as arrays, objects as plain objects); cells are checked natively. */
const rowsCheck: Check<unknown[]> = (value, label) => {
  if (!Array.isArray(value) || types.isProxy(value)) return expected(label, 'an array of rows', value)
  const rows = reading(label, () => Array.prototype.slice.call(value) as unknown[])
  for (let index = 0; index < rows.length; index += 1) {
    const row = rows[index]
    if (typeof row !== 'object' || row === null) continue
    // Spread defines own properties, so a column named `__proto__` stays a column.
    rows[index] = reading(`${label}[${index}]`, () => (Array.isArray(row) ? Array.prototype.slice.call(row) : { ...row }))
  }
  return rows
}

const ROWS_INPUT = object<{ columns?: string[]; rows: unknown[] }>({ columns: optional(strings), rows: rowsCheck }, TABLE_FORMS)

const tableInput: Check<TableInput> = (value, label) => {
  if (typeof value === 'string') return value
  if (types.isUint8Array(value)) return buffer(value, label)
  return ROWS_INPUT(value, label)
}

const tableInputs = record(tableInput, TABLES_FORMS)

const tablesOption: Check<DatasetOptions['tables']> = (value, label) =>
  typeof value === 'function' ? (value as DatasetOptions['tables']) : tableInputs(value, label)

const keyOption: Check<string | Record<string, string>> = (value, label) =>
  typeof value === 'string' ? value : record(string, 'a column name, or an object of column names by table')(value, label)

const DATASET_FIELDS: Schema<Omit<binding.DatasetOptions, 'source'> & { source?: Source }> = {
  dir: text,
  name: text,
  version: optional(text),
  versionColumn: optional(string),
  source: optional(sourceCheck as Check<Source>),
  key: optional(keyOption),
  duplicates: optional(oneOf('first', 'error')),
  ragged: optional(oneOf('joinLast', 'error')),
  delimiter: optional(oneOf(',', ';', '\t', '|')),
}

const DATASET = object<DatasetOptions>({
  ...DATASET_FIELDS,
  tables: tablesOption,
  onProgress: optional(func<ProgressListener<DatasetStage>>()),
  signal: optional(signal),
})

const DATASET_SYNC = object<DatasetSyncOptions & { onProgress?: undefined; signal?: undefined }>({
  ...DATASET_FIELDS,
  tables: tablesOption as Check<DatasetSyncOptions['tables']>,
  onProgress: promiseOnly('openDataset'),
  signal: promiseOnly('openDataset'),
})

function nativeOptions(options: DatasetSyncOptions | DatasetOptions): binding.DatasetOptions {
  const { dir, name, version, versionColumn, key, duplicates, ragged, delimiter, source } = options
  return { dir, name, version, versionColumn, key, duplicates, ragged, delimiter, source: source as binding.SnapshotSource | undefined }
}

/** A key as the index stores it: strings as they are, numbers stringified as JavaScript does. */
function keyText(key: unknown, label: string): string {
  if (typeof key === 'string') return key
  if (typeof key === 'number') return String(key)
  return expected(label, 'a string or a number', key)
}

// ---------------------------------------------------------------------------------------------
// Dataset and Table
// ---------------------------------------------------------------------------------------------

/** Releases the native side of datasets that were garbage-collected without `close()`. */
const unclosedDatasets = new FinalizationRegistry<number>((handle) => native.datasetClose(handle))

/** Keys whose rows each table keeps decoded for repeated `get` and `has` (oldest first out). */
const CACHED_KEYS = 4096

/** Whether this machine stores `u32` little-endian, as the snapshot does. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** What the tables of one open dataset share: its handle, and whether it was closed. */
interface DatasetState {
  readonly handle: number
  closed: boolean
  /** Called by `close()`: each table drops its decoded cells. */
  readonly releases: (() => void)[]
}

/** Builds a row object from its cells: the columns as own properties, in column order. */
type RowMaker<R> = (cells: string[]) => R

/**
 * The row maker of a table's columns. Rows are created by an object literal compiled once per
 * table, so every row of a table shares one shape (V8 then creates them about as fast as a
 * literal in source). Column names enter the code only as JSON string literals; `__proto__` is a
 * computed key, which defines the property instead of setting the prototype (ECMA-262, Annex B).
 * Where code cannot be compiled (a Content-Security-Policy forbidding it), properties are defined
 * one by one.
 */
function rowMaker<R>(columns: string[]): RowMaker<R> {
  const fields = columns.map((name, index) => {
    const literal = JSON.stringify(name)
    return `${name === '__proto__' ? `[${literal}]` : literal}: cells[${index}]`
  })
  try {
    return new Function('cells', `'use strict'; return { ${fields.join(', ')} }`) as RowMaker<R>
  } catch {
    return (cells) => {
      const row: Record<string, string> = {}
      columns.forEach((name, index) => Object.defineProperty(row, name, { value: cells[index], writable: true, enumerable: true, configurable: true }))
      return row as R
    }
  }
}

/**
 * A table's cells as JavaScript reads them: a checked copy of its columns' offsets and text
 * (`tableCells`, fetched on first use), each cell decoded on demand (Latin-1 for an ASCII column,
 * UTF-8 otherwise), so that reading a row needs no native call.
 */
class CellReader {
  readonly #bytes: Buffer
  readonly #offsets: Uint32Array | DataView
  readonly #columns: { offsets: number; text: number; ascii: boolean }[]

  constructor(cells: binding.TableCells) {
    this.#bytes = cells.bytes
    const { buffer, byteOffset, byteLength } = cells.bytes
    this.#offsets =
      LITTLE_ENDIAN && byteOffset % 4 === 0 ? new Uint32Array(buffer, byteOffset, byteLength >>> 2) : new DataView(buffer, byteOffset, byteLength)
    this.#columns = cells.columns.map((column) => ({ offsets: column.offsets, text: column.text, ascii: column.ascii }))
  }

  #offset(at: number): number {
    const offsets = this.#offsets
    return offsets instanceof Uint32Array ? offsets[at >>> 2] : offsets.getUint32(at, true)
  }

  /** Cell `row` of column `column`. */
  cell(row: number, column: number): string {
    const { offsets, text, ascii } = this.#columns[column]
    const start = text + this.#offset(offsets + 4 * row)
    const end = text + this.#offset(offsets + 4 * row + 4)
    return this.#bytes.toString(ascii ? 'latin1' : 'utf8', start, end)
  }

  /** Every cell of `row`, in column order. */
  row(row: number): string[] {
    const cells = new Array<string>(this.#columns.length)
    for (let column = 0; column < cells.length; column += 1) cells[column] = this.cell(row, column)
    return cells
  }
}

/**
 * An open dataset: its tables are served lazily from the snapshot's bytes (or from memory right
 * after a build). Nothing is materialised per row at open. Obtained from {@link openDataset} or,
 * for a snapshot shipped with an application, {@link openDatasetFile}.
 */
export class Dataset {
  /** The data version. */
  readonly version: string
  /** The snapshot file. */
  readonly path: string
  /** Table names, in build order. */
  readonly tables: string[]
  readonly #state: DatasetState
  readonly #tables: Map<string, Table>

  /** @internal Wraps a dataset the native side opened. */
  constructor(info: binding.DatasetInfo) {
    this.#state = { handle: info.handle, closed: false, releases: [] }
    this.version = info.version
    this.path = info.path
    this.tables = info.tables.map((table) => table.name)
    this.#tables = new Map(info.tables.map((table, index) => [table.name, new Table(this, this.#state, index, table)]))
    unclosedDatasets.register(this, info.handle, this)
  }

  /**
   * Same as {@link openDataset}; given a path, same as {@link openDatasetFile} (a shipped
   * snapshot, read-only, without its source).
   */
  static open(options: DatasetOptions): Promise<Opened<Dataset>>
  static open(file: string, options?: DatasetFileOptions): Promise<Dataset>
  static open(options: DatasetOptions | string, fileOptions?: DatasetFileOptions): Promise<Opened<Dataset> | Dataset> {
    return typeof options === 'string' ? openDatasetFile(options, fileOptions) : openDataset(options)
  }

  /** Same as {@link openDatasetSync}; given a path, same as {@link openDatasetFileSync}. */
  static openSync(options: DatasetSyncOptions): Opened<Dataset>
  static openSync(file: string): Dataset
  static openSync(options: DatasetSyncOptions | string): Opened<Dataset> | Dataset {
    return typeof options === 'string' ? openDatasetFileSync(options) : openDatasetSync(options)
  }

  /**
   * The table called `name`, or `undefined`. `R` types its rows (`dataset.table<Noun>('nouns')`);
   * it is not checked against the columns.
   */
  table<R extends Row = Row>(name: string): Table<R> | undefined {
    return this.#tables.get(string(name, 'dataset.table(): name')) as Table<R> | undefined
  }

  /** The build report per table (stored in the snapshot and checked at open, so also available on warm opens). */
  get report(): Record<string, TableReport> {
    const parsed = JSON.parse(native.datasetReport(this.#state.handle)) as { tables: (TableReport & { name: string })[] }
    return Object.fromEntries(parsed.tables.map(({ name, warnings, ...report }) => [name, { ...report, warnings: warnings ?? [] }]))
  }

  /** Releases the snapshot's bytes; later calls on the dataset or its tables throw `ERR_MODFORGE_INVALID_ARG`. */
  close(): void {
    unclosedDatasets.unregister(this)
    this.#state.closed = true
    for (const release of this.#state.releases) release()
    native.datasetClose(this.#state.handle)
  }
}

/**
 * One table of a {@link Dataset}, read like a `ReadonlyMap` from key to row: `get`, `has`, `size`,
 * `keys()`, `values()`, `entries()`, `forEach` and `for (const [key, row] of table)`. The entries
 * are the indexed rows: for each distinct non-empty key, the first row that has it (the row
 * `get(key)` returns), in source order. Every row, duplicates and empty keys included, is
 * reachable by number: `length`, `row(i)`, `rows()`; whole columns with `column(name)`.
 *
 * The first read of a table copies its checked cells into JavaScript (one native call, linear in
 * the table's size); rows are then decoded there, one new object per call. A lookup by key is one
 * native call for the row number; the cells of the last 4,096 keys looked up are kept, so repeated
 * lookups make no native call.
 */
export class Table<R extends Row = Row> {
  /** The table name. */
  readonly name: string
  /** Number of rows (every row, also those not indexed; `size` counts the keys). */
  readonly length: number
  /** Column names, in order. */
  readonly columns: string[]
  /** The key column (`undefined` for a table without columns). */
  readonly key: string | undefined
  /** The dataset this table belongs to (kept alive while the table is reachable). */
  readonly dataset: Dataset
  readonly #state: DatasetState
  readonly #index: number
  readonly #make: RowMaker<R>
  #cells: CellReader | undefined
  /** Decoded cells of recently looked-up keys; `null` for keys not in the index. */
  #cache = new Map<string, string[] | null>()
  #keys: { keys: string[]; rows: number[] } | undefined

  /** @internal Describes table `index` of an open dataset. */
  constructor(dataset: Dataset, state: DatasetState, index: number, info: binding.TableInfo) {
    this.dataset = dataset
    this.#state = state
    this.#index = index
    this.name = info.name
    this.length = info.length
    this.columns = info.columns
    this.key = info.key ?? undefined
    this.#make = rowMaker<R>(info.columns)
    state.releases.push(() => {
      this.#cells = undefined
      this.#cache = new Map()
      this.#keys = undefined
    })
  }

  /**
   * The row indexed under `key` (the first row with that key), as a new object of column -> value;
   * `undefined` when none. A number is looked up as JavaScript stringifies it (`7` finds `'7'`).
   */
  get(key: string | number): R | undefined {
    const cells = this.#lookup(keyText(key, 'table.get(): key'))
    return cells === null ? undefined : this.#make(cells)
  }

  /** Whether a row is indexed under `key`. */
  has(key: string | number): boolean {
    return this.#lookup(keyText(key, 'table.has(): key')) !== null
  }

  /**
   * The number of indexed keys (distinct, non-empty), the entries of the Map view. The first use
   * of `size`, `keys()`, `values()` or `entries()` reads the key column once.
   */
  get size(): number {
    return this.#indexed().keys.length
  }

  /** The indexed keys, in source order. */
  *keys(): IterableIterator<string> {
    yield* this.#indexed().keys
  }

  /** The indexed rows (one per key), in source order, created one at a time. */
  *values(): IterableIterator<R> {
    for (const [, row] of this.entries()) yield row
  }

  /** `[key, row]` for every indexed key, in source order; rows are created one at a time. */
  *entries(): IterableIterator<[string, R]> {
    const { keys, rows } = this.#indexed()
    for (let index = 0; index < keys.length; index += 1) yield [keys[index], this.row(rows[index]) as R]
  }

  /** Same as {@link entries}. */
  [Symbol.iterator](): IterableIterator<[string, R]> {
    return this.entries()
  }

  /** Calls `callback(row, key, table)` for every entry, as `Map.prototype.forEach` does. */
  forEach(callback: (row: R, key: string, table: this) => void, thisArg?: unknown): void {
    const call = func<(row: R, key: string, table: this) => void>()(callback, 'table.forEach(): callback')
    for (const [key, row] of this.entries()) call.call(thisArg, row, key, this)
  }

  /** Row `index` (0-based, source order) as a new object; `undefined` out of range. */
  row(index: number): R | undefined {
    if (typeof index !== 'number') return expected('table.row(): index', 'a number', index)
    const cells = this.#reader()
    if (!Number.isInteger(index) || index < 0 || index >= this.length) return undefined
    return this.#make(cells.row(index))
  }

  /** Every row in source order (duplicates and empty keys included), created one at a time. */
  *rows(): IterableIterator<R> {
    for (let index = 0; index < this.length; index += 1) yield this.row(index) as R
  }

  /** Every value of column `name`, in row order (built on demand). */
  column(name: string): string[] {
    const column = this.columns.indexOf(string(name, 'table.column(): name'))
    const cells = this.#reader()
    if (column < 0) throw invalidArg(`table '${this.name}' has no column '${name}'`)
    const values = new Array<string>(this.length)
    for (let row = 0; row < this.length; row += 1) values[row] = cells.cell(row, column)
    return values
  }

  /** The table's cells, fetched on first use; `ERR_MODFORGE_INVALID_ARG` once the dataset is closed. */
  #reader(): CellReader {
    if (this.#state.closed) throw invalidArg('the dataset is closed')
    this.#cells ??= new CellReader(native.tableCells(this.#state.handle, this.#index))
    return this.#cells
  }

  /** The cells of the row indexed under `key` (`null` when none), from the cache or one native lookup. */
  #lookup(key: string): string[] | null {
    const reader = this.#reader()
    const cache = this.#cache
    const cached = cache.get(key)
    if (cached !== undefined) return cached
    const row = native.tableLookup(this.#state.handle, this.#index, key)
    const cells = row < 0 ? null : reader.row(row)
    if (cache.size >= CACHED_KEYS) cache.delete(cache.keys().next().value as string)
    cache.set(key, cells)
    return cells
  }

  /** Which row each indexed key points to, from one read of the key column. */
  #indexed(): { keys: string[]; rows: number[] } {
    if (this.#keys) return this.#keys
    const keys: string[] = []
    const rows: number[] = []
    if (this.key !== undefined) {
      const seen = new Set<string>()
      this.column(this.key).forEach((key, row) => {
        if (key === '' || seen.has(key)) return
        seen.add(key)
        keys.push(key)
        rows.push(row)
      })
    }
    this.#keys = { keys, rows }
    return this.#keys
  }
}

// ---------------------------------------------------------------------------------------------
// Opening
// ---------------------------------------------------------------------------------------------

/**
 * Opens a dataset: served lazily from its memory-mapped snapshot when that passes every check,
 * otherwise built from the tables (CSV or rows), written atomically and served from memory.
 * Lookups by key are O(1) (`table.get(key)`); nothing is materialised per row at open.
 */
export async function openDataset(options: DatasetOptions): Promise<Opened<Dataset>> {
  const checked = DATASET(options, 'openDataset(): options')
  const { tables, onProgress, signal: abort } = checked
  return cancellable(abort, async (call) => {
    const inline = typeof tables === 'function' ? undefined : tables
    const plan = await native.planDataset(nativeOptions(checked), inline, call.cancel)
    const loaded = await plan.load(call.cancel)
    if (loaded.dataset) return { value: new Dataset(loaded.dataset), path: loaded.dataset.path, loaded: true, persisted: true }
    const produced =
      typeof tables === 'function'
        ? tableInputs(await call.settle(() => tables({ signal: call.signal })), 'openDataset(): the result of tables()')
        : undefined
    const listener = call.guard(onProgress as ((event: binding.ProgressEvent) => void) | undefined)
    const built = await plan.build(produced, call.cancel, listener)
    return openedFromBuild(new Dataset(built.dataset), loaded, built)
  })
}

/** {@link openDataset} on the calling thread. */
export function openDatasetSync(options: DatasetSyncOptions): Opened<Dataset> {
  const checked = DATASET_SYNC(options, 'openDatasetSync(): options')
  const { tables } = checked
  const plan = native.planDatasetSync(nativeOptions(checked), typeof tables === 'function' ? undefined : tables)
  const loaded = plan.loadSync()
  if (loaded.dataset) return { value: new Dataset(loaded.dataset), path: loaded.dataset.path, loaded: true, persisted: true }
  const produced =
    typeof tables === 'function' ? tableInputs(tables({ signal: neverAborted() }), 'openDatasetSync(): the result of tables()') : undefined
  const built = plan.buildSync(produced)
  return openedFromBuild(new Dataset(built.dataset), loaded, built)
}

/** Options of {@link openDatasetFile}. */
export interface DatasetFileOptions {
  /** Stops reading and checking the file; the call rejects with `ABORT_ERR`. */
  signal?: AbortSignal
}

const DATASET_FILE = (value: unknown, label: string): DatasetFileOptions =>
  value === undefined || value === null ? {} : object<DatasetFileOptions>({ signal: optional(signal) })(value, label)

/**
 * Opens a dataset snapshot shipped with an application, by path and read-only: it needs no CSVs
 * and no source. Every container check (length, checksums), the kind and the structure are
 * checked; the data version is the file's own (`dataset.version`) and no source fingerprint is
 * compared (docs/store.md, "Shipped snapshots"). Rejects with `ERR_MODFORGE_IO` (missing file),
 * `ERR_MODFORGE_FORMAT` (not a dataset), `ERR_MODFORGE_CORRUPT` (damaged), `ABORT_ERR`.
 */
export async function openDatasetFile(path: string, options?: DatasetFileOptions): Promise<Dataset> {
  const file = string(path, 'openDatasetFile(): path')
  const { signal: abort } = DATASET_FILE(options, 'openDatasetFile(): options')
  return cancellable(abort, async (call) => new Dataset(await native.openDatasetFile(file, call.cancel)))
}

/** {@link openDatasetFile} on the calling thread. */
export function openDatasetFileSync(path: string): Dataset {
  return new Dataset(native.openDatasetFileSync(string(path, 'openDatasetFileSync(): path')))
}
