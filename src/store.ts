/// <reference types="node" preserve="true" />
/**
 * The snapshot store: integrity-checked binary snapshot files (`<name>_<version>.mfs`) that are
 * served from disk when every check passes and rebuilt from their source otherwise, written
 * atomically (docs/store.md).
 */
import type * as binding from '../binding'
import { cancellable, neverAborted } from './internal/call'
import { native } from './internal/native'
import { openedFromBuild, sourceCheck, type Opened } from './internal/snapshot'
import { buffer, func, object, optional, signal, string, text, type Check, type Schema } from './internal/validate'

export type { Opened }
export type { RejectCode, RejectReason, Removed, SnapshotCheck, SnapshotHeader, SnapshotInspection } from '../binding'

/**
 * What a snapshot is built from. Its fingerprint is stored in the snapshot; a snapshot built from
 * another source is `stale` and rebuilt.
 * - `{ bytes }`: the source bytes themselves.
 * - `{ files, mode }`: source files, by `content` (XXH3-128 of every byte; default), `stat` (size and
 *   modification time; fast, misses a rewrite within the file system's time granularity) or
 *   `sha256` (SHA-256 of the content).
 * - `{ token }`: a caller-chosen string standing for the source (an upstream version or hash).
 */
export type Source = { bytes: Uint8Array } | { files: string[]; mode?: 'content' | 'stat' | 'sha256' } | { token: string }

/** Where a snapshot lives and what it must match. */
export interface SnapshotOptions {
  /** Folder of the snapshot files (created when missing); `''` is refused, `'.'` is the working directory. */
  dir: string
  /**
   * The snapshot's name; file `<name>_<version>.mfs`, both encoded: `[a-z0-9.-]` kept, a capital
   * as `+` and the letter, other bytes as `%XX` (docs/store.md, "File names").
   */
  name: string
  /** The data version (1-64 bytes of UTF-8, no NUL). Another version on disk is replaced. */
  version: string
  /** Payload kind, `[a-z0-9._@/-]`, up to 32 bytes; a snapshot of another kind is rebuilt. Default `blob`. */
  kind?: string
  /** What the snapshot is built from. */
  source: Source
}

/** What a `build` or `tables` callback receives. */
export interface BuildContext {
  /**
   * Aborted when the call is cancelled: by the caller's `signal`, or because another callback of
   * the call threw. Long builds should stop (`signal.throwIfAborted()`); the call then rejects
   * with `ABORT_ERR`. The Sync forms pass a signal that never aborts.
   */
  signal: AbortSignal
}

/** Options of {@link openOrBuild}. */
export interface OpenOrBuildOptions extends SnapshotOptions {
  /** Produces the payload when the snapshot cannot be used. A throw rejects the call; nothing is written. */
  build: (context: BuildContext) => Uint8Array | Promise<Uint8Array>
  /** Stops the call; it rejects with `ABORT_ERR` and leaves no temp file. */
  signal?: AbortSignal
}

/** Options of {@link openOrBuildSync}. */
export interface OpenOrBuildSyncOptions extends SnapshotOptions {
  /** Produces the payload when the snapshot cannot be used. */
  build: (context: BuildContext) => Uint8Array
}

/** Options of {@link putBlob} and {@link getBlob}: where the snapshot is, and a signal. */
export interface BlobOptions extends SnapshotOptions {
  /** Stops fingerprinting the source or writing; the call rejects with `ABORT_ERR` and leaves no temp file. */
  signal?: AbortSignal
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

/** The result of {@link getBlob}: the bytes, or why the snapshot on disk cannot be used. */
export type GetResult = { bytes: Buffer; path: string } | { bytes: null; path: string; reason: binding.RejectReason }

/** Which snapshots {@link invalidate} removes. */
export interface InvalidateOptions {
  /** Folder of the snapshot files. */
  dir: string
  /** The snapshot's name: every version of it goes. */
  name: string
}

/** Options of the Promise forms that only take a signal ({@link cleanStore}, {@link verifySnapshots}). */
export interface SignalOptions {
  /** Stops the call between files; it rejects with `ABORT_ERR`. */
  signal?: AbortSignal
}

// ---------------------------------------------------------------------------------------------
// Argument checks
// ---------------------------------------------------------------------------------------------

const SNAPSHOT: Schema<SnapshotOptions> = {
  dir: text,
  name: text,
  version: text,
  kind: optional(string),
  source: sourceCheck as Check<Source>,
}

const OPEN_OR_BUILD = object<OpenOrBuildOptions>({
  ...SNAPSHOT,
  build: func<OpenOrBuildOptions['build']>(),
  signal: optional(signal),
})
const OPEN_OR_BUILD_SYNC = object<OpenOrBuildSyncOptions>({ ...SNAPSHOT, build: func<OpenOrBuildSyncOptions['build']>() })
const BLOB = object<BlobOptions>({ ...SNAPSHOT, signal: optional(signal) })
const BLOB_SYNC = object<SnapshotOptions>(SNAPSHOT)
const INVALIDATE = object<InvalidateOptions>({ dir: text, name: text })
const SIGNAL_ONLY = (value: unknown, label: string): SignalOptions =>
  value === undefined || value === null ? {} : object<SignalOptions>({ signal: optional(signal) })(value, label)

/** The native form of checked snapshot options (the source is already in its native shape). */
function nativeSpec(options: SnapshotOptions): binding.SnapshotSpec {
  const { dir, name, version, kind, source } = options
  return { dir, name, version, kind, source: source as binding.SnapshotSource }
}

function putResult(written: binding.BlobWrite): PutResult {
  const result: PutResult = { path: written.path, persisted: written.persisted }
  if (written.persistError) result.persistError = written.persistError
  return result
}

function getResult(loaded: binding.BlobLoad): GetResult {
  if (loaded.bytes) return { bytes: loaded.bytes, path: loaded.path }
  return { bytes: null, path: loaded.path, reason: loaded.reason as binding.RejectReason }
}

// ---------------------------------------------------------------------------------------------
// Blobs
// ---------------------------------------------------------------------------------------------

/**
 * Serves the snapshot from disk when it passes every check (magic, versions, kind, source
 * fingerprint, length, header and payload checksums); otherwise calls `build({ signal })`, writes
 * the result atomically (temp file, fsync, rename, folder fsync) and returns it. A failed write is
 * reported in `persistError` with `persisted: false`, never thrown.
 */
export async function openOrBuild(options: OpenOrBuildOptions): Promise<Opened<Buffer>> {
  const { build, signal: abort, ...spec } = OPEN_OR_BUILD(options, 'openOrBuild(): options')
  return cancellable(abort, async (call) => {
    const plan = await native.planBlob(nativeSpec(spec), call.cancel)
    const loaded = await plan.load(call.cancel)
    if (loaded.bytes) return { value: loaded.bytes, path: loaded.path, loaded: true, persisted: true }
    const built = await call.settle(() => build({ signal: call.signal }))
    const value = buffer(built, 'openOrBuild(): the result of build()')
    return openedFromBuild(value, loaded, await plan.write(value, call.cancel))
  })
}

/** {@link openOrBuild} on the calling thread; `build` must return the bytes synchronously. */
export function openOrBuildSync(options: OpenOrBuildSyncOptions): Opened<Buffer> {
  const { build, ...spec } = OPEN_OR_BUILD_SYNC(options, 'openOrBuildSync(): options')
  const plan = native.planBlobSync(nativeSpec(spec))
  const loaded = plan.loadSync()
  if (loaded.bytes) return { value: loaded.bytes, path: loaded.path, loaded: true, persisted: true }
  const value = buffer(build({ signal: neverAborted() }), 'openOrBuildSync(): the result of build()')
  return openedFromBuild(value, loaded, plan.writeSync(value))
}

/** Writes `bytes` atomically as the snapshot for `options.source`. Write failures are reported, not thrown. */
export async function putBlob(options: BlobOptions, bytes: Uint8Array): Promise<PutResult> {
  const { signal: abort, ...spec } = BLOB(options, 'putBlob(): options')
  const payload = buffer(bytes, 'putBlob(): bytes')
  return cancellable(abort, async (call) => {
    const plan = await native.planBlob(nativeSpec(spec), call.cancel)
    return putResult(await plan.write(payload, call.cancel))
  })
}


/** {@link putBlob} on the calling thread. */
export function putBlobSync(options: SnapshotOptions, bytes: Uint8Array): PutResult {
  const spec = BLOB_SYNC(options, 'putBlobSync(): options')
  const payload = buffer(bytes, 'putBlobSync(): bytes')
  return putResult(native.planBlobSync(nativeSpec(spec)).writeSync(payload))
}

/** Reads the snapshot when it passes every check against `options.source`; never builds. */
export async function getBlob(options: BlobOptions): Promise<GetResult> {
  const { signal: abort, ...spec } = BLOB(options, 'getBlob(): options')
  return cancellable(abort, async (call) => {
    const plan = await native.planBlob(nativeSpec(spec), call.cancel)
    return getResult(await plan.load(call.cancel))
  })
}

/** {@link getBlob} on the calling thread. */
export function getBlobSync(options: SnapshotOptions): GetResult {
  return getResult(native.planBlobSync(nativeSpec(BLOB_SYNC(options, 'getBlobSync(): options'))).loadSync())
}

// ---------------------------------------------------------------------------------------------
// Maintenance and inspection
// ---------------------------------------------------------------------------------------------

/** Removes every version of snapshot `name` in `dir`, and its temp files. */
export async function invalidate(options: InvalidateOptions): Promise<binding.Removed> {
  const { dir, name } = INVALIDATE(options, 'invalidate(): options')
  return native.invalidate(dir, name)
}

/** {@link invalidate} on the calling thread. */
export function invalidateSync(options: InvalidateOptions): binding.Removed {
  const { dir, name } = INVALIDATE(options, 'invalidateSync(): options')
  return native.invalidateSync(dir, name)
}

/** Removes leftover temp (`.tmp`) and deferred (`.del`) files in `dir` (off the main thread); run it when no writer is active. */
export async function cleanStore(dir: string, options?: SignalOptions): Promise<binding.Removed> {
  const folder = string(dir, 'cleanStore(): dir')
  const { signal: abort } = SIGNAL_ONLY(options, 'cleanStore(): options')
  return cancellable(abort, (call) => native.cleanStore(folder, call.cancel))
}

/** {@link cleanStore} on the calling thread. */
export function cleanStoreSync(dir: string): binding.Removed {
  return native.cleanStoreSync(string(dir, 'cleanStoreSync(): dir'))
}

/**
 * Header fields and check results of a snapshot file, without an expected source. `header` is
 * only meaningful when the `magic` check passed (a file that is not a snapshot fails there first).
 */
export async function inspectSnapshot(path: string, options?: SignalOptions): Promise<binding.SnapshotInspection> {
  const target = string(path, 'inspectSnapshot(): path')
  const { signal: abort } = SIGNAL_ONLY(options, 'inspectSnapshot(): options')
  return cancellable(abort, (call) => native.inspectSnapshot(target, call.cancel))
}

/** {@link inspectSnapshot} on the calling thread. */
export function inspectSnapshotSync(path: string): binding.SnapshotInspection {
  return native.inspectSnapshotSync(string(path, 'inspectSnapshotSync(): path'))
}

/** {@link inspectSnapshot} plus the full walk over every cell, for a file or every `.mfs` in a folder. */
export async function verifySnapshots(path: string, options?: SignalOptions): Promise<binding.SnapshotInspection[]> {
  const target = string(path, 'verifySnapshots(): path')
  const { signal: abort } = SIGNAL_ONLY(options, 'verifySnapshots(): options')
  return cancellable(abort, (call) => native.verifySnapshots(target, call.cancel))
}

/** {@link verifySnapshots} on the calling thread. */
export function verifySnapshotsSync(path: string): binding.SnapshotInspection[] {
  return native.verifySnapshotsSync(string(path, 'verifySnapshotsSync(): path'))
}

/** Options of {@link readBlobFile}. */
export interface BlobFileOptions {
  /** The payload kind the file must have; default `blob`. */
  kind?: string
  /** Stops reading and checking the file; the call rejects with `ABORT_ERR`. */
  signal?: AbortSignal
}

/** A snapshot read by {@link readBlobFile}: its payload and its data version. */
export interface BlobFile {
  /** The payload. */
  bytes: Buffer
  /** The file's data version. */
  version: string
}

const BLOB_FILE = (value: unknown, label: string): BlobFileOptions =>
  value === undefined || value === null ? {} : object<BlobFileOptions>({ kind: optional(string), signal: optional(signal) })(value, label)

/**
 * Reads a snapshot shipped with an application, by path: every container check (length,
 * checksums) and the kind (default `blob`); no data version and no source fingerprint, since
 * there is nothing to compare them with (docs/store.md, "Shipped snapshots"). Rejects with
 * `ERR_MODFORGE_IO` (missing file), `ERR_MODFORGE_FORMAT` (another kind), `ERR_MODFORGE_CORRUPT`
 * (damaged), `ABORT_ERR`.
 */
export async function readBlobFile(path: string, options?: BlobFileOptions): Promise<BlobFile> {
  const file = string(path, 'readBlobFile(): path')
  const { kind, signal: abort } = BLOB_FILE(options, 'readBlobFile(): options')
  return cancellable(abort, (call) => native.readBlobFile(file, kind, call.cancel))
}

/** {@link readBlobFile} on the calling thread. */
export function readBlobFileSync(path: string, options?: Omit<BlobFileOptions, 'signal'>): BlobFile {
  const file = string(path, 'readBlobFileSync(): path')
  const { kind } = object<Omit<BlobFileOptions, 'signal'>>({ kind: optional(string) })(options ?? {}, 'readBlobFileSync(): options')
  return native.readBlobFileSync(file, kind)
}
