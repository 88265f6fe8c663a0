/**
 * The generated native binding, with one adjustment: values that napi-rs cannot convert to the
 * Rust parameter types (a string where a number is expected, ...) are rejected by generated code
 * before modforge runs, with napi-rs status codes (`NumberExpected`, `InvalidArg`, ...). They are
 * invalid arguments, so they get the stable `ERR_MODFORGE_INVALID_ARG` code like every other.
 */
import * as binding from '../binding'

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
    Object.assign(error, { code: 'ERR_MODFORGE_INVALID_ARG' })
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

const wrapped: Record<string, unknown> = {}
for (const [name, value] of Object.entries(binding)) {
  if (typeof value === 'function' && /^[A-Z]/.test(name)) {
    wrapPrototype(value as { prototype: object })
    wrapped[name] = value
  } else {
    wrapped[name] = typeof value === 'function' ? rethrowing(value as (...args: never[]) => unknown) : value
  }
}

/** The native binding (see `binding.d.ts` for every function and type). */
export const native = wrapped as typeof binding
