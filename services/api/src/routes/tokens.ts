import { KeytrailError } from '@keytrail/core';
import { SCOPES } from '@keytrail/http';
import type { TokenService } from '@keytrail/tokens';
import type { FastifyInstance } from 'fastify';
import { ERRORS, ID, WS_PARAMS } from './schemas.ts';

const TOKEN_VIEW = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    prefix: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' } },
    created_at: { type: 'string' },
    last_used_at: { type: ['string', 'null'] },
    revoked_at: { type: ['string', 'null'] },
  },
} as const;

/** Keytrail's own API tokens: create (shown once), list, revoke. Admin scope on the workspace. */
export async function tokenRoutes(app: FastifyInstance, options: { tokens: TokenService }): Promise<void> {
  app.post<{ Params: { ws: string }; Body: { name: string; scopes: string[] } }>(
    '/v1/workspaces/:ws/tokens',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Create an API token for the workspace; the token is in this answer only',
        tags: ['tokens'],
        params: WS_PARAMS,
        body: {
          type: 'object',
          required: ['name', 'scopes'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100 },
            scopes: {
              type: 'array',
              minItems: 1,
              uniqueItems: true,
              items: { type: 'string', enum: [...SCOPES] },
            },
          },
        },
        response: {
          201: { ...TOKEN_VIEW, properties: { ...TOKEN_VIEW.properties, token: { type: 'string' } } },
          ...ERRORS,
        },
      },
    },
    async (request, reply) => {
      const created = await options.tokens.create(request.params.ws, request.body.name, request.body.scopes);
      reply.status(201);
      return created;
    },
  );

  app.get<{ Params: { ws: string } }>(
    '/v1/workspaces/:ws/tokens',
    {
      config: { scope: 'admin' },
      schema: {
        summary: "The workspace's API tokens (prefixes only), with last use",
        tags: ['tokens'],
        params: WS_PARAMS,
        response: {
          200: { type: 'object', properties: { tokens: { type: 'array', items: TOKEN_VIEW } } },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      return { tokens: await options.tokens.list(request.params.ws) };
    },
  );

  app.delete<{ Params: { ws: string; tokenId: string } }>(
    '/v1/workspaces/:ws/tokens/:tokenId',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Revoke an API token',
        tags: ['tokens'],
        params: {
          type: 'object',
          required: ['ws', 'tokenId'],
          properties: { ws: ID, tokenId: { type: 'string', minLength: 1, maxLength: 64 } },
        },
        response: { 204: { type: 'null', description: 'Revoked' }, ...ERRORS },
      },
    },
    async (request, reply) => {
      if (!(await options.tokens.revoke(request.params.ws, request.params.tokenId))) {
        throw new KeytrailError(
          'NOT_FOUND',
          `No token ${request.params.tokenId} in workspace ${request.params.ws}.`,
        );
      }
      reply.status(204).send();
    },
  );
}
