/**
 * `modforge profile [dir]`: the directory profiler on the command line. One folder per run: a
 * second folder is refused (profile each folder in its own run, or their common parent).
 */
import { resolve } from 'node:path'

import type { ProfileReport } from '../src/profile'
import { formatBytes, formatCount, formatDuration, formatPercent, section, table } from './format'
import { command, flag, integer, list, repeat, size } from './framework'
import { formatProgress, ProgressLine } from './progress'

/** `modforge profile`. */
export const profileCommand = command({
  summary: 'profile a folder tree: counts, sizes, extensions, largest files, errors',
  description:
    'Profiles a folder tree: counts, apparent and on-disk sizes (as GNU du), extensions, largest files,\n' +
    'heaviest folders, empty folders, depth and ages, and unreadable entries. One folder per run.',
  args: [{ name: 'dir', description: 'the folder to profile', default: '.' }],
  options: {
    json: flag('print the report as JSON on stdout'),
    threads: integer('worker threads (default: number of cores)', { short: 't', placeholder: 'N', max: 512 }),
    maxDepth: integer('deepest level walked (root = 0); limits the walk, unlike du -d', { short: 'd', placeholder: 'N' }),
    exclude: repeat('prune entries matching GLOB (repeatable; gitignore-like)', { placeholder: 'GLOB' }),
    include: repeat('count only regular files matching GLOB (repeatable)', { placeholder: 'GLOB' }),
    ext: list('count only regular files with these extensions', { short: 'e', placeholder: 'a,b' }),
    noHidden: flag('skip hidden files and folders'),
    oneFileSystem: flag('do not read folders on other file systems', { short: 'x' }),
    minSize: size('skip regular files smaller than SIZE (K/M/G = 1024-based, KB/MB/GB = 1000-based)', { placeholder: 'SIZE' }),
    follow: flag('follow symbolic links (loops are detected)', { short: 'L' }),
    countLinks: flag('count hard-linked files once per name', { short: 'l' }),
    namesOnly: flag('fast mode without sizes (no stat per entry)'),
    top: integer('rows in the top tables (default 10)', { short: 'n', placeholder: 'N' }),
    errorLimit: integer('errors listed (default 100; all are counted)', { placeholder: 'N' }),
    strict: flag('fail on the first error'),
    noProgress: flag('no progress line'),
  },
  footer: 'Exit codes: 0 complete, 1 complete with errors (or --strict failure), 2 bad usage, 130 interrupted.',
  async run({ args, options }, context) {
    const { profile } = require('../src/profile') as typeof import('../src/profile')
    const line = new ProgressLine(!options.noProgress)
    let report: ProfileReport
    try {
      report = await profile(args.dir, {
        threads: options.threads,
        maxDepth: options.maxDepth,
        exclude: options.exclude,
        include: options.include,
        extensions: options.ext,
        includeHidden: !options.noHidden,
        oneFileSystem: options.oneFileSystem,
        minSize: options.minSize,
        followSymlinks: options.follow,
        countHardLinks: options.countLinks,
        stats: !options.namesOnly,
        topN: options.top,
        errorLimit: options.errorLimit,
        strict: options.strict,
        signal: context.signal,
        onProgress: (event) => line.update(() => formatProgress(event, ' entries')),
      })
    } finally {
      line.clear()
    }
    if (options.json) {
      context.out(JSON.stringify(report, null, 2))
    } else {
      context.out(renderReport(report))
      if (resolve(args.dir) === '/' && !options.oneFileSystem) {
        context.err('hint: pseudo file systems such as /proc change during the walk and inflate sizes; add -x')
      }
    }
    return report.totals.errors > 0 ? 1 : 0
  },
})

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
