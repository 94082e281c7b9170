import {
  type AlertRow,
  type ClickHouseDriver,
  listAlertRuleChanges,
  listAlerts,
  listWebhookEndpoints,
  parseClickHouseTime,
  writeAlertRule,
} from '@keytrail/clickhouse';
import { KeytrailError } from '@keytrail/core';
import {
  ALERT_KINDS,
  type Alert,
  type AlertKind,
  type AlertScope,
  alertView,
  isAlertKind,
  ruleBookWith,
  validateRule,
} from '@keytrail/detection';
import type { FastifyInstance } from 'fastify';
import type { CursorCodec } from '../query/cursor.ts';
import { isoTime, parseRange } from '../query/range.ts';
import { CURSOR, ERRORS, ID, LIMIT, NULLABLE_TIME, TIME, WS_PARAMS } from './schemas.ts';

const ALERT = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    workspace_id: { type: 'string' },
    kind: { type: 'string', enum: [...ALERT_KINDS] },
    status: { type: 'string', enum: ['FIRING', 'RESOLVED'] },
    severity: { type: 'string', enum: ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] },
    scope: {
      type: 'object',
      properties: {
        key_id: { type: 'string' },
        key_prefix: { type: 'string' },
        client_ip: { type: 'string' },
        end_user_id: { type: 'string' },
      },
    },
    started_at: TIME,
    detected_at: TIME,
    resolved_at: NULLABLE_TIME,
    summary: { type: 'string' },
    evidence: {
      type: 'object',
      properties: {
        count: { type: 'number' },
        baseline: { type: 'number' },
        threshold: { type: 'number' },
        window_seconds: { type: 'number' },
        distinct_key_hashes: { type: 'number' },
        distinct_ips: { type: 'number' },
        sample_request_ids: { type: 'array', items: { type: 'string' } },
      },
    },
  },
} as const;

/** A stored alert as detection describes it, so `alertView` shows it as webhooks do. */
function alertOfRow(row: AlertRow): Alert {
  const scope: AlertScope = {};
  for (const field of ['key_id', 'key_prefix', 'client_ip', 'end_user_id'] as const)
    if (row[field] !== '') scope[field] = row[field];
  const ms = (t: string) => parseClickHouseTime(t).getTime();
  return {
    id: row.alert_id,
    workspace_id: row.workspace_id,
    kind: row.kind as AlertKind,
    status: row.status as Alert['status'],
    severity: row.severity as Alert['severity'],
    scope,
    started_at: ms(row.started_at),
    detected_at: ms(row.detected_at),
    updated_at: ms(row.updated_at),
    resolved_at: row.resolved_at === null ? null : ms(row.resolved_at),
    summary: row.summary,
    evidence: JSON.parse(row.evidence) as Alert['evidence'],
  };
}

// Without from/to, every alert the workspace has (the table is alerts, not decisions).
const ALL_TIME = { from: '1970-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z' };

/** Alerts (`GET /alerts`) and their rules (`GET /alert-rules`, `PUT /alert-rules/{kind}`). */
export async function alertRoutes(
  app: FastifyInstance,
  { ch, cursors }: { ch: ClickHouseDriver; cursors: CursorCodec },
): Promise<void> {
  app.get<{
    Params: { ws: string };
    Querystring: {
      status?: 'firing' | 'resolved';
      kind?: AlertKind;
      key_id?: string;
      client_ip?: string;
      key_prefix?: string;
      from?: string;
      to?: string;
      limit: number;
      cursor?: string;
    };
  }>(
    '/v1/workspaces/:ws/alerts',
    {
      config: { scope: 'read' },
      schema: {
        summary: "The workspace's alerts, newest first (by detection time)",
        description:
          'disabled_webhooks lists endpoints that were disabled (a 410, or failing for days): alerts are no longer delivered to them.',
        tags: ['alerts'],
        params: WS_PARAMS,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ['firing', 'resolved'] },
            kind: { type: 'string', enum: [...ALERT_KINDS] },
            key_id: { ...ID, description: 'Only alerts about this key' },
            client_ip: {
              type: 'string',
              minLength: 1,
              maxLength: 64,
              description: 'Only alerts about this source address',
            },
            key_prefix: {
              type: 'string',
              minLength: 1,
              maxLength: 64,
              description: 'Only alerts about this key prefix',
            },
            from: TIME,
            to: TIME,
            limit: LIMIT,
            cursor: CURSOR,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              alerts: { type: 'array', items: ALERT },
              next_cursor: { type: 'string' },
              disabled_webhooks: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    url: { type: 'string' },
                    disabled_at: TIME,
                    reason: { type: 'string' },
                  },
                },
              },
            },
          },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const { ws } = request.params;
      const { limit, cursor, status, kind, key_id, client_ip, key_prefix } = request.query;
      const range = parseRange({
        from: request.query.from ?? ALL_TIME.from,
        to: request.query.to ?? ALL_TIME.to,
      });
      const after = cursor ? cursors.decode('alerts', cursor) : undefined;
      const [rows, endpoints] = await Promise.all([
        listAlerts(ch, {
          workspaceId: ws,
          ...range,
          status: status === undefined ? undefined : status === 'firing' ? 'FIRING' : 'RESOLVED',
          kind,
          keyId: key_id,
          clientIp: client_ip,
          keyPrefix: key_prefix,
          after: after ? { detectedAt: new Date(after.at!), alertId: after.id! } : undefined,
          limit: limit + 1,
        }),
        listWebhookEndpoints(ch, ws),
      ]);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        alerts: page.map((row) => alertView(alertOfRow(row))),
        ...(rows.length > limit && last
          ? { next_cursor: cursors.encode('alerts', { at: isoTime(last.detected_at), id: last.alert_id }) }
          : {}),
        disabled_webhooks: endpoints
          .filter((e) => e.disabled_at !== null)
          .map((e) => ({
            id: e.endpoint_id,
            url: e.url,
            disabled_at: isoTime(e.disabled_at!),
            reason: e.disabled_reason,
          })),
      };
    },
  );

  const RULE_VIEW = {
    type: 'object',
    properties: {
      kind: { type: 'string' },
      settings: { type: 'object', additionalProperties: true },
      changed_at: NULLABLE_TIME,
    },
  } as const;

  const rulesOf = async (ws: string) => {
    const changes = await listAlertRuleChanges(ch, ws);
    const book = ruleBookWith(changes);
    return ALERT_KINDS.map((kind) => {
      const change = changes.find((c) => c.kind === kind);
      return { kind, settings: book[kind], changed_at: change ? isoTime(change.updated_at) : null };
    });
  };

  app.get<{ Params: { ws: string } }>(
    '/v1/workspaces/:ws/alert-rules',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'The rule of every alert kind in force for the workspace (defaults unless changed)',
        tags: ['alerts'],
        params: WS_PARAMS,
        response: {
          200: { type: 'object', properties: { rules: { type: 'array', items: RULE_VIEW } } },
          ...ERRORS,
        },
      },
    },
    async (request) => ({ rules: await rulesOf(request.params.ws) }),
  );

  app.put<{ Params: { ws: string; kind: string }; Body: Record<string, unknown> }>(
    '/v1/workspaces/:ws/alert-rules/:kind',
    {
      config: { scope: 'webhook:write' },
      schema: {
        summary: 'Change one kind’s rule: the fields given replace the ones in force',
        description:
          'Fields and bounds per kind are listed by GET /alert-rules; an unknown field or an out-of-range value is 400 VALIDATION_FAILED with details. Alerters pick the change up within 5 s.',
        tags: ['alerts'],
        params: {
          type: 'object',
          required: ['ws', 'kind'],
          properties: { ws: ID, kind: { type: 'string', enum: [...ALERT_KINDS] } },
        },
        body: { type: 'object', minProperties: 1, additionalProperties: true },
        response: { 200: RULE_VIEW, ...ERRORS },
      },
    },
    async (request) => {
      const { ws, kind } = request.params;
      if (!isAlertKind(kind)) throw new KeytrailError('NOT_FOUND', `No alert kind ${kind}.`);
      const current = ruleBookWith(await listAlertRuleChanges(ch, ws))[kind];
      const result = validateRule(kind, current, request.body);
      if (!result.ok)
        throw new KeytrailError('VALIDATION_FAILED', `The ${kind} rule was not changed.`, {
          details: result.problems.map((p) => ({ path: `body.${p.path}`, message: p.message })),
        });
      const at = Date.now();
      await writeAlertRule(ch, {
        workspace_id: ws,
        kind,
        settings: result.rule,
        updated_by: request.principal?.id ?? '',
        at,
      });
      return { kind, settings: result.rule, changed_at: new Date(at).toISOString() };
    },
  );
}
