/** `modforge generate tree|dataset`: the seeded data generators on the command line. */
import { resolve } from 'node:path'

import { generateDataset, generateTree } from '../index'
import { integerFlag, parse, UsageError } from './args'
import type { Command } from './command'
import { formatBytes, formatCount, formatDuration } from './format'

const HELP = `Usage: modforge generate tree <dir> [--shape S] [--entries N] [--seed N] [--extras]
       modforge generate dataset <dir> [--scale dalle|large] [--seed N]

Writes seeded, reproducible data (the data of the tests, the demo and the benchmarks).

tree     a folder tree; shapes: wide, deep, node (node_modules-like), game (an install with sparse
         archives), mixed (default); --extras adds hard links, symlink loops, unreadable folders,
         awkward names, a FIFO and a socket. <dir> must be empty or missing.
dataset  19 CSV tables with the shape of the dalle databases (~12.5k rows, ~595 KB); --scale large
         writes ~1M rows.

Options:
      --json        print the summary as JSON
  -h, --help        show this help`

const OPTIONS = {
  shape: { type: 'string' },
  entries: { type: 'string' },
  seed: { type: 'string' },
  extras: { type: 'boolean' },
  scale: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

/** `modforge generate`. */
export const generateCommand: Command = {
  name: 'generate',
  summary: 'write seeded test data: a folder tree or a CSV data set',
  help: HELP,
  async run(argv, context) {
    const { values, positionals } = parse('generate', argv, OPTIONS)
    if (values.help) {
      context.out(HELP)
      return 0
    }
    const [what, dir] = positionals
    if (!dir || (what !== 'tree' && what !== 'dataset')) {
      throw new UsageError('expected `generate tree <dir>` or `generate dataset <dir>`', 'generate')
    }
    const seed = integerFlag('generate', '--seed', values.seed)
    const started = performance.now()
    if (what === 'tree') {
      const summary = await generateTree(resolve(dir), {
        shape: values.shape as 'mixed' | undefined,
        entries: integerFlag('generate', '--entries', values.entries),
        seed,
        extras: values.extras ?? false,
      })
      const elapsed = performance.now() - started
      if (values.json) context.out(JSON.stringify(summary, null, 2))
      else {
        context.out(
          `${formatCount(summary.files)} files, ${formatCount(summary.dirs)} folders, ${formatCount(summary.symlinks)} symlinks, ` +
            `${formatCount(summary.other)} other, ${formatBytes(summary.fileBytes)} in ${formatDuration(elapsed)}`,
        )
      }
    } else {
      const set = await generateDataset(resolve(dir), { seed, scale: values.scale as 'dalle' | undefined })
      const elapsed = performance.now() - started
      if (values.json) context.out(JSON.stringify(set, null, 2))
      else {
        context.out(
          `${set.tables.length} tables, ${formatCount(set.rows)} rows, ${formatBytes(set.bytes)} of CSV ` +
            `(version ${set.version}) in ${formatDuration(elapsed)}`,
        )
      }
    }
    return 0
  },
}
