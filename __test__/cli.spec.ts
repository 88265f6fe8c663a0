import { spawn, spawnSync } from 'node:child_process'
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { openDatasetSync, profileSync, putBlobSync } from 'modforge'

import { command, flag, group, helpText, integer, parseCommand, parseSize, UsageError } from '../cli/framework'
import { formatBytes, formatCount } from '../cli/format'
import { formatProgress, ProgressLine } from '../cli/progress'
import { ROOT, du, onLinux, onPosix, removeTree, scratchDir, tempDir } from './helpers'

const MAIN = join(ROOT, 'dist/cli/main.js')

/** Runs `modforge <args>` and returns exit code and output. */
function modforge(...args: string[]) {
  const result = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** Every line of `text` that looks like a stack frame. */
function stackFrames(text: string): string[] {
  return text.split('\n').filter((line) => /^\s+at /.test(line))
}

let work: string
beforeAll(() => {
  work = tempDir('cli')
})
afterAll(() => removeTree(work))

describe('the modforge command', () => {
  it('prints help for the command and every subcommand', () => {
    const top = modforge('--help')
    expect(top.code).toBe(0)
    for (const name of ['profile', 'store', 'generate', 'overlay', 'wad', 'rom', 'hal', 'icons', 'erf', 'demo']) {
      expect(top.stdout).toContain(name)
      const sub = modforge(name, '--help')
      expect(sub.code).toBe(0)
      expect(sub.stdout).toContain(`Usage: modforge ${name}`)
    }
  })

  it('exits 2 on bad usage with one clear line', () => {
    const unknown = modforge('frobnicate')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("unknown command 'frobnicate'")
    const badFlag = modforge('profile', '--threads', 'many')
    expect(badFlag.code).toBe(2)
    expect(badFlag.stderr).toContain("--threads expects an integer from 0 to 512, got 'many'")
    const badGlob = modforge('profile', ROOT, '--exclude', '[')
    expect(badGlob.code).toBe(2)
    expect(badGlob.stderr).toMatch(/ERR_MODFORGE_INVALID_ARG/)
  })

  it('profiles a folder as JSON equal to the API and du, exit 0', () => {
    const dir = join(work, 'tree')
    mkdirSync(join(dir, 'sub'), { recursive: true })
    writeFileSync(join(dir, 'a.txt'), 'x'.repeat(5000))
    writeFileSync(join(dir, 'sub/b.bin'), 'y'.repeat(100))
    const result = modforge('profile', dir, '--json', '--threads', '2')
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
    const report = JSON.parse(result.stdout)
    const api = profileSync(dir)
    expect(report.totals).toEqual(api.totals)
    if (onLinux) expect(report.totals.apparentBytes).toBe(du('-sb', dir))
    expect(report.totals.files).toBe(2)
    const readable = modforge('profile', dir, '--min-size', '1K')
    expect(readable.code).toBe(0)
    expect(readable.stdout).toContain('files')
    expect(readable.stdout).toMatch(/a\.txt/)
    expect(readable.stdout).not.toMatch(/b\.bin/)
  })

  it('exits 1 with the error code when the root is missing', () => {
    const result = modforge('profile', join(work, 'nope'))
    expect(result.code).toBe(1)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toContain('ERR_MODFORGE_IO')
    expect(result.stderr).toContain('ENOENT')
  })

  it('builds, inspects, verifies and cleans a dataset snapshot', () => {
    const csv = join(work, 'csv')
    mkdirSync(csv)
    writeFileSync(join(csv, 'colors.csv'), 'version,name,hex\nv2,red,#f00\nv2,green,#0f0\n')
    writeFileSync(join(csv, 'sizes.csv'), 'version,size\nv2,small\nv2,"large, very"\n')
    const out = join(work, 'snapshots')
    const built = modforge('store', 'build', csv, '--out', out, '--version-column', 'version', '--json')
    expect(built.code).toBe(0)
    const summary = JSON.parse(built.stdout)
    expect(summary).toMatchObject({ loaded: false, persisted: true, version: 'v2', tables: [{ name: 'colors', rows: 2 }, { name: 'sizes', rows: 2 }] })
    expect(JSON.parse(modforge('store', 'build', csv, '--out', out, '--version-column', 'version', '--json').stdout).loaded).toBe(true)

    const inspected = modforge('store', 'inspect', summary.path, '--json')
    expect(inspected.code).toBe(0)
    const found = JSON.parse(inspected.stdout)
    expect(found).toMatchObject({ ok: true, header: { kind: 'modforge.dataset@1', version: 'v2', containerVersion: 1 } })
    expect(found.details.tables.map((t: { name: string }) => t.name)).toEqual(['colors', 'sizes'])
    expect(modforge('store', 'inspect', summary.path).stdout).toContain('modforge.dataset@1')

    const verified = modforge('store', 'verify', out)
    expect(verified.code).toBe(0)
    expect(verified.stdout).toContain('1 of 1 snapshot files OK')

    // A flipped payload byte fails verification with exit 1.
    const bytes = readFileSync(summary.path)
    bytes[bytes.length - 3] ^= 0xff
    writeFileSync(summary.path, bytes)
    const damaged = modforge('store', 'verify', summary.path, '--json')
    expect(damaged.code).toBe(1)
    expect(JSON.parse(damaged.stdout)[0].ok).toBe(false)

    writeFileSync(join(out, 'csv_v2.mfs.123.0123456789abcdef.tmp'), 'partial')
    expect(modforge('store', 'clean', out).code).toBe(0)
    expect(readdirSync(out).filter((name) => name.endsWith('.tmp'))).toEqual([])
  })

  it('runs the demo end to end', () => {
    const result = modforge('demo', '--entries', '3000')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('1. Directory profiler')
    expect(result.stdout).toContain('2. Snapshot store')
    expect(result.stdout).toMatch(/loaded from disk: true/)
    expect(result.stdout).toContain('3. League of Legends WAD overlay')
    expect(result.stdout).toMatch(/-> skip: 0 built, [\d,]+ reused, mod bytes read 0 B/)
    expect(result.stdout).toContain('4. SNES ROM reader')
    expect(result.stdout).toMatch(/120 of 120 generated blocks at their exact offset and length/)
    expect(result.stdout).toMatch(/header "MODFORGE DEMO SA1 4M": sa1, map mode \$23, chipset \$35, checksum 0x[0-9A-F]{4} valid/)
    expect(result.stdout).toContain('5. NWN2 icons')
    expect(result.stdout).toMatch(/warm start in a fresh process: open \+ first icon .* \(rebuilt: false\)/)
    expect(result.stdout).toMatch(/contact sheet of 64 icons/)
    expect(result.stdout).toMatch(/done in/)
  }, 300_000)
})

describe('the defects first users hit on the command line', () => {
  it('prints one line, not a stack trace, when store build gets a missing folder or a file', () => {
    for (const target of [join(work, 'no-such-folder'), __filename]) {
      const result = modforge('store', 'build', target, '--out', join(work, 'never'), '--version', '1')
      expect(result.code).toBe(1)
      expect(result.stderr.trim().split('\n')).toHaveLength(1)
      expect(stackFrames(result.stderr)).toEqual([])
    }
    expect(modforge('store', 'build', join(work, 'no-such-folder'), '--out', work, '--version', '1').stderr).toContain('no folder')
    expect(modforge('store', 'build', __filename, '--out', work, '--version', '1').stderr).toContain('is a file, not a folder of CSV files')
  })

  it.runIf(onPosix)('stops quietly when the reader of stdout goes away (store verify dir | head -1)', () => {
    const dir = join(work, 'many-snapshots')
    // Far more output than a pipe buffers, written one file at a time.
    for (let index = 0; index < 300; index += 1) {
      putBlobSync({ dir, name: `blob${index}`, version: '1', source: { token: String(index) } }, Buffer.from('payload'))
    }
    const pipeline = `set -o pipefail; "${process.execPath}" "${MAIN}" store verify "${dir}" | head -1`
    const result = spawnSync('bash', ['-c', pipeline], { encoding: 'utf8' })
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    expect(result.stdout).toMatch(/^\/.*blob\d+_1\.mfs: OK/)
    expect(result.stdout.trim().split('\n')).toHaveLength(1)
  })

  it('prints the build report (duplicates, ragged rows) and gives an object with --json', () => {
    const csv = join(work, 'report-csv')
    mkdirSync(csv)
    writeFileSync(join(csv, 'items.csv'), 'id,name\na,1\na,2\nb,3,extra\nc\n')
    const out = join(work, 'report-out')
    const human = modforge('store', 'build', csv, '--out', out, '--version', '1')
    expect(human.code).toBe(0)
    expect(human.stdout).toContain("items: duplicate keys 'a' (rows 0, 1)")
    expect(human.stdout).toContain('items: rows with extra fields (joined into the last column): 2')
    expect(human.stdout).toContain('items: rows with missing fields (padded): 3')
    const json = modforge('store', 'build', csv, '--out', out, '--version', '1', '--json')
    const summary = JSON.parse(json.stdout)
    expect(typeof summary).toBe('object')
    expect(summary.loaded).toBe(true)
    expect(summary.tables).toEqual([
      {
        name: 'items',
        rows: 4,
        report: expect.objectContaining({ duplicateRows: 1, duplicates: [{ key: 'a', rows: [0, 1] }], longRowNumbers: [2], shortRowNumbers: [3] }),
      },
    ])
    const inspected = JSON.parse(modforge('store', 'inspect', summary.path, '--json').stdout)
    expect(inspected.details.report.tables[0]).toMatchObject({ name: 'items', duplicateRows: 1 })
    expect(inspected).not.toHaveProperty('reportJson')
  })

  it('skips macOS metadata (._name.csv) and hidden CSV files with a warning', () => {
    const csv = join(work, 'mac-csv')
    mkdirSync(csv)
    writeFileSync(join(csv, 'colors.csv'), 'name,hex\nred,#f00\n')
    writeFileSync(join(csv, '._colors.csv'), Buffer.from([0x00, 0x05, 0x16, 0x07, 0x00, 0x02, 0x00, 0x00, 0xff, 0xfe]))
    writeFileSync(join(csv, '.draft.csv'), 'name\nx\n')
    const result = modforge('store', 'build', csv, '--out', join(work, 'mac-out'), '--version', '1', '--json')
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout).tables.map((t: { name: string }) => t.name)).toEqual(['colors'])
    expect(result.stderr).toContain('warning: skipped ._colors.csv: AppleDouble metadata written by macOS, not CSV')
    expect(result.stderr).toContain('warning: skipped .draft.csv: hidden file')
  })

  it('warns loudly when most rows repeat a key, suggesting --key and --version-column', () => {
    const csv = join(work, 'dup-csv')
    mkdirSync(csv)
    writeFileSync(join(csv, 'nouns.csv'), 'version,name\nv1,ant\nv1,bee\nv1,cat\nv1,dog\n')
    const result = modforge('store', 'build', csv, '--out', join(work, 'dup-out'), '--version', '1')
    expect(result.code).toBe(0)
    expect(result.stderr).toContain("WARNING: table 'nouns': 3 of 4 rows (75.0%) repeat a key of column 'version'")
    expect(result.stderr).toContain('--key <column>')
    expect(result.stderr).toContain('--version-column version')
  })

  it('says "bad magic" for a file that is not a snapshot, before any header field', () => {
    const file = join(work, 'not-a-snapshot.mfs')
    writeFileSync(file, Buffer.alloc(400, 'not a snapshot '))
    const result = modforge('store', 'inspect', file)
    expect(result.code).toBe(1)
    const [first] = result.stdout.split('\n')
    expect(first).toContain("FAILED at check 'magic'")
    expect(first).toContain('bad magic')
    for (const field of ['data version', 'fingerprint', 'header checksum', 'container version']) expect(result.stdout).not.toContain(field)
    expect(JSON.parse(modforge('store', 'inspect', file, '--json').stdout).header).toBeNull()
  })

  it('refuses extra arguments and suggests the closest flag and command', () => {
    const extra = modforge('profile', ROOT, '/etc')
    expect(extra.code).toBe(2)
    expect(extra.stderr).toContain("unexpected argument '/etc'")
    const flagTypo = modforge('profile', '--maxdepth', '3')
    expect(flagTypo.code).toBe(2)
    expect(flagTypo.stderr).toContain("unknown option '--maxdepth'; did you mean '--max-depth'?")
    const commandTypo = modforge('store', 'inspct', 'x')
    expect(commandTypo.code).toBe(2)
    expect(commandTypo.stderr).toContain("did you mean 'store inspect'?")
    const choice = modforge('generate', 'tree', join(work, 'never'), '--shape', 'wid')
    expect(choice.stderr).toContain("did you mean 'wide'?")
  })

  it('handles --help once for every command, nested commands and the help word', () => {
    const inspectHelp = modforge('store', 'inspect', '--help')
    expect(inspectHelp.code).toBe(0)
    expect(inspectHelp.stdout).toContain('Usage: modforge store inspect <file> [options]')
    expect(inspectHelp.stdout).toContain('-h, --help')
    expect(modforge('help', 'store', 'inspect').stdout).toBe(inspectHelp.stdout)
    // Help wins over a bad command line.
    expect(modforge('profile', '--threads', 'many', '--help').code).toBe(0)
    const storeHelp = modforge('store', '--help')
    expect(storeHelp.stdout).toMatch(/Commands:\n {2}inspect +header fields/)
  })

  it('loads only the command that runs: profile never loads the store, --help never loads the addon', () => {
    const probe = join(work, 'probe.cjs')
    writeFileSync(
      probe,
      "process.on('exit', () => require('node:fs').writeSync(2, '\\nLOADED ' + JSON.stringify(Object.keys(require.cache))))",
    )
    const loaded = (...args: string[]) => {
      const result = spawnSync(process.execPath, ['-r', probe, MAIN, ...args], { encoding: 'utf8' })
      const line = result.stderr.split('\n').find((text) => text.startsWith('LOADED '))!
      return (JSON.parse(line.slice(7)) as string[]).map((file) => file.slice(ROOT.length + 1).replaceAll('\\', '/'))
    }
    const empty = join(work, 'empty-folder')
    mkdirSync(empty)
    const profiled = loaded('profile', empty, '--json')
    expect(profiled).toEqual(expect.arrayContaining(['dist/cli/profile.js', 'dist/src/profile.js', 'dist/binding.js']))
    for (const file of ['dist/src/store.js', 'dist/src/dataset.js', 'dist/src/generate.js', 'dist/src/overlay.js', 'dist/src/rom.js', 'dist/cli/store.js', 'dist/cli/overlay.js', 'dist/cli/rom.js', 'dist/cli/hal.js', 'dist/cli/demo.js', 'dist/index.js']) {
      expect(profiled).not.toContain(file)
    }
    const help = loaded('--help')
    expect(help).not.toContain('dist/binding.js')
    expect(help).not.toContain('dist/cli/profile.js')
  })

  it.runIf(onPosix)('stops a long command on the first Ctrl-C with exit code 130', async () => {
    const dir = join(work, 'interrupted-tree')
    const child = spawn(process.execPath, [MAIN, 'generate', 'tree', dir, '--entries', '2000000', '--no-progress'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    // Interrupt once the command is at work (its folder exists).
    while (!existsSync(dir)) await new Promise((wait) => setTimeout(wait, 20))
    child.kill('SIGINT')
    expect(await exited).toBe(130)
    expect(stderr.trim()).toBe('modforge: interrupted')
  }, 60_000)
})

describe('the first Ctrl-C in store verify, store inspect and generate tree', () => {
  /** Runs `main(argv)` of the CLI in a child and interrupts it as `interrupt` says; the result of main and stderr. */
  function interrupted(argv: string[], interrupt: string) {
    const program = `
      const { main } = require(${JSON.stringify(MAIN)})
      const pending = main(${JSON.stringify(argv)})
      ${interrupt}
      pending.then((result) => {
        process.stdout.write('\\n' + JSON.stringify(result))
        process.exit(0)
      })
    `
    const result = spawnSync(process.execPath, ['-e', program], { encoding: 'utf8', timeout: 120_000 })
    return { status: result.status, result: JSON.parse(result.stdout.split('\n').pop() || 'null') as { code: number; forceExit: boolean } | null, stderr: result.stderr }
  }

  it.runIf(onPosix)('stops verify of a long folder in the middle: exit 130 without being abandoned', () => {
    const dir = join(work, 'verify-interrupted')
    mkdirSync(dir)
    // One dataset snapshot of some MB under 1,000 names (hard links): a walk of many GB of cells.
    const rows = Array.from({ length: 200_000 }, (_, i) => [`key${i}`, `value ${i}`, 'x'.repeat(32)])
    const built = openDatasetSync({ dir, name: 'big', version: '1', source: { token: 'big' }, tables: { t: { columns: ['k', 'v', 'w'], rows } } })
    built.value.close()
    for (let i = 0; i < 1000; i += 1) linkSync(built.path, join(dir, `copy${i}_1.mfs`))
    const run = interrupted(['store', 'verify', dir, '--json'], "setTimeout(() => process.kill(process.pid, 'SIGINT'), 500)")
    expect(run.status).toBe(0)
    // forceExit false: the command itself stopped (the walk saw the abort), within the grace period.
    expect(run.result).toEqual({ code: 130, forceExit: false })
    expect(run.stderr.trim()).toBe('modforge: interrupted')
  })

  it('stops generate tree while it plans: exit 130 without being abandoned, nothing created', () => {
    const dir = join(work, 'generate-interrupted')
    // 8,000,000 entries take seconds to plan in memory, longer than the 2 s grace period; the
    // interrupt comes while the plan is being made.
    const run = interrupted(['generate', 'tree', dir, '--entries', '8000000', '--no-progress'], "setTimeout(() => process.emit('SIGINT'), 100)")
    expect(run.result).toEqual({ code: 130, forceExit: false })
    expect(run.stderr.trim()).toBe('modforge: interrupted')
    // The folder is made when the call starts; an interrupt that came first leaves none.
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([])
  })

  it('stops inspect: its signal reaches the call', () => {
    // 128 MiB: long enough to be checksumming (polling the flag every 4 MiB) when the interrupt comes.
    const dir = scratchDir('inspect-interrupted')
    const path = putBlobSync({ dir, name: 'b', version: '1', source: { token: 't' } }, Buffer.alloc(128 << 20)).path
    // The interrupt comes right after the command started its call.
    const run = interrupted(['store', 'inspect', path], "process.emit('SIGINT')")
    expect(run.result).toEqual({ code: 130, forceExit: false })
    expect(run.stderr.trim()).toBe('modforge: interrupted')
    // Not interrupted, the same file passes.
    expect(interrupted(['store', 'inspect', path, '--json'], '').result).toEqual({ code: 0, forceExit: false })
    removeTree(dir)
  })
})

describe('CLI helpers', () => {
  it('reads sizes as du does', () => {
    expect(parseSize('4096')).toBe(4096)
    expect(parseSize('10K')).toBe(10240)
    expect(parseSize('10KB')).toBe(10000)
    expect(parseSize('1.5M')).toBe(1572864)
    expect(parseSize('2GB')).toBe(2e9)
    expect(parseSize('1GiB')).toBe(1073741824)
    expect(parseSize('lots')).toBeUndefined()
  })

  it('formats sizes in IEC units and counts with separators', () => {
    expect(formatBytes(512)).toBe('512 B')
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatBytes(1.5 * 2 ** 30)).toBe('1.5 GiB')
    expect(formatBytes(null)).toBe('-')
    expect(formatCount(1234567)).toBe('1,234,567')
    expect(formatCount(999)).toBe('999')
    expect(formatCount(1000)).toBe('1,000')
    expect(formatCount(-1234.6)).toBe('-1,235')
  })

  it('shows a percentage when the total is known', () => {
    expect(formatProgress({ stage: 'parse', done: 5000, total: 11_900, bytes: null, current: 'nouns' })).toBe('parse   42%  5,000/11,900  nouns')
    expect(formatProgress({ stage: 'walk', done: 1234, total: null, bytes: 2048, current: 'src' }, ' entries')).toBe('walk  1,234 entries  2.0 KiB  src')
  })

  it('draws the progress line at full width when the terminal reports 0 columns', () => {
    const written: string[] = []
    const line = new ProgressLine(true, { isTTY: true, columns: 0, write: (text: string) => written.push(text) })
    line.update(() => 'x'.repeat(200))
    expect(written[0]).toBe(`\r\x1b[2K${'x'.repeat(79)}`)
    const narrow: string[] = []
    new ProgressLine(true, { isTTY: true, columns: 30, write: (text: string) => narrow.push(text) }).update(() => 'y'.repeat(200))
    expect(narrow[0]).toBe(`\r\x1b[2K${'y'.repeat(29)}`)
    const silent: string[] = []
    new ProgressLine(true, { isTTY: false, columns: 80, write: (text: string) => silent.push(text) }).update(() => { throw new Error('never drawn') })
    expect(silent).toEqual([])
  })

  it('generates help and parses from one table', () => {
    const sample = command({
      summary: 'a sample',
      description: 'Does a sample thing.',
      args: [
        { name: 'input', description: 'what to read', required: true },
        { name: 'rest', description: 'more inputs', variadic: true },
      ],
      options: { maxDepth: integer('deepest level', { short: 'd', placeholder: 'N', max: 9 }), dryRun: flag('change nothing') },
      run: async ({ args, options }) => (args.input.length + args.rest.length + (options.maxDepth ?? 0) + (options.dryRun ? 1 : 0)),
    })
    const tree = group({ commands: { sample } })
    const help = helpText('tool', ['sample'], sample)
    expect(help).toContain('Usage: tool sample <input> [rest...] [options]')
    expect(help).toMatch(/-d, --max-depth N +deepest level/)
    expect(help).toMatch(/ {6}--dry-run +change nothing/)
    expect(helpText('tool', [], tree)).toContain('sample  a sample')
    expect(parseCommand(sample, ['in', 'a', 'b', '-d', '3', '--dry-run'], ['sample'])).toEqual({
      args: { input: 'in', rest: ['a', 'b'] },
      options: { maxDepth: 3, dryRun: true },
    })
    expect(() => parseCommand(sample, ['in', '--max-depth', '10'], ['sample'])).toThrow(new UsageError("--max-depth expects an integer from 0 to 9, got '10'", ['sample']))
    expect(() => parseCommand(sample, [], ['sample'])).toThrow(new UsageError('missing <input>', ['sample']))
  })
})
