/**
 * A small PNG reader for the specs: 8-bit indexed (colour type 3, with PLTE and tRNS) and 8-bit
 * RGBA (colour type 6), not interlaced. Written from the PNG specification so that thumbnails can
 * be decoded back independently of the encoder that wrote them.
 */
import { inflateSync } from 'node:zlib'

/** A decoded PNG: RGBA pixels row-major, and the raw palette indices for indexed images. */
export interface DecodedPng {
  width: number
  height: number
  colorType: number
  rgba: Buffer
  indices?: Buffer
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c
  const pa = Math.abs(p - a)
  const pb = Math.abs(p - b)
  const pc = Math.abs(p - c)
  if (pa <= pb && pa <= pc) return a
  return pb <= pc ? b : c
}

/** Decodes `png`; throws on anything outside the supported subset. */
export function decodePng(png: Buffer): DecodedPng {
  if (!png.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG')
  let at = 8
  let width = 0
  let height = 0
  let colorType = -1
  let palette = Buffer.alloc(0)
  let alpha = Buffer.alloc(0)
  const data: Buffer[] = []
  while (at + 8 <= png.length) {
    const length = png.readUInt32BE(at)
    const type = png.toString('latin1', at + 4, at + 8)
    const body = png.subarray(at + 8, at + 8 + length)
    at += 12 + length
    if (type === 'IHDR') {
      width = body.readUInt32BE(0)
      height = body.readUInt32BE(4)
      const depth = body[8]
      colorType = body[9]
      if (depth !== 8 || body[12] !== 0 || (colorType !== 3 && colorType !== 6)) throw new Error(`unsupported PNG: depth ${depth}, colour type ${colorType}, interlace ${body[12]}`)
    } else if (type === 'PLTE') palette = Buffer.from(body)
    else if (type === 'tRNS') alpha = Buffer.from(body)
    else if (type === 'IDAT') data.push(body)
    else if (type === 'IEND') break
  }
  const bpp = colorType === 6 ? 4 : 1
  const stride = width * bpp
  const raw = inflateSync(Buffer.concat(data))
  const pixels = Buffer.alloc(stride * height)
  for (let y = 0; y < height; y += 1) {
    const filter = raw[y * (stride + 1)]
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1))
    for (let x = 0; x < stride; x += 1) {
      const left = x >= bpp ? pixels[y * stride + x - bpp] : 0
      const up = y > 0 ? pixels[(y - 1) * stride + x] : 0
      const corner = x >= bpp && y > 0 ? pixels[(y - 1) * stride + x - bpp] : 0
      const predictor = [0, left, up, (left + up) >> 1, paeth(left, up, corner)][filter]
      if (predictor === undefined) throw new Error(`bad filter ${filter} on row ${y}`)
      pixels[y * stride + x] = (line[x] + predictor) & 0xff
    }
  }
  if (colorType === 6) return { width, height, colorType, rgba: pixels }
  const rgba = Buffer.alloc(width * height * 4)
  for (let i = 0; i < width * height; i += 1) {
    const index = pixels[i]
    rgba[i * 4] = palette[index * 3]
    rgba[i * 4 + 1] = palette[index * 3 + 1]
    rgba[i * 4 + 2] = palette[index * 3 + 2]
    rgba[i * 4 + 3] = index < alpha.length ? alpha[index] : 255
  }
  return { width, height, colorType, rgba, indices: pixels }
}
