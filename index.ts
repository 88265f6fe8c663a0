/// <reference types="node" preserve="true" />
/**
 * modforge: native-speed building blocks for game-modding tools and asset pipelines.
 *
 * The public entry: every capability's functions and types. Each capability is also its own
 * entry point (`modforge/profile`, `modforge/store`, `modforge/dataset`, `modforge/generate`,
 * `modforge/overlay`, `modforge/rom`, `modforge/icons`),
 * which loads only that part.
 *
 * Every error thrown or rejected carries a stable `code` (see {@link ErrorCode}). Promise-returning
 * functions never throw: a bad argument rejects with `ERR_MODFORGE_INVALID_ARG`.
 */
import { startCodeCache, stopCodeCache } from './src/internal/code-cache'

// The capabilities compile from the build's V8 code cache when it fits this Node (docs/startup.md).
startCodeCache()
export * from './src/errors'
export * from './src/progress'
export * from './src/profile'
export * from './src/store'
export * from './src/dataset'
export * from './src/generate'
export * from './src/overlay'
export * from './src/rom'
export * from './src/icons'
stopCodeCache()
