import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (pure logic, next to the code) and `integration` (test/, against a real
 * Kafka broker and the real ClickHouse engine). Forks, not threads: chdb is a native, per-process
 * engine, so every test file gets a process of its own.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/kit/globalSetup.ts'],
          setupFiles: ['test/kit/setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
