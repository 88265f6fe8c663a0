/** ROM offsets on the command line: hexadecimal (`0x1F000`, `$1F000`) or decimal (`127000`). */
import { UsageError } from './framework'

/** Largest offset accepted (the largest ROM is 64 MiB). */
const MAX_OFFSET = 2 ** 40

/**
 * Parses an offset written as `0x...`/`0X...` or `$...` (hexadecimal; `$` as in 65816 assembly,
 * quoted in a shell) or as decimal digits. Unlike exhal's `strtol`, a leading `0` does not mean
 * octal. Throws a {@link UsageError} naming `what` for anything else.
 */
export function parseOffset(text: string, what: string, command: readonly string[]): number {
  const trimmed = text.trim()
  let value = Number.NaN
  if (/^(0x|\$)[0-9a-f]+$/i.test(trimmed)) value = Number.parseInt(trimmed.replace(/^(0x|\$)/i, ''), 16)
  else if (/^\d+$/.test(trimmed)) value = Number(trimmed)
  if (!Number.isSafeInteger(value) || value > MAX_OFFSET) {
    throw new UsageError(`${what} expects an offset such as 0x1F000, $1F000 or 127000, got '${text}'`, command)
  }
  return value
}

/** `0x1F000`: an offset as the commands print it (at least 6 hex digits, upper case). */
export function hexOffset(offset: number): string {
  return `0x${offset.toString(16).toUpperCase().padStart(6, '0')}`
}

/** `$C0:1234`: a 24-bit CPU address as bank and address. */
export function cpuAddress(address: number): string {
  const bank = (address >>> 16) & 0xff
  const low = address & 0xffff
  return `$${bank.toString(16).toUpperCase().padStart(2, '0')}:${low.toString(16).toUpperCase().padStart(4, '0')}`
}
