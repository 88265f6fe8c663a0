/**
 * The command tree of `modforge`. Each entry names its module, loaded only when that command runs
 * (or its help is shown): `modforge profile` loads the profiler and nothing else. A capability
 * adds its commands with one line here and one module beside this file.
 */
import { group, lazy } from './framework'

/** `modforge <command>`. */
export const modforge = group({
  description: 'Native-speed building blocks for game-modding tools and asset pipelines.',
  commands: {
    profile: lazy('profile a folder tree: counts, sizes, extensions, largest files, errors', () => (require('./profile') as typeof import('./profile')).profileCommand),
    store: lazy('inspect, verify, build and clean snapshot files', () => (require('./store') as typeof import('./store')).storeCommands),
    generate: lazy('write seeded test data: a folder tree or a CSV data set', () => (require('./generate') as typeof import('./generate')).generateCommands),
    overlay: lazy('build League of Legends WAD overlays from mods; analyse a mod', () => (require('./overlay') as typeof import('./overlay')).overlayCommands),
    wad: lazy('list and extract League of Legends WAD archives', () => (require('./overlay') as typeof import('./overlay')).wadCommands),
    icons: lazy('NWN2 resources with engine precedence and the WebP icon cache', () => (require('./icons') as typeof import('./icons')).iconsCommands),
    erf: lazy('list or extract the resources of an ERF, HAK, MOD, SAV or NWM archive', () => (require('./erf') as typeof import('./erf')).erfCommands),
    rom: lazy('SNES ROMs: header, HAL blocks, scanning, tile sheets', () => (require('./rom') as typeof import('./rom')).romCommands),
    hal: lazy('HAL compression of SNES games: decompress and compress (exhal/inhal)', () => (require('./hal') as typeof import('./hal')).halCommands),
    demo: lazy('run every capability on generated sample data and show the timings', () => (require('./demo') as typeof import('./demo')).demoCommand),
  },
})
