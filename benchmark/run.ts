/**
 * `npm run bench` runs every area; `npm run bench -- <area>` one of them.
 * Each area prints its tables and writes `benchmark/results/<area>.json`.
 */
import { machine } from './harness'
import { iconsBenchmark } from './icons'
import { overlayBenchmark } from './overlay'
import { profileBenchmark } from './profile'
import { romBenchmark } from './rom'
import { startupBenchmark } from './startup'
import { storeBenchmark } from './store'

const AREAS: Record<string, (args: string[]) => Promise<void>> = {
  profile: profileBenchmark,
  store: storeBenchmark,
  rom: romBenchmark,
  icons: iconsBenchmark,
  overlay: overlayBenchmark,
  startup: startupBenchmark,
}

async function main(): Promise<void> {
  const [area, ...args] = process.argv.slice(2)
  if (area !== undefined && !(area in AREAS)) {
    console.error(`unknown benchmark area '${area}'; areas: ${Object.keys(AREAS).join(', ')}`)
    process.exitCode = 2
    return
  }
  console.log(`machine: ${machine()}`)
  for (const [name, run] of Object.entries(AREAS)) {
    if (area === undefined || area === name) await run(args)
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
