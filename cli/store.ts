/** `modforge store inspect|verify|build|clean`: snapshot files on the command line. */
import { readdirSync } from 'node:fs'
import { basename, extname, join, resolve } from 'node:path'

import { cleanStoreSync, inspectSnapshot, openDataset, verifySnapshots, type SnapshotInspection } from '../index'
import { parse, UsageError } from './args'
import type { Command } from './command'
import { formatBytes, formatCount, formatDuration, table } from './format'
import { ProgressLine } from './progress'

const HELP = `Usage: modforge store inspect <file> [--json]
       modforge store verify <file|dir> [--json]
       modforge store build <csv-dir> --out <dir> (--version <v> | --version-column <col>) [--name N] [--key COL]
       modforge store clean <dir>

inspect  header fields, the result of every check, tables and sizes, and the build report
verify   inspect plus a full walk over every cell (every .mfs file of a folder)
build    builds a dataset snapshot from every .csv file of <csv-dir> (one table per file, named
         after it); the name defaults to the folder's name
clean    removes leftover temp (.tmp) and deferred (.del) files; run it when no writer is active

Options:
      --json              print JSON
      --out DIR           where build writes the snapshot
      --version V         the data version
      --version-column C  take the version from column C of every table (removed from the tables)
      --name N            dataset name (build)
      --key COL           key column of every table (default: each table's first column)
      --no-progress       no progress line
  -h, --help              show this help

Exit codes: 0 ok, 1 a check failed, 2 bad usage.`

const OPTIONS = {
  json: { type: 'boolean' },
  out: { type: 'string' },
  version: { type: 'string' },
  'version-column': { type: 'string' },
  name: { type: 'string' },
  key: { type: 'string' },
  'no-progress': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

/** The readable form of one inspection. */
function renderInspection(found: SnapshotInspection): string {
  const lines = [`${found.path}: ${found.ok ? 'OK' : 'FAILED'} (${formatBytes(found.fileSize)})`]
  const h = found.header
  if (h) {
    lines.push(
      table(
        [
          ['field', 'value'],
          ['container version', String(h.containerVersion)],
          ['kind', h.kind],
          ['data version', h.version],
          ['fingerprint', `${h.fingerprint} (algorithm ${h.fingerprintAlgorithm})`],
          ['payload', `${formatCount(h.payloadLength)} bytes, checksum ${h.payloadChecksum}`],
          ['header checksum', h.headerChecksum],
          ['created', new Date(h.createdMs).toISOString()],
        ],
      ),
    )
  }
  lines.push(
    table([
      ['check', 'result'],
      ...found.checks.map((check) => [
        check.name,
        check.ok ? 'ok' : `${check.reason?.code}: ${check.reason?.detail}${check.reason?.offset != null ? ` (offset ${check.reason.offset})` : ''}`,
      ]),
    ]),
  )
  const tables = (found.details?.tables ?? []) as { name: string; rows: number; columns: string[]; key: string | null; bytes: number }[]
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

/** `modforge store`. */
export const storeCommand: Command = {
  name: 'store',
  summary: 'inspect, verify, build and clean snapshot files',
  help: HELP,
  async run(argv, context) {
    const { values, positionals } = parse('store', argv, OPTIONS)
    if (values.help) {
      context.out(HELP)
      return 0
    }
    const [action, target] = positionals
    if (!target) throw new UsageError('expected an action and a path', 'store')
    switch (action) {
      case 'inspect': {
        const found = await inspectSnapshot(resolve(target))
        context.out(values.json ? JSON.stringify(found, null, 2) : renderInspection(found))
        return found.ok ? 0 : 1
      }
      case 'verify': {
        const found = await verifySnapshots(resolve(target))
        context.out(values.json ? JSON.stringify(found, null, 2) : found.map(renderInspection).join('\n\n'))
        if (!values.json) context.out(`\n${found.filter((f) => f.ok).length} of ${found.length} snapshot files OK`)
        return found.every((f) => f.ok) ? 0 : 1
      }
      case 'clean': {
        const removed = cleanStoreSync(resolve(target))
        context.out(values.json ? JSON.stringify(removed) : `removed ${removed.removed} files, ${removed.deferred} deferred`)
        return 0
      }
      case 'build':
        return build(resolve(target), values, context)
      default:
        throw new UsageError(`unknown store action '${action}'`, 'store')
    }
  },
}

async function build(
  csvDir: string,
  values: { out?: string; version?: string; 'version-column'?: string; name?: string; key?: string; json?: boolean; 'no-progress'?: boolean },
  context: Parameters<Command['run']>[1],
): Promise<number> {
  if (!values.out) throw new UsageError('build needs --out <dir>', 'store')
  if (!values.version && !values['version-column']) {
    throw new UsageError('build needs --version <v> or --version-column <col>', 'store')
  }
  const files = readdirSync(csvDir).filter((file) => extname(file).toLowerCase() === '.csv').sort()
  if (files.length === 0) throw new UsageError(`no .csv files in ${csvDir}`, 'store')
  const tables = Object.fromEntries(files.map((file) => [basename(file, extname(file)), join(csvDir, file)]))
  const line = new ProgressLine(!values['no-progress'])
  const started = performance.now()
  let opened
  try {
    opened = await openDataset({
      dir: resolve(values.out),
      name: values.name ?? basename(csvDir),
      version: values.version,
      versionColumn: values['version-column'],
      key: values.key,
      tables,
      signal: context.signal,
      onProgress: (event) => line.update(`${event.stage} ${event.current} ${formatCount(event.done)}/${formatCount(event.total ?? 0)}`),
    })
  } finally {
    line.clear()
  }
  const elapsed = performance.now() - started
  const dataset = opened.value
  const summary = {
    path: opened.path,
    loaded: opened.loaded,
    persisted: opened.persisted,
    version: dataset.version,
    tables: dataset.tables.map((name) => ({ name, rows: dataset.table(name)!.length })),
    elapsedMs: elapsed,
  }
  if (values.json) context.out(JSON.stringify(summary, null, 2))
  else {
    const how = opened.loaded ? 'up to date' : 'built'
    context.out(`${summary.path}: ${how}, version ${summary.version}, ${summary.tables.length} tables, ${formatCount(summary.tables.reduce((n, t) => n + t.rows, 0))} rows in ${formatDuration(elapsed)}`)
    if (opened.persistError) context.err(`not written: ${opened.persistError.message}`)
  }
  dataset.close()
  return opened.persisted ? 0 : 1
}
