import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { ROOT, removeTree, tempDir } from './helpers'

const NODE_FILE = 'modforge.linux-x64-gnu.node'
const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64' && existsSync(join(ROOT, 'dist', NODE_FILE))

/** PATH without cargo or rustc (an install must not try to build anything), and no network. */
function offlineEnv(): NodeJS.ProcessEnv {
  const path = ['/usr/local/bin', '/usr/bin', '/bin'].filter((dir) => !existsSync(join(dir, 'cargo'))).join(':')
  return { ...process.env, PATH: `${join(process.execPath, '..')}:${path}`, npm_config_offline: 'true' }
}

/** A fresh project folder with a package.json. */
function project(parent: string, name: string): string {
  const dir = join(parent, name)
  mkdirSync(dir)
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true }))
  return dir
}

describe.runIf(onLinuxX64 && isGlibc())('the packed package (npm run pack:local)', () => {
  let work: string
  let tarballs: string[]
  beforeAll(() => {
    work = tempDir('pack')
    const output = execFileSync('npm', ['run', '--silent', 'pack:local', '--', '--out', work, '--json'], { cwd: ROOT, encoding: 'utf8' })
    tarballs = (JSON.parse(output) as { tarballs: string[] }).tarballs
  })
  afterAll(() => removeTree(work))

  it('packs the root package without a binary and the platform package with it', () => {
    expect(tarballs.map((path) => path.slice(work.length + 1))).toEqual(['modforge-0.1.0.tgz', 'modforge-linux-x64-gnu-0.1.0.tgz'])
    const list = (tarball: string) => execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).trim().split('\n')
    const root = list(tarballs[0])
    expect(root).toEqual(
      expect.arrayContaining(['package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/binding.js', 'package/dist/cli/main.js', 'package/dist/code-cache.bin']),
    )
    expect(root.some((name) => name.endsWith('.node'))).toBe(false)
    expect(list(tarballs[1])).toContain(`package/${NODE_FILE}`)
  })

  it('installs from the tarballs without network or cargo, loads every entry point and runs the CLI', () => {
    const consumer = project(work, 'consumer')
    const env = offlineEnv()
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', ...tarballs], { cwd: consumer, env })
    expect(readdirSync(join(consumer, 'node_modules'))).toEqual(expect.arrayContaining(['modforge', 'modforge-linux-x64-gnu']))

    const script = `
      const { profileSync } = require('modforge')
      const { profile } = require('modforge/profile')
      const subpaths = ['store', 'dataset', 'generate', 'overlay', 'rom', 'icons'].map((name) => Object.keys(require('modforge/' + name)).length)
      const report = profileSync(${JSON.stringify(join(ROOT, 'crates'))}, { stats: false })
      process.stdout.write(JSON.stringify({ files: report.totals.files, dirs: report.totals.dirs, profile: typeof profile, subpaths }))
    `
    const result = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: consumer, env, encoding: 'utf8' }))
    expect(result.files).toBeGreaterThan(10)
    expect(result.dirs).toBeGreaterThan(3)
    expect(result.profile).toBe('function')
    expect(result.subpaths.every((count: number) => count > 0)).toBe(true)

    const cli = execFileSync(join(consumer, 'node_modules/.bin/modforge'), ['--help'], { env, encoding: 'utf8' })
    expect(cli).toContain('Usage: modforge <command>')
    const manifest = JSON.parse(readFileSync(join(consumer, 'node_modules/modforge/package.json'), 'utf8'))
    expect(manifest.bin.modforge).toBe('dist/cli/main.js')
  })

  it('names the platform package it looked for when the binary is missing', () => {
    const consumer = project(work, 'no-binary')
    const env = offlineEnv()
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--omit=optional', tarballs[0]], { cwd: consumer, env })
    const run = spawnSync(process.execPath, ['-e', "try { require('modforge') } catch (e) { process.stdout.write(JSON.stringify({ code: e.code, message: e.message })) }"], {
      cwd: consumer,
      env,
      encoding: 'utf8',
    })
    const error = JSON.parse(run.stdout) as { code: string; message: string }
    expect(error.code).toBe('ERR_MODFORGE_LOAD')
    expect(error.message).toContain('modforge-linux-x64-gnu')
    expect(error.message).toContain('linux x64 (glibc)')
    expect(error.message).not.toContain('wasm32-wasi')
    const cli = spawnSync(join(consumer, 'node_modules/.bin/modforge'), ['profile', '.'], { cwd: consumer, env, encoding: 'utf8' })
    expect(cli.status).toBe(1)
    expect(cli.stderr.trim().split('\n')).toHaveLength(1)
    expect(cli.stderr).toContain('ERR_MODFORGE_LOAD')
  })
})

describe('the V8 code cache of the package modules (docs/startup.md)', () => {
  let work: string
  beforeAll(() => {
    work = tempDir('code-cache')
  })
  afterAll(() => removeTree(work))

  /** What the loader did in a fresh process loading `dist`, and an argument error from the icons module. */
  function load(dist: string): { unusable: string | null; used: string[]; rejected: string[]; damaged: string[]; message: string } {
    const script = `
      const modforge = require(${JSON.stringify(join(dist, 'index.js'))})
      const report = require(${JSON.stringify(join(dist, 'src', 'internal', 'code-cache.js'))}).codeCacheReport()
      let message = ''
      try { modforge.discoverSync(1, '') } catch (error) { message = error.message }
      process.stdout.write(JSON.stringify({ ...report, message }))
    `
    return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }))
  }

  /** A copy of `dist/` whose cache file is `edit`ed (header as JSON, body as bytes). */
  function copyWith(name: string, edit?: (file: Buffer) => Buffer): string {
    const dist = join(work, name)
    cpSync(join(ROOT, 'dist'), dist, { recursive: true, filter: (path) => !path.includes(`${join('dist', 'pack')}`) })
    if (edit) writeFileSync(join(dist, 'code-cache.bin'), edit(readFileSync(join(dist, 'code-cache.bin'))))
    return dist
  }

  /** The header of a cache file and where its body starts. */
  function headerOf(file: Buffer): { header: { v8: string; modules: Record<string, number[]> }; body: number } {
    const length = file.readUInt32LE(0)
    return { header: JSON.parse(file.toString('utf8', 4, 4 + length)), body: 4 + length }
  }

  it('compiles every module the entry loads from the cache in a fresh process of the Node that built it', () => {
    const report = load(join(ROOT, 'dist'))
    expect(report.unusable).toBeNull()
    expect(report.rejected).toEqual([])
    expect(report.damaged).toEqual([])
    expect(report.used).toEqual(expect.arrayContaining(['binding.js', 'src/icons.js', 'src/internal/validate.js', 'src/overlay.js', 'src/profile.js']))
    expect(report.message).toBe('discoverSync(): gameDir must be a string, got 1')
  })

  it('compiles a module patched after the build from its own source, even at the same length', () => {
    const dist = copyWith('patched')
    const icons = join(dist, 'src', 'icons.js')
    const source = readFileSync(icons, 'utf8')
    expect(source).toContain("'discoverSync(): gameDir'")
    writeFileSync(icons, source.replace("'discoverSync(): gameDir'", "'discoverSync(): GAMEDIR'"))
    const report = load(dist)
    expect(report.used).not.toContain('src/icons.js')
    expect(report.used).toContain('src/overlay.js')
    expect(report.message).toBe('discoverSync(): GAMEDIR must be a string, got 1')
  })

  it('never hands damaged code to V8, and ignores a truncated file or one from another Node', () => {
    const flipped = load(
      copyWith('flipped', (file) => {
        const { header, body } = headerOf(file)
        const [, , codeAt, codeLength] = header.modules['src/icons.js']
        for (let i = 0; i < 32; i += 1) file[body + codeAt + Math.floor(((i + 0.5) * codeLength) / 32)] ^= 0x5a
        return file
      }),
    )
    expect(flipped.damaged).toEqual(['src/icons.js'])
    expect(flipped.used).toContain('src/overlay.js')
    expect(flipped.message).toBe('discoverSync(): gameDir must be a string, got 1')

    const truncated = load(copyWith('truncated', (file) => file.subarray(0, 100)))
    expect(truncated.unusable).toBe('damaged cache file')
    expect(truncated.used).toEqual([])

    // A body cut short: modules whose code now runs past the end compile normally, the others still use it.
    const full = readFileSync(join(ROOT, 'dist', 'code-cache.bin'))
    const { header, body } = headerOf(full)
    const cut = full.length - 1000
    const beyond = Object.keys(header.modules).filter((name) => body + header.modules[name][2] + header.modules[name][3] > cut)
    expect(beyond.length).toBeGreaterThan(0)
    const shortBody = load(copyWith('short-body', (file) => file.subarray(0, cut)))
    expect(shortBody.unusable).toBeNull()
    expect(shortBody.damaged).toEqual([])
    expect([...shortBody.used].sort()).toEqual(Object.keys(header.modules).filter((name) => !beyond.includes(name)).sort())

    const foreign = load(
      copyWith('foreign', (file) => {
        const { header, body } = headerOf(file)
        const json = Buffer.from(JSON.stringify({ ...header, v8: '1.2.3' }))
        const length = Buffer.alloc(4)
        length.writeUInt32LE(json.length)
        return Buffer.concat([length, json, file.subarray(body)])
      }),
    )
    expect(foreign.unusable).toBe(`written by V8 1.2.3 (${process.arch})`)
    expect(foreign.used).toEqual([])
    expect(foreign.message).toBe('discoverSync(): gameDir must be a string, got 1')
  })

  it('survives a lying header with valid checksums: a module pointed at the code of another', () => {
    const lying = load(
      copyWith('lying', (file) => {
        const { header, body } = headerOf(file)
        const [sourceAt, sourceLength] = header.modules['src/icons.js']
        const [, , codeAt, codeLength, sha1] = header.modules['src/overlay.js']
        const json = Buffer.from(JSON.stringify({ ...header, modules: { ...header.modules, 'src/icons.js': [sourceAt, sourceLength, codeAt, codeLength, sha1] } }))
        const length = Buffer.alloc(4)
        length.writeUInt32LE(json.length)
        return Buffer.concat([length, json, file.subarray(body)])
      }),
    )
    // The checksum holds, so V8 gets the data and refuses it: it was made for another source.
    expect(lying.rejected).toEqual(['src/icons.js'])
    expect(lying.damaged).toEqual([])
    expect(lying.used).toContain('src/overlay.js')
    expect(lying.message).toBe('discoverSync(): gameDir must be a string, got 1')
  })

  it('survives a flipped byte anywhere in the file: header, sources or code', () => {
    const file = readFileSync(join(ROOT, 'dist', 'code-cache.bin'))
    const { body } = headerOf(file)
    const dist = copyWith('fuzz')
    // Seeded offsets: a quarter in the header, the rest spread over the body.
    let seed = 12345
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31)
    for (let round = 0; round < 24; round += 1) {
      const at = round < 6 ? next() % body : body + (next() % (file.length - body))
      const mutated = Buffer.from(file)
      mutated[at] ^= 1 << next() % 8
      writeFileSync(join(dist, 'code-cache.bin'), mutated)
      const report = load(dist)
      expect(report.message, `byte ${at}`).toBe('discoverSync(): gameDir must be a string, got 1')
      expect(report.rejected, `byte ${at}`).toEqual([])
    }
  })
})

/** Whether the C library is glibc (the linux-x64-gnu package does not load on musl). */
function isGlibc(): boolean {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
  return Boolean(report?.header?.glibcVersionRuntime)
}
