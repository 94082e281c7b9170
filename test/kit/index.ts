import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ClickHouseDriver, createHttpDriver, migrate } from '@keytrail/clickhouse';
import { sleep } from '@keytrail/core';
import { createKafka, ensureTopics, freePort, type Topics, topicNames } from '@keytrail/kafka';
import type { Consumer, Kafka } from 'kafkajs';
import { inject } from 'vitest';

export { freePort } from '@keytrail/kafka';

import { type ChdbHttpServer, startChdbHttpServer } from './chdbHttpServer.ts';

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

/**
 * The seed of a randomised test: KEYTRAIL_TEST_SEED when set (to replay a failure), else a fresh
 * one. Printed either way, so a failed run says how to replay it.
 */
export function testSeed(test: string): number {
  const seed = Number(process.env.KEYTRAIL_TEST_SEED ?? Date.now() % 1_000_000_007);
  console.log(`${test}: seed ${seed} (KEYTRAIL_TEST_SEED=${seed} replays it)`);
  return seed;
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

export interface ProjectorFixture {
  /** ClickHouse over HTTP (chdb behind it), migrated; `stop()`/`start()` make it go away and come back. */
  server: ChdbHttpServer;
  ch: ClickHouseDriver;
  /** This test's topic prefix (KEYTRAIL_TOPIC_PREFIX for the processes it starts). */
  prefix: string;
  kafka: Kafka;
  topics: Topics;
}

/**
 * The prologue and epilogue projector tests share: a migrated ClickHouse endpoint, this test's
 * topics on the suite's broker, and both closed after `body`, whatever it did.
 */
export async function withProjectorFixture<T>(
  name: string,
  body: (fixture: ProjectorFixture) => Promise<T>,
  options: { partitions?: number } = {},
): Promise<T> {
  const server = await startChdbHttpServer();
  const ch = createHttpDriver({ url: server.url });
  try {
    const prefix = uniquePrefix(name);
    const { kafka, topics } = await createTestKafka(prefix, options.partitions);
    await migrate(ch);
    return await body({ server, ch, prefix, kafka, topics });
  } finally {
    await ch.close();
    await server.close();
  }
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

/** Every process a test started and has not seen exit: killed when its file ends (see setup.ts). */
const spawned = new Set<ChildProcess>();
/** What each process of this file printed, exited or not: shown when a test fails (see setup.ts). */
const outputs: { args: string[]; pid: number | undefined; output: () => string }[] = [];

/** The last lines each process of this test file printed, for a failed test's report. */
export function outputOfSpawnedProcesses(tailChars = 6_000): string {
  return outputs
    .map(({ args, pid, output }) => {
      const text = output();
      const tail = text.length > tailChars ? `…${text.slice(-tailChars)}` : text;
      return `--- keytrail ${args.join(' ')} (pid ${pid}) printed:\n${tail || '(nothing)'}`;
    })
    .join('\n');
}

/** SIGKILLs whatever a test file left running (a failed test must not leak processes). */
export function killSpawnedProcesses(): void {
  for (const child of spawned)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  spawned.clear();
  outputs.length = 0;
}
process.once('exit', killSpawnedProcesses);

/** Runs `npx keytrail <args>` from the repository root as its own process. */
export function spawnKeytrail(args: string[], env: Record<string, string>): KeytrailProcess {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'services/cli/bin/keytrail.js'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, KEYTRAIL_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  outputs.push({ args, pid: child.pid, output: () => output });
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

/**
 * `keytrail up` on the suite's broker with topics and a data folder of its own, once it prints
 * its URL: the all-in-one a test talks to over HTTP.
 */
export async function startKeytrailUp(
  name: string,
  env: Record<string, string>,
): Promise<{ app: KeytrailProcess; url: string }> {
  const app = spawnKeytrail(['up'], {
    KEYTRAIL_KAFKA_BROKERS: testBrokers().join(','),
    KEYTRAIL_TOPIC_PREFIX: uniquePrefix(name),
    KEYTRAIL_DATA_DIR: tempDir(name),
    KEYTRAIL_PORT: String(await freePort()),
    ...env,
  });
  const url = (await app.waitForOutput(/Keytrail is up at (http:\/\/\S+)/))[1]!;
  return { app, url };
}

/** A distributed-mode service process (projector, alerter) and its /metrics. */
export interface ServiceProcess extends KeytrailProcess {
  /** Base URL of its /healthz, /readyz and /metrics. */
  url: string;
  /** The value of one Prometheus sample, e.g. metric('keytrail_projector_dlq_total', { reason: 'BAD_MAGIC' }). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

/** Runs `keytrail projector` (distributed mode) against the suite's broker and a ClickHouse URL. */
export function startProjector(options: {
  clickhouseUrl: string;
  topicPrefix: string;
  env?: Record<string, string>;
}): Promise<ServiceProcess> {
  return startService('projector', options);
}

/**
 * Runs one distributed-mode service (`keytrail projector`, `keytrail alerter`) against the
 * suite's broker and a ClickHouse URL, once it prints its URL; groups give up a dead member's
 * partitions after 6 s.
 */
export async function startService(
  command: 'projector' | 'alerter',
  options: { clickhouseUrl: string; topicPrefix: string; env?: Record<string, string> },
): Promise<ServiceProcess> {
  const process = spawnKeytrail([command], {
    KEYTRAIL_KAFKA_BROKERS: testBrokers().join(','),
    KEYTRAIL_CLICKHOUSE_URL: options.clickhouseUrl,
    KEYTRAIL_TOPIC_PREFIX: options.topicPrefix,
    KEYTRAIL_PORT: '0',
    KEYTRAIL_LOG_LEVEL: 'info',
    KEYTRAIL_PROJECTOR_SESSION_TIMEOUT_MS: '6000',
    ...options.env,
  });
  const url = (
    await process.waitForOutput(new RegExp(`keytrail ${command} running at (http://[^"\\s]+)`))
  )[1]!;
  return {
    ...process,
    url,
    async metric(name, labels = {}) {
      const text = await (await fetch(`${url}/metrics`)).text();
      const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      let total = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
        if (wanted.every((w) => line.includes(w))) total += Number(line.split(' ').at(-1));
      }
      return total;
    },
  };
}

/** Reads every message of a topic from the start (a fresh group), until `count` have arrived. */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  count: number,
  timeoutMs = 60_000,
): Promise<(import('kafkajs').KafkaMessage & { partition: number })[]> {
  const messages: (import('kafkajs').KafkaMessage & { partition: number })[] = [];
  const consumer = kafka.consumer({ groupId: `reader-${randomBytes(4).toString('hex')}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => void messages.push({ ...message, partition }),
    });
    await waitFor(`${count} messages on ${topic}`, () => messages.length >= count, timeoutMs);
    return messages;
  } finally {
    await consumer.disconnect();
  }
}

/**
 * Joins `groupId` as a plain kafkajs member (round-robin, as a projector before the plan-aware
 * assignor was) that takes `topic`'s partitions and processes nothing; resolves once it is in the
 * group. Disconnect it to leave.
 */
export async function joinGroupIdle(kafka: Kafka, groupId: string, topic: string): Promise<Consumer> {
  const member = kafka.consumer({ groupId });
  await member.connect();
  await member.subscribe({ topic, fromBeginning: true });
  const joined = new Promise((resolve) => member.on(member.events.GROUP_JOIN, resolve));
  await member.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => {} });
  await joined;
  return member;
}

/** A dead letter as tests check it: its key, original bytes and headers as text. */
export interface ReadDeadLetter {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

/** Reads `count` dead letters from the DLQ topic (readTopic), in the order the projector sent them. */
export async function readDeadLetters(
  kafka: Kafka,
  dlqTopic: string,
  count: number,
): Promise<ReadDeadLetter[]> {
  const messages = await readTopic(kafka, dlqTopic, count);
  return messages.map((message) => ({
    key: message.key!.toString(),
    value: message.value!,
    headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
  }));
}
