/** `modforge generate tree|dataset`: the seeded data generators on the command line. */
import { resolve } from 'node:path'

import { formatBytes, formatCount, formatDuration } from './format'
import { command, flag, group, integer, text } from './framework'
import { formatProgress, ProgressLine } from './progress'

const tree = command({
  summary: 'a seeded folder tree (wide, deep, node, game, source or mixed)',
  description:
    'Writes a seeded folder tree; shapes: wide, deep, node (node_modules-like), game (an install with\n' +
    'sparse archives), source (about six files per folder, up to 20 levels deep), mixed. --extras adds hard links, symlink loops, unreadable folders, awkward names,\n' +
    'a FIFO and a socket.',
  args: [{ name: 'dir', description: 'where the tree is written (empty or missing)', required: true }],
  options: {
    shape: text('the shape of the tree (default mixed)', { choices: ['wide', 'deep', 'node', 'game', 'source', 'mixed'] }),
    entries: integer('approximate number of entries', { placeholder: 'N', min: 1 }),
    seed: integer('seed of every random choice (default 1)', { placeholder: 'N' }),
    extras: flag('add the extras/ folder of awkward cases'),
    json: flag('print the summary as JSON'),
    noProgress: flag('no progress line'),
  },
  footer: 'Exit codes: 0 written, 1 failed, 2 bad usage, 130 interrupted.',
  async run({ args, options }, context) {
    const { generateTree } = require('../src/generate') as typeof import('../src/generate')
    const line = new ProgressLine(!options.noProgress)
    const started = performance.now()
    let summary
    try {
      summary = await generateTree(resolve(args.dir), {
        shape: options.shape,
        entries: options.entries,
        seed: options.seed,
        extras: options.extras,
        signal: context.signal,
        onProgress: (event) => line.update(() => formatProgress(event, ' entries')),
      })
    } finally {
      line.clear()
    }
    const elapsed = performance.now() - started
    if (options.json) context.out(JSON.stringify(summary, null, 2))
    else {
      context.out(
        `${formatCount(summary.files)} files, ${formatCount(summary.dirs)} folders, ${formatCount(summary.symlinks)} symlinks, ` +
          `${formatCount(summary.other)} other, ${formatBytes(summary.fileBytes)} in ${formatDuration(elapsed)}`,
      )
    }
    return 0
  },
})

const dataset = command({
  summary: 'a seeded CSV data set (19 tables with the shape of the dalle databases)',
  description: '19 CSV tables with the shape of the dalle databases (~12.5k rows, ~595 KB); --scale large writes ~1M rows.',
  args: [{ name: 'dir', description: 'where the CSV files are written', required: true }],
  options: {
    scale: text('dalle (default) or large', { choices: ['dalle', 'large'] }),
    seed: integer('seed of every random choice (default 1)', { placeholder: 'N' }),
    json: flag('print the summary as JSON'),
    noProgress: flag('no progress line'),
  },
  footer: 'Exit codes: 0 written, 1 failed, 2 bad usage, 130 interrupted.',
  async run({ args, options }, context) {
    const { generateDataset } = require('../src/generate') as typeof import('../src/generate')
    const line = new ProgressLine(!options.noProgress)
    const started = performance.now()
    let set
    try {
      set = await generateDataset(resolve(args.dir), {
        seed: options.seed,
        scale: options.scale,
        signal: context.signal,
        onProgress: (event) => line.update(() => formatProgress(event, ' rows')),
      })
    } finally {
      line.clear()
    }
    const elapsed = performance.now() - started
    if (options.json) context.out(JSON.stringify(set, null, 2))
    else {
      context.out(
        `${set.tables.length} tables, ${formatCount(set.rows)} rows, ${formatBytes(set.bytes)} of CSV ` +
          `(version ${set.version}) in ${formatDuration(elapsed)}`,
      )
    }
    return 0
  },
})

/** `modforge generate <command>`. */
export const generateCommands = group({
  description: 'Writes seeded, reproducible data: the data of the tests, the demo and the benchmarks.',
  commands: { tree, dataset },
})
