import type { ClickHouseDriver } from '../driver/types.ts';
import { toDateTime64Text } from '../time.ts';

export interface WebhookEndpointRow {
  workspace_id: string;
  endpoint_id: string;
  url: string;
  events: string[];
  sealed_secrets: string;
  created_at: string;
  disabled_at: string | null;
  disabled_reason: string;
}

/** Writes one version of an endpoint (created, rotated, disabled or deleted). */
export function writeWebhookEndpoint(
  ch: ClickHouseDriver,
  endpoint: {
    workspace_id: string;
    endpoint_id: string;
    url: string;
    events: readonly string[];
    sealed_secrets: string;
    created_at: number;
    disabled_at: number | null;
    disabled_reason: string;
    deleted: boolean;
    version: number;
  },
): Promise<void> {
  return ch.insert('webhook_endpoints', [
    {
      ...endpoint,
      created_at: toDateTime64Text(endpoint.created_at),
      disabled_at: endpoint.disabled_at === null ? null : toDateTime64Text(endpoint.disabled_at),
      deleted: endpoint.deleted ? 1 : 0,
    },
  ]);
}

/**
 * Writes the next version of an endpoint as read (`row`), with `change` applied: how a rotation,
 * a disabling or a deletion is recorded. The version is the time of the change.
 */
export function writeWebhookEndpointVersion(
  ch: ClickHouseDriver,
  row: WebhookEndpointRow,
  change: Partial<
    Pick<
      Parameters<typeof writeWebhookEndpoint>[1],
      'sealed_secrets' | 'disabled_at' | 'disabled_reason' | 'deleted'
    >
  >,
  at = Date.now(),
): Promise<void> {
  return writeWebhookEndpoint(ch, {
    workspace_id: row.workspace_id,
    endpoint_id: row.endpoint_id,
    url: row.url,
    events: row.events,
    sealed_secrets: row.sealed_secrets,
    created_at: Date.parse(row.created_at),
    disabled_at: row.disabled_at === null ? null : Date.parse(row.disabled_at),
    disabled_reason: row.disabled_reason,
    deleted: false,
    version: at,
    ...change,
  });
}

const ENDPOINT_COLUMNS =
  'workspace_id, endpoint_id, url, events, sealed_secrets, created_at, disabled_at, disabled_reason';

/** Live (not deleted) endpoints of one workspace, or of every workspace when none is given. */
export function listWebhookEndpoints(
  ch: ClickHouseDriver,
  workspaceId?: string,
): Promise<WebhookEndpointRow[]> {
  return ch.query<WebhookEndpointRow>(
    `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints FINAL
     WHERE deleted = 0 AND ({workspaceId:String} = '' OR workspace_id = {workspaceId:String})
     ORDER BY workspace_id, created_at, endpoint_id`,
    { workspaceId: workspaceId ?? '' },
  );
}

export async function getWebhookEndpoint(
  ch: ClickHouseDriver,
  workspaceId: string,
  endpointId: string,
): Promise<WebhookEndpointRow | undefined> {
  const [row] = await ch.query<WebhookEndpointRow>(
    `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints FINAL
     WHERE workspace_id = {workspaceId:String} AND endpoint_id = {endpointId:String} AND deleted = 0`,
    { workspaceId, endpointId },
  );
  return row;
}

export type WebhookMessageStatus = 'PENDING' | 'DELIVERED' | 'FAILED';

export interface WebhookMessage {
  workspace_id: string;
  endpoint_id: string;
  message_id: string;
  event_type: string;
  alert_id: string;
  body: string;
  created_at: number;
  status: WebhookMessageStatus;
  attempts: number;
  next_attempt_at: number;
  last_status_code: number;
  last_error: string;
  /** 0 for a message as first made (a re-made one never overrides its progress); later, ms of the change. */
  version: number;
}

/** A message as first made: pending, due now, never tried (version 0, so it never overrides progress). */
export function newWebhookMessage(
  fields: Pick<
    WebhookMessage,
    'workspace_id' | 'endpoint_id' | 'message_id' | 'event_type' | 'alert_id' | 'body'
  >,
  now: number,
): WebhookMessage {
  return {
    ...fields,
    created_at: now,
    status: 'PENDING',
    attempts: 0,
    next_attempt_at: now,
    last_status_code: 0,
    last_error: '',
    version: 0,
  };
}

/** Writes message versions: new messages (version 0) or their progress. */
export function writeWebhookMessages(
  ch: ClickHouseDriver,
  messages: readonly WebhookMessage[],
): Promise<void> {
  if (messages.length === 0) return Promise.resolve();
  return ch.insert(
    'webhook_messages',
    messages.map((m) => ({
      ...m,
      created_at: toDateTime64Text(m.created_at),
      next_attempt_at: toDateTime64Text(m.next_attempt_at),
    })),
  );
}

interface WebhookMessageRow extends Omit<WebhookMessage, 'created_at' | 'next_attempt_at'> {
  created_at: string;
  next_attempt_at: string;
}

const MESSAGE_COLUMNS = `workspace_id, endpoint_id, message_id, event_type, alert_id, body, created_at, status,
  attempts, next_attempt_at, last_status_code, last_error, version`;

const toMessage = (row: WebhookMessageRow): WebhookMessage => ({
  ...row,
  created_at: Date.parse(row.created_at),
  next_attempt_at: Date.parse(row.next_attempt_at),
  attempts: Number(row.attempts),
  last_status_code: Number(row.last_status_code),
  version: Number(row.version),
});

/** Messages still to send (every workspace), the most overdue first. */
export async function listPendingWebhookMessages(
  ch: ClickHouseDriver,
  params: { dueBefore: Date; limit: number },
): Promise<WebhookMessage[]> {
  const rows = await ch.query<WebhookMessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM webhook_messages FINAL
     WHERE status = 'PENDING' AND next_attempt_at <= {dueBefore:DateTime64(3, 'UTC')}
     ORDER BY next_attempt_at, message_id
     LIMIT {limit:UInt32}`,
    params,
  );
  return rows.map(toMessage);
}

/** When the next pending message is due (every workspace), or undefined when none is pending. */
export async function nextWebhookMessageDue(ch: ClickHouseDriver): Promise<number | undefined> {
  const [row] = await ch.query<{ due: string | null }>(
    `SELECT min(next_attempt_at) AS due FROM webhook_messages FINAL WHERE status = 'PENDING'
     HAVING count() > 0`,
  );
  return row?.due ? Date.parse(row.due) : undefined;
}

export async function getWebhookMessage(
  ch: ClickHouseDriver,
  params: { workspaceId: string; endpointId: string; messageId: string },
): Promise<WebhookMessage | undefined> {
  const [row] = await ch.query<WebhookMessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM webhook_messages FINAL
     WHERE workspace_id = {workspaceId:String} AND endpoint_id = {endpointId:String}
       AND message_id = {messageId:String}`,
    params,
  );
  return row ? toMessage(row) : undefined;
}

/** An endpoint's messages, newest first, one page after `afterId` made before `afterAt`. */
export async function listWebhookMessages(
  ch: ClickHouseDriver,
  params: {
    workspaceId: string;
    endpointId: string;
    after?: { createdAt: Date; messageId: string } | undefined;
    limit: number;
  },
): Promise<WebhookMessage[]> {
  const rows = await ch.query<WebhookMessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM webhook_messages FINAL
     WHERE workspace_id = {workspaceId:String} AND endpoint_id = {endpointId:String}
       AND (created_at, message_id) < ({afterAt:DateTime64(3, 'UTC')}, {afterId:String})
     ORDER BY created_at DESC, message_id DESC
     LIMIT {limit:UInt32}`,
    {
      workspaceId: params.workspaceId,
      endpointId: params.endpointId,
      afterAt: params.after?.createdAt ?? new Date('2999-01-01T00:00:00Z'),
      afterId: params.after?.messageId ?? '\uffff',
      limit: params.limit,
    },
  );
  return rows.map(toMessage);
}

export interface WebhookAttempt {
  workspace_id: string;
  endpoint_id: string;
  message_id: string;
  attempt: number;
  attempted_at: number;
  outcome: string;
  status_code: number;
  duration_ms: number;
  error: string;
}

export function recordWebhookAttempt(ch: ClickHouseDriver, attempt: WebhookAttempt): Promise<void> {
  return ch.insert('webhook_attempts', [
    { ...attempt, attempted_at: toDateTime64Text(attempt.attempted_at) },
  ]);
}

/** Every attempt of these messages, oldest first. */
export async function listWebhookAttempts(
  ch: ClickHouseDriver,
  params: { workspaceId: string; endpointId: string; messageIds: readonly string[] },
): Promise<WebhookAttempt[]> {
  if (params.messageIds.length === 0) return [];
  const rows = await ch.query<Omit<WebhookAttempt, 'attempted_at'> & { attempted_at: string }>(
    `SELECT workspace_id, endpoint_id, message_id, attempt, attempted_at, outcome, status_code, duration_ms, error
     FROM webhook_attempts
     WHERE workspace_id = {workspaceId:String} AND endpoint_id = {endpointId:String}
       AND message_id IN {messageIds:Array(String)}
     ORDER BY message_id, attempt, attempted_at`,
    { ...params, messageIds: [...params.messageIds] },
  );
  return rows.map((r) => ({
    ...r,
    attempted_at: Date.parse(r.attempted_at),
    attempt: Number(r.attempt),
    status_code: Number(r.status_code),
    duration_ms: Number(r.duration_ms),
  }));
}

/** When an endpoint last took a delivery (2xx), or undefined when it never did. */
export async function lastWebhookSuccess(
  ch: ClickHouseDriver,
  params: { workspaceId: string; endpointId: string },
): Promise<number | undefined> {
  const [row] = await ch.query<{ at: string }>(
    `SELECT max(attempted_at) AS at FROM webhook_attempts
     WHERE workspace_id = {workspaceId:String} AND endpoint_id = {endpointId:String} AND outcome = 'DELIVERED'
     HAVING count() > 0`,
    params,
  );
  return row ? Date.parse(row.at) : undefined;
}
