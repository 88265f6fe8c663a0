import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { profileSync } from 'modforge'

import { parseSize } from '../cli/framework'
import { formatBytes, formatCount } from '../cli/format'
import { ROOT, du, onLinux, removeTree, tempDir } from './helpers'

/** Runs `modforge <args>` and returns exit code and output. */
function modforge(...args: string[]) {
  const result = spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), ...args], { encoding: 'utf8', maxBuffer: 1 << 26 })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

let work: string
beforeAll(() => {
  work = tempDir('cli')
})
afterAll(() => removeTree(work))

describe('the modforge command', () => {
  it('prints help for the command and every subcommand', () => {
    const top = modforge('--help')
    expect(top.code).toBe(0)
    for (const name of ['profile', 'store', 'generate', 'demo']) {
      expect(top.stdout).toContain(name)
      const sub = modforge(name, '--help')
      expect(sub.code).toBe(0)
      expect(sub.stdout).toContain(`Usage: modforge ${name}`)
    }
  })

  it('exits 2 on bad usage with one clear line', () => {
    const unknown = modforge('frobnicate')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("unknown command 'frobnicate'")
    const badFlag = modforge('profile', '--threads', 'many')
    expect(badFlag.code).toBe(2)
    expect(badFlag.stderr).toContain("--threads expects an integer from 0 to 512, got 'many'")
    const badGlob = modforge('profile', ROOT, '--exclude', '[')
    expect(badGlob.code).toBe(2)
    expect(badGlob.stderr).toMatch(/ERR_MODFORGE_INVALID_ARG/)
  })

  it('profiles a folder as JSON equal to the API and du, exit 0', () => {
    const dir = join(work, 'tree')
    mkdirSync(join(dir, 'sub'), { recursive: true })
    writeFileSync(join(dir, 'a.txt'), 'x'.repeat(5000))
    writeFileSync(join(dir, 'sub/b.bin'), 'y'.repeat(100))
    const result = modforge('profile', dir, '--json', '--threads', '2')
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
    const report = JSON.parse(result.stdout)
    const api = profileSync(dir)
    expect(report.totals).toEqual(api.totals)
    if (onLinux) expect(report.totals.apparentBytes).toBe(du('-sb', dir))
    expect(report.totals.files).toBe(2)
    const readable = modforge('profile', dir, '--min-size', '1K')
    expect(readable.code).toBe(0)
    expect(readable.stdout).toContain('files')
    expect(readable.stdout).toMatch(/a\.txt/)
    expect(readable.stdout).not.toMatch(/b\.bin/)
  })

  it('exits 1 with the error code when the root is missing', () => {
    const result = modforge('profile', join(work, 'nope'))
    expect(result.code).toBe(1)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toContain('ERR_MODFORGE_IO')
    expect(result.stderr).toContain('ENOENT')
  })

  it('builds, inspects, verifies and cleans a dataset snapshot', () => {
    const csv = join(work, 'csv')
    mkdirSync(csv)
    writeFileSync(join(csv, 'colors.csv'), 'version,name,hex\nv2,red,#f00\nv2,green,#0f0\n')
    writeFileSync(join(csv, 'sizes.csv'), 'version,size\nv2,small\nv2,"large, very"\n')
    const out = join(work, 'snapshots')
    const built = modforge('store', 'build', csv, '--out', out, '--version-column', 'version', '--json')
    expect(built.code).toBe(0)
    const summary = JSON.parse(built.stdout)
    expect(summary).toMatchObject({ loaded: false, persisted: true, version: 'v2', tables: [{ name: 'colors', rows: 2 }, { name: 'sizes', rows: 2 }] })
    expect(JSON.parse(modforge('store', 'build', csv, '--out', out, '--version-column', 'version', '--json').stdout).loaded).toBe(true)

    const inspected = modforge('store', 'inspect', summary.path, '--json')
    expect(inspected.code).toBe(0)
    const found = JSON.parse(inspected.stdout)
    expect(found).toMatchObject({ ok: true, header: { kind: 'modforge.dataset@1', version: 'v2', containerVersion: 1 } })
    expect(found.tables.map((t: { name: string }) => t.name)).toEqual(['colors', 'sizes'])
    expect(modforge('store', 'inspect', summary.path).stdout).toContain('modforge.dataset@1')

    const verified = modforge('store', 'verify', out)
    expect(verified.code).toBe(0)
    expect(verified.stdout).toContain('1 of 1 snapshot files OK')

    // A flipped payload byte fails verification with exit 1.
    const bytes = readFileSync(summary.path)
    bytes[bytes.length - 3] ^= 0xff
    writeFileSync(summary.path, bytes)
    const damaged = modforge('store', 'verify', summary.path, '--json')
    expect(damaged.code).toBe(1)
    expect(JSON.parse(damaged.stdout)[0].ok).toBe(false)

    writeFileSync(join(out, 'csv_v2.mfs.123.0123456789abcdef.tmp'), 'partial')
    expect(modforge('store', 'clean', out).code).toBe(0)
    expect(readdirSync(out).filter((name) => name.endsWith('.tmp'))).toEqual([])
  })

  it('runs the demo end to end', () => {
    const result = modforge('demo', '--entries', '3000')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('1. Directory profiler')
    expect(result.stdout).toContain('2. Snapshot store')
    expect(result.stdout).toMatch(/loaded from disk: true/)
    expect(result.stdout).toMatch(/done in/)
  }, 300_000)
})

describe('CLI helpers', () => {
  it('reads sizes as du does', () => {
    expect(parseSize('4096')).toBe(4096)
    expect(parseSize('10K')).toBe(10240)
    expect(parseSize('10KB')).toBe(10000)
    expect(parseSize('1.5M')).toBe(1572864)
    expect(parseSize('2GB')).toBe(2e9)
    expect(parseSize('1GiB')).toBe(1073741824)
    expect(parseSize('lots')).toBeUndefined()
  })

  it('formats sizes in IEC units and counts with separators', () => {
    expect(formatBytes(512)).toBe('512 B')
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatBytes(1.5 * 2 ** 30)).toBe('1.5 GiB')
    expect(formatBytes(null)).toBe('-')
    expect(formatCount(1234567)).toBe('1,234,567')
  })
})
