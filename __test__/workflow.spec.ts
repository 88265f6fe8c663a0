import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

import { ROOT } from './helpers'

interface Job {
  needs?: string | string[]
  strategy?: {
    matrix?: { include?: Array<Record<string, string>>; settings?: Array<Record<string, string>>; node?: string[] }
  }
  steps?: Array<Record<string, unknown>>
}

const workflow = parse(readFileSync(join(ROOT, '.github/workflows/CI.yml'), 'utf8')) as {
  jobs: Record<string, Job>
}
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  napi: { targets: string[] }
  scripts: Record<string, string>
}

/**
 * The targets of a job's matrix: its `include` entries, or its `settings` list, which GitHub
 * crosses with the other dimensions (`include` entries would not be crossed with `node`).
 */
function targetsOf(job: Job | undefined): string[] {
  const matrix = job?.strategy?.matrix
  return [...(matrix?.include ?? []), ...(matrix?.settings ?? [])].map((entry) => entry.target).filter(Boolean)
}

describe('the CI workflow', () => {
  it('builds every target of the napi block', () => {
    expect(new Set(targetsOf(workflow.jobs.build))).toEqual(new Set(pkg.napi.targets))
  })

  it('tests every target on Node 20, 22 and 24 after building it', () => {
    const testJobs = Object.entries(workflow.jobs).filter(([name]) => name.startsWith('test-'))
    const tested = testJobs.flatMap(([, job]) => targetsOf(job))
    expect(new Set(tested)).toEqual(new Set(pkg.napi.targets))
    for (const [, job] of testJobs) {
      expect(job.strategy?.matrix?.node).toEqual(['20', '22', '24'])
      // Targets in `include` would become extra combinations without a Node version.
      expect(job.strategy?.matrix?.include).toBeUndefined()
      expect([job.needs].flat()).toContain('build')
    }
  })

  it('lints and publishes with napi prepublish after every test job', () => {
    const lintRuns = JSON.stringify(workflow.jobs.lint?.steps)
    expect(lintRuns).toContain('cargo fmt --all -- --check')
    expect(lintRuns).toContain('cargo clippy')
    expect(lintRuns).toContain('tsc')
    const publish = workflow.jobs.publish
    expect(JSON.stringify(publish?.steps)).toContain('napi prepublish')
    const needs = [publish?.needs].flat()
    for (const name of Object.keys(workflow.jobs).filter((job) => job.startsWith('test-'))) {
      expect(needs).toContain(name)
    }
  })

  it('has one npm/<platform> package per target', () => {
    const platforms = pkg.napi.targets.length
    const dirs = readdirSync(join(ROOT, 'npm'))
    expect(dirs.length).toBe(platforms)
  })
})
