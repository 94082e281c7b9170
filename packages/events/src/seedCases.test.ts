import { describe, expect, it } from 'vitest';
import { createEventCodec } from './codec.ts';
import { eventFromJson } from './fromJson.ts';
import { LIFECYCLE_TYPES } from './types.ts';

/**
 * One event for every case the seeds (shared/seeds: PromptFloe, FLORA, PrompTick, Appflow)
 * describe, sent as JSON the way ingest receives it, then encoded and decoded.
 */
const codec = createEventCodec();
const at = '2026-11-22T04:00:00.000Z';
const base = { type: 'auth_decision', workspace_id: 'ws_seed', occurred_at: at, request_id: 'req_seed' };

const DECISIONS: [string, Record<string, unknown>][] = [
  [
    'PromptFloe live key allowed',
    {
      key_id: 'k1',
      key_prefix: 'pf_live_a1b2',
      key_env: 'LIVE',
      outcome: 'ALLOWED',
      http_status: 200,
      required_scope: 'build',
      granted_scopes: ['read', 'build'],
      cost: 15000,
    },
  ],
  [
    'PromptFloe test key (sandbox, no quota)',
    { key_id: 'k2', key_prefix: 'pf_test_c3d4', key_env: 'TEST', outcome: 'ALLOWED' },
  ],
  [
    'PromptFloe dev key, harder rate limit',
    {
      key_id: 'k3',
      key_prefix: 'pf_dev_e5f6',
      key_env: 'DEV',
      outcome: 'RATE_LIMITED',
      rate_limit: { window: 'MINUTE', limit: 10, remaining: 0, reset_at: at, retry_after_s: 45 },
    },
  ],
  [
    '401 invalid_key (unknown key, probe)',
    {
      key_prefix: 'pf_live_zzzz',
      presented_key_hash: 'h1',
      credential: 'API_KEY',
      outcome: 'INVALID_KEY',
      client_ip: '198.51.100.7',
    },
  ],
  [
    '401 expired_key (rotated, grace ended)',
    { key_id: 'k4', key_prefix: 'pf_live_old1', outcome: 'EXPIRED_KEY', http_status: 401 },
  ],
  [
    '401 invalid_api_key on a revoked FLORA key',
    { key_id: 'k5', key_prefix: 'sk_live_9x8y', outcome: 'REVOKED_KEY', http_status: 401 },
  ],
  [
    '403 missing_scope',
    {
      key_id: 'k1',
      outcome: 'MISSING_SCOPE',
      http_status: 403,
      required_scope: 'admin',
      granted_scopes: ['read', 'build'],
    },
  ],
  [
    '403 forbidden (FLORA workspace permission)',
    { key_id: 'k5', key_prefix: 'sk_live_9x8y', outcome: 'MISSING_SCOPE', required_scope: 'billing:manage' },
  ],
  [
    '403 quota_exceeded (daily tier limit)',
    {
      key_id: 'k1',
      outcome: 'QUOTA_EXCEEDED',
      http_status: 403,
      quota: { period: 'DAY', limit: 1000, remaining: 0, reset_at: '2026-11-23T00:00:00Z' },
    },
  ],
  [
    '429 with Retry-After and the key limits',
    {
      key_id: 'k6',
      key_prefix: 'pk_live_1234',
      outcome: 'RATE_LIMITED',
      http_status: 429,
      rate_limit: { window: 'HOUR', limit: 5000, remaining: 0, reset_at: 1795323600000, retry_after_s: 45 },
    },
  ],
  [
    'origin not allowed (PrompTick allowed origins)',
    { key_id: 'k6', outcome: 'ORIGIN_NOT_ALLOWED', http_status: 403, origin: 'https://evil.example' },
  ],
  ['missing Authorization header', { outcome: 'MISSING_CREDENTIALS', http_status: 401 }],
  [
    'malformed credentials (wrong format, extra spaces)',
    { outcome: 'MALFORMED_CREDENTIALS', http_status: 401, presented_key_hash: 'h2' },
  ],
  [
    'PrompTick live key scoped to an agent',
    {
      key_id: 'k6',
      key_prefix: 'pk_live_1234',
      key_env: 'LIVE',
      resource: 'agent_7',
      route: '/api/v1/agents/:agentId/execute',
      method: 'POST',
      outcome: 'ALLOWED',
    },
  ],
  ['FLORA sandbox key', { key_id: 'k7', key_prefix: 'sk_test_abcd', key_env: 'TEST', outcome: 'ALLOWED' }],
  [
    'Appflow secret key',
    { key_id: 'k8', key_prefix: 'sk_9a8b', key_type: 'SECRET', resource: 'project_1', outcome: 'ALLOWED' },
  ],
  [
    'Appflow client key (write events only)',
    {
      key_id: 'k9',
      key_prefix: 'ck_7c6d',
      key_type: 'CLIENT',
      required_scope: 'events:write',
      outcome: 'ALLOWED',
    },
  ],
  [
    'Appflow read-only key refused a write',
    { key_id: 'k10', key_type: 'READ_ONLY', required_scope: 'write', outcome: 'MISSING_SCOPE' },
  ],
  [
    'session token scoped to an end user',
    {
      key_id: 'k1',
      credential: 'SESSION_TOKEN',
      session_id: 'sess_1',
      end_user_id: 'user_42',
      granted_scopes: ['read', 'build'],
      outcome: 'ALLOWED',
      cost: 2000,
    },
  ],
  [
    'superseded key used inside its grace period',
    { key_id: 'k4', key_prefix: 'pf_live_old1', deprecated_key: true, outcome: 'ALLOWED' },
  ],
];

const lifecycleBase = { type: 'key_lifecycle', workspace_id: 'ws_seed', occurred_at: at, key_id: 'k1' };
const LIFECYCLE_EXTRAS: Record<string, Record<string, unknown>> = {
  CREATED: {
    key_prefix: 'pk_live_1234',
    key_env: 'LIVE',
    key_type: 'SECRET',
    name: 'Production Server',
    scopes: ['read', 'build'],
    rate_limits: { per_minute: 100, per_hour: 5000, per_day: 100000 },
    quota: { period: 'DAY', limit: 100000 },
    expires_at: '2027-02-20T00:00:00Z',
    allowed_origins: ['https://app.example.com'],
    resource: 'agent_7',
    actor: { kind: 'USER', id: 'u1' },
  },
  RENAMED: { name: 'ci-runner' },
  SCOPES_CHANGED: { scopes: ['read'] },
  LIMITS_CHANGED: { rate_limits: { per_minute: 1000, per_hour: 50000, per_day: 1000000 } },
  SUPERSEDED: { grace_ends_at: '2026-11-23T04:00:00Z', replaced_by: 'k1_v2', reason: '90-day rotation' },
  REVOKED: { reason: 'employee left', actor: { kind: 'USER', id: 'u1' } },
  EXPIRED: { actor: { kind: 'SYSTEM', id: null } },
  SESSION_ISSUED: {
    key_id: 'sess_1',
    session_id: 'sess_1',
    parent_key_id: 'k1',
    end_user_id: 'user_42',
    scopes: ['read', 'build'],
    ttl_seconds: 1800,
    actor: { kind: 'API_KEY', id: 'k1' },
  },
  SESSION_REVOKED: { key_id: 'sess_1', session_id: 'sess_1', end_user_id: 'user_42' },
};

describe('every case of the seeds fits the event model', () => {
  it.each(DECISIONS)('auth decision: %s', (_name, fields) => {
    const parsed = eventFromJson({ ...base, ...fields }, codec);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const decoded = codec.decode(codec.encode('auth_decision', parsed.value.event as never));
    expect(decoded.event).toEqual(parsed.value.event);
    for (const [field, value] of Object.entries(fields)) {
      if (typeof value !== 'object' && !String(field).endsWith('_at'))
        expect((decoded.event as never)[field]).toEqual(value);
    }
  });

  it.each(LIFECYCLE_TYPES.map((t) => [t]))('lifecycle: %s', (lifecycleType) => {
    const parsed = eventFromJson(
      { ...lifecycleBase, lifecycle_type: lifecycleType, ...LIFECYCLE_EXTRAS[lifecycleType] },
      codec,
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const decoded = codec.decode(codec.encode('key_lifecycle', parsed.value.event as never));
    expect(decoded.event).toEqual(parsed.value.event);
    expect(decoded.event).toMatchObject({ lifecycle_type: lifecycleType });
  });

  it('fills the usual HTTP status of each outcome when the gateway left it out', () => {
    const statuses = Object.fromEntries(
      ['INVALID_KEY', 'EXPIRED_KEY', 'MISSING_SCOPE', 'QUOTA_EXCEEDED', 'RATE_LIMITED', 'ALLOWED'].map(
        (outcome) => {
          const parsed = eventFromJson({ ...base, outcome }, codec);
          return [outcome, parsed.ok ? (parsed.value.event as { http_status: number }).http_status : 0];
        },
      ),
    );
    expect(statuses).toEqual({
      INVALID_KEY: 401,
      EXPIRED_KEY: 401,
      MISSING_SCOPE: 403,
      QUOTA_EXCEEDED: 403,
      RATE_LIMITED: 429,
      ALLOWED: 200,
    });
  });
});
