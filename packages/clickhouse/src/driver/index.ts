import { join } from 'node:path';
import type { DeduplicationRepair } from './deduplicationLog.ts';
import { createEmbeddedDriver } from './embedded.ts';
import { createHttpDriver } from './http.ts';
import type { ClickHouseDriver } from './types.ts';

export * from './deduplicationLog.ts';
export * from './embedded.ts';
export * from './errors.ts';
export * from './http.ts';
export * from './types.ts';

/** HTTP when a URL is configured, else embedded chdb under `<dataDir>/clickhouse`. */
export function createClickHouseDriver(options: {
  url?: string | undefined;
  dataDir: string;
  onDeduplicationRepair?: (repair: DeduplicationRepair) => void;
}): ClickHouseDriver {
  return options.url
    ? createHttpDriver({ url: options.url })
    : createEmbeddedDriver({
        path: join(options.dataDir, 'clickhouse'),
        onDeduplicationRepair: options.onDeduplicationRepair,
      });
}
