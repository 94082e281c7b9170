import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalBroker, type LocalBroker } from '@keytrail/kafka';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Bootstrap servers of the real broker every integration test uses. */
    kafkaBrokers: string[];
  }
}

let broker: LocalBroker | undefined;
let dataDir: string | undefined;

/**
 * One real Apache Kafka broker for the whole integration suite: KEYTRAIL_KAFKA_BROKERS when set,
 * else a managed local broker started from Kafka's jars. Tests isolate themselves by topic prefix.
 */
export async function setup(project: TestProject): Promise<void> {
  const given = process.env.KEYTRAIL_KAFKA_BROKERS?.split(',').filter(Boolean);
  if (given?.length) {
    project.provide('kafkaBrokers', given);
    return;
  }
  dataDir = mkdtempSync(join(tmpdir(), 'keytrail-test-broker-'));
  broker = createLocalBroker({ dataDir, heap: '1g', log: (line) => console.log(`[kafka] ${line}`) });
  const started = Date.now();
  await broker.start();
  console.log(`[kafka] broker ready at ${broker.brokers.join(',')} in ${Date.now() - started} ms`);
  project.provide('kafkaBrokers', broker.brokers);
}

export async function teardown(): Promise<void> {
  await broker?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
