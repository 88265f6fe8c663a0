/// <reference types="node" preserve="true" />
/**
 * NWN2 resources and icons: a layered resource index with the engine's precedence over folders,
 * `Data/*.zip` archives and ERF-family archives (HAK, MOD, ERF, SAV, NWM), and a persistent,
 * memory-mapped cache of icons encoded as lossless WebP (docs/icons.md).
 */
import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { homedir } from 'node:os'
import { join } from 'node:path'

import type * as binding from '../binding'
import { cancellable } from './internal/call'
import { native } from './internal/native'
import { invalidArg } from './internal/raise'
import {
  boolean,
  expected,
  func,
  integer,
  object,
  oneOf,
  optional,
  options,
  promiseOnly,
  reading,
  signal,
  string,
  strings,
  type Check,
  type Schema,
} from './internal/validate'
import type { ProgressListener } from './progress'

/** One source of an ordered list (highest priority first); see {@link ResourceIndex.open}. */
export type SourceSpec = binding.SourceSpec
/** What a source is: `dir`, `zip` or `erf`. */
export type SourceKind = binding.SourceKind
/** One place a resource is stored (`winner` flags the location the game uses). */
export type Location = binding.Location
/** What {@link discover} found, in precedence order. */
export type Discovery = binding.Discovery
/** Options of {@link discover}. */
export type DiscoverOptions = binding.DiscoverOptions
/** A key stored in more than one place. */
export type Conflict = binding.Conflict
/** Counts, warnings and skipped names of a {@link ResourceIndex}. */
export type IndexStats = binding.IndexStats
/** One source as indexed (with `error` when it could not be read). */
export type IndexedSource = binding.IndexedSource
/** What a cache build did. */
export type BuildReport = binding.BuildReport
/** Counters and state of an {@link IconCache}. */
export type IconCacheStats = binding.IconCacheStats
/** What an update of the served generation changed (`onUpdate` argument). */
export type UpdateEvent = binding.UpdateEvent
/** A rendered contact sheet with the position of every icon. */
export type Sheet = binding.Sheet

/**
 * The stages of an icon build, in order: `index` (`done`/`total` = sources indexed), `plan`
 * (icons whose winner was resolved), `encode` (icons decoded and encoded, or reused), `write`
 * (bytes of the generation file written).
 */
export type IconStage = 'index' | 'plan' | 'encode' | 'write'

/** A served icon. */
export interface Icon {
  /** The WebP bytes: a view of the mapped cache file (a copy with `copy: true`, or in Electron). */
  data: Buffer
  /** `image/webp`. */
  mime: 'image/webp'
  /** Width in pixels. */
  width: number
  /** Height in pixels. */
  height: number
  /** The winning source's label. */
  source: string
}

/** A resource type: an extension (`'tga'`, `'dds'`) or a type id (`3`, `2033`). */
export type ResourceType = string | number

// ---------------------------------------------------------------------------------------------
// Argument checks
// ---------------------------------------------------------------------------------------------

const resourceType: Check<ResourceType> = (value, label) =>
  typeof value === 'string' || (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535)
    ? (value as ResourceType)
    : expected(label, 'an extension or a type id from 0 to 65535', value)

const iconScope: Check<boolean | 'iconDirs'> = (value, label) =>
  value === true || value === false || value === 'iconDirs' ? value : expected(label, "true, false or 'iconDirs'", value)

const SOURCE = object<SourceSpec>({
  path: string,
  kind: optional(oneOf('dir', 'zip', 'erf')),
  label: optional(string),
  icons: optional(iconScope),
})

const sourceList: Check<SourceSpec[]> = (value, label) => {
  if (!Array.isArray(value)) return expected(label, 'an array of sources ({ path, kind?, label?, icons? })', value)
  const copy = reading(label, () => Array.prototype.slice.call(value) as unknown[])
  return copy.map((item, index) => SOURCE(item, `${label}[${index}]`))
}

const DISCOVER_OPTIONS: Schema<DiscoverOptions> = {
  module: optional(string),
  campaign: optional(string),
  workshopDirs: optional(strings),
}

/** Options of {@link ResourceIndex.open}. */
export interface IndexOpenOptions {
  /** Worker threads (default: all cores). */
  threads?: number
  /** Stops indexing; the call rejects with `ABORT_ERR` whose `cause` is the signal's reason. */
  signal?: AbortSignal
  /** Progress: stage `index`, `done`/`total` = sources indexed. */
  onProgress?: ProgressListener<'index'>
}

const INDEX_OPEN = options<IndexOpenOptions>({
  threads: optional(integer(1, 512)),
  signal: optional(signal),
  onProgress: optional(func<ProgressListener<'index'>>()),
})

const INDEX_OPEN_SYNC = options<IndexOpenOptions>({
  threads: optional(integer(1, 512)),
  signal: promiseOnly('ResourceIndex.open'),
  onProgress: promiseOnly('ResourceIndex.open'),
})

// ---------------------------------------------------------------------------------------------
// discover
// ---------------------------------------------------------------------------------------------

/**
 * The default NWN2 source list of an install (`gameDir`) and a user folder (`userDir`,
 * `Documents/Neverwinter Nights 2`), highest priority first: module HAKs in `Mod_HakList` order,
 * user override, Workshop items, install override, campaign, module, Data zips (patch > x2 > x1 >
 * base), `UI/upscaled`, `UI/default`. Missing places (and HAKs) are listed in `missing`, never thrown.
 */
export async function discover(gameDir: string, userDir: string, opts?: DiscoverOptions): Promise<Discovery> {
  const checked = options(DISCOVER_OPTIONS)(opts, 'discover(): options')
  return native.iconsDiscover(string(gameDir, 'discover(): gameDir'), string(userDir, 'discover(): userDir'), checked)
}

/** {@link discover} on the calling thread. */
export function discoverSync(gameDir: string, userDir: string, opts?: DiscoverOptions): Discovery {
  const checked = options(DISCOVER_OPTIONS)(opts, 'discoverSync(): options')
  return native.iconsDiscoverSync(string(gameDir, 'discoverSync(): gameDir'), string(userDir, 'discoverSync(): userDir'), checked)
}

// ---------------------------------------------------------------------------------------------
// ResourceIndex
// ---------------------------------------------------------------------------------------------

const unclosedIndexes = new FinalizationRegistry<number>((handle) => native.resourceIndexClose(handle))

/**
 * Every resource of an ordered list of sources (any resref and type), with the engine's
 * precedence: the first source listed wins. Obtained from {@link ResourceIndex.open}.
 */
export class ResourceIndex {
  /** The sources in precedence order, with their entry counts and read errors. */
  readonly sources: IndexedSource[]
  readonly #handle: number

  private constructor(info: binding.IndexInfo) {
    this.#handle = info.handle
    this.sources = info.sources
    unclosedIndexes.register(this, info.handle, this)
  }

  /**
   * Indexes `sources` (highest priority first) in parallel, off the main thread. A source that
   * cannot be read is reported in `sources[i].error`, not thrown.
   */
  static async open(sources: SourceSpec[], opts?: IndexOpenOptions): Promise<ResourceIndex> {
    const list = sourceList(sources, 'ResourceIndex.open(): sources')
    const { threads, signal: abort, onProgress } = INDEX_OPEN(opts, 'ResourceIndex.open(): options')
    return cancellable(abort, async (call) => {
      const listener = call.guard(onProgress as ((event: binding.ProgressEvent) => void) | undefined)
      return new ResourceIndex(await native.resourceIndexOpen(list, threads, call.cancel, listener))
    })
  }

  /** {@link ResourceIndex.open} on the calling thread. */
  static openSync(sources: SourceSpec[], opts?: Pick<IndexOpenOptions, 'threads'>): ResourceIndex {
    const list = sourceList(sources, 'ResourceIndex.openSync(): sources')
    const { threads } = INDEX_OPEN_SYNC(opts, 'ResourceIndex.openSync(): options')
    return new ResourceIndex(native.resourceIndexOpenSync(list, threads))
  }

  /** Every location of `name` (`'is_x'`, or `'is_x.tga'` for one type), in precedence order, each key's winner flagged. */
  whereIs(name: string): Location[] {
    return native.resourceIndexWhereIs(this.#handle, string(name, 'whereIs(): name'))
  }

  /** The winning location of `name` (of `type`, else of the name's extension, else of the first image type of `dds > tga > png`), or `null`. */
  resolve(name: string, type?: ResourceType): Location | null {
    const checked = optional(resourceType)(type, 'resolve(): type')
    return native.resourceIndexResolve(this.#handle, string(name, 'resolve(): name'), checked) ?? null
  }

  /** The bytes of the winning `name` of `type`, read off the main thread; `null` when absent. */
  async read(name: string, type: ResourceType): Promise<Buffer | null> {
    return native.resourceIndexRead(this.#handle, string(name, 'read(): name'), resourceType(type, 'read(): type'))
  }

  /** {@link ResourceIndex.read} on the calling thread. */
  readSync(name: string, type: ResourceType): Buffer | null {
    return native.resourceIndexReadSync(this.#handle, string(name, 'readSync(): name'), resourceType(type, 'readSync(): type'))
  }

  /** Every key stored in more than one place (of `type` when given), by name and type, winner first. */
  conflicts(opts?: { type?: ResourceType }): Conflict[] {
    const { type } = options<{ type?: ResourceType }>({ type: optional(resourceType) })(opts, 'conflicts(): options')
    return native.resourceIndexConflicts(this.#handle, type)
  }

  /** Counts, warnings and skipped names. */
  stats(): IndexStats {
    return native.resourceIndexStats(this.#handle)
  }

  /** Releases the index; later calls throw `ERR_MODFORGE_INVALID_ARG`. */
  close(): void {
    unclosedIndexes.unregister(this)
    native.resourceIndexClose(this.#handle)
  }
}

// ---------------------------------------------------------------------------------------------
// IconCache
// ---------------------------------------------------------------------------------------------

/** The install and user folders to discover the sources in (see {@link discover}). */
export interface DiscoverSpec extends DiscoverOptions {
  /** The install folder. */
  gameDir: string
  /** The user folder (`Documents/Neverwinter Nights 2`). */
  userDir: string
}

/** Options of {@link IconCache.open}. Give `sources` or `discover`. */
export interface IconCacheOptions {
  /** The sources, highest priority first. */
  sources?: SourceSpec[]
  /** Discover the default NWN2 sources of an install. */
  discover?: DiscoverSpec
  /**
   * The cache folder; `false` keeps the cache in memory only. Default: a folder per source list
   * under the platform cache folder (`$XDG_CACHE_HOME` or `~/.cache`, `~/Library/Caches`,
   * `%LOCALAPPDATA%`) `/modforge/icons/`. An unwritable folder falls back to memory with a warning.
   */
  cacheDir?: string | false
  /** Fit icons inside `maxSize x maxSize` (never enlarged); 0 or absent keeps the size. */
  maxSize?: number
  /** Resampler for `maxSize` (default `lanczos3`, premultiplied alpha). */
  resampler?: binding.Resampler
  /** Image types in order of preference inside one source (default `['dds', 'tga', 'png']`). */
  typePreference?: ResourceType[]
  /** Folder names whose images are icons in `'iconDirs'` sources (default `['icons']`). */
  iconDirs?: string[]
  /** Names added to the icon set. */
  extraIcons?: string[]
  /** Keep the colour of fully transparent pixels (default: set to 0, smaller files). */
  exactTransparent?: boolean
  /**
   * When the cache is checked against its sources: `background` (default; on a thread started
   * right after the opening call's synchronous work, in a microtask, so the first lookups do not
   * wait for it; entries are checked on first serve meanwhile), `blocking` (before `open`
   * resolves) or `none`.
   */
  validate?: binding.Validate
  /** Every `data` a fresh copy (default: `true` in Electron, which refuses external buffers). */
  copy?: boolean
  /** Worker threads for builds (default: all cores). */
  threads?: number
  /** Stops opening or building; rejects with `ABORT_ERR` (`cause` = the signal's reason), no file left. */
  signal?: AbortSignal
  /** Build progress; see {@link IconStage} for the unit of each stage. */
  onProgress?: ProgressListener<IconStage>
  /** Called on the main thread after a background validation or a rebuild installed a new generation. */
  onUpdate?: (event: UpdateEvent) => void
}

/** Options of {@link IconCache.rebuild}. */
export interface RebuildOptions {
  /** Re-encode every icon (default: only those whose source changed). */
  force?: boolean
  /** Stops the build; the served generation stays. */
  signal?: AbortSignal
  /** Build progress. */
  onProgress?: ProgressListener<IconStage>
}

/** Options of {@link IconCache.contactSheet}. */
export type SheetOptions = binding.SheetOptions

const DISCOVER_SPEC = object<DiscoverSpec>({ gameDir: string, userDir: string, ...DISCOVER_OPTIONS })

const cacheDirCheck: Check<string | false> = (value, label) =>
  typeof value === 'string' || value === false ? value : expected(label, 'a folder path or false', value)

const CACHE_FIELDS = {
  sources: optional(sourceList),
  discover: optional(DISCOVER_SPEC),
  cacheDir: optional(cacheDirCheck),
  maxSize: optional(integer(0, 16384)),
  resampler: optional(oneOf('lanczos3', 'catmullrom', 'box')),
  typePreference: optional<ResourceType[]>((value, label) => {
    if (!Array.isArray(value)) return expected(label, 'an array of extensions or type ids', value)
    const copy = reading(label, () => Array.prototype.slice.call(value) as unknown[])
    return copy.map((item, index) => resourceType(item, `${label}[${index}]`))
  }),
  iconDirs: optional(strings),
  extraIcons: optional(strings),
  exactTransparent: optional(boolean),
  validate: optional(oneOf('background', 'blocking', 'none')),
  copy: optional(boolean),
  threads: optional(integer(1, 512)),
}

const CACHE_OPEN = object<IconCacheOptions>({
  ...CACHE_FIELDS,
  signal: optional(signal),
  onProgress: optional(func<ProgressListener<IconStage>>()),
  onUpdate: optional(func<(event: UpdateEvent) => void>()),
})

const CACHE_OPEN_SYNC = object<IconCacheOptions>({
  ...CACHE_FIELDS,
  signal: promiseOnly('IconCache.open'),
  onProgress: promiseOnly('IconCache.open'),
  onUpdate: optional(func<(event: UpdateEvent) => void>()),
})

const REBUILD = options<RebuildOptions>({
  force: optional(boolean),
  signal: optional(signal),
  onProgress: optional(func<ProgressListener<IconStage>>()),
})

const SHEET = options<SheetOptions>({
  names: optional(strings),
  limit: optional(integer(0, 1_000_000)),
  columns: optional(integer(1, 4096)),
  cell: optional(integer(1, 4096)),
  padding: optional(integer(0, 256)),
  background: optional(string),
  format: optional(oneOf('png', 'webp')),
})

/** The platform's per-user cache folder. */
function platformCacheDir(): string {
  if (process.platform === 'win32') return process.env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local')
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches')
  return process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
}

/** The default cache folder of a source list: one folder per list, so installs never share generations. */
function defaultCacheDir(checked: IconCacheOptions): string {
  const key = JSON.stringify({ sources: checked.sources ?? null, discover: checked.discover ?? null })
  const digest = createHash('sha256').update(key).digest('hex').slice(0, 16)
  return join(platformCacheDir(), 'modforge', 'icons', digest)
}

function nativeCacheOptions(checked: IconCacheOptions, label: string): binding.IconCacheOptions {
  if ((checked.sources === undefined) === (checked.discover === undefined)) {
    throw invalidArg(`${label} must have exactly one of 'sources' and 'discover'`)
  }
  // `checked` is the checks' own copy, holding only the keys given: it is passed on as it is, with
  // the cache folder resolved (the binding reads the keys it declares and no others).
  const native = checked as binding.IconCacheOptions & Pick<IconCacheOptions, 'cacheDir'>
  native.cacheDir = checked.cacheDir === false ? undefined : (checked.cacheDir ?? defaultCacheDir(checked))
  return native
}

/** An `onUpdate` listener that cannot throw into the native callback (called only when one is given). */
function updateListener(listener: (event: UpdateEvent) => void): (event: UpdateEvent) => void {
  return (event) => {
    try {
      listener(event)
    } catch (error) {
      process.emitWarning(`IconCache onUpdate listener threw: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
}

/** `find` results besides an entry index (crates/node/src/icons/cache.rs). */
const MISSING = -1
const IN_MEMORY = -2
const STALE = -3

/** The served generation as the native side hands it out (`iconCacheView`). */
type NativeView = ReturnType<typeof native.iconCacheView>

/**
 * The served generation as JavaScript reads it: the native view (generation, swap count, labels,
 * bytes per window of `blobs`, which the native side may exceed) with what JavaScript keeps
 * beside it.
 */
interface View extends NativeView {
  /** Every icon served from this view by name, while the epoch holds (docs/icons.md, "Node API"). */
  found: Map<string, Readonly<Icon>>
  /** Names `found` may hold: twice the entries, so a caller cycling through case variants cannot grow it without bound. */
  foundLimit: number
  /**
   * The `entries` section as 32-bit words. They are read in the host's byte order, which is
   * little-endian on every target the package is built for; sections start 8-byte aligned
   * (docs/icons.md, "Cache file").
   */
  words: Uint32Array
  /** Windows over `blobs` fetched so far, by `floor(offset / window)`. */
  windows: (Buffer | undefined)[]
}

/** Reports a background validation that could not be started (the cache still serves). */
function validationNotStarted(error: unknown): void {
  process.emitWarning(`IconCache background validation did not start: ${error instanceof Error ? error.message : String(error)}`)
}

const unclosedCaches = new FinalizationRegistry<number>((handle) => native.iconCacheClose(handle))

/** The first value of a request header. */
function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value
}

/**
 * A persistent cache of icons encoded as lossless WebP, served from a memory-mapped file.
 * `getIcon` is one native lookup plus a Buffer view of the mapping. Obtained from {@link IconCache.open}.
 */
export class IconCache {
  readonly #handle: number
  /** 32-bit words per `entries` record. */
  readonly #entryWords: number
  readonly #copy: boolean
  /** The native swap counter, when it is a live view (else lookups are not remembered). */
  readonly #epoch: Uint32Array | null
  /** Icons served from remembered lookups (added to `stats().served`). */
  #servedHere = 0
  #view: View

  private constructor(info: binding.CacheInfo, copy: boolean) {
    this.#handle = info.handle
    this.#entryWords = info.entryLength / 4
    this.#copy = copy
    const raw = native.iconCacheView(info.handle, true)
    this.#epoch = raw.live && raw.cell ? new Uint32Array(raw.cell.buffer, raw.cell.byteOffset, 1) : null
    this.#view = this.#viewOf(raw)
    unclosedCaches.register(this, info.handle, this)
    // Background validation starts once the caller's synchronous work is done (a no-op for
    // `blocking` and `none`). A promise reaction rather than `queueMicrotask`, whose first call
    // builds an async resource on the warm path.
    Promise.resolve(info.handle).then(native.iconCacheStartValidation).catch(validationNotStarted)
  }

  /**
   * Opens the newest valid generation in the cache folder (checks of the header, settings and
   * every source's size and time: O(sources)), or builds one in parallel off the main thread.
   */
  static async open(opts: IconCacheOptions): Promise<IconCache> {
    const checked = CACHE_OPEN(opts, 'IconCache.open(): options')
    const nativeOptions = nativeCacheOptions(checked, 'IconCache.open(): options')
    const copy = checked.copy ?? process.versions.electron !== undefined
    return cancellable(checked.signal, async (call) => {
      const listener = call.guard(checked.onProgress as ((event: binding.ProgressEvent) => void) | undefined)
      const info = await native.iconCacheOpen(nativeOptions, call.cancel, listener, checked.onUpdate && updateListener(checked.onUpdate))
      return new IconCache(info, copy)
    })
  }

  /** {@link IconCache.open} on the calling thread. */
  static openSync(opts: Omit<IconCacheOptions, 'signal' | 'onProgress'>): IconCache {
    const checked = CACHE_OPEN_SYNC(opts, 'IconCache.openSync(): options')
    const nativeOptions = nativeCacheOptions(checked, 'IconCache.openSync(): options')
    const copy = checked.copy ?? process.versions.electron !== undefined
    return new IconCache(native.iconCacheOpenSync(nativeOptions, checked.onUpdate && updateListener(checked.onUpdate)), copy)
  }

  #fetchView(): View {
    return this.#viewOf(native.iconCacheView(this.#handle, false))
  }

  #viewOf(raw: NativeView): View {
    // The native object becomes the view: a literal of its own would cost a new hidden class per
    // key in every fresh process (docs/startup.md, "First calls").
    const view = raw as View
    view.found = new Map()
    view.foundLimit = (2 * raw.entries.byteLength) / (4 * this.#entryWords)
    view.words = new Uint32Array(raw.entries.buffer, raw.entries.byteOffset, raw.entries.byteLength / 4)
    view.windows = new Array<Buffer | undefined>(Math.ceil(raw.blobsLength / raw.window))
    return view
  }

  /** The bytes `start..end` of `blobs` of `view`, or `null` when its generation is no longer served. */
  #blob(view: View, start: number, end: number): Buffer | null {
    const slot = Math.floor(start / view.window)
    const base = slot * view.window
    let window = view.windows[slot]
    if (window === undefined || end > base + window.length) {
      const fetched = native.iconCacheBlobs(this.#handle, view.generation, base, end)
      if (fetched === null) return null
      window = view.windows[slot] = fetched
    }
    return window.subarray(start - base, end - base)
  }

  /**
   * The icon `name` (`'is_x'`, `'is_x.tga'`, any case), or `null` when there is none or it could
   * not be decoded (then it is listed in `stats().failed`). An image outside the icon set is
   * encoded on demand on the calling thread and kept in memory. Icons read from the cache file
   * are frozen and shared by later calls with the same name (with `copy: true`, each call gets
   * its own object and bytes).
   */
  getIcon(name: string): Icon | null {
    if (typeof name !== 'string') return expected('getIcon(): name', 'a string', name)
    let view = this.#view
    // An icon the served generation already answered (and checked) is remembered while the
    // native swap counter still holds the view's epoch; anything else asks the cache.
    const epoch = this.#epoch?.[0]
    if (epoch === view.epoch) {
      const known = view.found.get(name)
      if (known !== undefined) {
        this.#servedHere += 1
        return this.#copy ? { ...known, data: Buffer.from(known.data) } : known
      }
    }
    for (let attempt = 0; attempt < 2; attempt += 1) {
      let found = native.iconCacheFind(this.#handle, view.generation, name)
      if (found === STALE) {
        view = this.#view = this.#fetchView()
        found = native.iconCacheFind(this.#handle, view.generation, name)
      } else if (found >= 0 && epoch !== undefined) {
        // The view's generation was still served after `epoch` was read, so no swap counted in
        // `epoch` came after it (a view taken while a swap ran starts one behind).
        view.epoch = epoch
      }
      if (found === MISSING) return null
      if (found === IN_MEMORY || found === STALE) break
      // The record's words (docs/icons.md, "Node API"): source id and width share word 2,
      // height is the low half of word 3, the blob offset words 6 and 7, its length word 8.
      const at = found * this.#entryWords
      const entries = view.words
      const start = entries[at + 6] + entries[at + 7] * 0x1_0000_0000
      const data = this.#blob(view, start, start + entries[at + 8])
      if (data === null) {
        // A swap between the lookup and the window: look the name up in the new generation.
        view = this.#view = this.#fetchView()
        continue
      }
      const icon: Icon = Object.freeze({
        data,
        mime: 'image/webp' as const,
        width: entries[at + 2] >>> 16,
        height: entries[at + 3] & 0xffff,
        source: view.labels[entries[at + 2] & 0xffff],
      })
      if (epoch !== undefined && view.found.size < view.foundLimit) view.found.set(name, icon)
      return this.#copy ? { ...icon, data: Buffer.from(icon.data) } : icon
    }
    // IN_MEMORY (or a generation swapped again during the lookup): the copying path.
    return (native.iconCacheGetIcon(this.#handle, name) as Icon | null) ?? null
  }

  /** {@link IconCache.getIcon} off the main thread (an on-demand encode does not block it). */
  async getIconAsync(name: string): Promise<Icon | null> {
    const [icon] = await this.getIconsAsync([string(name, 'getIconAsync(): name')])
    return icon
  }

  /** {@link IconCache.getIcon} for several names, in order. */
  getIcons(names: string[]): (Icon | null)[] {
    return strings(names, 'getIcons(): names').map((name) => this.getIcon(name))
  }

  /** {@link IconCache.getIcons} off the main thread (copies). */
  async getIconsAsync(names: string[]): Promise<(Icon | null)[]> {
    const list = strings(names, 'getIconsAsync(): names')
    const found = await native.iconCacheGetIconsAsync(this.#handle, list)
    return found.map((icon) => (icon as Icon | null) ?? null)
  }

  /** Whether an icon of that name is cached (nothing is encoded). */
  has(name: string): boolean {
    return native.iconCacheHas(this.#handle, string(name, 'has(): name'))
  }

  /** The cached icon names, sorted. */
  names(): string[] {
    return native.iconCacheNames(this.#handle)
  }

  /** Every location of `name` in the sources, winner first (the resource index is built on first use). */
  whereIs(name: string): Location[] {
    return native.iconCacheWhereIs(this.#handle, string(name, 'whereIs(): name'))
  }

  /** `/<prefix>/<name>.webp?v=<8 hex of the icon's hash>`, or `null` when there is no such icon. */
  iconUrl(name: string, prefix = 'icons'): string | null {
    return native.iconCacheIconUrl(this.#handle, string(name, 'iconUrl(): name'), string(prefix, 'iconUrl(): prefix')) ?? null
  }

  /** The discovery the sources came from (`null` for a caller-given source list). */
  get discovery(): Discovery | null {
    return native.iconCacheDiscovery(this.#handle) ?? null
  }

  /**
   * Re-resolves and re-indexes the sources and builds a new generation off the main thread:
   * only icons whose source changed are re-encoded (all with `force`). Readers keep the old
   * generation until they drop it.
   */
  async rebuild(opts?: RebuildOptions): Promise<BuildReport> {
    const { force, signal: abort, onProgress } = REBUILD(opts, 'rebuild(): options')
    return cancellable(abort, async (call) => {
      const listener = call.guard(onProgress as ((event: binding.ProgressEvent) => void) | undefined)
      return native.iconCacheRebuild(this.#handle, force ?? false, call.cancel, listener)
    })
  }

  /** Writes icons encoded on demand into a new generation. */
  async persist(): Promise<void> {
    await native.iconCachePersist(this.#handle)
  }

  /** Resolves when background validation (and a rebuild it started) has ended. */
  async idle(): Promise<void> {
    await native.iconCacheIdle(this.#handle)
  }

  /**
   * A Node `http` request handler serving `/<prefix>/<name>[.webp]`: GET and HEAD (else 405 with
   * `Allow`), 400 for a bad name, 404 (or `next()` when given) for an unknown one, `ETag` with
   * 304 on `If-None-Match`; a year of immutable caching only for the versioned URLs of
   * {@link IconCache.iconUrl}, `no-cache` otherwise.
   */
  serve(opts?: { prefix?: string }): (req: IncomingMessage, res: ServerResponse, next?: () => void) => void {
    const { prefix } = options<{ prefix?: string }>({ prefix: optional(string) })(opts, 'serve(): options')
    const root = prefix ?? 'icons'
    return (req, res, next) => {
      let answer: binding.IconResponse
      try {
        answer = native.iconCacheRespond(this.#handle, req.method ?? 'GET', req.url ?? '/', root, headerValue(req.headers['if-none-match']))
      } catch (error) {
        res.statusCode = 500
        res.end()
        process.emitWarning(`IconCache.serve(): ${error instanceof Error ? error.message : String(error)}`)
        return
      }
      if (answer.status === 404 && next) {
        next()
        return
      }
      res.statusCode = answer.status
      for (const [header, value] of answer.headers) res.setHeader(header, value)
      res.end(answer.body ?? undefined)
    }
  }

  /**
   * A grid of icons on a checkerboard (so transparency shows), centred in their cells and never
   * enlarged, as PNG or WebP; `cells` maps positions to names.
   */
  async contactSheet(opts?: SheetOptions): Promise<Sheet> {
    return native.iconCacheContactSheet(this.#handle, SHEET(opts, 'contactSheet(): options'))
  }

  /** Counters and state. */
  stats(): IconCacheStats {
    const stats = native.iconCacheStats(this.#handle)
    return { ...stats, served: stats.served + this.#servedHere }
  }

  /** Stops background work and releases the cache; Buffers handed out stay readable. */
  close(): void {
    unclosedCaches.unregister(this)
    native.iconCacheClose(this.#handle)
  }
}

// ---------------------------------------------------------------------------------------------
// ERF-family archives
// ---------------------------------------------------------------------------------------------

/** The table of contents of an ERF, HAK, MOD, SAV or NWM file. */
export type ErfListing = binding.ErfListing
/** What {@link extractErf} wrote. */
export type ErfExtracted = binding.ErfExtracted

/** Reads the table of contents of an ERF-family archive (V1.0 and V1.1) off the main thread. */
export async function listErf(path: string): Promise<ErfListing> {
  return native.erfList(string(path, 'listErf(): path'))
}

/** {@link listErf} on the calling thread. */
export function listErfSync(path: string): ErfListing {
  return native.erfListSync(string(path, 'listErfSync(): path'))
}

/** Options of {@link extractErf}. */
export interface ExtractErfOptions {
  /** Only these resources (`resref` or `resref.ext`); default all. */
  names?: string[]
  /** Stops between resources; files already written stay. */
  signal?: AbortSignal
  /** Progress: stage `extract`, `done`/`total` = resources. */
  onProgress?: ProgressListener<'extract'>
}

const EXTRACT = options<ExtractErfOptions>({
  names: optional(strings),
  signal: optional(signal),
  onProgress: optional(func<ProgressListener<'extract'>>()),
})

const EXTRACT_SYNC = options<ExtractErfOptions>({
  names: optional(strings),
  signal: promiseOnly('extractErf'),
  onProgress: promiseOnly('extractErf'),
})

/**
 * Writes the resources of an archive into `outDir` as `<resref>.<ext>`, each atomically; a name
 * that is not a plain file name (separators, a leading dot) is skipped and listed, never written.
 */
export async function extractErf(path: string, outDir: string, opts?: ExtractErfOptions): Promise<ErfExtracted> {
  const { names, signal: abort, onProgress } = EXTRACT(opts, 'extractErf(): options')
  const archive = string(path, 'extractErf(): path')
  const target = string(outDir, 'extractErf(): outDir')
  return cancellable(abort, (call) =>
    native.erfExtract(archive, target, names, call.cancel, call.guard(onProgress as ((event: binding.ProgressEvent) => void) | undefined)),
  )
}

/** {@link extractErf} on the calling thread. */
export function extractErfSync(path: string, outDir: string, opts?: Pick<ExtractErfOptions, 'names'>): ErfExtracted {
  const { names } = EXTRACT_SYNC(opts, 'extractErfSync(): options')
  return native.erfExtractSync(string(path, 'extractErfSync(): path'), string(outDir, 'extractErfSync(): outDir'), names)
}
