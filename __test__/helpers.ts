/** Shared helpers of the vitest specs: temporary folders, system tools, unprivileged children. */
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

/** The repository root (where package.json lives). */
export const ROOT = resolve(__dirname, '..')

/** Creates a temporary folder readable by every user (unprivileged children walk it too). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `modforge-${prefix}-`))
  chmodSync(dir, 0o755)
  return dir
}

/**
 * A temporary folder on a RAM file system when there is one (`/dev/shm`): for tests that need
 * many entries but not realistic disk behaviour, where creating files on a slow disk would
 * dominate the test time.
 */
export function scratchDir(prefix: string): string {
  if (!existsSync('/dev/shm')) return tempDir(prefix)
  const dir = mkdtempSync(join('/dev/shm', `modforge-${prefix}-`))
  chmodSync(dir, 0o755)
  return dir
}

/** Removes a folder tree, first making every folder searchable again (trees contain mode-000 folders). */
export function removeTree(dir: string): void {
  spawnSync('chmod', ['-R', 'u+rwx', dir])
  rmSync(dir, { recursive: true, force: true })
}

/** Output of a system command (throws on a non-zero exit unless `allowFailure`). */
export function sh(command: string, args: string[], allowFailure = false): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 28 })
  if (result.error) throw result.error
  if (result.status !== 0 && !allowFailure) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`)
  }
  return result.stdout
}

/** GNU du's total for `dir` with the given space-separated flags (`-sb`, `-sB1 -l`, ...). */
export function du(flags: string, dir: string): number {
  // du exits 1 when some entry could not be read; its total is still printed.
  const output = sh('du', [...flags.split(' '), dir], true)
  const total = Number(output.split('\t')[0])
  if (!Number.isInteger(total) || output === '') throw new Error(`du ${flags} ${dir} printed no total`)
  return total
}

/** Entries of each kind as `find` counts them (`-type f`, `-type d`, `-type l`). */
export function findCount(dir: string, type: 'f' | 'd' | 'l'): number {
  // One byte per entry, so names containing newlines are counted right.
  return sh('find', [dir, '-type', type, '-printf', '.'], true).length
}

/** GNU tools (`du`, `find -printf`), `setpriv` and `/proc` semantics are available. */
export const onLinux = process.platform === 'linux'

/** Symbolic links, hard links and Unix permissions work without special privileges. */
export const onPosix = process.platform !== 'win32'

/** Whether this process runs as root (then unprivileged cases run in a child that drops root). */
export const isRoot = process.getuid?.() === 0

/**
 * Runs `script` (CommonJS, with `modforge` resolvable as `require(MODFORGE)`) in a Node child process
 * as uid/gid 65534 when this process is root, else as this user; returns its parsed JSON output.
 */
export function runUnprivileged<T>(script: string): T {
  const node = process.execPath
  const program = `const MODFORGE = ${JSON.stringify(ROOT)};\n${script}`
  const command = isRoot ? 'setpriv' : node
  const args = isRoot
    ? ['--reuid=65534', '--regid=65534', '--clear-groups', node, '-e', program]
    : ['-e', program]
  const output = execFileSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 26 })
  return JSON.parse(output) as T
}
