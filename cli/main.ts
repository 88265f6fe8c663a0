#!/usr/bin/env node
/**
 * The `modforge` command. Exit codes: 0 ok, 1 failed (or completed with errors), 2 bad usage,
 * 130 interrupted. Errors are printed as one line with their code.
 */
import { isModforgeError } from '../index'
import { UsageError } from './args'
import type { Command, CommandContext } from './command'
import { demoCommand } from './demo'
import { generateCommand } from './generate'
import { profileCommand } from './profile'
import { storeCommand } from './store'

const COMMANDS: Command[] = [profileCommand, storeCommand, generateCommand, demoCommand]

function usage(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length))
  const list = COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n')
  return `Usage: modforge <command> [options]\n\nCommands:\n${list}\n\nRun 'modforge <command> --help' for the options of a command.`
}

/** Runs the command line `argv` (without `node` and the script) and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController()
  const onInterrupt = () => controller.abort()
  process.once('SIGINT', onInterrupt)
  const context: CommandContext = {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    signal: controller.signal,
  }
  const [name, ...rest] = argv
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      context.out(usage())
      return name === undefined ? 2 : 0
    }
    if (name === '--version' || name === '-V') {
      context.out(require('../package.json').version)
      return 0
    }
    const command = COMMANDS.find((candidate) => candidate.name === name)
    if (!command) throw new UsageError(`unknown command '${name}'`, '')
    return await command.run(rest, context)
  } catch (error) {
    return report(error, context, controller.signal.aborted)
  } finally {
    process.removeListener('SIGINT', onInterrupt)
  }
}

/** Prints `error` as one line and returns the exit code it maps to. */
function report(error: unknown, context: CommandContext, interrupted: boolean): number {
  if (error instanceof UsageError) {
    const help = error.command ? `modforge ${error.command} --help` : 'modforge --help'
    context.err(`modforge: ${error.message}\nRun '${help}' for usage.`)
    return 2
  }
  if (isModforgeError(error)) {
    if (error.code === 'ABORT_ERR' && interrupted) {
      context.err('modforge: interrupted')
      return 130
    }
    context.err(`modforge: ${error.code}: ${error.message}`)
    return error.code === 'ERR_MODFORGE_INVALID_ARG' ? 2 : 1
  }
  context.err(`modforge: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  return 1
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code
  })
}
