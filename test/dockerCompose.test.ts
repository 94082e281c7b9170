import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS } from '@keytrail/cli/commands';
import { CONFIG_VARIABLES } from '@keytrail/core';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from './kit/index.ts';

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string | number>;
  build?: { dockerfile_inline?: string };
}

const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const keytrailServices = Object.entries(compose.services).filter(([, s]) => s.image === 'keytrail:local');

describe('docker-compose.yml (distributed mode)', () => {
  it('runs one container per Keytrail service, plus official Kafka and ClickHouse images', () => {
    expect(keytrailServices.map(([name]) => name).sort()).toEqual([
      'alerter',
      'api',
      'ingest',
      'migrate',
      'projector',
    ]);
    expect(compose.services.kafka?.image).toMatch(/^apache\/kafka:/);
    expect(compose.services.clickhouse?.image).toMatch(/^clickhouse\/clickhouse-server:/);
  });

  it.each(keytrailServices)('%s runs an existing keytrail command', (_name, service) => {
    expect(service.build?.dockerfile_inline).toMatch(/ENTRYPOINT \["npx", "keytrail"\]/);
    expect(service.command).toHaveLength(1);
    expect(COMMANDS).toContain(service.command![0]);
  });

  it.each(keytrailServices)(
    '%s is configured only through documented KEYTRAIL_* variables',
    (_name, service) => {
      for (const variable of Object.keys(service.environment ?? {}))
        expect(CONFIG_VARIABLES).toContain(variable);
    },
  );

  it('gives every service that needs them Kafka and ClickHouse', () => {
    const env = (name: string) => compose.services[name]!.environment ?? {};
    expect(env('ingest').KEYTRAIL_KAFKA_BROKERS).toBe('kafka:9092');
    expect(env('projector').KEYTRAIL_KAFKA_BROKERS).toBe('kafka:9092');
    expect(env('projector').KEYTRAIL_CLICKHOUSE_URL).toMatch(/^http:\/\/.*@clickhouse:8123\//);
    expect(env('api').KEYTRAIL_CLICKHOUSE_URL).toMatch(/^http:\/\/.*@clickhouse:8123\//);
    expect(env('alerter').KEYTRAIL_KAFKA_BROKERS).toBe('kafka:9092');
    expect(env('alerter').KEYTRAIL_CLICKHOUSE_URL).toMatch(/^http:\/\/.*@clickhouse:8123\//);
    // The api seals webhook secrets and the alerter opens them: one key for both.
    expect(env('alerter').KEYTRAIL_SECRET_KEY).toBe(env('api').KEYTRAIL_SECRET_KEY);
  });
});
