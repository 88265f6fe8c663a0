/** Command-line parsing shared by every `modforge` command (built on `node:util` `parseArgs`). */
import { parseArgs, type ParseArgsConfig } from 'node:util'

/** A mistake in the command line: printed with a hint, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose `--help` the hint points to. */
    readonly command: string,
  ) {
    super(message)
  }
}

/** The options of one command, as `parseArgs` takes them. */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>

/** The parsed flags and positionals of a command line. */
type Parsed<O extends OptionSpec> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>

/** Parses `argv` for `command`, turning every parse failure into a {@link UsageError}. */
export function parse<O extends OptionSpec>(command: string, argv: string[], options: O): Parsed<O> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError((error as Error).message, command)
  }
}

/** A non-negative integer flag value, or a {@link UsageError} naming the flag. */
export function integerFlag(command: string, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} expects a non-negative integer, got '${value}'`, command)
  return Number(value)
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
  TB: 1000 ** 4,
}

/**
 * A size as `du` reads it: `K`/`M`/`G`/`T` are powers of 1024, `KB`/`MB`/`GB`/`TB` powers of 1000
 * (`KiB`-style suffixes are accepted as the 1024-based units).
 */
export function sizeFlag(command: string, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?$/i.exec(value.trim())
  const unit = match ? (match[2] ?? '').toUpperCase().replace('IB', '') : undefined
  const factor = unit === undefined ? undefined : SIZE_UNITS[unit]
  if (!match || factor === undefined) {
    throw new UsageError(`${flag} expects a size such as 4096, 10K, 1.5M or 2GB, got '${value}'`, command)
  }
  return Math.round(Number(match[1]) * factor)
}

/** Splits comma-separated values of a repeatable flag (`-e js,ts -e md`). */
export function listFlag(values: string[] | undefined): string[] | undefined {
  if (!values) return undefined
  return values.flatMap((value) => value.split(',')).map((value) => value.trim())
}
