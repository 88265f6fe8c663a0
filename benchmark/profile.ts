/**
 * `npm run bench -- profile`: modforge's profiler, through the API and through the CLI (Node's
 * start-up included), against fdir (names only, and with an lstat per entry), GNU du, find,
 * diskus and dua (peers not installed are reported as missing), and a minimal single-threaded
 * read_dir + metadata loop in Rust (the syscall floor), all on the same trees with a warm page
 * cache: generated trees of five shapes and a real one (`/usr`). Flags: `--small` (generated
 * trees of ~1/10 the size, for a quick look), `--runs N`, `--trees a,b` (only these trees, by
 * name: wide, deep, node, game, source, usr), `--cold` (adds a cold-cache thread sweep; needs root
 * to drop the page cache).
 */
import { existsSync, mkdirSync, promises as fsp, rmSync, writeFileSync, readFileSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

import { fdir } from 'fdir'

import { generateTree, profile, type ProfileReport } from 'modforge'
import {
  type Measurement,
  type RunPlan,
  type TargetResult,
  fileSystem,
  findTool,
  machine,
  measure,
  measureCommand,
  printTable,
  runCommand,
  target,
  writeResults,
} from './harness'

/** A generated benchmark tree. */
interface TreeCase {
  shape: 'wide' | 'deep' | 'node' | 'game' | 'source'
  entries: number
}

/** A real folder measured as it is. */
interface RealTree {
  name: string
  dir: string
}

const TREES: TreeCase[] = [
  { shape: 'wide', entries: 300_000 },
  { shape: 'deep', entries: 100_000 },
  { shape: 'node', entries: 300_000 },
  { shape: 'game', entries: 100_000 },
  { shape: 'source', entries: 100_000 },
]

const REAL_TREES: RealTree[] = [{ name: 'usr', dir: '/usr' }]

const ROOT = resolve(__dirname, '..')
const CLI = join(ROOT, 'dist', 'cli', 'main.js')
const SEED = 2024

/** Peers looked up at run time, with how to install them. */
const PEERS: { command: string; install: string }[] = [
  { command: 'du', install: 'GNU coreutils (apt-get install coreutils)' },
  { command: 'find', install: 'GNU findutils (apt-get install findutils)' },
  { command: 'diskus', install: 'cargo install diskus' },
  { command: 'dua', install: 'cargo install dua-cli --locked' },
]

/** Generates a tree once and reuses it while its parameters are unchanged (kept in a marker file). */
async function ensureTree(base: string, tree: TreeCase): Promise<string> {
  const dir = join(base, `${tree.shape}-${tree.entries}-${SEED}`)
  const marker = `${dir}.done`
  const spec = JSON.stringify({ ...tree, seed: SEED, extras: true })
  if (existsSync(marker) && readFileSync(marker, 'utf8') === spec) return dir
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const started = Date.now()
  await generateTree(dir, { shape: tree.shape, entries: tree.entries, seed: SEED, extras: true })
  console.log(`generated ${tree.shape} tree (${tree.entries} entries) in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  writeFileSync(marker, spec)
  return dir
}

/** fdir paths, then `lstat` of every entry with bounded concurrency, summing sizes. */
async function fdirWithStat(dir: string): Promise<number> {
  const paths = (await new fdir().withFullPaths().withDirs().crawl(dir).withPromise()) as string[]
  let total = 0
  let next = 0
  const worker = async () => {
    while (next < paths.length) {
      const path = paths[next++]
      try {
        total += (await fsp.lstat(path)).size
      } catch {
        // entries that cannot be stat'ed are skipped, as the other tools report them
      }
    }
  }
  await Promise.all(Array.from({ length: 64 }, worker))
  return total
}

/** The first line of `<tool> --version`, or `unknown`. */
function toolVersion(tool: string): string {
  try {
    return runCommand([tool, '--version'], true).split('\n')[0].trim() || 'unknown'
  } catch {
    return 'unknown'
  }
}

/** Builds the syscall-floor example once and returns its path. */
function floorBinary(): string {
  runCommand(['cargo', 'build', '--release', '--quiet', '-p', 'modforge-walk', '--example', 'floor', '--manifest-path', join(ROOT, 'Cargo.toml')])
  return join(ROOT, 'target/release/examples/floor')
}

/** Drops the page cache (root only); false when not permitted. */
function dropCaches(): boolean {
  try {
    runCommand(['sync'])
    writeFileSync('/proc/sys/vm/drop_caches', '3')
    return true
  } catch {
    return false
  }
}

/** Runs the whole profile benchmark. */
export async function profileBenchmark(args: string[]): Promise<void> {
  const small = args.includes('--small')
  const runsIndex = args.indexOf('--runs')
  const plan: RunPlan = { warmup: 2, runs: runsIndex >= 0 ? Number(args[runsIndex + 1]) : 5 }
  const treesIndex = args.indexOf('--trees')
  const only = treesIndex >= 0 ? new Set(args[treesIndex + 1].split(',')) : undefined
  const cores = availableParallelism()
  const base = join(process.env.MODFORGE_BENCH_DIR ?? tmpdir(), 'modforge-bench-trees')
  mkdirSync(base, { recursive: true })
  const floor = floorBinary()
  const tools = Object.fromEntries(PEERS.map((peer) => [peer.command, findTool(peer.command)]))
  const { du, find, diskus, dua } = tools
  const missing = PEERS.filter((peer) => !tools[peer.command]).map((peer) => ({ ...peer }))
  const versions = Object.fromEntries(
    PEERS.filter((peer) => tools[peer.command]).map((peer) => [peer.command, toolVersion(tools[peer.command] as string)]),
  )
  console.log(`\n== profile benchmark: warm page cache, ${plan.runs} timed runs after ${plan.warmup} warm-up runs`)
  console.log(`file system of ${base}: ${fileSystem(base)}; cores: ${cores}; 1-minute load average at start: ${loadavg()[0].toFixed(1)}`)
  for (const [command, version] of Object.entries(versions)) console.log(`${command}: ${version}`)
  for (const peer of missing) console.log(`${peer.command}: MISSING, not measured (install: ${peer.install})`)

  // Node's own start-up, the part of every CLI row that is not walking.
  const startup = await measureCommand('node -e 0', { warmup: 3, runs: 15 }, [process.execPath, '-e', '0'])
  console.log(`node start-up (node -e 0): median ${startup.median.toFixed(1)} ms`)

  const cases: { name: string; dir: string; generated?: TreeCase }[] = []
  for (const tree of TREES) {
    if (only && !only.has(tree.shape)) continue
    const entries = small ? Math.round(tree.entries / 10) : tree.entries
    cases.push({ name: tree.shape, dir: await ensureTree(base, { ...tree, entries }), generated: { ...tree, entries } })
  }
  for (const tree of REAL_TREES) {
    if (only && !only.has(tree.name)) continue
    if (existsSync(tree.dir)) cases.push(tree)
    else console.log(`${tree.name}: ${tree.dir} does not exist, skipped`)
  }

  const results: Record<string, unknown>[] = []
  const targets: TargetResult[] = []
  for (const { name, dir, generated } of cases) {
    const rows: Measurement[] = []
    let full: ProfileReport | undefined

    rows.push(await measure('modforge names-only', plan, () => profile(dir, { stats: false, threads: cores })))
    let collected = 0
    rows.push(
      await measure('modforge names-only + paths', plan, () =>
        profile(dir, { stats: false, threads: cores, collectPaths: (batch) => void (collected += batch.paths.length) }),
      ),
    )
    for (const threads of [...new Set([1, 2, cores])]) {
      rows.push(
        await measure(`modforge full t${threads}`, plan, async () => {
          full = await profile(dir, { threads })
        }),
      )
    }
    if (!full) throw new Error('no profile report')
    const t = full.totals
    const entryCount = t.files + t.dirs + t.symlinks + t.other
    rows[rows.length - 1].note = `${entryCount} entries`
    const cliArgs = [process.execPath, CLI, 'profile', dir, '--json', '--no-progress', '--threads', String(cores)]
    rows.push(await measureCommand(`modforge CLI t${cores}`, plan, cliArgs, 'node dist/cli/main.js profile --json'))

    rows.push(await measure('fdir onlyCounts', plan, () => new fdir().onlyCounts().crawl(dir).withPromise()))
    rows.push(await measure('fdir paths', plan, () => new fdir().withFullPaths().crawl(dir).withPromise()))
    rows.push(await measure('fdir + lstat', { warmup: 1, runs: Math.min(plan.runs, 3) }, () => fdirWithStat(dir)))
    if (du) {
      rows.push(await measureCommand('du -sb', plan, [du, '-sb', dir]))
      rows.push(await measureCommand('du -s', plan, [du, '-s', dir]))
    }
    if (find) rows.push(await measureCommand('find -type f', plan, [find, dir, '-type', 'f', '-printf', '.']))
    if (diskus) {
      rows.push(await measureCommand(`diskus -j ${cores}`, plan, [diskus, '-j', String(cores), dir], 'allocated bytes'))
      rows.push(await measureCommand(`diskus -b -j ${cores}`, plan, [diskus, '-b', '-j', String(cores), dir], 'apparent bytes'))
    }
    if (dua) {
      rows.push(await measureCommand(`dua -t ${cores} aggregate`, plan, [dua, '-t', String(cores), 'aggregate', dir], 'allocated bytes'))
      rows.push(await measureCommand(`dua -A -t ${cores} aggregate`, plan, [dua, '-A', '-t', String(cores), 'aggregate', dir], 'apparent bytes'))
    }
    rows.push(await measureCommand('floor (1 thread)', plan, [floor, dir]))
    rows.push(await measureCommand('floor names-only (1 thread)', plan, [floor, dir, '--names']))

    const baseline = `modforge full t${cores}`
    printTable(`${name} tree (${dir}), ${entryCount} entries, warm cache`, rows, baseline)

    const median = (row: string) => rows.find((r) => r.name === row)?.median ?? NaN
    const label = name
    const api = median(baseline)
    const cli = median(`modforge CLI t${cores}`)
    targets.push(target(`${label}: fdir onlyCounts / modforge names-only`, median('fdir onlyCounts') / median('modforge names-only'), 3))
    if (du) {
      targets.push(target(`${label}: du -sb / ${baseline}`, median('du -sb') / api, 1.8))
      targets.push(target(`${label}: du -s / ${baseline}`, median('du -s') / api, 1.8))
    }
    if (diskus) {
      targets.push(target(`${label}: diskus -j ${cores} / ${baseline}`, median(`diskus -j ${cores}`) / api, 1))
      targets.push(target(`${label}: diskus -b -j ${cores} / ${baseline}`, median(`diskus -b -j ${cores}`) / api, 1))
    }
    if (dua) targets.push(target(`${label}: dua -t ${cores} aggregate / ${baseline}`, median(`dua -t ${cores} aggregate`) / api, 1))
    targets.push(target(`${label}: modforge full t1 / floor`, median('modforge full t1') / median('floor (1 thread)'), 1.5, false))
    const walkInCli = cli - startup.median
    console.log(
      `CLI: ${cli.toFixed(1)} ms = node start-up ${startup.median.toFixed(1)} ms + ${walkInCli.toFixed(1)} ms (API ${api.toFixed(1)} ms); ` +
        (du ? `du -sb / CLI ${(median('du -sb') / cli).toFixed(2)}, ` : '') +
        (diskus ? `diskus -j ${cores} / CLI ${(median(`diskus -j ${cores}`) / cli).toFixed(2)}` : ''),
    )
    console.log(`parallel efficiency at ${cores} threads: ${((median('floor (1 thread)') / cores / median(`modforge full t${cores}`)) * 100).toFixed(0)}%`)
    // Names-only is bound by the kernel's directory reads: at best the single-threaded read_dir
    // floor divided by the cores (a higher bound when one large folder dominates, since a folder
    // is read by one thread). fdir reads on libuv's four pool threads, so it is parallel too.
    const namesBound = median('floor names-only (1 thread)') / cores
    console.log(
      `names-only: ${median('modforge names-only').toFixed(1)} ms; read_dir floor / ${cores} cores: ${namesBound.toFixed(1)} ms, ` +
        `so no tool can beat fdir onlyCounts by more than ${(median('fdir onlyCounts') / namesBound).toFixed(2)}x on this file system`,
    )

    // Correctness in the same run.
    const checks: Record<string, boolean> = {}
    if (find) checks.filesEqualFind = t.files === runCommand([find, dir, '-type', 'f', '-printf', '.'], true).length
    if (du) {
      checks.apparentEqualsDu = t.apparentBytes === Number(runCommand([du, '-sb', dir], true).split('\t')[0])
      checks.allocatedEqualsDu = t.allocatedBytes === Number(runCommand([du, '-sB1', dir], true).split('\t')[0])
      const links = await profile(dir, { countHardLinks: true })
      checks.countLinksApparentEqualsDu = links.totals.apparentBytes === Number(runCommand([du, '-sbl', dir], true).split('\t')[0])
      checks.countLinksAllocatedEqualsDu = links.totals.allocatedBytes === Number(runCommand([du, '-sB1', '-l', dir], true).split('\t')[0])
    }
    checks.collectPathsComplete = collected === entryCount * (plan.warmup + plan.runs)
    console.log(`correctness: ${Object.entries(checks).map(([name, ok]) => `${name} ${ok ? 'ok' : 'MISMATCH'}`).join(', ')}`)

    let cold: Measurement[] | undefined
    if (args.includes('--cold')) cold = await coldSweep(dir, cores, du, diskus)
    results.push({ tree: { name, ...generated, entries: entryCount, dir }, rows, checks, cold })
  }
  const file = writeResults('profile', {
    machine: machine(),
    loadAverage: loadavg().map((load) => Number(load.toFixed(2))),
    cache: 'warm',
    plan,
    peers: versions,
    missing,
    startup,
    results,
    targets,
  })
  console.log(`\nresults written to ${file}`)
}

/** Cold-cache runs: the page cache is dropped before every timed run. */
async function coldSweep(dir: string, cores: number, du?: string, diskus?: string): Promise<Measurement[] | undefined> {
  if (!dropCaches()) {
    console.log('cold runs skipped: dropping the page cache needs root')
    return undefined
  }
  const rows: Measurement[] = []
  const coldPlan: RunPlan = { warmup: 0, runs: 1 }
  for (const threads of [...new Set([1, 2, cores, 3 * cores])]) {
    dropCaches()
    rows.push(await measure(`modforge full t${threads} (cold)`, coldPlan, () => profile(dir, { threads })))
  }
  if (du) {
    dropCaches()
    rows.push(await measureCommand('du -s (cold)', coldPlan, [du, '-s', dir]))
  }
  if (diskus) {
    dropCaches()
    rows.push(await measureCommand('diskus (cold)', coldPlan, [diskus, dir]))
  }
  printTable('cold cache thread sweep', rows, `modforge full t${cores} (cold)`)
  return rows
}
