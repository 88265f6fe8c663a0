/**
 * `npm run pack:local`: the tarballs of the package and of this machine's platform package with
 * its binary (`npm/<platform>` plus `dist/modforge.<platform>.node`), so another project can
 * install them without a registry: `npm install <the two .tgz files>`.
 *
 * Run after `npm install` (or `npm run build`), which builds `dist/`. Options: `--out DIR` (default
 * `dist/pack`), `--json` (print `{ "tarballs": [...] }` instead of one path per line).
 */
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

import { currentPlatform } from '../src/internal/platform'

const ROOT = resolve(__dirname, '..')

function fail(message: string): never {
  process.stderr.write(`pack:local: ${message}\n`)
  process.exit(1)
}

/** `npm pack` of `dir` into `out` without running scripts (the package is built already); returns the tarball. */
function pack(dir: string, out: string): string {
  const output = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', out], {
    cwd: dir,
    encoding: 'utf8',
    shell: process.platform === 'win32',
  })
  const [{ filename }] = JSON.parse(output) as Array<{ filename: string }>
  return join(out, filename)
}

function main(): void {
  const { values } = parseArgs({ options: { out: { type: 'string' }, json: { type: 'boolean' } } })
  const out = resolve(values.out ?? join(ROOT, 'dist', 'pack'))
  const { napi } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { napi: { binaryName: string } }
  const { suffix } = currentPlatform()
  const binary = join(ROOT, 'dist', `${napi.binaryName}.${suffix}.node`)
  const platformDir = join(ROOT, 'npm', suffix)
  if (!existsSync(join(ROOT, 'dist', 'index.js')) || !existsSync(binary)) {
    fail(`${binary} or dist/index.js is missing: build with \`npm run build\` (\`npm install\` runs it)`)
  }
  if (!existsSync(platformDir)) fail(`there is no platform package npm/${suffix}: no prebuilt binary is published for this platform`)
  // The platform package as `napi prepublish` publishes it: its package.json and README, plus the binary.
  const stage = join(out, 'stage', suffix)
  rmSync(stage, { recursive: true, force: true })
  mkdirSync(stage, { recursive: true })
  cpSync(platformDir, stage, { recursive: true })
  cpSync(binary, join(stage, basename(binary)))
  const tarballs = [pack(ROOT, out), pack(stage, out)]
  process.stdout.write(values.json ? `${JSON.stringify({ tarballs })}\n` : `${tarballs.join('\n')}\n`)
}

main()
