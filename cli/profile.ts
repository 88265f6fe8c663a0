/** `modforge profile [dir]`: the directory profiler on the command line. */
import { resolve } from 'node:path'

import { profile, type ProfileOptions, type ProfileReport } from '../index'
import { integerFlag, listFlag, parse, sizeFlag } from './args'
import { formatBytes, formatCount, formatDuration, formatPercent, section, table } from './format'
import { ProgressLine } from './progress'
import type { Command } from './command'

const HELP = `Usage: modforge profile [dir] [options]

Profiles a folder tree (default: the current folder): counts, apparent and on-disk sizes (as GNU du),
extensions, largest files, heaviest folders, empty folders, depth and ages, and unreadable entries.

Options:
  --json                  print the report as JSON on stdout
  -t, --threads N         worker threads (default: number of cores)
  -d, --max-depth N       deepest level walked (root = 0); limits the walk, unlike du -d
      --exclude GLOB      prune entries matching GLOB (repeatable; gitignore-like)
      --include GLOB      count only regular files matching GLOB (repeatable)
  -e, --ext a,b           count only regular files with these extensions
      --no-hidden         skip hidden files and folders
  -x, --one-file-system   do not read folders on other file systems
      --min-size SIZE     skip regular files smaller than SIZE (K/M/G = 1024-based, KB/MB/GB = 1000-based)
  -L, --follow            follow symbolic links (loops are detected)
  -l, --count-links       count hard-linked files once per name
      --names-only        fast mode without sizes (no stat per entry)
  -n, --top N             rows in the top tables (default 10)
      --error-limit N     errors listed (default 100; all are counted)
      --strict            fail on the first error
      --no-progress       no progress line
  -h, --help              show this help

Exit codes: 0 complete, 1 complete with errors (or --strict failure), 2 bad usage, 130 interrupted.`

const OPTIONS = {
  json: { type: 'boolean' },
  threads: { type: 'string', short: 't' },
  'max-depth': { type: 'string', short: 'd' },
  exclude: { type: 'string', multiple: true },
  include: { type: 'string', multiple: true },
  ext: { type: 'string', short: 'e', multiple: true },
  'no-hidden': { type: 'boolean' },
  'one-file-system': { type: 'boolean', short: 'x' },
  'min-size': { type: 'string' },
  follow: { type: 'boolean', short: 'L' },
  'count-links': { type: 'boolean', short: 'l' },
  'names-only': { type: 'boolean' },
  top: { type: 'string', short: 'n' },
  'error-limit': { type: 'string' },
  strict: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

/** `modforge profile`. */
export const profileCommand: Command = {
  name: 'profile',
  summary: 'profile a folder tree: counts, sizes, extensions, largest files, errors',
  help: HELP,
  async run(argv, context) {
    const { values, positionals } = parse('profile', argv, OPTIONS)
    if (values.help) {
      context.out(HELP)
      return 0
    }
    const dir = positionals[0] ?? '.'
    const options: ProfileOptions = {
      threads: integerFlag('profile', '--threads', values.threads),
      maxDepth: integerFlag('profile', '--max-depth', values['max-depth']),
      exclude: values.exclude,
      include: values.include,
      extensions: listFlag(values.ext),
      includeHidden: !values['no-hidden'],
      oneFileSystem: values['one-file-system'] ?? false,
      minSize: sizeFlag('profile', '--min-size', values['min-size']),
      followSymlinks: values.follow ?? false,
      countHardLinks: values['count-links'] ?? false,
      stats: !values['names-only'],
      topN: integerFlag('profile', '--top', values.top),
      errorLimit: integerFlag('profile', '--error-limit', values['error-limit']),
      strict: values.strict ?? false,
      signal: context.signal,
    }
    const line = new ProgressLine(!values['no-progress'])
    options.onProgress = (event) =>
      line.update(
        `${formatCount(event.done)} entries, ${formatBytes(event.bytes ?? 0)}  ${event.current}`,
      )
    let report: ProfileReport
    try {
      report = await profile(dir, options)
    } finally {
      line.clear()
    }
    if (values.json) {
      context.out(JSON.stringify(report, null, 2))
    } else {
      context.out(renderReport(report))
      if (resolve(dir) === '/' && !options.oneFileSystem) {
        context.err('hint: pseudo file systems such as /proc change during the walk and inflate sizes; add -x')
      }
    }
    return report.totals.errors > 0 ? 1 : 0
  },
}

/** The readable report: summary, then the tables. */
export function renderReport(report: ProfileReport): string {
  const t = report.totals
  const entries = t.files + t.dirs + t.symlinks + t.other
  const parts: string[] = []
  parts.push(
    section(
      `Profile of ${report.root}`,
      table(
        [
          ['', ''],
          ['files', formatCount(t.files)],
          ['folders', formatCount(t.dirs)],
          ['symlinks', formatCount(t.symlinks)],
          ['other', formatCount(t.other)],
          ['apparent size', formatBytes(t.apparentBytes)],
          ['on disk', formatBytes(t.allocatedBytes)],
          ['hard-link duplicates', formatCount(t.hardLinkDuplicates)],
          ['skipped', formatCount(t.skipped)],
          ['empty folders', formatCount(t.emptyDirs)],
          ['max depth', formatCount(t.maxDepth)],
          ['errors', formatCount(t.errors)],
          ['elapsed', formatDuration(report.timing.elapsedMs)],
          ['entries/s', formatCount(report.timing.entriesPerSecond)],
          ['threads', formatCount(report.timing.threads)],
        ],
        [1],
      ).split('\n').slice(2).join('\n'),
    ),
  )
  if (report.extensions.length > 0) {
    const rows = report.extensions.slice(0, 15).map((row) => [
      row.ext,
      formatCount(row.count),
      formatPercent(row.count, t.files),
      formatBytes(row.apparentBytes),
    ])
    parts.push(section('Extensions', table([['extension', 'files', '%', 'bytes'], ...rows], [1, 2, 3])))
  }
  if (report.largestFiles.length > 0) {
    const rows = report.largestFiles.map((row) => [formatBytes(row.apparentBytes), row.path])
    parts.push(section('Largest files', table([['size', 'path'], ...rows], [0])))
  }
  if (report.topDirsByFileCount.length > 0) {
    const rows = report.topDirsByFileCount.map((row) => [formatCount(row.files), row.path])
    parts.push(section('Folders by file count', table([['files', 'folder'], ...rows], [0])))
  }
  if (report.topDirsBySize.length > 0) {
    const rows = report.topDirsBySize.map((row) => [
      formatBytes(row.allocatedBytes ?? row.apparentBytes),
      formatBytes(row.apparentBytes),
      formatCount(row.files),
      row.path,
    ])
    parts.push(section('Folders by size', table([['on disk', 'apparent', 'files', 'folder'], ...rows], [0, 1, 2])))
  }
  if (report.ages) {
    const rows = report.ages.map((row) => [row.bucket, formatCount(row.count), formatBytes(row.apparentBytes)])
    parts.push(section('File ages', table([['age', 'files', 'bytes'], ...rows], [1, 2])))
  }
  const depthRows = report.depthHistogram.map((count, depth) => [String(depth), formatCount(count)])
  parts.push(section('Entries by depth', table([['depth', 'entries'], ...depthRows], [0, 1])))
  if (t.errors > 0) {
    const rows = report.errors.slice(0, 10).map((row) => [row.code, row.op, row.path])
    const more = t.errors > rows.length ? `\nand ${formatCount(t.errors - rows.length)} more` : ''
    parts.push(section('Errors', table([['code', 'operation', 'path'], ...rows]) + more))
  }
  parts.push(`${formatCount(entries)} entries in ${formatDuration(report.timing.elapsedMs)}`)
  return parts.join('\n')
}
