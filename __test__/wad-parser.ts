/**
 * A small WAD 3.x reader for the specs, written from the layout in docs/overlay.md ("WAD format")
 * and independent of modforge: it checks modforge's overlay WADs against the documented format
 * rather than against modforge's own reader. Decoding uses `fzstd` (zstd) and `node:zlib` (gzip),
 * hashing `@node-rs/xxhash`. Every read is bounds-checked against the file's length; a field that
 * points outside the file is a {@link WadFormatError} naming the file, the byte offset and what
 * was expected.
 */
import { gunzipSync } from 'node:zlib'

import { xxh3, xxh64 } from '@node-rs/xxhash'
import { Decompress } from 'fzstd'

/** Length of the WAD 3.x header (docs/overlay.md, "WAD header by version"). */
export const HEADER_LEN = 272
/** Length of one WAD 3.x TOC entry (docs/overlay.md, "TOC entry (3.x, 32 bytes)"). */
export const ENTRY_LEN = 32
/** Length of the WAD 3.x signature field, at offset 4 (docs/overlay.md, "WAD header by version"). */
export const SIGNATURE_LEN = 256
/**
 * The largest decoded chunk accepted (1 GiB, modforge's `MAX_DECODED_CHUNK` in docs/overlay.md,
 * "Chunk types"): a declared size above it is refused before anything is allocated.
 */
export const MAX_DECODED = 1 << 30

/** A structural error: the file, the byte offset and what was expected there. */
export class WadFormatError extends Error {
  /** The file (or label) being read. */
  readonly file: string
  /** The byte offset the error is about. */
  readonly offset: number

  /** An error at `offset` of `file`: `message` says what was expected and what was found. */
  constructor(file: string, offset: number, message: string) {
    super(`${file}: at byte ${offset}: ${message}`)
    this.name = 'WadFormatError'
    this.file = file
    this.offset = offset
  }
}

/** One 32-byte TOC entry of a WAD 3.x (docs/overlay.md, "TOC entry (3.x, 32 bytes)"). */
export interface TocEntry {
  /** Position in the TOC (0-based). */
  slot: number
  /** XXH64 of the chunk's lower-case path (bytes 0-8). */
  pathHash: bigint
  /** Absolute offset of the packed bytes (bytes 8-12). */
  offset: number
  /** Length of the packed bytes (bytes 12-16). */
  packedSize: number
  /** Length of the uncompressed bytes (bytes 16-20). */
  size: number
  /** Chunk type, bits 0-3 of byte 20 (docs/overlay.md, "Chunk types"). */
  type: number
  /** Subchunk count, bits 4-7 of byte 20. */
  subchunkCount: number
  /** The duplicate flag of 3.0-3.3 (byte 21 not 0); always false in 3.4. */
  duplicate: boolean
  /** First subchunk record: 3.4 `b21 << 16 | u16(b22..24)`, 3.0-3.3 `u16(b22..24)`. */
  subchunkIndex: number
  /** Bytes 24-32: XXH3_64 of the packed bytes (3.1+), the first 8 bytes of a SHA-256 (3.0). */
  checksum: bigint
}

/** A parsed WAD 3.x: header fields, TOC and the file's bytes. */
export interface ParsedWad {
  /** The label errors name. */
  file: string
  /** The whole file. */
  bytes: Uint8Array
  /** Major version (always 3 here). */
  major: number
  /** Minor version, 0-4. */
  minor: number
  /** The 256-byte signature field (bytes 4-260). */
  signature: Uint8Array
  /** The stored header checksum (bytes 260-268). */
  checksum: bigint
  /** Entries in TOC order (the count at bytes 268-272). */
  entries: TocEntry[]
}

/** One record of a `.SubChunkTOC` chunk (docs/overlay.md, "Subchunks and the `.SubChunkTOC` chunk"). */
export interface SubchunkRecord {
  /** Packed length of the subchunk. */
  packedSize: number
  /** Uncompressed length of the subchunk. */
  size: number
  /** XXH3_64 of the subchunk's packed bytes. */
  hash: bigint
}

/** Bounds-checked little-endian reads over one file's bytes. */
class Reader {
  private readonly view: DataView

  constructor(
    readonly file: string,
    readonly bytes: Uint8Array,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  /** Fails unless `[at, at + len)` lies inside the file. */
  need(at: number, len: number, what: string): void {
    if (at + len > this.bytes.length) {
      throw new WadFormatError(this.file, at, `expected ${what} (${len} bytes), the file ends at ${this.bytes.length}`)
    }
  }

  u8(at: number, what: string): number {
    this.need(at, 1, what)
    return this.view.getUint8(at)
  }

  u16(at: number, what: string): number {
    this.need(at, 2, what)
    return this.view.getUint16(at, true)
  }

  u32(at: number, what: string): number {
    this.need(at, 4, what)
    return this.view.getUint32(at, true)
  }

  u64(at: number, what: string): bigint {
    this.need(at, 8, what)
    return this.view.getBigUint64(at, true)
  }
}

/** Two-digit lower-case hex of a byte. */
function hexByte(b: number): string {
  return b.toString(16).padStart(2, '0')
}

/** A path hash or checksum as 16 lower-case hex digits (the form modforge's Node API reports). */
export function hex64(value: bigint): string {
  return value.toString(16).padStart(16, '0')
}

/**
 * Parses a WAD 3.0-3.4 (docs/overlay.md, "WAD header by version", "TOC entry (3.x, 32 bytes)"):
 * magic `"RW"`, major 3, minor 0-4, the 272-byte header, `count` TOC entries of 32 bytes at 272,
 * and every entry's packed bytes inside the file. Other versions and anything out of bounds are
 * {@link WadFormatError}s.
 */
export function parseWad(bytes: Uint8Array, file = 'WAD'): ParsedWad {
  const r = new Reader(file, bytes)
  r.need(0, 4, 'the prefix "RW" major minor')
  if (bytes[0] !== 0x52 || bytes[1] !== 0x57) {
    throw new WadFormatError(file, 0, `expected the magic "RW" (52 57), found ${hexByte(bytes[0])} ${hexByte(bytes[1])}`)
  }
  const major = r.u8(2, 'the major version')
  if (major !== 3) throw new WadFormatError(file, 2, `expected major version 3, found ${major}`)
  const minor = r.u8(3, 'the minor version')
  if (minor > 4) throw new WadFormatError(file, 3, `expected minor version 0-4, found ${minor}`)
  r.need(0, HEADER_LEN, 'the WAD 3.x header')
  const signature = bytes.subarray(4, 4 + SIGNATURE_LEN)
  const checksum = r.u64(260, 'the header checksum')
  const count = r.u32(268, 'the entry count')
  // The TOC's length is checked before any entry is read or allocated.
  r.need(HEADER_LEN, count * ENTRY_LEN, `a TOC of ${count} entries`)
  const entries: TocEntry[] = []
  for (let slot = 0; slot < count; slot++) {
    const at = HEADER_LEN + slot * ENTRY_LEN
    const b20 = r.u8(at + 20, 'the type byte')
    const b21 = r.u8(at + 21, 'byte 21 of an entry')
    const low = r.u16(at + 22, 'the subchunk index')
    const entry: TocEntry = {
      slot,
      pathHash: r.u64(at, 'a path hash'),
      offset: r.u32(at + 8, 'a data offset'),
      packedSize: r.u32(at + 12, 'a packed size'),
      size: r.u32(at + 16, 'a size'),
      type: b20 & 0x0f,
      subchunkCount: b20 >> 4,
      duplicate: minor < 4 && b21 !== 0,
      subchunkIndex: minor === 4 ? (b21 << 16) | low : low,
      checksum: r.u64(at + 24, 'an entry checksum'),
    }
    if (entry.offset + entry.packedSize > bytes.length) {
      throw new WadFormatError(
        file,
        at + 8,
        `expected the ${entry.packedSize} packed bytes of entry ${slot} (${hex64(entry.pathHash)}) at ${entry.offset} inside the file, which ends at ${bytes.length}`,
      )
    }
    entries.push(entry)
  }
  return { file, bytes, major, minor, signature, checksum, entries }
}

/** The packed bytes of `entry` exactly as stored (bounds checked by {@link parseWad}). */
export function storedBytes(wad: ParsedWad, entry: TocEntry): Uint8Array {
  return wad.bytes.subarray(entry.offset, entry.offset + entry.packedSize)
}

/** An entry checksum of WAD 3.1+: XXH3_64 (seed 0) of the packed bytes (docs/overlay.md, "TOC entry (3.x, 32 bytes)"). */
export function entryChecksum(packed: Uint8Array): bigint {
  return xxh3.xxh64(packed)
}

/**
 * The header checksum modforge writes (docs/overlay.md, "Header checksum"): XXH3_64 of
 * `"RW" 03 04` then, for each entry in ascending path-hash order, path hash u64 LE and entry
 * checksum u64 LE. `entries` may be in any order.
 */
export function headerChecksum(entries: readonly Pick<TocEntry, 'pathHash' | 'checksum'>[]): bigint {
  const sorted = [...entries].sort((a, b) => (a.pathHash < b.pathHash ? -1 : a.pathHash > b.pathHash ? 1 : 0))
  const framing = new Uint8Array(4 + 16 * sorted.length)
  framing.set([0x52, 0x57, 3, 4])
  const view = new DataView(framing.buffer)
  sorted.forEach((e, i) => {
    view.setBigUint64(4 + 16 * i, e.pathHash, true)
    view.setBigUint64(12 + 16 * i, e.checksum, true)
  })
  return xxh3.xxh64(framing)
}

/**
 * The path hash of a chunk path (docs/overlay.md, "Hashing and names"): XXH64 (seed 0) of the
 * path with `\` → `/`, lower case, empty and `.` components dropped.
 */
export function pathHash(path: string): bigint {
  const normal = path
    .replace(/\\/g, '/')
    .toLowerCase()
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/')
  return xxh64(Buffer.from(normal, 'utf8'))
}

/**
 * The path hash of a WAD's `.SubChunkTOC` chunk from the WAD's key (its path relative to the game
 * folder): `.client` → `.subchunktoc`, `\` → `/`, lower case, XXH64 (docs/overlay.md,
 * "Subchunks and the `.SubChunkTOC` chunk").
 */
export function subchunkTocHash(key: string): bigint {
  const lower = key.replace(/\\/g, '/').toLowerCase()
  const stem = lower.endsWith('.client') ? lower.slice(0, -'.client'.length) : lower
  return xxh64(Buffer.from(`${stem}.subchunktoc`, 'utf8'))
}

/** Fails unless `size` is a decodable length (at most {@link MAX_DECODED}). */
function checkDeclared(wad: ParsedWad, entry: TocEntry): void {
  if (entry.size > MAX_DECODED) {
    throw new WadFormatError(wad.file, HEADER_LEN + entry.slot * ENTRY_LEN + 16, `expected a size of at most ${MAX_DECODED}, found ${entry.size}`)
  }
}

/**
 * Decodes zstd data (docs/overlay.md, "Chunk types", type 3) that must produce exactly `size`
 * bytes; errors name `file` and `offset`. Output is collected as the decoder emits it and refused
 * as soon as it passes `size`, so a lying frame header allocates nothing beyond the declared size.
 */
export function decodeZstd(packed: Uint8Array, size: number, file: string, offset: number): Uint8Array {
  if (size > MAX_DECODED) throw new WadFormatError(file, offset, `expected zstd data of at most ${MAX_DECODED} bytes, ${size} declared`)
  const parts: Uint8Array[] = []
  let total = 0
  const decoder = new Decompress((chunk) => {
    total += chunk.length
    if (total > size) throw new WadFormatError(file, offset, `expected zstd data of ${size} bytes, it decodes to more`)
    parts.push(chunk.slice())
  })
  try {
    decoder.push(packed, true)
  } catch (err) {
    if (err instanceof WadFormatError) throw err
    throw new WadFormatError(file, offset, `expected zstd data of ${size} bytes: ${(err as Error).message}`)
  }
  if (total !== size) throw new WadFormatError(file, offset, `expected zstd data of ${size} bytes, it decodes to ${total}`)
  return Buffer.concat(parts, total)
}

/** What the header and block headers of one zstd frame say (RFC 8878, section 3.1.1). */
export interface ZstdFrame {
  /** The declared content size, when the frame header carries one. */
  contentSize?: number
  /** Bytes from the magic number to the end of the last block (and its checksum). */
  length: number
}

/**
 * Walks the zstd frame at the start of `packed` without decoding it (RFC 8878, "Zstandard
 * Frames"): magic `28 B5 2F FD`, the frame header (window descriptor, dictionary id, content
 * size), then block headers up to the last block and the optional content checksum. Overlay
 * overrides are one such frame carrying its content size (docs/overlay.md, "Output layout").
 */
export function zstdFrame(packed: Uint8Array, file: string, offset: number): ZstdFrame {
  const r = new Reader(file, packed)
  const at = (pos: number) => offset + pos
  if (r.u32(0, 'a zstd magic number') !== 0xfd2fb528) throw new WadFormatError(file, offset, 'expected the zstd magic 28 b5 2f fd')
  const descriptor = r.u8(4, 'a zstd frame header descriptor')
  const fcsFlag = descriptor >> 6
  const singleSegment = (descriptor >> 5) & 1
  if ((descriptor >> 3) & 1) throw new WadFormatError(file, at(4), 'expected the reserved bit of the zstd frame header descriptor clear')
  let pos = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][descriptor & 3]
  const fcsLen = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]
  let contentSize: number | undefined
  if (fcsLen === 1) contentSize = r.u8(pos, 'a zstd content size')
  else if (fcsLen === 2) contentSize = r.u16(pos, 'a zstd content size') + 256
  else if (fcsLen === 4) contentSize = r.u32(pos, 'a zstd content size')
  else if (fcsLen === 8) contentSize = Number(r.u64(pos, 'a zstd content size'))
  pos += fcsLen
  for (;;) {
    r.need(pos, 3, 'a zstd block header')
    const header = packed[pos] | (packed[pos + 1] << 8) | (packed[pos + 2] << 16)
    const type = (header >> 1) & 3
    if (type === 3) throw new WadFormatError(file, at(pos), 'expected a zstd block type 0-2, found the reserved 3')
    const body = type === 1 ? 1 : header >>> 3
    r.need(pos + 3, body, 'a zstd block')
    pos += 3 + body
    if (header & 1) break
  }
  if ((descriptor >> 2) & 1) {
    r.need(pos, 4, 'a zstd content checksum')
    pos += 4
  }
  return { contentSize, length: pos }
}

/**
 * The records of the WAD's `.SubChunkTOC` chunk (found by {@link subchunkTocHash} of `key`), or
 * `undefined` when it has none: 16-byte records `u32 packed size, u32 size, u64 XXH3_64 of the
 * packed subchunk` (docs/overlay.md, "Subchunks and the `.SubChunkTOC` chunk").
 */
export function subchunkRecords(wad: ParsedWad, key: string): SubchunkRecord[] | undefined {
  const hash = subchunkTocHash(key)
  const entry = wad.entries.find((e) => e.pathHash === hash)
  if (!entry) return undefined
  const table = decodeEntry(wad, entry)
  if (table.length % 16 !== 0) {
    throw new WadFormatError(wad.file, entry.offset, `expected a SubChunkTOC of 16-byte records, found ${table.length} bytes`)
  }
  const view = new DataView(table.buffer, table.byteOffset, table.byteLength)
  const records: SubchunkRecord[] = []
  for (let at = 0; at < table.length; at += 16) {
    records.push({ packedSize: view.getUint32(at, true), size: view.getUint32(at + 4, true), hash: view.getBigUint64(at + 8, true) })
  }
  return records
}

/**
 * An entry's uncompressed bytes (docs/overlay.md, "Chunk types"): type 0 as stored, 1 gunzipped,
 * 3 one zstd stream, 4 its subchunks per `records` (raw when a subchunk's packed size equals its
 * size, else zstd; every subchunk's XXH3_64 checked). The result always has the declared size;
 * types 2 and 5-15 cannot be decoded.
 */
export function decodeEntry(wad: ParsedWad, entry: TocEntry, records?: readonly SubchunkRecord[]): Uint8Array {
  checkDeclared(wad, entry)
  const packed = storedBytes(wad, entry)
  const at = entry.offset
  switch (entry.type) {
    case 0:
      if (entry.packedSize !== entry.size) {
        throw new WadFormatError(wad.file, at, `expected a raw chunk of ${entry.size} bytes, found ${entry.packedSize} packed bytes`)
      }
      return packed
    case 1: {
      let out: Buffer
      try {
        out = gunzipSync(packed, { maxOutputLength: Math.max(entry.size, 1) })
      } catch (err) {
        throw new WadFormatError(wad.file, at, `expected a gzip stream of ${entry.size} bytes: ${(err as Error).message}`)
      }
      if (out.length !== entry.size) throw new WadFormatError(wad.file, at, `expected a gzip stream of ${entry.size} bytes, it decodes to ${out.length}`)
      return out
    }
    case 3:
      return decodeZstd(packed, entry.size, wad.file, at)
    case 4: {
      if (!records) throw new WadFormatError(wad.file, at, 'expected the SubChunkTOC records for a type-4 entry')
      if (entry.subchunkIndex + entry.subchunkCount > records.length) {
        throw new WadFormatError(
          wad.file,
          HEADER_LEN + entry.slot * ENTRY_LEN + 21,
          `expected subchunks ${entry.subchunkIndex}..${entry.subchunkIndex + entry.subchunkCount} within the SubChunkTOC's ${records.length} records`,
        )
      }
      const parts: Uint8Array[] = []
      let pos = 0
      let total = 0
      for (let i = entry.subchunkIndex; i < entry.subchunkIndex + entry.subchunkCount; i++) {
        const record = records[i]
        if (pos + record.packedSize > packed.length) {
          throw new WadFormatError(wad.file, at + pos, `expected subchunk ${i} of ${record.packedSize} bytes inside the entry's ${packed.length}`)
        }
        const sub = packed.subarray(pos, pos + record.packedSize)
        if (xxh3.xxh64(sub) !== record.hash) throw new WadFormatError(wad.file, at + pos, `expected subchunk ${i} to hash to ${hex64(record.hash)}`)
        total += record.size
        if (total > entry.size) throw new WadFormatError(wad.file, at + pos, `expected subchunks totalling ${entry.size} bytes, they exceed it`)
        parts.push(record.packedSize === record.size ? sub : decodeZstd(sub, record.size, wad.file, at + pos))
        pos += record.packedSize
      }
      if (pos !== packed.length || total !== entry.size) {
        throw new WadFormatError(wad.file, at, `expected subchunks covering ${packed.length} packed and ${entry.size} bytes, found ${pos} and ${total}`)
      }
      return Buffer.concat(parts, total)
    }
    default:
      throw new WadFormatError(wad.file, HEADER_LEN + entry.slot * ENTRY_LEN + 20, `expected a decodable chunk type (0, 1, 3, 4), found ${entry.type}`)
  }
}
