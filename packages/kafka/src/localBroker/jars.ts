import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeytrailError } from '@keytrail/core';

/** The Kafka release the managed broker runs; README "Kafka version" says why this one. */
export const DEFAULT_KAFKA_VERSION = '3.9.2';

/** KEYTRAIL_KAFKA_VERSION overrides the release, to run the suite against another broker line (4.x). */
export function kafkaVersion(): string {
  const version = process.env.KEYTRAIL_KAFKA_VERSION?.trim() || DEFAULT_KAFKA_VERSION;
  if (!/^\d+\.\d+\.\d+$/.test(version))
    throw new KeytrailError('BAD_REQUEST', `KEYTRAIL_KAFKA_VERSION "${version}" is not x.y.z`);
  return version;
}
export const POM_PATH = fileURLToPath(new URL('../../maven/pom.xml', import.meta.url));

/** Where fetched jars are kept across clones and runs: $KEYTRAIL_CACHE_DIR or ~/.cache/keytrail. */
export function defaultCacheDir(): string {
  return (
    process.env.KEYTRAIL_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'keytrail')
  );
}

function missingTool(tool: string, hint: string): KeytrailError {
  return new KeytrailError(
    'UNAVAILABLE',
    `The managed Kafka broker needs ${tool}, which was not found on PATH. ${hint} ` +
      'Or point Keytrail at an existing Kafka with KEYTRAIL_KAFKA_BROKERS=host:port.',
  );
}

/** Throws a clear error when Java 17+ is missing. */
export function checkJava(): void {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (result.error || result.status !== 0)
    throw missingTool('Java 17 or newer', 'Install a JDK (e.g. apt-get install openjdk-17-jre-headless).');
  const match = /version "(\d+)/.exec(result.stderr);
  if (match && Number(match[1]) < 17)
    throw missingTool(`Java 17 or newer (found ${match[1]})`, 'Install a newer JDK.');
}

function checkMaven(): void {
  const result = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (result.error || result.status !== 0)
    throw missingTool('Maven (mvn)', 'Install Maven (e.g. apt-get install maven).');
}

/**
 * Returns the folder holding Kafka's jars, fetching them from Maven Central the first time
 * (into a temp folder, renamed when complete, so an interrupted fetch is never used).
 */
export async function ensureKafkaJars(
  options: { cacheDir?: string; version?: string; log?: (line: string) => void } = {},
): Promise<string> {
  const version = options.version ?? kafkaVersion();
  const root = join(options.cacheDir ?? defaultCacheDir(), `kafka-${version}`);
  const libs = join(root, 'libs');
  if (existsSync(join(libs, '.complete'))) return libs;
  checkJava();
  checkMaven();
  mkdirSync(root, { recursive: true });
  const staging = join(root, `libs.partial-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  options.log?.(`Fetching Apache Kafka ${version} jars from Maven Central (once; cached in ${root})…`);
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        POM_PATH,
        `-Dkafka.version=${version}`,
        'dependency:copy-dependencies',
        `-DoutputDirectory=${staging}`,
        '-DincludeScope=runtime',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (status) => {
      if (status !== 0) options.log?.(output.slice(-4000));
      resolve(status);
    });
  });
  if (code !== 0 || !existsSync(staging) || !readdirSync(staging).some((f) => f.startsWith('kafka_2.13'))) {
    throw new KeytrailError(
      'UNAVAILABLE',
      `mvn could not fetch the Kafka ${version} jars (exit ${code}); is Maven Central reachable?`,
    );
  }
  writeFileSync(join(staging, '.complete'), `${new Date().toISOString()}\n`);
  try {
    renameSync(staging, libs);
  } catch {
    // Another process finished first; use its copy.
    rmSync(staging, { recursive: true, force: true });
  }
  return libs;
}
