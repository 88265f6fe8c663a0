import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['__test__/**/*.spec.ts'],
    // Tests build real trees and data sets on disk; give them room on slow CI machines.
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Spec files run in forked processes (native addon state stays per file).
    pool: 'forks',
  },
})
