import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end files start real brokers and external clients; two cores, so keep parallelism modest.
    maxWorkers: 2,
    pool: 'forks',
    // The default report, plus one plain summary line that CI reads.
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
})
