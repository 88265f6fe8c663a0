/**
 * The last step of `npm run build:ts`: writes `dist/code-cache.bin`, V8's code for the package's
 * modules after the paths a fresh process runs first (docs/startup.md).
 *
 * 1. A plain `node` child (no loader of this script's runner in between) loads `dist/index.js`,
 *    compiles the package's modules itself, runs the first-use paths on a small generated install
 *    (an icon cache built, then opened again and served from, as a warm start does) and saves, for
 *    each module, its source, the code V8 holds for it by then (functions compiled on first call
 *    included) and that code's SHA-1.
 * 2. A second fresh child checks that the entry now compiles every one of those modules from the
 *    cache.
 *
 * Run after `tsc` and with the native addon built (`npm run build`). `--json` prints the summary
 * as JSON.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, rmSync } from 'node:fs'
import { join, relative, resolve, sep } from 'node:path'

import { CACHE_NAME, type CodeCacheReport } from '../src/internal/code-cache'

const DIST = resolve(__dirname, '..', 'dist')
const CACHE_FILE = join(DIST, CACHE_NAME)

/** The loader itself loads before the cache is open, and the CLI after the entry: neither is cached. */
const NOT_CACHED = new Set(['index.js', 'src/internal/code-cache.js'])

/** Every module under `dist/` that the package entry may load (the CLI excluded). */
function modules(): string[] {
  const out: string[] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      const name = relative(DIST, path).split(sep).join('/')
      if (entry.isDirectory()) {
        if (name !== 'cli' && name !== 'pack') walk(path)
      } else if (name.endsWith('.js') && !NOT_CACHED.has(name)) out.push(name)
    }
  }
  walk(DIST)
  return out.sort()
}

/**
 * The recording child: compiles the listed modules with the loader's own `runModule`, runs the
 * first-use paths, then writes the cache file (temp file, then rename).
 */
const RECORD = `
const Module = require('node:module')
const fs = require('node:fs')
const path = require('node:path')
const os = require('node:os')
const [dist, cacheFile, names] = [process.argv[1], process.argv[2], JSON.parse(process.argv[3])]
const wanted = new Set(names)
const scripts = new Map()
// The loader's own compile function, loaded before the hook (the loader itself is never cached).
const { runModule } = require(path.join(dist, 'src', 'internal', 'code-cache.js'))
const original = Module.prototype._compile
Module.prototype._compile = function (content, filename, ...rest) {
  const name = path.relative(dist, filename).split(path.sep).join('/')
  if (!wanted.has(name)) return original.call(this, content, filename, ...rest)
  const { script, result } = runModule(this, content, filename)
  scripts.set(name, { script, source: Buffer.from(content, 'utf8') })
  return result
}
const modforge = require(path.join(dist, 'index.js'))
Module.prototype._compile = original
;(async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'modforge-code-cache-'))
  try {
    const install = await modforge.generateInstall(path.join(work, 'install'), { preset: 'small', seed: 1 })
    const options = {
      discover: { gameDir: install.gameDir, userDir: install.userDir, module: install.module, campaign: install.campaign, workshopDirs: [install.workshopRoot] },
      cacheDir: path.join(work, 'cache'),
    }
    const built = await modforge.IconCache.open(options)
    await built.idle()
    built.close()
    for (let round = 0; round < 2; round += 1) {
      const cache = modforge.IconCache.openSync({ ...options, validate: 'background' })
      for (const icon of install.icons.slice(0, 3)) cache.getIcon(icon.name)
      await cache.idle()
      cache.close()
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true })
  }
  const modules = {}
  const blobs = []
  let offset = 0
  for (const [name, { script, source }] of scripts) {
    const code = script.createCachedData()
    const sha1 = require('node:crypto').createHash('sha1').update(code).digest('base64')
    modules[name] = [offset, source.length, offset + source.length, code.length, sha1]
    blobs.push(source, code)
    offset += source.length + code.length
  }
  const header = Buffer.from(JSON.stringify({ v8: process.versions.v8, arch: process.arch, modules }))
  const length = Buffer.alloc(4)
  length.writeUInt32LE(header.length)
  const temp = cacheFile + '.' + process.pid + '.tmp'
  const fd = fs.openSync(temp, 'w')
  fs.writeSync(fd, Buffer.concat([length, header, ...blobs]))
  fs.fsyncSync(fd)
  fs.closeSync(fd)
  fs.renameSync(temp, cacheFile)
  process.stdout.write(JSON.stringify({ modules: [...scripts.keys()], bytes: 4 + header.length + offset }))
})().catch((error) => {
  process.stderr.write(String(error && error.stack || error) + '\\n')
  process.exit(1)
})
`

/** The checking child: what the loader did when a fresh process loaded the entry. */
const CHECK = `
const dist = process.argv[1]
require(dist + '/index.js')
process.stdout.write(JSON.stringify(require(dist + '/src/internal/code-cache.js').codeCacheReport()))
`

function main(): void {
  const json = process.argv.includes('--json')
  const names = modules()
  rmSync(CACHE_FILE, { force: true })
  const recorded = JSON.parse(
    execFileSync(process.execPath, ['-e', RECORD, DIST, CACHE_FILE, JSON.stringify(names)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }),
  ) as { modules: string[]; bytes: number }
  const report = JSON.parse(execFileSync(process.execPath, ['-e', CHECK, DIST], { encoding: 'utf8' })) as CodeCacheReport
  const missing = recorded.modules.filter((name) => !report.used.includes(name))
  if (report.unusable !== null || report.rejected.length > 0 || report.damaged.length > 0 || missing.length > 0) {
    process.stderr.write(`code-cache: the new cache is not used by a fresh process: ${JSON.stringify({ ...report, missing })}\n`)
    process.exit(1)
  }
  const summary = { file: relative(resolve(DIST, '..'), CACHE_FILE), node: process.version, modules: recorded.modules.length, bytes: recorded.bytes }
  process.stdout.write(json ? `${JSON.stringify(summary)}\n` : `code-cache: ${summary.modules} modules, ${summary.bytes} bytes for Node ${summary.node} -> ${summary.file}\n`)
}

main()
