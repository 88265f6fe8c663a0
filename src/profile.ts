/// <reference types="node" preserve="true" />
/**
 * The directory profiler: one parallel pass over a folder tree on native threads, with counts,
 * sizes as GNU `du` gives them, extensions, largest files, heaviest folders, empty folders, depth
 * and age histograms, and every entry that could not be read (docs/profile.md).
 */
import type * as binding from '../binding'
import { cancellable } from './internal/call'
import { native } from './internal/native'
import { boolean, func, integer, optional, options, promiseOnly, signal, string, strings, type Schema } from './internal/validate'
import type { ProgressListener } from './progress'

export type {
  AgeRow,
  DirFileCount,
  DirSize,
  ErrorRow,
  ExtensionRow,
  LargestFile,
  PathBatch,
  ProfileReport,
  ResolvedProfileOptions,
  Timing,
  Totals,
} from '../binding'

/** Options of {@link profile}: every field optional, defaults documented per field. */
export interface ProfileOptions extends binding.ProfileOptions {
  /**
   * Called about ten times a second on the main thread with `{ stage: 'walk', done, bytes, current }`
   * (`done` = entries counted, `bytes` = apparent bytes so far, `total` = `null`), then once with
   * the totals before the Promise settles. A throw aborts the walk and the Promise rejects with
   * the thrown error.
   */
  onProgress?: ProgressListener<'walk'>
  /**
   * Opt-in listing of every counted entry, in batches of up to 8,192 (`paths` relative to the
   * root, `kinds` 0 file / 1 dir / 2 symlink / 3 other, `apparentBytes` or `null` with
   * `stats: false`). Order is unspecified; the Promise resolves after the last batch.
   * A throw aborts the walk and the Promise rejects with the thrown error.
   * {@link walkPaths} gives the same batches as an async iterator.
   */
  collectPaths?: (batch: binding.PathBatch) => void
  /** Stops the walk mid-way; the Promise rejects with `ABORT_ERR` (no partial report). */
  signal?: AbortSignal
}

/** Options of {@link profileSync}: as {@link ProfileOptions} without `onProgress` and `signal`. */
export type ProfileSyncOptions = Omit<ProfileOptions, 'onProgress' | 'signal'>

/** Options of {@link walkPaths}: as {@link ProfileOptions}; the batches are what the iterator yields. */
export type WalkPathsOptions = Omit<ProfileOptions, 'collectPaths'>

const COUNT = integer(0, 2 ** 32 - 1)

const WALK_OPTIONS: Schema<binding.ProfileOptions> = {
  maxDepth: optional(COUNT),
  includeHidden: optional(boolean),
  exclude: optional(strings),
  include: optional(strings),
  extensions: optional(strings),
  oneFileSystem: optional(boolean),
  minSize: optional(integer(0)),
  followSymlinks: optional(boolean),
  countHardLinks: optional(boolean),
  stats: optional(boolean),
  threads: optional(integer(0, 512)),
  topN: optional(COUNT),
  errorLimit: optional(COUNT),
  emptyDirLimit: optional(COUNT),
  strict: optional(boolean),
}

const PROFILE_OPTIONS = options<ProfileOptions>({
  ...WALK_OPTIONS,
  onProgress: optional(func<ProgressListener<'walk'>>()),
  collectPaths: optional(func<(batch: binding.PathBatch) => void>()),
  signal: optional(signal),
})

const PROFILE_SYNC_OPTIONS = options<ProfileSyncOptions & { onProgress?: undefined; signal?: undefined }>({
  ...WALK_OPTIONS,
  collectPaths: optional(func<(batch: binding.PathBatch) => void>()),
  onProgress: promiseOnly('profile'),
  signal: promiseOnly('profile'),
})

const WALK_PATHS_OPTIONS = options<WalkPathsOptions>({
  ...WALK_OPTIONS,
  onProgress: optional(func<ProgressListener<'walk'>>()),
  signal: optional(signal),
})

/** Starts the native walk with checked options. */
function walk(root: string, checked: ProfileOptions): Promise<binding.ProfileReport> {
  const { onProgress, collectPaths, signal: abort, ...rest } = checked
  return cancellable(abort, (call) =>
    native.profile(
      root,
      rest,
      call.cancel,
      call.guard(onProgress as ((event: binding.ProgressEvent) => void) | undefined),
      call.guard(collectPaths),
    ),
  )
}

/**
 * Profiles the folder tree at `path` on a pool of native threads: counts by kind, apparent and
 * allocated bytes (as GNU `du`), extensions, largest files, heaviest folders, empty folders,
 * depth and age histograms, and every entry that could not be read.
 *
 * Rejects with `ERR_MODFORGE_IO` when the root is missing (`ENOENT`) or not a folder (`ENOTDIR`),
 * `ERR_MODFORGE_INVALID_ARG` for a bad argument or option (checked before anything is read),
 * `ABORT_ERR` when `signal` aborts.
 */
export async function profile(path: string, options?: ProfileOptions): Promise<binding.ProfileReport> {
  const root = string(path, 'profile(): path')
  return walk(root, PROFILE_OPTIONS(options, 'profile(): options'))
}

/**
 * {@link profile} on the calling thread. `collectPaths` batches are delivered before it returns.
 * Throws `ERR_MODFORGE_INVALID_ARG` when given `onProgress` or `signal`.
 */
export function profileSync(path: string, options?: ProfileSyncOptions): binding.ProfileReport {
  const root = string(path, 'profileSync(): path')
  const { collectPaths, ...rest } = PROFILE_SYNC_OPTIONS(options, 'profileSync(): options')
  return native.profileSync(root, rest, collectPaths)
}

/** Batches the walk may hand over before the loop has taken the earlier ones. */
const HIGH_WATER = 4

/**
 * The entries of a profile as an async iterator of {@link PathBatch}es (the batches of
 * `collectPaths`), for `for await (const batch of walkPaths(dir))`. The iterator's return value
 * (after the last batch) is the {@link ProfileReport}. Leaving the loop early (`break`, a throw)
 * stops the walk. Arguments are checked at once: a bad one throws `ERR_MODFORGE_INVALID_ARG`
 * from this call, not from the first `next()`.
 *
 * While {@link HIGH_WATER} batches wait for the loop, the `collectPaths` callback the walk calls
 * returns a Promise that resolves once the loop has caught up.
 */
export function walkPaths(path: string, options?: WalkPathsOptions): AsyncGenerator<binding.PathBatch, binding.ProfileReport, undefined> {
  const root = string(path, 'walkPaths(): path')
  return batches(root, WALK_PATHS_OPTIONS(options, 'walkPaths(): options'))
}

async function* batches(root: string, checked: WalkPathsOptions): AsyncGenerator<binding.PathBatch, binding.ProfileReport, undefined> {
  const queue: binding.PathBatch[] = []
  let wakeConsumer: (() => void) | undefined
  let wakeProducer: (() => void) | undefined
  let outcome: { report: binding.ProfileReport } | { error: unknown } | undefined
  // The walk stops when the caller's signal aborts, or when the loop is left early.
  const stop = new AbortController()
  const caller = checked.signal
  const onAbort = () => stop.abort(caller?.reason)
  if (caller?.aborted) onAbort()
  else caller?.addEventListener('abort', onAbort, { once: true })
  const running = walk(root, {
    ...checked,
    signal: stop.signal,
    collectPaths: ((batch: binding.PathBatch) => {
      queue.push(batch)
      wakeConsumer?.()
      if (queue.length < HIGH_WATER) return undefined
      return new Promise<void>((resolve) => {
        wakeProducer = resolve
      })
    }) as (batch: binding.PathBatch) => void,
  }).then(
    (report) => {
      outcome = { report }
    },
    (error: unknown) => {
      outcome = { error }
    },
  )
  void running.then(() => wakeConsumer?.())
  try {
    for (;;) {
      const batch = queue.shift()
      if (batch) {
        if (queue.length < HIGH_WATER) {
          wakeProducer?.()
          wakeProducer = undefined
        }
        yield batch
        continue
      }
      if (outcome) break
      await new Promise<void>((resolve) => {
        wakeConsumer = resolve
      })
      wakeConsumer = undefined
    }
    if ('error' in outcome) throw outcome.error
    return outcome.report
  } finally {
    caller?.removeEventListener('abort', onAbort)
    if (!outcome) {
      stop.abort(new Error('the loop over walkPaths() ended before the walk'))
      wakeProducer?.()
      await running
    }
  }
}
