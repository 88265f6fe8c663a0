/**
 * The declarative layer of the `modforge` command, over `node:util` `parseArgs`.
 *
 * A command is one table: its arguments, its options (each with its help line) and a `run`
 * function. The same table generates `--help` and parses the command line, so they cannot drift
 * apart. Commands nest in groups (`modforge store inspect`), and a group's children may be loaded
 * only when they are run ({@link lazy}), so a command loads nothing of the other capabilities.
 *
 * ```ts
 * export const where = command({
 *   summary: 'find the icon of a resource',
 *   description: 'Looks a resource up in the icon cache of an install.',
 *   args: [{ name: 'install', description: 'the game folder', required: true }],
 *   options: { json: flag('print JSON'), size: integer('icon edge in pixels', { placeholder: 'PX', min: 16 }) },
 *   async run({ args, options }, context) {
 *     const { findIcon } = require('../src/icons') as typeof import('../src/icons')
 *     context.out(JSON.stringify(await findIcon(args.install, { size: options.size, signal: context.signal })))
 *     return 0
 *   },
 * })
 * ```
 */
import { parseArgs } from 'node:util'


/** The suggestion helper, loaded only when a command line has a mistake. */
function closest(name: string, candidates: Iterable<string>): string | undefined {
  return (require('../src/internal/closest') as typeof import('../src/internal/closest')).closest(name, candidates)
}

/** A mistake in the command line: printed with a pointer to the command's help, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command words whose `--help` the hint points to (`['store', 'build']`). */
    readonly command: readonly string[] = [],
  ) {
    super(message)
    this.name = 'UsageError'
  }
}

/** A failure a command detected itself (a missing folder, ...): printed as one line, exit code 1. */
export class CommandError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'CommandError'
  }
}

// ---------------------------------------------------------------------------------------------
// Option and argument tables
// ---------------------------------------------------------------------------------------------

interface OptionBase {
  /** The help line. */
  description: string
  /** One-letter alias (`t` for `-t`). */
  short?: string
  /** The value's name in the help (`N`, `GLOB`). */
  placeholder?: string
}

/** `--json`: true when given. */
export interface FlagOption extends OptionBase {
  kind: 'flag'
}

/** `--name N`: a string, optionally one of `choices`. */
export interface TextOption<C extends string = string> extends OptionBase {
  kind: 'text'
  choices?: readonly C[]
}

/** `--threads N`: a non-negative integer within `min`..`max`. */
export interface IntegerOption extends OptionBase {
  kind: 'integer'
  min?: number
  max?: number
}

/** `--min-size 10K`: a size as `du` reads it. */
export interface SizeOption extends OptionBase {
  kind: 'size'
}

/** `-e js,ts -e md`: repeatable, and each value split at commas. */
export interface ListOption extends OptionBase {
  kind: 'list'
}

/** `--exclude A --exclude B`: repeatable, values kept whole. */
export interface RepeatOption extends OptionBase {
  kind: 'repeat'
}

/** One row of an option table. */
export type OptionSpec = FlagOption | TextOption | IntegerOption | SizeOption | ListOption | RepeatOption

/** An option table: camelCase keys, shown and parsed as kebab-case flags (`maxDepth` -> `--max-depth`). */
export type OptionTable = Record<string, OptionSpec>

type Extra = Omit<OptionBase, 'description'>

/** A boolean flag. */
export function flag(description: string, extra: Omit<Extra, 'placeholder'> = {}): FlagOption {
  return { kind: 'flag', description, ...extra }
}

/** A string option, optionally limited to `choices` (then a misspelt value gets a suggestion). */
export function text<const C extends string = string>(description: string, extra: Extra & { choices?: readonly C[] } = {}): TextOption<C> {
  return { kind: 'text', description, ...extra }
}

/** A non-negative integer option. */
export function integer(description: string, extra: Extra & { min?: number; max?: number } = {}): IntegerOption {
  return { kind: 'integer', description, ...extra }
}

/** A size option (`4096`, `10K`, `1.5M`, `2GB`). */
export function size(description: string, extra: Extra = {}): SizeOption {
  return { kind: 'size', description, ...extra }
}

/** A repeatable, comma-separated option. */
export function list(description: string, extra: Extra = {}): ListOption {
  return { kind: 'list', description, ...extra }
}

/** A repeatable option. */
export function repeat(description: string, extra: Extra = {}): RepeatOption {
  return { kind: 'repeat', description, ...extra }
}

type ValueOf<S> = S extends FlagOption
  ? boolean
  : S extends IntegerOption | SizeOption
    ? number | undefined
    : S extends ListOption | RepeatOption
      ? string[] | undefined
      : S extends TextOption<infer C>
        ? C | undefined
        : never

/** The parsed values of an option table. */
export type OptionValues<O extends OptionTable> = { [K in keyof O]: ValueOf<O[K]> }

/** One positional argument. */
export interface ArgSpec {
  /** Its name in the usage line and in `args`. */
  readonly name: string
  /** The help line. */
  readonly description: string
  /** Must be given. */
  readonly required?: boolean
  /** The value when not given (shown in the help). */
  readonly default?: string
  /** Takes every remaining argument (only the last one may). */
  readonly variadic?: boolean
}

type ArgValue<S> = S extends { variadic: true }
  ? string[]
  : S extends { required: true }
    ? string
    : S extends { default: string }
      ? string
      : string | undefined

/** The parsed positional arguments of an argument table. */
export type ArgValues<A extends readonly ArgSpec[]> = { [S in A[number] as S['name']]: ArgValue<S> }

// ---------------------------------------------------------------------------------------------
// Commands and groups
// ---------------------------------------------------------------------------------------------

/** What a command may use besides its arguments. */
export interface CommandContext {
  /** Writes a line to stdout (nothing once stdout was closed by the reader). */
  out(text: string): void
  /** Writes a line to stderr. */
  err(text: string): void
  /** Aborted on Ctrl-C, or when the reader of stdout went away; pass it to every long call. */
  signal: AbortSignal
}

/** A command's table. */
export interface CommandSpec<O extends OptionTable, A extends readonly ArgSpec[]> {
  /** One line for the list of its group (optional when the group lists it through {@link lazy}). */
  summary?: string
  /** What the command does: the paragraph under the usage line. */
  description: string
  /** Positional arguments, in order. */
  args?: A
  /** Options (`-h, --help` is added to every command). */
  options?: O
  /** Text after the options (exit codes, examples). */
  footer?: string
  /** Runs the command with the parsed arguments; resolves to the exit code. */
  run(input: { args: ArgValues<A>; options: OptionValues<O> }, context: CommandContext): Promise<number>
}

/** A runnable command. */
export interface Command {
  readonly kind: 'command'
  readonly summary?: string
  readonly description: string
  readonly args: readonly ArgSpec[]
  readonly options: OptionTable
  readonly footer?: string
  run(input: { args: Record<string, unknown>; options: Record<string, unknown> }, context: CommandContext): Promise<number>
}

/** A command with subcommands (`modforge store <command>`). */
export interface Group {
  readonly kind: 'group'
  readonly summary?: string
  readonly description?: string
  readonly commands: Readonly<Record<string, Node>>
}

/** A child loaded only when it is run or its help is shown. */
export interface Lazy {
  readonly kind: 'lazy'
  readonly summary: string
  load(): Command | Group
}

/** What a group holds. */
export type Node = Command | Group | Lazy

/** Declares a command. */
export function command<const O extends OptionTable = Record<never, never>, const A extends readonly ArgSpec[] = []>(
  spec: CommandSpec<O, A>,
): Command {
  const args = spec.args ?? []
  args.forEach((arg, index) => {
    if (arg.variadic && index !== args.length - 1) throw new Error(`argument '${arg.name}': only the last argument may be variadic`)
  })
  return {
    kind: 'command',
    summary: spec.summary,
    description: spec.description,
    args,
    options: spec.options ?? {},
    footer: spec.footer,
    run: spec.run as Command['run'],
  }
}

/** Declares a group of subcommands. */
export function group(spec: { summary?: string; description?: string; commands: Record<string, Node> }): Group {
  return { kind: 'group', ...spec }
}

/**
 * A child whose module is loaded only when it is run (or its help shown). The loader is a
 * `require` of the command's module, so `modforge profile` never loads the store's module.
 */
export function lazy(summary: string, load: () => Command | Group): Lazy {
  return { kind: 'lazy', summary, load }
}

function resolved(node: Node): Command | Group {
  return node.kind === 'lazy' ? node.load() : node
}

function summaryOf(node: Node): string {
  return node.summary ?? ''
}

// ---------------------------------------------------------------------------------------------
// Help
// ---------------------------------------------------------------------------------------------

/** `maxDepth` -> `max-depth`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)
}

function argUsage(arg: ArgSpec): string {
  if (arg.variadic) return arg.required ? `<${arg.name}...>` : `[${arg.name}...]`
  return arg.required ? `<${arg.name}>` : `[${arg.name}]`
}

function optionUsage(key: string, spec: OptionSpec): string {
  const short = spec.short ? `-${spec.short}, ` : '    '
  const value = spec.kind === 'flag' ? '' : ` ${spec.placeholder ?? (spec.kind === 'text' && spec.choices ? spec.choices.join('|') : 'VALUE')}`
  return `${short}--${flagName(key)}${value}`
}

function columns(rows: [string, string][], indent = '  '): string {
  const width = Math.max(...rows.map(([left]) => left.length))
  return rows.map(([left, right]) => `${indent}${left.padEnd(width)}  ${right}`.trimEnd()).join('\n')
}

/** The `--help` text of the command or group at `path` (`['store', 'inspect']`). */
export function helpText(program: string, path: readonly string[], node: Command | Group): string {
  const name = [program, ...path].join(' ')
  if (node.kind === 'group') {
    const rows = Object.entries(node.commands).map(([child, entry]): [string, string] => [child, summaryOf(entry)])
    return [
      `Usage: ${name} <command> [options]`,
      node.description ?? '',
      `Commands:\n${columns(rows)}`,
      `Run '${name} <command> --help' for the arguments and options of a command.`,
    ]
      .filter(Boolean)
      .join('\n\n')
  }
  const usage = [name, ...node.args.map(argUsage), '[options]'].join(' ')
  const parts = [`Usage: ${usage}`, node.description]
  if (node.args.length > 0) {
    const rows = node.args.map((arg): [string, string] => [arg.name, arg.default === undefined ? arg.description : `${arg.description} (default: ${arg.default})`])
    parts.push(`Arguments:\n${columns(rows)}`)
  }
  const options: [string, string][] = Object.entries(node.options).map(([key, spec]) => [optionUsage(key, spec), spec.description])
  options.push(['-h, --help', 'show this help'])
  parts.push(`Options:\n${columns(options)}`)
  if (node.footer) parts.push(node.footer)
  return parts.join('\n\n')
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
  TB: 1000 ** 4,
}

/**
 * A size as `du` reads it: `K`/`M`/`G`/`T` are powers of 1024, `KB`/`MB`/`GB`/`TB` powers of 1000
 * (`KiB`-style suffixes are accepted as the 1024-based units); `undefined` when unreadable.
 */
export function parseSize(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?$/i.exec(value.trim())
  if (!match) return undefined
  const factor = SIZE_UNITS[(match[2] ?? '').toUpperCase().replace('IB', '')]
  return factor === undefined ? undefined : Math.round(Number(match[1]) * factor)
}

function convert(key: string, spec: OptionSpec, raw: unknown, path: readonly string[]): unknown {
  const name = `--${flagName(key)}`
  if (raw === undefined) return spec.kind === 'flag' ? false : undefined
  switch (spec.kind) {
    case 'flag':
      return raw === true
    case 'text': {
      const value = raw as string
      if (spec.choices && !spec.choices.includes(value)) {
        const near = closest(value, spec.choices)
        throw new UsageError(`${name} expects one of ${spec.choices.join(', ')}, got '${value}'${near ? `; did you mean '${near}'?` : ''}`, path)
      }
      return value
    }
    case 'integer': {
      const value = raw as string
      const min = spec.min ?? 0
      const max = spec.max ?? Number.MAX_SAFE_INTEGER
      const number = /^\d+$/.test(value) ? Number(value) : Number.NaN
      if (!(number >= min && number <= max)) {
        const range = spec.max === undefined ? (min === 0 ? 'a non-negative integer' : `an integer >= ${min}`) : `an integer from ${min} to ${max}`
        throw new UsageError(`${name} expects ${range}, got '${value}'`, path)
      }
      return number
    }
    case 'size': {
      const value = parseSize(raw as string)
      if (value === undefined) throw new UsageError(`${name} expects a size such as 4096, 10K, 1.5M or 2GB, got '${raw}'`, path)
      return value
    }
    case 'list':
      return (raw as string[]).flatMap((value) => value.split(',')).map((value) => value.trim())
    case 'repeat':
      return raw
  }
}

type ParseConfig = NonNullable<Parameters<typeof parseArgs>[0]>['options']

function parseConfig(options: OptionTable): NonNullable<ParseConfig> {
  const config: NonNullable<ParseConfig> = { help: { type: 'boolean', short: 'h' } }
  for (const [key, spec] of Object.entries(options)) {
    config[flagName(key)] = {
      type: spec.kind === 'flag' ? 'boolean' : 'string',
      ...(spec.short ? { short: spec.short } : {}),
      ...(spec.kind === 'list' || spec.kind === 'repeat' ? { multiple: true } : {}),
    }
  }
  return config
}

/** The first option of `argv` the table does not know, as typed (`--maxdepth`, `-q`). */
function unknownOption(argv: string[], config: NonNullable<ParseConfig>): string | undefined {
  const { tokens } = parseArgs({ args: argv, options: config, allowPositionals: true, strict: false, tokens: true })
  const token = tokens.find((item) => item.kind === 'option' && !(item.name in config))
  return token?.kind === 'option' ? token.rawName : undefined
}

/** Parses `argv` against a command's table. */
export function parseCommand(command: Command, argv: string[], path: readonly string[]): { args: Record<string, unknown>; options: Record<string, unknown> } {
  const config = parseConfig(command.options)
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({ args: argv, options: config, allowPositionals: true, strict: true })
  } catch (error) {
    const code = (error as { code?: string }).code
    const typed = code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? unknownOption(argv, config) : undefined
    if (typed !== undefined) {
      const known = Object.keys(config).map((key) => `--${key}`)
      const near = typed.startsWith('--') ? closest(typed, known) : undefined
      throw new UsageError(`unknown option '${typed}'${near ? `; did you mean '${near}'?` : ''}`, path)
    }
    throw new UsageError((error as Error).message, path)
  }
  const options: Record<string, unknown> = {}
  for (const [key, spec] of Object.entries(command.options)) {
    options[key] = convert(key, spec, (parsed.values as Record<string, unknown>)[flagName(key)], path)
  }
  const positionals = [...parsed.positionals]
  const args: Record<string, unknown> = {}
  for (const arg of command.args) {
    if (arg.variadic) {
      args[arg.name] = positionals.splice(0)
      if (arg.required && (args[arg.name] as string[]).length === 0) throw new UsageError(`missing <${arg.name}>`, path)
      continue
    }
    const value = positionals.shift()
    if (value === undefined && arg.required) throw new UsageError(`missing <${arg.name}>`, path)
    args[arg.name] = value ?? arg.default
  }
  if (positionals.length > 0) {
    const takes = command.args.length === 0 ? 'takes no arguments' : `takes ${command.args.map(argUsage).join(' ')}`
    throw new UsageError(`unexpected argument '${positionals[0]}' (${[...path].join(' ')} ${takes})`, path)
  }
  return { args, options }
}

/** Whether `argv` asks for help (`-h` or `--help` before a `--`). */
function wantsHelp(argv: string[]): boolean {
  const end = argv.indexOf('--')
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === '--help' || arg === '-h')
}

/**
 * Resolves `argv` through the groups of `root` to a command, handles `--help` (and the word
 * `help` in front of a command path) once for every command, parses the rest and runs it.
 * Resolves to the exit code; throws {@link UsageError} for a bad command line.
 */
export async function runCommandLine(program: string, root: Group, argv: string[], context: CommandContext): Promise<number> {
  let rest = [...argv]
  const helpFirst = rest[0] === 'help'
  if (helpFirst) rest = rest.slice(1)
  let node: Command | Group = root
  const path: string[] = []
  while (node.kind === 'group') {
    const word = rest[0]
    if (word === undefined || word.startsWith('-')) {
      if (helpFirst || (word !== undefined && wantsHelp(rest))) {
        context.out(helpText(program, path, node))
        return 0
      }
      if (word !== undefined) throw new UsageError(`unknown option '${word}' (expected a command)`, path)
      context.err(helpText(program, path, node))
      return 2
    }
    const child: Node | undefined = Object.prototype.hasOwnProperty.call(node.commands, word) ? node.commands[word] : undefined
    if (!child) {
      const near = closest(word, Object.keys(node.commands))
      throw new UsageError(`unknown command '${[...path, word].join(' ')}'${near ? `; did you mean '${[...path, near].join(' ')}'?` : ''}`, path)
    }
    path.push(word)
    rest = rest.slice(1)
    node = resolved(child)
  }
  if (helpFirst || wantsHelp(rest)) {
    context.out(helpText(program, path, node))
    return 0
  }
  return node.run(parseCommand(node, rest, path), context)
}
