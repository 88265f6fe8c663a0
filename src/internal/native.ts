/**
 * The native addon: loaded once through the loader `napi build` generates (`dist/binding.js`),
 * with two adjustments.
 *
 * - When no binary loads, the error says which platform package it looked for and on what
 *   platform (`ERR_MODFORGE_LOAD`), instead of the loader's last fallback (a WebAssembly package
 *   modforge does not publish).
 * - Values napi-rs cannot convert to the Rust parameter types are refused by generated code with
 *   napi-rs status codes (`NumberExpected`, ...). The public functions check their arguments before
 *   calling in, so this only catches what those checks let through; such an error still gets the
 *   stable `ERR_MODFORGE_INVALID_ARG` code.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import type * as binding from '../../binding'
import { ErrorCode } from '../errors'
import { modforgeError } from './raise'

/** The native binding (see `dist/binding.d.ts`, generated from the Rust definitions). */
export type Native = typeof binding

/** napi-rs status codes that mean "this argument has the wrong type or shape". */
const CONVERSION_STATUSES = new Set([
  'InvalidArg',
  'ObjectExpected',
  'StringExpected',
  'NameExpected',
  'FunctionExpected',
  'NumberExpected',
  'BooleanExpected',
  'ArrayExpected',
  'BigintExpected',
  'DateExpected',
  'ArrayBufferExpected',
])

function asArgumentError(error: unknown): unknown {
  if (error instanceof Error && CONVERSION_STATUSES.has((error as { code?: string }).code ?? '')) {
    Object.assign(error, { code: ErrorCode.InvalidArg })
  }
  return error
}

function rethrowing<F extends (...args: never[]) => unknown>(fn: F): F {
  return function (this: unknown, ...args: Parameters<F>) {
    try {
      const result = fn.apply(this, args)
      return result instanceof Promise ? result.catch((error) => Promise.reject(asArgumentError(error))) : result
    } catch (error) {
      throw asArgumentError(error)
    }
  } as F
}

/** Wraps the methods of a native class's prototype in place. */
function wrapPrototype(target: { prototype: object }): void {
  for (const name of Object.getOwnPropertyNames(target.prototype)) {
    const descriptor = Object.getOwnPropertyDescriptor(target.prototype, name)
    if (name !== 'constructor' && typeof descriptor?.value === 'function') {
      Object.defineProperty(target.prototype, name, { ...descriptor, value: rethrowing(descriptor.value) })
    }
  }
}

/** The package's `package.json` (three levels up from `dist/src/internal/`). */
function manifest(): { name: string; version: string; napi?: { targets?: string[] } } {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8'))
}

/** The `ERR_MODFORGE_LOAD` of a binary that did not load, naming the package it needs. */
function loadError(cause: unknown): Error {
  // Loaded only here: a working install never needs it.
  const { currentPlatform, suffixOfTarget } = require('./platform') as typeof import('./platform')
  const here = currentPlatform()
  const { name, version, napi } = manifest()
  const wanted = `${name}-${here.suffix}`
  const supported = (napi?.targets ?? []).map(suffixOfTarget)
  const machine = `${here.platform} ${here.arch}${here.libc ? ` (${here.libc})` : ''}`
  const advice = supported.includes(here.suffix)
    ? `install it next to ${name} (npm installs it as an optional dependency; it is missing when ` +
      `optional dependencies were omitted or the lockfile was made on another platform), or build ` +
      `from source with \`npm run build\``
    : `${name} ${version} publishes no binary for this platform (prebuilt: ${supported.join(', ')}); ` +
      `build from source with \`npm run build\``
  return modforgeError(ErrorCode.Load, `the native addon of ${name} did not load: it needs the package ${wanted} (or dist/${name}.${here.suffix}.node) for ${machine}; ${advice}`, cause)
}

function load(): Native {
  let loaded: typeof binding
  try {
    loaded = require('../../binding')
  } catch (error) {
    // The loader's own message blames npm and its error chain ends with the WebAssembly fallback;
    // the first attempts (local file, platform package) are what matters, kept as `cause`.
    throw loadError((error as { cause?: unknown }).cause ?? error)
  }
  const wrapped: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(loaded)) {
    if (typeof value === 'function' && /^[A-Z]/.test(name)) {
      wrapPrototype(value as { prototype: object })
      wrapped[name] = value
    } else {
      wrapped[name] = typeof value === 'function' ? rethrowing(value as (...args: never[]) => unknown) : value
    }
  }
  return wrapped as unknown as Native
}

/** The native binding (see `dist/binding.d.ts` for every function and type). */
export const native: Native = load()
