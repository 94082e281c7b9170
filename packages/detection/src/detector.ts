import type { AuthDecision, KeyLifecycle } from '@keytrail/events';
import { Episodes, type Finding } from './episodes.ts';
import { periodAround } from './periods.ts';
import type { RuleBook } from './rules.ts';
import type { Alert, AlertChange, AlertEvidence, AlertScope } from './types.ts';
import { createWatermark } from './watermark.ts';
import {
  type Attempt,
  AttemptWindow,
  describeAttempts,
  MinuteBaseline,
  sampleRequestIds,
} from './windows.ts';

export interface DetectorOptions {
  /** The rules in force for a workspace (defaults merged with its changes). */
  rulesFor(workspaceId: string): RuleBook;
  /** How far out of order events may arrive and still count (default 5 s). */
  latenessMs?: number;
  /** A partition this far behind the newest event stops holding the watermark (default 60 s). */
  idleMs?: number;
}

/**
 * Detection over a stream of decisions and lifecycle events, judged by event time. Events go in
 * as they are read (`decision`, `lifecycle`); `advance` moves event time up to the watermark one
 * second at a time, in (time, partition, arrival) order, and returns what fired, updated or
 * resolved. No I/O and no wall clock: the same events give the same alerts, live or replayed.
 */
export interface Detector {
  decision(partition: string, decision: AuthDecision): void;
  lifecycle(partition: string, event: KeyLifecycle): void;
  /**
   * Key history read before the stream (the whole lifecycle topic at start-up): applied at once,
   * outside event time, so a key revoked months ago is known to be revoked. Applying an event
   * again later through `lifecycle` changes nothing.
   */
  history(event: KeyLifecycle): void;
  /**
   * The reader is caught up and nothing arrived: no event older than `at` is still to come.
   * Lets event time move on in a quiet stream (live only; a replay never needs it).
   */
  quietUntil(at: number): void;
  advance(): AlertChange[];
  /**
   * Continues these open alerts after a restart instead of firing them again; `heldUntil` is
   * the event time up to which they were known open (their cool-down counts from there).
   */
  restore(alerts: readonly Alert[], heldUntil?: number): void;
  stats(): { watermark: number | undefined; late: number; pending: number; firing: number };
}

const SECOND = 1_000;
const MINUTE = 60_000;
const INVALID_OUTCOMES = new Set(['INVALID_KEY', 'MALFORMED_CREDENTIALS']);
const KNOWN_IPS_PER_KEY = 200;
const BASELINE_WARMUP_MINUTES = 5;

interface KeyState {
  revokedAt?: number;
  graceEndsAt?: number;
  quota?: { period: 'DAY' | 'MONTH'; limit: number };
  /** Client IPs the key was used from while it was valid: a use after revocation from elsewhere is worse. */
  knownIps: Set<string>;
}

interface Use {
  count: number;
  ips: Set<string>;
  newIps: Set<string>;
  allowed: number;
  requestIds: string[];
  startedAt: number;
}

interface WorkspaceState {
  /** Event time of the workspace's first decision here: the minute it falls in is partial. */
  firstSeenAt: number;
  invalid: AttemptWindow;
  invalidByIp: Map<string, AttemptWindow>;
  dirtyIps: Set<string>;
  dirtyAll: boolean;
  invalidThisMinute: number;
  invalidByIpThisMinute: Map<string, number>;
  baseline: MinuteBaseline;
  ipBaseline: MinuteBaseline;
  expiredByKey: Map<string, AttemptWindow>;
  dirtyExpired: Set<string>;
  /** key → minute number → [decisions, not ALLOWED]. */
  outcomesByKey: Map<string, Map<number, [number, number]>>;
  /** `${key}|${periodStart}` → ALLOWED decisions (quota from lifecycle when decisions carry none). */
  allowedInPeriod: Map<string, number>;
  /** `${key|eu}:${id}|${periodStart}` → micro-credits. */
  costInPeriod: Map<string, number>;
  revokedUse: Map<string, Use>;
  supersededUse: Map<string, Use>;
}

interface Pending {
  at: number;
  partition: string;
  seq: number;
  apply: (tick: number) => void;
}

export function createDetector(options: DetectorOptions): Detector {
  const watermark = createWatermark({
    latenessMs: options.latenessMs ?? 5_000,
    idleMs: options.idleMs ?? 60_000,
  });
  const episodes = new Episodes();
  const workspaces = new Map<string, WorkspaceState>();
  const keys = new Map<string, KeyState>();
  let pending: Pending[] = [];
  let seq = 0;
  let late = 0;
  let nextTick: number | undefined;
  let changes: AlertChange[] = [];

  const workspace = (id: string, at: number): WorkspaceState =>
    getOrCreate(workspaces, id, () => ({
      firstSeenAt: at,
      invalid: new AttemptWindow(options.rulesFor(id).INVALID_KEY_SPIKE.window_seconds * SECOND),
      invalidByIp: new Map(),
      dirtyIps: new Set(),
      dirtyAll: false,
      invalidThisMinute: 0,
      invalidByIpThisMinute: new Map(),
      baseline: new MinuteBaseline(),
      ipBaseline: new MinuteBaseline(),
      expiredByKey: new Map(),
      dirtyExpired: new Set(),
      outcomesByKey: new Map(),
      allowedInPeriod: new Map(),
      costInPeriod: new Map(),
      revokedUse: new Map(),
      supersededUse: new Map(),
    }));
  const keyState = (ws: string, keyId: string): KeyState =>
    getOrCreate(keys, `${ws}\u0000${keyId}`, () => ({ knownIps: new Set() }));
  const found = (finding: Finding, at: number, cooldownMs: number, endsAt?: number) => {
    const change = episodes.found(
      finding,
      at,
      endsAt === undefined ? { cooldownMs } : { cooldownMs, endsAt },
    );
    if (change) changes.push(change);
  };

  // ───── what one decision does, applied at its tick in event-time order ─────

  function applyDecision(d: AuthDecision, tick: number): void {
    const rules = options.rulesFor(d.workspace_id);
    const ws = workspace(d.workspace_id, d.occurred_at);
    const ip = d.client_ip ?? '';
    if (INVALID_OUTCOMES.has(d.outcome)) {
      const attempt: Attempt = {
        at: d.occurred_at,
        keyHash: d.presented_key_hash ?? '',
        ip,
        prefix: prefixFamily(d.key_prefix ?? ''),
        requestId: d.request_id,
      };
      ws.invalid.add(attempt);
      ws.dirtyAll = true;
      ws.invalidThisMinute++;
      if (ip) {
        getOrCreate(ws.invalidByIp, ip, () => new AttemptWindow(ws.invalid.windowMs)).add(attempt);
        ws.dirtyIps.add(ip);
        ws.invalidByIpThisMinute.set(ip, (ws.invalidByIpThisMinute.get(ip) ?? 0) + 1);
      }
    }
    const keyId = d.key_id ?? '';
    if (d.outcome === 'EXPIRED_KEY') {
      const scope = keyId || `prefix:${d.key_prefix ?? ''}`;
      const window = getOrCreate(
        ws.expiredByKey,
        scope,
        () => new AttemptWindow(rules.EXPIRED_KEY_STORM.window_seconds * SECOND),
      );
      window.add({
        at: d.occurred_at,
        keyHash: d.presented_key_hash ?? '',
        ip,
        prefix: d.key_prefix ?? '',
        requestId: d.request_id,
      });
      ws.dirtyExpired.add(scope);
    }
    if (!keyId) return;

    // Error rate: per key and minute of event time.
    const minutes = getOrCreate(ws.outcomesByKey, keyId, () => new Map<number, [number, number]>());
    const minute = Math.ceil(d.occurred_at / MINUTE);
    const counts = minutes.get(minute) ?? [0, 0];
    counts[0]++;
    if (d.outcome !== 'ALLOWED') counts[1]++;
    minutes.set(minute, counts);

    const key = keyState(d.workspace_id, keyId);
    const revoked =
      d.outcome === 'REVOKED_KEY' ||
      (key.revokedAt !== undefined && d.occurred_at >= key.revokedAt) ||
      (key.graceEndsAt !== undefined && d.occurred_at >= key.graceEndsAt);
    if (revoked && rules.REVOKED_KEY_USED.enabled) {
      const use = recordUse(ws.revokedUse, keyId, d, key);
      const newFrom = use.newIps.size > 0;
      found(
        {
          workspaceId: d.workspace_id,
          kind: 'REVOKED_KEY_USED',
          scope: { key_id: keyId, ...(d.key_prefix ? { key_prefix: d.key_prefix } : {}) },
          severity: use.allowed > 0 ? 'CRITICAL' : newFrom ? 'HIGH' : 'MEDIUM',
          summary: `Revoked key ${d.key_prefix ?? keyId} presented ${use.count}× from ${use.ips.size} IP(s)${newFrom ? `, ${use.newIps.size} never seen with it before` : ''}${use.allowed > 0 ? `; ${use.allowed} let through` : ''}`,
          evidence: useEvidence(use, 1, rules.REVOKED_KEY_USED.cooldown_seconds),
          startedAt: use.startedAt,
        },
        tick,
        rules.REVOKED_KEY_USED.cooldown_seconds * SECOND,
      );
    } else if (d.outcome === 'ALLOWED' && ip && key.knownIps.size < KNOWN_IPS_PER_KEY) {
      key.knownIps.add(ip);
    }

    const superseded = rules.SUPERSEDED_KEY_IN_USE;
    if (
      superseded.enabled &&
      !revoked &&
      key.graceEndsAt !== undefined &&
      d.occurred_at < key.graceEndsAt &&
      d.occurred_at >= key.graceEndsAt - superseded.before_grace_end_seconds * SECOND
    ) {
      const use = recordUse(ws.supersededUse, keyId, d, key);
      const minutesLeft = Math.ceil((key.graceEndsAt - d.occurred_at) / MINUTE);
      found(
        {
          workspaceId: d.workspace_id,
          kind: 'SUPERSEDED_KEY_IN_USE',
          scope: { key_id: keyId, ...(d.key_prefix ? { key_prefix: d.key_prefix } : {}) },
          severity: minutesLeft <= 10 ? 'HIGH' : 'MEDIUM',
          summary: `Superseded key ${d.key_prefix ?? keyId} still used ${use.count}× from ${use.ips.size} IP(s); its grace ends in ${minutesLeft} min`,
          evidence: useEvidence(use, 1, superseded.before_grace_end_seconds),
          startedAt: use.startedAt,
        },
        tick,
        superseded.cooldown_seconds * SECOND,
        key.graceEndsAt,
      );
    }

    quota(d, key, rules, ws, tick);
    cost(d, rules, ws, tick);
  }

  function recordUse(uses: Map<string, Use>, keyId: string, d: AuthDecision, key: KeyState): Use {
    let use = uses.get(keyId);
    if (!use) {
      use = {
        count: 0,
        ips: new Set(),
        newIps: new Set(),
        allowed: 0,
        requestIds: [],
        startedAt: d.occurred_at,
      };
      uses.set(keyId, use);
    }
    use.count++;
    if (d.outcome === 'ALLOWED') use.allowed++;
    const ip = d.client_ip ?? '';
    if (ip) {
      use.ips.add(ip);
      if (!key.knownIps.has(ip)) use.newIps.add(ip);
    }
    if (use.requestIds.length < 2) use.requestIds.push(d.request_id);
    else use.requestIds = [...use.requestIds.slice(0, 2), ...use.requestIds.slice(-2), d.request_id];
    return use;
  }

  function quota(d: AuthDecision, key: KeyState, rules: RuleBook, ws: WorkspaceState, tick: number): void {
    const rule = rules.QUOTA_THRESHOLD;
    if (!rule.enabled) return;
    let used: number;
    let limit: number;
    let period: { start: number; end: number };
    if (d.quota && d.quota.limit > 0) {
      // The gateway's own figure when it reports one.
      limit = d.quota.limit;
      used = d.quota.limit - d.quota.remaining;
      period = periodAround(d.occurred_at, d.quota.period);
    } else if (key.quota && key.quota.limit > 0) {
      // Otherwise the key's quota (lifecycle) against the ALLOWED decisions counted here.
      limit = key.quota.limit;
      period = periodAround(d.occurred_at, key.quota.period);
      const counter = `${d.key_id}|${period.start}`;
      used = (ws.allowedInPeriod.get(counter) ?? 0) + (d.outcome === 'ALLOWED' ? 1 : 0);
      ws.allowedInPeriod.set(counter, used);
    } else return;
    const percent = (used * 100) / limit;
    if (percent < rule.threshold_percent) return;
    found(
      {
        workspaceId: d.workspace_id,
        kind: 'QUOTA_THRESHOLD',
        scope: { key_id: d.key_id! },
        severity: percent >= 100 ? 'HIGH' : 'MEDIUM',
        summary: `Key ${d.key_prefix ?? d.key_id} has used ${Math.floor(percent)} % of its quota (${used} of ${limit})`,
        evidence: periodEvidence(
          used,
          Math.ceil((limit * rule.threshold_percent) / 100),
          period,
          d.request_id,
        ),
        startedAt: d.occurred_at,
      },
      tick,
      period.end - tick,
      period.end,
    );
  }

  function cost(d: AuthDecision, rules: RuleBook, ws: WorkspaceState, tick: number): void {
    const rule = rules.COST_THRESHOLD;
    if (!rule.enabled || d.cost <= 0) return;
    const period = periodAround(d.occurred_at, rule.period);
    const subjects: [string, AlertScope][] = [[`key:${d.key_id}`, { key_id: d.key_id! }]];
    if (d.end_user_id) subjects.push([`eu:${d.end_user_id}`, { end_user_id: d.end_user_id }]);
    for (const [subject, scope] of subjects) {
      const counter = `${subject}|${period.start}`;
      const before = ws.costInPeriod.get(counter) ?? 0;
      const total = before + d.cost;
      ws.costInPeriod.set(counter, total);
      if (total < rule.amount_micros) continue;
      found(
        {
          workspaceId: d.workspace_id,
          kind: 'COST_THRESHOLD',
          scope,
          severity: 'MEDIUM',
          summary: `${scope.key_id ? `Key ${d.key_prefix ?? d.key_id}` : `End user ${scope.end_user_id}`} has cost ${total} micro-credits this ${rule.period.toLowerCase()} (threshold ${rule.amount_micros})`,
          evidence: periodEvidence(total, rule.amount_micros, period, d.request_id),
          startedAt: d.occurred_at,
        },
        tick,
        period.end - tick,
        period.end,
      );
    }
  }

  function applyLifecycle(l: KeyLifecycle): void {
    const key = keyState(l.workspace_id, l.key_id);
    switch (l.lifecycle_type) {
      case 'REVOKED':
      case 'SESSION_REVOKED':
        key.revokedAt = Math.min(key.revokedAt ?? l.occurred_at, l.occurred_at);
        break;
      case 'SUPERSEDED':
        if (l.grace_ends_at !== null) key.graceEndsAt = l.grace_ends_at;
        else key.revokedAt = l.occurred_at; // superseded with no grace: unusable at once
        break;
      case 'CREATED':
      case 'LIMITS_CHANGED':
        if (l.quota) key.quota = { period: l.quota.period, limit: l.quota.limit };
        break;
      default:
        break;
    }
  }

  // ───── spike windows, evaluated at a tick ─────

  function evaluateSpikes(wsId: string, ws: WorkspaceState, tick: number): void {
    const rule = options.rulesFor(wsId).INVALID_KEY_SPIKE;
    const perWindow = rule.window_seconds / 60;
    const explained = new Set<string>(); // IPs with an open alert of their own
    if (rule.enabled) {
      const ipThreshold = Math.max(
        rule.min_count,
        Math.ceil(rule.baseline_factor * ws.ipBaseline.value * perWindow),
      );
      for (const ip of ws.dirtyIps) {
        const window = ws.invalidByIp.get(ip);
        if (!window) continue;
        window.evict(tick);
        const attempts = window.at(tick);
        const described = describeAttempts(attempts);
        if (
          attempts.length >= ipThreshold &&
          isEnumeration(described, attempts.length, rule.min_distinct_key_hashes)
        )
          found(
            {
              workspaceId: wsId,
              kind: 'INVALID_KEY_SPIKE',
              scope: { client_ip: ip },
              severity: 'HIGH',
              summary: `${attempts.length} invalid-key attempts in ${rule.window_seconds} s from ${ip}, ${described.distinct_key_hashes} different keys: key enumeration`,
              evidence: windowEvidence(
                attempts.length,
                round(ws.ipBaseline.value * perWindow),
                ipThreshold,
                rule.window_seconds,
                described,
              ),
              startedAt: attempts[0]!.at,
            },
            tick,
            rule.cooldown_seconds * SECOND,
          );
      }
      for (const alert of episodes.firing())
        if (alert.workspace_id === wsId && alert.kind === 'INVALID_KEY_SPIKE' && alert.scope.client_ip)
          explained.add(alert.scope.client_ip);
    }
    ws.dirtyIps.clear();

    // The workspace scope compares with the workspace's own normal, so it waits until it has seen
    // a few minutes of it (a restart replays the last hour first, so this is only a new workspace).
    if (rule.enabled && ws.dirtyAll && ws.baseline.minutes >= BASELINE_WARMUP_MINUTES) {
      ws.invalid.evict(tick);
      const attempts = ws.invalid.at(tick);
      const threshold = Math.max(
        rule.min_count,
        Math.ceil(rule.baseline_factor * ws.baseline.value * perWindow),
      );
      // What single-IP alerts already explain does not count again for the workspace.
      const unexplained = attempts.filter((a) => !explained.has(a.ip));
      const described = describeAttempts(unexplained);
      // Enumeration at workspace scope means spread over sources: when one address makes most of
      // it, that address's own alert is the one to give (it fires as soon as it crosses its
      // threshold), not a second, vaguer one for the same attack.
      const enumeration =
        isEnumeration(described, unexplained.length, rule.min_distinct_key_hashes) &&
        largestShare(unexplained, (a) => a.ip) <= 0.5;
      // One stale credential hammered pages only when it is far above normal.
      const needed = enumeration ? threshold : threshold * 3;
      if (unexplained.length >= needed) {
        const family = dominantPrefix(unexplained);
        found(
          {
            workspaceId: wsId,
            kind: 'INVALID_KEY_SPIKE',
            scope: family ? { key_prefix: family } : {},
            severity: enumeration ? 'HIGH' : 'LOW',
            summary: enumeration
              ? `${unexplained.length} invalid-key attempts in ${rule.window_seconds} s from ${described.distinct_ips} IPs, ${described.distinct_key_hashes} different keys (normal: ${round(ws.baseline.value * perWindow)})`
              : `${unexplained.length} attempts in ${rule.window_seconds} s with ${described.distinct_key_hashes === 1 ? 'one stale key' : 'a few stale keys'} (normal: ${round(ws.baseline.value * perWindow)}): a misconfigured client, not enumeration`,
            evidence: windowEvidence(
              unexplained.length,
              round(ws.baseline.value * perWindow),
              needed,
              rule.window_seconds,
              described,
            ),
            startedAt: unexplained[0]!.at,
          },
          tick,
          rule.cooldown_seconds * SECOND,
        );
      }
    }
    ws.dirtyAll = false;

    const storm = options.rulesFor(wsId).EXPIRED_KEY_STORM;
    for (const scope of ws.dirtyExpired) {
      const window = ws.expiredByKey.get(scope)!;
      window.evict(tick);
      const attempts = window.at(tick);
      if (!storm.enabled || attempts.length < storm.min_count) continue;
      const described = describeAttempts(attempts);
      const keyId = scope.startsWith('prefix:') ? undefined : scope;
      found(
        {
          workspaceId: wsId,
          kind: 'EXPIRED_KEY_STORM',
          scope: keyId ? { key_id: keyId } : { key_prefix: scope.slice('prefix:'.length) },
          severity: 'MEDIUM',
          summary: `${attempts.length} expired-key refusals in ${storm.window_seconds} s on ${keyId ?? scope.slice(7)} from ${described.distinct_ips} IP(s): clients still use a rotated key`,
          evidence: windowEvidence(attempts.length, 0, storm.min_count, storm.window_seconds, described),
          startedAt: attempts[0]!.at,
        },
        tick,
        storm.cooldown_seconds * SECOND,
      );
    }
    ws.dirtyExpired.clear();
  }

  // ───── once a minute of event time: baselines, error rates, resolutions, housekeeping ─────

  function everyMinute(minuteEnd: number): void {
    const minute = minuteEnd / MINUTE;
    for (const [wsId, ws] of workspaces) {
      const rules = options.rulesFor(wsId);
      // Baselines learn only from quiet, whole minutes: an attack does not make itself normal,
      // and the minute the workspace first appeared in is partial.
      const spiking = episodes
        .firing()
        .some((a) => a.workspace_id === wsId && a.kind === 'INVALID_KEY_SPIKE');
      if (!spiking && minuteEnd - MINUTE >= ws.firstSeenAt) {
        ws.baseline.add(ws.invalidThisMinute);
        ws.ipBaseline.add(Math.max(0, ...ws.invalidByIpThisMinute.values()));
      }
      ws.invalidThisMinute = 0;
      ws.invalidByIpThisMinute.clear();

      const rate = rules.ERROR_RATE;
      const span = Math.max(1, Math.round(rate.window_seconds / 60));
      for (const [keyId, minutes] of ws.outcomesByKey) {
        let total = 0;
        let errors = 0;
        let firstErrorMinute: number | undefined;
        for (let m = minute - span + 1; m <= minute; m++) {
          const counts = minutes.get(m);
          if (!counts) continue;
          total += counts[0];
          errors += counts[1];
          if (counts[1] > 0) firstErrorMinute ??= m;
        }
        for (const m of minutes.keys()) if (m <= minute - span) minutes.delete(m);
        if (minutes.size === 0) ws.outcomesByKey.delete(keyId);
        const percent = total > 0 ? (errors * 100) / total : 0;
        // The share must be above the threshold with 95 % confidence, not merely in this sample:
        // at 50 decisions, 3 organic refusals (6 %) are chance, and a busy key is judged every minute.
        if (
          !rate.enabled ||
          total < rate.min_count ||
          wilsonLowerBound(errors, total) * 100 < rate.threshold_percent
        )
          continue;
        found(
          {
            workspaceId: wsId,
            kind: 'ERROR_RATE',
            scope: { key_id: keyId },
            severity: percent >= rate.threshold_percent * 4 ? 'HIGH' : 'MEDIUM',
            summary: `${percent.toFixed(1)} % of key ${keyId}'s ${total} decisions in ${rate.window_seconds} s were refused (threshold ${rate.threshold_percent} %)`,
            evidence: {
              count: errors,
              baseline: total,
              threshold: Math.ceil((total * rate.threshold_percent) / 100),
              window_seconds: rate.window_seconds,
              distinct_key_hashes: 0,
              distinct_ips: 0,
              sample_request_ids: [],
            },
            startedAt: ((firstErrorMinute ?? minute) - 1) * MINUTE,
          },
          minuteEnd,
          rate.cooldown_seconds * SECOND,
        );
      }

      // Windows and counters nothing will read again.
      for (const [ip, window] of ws.invalidByIp) if (window.evict(minuteEnd)) ws.invalidByIp.delete(ip);
      for (const [scope, window] of ws.expiredByKey)
        if (window.evict(minuteEnd)) ws.expiredByKey.delete(scope);
      ws.invalid.evict(minuteEnd);
      for (const counters of [ws.allowedInPeriod, ws.costInPeriod])
        for (const counter of counters.keys())
          if (Number(counter.slice(counter.lastIndexOf('|') + 1)) < minuteEnd - 32 * 86_400_000)
            counters.delete(counter);
    }
    for (const resolved of episodes.sweep(minuteEnd)) {
      changes.push(resolved);
      const ws = workspaces.get(resolved.alert.workspace_id);
      const keyId = resolved.alert.scope.key_id;
      if (ws && keyId && resolved.alert.kind === 'REVOKED_KEY_USED') ws.revokedUse.delete(keyId);
      if (ws && keyId && resolved.alert.kind === 'SUPERSEDED_KEY_IN_USE') ws.supersededUse.delete(keyId);
    }
  }

  function enqueue(partition: string, at: number, apply: (tick: number) => void): void {
    if (!watermark.observe(partition, at)) {
      late++;
      return;
    }
    pending.push({ at, partition, seq: seq++, apply });
  }

  return {
    decision(partition, d) {
      enqueue(partition, d.occurred_at, (tick) => applyDecision(d, tick));
    },
    lifecycle(partition, l) {
      enqueue(partition, l.occurred_at, () => applyLifecycle(l));
    },
    history(l) {
      applyLifecycle(l);
    },
    quietUntil(at) {
      watermark.quietUntil(at);
    },
    advance() {
      changes = [];
      const mark = watermark.advance();
      if (mark === undefined) return changes;
      const last = Math.floor(mark / SECOND) * SECOND;
      pending.sort(
        (a, b) =>
          a.at - b.at || (a.partition < b.partition ? -1 : a.partition > b.partition ? 1 : a.seq - b.seq),
      );
      let next = 0;
      nextTick ??= Math.ceil((pending[0]?.at ?? mark) / SECOND) * SECOND;
      while (nextTick <= last) {
        const tick = nextTick;
        while (next < pending.length && pending[next]!.at <= tick) pending[next++]!.apply(tick);
        for (const [wsId, ws] of workspaces) evaluateSpikes(wsId, ws, tick);
        if (tick % MINUTE === 0) everyMinute(tick);
        // Skip quiet seconds: nothing can change before the next event or the next minute.
        const nextEvent = pending[next]
          ? Math.ceil(pending[next]!.at / SECOND) * SECOND
          : Number.POSITIVE_INFINITY;
        const nextMinute = (Math.floor(tick / MINUTE) + 1) * MINUTE;
        nextTick = Math.max(tick + SECOND, Math.min(nextEvent, nextMinute));
      }
      pending = pending.slice(next);
      return changes;
    },
    restore(alerts, heldUntil) {
      episodes.restore(
        alerts,
        (alert) => {
          const rules = options.rulesFor(alert.workspace_id);
          const rule = rules[alert.kind] as { cooldown_seconds?: number };
          return (rule.cooldown_seconds ?? 3600) * SECOND;
        },
        (alert) =>
          alert.kind === 'QUOTA_THRESHOLD' || alert.kind === 'COST_THRESHOLD'
            ? periodAround(
                alert.started_at,
                alert.kind === 'COST_THRESHOLD'
                  ? options.rulesFor(alert.workspace_id).COST_THRESHOLD.period
                  : 'DAY',
              ).end
            : undefined,
        heldUntil,
      );
    },
    stats: () => ({
      watermark: watermark.current(),
      late,
      pending: pending.length,
      firing: episodes.firing().length,
    }),
  };
}

/** The product part of a key prefix (`pf_live_` of `pf_live_a1b2`): what an enumeration shares. */
export function prefixFamily(prefix: string): string {
  const cut = prefix.lastIndexOf('_');
  return cut > 0 ? prefix.slice(0, cut + 1) : prefix;
}

/**
 * Guessing keys means presenting different ones: at least `minDistinct` of them, and at least
 * one for every two attempts. A stale key retried (a deploy, a batch job) with a few typos around
 * it has many attempts and few keys, however many addresses it comes from.
 */
function isEnumeration(
  described: { distinct_key_hashes: number },
  attempts: number,
  minDistinct: number,
): boolean {
  return described.distinct_key_hashes >= minDistinct && described.distinct_key_hashes * 2 >= attempts;
}

/** The share of the attempts that the most frequent value of `by` holds (0 for none). */
function largestShare(attempts: readonly Attempt[], by: (a: Attempt) => string): number {
  const counts = new Map<string, number>();
  let most = 0;
  for (const a of attempts) {
    const n = (counts.get(by(a)) ?? 0) + 1;
    counts.set(by(a), n);
    if (n > most) most = n;
  }
  return attempts.length === 0 ? 0 : most / attempts.length;
}

/** The prefix family of at least 90 % of the attempts, when there is one. */
function dominantPrefix(attempts: readonly Attempt[]): string | undefined {
  const counts = new Map<string, number>();
  for (const a of attempts) if (a.prefix) counts.set(a.prefix, (counts.get(a.prefix) ?? 0) + 1);
  for (const [prefix, n] of counts) if (n >= attempts.length * 0.9) return prefix;
  return undefined;
}

/** Evidence of a sliding window: its attempts counted against the threshold, and what they were. */
function windowEvidence(
  count: number,
  baseline: number,
  threshold: number,
  windowSeconds: number,
  described: ReturnType<typeof describeAttempts>,
): AlertEvidence {
  return { count, baseline, threshold, window_seconds: windowSeconds, ...described };
}

/** Evidence of a quota or cost period: how much was used against the threshold, in the period. */
function periodEvidence(
  count: number,
  threshold: number,
  period: { start: number; end: number },
  requestId: string,
) {
  return {
    count,
    baseline: 0,
    threshold,
    window_seconds: Math.round((period.end - period.start) / SECOND),
    distinct_key_hashes: 0,
    distinct_ips: 0,
    sample_request_ids: [requestId],
  };
}

function useEvidence(use: Use, threshold: number, windowSeconds: number) {
  return {
    count: use.count,
    baseline: 0,
    threshold,
    window_seconds: windowSeconds,
    distinct_key_hashes: 1,
    distinct_ips: use.ips.size,
    sample_request_ids: sampleRequestIds(use.requestIds),
  };
}

const round = (n: number) => Math.round(n * 10) / 10;

/** Lower end of the 95 % Wilson score interval of a proportion: what the share is at least. */
export function wilsonLowerBound(successes: number, trials: number): number {
  if (trials === 0) return 0;
  const z = 1.96;
  const p = successes / trials;
  const z2n = (z * z) / trials;
  return (p + z2n / 2 - z * Math.sqrt((p * (1 - p)) / trials + z2n / (4 * trials))) / (1 + z2n);
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}
