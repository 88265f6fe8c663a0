/** What the blob and dataset calls share: the check of a snapshot source, and the result of a build. */
import type * as binding from '../../binding'
import { buffer, entries, expected, object, oneOf, optional, strings, text, type Check } from './validate'

const SOURCE_FORMS = 'a source: { bytes }, { files, mode? } or { token }'
const BYTES_SOURCE = object<{ bytes: Buffer }>({ bytes: buffer }, SOURCE_FORMS)
const FILES_SOURCE = object<{ files: string[]; mode?: 'content' | 'stat' | 'sha256' }>(
  { files: strings, mode: optional(oneOf('content', 'stat', 'sha256')) },
  SOURCE_FORMS,
)
const TOKEN_SOURCE = object<{ token: string }>({ token: text }, SOURCE_FORMS)

/** A snapshot source (`Source` of `src/store.ts`): exactly one of `bytes`, `files`, `token`. */
export const sourceCheck: Check<binding.SnapshotSource> = (value, label) => {
  const forms = entries(value, label, SOURCE_FORMS)
    .map(([key]) => key)
    .filter((key) => key === 'bytes' || key === 'files' || key === 'token')
  if (forms.length !== 1) return expected(label, `${SOURCE_FORMS} (exactly one of bytes, files, token)`, value)
  if (forms[0] === 'bytes') return BYTES_SOURCE(value, label)
  if (forms[0] === 'files') return FILES_SOURCE(value, label)
  return TOKEN_SOURCE(value, label)
}

/** The result of an open-or-build call. */
export interface Opened<T> {
  /** The value, served from disk or built now. */
  value: T
  /** The snapshot file. */
  path: string
  /** True when served from disk, false when built by this call. */
  loaded: boolean
  /** Why the file on disk was not used (when `loaded` is false). */
  rejected?: binding.RejectReason
  /** True when loaded, or built and written. */
  persisted: boolean
  /** Why writing failed (`ERR_MODFORGE_IO` with `errno`, `syscall`, `path`); the value is still returned. */
  persistError?: Error
}

/** The result of a build: the value, why the file on disk was not used, and how the write went. */
export function openedFromBuild<T>(value: T, loaded: { reason: binding.RejectReason | null }, written: {
  path: string
  persisted: boolean
  persistError: Error | null
}): Opened<T> {
  const opened: Opened<T> = { value, path: written.path, loaded: false, persisted: written.persisted }
  if (loaded.reason) opened.rejected = loaded.reason
  if (written.persistError) opened.persistError = written.persistError
  return opened
}
