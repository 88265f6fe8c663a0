/**
 * `npm run bench -- startup`: what a command pays before its work starts. Node's own start
 * (`node -e 0`) against `modforge --help` (no native addon) and `modforge profile <empty folder>
 * --json` (the addon, one walk, the output); then, from a preloaded probe (`first-call.cjs`), the
 * time from the process's start and from the main script's start to the first call into the
 * addon, and the CPU time until then. Flags: `--runs N` (default 30).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

import { machine, measureCommand, printTable, summarize, writeResults, type Measurement } from './harness'

const ROOT = resolve(__dirname, '..')
const MAIN = join(ROOT, 'dist', 'cli', 'main.js')
const PROBE = join(__dirname, 'first-call.cjs')

/** The probe's marks of one `modforge profile` run. */
function firstCall(folder: string): { main: number; firstCall: number; cpu: number } {
  const run = spawnSync(process.execPath, ['-r', PROBE, MAIN, 'profile', folder, '--json'], { encoding: 'utf8' })
  const line = run.stderr.split('\n').find((text) => text.startsWith('FIRST-CALL '))
  if (!line) throw new Error(`the probe reported nothing: ${run.stderr}`)
  return JSON.parse(line.slice('FIRST-CALL '.length))
}

export async function startupBenchmark(args: string[]): Promise<void> {
  const runsFlag = args.indexOf('--runs')
  const runs = runsFlag === -1 ? 30 : Number(args[runsFlag + 1])
  const plan = { warmup: 3, runs }
  const folder = mkdtempSync(join(tmpdir(), 'modforge-startup-'))
  try {
    const node = process.execPath
    const rows: Measurement[] = [
      await measureCommand('node -e 0', plan, [node, '-e', '0']),
      await measureCommand('modforge --help', plan, [node, MAIN, '--help']),
      await measureCommand('modforge profile <empty> --json', plan, [node, MAIN, 'profile', folder, '--json']),
    ]
    const load = loadavg()[0].toFixed(1)
    printTable(`start-up, ${runs} runs (1-minute load average ${load})`, rows, 'node -e 0')
    const marks = Array.from({ length: runs }, () => firstCall(folder))
    const probes = [
      summarize('process start -> first native call', marks.map((m) => m.firstCall)),
      summarize('main script -> first native call', marks.map((m) => m.firstCall - m.main)),
      summarize('CPU time until the first native call', marks.map((m) => m.cpu)),
    ]
    printTable('modforge profile: until the walk starts', probes, 'process start -> first native call')
    const file = writeResults('startup', { machine: machine(), loadAverage: Number(load), plan, commands: rows, firstCall: probes })
    console.log(`\nresults: ${file}`)
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}
