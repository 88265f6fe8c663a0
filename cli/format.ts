/** Human-readable output of the CLI: sizes, counts, durations and aligned tables. */

const IEC_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB']

/** Bytes in IEC units with one decimal (`1.5 GiB`); `-` for an unknown size. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '-'
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < IEC_UNITS.length - 1) {
    value /= 1024
    unit += 1
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${IEC_UNITS[unit]}`
}

/**
 * A count with thousands separators (`1,234,567`). Written out rather than `toLocaleString`, whose
 * first call loads the ICU number formatter (about 100 ms of a command's run).
 */
export function formatCount(count: number): string {
  return String(Math.round(count)).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

/** Milliseconds as `12.3 ms` or `4.56 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`
  return ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`
}

/** A share of a total as `12.3%`. */
export function formatPercent(part: number, total: number): string {
  return total > 0 ? `${((part / total) * 100).toFixed(1)}%` : '-'
}

/**
 * Renders rows as an aligned text table. Columns listed in `right` are right-aligned (numbers);
 * the first row is the header, underlined.
 */
export function table(rows: string[][], right: number[] = []): string {
  if (rows.length === 0) return ''
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)))
  const line = (row: string[]) =>
    row
      .map((cell, column) =>
        right.includes(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column]),
      )
      .join('  ')
      .trimEnd()
  const [header, ...body] = rows
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...body.map(line)].join('\n')
}

/** A section title followed by its body and a blank line. */
export function section(title: string, body: string): string {
  return `${title}\n${body}\n`
}
