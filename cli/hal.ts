/**
 * `modforge hal decompress|compress`: the HAL codec on the command line, in place of exhal and
 * inhal (devinacker/exhal) with the same argument order:
 *
 * - `exhal rom offset out`               -> `modforge hal decompress rom offset out` (or `-o out`)
 * - `inhal -n in out`                     -> `modforge hal compress in out` (`-n` accepted)
 * - `inhal in rom offset`                 -> `modforge hal compress in rom offset`
 * - `inhal -fast ...`, `-1` ... `-4`      -> `--fast`, `--mode fast|greedy|optimal`
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'

import { formatCount } from './format'
import { command, CommandError, flag, group, text, UsageError } from './framework'
import { hexOffset, parseOffset } from './offset'

type Rom = typeof import('../src/rom')

function rom(): Rom {
  return require('../src/rom') as Rom
}

/** What a decompression produced. */
interface Decoded {
  data: Buffer
  consumed: number
  commandCounts: number[] | null
}

/** Decodes at a ROM offset (copier header removed), through the ROM reader. */
async function decodeInRom(path: string, offset: number, strict: boolean, signal: AbortSignal): Promise<Decoded> {
  const file = await rom().RomFile.open(path)
  try {
    const [block] = await file.extract([offset], { strict, signal })
    if (!block.data) {
      const error = block.error
      throw new CommandError(`${path}: no HAL stream at ${hexOffset(offset)}: ${error?.reason} at ${hexOffset(error?.offset ?? offset)}: ${error?.message}`)
    }
    return { data: block.data, consumed: block.consumed, commandCounts: block.commandCounts }
  } finally {
    await file.close()
  }
}

/** Decodes at an offset from the start of the file, as exhal reads it. */
function decodeRaw(path: string, offset: number, strict: boolean): Decoded {
  const bytes = readFileSync(path)
  if (offset >= bytes.length) throw new CommandError(`${path}: offset ${hexOffset(offset)} is past the end of the ${bytes.length}-byte file`)
  try {
    return rom().hal.decode(bytes.subarray(offset, offset + 65_536 + 1024), { strict })
  } catch (error) {
    const { reason, offset: at } = error as { reason?: string; offset?: number }
    if (reason === undefined) throw error
    throw new CommandError(`${path}: no HAL stream at ${hexOffset(offset)}: ${reason} at ${hexOffset(offset + (at ?? 0))}`, error)
  }
}

const decompress = command({
  summary: 'decode the HAL stream at an offset of a file (exhal)',
  description:
    'Decodes the HAL stream starting at <offset> of <file> and writes the decoded bytes. Offsets are\n' +
    'into the ROM without a 512-byte copier header (exhal counts it: add --raw to read offsets from the\n' +
    'start of the file, as exhal does, or for files that are not ROMs). Default decoding reads streams as exhal does\n' +
    '(FC-FE as forward references, references to unwritten output as 0); --strict refuses both. A\n' +
    'stream cut off before its FF terminator is an error (exhal zero-pads).\n' +
    'exhal: exhal <romfile> <offset> <outfile>; the same order works here.',
  args: [
    { name: 'file', description: 'the ROM or file holding the stream', required: true },
    { name: 'offset', description: 'offset of the stream (0x1F000, $1F000 or decimal; a leading 0 is decimal)', required: true },
    { name: 'out', description: 'the output file (or -o)' },
  ],
  options: {
    out: text('the output file', { short: 'o', placeholder: 'FILE' }),
    strict: flag('refuse FC-FE and references to unwritten output'),
    raw: flag('the offset counts from the start of the file (a copier header is not removed)'),
    json: flag('print the sizes and command counts as JSON'),
  },
  footer: 'Exit codes: 0 written, 1 the stream does not decode (its reason and offset are printed), 2 bad usage.',
  async run({ args, options }, context) {
    const path = ['hal', 'decompress']
    const out = options.out ?? args.out
    if (!out) throw new UsageError('missing the output file (<out> or -o <file>)', path)
    if (options.out && args.out) throw new UsageError('give the output file once (<out> or -o)', path)
    const offset = parseOffset(args.offset, '<offset>', path)
    const decoded = options.raw ? decodeRaw(resolve(args.file), offset, options.strict) : await decodeInRom(resolve(args.file), offset, options.strict, context.signal)
    rom().writeFileAtomic(resolve(out), decoded.data)
    if (options.json) {
      context.out(JSON.stringify({ offset, compressedSize: decoded.consumed, uncompressedSize: decoded.data.length, commandCounts: decoded.commandCounts }))
    } else {
      context.out(`Uncompressed size: ${formatCount(decoded.data.length)} bytes`)
      context.out(`Compressed size: ${formatCount(decoded.consumed)} bytes`)
    }
    return 0
  },
})

const MODES = ['fast', 'greedy', 'optimal'] as const

const compress = command({
  summary: 'encode a file as a HAL stream, to a new file or into a ROM (inhal)',
  description:
    'Encodes <in> (at most 65,536 bytes) as a HAL stream that exhal, the games and the strict decoder read\n' +
    'back. With <out> (or -o) the stream is written to a new file; with <rom> <offset> it is written into a\n' +
    'copy of the ROM that replaces it atomically, checksum and complement fixed (inhal edits the ROM in\n' +
    'place and leaves the checksum). Modes: fast (inhal -1/-fast), greedy (default; inhal -2), optimal\n' +
    '(the smallest stream of the format; never larger than inhal -3/-4).\n' +
    'inhal: inhal -n <in> <out> and inhal <in> <romfile> <offset>; the same orders work here.',
  args: [
    { name: 'in', description: 'the file to compress', required: true },
    { name: 'target', description: 'the output file, or the ROM to write into' },
    { name: 'offset', description: 'with a ROM: where the stream goes' },
  ],
  options: {
    out: text('the output file', { short: 'o', placeholder: 'FILE' }),
    mode: text('encoder mode (default greedy)', { choices: MODES }),
    fast: flag('same as --mode fast (inhal -fast)'),
    new: flag('write a new file (inhal -n; the default without <offset>)', { short: 'n' }),
    json: flag('print the sizes as JSON'),
  },
  footer: 'Exit codes: 0 written, 1 failed (input over 64 KiB, a stream that would not fit), 2 bad usage.',
  async run({ args, options }, context) {
    const path = ['hal', 'compress']
    if (options.fast && options.mode && options.mode !== 'fast') throw new UsageError(`--fast contradicts --mode ${options.mode}`, path)
    const mode = options.fast ? 'fast' : (options.mode ?? 'greedy')
    const input = readFileSync(resolve(args.in))
    const { hal, RomFile, writeFileAtomic } = rom()
    const stream = await hal.encode(input, { mode, signal: context.signal })
    const report = (extra: Record<string, unknown>) => {
      if (options.json) context.out(JSON.stringify({ mode, uncompressedSize: input.length, compressedSize: stream.length, ...extra }))
      else {
        context.out(`Uncompressed size: ${formatCount(input.length)} bytes`)
        context.out(`Compressed size: ${formatCount(stream.length)} bytes (${mode})`)
      }
    }
    if (args.offset !== undefined) {
      if (options.out || options.new) throw new UsageError('-o and -n write a new file; <in> <rom> <offset> writes into a ROM', path)
      const romPath = resolve(args.target as string)
      const offset = parseOffset(args.offset, '<offset>', path)
      const file = await RomFile.open(romPath)
      let previous: number | null = null
      try {
        try {
          previous = hal.compressedLength(file.read(offset, Math.min(65_536, file.size - offset)))
        } catch {
          previous = null
        }
        if (offset + stream.length > file.size) throw new CommandError(`a ${stream.length}-byte stream at ${hexOffset(offset)} passes the end of the ${file.size}-byte ROM`)
        const written = await file.patch(romPath, [{ offset, bytes: stream }], { signal: context.signal })
        report({ rom: romPath, offset, previousSize: previous, checksum: written.checksum })
        if (!options.json && written.checksum !== null) context.out(`Checksum: 0x${written.checksum.toString(16).toUpperCase().padStart(4, '0')}`)
      } finally {
        await file.close()
      }
      if (previous !== null && stream.length > previous) {
        context.err(`warning: the new stream (${stream.length} bytes) is longer than the one it replaced (${previous} bytes) and overwrote the bytes after it`)
      }
      return 0
    }
    const out = options.out ?? args.target
    if (!out) throw new UsageError('missing the output file (<out> or -o <file>)', path)
    if (options.out && args.target) throw new UsageError('give the output file once (<out> or -o)', path)
    writeFileAtomic(resolve(out), stream)
    report({ out: resolve(out) })
    return 0
  },
})

/** `modforge hal <command>`. */
export const halCommands = group({
  description: 'The HAL Laboratory compression of SNES games (Kirby Super Star, EarthBound, ...), in place of exhal/inhal.',
  commands: { decompress, compress },
})
