/**
 * The benchmark harness: repeated timing with warm-up, medians, a table with ratios to modforge,
 * machine description, and the JSON results file of each area.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'

/** Timing summary of one row, in milliseconds. */
export interface Measurement {
  /** Row label (tool and mode). */
  name: string
  /** Median of the timed runs. */
  median: number
  /** Fastest run. */
  min: number
  /** Slowest run. */
  max: number
  /** Number of timed runs. */
  runs: number
  /** Free-form facts about the row (counts, bytes, threads). */
  note?: string
}

/** How often a row runs. */
export interface RunPlan {
  /** Untimed runs first (warm caches, JIT). */
  warmup: number
  /** Timed runs; the median is reported. */
  runs: number
}

/** Times `fn` `plan.runs` times after `plan.warmup` untimed runs. */
export async function measure(name: string, plan: RunPlan, fn: () => unknown, note?: string): Promise<Measurement> {
  for (let i = 0; i < plan.warmup; i += 1) await fn()
  const times: number[] = []
  for (let i = 0; i < plan.runs; i += 1) {
    const start = process.hrtime.bigint()
    await fn()
    times.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  return summarize(name, times, note)
}

/** Median, min and max of `times`. */
export function summarize(name: string, times: number[], note?: string): Measurement {
  const sorted = [...times].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
  return { name, median, min: sorted[0], max: sorted[sorted.length - 1], runs: sorted.length, note }
}

/**
 * Times an external command (`argv[0]` with its arguments). Tools such as `du` exit 1 after
 * reporting unreadable entries and still did the whole walk, so a non-zero exit is recorded in
 * the note rather than thrown; a command that cannot start throws.
 */
export async function measureCommand(name: string, plan: RunPlan, argv: string[], note?: string): Promise<Measurement> {
  const [command, ...args] = argv
  const probe = spawnSync(command, args, { stdio: 'ignore' })
  if (probe.error) throw probe.error
  const exit = probe.status === 0 ? undefined : `exit ${probe.status}`
  const measured = await measure(name, plan, () => runCommand(argv, true))
  return { ...measured, note: [note, exit].filter(Boolean).join('; ') || undefined }
}

/** Runs a command and returns its stdout; throws with stderr when it exits non-zero. */
export function runCommand(argv: string[], allowFailure = false): string {
  const [command, ...args] = argv
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 28, shell: false })
  if (result.error) throw result.error
  if (result.status !== 0 && !allowFailure) {
    throw new Error(`${argv.join(' ')} exited ${result.status}: ${result.stderr}`)
  }
  return result.stdout
}

/** The path of `command` on PATH or in `~/.cargo/bin`, or undefined. */
export function findTool(command: string): string | undefined {
  const home = process.env.HOME ?? ''
  for (const dir of [...(process.env.PATH ?? '').split(':'), join(home, '.cargo/bin')]) {
    const candidate = join(dir, command)
    if (spawnSync('test', ['-x', candidate]).status === 0) return candidate
  }
  return undefined
}

/** One line describing the machine: CPU, cores, memory, Node version. */
export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  return `${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}-${process.arch}`
}

/** The file system type of `dir` (`ext4`, `tmpfs`, ...), as `stat -f` reports it. */
export function fileSystem(dir: string): string {
  return runCommand(['stat', '-f', '-c', '%T', dir], true).trim() || 'unknown'
}

/**
 * Prints rows as a table with the ratio of each row's median to the `baseline` row
 * (`> 1` means the row is slower than the baseline).
 */
export function printTable(title: string, rows: Measurement[], baseline: string): void {
  const base = rows.find((row) => row.name === baseline)?.median
  const header = ['tool', 'median ms', 'min ms', 'max ms', `x ${baseline}`, 'note']
  const lines = rows.map((row) => [
    row.name,
    row.median.toFixed(2),
    row.min.toFixed(2),
    row.max.toFixed(2),
    base ? (row.median / base).toFixed(2) : '-',
    row.note ?? '',
  ])
  const widths = header.map((_, i) => Math.max(header[i].length, ...lines.map((line) => line[i].length)))
  const format = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 || i === 5 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')
  console.log(`\n${title}`)
  console.log(format(header))
  console.log(widths.map((width) => '-'.repeat(width)).join('  '))
  for (const line of lines) console.log(format(line))
}

/** A pass/fail line for a target. */
export function target(description: string, actual: number, required: number, higherIsBetter = true): TargetResult {
  const pass = higherIsBetter ? actual >= required : actual <= required
  console.log(`${pass ? 'PASS' : 'FAIL'}  ${description}: ${actual.toFixed(2)} (target ${higherIsBetter ? '>=' : '<='} ${required})`)
  return { description, actual, required, pass }
}

/** The outcome of one performance target. */
export interface TargetResult {
  /** What was compared. */
  description: string
  /** The measured ratio or time. */
  actual: number
  /** The bar. */
  required: number
  /** Whether the bar was met. */
  pass: boolean
}

/** Writes `benchmark/results/<area>.json`. */
export function writeResults(area: string, results: unknown): string {
  const dir = join(__dirname, 'results')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${area}.json`)
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`)
  return file
}
