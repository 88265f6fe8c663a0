/** `modforge erf ls|extract`: the resources of ERF-family archives (ERF, HAK, MOD, SAV, NWM). */
import { resolve } from 'node:path'

import { formatBytes, formatCount, table } from './format'
import { command, flag, group, repeat } from './framework'
import { formatProgress, ProgressLine } from './progress'

const ls = command({
  summary: 'list the resources of an archive',
  description: 'Prints the header facts (type, version, key size, build date, descriptions) and every resource with its offset and size.',
  args: [{ name: 'archive', description: 'the .erf, .hak, .mod, .sav or .nwm file', required: true }],
  options: { json: flag('print the listing as JSON') },
  footer: 'Exit codes: 0 listed, 1 failed (ERR_MODFORGE_FORMAT names the byte offset), 2 bad usage.',
  async run({ args, options }, context) {
    const { listErf } = require('../src/icons') as typeof import('../src/icons')
    const listing = await listErf(resolve(args.archive))
    if (options.json) {
      context.out(JSON.stringify(listing, null, 2))
      return 0
    }
    context.out(
      `${listing.path}: ${listing.fileType} ${listing.version}, ${formatCount(listing.resources.length)} resources ` +
        `(${listing.keyStride}-byte keys), built day ${listing.buildDay} of ${listing.buildYear}`,
    )
    for (const description of listing.descriptions) context.out(`description (language ${description.language}): ${JSON.stringify(description.text)}`)
    const rows = listing.resources.map((r) => [r.file, String(r.type), String(r.offset), formatBytes(r.size)])
    if (rows.length > 0) context.out(table([['resource', 'type', 'offset', 'size'], ...rows], [1, 2, 3]))
    if (listing.rejected > 0) context.out(`${listing.rejected} keys rejected`)
    for (const warning of listing.warnings) context.out(`warning: ${warning}`)
    return 0
  },
})

const extract = command({
  summary: 'write the resources of an archive into a folder',
  description: 'Writes each resource (or those named with --name) as <resref>.<ext> into the folder, atomically.',
  args: [
    { name: 'archive', description: 'the .erf, .hak, .mod, .sav or .nwm file', required: true },
    { name: 'outDir', description: 'the folder to write into (default .)', default: '.' },
  ],
  options: {
    name: repeat('only this resource (resref or resref.ext; repeatable)', { placeholder: 'NAME' }),
    json: flag('print the result as JSON'),
    noProgress: flag('no progress line'),
  },
  footer: 'Exit codes: 0 written, 1 failed, 2 bad usage, 130 interrupted.',
  async run({ args, options }, context) {
    const { extractErf } = require('../src/icons') as typeof import('../src/icons')
    const line = new ProgressLine(!options.noProgress)
    let done
    try {
      done = await extractErf(resolve(args.archive), resolve(args.outDir), {
        names: options.name,
        signal: context.signal,
        onProgress: (event) => line.update(() => formatProgress(event, ' resources')),
      })
    } finally {
      line.clear()
    }
    if (options.json) context.out(JSON.stringify(done, null, 2))
    else {
      context.out(`${formatCount(done.files.length)} files, ${formatBytes(done.bytes)} written to ${resolve(args.outDir)}`)
      for (const name of done.skipped) context.out(`skipped ${JSON.stringify(name)}: not a plain file name`)
      for (const warning of done.warnings) context.out(`warning: ${warning}`)
    }
    return 0
  },
})

/** `modforge erf <command>`. */
export const erfCommands = group({ description: 'ERF-family archives (ERF, HAK, MOD, SAV, NWM; V1.0 and V1.1).', commands: { ls, extract } })
