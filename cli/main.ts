#!/usr/bin/env node
/**
 * The `modforge` command. Exit codes: 0 ok, 1 failed (or completed with errors), 2 bad usage,
 * 130 interrupted. Errors are printed as one line with their code (`MODFORGE_DEBUG=1` adds the
 * stack). When the reader of stdout goes away (`modforge store verify dir | head -1`), the
 * command stops its work and exits quietly.
 *
 * This module loads only the command framework and the command tree; each command loads its
 * capability when it runs.
 */
import { readFileSync } from 'node:fs'
import nodeModule = require('node:module')
import { join } from 'node:path'

// Node 22.1+ keeps the compiled code of the modules loaded from here on between runs (a no-op
// on older versions); it runs before the command framework and the commands are loaded.
;(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.()

import { CommandError, runCommandLine, UsageError, type CommandContext } from './framework'
import { modforge } from './commands'

/** How long an interrupted command may take to stop before the process exits anyway. */
const STOP_GRACE_MS = 2000

/** The abort reasons the CLI gives its signal. */
const INTERRUPTED = new Error('interrupted (SIGINT)')
const OUTPUT_CLOSED = new Error('the reader of stdout went away')

/** Prints `error` as one line and returns the exit code it maps to. */
function report(error: unknown, context: CommandContext): number {
  if (error instanceof UsageError) {
    const help = ['modforge', ...error.command, '--help'].join(' ')
    context.err(`modforge: ${error.message}\nRun '${help}' for usage.`)
    return 2
  }
  const { signal } = context
  const code = (error as { code?: unknown } | null)?.code
  if (code === 'ABORT_ERR' && signal.aborted) {
    if (signal.reason === OUTPUT_CLOSED) return 0
    context.err('modforge: interrupted')
    return 130
  }
  const message = error instanceof Error ? error.message : String(error)
  const firstLine = message.split('\n')[0]
  if (process.env.MODFORGE_DEBUG && error instanceof Error && error.stack) context.err(error.stack)
  if (error instanceof CommandError) {
    context.err(`modforge: ${firstLine}`)
    return 1
  }
  // Node's own system errors start their message with the errno name already.
  const prefix = typeof code === 'string' && !firstLine.startsWith(code) ? `${code}: ` : ''
  context.err(`modforge: ${prefix}${firstLine}`)
  return code === 'ERR_MODFORGE_INVALID_ARG' ? 2 : 1
}

/**
 * Runs the command line `argv` (without `node` and the script) and resolves to the exit code.
 * The first Ctrl-C aborts the command's signal; a command that has not stopped after
 * {@link STOP_GRACE_MS} is abandoned with exit code 130 (`forceExit` is then true); a second
 * Ctrl-C exits at once.
 */
export async function main(argv: string[]): Promise<{ code: number; forceExit: boolean }> {
  const controller = new AbortController()
  let outputClosed = false
  let listening = false
  // The streams are set up on the first write (creating them costs milliseconds that a
  // command's start would otherwise pay); a write error (EPIPE) means the reader is gone: stop
  // writing and stop the work.
  const listen = () => {
    if (listening) return
    listening = true
    process.stdout.on('error', () => {
      outputClosed = true
      if (!controller.signal.aborted) controller.abort(OUTPUT_CLOSED)
    })
    process.stderr.on('error', () => undefined)
  }
  const context: CommandContext = {
    out: (text) => {
      listen()
      if (!outputClosed) process.stdout.write(`${text}\n`)
    },
    err: (text) => {
      listen()
      process.stderr.write(`${text}\n`)
    },
    signal: controller.signal,
  }
  let abandon: (result: { code: number; forceExit: boolean }) => void = () => undefined
  const abandoned = new Promise<{ code: number; forceExit: boolean }>((resolve) => {
    abandon = resolve
  })
  // Cleared once the command has settled, so a command that stops near the end of the grace
  // period reports its interruption once, not a second time from the timer.
  let grace: ReturnType<typeof setTimeout> | undefined
  const onInterrupt = () => {
    if (controller.signal.aborted && controller.signal.reason === INTERRUPTED) process.exit(130)
    controller.abort(INTERRUPTED)
    grace = setTimeout(() => {
      context.err('modforge: interrupted')
      abandon({ code: 130, forceExit: true })
    }, STOP_GRACE_MS).unref()
  }
  process.on('SIGINT', onInterrupt)
  try {
    if (argv[0] === '--version' || argv[0] === '-V') {
      // From dist/cli/ to the package root.
      const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
      context.out(version)
      return { code: 0, forceExit: false }
    }
    const finished = runCommandLine('modforge', modforge, argv, context).then(
      (code) => ({ code, forceExit: false }),
      (error: unknown) => ({ code: report(error, context), forceExit: false }),
    )
    return await Promise.race([finished, abandoned])
  } finally {
    clearTimeout(grace)
    process.removeListener('SIGINT', onInterrupt)
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(({ code, forceExit }) => {
    if (forceExit) process.exit(code)
    process.exitCode = code
  })
}
