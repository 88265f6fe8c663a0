/** The one-line progress display of long commands (stderr, only when stderr is a terminal). */
import { isatty } from 'node:tty'

import { formatBytes, formatCount } from './format'

/** The part of a stream the progress line uses (`process.stderr`, or a stand-in in tests). */
export interface ProgressStream {
  isTTY?: boolean
  columns?: number
  write(text: string): unknown
}

/** The width assumed when the terminal does not report one (or reports 0 columns). */
const FALLBACK_COLUMNS = 80

/** Redraws one status line at most ten times a second; silent when the stream is not a terminal. */
export class ProgressLine {
  private last = 0
  private shown = false
  private readonly enabled: boolean

  /**
   * `stream` defaults to `process.stderr`, which is only touched once there is something to
   * draw (creating it costs a command's start a few milliseconds); `isatty(2)` decides meanwhile.
   */
  constructor(
    enabled = true,
    private readonly stream?: ProgressStream,
  ) {
    this.enabled = enabled && (stream ? stream.isTTY === true : isatty(2))
  }

  /**
   * Shows the text `render` returns, unless the previous update was less than 100 ms ago; `render`
   * is not called when nothing is drawn (not a terminal, or too soon).
   */
  update(render: () => string): void {
    if (!this.enabled) return
    const now = Date.now()
    if (now - this.last < 100) return
    this.last = now
    // Some terminals (and pseudo-terminals of CI runners) report 0 columns: that means unknown.
    const stream = this.stream ?? process.stderr
    const columns = stream.columns && stream.columns > 0 ? stream.columns : FALLBACK_COLUMNS
    stream.write(`\r\x1b[2K${render().slice(0, columns - 1)}`)
    this.shown = true
  }

  /** Erases the line (before the report is printed). */
  clear(): void {
    if (this.shown) (this.stream ?? process.stderr).write('\r\x1b[2K')
    this.shown = false
  }
}

/** What a progress event carries (the public `ProgressEvent` of any stage). */
export interface ProgressLike {
  stage: string
  done: number
  total: number | null
  bytes: number | null
  current: string
}

/**
 * One progress line: the stage, a percentage when the total is known (`parse  42%  5,000/11,900`),
 * the bytes when counted, and what is being worked on.
 */
export function formatProgress(event: ProgressLike, unit = ''): string {
  const parts = [event.stage]
  if (event.total !== null && event.total > 0) {
    const percent = Math.min(100, Math.floor((event.done / event.total) * 100))
    parts.push(`${String(percent).padStart(3)}%`, `${formatCount(event.done)}/${formatCount(event.total)}${unit}`)
  } else {
    parts.push(`${formatCount(event.done)}${unit}`)
  }
  if (event.bytes !== null && event.bytes > 0) parts.push(formatBytes(event.bytes))
  if (event.current) parts.push(event.current)
  return parts.join('  ')
}
