import { resolve } from 'node:path'

import { defineConfig } from 'vitest/config'

const dist = resolve(import.meta.dirname, 'dist')

export default defineConfig({
  resolve: {
    // The specs import the package by its name, as a consumer does: the built `dist/` (`npm test`
    // builds it first), through the same entry points as the `exports` map of package.json.
    alias: [
      { find: /^modforge$/, replacement: resolve(dist, 'index.js') },
      { find: /^modforge\/(profile|store|dataset|generate|overlay|rom|icons)$/, replacement: resolve(dist, 'src/$1.js') },
    ],
  },
  test: {
    include: ['__test__/**/*.spec.ts'],
    // Tests build real trees and data sets on disk; give them room on slow CI machines.
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Spec files run in forked processes (native addon state stays per file).
    pool: 'forks',
    server: {
      deps: {
        // The compiled package runs as Node runs it (CommonJS), not transformed.
        external: [/\/dist\//],
      },
    },
  },
})
