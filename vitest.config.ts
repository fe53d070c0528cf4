// vitest: unit and integration tests. Integration test files run in parallel: each makes its own bus and dirs.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // journald and auditd, started when missing and left running: tests read records back from them.
    globalSetup: ['test/setup/system-services.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
