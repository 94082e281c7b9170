import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeytrailError, sleep } from '@keytrail/core';
import { Kafka, logLevel as KafkaLogLevel } from 'kafkajs';
import { ensureKafkaJars, kafkaVersion } from './jars.ts';
import { freePort, isPortFree } from './ports.ts';

export interface LocalBrokerOptions {
  /** Folder for the broker's data, config and logs (created when missing; reused across restarts). */
  dataDir: string;
  /** Jar cache folder (default ~/.cache/keytrail). */
  cacheDir?: string;
  /** Max heap, e.g. "512m". */
  heap?: string;
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface LocalBroker {
  /** `127.0.0.1:<port>`; stable across stop/start. */
  readonly brokers: string[];
  readonly dataDir: string;
  readonly pid: number | undefined;
  start(): Promise<void>;
  /** SIGTERM, then SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL at once: a crash, for fault tests. */
  kill(): Promise<void>;
  /**
   * Calls `listener` when the broker process exits without stop() or kill() having asked it to
   * (killed from outside, out of memory, a crash): its owner decides whether to start it again.
   */
  onUnexpectedExit(listener: (exit: { code: number | null; signal: string | null }) => void): void;
  /** Files that say why the broker failed: its stdout/stderr and its server log. */
  readonly logFiles: string[];
}

interface BrokerState {
  clusterId: string;
  brokerPort: number;
  controllerPort: number;
}

/**
 * A Kafka cluster id: 16 random bytes, base64url without padding (Kafka's Uuid format). Like
 * Kafka's Uuid.randomUuid(), never one starting with "-": StorageTool would read it as an option.
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** True while a process with this pid exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return true;
    await sleep(100);
  }
  return !processAlive(pid);
}

function tail(file: string, bytes = 3000): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '';
  }
}

/**
 * A single-node KRaft Apache Kafka broker run from Kafka's own jars: for `keytrail up` without
 * KEYTRAIL_KAFKA_BROKERS, and for the test suite. Keeps its cluster id, ports and data across
 * restarts, and cleans up a broker left behind by a parent that was killed.
 */
export function createLocalBroker(options: LocalBrokerOptions): LocalBroker {
  const dir = options.dataDir;
  const statePath = join(dir, 'state.json');
  const pidPath = join(dir, 'broker.pid');
  const logDirs = join(dir, 'logs');
  const configPath = join(dir, 'server.properties');
  const outPath = join(dir, 'broker.out');
  const log = options.log ?? (() => {});
  let child: ChildProcess | undefined;
  let state: BrokerState | undefined;
  let exitHook: (() => void) | undefined;
  const exitListeners: ((exit: { code: number | null; signal: string | null }) => void)[] = [];

  const readState = (): BrokerState | undefined => {
    try {
      return JSON.parse(readFileSync(statePath, 'utf8')) as BrokerState;
    } catch {
      return undefined;
    }
  };

  /**
   * A broker from an earlier, killed parent still holding our data dir: stop it. Only when the
   * process that started it is gone: a broker whose owner runs belongs to that owner.
   */
  const killStale = async (): Promise<void> => {
    if (!existsSync(pidPath)) return;
    const [pid = 0, owner = 0] = readFileSync(pidPath, 'utf8').trim().split(/\s+/).map(Number);
    if (owner > 0 && owner !== process.pid && processAlive(owner)) {
      throw new KeytrailError(
        'UNAVAILABLE',
        `The Kafka broker in ${dir} (pid ${pid}) belongs to a running process (pid ${owner}); not touching it.`,
      );
    }
    if (pid > 0 && processAlive(pid) && readCmdline(pid).includes(configPath)) {
      log(`Stopping a stale Kafka broker (pid ${pid}) left by an earlier run…`);
      process.kill(pid, 'SIGTERM');
      if (!(await waitForExit(pid, 15_000))) {
        process.kill(pid, 'SIGKILL');
        await waitForExit(pid, 5_000);
      }
    }
    rmSync(pidPath, { force: true });
  };

  const choosePorts = async (previous: BrokerState | undefined): Promise<BrokerState> => {
    const clusterId = previous?.clusterId ?? newClusterId();
    if (previous && (await isPortFree(previous.brokerPort)) && (await isPortFree(previous.controllerPort))) {
      return previous;
    }
    const brokerPort = await freePort();
    let controllerPort = await freePort();
    while (controllerPort === brokerPort) controllerPort = await freePort();
    if (previous)
      log(
        `Kafka ports ${previous.brokerPort}/${previous.controllerPort} are taken; moving to ${brokerPort}/${controllerPort}.`,
      );
    return { clusterId, brokerPort, controllerPort };
  };

  const writeConfig = (s: BrokerState): void => {
    const properties = {
      'process.roles': 'broker,controller',
      'node.id': '1',
      'controller.quorum.voters': `1@127.0.0.1:${s.controllerPort}`,
      listeners: `PLAINTEXT://127.0.0.1:${s.brokerPort},CONTROLLER://127.0.0.1:${s.controllerPort}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${s.brokerPort}`,
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': 'PLAINTEXT',
      'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      'log.dirs': logDirs,
      'num.partitions': '3',
      'auto.create.topics.enable': 'false',
      'offsets.topic.replication.factor': '1',
      'offsets.topic.num.partitions': '6',
      'transaction.state.log.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
      'transaction.state.log.num.partitions': '3',
      // A single local node: no reason to wait for more group members before the first rebalance.
      'group.initial.rebalance.delay.ms': '0',
      'log.retention.check.interval.ms': '300000',
      'shutdown.delay.ms': '0',
    };
    writeFileSync(
      configPath,
      `${Object.entries(properties)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n')}\n`,
    );
    writeFileSync(
      join(dir, 'log4j.properties'),
      [
        'log4j.rootLogger=WARN, file',
        'log4j.appender.file=org.apache.log4j.RollingFileAppender',
        `log4j.appender.file.File=${join(dir, 'server.log')}`,
        'log4j.appender.file.MaxFileSize=10MB',
        'log4j.appender.file.MaxBackupIndex=2',
        'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
        'log4j.logger.kafka.server.KafkaRaftServer=INFO',
        '',
      ].join('\n'),
    );
  };

  const java = (libs: string, mainClass: string, args: string[], heap: string): string[] => [
    `-Xms128m`,
    `-Xmx${heap}`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`,
    '-cp',
    `${libs}/*`,
    mainClass,
    ...args,
  ];

  const waitReady = async (s: BrokerState, timeoutMs: number): Promise<void> => {
    const kafka = new Kafka({
      clientId: 'keytrail-local-broker-probe',
      brokers: [`127.0.0.1:${s.brokerPort}`],
      logLevel: KafkaLogLevel.NOTHING,
      connectionTimeout: 1_000,
      retry: { retries: 0 },
    });
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (child?.exitCode !== null && child?.exitCode !== undefined) {
        throw new KeytrailError(
          'UNAVAILABLE',
          `Kafka broker exited with code ${child.exitCode} while starting:\n${tail(outPath)}\n${tail(join(dir, 'server.log'))}`,
        );
      }
      const admin = kafka.admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length > 0 && cluster.controller !== null) return;
      } catch (err) {
        lastError = err;
      } finally {
        await admin.disconnect().catch(() => {});
      }
      await sleep(250);
    }
    throw new KeytrailError(
      'UNAVAILABLE',
      `Kafka broker not ready after ${timeoutMs} ms: ${String(lastError)}\n${tail(outPath)}`,
    );
  };

  const broker: LocalBroker = {
    get brokers() {
      const s = state ?? readState();
      return s ? [`127.0.0.1:${s.brokerPort}`] : [];
    },
    get dataDir() {
      return dir;
    },
    get pid() {
      return child?.pid;
    },
    get logFiles() {
      return [outPath, join(dir, 'server.log')];
    },
    onUnexpectedExit(listener) {
      exitListeners.push(listener);
    },
    async start() {
      if (child && child.exitCode === null) return;
      const version = kafkaVersion();
      const libs = await ensureKafkaJars({
        ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
        version,
        log,
      });
      mkdirSync(logDirs, { recursive: true });
      await killStale();
      state = await choosePorts(readState());
      writeFileSync(statePath, JSON.stringify(state, null, 2));
      writeConfig(state);
      const heap = options.heap ?? '768m';
      if (!existsSync(join(logDirs, 'meta.properties'))) {
        const format = spawnSync(
          'java',
          java(
            libs,
            'kafka.tools.StorageTool',
            ['format', '-t', state.clusterId, '-c', configPath, '--ignore-formatted'],
            '256m',
          ),
          { encoding: 'utf8' },
        );
        if (format.status !== 0) {
          throw new KeytrailError(
            'UNAVAILABLE',
            `kafka StorageTool format failed: ${format.stderr || format.stdout}`,
          );
        }
      }
      const out = openSync(outPath, 'a');
      child = spawn('java', java(libs, 'kafka.Kafka', [configPath], heap), { stdio: ['ignore', out, out] });
      const started = child;
      started.once('exit', (code, signal) => {
        // stop() and kill() forget the child first: an exit of the current child is unexpected.
        if (child !== started) return;
        child = undefined;
        if (exitHook) process.removeListener('exit', exitHook);
        for (const listener of exitListeners) listener({ code, signal });
      });
      // "<broker pid> <owner pid>": a later start may stop the broker only once its owner is gone.
      writeFileSync(pidPath, `${started.pid} ${process.pid}`);
      // Last resort if our process exits without stop(): never leave a broker behind.
      exitHook = () => {
        if (started.exitCode === null) started.kill('SIGKILL');
      };
      process.once('exit', exitHook);
      log(`Starting Kafka ${version} (KRaft) on 127.0.0.1:${state.brokerPort}…`);
      await waitReady(state, options.readyTimeoutMs ?? 90_000);
    },
    async stop(timeoutMs = 15_000) {
      const running = child;
      child = undefined;
      if (exitHook) process.removeListener('exit', exitHook);
      if (!running || running.exitCode !== null || running.pid === undefined) {
        rmSync(pidPath, { force: true });
        return;
      }
      running.kill('SIGTERM');
      if (!(await waitForExit(running.pid, timeoutMs))) {
        running.kill('SIGKILL');
        await waitForExit(running.pid, 5_000);
      }
      rmSync(pidPath, { force: true });
    },
    async kill() {
      const running = child;
      child = undefined;
      if (exitHook) process.removeListener('exit', exitHook);
      if (!running?.pid || running.exitCode !== null) return;
      running.kill('SIGKILL');
      await waitForExit(running.pid, 5_000);
      rmSync(pidPath, { force: true });
    },
  };
  return broker;
}
