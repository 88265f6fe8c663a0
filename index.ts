/**
 * modforge: native-speed building blocks for game-modding tools and asset pipelines.
 *
 * This module is the typed facade over the generated native binding (`binding.js`, built by
 * `napi build` from `crates/node`). Types come from the Rust definitions; this file adds the
 * ergonomic layer: `AbortSignal` support, callbacks that may throw, and documentation.
 *
 * Every error thrown or rejected carries a stable `code`:
 * `ERR_MODFORGE_IO` (with `errno`, `syscall`, `path`), `ERR_MODFORGE_FORMAT` (with `file`, `offset`),
 * `ERR_MODFORGE_CORRUPT`, `ERR_MODFORGE_INVALID_ARG`, `ERR_MODFORGE_LIMIT`, `ABORT_ERR`
 * (`name === 'AbortError'`) and `ERR_MODFORGE_INTERNAL` (a bug).
 */
import type * as binding from './binding'
import { native } from './lib/native'
import { cancellable, invalidArgument, rejectAsyncOnlyOptions } from './lib/call'

export type {
  AgeRow,
  DirFileCount,
  DirSize,
  ErrorRow,
  ExtensionRow,
  LargestFile,
  PathBatch,
  ProfileReport,
  ProgressEvent,
  ResolvedProfileOptions,
  Timing,
  Totals,
} from './binding'

/** The stable `code` values of modforge errors. */
export const ErrorCode = {
  Io: 'ERR_MODFORGE_IO',
  Format: 'ERR_MODFORGE_FORMAT',
  Corrupt: 'ERR_MODFORGE_CORRUPT',
  InvalidArg: 'ERR_MODFORGE_INVALID_ARG',
  Limit: 'ERR_MODFORGE_LIMIT',
  Aborted: 'ABORT_ERR',
  Internal: 'ERR_MODFORGE_INTERNAL',
} as const

/** One of the values of {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

/** The shape of every error modforge throws or rejects with. */
export interface ModforgeError extends Error {
  /** Stable error code. */
  code: ErrorCode
  /** `ERR_MODFORGE_IO`: the OS error number. */
  errno?: number
  /** `ERR_MODFORGE_IO`: the failing system call. */
  syscall?: string
  /** `ERR_MODFORGE_IO`: the path the call was made on. */
  path?: string
  /** `ERR_MODFORGE_FORMAT` / `ERR_MODFORGE_CORRUPT`: the file in question. */
  file?: string
  /** `ERR_MODFORGE_FORMAT` / `ERR_MODFORGE_CORRUPT`: byte offset of the problem. */
  offset?: number
}

/** Whether `error` is a modforge error (optionally with the given code). */
export function isModforgeError(error: unknown, code?: ErrorCode): error is ModforgeError {
  if (!(error instanceof Error)) return false
  const actual = (error as Partial<ModforgeError>).code
  const known = Object.values(ErrorCode) as string[]
  return typeof actual === 'string' && known.includes(actual) && (code === undefined || actual === code)
}

// ---------------------------------------------------------------------------------------------
// Directory profiler
// ---------------------------------------------------------------------------------------------

/** Options of {@link profile}: every field optional, defaults documented per field. */
export interface ProfileOptions extends binding.ProfileOptions {
  /**
   * Called about ten times a second on the main thread with `{ stage: 'walk', done, bytes, current }`
   * (`done` = entries counted, `bytes` = apparent bytes so far), then once with the totals.
   * A throw aborts the walk and the Promise rejects with the thrown error.
   */
  onProgress?: (event: binding.ProgressEvent) => void
  /**
   * Opt-in listing of every counted entry, in batches of up to 8,192 (`paths` relative to the
   * root, `kinds` 0 file / 1 dir / 2 symlink / 3 other, `apparentBytes` or `null` with
   * `stats: false`). Order is unspecified; the Promise resolves after the last batch.
   * A throw aborts the walk and the Promise rejects with the thrown error.
   */
  collectPaths?: (batch: binding.PathBatch) => void
  /** Stops the walk mid-way; the Promise rejects with `ABORT_ERR` (no partial report). */
  signal?: AbortSignal
}

/** Options of {@link profileSync}: as {@link ProfileOptions} without `onProgress` and `signal`. */
export type ProfileSyncOptions = Omit<ProfileOptions, 'onProgress' | 'signal'>

/**
 * Profiles the folder tree at `path` on a pool of native threads: counts by kind, apparent and
 * allocated bytes (as GNU `du`), extensions, largest files, heaviest folders, empty folders,
 * depth and age histograms, and every entry that could not be read.
 *
 * Rejects with `ERR_MODFORGE_IO` when the root is missing (`ENOENT`) or not a folder (`ENOTDIR`),
 * `ERR_MODFORGE_INVALID_ARG` for a bad option, `ABORT_ERR` when `signal` aborts.
 */
export function profile(path: string, options: ProfileOptions = {}): Promise<binding.ProfileReport> {
  const { onProgress, collectPaths, signal, ...rest } = options
  return cancellable(signal, (call) =>
    native.profile(path, rest, call.cancel, call.guard(onProgress), call.guard(collectPaths)),
  )
}

/**
 * {@link profile} on the calling thread. `collectPaths` batches are delivered before it returns.
 * Throws `ERR_MODFORGE_INVALID_ARG` when given `onProgress` or `signal`.
 */
export function profileSync(path: string, options: ProfileSyncOptions = {}): binding.ProfileReport {
  rejectAsyncOnlyOptions('profileSync', options, ['onProgress', 'signal'])
  const { collectPaths, ...rest } = options
  return native.profileSync(path, rest, collectPaths)
}

// ---------------------------------------------------------------------------------------------
// Snapshot store
// ---------------------------------------------------------------------------------------------

export type {
  BlobLoad,
  BlobWrite,
  DatasetInfo,
  GeneratedDataset,
  GeneratedTable,
  RejectReason,
  Removed,
  SnapshotCheck,
  SnapshotHeader,
  SnapshotInspection,
  TableInfo,
  TreeOptions,
  TreeSummary,
  DatasetGeneratorOptions,
} from './binding'

/**
 * What a snapshot is built from. Its fingerprint is stored in the snapshot; a snapshot built from
 * another source is `stale` and rebuilt.
 * - `{ bytes }`: the source bytes themselves.
 * - `{ files, mode }`: source files, by `content` (XXH3-128 of every byte; default), `stat` (size and
 *   modification time; fast, misses a rewrite within the file system's time granularity) or
 *   `sha256` (SHA-256 of the content).
 * - `{ token }`: a caller-chosen string standing for the source (an upstream version or hash).
 */
export type Source =
  | { bytes: Uint8Array }
  | { files: string[]; mode?: 'content' | 'stat' | 'sha256' }
  | { token: string }

/** Where a snapshot lives and what it must match. */
export interface SnapshotOptions {
  /** Folder of the snapshot files (created when missing). */
  dir: string
  /** The snapshot's name; file `<name>_<version>.mfs` (both percent-encoded). */
  name: string
  /** The data version (1-64 bytes of UTF-8). Another version on disk is replaced. */
  version: string
  /** Payload kind, `[a-z0-9._@/-]`, up to 32 bytes; a snapshot of another kind is rebuilt. Default `blob`. */
  kind?: string
  /** What the snapshot is built from. */
  source: Source
}

/** The result of an open-or-build call. */
export interface Opened<T> {
  /** The value, served from disk or built now. */
  value: T
  /** The snapshot file. */
  path: string
  /** True when served from disk, false when built by this call. */
  loaded: boolean
  /** Why the file on disk was not used (when `loaded` is false). */
  rejected?: binding.RejectReason
  /** True when loaded, or built and written. */
  persisted: boolean
  /** Why writing failed (`ERR_MODFORGE_IO` with `errno`, `syscall`, `path`); the value is still returned. */
  persistError?: Error
}

/** Options of {@link openOrBuild}. */
export interface OpenOrBuildOptions extends SnapshotOptions {
  /** Produces the payload when the snapshot cannot be used. A throw rejects the call; nothing is written. */
  build: () => Uint8Array | Promise<Uint8Array>
  /** Stops the call; it rejects with `ABORT_ERR` and leaves no temp file. */
  signal?: AbortSignal
}

/** Options of {@link openOrBuildSync}. */
export interface OpenOrBuildSyncOptions extends SnapshotOptions {
  /** Produces the payload when the snapshot cannot be used. */
  build: () => Uint8Array
}

function nativeSpec(options: SnapshotOptions): binding.SnapshotSpec {
  const { dir, name, version, kind, source } = options
  return { dir, name, version, kind, source: nativeSource(source) }
}

function nativeSource(source: Source | undefined): binding.SnapshotSource {
  if (source && 'bytes' in source) return { bytes: asBuffer(source.bytes, 'source.bytes') }
  return (source ?? {}) as binding.SnapshotSource
}

/** A `Buffer` view of `bytes` (no copy); `ERR_MODFORGE_INVALID_ARG` when it is not a `Uint8Array`. */
function asBuffer(bytes: unknown, what: string): Buffer {
  if (Buffer.isBuffer(bytes)) return bytes
  if (bytes instanceof Uint8Array) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  throw invalidArgument(`${what} must be a Uint8Array`)
}

function openedFromBuild<T>(value: T, loaded: { reason: binding.RejectReason | null }, written: {
  path: string
  persisted: boolean
  persistError: Error | null
}): Opened<T> {
  const opened: Opened<T> = { value, path: written.path, loaded: false, persisted: written.persisted }
  if (loaded.reason) opened.rejected = loaded.reason
  if (written.persistError) opened.persistError = written.persistError
  return opened
}

/**
 * Serves the snapshot from disk when it passes every check (magic, versions, kind, source
 * fingerprint, length, header and payload checksums); otherwise calls `build`, writes the result
 * atomically (temp file, fsync, rename, folder fsync) and returns it. A failed write is reported
 * in `persistError` with `persisted: false`, never thrown.
 */
export function openOrBuild(options: OpenOrBuildOptions): Promise<Opened<Buffer>> {
  const { build, signal } = options
  return cancellable(signal, async (call) => {
    const plan = await native.planBlob(nativeSpec(options), call.cancel)
    const loaded = await plan.load()
    if (loaded.bytes) return { value: loaded.bytes, path: loaded.path, loaded: true, persisted: true }
    const value = asBuffer(await build(), 'the result of build()')
    return openedFromBuild(value, loaded, await plan.write(value, call.cancel))
  })
}

/** {@link openOrBuild} on the calling thread; `build` must return the bytes synchronously. */
export function openOrBuildSync(options: OpenOrBuildSyncOptions): Opened<Buffer> {
  rejectAsyncOnlyOptions('openOrBuildSync', options, ['signal'])
  const plan = native.planBlobSync(nativeSpec(options))
  const loaded = plan.loadSync()
  if (loaded.bytes) return { value: loaded.bytes, path: loaded.path, loaded: true, persisted: true }
  const value = asBuffer(options.build(), 'the result of build()')
  return openedFromBuild(value, loaded, plan.writeSync(value))
}

/** The result of {@link putBlob}. */
export interface PutResult {
  /** The snapshot file. */
  path: string
  /** True when the file was written. */
  persisted: boolean
  /** Why writing failed. */
  persistError?: Error
}

function putResult(written: binding.BlobWrite): PutResult {
  const result: PutResult = { path: written.path, persisted: written.persisted }
  if (written.persistError) result.persistError = written.persistError
  return result
}

/** Writes `bytes` atomically as the snapshot for `options.source`. Write failures are reported, not thrown. */
export function putBlob(options: SnapshotOptions & { signal?: AbortSignal }, bytes: Uint8Array): Promise<PutResult> {
  return cancellable(options.signal, async (call) => {
    const plan = await native.planBlob(nativeSpec(options), call.cancel)
    return putResult(await plan.write(asBuffer(bytes, 'bytes'), call.cancel))
  })
}

/** {@link putBlob} on the calling thread. */
export function putBlobSync(options: SnapshotOptions, bytes: Uint8Array): PutResult {
  return putResult(native.planBlobSync(nativeSpec(options)).writeSync(asBuffer(bytes, 'bytes')))
}

/** The result of {@link getBlob}: the bytes, or why the snapshot on disk cannot be used. */
export type GetResult = { bytes: Buffer; path: string } | { bytes: null; path: string; reason: binding.RejectReason }

function getResult(loaded: binding.BlobLoad): GetResult {
  if (loaded.bytes) return { bytes: loaded.bytes, path: loaded.path }
  return { bytes: null, path: loaded.path, reason: loaded.reason! }
}

/** Reads the snapshot when it passes every check against `options.source`; never builds. */
export async function getBlob(options: SnapshotOptions): Promise<GetResult> {
  const plan = await native.planBlob(nativeSpec(options))
  return getResult(await plan.load())
}

/** {@link getBlob} on the calling thread. */
export function getBlobSync(options: SnapshotOptions): GetResult {
  return getResult(native.planBlobSync(nativeSpec(options)).loadSync())
}

/** Removes every version of snapshot `name` in `dir`, and its temp files. */
export function invalidate(options: { dir: string; name: string }): Promise<binding.Removed> {
  return native.invalidate(options.dir, options.name)
}

/** {@link invalidate} on the calling thread. */
export function invalidateSync(options: { dir: string; name: string }): binding.Removed {
  return native.invalidateSync(options.dir, options.name)
}

/** Removes leftover temp (`.tmp`) and deferred (`.del`) files in `dir`; run it when no writer is active. */
export function cleanStore(dir: string): Promise<binding.Removed> {
  return native.cleanStore(dir)
}

/** {@link cleanStore} on the calling thread. */
export function cleanStoreSync(dir: string): binding.Removed {
  return native.cleanStoreSync(dir)
}

/** Header fields and check results of a snapshot file, without an expected source. */
export function inspectSnapshot(path: string): Promise<binding.SnapshotInspection> {
  return native.inspectSnapshot(path)
}

/** {@link inspectSnapshot} plus the full walk over every cell, for a file or every `.mfs` in a folder. */
export function verifySnapshots(path: string): Promise<binding.SnapshotInspection[]> {
  return native.verifySnapshots(path)
}

// ---------------------------------------------------------------------------------------------
// Datasets
// ---------------------------------------------------------------------------------------------

/**
 * One table's input: a CSV file path, CSV bytes (RFC 4180: quotes, embedded commas and newlines,
 * BOM), or rows given directly (arrays of cells with `columns`, or objects whose keys are the
 * columns). Numbers are stringified; any other non-string cell is `ERR_MODFORGE_INVALID_ARG`.
 */
export type TableInput = string | Uint8Array | { columns?: string[]; rows: unknown[] }

/** Options of {@link openDataset}. */
export interface DatasetOptions extends Omit<binding.DatasetOptions, 'source'> {
  /**
   * The tables by name, or a function producing them, called only when the snapshot on disk cannot
   * be used (then `source` is required).
   */
  tables: Record<string, TableInput> | (() => Record<string, TableInput> | Promise<Record<string, TableInput>>)
  /** What the dataset is built from; default: the content of the CSV files given as paths. */
  source?: Source
  /** Build progress: `{ stage: 'parse' | 'write', done, total, current }`, about ten times a second. */
  onProgress?: (event: binding.ProgressEvent) => void
  /** Stops the call; it rejects with `ABORT_ERR` and leaves no temp file. */
  signal?: AbortSignal
}

/** Options of {@link openDatasetSync}. */
export interface DatasetSyncOptions extends Omit<DatasetOptions, 'tables' | 'onProgress' | 'signal'> {
  /** The tables by name, or a function producing them synchronously. */
  tables: Record<string, TableInput> | (() => Record<string, TableInput>)
}

/** The build report of one table. */
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
  /** The first long rows (0-based row numbers). */
  longRowNumbers: number[]
  /** The first short rows. */
  shortRowNumbers: number[]
  /** The first rows with an empty key. */
  emptyKeyRows: number[]
  /** True when a UTF-8 byte-order mark was removed. */
  bomStripped: boolean
}

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

  /** The table called `name`, or `undefined`. */
  table(name: string): Table | undefined {
    return this.#tables.get(name)
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

/** One table of a {@link Dataset}: O(1) key lookups, rows by number, whole columns on demand. */
export class Table {
  /** The table name. */
  readonly name: string
  /** Number of rows. */
  readonly length: number
  /** Column names, in order. */
  readonly columns: string[]
  /** The key column (`undefined` for a table without columns). */
  readonly key: string | undefined
  /** The dataset this table belongs to (kept alive while the table is reachable). */
  readonly dataset: Dataset
  readonly #handle: number
  readonly #index: number

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

  /** The first row whose key equals `key`, as an object of column -> value; `undefined` when none. */
  get(key: string): Record<string, string> | undefined {
    return native.tableGet(this.#handle, this.#index, key)
  }

  /** Row `index` (0-based, source order) as an object; `undefined` out of range. */
  row(index: number): Record<string, string> | undefined {
    return native.tableRow(this.#handle, this.#index, index)
  }

  /** Every value of column `name`, in row order (built on demand). */
  column(name: string): string[] {
    return native.tableColumn(this.#handle, this.#index, name)
  }

  /** Rows in source order, created one at a time. */
  *[Symbol.iterator](): IterableIterator<Record<string, string>> {
    for (let index = 0; index < this.length; index += 1) yield this.row(index)!
  }
}

function datasetOptions(options: DatasetSyncOptions | DatasetOptions): binding.DatasetOptions {
  const { dir, name, version, versionColumn, key, duplicates, ragged, source } = options
  return { dir, name, version, versionColumn, key, duplicates, ragged, source: source && nativeSource(source) }
}

/**
 * Opens a dataset: served lazily from its memory-mapped snapshot when that passes every check,
 * otherwise built from the tables (CSV or rows), written atomically and served from memory.
 * Lookups by key are O(1) (`table.get(key)`); nothing is materialised per row at open.
 */
export function openDataset(options: DatasetOptions): Promise<Opened<Dataset>> {
  const { tables, onProgress, signal } = options
  const lazy = typeof tables === 'function'
  return cancellable(signal, async (call) => {
    const plan = await native.planDataset(datasetOptions(options), lazy ? undefined : tables, call.cancel)
    const loaded = await plan.load()
    if (loaded.dataset) return { value: new Dataset(loaded.dataset), path: loaded.dataset.path, loaded: true, persisted: true }
    const built = await plan.build(lazy ? await tables() : undefined, call.cancel, call.guard(onProgress))
    return openedFromBuild(new Dataset(built.dataset), loaded, built)
  })
}

/** {@link openDataset} on the calling thread. */
export function openDatasetSync(options: DatasetSyncOptions): Opened<Dataset> {
  rejectAsyncOnlyOptions('openDatasetSync', options, ['onProgress', 'signal'])
  const { tables } = options
  const lazy = typeof tables === 'function'
  const plan = native.planDatasetSync(datasetOptions(options), lazy ? undefined : tables)
  const loaded = plan.loadSync()
  if (loaded.dataset) return { value: new Dataset(loaded.dataset), path: loaded.dataset.path, loaded: true, persisted: true }
  const built = plan.buildSync(lazy ? tables() : undefined)
  return openedFromBuild(new Dataset(built.dataset), loaded, built)
}

// ---------------------------------------------------------------------------------------------
// Data generators (the seeded data of the tests, the demo and the benchmarks)
// ---------------------------------------------------------------------------------------------

/**
 * Generates a seeded folder tree into `dir` (created if missing; it must be empty): `wide`, `deep`,
 * `node` (node_modules-like), `game` (an install with sparse archives) or `mixed`, optionally with
 * the `extras/` folder of awkward cases (hard links, symlink loops, unreadable folders, ...).
 */
export function generateTree(dir: string, options?: binding.TreeOptions): Promise<binding.TreeSummary> {
  return native.generateTree(dir, options)
}

/** {@link generateTree} on the calling thread. */
export function generateTreeSync(dir: string, options?: binding.TreeOptions): binding.TreeSummary {
  return native.generateTreeSync(dir, options)
}

/** Writes a seeded CSV data set with the shape of the dalle databases (19 tables) into `dir`. */
export function generateDataset(dir: string, options?: binding.DatasetGeneratorOptions): Promise<binding.GeneratedDataset> {
  return native.generateDataset(dir, options)
}

/** {@link generateDataset} on the calling thread. */
export function generateDatasetSync(dir: string, options?: binding.DatasetGeneratorOptions): binding.GeneratedDataset {
  return native.generateDatasetSync(dir, options)
}
