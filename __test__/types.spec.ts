import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { ROOT, removeTree, tempDir } from './helpers'

/**
 * A consumer's code, type-checked against the built declarations with `strict` and `types: []`
 * (no ambient Node types): the package's own declarations must pull in what they use.
 */
const CONSUMER = `
import { ErrorCode, isModforgeError, openDataset, profile, walkPaths, type ProgressEvent, type Table } from 'modforge'
import { openOrBuild } from 'modforge/store'
import { generateTree } from 'modforge/generate'
import type { Dataset, TableReport } from 'modforge/dataset'
import { profileSync } from 'modforge/profile'

interface Noun extends Record<string, string> {
  name: string
  family: string
}

export async function use(): Promise<number> {
  const report = await profile('.', {
    onProgress: (event) => {
      const stage: 'walk' = event.stage
      void stage
    },
  })
  let paths = 0
  for await (const batch of walkPaths('.', { stats: false })) paths += batch.paths.length
  const opened = await openOrBuild({
    dir: 'cache',
    name: 'n',
    version: '1',
    source: { token: 't' },
    build: ({ signal }) => {
      signal.throwIfAborted()
      return Buffer.from('payload')
    },
  })
  const bytes: Buffer = opened.value
  const db: Dataset = (
    await openDataset({
      dir: 'cache',
      name: 'db',
      version: '1',
      tables: { nouns: 'nouns.csv' },
      onProgress: (event) => {
        const stage: 'parse' | 'build' | 'write' = event.stage
        void stage
      },
    })
  ).value
  const nouns: Table<Noun> | undefined = db.table<Noun>('nouns')
  for (const [key, row] of nouns ?? []) paths += key.length + row.family.length
  const reportOfNouns: TableReport | undefined = db.report.nouns
  await generateTree('tree', { shape: 'game', signal: AbortSignal.timeout(1000) })
  try {
    profileSync('.')
  } catch (error) {
    if (isModforgeError(error, ErrorCode.InvalidArg)) paths += 1
  }
  // @ts-expect-error the profiler reports the walk stage only
  const wrongStage: (event: ProgressEvent<'walk'>) => void = (event: ProgressEvent<'parse'>) => void event
  void wrongStage
  // @ts-expect-error Native... types are internal
  type Hidden = import('modforge').NativeProfileOptions
  return report.totals.files + paths + bytes.length + (reportOfNouns?.rows ?? 0) + (nouns?.size ?? 0)
}
`

describe('the published declarations', () => {
  let project: string
  beforeAll(() => {
    project = tempDir('types')
    mkdirSync(join(project, 'node_modules'))
    symlinkSync(ROOT, join(project, 'node_modules', 'modforge'), 'junction')
    writeFileSync(join(project, 'consumer.ts'), CONSUMER)
  })
  afterAll(() => removeTree(project))

  it('type-check a consumer under strict with types: [] (no ambient Node types)', () => {
    const program = ts.createProgram([join(project, 'consumer.ts')], {
      strict: true,
      types: [],
      noEmit: true,
      skipLibCheck: false,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts'],
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
    })
    const diagnostics = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const where = diagnostic.file ? `${diagnostic.file.fileName}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1}: ` : ''
      return `${where}${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`
    })
    expect(diagnostics).toEqual([])
  })

  it('export no internal Native... type and no internal helper', () => {
    const program = ts.createProgram([join(ROOT, 'dist/index.d.ts')], { noEmit: true, types: [] })
    const checker = program.getTypeChecker()
    const entry = checker.getSymbolAtLocation(program.getSourceFile(join(ROOT, 'dist/index.d.ts'))!)!
    const names = checker.getExportsOfModule(entry).map((symbol) => symbol.name)
    expect(names).toEqual(expect.arrayContaining(['profile', 'walkPaths', 'Table', 'Dataset', 'ProgressEvent', 'Stage', 'TableReport', 'ErrorCode']))
    expect(names.filter((name) => name.startsWith('Native'))).toEqual([])
    expect(names).not.toContain('sourceCheck')
    expect(names).not.toContain('native')
  })
})
