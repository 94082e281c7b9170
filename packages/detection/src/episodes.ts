import { createHash } from 'node:crypto';
import type { Alert, AlertChange, AlertEvidence, AlertKind, AlertScope, Severity } from './types.ts';

/** What a detector says about a scope at one moment of event time. */
export interface Finding {
  workspaceId: string;
  kind: AlertKind;
  scope: AlertScope;
  severity: Severity;
  summary: string;
  evidence: AlertEvidence;
  /** Event time of the first anomalous decision (used when this finding opens the episode). */
  startedAt: number;
}

interface OpenEpisode {
  alert: Alert;
  lastHitAt: number;
  /** Resolve once nothing was found for this long. */
  cooldownMs: number;
  /** Resolve at this time whatever happens (a quota or cost period ends). */
  endsAt: number | undefined;
}

// Updates of a firing alert go out at most this often (event time), and only when it changed.
const UPDATE_EVERY_MS = 60_000;

export function scopeKey(kind: AlertKind, workspaceId: string, scope: AlertScope): string {
  return [
    kind,
    workspaceId,
    scope.key_id ?? '',
    scope.key_prefix ?? '',
    scope.client_ip ?? '',
    scope.end_user_id ?? '',
  ].join('\u0000');
}

/** The same episode (kind, scope, first anomalous decision) always gets the same id. */
export function alertId(episodeKey: string, startedAt: number): string {
  return `alt_${createHash('sha256').update(`${episodeKey}\u0000${startedAt}`).digest('hex').slice(0, 24)}`;
}

/**
 * One alert per (rule, scope, episode): a finding opens an episode (FIRED), later findings
 * update it (UPDATED, at most once a minute, when the evidence changed), and it resolves once no
 * finding came for its cool-down, or when its period ends (RESOLVED).
 */
export class Episodes {
  private readonly open = new Map<string, OpenEpisode>();

  /**
   * Open episodes whose alerts a restart must continue rather than fire again. `heldUntil` is
   * event time up to which they are known to have been open (the watermark the previous run
   * reached): their cool-down counts from there, not from their last update.
   */
  restore(
    alerts: readonly Alert[],
    cooldownMs: (alert: Alert) => number,
    endsAt: (alert: Alert) => number | undefined,
    heldUntil = Number.NEGATIVE_INFINITY,
  ) {
    for (const alert of alerts) {
      if (alert.status !== 'FIRING') continue;
      this.open.set(scopeKey(alert.kind, alert.workspace_id, alert.scope), {
        alert,
        lastHitAt: Math.max(alert.updated_at, heldUntil),
        cooldownMs: cooldownMs(alert),
        endsAt: endsAt(alert),
      });
    }
  }

  isOpen(kind: AlertKind, workspaceId: string, scope: AlertScope): boolean {
    return this.open.has(scopeKey(kind, workspaceId, scope));
  }

  firing(): Alert[] {
    return [...this.open.values()].map((e) => e.alert);
  }

  found(
    finding: Finding,
    at: number,
    options: { cooldownMs: number; endsAt?: number },
  ): AlertChange | undefined {
    const key = scopeKey(finding.kind, finding.workspaceId, finding.scope);
    const episode = this.open.get(key);
    if (!episode) {
      const alert: Alert = {
        id: alertId(key, finding.startedAt),
        workspace_id: finding.workspaceId,
        kind: finding.kind,
        status: 'FIRING',
        severity: finding.severity,
        scope: finding.scope,
        started_at: finding.startedAt,
        detected_at: at,
        updated_at: at,
        resolved_at: null,
        summary: finding.summary,
        evidence: finding.evidence,
      };
      this.open.set(key, { alert, lastHitAt: at, cooldownMs: options.cooldownMs, endsAt: options.endsAt });
      return { change: 'FIRED', alert };
    }
    episode.lastHitAt = Math.max(episode.lastHitAt, at);
    // An episode keeps its strongest evidence: a rising count or severity updates it, a fading one does not.
    const stronger =
      finding.evidence.count > episode.alert.evidence.count ||
      SEVERITY_ORDER.indexOf(finding.severity) > SEVERITY_ORDER.indexOf(episode.alert.severity);
    if (!stronger || at - episode.alert.updated_at < UPDATE_EVERY_MS) return undefined;
    episode.alert = {
      ...episode.alert,
      severity: moreSevere(episode.alert.severity, finding.severity),
      summary: finding.summary,
      evidence: finding.evidence,
      updated_at: at,
    };
    return { change: 'UPDATED', alert: episode.alert };
  }

  /** Resolves every episode whose cool-down or period is over at `at`. */
  sweep(at: number): AlertChange[] {
    const changes: AlertChange[] = [];
    for (const [key, episode] of this.open) {
      const over =
        episode.endsAt !== undefined ? at >= episode.endsAt : at - episode.lastHitAt >= episode.cooldownMs;
      if (!over) continue;
      this.open.delete(key);
      const resolvedAt = episode.endsAt ?? episode.lastHitAt + episode.cooldownMs;
      changes.push({
        change: 'RESOLVED',
        alert: { ...episode.alert, status: 'RESOLVED', resolved_at: resolvedAt, updated_at: resolvedAt },
      });
    }
    return changes;
  }
}

const SEVERITY_ORDER: Severity[] = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
function moreSevere(a: Severity, b: Severity): Severity {
  return SEVERITY_ORDER.indexOf(a) >= SEVERITY_ORDER.indexOf(b) ? a : b;
}
