/**
 * Writes `crates/node/warm-start.order`: the addon's functions that loading the package and a warm
 * start of the icon cache run, which the linker places next to each other (docs/startup.md, "Code
 * layout"). Run it when the paths of a warm start or the toolchain change (`npm run warm-order`);
 * names it lists that a build no longer has are passed over by the linker, so a stale list costs
 * speed, never correctness.
 *
 * 1. Builds the addon as `npm run build:native` does, in `target/layout`, with its symbols kept
 *    (`-C strip=none` in `RUSTFLAGS`, which cargo leaves out of the hash in symbol names, so the
 *    names are those of the release build; the profile's `strip` is part of that hash).
 * 2. Copies `dist/` with that addon into a temporary folder, generates a small NWN2 install and
 *    builds its icon cache there.
 * 3. Runs a warm start (load the package, `IconCache.openSync`, one `getIcon`) under valgrind's
 *    callgrind, which records every function that ran.
 * 4. Writes the addon's functions, as their linker symbols, in the order callgrind lists them
 *    (temp file, fsync, rename).
 *
 * Needs valgrind and the built package (`npm run build`).
 */
import { execFileSync } from 'node:child_process'
import { closeSync, copyFileSync, cpSync, fsyncSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(__dirname, '..')
const ADDON = 'modforge.linux-x64-gnu.node'
/** The one target whose builds use the list (crates/node/build.rs). */
const TRIPLE = 'x86_64-unknown-linux-gnu'
const ORDER_FILE = join(ROOT, 'crates', 'node', 'warm-start.order')

/**
 * The cache built once, so that the recorded run is a warm start. Every time of the install is
 * set in the past first, so that the generation carries a discovery memo and the warm start
 * takes its sources from it, as an application's warm start does (docs/icons.md, "Discovery
 * memo").
 */
const BUILD_CACHE = `
const modforge = require(process.argv[1] + '/index.js')
const { readdirSync, statSync, utimesSync } = require('node:fs')
const { join } = require('node:path')
const settle = (path) => {
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) settle(join(path, name))
  utimesSync(path, 1_600_000_000, 1_600_000_000)
}
;(async () => {
  const install = await modforge.generateInstall(process.argv[2] + '/install', { preset: 'small', seed: 1 })
  settle(process.argv[2] + '/install')
  const options = {
    discover: { gameDir: install.gameDir, userDir: install.userDir, module: install.module, campaign: install.campaign, workshopDirs: [install.workshopRoot] },
    cacheDir: process.argv[2] + '/cache',
  }
  const cache = await modforge.IconCache.open(options)
  await cache.idle()
  cache.close()
  process.stdout.write(JSON.stringify({ options, name: install.icons[0].name }))
})()
`

/** The recorded warm start. */
const WARM_START = `
const { IconCache } = require(process.argv[1] + '/index.js')
const { options, name } = JSON.parse(process.argv[2])
const cache = IconCache.openSync(options)
if (!cache.getIcon(name)) throw new Error('no icon ' + name)
if (!cache.stats().discoveryReused) throw new Error('the warm start did not take the discovery memo')
cache.close()
`

/** The functions of `object` in a callgrind profile written with uncompressed, mangled names. */
function functionsOf(profile: string, object: string): string[] {
  const names: string[] = []
  const seen = new Set<string>()
  let current = ''
  for (const line of profile.split('\n')) {
    if (line.startsWith('ob=')) current = line.slice(3).trim()
    else if (line.startsWith('fn=') && current.endsWith(object)) {
      const name = line.slice(3).trim()
      if (!seen.has(name)) {
        seen.add(name)
        names.push(name)
      }
    }
  }
  return names
}

function main(): void {
  const target = join(ROOT, 'target', 'layout')
  execFileSync('cargo', ['build', '--target', TRIPLE, '--release', '--manifest-path', 'crates/node/Cargo.toml'], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, CARGO_TARGET_DIR: target, RUSTFLAGS: '-C strip=none' },
  })
  const work = mkdtempSync(join(tmpdir(), 'modforge-warm-order-'))
  try {
    const dist = join(work, 'dist')
    cpSync(join(ROOT, 'dist'), dist, { recursive: true })
    copyFileSync(join(target, TRIPLE, 'release', 'libmodforge_node.so'), join(dist, ADDON))
    const spec = execFileSync(process.execPath, ['-e', BUILD_CACHE, dist, work], { encoding: 'utf8' })
    const profile = join(work, 'callgrind.out')
    execFileSync(
      'valgrind',
      ['--tool=callgrind', '--demangle=no', '--compress-strings=no', '--dump-instr=no', `--callgrind-out-file=${profile}`, process.execPath, '-e', WARM_START, dist, spec],
      { stdio: ['ignore', 'inherit', 'ignore'] },
    )
    const names = functionsOf(readFileSync(profile, 'utf8'), ADDON)
    if (names.length === 0) throw new Error(`callgrind recorded no function of ${ADDON}`)
    const temp = `${ORDER_FILE}.${process.pid}.tmp`
    const fd = openSync(temp, 'w')
    writeSync(fd, names.join('\n') + '\n')
    fsyncSync(fd)
    closeSync(fd)
    renameSync(temp, ORDER_FILE)
    console.log(`warm-order: ${names.length} functions -> ${ORDER_FILE}`)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

main()
