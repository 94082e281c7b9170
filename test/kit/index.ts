import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '@keytrail/core';
import { createKafka, ensureTopics, type Topics, topicNames } from '@keytrail/kafka';
import type { Kafka } from 'kafkajs';
import { inject } from 'vitest';

export { freePort } from '@keytrail/kafka';
export * from './chdbHttpServer.ts';
export * from './traffic.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The suite's real broker (see globalSetup.ts). */
export function testBrokers(): string[] {
  return inject('kafkaBrokers');
}

/** A topic prefix no other test uses, so tests share one broker without seeing each other. */
export function uniquePrefix(name: string): string {
  return `test.${name}.${randomBytes(4).toString('hex')}.`;
}

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `keytrail-${name}-`));
}

/** A kafkajs client on the suite's broker with this test's topics created. */
export async function createTestKafka(
  prefix: string,
  partitions = 3,
): Promise<{ kafka: Kafka; topics: Topics }> {
  const kafka = createKafka({ brokers: testBrokers(), clientId: `test-${prefix}` });
  const topics = topicNames(prefix);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topics, { partitions, replicationFactor: 1 });
  } finally {
    await admin.disconnect();
  }
  return { kafka, topics };
}

/** Polls `check` until it returns a value other than undefined/false, or fails with `what`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export interface KeytrailProcess {
  child: ChildProcess;
  output(): string;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  terminate(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Runs `npx keytrail <args>` from the repository root as its own process. */
export function spawnKeytrail(args: string[], env: Record<string, string>): KeytrailProcess {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'services/cli/bin/keytrail.js'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, KEYTRAIL_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return {
    child,
    output: () => output,
    waitForOutput: (pattern, timeoutMs = 120_000) =>
      waitFor(
        `output ${pattern}`,
        () => {
          if (child.exitCode !== null) throw new Error(`keytrail exited (${child.exitCode}):\n${output}`);
          return pattern.exec(output) ?? undefined;
        },
        timeoutMs,
        50,
      ),
    exited,
    async terminate(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
