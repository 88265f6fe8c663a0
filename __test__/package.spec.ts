import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
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
    expect(root).toEqual(expect.arrayContaining(['package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/binding.js', 'package/dist/cli/main.js']))
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

/** Whether the C library is glibc (the linux-x64-gnu package does not load on musl). */
function isGlibc(): boolean {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
  return Boolean(report?.header?.glibcVersionRuntime)
}
