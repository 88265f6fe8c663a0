import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

import { afterAll, describe, expect, it } from 'vitest'

import { ROOT, removeTree, tempDir } from './helpers'

const NODE_FILE = 'modforge.linux-x64-gnu.node'
const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64' && existsSync(join(ROOT, NODE_FILE))

/** `npm pack` of `dir` into `out` without running scripts; returns the tarball path. */
function pack(dir: string, out: string): string {
  const output = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', out], {
    cwd: dir,
    encoding: 'utf8',
  })
  const [{ filename }] = JSON.parse(output) as Array<{ filename: string }>
  return join(out, filename)
}

describe.runIf(onLinuxX64 && isGlibc())('the packed package', () => {
  const work = tempDir('pack')
  afterAll(() => removeTree(work))

  it('installs from tarballs without network or cargo and profiles a folder', () => {
    // The platform package as `napi prepublish` would publish it: its package.json plus the binary.
    const platform = join(work, 'platform')
    cpSync(join(ROOT, 'npm/linux-x64-gnu'), platform, { recursive: true })
    cpSync(join(ROOT, NODE_FILE), join(platform, NODE_FILE))
    const tarballs = [pack(ROOT, work), pack(platform, work)]

    const project = join(work, 'project')
    mkdirSync(project)
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
    // PATH without cargo or rustc: the install must not try to build anything.
    const path = ['/usr/local/bin', '/usr/bin', '/bin'].filter((dir) => !existsSync(join(dir, 'cargo'))).join(':')
    const env = { ...process.env, PATH: `${join(process.execPath, '..')}:${path}`, npm_config_offline: 'true' }
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', ...tarballs], { cwd: project, env })

    const installed = readdirSync(join(project, 'node_modules'))
    expect(installed).toEqual(expect.arrayContaining(['modforge', 'modforge-linux-x64-gnu']))
    const files = readdirSync(join(project, 'node_modules/modforge'))
    expect(files).toEqual(expect.arrayContaining(['index.js', 'index.d.ts', 'binding.js', 'binding.d.ts']))
    expect(files.some((name) => name.endsWith('.node'))).toBe(false)

    const script = `
      const { profileSync } = require('modforge')
      const report = profileSync(${JSON.stringify(join(ROOT, 'crates'))}, { stats: false })
      process.stdout.write(JSON.stringify({ files: report.totals.files, dirs: report.totals.dirs }))
    `
    const result = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: project, env, encoding: 'utf8' }))
    expect(result.files).toBeGreaterThan(10)
    expect(result.dirs).toBeGreaterThan(3)

    const cli = execFileSync(join(project, 'node_modules/.bin/modforge'), ['--help'], { env, encoding: 'utf8' })
    expect(cli).toContain('Usage: modforge <command>')
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules/modforge/package.json'), 'utf8'))
    expect(manifest.bin.modforge).toBe('cli/main.js')
  })
})

/** Whether the C library is glibc (the linux-x64-gnu package does not load on musl). */
function isGlibc(): boolean {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
  return Boolean(report?.header?.glibcVersionRuntime)
}
