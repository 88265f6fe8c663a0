/** Construction of the errors the TypeScript layer throws itself (codes in `src/errors.ts`). */
import { ErrorCode, type ModforgeError } from '../errors'

/** An `Error` with a modforge `code` (and an optional `cause`). */
export function modforgeError(code: ErrorCode, message: string, cause?: unknown): ModforgeError {
  const error = (cause === undefined ? new Error(message) : new Error(message, { cause })) as ModforgeError
  error.code = code
  return error
}

/** `ERR_MODFORGE_INVALID_ARG` with `message` (which names the argument and what was expected). */
export function invalidArg(message: string, cause?: unknown): ModforgeError {
  return modforgeError(ErrorCode.InvalidArg, message, cause)
}

/** The `ABORT_ERR` of a call stopped by a signal; the signal's reason becomes `cause`. */
export function abortError(reason: unknown): ModforgeError {
  const error = modforgeError(ErrorCode.Aborted, 'The operation was aborted', reason)
  error.name = 'AbortError'
  return error
}

/** Sets `cause` on an `ABORT_ERR` from the native side (which does not know the signal's reason). */
export function withAbortCause(error: unknown, reason: unknown): unknown {
  if (error instanceof Error && (error as ModforgeError).code === ErrorCode.Aborted && !('cause' in error)) {
    Object.defineProperty(error, 'cause', { value: reason, writable: true, configurable: true, enumerable: false })
  }
  return error
}
