/**
 * Labelled traffic for bench/detection.ts: workspaces of three sizes with diurnal, growing
 * traffic and the organic noise of real gateways (typos, a user retyping a key, deploy bursts
 * of a stale key, a misconfigured batch job, rate limits and scope refusals), plus attacks and
 * breaches whose start is known, so alerts can be scored. Pure and seeded: one seed, one day.
 */
import { createRandom, type Random } from '@keytrail/simulator';

export type AttackKind =
  | 'SINGLE_IP_ENUMERATION'
  | 'DISTRIBUTED_ENUMERATION'
  | 'LEAKED_REVOKED_KEY'
  | 'EXPIRED_KEY_STORM'
  | 'SUPERSEDED_KEY_IN_USE'
  | 'QUOTA_BREACH'
  | 'ERROR_RATE_BREACH'
  | 'COST_BREACH';

/** The alert kind that must answer each attack. */
export const EXPECTED_ALERT: Record<AttackKind, string> = {
  SINGLE_IP_ENUMERATION: 'INVALID_KEY_SPIKE',
  DISTRIBUTED_ENUMERATION: 'INVALID_KEY_SPIKE',
  LEAKED_REVOKED_KEY: 'REVOKED_KEY_USED',
  EXPIRED_KEY_STORM: 'EXPIRED_KEY_STORM',
  SUPERSEDED_KEY_IN_USE: 'SUPERSEDED_KEY_IN_USE',
  QUOTA_BREACH: 'QUOTA_THRESHOLD',
  ERROR_RATE_BREACH: 'ERROR_RATE',
  COST_BREACH: 'COST_THRESHOLD',
};

export interface Attack {
  kind: AttackKind;
  /** e.g. "600/min": what the report groups recall by. */
  label: string;
  workspaceId: string;
  /** Attempts per minute (enumeration), for the time-to-detect targets. */
  perMinute: number;
  /** Event time from which the alert is due (first attempt; for a breach, the crossing). */
  startedAt: number;
  endedAt: number;
  scope: { client_ip?: string; key_id?: string };
}

export type JsonEvent = Record<string, unknown> & { occurred_at: number; workspace_id: string };

export interface ScenarioSet {
  name: string;
  workspaceDays: number;
  attacks: Attack[];
  /** Every event of the set, in event-time order, an hour at a time. */
  hours(): Generator<JsonEvent[]>;
  eventCount: number;
}

const HOUR = 3_600_000;
const MINUTE = 60_000;
const SIZES = {
  small: { perSecond: 0.05, keys: 3 },
  medium: { perSecond: 0.5, keys: 10 },
  large: { perSecond: 3, keys: 30 },
} as const;
type Size = keyof typeof SIZES;

interface Key {
  id: string;
  prefix: string;
  ips: string[];
  weight: number;
  /** Its owner stops using it at this time (revoked, expired, past its grace). */
  until?: number;
}
interface Workspace {
  id: string;
  size: Size;
  keys: Key[];
  growthPerDay: number;
  family: string;
}

export interface SetOptions {
  name: string;
  seed: number;
  /** Workspaces of each size. */
  workspaces: Record<Size, number>;
  days: number;
  /** Event time the set starts at (whole hour). */
  startMs: number;
  /** Attempts per minute of the single-IP enumerations (one per rate). */
  enumerationRates: number[];
  /** [IPs, attempts per IP per minute] of the distributed enumerations. */
  distributed: [number, number][];
  /** Leaked-key uses per minute, expired-key refusals per minute. */
  leakedPerMinute: number;
  expiredPerMinute: number;
}

function poisson(random: Random, mean: number): number {
  // Knuth for small means, a normal approximation above.
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian(random)));
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = random.next(); p > limit; p *= random.next()) k++;
  return k;
}
function gaussian(random: Random): number {
  return Math.sqrt(-2 * Math.log(random.next() || 1e-12)) * Math.cos(2 * Math.PI * random.next());
}
const ip = (random: Random, net: string) => `${net}.${random.int(1, 254)}`;

/** The key `point` (0 ≤ point < total weight) falls on: busier keys take a wider share. */
function weighted<T extends { weight: number }>(items: readonly T[], point: number): T {
  let left = point;
  for (const item of items) {
    left -= item.weight;
    if (left <= 0) return item;
  }
  return items[0]!;
}

/** Traffic of a day follows the sun: quiet at night, busy in the afternoon (UTC). */
function diurnal(at: number): number {
  const hour = (at % 86_400_000) / HOUR;
  return 0.35 + 1.3 * Math.sin((Math.PI * (hour - 3)) / 24) ** 2;
}

export function scenarioSet(options: SetOptions): ScenarioSet {
  const random = createRandom(options.seed);
  const endMs = options.startMs + options.days * 24 * HOUR;
  const workspaces: Workspace[] = [];
  for (const size of ['small', 'medium', 'large'] as Size[])
    for (let i = 0; i < options.workspaces[size]; i++) {
      const id = `${options.name}_${size}_${i + 1}`;
      const family = `${random.pick(['pf', 'fl', 'pt', 'af'])}_live_`;
      const keys = Array.from({ length: SIZES[size].keys }, (_, k) => ({
        id: `${id}_key_${k + 1}`,
        prefix: `${family}${random.hex(4)}`,
        ips: Array.from({ length: random.int(1, 3) }, () =>
          ip(random, `10.${random.int(0, 255)}.${random.int(0, 255)}`),
        ),
        weight: 1 / (k + 1),
      }));
      workspaces.push({ id, size, keys, growthPerDay: random.chance(0.3) ? 0.15 : 0, family });
    }

  // Special events (anomalies, organic or not), generated up front: they are few.
  const special: JsonEvent[] = [];
  const attacks: Attack[] = [];
  const decision = (ws: Workspace, at: number, fields: Record<string, unknown>): JsonEvent => ({
    type: 'auth_decision',
    workspace_id: ws.id,
    occurred_at: Math.round(at),
    request_id: `req_${random.hex(16)}`,
    method: 'POST',
    route: '/v1/generate',
    outcome: 'ALLOWED',
    http_status: 200,
    latency_ms: 5,
    ...fields,
  });
  const invalid = (ws: Workspace, at: number, clientIp: string, hash: string) =>
    decision(ws, at, {
      outcome: 'INVALID_KEY',
      http_status: 401,
      key_prefix: `${ws.family}${random.hex(4)}`,
      presented_key_hash: hash,
      client_ip: clientIp,
    });
  const lifecycle = (ws: Workspace, at: number, fields: Record<string, unknown>): JsonEvent => ({
    type: 'key_lifecycle',
    workspace_id: ws.id,
    occurred_at: Math.round(at),
    ...fields,
  });
  /** A time inside the set, away from its first hours (baselines) and its end. */
  const someTime = () =>
    Math.round(options.startMs + 3 * HOUR + random.next() * (endMs - options.startMs - 6 * HOUR));
  const pickWs = (sizes: Size[]) => random.pick(workspaces.filter((w) => sizes.includes(w.size)));
  const busiest = (ws: Workspace) => ws.keys[0]!;

  // ── organic noise ──
  for (const ws of workspaces)
    for (let day = 0; day < options.days; day++) {
      const dayStart = options.startMs + day * 24 * HOUR;
      for (let r = 0; r < 2; r++) {
        // A user retyping a key: a few different wrong keys from one address.
        const at = dayStart + random.next() * 24 * HOUR;
        const from = ip(random, '100.64.7');
        for (let i = 0; i < random.int(3, 6); i++)
          special.push(invalid(ws, at + i * random.int(5, 20) * 1000, from, random.hex(32)));
      }
      if (ws.size !== 'small') {
        // A deploy: new instances start with the old key for a minute and a half.
        const at = dayStart + random.next() * 24 * HOUR;
        const stale = random.hex(32);
        const instances = Array.from({ length: 5 }, () => ip(random, '10.200.1'));
        for (let i = 0; i < 30; i++) special.push(invalid(ws, at + i * 3_000, random.pick(instances), stale));
      }
    }
  for (const ws of workspaces.filter(() => random.chance(0.2))) {
    // A misconfigured batch job: one stale key every 4 s for two hours.
    const at = someTime();
    const from = ip(random, '10.250.9');
    const stale = random.hex(32);
    for (let t = at; t < at + 2 * HOUR; t += 4_000) special.push(invalid(ws, t, from, stale));
  }

  // ── attacks and breaches ──
  for (const rate of options.enumerationRates) {
    const ws = pickWs(['small', 'medium', 'large']);
    const at = someTime();
    const from = ip(random, '203.0.113');
    const attempts = rate * 4;
    for (let i = 0; i < attempts; i++)
      special.push(invalid(ws, at + (i * MINUTE) / rate, from, random.hex(32)));
    attacks.push({
      kind: 'SINGLE_IP_ENUMERATION',
      label: `${rate}/min`,
      workspaceId: ws.id,
      perMinute: rate,
      startedAt: at,
      endedAt: at + 4 * MINUTE,
      scope: { client_ip: from },
    });
  }
  for (const [ips, perIp] of options.distributed) {
    const ws = pickWs(['medium', 'large']);
    const at = someTime();
    const sources = Array.from({ length: ips }, () => ip(random, `198.51.${random.int(0, 255)}`));
    const perMinute = ips * perIp;
    for (let i = 0; i < perMinute * 6; i++)
      special.push(invalid(ws, at + (i * MINUTE) / perMinute, sources[i % ips]!, random.hex(32)));
    attacks.push({
      kind: 'DISTRIBUTED_ENUMERATION',
      label: `${ips} IPs × ${perIp}/min`,
      workspaceId: ws.id,
      perMinute,
      startedAt: at,
      endedAt: at + 6 * MINUTE,
      scope: {},
    });
  }
  {
    // A leaked key used after its revocation, from addresses it never had.
    const ws = pickWs(['medium', 'large']);
    const key = ws.keys[ws.keys.length - 1]!;
    const revokedAt = someTime();
    special.push(
      lifecycle(ws, revokedAt, {
        lifecycle_type: 'REVOKED',
        key_id: key.id,
        key_prefix: key.prefix,
        reason: 'leaked',
      }),
    );
    key.until = revokedAt; // its owner stopped using it
    const at = revokedAt + HOUR;
    const sources = Array.from({ length: 3 }, () => ip(random, '192.0.2'));
    const uses = options.leakedPerMinute * 10;
    for (let i = 0; i < uses; i++)
      special.push(
        decision(ws, at + (i * MINUTE) / options.leakedPerMinute, {
          key_id: key.id,
          key_prefix: key.prefix,
          outcome: 'REVOKED_KEY',
          http_status: 401,
          client_ip: sources[i % 3],
        }),
      );
    attacks.push({
      kind: 'LEAKED_REVOKED_KEY',
      label: `${options.leakedPerMinute}/min`,
      workspaceId: ws.id,
      perMinute: options.leakedPerMinute,
      startedAt: at,
      endedAt: at + 10 * MINUTE,
      scope: { key_id: key.id },
    });
  }
  {
    // A rotation without grace; clients that missed it hammer the old key.
    const ws = pickWs(['medium', 'large']);
    const key = ws.keys[ws.keys.length - 2]!;
    const rotatedAt = someTime();
    special.push(
      lifecycle(ws, rotatedAt, { lifecycle_type: 'EXPIRED', key_id: key.id, key_prefix: key.prefix }),
    );
    key.until = rotatedAt;
    const per = options.expiredPerMinute;
    for (let i = 0; i < per * 8; i++)
      special.push(
        decision(ws, rotatedAt + 1_000 + (i * MINUTE) / per, {
          key_id: key.id,
          key_prefix: key.prefix,
          outcome: 'EXPIRED_KEY',
          http_status: 401,
          client_ip: random.pick(key.ips),
        }),
      );
    attacks.push({
      kind: 'EXPIRED_KEY_STORM',
      label: `${per}/min`,
      workspaceId: ws.id,
      perMinute: per,
      startedAt: rotatedAt + 1_000,
      endedAt: rotatedAt + 8 * MINUTE,
      scope: { key_id: key.id },
    });
  }
  {
    // A superseded key still carrying its traffic into the last hour of its grace.
    const ws = pickWs(['large']);
    const key = busiest(ws);
    const supersededAt = someTime();
    const graceEnds = supersededAt + 2 * HOUR;
    special.push(
      lifecycle(ws, supersededAt, {
        lifecycle_type: 'SUPERSEDED',
        key_id: key.id,
        key_prefix: key.prefix,
        grace_ends_at: graceEnds,
        replaced_by: `${key.id}_v2`,
      }),
    );
    key.until = graceEnds;
    attacks.push({
      kind: 'SUPERSEDED_KEY_IN_USE',
      label: 'grace ends in 1 h',
      workspaceId: ws.id,
      perMinute: 0,
      startedAt: graceEnds - HOUR,
      endedAt: graceEnds,
      scope: { key_id: key.id },
    });
  }
  {
    // A key with a daily quota the gateway reports, used past 80 % of it.
    const ws = pickWs(['medium']);
    const key = ws.keys[1]!;
    const at = someTime();
    const limit = 500;
    let crossing = 0;
    for (let i = 0; i < 450; i++) {
      const t = at + i * 4_000;
      special.push(
        decision(ws, t, {
          key_id: key.id,
          key_prefix: key.prefix,
          client_ip: key.ips[0],
          quota: { period: 'DAY', limit, remaining: limit - 50 - i },
        }),
      );
      if (crossing === 0 && 50 + i + 1 >= limit * 0.8) crossing = t;
    }
    attacks.push({
      kind: 'QUOTA_BREACH',
      label: '80 % of a daily quota',
      workspaceId: ws.id,
      perMinute: 0,
      startedAt: crossing,
      endedAt: at + 450 * 4_000,
      scope: { key_id: key.id },
    });
  }
  {
    // An integration breaks: a quarter of a busy key's calls are refused for 15 minutes.
    const ws = pickWs(['large']);
    const key = ws.keys[2]!;
    const at = someTime();
    for (let i = 0; i < 15 * 40; i++)
      special.push(
        decision(ws, at + i * 1_500, {
          key_id: key.id,
          key_prefix: key.prefix,
          client_ip: key.ips[0],
          ...(i % 4 === 0
            ? { outcome: 'MISSING_SCOPE', http_status: 403, required_scope: 'apps:write' }
            : {}),
        }),
      );
    attacks.push({
      kind: 'ERROR_RATE_BREACH',
      label: '25 % refused',
      workspaceId: ws.id,
      perMinute: 40,
      startedAt: at,
      endedAt: at + 15 * MINUTE,
      scope: { key_id: key.id },
    });
  }
  {
    // Runaway spend: a key's calls suddenly cost 2 credits each.
    const ws = pickWs(['medium', 'large']);
    const key = ws.keys[3] ?? ws.keys[0]!;
    const at = someTime();
    for (let i = 0; i < 120; i++)
      special.push(
        decision(ws, at + i * 5_000, {
          key_id: key.id,
          key_prefix: key.prefix,
          client_ip: key.ips[0],
          cost: 2_000_000,
        }),
      );
    attacks.push({
      kind: 'COST_BREACH',
      label: '100 credits a day',
      workspaceId: ws.id,
      perMinute: 12,
      startedAt: at,
      endedAt: at + 10 * MINUTE,
      scope: { key_id: key.id },
    });
  }
  special.sort((a, b) => a.occurred_at - b.occurred_at);

  // Key creation with each key's history, before any traffic.
  const created = workspaces.flatMap((ws) =>
    ws.keys.map((k) =>
      lifecycle(ws, options.startMs, {
        lifecycle_type: 'CREATED',
        key_id: k.id,
        key_prefix: k.prefix,
        key_env: 'LIVE',
        key_type: 'SECRET',
      }),
    ),
  );

  /** Ordinary traffic of one workspace in one hour: mostly allowed, a little refused, a few typos. */
  function organicHour(ws: Workspace, hourStart: number, traffic: Random): JsonEvent[] {
    const out: JsonEvent[] = [];
    const day = Math.floor((hourStart - options.startMs) / (24 * HOUR));
    const total = ws.keys.reduce((s, k) => s + k.weight, 0);
    for (let minute = 0; minute < 60; minute++) {
      const at = hourStart + minute * MINUTE;
      const mean = SIZES[ws.size].perSecond * 60 * diurnal(at) * (1 + ws.growthPerDay * day);
      for (let n = poisson(traffic, mean); n > 0; n--) {
        const t = at + traffic.next() * MINUTE;
        const key = weighted(ws.keys, traffic.next() * total);
        if (key.until !== undefined && t >= key.until) continue;
        const roll = traffic.next();
        const base = { key_id: key.id, key_prefix: key.prefix, client_ip: traffic.pick(key.ips), cost: 500 };
        if (roll < 0.002) out.push({ ...invalid(ws, t, base.client_ip!, traffic.hex(32)) });
        else if (roll < 0.006)
          out.push(decision(ws, t, { ...base, outcome: 'RATE_LIMITED', http_status: 429 }));
        else if (roll < 0.008)
          out.push(decision(ws, t, { ...base, outcome: 'MISSING_SCOPE', http_status: 403 }));
        else out.push(decision(ws, t, base));
      }
    }
    return out;
  }

  // Count once (the same seeds give the same events when generated again).
  let eventCount = created.length + special.length;
  {
    const counter = createRandom(options.seed ^ 0x5eed);
    for (let h = options.startMs; h < endMs; h += HOUR)
      for (const ws of workspaces) eventCount += organicHour(ws, h, counter).length;
  }

  return {
    name: options.name,
    workspaceDays: workspaces.length * options.days,
    attacks,
    eventCount,
    *hours() {
      const traffic = createRandom(options.seed ^ 0x5eed);
      let next = 0;
      yield created;
      for (let h = options.startMs; h < endMs; h += HOUR) {
        const events = workspaces.flatMap((ws) => organicHour(ws, h, traffic));
        while (next < special.length && special[next]!.occurred_at < h + HOUR) events.push(special[next++]!);
        events.sort((a, b) => a.occurred_at - b.occurred_at);
        yield events;
      }
    },
  };
}
