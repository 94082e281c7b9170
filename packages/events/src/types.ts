/**
 * TypeScript shapes of the Avro records in ../schemas (snake_case, as on the wire).
 * `typesMatchSchemas.test.ts` checks that every field here is in the schema and vice versa.
 */

export const KEY_ENVS = ['LIVE', 'TEST', 'DEV'] as const;
export type KeyEnv = (typeof KEY_ENVS)[number];

export const CREDENTIAL_KINDS = ['API_KEY', 'SESSION_TOKEN'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

export const KEY_TYPES = ['SECRET', 'CLIENT', 'READ_ONLY', 'UNKNOWN'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export const OUTCOMES = [
  'ALLOWED',
  'INVALID_KEY',
  'EXPIRED_KEY',
  'REVOKED_KEY',
  'MISSING_SCOPE',
  'QUOTA_EXCEEDED',
  'RATE_LIMITED',
  'ORIGIN_NOT_ALLOWED',
  'MISSING_CREDENTIALS',
  'MALFORMED_CREDENTIALS',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** The HTTP status a gateway usually answers for each outcome (seeds: 401 invalid_key, 403 missing_scope, ...). */
export const OUTCOME_HTTP_STATUS: Record<Outcome, number> = {
  ALLOWED: 200,
  INVALID_KEY: 401,
  EXPIRED_KEY: 401,
  REVOKED_KEY: 401,
  MISSING_SCOPE: 403,
  QUOTA_EXCEEDED: 403,
  RATE_LIMITED: 429,
  ORIGIN_NOT_ALLOWED: 403,
  MISSING_CREDENTIALS: 401,
  MALFORMED_CREDENTIALS: 401,
};

export const LIMIT_WINDOWS = ['SECOND', 'MINUTE', 'HOUR', 'DAY', 'MONTH'] as const;
export type LimitWindow = (typeof LIMIT_WINDOWS)[number];

export const LIFECYCLE_TYPES = [
  'CREATED',
  'RENAMED',
  'SCOPES_CHANGED',
  'LIMITS_CHANGED',
  'SUPERSEDED',
  'REVOKED',
  'EXPIRED',
  'SESSION_ISSUED',
  'SESSION_REVOKED',
] as const;
export type LifecycleType = (typeof LIFECYCLE_TYPES)[number];

export const QUOTA_PERIODS = ['DAY', 'MONTH'] as const;
export type QuotaPeriod = (typeof QUOTA_PERIODS)[number];

export const ACTOR_KINDS = ['USER', 'API_KEY', 'SYSTEM'] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];

export interface RateLimitState {
  window: LimitWindow;
  limit: number;
  remaining: number;
  reset_at: number | null;
  retry_after_s: number | null;
}

export interface QuotaState {
  period: LimitWindow;
  limit: number;
  remaining: number;
  reset_at: number | null;
}

export interface Source {
  name: string;
  version: string | null;
}

export interface AuthDecision {
  event_id: string;
  /** Epoch milliseconds. */
  occurred_at: number;
  workspace_id: string;
  request_id: string;
  key_id: string | null;
  key_prefix: string | null;
  presented_key_hash: string | null;
  key_env: KeyEnv | null;
  credential: CredentialKind | null;
  key_type: KeyType;
  session_id: string | null;
  end_user_id: string | null;
  resource: string | null;
  method: string | null;
  route: string | null;
  required_scope: string | null;
  granted_scopes: string[];
  outcome: Outcome;
  http_status: number;
  deprecated_key: boolean;
  rate_limit: RateLimitState | null;
  quota: QuotaState | null;
  latency_ms: number | null;
  /** Micro-credits. */
  cost: number;
  client_ip: string | null;
  origin: string | null;
  user_agent: string | null;
  region: string | null;
  source: Source | null;
}

export interface RateLimits {
  per_minute: number | null;
  per_hour: number | null;
  per_day: number | null;
}

export interface Quota {
  period: QuotaPeriod;
  limit: number;
}

export interface Actor {
  kind: ActorKind;
  id: string | null;
}

export interface KeyLifecycle {
  event_id: string;
  occurred_at: number;
  workspace_id: string;
  lifecycle_type: LifecycleType;
  key_id: string;
  key_prefix: string | null;
  key_env: KeyEnv | null;
  key_type: KeyType | null;
  name: string | null;
  resource: string | null;
  scopes: string[] | null;
  rate_limits: RateLimits | null;
  quota: Quota | null;
  expires_at: number | null;
  allowed_origins: string[] | null;
  grace_ends_at: number | null;
  replaced_by: string | null;
  reason: string | null;
  actor: Actor | null;
  session_id: string | null;
  end_user_id: string | null;
  parent_key_id: string | null;
  ttl_seconds: number | null;
}

/** The two event kinds, by the name used in JSON ingest (`"type"`) and throughout the code. */
export type EventKind = 'auth_decision' | 'key_lifecycle';

export type EventOf<K extends EventKind> = K extends 'auth_decision' ? AuthDecision : KeyLifecycle;

export type KeytrailEvent =
  | { kind: 'auth_decision'; event: AuthDecision }
  | { kind: 'key_lifecycle'; event: KeyLifecycle };
