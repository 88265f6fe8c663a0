/**
 * Argument checks run by every public function before any work starts.
 *
 * Each check takes the value and its label (`profile(): options.threads`) and returns the value
 * as the native side may receive it, or throws `ERR_MODFORGE_INVALID_ARG` naming the label and
 * what was expected. Objects and arrays are copied while they are read, inside one `try`, so a
 * getter or a Proxy trap that throws becomes an `ERR_MODFORGE_INVALID_ARG` (with the thrown error
 * as `cause`) and the native side only ever sees plain data it can convert without running
 * caller code.
 */
import { types } from 'node:util'

import { isModforgeError } from '../errors'
import { invalidArg } from './raise'

/** Checks `value` (labelled `label` in messages) and returns it in the checked form. */
export type Check<T> = (value: unknown, label: string) => T

/** A check per key of `T`, optional keys included (so a new option cannot be forgotten). */
export type Schema<T> = { [K in keyof T]-?: Check<T[K]> }

/** A short description of a received value for messages (never runs caller code). */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'undefined':
      return 'undefined'
    case 'string':
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)
    case 'number':
    case 'boolean':
      return String(value)
    case 'bigint':
      return `${value}n`
    case 'symbol':
      return 'a symbol'
    case 'function':
      return types.isProxy(value) ? 'a Proxy of a function' : 'a function'
    default:
      if (types.isProxy(value)) return 'a Proxy'
      if (Array.isArray(value)) return 'an array'
      if (types.isTypedArray(value)) return `a ${Object.prototype.toString.call(value).slice(8, -1)}`
      return Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null
        ? 'an object'
        : `an object (${Object.prototype.toString.call(value).slice(8, -1)})`
  }
}

/** Throws the `ERR_MODFORGE_INVALID_ARG` of a value that is not what `label` expects. */
export function expected(label: string, what: string, value: unknown): never {
  throw invalidArg(`${label} must be ${what}, got ${describe(value)}`)
}

/** Runs `read` (which reads caller objects); a throw from a getter or Proxy trap becomes invalid-argument. */
export function reading<T>(label: string, read: () => T): T {
  try {
    return read()
  } catch (error) {
    return unreadable(label, error)
  }
}

/** The invalid-argument error of a caller object whose getter or Proxy trap threw `error`. */
function unreadable(label: string, error: unknown): never {
  if (isModforgeError(error)) throw error
  const reason = error instanceof Error ? error.message : String(error)
  throw invalidArg(`${label} could not be read: ${reason}`, error)
}

/**
 * Whether `value` can be read as an object of named keys (not an array, typed array or DataView).
 * `ArrayBuffer.isView` is built into V8, where `types.isTypedArray` is JavaScript compiled on its
 * first call.
 */
function isKeyed(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value)
}

/** Checks that take a key not given as fine ({@link optional}, {@link promiseOnly}): {@link object} passes over their keys when not given. */
const OPTIONAL = new WeakSet<Check<unknown>>()

/** `undefined` and `null` stand for "not given" (the documented default); anything else is checked. */
export function optional<T>(check: Check<T>): Check<T | undefined> {
  const checked: Check<T | undefined> = (value, label) => (value === undefined || value === null ? undefined : check(value, label))
  OPTIONAL.add(checked)
  return checked
}

/** A string. */
export const string: Check<string> = (value, label) => (typeof value === 'string' ? value : expected(label, 'a string', value))

/** A lone UTF-16 surrogate: what makes a string not well-formed Unicode. */
const LONE_SURROGATE = /\p{Surrogate}/u

/**
 * A string that is well-formed Unicode (no lone surrogate): names, versions, folders and tokens
 * of snapshots. The native side receives strings as UTF-8, where every lone surrogate becomes
 * U+FFFD, so `'\ud800'` and `'\udfff'` would name one file or hash to one fingerprint
 * (docs/store.md, "File names").
 */
export const text: Check<string> = (value, label) => {
  const checked = string(value, label)
  return LONE_SURROGATE.test(checked) ? expected(label, 'a string of well-formed Unicode (no lone surrogate)', value) : checked
}

/** A boolean. */
export const boolean: Check<boolean> = (value, label) =>
  typeof value === 'boolean' ? value : expected(label, 'a boolean', value)

/** An integer from `min` to `max` (inclusive). */
export function integer(min: number, max: number = Number.MAX_SAFE_INTEGER): Check<number> {
  const what = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`
  return (value, label) => (Number.isInteger(value) && (value as number) >= min && (value as number) <= max ? (value as number) : expected(label, what, value))
}

/** One of the listed strings. */
export function oneOf<const V extends string>(...values: V[]): Check<V> {
  const what = values.map((value) => `'${value}'`).join(', ').replace(/, ([^,]*)$/, ' or $1')
  return (value, label) => (values.includes(value as V) ? (value as V) : expected(label, `one of ${what}`, value))
}

/** An array of strings (copied). */
export const strings: Check<string[]> = (value, label) => {
  if (!Array.isArray(value)) return expected(label, 'an array of strings', value)
  let copy: unknown[]
  try {
    copy = Array.prototype.slice.call(value) as unknown[]
  } catch (error) {
    return unreadable(label, error)
  }
  for (let index = 0; index < copy.length; index += 1) {
    if (typeof copy[index] !== 'string') expected(`${label}[${index}]`, 'a string', copy[index])
  }
  return copy as string[]
}

/** An array whose every item passes `check` (copied). */
export function array<T>(check: Check<T>, what = 'an array'): Check<T[]> {
  return (value, label) => {
    if (!Array.isArray(value)) return expected(label, what, value)
    const copy = reading(label, () => Array.prototype.slice.call(value) as unknown[])
    return copy.map((item, index) => check(item, `${label}[${index}]`))
  }
}

/** A function (called later through the call plumbing, which catches what it throws). */
export function func<F extends (...args: never[]) => unknown>(): Check<F> {
  return (value, label) => (typeof value === 'function' ? (value as F) : expected(label, 'a function', value))
}

/** An `AbortSignal` (a Proxy of one is refused: its listeners could not be registered safely). */
export const signal: Check<AbortSignal> = (value, label) =>
  !types.isProxy(value) && value instanceof AbortSignal ? value : expected(label, 'an AbortSignal', value)

/** A `Uint8Array` (a `Buffer` is one), as a `Buffer` view of the same memory (no copy). */
export const buffer: Check<Buffer> = (value, label) => {
  if (!types.isUint8Array(value)) return expected(label, 'a Uint8Array', value)
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)
}

/** The own enumerable string keys and values of a plain or Proxy object, copied. */
export function entries(value: unknown, label: string, what = 'an object'): [string, unknown][] {
  if (!isKeyed(value)) return expected(label, what, value)
  return reading(label, () => Object.keys(value).map((key) => [key, (value as Record<string, unknown>)[key]] as [string, unknown]))
}

/** An object whose every own key passes `check` (copied into a fresh object). */
export function record<T>(check: Check<T>, what = 'an object'): Check<Record<string, T>> {
  return (value, label) => {
    const copy: Record<string, T> = {}
    for (const [key, item] of entries(value, label, what)) {
      // Defined, not assigned: a key named `__proto__` stays an ordinary key.
      Object.defineProperty(copy, key, { value: check(item, `${label}.${key}`), enumerable: true, writable: true, configurable: true })
    }
    return copy
  }
}

/**
 * An options object: every key of `schema` is read once and checked; an own key the schema does
 * not know is refused, naming the closest known key (`maxdepth` -> `maxDepth`).
 */
export function object<T>(schema: Schema<T>, what = 'an object'): Check<T> {
  const known = Object.keys(schema)
  const checks = known.map((key) => (schema as Record<string, Check<unknown>>)[key])
  const plan: CheckPlan = { known, checks, optionalAt: checks.map((check) => OPTIONAL.has(check)) }
  // The loops over the keys run in array builtins, with the per-key work in small module-level
  // functions: a first call then runs little bytecode of its own, so it does not make V8 tier
  // this closure up in the middle of the caller's first call (docs/startup.md, "First calls").
  return (value, label) => {
    if (!isKeyed(value)) return expected(label, what, value)
    let given: string[]
    try {
      given = Object.keys(value)
    } catch (error) {
      return unreadable(label, error)
    }
    // Unknown keys first: a misspelt option is refused before any getter of the caller runs.
    const unknown = given.find(isUnknownKey, schema)
    if (unknown !== undefined) unknownKey(label, unknown, known)
    // Inherited properties count as given (an options object may come from a class or a prototype).
    let raw: unknown[]
    try {
      raw = known.map(readKey, value)
    } catch (error) {
      return unreadable(label, error)
    }
    // Few keys: each key of an object literal costs a new hidden class on its first run in a
    // fresh process (docs/startup.md, "First calls").
    const pass: CheckPass = { label, plan, checked: {} }
    raw.forEach(checkAt, pass)
    return pass.checked as T
  }
}

/** What an {@link object} check knows of its schema, made once. */
interface CheckPlan {
  /** The schema's keys. */
  known: string[]
  /** The check of each key. */
  checks: Check<unknown>[]
  /** Whether each key may be left out. */
  optionalAt: boolean[]
}

/** One run of an {@link object} check over the values read from the caller's object. */
interface CheckPass {
  label: string
  plan: CheckPlan
  /** The checked values by key (a key whose check returned `undefined` is left out). */
  checked: Record<string, unknown>
}

/** Checks the value of the `index`th known key into `this.checked`. */
function checkAt(this: CheckPass, item: unknown, index: number): void {
  // An optional key not given is left out without building its label: most options of a call
  // are not given.
  const plan = this.plan
  if ((item === undefined || item === null) && plan.optionalAt[index]) return
  const key = plan.known[index]
  const result = plan.checks[index](item, `${this.label}.${key}`)
  if (result !== undefined) this.checked[key] = result
}

/** The value of `key` on the caller's object `this` (a getter or Proxy trap may run). */
function readKey(this: Record<string, unknown>, key: string): unknown {
  return this[key]
}

/** Whether `key` is not a key of the schema `this`. */
function isUnknownKey(this: object, key: string): boolean {
  return !Object.prototype.hasOwnProperty.call(this, key)
}

/** Refuses `key`, which `label` does not know, naming the closest known key (`maxdepth` -> `maxDepth`). */
function unknownKey(label: string, key: string, known: string[]): never {
  const { closest } = require('./closest') as typeof import('./closest')
  const near = closest(key, known)
  const hint = near ? `did you mean '${near}'?` : `the known keys are ${known.map((name) => `'${name}'`).join(', ')}`
  throw invalidArg(`${label} has no key '${key}'; ${hint}`)
}

/** An options argument that may be left out (`undefined` or `null` = every default). */
export function options<T>(schema: Schema<T>): Check<T> {
  const check = object(schema)
  return (value, label) => (value === undefined || value === null ? ({} as T) : check(value, label))
}

/**
 * Refuses an option only the Promise form takes (`onProgress`, `signal`), pointing to that form.
 * Not given, it is passed over like an {@link optional} key.
 */
export function promiseOnly(promiseForm: string): Check<undefined> {
  const refuse: Check<undefined> = (value, label) => {
    if (value === undefined || value === null) return undefined
    throw invalidArg(`${label} is taken only by the Promise form; use ${promiseForm}()`)
  }
  OPTIONAL.add(refuse)
  return refuse
}
