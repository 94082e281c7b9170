import { createHash } from 'node:crypto';
import type { ClickHouseDriver } from '@keytrail/clickhouse';
import { createLoginCodes, type LoginCodes, type TokenService } from '@keytrail/tokens';
import type { FastifyInstance } from 'fastify';
import { limitInFlight } from './inflight.ts';
import { createCursorCodec } from './query/cursor.ts';
import { alertRoutes } from './routes/alerts.ts';
import { keyRoutes } from './routes/keys.ts';
import { signInRoutes } from './routes/signin.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { workspaceRoutes } from './routes/workspace.ts';

export * from './query/cursor.ts';
export * from './query/range.ts';
export * from './routes/alerts.ts';
export * from './routes/keys.ts';
export * from './routes/signin.ts';
export * from './routes/tokens.ts';
export * from './routes/webhooks.ts';
export * from './routes/workspace.ts';

/** Registers the query API's routes on an app built by @keytrail/http. */
export async function registerApiRoutes(
  app: FastifyInstance,
  options: {
    ch: ClickHouseDriver;
    tokens: TokenService;
    /** Sign-in codes of this process (a new store when absent). */
    loginCodes?: LoginCodes;
    /** Signs paging cursors; every API process of a deployment must use the same one. */
    cursorSecret: string;
    /** Query requests in flight before 503 (KEYTRAIL_API_MAX_INFLIGHT, default 32). */
    maxInFlight?: number;
    /** Seals endpoint secrets (without it, creating and rotating answer 503); whether endpoints may be private. */
    webhooks: {
      sealingKey: Buffer | undefined;
      allowPrivate: boolean;
      resolve?: (host: string) => Promise<string[]>;
    };
  },
): Promise<void> {
  const cursors = createCursorCodec(
    createHash('sha256').update(`keytrail-cursor:${options.cursorSecret}`).digest('hex'),
  );
  // The ClickHouse-backed routes share one in-flight bound (a plugin scope of their own).
  await app.register(async (queries) => {
    limitInFlight(queries, options.maxInFlight ?? 32);
    await queries.register(keyRoutes, { ch: options.ch, cursors });
    await queries.register(workspaceRoutes, { ch: options.ch });
    await queries.register(alertRoutes, { ch: options.ch, cursors });
    await queries.register(webhookRoutes, { ch: options.ch, cursors, ...options.webhooks });
    await queries.register(signInRoutes, {
      ch: options.ch,
      loginCodes: options.loginCodes ?? createLoginCodes(),
    });
  });
  await app.register(tokenRoutes, { tokens: options.tokens });
}
