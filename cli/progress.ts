/** The one-line progress display of long commands (stderr, only when stderr is a terminal). */

/** Redraws one status line on stderr at most ten times a second; silent when not a TTY. */
export class ProgressLine {
  private last = 0
  private shown = false
  private readonly enabled: boolean

  constructor(enabled = true) {
    this.enabled = enabled && process.stderr.isTTY === true
  }

  /** Shows `text` unless the previous update was less than 100 ms ago. */
  update(text: string): void {
    if (!this.enabled) return
    const now = Date.now()
    if (now - this.last < 100) return
    this.last = now
    const width = process.stderr.columns ?? 80
    process.stderr.write(`\r\x1b[2K${text.slice(0, Math.max(10, width - 1))}`)
    this.shown = true
  }

  /** Erases the line (before the report is printed). */
  clear(): void {
    if (this.shown) process.stderr.write('\r\x1b[2K')
    this.shown = false
  }
}
