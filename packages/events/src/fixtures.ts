import type { AuthDecision, KeyLifecycle } from './types.ts';

/** A decision with every field set (used to prove types and schemas hold the same fields). */
export function fullAuthDecision(overrides: Partial<AuthDecision> = {}): AuthDecision {
  return {
    event_id: '01936b2e-1f00-7000-8000-000000000001',
    occurred_at: Date.UTC(2026, 10, 22, 4, 0, 0, 123),
    workspace_id: 'ws_1',
    request_id: 'req_01',
    key_id: 'key_1',
    key_prefix: 'pf_live_a1b2',
    presented_key_hash: 'hmac_5f2c',
    key_env: 'LIVE',
    credential: 'API_KEY',
    key_type: 'SECRET',
    session_id: null,
    end_user_id: null,
    resource: 'app_42',
    method: 'POST',
    route: '/v1/apps/:appId/generate',
    required_scope: 'build',
    granted_scopes: ['read', 'build'],
    outcome: 'ALLOWED',
    http_status: 200,
    deprecated_key: false,
    rate_limit: {
      window: 'MINUTE',
      limit: 100,
      remaining: 47,
      reset_at: Date.UTC(2026, 10, 22, 4, 1),
      retry_after_s: null,
    },
    quota: { period: 'DAY', limit: 100_000, remaining: 99_000, reset_at: Date.UTC(2026, 10, 23) },
    latency_ms: 12.5,
    cost: 25_000,
    client_ip: '203.0.113.7',
    origin: 'https://app.example.com',
    user_agent: 'node-fetch/3',
    region: 'eu-west-1',
    source: { name: 'edge-gateway', version: '2.4.1' },
    ...overrides,
  };
}

export function fullKeyLifecycle(overrides: Partial<KeyLifecycle> = {}): KeyLifecycle {
  return {
    event_id: '01936b2e-1f00-7000-8000-000000000002',
    occurred_at: Date.UTC(2026, 10, 22, 3, 0),
    workspace_id: 'ws_1',
    lifecycle_type: 'CREATED',
    key_id: 'key_1',
    key_prefix: 'pk_live_1234',
    key_env: 'LIVE',
    key_type: 'SECRET',
    name: 'Production Server',
    resource: 'agent_7',
    scopes: ['execute'],
    rate_limits: { per_minute: 100, per_hour: 5_000, per_day: 100_000 },
    quota: { period: 'DAY', limit: 100_000 },
    expires_at: Date.UTC(2027, 1, 20),
    allowed_origins: ['https://app.example.com', 'https://admin.example.com'],
    grace_ends_at: null,
    replaced_by: null,
    reason: null,
    actor: { kind: 'USER', id: 'user_1' },
    session_id: null,
    end_user_id: null,
    parent_key_id: null,
    ttl_seconds: null,
    ...overrides,
  };
}

/** A lifecycle event with only the required fields set and every optional one null. */
export function bareKeyLifecycle(
  fields: Pick<KeyLifecycle, 'event_id' | 'occurred_at' | 'workspace_id' | 'lifecycle_type' | 'key_id'> &
    Partial<KeyLifecycle>,
): KeyLifecycle {
  return {
    key_prefix: null,
    key_env: null,
    key_type: null,
    name: null,
    resource: null,
    scopes: null,
    rate_limits: null,
    quota: null,
    expires_at: null,
    allowed_origins: null,
    grace_ends_at: null,
    replaced_by: null,
    reason: null,
    actor: null,
    session_id: null,
    end_user_id: null,
    parent_key_id: null,
    ttl_seconds: null,
    ...fields,
  };
}
