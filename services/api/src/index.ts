import type { ClickHouseDriver } from '@keytrail/clickhouse';
import type { TokenService } from '@keytrail/tokens';
import type { FastifyInstance } from 'fastify';
import { keyUsageRoute } from './routes/keyUsage.ts';
import { tokenRoutes } from './routes/tokens.ts';

export * from './routes/keyUsage.ts';
export * from './routes/tokens.ts';

/** Registers the query API's routes on an app built by @keytrail/http. */
export async function registerApiRoutes(
  app: FastifyInstance,
  options: { ch: ClickHouseDriver; tokens: TokenService },
): Promise<void> {
  await app.register(keyUsageRoute, { ch: options.ch });
  await app.register(tokenRoutes, { tokens: options.tokens });
}
