import { createRandom } from './random.ts';

/** The API-key products of the seeds, with their key prefixes and scopes. */
export const PRODUCTS = [
  {
    name: 'promptfloe',
    prefixes: { LIVE: 'pf_live_', TEST: 'pf_test_', DEV: 'pf_dev_' },
    scopes: ['read', 'build', 'deploy', 'admin', 'webhook:write'],
    routes: ['/v1/apps', '/v1/apps/:appId/generate', '/v1/deploys'],
  },
  {
    name: 'flora',
    prefixes: { LIVE: 'sk_live_', TEST: 'sk_test_', DEV: 'sk_test_' },
    scopes: ['read', 'runs:write', 'assets:write'],
    routes: ['/api/v1/techniques', '/api/v1/runs', '/api/v1/assets'],
  },
  {
    name: 'promptick',
    prefixes: { LIVE: 'pk_live_', TEST: 'pk_test_', DEV: 'pk_live_dev_' },
    scopes: ['execute'],
    routes: ['/api/v1/agents/:agentId/execute'],
  },
  {
    name: 'appflow',
    prefixes: { LIVE: 'sk_', TEST: 'ck_', DEV: 'rk_' },
    scopes: ['events:write', 'read', 'write'],
    routes: ['/v1/events', '/v1/apps/:appId'],
  },
] as const;

type Env = 'LIVE' | 'TEST' | 'DEV';

export interface SimulatedKey {
  workspaceId: string;
  keyId: string;
  prefix: string;
  env: Env;
  keyType: 'SECRET' | 'CLIENT' | 'READ_ONLY';
  scopes: readonly string[];
  dailyQuota: number;
  /** A server-side key calls from its own two servers, with one SDK (see source()). */
  serverIps: readonly [string, string];
  sdk: string;
  product: (typeof PRODUCTS)[number];
}

export interface TrafficOptions {
  seed: number;
  /** Simulated start time (epoch ms). */
  startMs: number;
  /** Auth decisions to generate (lifecycle events come on top). */
  decisions: number;
  workspaces?: number;
  keysPerWorkspace?: number;
  /** Average decisions per simulated second. */
  ratePerSecond?: number;
  /** Add a leaked-key probe attack (bursts of invalid keys from a few IPs) in the middle. */
  probeAttack?: boolean;
}

export type JsonEvent = Record<string, unknown> & { type: 'auth_decision' | 'key_lifecycle' };

/**
 * The key in a retry loop: a browser client of the second workspace that keeps hitting its rate
 * limit. A quarter of its requests are refused, so the demo's ERROR_RATE alert has one real
 * cause to point at, while every other key has about 2 % refused (a rate alert on every key
 * would teach on-call to ignore it).
 */
const NOISY_KEY_ID = 'key_2_4';
/**
 * The key on a trial plan: the demo's 20,000 decisions (about 1,420 allowed a key) take it past
 * 80 % of this daily quota (QUOTA_THRESHOLD) and not to its end; longer runs use it up.
 */
const TRIAL_KEY_ID = 'key_3_3';
const TRIAL_DAILY_QUOTA = 1_600;
const DAILY_QUOTA = 100_000;

const SERVER_AGENTS = ['node-fetch/3', 'python-httpx/0.27', 'curl/8.5'] as const;
const BROWSER_AGENTS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/17.5',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5) Mobile/15E148',
] as const;

/**
 * Where a request came from, as a compromise view expects it to look: a session from its end
 * user's device, a browser key from its users' browsers, a server key from its two servers with
 * its SDK. Each address keeps one user agent and the gateway region nearest to it.
 */
function source(
  key: SimulatedKey,
  endUser: string | null,
  random: ReturnType<typeof createRandom>,
): { client_ip: string; origin: string | null; user_agent: string; region: string } {
  const fromBrowser = endUser !== null || key.keyType === 'CLIENT';
  const clientIp = endUser
    ? `203.0.113.${Number(endUser.slice('eu_'.length))}`
    : fromBrowser
      ? `203.0.113.${random.int(1, 254)}`
      : random.pick(key.serverIps);
  const octet = Number(clientIp.slice(clientIp.lastIndexOf('.') + 1));
  return {
    client_ip: clientIp,
    origin: key.keyType === 'CLIENT' ? 'https://app.example.com' : null,
    user_agent: fromBrowser ? BROWSER_AGENTS[octet % BROWSER_AGENTS.length]! : key.sdk,
    region: octet % 2 === 1 ? 'eu-west-1' : 'us-east-1',
  };
}

/** The n-th server address, in TEST-NET-1 (RFC 5737); past 254 keys' servers they repeat. */
const serverIp = (n: number) => `192.0.2.${(n % 254) + 1}`;

type Outcome = 'ALLOWED' | 'MISSING_SCOPE' | 'RATE_LIMITED' | 'QUOTA_EXCEEDED' | 'ORIGIN_NOT_ALLOWED';

/**
 * Whether a request of `key` is refused and why, from one roll in [0, 1). Consistent with the
 * key: a missing scope is one the key lacks, an origin is refused only for a browser key, and a
 * quota is exceeded only once the key's allowed requests of the day reach it.
 */
function decide(
  key: SimulatedKey,
  roll: number,
  allowedToday: number,
  random: ReturnType<typeof createRandom>,
): { outcome: Outcome; requiredScope: string } {
  const granted = random.pick(key.scopes);
  if (allowedToday >= key.dailyQuota) return { outcome: 'QUOTA_EXCEEDED', requiredScope: granted };
  const noisy = key.keyId === NOISY_KEY_ID;
  const refusedShare = noisy ? 0.25 : 0.02;
  if (roll >= refusedShare) return { outcome: 'ALLOWED', requiredScope: granted };
  // Where in the refused share the roll fell, from 0 to 1.
  const within = roll / refusedShare;
  const lacking = key.product.scopes.filter((scope) => !key.scopes.includes(scope));
  if (!noisy && within < 0.4 && lacking.length > 0)
    return { outcome: 'MISSING_SCOPE', requiredScope: random.pick(lacking) };
  if (!noisy && within >= 0.8 && key.keyType === 'CLIENT')
    return { outcome: 'ORIGIN_NOT_ALLOWED', requiredScope: granted };
  return { outcome: 'RATE_LIMITED', requiredScope: granted };
}

/**
 * Realistic, seeded traffic for the products of the seeds: keys are created and used (about 2 %
 * refused; one key a quarter, one on a small quota: see NOISY_KEY_ID and TRIAL_KEY_ID), sessions
 * are minted for end users, one key is superseded and used in its grace period, and, optionally,
 * a probe attack hammers invalid keys. Yields JSON ingest events.
 */
export function* generateTraffic(options: TrafficOptions): Generator<JsonEvent> {
  const random = createRandom(options.seed);
  const rate = options.ratePerSecond ?? 200;
  const keys: SimulatedKey[] = [];
  let now = options.startMs;

  for (let w = 0; w < (options.workspaces ?? 3); w++) {
    const workspaceId = `ws_${w + 1}`;
    const product = PRODUCTS[w % PRODUCTS.length]!;
    for (let k = 0; k < (options.keysPerWorkspace ?? 4); k++) {
      const env: Env = k === 0 ? 'TEST' : k === 1 ? 'DEV' : 'LIVE';
      const keyId = `key_${w + 1}_${k + 1}`;
      const key: SimulatedKey = {
        workspaceId,
        keyId,
        prefix: `${product.prefixes[env]}${random.hex(4)}`,
        env,
        keyType: k === 3 ? 'CLIENT' : k === 2 ? 'SECRET' : random.pick(['SECRET', 'READ_ONLY'] as const),
        scopes: product.scopes.slice(0, random.int(1, product.scopes.length)),
        product,
        dailyQuota: keyId === TRIAL_KEY_ID ? TRIAL_DAILY_QUOTA : DAILY_QUOTA,
        serverIps: [serverIp(keys.length * 2), serverIp(keys.length * 2 + 1)],
        sdk: SERVER_AGENTS[keys.length % SERVER_AGENTS.length]!,
      };
      keys.push(key);
      yield {
        type: 'key_lifecycle',
        event_id: random.uuid7(now),
        workspace_id: workspaceId,
        occurred_at: now,
        lifecycle_type: 'CREATED',
        key_id: key.keyId,
        key_prefix: key.prefix,
        key_env: env,
        key_type: key.keyType,
        name: `${product.name}-${env.toLowerCase()}-${k + 1}`,
        scopes: key.scopes,
        rate_limits: { per_minute: 100, per_hour: 5000, per_day: 100000 },
        quota: { period: 'DAY', limit: key.dailyQuota },
        expires_at: now + 90 * 86_400_000,
        allowed_origins: key.keyType === 'CLIENT' ? ['https://app.example.com'] : [],
        actor: { kind: 'USER', id: `user_${w + 1}` },
      };
    }
  }

  const attackStart = Math.floor(options.decisions / 2);
  const attackLength = options.probeAttack ? Math.max(50, Math.floor(options.decisions / 10)) : 0;
  const attackerIps = ['198.51.100.7', '198.51.100.8', '198.51.100.9'];
  const rotated = keys.find((k) => k.env === 'LIVE')!;
  const sessions = new Map<string, string>();
  /** `${keyId}|${UTC day}` → allowed requests, against the key's daily quota. */
  const allowedByKeyDay = new Map<string, number>();

  for (let i = 0; i < options.decisions; i++) {
    now += Math.max(1, Math.round((1000 / rate) * (0.5 + random.next())));
    if (i === Math.floor(options.decisions / 3)) {
      // Rotation: the old key is superseded with a 24 h grace period (PromptFloe's flow).
      yield {
        type: 'key_lifecycle',
        event_id: random.uuid7(now),
        workspace_id: rotated.workspaceId,
        occurred_at: now,
        lifecycle_type: 'SUPERSEDED',
        key_id: rotated.keyId,
        grace_ends_at: now + 86_400_000,
        replaced_by: `${rotated.keyId}_v2`,
        reason: 'scheduled 90-day rotation',
        actor: { kind: 'USER', id: 'user_1' },
      };
    }
    if (i >= attackStart && i < attackStart + attackLength) {
      yield {
        type: 'auth_decision',
        event_id: random.uuid7(now),
        workspace_id: 'ws_1',
        occurred_at: now,
        request_id: `req_${random.hex(16)}`,
        key_prefix: `pf_live_${random.hex(4)}`,
        presented_key_hash: random.hex(32),
        credential: 'API_KEY',
        outcome: 'INVALID_KEY',
        http_status: 401,
        method: 'GET',
        route: '/v1/apps',
        client_ip: random.pick(attackerIps),
        user_agent: 'python-requests/2.32',
        latency_ms: random.int(1, 4),
        source: { name: 'sim-gateway', version: '1.0.0' },
      };
      continue;
    }
    const key = random.pick(keys);
    const session = key.keyType === 'SECRET' && random.chance(0.3);
    const endUser = session ? `eu_${random.int(1, 25)}` : null;
    let sessionId: string | null = null;
    if (endUser) {
      const sessionKey = `${key.keyId}:${endUser}`;
      sessionId = sessions.get(sessionKey) ?? null;
      if (!sessionId) {
        sessionId = `sess_${random.hex(12)}`;
        sessions.set(sessionKey, sessionId);
        yield {
          type: 'key_lifecycle',
          event_id: random.uuid7(now),
          workspace_id: key.workspaceId,
          occurred_at: now,
          lifecycle_type: 'SESSION_ISSUED',
          key_id: sessionId,
          session_id: sessionId,
          parent_key_id: key.keyId,
          end_user_id: endUser,
          scopes: key.scopes.slice(0, 2),
          ttl_seconds: 1800,
          actor: { kind: 'API_KEY', id: key.keyId },
        };
      }
    }
    const today = `${key.keyId}|${Math.floor(now / 86_400_000)}`;
    const { outcome, requiredScope } = decide(key, random.next(), allowedByKeyDay.get(today) ?? 0, random);
    const allowed = outcome === 'ALLOWED';
    if (allowed) allowedByKeyDay.set(today, (allowedByKeyDay.get(today) ?? 0) + 1);
    yield {
      type: 'auth_decision',
      event_id: random.uuid7(now),
      workspace_id: key.workspaceId,
      occurred_at: now,
      request_id: `req_${random.hex(16)}`,
      key_id: key.keyId,
      key_prefix: key.prefix,
      key_env: key.env,
      credential: sessionId ? 'SESSION_TOKEN' : 'API_KEY',
      key_type: key.keyType,
      session_id: sessionId,
      end_user_id: endUser,
      resource: `${key.product.name}_resource_${random.int(1, 3)}`,
      method: random.pick(['GET', 'POST']),
      route: random.pick(key.product.routes),
      required_scope: requiredScope,
      granted_scopes: key.scopes,
      outcome,
      deprecated_key: key === rotated && i > options.decisions / 3,
      ...(outcome === 'RATE_LIMITED'
        ? {
            rate_limit: {
              window: 'MINUTE',
              limit: 100,
              remaining: 0,
              reset_at: now + 45_000,
              retry_after_s: 45,
            },
          }
        : {}),
      ...(outcome === 'QUOTA_EXCEEDED'
        ? { quota: { period: 'DAY', limit: key.dailyQuota, remaining: 0 } }
        : {}),
      latency_ms: random.int(3, 250) + random.next(),
      cost: allowed ? random.int(1, 50) * 1000 : 0,
      ...source(key, endUser, random),
      source: { name: 'sim-gateway', version: '1.0.0' },
    };
  }
}
