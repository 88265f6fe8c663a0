/// <reference types="node" preserve="true" />
/**
 * Datasets: CSV tables (or rows from JavaScript) stored column-wise in a snapshot with a hash
 * index on a key column, opened lazily from a memory map (docs/store.md).
 */
import { types } from 'node:util'

import type * as binding from '../binding'
import { cancellable, neverAborted } from './internal/call'
import { native } from './internal/native'
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
 * The stages of a dataset build: `parse` (`done` of `total` input: bytes of CSV, rows of tables
 * given from JavaScript), then `write` (bytes of the snapshot file).
 */
export type DatasetStage = 'parse' | 'write'

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
  /** Build progress: `{ stage: 'parse' | 'write', done, total, current }`, about ten times a second. */
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
  dir: string,
  name: string,
  version: optional(string),
  versionColumn: optional(string),
  source: optional(sourceCheck as Check<Source>),
  key: optional(keyOption),
  duplicates: optional(oneOf('first', 'error')),
  ragged: optional(oneOf('joinLast', 'error')),
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
  const { dir, name, version, versionColumn, key, duplicates, ragged, source } = options
  return { dir, name, version, versionColumn, key, duplicates, ragged, source: source as binding.SnapshotSource | undefined }
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

/**
 * An open dataset: its tables are served lazily from the memory-mapped snapshot (or from memory
 * right after a build). Nothing is materialised per row at open. Obtained from {@link openDataset}.
 */
export class Dataset {
  /** The data version. */
  readonly version: string
  /** The snapshot file. */
  readonly path: string
  /** Table names, in build order. */
  readonly tables: string[]
  readonly #handle: number
  readonly #tables: Map<string, Table>

  /** @internal Wraps a dataset the native side opened. */
  constructor(info: binding.DatasetInfo) {
    this.#handle = info.handle
    this.version = info.version
    this.path = info.path
    this.tables = info.tables.map((table) => table.name)
    this.#tables = new Map(info.tables.map((table, index) => [table.name, new Table(this, info.handle, index, table)]))
    unclosedDatasets.register(this, info.handle, this)
  }

  /** Same as {@link openDataset}. */
  static open(options: DatasetOptions): Promise<Opened<Dataset>> {
    return openDataset(options)
  }

  /** Same as {@link openDatasetSync}. */
  static openSync(options: DatasetSyncOptions): Opened<Dataset> {
    return openDatasetSync(options)
  }

  /**
   * The table called `name`, or `undefined`. `R` types its rows (`dataset.table<Noun>('nouns')`);
   * it is not checked against the columns.
   */
  table<R extends Row = Row>(name: string): Table<R> | undefined {
    return this.#tables.get(string(name, 'dataset.table(): name')) as Table<R> | undefined
  }

  /** The build report per table (stored in the snapshot, so also available on warm opens). */
  get report(): Record<string, TableReport> {
    const parsed = JSON.parse(native.datasetReport(this.#handle)) as { tables: (TableReport & { name: string })[] }
    return Object.fromEntries(parsed.tables.map(({ name, ...report }) => [name, report]))
  }

  /** Releases the memory map; later calls on the dataset or its tables throw `ERR_MODFORGE_INVALID_ARG`. */
  close(): void {
    unclosedDatasets.unregister(this)
    native.datasetClose(this.#handle)
  }
}

/**
 * One table of a {@link Dataset}, read like a `ReadonlyMap` from key to row: `get`, `has`, `size`,
 * `keys()`, `values()`, `entries()`, `forEach` and `for (const [key, row] of table)`. The entries
 * are the indexed rows: for each distinct non-empty key, the first row that has it (the row
 * `get(key)` returns), in source order. Every row, duplicates and empty keys included, is
 * reachable by number: `length`, `row(i)`, `rows()`; whole columns with `column(name)`.
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
  readonly #handle: number
  readonly #index: number
  #keys: { keys: string[]; rows: number[] } | undefined

  /** @internal Describes table `index` of an open dataset. */
  constructor(dataset: Dataset, handle: number, index: number, info: binding.TableInfo) {
    this.dataset = dataset
    this.#handle = handle
    this.#index = index
    this.name = info.name
    this.length = info.length
    this.columns = info.columns
    this.key = info.key ?? undefined
  }

  /**
   * The row indexed under `key` (the first row with that key), as an object of column -> value;
   * `undefined` when none. A number is looked up as JavaScript stringifies it (`7` finds `'7'`).
   */
  get(key: string | number): R | undefined {
    return native.tableGet(this.#handle, this.#index, keyText(key, 'table.get(): key')) as R | undefined
  }

  /** Whether a row is indexed under `key`. */
  has(key: string | number): boolean {
    return native.tableGet(this.#handle, this.#index, keyText(key, 'table.has(): key')) !== undefined
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

  /** Row `index` (0-based, source order) as an object; `undefined` out of range. */
  row(index: number): R | undefined {
    if (typeof index !== 'number') return expected('table.row(): index', 'a number', index)
    return native.tableRow(this.#handle, this.#index, index) as R | undefined
  }

  /** Every row in source order (duplicates and empty keys included), created one at a time. */
  *rows(): IterableIterator<R> {
    for (let index = 0; index < this.length; index += 1) yield this.row(index) as R
  }

  /** Every value of column `name`, in row order (built on demand). */
  column(name: string): string[] {
    return native.tableColumn(this.#handle, this.#index, string(name, 'table.column(): name'))
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
    const loaded = await plan.load()
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
