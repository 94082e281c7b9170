import { type ClickHouseDriver, listWorkspaces } from '@keytrail/clickhouse';
import { KeytrailError } from '@keytrail/core';
import type { LoginCodes } from '@keytrail/tokens';
import type { FastifyInstance } from 'fastify';
import { ERRORS, ID } from './schemas.ts';

const bearer = (header: string | undefined) =>
  header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;

/**
 * What the dashboard needs to sign in: the workspaces a token may read (an admin token's
 * switcher), and short-lived sign-in codes that a link can carry instead of the token.
 */
export async function signInRoutes(
  app: FastifyInstance,
  { ch, loginCodes }: { ch: ClickHouseDriver; loginCodes: LoginCodes },
): Promise<void> {
  app.get(
    '/v1/workspaces',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'The workspaces this token may read',
        description:
          'A workspace token: its own. An admin token (every workspace): those with keys or traffic, and `all: true`.',
        tags: ['sign-in'],
        response: {
          200: {
            type: 'object',
            properties: {
              workspaces: { type: 'array', items: { type: 'string' } },
              all: { type: 'boolean', description: 'The token may read every workspace, listed or not' },
            },
          },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const principal = request.principal!;
      if (principal.workspaces === '*')
        return { workspaces: await listWorkspaces(ch, { limit: 1_000 }), all: true };
      return { workspaces: [...principal.workspaces].sort(), all: false };
    },
  );

  app.post<{ Body: { workspace_id?: string } }>(
    '/v1/login-codes',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'A single-use sign-in code for the calling token (15 minutes)',
        description:
          'Open `/#/signin?code=…` to sign the dashboard in with this token; the link holds the code, never the token. The code is kept by the process that issued it.',
        tags: ['sign-in'],
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { workspace_id: { ...ID, description: 'Where the dashboard opens' } },
        },
        response: {
          201: {
            type: 'object',
            properties: {
              code: { type: 'string' },
              expires_at: { type: 'string', format: 'date-time' },
              path: { type: 'string', description: 'Dashboard path that signs in with the code' },
            },
          },
          ...ERRORS,
        },
      },
    },
    async (request, reply) => {
      const workspaceId = request.body?.workspace_id ?? null;
      const principal = request.principal!;
      if (workspaceId && principal.workspaces !== '*' && !principal.workspaces.has(workspaceId))
        throw new KeytrailError('FORBIDDEN', `The token may not use "read" on workspace ${workspaceId}.`);
      const { code, expiresAt } = loginCodes.issue({
        token: bearer(request.headers.authorization)!,
        workspaceId,
      });
      reply.status(201);
      return { code, expires_at: expiresAt.toISOString(), path: `/#/signin?code=${code}` };
    },
  );

  app.post<{ Body: { code: string } }>(
    '/v1/login-codes/exchange',
    {
      schema: {
        summary: 'Exchange a sign-in code for its token, once (no bearer token needed)',
        tags: ['sign-in'],
        security: [],
        body: {
          type: 'object',
          required: ['code'],
          additionalProperties: false,
          properties: { code: { type: 'string', minLength: 1, maxLength: 100 } },
        },
        response: {
          200: {
            type: 'object',
            properties: { token: { type: 'string' }, workspace_id: { type: ['string', 'null'] } },
          },
          ...ERRORS,
        },
      },
    },
    async (request, reply) => {
      const grant = loginCodes.redeem(request.body.code);
      if (!grant) throw new KeytrailError('UNAUTHENTICATED', 'The sign-in code is unknown, used or expired.');
      // The token travels once, in this body; nothing may keep it.
      reply.header('cache-control', 'no-store');
      return { token: grant.token, workspace_id: grant.workspaceId };
    },
  );
}
