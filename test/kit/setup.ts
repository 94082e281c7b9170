import { afterAll, beforeEach } from 'vitest';
import { killSpawnedProcesses, outputOfSpawnedProcesses } from './index.ts';

// A failed test prints what the processes of its file said: a timeout in CI is otherwise
// a bare "timed out waiting for …" with the cause gone with the process.
beforeEach(({ onTestFailed }) => {
  onTestFailed(() => {
    const report = outputOfSpawnedProcesses();
    if (report) console.error(report);
  });
});

// Whatever a test file started, it stops — even when an assertion failed before its own cleanup.
afterAll(() => killSpawnedProcesses());
