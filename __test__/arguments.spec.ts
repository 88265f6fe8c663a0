/**
 * Every public function called with wrongly typed arguments: each call must fail with
 * `ERR_MODFORGE_INVALID_ARG` before doing any work (never a TypeError without a code, never napi's
 * conversion text, never `ERR_MODFORGE_INTERNAL`), Promise forms by rejecting, never by throwing.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { types } from 'node:util'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import * as modforge from 'modforge'
import { ErrorCode, isModforgeError, type Dataset } from 'modforge'

import { removeTree, tempDir } from './helpers'

/** Whether a value is accepted in a position. */
type Accepts = (value: unknown) => boolean

const throwingTraps: ProxyHandler<object> = {
  get: () => {
    throw new Error('get trap')
  },
  ownKeys: () => {
    throw new Error('ownKeys trap')
  },
  getPrototypeOf: () => {
    throw new Error('getPrototypeOf trap')
  },
  has: () => {
    throw new Error('has trap')
  },
  apply: () => {
    throw new Error('apply trap')
  },
}

/** Objects that throw when read: wrong wherever an object is read. */
const THROWING = new Set<unknown>([
  new Proxy({}, throwingTraps),
  new Proxy([], throwingTraps),
  new Proxy(() => undefined, throwingTraps),
  Object.defineProperty({}, 'dir', { enumerable: true, get: () => { throw new Error('getter') } }),
])
const [throwingObject, throwingArray, throwingFunction, throwingGetter] = THROWING

/** Values of every kind, most of them wrong for most positions. */
const POOL: [string, unknown][] = [
  ['undefined', undefined],
  ['null', null],
  ['0', 0],
  ['-1', -1],
  ['1.5', 1.5],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['2^53', 2 ** 53],
  ['10n', 10n],
  ["'text'", 'text'],
  ["''", ''],
  ['true', true],
  ['false', false],
  ['[]', []],
  ["['x']", ['x']],
  ['[1]', [1]],
  ['[null]', [null]],
  ['{}', {}],
  ['{ bogus }', { bogus: 1 }],
  ['a function', () => undefined],
  ['a symbol', Symbol('s')],
  ['Proxy({}) with throwing traps', throwingObject],
  ['Proxy([]) with throwing traps', throwingArray],
  ['Proxy(function) with throwing traps', throwingFunction],
  ['an object with a throwing getter', throwingGetter],
  ['a fake signal', { aborted: false, reason: undefined, addEventListener() {}, removeEventListener() {} }],
  ['a Proxy of an AbortSignal', new Proxy(new AbortController().signal, {})],
  ['a Uint8Array', new Uint8Array(2)],
  ['a DataView', new DataView(new ArrayBuffer(2))],
  ['a Date', new Date(0)],
  ['a Map', new Map([['dir', '/tmp']])],
  ['Object.create(null)', Object.create(null)],
]

// What each position accepts, as the documentation states it.
const isString: Accepts = (value) => typeof value === 'string'
const isBoolean: Accepts = (value) => typeof value === 'boolean'
const isFunction: Accepts = (value) => typeof value === 'function'
const isNumber: Accepts = (value) => typeof value === 'number'
const isKey: Accepts = (value) => typeof value === 'string' || typeof value === 'number'
const isBytes: Accepts = (value) => types.isUint8Array(value)
const isSignal: Accepts = (value) => !types.isProxy(value) && value instanceof AbortSignal
const isStrings: Accepts = (value) => Array.isArray(value) && !THROWING.has(value) && value.every((item) => typeof item === 'string')
const integer = (min: number, max: number): Accepts => (value) => Number.isInteger(value) && (value as number) >= min && (value as number) <= max
const oneOf = (...choices: string[]): Accepts => (value) => choices.includes(value as string)
const optional = (accepts: Accepts): Accepts => (value) => value === undefined || value === null || accepts(value)
const absent: Accepts = (value) => value === undefined || value === null
/** A readable object (a Proxy that does not throw counts; not an array, typed array or DataView). */
const isObject: Accepts = (value) =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value) && !THROWING.has(value)
/** An object whose own keys are all strings passing `accepts` (an empty one included). */
const recordOf = (accepts: Accepts): Accepts => (value) => isObject(value) && Object.values(value as object).every(accepts)
const isSource: Accepts = () => false // no pool value is one of { bytes }, { files }, { token }
const isTableInput: Accepts = (value) => typeof value === 'string' || isBytes(value)
const isTables: Accepts = (value) => isFunction(value) || recordOf(isTableInput)(value)

/** An options object: each key's rule; `required` keys must be present. */
interface Shape {
  keys: Record<string, Accepts>
  required?: string[]
}

const SNAPSHOT: Shape = {
  keys: { dir: isString, name: isString, version: isString, kind: optional(isString), source: isSource },
  required: ['dir', 'name', 'version', 'source'],
}
const COUNT = optional(integer(0, 2 ** 32 - 1))
const WALK: Record<string, Accepts> = {
  maxDepth: COUNT,
  includeHidden: optional(isBoolean),
  exclude: optional(isStrings),
  include: optional(isStrings),
  extensions: optional(isStrings),
  oneFileSystem: optional(isBoolean),
  minSize: optional(integer(0, Number.MAX_SAFE_INTEGER)),
  followSymlinks: optional(isBoolean),
  countHardLinks: optional(isBoolean),
  stats: optional(isBoolean),
  threads: optional(integer(0, 512)),
  topN: COUNT,
  errorLimit: COUNT,
  emptyDirLimit: COUNT,
  strict: optional(isBoolean),
}
const TREE: Record<string, Accepts> = {
  shape: optional(oneOf('wide', 'deep', 'node', 'game', 'source', 'mixed')),
  entries: optional(integer(1, 100_000_000)),
  seed: optional(integer(0, 2 ** 32 - 1)),
  extras: optional(isBoolean),
  pnpm: optional(isBoolean),
  outside: optional(isString),
}
const DATASET_KEYS: Record<string, Accepts> = {
  dir: isString,
  name: isString,
  version: optional(isString),
  versionColumn: optional(isString),
  source: optional(isSource),
  key: optional((value) => isString(value) || recordOf(isString)(value)),
  duplicates: optional(oneOf('first', 'error')),
  ragged: optional(oneOf('joinLast', 'error')),
  delimiter: optional(oneOf(',', ';', '\t', '|')),
  tables: isTables,
}

/** Whether `value` passes as a whole options object of `shape`. */
function fitsShape(shape: Shape, value: unknown): boolean {
  if (!isObject(value)) return false
  const given = value as Record<string, unknown>
  if (!Object.keys(given).every((key) => key in shape.keys)) return false
  if (!(shape.required ?? []).every((key) => key in given)) return false
  return Object.entries(shape.keys).every(([key, accepts]) => accepts(given[key]) || (given[key] === undefined && !(shape.required ?? []).includes(key)))
}

/** One argument position: a valid value and what the position accepts; an options object also fuzzes per key. */
interface Position {
  valid: unknown
  accepts: Accepts
  shape?: Shape
  optionalObject?: boolean
}

const text = (valid: string): Position => ({ valid, accepts: isString })
const optionsOf = (valid: object, shape: Shape, optionalObject: boolean): Position => ({
  valid,
  shape,
  optionalObject,
  accepts: (value) => (optionalObject && absent(value)) || fitsShape(shape, value),
})

/** `position`, also accepting a string (a file path). */
const orPath = (position: Position): Position => ({ ...position, accepts: (value) => isString(value) || position.accepts(value) })

/** A public function: how to call it, whether it returns a Promise, and its positions. */
interface Subject {
  name: string
  call: (...args: unknown[]) => unknown
  promise: boolean
  positions: Position[]
}

/** One call with exactly one wrong value. */
interface Case {
  subject: Subject
  label: string
  args: unknown[]
}

function cases(subject: Subject): Case[] {
  const base = subject.positions.map((position) => position.valid)
  const out: Case[] = []
  subject.positions.forEach((position, index) => {
    const withValue = (value: unknown) => base.map((arg, at) => (at === index ? value : arg))
    for (const [label, value] of POOL) {
      if (!position.accepts(value)) out.push({ subject, label: `argument ${index} = ${label}`, args: withValue(value) })
    }
    if (!position.shape) return
    for (const [key, accepts] of Object.entries(position.shape.keys)) {
      for (const [label, value] of POOL) {
        if (accepts(value)) continue
        if (value === undefined && !(position.shape.required ?? []).includes(key)) continue
        out.push({ subject, label: `argument ${index}.${key} = ${label}`, args: withValue({ ...(position.valid as object), [key]: value }) })
      }
      const misspelt = key.toLowerCase() === key ? `${key}s` : key.toLowerCase()
      out.push({ subject, label: `argument ${index} with key ${misspelt}`, args: withValue({ ...(position.valid as object), [misspelt]: 1 }) })
    }
  })
  return out
}

/** A seeded generator of numbers in [0, 1) (mulberry32), so a failing case can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

/**
 * What is wrong with the outcome of calling `subject` with `args`, at least one of them wrong:
 * nothing when it failed with `ERR_MODFORGE_INVALID_ARG` (a Promise form by rejecting) and a
 * message of its own.
 */
async function outcomeProblem(subject: Subject, args: unknown[]): Promise<string | undefined> {
  let outcome: unknown
  let thrown = false
  try {
    outcome = subject.call(...args)
  } catch (error) {
    thrown = true
    outcome = error
  }
  if (subject.promise) {
    if (thrown) return 'threw instead of rejecting'
    if (!(outcome instanceof Promise)) return 'returned no Promise'
    try {
      await outcome
      return 'resolved'
    } catch (error) {
      outcome = error
    }
  } else if (!thrown) {
    return 'returned without an error'
  }
  if (!isModforgeError(outcome, ErrorCode.InvalidArg)) {
    const error = outcome as { code?: unknown; message?: unknown }
    return `${String(error?.code)}: ${String(error?.message)}`
  }
  if (/Failed to convert|napi/i.test(outcome.message)) return `conversion message: ${outcome.message}`
  return undefined
}

describe('every public function with wrongly typed arguments', () => {
  let work: string
  let dataset: Dataset
  let subjects: Subject[]
  beforeAll(() => {
    work = tempDir('fuzz')
    dataset = modforge.openDatasetSync({ dir: work, name: 'd', version: '1', source: { token: 'd' }, tables: { t: Buffer.from('k,v\na,1\n') } }).value
    const table = dataset.table('t')!
    const snapshot = { dir: work, name: 'n', version: '1', source: { token: 't' } }
    const build = () => Buffer.from('x')
    const openOrBuildShape: Shape = { keys: { ...SNAPSHOT.keys, build: isFunction, signal: optional(isSignal) }, required: [...SNAPSHOT.required!, 'build'] }
    const openOrBuildSyncShape: Shape = { keys: { ...SNAPSHOT.keys, build: isFunction }, required: openOrBuildShape.required }
    const blobShape: Shape = { keys: { ...SNAPSHOT.keys, signal: optional(isSignal) }, required: SNAPSHOT.required }
    const datasetShape: Shape = { keys: { ...DATASET_KEYS, onProgress: optional(isFunction), signal: optional(isSignal) }, required: ['dir', 'name', 'tables'] }
    const datasetSyncShape: Shape = { keys: { ...DATASET_KEYS, onProgress: absent, signal: absent }, required: ['dir', 'name', 'tables'] }
    const datasetOptions = { dir: work, name: 'never', version: '1', source: { token: 'x' }, tables: { t: 'never.csv' } }
    const profileShape: Shape = { keys: { ...WALK, onProgress: optional(isFunction), collectPaths: optional(isFunction), signal: optional(isSignal) } }
    const signalShape: Shape = { keys: { signal: optional(isSignal) } }
    const m = modforge as unknown as Record<string, (...args: unknown[]) => unknown>
    const fn = (name: string, promise: boolean, ...positions: Position[]): Subject => ({ name, call: m[name], promise, positions })
    subjects = [
      fn('profile', true, text(work), optionsOf({}, profileShape, true)),
      fn('profileSync', false, text(work), optionsOf({}, { keys: { ...WALK, collectPaths: optional(isFunction), onProgress: absent, signal: absent } }, true)),
      fn('walkPaths', false, text(work), optionsOf({}, { keys: { ...WALK, onProgress: optional(isFunction), signal: optional(isSignal) } }, true)),
      fn('openOrBuild', true, optionsOf({ ...snapshot, build }, openOrBuildShape, false)),
      fn('openOrBuildSync', false, optionsOf({ ...snapshot, build }, openOrBuildSyncShape, false)),
      fn('putBlob', true, optionsOf(snapshot, blobShape, false), { valid: Buffer.from('x'), accepts: isBytes }),
      fn('putBlobSync', false, optionsOf(snapshot, SNAPSHOT, false), { valid: Buffer.from('x'), accepts: isBytes }),
      fn('getBlob', true, optionsOf(snapshot, blobShape, false)),
      fn('getBlobSync', false, optionsOf(snapshot, SNAPSHOT, false)),
      fn('invalidate', true, optionsOf({ dir: work, name: 'n' }, { keys: { dir: isString, name: isString }, required: ['dir', 'name'] }, false)),
      fn('invalidateSync', false, optionsOf({ dir: work, name: 'n' }, { keys: { dir: isString, name: isString }, required: ['dir', 'name'] }, false)),
      fn('cleanStore', true, text(work), optionsOf({}, signalShape, true)),
      fn('cleanStoreSync', false, text(work)),
      fn('inspectSnapshot', true, text(work), optionsOf({}, signalShape, true)),
      fn('inspectSnapshotSync', false, text(work)),
      fn('verifySnapshots', true, text(work), optionsOf({}, signalShape, true)),
      fn('verifySnapshotsSync', false, text(work)),
      fn('openDataset', true, optionsOf(datasetOptions, datasetShape, false)),
      fn('openDatasetSync', false, optionsOf(datasetOptions, datasetSyncShape, false)),
      fn('openDatasetFile', true, text(join(work, 'never.mfs')), optionsOf({}, signalShape, true)),
      fn('openDatasetFileSync', false, text(join(work, 'never.mfs'))),
      fn('readBlobFile', true, text(join(work, 'never.mfs')), optionsOf({}, { keys: { kind: optional(isString), signal: optional(isSignal) } }, true)),
      fn('readBlobFileSync', false, text(join(work, 'never.mfs')), optionsOf({}, { keys: { kind: optional(isString) } }, true)),
      fn('generateTree', true, text(work), optionsOf({}, { keys: { ...TREE, onProgress: optional(isFunction), signal: optional(isSignal) } }, true)),
      fn('generateTreeSync', false, text(work), optionsOf({}, { keys: { ...TREE, onProgress: absent, signal: absent } }, true)),
      fn('generateDataset', true, text(work), optionsOf({}, { keys: { seed: optional(integer(0, 2 ** 32 - 1)), scale: optional(oneOf('dalle', 'large')), onProgress: optional(isFunction), signal: optional(isSignal) } }, true)),
      fn('generateDatasetSync', false, text(work), optionsOf({}, { keys: { seed: optional(integer(0, 2 ** 32 - 1)), scale: optional(oneOf('dalle', 'large')), onProgress: absent, signal: absent } }, true)),
      // Given a string, Dataset.open opens that file (openDatasetFile): strings are accepted.
      { name: 'Dataset.open', call: (options) => modforge.Dataset.open(options as never), promise: true, positions: [orPath(optionsOf(datasetOptions, datasetShape, false))] },
      { name: 'Dataset.openSync', call: (options) => modforge.Dataset.openSync(options as never), promise: false, positions: [orPath(optionsOf(datasetOptions, datasetSyncShape, false))] },
      { name: 'dataset.table', call: (name) => dataset.table(name as never), promise: false, positions: [text('t')] },
      { name: 'table.get', call: (key) => table.get(key as never), promise: false, positions: [{ valid: 'a', accepts: isKey }] },
      { name: 'table.has', call: (key) => table.has(key as never), promise: false, positions: [{ valid: 'a', accepts: isKey }] },
      { name: 'table.row', call: (index) => table.row(index as never), promise: false, positions: [{ valid: 0, accepts: isNumber }] },
      { name: 'table.column', call: (name) => table.column(name as never), promise: false, positions: [text('k')] },
      { name: 'table.forEach', call: (callback) => table.forEach(callback as never), promise: false, positions: [{ valid: () => undefined, accepts: isFunction }] },
    ]
  })
  it('gives ERR_MODFORGE_INVALID_ARG to each of 1,001 seeded random calls mixing wrong and right values', async () => {
    const random = seeded(0x5eed_0007)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]
    const wrongValue = () => pick(POOL)[1]
    /** A value for `position`: its valid one, a random one, or (options) the valid one with keys replaced, removed or misspelt. */
    const draw = (position: Position): unknown => {
      const roll = random()
      if (roll < 0.35) return wrongValue()
      if (!position.shape || roll < 0.55) return position.valid
      const value: Record<string, unknown> = { ...(position.valid as object) }
      for (const key of Object.keys(position.shape.keys)) {
        const change = random()
        if (change < 0.25) value[key] = wrongValue()
        else if (change < 0.32) delete value[key]
      }
      if (random() < 0.15) value[`${pick(Object.keys(position.shape.keys))}x`] = wrongValue()
      return value
    }
    /** Whether `position` accepts `value`, where values kept from the valid one count as accepted. */
    const acceptsDrawn = (position: Position, value: unknown): boolean => {
      if (value === position.valid || position.accepts(value)) return true
      const shape = position.shape
      if (!shape || !isObject(value)) return false
      const given = value as Record<string, unknown>
      const valid = position.valid as Record<string, unknown>
      if (!Object.keys(given).every((key) => key in shape.keys)) return false
      if (!(shape.required ?? []).every((key) => key in given)) return false
      return Object.entries(shape.keys).every(
        ([key, accepts]) => given[key] === valid[key] || accepts(given[key]) || (given[key] === undefined && !(shape.required ?? []).includes(key)),
      )
    }
    const problems: string[] = []
    let calls = 0
    let draws = 0
    while (calls < 1001) {
      draws += 1
      const subject = pick(subjects)
      const args = subject.positions.map(draw)
      // Only calls with a wrong value somewhere: those must all fail before doing anything.
      if (subject.positions.every((position, index) => acceptsDrawn(position, args[index]))) continue
      calls += 1
      const problem = await outcomeProblem(subject, args)
      if (problem) problems.push(`${subject.name}() call ${calls} (draw ${draws}): ${problem}`)
    }
    expect(problems).toEqual([])
    expect(calls).toBe(1001)
  })

  afterAll(() => {
    dataset.close()
    removeTree(work)
  })

  it('reports each with ERR_MODFORGE_INVALID_ARG before any work, Promise forms by rejecting', async () => {
    const all = subjects.flatMap(cases)
    const problems: string[] = []
    for (const { subject, label, args } of all) {
      const problem = await outcomeProblem(subject, args)
      if (problem) problems.push(`${subject.name}(): ${label}: ${problem}`)
    }
    expect(problems).toEqual([])
    expect(all.length).toBeGreaterThan(1000)
    // No call got as far as writing: the folder holds only the dataset of the table methods.
    expect(readdirSync(work)).toEqual(['d_1.mfs'])
  })
})
