/**
 * Which prebuilt platform package this machine needs (`modforge-linux-x64-gnu`, ...): the names
 * `napi create-npm-dirs` gives the `npm/<platform>` folders, from the process's platform,
 * architecture and C library.
 */
import { readFileSync } from 'node:fs'

/** This machine as the platform packages distinguish it. */
export interface Platform {
  /** `process.platform`. */
  platform: string
  /** `process.arch`. */
  arch: string
  /** The C library on Linux (`glibc` or `musl`); `undefined` elsewhere. */
  libc: 'glibc' | 'musl' | undefined
  /** The suffix of the platform package and binary (`linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`). */
  suffix: string
}

/** Whether the C library is musl: `/usr/bin/ldd` names it, or the process report lists no glibc. */
function isMusl(): boolean {
  try {
    return readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
    return !report?.header?.glibcVersionRuntime
  }
}

/** The platform of this process (reads the C library only on Linux). */
export function currentPlatform(): Platform {
  const { platform, arch } = process
  if (platform === 'linux') {
    const libc = isMusl() ? 'musl' : 'glibc'
    const abi = arch === 'arm' ? (libc === 'musl' ? 'musleabihf' : 'gnueabihf') : libc === 'musl' ? 'musl' : 'gnu'
    return { platform, arch, libc, suffix: `linux-${arch}-${abi}` }
  }
  if (platform === 'win32') return { platform, arch, libc: undefined, suffix: `win32-${arch}-msvc` }
  return { platform, arch, libc: undefined, suffix: `${platform}-${arch}` }
}

const ARCHES: Record<string, string> = { x86_64: 'x64', aarch64: 'arm64', i686: 'ia32', armv7: 'arm' }

/** The package suffix of a Rust target triple of the `napi.targets` list (`x86_64-unknown-linux-gnu` -> `linux-x64-gnu`). */
export function suffixOfTarget(target: string): string {
  const [cpu, , system, abi] = target.split('-')
  const arch = ARCHES[cpu] ?? cpu
  if (system === 'linux') return `linux-${arch}-${abi}`
  if (system === 'darwin') return `darwin-${arch}`
  if (system === 'windows') return `win32-${arch}-${abi}`
  return `${system}-${arch}`
}
