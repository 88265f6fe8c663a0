/// <reference types="node" preserve="true" />
/**
 * The seeded data generators: the folder trees and CSV data sets of the tests, the demo and the
 * benchmarks, reproducible on every platform from a seed.
 */
import type * as binding from '../binding'
import { cancellable } from './internal/call'
import { native } from './internal/native'
import { boolean, func, integer, oneOf, optional, options, promiseOnly, signal, string, type Schema } from './internal/validate'
import type { ProgressListener } from './progress'

export type {
  DatasetGeneratorOptions,
  ExpectedIcon,
  GeneratedDataset,
  GeneratedInstall,
  GeneratedTable,
  InstallOptions,
  TreeOptions,
  TreeSummary,
} from '../binding'

/** Options of {@link generateTree}. */
export interface GenerateTreeOptions extends binding.TreeOptions {
  /** Progress of the `generate` stage: `done` of `total` entries created. */
  onProgress?: ProgressListener<'generate'>
  /** Stops generating; the Promise rejects with `ABORT_ERR` (the entries created so far stay). */
  signal?: AbortSignal
}

/** Options of {@link generateDataset}. */
export interface GenerateDatasetOptions extends binding.DatasetGeneratorOptions {
  /** Progress of the `generate` stage: `done` of `total` rows written. */
  onProgress?: ProgressListener<'generate'>
  /** Stops generating; the Promise rejects with `ABORT_ERR` (the files written so far stay). */
  signal?: AbortSignal
}

const TREE: Schema<binding.TreeOptions> = {
  shape: optional(oneOf('wide', 'deep', 'node', 'game', 'source', 'mixed')),
  entries: optional(integer(1, 100_000_000)),
  seed: optional(integer(0, 2 ** 32 - 1)),
  extras: optional(boolean),
  pnpm: optional(boolean),
  outside: optional(string),
}

const DATASET: Schema<binding.DatasetGeneratorOptions> = {
  seed: optional(integer(0, 2 ** 32 - 1)),
  scale: optional(oneOf('dalle', 'large')),
}

const ASYNC = {
  onProgress: optional(func<ProgressListener<'generate'>>()),
  signal: optional(signal),
}

const TREE_OPTIONS = options<GenerateTreeOptions>({ ...TREE, ...ASYNC })
const TREE_SYNC_OPTIONS = options<binding.TreeOptions & { onProgress?: undefined; signal?: undefined }>({
  ...TREE,
  onProgress: promiseOnly('generateTree'),
  signal: promiseOnly('generateTree'),
})
const DATASET_OPTIONS = options<GenerateDatasetOptions>({ ...DATASET, ...ASYNC })
const DATASET_SYNC_OPTIONS = options<binding.DatasetGeneratorOptions & { onProgress?: undefined; signal?: undefined }>({
  ...DATASET,
  onProgress: promiseOnly('generateDataset'),
  signal: promiseOnly('generateDataset'),
})

type Listener = ((event: binding.ProgressEvent) => void) | undefined

/**
 * Generates a seeded folder tree into `dir` (created if missing; it must be empty): `wide`, `deep`,
 * `node` (node_modules-like), `game` (an install with sparse archives) or `mixed`, optionally with
 * the `extras/` folder of awkward cases (hard links, symlink loops, unreadable folders, ...).
 */
export async function generateTree(dir: string, options?: GenerateTreeOptions): Promise<binding.TreeSummary> {
  const target = string(dir, 'generateTree(): dir')
  const { onProgress, signal: abort, ...rest } = TREE_OPTIONS(options, 'generateTree(): options')
  return cancellable(abort, (call) => native.generateTree(target, rest, call.cancel, call.guard(onProgress as Listener)))
}

/** {@link generateTree} on the calling thread. */
export function generateTreeSync(dir: string, options?: binding.TreeOptions): binding.TreeSummary {
  const target = string(dir, 'generateTreeSync(): dir')
  return native.generateTreeSync(target, TREE_SYNC_OPTIONS(options, 'generateTreeSync(): options'))
}

/** Writes a seeded CSV data set with the shape of the dalle databases (19 tables) into `dir`. */
export async function generateDataset(dir: string, options?: GenerateDatasetOptions): Promise<binding.GeneratedDataset> {
  const target = string(dir, 'generateDataset(): dir')
  const { onProgress, signal: abort, ...rest } = DATASET_OPTIONS(options, 'generateDataset(): options')
  return cancellable(abort, (call) => native.generateDataset(target, rest, call.cancel, call.guard(onProgress as Listener)))
}

/** {@link generateDataset} on the calling thread. */
export function generateDatasetSync(dir: string, options?: binding.DatasetGeneratorOptions): binding.GeneratedDataset {
  const target = string(dir, 'generateDatasetSync(): dir')
  return native.generateDatasetSync(target, DATASET_SYNC_OPTIONS(options, 'generateDatasetSync(): options'))
}

export type { GeneratedLeague, GeneratedLeagueMod, GeneratedModFormat, LeagueGeneratorOptions, LeagueScale } from '../binding'

/** Options of {@link generateLeague}. */
export interface GenerateLeagueOptions extends binding.LeagueGeneratorOptions {
  /** Stops before writing; the Promise rejects with `ABORT_ERR`. */
  signal?: AbortSignal
}

const LEAGUE: Schema<binding.LeagueGeneratorOptions> = {
  seed: optional(integer(0, 2 ** 32 - 1)),
  scale: optional(oneOf('small', 'benchmark')),
  mods: optional(integer(0, 100)),
  overrideBytes: optional(integer(0, 2 ** 32)),
}
const LEAGUE_OPTIONS = options<GenerateLeagueOptions>({ ...LEAGUE, signal: optional(signal) })
const LEAGUE_SYNC_OPTIONS = options<binding.LeagueGeneratorOptions & { signal?: undefined }>({
  ...LEAGUE,
  signal: promiseOnly('generateLeague'),
})

/**
 * Writes a seeded League of Legends install (`Game/DATA/FINAL/**` with chunk types 0/3/4,
 * SubChunkTOCs, shared chunks, Wwise chunks) with folder, fantome and modpkg mods into `dir` (empty
 * or absent): `small` (the tests' install, with the quirky mods and legacy WADs) or `benchmark`
 * (~200 WADs, ~500k chunks, ~200 MB of overrides).
 */
export async function generateLeague(dir: string, options?: GenerateLeagueOptions): Promise<binding.GeneratedLeague> {
  const target = string(dir, 'generateLeague(): dir')
  const { signal: abort, ...rest } = LEAGUE_OPTIONS(options, 'generateLeague(): options')
  return cancellable(abort, (call) => native.generateLeague(target, rest, call.cancel))
}

/** {@link generateLeague} on the calling thread. */
export function generateLeagueSync(dir: string, options?: binding.LeagueGeneratorOptions): binding.GeneratedLeague {
  const target = string(dir, 'generateLeagueSync(): dir')
  return native.generateLeagueSync(target, LEAGUE_SYNC_OPTIONS(options, 'generateLeagueSync(): options'))
}

const INSTALL: Schema<binding.InstallOptions> = {
  preset: optional(oneOf('small', 'bench')),
  seed: optional(integer(0, 2 ** 32 - 1)),
  upscaled: optional(oneOf('bc7', 'dxt5')),
}

/** Options of {@link generateInstall}. */
export interface GenerateInstallOptions extends binding.InstallOptions {
  /** Stops before generating starts; the Promise rejects with `ABORT_ERR`. */
  signal?: AbortSignal
}

const INSTALL_OPTIONS = options<GenerateInstallOptions>({ ...INSTALL, signal: optional(signal) })
const INSTALL_SYNC_OPTIONS = options<binding.InstallOptions & { signal?: undefined }>({
  ...INSTALL,
  signal: promiseOnly('generateInstall'),
})

/**
 * Generates a seeded synthetic Neverwinter Nights 2 install under `dir`: `game/` (Data zips with
 * patch zips, `UI/default` and `UI/upscaled` icons in every TGA and DDS variant, an override,
 * HAKs, a module listing them, a campaign), `user/` (override, HAKs) and Workshop items. The
 * result lists the expected winning source of every icon.
 */
export async function generateInstall(dir: string, options?: GenerateInstallOptions): Promise<binding.GeneratedInstall> {
  const target = string(dir, 'generateInstall(): dir')
  const { signal: abort, ...rest } = INSTALL_OPTIONS(options, 'generateInstall(): options')
  return cancellable(abort, (call) => native.generateInstall(target, rest, call.cancel))
}

/** {@link generateInstall} on the calling thread. */
export function generateInstallSync(dir: string, options?: binding.InstallOptions): binding.GeneratedInstall {
  const target = string(dir, 'generateInstallSync(): dir')
  return native.generateInstallSync(target, INSTALL_SYNC_OPTIONS(options, 'generateInstallSync(): options'))
}
