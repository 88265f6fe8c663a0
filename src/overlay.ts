/// <reference types="node" preserve="true" />
/**
 * League of Legends WAD overlays (docs/overlay.md): build patched copies of exactly the game WADs
 * an ordered list of mods touches, incrementally (a no-op reads no mod byte, an edit rewrites only
 * the WADs whose override set changed), with conflicts reported instead of failing; analyse a mod;
 * list and extract WADs.
 */
import type * as binding from '../binding'
import { cancellable } from './internal/call'
import { invalidArg } from './internal/raise'
import { native } from './internal/native'
import {
  array,
  boolean,
  func,
  integer,
  object,
  optional,
  options,
  promiseOnly,
  signal,
  string,
  strings,
  type Check,
  type Schema,
} from './internal/validate'
import type { ProgressListener } from './progress'

export type {
  ExtractWadResult,
  ModAnalysis,
  ModContainer,
  ModLayer,
  ModRawSummary,
  ModWadSummary,
  OverlayBuildMode,
  OverlayBuildResult,
  OverlayBuildStats,
  OverlayConflict,
  OverlayContributor,
  OverlayWarning,
  OverlayWarningCode,
  WadEntry,
  WadListing,
  WadRouting,
} from '../binding'

/** One mod of a build. */
export interface OverlayMod {
  /** Unique id (the state and the conflict report name mods by it). */
  id: string
  /** A folder project, a `.fantome`/`.zip` archive or a `.modpkg` package. */
  path: string
  /** Active layers; undefined = every layer; `base` is always active. */
  layers?: string[]
}

/** Build options; every field has a default. */
export interface OverlayOptions {
  /** WAD file names never patched (case-insensitive), e.g. `scripts.wad.client`. Default `[]`. */
  blockedWads?: string[]
  /** Ignore the state and rebuild every WAD. Default `false`. */
  force?: boolean
  /** Worker threads. Default: one per core (and at least 8 concurrent WAD writers). */
  threads?: number
}

/** The stages `buildOverlay` reports. */
export type OverlayStage = 'fingerprint' | 'index' | 'collect' | 'route' | 'patch' | 'sweep' | 'done'

/** What {@link buildOverlaySync} takes. */
export interface BuildOverlaySyncOptions {
  /** The game's `Game` folder (holding `DATA/FINAL`). */
  gameDir: string
  /** Where the overlay WADs go (`<overlayDir>/DATA/FINAL/...`); nothing outside `<overlayDir>/DATA` is touched. */
  overlayDir: string
  /** Where the state file (`overlay-state.json`), `conflicts.json` and the caches go. */
  stateDir: string
  /** Mods in priority order: index 0 wins. Ids must be unique. */
  mods: OverlayMod[]
  /** Options. */
  options?: OverlayOptions
}

/** What {@link buildOverlay} takes. */
export interface BuildOverlayOptions extends BuildOverlaySyncOptions {
  /**
   * Progress, by stage: `fingerprint` (`done` of `total` mods and game, stat only), `index` (game
   * WADs whose TOC was read), `collect` (mods), `route` (3 steps), `patch` (WADs written,
   * `current` = the WAD key), `sweep` (stale files removed), `done`.
   */
  onProgress?: ProgressListener<OverlayStage>
  /**
   * Stops the build between units of work; the Promise rejects with `ABORT_ERR` (the signal's
   * reason as `cause`). No `.tmp` file stays, and a WAD not finished is never recorded clean: the
   * next build rewrites it.
   */
  signal?: AbortSignal
}

/** Options of {@link analyzeMod}. */
export interface AnalyzeModOptions {
  /** A game folder to resolve the mod's WAD folders against (fills `routedTo` and `routing`). */
  gameDir?: string
  /** Active layers; undefined = every layer. */
  layers?: string[]
  /** Stops the analysis; the Promise rejects with `ABORT_ERR`. */
  signal?: AbortSignal
}

/** Options of {@link extractWad}. */
export interface ExtractWadOptions {
  /** A hash-list file (`<16 hex> <path>` lines, CommunityDragon format) naming the chunks; others are written as `<hash>.bin`. */
  hashes?: string
  /** Check every entry's checksum (WAD 3.1+) before writing; a mismatch rejects with `ERR_MODFORGE_CORRUPT`. */
  verify?: boolean
  /** Progress of the `extract` stage: `done` of `total` entries. */
  onProgress?: ProgressListener<'extract'>
  /** Stops extracting between entries; the Promise rejects with `ABORT_ERR` (files written so far stay). */
  signal?: AbortSignal
}

/** Options of {@link readWad}. */
export interface ReadWadOptions {
  /** Stops before reading; the Promise rejects with `ABORT_ERR`. */
  signal?: AbortSignal
}

// ---------------------------------------------------------------------------------------------
// Argument checks
// ---------------------------------------------------------------------------------------------

const MOD = object<OverlayMod>({ id: string, path: string, layers: optional(strings) })

const BUILD_OPTIONS = object<OverlayOptions>({
  blockedWads: optional(strings),
  force: optional(boolean),
  threads: optional(integer(1, 1024)),
})

const BUILD: Schema<BuildOverlaySyncOptions> = {
  gameDir: string,
  overlayDir: string,
  stateDir: string,
  mods: array(MOD) as Check<OverlayMod[]>,
  options: optional(BUILD_OPTIONS),
}

const BUILD_ASYNC = object<BuildOverlayOptions>({
  ...BUILD,
  onProgress: optional(func<ProgressListener<OverlayStage>>()),
  signal: optional(signal),
})
const BUILD_SYNC = object<BuildOverlaySyncOptions & { onProgress?: undefined; signal?: undefined }>({
  ...BUILD,
  onProgress: promiseOnly('buildOverlay'),
  signal: promiseOnly('buildOverlay'),
})

const ANALYZE = options<AnalyzeModOptions>({ gameDir: optional(string), layers: optional(strings), signal: optional(signal) })
const ANALYZE_SYNC = options<AnalyzeModOptions>({ gameDir: optional(string), layers: optional(strings), signal: promiseOnly('analyzeMod') })
const EXTRACT = options<ExtractWadOptions>({
  hashes: optional(string),
  verify: optional(boolean),
  onProgress: optional(func<ProgressListener<'extract'>>()),
  signal: optional(signal),
})
const EXTRACT_SYNC = options<ExtractWadOptions>({
  hashes: optional(string),
  verify: optional(boolean),
  onProgress: promiseOnly('extractWad'),
  signal: promiseOnly('extractWad'),
})
const READ = options<ReadWadOptions>({ signal: optional(signal) })

type Listener = ((event: binding.ProgressEvent) => void) | undefined

/** The native spec of checked build options; mod ids must be unique. */
function spec(checked: BuildOverlaySyncOptions, label: string): binding.OverlayBuildSpec {
  const seen = new Set<string>()
  checked.mods.forEach((mod, index) => {
    if (seen.has(mod.id)) throw invalidArg(`${label}.mods[${index}].id '${mod.id}' is used by an earlier mod; ids must be unique`)
    seen.add(mod.id)
  })
  const { gameDir, overlayDir, stateDir, mods, options: opts } = checked
  return { gameDir, overlayDir, stateDir, mods, options: opts }
}

/**
 * Builds the overlay for `mods` (index 0 wins) over the game in `gameDir`, off the main thread:
 * skips when nothing changed (stat only, no mod byte read), rebuilds only the WADs whose override
 * set changed, or rebuilds everything after a game patch. Every WAD is written to `<W>.tmp` and
 * renamed; conflicts and warnings are reported, never fatal. A mod that cannot be parsed rejects
 * with `ERR_MODFORGE_FORMAT` naming the file and the byte offset.
 */
export async function buildOverlay(options: BuildOverlayOptions): Promise<binding.OverlayBuildResult> {
  const { onProgress, signal: abort, ...rest } = BUILD_ASYNC(options, 'buildOverlay(): options')
  const nativeSpec = spec(rest, 'buildOverlay(): options')
  return cancellable(abort, (call) => native.buildOverlay(nativeSpec, call.cancel, call.guard(onProgress as Listener)))
}

/** {@link buildOverlay} on the calling thread. */
export function buildOverlaySync(options: BuildOverlaySyncOptions): binding.OverlayBuildResult {
  return native.buildOverlaySync(spec(BUILD_SYNC(options, 'buildOverlaySync(): options'), 'buildOverlaySync(): options'))
}

/**
 * Reads a mod's structure off the main thread (layers, WAD folders with their file counts and
 * bytes, RAW files, fingerprint, warnings) and, with `gameDir`, where each WAD folder is routed.
 * Writes nothing.
 */
export async function analyzeMod(path: string, options?: AnalyzeModOptions): Promise<binding.ModAnalysis> {
  const target = string(path, 'analyzeMod(): path')
  const { signal: abort, ...rest } = ANALYZE(options, 'analyzeMod(): options')
  return cancellable(abort, (call) => native.analyzeMod(target, rest, call.cancel))
}

/** {@link analyzeMod} on the calling thread. */
export function analyzeModSync(path: string, options?: Omit<AnalyzeModOptions, 'signal'>): binding.ModAnalysis {
  const target = string(path, 'analyzeModSync(): path')
  return native.analyzeModSync(target, ANALYZE_SYNC(options, 'analyzeModSync(): options'))
}

/** Reads a WAD's header and TOC (versions 1.x, 2.x, 3.0-3.4) off the main thread. */
export async function readWad(path: string, options?: ReadWadOptions): Promise<binding.WadListing> {
  const target = string(path, 'readWad(): path')
  const { signal: abort } = READ(options, 'readWad(): options')
  return cancellable(abort, (call) => native.readWad(target, call.cancel))
}

/** {@link readWad} on the calling thread. */
export function readWadSync(path: string): binding.WadListing {
  return native.readWadSync(string(path, 'readWadSync(): path'))
}

/**
 * Extracts every chunk of a WAD into `outDir` off the main thread: named from `hashes`, else
 * `<hash>.bin`, so the folder re-imports as a mod. A hash-list path that would leave `outDir` is
 * written under its hex name (warning `UNSAFE_PATH`); undecodable chunk types are skipped with a
 * warning.
 */
export async function extractWad(path: string, outDir: string, options?: ExtractWadOptions): Promise<binding.ExtractWadResult> {
  const source = string(path, 'extractWad(): path')
  const target = string(outDir, 'extractWad(): outDir')
  const { onProgress, signal: abort, ...rest } = EXTRACT(options, 'extractWad(): options')
  return cancellable(abort, (call) => native.extractWad(source, target, rest, call.cancel, call.guard(onProgress as Listener)))
}

/** {@link extractWad} on the calling thread. */
export function extractWadSync(path: string, outDir: string, options?: Omit<ExtractWadOptions, 'signal' | 'onProgress'>): binding.ExtractWadResult {
  const source = string(path, 'extractWadSync(): path')
  const target = string(outDir, 'extractWadSync(): outDir')
  return native.extractWadSync(source, target, EXTRACT_SYNC(options, 'extractWadSync(): options'))
}
