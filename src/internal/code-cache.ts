/**
 * V8 code caches of the package's own modules (docs/startup.md).
 *
 * V8 compiles a function when it is first called. In a fresh process that is most of what the first
 * call of the library costs: opening an icon cache spends about 0.4 ms compiling the argument checks,
 * the constructor and `getIcon`. The build runs those paths once and saves V8's code for them in
 * `dist/code-cache.bin` (`scripts/code-cache.ts`); while the package entry loads, its modules are
 * compiled from that file instead of from scratch.
 *
 * The cache is used only by the Node build that wrote it (V8 version and architecture in the header)
 * and only for a module whose source is, character for character, the one it was made from (the file
 * holds that source too: V8 itself checks no more than the length), so a rebuilt or patched module
 * compiles normally; V8 refuses data made under other flags. Anything unusable (no file, a damaged
 * one, another Node) is ignored: the modules then compile as they would without it. V8 does not check
 * the integrity of cached code in release builds and aborts the process on damaged code, so each
 * module's code is checked against its SHA-1 in the header before V8 sees it.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import Module = require('node:module')
import { dirname, join, relative, sep } from 'node:path'
import { Script } from 'node:vm'

/** The `dist/` folder: this file is `dist/src/internal/code-cache.js`. */
const DIST = join(__dirname, '..', '..')

/** The name of the cache file the build writes in `dist/`. */
export const CACHE_NAME = 'code-cache.bin'

const CACHE_FILE = join(DIST, CACHE_NAME)

/**
 * The header of the cache file: a u32 LE length, then this as JSON, then the body holding every
 * module's source (UTF-8) and code.
 */
export interface CacheHeader {
  /** `process.versions.v8` of the Node that wrote it. */
  v8: string
  /** `process.arch` of the Node that wrote it. */
  arch: string
  /**
   * Module path relative to `dist/` with `/` separators -> offset and length in the body of its
   * source, then of its code, then the SHA-1 of the code (base64).
   */
  modules: Record<string, [number, number, number, number, string]>
}

/** What the loader did, for tests and diagnostics. */
export interface CodeCacheReport {
  /** Why the cache file was not used at all, or `null` when it was read. */
  unusable: string | null
  /** Modules compiled from the cache. */
  used: string[]
  /** Modules whose cached code V8 refused (they compiled normally). */
  rejected: string[]
  /** Modules whose cached code failed its checksum (they compiled normally). */
  damaged: string[]
}

/**
 * The internal compile step of CommonJS modules, which the loader wraps while the entry loads
 * (newer Node versions pass more arguments, such as the module format: handed on unchanged).
 */
type Compile = (this: Module, content: string, filename: string, ...rest: unknown[]) => unknown

const moduleProto = Module.prototype as unknown as { _compile: Compile }

const report: CodeCacheReport = { unusable: null, used: [], rejected: [], damaged: [] }

/** The cache file's header and code, or why it cannot be used. */
function readCache(): { header: CacheHeader; body: Buffer } | string {
  let bytes: Buffer
  try {
    bytes = readFileSync(CACHE_FILE)
  } catch {
    return 'no cache file'
  }
  try {
    const length = bytes.readUInt32LE(0)
    const header = JSON.parse(bytes.toString('utf8', 4, 4 + length)) as CacheHeader
    if (header.v8 !== process.versions.v8 || header.arch !== process.arch) return `written by V8 ${header.v8} (${header.arch})`
    return { header, body: bytes.subarray(4 + length) }
  } catch {
    return 'damaged cache file'
  }
}

/** Whether `entry` is a module's [source offset, length, code offset, length, SHA-1] inside `length` bytes. */
function isEntry(entry: unknown, length: number): entry is [number, number, number, number, string] {
  if (!Array.isArray(entry) || entry.length !== 5 || typeof entry[4] !== 'string') return false
  for (let i = 0; i < 4; i += 2) {
    const [offset, size] = [entry[i] as unknown, entry[i + 1] as unknown]
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size)) return false
    if ((offset as number) < 0 || (size as number) <= 0 || (offset as number) + (size as number) > length) return false
  }
  return true
}

/**
 * Compiles `content` (the module `filename`) with `vm.Script`, from `cachedData` when given, and runs
 * it as CommonJS would. The build records its cache through this same function
 * (`scripts/code-cache.ts`), so the code it saves is made from the very script the loader compiles.
 */
export function runModule(module: Module, content: string, filename: string, cachedData?: Buffer): { script: Script; result: unknown } {
  const script = new Script(Module.wrap(content), { filename, cachedData })
  const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown
  const result = wrapper.call(module.exports, module.exports, Module.createRequire(filename), module, filename, dirname(filename))
  return { script, result }
}

/**
 * Compiles the package's modules from the cache until {@link stopCodeCache}. Called once, by the
 * package entry before it loads the capabilities.
 */
export function startCodeCache(): void {
  // Already open: an entry whose earlier load threw (a missing binary) is being loaded again.
  if (stopping) return
  const cache = readCache()
  if (typeof cache === 'string') {
    report.unusable = cache
    return
  }
  const { header, body } = cache
  const original = moduleProto._compile
  const compile: Compile = function (this: Module, content: string, filename: string, ...rest: unknown[]): unknown {
    const name = relative(DIST, filename).split(sep).join('/')
    const entry = Object.hasOwn(header.modules, name) ? header.modules[name] : undefined
    if (!isEntry(entry, body.length) || body.toString('utf8', entry[0], entry[0] + entry[1]) !== content) {
      return original.call(this, content, filename, ...rest)
    }
    const code = body.subarray(entry[2], entry[2] + entry[3])
    if (createHash('sha1').update(code).digest('base64') !== entry[4]) {
      report.damaged.push(name)
      return original.call(this, content, filename, ...rest)
    }
    const { script, result } = runModule(this, content, filename, code)
    ;(script.cachedDataRejected ? report.rejected : report.used).push(name)
    return result
  }
  moduleProto._compile = compile
  stopping = () => {
    // Left in place when another wrapper was installed on top of it meanwhile (it still only
    // touches this package's files, by their exact source).
    if (moduleProto._compile === compile) moduleProto._compile = original
  }
}

/** Restores Node's compile step, while the cache is open. */
let stopping: (() => void) | null = null

/**
 * Restores Node's own compile step (the entry has loaded every module). When the entry throws
 * before this runs, the wrapper stays; it changes nothing but this package's own modules.
 */
export function stopCodeCache(): void {
  stopping?.()
  stopping = null
}

/** What the loader did in this process. */
export function codeCacheReport(): CodeCacheReport {
  return { unusable: report.unusable, used: [...report.used], rejected: [...report.rejected], damaged: [...report.damaged] }
}
