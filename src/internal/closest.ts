/** "Did you mean ...?": the known name nearest to a misspelt one (option keys, CLI flags, commands). */

/** Edit distance (insertions, deletions, substitutions; a swap of two neighbours counts once). */
function editDistance(a: string, b: string): number {
  // Optimal string alignment distance over two rows plus the one before (for transpositions).
  let before: number[] = []
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i]
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, before[j - 2] + 1)
      current.push(best)
    }
    before = previous
    previous = current
  }
  return previous[b.length]
}

/**
 * The candidate closest to `name`, compared case-insensitively and ignoring `-` and `_` (so
 * `maxdepth`, `max_depth` and `max-depth` all find `maxDepth`); `undefined` when none is close
 * (more than a third of the longer name would have to change).
 */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const normal = (text: string) => text.toLowerCase().replace(/[-_]/g, '')
  const wanted = normal(name)
  let best: { candidate: string; distance: number } | undefined
  for (const candidate of candidates) {
    const distance = editDistance(wanted, normal(candidate))
    if (best === undefined || distance < best.distance) best = { candidate, distance }
  }
  if (!best) return undefined
  const allowed = Math.max(1, Math.floor(Math.max(wanted.length, best.candidate.length) / 3))
  return best.distance <= allowed ? best.candidate : undefined
}
