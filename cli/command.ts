/** The contract between `cli/main.ts` and each command module. */

/** What a command may use besides its arguments. */
export interface CommandContext {
  /** Writes a line to stdout. */
  out(text: string): void
  /** Writes a line to stderr. */
  err(text: string): void
  /** Aborted on Ctrl-C. */
  signal: AbortSignal
}

/** One `modforge <name>` command. */
export interface Command {
  /** The word after `modforge`. */
  name: string
  /** One line for the command list. */
  summary: string
  /** The full `--help` text. */
  help: string
  /** Runs the command; resolves to the exit code. */
  run(argv: string[], context: CommandContext): Promise<number>
}
