/**
 * `npm run bench -- overlay [--runs N] [--scale benchmark|small] [--skip-rust]`: the overlay
 * builder against its peers on one generated League install (docs/overlay.md, "Performance").
 *
 * 1. The Rust harness `benchmark/overlay` (release build) times modforge-overlay, ltk_overlay 0.21
 *    from crates.io and the cslol and single-pass models of the spec, each measurement in its own
 *    process (so its peak RSS is its own), on the same data and the same four cases: full build,
 *    no-op, one edited mod touching one WAD, and the same mod gaining an entry.
 * 2. The Node API (`buildOverlay`) on the same data and cases, in this process: what a JavaScript
 *    caller pays on top of the Rust call.
 *
 * Ratios are printed against modforge (`> 1` = slower than modforge); everything lands in
 * `benchmark/results/overlay.json`.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync, rmdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'

import { buildOverlay, type OverlayBuildResult } from 'modforge'
import { machine, printTable, summarize, target, writeResults, type Measurement, type TargetResult } from './harness'

const ROOT = resolve(__dirname, '..')
const CASES = ['full', 'no-op', 'edit', 'add-entry'] as const

interface RustRow {
  tool: string
  case: string
  median: number
  min: number
  max: number
  runs: number
  ratioToModforge: number
  modBytesRead: number | null
  peakBytesRead: number | null
  bytesWritten: number | null
  peakRssKiB: number
}

interface RustReport {
  machine: string
  data: Record<string, unknown>
  results: RustRow[]
}

function option(args: string[], name: string, fallback: string): string {
  const at = args.indexOf(name)
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1] : fallback
}

/** Builds and runs the Rust harness; returns its report. */
function runRustHarness(runs: number, scale: string, data: string, out: string): RustReport {
  console.log('\nbuilding the Rust harness (release) ...')
  const build = spawnSync('cargo', ['build', '--release', '-p', 'modforge-bench-overlay'], { cwd: ROOT, stdio: 'inherit' })
  if (build.status !== 0) throw new Error('cargo build of benchmark/overlay failed')
  const run = spawnSync(join(ROOT, 'target', 'release', 'overlay-bench'), ['--runs', String(runs), '--scale', scale, '--data', data, '--out', out], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  if (run.status !== 0) throw new Error(`overlay-bench exited ${run.status}`)
  return JSON.parse(readFileSync(out, 'utf8')) as RustReport
}

interface Manifest {
  game: string
  mods: { id: string; path: string; edit: [string, string] | null }[]
}

/** The Node API on the harness's install, the same cases in the same order. */
async function runNode(runs: number, root: string): Promise<{ rows: Measurement[]; details: Record<string, OverlayBuildResult> }> {
  const manifest = JSON.parse(readFileSync(join(root, 'install.json'), 'utf8')) as Manifest
  const editable = manifest.mods.find((m) => m.edit)
  if (!editable?.edit) throw new Error('the install has no editable folder mod')
  const [editFile, editDir] = editable.edit
  const original = readFileSync(editFile)
  const added = join(editDir, 'assets', 'bench', 'added_entry.bin')
  const work = join(root, '..', 'work-node')
  const times: Record<string, number[]> = Object.fromEntries(CASES.map((c) => [c, []]))
  const details: Record<string, OverlayBuildResult> = {}
  const spec = {
    gameDir: manifest.game,
    overlayDir: join(work, 'overlay'),
    stateDir: join(work, 'state'),
    mods: manifest.mods.map((m) => ({ id: m.id, path: m.path })),
  }
  try {
    for (let run = 0; run < runs; run += 1) {
      rmSync(work, { recursive: true, force: true })
      mkdirSync(work, { recursive: true })
      for (const c of CASES) {
        if (c === 'edit') writeFileSync(editFile, Buffer.concat([original, Buffer.from(`edit ${run}`)]))
        if (c === 'add-entry') {
          mkdirSync(dirname(added), { recursive: true })
          writeFileSync(added, Buffer.alloc(4096, run))
        }
        const started = process.hrtime.bigint()
        const result = await buildOverlay(spec)
        times[c].push(Number(process.hrtime.bigint() - started) / 1e6)
        details[c] = result
        console.error(`run ${run} modforge (Node) ${c.padStart(9)}: ${times[c].at(-1)!.toFixed(1)} ms ${result.mode}, built ${result.built.length}`)
      }
      writeFileSync(editFile, original)
      rmSync(added, { force: true })
    }
  } finally {
    writeFileSync(editFile, original)
    try {
      unlinkSync(added)
      rmdirSync(dirname(added))
    } catch {
      // Already gone.
    }
    rmSync(work, { recursive: true, force: true })
  }
  const rows = CASES.map((c) => {
    const r = details[c]
    return summarize(`modforge (Node API) ${c}`, times[c], `${r.mode}, built ${r.built.length}, mod read ${r.stats.modBytesRead} B, peak ${r.peakBytesRead} B`)
  })
  return { rows, details }
}

/** `npm run bench -- overlay`. */
export async function overlayBenchmark(args: string[]): Promise<void> {
  const runs = Number(option(args, '--runs', '3'))
  const scale = option(args, '--scale', 'benchmark')
  const seed = 1
  const data = resolve(ROOT, option(args, '--data', 'target/overlay-bench'))
  const rustOut = join(ROOT, 'target', 'overlay-bench-rust.json')
  const rust = runRustHarness(runs, scale, data, rustOut)
  const node = await runNode(runs, join(data, `${scale}-${seed}`))

  const byCase = (tool: string, c: string) => rust.results.find((row) => row.tool === tool && row.case === c)
  const targets: TargetResult[] = []
  for (const c of CASES) {
    const rows: Measurement[] = rust.results
      .filter((row) => row.case === c)
      .map((row) => ({
        name: row.tool,
        median: row.median,
        min: row.min,
        max: row.max,
        runs: row.runs,
        note: `mod read ${row.modBytesRead ?? 'n/a'}, peak read ${row.peakBytesRead ?? 'n/a'}, written ${row.bytesWritten ?? 'n/a'}, peak RSS ${(row.peakRssKiB / 1024).toFixed(0)} MiB`,
      }))
    const nodeRow = node.rows.find((row) => row.name.endsWith(` ${c}`))
    if (nodeRow) rows.push(nodeRow)
    printTable(`overlay ${c} (${scale} install, warm cache)`, rows, 'modforge')
  }
  console.log('\ntargets (ltk_overlay median / modforge median)')
  const ratio = (c: string, peer = 'ltk_overlay') => {
    const ours = byCase('modforge', c)?.median
    const theirs = byCase(peer, c)?.median
    return ours && theirs ? theirs / ours : 0
  }
  targets.push(target('no-op: ltk_overlay / modforge', ratio('no-op'), 3))
  targets.push(target('no-op: modforge ms', byCase('modforge', 'no-op')?.median ?? Infinity, 10, false))
  targets.push(target('one edited mod: ltk_overlay / modforge', ratio('edit'), 2))
  targets.push(target('added entry: ltk_overlay / modforge', ratio('add-entry'), 2))
  targets.push(target('full build: ltk_overlay / modforge', ratio('full'), 1.5))
  // ltk_overlay never flushes its output; modforge fsyncs every WAD it writes (docs/overlay.md,
  // "Crash safety"). The same bars against ltk_overlay followed by a flush of what it wrote:
  console.log('same bars, ltk_overlay with its output flushed to disk (as durable as modforge\'s)')
  targets.push(target('no-op: ltk_overlay+fsync / modforge', ratio('no-op', 'ltk_overlay+fsync'), 3))
  targets.push(target('one edited mod: ltk_overlay+fsync / modforge', ratio('edit', 'ltk_overlay+fsync'), 2))
  targets.push(target('added entry: ltk_overlay+fsync / modforge', ratio('add-entry', 'ltk_overlay+fsync'), 2))
  targets.push(target('full build: ltk_overlay+fsync / modforge', ratio('full', 'ltk_overlay+fsync'), 1.5))
  const rssOurs = byCase('modforge', 'full')?.peakRssKiB ?? 0
  const rssTheirs = byCase('ltk_overlay', 'full')?.peakRssKiB ?? 0
  targets.push(target('full build peak RSS: ltk_overlay / modforge', rssOurs > 0 ? rssTheirs / rssOurs : 0, 1))
  const file = writeResults('overlay', {
    machine: machine(),
    rustMachine: rust.machine,
    cache: 'warm',
    data: rust.data,
    plan: { runs, cases: CASES, note: 'Rust rows: each measurement in its own process; Node rows: buildOverlay in this process' },
    results: rust.results,
    node: node.rows,
    nodeDetails: node.details,
    targets,
  })
  console.log(`\nwritten ${file}`)
}
