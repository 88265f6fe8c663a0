/** `modforge store inspect|verify|build|clean`: snapshot files on the command line. */
import { readdirSync, statSync, type Dirent } from 'node:fs'
import { basename, extname, join, resolve } from 'node:path'

import type { TableReport } from '../src/dataset'
import type { SnapshotInspection } from '../src/store'
import { formatBytes, formatCount, formatDuration, formatPercent, table } from './format'
import { command, CommandError, flag, group, text, UsageError, type CommandContext } from './framework'
import { formatProgress, ProgressLine } from './progress'

/** Whether the header fields of an inspection were read from a snapshot (magic and container version passed). */
function headerTrusted(found: SnapshotInspection): boolean {
  const passed = (name: string) => found.checks.some((check) => check.name === name && check.ok)
  return found.header !== null && passed('magic') && passed('container version')
}

/**
 * An inspection as `--json` prints it: `header: null` when the file is not a snapshot (its
 * "fields" would be arbitrary bytes).
 */
export function inspectionJson(found: SnapshotInspection): Record<string, unknown> {
  const { header, ...rest } = found
  return { ...rest, header: headerTrusted(found) ? header : null }
}

/** One table of a dataset as the dataset payload's inspection describes it. */
interface InspectedTable {
  name: string
  rows: number
  columns: string[]
  key: string | null
  bytes: number
}

function reasonText(reason: SnapshotInspection['checks'][number]['reason']): string {
  if (!reason) return 'failed'
  return `${reason.code}: ${reason.detail}${reason.offset != null ? ` (offset ${reason.offset})` : ''}`
}

/** The readable form of one inspection: the verdict (with the first failure) first, header fields only from a snapshot. */
export function renderInspection(found: SnapshotInspection): string {
  const failed = found.checks.find((check) => !check.ok)
  const verdict = failed ? `FAILED at check '${failed.name}': ${reasonText(failed.reason)}` : 'OK'
  const lines = [`${found.path}: ${verdict} (${formatBytes(found.fileSize)})`]
  const h = found.header
  if (h && headerTrusted(found)) {
    lines.push(
      table([
        ['field', 'value'],
        ['container version', String(h.containerVersion)],
        ['kind', h.kind],
        ['data version', h.version],
        ['fingerprint', `${h.fingerprint} (algorithm ${h.fingerprintAlgorithm})`],
        ['payload', `${formatCount(h.payloadLength)} bytes, checksum ${h.payloadChecksum}`],
        ['header checksum', h.headerChecksum],
        ['created', new Date(h.createdMs).toISOString()],
      ]),
    )
  }
  lines.push(table([['check', 'result'], ...found.checks.map((check) => [check.name, check.ok ? 'ok' : reasonText(check.reason)])]))
  const tables = (found.details?.tables ?? []) as InspectedTable[]
  if (tables.length > 0) {
    lines.push(
      table(
        [
          ['table', 'rows', 'columns', 'key', 'bytes'],
          ...tables.map((t) => [t.name, formatCount(t.rows), String(t.columns.length), t.key ?? '-', formatBytes(t.bytes)]),
        ],
        [1, 2, 4],
      ),
    )
  }
  const cells = found.details?.cells
  if (typeof cells === 'number') lines.push(`cells walked: ${formatCount(cells)}`)
  return lines.join('\n\n')
}

const inspect = command({
  summary: 'header fields, the result of every check, tables and sizes, and the build report',
  description: 'Reads a snapshot file and runs every check that needs no expected source.',
  args: [{ name: 'file', description: 'the .mfs file', required: true }],
  options: { json: flag('print JSON') },
  footer: 'Exit codes: 0 every check passed, 1 a check failed, 2 bad usage, 130 interrupted.',
  async run({ args, options }, context) {
    const { inspectSnapshot } = require('../src/store') as typeof import('../src/store')
    const found = await inspectSnapshot(resolve(args.file), { signal: context.signal })
    context.out(options.json ? JSON.stringify(inspectionJson(found), null, 2) : renderInspection(found))
    return found.ok ? 0 : 1
  },
})

const verify = command({
  summary: 'inspect plus a full walk over every cell (every .mfs file of a folder)',
  description: 'Inspects a snapshot file, or every .mfs file of a folder, and walks every cell of each dataset.',
  args: [{ name: 'path', description: 'an .mfs file or a folder of them', required: true }],
  options: { json: flag('print JSON (an array, one object per file)') },
  footer: 'Exit codes: 0 every file passed, 1 a check failed, 2 bad usage, 130 interrupted.',
  async run({ args, options }, context) {
    const { verifySnapshots } = require('../src/store') as typeof import('../src/store')
    const found = await verifySnapshots(resolve(args.path), { signal: context.signal })
    if (options.json) {
      context.out(JSON.stringify(found.map(inspectionJson), null, 2))
    } else {
      found.forEach((inspection, index) => context.out(`${index > 0 ? '\n' : ''}${renderInspection(inspection)}`))
      context.out(`\n${found.filter((f) => f.ok).length} of ${found.length} snapshot files OK`)
    }
    return found.every((f) => f.ok) ? 0 : 1
  },
})

const clean = command({
  summary: 'remove leftover temp (.tmp) and deferred (.del) files',
  description: 'Removes leftover temp (.tmp) and deferred (.del) files of every snapshot in a folder; run it when no writer is active.',
  args: [{ name: 'dir', description: 'the snapshot folder', required: true }],
  options: { json: flag('print JSON') },
  async run({ args, options }, context) {
    const { cleanStoreSync } = require('../src/store') as typeof import('../src/store')
    const removed = cleanStoreSync(resolve(args.dir))
    context.out(options.json ? JSON.stringify(removed) : `removed ${removed.removed} files, ${removed.deferred} deferred`)
    return 0
  },
})

/** A file of the CSV folder that is not built, and why. */
interface Skipped {
  file: string
  reason: string
}

/**
 * The CSV files of `dir`, one table per file named after it. Files a copy from macOS leaves
 * (`._name.csv`, AppleDouble metadata), other hidden files and anything that is not a regular file
 * are skipped with a reason instead of failing the build.
 */
export function csvTables(dir: string): { tables: Record<string, string>; skipped: Skipped[] } {
  let stat
  try {
    stat = statSync(dir)
  } catch (error) {
    throw new CommandError(`no folder ${dir} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, error)
  }
  if (!stat.isDirectory()) throw new CommandError(`${dir} is a file, not a folder of CSV files`)
  const tables: Record<string, string> = {}
  const skipped: Skipped[] = []
  const entries: Dirent[] = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const entry of entries) {
    if (extname(entry.name).toLowerCase() !== '.csv') continue
    const path = join(dir, entry.name)
    if (entry.name.startsWith('._')) skipped.push({ file: entry.name, reason: 'AppleDouble metadata written by macOS, not CSV' })
    else if (entry.name.startsWith('.')) skipped.push({ file: entry.name, reason: 'hidden file' })
    else if (!isFile(entry, path)) skipped.push({ file: entry.name, reason: 'not a regular file' })
    else tables[basename(entry.name, extname(entry.name))] = path
  }
  return { tables, skipped }
}

function isFile(entry: Dirent, path: string): boolean {
  if (entry.isFile()) return true
  if (!entry.isSymbolicLink()) return false
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}

/** Tables where most rows repeat an earlier key: the key column is probably the wrong one. */
export function duplicateWarnings(reports: Record<string, TableReport>): string[] {
  return Object.entries(reports)
    .filter(([, report]) => report.rows > 0 && report.duplicateRows * 2 > report.rows)
    .map(
      ([name, report]) =>
        `table '${name}': ${formatCount(report.duplicateRows)} of ${formatCount(report.rows)} rows (${formatPercent(report.duplicateRows, report.rows)}) ` +
        `repeat a key of column '${report.key}' and are not indexed; choose the key column with --key <column>, ` +
        `or, if '${report.key}' holds the data version, take the version from it with --version-column ${report.key}`,
    )
}

/** The readable build report: one row per table, then the duplicated keys and ragged rows. */
export function renderBuildReport(reports: Record<string, TableReport>): string {
  const rows = Object.entries(reports).map(([name, r]) => [
    name,
    formatCount(r.rows),
    r.key ?? '-',
    formatCount(r.duplicateRows),
    formatCount(r.emptyKeys),
    formatCount(r.longRows),
    formatCount(r.shortRows),
  ])
  const details: string[] = []
  const rowList = (numbers: number[], all: number) => `${numbers.join(', ')}${all > numbers.length ? `, ... (${formatCount(all)} in all)` : ''}`
  for (const [name, r] of Object.entries(reports)) {
    if (r.duplicates.length > 0) {
      const shown = r.duplicates.slice(0, 3).map((d) => `'${d.key}' (rows ${d.rows.join(', ')})`)
      details.push(`${name}: duplicate keys ${shown.join('; ')}${r.duplicates.length > 3 ? '; ...' : ''}; the first row of each is indexed`)
    }
    if (r.longRows > 0) details.push(`${name}: rows with extra fields (joined into the last column): ${rowList(r.longRowNumbers, r.longRows)}`)
    if (r.shortRows > 0) details.push(`${name}: rows with missing fields (padded): ${rowList(r.shortRowNumbers, r.shortRows)}`)
    if (r.emptyKeys > 0) details.push(`${name}: rows with an empty key (kept, not indexed): ${rowList(r.emptyKeyRows, r.emptyKeys)}`)
  }
  const summary = table([['table', 'rows', 'key', 'duplicate rows', 'empty keys', 'long rows', 'short rows'], ...rows], [1, 3, 4, 5, 6])
  return details.length > 0 ? `${summary}\n\n${details.join('\n')}` : summary
}

const build = command({
  summary: 'build a dataset snapshot from a folder of CSV files',
  description:
    'Builds a dataset snapshot from every .csv file of <csv-dir> (one table per file, named after it);\n' +
    'hidden files and macOS metadata files (._name.csv) are skipped with a warning. Prints the build\n' +
    'report: rows, duplicated keys and ragged rows per table.',
  args: [{ name: 'csv-dir', description: 'the folder of CSV files', required: true }],
  options: {
    out: text('where the snapshot is written (required)', { placeholder: 'DIR' }),
    version: text('the data version', { placeholder: 'V' }),
    versionColumn: text('take the version from column C of every table (removed from the tables)', { placeholder: 'C' }),
    name: text("dataset name (default: the folder's name)", { placeholder: 'N' }),
    key: text("key column of every table (default: each table's first column)", { placeholder: 'COL' }),
    json: flag('print the summary and build report as JSON'),
    noProgress: flag('no progress line'),
  },
  footer: 'Exit codes: 0 built (or up to date), 1 failed or not written, 2 bad usage, 130 interrupted.',
  async run({ args, options }, context) {
    const path = ['store', 'build']
    if (!options.out) throw new UsageError('missing --out <dir>', path)
    if (!options.version && !options.versionColumn) throw new UsageError('missing --version <v> or --version-column <col>', path)
    return buildDataset(resolve(args['csv-dir']), { ...options, out: options.out }, context)
  },
})

async function buildDataset(
  csvDir: string,
  options: { out: string; version?: string; versionColumn?: string; name?: string; key?: string; json: boolean; noProgress: boolean },
  context: CommandContext,
): Promise<number> {
  const { tables, skipped } = csvTables(csvDir)
  for (const { file, reason } of skipped) context.err(`warning: skipped ${file}: ${reason}`)
  if (Object.keys(tables).length === 0) throw new CommandError(`no .csv files in ${csvDir}`)
  const { openDataset } = require('../src/dataset') as typeof import('../src/dataset')
  const line = new ProgressLine(!options.noProgress)
  const started = performance.now()
  let opened
  try {
    opened = await openDataset({
      dir: resolve(options.out),
      name: options.name ?? basename(csvDir),
      version: options.version,
      versionColumn: options.versionColumn,
      key: options.key,
      tables,
      signal: context.signal,
      onProgress: (event) => line.update(() => formatProgress(event)),
    })
  } finally {
    line.clear()
  }
  const elapsedMs = performance.now() - started
  const dataset = opened.value
  const report = dataset.report
  const warnings = duplicateWarnings(report)
  const summary = {
    path: opened.path,
    loaded: opened.loaded,
    persisted: opened.persisted,
    version: dataset.version,
    elapsedMs,
    skipped,
    warnings,
    tables: dataset.tables.map((name) => ({ name, rows: dataset.table(name)?.length ?? 0, report: report[name] })),
  }
  dataset.close()
  if (options.json) {
    context.out(JSON.stringify(summary, null, 2))
  } else {
    const rows = summary.tables.reduce((sum, t) => sum + t.rows, 0)
    const how = opened.loaded ? 'up to date' : 'built'
    context.out(`${summary.path}: ${how}, version ${summary.version}, ${summary.tables.length} tables, ${formatCount(rows)} rows in ${formatDuration(elapsedMs)}`)
    context.out(`\n${renderBuildReport(report)}`)
  }
  for (const warning of warnings) context.err(`WARNING: ${warning}`)
  if (opened.persistError) context.err(`not written: ${opened.persistError.message}`)
  return opened.persisted ? 0 : 1
}

/** `modforge store <command>`. */
export const storeCommands = group({
  description: 'Snapshot files: integrity-checked, versioned caches (.mfs).',
  commands: { inspect, verify, build, clean },
})
