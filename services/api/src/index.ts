import type { ClickHouseDriver } from '@keytrail/clickhouse';
import type { FastifyInstance } from 'fastify';
import { keyUsageRoute } from './routes/keyUsage.ts';

export * from './routes/keyUsage.ts';

/** Registers the query API's routes on an app built by @keytrail/http. */
export async function registerApiRoutes(
  app: FastifyInstance,
  options: { ch: ClickHouseDriver },
): Promise<void> {
  await app.register(keyUsageRoute, options);
}
