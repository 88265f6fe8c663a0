/**
 * The errors modforge throws or rejects with: every one is an `Error` with a stable `code`.
 *
 * The codes of the native side are set by the binding crate; the TypeScript layer adds
 * `ERR_MODFORGE_INVALID_ARG` for arguments it checks before any work starts, and
 * `ERR_MODFORGE_LOAD` when the native addon cannot be loaded.
 */

/** The stable `code` values of modforge errors. */
export const ErrorCode = {
  /** An operating-system call failed (`errno`, `syscall`, `path`). */
  Io: 'ERR_MODFORGE_IO',
  /** Input does not follow its format (`file`, `offset`). */
  Format: 'ERR_MODFORGE_FORMAT',
  /** A checksum or structural check failed (`file`, `offset`). */
  Corrupt: 'ERR_MODFORGE_CORRUPT',
  /** An argument or option is invalid; the message names it and what was expected. */
  InvalidArg: 'ERR_MODFORGE_INVALID_ARG',
  /** A documented size or count limit was exceeded. */
  Limit: 'ERR_MODFORGE_LIMIT',
  /** Cancelled through an `AbortSignal` (`name` is `AbortError`; `cause` is the signal's reason). */
  Aborted: 'ABORT_ERR',
  /**
   * The native addon could not be loaded (no prebuilt binary for this platform, or one that does
   * not match this version of the package); the message names the package it looked for.
   */
  Load: 'ERR_MODFORGE_LOAD',
  /** A bug in modforge (a caught panic); please report it. */
  Internal: 'ERR_MODFORGE_INTERNAL',
} as const

/** One of the values of {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

/** The shape of every error modforge throws or rejects with. */
export interface ModforgeError extends Error {
  /** Stable error code. */
  code: ErrorCode
  /** `ERR_MODFORGE_IO`: the OS error number. */
  errno?: number
  /** `ERR_MODFORGE_IO`: the failing system call. */
  syscall?: string
  /** `ERR_MODFORGE_IO`: the path the call was made on. */
  path?: string
  /** `ERR_MODFORGE_FORMAT` / `ERR_MODFORGE_CORRUPT`: the file in question. */
  file?: string
  /** `ERR_MODFORGE_FORMAT` / `ERR_MODFORGE_CORRUPT`: byte offset of the problem. */
  offset?: number
}

const CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode))

/** Whether `error` is a modforge error (optionally with the given code). */
export function isModforgeError(error: unknown, code?: ErrorCode): error is ModforgeError {
  if (!(error instanceof Error)) return false
  const actual = (error as Partial<ModforgeError>).code
  return typeof actual === 'string' && CODES.has(actual) && (code === undefined || actual === code)
}
