import { afterAll } from 'vitest';
import { killSpawnedProcesses } from './index.ts';

// Whatever a test file started, it stops — even when an assertion failed before its own cleanup.
afterAll(() => killSpawnedProcesses());
