/**
 * Plumbing shared by every long operation of the facade: the `AbortSignal` -> native cancel flag
 * link, and callbacks that may throw.
 *
 * A callback that throws (an `onProgress` or `collectPaths` listener) must not unwind into native
 * code: it is wrapped so that the first exception is kept, the native call is cancelled, and the
 * Promise rejects with that exception instead of `ABORT_ERR`.
 */
import type { CancelFlag as NativeCancelFlag } from '../binding'
import { native } from './native'

/** The per-call state handed to a native long operation. */
export interface CallContext {
  /** The native flag the workers poll. */
  readonly cancel: NativeCancelFlag
  /** Wraps a user callback so that a throw cancels the call instead of escaping. */
  guard<A>(callback: ((arg: A) => void) | undefined): ((arg: A) => void) | undefined
}

/**
 * Runs `start` with a fresh cancel flag linked to `signal`, and settles with its result.
 * The `abort` listener is removed when the call settles, so a long-lived signal does not
 * accumulate listeners.
 */
export async function cancellable<T>(
  signal: AbortSignal | undefined,
  start: (context: CallContext) => Promise<T>,
): Promise<T> {
  const cancel = new native.CancelFlag()
  let thrown: { error: unknown } | undefined
  const context: CallContext = {
    cancel,
    guard<A>(callback: ((arg: A) => void) | undefined) {
      if (!callback) return undefined
      return (arg: A) => {
        if (thrown) return
        try {
          callback(arg)
        } catch (error) {
          thrown = { error }
          cancel.cancel()
        }
      }
    },
  }
  const onAbort = () => cancel.cancel()
  if (signal?.aborted) cancel.cancel()
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    return await start(context)
  } catch (error) {
    if (thrown) throw thrown.error
    throw error
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
}

/** The error every facade function throws for an argument the native side never sees. */
export function invalidArgument(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_MODFORGE_INVALID_ARG' })
}

/** Throws `ERR_MODFORGE_INVALID_ARG` when a Sync form receives an option only the Promise form has. */
export function rejectAsyncOnlyOptions(fn: string, options: object | undefined, names: string[]): void {
  for (const name of names) {
    if (options && (options as Record<string, unknown>)[name] !== undefined) {
      throw invalidArgument(`${fn}: option \`${name}\` needs the Promise form; use ${fn.replace(/Sync$/, '')}()`)
    }
  }
}
