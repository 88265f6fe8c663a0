/**
 * The lifecycle of every long call: the caller's `AbortSignal` -> the native cancel flag,
 * callbacks that may throw, and the abort reason as `cause`.
 *
 * A callback that throws (an `onProgress` or `collectPaths` listener, `build`, `tables`) must not
 * unwind into native code: it is wrapped so that the first exception is kept, the native call is
 * cancelled, and the Promise rejects with that exception instead of `ABORT_ERR`.
 */
import type { CancelFlag } from '../../binding'
import { abortError, withAbortCause } from './raise'
import { native } from './native'

/** The per-call state handed to a native long operation. */
export interface CallContext {
  /** The native flag the workers poll. */
  readonly cancel: CancelFlag
  /**
   * Aborted when the call is cancelled (by the caller's signal, or because a callback threw);
   * handed to the caller's own callbacks (`build`, `tables`) so their work can stop too.
   */
  readonly signal: AbortSignal
  /** Wraps a callback so that a throw cancels the call instead of escaping; its return value passes through. */
  guard<A, R>(callback: ((arg: A) => R) | undefined): ((arg: A) => R | undefined) | undefined
  /**
   * Runs a caller callback (`build`, `tables`): a throw rejects the call with that error, or with
   * `ABORT_ERR` when the caller's signal aborted meanwhile.
   */
  settle<T>(work: () => T | Promise<T>): Promise<T>
}

/**
 * Runs `start` with a fresh cancel flag linked to `signal`, and settles with its result.
 *
 * An already aborted signal rejects at once, before `start` runs (nothing is touched). The
 * `abort` listener is removed when the call settles, so a long-lived signal does not accumulate
 * listeners. An `ABORT_ERR` carries the signal's `reason` as `cause`.
 */
export async function cancellable<T>(signal: AbortSignal | undefined, start: (context: CallContext) => Promise<T>): Promise<T> {
  if (signal?.aborted) throw abortError(signal.reason)
  const cancel = new native.CancelFlag()
  const inner = new AbortController()
  let thrown: { error: unknown } | undefined
  const stop = (reason: unknown) => {
    cancel.cancel()
    if (!inner.signal.aborted) inner.abort(reason)
  }
  const fail = (error: unknown) => {
    thrown ??= { error }
    stop(error)
  }
  const context: CallContext = {
    cancel,
    signal: inner.signal,
    guard<A, R>(callback: ((arg: A) => R) | undefined) {
      if (!callback) return undefined
      return (arg: A) => {
        if (thrown) return undefined
        try {
          return callback(arg)
        } catch (error) {
          fail(error)
          return undefined
        }
      }
    },
    async settle<R>(work: () => R | Promise<R>) {
      try {
        return await work()
      } catch (error) {
        // A callback that gave up because the caller aborted (`signal.throwIfAborted()`) ends the
        // call as an abort; any other throw is the call's result.
        if (!thrown && signal?.aborted) throw abortError(signal.reason)
        fail(error)
        throw error
      }
    },
  }
  const onAbort = () => stop(signal?.reason)
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    return await start(context)
  } catch (error) {
    if (thrown) throw thrown.error
    throw withAbortCause(error, signal?.reason)
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
}

/** A signal that never aborts, for the `build` / `tables` callbacks of the Sync forms. */
export function neverAborted(): AbortSignal {
  return new AbortController().signal
}
