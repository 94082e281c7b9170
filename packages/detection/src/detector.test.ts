import type { AuthDecision, KeyLifecycle } from '@keytrail/events';
import { fullAuthDecision, fullKeyLifecycle } from '@keytrail/events/fixtures';
import { describe, expect, it } from 'vitest';
import { alertEventOf, alertOf } from './alertEvents.ts';
import { createDetector, type Detector, wilsonLowerBound } from './detector.ts';
import { DEFAULT_RULES, type RuleBook } from './rules.ts';
import type { AlertChange } from './types.ts';

const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);
const S = 1_000;
const M = 60_000;

let n = 0;
/** A quiet decision: allowed, no quota or cost, so only what a test sets can fire. */
const decision = (at: number, fields: Partial<AuthDecision> = {}): AuthDecision =>
  fullAuthDecision({
    event_id: `e${++n}`,
    request_id: `req_${n}`,
    occurred_at: at,
    quota: null,
    cost: 0,
    ...fields,
  });
const invalid = (at: number, fields: Partial<AuthDecision> = {}) =>
  decision(at, {
    outcome: 'INVALID_KEY',
    http_status: 401,
    key_id: null,
    key_prefix: 'pf_live_zz',
    presented_key_hash: `h${n}`,
    ...fields,
  });
const lifecycle = (at: number, fields: Partial<KeyLifecycle>): KeyLifecycle =>
  fullKeyLifecycle({ event_id: `l${++n}`, occurred_at: at, quota: null, ...fields });

function detector(rules: Partial<RuleBook> = {}): Detector {
  return createDetector({ rulesFor: () => ({ ...DEFAULT_RULES, ...rules }), latenessMs: 2_000 });
}

/** Feeds events (one partition unless given) and then enough later traffic to move the watermark to `until`. */
function run(
  d: Detector,
  events: (AuthDecision | KeyLifecycle)[],
  until: number,
  partition = 'p0',
): AlertChange[] {
  const changes: AlertChange[] = [];
  for (const e of [...events].sort((a, b) => a.occurred_at - b.occurred_at)) {
    if ('lifecycle_type' in e) d.lifecycle(partition, e);
    else d.decision(partition, e);
    changes.push(...d.advance());
  }
  // A heartbeat decision on another workspace carries event time forward.
  for (let t = Math.max(T0, ...events.map((e) => e.occurred_at)); t <= until; t += 10 * S) {
    d.decision(partition, decision(t, { workspace_id: 'ws_clock', key_id: 'clock' }));
    changes.push(...d.advance());
  }
  return changes;
}

const every = (count: number, start: number, gapMs: number) =>
  Array.from({ length: count }, (_, i) => start + i * gapMs);

describe('INVALID_KEY_SPIKE', () => {
  it('fires once for one IP enumerating keys, with evidence, as soon as the window holds min_count', () => {
    const attack = every(40, T0 + 5 * M, 1_500).map((at) => invalid(at, { client_ip: '198.51.100.9' }));
    const changes = run(detector(), attack, T0 + 8 * M);
    const fired = changes.filter((c) => c.change === 'FIRED');
    expect(fired).toHaveLength(1);
    const alert = fired[0]!.alert;
    expect(alert).toMatchObject({
      kind: 'INVALID_KEY_SPIKE',
      workspace_id: 'ws_1',
      severity: 'HIGH',
      scope: { client_ip: '198.51.100.9' },
      started_at: attack[0]!.occurred_at,
    });
    // The 20th attempt (min_count) arrives 19 × 1.5 s after the first: detected at that second.
    expect(alert.detected_at - alert.started_at).toBeLessThanOrEqual(29_000);
    expect(alert.detected_at - alert.started_at).toBeGreaterThanOrEqual(28_000);
    expect(alert.evidence).toMatchObject({
      count: 20,
      threshold: 20,
      distinct_key_hashes: 20,
      distinct_ips: 1,
    });
    expect(alert.evidence.sample_request_ids).toHaveLength(5);
  });

  it('stays quiet for a user retyping a wrong key and for a large workspace’s normal stream of typos', () => {
    const retyped = every(6, T0 + 2 * M, 5_000).map((at) =>
      invalid(at, { presented_key_hash: 'same', client_ip: '192.0.2.1' }),
    );
    // 120 typos a minute from 600 different IPs, for an hour: normal for this workspace.
    const typos = every(120 * 60, T0, 500).map((at, i) =>
      invalid(at, { workspace_id: 'ws_big', client_ip: `10.0.${(i % 600) >> 8}.${i % 256}` }),
    );
    const changes = run(detector(), [...retyped, ...typos], T0 + 65 * M);
    expect(changes).toEqual([]);
  });

  it('fires for distributed enumeration above the workspace’s own baseline, scoped to the key prefix', () => {
    const normal = every(30 * 30, T0, 2_000).map((at, i) =>
      invalid(at, { workspace_id: 'ws_big', client_ip: `10.1.0.${i % 200}`, key_prefix: 'pf_live_ab' }),
    );
    // Then 400 attempts a minute from 400 IPs (one each): no single IP stands out.
    const attack = every(400, T0 + 31 * M, 150).map((at, i) =>
      invalid(at, {
        workspace_id: 'ws_big',
        client_ip: `198.18.${i >> 8}.${i % 256}`,
        key_prefix: 'pf_live_cd',
      }),
    );
    const changes = run(detector(), [...normal, ...attack], T0 + 33 * M);
    const fired = changes.filter((c) => c.change === 'FIRED').map((c) => c.alert);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({
      workspace_id: 'ws_big',
      severity: 'HIGH',
      scope: { key_prefix: 'pf_live_' },
    });
    // Baseline about 30 a minute, so the threshold is four times that, not min_count.
    const { baseline, threshold } = fired[0]!.evidence;
    expect(baseline).toBeGreaterThan(27);
    expect(baseline).toBeLessThan(31);
    expect(Math.abs(threshold - 4 * baseline)).toBeLessThanOrEqual(1); // baseline is shown rounded
    expect(fired[0]!.evidence.distinct_ips).toBeGreaterThan(100);
  });

  it('leaves an attack from one address to that address’s alert, with no second one for the workspace', () => {
    // A quiet workspace (warm baseline), then a slow enumeration from one IP plus one typo
    // elsewhere: the workspace window reaches 20 before the IP alone does.
    const quiet = every(10, T0, M).map((at) => invalid(at, { client_ip: `10.2.0.${at % 250}` }));
    const attack = every(40, T0 + 12 * M, 3_000).map((at) => invalid(at, { client_ip: '203.0.113.5' }));
    const typo = [invalid(T0 + 12 * M + 500, { client_ip: '10.2.0.9' })];
    const fired = run(detector(), [...quiet, ...attack, ...typo], T0 + 16 * M)
      .filter((c) => c.change === 'FIRED')
      .map((c) => c.alert.scope);
    expect(fired).toEqual([{ client_ip: '203.0.113.5' }]);
  });

  it('does not call a deploy of a stale key enumeration because a few typos came with it', () => {
    // Five new instances present the old key 30 times in 90 s; three users mistype meanwhile.
    const quiet = every(10, T0, M).map((at) =>
      invalid(at, { workspace_id: 'ws_d', client_ip: `10.3.0.${at % 250}` }),
    );
    const deploy = every(30, T0 + 12 * M, 3_000).map((at, i) =>
      invalid(at, { workspace_id: 'ws_d', presented_key_hash: 'stale', client_ip: `10.200.1.${i % 5}` }),
    );
    const typos = [1, 2, 3].map((i) =>
      invalid(T0 + 12 * M + i * 10_000, { workspace_id: 'ws_d', client_ip: `100.64.7.${i}` }),
    );
    const fired = run(detector(), [...quiet, ...deploy, ...typos], T0 + 16 * M).filter(
      (c) => c.change === 'FIRED',
    );
    expect(fired).toEqual([]);
  });

  it('pages for one stale key hammered only far above normal, at low severity', () => {
    // Ten quiet minutes (two typos a minute), then a batch job retries one stale key.
    const workspace = (ws: string, perMinute: number) => [
      ...every(20, T0, 30_000).map((at) =>
        invalid(at, { workspace_id: ws, client_ip: `10.9.0.${at % 250}` }),
      ),
      ...every(perMinute * 3, T0 + 10 * M, M / perMinute).map((at) =>
        invalid(at, { workspace_id: ws, presented_key_hash: 'stale', client_ip: '192.0.2.50' }),
      ),
    ];
    const changes = run(detector(), [...workspace('ws_a', 30), ...workspace('ws_b', 90)], T0 + 15 * M);
    const fired = changes.filter((c) => c.change === 'FIRED').map((c) => c.alert);
    expect(fired.map((a) => [a.workspace_id, a.severity, a.evidence.distinct_key_hashes])).toEqual([
      ['ws_b', 'LOW', 1],
    ]);
  });

  it('updates a firing alert as it grows and resolves it after the cool-down, firing once per episode', () => {
    const first = every(300, T0 + M, 1_000).map((at) => invalid(at, { client_ip: '198.51.100.1' }));
    const second = every(60, T0 + 30 * M, 1_000).map((at) => invalid(at, { client_ip: '198.51.100.1' }));
    const changes = run(detector(), [...first, ...second], T0 + 40 * M);
    // The second burst lasts under a minute: no update, and it resolves in its turn.
    expect(changes.map((c) => c.change)).toEqual(['FIRED', 'UPDATED', 'RESOLVED', 'FIRED', 'RESOLVED']);
    const [fired, updated, resolved, again] = changes.map((c) => c.alert);
    expect(updated!.id).toBe(fired!.id);
    expect(updated!.evidence.count).toBe(60);
    expect(resolved).toMatchObject({ id: fired!.id, status: 'RESOLVED' });
    // Clear for the five-minute cool-down after the last attempt (T0 + 6 min).
    expect(resolved!.resolved_at).toBe(T0 + 6 * M - S + 5 * M);
    expect(again!.id).not.toBe(fired!.id);
  });
});

describe('event time', () => {
  it('gives the same alerts whatever the interleaving of partitions, and drops events beyond the lateness', () => {
    const attack = every(60, T0 + M, 1_000).map((at, i) => ({
      e: invalid(at, { client_ip: '198.51.100.2' }),
      p: `p${i % 3}`,
    }));
    const outcomes: string[] = [];
    for (const order of [attack, [...attack].reverse()]) {
      const d = detector();
      const changes: AlertChange[] = [];
      // Partitions in order each, interleaved differently across partitions.
      const byPartition = ['p0', 'p1', 'p2'].map((p) => attack.filter((a) => a.p === p));
      const sequence = order === attack ? byPartition.flat() : byPartition.reverse().flat();
      for (const { e, p } of sequence) {
        d.decision(p, e);
        changes.push(...d.advance());
      }
      for (const p of ['p0', 'p1', 'p2']) d.decision(p, decision(T0 + 10 * M, { workspace_id: 'ws_clock' }));
      changes.push(...d.advance());
      outcomes.push(
        JSON.stringify(
          changes.map((c) => [c.change, c.alert.id, c.alert.detected_at, c.alert.evidence.count]),
        ),
      );
      expect(d.stats().late).toBeGreaterThan(0); // the partitions read last were behind the others
    }
    // Read partition by partition, the later partitions arrive behind the watermark: late.
    // The two orders lose different events, so compare each against its own rerun instead.
    const rerun = detector();
    const sequence = ['p0', 'p1', 'p2'].flatMap((p) => attack.filter((a) => a.p === p));
    const changes: AlertChange[] = [];
    for (const { e, p } of sequence) {
      rerun.decision(p, e);
      changes.push(...rerun.advance());
    }
    for (const p of ['p0', 'p1', 'p2'])
      rerun.decision(p, decision(T0 + 10 * M, { workspace_id: 'ws_clock' }));
    changes.push(...rerun.advance());
    expect(
      JSON.stringify(changes.map((c) => [c.change, c.alert.id, c.alert.detected_at, c.alert.evidence.count])),
    ).toBe(outcomes[0]);
  });

  it('orders events within the lateness, so a round-robin read of partitions loses nothing', () => {
    const attack = every(60, T0 + M, 1_000).map((at) => invalid(at, { client_ip: '198.51.100.3' }));
    const feed = (interleave: (i: number) => string) => {
      const d = detector();
      const changes: AlertChange[] = [];
      attack.forEach((e, i) => {
        d.decision(interleave(i), e);
        changes.push(...d.advance());
      });
      for (const p of ['p0', 'p1']) d.decision(p, decision(T0 + 20 * M, { workspace_id: 'ws_clock' }));
      changes.push(...d.advance());
      return { changes, late: d.stats().late };
    };
    const a = feed((i) => `p${i % 2}`);
    const b = feed((i) => `p${(i >> 2) % 2}`);
    expect(a.late).toBe(0);
    expect(b.late).toBe(0);
    expect(a.changes.map((c) => c.alert)).toEqual(b.changes.map((c) => c.alert));
    expect(a.changes.map((c) => c.change)).toEqual(['FIRED', 'RESOLVED']);
  });
});

describe('key lifecycle kinds', () => {
  it('REVOKED_KEY_USED: a revoked key presented again fires once, worse from an IP never seen with it', () => {
    const events = [
      decision(T0 + M, { client_ip: '203.0.113.1' }),
      lifecycle(T0 + 2 * M, { lifecycle_type: 'REVOKED' }),
      decision(T0 + 10 * M, { outcome: 'REVOKED_KEY', http_status: 401, client_ip: '203.0.113.1' }),
      decision(T0 + 11 * M, { outcome: 'REVOKED_KEY', http_status: 401, client_ip: '198.51.100.66' }),
    ];
    const changes = run(detector(), events, T0 + 20 * M);
    expect(changes.map((c) => [c.change, c.alert.kind, c.alert.severity])).toEqual([
      ['FIRED', 'REVOKED_KEY_USED', 'MEDIUM'],
      ['UPDATED', 'REVOKED_KEY_USED', 'HIGH'],
    ]);
    expect(changes[1]!.alert.evidence).toMatchObject({ count: 2, distinct_ips: 2 });
    expect(changes[0]!.alert.started_at).toBe(T0 + 10 * M);
  });

  it('SUPERSEDED_KEY_IN_USE fires only when the old key is used within an hour of its grace end, and resolves at it', () => {
    const graceEnds = T0 + 3 * 60 * M;
    const events = [
      lifecycle(T0, { lifecycle_type: 'SUPERSEDED', grace_ends_at: graceEnds, replaced_by: 'key_2' }),
      decision(T0 + 30 * M, { deprecated_key: true }),
      decision(graceEnds - 20 * M, { deprecated_key: true }),
      decision(graceEnds - 19 * M, { deprecated_key: true }),
    ];
    const changes = run(detector(), events, graceEnds + 2 * M);
    expect(changes.map((c) => [c.change, c.alert.kind, c.alert.evidence.count])).toEqual([
      ['FIRED', 'SUPERSEDED_KEY_IN_USE', 1],
      ['UPDATED', 'SUPERSEDED_KEY_IN_USE', 2],
      ['RESOLVED', 'SUPERSEDED_KEY_IN_USE', 2],
    ]);
    expect(changes[0]!.alert.started_at).toBe(graceEnds - 20 * M);
    expect(changes[2]!.alert.resolved_at).toBe(graceEnds);
  });

  it('EXPIRED_KEY_STORM: clients still presenting a rotated key', () => {
    const storm = every(30, T0 + M, 1_000).map((at) =>
      decision(at, {
        outcome: 'EXPIRED_KEY',
        http_status: 401,
        key_id: 'key_old',
        client_ip: `203.0.113.${at % 7}`,
      }),
    );
    const trickle = every(10, T0 + M, 5_000).map((at) =>
      decision(at, { outcome: 'EXPIRED_KEY', http_status: 401, key_id: 'key_other' }),
    );
    const fired = run(detector(), [...storm, ...trickle], T0 + 5 * M).filter((c) => c.change === 'FIRED');
    expect(fired.map((c) => [c.alert.kind, c.alert.scope])).toEqual([
      ['EXPIRED_KEY_STORM', { key_id: 'key_old' }],
    ]);
  });
});

describe('usage kinds', () => {
  it('QUOTA_THRESHOLD: once per key and quota period, from the quota state decisions report', () => {
    const day2 = T0 + 24 * 60 * M;
    const q = (at: number, remaining: number) =>
      decision(at, { quota: { period: 'DAY', limit: 1_000, remaining, reset_at: null } });
    const events = [q(T0, 500), q(T0 + M, 210), q(T0 + 2 * M, 150), q(T0 + 3 * M, 100), q(day2, 100)];
    const changes = run(detector(), events, day2 + 2 * M);
    expect(changes.map((c) => [c.change, c.alert.kind, c.alert.evidence.count])).toEqual([
      ['FIRED', 'QUOTA_THRESHOLD', 850],
      ['UPDATED', 'QUOTA_THRESHOLD', 900],
      ['RESOLVED', 'QUOTA_THRESHOLD', 900],
      ['FIRED', 'QUOTA_THRESHOLD', 900],
    ]);
    expect(changes[0]!.alert.id).not.toBe(changes[3]!.alert.id);
    expect(changes[2]!.alert.resolved_at).toBe(Date.UTC(2026, 10, 23));
  });

  it('QUOTA_THRESHOLD: from the key’s lifecycle quota against counted usage when decisions report none', () => {
    const events = [
      lifecycle(T0 - M, { lifecycle_type: 'CREATED', quota: { period: 'DAY', limit: 100 } }),
      ...every(85, T0, 1_000).map((at) => decision(at)),
    ];
    const fired = run(detector(), events, T0 + 3 * M).filter((c) => c.change === 'FIRED');
    expect(fired.map((c) => [c.alert.kind, c.alert.evidence.count, c.alert.evidence.threshold])).toEqual([
      ['QUOTA_THRESHOLD', 80, 80],
    ]);
  });

  it('ERROR_RATE: judges the share with 95 % confidence (Wilson), so chance refusals at low volume do not fire', () => {
    expect(wilsonLowerBound(3, 50)).toBeLessThan(0.05); // 6 % in the sample, could be 2 %
    expect(wilsonLowerBound(30, 300)).toBeGreaterThan(0.05); // 10 % of 300: at least 7 %
    expect(wilsonLowerBound(0, 0)).toBe(0);
  });

  it('ERROR_RATE: a key refused above 5 % over five minutes with enough volume', () => {
    const traffic = (key: string, perMinute: number, errorEvery: number) =>
      every(perMinute * 6, T0, M / perMinute).map((at, i) =>
        decision(at, {
          key_id: key,
          outcome: i % errorEvery === 0 ? 'RATE_LIMITED' : 'ALLOWED',
          http_status: i % errorEvery === 0 ? 429 : 200,
        }),
      );
    const events = [
      ...traffic('key_bad', 60, 10),
      ...traffic('key_ok', 60, 50),
      ...traffic('key_quiet', 5, 2),
    ];
    const fired = run(detector(), events, T0 + 8 * M).filter((c) => c.change === 'FIRED');
    expect(fired.map((c) => [c.alert.kind, c.alert.scope.key_id])).toEqual([['ERROR_RATE', 'key_bad']]);
    // count = refused, baseline = all decisions of the key in the window.
    const { count, baseline } = fired[0]!.alert.evidence;
    expect(baseline).toBeGreaterThanOrEqual(50);
    expect(count / baseline).toBeGreaterThan(0.05);
  });

  it('COST_THRESHOLD: per key and per end user in the period', () => {
    const events = every(5, T0, M).map((at) => decision(at, { cost: 30_000_000, end_user_id: 'eu_9' }));
    const fired = run(detector(), events, T0 + 6 * M).filter((c) => c.change === 'FIRED');
    expect(fired.map((c) => [c.alert.kind, c.alert.scope, c.alert.evidence.count])).toEqual([
      ['COST_THRESHOLD', { key_id: 'key_1' }, 120_000_000],
      ['COST_THRESHOLD', { end_user_id: 'eu_9' }, 120_000_000],
    ]);
  });

  it('turns a rule off per workspace', () => {
    const events = every(5, T0, M).map((at) => decision(at, { cost: 30_000_000 }));
    const off = { ...DEFAULT_RULES.COST_THRESHOLD, enabled: false };
    expect(run(detector({ COST_THRESHOLD: off }), events, T0 + 6 * M)).toEqual([]);
  });
});

describe('restart', () => {
  it('continues an open alert restored from the alerts topic instead of firing it again', () => {
    const attack = every(120, T0 + M, 1_000).map((at) => invalid(at, { client_ip: '198.51.100.4' }));
    const before = run(detector(), attack.slice(0, 40), T0 + M + 40 * S);
    const open = before.filter((c) => c.change === 'FIRED').map((c) => c.alert);
    expect(open).toHaveLength(1);
    // A new process rebuilds its windows from the last minutes of the topic and knows the open alert.
    const after = detector();
    after.restore(open);
    const changes = run(after, attack, T0 + 20 * M);
    expect(changes.map((c) => c.change)).toEqual(['UPDATED', 'RESOLVED']);
    expect(new Set(changes.map((c) => c.alert.id))).toEqual(new Set([open[0]!.id]));
  });
});

describe('a live stream that goes quiet', () => {
  it('fires on the last burst once the reader says nothing older is coming, and knows history at once', () => {
    const d = detector();
    d.history(lifecycle(T0 - 90 * 86_400_000, { key_id: 'key_old', lifecycle_type: 'REVOKED' }));
    d.decision('p0', decision(T0, { key_id: 'key_old', outcome: 'REVOKED_KEY', http_status: 401 }));
    expect(d.advance()).toEqual([]); // the watermark has not passed the decision yet
    d.quietUntil(T0 + 3 * S);
    const fired = d.advance();
    expect(fired.map((c) => [c.change, c.alert.kind, c.alert.scope.key_id])).toEqual([
      ['FIRED', 'REVOKED_KEY_USED', 'key_old'],
    ]);
  });
});

describe('alert events', () => {
  it('carry an alert change to keytrail.alerts and back unchanged', () => {
    const d = detector();
    d.history(lifecycle(T0 - 86_400_000, { key_id: 'key_gone', lifecycle_type: 'REVOKED' }));
    d.decision('p0', decision(T0, { key_id: 'key_gone', outcome: 'REVOKED_KEY', http_status: 401 }));
    d.quietUntil(T0 + 3 * S);
    const [fired] = d.advance();
    const event = alertEventOf(fired!);
    expect(event.change).toBe('FIRED');
    expect(event.scope).toMatchObject({ key_id: 'key_gone', client_ip: null });
    expect(alertOf(event)).toEqual(fired!.alert);
  });
});
