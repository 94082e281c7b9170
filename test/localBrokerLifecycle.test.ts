import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createKafka, createLocalBroker, ensureKafkaJars, isPortFree, processAlive } from '@keytrail/kafka';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, tempDir, waitFor } from './kit/index.ts';

async function produceAndCount(brokers: string[], topic: string, send: number): Promise<number> {
  const kafka = createKafka({ brokers, clientId: 'broker-lifecycle-test' });
  const admin = kafka.admin();
  await admin.connect();
  if (!(await admin.listTopics()).includes(topic))
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  if (send > 0) {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: send }, (_, i) => ({ value: String(i) })),
    });
    await producer.disconnect();
  }
  const [partition] = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  return Number(partition!.high);
}

describe('managed local Kafka broker', () => {
  const dirs: string[] = [];
  afterAll(() => {
    // Brokers are stopped inside each test; nothing to do but note the folders for debugging.
    if (process.env.KEYTRAIL_KEEP_TEST_DIRS) console.log(dirs);
  });

  it('stops and starts again on the same port with its data and cluster id', async () => {
    const dir = tempDir('broker-restart');
    dirs.push(dir);
    const broker = createLocalBroker({ dataDir: dir });
    await broker.start();
    const brokers = broker.brokers;
    const clusterId = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).clusterId;
    expect(await produceAndCount(brokers, 'restart-keeps-data', 25)).toBe(25);
    await broker.stop();
    expect(await isPortFree(Number(brokers[0]!.split(':')[1]))).toBe(true);
    await broker.start();
    expect(broker.brokers).toEqual(brokers);
    expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).clusterId).toBe(clusterId);
    expect(await produceAndCount(brokers, 'restart-keeps-data', 0)).toBe(25);
    await broker.stop();
  });

  it('cleans up a broker left behind by a parent that was SIGKILLed', async () => {
    const dir = tempDir('broker-stale');
    dirs.push(dir);
    // A parent process that starts a broker and is then killed without a chance to stop it.
    const parent = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import('@keytrail/kafka').then(async ({ createLocalBroker }) => { const b = createLocalBroker({ dataDir: ${JSON.stringify(dir)} }); await b.start(); console.log('READY ' + b.pid); setInterval(() => {}, 1000); });`,
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    parent.stdout!.on('data', (d) => (out += d));
    const stalePid = Number(
      await waitFor('parent broker ready', () => /READY (\d+)/.exec(out)?.[1], 120_000),
    );
    parent.kill('SIGKILL');
    await waitFor('parent gone', () => parent.exitCode !== null || parent.signalCode !== null);
    expect(processAlive(stalePid)).toBe(true); // the orphan is still running and holds the data dir

    const broker = createLocalBroker({ dataDir: dir });
    await broker.start();
    expect(processAlive(stalePid)).toBe(false);
    expect(broker.pid).not.toBe(stalePid);
    expect(await produceAndCount(broker.brokers, 'after-stale', 3)).toBe(3);
    await broker.stop();
    expect(existsSync(join(dir, 'broker.pid'))).toBe(false);
  });

  it('says what to install, or to set KEYTRAIL_KAFKA_BROKERS, when Maven is missing', async () => {
    // A PATH with java on it but not mvn.
    const bin = tempDir('java-only-bin');
    symlinkSync(
      execFileSync('bash', ['-c', 'command -v java'], { encoding: 'utf8' }).trim(),
      join(bin, 'java'),
    );
    const path = process.env.PATH;
    process.env.PATH = bin;
    try {
      await expect(ensureKafkaJars({ cacheDir: tempDir('no-maven-cache') })).rejects.toThrow(
        /Maven \(mvn\).*KEYTRAIL_KAFKA_BROKERS/s,
      );
    } finally {
      process.env.PATH = path;
    }
  });

  it('says what to install, or to set KEYTRAIL_KAFKA_BROKERS, when Java is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(ensureKafkaJars({ cacheDir: tempDir('no-java-cache') })).rejects.toThrow(
        /Java 17.*KEYTRAIL_KAFKA_BROKERS/s,
      );
    } finally {
      process.env.PATH = path;
    }
  });
});
